//! Placements: capacity rules, the first placing municipality's objection,
//! the 2-year custody-transfer consideration and how a placement ends.

use super::home::{self, reconfirmation_overdue};
use super::{RegistryError, Rules};
use chrono::NaiveDate;
use samling_kit::dates;
use samling_kit::error::Reason;
use samling_proto::registry::v1::{
    Breakdown, BreakdownInitiator, BreakdownReason, Child, EndReason, Home, LegalBasis, Objection,
    Placement, PlacementStatus, Unit,
};

/// Notices returned to the caller when a placement is made.
pub const NOTICE_ABOVE_NORMAL_CAPACITY: &str = "above_normal_capacity";
pub const NOTICE_ABOVE_APPROVED_CAPACITY: &str = "above_approved_capacity";
pub const NOTICE_IVO_REPORT_RAISED: &str = "ivo_report_raised";
pub const NOTICE_RECONFIRMATION_OVERDUE: &str = "home_reconfirmation_overdue";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CapacityOutcome {
    pub notices: Vec<&'static str>,
    /// More than `ivo_report_above` children: report to IVO.
    pub ivo_report: bool,
}

/// Check one more child against the home's capacity. Above the home's approved
/// capacity needs a stated reason; above the normal maximum is noted; above
/// `ivo_report_above` raises a report to IVO.
pub fn check_capacity(
    placed_now: u32,
    approved_capacity: u32,
    rules: &Rules,
    exception_reason: &str,
) -> Result<CapacityOutcome, RegistryError> {
    let after = placed_now + 1;
    let mut out = CapacityOutcome::default();
    if after > approved_capacity {
        if exception_reason.trim().is_empty() {
            return Err(RegistryError::refused(
                Reason::CapacityExceeded,
                format!(
                    "the home is approved for {approved_capacity} children and has {placed_now}; \
                 state capacity_exception_reason to place above it"
                ),
            ));
        }
        out.notices.push(NOTICE_ABOVE_APPROVED_CAPACITY);
    }
    if after > rules.normal_capacity {
        out.notices.push(NOTICE_ABOVE_NORMAL_CAPACITY);
    }
    if ivo_report_required(after, rules) {
        out.notices.push(NOTICE_IVO_REPORT_RAISED);
        out.ivo_report = true;
    }
    Ok(out)
}

/// The IVO decision: more than `ivo_report_above` children placed in one
/// home must be reported to IVO (raised when a placement passes it, closed
/// when an ending brings the home back to it).
pub fn ivo_report_required(placed: u32, rules: &Rules) -> bool {
    placed > rules.ivo_report_above
}

/// Is the placement active (not ended)?
pub fn is_active(p: &Placement) -> bool {
    p.status == PlacementStatus::Active as i32
}

/// A child has at most one active placement: a new one waits until the
/// current one is ended (MOVED_TO_OTHER_PLACEMENT).
pub fn check_no_active_placement(child: &Child) -> Result<(), RegistryError> {
    if !child.active_placement_id.is_empty() {
        return Err(RegistryError::precondition(
            "the child has an active placement; end it (MOVED_TO_OTHER_PLACEMENT) first",
        ));
    }
    Ok(())
}

/// The municipalities placing in one home.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Placing {
    /// With an active placement there, in order of first appearance.
    pub active: Vec<String>,
    /// With any placement there, ever.
    pub ever: Vec<String>,
    /// The placing municipality of the earliest active placement: the
    /// first placing municipality, who may object to further placements.
    pub first: Option<String>,
}

/// [`Placing`] from a home's placements as (placing municipality, status),
/// ordered by start date (then id).
pub fn placing<'a>(placements: impl IntoIterator<Item = (&'a str, PlacementStatus)>) -> Placing {
    let mut out = Placing::default();
    for (m, status) in placements {
        if status == PlacementStatus::Active {
            if out.first.is_none() {
                out.first = Some(m.to_string());
            }
            if !out.active.iter().any(|a| a == m) {
                out.active.push(m.to_string());
            }
        }
        if !out.ever.iter().any(|a| a == m) {
            out.ever.push(m.to_string());
        }
    }
    out
}

