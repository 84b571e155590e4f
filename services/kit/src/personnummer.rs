//! Swedish personal identity numbers (personnummer) and coordination numbers
//! (samordningsnummer).
//!
//! A validated [`Personnummer`] is the only way a number enters the system, so
//! every holder can rely on the date, the check digit and the canonical
//! 12-digit form. The number is personal data: it has no `Display`, its `Debug`
//! is redacted and errors never echo the input, so it cannot leak into logs by
//! accident. Use [`Personnummer::canonical`] or [`Personnummer::formatted`]
//! deliberately where the number must be shown or stored.

use chrono::{Datelike, NaiveDate, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// Why an input is not a valid personnummer. Messages never contain the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PersonnummerError {
    #[error("personnummer is empty")]
    Empty,
    #[error(
        "personnummer must be written YYMMDD-NNNC, YYMMDD+NNNC, YYMMDDNNNC, YYYYMMDDNNNC or YYYYMMDD-NNNC"
    )]
    BadFormat,
    #[error("personnummer does not contain a valid birth date")]
    BadDate,
    #[error("personnummer birth date is in the future")]
    FutureDate,
    #[error("check digit does not match (Luhn)")]
    BadChecksum,
}

/// Legal sex as recorded in the population register, read from the serial's
/// last digit. It is what the register says, not a statement about the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LegalSex {
    Female,
    Male,
}

/// A validated personnummer or samordningsnummer.
///
/// Equality, hashing and ordering follow the canonical digits (the other
/// fields are derived from them), so two spellings of one number are equal.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Personnummer {
    /// `YYYYMMDDNNNC`; a samordningsnummer keeps its day + 60.
    canonical: String,
    birth_date: NaiveDate,
    coordination: bool,
    sex: LegalSex,
}

/// Luhn check digit over the 9 digits `YYMMDDNNN` (weights 2,1,2,1,…; the
/// digits of each product are summed). Never panics: values above 9 are
/// accepted and give a meaningless but well-defined result.
pub fn luhn_check_digit(nine_digits: &[u8]) -> u8 {
    let mut sum: u32 = 0;
    for (i, &d) in nine_digits.iter().enumerate() {
        let weight = if i.is_multiple_of(2) { 2 } else { 1 };
        let product = u32::from(d) * weight;
        // Only the sum modulo 10 matters; reducing keeps it from overflowing.
        sum = (sum + product / 10 + product % 10) % 10;
    }
    // `sum` < 10, so the result fits in a u8.
    ((10 - sum) % 10) as u8
}

/// Which written form the input had; decides how the century is found.
enum Form {
    /// `YYMMDD[-+]NNNC` or `YYMMDDNNNC`; `plus` marks 100 years or older.
    Short { plus: bool },
    /// `YYYYMMDD[-]NNNC`.
    Full,
}

impl Personnummer {
    /// Parses any accepted form, judging the century and "future" against
    /// today's UTC date.
    pub fn parse(input: &str) -> Result<Personnummer, PersonnummerError> {
        Self::parse_on(input, Utc::now().date_naive())
    }

