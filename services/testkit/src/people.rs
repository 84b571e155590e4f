//! Synthetic personnummer: valid (a real date, a correct Luhn check digit)
//! and made up. Such a number may by chance be one a real person holds;
//! it identifies nobody and belongs in tests only.

use chrono::{Datelike, NaiveDate};

/// A valid personnummer `YYYYMMDD-NNNC` for someone born on `born` with
/// serial `serial` (odd = male, even = female in the register).
pub fn personnummer(born: NaiveDate, serial: u16) -> String {
    assert!(serial < 1000, "a serial has three digits: {serial}");
    let short = format!(
        "{:02}{:02}{:02}{serial:03}",
        born.year() % 100,
        born.month(),
        born.day()
    );
    let digits: Vec<u8> = short.bytes().map(|b| b - b'0').collect();
    let check = samling_kit::personnummer::luhn_check_digit(&digits);
    format!(
        "{}{:02}{:02}-{serial:03}{check}",
        born.year(),
        born.month(),
        born.day()
    )
}

/// An adult born on 14 March 1980.
pub fn adult(serial: u16) -> String {
    personnummer(date(1980, 3, 14), serial)
}

/// The `n`-th of 336,000 distinct adults born in 1980 (for tests that need
/// many people).
pub fn nth_adult(n: u32) -> String {
    let (month, day, serial) = (1 + (n / 28_000) % 12, 1 + (n / 1000) % 28, n % 1000);
    personnummer(date(1980, month, day), serial as u16)
}

/// A child of `age` years (born on 1 January of that year, so the birth
/// date is never in the future).
pub fn child_pnr(age: i32, serial: u16) -> String {
    let year = chrono::Utc::now().year() - age;
    personnummer(date(year, 1, 1), serial)
}

/// The canonical 12 digits the register stores.
pub fn canonical(pnr: &str) -> String {
    pnr.replace('-', "")
}

fn date(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).expect("a calendar date")
}

#[cfg(test)]
mod tests {
    use super::*;
    use samling_kit::personnummer::Personnummer;
    use std::collections::HashSet;

    #[test]
    fn every_generated_number_parses_and_names_its_birth_date() {
        let born = date(2016, 2, 29);
        for serial in [0, 1, 2, 500, 999] {
            let p = personnummer(born, serial);
            assert!(p.starts_with("20160229-"), "{p}");
            Personnummer::parse(&p).unwrap_or_else(|e| panic!("{p}: {e}"));
        }
        Personnummer::parse(&adult(7)).unwrap();
        Personnummer::parse(&child_pnr(0, 7)).unwrap();
        assert_eq!(canonical("19800314-0070"), "198003140070");
    }

    #[test]
    fn the_nth_adults_are_distinct_and_valid() {
        let all: HashSet<String> = (0..40_000).step_by(7).map(nth_adult).collect();
        assert_eq!(all.len(), (0..40_000).step_by(7).count());
        for n in [0, 999, 1000, 27_999, 28_000, 335_999] {
            Personnummer::parse(&nth_adult(n)).unwrap_or_else(|e| panic!("{n}: {e}"));
        }
    }
}