/// What placing one more child in a home told the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HomePlacement {
    /// Notices for the caller (overdue re-confirmation, capacity).
    pub notices: Vec<String>,
    /// This placement raised a report to IVO.
    pub ivo_report: bool,
}

/// Place one more child of `placing` in `home` on `today`: the home must
/// take placements, the first placing municipality (`first_placing`) must
/// not object, and above capacity needs `exception_reason`. Counts the
/// child, makes an approved home active and opens the IVO report when it is
/// due. A home overdue for re-confirmation takes the child with a notice.
pub fn place_in_home(
    home: &mut Home,
    placing: &str,
    first_placing: Option<&str>,
    rules: &Rules,
    exception_reason: &str,
    today: NaiveDate,
) -> Result<HomePlacement, RegistryError> {
    home::check_placeable(home)?;
    check_objection(&home.objections, first_placing, placing)?;
    let cap = check_capacity(
        u32::try_from(home.placed_count).unwrap_or(0),
        home::effective_capacity(home, rules),
        rules,
        exception_reason,
    )?;
    let mut notices = Vec::new();
    if reconfirmation_overdue(home, today) {
        notices.push(NOTICE_RECONFIRMATION_OVERDUE.to_string());
    }
    notices.extend(cap.notices.iter().map(|s| s.to_string()));
    home.placed_count += 1;
    home::activate_on_placement(home);
    if cap.ivo_report {
        home.ivo_report_open = true;
    }
    Ok(HomePlacement {
        notices,
        ivo_report: cap.ivo_report,
    })
}

/// A child's placement in `home` ended: one child fewer; the IVO report
/// closes once no longer required.
pub fn leave_home(home: &mut Home, rules: &Rules) {
    home.placed_count = (home.placed_count - 1).max(0);
    if !ivo_report_required(u32::try_from(home.placed_count).unwrap_or(0), rules) {
        home.ivo_report_open = false;
    }
}

/// A unit has a free place while fewer children are placed than it has places.
pub fn unit_has_free_place(u: &Unit) -> bool {
    u.placed_count < u.places
}

/// Take one of a unit's places for a placement (one vacancy fewer).
pub fn take_unit_place(u: &mut Unit) -> Result<(), RegistryError> {
    if !unit_has_free_place(u) {
        return Err(RegistryError::refused(
            samling_kit::error::Reason::CapacityExceeded,
            "the unit has no free place",
        ));
    }
    u.placed_count += 1;
    u.vacancies = (u.vacancies - 1).max(0);
    Ok(())
}

/// A placement in a unit ended: its place is free again (the unit itself
/// announces vacancies).
pub fn release_unit_place(u: &mut Unit) {
    u.placed_count = (u.placed_count - 1).max(0);
}

/// Is a custody transfer to be considered for this placement by `as_of`:
/// active, and its consideration date on or before `as_of`?
/// (`ListCustodyTransferDue`; "due", not "overdue": the day itself counts.)
pub fn custody_transfer_due(p: &Placement, as_of: NaiveDate) -> bool {
    is_active(p)
        && dates::opt_from_proto("", p.custody_transfer_consideration_on.as_ref())
            .ok()
            .flatten()
            .is_some_and(|d| d <= as_of)
}

/// The first placing municipality is the placing municipality of the earliest
/// active placement in the home. It may object to further placements by
/// other municipalities (5183 in seed 003).
pub fn check_objection(
    objections: &[Objection],
    first_placing: Option<&str>,
    placing: &str,
) -> Result<(), RegistryError> {
    let Some(first) = first_placing else {
        return Ok(());
    };
    if first != placing && objections.iter().any(|o| o.municipality_code == first) {
        return Err(RegistryError::refused(
            Reason::PlacementObjected,
            "the first placing municipality objects to further placements in this home",
        ));
    }
    Ok(())
}

