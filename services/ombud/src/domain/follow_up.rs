//! The rights follow-up's pure rules (issue 23 §6, ADR 0046; seed 003
//! ≈7235–7243: talks with the child "tätare i början av placeringen och
//! därefter minst var sjätte månad"): the ombud's own item
//! `talks_with_child`, a health examination the portfolio has said nothing
//! about ("unknown", never met), and the checks of a portfolio event's
//! fields. `today` is always an argument.

use super::OmbudError;
use chrono::{Days, Months, NaiveDate};

/// The ombud's own item: the talks with the child.
pub const TALKS_WITH_CHILD: &str = "talks_with_child";

/// The items the portfolio is expected to report from the care's start:
/// shown as "unknown" when it has not, some days after the start.
pub const HEALTH_EXAMINATIONS: &[&str] = &[
    "health_examination_physical",
    "health_examination_psychological",
    "health_examination_oral",
];

/// An item's state (the proto's `FollowUpState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum State {
    Overdue,
    Due,
    Unknown,
    Upcoming,
    Met,
}

impl State {
    /// The portfolio's spelling (`portfolio.deadline`'s `state`).
    pub fn parse(s: &str) -> Option<State> {
        match s {
            "upcoming" => Some(State::Upcoming),
            "due" => Some(State::Due),
            "overdue" => Some(State::Overdue),
            "met" => Some(State::Met),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            State::Upcoming => "upcoming",
            State::Due => "due",
            State::Overdue => "overdue",
            State::Met => "met",
            State::Unknown => "unknown",
        }
    }
}

/// The talks rule: the first talk within `first_within_days` of the care's
/// start, then at most `every_months` between talks; the item is "due"
/// `due_window_days` before its date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TalkRule {
    pub first_within_days: u32,
    pub every_months: u32,
    pub due_window_days: u32,
}

/// `talks_with_child` as of `today`: its state and the day the next talk is
/// due. A talk before the care started does not count.
pub fn talks_item(
    rule: TalkRule,
    care_start: NaiveDate,
    last_talk: Option<NaiveDate>,
    today: NaiveDate,
) -> (State, NaiveDate) {
    let last = last_talk.filter(|t| *t >= care_start);
    let due_on = match last {
        None => care_start + Days::new(u64::from(rule.first_within_days)),
        Some(t) => t
            .checked_add_months(Months::new(rule.every_months))
            .unwrap_or(NaiveDate::MAX),
    };
    let state = if today > due_on {
        State::Overdue
    } else if last.is_none() || today + Days::new(u64::from(rule.due_window_days)) >= due_on {
        State::Due
    } else {
        State::Met
    };
    (state, due_on)
}

/// A health examination the portfolio has not reported on: "upcoming"
/// until `after_days` past the care's start, then "unknown" (no data — not
/// met, not overdue: the ombud asks).
pub fn unreported_item(
    after_days: u32,
    care_start: NaiveDate,
    today: NaiveDate,
) -> (State, NaiveDate) {
    let by = care_start + Days::new(u64::from(after_days));
    if today > by {
        (State::Unknown, by)
    } else {
        (State::Upcoming, by)
    }
}

/// An item code: `[a-z_]{1,64}` (an open set: unknown codes are kept).
pub fn check_item(code: &str) -> Result<(), OmbudError> {
    if code.is_empty()
        || code.len() > 64
        || !code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
    {
        return Err(OmbudError::invalid("item", "must match [a-z_]{1,64}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    const RULE: TalkRule = TalkRule {
        first_within_days: 30,
        every_months: 6,
        due_window_days: 30,
    };

    #[test]
    fn the_first_talk_is_due_within_the_days_of_the_start_then_every_six_months() {
        let start = d(2026, 11, 1);
        assert_eq!(
            talks_item(RULE, start, None, d(2026, 12, 1)),
            (State::Due, d(2026, 12, 1))
        );
        assert_eq!(
            talks_item(RULE, start, None, d(2026, 12, 2)),
            (State::Overdue, d(2026, 12, 1))
        );
        // A talk before the care started does not count.
        assert_eq!(
            talks_item(RULE, start, Some(d(2026, 10, 1)), d(2026, 12, 2)).0,
            State::Overdue
        );
        let talk = Some(d(2026, 11, 20));
        assert_eq!(
            talks_item(RULE, start, talk, d(2026, 12, 2)),
            (State::Met, d(2027, 5, 20))
        );
        assert_eq!(talks_item(RULE, start, talk, d(2027, 4, 20)).0, State::Due);
        assert_eq!(talks_item(RULE, start, talk, d(2027, 5, 20)).0, State::Due);
        assert_eq!(
            talks_item(RULE, start, talk, d(2027, 5, 21)).0,
            State::Overdue
        );
    }

    #[test]
    fn an_unreported_health_examination_is_unknown_after_the_days_never_met() {
        let start = d(2026, 11, 1);
        assert_eq!(
            unreported_item(30, start, d(2026, 12, 1)),
            (State::Upcoming, d(2026, 12, 1))
        );
        assert_eq!(unreported_item(30, start, d(2026, 12, 2)).0, State::Unknown);
    }

    #[test]
    fn item_codes_and_states_are_checked() {
        assert!(check_item("six_month_review").is_ok());
        assert!(check_item("some_new_item").is_ok());
        for bad in ["", "Dental", "bup-referral", "x1", &"a".repeat(65)] {
            assert!(check_item(bad).is_err(), "{bad}");
        }
        assert_eq!(State::parse("overdue"), Some(State::Overdue));
        assert_eq!(State::parse("late"), None);
        assert_eq!(State::parse("unknown"), None);
    }
}
