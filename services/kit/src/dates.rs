//! Calendar dates and instants at the protobuf boundary.
//!
//! Instants are UTC, RFC 3339 with microseconds; calendar dates are ISO dates.
use crate::error::KitError;
use chrono::{DateTime, Datelike, Months, NaiveDate, SecondsFormat, Utc};
use samling_proto::common::v1::Date;

pub fn now() -> DateTime<Utc> {
    Utc::now()
}

/// The time a service reads: the system clock in production, a settable one
/// in tests (deadlines, "overdue", working days). Cloned clocks share the
/// time they are set to.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    fixed: Option<std::sync::Arc<std::sync::Mutex<DateTime<Utc>>>>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Clock { fixed: None }
    }

    /// A clock standing at `at` until [`Clock::set`] or [`Clock::advance`].
    pub fn fixed(at: DateTime<Utc>) -> Self {
        Clock {
            fixed: Some(std::sync::Arc::new(std::sync::Mutex::new(at))),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        match &self.fixed {
            None => Utc::now(),
            Some(t) => *t.lock().unwrap_or_else(|p| p.into_inner()),
        }
    }

    pub fn today(&self) -> NaiveDate {
        self.now().date_naive()
    }

    /// Move a fixed clock to `at` (a system clock is left as it is).
    pub fn set(&self, at: DateTime<Utc>) {
        if let Some(t) = &self.fixed {
            *t.lock().unwrap_or_else(|p| p.into_inner()) = at;
        }
    }

    /// Move a fixed clock on by `by`.
    pub fn advance(&self, by: chrono::Duration) {
        if let Some(t) = &self.fixed {
            let mut t = t.lock().unwrap_or_else(|p| p.into_inner());
            *t += by;
        }
    }
}

pub fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// RFC 3339 UTC text, fixed width so it sorts as text.
pub fn instant_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub fn now_text() -> String {
    instant_text(now())
}

pub fn to_proto(d: NaiveDate) -> Date {
    Date {
        year: d.year(),
        month: d.month() as i32,
        day: d.day() as i32,
    }
}

pub fn opt_to_proto(d: Option<NaiveDate>) -> Option<Date> {
    d.map(to_proto)
}

/// A required date; the error names the field.
pub fn from_proto(field: &str, d: Option<&Date>) -> Result<NaiveDate, KitError> {
    opt_from_proto(field, d)?.ok_or_else(|| KitError::invalid(field, "is required"))
}

/// An optional date: absent or all-zero means none.
pub fn opt_from_proto(field: &str, d: Option<&Date>) -> Result<Option<NaiveDate>, KitError> {
    match d {
        None => Ok(None),
        Some(d) if d.year == 0 && d.month == 0 && d.day == 0 => Ok(None),
        Some(d) => {
            let (Ok(m), Ok(day)) = (u32::try_from(d.month), u32::try_from(d.day)) else {
                return Err(KitError::invalid(field, "is not a valid date"));
            };
            NaiveDate::from_ymd_opt(d.year, m, day)
                .filter(|d| (1900..=2200).contains(&d.year()))
                .map(Some)
                .ok_or_else(|| KitError::invalid(field, "is not a valid date"))
        }
    }
}

/// Parse an ISO date (`YYYY-MM-DD`) from text input such as CSV.
pub fn parse_iso(field: &str, s: &str) -> Result<NaiveDate, KitError> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| KitError::invalid(field, "is not an ISO date (YYYY-MM-DD)"))
}

/// `d` plus whole months, clamped to the month's last day (31 Jan + 1 month = 28/29 Feb).
pub fn add_months(d: NaiveDate, months: u32) -> NaiveDate {
    d.checked_add_months(Months::new(months))
        .unwrap_or(NaiveDate::MAX)
}

/// Text stored in SQL for a date.
pub fn date_text(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_impossible_date_is_rejected_naming_the_field() {
        let e = from_proto(
            "decision_date",
            Some(&Date {
                year: 2025,
                month: 2,
                day: 30,
            }),
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "decision_date: is not a valid date");
        assert!(from_proto("decision_date", None).is_err());
    }

    #[test]
    fn adding_months_clamps_to_the_end_of_the_month() {
        let d = NaiveDate::from_ymd_opt(2025, 11, 30).unwrap();
        assert_eq!(
            add_months(d, 3),
            NaiveDate::from_ymd_opt(2026, 2, 28).unwrap()
        );
    }
}

#[cfg(test)]
mod clock_tests {
    use super::Clock;

    #[test]
    fn a_fixed_clock_stands_still_until_moved_and_clones_share_it() {
        let at = "2026-12-24T08:00:00Z".parse().unwrap();
        let c = Clock::fixed(at);
        let shared = c.clone();
        assert_eq!(c.now(), at);
        c.advance(chrono::Duration::days(1));
        assert_eq!(shared.today().to_string(), "2026-12-25");
        shared.set("2027-01-01T00:00:00Z".parse().unwrap());
        assert_eq!(c.today().to_string(), "2027-01-01");
        let system = Clock::system();
        system.set(at); // ignored: the system clock is not settable
        assert!(system.now() > at - chrono::Duration::days(365 * 100));
        assert_ne!(system.now(), at);
    }
}
