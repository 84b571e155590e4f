//! The caller's relation to a child's portfolio (docs/portfolio.md
//! "Access"), decided from the signed context, the portfolio and the
//! placements of the registry's feed as they stand today; and the one view
//! of a portfolio for that caller, which logs every section it shows.

use super::{Portfolios, R};
use crate::domain::access::{self as rules, ALL_SECTIONS, Relation};
use crate::domain::retention::Stage;
use crate::domain::{PortfolioError, sections};
use crate::store;
use samling_kit::auth::{AuthContext, Role};
use samling_kit::error::{KitError, Reason};
use samling_kit::service::{Answer, Service};
use samling_proto::portfolio::v1::{Portfolio, Section};

pub(crate) fn refused(reason: Reason, message: impl Into<String>) -> PortfolioError {
    PortfolioError::Kit(KitError::refused(reason, message))
}

/// "Not found": the portfolio's existence is not disclosed to strangers.
pub(crate) fn hidden(child_id: &str) -> PortfolioError {
    PortfolioError::not_found(format!("portfolio {child_id}"))
}

/// The section a portfolio is audited under (`portfolio.<section>`,
/// record id = the child id, so the child's log lists them).
pub(crate) fn record_type(s: Section) -> String {
    format!("portfolio.{}", rules::section_name(s))
}

/// The caller's access to one portfolio today: its relation to the child,
/// the portfolio's retention stage and whether the young person is 18 or
/// over (ADR 0043).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Access {
    pub rel: Relation,
    pub stage: Stage,
    pub adult: bool,
}

impl Access {
    pub fn may_read(&self, s: Section, sealed: bool) -> bool {
        rules::may_read_in(self.rel, self.stage, self.adult, s, sealed)
    }
    pub fn may_write(&self, s: Section) -> bool {
        rules::may_write_in(self.rel, self.stage, self.adult, s)
    }
    /// Refuse a change (relations, information, a credential) once the
    /// portfolio is archived (FAILED_PRECONDITION naming the stage).
    pub fn unless_archived(&self, what: &str) -> R<()> {
        if !rules::may_change_in(self.stage) {
            return Err(stage_refused(self.stage, what));
        }
        Ok(())
    }
}

/// The stage forbids what the caller's relation otherwise allows.
pub(crate) fn stage_refused(stage: Stage, what: &str) -> PortfolioError {
    let why = match stage {
        Stage::Active => "",
        Stage::Restricted => {
            "care has ended: the young person, the placing municipality and the office keep the portfolio, and only the aftercare sections (about me, health, school, documents, contacts) are written"
        }
        Stage::Archived => {
            "it is read-only, and only the young person and the regional office read it"
        }
    };
    PortfolioError::Kit(KitError::FailedPrecondition(format!(
        "retention_stage: the portfolio is {} ({why}); {what}",
        stage.as_str()
    )))
}

pub(crate) fn is_sealed(p: &Portfolio, s: Section) -> bool {
    p.relations
        .as_ref()
        .is_some_and(|r| r.sealed_sections.contains(&(s as i32)))
}

impl Portfolios {
    /// Every RPC but the public verification: the region's bind, and the
    /// gateway's public caller refused (one check used everywhere).
    pub(crate) fn enter(&self, ctx: &AuthContext) -> R<()> {
        self.bind(ctx)?;
        if ctx.is_public() {
            return Err(refused(
                Reason::ForbiddenRole,
                "the public caller may only verify credentials",
            ));
        }
        Ok(())
    }

    /// The own-view age of this child's portfolio.
    pub(crate) fn own_view_age(&self, p: &Portfolio) -> u32 {
        match p.relations.as_ref().map(|r| r.own_view_age) {
            Some(a) if a > 0 => a as u32,
            _ => self.own_view_age,
        }
    }

    /// The home the child lives in today, per the feed ("" when none).
    pub(crate) async fn current_home(&self, child_id: &str) -> R<String> {
        let today = self.today_text();
        Ok(store::home_access::of_child(&self.store.read, child_id)
            .await?
            .into_iter()
            .rev()
            .find(|p| p.active_on(&today))
            .map(|p| p.home_id)
            .unwrap_or_default())
    }

    /// `ctx`'s relation to the portfolio `p`, as of today.
    pub(crate) async fn relation(&self, ctx: &AuthContext, p: &Portfolio) -> R<Relation> {
        let party = |id: &str| !id.is_empty() && ctx.is_party(id);
        // The ombud the ombud service assigned (its feed), asked only of an ombud.
        let assigned = if ctx.role == Role::Ombud && !ctx.is_public() {
            self.assigned_ombud(&p.child_id).await?
        } else {
            None
        };
        let rel = match ctx.role {
            _ if ctx.is_public() => Relation::Stranger,
            Role::RegionalOfficer => Relation::Office,
            Role::Service => Relation::Service,
            Role::Child if party(&p.child_id) => {
                let today = self.clock.today();
                let of_age =
                    samling_kit::dates::opt_from_proto("birth_date", p.birth_date.as_ref())
                        .ok()
                        .flatten()
                        .is_some_and(|b| rules::age_on(b, today) >= self.own_view_age(p));
                Relation::Child { of_age }
            }
            Role::FamilyHome => {
                let home = self.current_home(&p.child_id).await?;
                if party(&home) {
                    Relation::CurrentHome
                } else {
                    Relation::Stranger
                }
            }
            r if r.is_municipal()
                && ctx
                    .municipality
                    .as_ref()
                    .is_some_and(|m| m.as_str() == p.placing_municipality_code) =>
            {
                Relation::PlacingCaseworker
            }
            Role::Ombud
                if assigned.as_deref() == Some(ctx.sub.as_str())
                    || p.relations
                        .as_ref()
                        .is_some_and(|r| r.ombud_subjects.contains(&ctx.sub)) =>
            {
                Relation::AssignedOmbud
            }
            Role::HealthStaff
                if p.relations
                    .as_ref()
                    .is_some_and(|r| r.health_units.iter().any(|u| party(u))) =>
            {
                Relation::HealthUnit
            }
            Role::SchoolStaff
                if p.relations
                    .as_ref()
                    .is_some_and(|r| r.school_units.iter().any(|u| party(u))) =>
            {
                Relation::SchoolUnit
            }
            Role::Guardian if party(&p.child_id) => Relation::Guardian,
            _ => Relation::Stranger,
        };
        Ok(rel)
    }

