//! The hard constraints (issue 20 §2), one function each, checked before
//! any score in the order of [`CHECKS`]: a home failing any is not ranked,
//! and is counted under the first it fails.
//!
//! The first [`INDEXED`] are also kept as bitset indexes by the read model
//! (status, type, willingness, live availability), so a ranking applies
//! them to 64 homes at a time; the index predicates below are what both the
//! indexes and the per-home checks call, so the two cannot disagree.

use super::geo::Proximity;
use super::model::CompactHome;
use super::rank::Ctx;
use samling_proto::recruitment::v1::MatchConstraint;
use samling_proto::registry::v1::{HomeStatus, HomeType, ProviderKind};

/// A check: does the home in `slot` pass?
pub type Check = fn(u32, &CompactHome, &Ctx) -> bool;

/// Every hard constraint, in order.
pub const CHECKS: [(MatchConstraint, Check); 13] = [
    (MatchConstraint::NotApproved, approved),
    (
        MatchConstraint::SuspendedOrRevoked,
        not_suspended_or_revoked,
    ),
    (MatchConstraint::HomeType, home_type_allowed),
    (MatchConstraint::Willingness, willing),
    (MatchConstraint::NotAvailableNow, available_now),
    (MatchConstraint::ReconfirmationOverdue, reconfirmed),
    (MatchConstraint::RecordChecks, record_checks_current),
    (MatchConstraint::AgencyPermit, agency_permit_valid),
    (MatchConstraint::Capacity, room_for_every_sibling),
    (MatchConstraint::AllergyPet, no_allergy_or_pet_conflict),
    (MatchConstraint::Objection, no_objection),
    (MatchConstraint::ProtectedDistance, protected_distance_kept),
    (MatchConstraint::DistanceRule, distance_rules_met),
];

/// How many of [`CHECKS`] the read model's bitsets answer in a scan.
pub const INDEXED: usize = 5;

/// Index predicate: a lifecycle state that takes placements (approved,
/// active, or paused — which the next check excludes as suspended).
pub fn lifecycle_takes_placements(s: HomeStatus) -> bool {
    matches!(
        s,
        HomeStatus::Approved | HomeStatus::Active | HomeStatus::Paused
    )
}

/// Index predicate: not paused (suspended) and consent not withdrawn (revoked).
pub fn in_service(s: HomeStatus, consent_withdrawn: bool) -> bool {
    s != HomeStatus::Paused && !consent_withdrawn
}

/// Types that never take 24-hour care.
pub fn takes_24h_care(t: HomeType) -> bool {
    !matches!(
        t,
        HomeType::Unspecified | HomeType::ContactFamily | HomeType::MentorFamily
    )
}

/// Approved or active (not an applicant, in training, under assessment or ended).
pub fn approved(_: u32, h: &CompactHome, _: &Ctx) -> bool {
    lifecycle_takes_placements(h.status())
}

/// Not suspended (paused) and not revoked (consent withdrawn).
pub fn not_suspended_or_revoked(_: u32, h: &CompactHome, _: &Ctx) -> bool {
    in_service(h.status(), h.consent_withdrawn())
}

/// A type that takes 24-hour care and the profile allows; a network home
/// only when named as this child's kinship candidate.
pub fn home_type_allowed(slot: u32, h: &CompactHome, ctx: &Ctx) -> bool {
    let mask = if ctx.is_kin(slot) {
        ctx.kin_type_mask
    } else {
        ctx.type_mask
    };
    mask & (1 << (h.home_type & 7)) != 0 && h.home_type < 8
}

/// Willing to take this placement kind (jour / short / long-term).
pub fn willing(_: u32, h: &CompactHome, ctx: &Ctx) -> bool {
    h.willing(ctx.willingness)
}

/// Night mode: the jourhem has declared itself available now.
pub fn available_now(_: u32, h: &CompactHome, ctx: &Ctx) -> bool {
    !ctx.night || h.jour_available()
}

/// The annual re-confirmation (aktualitetsförklaring) is not overdue on the
/// ranking date. A home with no due date was never approved and re-confirmed.
pub fn reconfirmed(_: u32, h: &CompactHome, ctx: &Ctx) -> bool {
    h.reconfirmation_due != super::model::NO_DATE && h.reconfirmation_due >= ctx.as_of
}

/// Every adult's latest register check is at most the configured age.
pub fn record_checks_current(_: u32, h: &CompactHome, ctx: &Ctx) -> bool {
    h.record_checks_oldest != super::model::NO_DATE
        && h.record_checks_oldest >= ctx.record_threshold
}

/// An agency home's agency holds an IVO permit valid on the ranking date.
pub fn agency_permit_valid(_: u32, h: &CompactHome, ctx: &Ctx) -> bool {
    if h.provider() != ProviderKind::Agency {
        return true;
    }
    ctx.model
        .agency(h)
        .is_some_and(|a| a.permit_valid_on(ctx.as_of))
}

/// Free places for every child of the unit (siblings placed together).
pub fn room_for_every_sibling(_: u32, h: &CompactHome, ctx: &Ctx) -> bool {
    h.free_places(ctx.cfg.normal_capacity) >= ctx.n
}

/// No pet a child is allergic to, and no household allergy to an animal a
/// child brings.
pub fn no_allergy_or_pet_conflict(_: u32, h: &CompactHome, ctx: &Ctx) -> bool {
    !ctx.allergy_pets.iter().any(|k| h.has_tag(*k))
        && !ctx.pet_allergies.iter().any(|k| h.has_tag(*k))
}

/// No objection to further placements by another municipality than the
/// placing one. Only the first placing municipality may object (registry),
/// so every recorded objection is treated as the first placer's.
pub fn no_objection(_: u32, h: &CompactHome, ctx: &Ctx) -> bool {
    h.objections().iter().all(|m| *m == ctx.placing.0)
}

/// Protected identity / violence: farther than the configured distance
/// from every keep-away place; a home whose location is unknown cannot be
/// shown to be far enough.
pub fn protected_distance_kept(_: u32, h: &CompactHome, ctx: &Ctx) -> bool {
    ctx.keep_away.iter().all(|a| {
        ctx.model
            .geo
            .proximity(h.muni, *a)
            .is_some_and(|p| p > ctx.cfg.protected_min_distance)
    })
}

/// Every hard "within" rule of the profile's anchors.
pub fn distance_rules_met(_: u32, h: &CompactHome, ctx: &Ctx) -> bool {
    ctx.within.iter().all(|(a, max)| {
        ctx.model
            .geo
            .proximity(h.muni, *a)
            .is_some_and(|p: Proximity| p <= *max)
    })
}

/// The first constraint the home fails.
pub fn first_failure(
    slot: u32,
    h: &CompactHome,
    ctx: &Ctx,
    from: usize,
) -> Option<MatchConstraint> {
    CHECKS[from..]
        .iter()
        .find(|(_, f)| !f(slot, h, ctx))
        .map(|(c, _)| *c)
}

/// Every constraint the home fails (for a named kinship home).
pub fn all_failures(slot: u32, h: &CompactHome, ctx: &Ctx) -> Vec<MatchConstraint> {
    CHECKS
        .iter()
        .filter(|(_, f)| !f(slot, h, ctx))
        .map(|(c, _)| *c)
        .collect()
}
