//! Swedish working days: weekends, public holidays (lag (1989:253) om
//! allmänna flaggdagar / helgdagar: the Easter-based and the fixed ones) and
//! the eves that are days off in practice (midsommarafton, julafton,
//! nyårsafton, which working-time law treats as Sundays). Deadlines counted
//! in working days use [`add_working_days`]; "today" is always a parameter so
//! tests and the service share one clock.
use chrono::{Datelike, Duration, NaiveDate, Weekday};

/// Why a day is not a working day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HolidayKind {
    /// A public holiday (allmän helgdag).
    Public,
    /// An eve that is a day off in practice (midsommarafton, julafton,
    /// nyårsafton).
    EveDayOff,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holiday {
    pub date: NaiveDate,
    pub name: &'static str,
    pub kind: HolidayKind,
}

/// Easter Sunday (Gregorian; the anonymous algorithm of Meeus/Jones/Butcher).
pub fn easter_sunday(year: i32) -> NaiveDate {
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

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    // Every caller passes a real date (fixed holidays, or Easter's March/April).
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
}

/// The first `weekday` on or after `from`.
fn first_on_or_after(from: NaiveDate, weekday: Weekday) -> NaiveDate {
    let ahead = (7 + weekday.num_days_from_monday() as i64
        - from.weekday().num_days_from_monday() as i64)
        % 7;
    from + Duration::days(ahead)
}

/// Every holiday and day-off eve of `year`, in date order.
pub fn holidays(year: i32) -> Vec<Holiday> {
    use HolidayKind::*;
    let easter = easter_sunday(year);
    let midsummer_eve = first_on_or_after(date(year, 6, 19), Weekday::Fri);
    let all_saints = first_on_or_after(date(year, 10, 31), Weekday::Sat);
    let h = |date, name, kind| Holiday { date, name, kind };
    let mut v = vec![
        h(date(year, 1, 1), "nyårsdagen", Public),
        h(date(year, 1, 6), "trettondedag jul", Public),
        h(easter - Duration::days(2), "långfredagen", Public),
        h(easter, "påskdagen", Public),
        h(easter + Duration::days(1), "annandag påsk", Public),
        h(date(year, 5, 1), "första maj", Public),
        h(
            easter + Duration::days(39),
            "Kristi himmelsfärdsdag",
            Public,
        ),
        h(easter + Duration::days(49), "pingstdagen", Public),
        h(date(year, 6, 6), "Sveriges nationaldag", Public),
        h(midsummer_eve, "midsommarafton", EveDayOff),
        h(midsummer_eve + Duration::days(1), "midsommardagen", Public),
        h(all_saints, "alla helgons dag", Public),
        h(date(year, 12, 24), "julafton", EveDayOff),
        h(date(year, 12, 25), "juldagen", Public),
        h(date(year, 12, 26), "annandag jul", Public),
        h(date(year, 12, 31), "nyårsafton", EveDayOff),
    ];
    v.sort_by_key(|h| h.date);
    v
}

/// The holiday (or day-off eve) on `d`, if any.
pub fn holiday_on(d: NaiveDate) -> Option<Holiday> {
    holidays(d.year()).into_iter().find(|h| h.date == d)
}

/// Monday to Friday and neither a holiday nor a day-off eve.
pub fn is_working_day(d: NaiveDate) -> bool {
    !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && holiday_on(d).is_none()
}

/// The `n`-th working day after `d` (`d` itself for `n == 0`): a deadline of
/// `n` working days from something that happened on `d`, whatever day that
/// was. Saturates at the calendar's end instead of overflowing.
pub fn add_working_days(d: NaiveDate, n: u32) -> NaiveDate {
    let mut day = d;
    let mut left = n;
    // Holidays are looked up once per year, not per day.
    let mut year = day.year();
    let mut off: Vec<NaiveDate> = holidays(year).into_iter().map(|h| h.date).collect();
    while left > 0 {
        let Some(next) = day.succ_opt() else {
            return day;
        };
        day = next;
        if day.year() != year {
            year = day.year();
            off = holidays(year).into_iter().map(|h| h.date).collect();
        }
        if !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) && !off.contains(&day) {
            left -= 1;
        }
    }
    day
}

