//! Cases (ADR 0037): opened by the child, its family home, school or health
//! staff, the placing caseworker or the child's ombud; worked by the
//! child's ombud through the state machine of `domain::cases`; every
//! transition audited and announced; closed with a reason, the outcome and
//! the child's own view.

use super::access::{CaseRelation, hidden, is_assigned_ombud, only, opener_of};
use super::{Ombuds, R};
use crate::domain::OmbudError;
use crate::domain::calendar;
use crate::domain::cases::{self as rules, check_text};
use crate::store;
use samling_kit::auth::{AuthContext, Role};
use samling_kit::ids::parse_id;
use samling_kit::paging::Page;
use samling_kit::service::{Answer, Service};
use samling_kit::tx::WriteTx;
use samling_proto::ombud::v1::*;
use serde_json::json;

/// The most notes one case holds.
pub const MAX_NOTES: usize = 500;

const OPENERS: &[Role] = &[
    Role::Child,
    Role::FamilyHome,
    Role::SchoolStaff,
    Role::HealthStaff,
    Role::MunicipalityCaseworker,
    Role::MunicipalityManager,
    Role::Ombud,
];

impl Ombuds {
    /// A case by id, for a caller related to it (strangers: not found).
    pub(crate) async fn load_case(&self, ctx: &AuthContext, id: &str) -> R<(Case, CaseRelation)> {
        let id = parse_id("case_id", id)?.to_string();
        let c = store::case(&self.store.read, &id)
            .await?
            .ok_or_else(|| hidden("case", &id))?;
        let rel = self
            .case_relation(ctx, &c)
            .await?
            .ok_or_else(|| hidden("case", &id))?;
        Ok((c, rel))
    }

    /// A case the caller works as the child's ombud (others: not found, or
    /// refused when their role never works cases).
    async fn ombud_case(&self, ctx: &AuthContext, id: &str, what: &str) -> R<Case> {
        only(ctx, &[Role::Ombud], what)?;
        let (c, rel) = self.load_case(ctx, id).await?;
        if rel != CaseRelation::Ombud {
            return Err(hidden("case", &c.id));
        }
        Ok(c)
    }

    /// Move `c` to `to`, stamping and recording the transition in `tx`.
    pub(crate) async fn move_case(
        &self,
        tx: &mut WriteTx,
        ctx: &AuthContext,
        c: &mut Case,
        to: CaseState,
    ) -> R<()> {
        let from = CaseState::try_from(c.state).unwrap_or_default();
        rules::check_move("to_state", from, to)?;
        let now = self.now_text();
        c.state = to as i32;
        c.transitions.push(Transition {
            from: from as i32,
            to: to as i32,
            at: now.clone(),
            by_role: ctx.role.as_str().to_string(),
        });
        c.version += 1;
        c.updated_at = now;
        self.core()
            .record(
                tx,
                ctx,
                "case_transitioned",
                "case",
                &c.id,
                json!({"case_id": c.id, "child_id": c.child_id,
                       "from": from.as_str_name(), "to": to.as_str_name()}),
            )
            .await?;
        Ok(())
    }

    pub async fn open_case(&self, ctx: &AuthContext, req: OpenCaseRequest) -> R<Case> {
        self.enter(ctx)?;
        only(ctx, OPENERS, "open ombud cases")?;
        let child_id = parse_id("child_id", &req.child_id)?.to_string();
        let category = rules::category(req.category)?;
        check_text("summary", &req.summary, true)?;
        // The caller's relation to the child, before anything is replayed.
        let a = self
            .assignment_of(&child_id)
            .await?
            .ok_or_else(|| hidden("child", &child_id))?;
        let related = match ctx.role {
            Role::Child => ctx.is_party(&child_id),
            Role::FamilyHome => !a.home_id.is_empty() && ctx.is_party(&a.home_id),
            // A school or a care unit raises a concern about any placed
            // child of the region; it sees the case's state only.
            Role::SchoolStaff | Role::HealthStaff => ctx.party.is_some(),
            Role::MunicipalityCaseworker | Role::MunicipalityManager => {
                !a.placing_municipality_code.is_empty()
                    && ctx
                        .municipality
                        .as_ref()
                        .is_some_and(|m| m.as_str() == a.placing_municipality_code)
            }
            Role::Ombud => is_assigned_ombud(ctx, Some(&a)),
            _ => false,
        };
        if !related {
            return Err(hidden("child", &child_id));
        }
        let w = self
            .core()
            .begin(ctx, "OpenCase", &req.request_id, &req)
            .await?;
        let mut w = samling_kit::replay!(w, self, ctx);
        let now = self.now_text();
        let by =
            calendar::add_working_days(self.clock.today(), self.rules.first_contact_working_days);
        let opener = opener_of(ctx.role);
        let c = Case {
            id: samling_kit::ids::new_id_string(),
            child_id: child_id.clone(),
            version: 1,
            state: CaseState::Open as i32,
            category: category as i32,
            opened_by: opener as i32,
            summary: req.summary.trim().to_string(),
            opened_at: now.clone(),
            updated_at: now,
            first_contact_by: Some(samling_kit::dates::to_proto(by)),
            opened_by_subject: super::access::opener_key(ctx),
            ..Default::default()
        };
        store::save_case(w.conn(), &c, true).await?;
        self.core()
            .record(
                &mut w,
                ctx,
                "case_opened",
                "case",
                &c.id,
                json!({"case_id": c.id, "child_id": child_id, "category": category.as_str_name(),
                       "opened_by": opener.as_str_name()}),
            )
            .await?;
        w.finish(self, ctx, c).await
    }

