//! Review requests (docs/ombud.md "Review requests"): the child's ombud
//! asks the placing municipality to review a decision or its handling,
//! with a deadline in working days; the municipality answers (after the
//! deadline: recorded as late, with how many working days); an overdue or
//! late-answered request is escalated into a structured complaint to IVO,
//! stored and retrievable.

use super::access::{CaseRelation, hidden, is_assigned_ombud, is_office, only};
use super::{Ombuds, R};
use crate::domain::OmbudError;
use crate::domain::calendar;
use crate::domain::cases::check_text;
use crate::store;
use samling_kit::auth::{AuthContext, Role};
use samling_kit::dates;
use samling_kit::ids::parse_id;
use samling_kit::paging::Page;
use samling_kit::service::{Answer, Service};
use samling_proto::ombud::v1::*;
use serde_json::json;

const MUNICIPAL: &[Role] = &[Role::MunicipalityCaseworker, Role::MunicipalityManager];

impl Ombuds {
    async fn load_review(&self, id: &str, field: &str) -> R<ReviewRequest> {
        let id = parse_id(field, id)?.to_string();
        store::review(&self.store.read, &id)
            .await?
            .ok_or_else(|| hidden("review request", &id))
    }

    pub async fn request_review(
        &self,
        ctx: &AuthContext,
        req: RequestReviewRequest,
    ) -> R<ReviewRequest> {
        self.enter(ctx)?;
        only(ctx, &[Role::Ombud], "request reviews")?;
        let subject = match ReviewSubject::try_from(req.subject) {
            Ok(ReviewSubject::Unspecified) | Err(_) => {
                return Err(OmbudError::invalid(
                    "subject",
                    "is required (DECISION or HANDLING)",
                ));
            }
            Ok(s) => s,
        };
        check_text("question", &req.question, true)?;
        let decision_date = dates::opt_from_proto("decision_date", req.decision_date.as_ref())?;
        let today = self.clock.today();
        match (subject, decision_date) {
            (ReviewSubject::Decision, None) => {
                return Err(OmbudError::invalid(
                    "decision_date",
                    "is required when a decision is to be reviewed",
                ));
            }
            (_, Some(d)) if d > today => {
                return Err(OmbudError::invalid(
                    "decision_date",
                    "must not be in the future",
                ));
            }
            _ => {}
        }
        let (c, rel) = self.load_case(ctx, &req.case_id).await?;
        if rel != CaseRelation::Ombud {
            return Err(hidden("case", &c.id));
        }
        let w = self
            .core()
            .begin(ctx, "RequestReview", &req.request_id, &req)
            .await?;
        let mut w = samling_kit::replay!(w, self, ctx);
        let mut c = store::case(w.conn(), &c.id)
            .await?
            .ok_or_else(|| hidden("case", &c.id))?;
        let state = CaseState::try_from(c.state).unwrap_or_default();
        if !matches!(
            state,
            CaseState::InProgress | CaseState::WaitingForMunicipality
        ) {
            return Err(OmbudError::precondition(
                "case_id",
                format!(
                    "a case in {} cannot send review requests (take it up first; a closed case is final)",
                    state.as_str_name()
                ),
            ));
        }
        let municipality = store::assignment(w.conn(), &c.child_id)
            .await?
            .map(|a| a.placing_municipality_code)
            .unwrap_or_default();
        if municipality.is_empty() {
            return Err(OmbudError::precondition(
                "case_id",
                "the child's placing municipality is not known to the ombud service",
            ));
        }
        let respond_by = calendar::add_working_days(today, self.rules.review_response_working_days);
        let r = ReviewRequest {
            id: samling_kit::ids::new_id_string(),
            case_id: c.id.clone(),
            child_id: c.child_id.clone(),
            municipality_code: municipality.clone(),
            subject: subject as i32,
            question: req.question.trim().to_string(),
            decision_date: decision_date.map(dates::to_proto),
            state: ReviewState::AwaitingAnswer as i32,
            sent_on: Some(dates::to_proto(today)),
            respond_by: Some(dates::to_proto(respond_by)),
            version: 1,
            ..Default::default()
        };
        store::save_review(w.conn(), &r, true).await?;
        self.core()
            .record(
                &mut w,
                ctx,
                "review_requested",
                "review_request",
                &r.id,
                json!({"review_request_id": r.id, "case_id": c.id, "child_id": c.child_id,
                       "municipality_code": municipality, "subject": subject.as_str_name(),
                       "respond_by": dates::date_text(respond_by)}),
            )
            .await?;
        if state == CaseState::InProgress {
            self.move_case(&mut w, ctx, &mut c, CaseState::WaitingForMunicipality)
                .await?;
            store::save_case(w.conn(), &c, false).await?;
        }
        w.finish(self, ctx, r).await
    }

