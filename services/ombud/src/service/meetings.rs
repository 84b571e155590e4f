//! Meetings about the child (docs/ombud.md "Meetings"; seed 003 ≈7235–7273:
//! the ombud's right to attend meetings about the child and speak for it):
//! the placing municipality registers a meeting, which is announced to the
//! child's ombud as an event; the ombud records whether it attended, what
//! the child wanted said and what was decided.

use super::access::{hidden, is_assigned_ombud, is_office, only};
use super::{Ombuds, R};
use crate::domain::OmbudError;
use crate::domain::cases::check_text;
use crate::store;
use samling_kit::auth::{AuthContext, Role};
use samling_kit::dates;
use samling_kit::ids::parse_id;
use samling_kit::paging::Page;
use samling_kit::service::{Answer, Service};
use samling_proto::ombud::v1::*;
use serde_json::json;

impl Ombuds {
    /// Is `ctx` the child's placing municipality (per the assignment)?
    pub(crate) fn is_placing(&self, ctx: &AuthContext, a: &Assignment) -> bool {
        ctx.role.is_municipal()
            && !a.placing_municipality_code.is_empty()
            && ctx
                .municipality
                .as_ref()
                .is_some_and(|m| m.as_str() == a.placing_municipality_code)
    }

    /// The meeting as `ctx` may see it (`None`: a stranger).
    pub(crate) async fn meeting_view(
        &self,
        ctx: &AuthContext,
        mut m: Meeting,
    ) -> R<Option<Meeting>> {
        let a = self.assignment_of(&m.child_id).await?;
        let own = is_assigned_ombud(ctx, a.as_ref())
            || (ctx.role == Role::Child && ctx.is_party(&m.child_id));
        let other = is_office(ctx) || a.as_ref().is_some_and(|a| self.is_placing(ctx, a));
        if own {
            Ok(Some(m))
        } else if other {
            // What the child wanted said is the child's and its ombud's.
            m.child_wishes = String::new();
            Ok(Some(m))
        } else {
            Ok(None)
        }
    }

    pub async fn register_meeting(
        &self,
        ctx: &AuthContext,
        req: RegisterMeetingRequest,
    ) -> R<Meeting> {
        self.enter(ctx)?;
        only(
            ctx,
            &[Role::MunicipalityCaseworker, Role::MunicipalityManager],
            "register meetings about a child",
        )?;
        let child_id = parse_id("child_id", &req.child_id)?.to_string();
        let kind = match MeetingKind::try_from(req.kind) {
            Ok(MeetingKind::Unspecified) | Err(_) => {
                return Err(OmbudError::invalid("kind", "is required (a meeting kind)"));
            }
            Ok(k) => k,
        };
        let held_on = dates::from_proto("held_on", req.held_on.as_ref())?;
        let a = self
            .assignment_of(&child_id)
            .await?
            .filter(|a| self.is_placing(ctx, a))
            .ok_or_else(|| hidden("child", &child_id))?;
        let w = self
            .core()
            .begin(ctx, "RegisterMeeting", &req.request_id, &req)
            .await?;
        let mut w = samling_kit::replay!(w, self, ctx);
        let ombud = if a.state == AssignmentState::Assigned as i32 {
            a.ombud_subject.clone()
        } else {
            String::new()
        };
        let m = Meeting {
            id: samling_kit::ids::new_id_string(),
            child_id: child_id.clone(),
            municipality_code: a.placing_municipality_code.clone(),
            kind: kind as i32,
            held_on: Some(dates::to_proto(held_on)),
            registered_at: self.now_text(),
            ombud_subject: ombud.clone(),
            version: 1,
            ..Default::default()
        };
        store::save_meeting(w.conn(), &m, true).await?;
        // The ombud is told (the event names the ombud; ids and codes only).
        self.core()
            .record(
                &mut w,
                ctx,
                "meeting_registered",
                "meeting",
                &m.id,
                json!({"meeting_id": m.id, "child_id": child_id, "ombud_subject": ombud,
                       "kind": kind.as_str_name(), "held_on": dates::date_text(held_on)}),
            )
            .await?;
        w.finish(self, ctx, m).await
    }

