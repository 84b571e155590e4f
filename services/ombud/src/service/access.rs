//! Who may see what (docs/ombud.md "Access"): the caller's relation to a
//! child's assignment, a case, a review request; and the one view of each
//! record for that caller, audited as a read before it is answered.
//! Strangers are told "not found", never why.

use super::{Ombuds, R};
use crate::domain::OmbudError;
use crate::store;
use samling_kit::auth::{AuthContext, Role};
use samling_kit::error::{KitError, Reason};
use samling_kit::service::{Answer, Service};
use samling_proto::ombud::v1::{
    Assignment, AssignmentState, Case, CaseState, IvoComplaint, Ombud, Opener, ReviewRequest,
    ReviewState,
};

pub(crate) fn refused(reason: Reason, message: impl Into<String>) -> OmbudError {
    OmbudError::Kit(KitError::refused(reason, message))
}

/// A role the RPC does not admit at all.
pub(crate) fn role_refused(ctx: &AuthContext, what: &str) -> OmbudError {
    refused(
        Reason::ForbiddenRole,
        format!("a {} may not {what}", ctx.role.as_str()),
    )
}

/// Admit only `roles` to an RPC (403 for the others, naming the role).
pub(crate) fn only(ctx: &AuthContext, roles: &[Role], what: &str) -> R<()> {
    if roles.contains(&ctx.role) {
        Ok(())
    } else {
        Err(role_refused(ctx, what))
    }
}

/// The office of the region and Samling's services (not the public caller).
pub(crate) fn is_office(ctx: &AuthContext) -> bool {
    matches!(ctx.role, Role::RegionalOfficer | Role::Service) && !ctx.is_public()
}

/// The opener a caller's role makes.
pub(crate) fn opener_of(role: Role) -> Opener {
    match role {
        Role::Child => Opener::Child,
        Role::FamilyHome => Opener::FamilyHome,
        Role::SchoolStaff => Opener::School,
        Role::HealthStaff => Opener::Health,
        Role::MunicipalityCaseworker | Role::MunicipalityManager => Opener::Caseworker,
        Role::Ombud => Opener::Ombud,
        _ => Opener::Unspecified,
    }
}

/// Who opened a case, as stored with it: a digest of the whole caller
/// (subject, role, municipality, party, region), so that another child or
/// home with the same subject is not the opener.
pub(crate) fn opener_key(ctx: &AuthContext) -> String {
    ctx.caller_digest(&["ombud.case_opener"])
}

/// The caller's relation to a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseRelation {
    /// The child's assigned ombud: everything.
    Ombud,
    /// The child itself: the notes marked visible to it.
    Child,
    /// Who opened it (home, school, health, caseworker): its state only.
    Opener,
    /// The office and services: its state only.
    Office,
}

pub(crate) fn hidden(what: &str, id: &str) -> OmbudError {
    OmbudError::not_found(format!("{what} {id}"))
}

pub(crate) fn is_assigned_ombud(ctx: &AuthContext, a: Option<&Assignment>) -> bool {
    ctx.role == Role::Ombud
        && a.is_some_and(|a| {
            a.state == AssignmentState::Assigned as i32 && a.ombud_subject == ctx.sub
        })
}

impl Ombuds {
    /// Every RPC: the region's bind, and the gateway's public caller
    /// refused (one check used everywhere).
    pub(crate) fn enter(&self, ctx: &AuthContext) -> R<()> {
        self.bind_records(ctx)?;
        if ctx.is_public() {
            return Err(role_refused(ctx, "use the ombud service"));
        }
        Ok(())
    }

    pub(crate) async fn assignment_of(&self, child_id: &str) -> R<Option<Assignment>> {
        store::assignment(&self.store.read, child_id).await
    }

    /// `ctx`'s relation to the case `c` (`None`: a stranger).
    pub(crate) async fn case_relation(
        &self,
        ctx: &AuthContext,
        c: &Case,
    ) -> R<Option<CaseRelation>> {
        let a = self.assignment_of(&c.child_id).await?;
        let rel = if ctx.is_public() {
            None
        } else if is_assigned_ombud(ctx, a.as_ref()) {
            Some(CaseRelation::Ombud)
        } else if ctx.role == Role::Child && ctx.is_party(&c.child_id) {
            Some(CaseRelation::Child)
        } else if is_office(ctx) {
            Some(CaseRelation::Office)
        } else if !c.opened_by_subject.is_empty()
            && c.opened_by_subject == opener_key(ctx)
            && ctx.role != Role::Ombud
        {
            Some(CaseRelation::Opener)
        } else {
            None
        };
        Ok(rel)
    }

    /// The case as `rel` may see it.
    pub(crate) async fn case_view(&self, rel: CaseRelation, mut c: Case) -> R<Case> {
        let a = self.assignment_of(&c.child_id).await?;
        c.ombud_subject = a
            .filter(|a| a.state == AssignmentState::Assigned as i32)
            .map(|a| a.ombud_subject)
            .unwrap_or_default();
        c.opened_by_subject = String::new();
        let today = self.clock.today();
        c.first_contact_overdue = c.state == CaseState::Open as i32
            && samling_kit::dates::opt_from_proto("first_contact_by", c.first_contact_by.as_ref())
                .ok()
                .flatten()
                .is_some_and(|d| today > d);
        let total = c.notes.len();
        match rel {
            CaseRelation::Ombud => {}
            CaseRelation::Child => c.notes.retain(|n| n.visible_to_child),
            CaseRelation::Opener | CaseRelation::Office => {
                // The ombud's independence: notes, the outcome and the
                // child's words stay between the child and the ombud.
                c.notes.clear();
                c.outcome = String::new();
                c.child_view = String::new();
            }
        }
        c.notes_withheld = (total - c.notes.len()) as i32;
        Ok(c)
    }

