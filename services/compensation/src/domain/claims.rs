//! Claims (ADR 0032): amounts a family home claims under its agreement —
//! lost income, travel for visits and handledning, training, a recovery
//! break, a start grant, basic equipment — decided by a caseworker of the
//! placing municipality and paid, once, in the next monthly run.

use super::CompensationError;
use super::agreement::{MAX_NOTE_CHARS, required_enum};
use samling_proto::compensation::v1::{ClaimKind, ClaimStatus};
use serde::Deserialize;

type R<T> = Result<T, CompensationError>;

/// The ceiling of one claim per kind, in öre (`[compensation.rules.claim_ceilings]`,
/// rule K3, ADR 0049). Seed 003 (≈10520–10560, 10690–10700) names the kinds
/// but no amounts; the defaults are documented choices (docs/compensation.md
/// "Claims"): a month's lost income at about a median wage, travel and
/// training as a month's use, a recovery break as two weeks' arvode at the
/// raised level, a start grant and basic equipment as a room furnished for a
/// teenager. A claim over its kind's ceiling is refused naming the field.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClaimCeilings {
    pub lost_income_ore: i64,
    pub travel_visits_ore: i64,
    pub travel_handledning_ore: i64,
    pub training_ore: i64,
    pub recovery_break_ore: i64,
    pub start_grant_ore: i64,
    pub basic_equipment_ore: i64,
}

impl Default for ClaimCeilings {
    fn default() -> Self {
        ClaimCeilings {
            lost_income_ore: 40000 * 100,
            travel_visits_ore: 10000 * 100,
            travel_handledning_ore: 10000 * 100,
            training_ore: 20000 * 100,
            recovery_break_ore: 15000 * 100,
            start_grant_ore: 25000 * 100,
            basic_equipment_ore: 30000 * 100,
        }
    }
}

impl ClaimCeilings {
    /// The ceiling of `kind` (the largest possible claim for an unknown kind).
    pub fn of(&self, kind: ClaimKind) -> i64 {
        match kind {
            ClaimKind::LostIncome => self.lost_income_ore,
            ClaimKind::TravelVisits => self.travel_visits_ore,
            ClaimKind::TravelHandledning => self.travel_handledning_ore,
            ClaimKind::Training => self.training_ore,
            ClaimKind::RecoveryBreak => self.recovery_break_ore,
            ClaimKind::StartGrant => self.start_grant_ore,
            ClaimKind::BasicEquipment => self.basic_equipment_ore,
            ClaimKind::Unspecified => MAX_CLAIM_ORE,
        }
    }

    /// Every ceiling is 1 öre … [`MAX_CLAIM_ORE`].
    pub fn check(&self, field: &str) -> R<()> {
        for (key, v) in [
            ("lost_income_ore", self.lost_income_ore),
            ("travel_visits_ore", self.travel_visits_ore),
            ("travel_handledning_ore", self.travel_handledning_ore),
            ("training_ore", self.training_ore),
            ("recovery_break_ore", self.recovery_break_ore),
            ("start_grant_ore", self.start_grant_ore),
            ("basic_equipment_ore", self.basic_equipment_ore),
        ] {
            if !(1..=MAX_CLAIM_ORE).contains(&v) {
                return Err(CompensationError::invalid(
                    format!("{field}.{key}"),
                    format!("must be 1..={MAX_CLAIM_ORE} öre"),
                ));
            }
        }
        Ok(())
    }

    /// Rule K3: `amount_ore` of a claim of `kind` is at most its ceiling;
    /// over it the claim is refused naming `field` (never cut silently).
    pub fn within(&self, field: &str, kind: ClaimKind, amount_ore: i64) -> R<()> {
        let ceiling = self.of(kind);
        if amount_ore > ceiling {
            return Err(CompensationError::invalid(
                field,
                format!(
                    "{} öre is over the ceiling of a {} claim, {} öre (kr {}); claim at most the ceiling",
                    amount_ore,
                    kind.as_str_name(),
                    ceiling,
                    ceiling / 100
                ),
            ));
        }
        Ok(())
    }
}

/// The largest amount of one claim: 1 000 000 kr.
pub const MAX_CLAIM_ORE: i64 = 100_000_000;

/// Lost income and a recovery break replace earned income: taxable (R7
/// withholds on them with the arvode). Travel, training, the start grant
/// and equipment reimburse costs: tax-free.
pub fn taxable(kind: ClaimKind) -> bool {
    matches!(kind, ClaimKind::LostIncome | ClaimKind::RecoveryBreak)
}

/// A claim's kind, amount and note, checked.
pub fn check_claim(kind: i32, amount_ore: i64, note: &str) -> R<(ClaimKind, String)> {
    let kind = required_enum("kind", kind, ClaimKind::Unspecified)?;
    if !(1..=MAX_CLAIM_ORE).contains(&amount_ore) {
        return Err(CompensationError::invalid(
            "amount_ore",
            format!("must be 1..={MAX_CLAIM_ORE} öre"),
        ));
    }
    let note = check_note("note", note, true)?;
    Ok((kind, note))
}

