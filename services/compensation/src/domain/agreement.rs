//! Agreements: one per placement, made on a schedule version, with
//! deviations and their reasons; what an agreement pays for a month (rules
//! R1, R3–R6 in docs/compensation.md).

use super::CompensationError;
use super::rounding::prorate;
use super::schedule::{arvode_of, omkostnad_of};
use chrono::{Datelike, NaiveDate};
use samling_kit::dates::{self, from_proto, opt_from_proto};
use samling_proto::compensation::v1::{
    AgeBand, Agreement, CareLevel, Component, CostZone, Deviation, DeviationReason, FeeSchedule,
    HouseholdKind, MonthQuote, QuoteLine,
};

type R<T> = Result<T, CompensationError>;

/// A placement lasts at most until the child is 21.
pub const MAX_AGE_AT_START: u32 = 20;
/// The longest deviation note (characters).
pub const MAX_NOTE_CHARS: usize = 500;

/// A required enum value of a request (not `*_UNSPECIFIED`, not unknown).
pub fn required_enum<E: TryFrom<i32> + PartialEq + Copy>(
    field: &str,
    value: i32,
    unspecified: E,
) -> R<E> {
    E::try_from(value)
        .ok()
        .filter(|e| *e != unspecified)
        .ok_or_else(|| CompensationError::invalid(field, "is required"))
}

/// Whole years of age on `on` of a child born `born`.
pub fn age_on(born: NaiveDate, on: NaiveDate) -> u32 {
    if on < born {
        return 0;
    }
    let mut years = on.year() - born.year();
    if (on.month(), on.day()) < (born.month(), born.day()) {
        years -= 1;
    }
    years.max(0) as u32
}

/// Rule R4: the age band of a child of `age` (0–6, 7–12, 13 and older).
pub fn age_band(age: u32) -> AgeBand {
    match age {
        0..=6 => AgeBand::Child0To6,
        7..=12 => AgeBand::Child7To12,
        _ => AgeBand::Youth13To20,
    }
}

/// The checked facts of a new agreement (ids are checked by the caller).
pub struct AgreementTerms {
    pub level: CareLevel,
    pub household: HouseholdKind,
    pub zone: CostZone,
    pub child_birth_date: NaiveDate,
    pub starts_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
}

/// Check an agreement's terms: the child born on or before the booking
/// day and under 21 then; the end, if any, not before the start.
#[allow(clippy::too_many_arguments)]
pub fn check_terms(
    level: i32,
    household: i32,
    zone: i32,
    child_birth_date: Option<&samling_proto::common::v1::Date>,
    starts_on: Option<&samling_proto::common::v1::Date>,
    ends_on: Option<&samling_proto::common::v1::Date>,
) -> R<AgreementTerms> {
    let level = required_enum("level", level, CareLevel::Unspecified)?;
    let household = required_enum("household", household, HouseholdKind::Unspecified)?;
    let zone = required_enum("zone", zone, CostZone::Unspecified)?;
    let born = from_proto("child_birth_date", child_birth_date)?;
    let starts_on = from_proto("starts_on", starts_on)?;
    let ends_on = opt_from_proto("ends_on", ends_on)?;
    if born > starts_on {
        return Err(CompensationError::invalid(
            "child_birth_date",
            "is after starts_on",
        ));
    }
    if age_on(born, starts_on) > MAX_AGE_AT_START {
        return Err(CompensationError::invalid(
            "child_birth_date",
            "the child is 21 or older on starts_on",
        ));
    }
    if let Some(end) = ends_on
        && end < starts_on
    {
        return Err(CompensationError::invalid("ends_on", "is before starts_on"));
    }
    Ok(AgreementTerms {
        level,
        household,
        zone,
        child_birth_date: born,
        starts_on,
        ends_on,
    })
}

