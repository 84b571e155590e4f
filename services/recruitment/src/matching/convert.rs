//! Domain values to and from the `samling.recruitment.v1` messages, so the
//! gRPC service (not yet written) only maps and authorizes.

use super::MatchingError;
use super::config::MatchingConfig;
use super::geo::Muni;
use super::model::ReadModel;
use super::profile::{tags, validate_anchors};
use super::rank::{NightRequest, RankedHome, Ranking, UnitRanking, weights};
use super::score::{Applies, CriterionResult};
use chrono::NaiveDate;
use samling_kit::dates;
use samling_proto::recruitment::v1 as pb;
use samling_proto::recruitment::v1::{CriterionApplies, MatchScope, Proximity as PProximity};

pub fn criterion(c: &CriterionResult) -> pb::CriterionScore {
    pb::CriterionScore {
        criterion: c.criterion.key().to_string(),
        weight: c.weight,
        score: u32::from(c.score),
        applies: match c.applies {
            Applies::Scored => CriterionApplies::Scored,
            Applies::NotApplicable => CriterionApplies::NotApplicable,
            Applies::Withheld => CriterionApplies::Withheld,
        } as i32,
        points: c.points,
        detail: c.detail.clone(),
    }
}

pub fn ranked_home(h: &RankedHome) -> pb::RankedHome {
    pb::RankedHome {
        rank: h.rank,
        home_id: h.home_id.clone(),
        home_type: h.home_type as i32,
        provider: h.provider as i32,
        kinship: h.kinship,
        score: h.score,
        criteria: h.criteria.iter().map(criterion).collect(),
        municipality_code: h.municipality.code(),
        region_id: h.region_id.clone(),
        free_places: u32::from(h.free_places),
        jour_available: h.jour_available,
        home_version: h.version,
        description: h.description.clone(),
    }
}

fn exclusions(u: &UnitRanking) -> Vec<pb::ExclusionCount> {
    u.exclusion_counts()
        .into_iter()
        .map(|(c, n)| pb::ExclusionCount {
            constraint: c as i32,
            count: n,
        })
        .collect()
}

pub fn unit(u: &UnitRanking) -> pb::PlacementUnitRanking {
    pb::PlacementUnitRanking {
        child_keys: u.child_keys.clone(),
        all_together: u.all_together,
        homes: u.homes.iter().map(ranked_home).collect(),
        considered: u.considered,
        suitable: u.suitable,
        kinds_offered: u.kinds_offered,
        below_minimum: u.below_minimum,
        excluded: exclusions(u),
        kinship_excluded: u
            .kinship_excluded
            .iter()
            .map(|k| pb::KinshipExclusion {
                home_id: k.home_id.clone(),
                constraints: k.constraints.iter().map(|c| *c as i32).collect(),
                not_found: k.not_found,
            })
            .collect(),
    }
}

fn cursors(r: &Ranking) -> Vec<pb::ReadModelCursor> {
    r.cursors
        .iter()
        .map(|(k, v)| pb::ReadModelCursor {
            region_id: k.clone(),
            cursor: *v,
        })
        .collect()
}

pub fn rank_response(r: &Ranking, proposal_id: &str, profile_id: &str) -> pb::RankHomesResponse {
    pb::RankHomesResponse {
        proposal_id: proposal_id.to_string(),
        profile_id: profile_id.to_string(),
        config_version: r.config_version.clone(),
        units: r.units.iter().map(unit).collect(),
        regions: r.regions.clone(),
        partial: r.partial,
        regions_missing: r.regions_missing.clone(),
        cursors: cursors(r),
        as_of: Some(dates::to_proto(r.as_of)),
    }
}

pub fn night_response(r: &Ranking) -> pb::FindFreeEmergencyHomesResponse {
    let u = r.units.first();
    pb::FindFreeEmergencyHomesResponse {
        config_version: r.config_version.clone(),
        homes: u
            .map(|u| u.homes.iter().map(ranked_home).collect())
            .unwrap_or_default(),
        considered: u.map_or(0, |u| u.considered),
        suitable: u.map_or(0, |u| u.suitable),
        excluded: u.map(exclusions).unwrap_or_default(),
        partial: r.partial,
        regions_missing: r.regions_missing.clone(),
    }
}

pub fn config(cfg: &MatchingConfig) -> pb::MatchingConfig {
    pb::MatchingConfig {
        version: cfg.version.clone(),
        weights: weights(cfg)
            .into_iter()
            .map(|(k, w)| pb::CriterionWeight {
                criterion: k.to_string(),
                weight: w,
            })
            .collect(),
        minimum_suitable: cfg.minimum_suitable,
        record_check_valid_months: cfg.record_check_valid_months,
        protected_min_distance: match cfg.protected_min_distance {
            super::geo::Proximity::SameMunicipality => PProximity::SameMunicipality,
            super::geo::Proximity::SameCounty => PProximity::SameCounty,
            super::geo::Proximity::SameRegion => PProximity::SameRegion,
            super::geo::Proximity::National => PProximity::National,
        } as i32,
    }
}