    /// Parses any accepted form as of `today`; `today` is explicit so that
    /// century resolution is deterministic in tests and replays.
    pub fn parse_on(input: &str, today: NaiveDate) -> Result<Self, PersonnummerError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(PersonnummerError::Empty);
        }
        let bytes = s.as_bytes();
        let (separator_at, form) = match (bytes.len(), bytes.get(6), bytes.get(8)) {
            (10, _, _) => (None, Form::Short { plus: false }),
            (11, Some(b'-'), _) => (Some(6), Form::Short { plus: false }),
            (11, Some(b'+'), _) => (Some(6), Form::Short { plus: true }),
            (12, _, _) => (None, Form::Full),
            (13, _, Some(b'-')) => (Some(8), Form::Full),
            _ => return Err(PersonnummerError::BadFormat),
        };
        let mut digits: Vec<u8> = Vec::with_capacity(12);
        for (i, &b) in bytes.iter().enumerate() {
            if Some(i) == separator_at {
                continue;
            }
            if !b.is_ascii_digit() {
                return Err(PersonnummerError::BadFormat);
            }
            digits.push(b - b'0');
        }

        // Normalise to YYYY + the 10-digit form YYMMDDNNNC.
        let (year, ten): (i32, [u8; 10]) = match form {
            Form::Full => {
                let d: [u8; 12] = digits
                    .as_slice()
                    .try_into()
                    .map_err(|_| PersonnummerError::BadFormat)?;
                let year = i32::from(d[0]) * 1000
                    + i32::from(d[1]) * 100
                    + i32::from(d[2]) * 10
                    + i32::from(d[3]);
                let ten = [d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10], d[11]];
                (year, ten)
            }
            Form::Short { plus } => {
                let d: [u8; 10] = digits
                    .as_slice()
                    .try_into()
                    .map_err(|_| PersonnummerError::BadFormat)?;
                let yy = i32::from(two(d[0], d[1]));
                let month = u32::from(two(d[2], d[3]));
                let day = real_day(u32::from(two(d[4], d[5])));
                // Latest century that does not put the birthday after today;
                // compared as tuples so an invalid day cannot skew the choice.
                let mut year = today.year().div_euclid(100) * 100 + yy;
                if (year, month, day) > (today.year(), today.month(), today.day()) {
                    year -= 100;
                }
                if plus {
                    year -= 100;
                }
                (year, d)
            }
        };

        if !(0..=9999).contains(&year) {
            return Err(PersonnummerError::BadDate);
        }
        let month = u32::from(two(ten[2], ten[3]));
        let written_day = u32::from(two(ten[4], ten[5]));
        let coordination = (61..=91).contains(&written_day);
        if !(1..=12).contains(&month) || !(1..=31).contains(&real_day(written_day)) {
            return Err(PersonnummerError::BadDate);
        }
        let birth_date = NaiveDate::from_ymd_opt(year, month, real_day(written_day))
            .ok_or(PersonnummerError::BadDate)?;
        if birth_date > today {
            return Err(PersonnummerError::FutureDate);
        }
        let [y1, y2, m1, m2, d1, d2, n1, n2, n3, check] = ten;
        if luhn_check_digit(&[y1, y2, m1, m2, d1, d2, n1, n2, n3]) != check {
            return Err(PersonnummerError::BadChecksum);
        }
        let sex = if n3 % 2 == 1 {
            LegalSex::Male
        } else {
            LegalSex::Female
        };
        // The full year replaces YY; the rest is kept as written.
        let canonical = format!(
            "{year:04}{}",
            [m1, m2, d1, d2, n1, n2, n3, check]
                .iter()
                .map(|d| char::from(b'0' + d))
                .collect::<String>()
        );
        Ok(Personnummer {
            canonical,
            birth_date,
            coordination,
            sex,
        })
    }

    /// The 12 digits `YYYYMMDDNNNC`, the form to store and compare.
    pub fn canonical(&self) -> &str {
        &self.canonical
    }

    /// `YYYYMMDD-NNNC`, the form to show to people.
    pub fn formatted(&self) -> String {
        match self.canonical.split_at_checked(8) {
            Some((date, rest)) => format!("{date}-{rest}"),
            None => self.canonical.clone(),
        }
    }

    /// The real birth date (a samordningsnummer's day without the + 60).
    pub fn birth_date(&self) -> NaiveDate {
        self.birth_date
    }

    /// True for a samordningsnummer (day written as day + 60).
    pub fn is_coordination_number(&self) -> bool {
        self.coordination
    }

    /// Legal sex from the last serial digit: odd is male, even is female.
    pub fn legal_sex(&self) -> LegalSex {
        self.sex
    }

    /// Age in whole years on `date`; 0 before birth rather than an error,
    /// because callers ask "how old" and a negative age has no use.
    /// Someone born on 29 February turns a year older on 1 March in
    /// non-leap years.
    pub fn age_on(&self, date: NaiveDate) -> u32 {
        if date < self.birth_date {
            return 0;
        }
        let born = self.birth_date;
        let mut years = date.year() - born.year();
        if (date.month(), date.day()) < (born.month(), born.day()) {
            years -= 1;
        }
        u32::try_from(years).unwrap_or(0)
    }
}

