//! Swedish working days for response deadlines: kit's calendar
//! (`samling_kit::calendar`, the one recruitment counts its deadlines in).

pub use samling_kit::calendar::{add_working_days, is_working_day, working_days_between};

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

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