    pub async fn record_meeting(&self, ctx: &AuthContext, req: RecordMeetingRequest) -> R<Meeting> {
        self.enter(ctx)?;
        only(ctx, &[Role::Ombud], "record meetings")?;
        check_text("child_wishes", &req.child_wishes, false)?;
        check_text("decisions", &req.decisions, false)?;
        let id = parse_id("meeting_id", &req.meeting_id)?.to_string();
        let m = store::meeting(&self.store.read, &id)
            .await?
            .ok_or_else(|| hidden("meeting", &id))?;
        let a = self.assignment_of(&m.child_id).await?;
        if !is_assigned_ombud(ctx, a.as_ref()) {
            return Err(hidden("meeting", &id));
        }
        let w = self
            .core()
            .begin(ctx, "RecordMeeting", &req.request_id, &req)
            .await?;
        let mut w = samling_kit::replay!(w, self, ctx);
        let mut m = store::meeting(w.conn(), &id)
            .await?
            .ok_or_else(|| hidden("meeting", &id))?;
        m.recorded = true;
        m.ombud_attended = req.ombud_attended;
        m.child_wishes = req.child_wishes.trim().to_string();
        m.decisions = req.decisions.trim().to_string();
        m.recorded_at = self.now_text();
        m.version += 1;
        store::save_meeting(w.conn(), &m, false).await?;
        self.core()
            .record(
                &mut w,
                ctx,
                "meeting_recorded",
                "meeting",
                &m.id,
                json!({"meeting_id": m.id, "child_id": m.child_id, "ombud_attended": m.ombud_attended}),
            )
            .await?;
        w.finish(self, ctx, m).await
    }

    pub async fn list_meetings(
        &self,
        ctx: &AuthContext,
        req: ListMeetingsRequest,
    ) -> R<ListMeetingsResponse> {
        self.enter(ctx)?;
        only(
            ctx,
            &[
                Role::Child,
                Role::Ombud,
                Role::MunicipalityCaseworker,
                Role::MunicipalityManager,
                Role::RegionalOfficer,
                Role::Service,
            ],
            "list meetings about a child",
        )?;
        let child_id = parse_id("child_id", &req.child_id)?.to_string();
        let page = Page::from_request(req.page.as_ref())?;
        let a = self.assignment_of(&child_id).await?;
        let admitted = match ctx.role {
            Role::Child => ctx.is_party(&child_id),
            Role::Ombud => is_assigned_ombud(ctx, a.as_ref()),
            r if r.is_municipal() => a.as_ref().is_some_and(|a| self.is_placing(ctx, a)),
            _ => is_office(ctx),
        };
        if !admitted {
            return Err(hidden("child", &child_id));
        }
        let (items, page) = store::meetings_of_child(&self.store.read, &child_id, &page).await?;
        let ids: Vec<&str> = items.iter().map(|m| m.id.as_str()).collect();
        self.core().audit_read(ctx, "meeting", &ids).await?;
        let mut meetings = Vec::with_capacity(items.len());
        for m in items {
            if let Some(m) = self.meeting_view(ctx, m).await? {
                meetings.push(m);
            }
        }
        Ok(ListMeetingsResponse {
            meetings,
            page: Some(page),
        })
    }
}

/// A meeting: through the caller's view (strangers: not found), audited.
impl Answer<Ombuds> for Meeting {
    fn record(&self) -> (&'static str, String) {
        ("meeting", self.id.clone())
    }

    async fn view(self, svc: &Ombuds, ctx: &AuthContext) -> R<Self> {
        let id = self.id.clone();
        let m = svc
            .meeting_view(ctx, self)
            .await?
            .ok_or_else(|| hidden("meeting", &id))?;
        svc.core().audit_read(ctx, "meeting", &[&id]).await?;
        Ok(m)
    }
}
