//! Unexecuted decisions (ej verkställda beslut): a decision not executed
//! within three months is reported quarterly, by sex and reason code
//! (16 kap. 6 f § SoL; seed 003 ≈1620–1990).

use chrono::{Datelike, NaiveDate};
use samling_kit::dates;
use samling_proto::registry::v1::{
    DecisionKind, QuarterlyKindRow, QuarterlyReportRow, Sex, UnexecutedDecision, UnexecutedReason,
};
use std::collections::BTreeMap;

use super::RegistryError;

/// The date from which an unexecuted decision must be reported.
pub fn reportable_from(decision_date: NaiveDate) -> NaiveDate {
    dates::add_months(decision_date, 3)
}

/// Still not executed on `on`, three months or more after the decision
/// (the day itself counts): reported as not executed.
pub fn unexecuted_too_long(
    decision_date: NaiveDate,
    executed_on: Option<NaiveDate>,
    on: NaiveDate,
) -> bool {
    reportable_from(decision_date) <= on && executed_on.is_none_or(|x| x > on)
}

/// Executed later than three months after the decision (on the day itself
/// is in time).
pub fn executed_late(decision_date: NaiveDate, executed_on: NaiveDate) -> bool {
    executed_on > reportable_from(decision_date)
}

/// Is the decision still not executed (`open_only` lists)?
pub fn is_open(d: &UnexecutedDecision) -> bool {
    d.executed_on.is_none()
}

/// Record that the decision was executed `on`: once, between the decision
/// date and `today`.
pub fn mark_executed(
    d: &mut UnexecutedDecision,
    on: NaiveDate,
    today: NaiveDate,
) -> Result<(), RegistryError> {
    if !is_open(d) {
        return Err(RegistryError::precondition(
            "the decision is already executed",
        ));
    }
    let decided = dates::from_proto("decision_date", d.decision_date.as_ref())?;
    if on < decided || on > today {
        return Err(RegistryError::invalid(
            "executed_on",
            "must be between the decision date and today",
        ));
    }
    d.executed_on = Some(dates::to_proto(on));
    Ok(())
}

/// First and last day of a quarter.
pub fn quarter_bounds(year: i32, quarter: i32) -> Result<(NaiveDate, NaiveDate), RegistryError> {
    if !(1..=4).contains(&quarter) {
        return Err(RegistryError::invalid("quarter", "must be 1–4"));
    }
    if !(2000..=2100).contains(&year) {
        return Err(RegistryError::invalid("year", "must be 2000–2100"));
    }
    let start = NaiveDate::from_ymd_opt(year, (quarter as u32 - 1) * 3 + 1, 1)
        .ok_or_else(|| RegistryError::invalid("year", "is not valid"))?;
    let end = dates::add_months(start, 3).pred_opt().unwrap_or(start);
    Ok((start, end))
}

/// What the report needs of one decision.
#[derive(Debug, Clone, Copy)]
pub struct DecisionFacts {
    pub sex: Sex,
    pub kind: DecisionKind,
    pub reason: UnexecutedReason,
    pub decision_date: NaiveDate,
    pub executed_on: Option<NaiveDate>,
}

/// Counts per (sex, reason): decisions still not executed at quarter end
/// three months or more after the decision, and decisions executed during the
/// quarter but later than three months after the decision.
pub fn quarterly_rows(
    decisions: &[DecisionFacts],
    start: NaiveDate,
    end: NaiveDate,
) -> Vec<QuarterlyReportRow> {
    let mut rows: BTreeMap<(i32, i32), (u32, u32)> = BTreeMap::new();
    for d in decisions {
        let key = (d.sex as i32, d.reason as i32);
        if unexecuted_too_long(d.decision_date, d.executed_on, end) {
            rows.entry(key).or_default().0 += 1;
        } else if let Some(x) = d.executed_on
            && x >= start
            && x <= end
            && executed_late(d.decision_date, x)
        {
            rows.entry(key).or_default().1 += 1;
        }
    }
    rows.into_iter()
        .map(
            |((sex, reason), (not_executed, executed_late))| QuarterlyReportRow {
                sex,
                reason,
                not_executed,
                executed_late,
                ..Default::default()
            },
        )
        .collect()
}

/// Not executed at `end` (three months or more after the decision), per
/// (type of insats, sex): the form's first table (seed 003, 1620–1990).
pub fn kind_rows(decisions: &[DecisionFacts], end: NaiveDate) -> Vec<QuarterlyKindRow> {
    let mut rows: BTreeMap<(i32, i32), u32> = BTreeMap::new();
    for d in decisions {
        if unexecuted_too_long(d.decision_date, d.executed_on, end) {
            *rows.entry((d.kind as i32, d.sex as i32)).or_default() += 1;
        }
    }
    rows.into_iter()
        .map(|((decision_kind, sex), not_executed)| QuarterlyKindRow {
            decision_kind,
            sex,
            not_executed,
            not_executed_display: not_executed.to_string(),
        })
        .collect()
}

