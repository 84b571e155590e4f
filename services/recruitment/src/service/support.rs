//! Support after approval: handledning sessions, relief, support plans (evenings and weekends in the first year), mentor families, closing conversations.
//!
//! The office records and plans the support; a family home reads its own
//! plan, sessions and closing conversations. A home's plan is derived from
//! the case recruitment approved it on (`approval.registry_home_id`), its
//! sessions, relief and mentor family, and the one setting the office keeps
//! for it (evening and weekend support extended past the first year).
//! Closing conversations are opened by the registry's `placement_ended`
//! events ([`Recruitment::apply_registry_event`]).

use super::office::{office, see_home};
use super::{R, Recruitment};
use crate::domain::text::id;
use crate::domain::{RecruitmentError, mentor, support};
use crate::store;
use chrono::NaiveDate;
use samling_kit::auth::{AuthContext, Role};
use samling_kit::dates;
use samling_kit::ids::new_id_string;
use samling_kit::paging::Page;
use samling_kit::service::Service;
use samling_kit::tx::WriteTx;
use samling_proto::common::v1::Event;
use samling_proto::recruitment::v1::*;
use serde_json::json;

/// The registry's event of an ended placement (DESIGN.md §5 "registry").
pub const REGISTRY_PLACEMENT_ENDED: &str = "registry.placement_ended";

/// The subject recruitment acts as when it applies another service's events.
pub const FEED_SUBJECT: &str = "recruitment:registry-feed";

fn opt_day(field: &str, d: Option<&samling_proto::common::v1::Date>) -> R<Option<NaiveDate>> {
    Ok(dates::opt_from_proto(field, d)?)
}

impl Recruitment {
    pub async fn record_support_session(
        &self,
        ctx: &AuthContext,
        req: RecordSupportSessionRequest,
    ) -> R<SupportSession> {
        office(ctx, "record support sessions")?;
        let session = support::check_session(
            &SupportSession {
                id: new_id_string(),
                kind: req.kind,
                home_ids: req.home_ids.clone(),
                held_on: req.held_on,
                duration_minutes: req.duration_minutes,
                led_by: ctx.sub.clone(),
                out_of_hours: req.out_of_hours,
                course_id: req.course_id.clone(),
                created_at: self.now_text(),
            },
            self.today(),
        )?;
        let tx = self
            .core()
            .begin(ctx, "RecordSupportSession", &req.request_id, &req)
            .await?;
        let mut tx = samling_kit::replay!(tx, self, ctx);
        if !session.course_id.is_empty()
            && store::courses::DOCS
                .get(tx.conn(), &session.course_id)
                .await?
                .is_none()
        {
            return Err(RecruitmentError::invalid("course_id", "is not a course"));
        }
        store::support::insert_session(tx.conn(), &session).await?;
        self.core()
            .record(
                &mut tx,
                ctx,
                "support_session_recorded",
                "support_session",
                &session.id,
                json!({"support_session_id": session.id, "kind": session.kind().as_str_name(),
                       "home_ids": session.home_ids}),
            )
            .await?;
        tx.finish(self, ctx, session).await
    }

    pub async fn list_support_sessions(
        &self,
        ctx: &AuthContext,
        req: ListSupportSessionsRequest,
    ) -> R<ListSupportSessionsResponse> {
        let home_id = id("home_id", &req.home_id)?;
        see_home(ctx, &home_id, "support sessions")?;
        let page = Page::from_request(req.page.as_ref())?;
        let from = opt_day("from", req.from.as_ref())?
            .map(dates::date_text)
            .unwrap_or_default();
        let to = opt_day("to", req.to.as_ref())?
            .map(dates::date_text)
            .unwrap_or_default();
        let rows =
            store::support::sessions_of(&self.store.read, &home_id, &from, &to, &page).await?;
        let (sessions, page) = page.finish(rows, |s| s.id.clone());
        self.core()
            .audit_read(ctx, "support_plan", &[&home_id])
            .await?;
        Ok(ListSupportSessionsResponse {
            sessions,
            page: Some(page),
        })
    }

