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
        regions: r.regions.clone(),
    }
}

/// Another region's night answer back as a domain ranking (one unit), for
/// [`super::rank::merge_night`]. A malformed answer names the field.
pub fn night_from_pb(r: &pb::FindFreeEmergencyHomesResponse) -> Result<Ranking, MatchingError> {
    ranking_from_pb(&pb::RankHomesResponse {
        config_version: r.config_version.clone(),
        units: vec![pb::PlacementUnitRanking {
            homes: r.homes.clone(),
            considered: r.considered,
            suitable: r.suitable,
            excluded: r.excluded.clone(),
            all_together: true,
            ..Default::default()
        }],
        regions: r.regions.clone(),
        partial: r.partial,
        regions_missing: r.regions_missing.clone(),
        ..Default::default()
    })
}

/// A region's answer (its part of a national ranking) back as a domain
/// ranking, for [`super::rank::merge_regional`]. A malformed answer names
/// the field.
pub fn ranking_from_pb(r: &pb::RankHomesResponse) -> Result<Ranking, MatchingError> {
    use super::config::CRITERIA;
    use super::rank::{KinExclusion, N_CONSTRAINTS};
    use samling_proto::recruitment::v1::MatchConstraint;
    use samling_proto::registry::v1::{HomeType, ProviderKind};
    let mut units = Vec::with_capacity(r.units.len());
    for u in &r.units {
        let mut homes = Vec::with_capacity(u.homes.len());
        for h in &u.homes {
            let id = samling_kit::ids::parse_id("units.homes.home_id", &h.home_id)?.as_u128();
            let mut criteria = Vec::with_capacity(h.criteria.len());
            for c in &h.criteria {
                let criterion = CRITERIA
                    .iter()
                    .find(|k| k.key() == c.criterion)
                    .copied()
                    .ok_or_else(|| {
                        MatchingError::invalid("units.homes.criteria.criterion", "unknown")
                    })?;
                criteria.push(CriterionResult {
                    criterion,
                    weight: c.weight,
                    score: c.score.min(1000) as u16,
                    applies: match CriterionApplies::try_from(c.applies) {
                        Ok(CriterionApplies::NotApplicable) => Applies::NotApplicable,
                        Ok(CriterionApplies::Withheld) => Applies::Withheld,
                        _ => Applies::Scored,
                    },
                    points: c.points,
                    detail: c.detail.clone(),
                });
            }
            homes.push(RankedHome {
                rank: h.rank,
                id,
                home_id: h.home_id.clone(),
                home_type: HomeType::try_from(h.home_type).unwrap_or_default(),
                provider: ProviderKind::try_from(h.provider).unwrap_or_default(),
                kinship: h.kinship,
                score: h.score.min(1000),
                criteria,
                municipality: if h.municipality_code.is_empty() {
                    Muni::UNKNOWN
                } else {
                    Muni::parse("units.homes.municipality_code", &h.municipality_code)?
                },
                region_id: h.region_id.clone(),
                free_places: h.free_places.min(u32::from(u8::MAX)) as u8,
                jour_available: h.jour_available,
                version: h.home_version,
                description: h.description.clone(),
            });
        }
        let mut excluded = [0u32; N_CONSTRAINTS];
        for e in &u.excluded {
            let i = MatchConstraint::try_from(e.constraint)
                .map_err(|_| MatchingError::invalid("units.excluded.constraint", "unknown"))?
                as usize;
            excluded[i] += e.count;
        }
        units.push(UnitRanking {
            child_keys: u.child_keys.clone(),
            all_together: u.all_together,
            homes,
            considered: u.considered,
            suitable: u.suitable,
            kinds_offered: u.kinds_offered,
            below_minimum: u.below_minimum,
            excluded,
            kinship_excluded: u
                .kinship_excluded
                .iter()
                .map(|k| KinExclusion {
                    home_id: k.home_id.clone(),
                    constraints: k
                        .constraints
                        .iter()
                        .filter_map(|c| MatchConstraint::try_from(*c).ok())
                        .collect(),
                    not_found: k.not_found,
                })
                .collect(),
        });
    }
    Ok(Ranking {
        config_version: r.config_version.clone(),
        units,
        regions: r.regions.clone(),
        partial: r.partial,
        regions_missing: r.regions_missing.clone(),
        cursors: r
            .cursors
            .iter()
            .map(|c| (c.region_id.clone(), c.cursor))
            .collect(),
        as_of: dates::opt_from_proto("as_of", r.as_of.as_ref())?
            .unwrap_or_else(|| NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()),
    })
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
        ..Default::default()
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
