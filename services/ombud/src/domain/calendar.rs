//! Swedish working days for response deadlines: weekends, the public
//! holidays and the day-off eves (the same calendar as recruitment's
//! `domain::calendar`; services share no domain crate, so the few lines are
//! repeated here). "Today" is always a parameter.
use chrono::{Datelike, Duration, NaiveDate, Weekday};

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
}

/// Easter Sunday (Meeus/Jones/Butcher).
fn easter_sunday(year: i32) -> NaiveDate {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    date(year, month as u32, day as u32)
}

fn first_on_or_after(from: NaiveDate, weekday: Weekday) -> NaiveDate {
    let ahead = (7 + weekday.num_days_from_monday() as i64
        - from.weekday().num_days_from_monday() as i64)
        % 7;
    from + Duration::days(ahead)
}

/// The holidays and day-off eves of `year`.
pub fn days_off(year: i32) -> Vec<NaiveDate> {
    let easter = easter_sunday(year);
    let midsummer_eve = first_on_or_after(date(year, 6, 19), Weekday::Fri);
    vec![
        date(year, 1, 1),
        date(year, 1, 6),
        easter - Duration::days(2),
        easter,
        easter + Duration::days(1),
        date(year, 5, 1),
        easter + Duration::days(39),
        easter + Duration::days(49),
        date(year, 6, 6),
        midsummer_eve,
        midsummer_eve + Duration::days(1),
        first_on_or_after(date(year, 10, 31), Weekday::Sat),
        date(year, 12, 24),
        date(year, 12, 25),
        date(year, 12, 26),
        date(year, 12, 31),
    ]
}

pub fn is_working_day(d: NaiveDate) -> bool {
    !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && !days_off(d.year()).contains(&d)
}

/// The `n`-th working day after `d`.
pub fn add_working_days(d: NaiveDate, n: u32) -> NaiveDate {
    let mut day = d;
    let mut left = n;
    while left > 0 {
        let Some(next) = day.succ_opt() else {
            return day;
        };
        day = next;
        if is_working_day(day) {
            left -= 1;
        }
    }
    day
}

/// Working days after `from` up to and including `to` (0 when `to <= from`).
pub fn working_days_between(from: NaiveDate, to: NaiveDate) -> u32 {
    let mut n = 0;
    let mut d = from;
    while d < to {
        let Some(next) = d.succ_opt() else { break };
        d = next;
        if is_working_day(d) {
            n += 1;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn working_days_skip_weekends_and_christmas() {
        // Friday 2026-12-18 + 5 working days: 21, 22, 23, (24–26 off), 28, 29.
        let fri = date(2026, 12, 18);
        assert_eq!(add_working_days(fri, 5), date(2026, 12, 29));
        assert_eq!(working_days_between(fri, date(2026, 12, 29)), 5);
        assert_eq!(working_days_between(date(2026, 12, 29), fri), 0);
        assert!(!is_working_day(date(2026, 6, 19))); // midsommarafton
        assert!(is_working_day(date(2026, 6, 18)));
    }
}