/// Two decimal digits as a number.
fn two(tens: u8, ones: u8) -> u8 {
    tens * 10 + ones
}

/// The calendar day of a written day: samordningsnummer add 60.
fn real_day(written: u32) -> u32 {
    if (61..=91).contains(&written) {
        written - 60
    } else {
        written
    }
}

/// Redacted: the number is personal data and must never reach logs.
impl fmt::Debug for Personnummer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Personnummer(<redacted>)")
    }
}

impl FromStr for Personnummer {
    type Err = PersonnummerError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Personnummer::parse(s)
    }
}

/// Serialised as the canonical 12 digits so stored data has one spelling.
impl Serialize for Personnummer {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.canonical)
    }
}

/// Accepts every form [`Personnummer::parse`] accepts, so API clients may send
/// the short forms people write.
impl<'de> Deserialize<'de> for Personnummer {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Personnummer::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 6, 15).unwrap()
    }

    fn parse(s: &str) -> Result<Personnummer, PersonnummerError> {
        Personnummer::parse_on(s, today())
    }

    fn digits(s: &str) -> Vec<u8> {
        s.bytes().map(|b| b - b'0').collect()
    }

    /// Appends the Luhn digit to `YYYYMMDDNNN`.
    fn with_check(eleven: &str) -> String {
        let c = luhn_check_digit(&digits(&eleven[2..]));
        format!("{eleven}{c}")
    }

    #[test]
    fn luhn_matches_known_good_numbers() {
        assert_eq!(luhn_check_digit(&digits("121212121")), 2);
        assert_eq!(luhn_check_digit(&digits("811218987")), 6);
        assert_eq!(luhn_check_digit(&digits("701063239")), 1);
    }

    #[test]
    fn known_test_numbers_are_valid() {
        let a = parse("19121212-1212").unwrap();
        assert_eq!(a.canonical(), "191212121212");
        assert_eq!(
            a.birth_date(),
            NaiveDate::from_ymd_opt(1912, 12, 12).unwrap()
        );
        let b = parse("811218-9876").unwrap();
        assert_eq!(b.canonical(), "198112189876");
        assert_eq!(b.formatted(), "19811218-9876");
        assert!(!b.is_coordination_number());
    }

    #[test]
    fn a_samordningsnummer_has_sixty_added_to_the_day() {
        let p = parse("701063-2391").unwrap();
        assert!(p.is_coordination_number());
        assert_eq!(p.canonical(), "197010632391");
        assert_eq!(
            p.birth_date(),
            NaiveDate::from_ymd_opt(1970, 10, 3).unwrap()
        );
    }

    #[test]
    fn all_accepted_forms_give_the_same_number() {
        let forms = [
            "811218-9876",
            "8112189876",
            "198112189876",
            "19811218-9876",
            "  811218-9876\n",
        ];
        for f in forms {
            assert_eq!(parse(f).unwrap().canonical(), "198112189876", "{f:?}");
        }
    }

    #[test]
    fn plus_means_a_hundred_years_or_older() {
        let minus = parse("121212-1212").unwrap();
        assert_eq!(minus.canonical(), "201212121212");
        let plus = parse("121212+1212").unwrap();
        assert_eq!(plus.canonical(), "191212121212");
        assert_eq!(plus.age_on(today()), 112);
    }

    #[test]
    fn the_short_form_takes_the_latest_century_not_in_the_future() {
        // 15 June 2025 is today: born today is this century, tomorrow is last.
        let born_today = with_check("20250615123");
        let p = parse(&born_today[2..]).unwrap();
        assert_eq!(p.birth_date(), today());
        let tomorrow = with_check("20250616123");
        let p = parse(&tomorrow[2..]).unwrap();
        assert_eq!(
            p.birth_date(),
            NaiveDate::from_ymd_opt(1925, 6, 16).unwrap()
        );
    }

    #[test]
    fn plus_with_twelve_digits_is_a_format_error() {
        assert_eq!(parse("19121212+1212"), Err(PersonnummerError::BadFormat));
    }

    #[test]
    fn a_wrong_check_digit_is_rejected() {
        assert_eq!(parse("811218-9875"), Err(PersonnummerError::BadChecksum));
        assert_eq!(parse("191212121213"), Err(PersonnummerError::BadChecksum));
    }

    #[test]
    fn february_29_on_a_non_leap_year_is_rejected() {
        assert_eq!(
            parse(&with_check("20230229123")),
            Err(PersonnummerError::BadDate)
        );
        assert!(parse(&with_check("20240229123")).is_ok());
        // 1900 was not a leap year, 2000 was.
        assert_eq!(
            parse(&with_check("19000229123")),
            Err(PersonnummerError::BadDate)
        );
        assert!(parse(&with_check("20000229123")).is_ok());
    }

    #[test]
    fn impossible_months_and_days_are_rejected() {
        for eleven in [
            "19901301123",
            "19900001123",
            "19900100123",
            "19900132123",
            "19900160123",
            "19900192123",
            "19900431123",
        ] {
            assert_eq!(
                parse(&with_check(eleven)),
                Err(PersonnummerError::BadDate),
                "{eleven}"
            );
        }
    }

    #[test]
    fn a_future_birth_date_is_rejected() {
        assert_eq!(
            parse(&with_check("20300101123")),
            Err(PersonnummerError::FutureDate)
        );
        assert_eq!(
            parse(&with_check("20250616123")),
            Err(PersonnummerError::FutureDate)
        );
    }

    #[test]
    fn malformed_input_is_a_format_error() {
        assert_eq!(parse(""), Err(PersonnummerError::Empty));
        assert_eq!(parse("   "), Err(PersonnummerError::Empty));
        for bad in [
            "811218_9876",
            "81121-89876",
            "8112189876x",
            "abcdefghij",
            "19811218--9876",
            "811218 9876",
            "1981121898765",
        ] {
            assert_eq!(parse(bad), Err(PersonnummerError::BadFormat), "{bad:?}");
        }
    }

    #[test]
    fn error_messages_do_not_contain_the_input() {
        for input in [
            "811218-9875",
            "20300101-1234",
            "19901301-1234",
            "811218x9876",
        ] {
            let e = parse(input).unwrap_err().to_string();
            assert!(!e.contains("811218"), "{e}");
            assert!(!e.contains("9875") && !e.contains("1234"), "{e}");
        }
    }

    #[test]
    fn legal_sex_comes_from_the_ninth_digit() {
        assert_eq!(parse("811218-9876").unwrap().legal_sex(), LegalSex::Male);
        let female = with_check("19121212122");
        assert_eq!(parse(&female).unwrap().legal_sex(), LegalSex::Female);
    }

    #[test]
    fn age_counts_whole_years_and_is_zero_before_birth() {
        let p = parse("811218-9876").unwrap();
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(p.age_on(d(2025, 6, 15)), 43);
        assert_eq!(p.age_on(d(2025, 12, 17)), 43);
        assert_eq!(p.age_on(d(2025, 12, 18)), 44);
        assert_eq!(p.age_on(d(1981, 12, 18)), 0);
        assert_eq!(p.age_on(d(1970, 1, 1)), 0);
    }

    #[test]
    fn a_leap_day_birthday_comes_on_the_first_of_march() {
        let p = parse(&with_check("20040229123")).unwrap();
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(p.age_on(d(2005, 2, 28)), 0);
        assert_eq!(p.age_on(d(2005, 3, 1)), 1);
    }

    #[test]
    fn debug_never_prints_the_number() {
        let p = parse("811218-9876").unwrap();
        assert_eq!(format!("{p:?}"), "Personnummer(<redacted>)");
        assert_eq!(format!("{:?}", Some(&p)), "Some(Personnummer(<redacted>))");
    }

    #[test]
    fn serde_writes_canonical_and_reads_any_form() {
        let p = parse("811218-9876").unwrap();
        assert_eq!(serde_json::to_string(&p).unwrap(), "\"198112189876\"");
        let back: Personnummer = serde_json::from_str("\"811218-9876\"").unwrap();
        assert_eq!(back, p);
        let err = serde_json::from_str::<Personnummer>("\"811218-9875\"").unwrap_err();
        assert!(
            err.to_string()
                .contains("check digit does not match (Luhn)")
        );
        assert!(serde_json::from_str::<Personnummer>("42").is_err());
    }

    #[test]
    fn from_str_parses() {
        let p: Personnummer = "19121212-1212".parse().unwrap();
        assert_eq!(p.canonical(), "191212121212");
    }

    /// Any date from 1800 to `today()`.
    fn birth_dates() -> impl Strategy<Value = NaiveDate> {
        let first = NaiveDate::from_ymd_opt(1800, 1, 1).unwrap();
        let span = (today() - first).num_days();
        (0..=span).prop_map(move |n| first + chrono::Days::new(n as u64))
    }

    fn build(date: NaiveDate, coordination: bool, serial: u16) -> String {
        let day = date.day() + if coordination { 60 } else { 0 };
        let eleven = format!(
            "{:04}{:02}{:02}{:03}",
            date.year(),
            date.month(),
            day,
            serial
        );
        with_check(&eleven)
    }

    proptest! {
        #[test]
        fn parsing_never_panics_on_any_string(s in any::<String>(), days in -2_000_000i32..4_000_000) {
            let today = NaiveDate::from_num_days_from_ce_opt(days).unwrap_or(NaiveDate::MIN);
            let _ = Personnummer::parse_on(&s, today);
            let _ = Personnummer::parse_on(&s, NaiveDate::MIN);
            let _ = Personnummer::parse_on(&s, NaiveDate::MAX);
        }

        #[test]
        fn parsing_never_panics_on_digits_and_separators(s in "[0-9+\\- ]{0,20}") {
            let _ = parse(&s);
            let _ = Personnummer::parse_on(&s, NaiveDate::MIN);
            let _ = Personnummer::parse_on(&s, NaiveDate::MAX);
        }

        #[test]
        fn a_number_with_the_computed_check_digit_parses_and_round_trips(
            date in birth_dates(),
            serial in 0u16..1000,
        ) {
            let twelve = build(date, false, serial);
            let p = parse(&twelve).unwrap();
            prop_assert_eq!(p.canonical(), twelve.as_str());
            prop_assert_eq!(p.birth_date(), date);
            prop_assert!(!p.is_coordination_number());
            prop_assert_eq!(&parse(&p.formatted()).unwrap(), &p);
            prop_assert_eq!(&parse(p.canonical()).unwrap(), &p);
            // The short form with the right separator names the same person.
            // (The short form cannot express 200 years or more.)
            let age = p.age_on(today());
            if age < 200 {
                let sep = if age >= 100 { '+' } else { '-' };
                let short = format!("{}{sep}{}", &twelve[2..8], &twelve[8..]);
                prop_assert_eq!(&parse(&short).unwrap(), &p);
            }
            let expected_sex = if serial % 2 == 1 { LegalSex::Male } else { LegalSex::Female };
            prop_assert_eq!(p.legal_sex(), expected_sex);
        }

        #[test]
        fn any_other_check_digit_is_a_checksum_error(
            date in birth_dates(),
            serial in 0u16..1000,
            bump in 1u8..10,
        ) {
            let twelve = build(date, false, serial);
            let right = twelve.as_bytes()[11] - b'0';
            let wrong = (right + bump) % 10;
            let bad = format!("{}{wrong}", &twelve[..11]);
            prop_assert_eq!(parse(&bad), Err(PersonnummerError::BadChecksum));
        }

        #[test]
        fn a_samordningsnummer_parses_as_a_coordination_number(
            date in birth_dates(),
            serial in 0u16..1000,
        ) {
            let twelve = build(date, true, serial);
            let p = parse(&twelve).unwrap();
            prop_assert!(p.is_coordination_number());
            prop_assert_eq!(p.birth_date(), date);
            prop_assert_eq!(p.canonical(), twelve.as_str());
            prop_assert_eq!(&parse(&p.formatted()).unwrap(), &p);
        }
    }
}