    pub async fn record_relief_arrangement(
        &self,
        ctx: &AuthContext,
        req: RecordReliefArrangementRequest,
    ) -> R<ReliefArrangement> {
        office(ctx, "record relief")?;
        let r = ReliefArrangement {
            id: new_id_string(),
            home_id: id("home_id", &req.home_id)?,
            provider: req.provider,
            days_per_month: req.days_per_month,
            from: req.from,
            until: req.until.filter(|d| *d != Default::default()),
            created_at: self.now_text(),
        };
        support::check_relief(&r)?;
        let tx = self
            .core()
            .begin(ctx, "RecordReliefArrangement", &req.request_id, &req)
            .await?;
        let mut tx = samling_kit::replay!(tx, self, ctx);
        store::support::insert_relief(tx.conn(), &r).await?;
        self.core()
            .record(
                &mut tx,
                ctx,
                "relief_arranged",
                "relief_arrangement",
                &r.id,
                json!({"relief_arrangement_id": r.id, "home_id": r.home_id,
                       "provider": r.provider().as_str_name(), "days_per_month": r.days_per_month}),
            )
            .await?;
        tx.finish(self, ctx, r).await
    }

    /// The plan of a home recruitment approved, as of `as_of`.
    async fn plan_of(&self, case: &Case, as_of: NaiveDate) -> R<SupportPlan> {
        self.plan_with(case, as_of, None).await
    }

    /// [`Self::plan_of`] with the extension given (`Some`) instead of read.
    async fn plan_with(
        &self,
        case: &Case,
        as_of: NaiveDate,
        extension: Option<Option<NaiveDate>>,
    ) -> R<SupportPlan> {
        let approval = case.approval.clone().unwrap_or_default();
        let home_id = approval.registry_home_id.as_str();
        let approved_on = dates::from_proto("approved_on", approval.decision_date.as_ref())?;
        let read = &self.store.read;
        let extended = match extension {
            Some(e) => e,
            None => store::support::settings(read, home_id)
                .await?
                .and_then(|s| {
                    dates::opt_from_proto("until", s.out_of_hours_support_until.as_ref())
                        .ok()
                        .flatten()
                }),
        };
        let year_ago = as_of
            .checked_sub_months(chrono::Months::new(12))
            .unwrap_or(NaiveDate::MIN);
        let sessions =
            store::support::sessions_since(read, home_id, &dates::date_text(year_ago)).await?;
        let mut plan = support::plan(
            home_id,
            approved_on,
            extended,
            case.track() == Track::NetworkHome,
            &sessions,
            as_of,
            &self.rules,
        );
        plan.mentor_family_id = store::mentors::active_mentor_of(read, home_id)
            .await?
            .unwrap_or_default();
        plan.relief = store::support::relief_of(read, home_id)
            .await?
            .into_iter()
            .filter(|r| {
                dates::opt_from_proto("until", r.until.as_ref())
                    .ok()
                    .flatten()
                    .is_none_or(|u| u >= as_of)
            })
            .collect();
        Ok(plan)
    }

    async fn approved_case(&self, home_id: &str) -> R<Case> {
        store::support::approved_case_of_home(&self.store.read, home_id)
            .await?
            .ok_or_else(|| RecruitmentError::not_found(format!("support plan of home {home_id}")))
    }

    pub async fn get_support_plan(
        &self,
        ctx: &AuthContext,
        req: GetSupportPlanRequest,
    ) -> R<SupportPlan> {
        let home_id = id("home_id", &req.home_id)?;
        see_home(ctx, &home_id, "support plan")?;
        let as_of = opt_day("as_of", req.as_of.as_ref())?.unwrap_or_else(|| self.today());
        let case = self.approved_case(&home_id).await?;
        let plan = self.plan_of(&case, as_of).await?;
        self.core()
            .audit_read(ctx, "support_plan", &[&home_id])
            .await?;
        Ok(plan)
    }

    pub async fn list_support_plans(
        &self,
        ctx: &AuthContext,
        req: ListSupportPlansRequest,
    ) -> R<ListSupportPlansResponse> {
        office(ctx, "list support plans")?;
        let page = Page::from_request(req.page.as_ref())?;
        let as_of = opt_day("as_of", req.as_of.as_ref())?.unwrap_or_else(|| self.today());
        let after = page.after.clone().unwrap_or_default();
        let cases =
            store::support::approved_cases(&self.store.read, req.municipality_code.trim()).await?;
        let mut plans = Vec::new();
        for c in &cases {
            let home = c.approval.as_ref().map(|a| a.registry_home_id.as_str());
            if home.is_none_or(|h| h.is_empty() || h <= after.as_str()) {
                continue;
            }
            let p = self.plan_of(c, as_of).await?;
            if (req.first_year_only && !p.first_year)
                || (req.out_of_hours_only && !p.out_of_hours_support)
            {
                continue;
            }
            plans.push(p);
        }
        plans.sort_by(|a, b| a.home_id.cmp(&b.home_id));
        plans.dedup_by(|a, b| a.home_id == b.home_id);
        plans.truncate(page.limit() as usize);
        let (plans, page) = page.finish(plans, |p| p.home_id.clone());
        Ok(ListSupportPlansResponse {
            plans,
            page: Some(page),
        })
    }

