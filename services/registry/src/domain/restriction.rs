//! Negative and protective decisions (ADR 0026): an approval revoked or
//! suspended, a nämnd's prohibition (22 kap. 11 § SoL), a medgivande
//! withdrawn; and the IVO permit a provider needs before a child is placed
//! with it. Pure rules: the service records, notifies and writes.

use super::RegistryError;
use super::home::{self, check_plain};
use chrono::NaiveDate;
use samling_kit::dates;
use samling_kit::error::Reason;
use samling_proto::registry::v1::{
    Home, HomeStatus, IvoPermit, LegalBasis, Restriction, RestrictionKind, Unit, UnitKind,
};

/// The notice a placement into a home whose agency has no valid permit
/// carries when it is allowed (LVU 6 § with a stated reason).
pub const NOTICE_AGENCY_PERMIT_INVALID: &str = "agency_permit_invalid";

/// Days a home has to appeal a restriction to the national reviewer.
pub const APPEAL_DAYS: u64 = 21;

/// What the home is told about appealing when the decision says nothing else.
pub fn default_how_to_appeal() -> String {
    format!(
        "You may appeal within {APPEAL_DAYS} days of this notice to the national reviewer \
         (a request of kind APPEAL naming this decision). The reviewer's decision states how \
         to appeal it further (to the administrative court)."
    )
}

/// A restriction's request, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidRestriction {
    pub kind: RestrictionKind,
    pub decision_date: NaiveDate,
    pub suspended_until: Option<NaiveDate>,
    pub reasons: String,
    pub decision_ref: String,
    pub how_to_appeal: String,
}

/// A free text of the decision: required, at most `max` characters, no
/// control or invisible format characters (line breaks allowed).
pub fn decision_text(field: &str, s: &str, max: usize) -> Result<String, RegistryError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(RegistryError::invalid(field, "is required"));
    }
    if t.chars().count() > max {
        return Err(RegistryError::invalid(
            field,
            format!("at most {max} characters"),
        ));
    }
    if t.chars()
        .any(|c| (c.is_control() && c != '\n' && c != '\r' && c != '\t') || home::is_hidden_char(c))
    {
        return Err(RegistryError::invalid(
            field,
            "must not contain control or invisible characters",
        ));
    }
    Ok(t.to_string())
}

pub fn validate(
    kind: i32,
    decision_date: NaiveDate,
    suspended_until: Option<NaiveDate>,
    decision_ref: &str,
    reasons: &str,
    how_to_appeal: &str,
    today: NaiveDate,
) -> Result<ValidRestriction, RegistryError> {
    let kind = RestrictionKind::try_from(kind)
        .ok()
        .filter(|k| *k != RestrictionKind::Unspecified)
        .ok_or_else(|| RegistryError::invalid("kind", "is required"))?;
    if decision_date > today {
        return Err(RegistryError::invalid(
            "decision_date",
            "must not be in the future",
        ));
    }
    if decision_ref.trim().is_empty() {
        return Err(RegistryError::invalid("decision_ref", "is required"));
    }
    check_plain("decision_ref", decision_ref)?;
    let reasons = decision_text("reasons", reasons, 4000)?;
    if let Some(until) = suspended_until {
        if kind != RestrictionKind::ApprovalSuspended {
            return Err(RegistryError::invalid(
                "suspended_until",
                "only a suspension has an end date",
            ));
        }
        if until <= decision_date {
            return Err(RegistryError::invalid(
                "suspended_until",
                "must be after decision_date",
            ));
        }
    }
    let how_to_appeal = if how_to_appeal.trim().is_empty() {
        default_how_to_appeal()
    } else {
        decision_text("how_to_appeal", how_to_appeal, 2000)?
    };
    Ok(ValidRestriction {
        kind,
        decision_date,
        suspended_until,
        reasons,
        decision_ref: decision_ref.trim().to_string(),
        how_to_appeal,
    })
}

/// Is a restriction in force on the home?
pub fn blocked(home: &Home) -> bool {
    home.restrictions.iter().any(|r| r.in_force)
}

/// Record `r` on the home: not on an ended home; the same kind from the
/// same nämnd only once while it is in force. The home stops taking
/// placements: an approved or active home is PAUSED while it stands.
pub fn record(home: &mut Home, r: Restriction) -> Result<(), RegistryError> {
    if home::is_ended(home) {
        return Err(RegistryError::precondition("the home has ended"));
    }
    if home
        .restrictions
        .iter()
        .any(|o| o.in_force && o.kind == r.kind && o.municipality_code == r.municipality_code)
    {
        return Err(RegistryError::refused(
            Reason::AlreadyRecorded,
            "this nämnd's decision of this kind is already in force",
        ));
    }
    home.restrictions.push(r);
    apply_block(home);
    Ok(())
}