/// A new deviation, checked against its agreement: a component and reason,
/// a non-empty note, a non-zero adjustment, valid within the agreement.
#[allow(clippy::too_many_arguments)]
pub fn check_deviation(
    a: &Agreement,
    id: &str,
    component: i32,
    monthly_adjustment_ore: i64,
    reason: i32,
    note: &str,
    valid_from: Option<&samling_proto::common::v1::Date>,
    valid_to: Option<&samling_proto::common::v1::Date>,
    decided_by: &str,
    recorded_at: &str,
) -> R<Deviation> {
    let component = required_enum("component", component, Component::Unspecified)?;
    let reason = required_enum("reason", reason, DeviationReason::Unspecified)?;
    if monthly_adjustment_ore == 0 {
        return Err(CompensationError::invalid(
            "monthly_adjustment_ore",
            "must not be 0",
        ));
    }
    if monthly_adjustment_ore.abs() > super::schedule::MAX_MONTHLY_ORE {
        return Err(CompensationError::invalid(
            "monthly_adjustment_ore",
            format!("must be within ±{} öre", super::schedule::MAX_MONTHLY_ORE),
        ));
    }
    let note = note.trim();
    if note.is_empty() {
        return Err(CompensationError::invalid("note", "is required"));
    }
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err(CompensationError::invalid(
            "note",
            format!("is longer than {MAX_NOTE_CHARS} characters"),
        ));
    }
    let from = from_proto("valid_from", valid_from)?;
    let to = opt_from_proto("valid_to", valid_to)?;
    let starts = from_proto("starts_on", a.starts_on.as_ref())?;
    let ends = opt_from_proto("ends_on", a.ends_on.as_ref())?;
    if from < starts || ends.is_some_and(|e| from > e) {
        return Err(CompensationError::invalid(
            "valid_from",
            "is outside the agreement's days",
        ));
    }
    if let Some(t) = to
        && t < from
    {
        return Err(CompensationError::invalid(
            "valid_to",
            "is before valid_from",
        ));
    }
    Ok(Deviation {
        id: id.to_string(),
        component: component as i32,
        monthly_adjustment_ore,
        reason: reason as i32,
        note: note.to_string(),
        valid_from: Some(dates::to_proto(from)),
        valid_to: to.map(dates::to_proto),
        decided_by: decided_by.to_string(),
        recorded_at: recorded_at.to_string(),
    })
}

/// The first and last day of a month; refused outside 2000–2200.
pub fn month_bounds(year: i32, month: i32) -> R<(NaiveDate, NaiveDate)> {
    if !(2000..=2200).contains(&year) {
        return Err(CompensationError::invalid("year", "must be 2000..=2200"));
    }
    let m = u32::try_from(month)
        .ok()
        .filter(|m| (1..=12).contains(m))
        .ok_or_else(|| CompensationError::invalid("month", "must be 1..=12"))?;
    let first = NaiveDate::from_ymd_opt(year, m, 1)
        .ok_or_else(|| CompensationError::invalid("month", "is not a month"))?;
    let last = dates::add_months(first, 1).pred_opt().unwrap_or(first);
    Ok((first, last))
}

fn in_force(d: &Deviation, component: Component, day: NaiveDate) -> bool {
    let from = opt_from_proto("", d.valid_from.as_ref()).ok().flatten();
    let to = opt_from_proto("", d.valid_to.as_ref()).ok().flatten();
    d.component == component as i32 && from.is_some_and(|f| f <= day) && to.is_none_or(|t| day <= t)
}