    /// Evening and weekend support kept on until `until` (past the first
    /// year), or back to the first year only (`until` unset).
    pub async fn set_out_of_hours_support(
        &self,
        ctx: &AuthContext,
        req: SetOutOfHoursSupportRequest,
    ) -> R<SupportPlan> {
        office(ctx, "set out-of-hours support")?;
        let home_id = id("home_id", &req.home_id)?;
        let until = opt_day("until", req.until.as_ref())?;
        let tx = self
            .core()
            .begin(ctx, "SetOutOfHoursSupport", &req.request_id, &req)
            .await?;
        let mut tx = samling_kit::replay!(tx, self, ctx);
        let case = store::support::approved_case_of_home(tx.conn(), &home_id)
            .await?
            .ok_or_else(|| {
                RecruitmentError::not_found(format!("support plan of home {home_id}"))
            })?;
        let approved_on = case
            .approval
            .as_ref()
            .and_then(|a| dates::opt_from_proto("decision_date", a.decision_date.as_ref()).ok())
            .flatten();
        if let (Some(u), Some(a)) = (until, approved_on)
            && u < a
        {
            return Err(RecruitmentError::invalid(
                "until",
                "is before the home was approved",
            ));
        }
        let existing = store::support::settings(tx.conn(), &home_id).await?;
        let settings = SupportPlan {
            home_id: home_id.clone(),
            out_of_hours_support_until: dates::opt_to_proto(until),
            ..Default::default()
        };
        store::support::save_settings(tx.conn(), &settings, existing.is_none()).await?;
        self.core()
            .record(
                &mut tx,
                ctx,
                "out_of_hours_support_set",
                "support_plan",
                &home_id,
                json!({"home_id": home_id, "until": until.map(dates::date_text)}),
            )
            .await?;
        let plan = self.plan_with(&case, self.today(), Some(until)).await?;
        tx.finish(self, ctx, plan).await
    }

    pub async fn register_mentor_family(
        &self,
        ctx: &AuthContext,
        req: RegisterMentorFamilyRequest,
    ) -> R<MentorFamily> {
        office(ctx, "register mentor families")?;
        let home_id = id("home_id", &req.home_id)?;
        let municipality = self.in_region("municipality_code", &req.municipality_code)?;
        let languages = mentor::check_registration(req.cap, &req.languages)?;
        let tx = self
            .core()
            .begin(ctx, "RegisterMentorFamily", &req.request_id, &req)
            .await?;
        let mut tx = samling_kit::replay!(tx, self, ctx);
        if store::mentors::of_own_home(tx.conn(), &home_id)
            .await?
            .is_some()
        {
            return Err(RecruitmentError::precondition(
                "home_id: the home is already registered as a mentor family",
            ));
        }
        let family = mentor::with_figures(
            MentorFamily {
                id: new_id_string(),
                version: 1,
                home_id,
                region_id: self.region_id_of(municipality),
                municipality_code: municipality.as_str().to_string(),
                cap: req.cap,
                languages,
                created_at: self.now_text(),
                ..Default::default()
            },
            self.rules.mentor_cap,
        );
        store::mentors::save(tx.conn(), &family, true).await?;
        self.core()
            .record(
                &mut tx,
                ctx,
                "mentor_family_registered",
                "mentor_family",
                &family.id,
                json!({"mentor_family_id": family.id, "home_id": family.home_id,
                       "municipality_code": family.municipality_code, "cap": family.effective_cap}),
            )
            .await?;
        tx.finish(self, ctx, family).await
    }

    pub async fn list_mentor_families(
        &self,
        ctx: &AuthContext,
        req: ListMentorFamiliesRequest,
    ) -> R<ListMentorFamiliesResponse> {
        office(ctx, "list mentor families")?;
        let page = Page::from_request(req.page.as_ref())?;
        let rows = store::mentors::list(
            &self.store.read,
            req.municipality_code.trim(),
            req.with_free_places_only,
            &page,
        )
        .await?;
        let (families, page) = page.finish(rows, |f| f.id.clone());
        let families = families
            .into_iter()
            .map(|f| mentor::with_figures(f, self.rules.mentor_cap))
            .collect();
        Ok(ListMentorFamiliesResponse {
            families,
            page: Some(page),
        })
    }