    pub async fn answer_review(
        &self,
        ctx: &AuthContext,
        req: AnswerReviewRequest,
    ) -> R<ReviewRequest> {
        self.enter(ctx)?;
        only(ctx, MUNICIPAL, "answer review requests")?;
        let answer = match ReviewAnswer::try_from(req.answer) {
            Ok(ReviewAnswer::Unspecified) | Err(_) => {
                return Err(OmbudError::invalid("answer", "is required"));
            }
            Ok(a) => a,
        };
        check_text("answer_text", &req.answer_text, true)?;
        let r = self
            .load_review(&req.review_request_id, "review_request_id")
            .await?;
        if !self.sees_review(ctx, &r).await? {
            return Err(hidden("review request", &r.id));
        }
        let w = self
            .core()
            .begin(ctx, "AnswerReview", &req.request_id, &req)
            .await?;
        let mut w = samling_kit::replay!(w, self, ctx);
        let mut r = store::review(w.conn(), &r.id)
            .await?
            .ok_or_else(|| hidden("review request", &r.id))?;
        if r.answered_on.is_some() {
            return Err(OmbudError::precondition(
                "review_request_id",
                "the review request is answered already",
            ));
        }
        let today = self.clock.today();
        let respond_by = dates::from_proto("respond_by", r.respond_by.as_ref())?;
        let late = calendar::working_days_between(respond_by, today);
        r.answer = answer as i32;
        r.answer_text = req.answer_text.trim().to_string();
        r.answered_on = Some(dates::to_proto(today));
        r.answered_late = today > respond_by;
        r.working_days_late = late as i32;
        if r.state == ReviewState::AwaitingAnswer as i32 {
            r.state = ReviewState::Answered as i32;
        }
        r.version += 1;
        store::save_review(w.conn(), &r, false).await?;
        self.core()
            .record(
                &mut w,
                ctx,
                "review_answered",
                "review_request",
                &r.id,
                json!({"review_request_id": r.id, "case_id": r.case_id, "answer": answer.as_str_name(),
                       "late": r.answered_late, "working_days_late": late}),
            )
            .await?;
        // The case goes back to its ombud when nothing else is awaited.
        if let Some(mut c) = store::case(w.conn(), &r.case_id).await? {
            let awaiting = store::reviews_of_case(w.conn(), &c.id)
                .await?
                .iter()
                .any(|x| x.id != r.id && x.state == ReviewState::AwaitingAnswer as i32);
            if c.state == CaseState::WaitingForMunicipality as i32 && !awaiting {
                self.move_case(&mut w, ctx, &mut c, CaseState::InProgress)
                    .await?;
                store::save_case(w.conn(), &c, false).await?;
            }
        }
        w.finish(self, ctx, r).await
    }