    /// May `ctx` see the assignment `a`?
    pub(crate) fn sees_assignment(&self, ctx: &AuthContext, a: &Assignment) -> bool {
        is_assigned_ombud(ctx, Some(a))
            || (ctx.role == Role::Child && ctx.is_party(&a.child_id))
            || is_office(ctx)
            || (ctx.role.is_municipal()
                && !a.placing_municipality_code.is_empty()
                && ctx
                    .municipality
                    .as_ref()
                    .is_some_and(|m| m.as_str() == a.placing_municipality_code))
    }

    /// `ctx`'s relation to a review request: its case's ombud, the
    /// municipality it is addressed to, the office.
    pub(crate) async fn sees_review(&self, ctx: &AuthContext, r: &ReviewRequest) -> R<bool> {
        if ctx.is_public() {
            return Ok(false);
        }
        if is_office(ctx) {
            return Ok(true);
        }
        if ctx.role.is_municipal() {
            return Ok(ctx
                .municipality
                .as_ref()
                .is_some_and(|m| m.as_str() == r.municipality_code));
        }
        if ctx.role == Role::Ombud {
            let a = self.assignment_of(&r.child_id).await?;
            return Ok(is_assigned_ombud(ctx, a.as_ref()));
        }
        Ok(false)
    }

    /// The review request with what is computed as of today.
    pub(crate) fn review_now(&self, mut r: ReviewRequest) -> ReviewRequest {
        let today = self.clock.today();
        r.overdue = r.state == ReviewState::AwaitingAnswer as i32
            && samling_kit::dates::opt_from_proto("respond_by", r.respond_by.as_ref())
                .ok()
                .flatten()
                .is_some_and(|d| today > d);
        r
    }
}

/// A case: through the caller's relation (strangers: not found), audited.
impl Answer<Ombuds> for Case {
    fn record(&self) -> (&'static str, String) {
        ("case", self.id.clone())
    }

    async fn view(self, svc: &Ombuds, ctx: &AuthContext) -> R<Self> {
        let rel = svc
            .case_relation(ctx, &self)
            .await?
            .ok_or_else(|| hidden("case", &self.id))?;
        svc.core().audit_read(ctx, "case", &[&self.id]).await?;
        svc.case_view(rel, self).await
    }

    async fn current(self, svc: &Ombuds) -> R<Self> {
        Ok(store::case(&svc.store.read, &self.id)
            .await?
            .unwrap_or(self))
    }
}

/// The assignment as `ctx` sees it: the home the child lives in is the
/// office's only (a protected child's home is never linked to the child
/// outside the office; the service keeps it to know the child's home).
pub(crate) fn assignment_view(ctx: &AuthContext, mut a: Assignment) -> Assignment {
    if !is_office(ctx) {
        a.home_id = String::new();
    }
    a
}

impl Answer<Ombuds> for Assignment {
    fn record(&self) -> (&'static str, String) {
        ("assignment", self.child_id.clone())
    }

    async fn view(self, svc: &Ombuds, ctx: &AuthContext) -> R<Self> {
        if !svc.sees_assignment(ctx, &self) {
            return Err(hidden("child", &self.child_id));
        }
        svc.core()
            .audit_read(ctx, "assignment", &[&self.child_id])
            .await?;
        Ok(assignment_view(ctx, self))
    }

    async fn current(self, svc: &Ombuds) -> R<Self> {
        Ok(store::assignment(&svc.store.read, &self.child_id)
            .await?
            .unwrap_or(self))
    }
}

impl Answer<Ombuds> for ReviewRequest {
    fn record(&self) -> (&'static str, String) {
        ("review_request", self.id.clone())
    }

    async fn view(self, svc: &Ombuds, ctx: &AuthContext) -> R<Self> {
        if !svc.sees_review(ctx, &self).await? {
            return Err(hidden("review request", &self.id));
        }
        svc.core()
            .audit_read(ctx, "review_request", &[&self.id])
            .await?;
        Ok(svc.review_now(self))
    }

    async fn current(self, svc: &Ombuds) -> R<Self> {
        Ok(store::review(&svc.store.read, &self.id)
            .await?
            .unwrap_or(self))
    }
}

/// The IVO complaint: the child's ombud, the office, IVO.
impl Answer<Ombuds> for IvoComplaint {
    fn record(&self) -> (&'static str, String) {
        ("complaint", self.id.clone())
    }

    async fn view(self, svc: &Ombuds, ctx: &AuthContext) -> R<Self> {
        let a = svc.assignment_of(&self.child_id).await?;
        let admitted =
            is_office(ctx) || ctx.role == Role::Ivo || is_assigned_ombud(ctx, a.as_ref());
        if !admitted {
            return Err(hidden(
                "complaint of review request",
                &self.review_request_id,
            ));
        }
        svc.core().audit_read(ctx, "complaint", &[&self.id]).await?;
        Ok(self)
    }
}

samling_kit::plain_answer!(Ombuds;
    Ombud => "ombud", |o| o.subject.clone();
);