    /// A home given a mentor family; refused at the family's cap
    /// (`MentorAtCap`) and while the home has another.
    pub async fn assign_mentor_family(
        &self,
        ctx: &AuthContext,
        req: AssignMentorFamilyRequest,
    ) -> R<MentorFamily> {
        office(ctx, "assign mentor families")?;
        let family_id = id("mentor_family_id", &req.mentor_family_id)?;
        let home_id = id("home_id", &req.home_id)?;
        let from = opt_day("from", req.from.as_ref())?.unwrap_or_else(|| self.today());
        let tx = self
            .core()
            .begin(ctx, "AssignMentorFamily", &req.request_id, &req)
            .await?;
        let mut tx = samling_kit::replay!(tx, self, ctx);
        let family = store::mentors::get(tx.conn(), &family_id)
            .await?
            .ok_or_else(|| RecruitmentError::not_found(format!("mentor family {family_id}")))?;
        let current = store::mentors::active_mentor_of(tx.conn(), &home_id).await?;
        let assignment_id = new_id_string();
        let mut f = mentor::assign(
            &family,
            &assignment_id,
            &home_id,
            from,
            current.as_deref(),
            self.rules.mentor_cap,
        )?;
        f.version += 1;
        store::mentors::save(tx.conn(), &f, false).await?;
        store::mentors::insert_assignment(tx.conn(), &assignment_id, &f.id, &home_id).await?;
        self.core()
            .record(
                &mut tx,
                ctx,
                "mentor_assigned",
                "mentor_family",
                &f.id,
                json!({"mentor_family_id": f.id, "assignment_id": assignment_id, "home_id": home_id}),
            )
            .await?;
        tx.finish(self, ctx, f).await
    }

    pub async fn end_mentor_assignment(
        &self,
        ctx: &AuthContext,
        req: EndMentorAssignmentRequest,
    ) -> R<MentorFamily> {
        office(ctx, "end mentor assignments")?;
        let family_id = id("mentor_family_id", &req.mentor_family_id)?;
        let assignment_id = id("assignment_id", &req.assignment_id)?;
        let until = opt_day("until", req.until.as_ref())?.unwrap_or_else(|| self.today());
        let tx = self
            .core()
            .begin(ctx, "EndMentorAssignment", &req.request_id, &req)
            .await?;
        let mut tx = samling_kit::replay!(tx, self, ctx);
        let family = store::mentors::get(tx.conn(), &family_id)
            .await?
            .ok_or_else(|| RecruitmentError::not_found(format!("mentor family {family_id}")))?;
        let mut f = mentor::end_assignment(&family, &assignment_id, until, self.rules.mentor_cap)?;
        f.version += 1;
        store::mentors::save(tx.conn(), &f, false).await?;
        store::mentors::end_assignment(tx.conn(), &assignment_id).await?;
        self.core()
            .record(
                &mut tx,
                ctx,
                "mentor_assignment_ended",
                "mentor_family",
                &f.id,
                json!({"mentor_family_id": f.id, "assignment_id": assignment_id}),
            )
            .await?;
        tx.finish(self, ctx, f).await
    }

    pub async fn list_closing_conversations(
        &self,
        ctx: &AuthContext,
        req: ListClosingConversationsRequest,
    ) -> R<ListClosingConversationsResponse> {
        let mut home_id = crate::domain::text::opt_id("home_id", &req.home_id)?.unwrap_or_default();
        if ctx.role == Role::FamilyHome && home_id.is_empty() {
            home_id = ctx.party.clone().unwrap_or_default();
        }
        if home_id.is_empty() {
            office(ctx, "list closing conversations")?;
        } else {
            see_home(ctx, &home_id, "closing conversations")?;
        }
        let status = ClosingConversationStatus::try_from(req.status)
            .map_err(|_| RecruitmentError::invalid("status", "is not a known status"))?;
        let today = self.today();
        let (status, due_before) = if req.overdue_only {
            (ClosingConversationStatus::Due, dates::date_text(today))
        } else {
            (status, String::new())
        };
        let page = Page::from_request(req.page.as_ref())?;
        let rows =
            store::closing::list(&self.store.read, &home_id, status, &due_before, &page).await?;
        let (conversations, page) = page.finish(rows, |c| c.id.clone());
        let conversations: Vec<ClosingConversation> = conversations
            .into_iter()
            .map(|c| support::refresh_closing(c, today))
            .collect();
        let ids: Vec<&str> = conversations.iter().map(|c| c.id.as_str()).collect();
        self.core()
            .audit_read(ctx, "closing_conversation", &ids)
            .await?;
        Ok(ListClosingConversationsResponse {
            conversations,
            page: Some(page),
        })
    }