/// A note: trimmed, at most 500 characters, required when `required`.
pub fn check_note(field: &str, note: &str, required: bool) -> R<String> {
    let note = note.trim();
    if required && note.is_empty() {
        return Err(CompensationError::invalid(field, "is required"));
    }
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err(CompensationError::invalid(
            field,
            format!("must be at most {MAX_NOTE_CHARS} characters"),
        ));
    }
    Ok(note.to_string())
}

/// A decision on a claim of `claimed_ore` in `status`: approving pays
/// `approved_ore` (0 = the claimed amount; never more than claimed),
/// rejecting needs a note. Only a submitted claim is decided.
pub fn decide(
    status: ClaimStatus,
    claimed_ore: i64,
    approve: bool,
    approved_ore: i64,
    note: &str,
) -> R<(ClaimStatus, i64, String)> {
    if status != ClaimStatus::Submitted {
        return Err(CompensationError::precondition(format!(
            "status: the claim is {}, only a submitted claim is decided",
            status.as_str_name()
        )));
    }
    let note = check_note("note", note, !approve)?;
    if !approve {
        return Ok((ClaimStatus::Rejected, 0, note));
    }
    let amount = if approved_ore == 0 {
        claimed_ore
    } else {
        approved_ore
    };
    if !(1..=claimed_ore).contains(&amount) {
        return Err(CompensationError::invalid(
            "approved_ore",
            "must be 1..=the claimed amount",
        ));
    }
    Ok((ClaimStatus::Approved, amount, note))
}

#[cfg(test)]
mod tests {
    use super::*;
    use samling_kit::error::ServiceError;

    #[test]
    fn a_claim_over_its_kinds_ceiling_is_refused_naming_the_field() {
        let c = ClaimCeilings::default();
        assert_eq!(c.of(ClaimKind::StartGrant), 2_500_000);
        c.within("amount_ore", ClaimKind::StartGrant, 2_500_000)
            .unwrap();
        let e = c
            .within("amount_ore", ClaimKind::StartGrant, 2_500_001)
            .unwrap_err();
        assert_eq!(e.field(), Some("amount_ore"));
        assert!(e.to_string().contains("CLAIM_KIND_START_GRANT"), "{e}");
        // Each kind its own ceiling: travel's is lower than equipment's.
        assert!(
            c.within("amount_ore", ClaimKind::TravelVisits, 1_500_000)
                .is_err()
        );
        c.within("amount_ore", ClaimKind::BasicEquipment, 1_500_000)
            .unwrap();
        let bad = ClaimCeilings {
            training_ore: 0,
            ..ClaimCeilings::default()
        };
        assert_eq!(
            bad.check("compensation.rules.claim_ceilings")
                .unwrap_err()
                .field(),
            Some("compensation.rules.claim_ceilings.training_ore")
        );
        let r: ClaimCeilings = serde_json::from_str(r#"{"training_ore": 500000}"#).unwrap();
        assert_eq!((r.training_ore, r.lost_income_ore), (500_000, 4_000_000));
        assert!(serde_json::from_str::<ClaimCeilings>(r#"{"gifts_ore": 1}"#).is_err());
    }

    #[test]
    fn claims_are_checked_and_taxed_by_kind() {
        assert!(taxable(ClaimKind::LostIncome));
        assert!(taxable(ClaimKind::RecoveryBreak));
        assert!(!taxable(ClaimKind::TravelVisits));
        assert!(!taxable(ClaimKind::StartGrant));
        let (k, n) = check_claim(ClaimKind::TravelVisits as i32, 45_000, "  tåg  ").unwrap();
        assert_eq!((k, n.as_str()), (ClaimKind::TravelVisits, "tåg"));
        assert_eq!(check_claim(0, 1, "x").unwrap_err().field(), Some("kind"));
        assert_eq!(check_claim(99, 1, "x").unwrap_err().field(), Some("kind"));
        assert_eq!(
            check_claim(1, 0, "x").unwrap_err().field(),
            Some("amount_ore")
        );
        assert_eq!(
            check_claim(1, MAX_CLAIM_ORE + 1, "x").unwrap_err().field(),
            Some("amount_ore")
        );
        assert_eq!(check_claim(1, 1, " ").unwrap_err().field(), Some("note"));
        let long = "x".repeat(501);
        assert_eq!(check_claim(1, 1, &long).unwrap_err().field(), Some("note"));
    }

    #[test]
    fn a_decision_pays_at_most_the_claimed_amount_once() {
        let s = ClaimStatus::Submitted;
        assert_eq!(
            decide(s, 10_000, true, 0, "").unwrap(),
            (ClaimStatus::Approved, 10_000, String::new())
        );
        assert_eq!(decide(s, 10_000, true, 7_500, "del").unwrap().1, 7_500);
        assert_eq!(
            decide(s, 10_000, true, 10_001, "").unwrap_err().field(),
            Some("approved_ore")
        );
        assert_eq!(
            decide(s, 10_000, false, 0, "").unwrap_err().field(),
            Some("note")
        );
        assert_eq!(
            decide(s, 10_000, false, 0, "ej styrkt").unwrap().0,
            ClaimStatus::Rejected
        );
        assert!(matches!(
            decide(ClaimStatus::Approved, 10_000, true, 0, ""),
            Err(CompensationError::Precondition(_))
        ));
    }
}
