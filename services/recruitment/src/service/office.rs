//! Who may do what in the office's training, network-home, support and
//! statistics work (docs/recruitment.md "Access"), and the views of their
//! answers. Checked before anything is replayed or changed.
//!
//! * The regional office (`RegionalOfficer` of the region, bound by
//!   [`Service::bind`](samling_kit::service::Service::bind)) and other
//!   services (`Service`) do all of it.
//! * Municipalities (`MunicipalityCaseworker`/`Manager`) open placement
//!   needs, record their alternatives and start network-home cases for their
//!   own municipality, and see those; another municipality's need is
//!   `NotFound`.
//! * A family home (`FamilyHome`, party = its home id) sees its own support
//!   plan, sessions and closing conversations; another home's is `NotFound`.
//! * The aggregate roles see funnel statistics only (see `funnel.rs`).

use super::{R, Recruitment};
use crate::domain::RecruitmentError;
use crate::domain::support::refresh_closing;
use samling_kit::auth::{AuthContext, Role};
use samling_kit::error::{KitError, Reason};
use samling_kit::reference::MunicipalityCode;
use samling_kit::service::Answer;
use samling_proto::recruitment::v1::*;

fn refused(reason: Reason, message: impl Into<String>) -> RecruitmentError {
    RecruitmentError::Kit(KitError::refused(reason, message))
}

fn role_refused(ctx: &AuthContext, what: &str) -> RecruitmentError {
    refused(
        Reason::ForbiddenRole,
        format!("a {} may not {what}", ctx.role.as_str()),
    )
}

/// The office's own work (and other services').
pub(crate) fn office(ctx: &AuthContext, what: &str) -> R<()> {
    match ctx.role {
        _ if super::cases::is_office(ctx) => Ok(()),
        _ => Err(role_refused(ctx, what)),
    }
}

/// Acting for `municipality_code`: the office, or that municipality's own
/// caseworker or manager (another municipality is refused, naming it).
pub(crate) fn for_municipality(ctx: &AuthContext, municipality_code: &str, what: &str) -> R<()> {
    match ctx.role {
        _ if super::cases::is_office(ctx) => Ok(()),
        r if r.is_municipal() => {
            let own = ctx.municipality.as_ref().map(|m| m.as_str()).unwrap_or("");
            if own == municipality_code.trim() {
                Ok(())
            } else {
                Err(refused(
                    Reason::NotOwnMunicipality,
                    "municipality_code: a municipality acts for its own municipality only",
                ))
            }
        }
        _ => Err(role_refused(ctx, what)),
    }
}

/// A municipal caller's own municipality ("" for the office): what a
/// municipality's lists are limited to. A municipality asking for another's
/// is refused; an aggregate role is refused.
pub(crate) fn list_scope(ctx: &AuthContext, requested: &str, what: &str) -> R<String> {
    match ctx.role {
        Role::RegionalOfficer | Role::Service => Ok(requested.trim().to_string()),
        r if r.is_municipal() => {
            let own = ctx
                .municipality
                .as_ref()
                .map(|m| m.as_str().to_string())
                .unwrap_or_default();
            if requested.trim().is_empty() || requested.trim() == own {
                Ok(own)
            } else {
                Err(refused(
                    Reason::NotOwnMunicipality,
                    "municipality_code: a municipality lists its own municipality only",
                ))
            }
        }
        _ => Err(role_refused(ctx, what)),
    }
}

/// A record of `municipality_code` the caller may see: the office, or its
/// own municipality (another municipality's is "not found").
pub(crate) fn see_municipal(
    ctx: &AuthContext,
    municipality_code: &str,
    record: &str,
    id: &str,
) -> R<()> {
    match ctx.role {
        _ if super::cases::is_office(ctx) => Ok(()),
        r if r.is_municipal() => {
            if ctx.municipality.as_ref().map(|m| m.as_str()) == Some(municipality_code) {
                Ok(())
            } else {
                Err(RecruitmentError::not_found(format!("{record} {id}")))
            }
        }
        _ => Err(role_refused(ctx, &format!("read a {record}"))),
    }
}

/// A home's support records: the office, or the home itself (another
/// home's are "not found").
pub(crate) fn see_home(ctx: &AuthContext, home_id: &str, record: &str) -> R<()> {
    match ctx.role {
        _ if super::cases::is_office(ctx) => Ok(()),
        Role::FamilyHome if ctx.is_party(home_id) => Ok(()),
        Role::FamilyHome => Err(RecruitmentError::not_found(format!(
            "{record} of home {home_id}"
        ))),
        _ => Err(role_refused(ctx, &format!("read a {record}"))),
    }
}

impl Recruitment {
    /// A municipality code of this office's region (any, when it serves all).
    pub(crate) fn in_region(&self, field: &str, code: &str) -> R<MunicipalityCode> {
        let m = MunicipalityCode::parse(code.trim())
            .map_err(|_| RecruitmentError::invalid(field, "is not a Swedish municipality code"))?;
        if let Some(region) = &self.region
            && self.regions.region_of(m) != region
        {
            return Err(RecruitmentError::invalid(
                field,
                format!("is not a municipality of region {region}"),
            ));
        }
        Ok(m)
    }

    /// "Today" by the service's clock.
    pub(crate) fn today(&self) -> chrono::NaiveDate {
        self.clock.today()
    }
}

/// A placement need: ids and codes only, for the office and its own
/// municipality.
impl Answer<Recruitment> for PlacementNeed {
    fn record(&self) -> (&'static str, String) {
        ("placement_need", self.id.clone())
    }

    async fn view(self, _svc: &Recruitment, ctx: &AuthContext) -> R<Self> {
        see_municipal(ctx, &self.municipality_code, "placement need", &self.id)?;
        Ok(self)
    }
}

/// A closing conversation, with `overdue` as of today.
impl Answer<Recruitment> for ClosingConversation {
    fn record(&self) -> (&'static str, String) {
        ("closing_conversation", self.id.clone())
    }

    async fn view(self, svc: &Recruitment, ctx: &AuthContext) -> R<Self> {
        see_home(ctx, &self.home_id, "closing conversation")?;
        Ok(refresh_closing(self, svc.today()))
    }
}

/// A support plan: the office's and the home's own.
impl Answer<Recruitment> for SupportPlan {
    fn record(&self) -> (&'static str, String) {
        ("support_plan", self.home_id.clone())
    }

    async fn view(self, _svc: &Recruitment, ctx: &AuthContext) -> R<Self> {
        see_home(ctx, &self.home_id, "support plan")?;
        Ok(self)
    }
}

// Office records with ids, dates and codes only (no one's personal data);
// only the office writes them.
samling_kit::plain_answer!(Recruitment;
    InfoMeeting => "info_meeting", |m| m.id.clone();
    Course => "course", |c| c.id.clone();
    SupportSession => "support_session", |s| s.id.clone();
    ReliefArrangement => "relief_arrangement", |r| r.id.clone();
    MentorFamily => "mentor_family", |f| f.id.clone();
);