/// Only the first placing municipality may object.
pub fn check_may_object(first_placing: Option<&str>, objector: &str) -> Result<(), RegistryError> {
    match first_placing {
        Some(first) if first == objector => Ok(()),
        Some(_) => Err(RegistryError::refused(
            Reason::NotFirstPlacing,
            "only the first placing municipality may object to further placements",
        )),
        None => Err(RegistryError::precondition(
            "the home has no active placement to object from",
        )),
    }
}

/// Two years after the start in the same home the municipality must consider
/// a custody transfer (vårdnadsöverflyttning).
pub fn custody_transfer_consideration(start: NaiveDate) -> NaiveDate {
    dates::add_months(start, 24)
}

pub fn legal_basis(v: i32) -> Result<LegalBasis, RegistryError> {
    LegalBasis::try_from(v)
        .ok()
        .filter(|b| *b != LegalBasis::Unspecified)
        .ok_or_else(|| RegistryError::invalid("legal_basis", "is required"))
}

pub fn check_dates(
    start: NaiveDate,
    planned_end: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<(), RegistryError> {
    if start > dates::add_months(today, 6) {
        return Err(RegistryError::invalid(
            "start_date",
            "is more than 6 months ahead",
        ));
    }
    if planned_end.is_some_and(|e| e < start) {
        return Err(RegistryError::invalid(
            "planned_end_date",
            "is before start_date",
        ));
    }
    Ok(())
}

/// Validate how a placement ends: a breakdown must carry at least one reason
/// code and who initiated it; other endings carry no breakdown.
pub fn check_end(
    start: NaiveDate,
    end: NaiveDate,
    reason: i32,
    breakdown: Option<&Breakdown>,
) -> Result<EndReason, RegistryError> {
    let reason = EndReason::try_from(reason)
        .ok()
        .filter(|r| *r != EndReason::Unspecified)
        .ok_or_else(|| RegistryError::invalid("end_reason", "is required"))?;
    if end < start {
        return Err(RegistryError::invalid(
            "end_date",
            "is before the placement started",
        ));
    }
    match (reason, breakdown) {
        (EndReason::Breakdown, None) => Err(RegistryError::invalid(
            "breakdown",
            "is required when end_reason is BREAKDOWN",
        )),
        (EndReason::Breakdown, Some(b)) => {
            if b.reasons.is_empty() {
                return Err(RegistryError::invalid(
                    "breakdown.reasons",
                    "at least one reason code",
                ));
            }
            for (i, r) in b.reasons.iter().enumerate() {
                if BreakdownReason::try_from(*r)
                    .ok()
                    .filter(|r| *r != BreakdownReason::Unspecified)
                    .is_none()
                {
                    return Err(RegistryError::invalid(
                        format!("breakdown.reasons[{i}]"),
                        "is not a known reason",
                    ));
                }
            }
            if BreakdownInitiator::try_from(b.initiated_by)
                .ok()
                .filter(|r| *r != BreakdownInitiator::Unspecified)
                .is_none()
            {
                return Err(RegistryError::invalid(
                    "breakdown.initiated_by",
                    "is required",
                ));
            }
            Ok(reason)
        }
        (_, Some(_)) => Err(RegistryError::invalid(
            "breakdown",
            "is only given when end_reason is BREAKDOWN",
        )),
        (_, None) => Ok(reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use samling_kit::error::{ErrorCode, ServiceError};

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn a_fourth_child_needs_a_reason_and_is_noted_above_normal_capacity() {
        let r = Rules::default();
        assert!(check_capacity(2, 3, &r, "").unwrap().notices.is_empty());
        assert!(check_capacity(3, 3, &r, "").is_err());
        let out = check_capacity(3, 3, &r, "sibling group").unwrap();
        assert!(out.notices.contains(&NOTICE_ABOVE_NORMAL_CAPACITY));
        assert!(!out.ivo_report);
    }

    #[test]
    fn more_than_four_children_raises_a_report_to_ivo() {
        let out = check_capacity(4, 6, &Rules::default(), "").unwrap();
        assert!(out.ivo_report);
        assert!(out.notices.contains(&NOTICE_IVO_REPORT_RAISED));
        let r = Rules::default();
        assert_eq!(r.ivo_report_above, 4);
        assert!(!ivo_report_required(4, &r));
        assert!(ivo_report_required(5, &r));
    }

    fn approved_home(placed: i32, capacity: i32) -> Home {
        Home {
            id: "h".into(),
            status: samling_proto::registry::v1::HomeStatus::Approved as i32,
            home_type: samling_proto::registry::v1::HomeType::FamilyHome as i32,
            placed_count: placed,
            capacity,
            reconfirmation_due_on: Some(dates::to_proto(d(2027, 1, 1))),
            ..Default::default()
        }
    }

    #[test]
    fn placing_in_a_home_counts_the_child_activates_it_and_opens_the_ivo_report() {
        use samling_proto::registry::v1::HomeStatus;
        let r = Rules::default();
        let today = d(2026, 11, 23);
        let mut h = approved_home(0, 6);
        let out = place_in_home(&mut h, "0180", None, &r, "", today).unwrap();
        assert_eq!(out, HomePlacement::default());
        assert_eq!((h.placed_count, h.status), (1, HomeStatus::Active as i32));
        assert!(!h.ivo_report_open);
        let mut h = approved_home(4, 6);
        h.status = HomeStatus::Active as i32;
        let out = place_in_home(&mut h, "0180", None, &r, "", today).unwrap();
        assert!(out.ivo_report && h.ivo_report_open);
        assert_eq!(h.placed_count, 5);
        // Back to four children: the report closes.
        leave_home(&mut h, &r);
        assert_eq!(h.placed_count, 4);
        assert!(!h.ivo_report_open);
        let mut empty = approved_home(0, 6);
        leave_home(&mut empty, &r);
        assert_eq!(empty.placed_count, 0, "never below zero");
    }

    #[test]
    fn placing_in_a_home_checks_status_objection_and_capacity_and_notes_overdue() {
        use samling_proto::registry::v1::HomeStatus;
        let r = Rules::default();
        let today = d(2026, 11, 23);
        let mut paused = approved_home(0, 6);
        paused.status = HomeStatus::Paused as i32;
        assert!(place_in_home(&mut paused, "0180", None, &r, "", today).is_err());
        assert_eq!(paused.placed_count, 0, "a refusal changes nothing");
        let mut objected = approved_home(1, 6);
        objected.objections.push(Objection {
            municipality_code: "0180".into(),
            ..Default::default()
        });
        assert!(place_in_home(&mut objected, "1480", Some("0180"), &r, "", today).is_err());
        let mut full = approved_home(3, 3);
        assert!(place_in_home(&mut full, "0180", None, &r, "", today).is_err());
        let out = place_in_home(&mut full, "0180", None, &r, "siblings", today).unwrap();
        assert_eq!(
            out.notices,
            vec![NOTICE_ABOVE_APPROVED_CAPACITY, NOTICE_ABOVE_NORMAL_CAPACITY]
        );
        let mut overdue = approved_home(0, 6);
        let out = place_in_home(&mut overdue, "0180", None, &r, "", d(2027, 1, 2)).unwrap();
        assert_eq!(out.notices, vec![NOTICE_RECONFIRMATION_OVERDUE]);
    }

    #[test]
    fn a_child_with_an_active_placement_gets_no_second_one() {
        let mut c = Child::default();
        assert!(check_no_active_placement(&c).is_ok());
        c.active_placement_id = "p1".into();
        assert!(matches!(
            check_no_active_placement(&c),
            Err(RegistryError::Precondition(_))
        ));
    }

    #[test]
    fn the_first_placing_municipality_is_the_earliest_active_placement() {
        use PlacementStatus::*;
        let p = placing([
            ("0180", Ended),
            ("1480", Active),
            ("0180", Active),
            ("1480", Active),
        ]);
        assert_eq!(p.first.as_deref(), Some("1480"));
        assert_eq!(p.active, vec!["1480", "0180"]);
        assert_eq!(p.ever, vec!["0180", "1480"]);
        let none = placing([("0180", Ended)]);
        assert_eq!(none.first, None);
        assert!(none.active.is_empty());
        assert_eq!(none.ever, vec!["0180"]);
    }

    #[test]
    fn a_unit_place_is_taken_while_one_is_free_and_released_on_ending() {
        let mut u = Unit {
            places: 2,
            placed_count: 1,
            vacancies: 1,
            ..Default::default()
        };
        take_unit_place(&mut u).unwrap();
        assert_eq!((u.placed_count, u.vacancies), (2, 0));
        assert!(!unit_has_free_place(&u));
        assert!(matches!(
            take_unit_place(&mut u).map_err(|e| e.reason()),
            Err(samling_kit::error::Reason::CapacityExceeded)
        ));
        assert_eq!(u.placed_count, 2, "a refusal changes nothing");
        release_unit_place(&mut u);
        assert_eq!(u.placed_count, 1);
        assert!(unit_has_free_place(&u));
        // Vacancies are the unit's own announcement: never below zero.
        u.vacancies = 0;
        take_unit_place(&mut u).unwrap();
        assert_eq!(u.vacancies, 0);
    }

    #[test]
    fn custody_transfer_is_due_on_and_after_its_date_for_active_placements() {
        let mut p = Placement {
            status: PlacementStatus::Active as i32,
            custody_transfer_consideration_on: Some(dates::to_proto(d(2026, 2, 28))),
            ..Default::default()
        };
        assert!(!custody_transfer_due(&p, d(2026, 2, 27)));
        assert!(custody_transfer_due(&p, d(2026, 2, 28)));
        assert!(custody_transfer_due(&p, d(2026, 3, 1)));
        p.status = PlacementStatus::Ended as i32;
        assert!(!custody_transfer_due(&p, d(2026, 3, 1)));
        p.status = PlacementStatus::Active as i32;
        p.custody_transfer_consideration_on = None;
        assert!(!custody_transfer_due(&p, d(2030, 1, 1)));
    }

    #[test]
    fn the_first_placing_municipality_can_block_others_but_not_itself() {
        let obj = vec![Objection {
            municipality_code: "0180".into(),
            ..Default::default()
        }];
        assert!(check_objection(&obj, Some("0180"), "1480").is_err());
        assert!(check_objection(&obj, Some("0180"), "0180").is_ok());
        assert!(check_objection(&[], Some("0180"), "1480").is_ok());
    }

    #[test]
    fn only_the_first_placing_municipality_may_object() {
        assert!(check_may_object(Some("0180"), "0180").is_ok());
        let e = check_may_object(Some("0180"), "1480").unwrap_err();
        assert_eq!(
            (e.code(), e.reason()),
            (ErrorCode::PermissionDenied, Reason::NotFirstPlacing)
        );
        assert!(check_may_object(None, "0180").is_err());
    }

    #[test]
    fn custody_transfer_is_considered_two_years_after_start() {
        assert_eq!(
            custody_transfer_consideration(d(2024, 2, 29)),
            d(2026, 2, 28)
        );
    }

    #[test]
    fn a_breakdown_must_carry_reason_codes_and_initiator() {
        let start = d(2025, 1, 1);
        let end = d(2025, 6, 1);
        let b = EndReason::Breakdown as i32;
        assert!(check_end(start, end, b, None).is_err());
        let empty = Breakdown::default();
        assert!(
            check_end(start, end, b, Some(&empty))
                .unwrap_err()
                .to_string()
                .starts_with("breakdown.reasons")
        );
        let ok = Breakdown {
            reasons: vec![BreakdownReason::MismatchedNeeds as i32],
            initiated_by: BreakdownInitiator::Home as i32,
            note: String::new(),
        };
        assert_eq!(
            check_end(start, end, b, Some(&ok)).unwrap(),
            EndReason::Breakdown
        );
        assert!(check_end(start, end, EndReason::Planned as i32, Some(&ok)).is_err());
        assert!(check_end(end, start, EndReason::Planned as i32, None).is_err());
    }
}
