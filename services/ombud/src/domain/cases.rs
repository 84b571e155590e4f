//! The case state machine (ADR 0037) and what a valid case, note and
//! review request is. Pure: no I/O, "today" a parameter.
//!
//! ```text
//!   OPEN ──► IN_PROGRESS ◄──► WAITING_FOR_MUNICIPALITY
//!    │            │                      │
//!    └────────────┴──────► CLOSED ◄──────┘
//! ```
//!
//! * OPEN → CLOSED only with WITHDRAWN_BY_CHILD or OUTSIDE_MANDATE (a case
//!   never taken up cannot be resolved);
//! * CLOSED is final (a new concern is a new case).

use super::OmbudError;
use samling_proto::ombud::v1::{CaseCategory, CaseState, CloseReason};

/// The longest free text (summary, note, outcome, question, answer).
pub const MAX_TEXT: usize = 4000;

pub fn state_name(s: CaseState) -> &'static str {
    s.as_str_name()
}

/// May a case move from `from` to `to`?
pub fn may_move(from: CaseState, to: CaseState) -> bool {
    use CaseState::*;
    matches!(
        (from, to),
        (Open, InProgress)
            | (Open, Closed)
            | (InProgress, WaitingForMunicipality)
            | (InProgress, Closed)
            | (WaitingForMunicipality, InProgress)
            | (WaitingForMunicipality, Closed)
    )
}

/// Check a move, naming `field` (the request field that asked for it).
pub fn check_move(field: &str, from: CaseState, to: CaseState) -> Result<(), OmbudError> {
    if may_move(from, to) {
        Ok(())
    } else {
        Err(OmbudError::precondition(
            field,
            format!(
                "a case in {} cannot move to {}",
                state_name(from),
                state_name(to)
            ),
        ))
    }
}

/// May a case in `from` be closed with `reason`?
pub fn check_close(from: CaseState, reason: CloseReason) -> Result<(), OmbudError> {
    check_move("state", from, CaseState::Closed)?;
    if from == CaseState::Open
        && !matches!(
            reason,
            CloseReason::WithdrawnByChild | CloseReason::OutsideMandate
        )
    {
        return Err(OmbudError::precondition(
            "reason",
            "a case never taken up closes only as WITHDRAWN_BY_CHILD or OUTSIDE_MANDATE",
        ));
    }
    Ok(())
}

/// Free text: present (when `required`), at most [`MAX_TEXT`] characters, no
/// control characters but line breaks and tabs.
pub fn check_text(field: &str, s: &str, required: bool) -> Result<(), OmbudError> {
    if required && s.trim().is_empty() {
        return Err(OmbudError::invalid(field, "is required"));
    }
    if s.chars().count() > MAX_TEXT {
        return Err(OmbudError::invalid(
            field,
            format!("is longer than {MAX_TEXT} characters"),
        ));
    }
    if s.chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(OmbudError::invalid(field, "holds control characters"));
    }
    Ok(())
}

/// An enum field's value: known and not `*_UNSPECIFIED`.
pub fn category(v: i32) -> Result<CaseCategory, OmbudError> {
    match CaseCategory::try_from(v) {
        Ok(CaseCategory::Unspecified) | Err(_) => Err(OmbudError::invalid(
            "category",
            "is required (one of the case categories)",
        )),
        Ok(c) => Ok(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CaseState::*;

    #[test]
    fn the_legal_moves_are_exactly_the_adrs() {
        let all = [
            Unspecified,
            Open,
            InProgress,
            WaitingForMunicipality,
            Closed,
        ];
        let legal = [
            (Open, InProgress),
            (Open, Closed),
            (InProgress, WaitingForMunicipality),
            (InProgress, Closed),
            (WaitingForMunicipality, InProgress),
            (WaitingForMunicipality, Closed),
        ];
        for from in all {
            for to in all {
                assert_eq!(
                    may_move(from, to),
                    legal.contains(&(from, to)),
                    "{from:?} → {to:?}"
                );
            }
        }
        let e = check_move("to_state", Closed, InProgress).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("to_state: a case in CASE_STATE_CLOSED")
        );
    }

    #[test]
    fn a_case_never_taken_up_is_not_resolved() {
        assert!(check_close(Open, CloseReason::Resolved).is_err());
        assert!(check_close(Open, CloseReason::WithdrawnByChild).is_ok());
        assert!(check_close(InProgress, CloseReason::Resolved).is_ok());
        assert!(check_close(Closed, CloseReason::Resolved).is_err());
    }

    #[test]
    fn text_is_bounded_and_required() {
        assert!(check_text("summary", " ", true).is_err());
        assert!(check_text("summary", "", false).is_ok());
        assert!(check_text("summary", &"x".repeat(MAX_TEXT + 1), false).is_err());
        assert!(check_text("summary", "rad 1\nrad 2", true).is_ok());
        assert!(check_text("summary", "a\u{0}", true).is_err());
    }
}