    pub async fn record_closing_conversation(
        &self,
        ctx: &AuthContext,
        req: RecordClosingConversationRequest,
    ) -> R<ClosingConversation> {
        office(ctx, "record closing conversations")?;
        let conversation_id = id("closing_conversation_id", &req.closing_conversation_id)?;
        let tx = self
            .core()
            .begin(ctx, "RecordClosingConversation", &req.request_id, &req)
            .await?;
        let mut tx = samling_kit::replay!(tx, self, ctx);
        let c = store::closing::get(tx.conn(), &conversation_id)
            .await?
            .ok_or_else(|| {
                RecruitmentError::not_found(format!("closing conversation {conversation_id}"))
            })?;
        let outcome = ClosingConversation {
            status: req.status,
            held_on: req.held_on,
            topics: req.topics.clone(),
            wants_to_continue: req.wants_to_continue,
            open_to_contact_family: req.open_to_contact_family,
            crisis_support_offered: req.crisis_support_offered,
            document_ref: req.document_ref.clone(),
            ..Default::default()
        };
        let mut out = support::record_closing(&c, &outcome, &ctx.sub, self.today())?;
        out.version += 1;
        store::closing::save(tx.conn(), &out, false).await?;
        self.core()
            .record(
                &mut tx,
                ctx,
                "closing_conversation_recorded",
                "closing_conversation",
                &out.id,
                json!({"closing_conversation_id": out.id, "home_id": out.home_id,
                       "status": out.status().as_str_name()}),
            )
            .await?;
        tx.finish(self, ctx, out).await
    }

    /// Applies one event of the registry's feed in `tx` (the consumer's
    /// transaction, which also advances its cursor): a `placement_ended` of
    /// a placement in a home opens that home's closing conversation, due
    /// `closing_conversation_working_days` after the end, or
    /// `unplanned_closing_conversation_working_days` after an unplanned end
    /// (END_REASON_BREAKDOWN). At most one per placement: an event applied
    /// again changes nothing. Other events, and ends without a home (a unit,
    /// or a protected child's placement, whose event leaves the home out),
    /// are passed over.
    pub async fn apply_registry_event(&self, tx: &mut WriteTx, e: &Event) -> R<()> {
        if e.event_type != REGISTRY_PLACEMENT_ENDED {
            return Ok(());
        }
        let payload: serde_json::Value = serde_json::from_str(&e.payload_json)
            .map_err(|_| RecruitmentError::invalid("payload_json", "is not a JSON object"))?;
        let text = |k: &str| {
            payload
                .get(k)
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string()
        };
        let home_id = text("home_id");
        if home_id.is_empty() {
            return Ok(());
        }
        let placement_id = match text("placement_id") {
            p if p.is_empty() => e.aggregate_id.clone(),
            p => p,
        };
        let ended = dates::parse_iso("end_date", &text("end_date"))?;
        let unplanned = text("end_reason") == "END_REASON_BREAKDOWN";
        if store::closing::of_placement(tx.conn(), &placement_id)
            .await?
            .is_some()
        {
            return Ok(());
        }
        let c = support::open_closing_conversation(
            &new_id_string(),
            &home_id,
            &placement_id,
            ended,
            unplanned,
            &self.now_text(),
            &self.rules,
        )?;
        store::closing::save(tx.conn(), &c, true).await?;
        let ctx = AuthContext::new(FEED_SUBJECT, Role::Service);
        self.core()
            .record(
                tx,
                &ctx,
                "closing_conversation_due",
                "closing_conversation",
                &c.id,
                json!({"closing_conversation_id": c.id, "home_id": c.home_id,
                       "placement_id": c.placement_id, "unplanned_end": unplanned,
                       "due_on": support_due(&c)}),
            )
            .await?;
        Ok(())
    }
}

fn support_due(c: &ClosingConversation) -> String {
    crate::store::day_text(c.due_on.as_ref())
}