/// Decisions not executed at `end`, all kinds and sexes.
pub fn total_not_executed(decisions: &[DecisionFacts], end: NaiveDate) -> u32 {
    decisions
        .iter()
        .filter(|d| unexecuted_too_long(d.decision_date, d.executed_on, end))
        .count() as u32
}

/// The quarter before (year, quarter).
pub fn previous_quarter(year: i32, quarter: i32) -> (i32, i32) {
    if quarter <= 1 {
        (year - 1, 4)
    } else {
        (year, quarter - 1)
    }
}

pub fn quarter_of(d: NaiveDate) -> (i32, i32) {
    (d.year(), (d.month0() / 3 + 1) as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn facts(sex: Sex, decided: NaiveDate, executed: Option<NaiveDate>) -> DecisionFacts {
        DecisionFacts {
            sex,
            kind: DecisionKind::FamilyHomePlacement,
            reason: UnexecutedReason::NoSuitableHome,
            decision_date: decided,
            executed_on: executed,
        }
    }

    #[test]
    fn a_decision_unexecuted_for_three_months_is_reported_by_sex_and_reason() {
        let (s, e) = quarter_bounds(2026, 3).unwrap();
        assert_eq!((s, e), (d(2026, 7, 1), d(2026, 9, 30)));
        let rows = quarterly_rows(
            &[
                facts(Sex::Female, d(2026, 5, 1), None),
                facts(Sex::Female, d(2026, 6, 30), None),
                facts(Sex::Male, d(2026, 7, 15), None), // only 2.5 months at quarter end
                facts(Sex::Male, d(2026, 1, 10), Some(d(2026, 8, 1))), // executed late in Q3
                facts(Sex::Male, d(2026, 6, 1), Some(d(2026, 8, 1))), // executed in time
            ],
            s,
            e,
        );
        let female = rows.iter().find(|r| r.sex == Sex::Female as i32).unwrap();
        assert_eq!(female.not_executed, 2);
        let male = rows.iter().find(|r| r.sex == Sex::Male as i32).unwrap();
        assert_eq!((male.not_executed, male.executed_late), (0, 1));
    }

    #[test]
    fn a_decision_executed_after_the_quarter_still_counts_as_unexecuted_in_it() {
        let (s, e) = quarter_bounds(2026, 2).unwrap();
        let rows = quarterly_rows(
            &[facts(Sex::Male, d(2026, 1, 2), Some(d(2026, 7, 5)))],
            s,
            e,
        );
        assert_eq!(rows[0].not_executed, 1);
    }

    #[test]
    fn three_months_unexecuted_counts_from_the_day_itself_and_late_from_the_day_after() {
        let decided = d(2026, 1, 31);
        let due = reportable_from(decided);
        assert_eq!(due, d(2026, 4, 30));
        assert!(!unexecuted_too_long(decided, None, d(2026, 4, 29)));
        assert!(unexecuted_too_long(decided, None, due));
        assert!(unexecuted_too_long(
            decided,
            Some(d(2026, 5, 2)),
            d(2026, 5, 1)
        ));
        assert!(!unexecuted_too_long(
            decided,
            Some(d(2026, 5, 1)),
            d(2026, 5, 1)
        ));
        assert!(!executed_late(decided, due));
        assert!(executed_late(decided, d(2026, 5, 1)));
    }

    #[test]
    fn a_decision_is_executed_once_between_its_date_and_today() {
        let today = d(2026, 11, 23);
        let mut dec = UnexecutedDecision {
            decision_date: Some(dates::to_proto(d(2026, 6, 1))),
            ..Default::default()
        };
        assert!(is_open(&dec));
        for bad in [d(2026, 5, 31), d(2026, 11, 24)] {
            let e = mark_executed(&mut dec, bad, today).unwrap_err();
            assert!(e.to_string().starts_with("executed_on:"), "{e}");
        }
        assert!(is_open(&dec), "a refusal changes nothing");
        mark_executed(&mut dec, d(2026, 6, 1), today).unwrap();
        assert!(!is_open(&dec));
        assert!(matches!(
            mark_executed(&mut dec, today, today),
            Err(RegistryError::Precondition(_))
        ));
    }

    #[test]
    fn quarter_must_be_one_to_four() {
        assert!(
            quarter_bounds(2026, 5)
                .unwrap_err()
                .to_string()
                .starts_with("quarter")
        );
        assert_eq!(quarter_of(d(2026, 11, 23)), (2026, 4));
    }
}