    /// The relation and the stage, refusing strangers (not found), a
    /// relation the retention stage has ended (FAILED_PRECONDITION naming
    /// the stage) and a child under the own-view age (refused, saying why).
    pub(crate) async fn admitted(&self, ctx: &AuthContext, p: &Portfolio) -> R<Access> {
        let rel = self.relation(ctx, p).await?;
        if rel == Relation::Stranger {
            return Err(hidden(&p.child_id));
        }
        let (stage, adult) = self.stage_now(p).await?;
        if !rules::admitted_in(rel, stage, adult) {
            return Err(stage_refused(
                stage,
                &format!("a {} no longer has access", ctx.role.as_str()),
            ));
        }
        let access = Access { rel, stage, adult };
        match rel {
            Relation::Child { of_age: false } => Err(refused(
                Reason::Forbidden,
                format!(
                    "a child has an own view of the portfolio from the age of {}",
                    self.own_view_age(p)
                ),
            )),
            _ => Ok(access),
        }
    }

    /// The portfolio as `rel` may see it, and the sections shown.
    pub(crate) async fn view_for(
        &self,
        access: Access,
        mut p: Portfolio,
    ) -> R<(Portfolio, Vec<Section>)> {
        let rel = access.rel;
        let mut shown = Vec::new();
        let mut hidden_sections = Vec::new();
        for s in ALL_SECTIONS {
            if access.may_read(s, is_sealed(&p, s)) {
                shown.push(s);
            } else {
                hidden_sections.push(s as i32);
                match s {
                    Section::AboutMe => p.about_me = None,
                    Section::Health => p.health = None,
                    Section::Dental => p.dental = None,
                    Section::School => p.school = None,
                    Section::Leisure => p.leisure = None,
                    Section::Documents => p.documents = None,
                    Section::Contacts => p.contacts = None,
                    Section::Unspecified => {}
                }
            }
        }
        p.hidden_sections = hidden_sections;
        p.writable_sections = ALL_SECTIONS
            .into_iter()
            .filter(|s| access.may_write(*s))
            .map(|s| s as i32)
            .collect();
        // What the child was told: for those who may read it, with the
        // checklist computed from the records; otherwise left out.
        p.information = if rules::may_read_information(rel) {
            Some(crate::domain::information::with_checklist(
                p.information.take().unwrap_or_default(),
            ))
        } else {
            None
        };
        // The stage as of today (the job records it; access never waits).
        p.retention_stage = access.stage.to_proto() as i32;
        p.location_redacted = false;
        if !rules::sees_location(rel, p.protected_identity) {
            sections::withhold_location(&mut p);
        }
        p.current_home_id = if rules::sees_home(rel, p.protected_identity) {
            self.current_home(&p.child_id).await?
        } else {
            String::new()
        };
        if !rules::may_set_relations(rel) && rel != Relation::Service {
            // Who else works with the child is the office's and the
            // caseworker's to know (the sealed list tells what is hidden).
            p.relations = None;
        }
        if matches!(rel, Relation::HealthUnit | Relation::SchoolUnit) {
            p.birth_date = None;
        }
        Ok((p, shown))
    }
}

/// A portfolio: through the caller's view, each section shown logged as a
/// read of `portfolio.<section>` before it is answered.
impl Answer<Portfolios> for Portfolio {
    fn record(&self) -> (&'static str, String) {
        ("portfolio", self.child_id.clone())
    }

    async fn view(self, svc: &Portfolios, ctx: &AuthContext) -> R<Self> {
        let access = svc.admitted(ctx, &self).await?;
        let child_id = self.child_id.clone();
        let (p, shown) = svc.view_for(access, self).await?;
        let mut entries: Vec<_> = shown
            .into_iter()
            .map(|s| ctx.audit("read", &record_type(s), &child_id))
            .collect();
        if p.information.is_some() {
            entries.push(ctx.audit("read", "portfolio.information", &child_id));
        }
        svc.core().audit(entries).await?;
        Ok(p)
    }

    /// A stored answer as the portfolio stands now (a section sealed or a
    /// home moved since).
    async fn current(self, svc: &Portfolios) -> R<Self> {
        Ok(store::portfolios::get(&svc.store.read, &self.child_id)
            .await?
            .unwrap_or(self))
    }
}