/// Working days after `from` up to and including `to` (0 when `to <= from`):
/// how late something done on `to` is against a deadline on `from`.
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

/// A deadline and whether it is missed: not done by the end of `due_on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    pub due_on: NaiveDate,
}

impl Deadline {
    /// `n` working days after `start`.
    pub fn working_days_after(start: NaiveDate, n: u32) -> Self {
        Deadline {
            due_on: add_working_days(start, n),
        }
    }

    /// Overdue as of `today`: not done and `today` is past the due date. Done
    /// late is not "overdue" (it is over); see [`Deadline::met`].
    pub fn overdue(&self, done_on: Option<NaiveDate>, today: NaiveDate) -> bool {
        done_on.is_none() && today > self.due_on
    }

    /// Done on or before the due date.
    pub fn met(&self, done_on: NaiveDate) -> bool {
        done_on <= self.due_on
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn easter_matches_known_years() {
        for (y, m, day) in [
            (2024, 3, 31),
            (2025, 4, 20),
            (2026, 4, 5),
            (2027, 3, 28),
            (2028, 4, 16),
            (2038, 4, 25),
            (2285, 3, 22),
            (1943, 4, 25),
        ] {
            assert_eq!(easter_sunday(y), d(y, m, day), "{y}");
        }
    }

    #[test]
    fn the_holidays_of_2026() {
        let names: Vec<(NaiveDate, &str)> =
            holidays(2026).iter().map(|h| (h.date, h.name)).collect();
        assert_eq!(
            names,
            vec![
                (d(2026, 1, 1), "nyårsdagen"),
                (d(2026, 1, 6), "trettondedag jul"),
                (d(2026, 4, 3), "långfredagen"),
                (d(2026, 4, 5), "påskdagen"),
                (d(2026, 4, 6), "annandag påsk"),
                (d(2026, 5, 1), "första maj"),
                (d(2026, 5, 14), "Kristi himmelsfärdsdag"),
                (d(2026, 5, 24), "pingstdagen"),
                (d(2026, 6, 6), "Sveriges nationaldag"),
                (d(2026, 6, 19), "midsommarafton"),
                (d(2026, 6, 20), "midsommardagen"),
                (d(2026, 10, 31), "alla helgons dag"),
                (d(2026, 12, 24), "julafton"),
                (d(2026, 12, 25), "juldagen"),
                (d(2026, 12, 26), "annandag jul"),
                (d(2026, 12, 31), "nyårsafton"),
            ]
        );
    }

    #[test]
    fn midsummer_and_all_saints_fall_in_their_windows_on_their_weekdays() {
        for year in 1990..2100 {
            let hs = holidays(year);
            let eve = hs.iter().find(|h| h.name == "midsommarafton").unwrap().date;
            let day = hs.iter().find(|h| h.name == "midsommardagen").unwrap().date;
            let saints = hs
                .iter()
                .find(|h| h.name == "alla helgons dag")
                .unwrap()
                .date;
            assert_eq!(eve.weekday(), Weekday::Fri);
            assert!((d(year, 6, 19)..=d(year, 6, 25)).contains(&eve), "{eve}");
            assert_eq!(day, eve + Duration::days(1));
            assert_eq!(saints.weekday(), Weekday::Sat);
            assert!(
                (d(year, 10, 31)..=d(year, 11, 6)).contains(&saints),
                "{saints}"
            );
            let easter = easter_sunday(year);
            assert_eq!(easter.weekday(), Weekday::Sun);
            assert!((d(year, 3, 22)..=d(year, 4, 25)).contains(&easter));
        }
        // The windows' edges: 2029 has midsummer eve on 22 June, 2023 on 23
        // June; all saints' on 6 Nov 2021 and 31 Oct 2020.
        assert_eq!(holiday_on(d(2029, 6, 22)).unwrap().name, "midsommarafton");
        assert_eq!(holiday_on(d(2023, 6, 23)).unwrap().name, "midsommarafton");
        assert_eq!(holiday_on(d(2021, 11, 6)).unwrap().name, "alla helgons dag");
        assert_eq!(
            holiday_on(d(2020, 10, 31)).unwrap().name,
            "alla helgons dag"
        );
        assert_eq!(holiday_on(d(2020, 11, 6)), None);
    }

    #[test]
    fn working_days_skip_weekends_holidays_and_day_off_eves() {
        assert!(is_working_day(d(2026, 4, 2))); // skärtorsdag is a working day
        assert!(!is_working_day(d(2026, 4, 3))); // långfredagen
        assert!(!is_working_day(d(2026, 4, 6))); // annandag påsk
        assert!(!is_working_day(d(2026, 5, 14))); // Kristi himmelsfärd (Thu)
        assert!(is_working_day(d(2026, 5, 15))); // the Friday after
        assert!(!is_working_day(d(2026, 6, 19))); // midsommarafton
        assert!(!is_working_day(d(2026, 12, 24)));
        assert!(!is_working_day(d(2026, 12, 31)));
        assert!(!is_working_day(d(2026, 1, 6)));
        assert!(!is_working_day(d(2026, 3, 7))); // a Saturday
        assert!(is_working_day(d(2026, 3, 9)));
        // 6 June 2027 is a Sunday: no weekday off in its place.
        assert!(is_working_day(d(2027, 6, 7)));
    }

    #[test]
    fn adding_working_days_across_easter_christmas_and_the_new_year() {
        // Received Wednesday 1 April 2026; 5 working days: Thu 2, Tue 7,
        // Wed 8, Thu 9, Fri 10 (Good Friday and Easter Monday skipped).
        assert_eq!(add_working_days(d(2026, 4, 1), 5), d(2026, 4, 10));
        // Received on a Saturday: the first working day is the Monday.
        assert_eq!(add_working_days(d(2026, 3, 7), 1), d(2026, 3, 9));
        assert_eq!(add_working_days(d(2026, 3, 7), 5), d(2026, 3, 13));
        // Over Christmas and into 2027: 23 Dec 2026 (Wed) + 3 → Mon 28,
        // Tue 29, Wed 30 (24–27 off); + 4 → Mon 4 Jan (31 Dec, 1 Jan off);
        // + 5 → Tue 5 Jan; + 6 → Thu 7 Jan (6 Jan trettondedag jul).
        assert_eq!(add_working_days(d(2026, 12, 23), 3), d(2026, 12, 30));
        assert_eq!(add_working_days(d(2026, 12, 23), 4), d(2027, 1, 4));
        assert_eq!(add_working_days(d(2026, 12, 23), 5), d(2027, 1, 5));
        assert_eq!(add_working_days(d(2026, 12, 23), 6), d(2027, 1, 7));
        // Midsummer: Thu 18 June 2026 + 1 → Mon 22 June.
        assert_eq!(add_working_days(d(2026, 6, 18), 1), d(2026, 6, 22));
        // Zero is the day itself.
        assert_eq!(add_working_days(d(2026, 6, 20), 0), d(2026, 6, 20));
        // The calendar's end saturates instead of panicking.
        assert_eq!(add_working_days(NaiveDate::MAX, 3), NaiveDate::MAX);
    }

    #[test]
    fn adding_agrees_with_counting_day_by_day() {
        let start = d(2025, 12, 1);
        for offset in 0..400 {
            let from = start + Duration::days(offset);
            for n in [1u32, 2, 5, 10, 23] {
                let due = add_working_days(from, n);
                assert!(is_working_day(due), "{from} + {n} = {due}");
                assert_eq!(working_days_between(from, due), n, "{from} + {n}");
            }
        }
    }

    #[test]
    fn a_deadline_is_overdue_only_when_undone_after_its_day() {
        let dl = Deadline::working_days_after(d(2026, 4, 1), 5);
        assert_eq!(dl.due_on, d(2026, 4, 10));
        assert!(!dl.overdue(None, d(2026, 4, 10)));
        assert!(dl.overdue(None, d(2026, 4, 11)));
        assert!(!dl.overdue(Some(d(2026, 4, 14)), d(2026, 4, 20)));
        assert!(dl.met(d(2026, 4, 10)));
        assert!(!dl.met(d(2026, 4, 13)));
    }
}
