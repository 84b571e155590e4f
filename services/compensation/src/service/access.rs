//! Who may do what (docs/compensation.md "Access"), checked before anything
//! is replayed or changed, and the views of the answers.
//!
//! * Regional finance staff (`RegionalOfficer` of the region, bound by
//!   [`Service::bind`](samling_kit::service::Service::bind)) and other
//!   services (`Service`) keep schedules and agreements and distribute
//!   grants.
//! * Schedules are published rates: every signed-in caller reads them (not
//!   the gateway's public caller).
//! * An agreement (and what it pays) is read by finance, by the home it pays
//!   (`FamilyHome`, party = its home id) and by the placing municipality's
//!   caseworkers and managers; another home's or municipality's is
//!   `NotFound` (its existence is not disclosed).
//! * The state grants' key: finance and the national analyst.

use super::{Compensation, R};
use crate::domain::CompensationError;
use samling_kit::auth::{AuthContext, Role};
use samling_kit::error::{KitError, Reason};
use samling_kit::service::Answer;
use samling_proto::compensation::v1::{Agreement, FeeSchedule};

pub(crate) fn refused(reason: Reason, message: impl Into<String>) -> CompensationError {
    CompensationError::Kit(KitError::refused(reason, message))
}

fn role_refused(ctx: &AuthContext, what: &str) -> CompensationError {
    refused(
        Reason::ForbiddenRole,
        format!("a {} may not {what}", ctx.role.as_str()),
    )
}

/// Regional finance staff or another service.
pub(crate) fn is_finance(ctx: &AuthContext) -> bool {
    matches!(ctx.role, Role::RegionalOfficer | Role::Service) && !ctx.is_public()
}

/// Finance's own work.
pub(crate) fn finance(ctx: &AuthContext, what: &str) -> R<()> {
    if is_finance(ctx) {
        Ok(())
    } else {
        Err(role_refused(ctx, what))
    }
}

/// Any signed-in caller (schedules are published rates).
pub(crate) fn signed_in(ctx: &AuthContext, what: &str) -> R<()> {
    if ctx.is_public() {
        Err(role_refused(ctx, what))
    } else {
        Ok(())
    }
}

/// The state grants' key.
pub(crate) fn grants(ctx: &AuthContext) -> R<()> {
    match ctx.role {
        _ if is_finance(ctx) => Ok(()),
        Role::NationalAnalyst => Ok(()),
        _ => Err(role_refused(ctx, "distribute state grants")),
    }
}

/// May `ctx` see the agreement of `home_id` paid by `municipality_code`?
/// Another home's or municipality's is "not found".
pub(crate) fn see_agreement(ctx: &AuthContext, a: &Agreement) -> R<()> {
    let hidden = || CompensationError::not_found(format!("agreement {}", a.id));
    match ctx.role {
        _ if is_finance(ctx) => Ok(()),
        Role::FamilyHome if ctx.is_party(&a.home_id) => Ok(()),
        Role::FamilyHome => Err(hidden()),
        r if r.is_municipal() => {
            if ctx.municipality.as_ref().map(|m| m.as_str()) == Some(a.municipality_code.as_str()) {
                Ok(())
            } else {
                Err(hidden())
            }
        }
        _ => Err(role_refused(ctx, "read agreements")),
    }
}

/// The filter a caller's list of agreements is limited to: finance as
/// asked; a home its own (asking for another home is refused); a
/// municipality its own.
pub(crate) fn agreement_scope(
    ctx: &AuthContext,
    home_id: &str,
    municipality_code: &str,
) -> R<(String, String)> {
    let home_id = home_id.trim().to_string();
    let municipality_code = municipality_code.trim().to_string();
    match ctx.role {
        _ if is_finance(ctx) => Ok((home_id, municipality_code)),
        Role::FamilyHome => {
            let own = ctx.party.clone().unwrap_or_default();
            if own.is_empty() || (!home_id.is_empty() && home_id != own) {
                return Err(refused(
                    Reason::NotOwnRecord,
                    "home_id: a family home lists its own agreements only",
                ));
            }
            Ok((own, municipality_code))
        }
        r if r.is_municipal() => {
            let own = ctx
                .municipality
                .as_ref()
                .map(|m| m.as_str().to_string())
                .unwrap_or_default();
            if own.is_empty() || (!municipality_code.is_empty() && municipality_code != own) {
                return Err(refused(
                    Reason::NotOwnMunicipality,
                    "municipality_code: a municipality lists its own agreements only",
                ));
            }
            Ok((home_id, own))
        }
        _ => Err(role_refused(ctx, "list agreements")),
    }
}

/// An agreement: finance, its home and its paying municipality.
impl Answer<Compensation> for Agreement {
    fn record(&self) -> (&'static str, String) {
        ("agreement", self.id.clone())
    }

    async fn view(self, _svc: &Compensation, ctx: &AuthContext) -> R<Self> {
        see_agreement(ctx, &self)?;
        Ok(self)
    }
}

/// Schedules are published rates (ids, codes and amounts).
impl Answer<Compensation> for FeeSchedule {
    fn record(&self) -> (&'static str, String) {
        ("fee_schedule", self.id.clone())
    }

    async fn view(self, _svc: &Compensation, ctx: &AuthContext) -> R<Self> {
        signed_in(ctx, "read fee schedules")?;
        Ok(self)
    }
}