/// Lift restriction `id` (ended, or set aside on appeal) with `reason`.
pub fn lift(
    home: &mut Home,
    id: &str,
    reason: &str,
    at: &str,
) -> Result<Restriction, RegistryError> {
    let r = home
        .restrictions
        .iter_mut()
        .find(|r| r.id == id)
        .ok_or_else(|| RegistryError::NotFound(format!("restriction {id}")))?;
    if !r.in_force {
        return Err(RegistryError::precondition(
            "the restriction is already lifted",
        ));
    }
    r.in_force = false;
    r.lifted_at = at.to_string();
    r.lifted_reason = reason.to_string();
    let out = r.clone();
    apply_block(home);
    Ok(out)
}

/// The status follows the restrictions: PAUSED while one is in force (so
/// every reader of the feed — matching too — sees a home that takes no
/// placements), back to ACTIVE (children placed) or APPROVED when the last
/// is lifted, if the restriction paused it.
pub fn apply_block(home: &mut Home) {
    let now_blocked = blocked(home);
    home.placement_blocked = now_blocked;
    let status = home::status(home);
    if now_blocked {
        home.jour_available = false;
        if matches!(status, HomeStatus::Approved | HomeStatus::Active) {
            home.status_before_restriction = status as i32;
            home.status = HomeStatus::Paused as i32;
        }
    } else if status == HomeStatus::Paused && home.status_before_restriction != 0 {
        home.status = if home.placed_count > 0 {
            HomeStatus::Active
        } else {
            HomeStatus::Approved
        } as i32;
        home.status_before_restriction = 0;
    }
}

/// A restriction stops the home's own lifecycle steps back into service.
pub fn check_transition(home: &Home, to: HomeStatus) -> Result<(), RegistryError> {
    if blocked(home) && matches!(to, HomeStatus::Active | HomeStatus::Approved) {
        return Err(RegistryError::refused(
            Reason::NotAcceptingPlacements,
            "a restriction is in force: lift it (or have it set aside on appeal) first",
        ));
    }
    Ok(())
}

/// Why the home takes no placement now, if a restriction is in force.
pub fn check_not_blocked(home: &Home) -> Result<(), RegistryError> {
    if let Some(r) = home.restrictions.iter().find(|r| r.in_force) {
        let kind = RestrictionKind::try_from(r.kind).unwrap_or_default();
        return Err(RegistryError::refused(
            Reason::NotAcceptingPlacements,
            format!(
                "a restriction is in force on the home ({}): no placement is made there",
                kind.as_str_name()
            ),
        ));
    }
    Ok(())
}

/// Is an IVO permit in force on `on`: not revoked, valid from on or
/// before, not expired?
pub fn permit_in_force(p: Option<&IvoPermit>, on: NaiveDate) -> bool {
    p.is_some_and(|p| {
        !p.revoked
            && !p.permit_number.trim().is_empty()
            && dates::opt_from_proto("", p.valid_from.as_ref())
                .ok()
                .flatten()
                .is_some_and(|f| f <= on)
            && dates::opt_from_proto("", p.valid_until.as_ref())
                .ok()
                .flatten()
                .is_none_or(|u| u >= on)
    })
}

/// A home of an agency without a valid permit (LVU 6 §: the law's one
/// emergency): refused, unless it is an immediate custody with a stated
/// reason — then allowed with [`NOTICE_AGENCY_PERMIT_INVALID`].
pub fn check_agency_permit(
    permit_ok: bool,
    basis: LegalBasis,
    exception_reason: &str,
) -> Result<Option<&'static str>, RegistryError> {
    if permit_ok {
        return Ok(None);
    }
    if basis == LegalBasis::Lvu6 && !exception_reason.trim().is_empty() {
        check_plain("permit_exception_reason", exception_reason)?;
        return Ok(Some(NOTICE_AGENCY_PERMIT_INVALID));
    }
    Err(RegistryError::refused(
        Reason::NotAcceptingPlacements,
        "the home's agency holds no valid IVO permit: only an immediate custody (LVU 6 §) \
         with a stated permit_exception_reason may place there",
    ))
}

/// Does a unit of this kind need an IVO permit? HVB and supported housing
/// do; SiS youth homes are the state's own.
pub fn unit_needs_permit(u: &Unit) -> bool {
    matches!(
        UnitKind::try_from(u.kind).unwrap_or_default(),
        UnitKind::Hvb | UnitKind::SupportedHousing
    )
}