pub fn status(model: &ReadModel, cfg: &MatchingConfig) -> pb::ReadModelStatus {
    let m = model.memory();
    pb::ReadModelStatus {
        homes: m.homes,
        cursors: model
            .cursors()
            .iter()
            .map(|(k, v)| pb::ReadModelCursor {
                region_id: k.clone(),
                cursor: *v,
            })
            .collect(),
        bytes_total: m.bytes_total,
        bytes_per_home: m.bytes_per_home,
        config_version: cfg.version.clone(),
    }
}

/// A request's scope; unspecified means own region first (AUTO).
pub fn scope(field: &str, v: i32) -> Result<MatchScope, MatchingError> {
    match MatchScope::try_from(v) {
        Ok(MatchScope::Unspecified) => Ok(MatchScope::Auto),
        Ok(s) => Ok(s),
        Err(_) => Err(MatchingError::invalid(field, "is not a known value")),
    }
}

fn limit(v: u32, cfg: &MatchingConfig) -> Result<Option<u32>, MatchingError> {
    if v > cfg.max_limit {
        return Err(MatchingError::invalid(
            "limit",
            format!("must be at most {}", cfg.max_limit),
        ));
    }
    Ok((v > 0).then_some(v))
}

/// What a RankHomes request asks, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RankParams {
    pub profile_id: String,
    pub scope: MatchScope,
    pub limit: Option<u32>,
    pub as_of: Option<NaiveDate>,
}

pub fn rank_request(
    req: &pb::RankHomesRequest,
    cfg: &MatchingConfig,
) -> Result<RankParams, MatchingError> {
    samling_kit::ids::parse_id("profile_id", &req.profile_id)?;
    Ok(RankParams {
        profile_id: req.profile_id.clone(),
        scope: scope("scope", req.scope)?,
        limit: limit(req.limit, cfg)?,
        as_of: dates::opt_from_proto("as_of", req.as_of.as_ref())?,
    })
}

/// A night call, checked: (the request, scope, limit).
pub fn night_request(
    req: &pb::FindFreeEmergencyHomesRequest,
    cfg: &MatchingConfig,
) -> Result<(NightRequest, MatchScope, Option<u32>), MatchingError> {
    if req.children > 10 {
        return Err(MatchingError::invalid("children", "must be at most 10"));
    }
    Ok((
        NightRequest {
            location: Muni::parse("municipality_code", &req.municipality_code)?,
            placing: Muni::parse("placing_municipality_code", &req.placing_municipality_code)?,
            children: req.children.max(1) as u8,
            allergies: tags("allergies", &req.allergies)?,
            pets: tags("pets", &req.pets)?,
            protected_identity: req.protected_identity,
            anchors: validate_anchors("anchors", &req.anchors)?,
        },
        scope("scope", req.scope)?,
        limit(req.limit, cfg)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_checks_name_the_field() {
        let cfg = MatchingConfig::default();
        let e = rank_request(&pb::RankHomesRequest::default(), &cfg).unwrap_err();
        assert!(e.to_string().starts_with("profile_id"), "{e}");
        let r = pb::RankHomesRequest {
            profile_id: "0190a000-0000-7000-8000-000000000001".into(),
            limit: 51,
            ..Default::default()
        };
        assert!(
            rank_request(&r, &cfg)
                .unwrap_err()
                .to_string()
                .starts_with("limit")
        );
        let r = pb::RankHomesRequest {
            limit: 0,
            scope: 9,
            ..r
        };
        assert!(
            rank_request(&r, &cfg)
                .unwrap_err()
                .to_string()
                .starts_with("scope")
        );
        let ok = rank_request(&pb::RankHomesRequest { scope: 0, ..r }, &cfg).unwrap();
        assert_eq!((ok.scope, ok.limit), (MatchScope::Auto, None));
        let n = pb::FindFreeEmergencyHomesRequest {
            municipality_code: "2281".into(),
            placing_municipality_code: "2281".into(),
            children: 11,
            ..Default::default()
        };
        assert!(
            night_request(&n, &cfg)
                .unwrap_err()
                .to_string()
                .starts_with("children")
        );
        let n = pb::FindFreeEmergencyHomesRequest {
            children: 0,
            placing_municipality_code: "x".into(),
            ..n
        };
        assert!(
            night_request(&n, &cfg)
                .unwrap_err()
                .to_string()
                .starts_with("placing_municipality_code")
        );
    }
}
