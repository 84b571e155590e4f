//! `samling.common.v1.Date` in JSON is an ISO 8601 calendar date,
//! `"2026-11-30"` (DESIGN.md §4), in both directions; pbjson's generated
//! form (`{"year":2026,"month":11,"day":30}`) is excluded in `build.rs`.
//!
//! Reading is strict: exactly `YYYY-MM-DD`, a day that exists, in the years
//! 1900–2200 (the contract's range, `common.proto`). Anything else — an
//! object, a number, `""`, `"2026-1-5"`, `"2026-02-30"` — is a serde error,
//! which the gateway answers as 400 naming the field's path. An optional
//! date is left out, never sent empty. The error never repeats the value (a
//! birth date is personal data).
//!
//! Writing a date that is not one (the all-zero "no date" only a gRPC
//! client can send; services answer such a date by leaving the field out)
//! gives its parts as they are, zero-padded.

use crate::common::v1::Date;
use serde::de::{self, Visitor};
use std::fmt;

/// The years a date may be in.
pub const YEARS: std::ops::RangeInclusive<i32> = 1900..=2200;

/// What a date in JSON must be, as the error says it.
pub const EXPECTED: &str = "an ISO 8601 date YYYY-MM-DD (e.g. 2026-11-30)";

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

/// Why `text` is not a date, or the date.
pub fn parse(text: &str) -> Result<Date, &'static str> {
    let b = text.as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return Err("must be an ISO 8601 date YYYY-MM-DD (e.g. 2026-11-30)");
    }
    let (Some(year), Some(month), Some(day)) = (digits(0..4), digits(5..7), digits(8..10)) else {
        return Err("must be an ISO 8601 date YYYY-MM-DD (e.g. 2026-11-30)");
    };
    let year = year as i32;
    if day == 0 || day > days_in_month(year, month) {
        return Err("is not a valid date");
    }
    if !YEARS.contains(&year) {
        return Err("must be a date in the years 1900–2200");
    }
    Ok(Date {
        year,
        month: month as i32,
        day: day as i32,
    })
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl serde::Serialize for Date {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Fixed width without the formatting machinery for every real date.
        let (y, m, d) = (self.year, self.month, self.day);
        if (0..=9999).contains(&y) && (0..=99).contains(&m) && (0..=99).contains(&d) {
            let (y, m, d) = (y as u32, m as u32, d as u32);
            let digit = |n: u32| b'0' + (n % 10) as u8;
            let buf = [
                digit(y / 1000),
                digit(y / 100),
                digit(y / 10),
                digit(y),
                b'-',
                digit(m / 10),
                digit(m),
                b'-',
                digit(d / 10),
                digit(d),
            ];
            // ASCII digits and dashes only.
            let text = std::str::from_utf8(&buf).map_err(serde::ser::Error::custom)?;
            serializer.serialize_str(text)
        } else {
            serializer.collect_str(self)
        }
    }
}

