//! Claims (ADR 0032): amounts a family home claims under its agreement —
//! lost income, travel for visits and handledning, training, a recovery
//! break, a start grant, basic equipment — decided by a caseworker of the
//! placing municipality and paid, once, in the next monthly run.

use super::CompensationError;
use super::agreement::{MAX_NOTE_CHARS, required_enum};
use samling_proto::compensation::v1::{ClaimKind, ClaimStatus};

type R<T> = Result<T, CompensationError>;

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
