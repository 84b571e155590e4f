//! Calendar dates and instants at the protobuf boundary.
//!
//! Instants are UTC, RFC 3339 with microseconds; calendar dates are ISO dates.
use crate::error::KitError;
use chrono::{DateTime, Datelike, Months, NaiveDate, SecondsFormat, Utc};
use samling_proto::common::v1::Date;

pub fn now() -> DateTime<Utc> {
    Utc::now()
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