impl<'de> serde::Deserialize<'de> for Date {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DateVisitor;
        impl Visitor<'_> for DateVisitor {
            type Value = Date;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(EXPECTED)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Date, E> {
                parse(v).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(DateVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(year: i32, month: i32, day: i32) -> Date {
        Date { year, month, day }
    }

    #[test]
    fn a_date_is_an_iso_string_both_ways() {
        let d = date(2026, 11, 30);
        assert_eq!(serde_json::to_string(&d).unwrap(), r#""2026-11-30""#);
        assert_eq!(serde_json::from_str::<Date>(r#""2026-11-30""#).unwrap(), d);
        assert_eq!(
            serde_json::to_string(&date(1900, 1, 5)).unwrap(),
            r#""1900-01-05""#
        );
        assert_eq!(
            serde_json::from_str::<Date>(r#""2024-02-29""#).unwrap(),
            date(2024, 2, 29)
        );
    }

    #[test]
    fn a_date_in_a_message_is_a_string_field() {
        let req = crate::registry::v1::EndPlacementRequest {
            end_date: Some(date(2026, 3, 1)),
            ..Default::default()
        };
        let v = serde_json::to_value(&req).unwrap();
        assert_eq!(v["end_date"], "2026-03-01");
        let back: crate::registry::v1::EndPlacementRequest = serde_json::from_value(v).unwrap();
        assert_eq!(back.end_date, Some(date(2026, 3, 1)));
    }

    #[test]
    fn anything_but_a_real_iso_date_is_refused_without_echoing_it() {
        for (text, why) in [
            ("2026-02-30", "is not a valid date"),
            ("2025-02-29", "is not a valid date"),
            ("2026-13-01", "is not a valid date"),
            ("2026-00-10", "is not a valid date"),
            ("2026-01-00", "is not a valid date"),
            ("2026-1-5", "YYYY-MM-DD"),
            ("", "YYYY-MM-DD"),
            ("2026-11-30T00:00:00Z", "YYYY-MM-DD"),
            ("20261130", "YYYY-MM-DD"),
            ("2026/11/30", "YYYY-MM-DD"),
            ("+026-11-30", "YYYY-MM-DD"),
            ("２０２６-11-30", "YYYY-MM-DD"),
            ("1899-12-31", "1900–2200"),
            ("2201-01-01", "1900–2200"),
        ] {
            let e = serde_json::from_str::<Date>(&format!("{text:?}")).unwrap_err();
            let msg = e.to_string();
            assert!(msg.contains(why), "{text:?}: {msg}");
            assert!(
                text.is_empty() || !msg.contains(text),
                "{text:?} echoed: {msg}"
            );
        }
        for json in [r#"{"year":2026,"month":11,"day":30}"#, "20261130", "null"] {
            let e = serde_json::from_str::<Date>(json).unwrap_err();
            assert!(e.to_string().contains("YYYY-MM-DD"), "{json}: {e}");
        }
    }

    /// What pbjson generated for `Date` before (its code, field for field),
    /// to time against: `cargo test --release -p samling-proto --lib --
    /// --ignored --nocapture date_json_speed`.
    struct PbjsonDate(Date);

    impl serde::Serialize for PbjsonDate {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeStruct;
            let d = &self.0;
            let len = [d.year, d.month, d.day].iter().filter(|v| **v != 0).count();
            let mut s = serializer.serialize_struct("samling.common.v1.Date", len)?;
            if d.year != 0 {
                s.serialize_field("year", &d.year)?;
            }
            if d.month != 0 {
                s.serialize_field("month", &d.month)?;
            }
            if d.day != 0 {
                s.serialize_field("day", &d.day)?;
            }
            s.end()
        }
    }

    #[test]
    #[ignore = "a timing, run by hand in release"]
    fn date_json_speed() {
        let dates: Vec<Date> = (0..1000)
            .map(|i| date(1950 + i % 200, 1 + i % 12, 1 + i % 28))
            .collect();
        let old: Vec<PbjsonDate> = dates.iter().cloned().map(PbjsonDate).collect();
        let time = |name: &str, f: &dyn Fn(&mut Vec<u8>)| {
            let mut out = Vec::with_capacity(64 * 1024);
            let mut best = f64::MAX;
            for _ in 0..20 {
                let t = std::time::Instant::now();
                for _ in 0..100 {
                    out.clear();
                    f(&mut out);
                }
                best = best.min(t.elapsed().as_secs_f64() / 100_000.0 * 1e9);
            }
            println!(
                "{name}: {best:.1} ns per date, {} bytes per 1000",
                out.len()
            );
            best
        };
        let new = time("ISO string (now)", &|out| {
            serde_json::to_writer(out, &dates).unwrap()
        });
        let was = time("pbjson object (before)", &|out| {
            serde_json::to_writer(out, &old).unwrap()
        });
        let texts: Vec<String> = dates
            .iter()
            .map(|d| serde_json::to_string(d).unwrap())
            .collect();
        let t = std::time::Instant::now();
        for _ in 0..100 {
            for s in &texts {
                std::hint::black_box(serde_json::from_str::<Date>(s).unwrap());
            }
        }
        println!(
            "parse: {:.1} ns per date",
            t.elapsed().as_secs_f64() / 100_000.0 * 1e9
        );
        println!("serialize: {:.2}x the time of before", new / was);
    }

    #[test]
    fn a_date_that_is_not_one_is_written_as_its_parts() {
        assert_eq!(
            serde_json::to_string(&date(0, 0, 0)).unwrap(),
            r#""0000-00-00""#
        );
        assert_eq!(
            serde_json::to_string(&date(12345, 1, 1)).unwrap(),
            r#""12345-01-01""#
        );
    }
}
