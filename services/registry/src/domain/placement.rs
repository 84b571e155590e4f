//! Placements: capacity rules, the first placing municipality's objection,
//! the 2-year custody-transfer consideration and how a placement ends.

use super::{RegistryError, Rules};
use chrono::NaiveDate;
use samling_kit::dates;
use samling_kit::error::Reason;
use samling_proto::registry::v1::{
    Breakdown, BreakdownInitiator, BreakdownReason, EndReason, LegalBasis, Objection,
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
    if after > rules.ivo_report_above {
        out.notices.push(NOTICE_IVO_REPORT_RAISED);
        out.ivo_report = true;
    }
    Ok(out)
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