/// What `a` pays for the month of `first..=last` on schedule `s` (the
/// version [`super::schedule::version_for_month`] picked):
///
/// * R1: each component is the sum over the paid days of the monthly
///   amount in force that day, divided by the month's days and rounded
///   once, half away from zero;
/// * R4: omkostnad by the child's age band on the month's first day;
/// * R5: a paid day is one within `starts_on..=ends_on` (both inclusive:
///   pay from the booking day);
/// * R6: a day's monthly amount is the schedule's plus the deviations in
///   force that day, never below 0.
pub fn quote_month(a: &Agreement, s: &FeeSchedule, year: i32, month: i32) -> R<MonthQuote> {
    let (first, last) = month_bounds(year, month)?;
    let starts = from_proto("starts_on", a.starts_on.as_ref())?;
    let ends = opt_from_proto("ends_on", a.ends_on.as_ref())?;
    let born = from_proto("child_birth_date", a.child_birth_date.as_ref())?;
    let level = required_enum("level", a.level, CareLevel::Unspecified)?;
    let household = required_enum("household", a.household, HouseholdKind::Unspecified)?;
    let zone = required_enum("zone", a.zone, CostZone::Unspecified)?;
    let band = age_band(age_on(born, first));
    let days_in_month = last.day();
    let bases = [
        (Component::Arvode, arvode_of(s, level, household)?, true),
        (Component::Omkostnad, omkostnad_of(s, band, zone)?, false),
    ];
    // R5: the paid days are one run, first paid ..= last paid.
    let from = first.max(starts);
    let to = ends.map_or(last, |e| e.min(last));
    let paid_count = if to >= from {
        (to - from).num_days() as u32 + 1
    } else {
        0
    };
    let paid: Vec<NaiveDate> = if a.deviations.is_empty() || paid_count == 0 {
        Vec::new()
    } else {
        from.iter_days().take(paid_count as usize).collect()
    };
    let mut lines = Vec::new();
    let mut total = 0i64;
    for (component, base, taxable) in bases {
        // Without deviations every paid day has the schedule's amount.
        let mut daily_sum = if a.deviations.is_empty() {
            base.max(0) * i64::from(paid_count)
        } else {
            0
        };
        let mut last_deviations = 0i64;
        for day in &paid {
            let dev: i64 = a
                .deviations
                .iter()
                .filter(|d| in_force(d, component, *day))
                .map(|d| d.monthly_adjustment_ore)
                .sum();
            last_deviations = dev;
            daily_sum += (base + dev).max(0);
        }
        let amount = prorate(daily_sum, days_in_month)?;
        total += amount;
        lines.push(QuoteLine {
            component: component as i32,
            schedule_monthly_ore: base,
            deviations_monthly_ore: last_deviations,
            monthly_ore: (base + last_deviations).max(0),
            amount_ore: amount,
            taxable,
        });
    }
    Ok(MonthQuote {
        agreement_id: a.id.clone(),
        year,
        month,
        days_in_month,
        paid_days: paid_count,
        schedule_version: s.version,
        age_band: band as i32,
        lines,
        total_ore: total,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::schedule::tests::{day, schedule};
    use samling_kit::dates::to_proto;
    use samling_kit::error::ServiceError;

    fn agreement(starts: NaiveDate, ends: Option<NaiveDate>, born: NaiveDate) -> Agreement {
        Agreement {
            id: "a1".into(),
            schedule_code: "national".into(),
            schedule_version: 1,
            level: CareLevel::Raised as i32,
            household: HouseholdKind::TwoAdults as i32,
            zone: CostZone::Metro as i32,
            child_birth_date: Some(to_proto(born)),
            starts_on: Some(to_proto(starts)),
            ends_on: ends.map(to_proto),
            ..Default::default()
        }
    }

    fn line(q: &MonthQuote, c: Component) -> &QuoteLine {
        q.lines.iter().find(|l| l.component == c as i32).unwrap()
    }

    #[test]
    fn ages_and_bands() {
        let born = day(2014, 3, 15);
        assert_eq!(age_on(born, day(2021, 3, 14)), 6);
        assert_eq!(age_on(born, day(2021, 3, 15)), 7);
        assert_eq!(age_on(born, day(2010, 1, 1)), 0);
        assert_eq!(age_band(0), AgeBand::Child0To6);
        assert_eq!(age_band(6), AgeBand::Child0To6);
        assert_eq!(age_band(7), AgeBand::Child7To12);
        assert_eq!(age_band(12), AgeBand::Child7To12);
        assert_eq!(age_band(13), AgeBand::Youth13To20);
        // 29 February: a year older on 1 March in other years.
        assert_eq!(age_on(day(2016, 2, 29), day(2017, 2, 28)), 0);
        assert_eq!(age_on(day(2016, 2, 29), day(2017, 3, 1)), 1);
    }

    #[test]
    fn a_whole_month_pays_the_schedule_exactly() {
        let s = schedule(1, day(2026, 1, 1));
        let a = agreement(day(2026, 1, 1), None, day(2016, 6, 1));
        let q = quote_month(&a, &s, 2026, 2).unwrap();
        assert_eq!((q.days_in_month, q.paid_days), (28, 28));
        // Raised × two adults = 20 000 kr; 7–12 (9 years) × metro = 6 500 kr.
        assert_eq!(line(&q, Component::Arvode).amount_ore, 2_000_000);
        assert!(line(&q, Component::Arvode).taxable);
        assert_eq!(line(&q, Component::Omkostnad).amount_ore, 650_000);
        assert!(!line(&q, Component::Omkostnad).taxable);
        assert_eq!(q.total_ore, 2_650_000);
        assert_eq!(q.age_band, AgeBand::Child7To12 as i32);
    }

    #[test]
    fn partial_months_are_prorated_by_calendar_days_from_the_booking_day() {
        let s = schedule(1, day(2026, 1, 1));
        // Booked 17 March (15 of 31 days paid), ended 10 May (10 of 31).
        let a = agreement(day(2026, 3, 17), Some(day(2026, 5, 10)), day(2016, 6, 1));
        let march = quote_month(&a, &s, 2026, 3).unwrap();
        assert_eq!(march.paid_days, 15);
        // 20 000 kr × 15 / 31 = 9 677.419… kr → 967 742 öre.
        assert_eq!(line(&march, Component::Arvode).amount_ore, 967_742);
        // 6 500 kr × 15 / 31 = 3 145.161… kr → 314 516 öre.
        assert_eq!(line(&march, Component::Omkostnad).amount_ore, 314_516);
        assert_eq!(march.total_ore, 967_742 + 314_516);
        let may = quote_month(&a, &s, 2026, 5).unwrap();
        assert_eq!(may.paid_days, 10);
        assert_eq!(line(&may, Component::Arvode).amount_ore, 645_161);
        let june = quote_month(&a, &s, 2026, 6).unwrap();
        assert_eq!((june.paid_days, june.total_ore), (0, 0));
        let feb = quote_month(&a, &s, 2026, 2).unwrap();
        assert_eq!(feb.total_ore, 0);
        // A leap February has 29 days.
        let b = agreement(day(2028, 2, 15), None, day(2016, 6, 1));
        let s2 = schedule(1, day(2026, 1, 1));
        let q = quote_month(&b, &s2, 2028, 2).unwrap();
        assert_eq!((q.days_in_month, q.paid_days), (29, 15));
    }

    #[test]
    fn the_age_band_is_the_childs_on_the_first_of_the_month() {
        let s = schedule(1, day(2026, 1, 1));
        // Turns 7 on 2 April 2026: April still 0–6, May 7–12.
        let a = agreement(day(2026, 1, 1), None, day(2019, 4, 2));
        let april = quote_month(&a, &s, 2026, 4).unwrap();
        assert_eq!(april.age_band, AgeBand::Child0To6 as i32);
        assert_eq!(line(&april, Component::Omkostnad).amount_ore, 550_000);
        let may = quote_month(&a, &s, 2026, 5).unwrap();
        assert_eq!(may.age_band, AgeBand::Child7To12 as i32);
        assert_eq!(line(&may, Component::Omkostnad).amount_ore, 650_000);
    }

    #[test]
    fn deviations_count_on_their_days_and_never_below_zero() {
        let s = schedule(1, day(2026, 1, 1));
        let mut a = agreement(day(2026, 1, 1), None, day(2016, 6, 1));
        let d = check_deviation(
            &a,
            "d1",
            Component::Arvode as i32,
            300_000,
            DeviationReason::ExtraCareNeeds as i32,
            " nämnd decision 2026-04-12 §14 ",
            Some(&to_proto(day(2026, 4, 16))),
            None,
            "officer",
            "t",
        )
        .unwrap();
        assert_eq!(d.note, "nämnd decision 2026-04-12 §14");
        a.deviations.push(d);
        // April: 15 days at 20 000 kr, 15 at 23 000 kr: (15×20 000 + 15×23 000)/30.
        let april = quote_month(&a, &s, 2026, 4).unwrap();
        let l = line(&april, Component::Arvode);
        assert_eq!(l.amount_ore, 2_150_000);
        assert_eq!(
            (l.deviations_monthly_ore, l.monthly_ore),
            (300_000, 2_300_000)
        );
        assert_eq!(line(&april, Component::Omkostnad).amount_ore, 650_000);
        // A reduction larger than the omkostnad pays 0, not a negative.
        let cut = check_deviation(
            &a,
            "d2",
            Component::Omkostnad as i32,
            -1_000_000,
            DeviationReason::Reduced as i32,
            "costs paid by the municipality directly",
            Some(&to_proto(day(2026, 5, 1))),
            Some(&to_proto(day(2026, 5, 31))),
            "officer",
            "t",
        )
        .unwrap();
        a.deviations.push(cut);
        let may = quote_month(&a, &s, 2026, 5).unwrap();
        assert_eq!(line(&may, Component::Omkostnad).amount_ore, 0);
        assert_eq!(line(&may, Component::Arvode).amount_ore, 2_300_000);
        let june = quote_month(&a, &s, 2026, 6).unwrap();
        assert_eq!(line(&june, Component::Omkostnad).amount_ore, 650_000);
    }

    #[test]
    fn bad_terms_and_deviations_name_their_field() {
        let d = |y, m, dd| Some(to_proto(day(y, m, dd)));
        let ok = |lvl, born: Option<_>, start: Option<_>, end: Option<_>| {
            check_terms(lvl, 1, 1, born.as_ref(), start.as_ref(), end.as_ref())
        };
        assert!(ok(1, d(2016, 1, 1), d(2026, 1, 1), None).is_ok());
        let f = |r: R<AgreementTerms>| r.err().and_then(|e| e.field().map(str::to_string));
        assert_eq!(
            f(ok(0, d(2016, 1, 1), d(2026, 1, 1), None)).as_deref(),
            Some("level")
        );
        assert_eq!(
            f(ok(9, d(2016, 1, 1), d(2026, 1, 1), None)).as_deref(),
            Some("level")
        );
        assert_eq!(
            f(ok(1, None, d(2026, 1, 1), None)).as_deref(),
            Some("child_birth_date")
        );
        assert_eq!(
            f(ok(1, d(2027, 1, 1), d(2026, 1, 1), None)).as_deref(),
            Some("child_birth_date")
        );
        assert_eq!(
            f(ok(1, d(2005, 1, 1), d(2026, 1, 1), None)).as_deref(),
            Some("child_birth_date")
        );
        assert_eq!(
            f(ok(1, d(2016, 1, 1), d(2026, 1, 1), d(2025, 12, 31))).as_deref(),
            Some("ends_on")
        );
        assert_eq!(
            f(ok(1, d(2016, 1, 1), None, None)).as_deref(),
            Some("starts_on")
        );

        let a = agreement(day(2026, 1, 1), Some(day(2026, 12, 31)), day(2016, 6, 1));
        let dev = |c, amt, reason, note: &str, from: Option<_>, to: Option<_>| {
            check_deviation(
                &a,
                "x",
                c,
                amt,
                reason,
                note,
                from.as_ref(),
                to.as_ref(),
                "o",
                "t",
            )
            .err()
            .and_then(|e| e.field().map(str::to_string))
        };
        assert_eq!(
            dev(0, 1, 1, "n", d(2026, 2, 1), None).as_deref(),
            Some("component")
        );
        assert_eq!(
            dev(1, 0, 1, "n", d(2026, 2, 1), None).as_deref(),
            Some("monthly_adjustment_ore")
        );
        assert_eq!(
            dev(1, 1, 0, "n", d(2026, 2, 1), None).as_deref(),
            Some("reason")
        );
        assert_eq!(
            dev(1, 1, 1, "  ", d(2026, 2, 1), None).as_deref(),
            Some("note")
        );
        assert_eq!(
            dev(1, 1, 1, "n", d(2025, 2, 1), None).as_deref(),
            Some("valid_from")
        );
        assert_eq!(
            dev(1, 1, 1, "n", d(2027, 2, 1), None).as_deref(),
            Some("valid_from")
        );
        assert_eq!(
            dev(1, 1, 1, "n", d(2026, 2, 1), d(2026, 1, 1)).as_deref(),
            Some("valid_to")
        );
        assert_eq!(dev(1, 1, 1, "n", d(2026, 2, 1), None), None);
        assert_eq!(month_bounds(2026, 13).unwrap_err().field(), Some("month"));
        assert_eq!(month_bounds(1999, 1).unwrap_err().field(), Some("year"));
    }
}
