//! Funnel statistics, suppressed below 5 for aggregate roles.
//!
//! The office (and other services) see exact figures for any municipality
//! of the region; the national analyst and the council see them with counts
//! of 1–4 shown as "<5" (and complementary cells hidden, `domain::funnel`);
//! a municipality's manager sees its own municipality's the same way. No
//! other role sees them, and no one sees individual cases here.

use super::{R, Recruitment};
use crate::domain::RecruitmentError;
use crate::domain::funnel::{FunnelCase, funnel};
use crate::store;
use samling_kit::auth::{AuthContext, Role};
use samling_kit::dates;
use samling_kit::error::{KitError, Reason};
use samling_proto::recruitment::v1::*;
use std::collections::BTreeMap;

impl Recruitment {
    pub async fn get_funnel_statistics(
        &self,
        ctx: &AuthContext,
        req: GetFunnelStatisticsRequest,
    ) -> R<FunnelStatistics> {
        let requested = req.municipality_code.trim();
        let (municipality, suppress) = match ctx.role {
            Role::RegionalOfficer | Role::Service => (requested.to_string(), false),
            Role::NationalAnalyst | Role::CouncilMember => (requested.to_string(), true),
            Role::MunicipalityManager => {
                let own = ctx
                    .municipality
                    .as_ref()
                    .map(|m| m.as_str().to_string())
                    .unwrap_or_default();
                if !requested.is_empty() && requested != own {
                    return Err(RecruitmentError::Kit(KitError::refused(
                        Reason::NotOwnMunicipality,
                        "municipality_code: a municipality's manager sees its own municipality's funnel only",
                    )));
                }
                (own, true)
            }
            r => {
                return Err(RecruitmentError::Kit(KitError::refused(
                    Reason::ForbiddenRole,
                    format!("a {} may not read funnel statistics", r.as_str()),
                )));
            }
        };
        if !municipality.is_empty() {
            self.in_region("municipality_code", &municipality)?;
        }
        let from = dates::from_proto("from", req.from.as_ref())?;
        let to = dates::from_proto("to", req.to.as_ref())?;
        if to < from {
            return Err(RecruitmentError::invalid("to", "is before from"));
        }
        let track = Track::try_from(req.track)
            .map_err(|_| RecruitmentError::invalid("track", "is not a track"))?;
        let cases = store::funnel::cohort(
            &self.store.read,
            &municipality,
            &dates::date_text(from),
            &dates::date_text(to),
            track,
        )
        .await?;
        let cohort: Vec<FunnelCase> = cases.iter().map(FunnelCase::from_case).collect();
        // Campaign names live with the campaigns (the intake's records);
        // the yield names campaigns by id.
        let names = BTreeMap::new();
        let mut stats = funnel(&cohort, &names, track, suppress);
        stats.region_id = self
            .region
            .as_ref()
            .map(|r| r.to_string())
            .unwrap_or_default();
        stats.municipality_code = municipality;
        stats.from = req.from;
        stats.to = req.to;
        Ok(stats)
    }
}