    pub async fn get_case(&self, ctx: &AuthContext, req: GetCaseRequest) -> R<Case> {
        self.enter(ctx)?;
        let (c, _) = self.load_case(ctx, &req.case_id).await?;
        c.view(self, ctx).await
    }

    /// A child's cases (the child, its ombud, the office), or the calling
    /// ombud's cases when no child is named.
    pub async fn list_cases(
        &self,
        ctx: &AuthContext,
        req: ListCasesRequest,
    ) -> R<ListCasesResponse> {
        self.enter(ctx)?;
        only(
            ctx,
            &[
                Role::Child,
                Role::Ombud,
                Role::RegionalOfficer,
                Role::Service,
            ],
            "list ombud cases",
        )?;
        let page = Page::from_request(req.page.as_ref())?;
        let (cases, page) = if req.child_id.is_empty() {
            if ctx.role != Role::Ombud {
                return Err(OmbudError::invalid("child_id", "is required"));
            }
            store::cases_of_ombud(&self.store.read, &ctx.sub, &page).await?
        } else {
            let child_id = parse_id("child_id", &req.child_id)?.to_string();
            let a = self.assignment_of(&child_id).await?;
            let admitted = match ctx.role {
                Role::Child => ctx.is_party(&child_id),
                Role::Ombud => is_assigned_ombud(ctx, a.as_ref()),
                _ => super::access::is_office(ctx),
            };
            if !admitted {
                return Err(hidden("child", &child_id));
            }
            store::cases_of_child(&self.store.read, &child_id, &page).await?
        };
        let mut shown = Vec::with_capacity(cases.len());
        for c in cases {
            // Every case listed is related to the caller (by the filter);
            // each is viewed (and audited) as a read.
            if let Some(rel) = self.case_relation(ctx, &c).await? {
                shown.push((c, rel));
            }
        }
        let ids: Vec<&str> = shown.iter().map(|(c, _)| c.id.as_str()).collect();
        self.core().audit_read(ctx, "case", &ids).await?;
        let mut out = Vec::with_capacity(shown.len());
        for (c, rel) in shown {
            out.push(self.case_view(rel, c).await?);
        }
        Ok(ListCasesResponse {
            cases: out,
            page: Some(page),
        })
    }

    pub async fn transition_case(&self, ctx: &AuthContext, req: TransitionCaseRequest) -> R<Case> {
        self.enter(ctx)?;
        only(ctx, &[Role::Ombud], "move ombud cases")?;
        let to = match CaseState::try_from(req.to_state) {
            Ok(s @ (CaseState::InProgress | CaseState::WaitingForMunicipality)) => s,
            _ => {
                return Err(OmbudError::invalid(
                    "to_state",
                    "must be CASE_STATE_IN_PROGRESS or CASE_STATE_WAITING_FOR_MUNICIPALITY (a case is closed with CloseCase)",
                ));
            }
        };
        if req.expected_version < 0 {
            return Err(OmbudError::invalid(
                "expected_version",
                "must not be negative",
            ));
        }
        let c = self
            .ombud_case(ctx, &req.case_id, "move ombud cases")
            .await?;
        let w = self
            .core()
            .begin(ctx, "TransitionCase", &req.request_id, &req)
            .await?;
        let mut w = samling_kit::replay!(w, self, ctx);
        let mut c = store::case(w.conn(), &c.id)
            .await?
            .ok_or_else(|| hidden("case", &c.id))?;
        if req.expected_version != 0 && req.expected_version != c.version {
            return Err(OmbudError::Conflict(format!(
                "expected_version: the case is at version {}, not {}",
                c.version, req.expected_version
            )));
        }
        self.move_case(&mut w, ctx, &mut c, to).await?;
        store::save_case(w.conn(), &c, false).await?;
        w.finish(self, ctx, c).await
    }