    pub async fn escalate_review(
        &self,
        ctx: &AuthContext,
        req: EscalateReviewRequest,
    ) -> R<ReviewRequest> {
        self.enter(ctx)?;
        only(ctx, &[Role::Ombud], "escalate review requests")?;
        check_text("grounds", &req.grounds, true)?;
        let r = self
            .load_review(&req.review_request_id, "review_request_id")
            .await?;
        let a = self.assignment_of(&r.child_id).await?;
        if !is_assigned_ombud(ctx, a.as_ref()) {
            return Err(hidden("review request", &r.id));
        }
        let w = self
            .core()
            .begin(ctx, "EscalateReview", &req.request_id, &req)
            .await?;
        let mut w = samling_kit::replay!(w, self, ctx);
        let mut r = store::review(w.conn(), &r.id)
            .await?
            .ok_or_else(|| hidden("review request", &r.id))?;
        let today = self.clock.today();
        let respond_by = dates::from_proto("respond_by", r.respond_by.as_ref())?;
        if r.state == ReviewState::Escalated as i32 {
            return Err(OmbudError::precondition(
                "review_request_id",
                "the review request is escalated already",
            ));
        }
        let overdue = r.answered_on.is_none() && today > respond_by;
        if !(overdue || r.answered_late) {
            return Err(OmbudError::precondition(
                "review_request_id",
                format!(
                    "only an overdue or late-answered request is escalated; the municipality has until {}",
                    dates::date_text(respond_by)
                ),
            ));
        }
        let c = store::case(w.conn(), &r.case_id)
            .await?
            .ok_or_else(|| hidden("case", &r.case_id))?;
        let working_days_late = if r.answered_on.is_some() {
            r.working_days_late
        } else {
            calendar::working_days_between(respond_by, today) as i32
        };
        let complaint = IvoComplaint {
            id: samling_kit::ids::new_id_string(),
            review_request_id: r.id.clone(),
            case_id: c.id.clone(),
            child_id: c.child_id.clone(),
            region: self.region_name(),
            municipality_code: r.municipality_code.clone(),
            ombud_subject: ctx.sub.clone(),
            case_category: c.category,
            review_subject: r.subject,
            question: r.question.clone(),
            decision_date: r.decision_date,
            sent_on: r.sent_on,
            respond_by: r.respond_by,
            answered_on: r.answered_on,
            answer: r.answer,
            working_days_late,
            grounds: req.grounds.trim().to_string(),
            escalated_on: Some(dates::to_proto(today)),
            generated_at: self.now_text(),
        };
        store::insert_complaint(w.conn(), &complaint).await?;
        r.state = ReviewState::Escalated as i32;
        r.escalated_on = complaint.escalated_on;
        r.complaint_id = complaint.id.clone();
        r.version += 1;
        store::save_review(w.conn(), &r, false).await?;
        self.core()
            .record(
                &mut w,
                ctx,
                "review_escalated",
                "review_request",
                &r.id,
                json!({"review_request_id": r.id, "case_id": r.case_id, "complaint_id": complaint.id,
                       "municipality_code": r.municipality_code, "working_days_late": working_days_late}),
            )
            .await?;
        w.finish(self, ctx, r).await
    }

    pub async fn list_review_requests(
        &self,
        ctx: &AuthContext,
        req: ListReviewRequestsRequest,
    ) -> R<ListReviewRequestsResponse> {
        self.enter(ctx)?;
        only(
            ctx,
            &[
                Role::Ombud,
                Role::MunicipalityCaseworker,
                Role::MunicipalityManager,
                Role::RegionalOfficer,
                Role::Service,
            ],
            "list review requests",
        )?;
        let page = Page::from_request(req.page.as_ref())?;
        let case_id = if req.case_id.is_empty() {
            String::new()
        } else {
            parse_id("case_id", &req.case_id)?.to_string()
        };
        let municipality = if ctx.role.is_municipal() {
            match &ctx.municipality {
                Some(m) => m.as_str().to_string(),
                None => {
                    return Ok(ListReviewRequestsResponse {
                        review_requests: vec![],
                        page: Some(Default::default()),
                    });
                }
            }
        } else {
            String::new()
        };
        let ombud = if ctx.role == Role::Ombud {
            ctx.sub.as_str()
        } else {
            ""
        };
        if !case_id.is_empty() && ctx.role == Role::Ombud {
            // An ombud names only its own cases.
            let (_, rel) = self.load_case(ctx, &case_id).await?;
            if rel != CaseRelation::Ombud {
                return Err(hidden("case", &case_id));
            }
        }
        let (items, page) =
            store::list_reviews(&self.store.read, &case_id, &municipality, ombud, &page).await?;
        let mut shown = Vec::with_capacity(items.len());
        for r in items {
            if self.sees_review(ctx, &r).await? {
                shown.push(self.review_now(r));
            }
        }
        let ids: Vec<&str> = shown.iter().map(|r| r.id.as_str()).collect();
        self.core().audit_read(ctx, "review_request", &ids).await?;
        Ok(ListReviewRequestsResponse {
            review_requests: shown,
            page: Some(page),
        })
    }

    pub async fn get_ivo_complaint(
        &self,
        ctx: &AuthContext,
        req: GetIvoComplaintRequest,
    ) -> R<IvoComplaint> {
        self.enter(ctx)?;
        only(
            ctx,
            &[Role::Ombud, Role::RegionalOfficer, Role::Service, Role::Ivo],
            "read IVO complaints",
        )?;
        let r = self
            .load_review(&req.review_request_id, "review_request_id")
            .await?;
        let a = self.assignment_of(&r.child_id).await?;
        if !(is_office(ctx) || ctx.role == Role::Ivo || is_assigned_ombud(ctx, a.as_ref())) {
            return Err(hidden("review request", &r.id));
        }
        let c = match r.complaint_id.as_str() {
            "" => None,
            id => store::complaint(&self.store.read, id).await?,
        };
        let c = c.ok_or_else(|| hidden("complaint of review request", &r.id))?;
        c.view(self, ctx).await
    }
}