/// A unit without a valid permit takes no child (no exception: running
/// one without a permit is itself unlawful).
pub fn check_unit_permit(u: &Unit, on: NaiveDate) -> Result<(), RegistryError> {
    if unit_needs_permit(u) && !permit_in_force(u.permit.as_ref(), on) {
        return Err(RegistryError::refused(
            Reason::NotAcceptingPlacements,
            "the unit holds no valid IVO permit: no child is placed there",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn restriction(id: &str, kind: RestrictionKind, m: &str) -> Restriction {
        Restriction {
            id: id.into(),
            kind: kind as i32,
            municipality_code: m.into(),
            in_force: true,
            ..Default::default()
        }
    }

    #[test]
    fn a_restriction_pauses_the_home_and_lifting_the_last_restores_it() {
        let mut h = Home {
            status: HomeStatus::Active as i32,
            placed_count: 1,
            jour_available: true,
            ..Default::default()
        };
        record(
            &mut h,
            restriction("r1", RestrictionKind::ApprovalSuspended, "0180"),
        )
        .unwrap();
        record(
            &mut h,
            restriction("r2", RestrictionKind::Prohibition, "0160"),
        )
        .unwrap();
        assert_eq!(home::status(&h), HomeStatus::Paused);
        assert!(h.placement_blocked && !h.jour_available);
        assert!(check_not_blocked(&h).is_err());
        assert!(check_transition(&h, HomeStatus::Active).is_err());
        // The same decision twice is refused while in force.
        assert!(
            record(
                &mut h,
                restriction("r3", RestrictionKind::Prohibition, "0160")
            )
            .is_err()
        );
        lift(&mut h, "r1", "investigation closed", "t").unwrap();
        assert_eq!(home::status(&h), HomeStatus::Paused, "r2 still stands");
        assert!(lift(&mut h, "r1", "again", "t").is_err());
        lift(&mut h, "r2", "set aside on appeal", "t").unwrap();
        assert_eq!(home::status(&h), HomeStatus::Active);
        assert!(!h.placement_blocked);
        assert!(check_not_blocked(&h).is_ok());
        h.placed_count = 0;
        record(
            &mut h,
            restriction("r4", RestrictionKind::ApprovalRevoked, "0180"),
        )
        .unwrap();
        lift(&mut h, "r4", "x", "t").unwrap();
        assert_eq!(home::status(&h), HomeStatus::Approved);
    }

    #[test]
    fn a_decision_states_its_kind_reasons_and_reference() {
        let today = d(2026, 12, 1);
        let ok = |kind: RestrictionKind, until: Option<NaiveDate>| {
            validate(
                kind as i32,
                d(2026, 11, 30),
                until,
                "SN 12",
                "skäl",
                "",
                today,
            )
        };
        assert!(ok(RestrictionKind::Prohibition, None).is_ok());
        assert!(ok(RestrictionKind::ApprovalSuspended, Some(d(2027, 1, 1))).is_ok());
        let field = |r: Result<ValidRestriction, RegistryError>| {
            r.unwrap_err()
                .to_string()
                .split(':')
                .next()
                .unwrap()
                .to_string()
        };
        assert_eq!(field(ok(RestrictionKind::Unspecified, None)), "kind");
        assert_eq!(
            field(ok(RestrictionKind::Prohibition, Some(d(2027, 1, 1)))),
            "suspended_until"
        );
        assert_eq!(
            field(validate(1, d(2026, 12, 2), None, "SN", "x", "", today)),
            "decision_date"
        );
        assert_eq!(
            field(validate(1, today, None, "SN", "  ", "", today)),
            "reasons"
        );
        assert_eq!(
            field(validate(1, today, None, "", "x", "", today)),
            "decision_ref"
        );
        assert_eq!(
            field(validate(1, today, None, "SN", "a\u{202E}b", "", today)),
            "reasons"
        );
        assert!(
            ok(RestrictionKind::Prohibition, None)
                .unwrap()
                .how_to_appeal
                .contains("national reviewer")
        );
    }

    #[test]
    fn permits_decide_agency_homes_and_units() {
        let on = d(2026, 12, 1);
        let permit = |revoked: bool, until: Option<NaiveDate>| IvoPermit {
            permit_number: "IVO 1".into(),
            valid_from: Some(dates::to_proto(d(2020, 1, 1))),
            valid_until: until.map(dates::to_proto),
            revoked,
        };
        assert!(permit_in_force(Some(&permit(false, None)), on));
        assert!(!permit_in_force(Some(&permit(true, None)), on));
        assert!(!permit_in_force(
            Some(&permit(false, Some(d(2026, 11, 30)))),
            on
        ));
        assert!(!permit_in_force(None, on));
        assert_eq!(
            check_agency_permit(true, LegalBasis::Lvu2, "").unwrap(),
            None
        );
        assert!(check_agency_permit(false, LegalBasis::Lvu2, "urgent").is_err());
        assert!(check_agency_permit(false, LegalBasis::Lvu6, "").is_err());
        assert_eq!(
            check_agency_permit(false, LegalBasis::Lvu6, "no other home tonight").unwrap(),
            Some(NOTICE_AGENCY_PERMIT_INVALID)
        );
        let hvb = Unit {
            kind: UnitKind::Hvb as i32,
            ..Default::default()
        };
        assert!(check_unit_permit(&hvb, on).is_err());
        let sis = Unit {
            kind: UnitKind::Sis as i32,
            ..Default::default()
        };
        assert!(check_unit_permit(&sis, on).is_ok());
        let licensed = Unit {
            permit: Some(permit(false, None)),
            ..hvb
        };
        assert!(check_unit_permit(&licensed, on).is_ok());
    }
}