    pub async fn close_case(&self, ctx: &AuthContext, req: CloseCaseRequest) -> R<Case> {
        self.enter(ctx)?;
        only(ctx, &[Role::Ombud], "close ombud cases")?;
        let reason = match CloseReason::try_from(req.reason) {
            Ok(CloseReason::Unspecified) | Err(_) => {
                return Err(OmbudError::invalid(
                    "reason",
                    "is required (a close reason)",
                ));
            }
            Ok(r) => r,
        };
        check_text("outcome", &req.outcome, true)?;
        check_text("child_view", &req.child_view, false)?;
        let c = self
            .ombud_case(ctx, &req.case_id, "close ombud cases")
            .await?;
        let w = self
            .core()
            .begin(ctx, "CloseCase", &req.request_id, &req)
            .await?;
        let mut w = samling_kit::replay!(w, self, ctx);
        let mut c = store::case(w.conn(), &c.id)
            .await?
            .ok_or_else(|| hidden("case", &c.id))?;
        let from = CaseState::try_from(c.state).unwrap_or_default();
        rules::check_close(from, reason)?;
        let awaiting = store::reviews_of_case(w.conn(), &c.id)
            .await?
            .iter()
            .any(|r| r.state == ReviewState::AwaitingAnswer as i32);
        if awaiting && reason != CloseReason::EscalatedToIvo {
            return Err(OmbudError::precondition(
                "reason",
                "a review request of the case awaits the municipality's answer: wait for it, escalate it, or close as CLOSE_REASON_ESCALATED_TO_IVO",
            ));
        }
        self.move_case(&mut w, ctx, &mut c, CaseState::Closed)
            .await?;
        c.close_reason = reason as i32;
        c.outcome = req.outcome.trim().to_string();
        c.child_view = req.child_view.trim().to_string();
        store::save_case(w.conn(), &c, false).await?;
        self.core()
            .record(
                &mut w,
                ctx,
                "case_closed",
                "case",
                &c.id,
                json!({"case_id": c.id, "child_id": c.child_id, "reason": reason.as_str_name(),
                       "child_view_recorded": !c.child_view.is_empty()}),
            )
            .await?;
        w.finish(self, ctx, c).await
    }

    pub async fn add_note(&self, ctx: &AuthContext, req: AddNoteRequest) -> R<Case> {
        self.enter(ctx)?;
        only(ctx, &[Role::Ombud], "write case notes")?;
        check_text("text", &req.text, true)?;
        let c = self
            .ombud_case(ctx, &req.case_id, "write case notes")
            .await?;
        let w = self
            .core()
            .begin(ctx, "AddNote", &req.request_id, &req)
            .await?;
        let mut w = samling_kit::replay!(w, self, ctx);
        let mut c = store::case(w.conn(), &c.id)
            .await?
            .ok_or_else(|| hidden("case", &c.id))?;
        if c.notes.len() >= MAX_NOTES {
            return Err(OmbudError::precondition(
                "case_id",
                format!("the case holds {MAX_NOTES} notes already"),
            ));
        }
        let now = self.now_text();
        let note = Note {
            id: samling_kit::ids::new_id_string(),
            text: req.text.trim().to_string(),
            visible_to_child: req.visible_to_child,
            written_at: now.clone(),
        };
        let note_id = note.id.clone();
        c.notes.push(note);
        c.version += 1;
        c.updated_at = now;
        store::save_case(w.conn(), &c, false).await?;
        // The event names the note, never its text.
        self.core()
            .record(
                &mut w,
                ctx,
                "note_added",
                "case",
                &c.id,
                json!({"case_id": c.id, "note_id": note_id, "visible_to_child": req.visible_to_child}),
            )
            .await?;
        w.finish(self, ctx, c).await
    }
}
