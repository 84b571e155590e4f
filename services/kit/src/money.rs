//! Amounts of Swedish money as whole öre.
//!
//! Compensation and fees must add up to the öre across services and reports,
//! so amounts are integers (`i64` öre) and every operation that can overflow
//! is checked. Floating point never touches money; the one place rounding is
//! needed ([`Money::mul_ratio`]) uses a single documented rule.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a text is not an amount. Messages do not echo the input: amounts in
/// this system are often a family's compensation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("amount is empty")]
    Empty,
    #[error(
        "amount must be kronor like 1234, 1234,50, 1 234.50 or -12,05, optionally followed by \"kr\""
    )]
    BadFormat,
    #[error("amount has more than two decimals (öre)")]
    TooManyDecimals,
    #[error("amount is too large")]
    Overflow,
}

/// An amount in öre (1 krona = 100 öre); negative amounts are allowed
/// (corrections, repayments). Serialised as the bare integer of öre.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Money(i64);

/// Largest krona count that is still worth parsing; anything above cannot
/// fit in `i64` öre, and stopping early keeps the accumulator bounded.
const MAX_KRONOR: i128 = i64::MAX as i128 / 100 + 1;

impl Money {
    pub const ZERO: Money = Money(0);

    pub const fn from_ore(ore: i64) -> Money {
        Money(ore)
    }

    /// `None` if the amount does not fit in `i64` öre.
    pub const fn from_kronor(kronor: i64) -> Option<Money> {
        match kronor.checked_mul(100) {
            Some(ore) => Some(Money(ore)),
            None => None,
        }
    }

    pub const fn ore(self) -> i64 {
        self.0
    }

    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    pub fn checked_sub(self, other: Money) -> Option<Money> {
        self.0.checked_sub(other.0).map(Money)
    }

    pub fn checked_mul(self, factor: i64) -> Option<Money> {
        self.0.checked_mul(factor).map(Money)
    }

    /// Total of all amounts; `None` if any partial sum overflows. (Not
    /// `std::iter::Sum`, which cannot report overflow.)
    pub fn sum<I: IntoIterator<Item = Money>>(amounts: I) -> Option<Money> {
        amounts
            .into_iter()
            .try_fold(Money::ZERO, |acc, m| acc.checked_add(m))
    }

    /// `self × num / den`, computed exactly in `i128` and rounded once,
    /// **half away from zero** (2,5 öre → 3 öre, −2,5 öre → −3 öre). This is
    /// the rounding rule of the compensation model, e.g. when a monthly amount
    /// is prorated by days (`monthly.mul_ratio(days, days_in_month)`).
    /// `None` if `den` is 0 or the result does not fit in `i64` öre.
    pub fn mul_ratio(self, num: i64, den: i64) -> Option<Money> {
        if den == 0 {
            return None;
        }
        // |i64 × i64| < 2^126, so this cannot overflow i128.
        let n = i128::from(self.0) * i128::from(num);
        let d = i128::from(den);
        let quotient = n / d;
        let remainder = n % d;
        // |remainder| < |d| ≤ 2^63, so doubling it fits.
        let rounded = if 2 * remainder.abs() >= d.abs() {
            // The exact result lies beyond the truncated quotient, away from 0.
            if (n < 0) == (d < 0) {
                quotient + 1
            } else {
                quotient - 1
            }
        } else {
            quotient
        };
        i64::try_from(rounded).ok().map(Money)
    }

    /// `basis_points` hundredths of a percent of `self` (10 000 = 100 %),
    /// rounded like [`Money::mul_ratio`].
    pub fn percent(self, basis_points: i64) -> Option<Money> {
        self.mul_ratio(basis_points, 10_000)
    }

    /// Parses kronor as people write them: `1234`, `1234.5`, `1234,50`,
    /// `1 234,50`, `-12,05`, each optionally followed by `kr`. Digit groups
    /// may be separated by a space, a no-break space or a narrow no-break
    /// space, but then every group after the first must have three digits, so
    /// a mistyped number is rejected rather than misread.
    pub fn parse_kronor(s: &str) -> Result<Money, MoneyError> {
        let s = s.trim();
        let s = s.strip_suffix("kr").map_or(s, str::trim_end);
        if s.is_empty() {
            return Err(MoneyError::Empty);
        }
        let (negative, body) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (integer, fraction) = match body.split_once([',', '.']) {
            Some((i, f)) => (i, Some(f)),
            None => (body, None),
        };

        let mut kronor: i128 = 0;
        let grouped = integer.contains(is_group_separator);
        for (index, group) in integer.split(is_group_separator).enumerate() {
            let len_ok = match (grouped, index) {
                (false, _) => !group.is_empty(),
                (true, 0) => (1..=3).contains(&group.len()),
                (true, _) => group.len() == 3,
            };
            if !len_ok || !group.bytes().all(|b| b.is_ascii_digit()) {
                return Err(MoneyError::BadFormat);
            }
            for b in group.bytes() {
                kronor = kronor * 10 + i128::from(b - b'0');
                if kronor > MAX_KRONOR {
                    return Err(MoneyError::Overflow);
                }
            }
        }

        let ore_part: i128 = match fraction {
            None => 0,
            Some(f) if f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) => {
                return Err(MoneyError::BadFormat);
            }
            Some(f) if f.len() > 2 => return Err(MoneyError::TooManyDecimals),
            Some(f) => f
                .bytes()
                .chain(std::iter::repeat(b'0'))
                .take(2)
                .fold(0, |acc, b| acc * 10 + i128::from(b - b'0')),
        };

        let magnitude = kronor * 100 + ore_part;
        let signed = if negative { -magnitude } else { magnitude };
        i64::try_from(signed)
            .map(Money)
            .map_err(|_| MoneyError::Overflow)
    }
}

fn is_group_separator(c: char) -> bool {
    matches!(c, ' ' | '\u{a0}' | '\u{202f}')
}

/// Swedish style, `1 234,50 kr` / `-12,05 kr`, with plain spaces between digit
/// groups so the output also parses back with [`Money::parse_kronor`].
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let abs = self.0.unsigned_abs();
        let kronor = (abs / 100).to_string();
        let ore = abs % 100;
        let mut grouped = String::with_capacity(kronor.len() + kronor.len() / 3);
        for (i, c) in kronor.chars().enumerate() {
            if i > 0 && (kronor.len() - i).is_multiple_of(3) {
                grouped.push(' ');
            }
            grouped.push(c);
        }
        let sign = if self.0 < 0 { "-" } else { "" };
        write!(f, "{sign}{grouped},{ore:02} kr")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m(ore: i64) -> Money {
        Money::from_ore(ore)
    }

    #[test]
    fn kronor_are_a_hundred_ore() {
        assert_eq!(Money::from_kronor(12).unwrap().ore(), 1200);
        assert_eq!(Money::from_kronor(-3).unwrap().ore(), -300);
        assert_eq!(Money::from_kronor(i64::MAX), None);
        assert_eq!(Money::default(), Money::ZERO);
    }

    #[test]
    fn arithmetic_is_checked() {
        assert_eq!(m(150).checked_add(m(50)), Some(m(200)));
        assert_eq!(m(150).checked_sub(m(200)), Some(m(-50)));
        assert_eq!(m(150).checked_mul(3), Some(m(450)));
        assert_eq!(m(i64::MAX).checked_add(m(1)), None);
        assert_eq!(m(i64::MIN).checked_sub(m(1)), None);
        assert_eq!(m(i64::MAX).checked_mul(2), None);
    }

    #[test]
    fn sum_adds_all_and_reports_overflow() {
        assert_eq!(Money::sum([m(1), m(2), m(3)]), Some(m(6)));
        assert_eq!(Money::sum(Vec::new()), Some(Money::ZERO));
        assert_eq!(Money::sum([m(i64::MAX), m(1), m(-5)]), None);
    }

    #[test]
    fn mul_ratio_rounds_half_away_from_zero() {
        assert_eq!(m(10).mul_ratio(1, 4), Some(m(3))); // 2.5
        assert_eq!(m(-10).mul_ratio(1, 4), Some(m(-3))); // -2.5
        assert_eq!(m(10).mul_ratio(1, -4), Some(m(-3))); // -2.5
        assert_eq!(m(-10).mul_ratio(-1, -4), Some(m(-3))); // -2.5
        assert_eq!(m(-10).mul_ratio(1, -4), Some(m(3))); // 2.5
        assert_eq!(m(10).mul_ratio(1, 3), Some(m(3))); // 3.33
        assert_eq!(m(20).mul_ratio(1, 3), Some(m(7))); // 6.67
        assert_eq!(m(-20).mul_ratio(1, 3), Some(m(-7))); // -6.67
        assert_eq!(m(-10).mul_ratio(1, 3), Some(m(-3))); // -3.33
        assert_eq!(m(12).mul_ratio(1, 4), Some(m(3))); // exact
    }

    #[test]
    fn mul_ratio_prorates_a_month_by_days() {
        // 10 000 kr for 17 of 31 days = 5 483,870967… kr.
        let monthly = Money::from_kronor(10_000).unwrap();
        assert_eq!(monthly.mul_ratio(17, 31), Some(m(548_387)));
    }

    #[test]
    fn mul_ratio_uses_a_wide_intermediate_and_reports_overflow() {
        assert_eq!(m(i64::MAX).mul_ratio(i64::MAX, i64::MAX), Some(m(i64::MAX)));
        assert_eq!(m(i64::MIN).mul_ratio(i64::MIN, i64::MIN), Some(m(i64::MIN)));
        assert_eq!(m(i64::MAX).mul_ratio(2, 1), None);
        assert_eq!(m(i64::MIN).mul_ratio(-1, 1), None);
        assert_eq!(m(100).mul_ratio(1, 0), None);
    }

    #[test]
    fn percent_is_in_basis_points_with_the_same_rounding() {
        assert_eq!(m(12_345).percent(10_000), Some(m(12_345)));
        assert_eq!(m(12_345).percent(2_550), Some(m(3_148))); // 3147.975
        assert_eq!(m(-12_345).percent(2_550), Some(m(-3_148)));
        assert_eq!(m(1).percent(5_000), Some(m(1))); // 0.5
        assert_eq!(m(i64::MAX).percent(20_000), None);
    }

    #[test]
    fn parse_kronor_accepts_the_usual_spellings() {
        let cases = [
            ("1234", 123_400),
            ("1234.5", 123_450),
            ("1234,50", 123_450),
            ("1 234,50", 123_450),
            ("1\u{a0}234,50", 123_450),
            ("1\u{202f}234,50", 123_450),
            ("-12,05", -1_205),
            ("12,05 kr", 1_205),
            ("12kr", 1_200),
            (" 1 234 567,8 kr ", 123_456_780),
            ("0,07", 7),
            ("-0", 0),
            ("007", 700),
        ];
        for (text, ore) in cases {
            assert_eq!(Money::parse_kronor(text), Ok(m(ore)), "{text:?}");
        }
    }

    #[test]
    fn parse_kronor_rejects_everything_else() {
        use MoneyError::*;
        let cases = [
            ("", Empty),
            ("  kr", Empty),
            ("-", BadFormat),
            ("abc", BadFormat),
            ("12,", BadFormat),
            (",5", BadFormat),
            ("1,2,3", BadFormat),
            ("1.234,50", BadFormat),
            ("12,345", TooManyDecimals),
            ("12 34", BadFormat),
            ("1234 567", BadFormat),
            ("1  234", BadFormat),
            ("+12", BadFormat),
            ("--12", BadFormat),
            ("12 kr kr", BadFormat),
            ("1e3", BadFormat),
            ("١٢", BadFormat),
            ("99999999999999999999", Overflow),
            ("92233720368547758,08", Overflow),
        ];
        for (text, err) in cases {
            assert_eq!(Money::parse_kronor(text), Err(err), "{text:?}");
        }
    }

    #[test]
    fn parse_kronor_reaches_both_ends_of_the_range() {
        assert_eq!(
            Money::parse_kronor("92 233 720 368 547 758,07"),
            Ok(m(i64::MAX))
        );
        assert_eq!(
            Money::parse_kronor("-92 233 720 368 547 758,08"),
            Ok(m(i64::MIN))
        );
    }

    #[test]
    fn display_is_swedish() {
        assert_eq!(m(123_450).to_string(), "1 234,50 kr");
        assert_eq!(m(-1_205).to_string(), "-12,05 kr");
        assert_eq!(m(0).to_string(), "0,00 kr");
        assert_eq!(m(7).to_string(), "0,07 kr");
        assert_eq!(m(-7).to_string(), "-0,07 kr");
        assert_eq!(m(100_000_000).to_string(), "1 000 000,00 kr");
        assert_eq!(m(i64::MIN).to_string(), "-92 233 720 368 547 758,08 kr");
    }

    #[test]
    fn serde_is_a_bare_integer_of_ore() {
        assert_eq!(serde_json::to_string(&m(123_450)).unwrap(), "123450");
        assert_eq!(serde_json::from_str::<Money>("-5").unwrap(), m(-5));
        assert!(serde_json::from_str::<Money>("1.5").is_err());
    }

    proptest! {
        #[test]
        fn parse_of_display_is_identity(ore in any::<i64>()) {
            let money = m(ore);
            prop_assert_eq!(Money::parse_kronor(&money.to_string()), Ok(money));
        }

        #[test]
        fn parse_kronor_never_panics(s in any::<String>()) {
            let _ = Money::parse_kronor(&s);
        }

        #[test]
        fn parse_kronor_never_panics_on_number_like_text(s in "[0-9 ,.+\\-kr\u{a0}]{0,30}") {
            let _ = Money::parse_kronor(&s);
        }

        #[test]
        fn mul_ratio_is_within_half_an_ore_and_ties_go_away_from_zero(
            ore in any::<i64>(),
            num in any::<i64>(),
            den in any::<i64>().prop_filter("non-zero", |d| *d != 0),
        ) {
            let exact = i128::from(ore) * i128::from(num);
            let d = i128::from(den);
            match m(ore).mul_ratio(num, den) {
                Some(r) => {
                    // |exact/den − r| ≤ ½  ⇔  |exact − r·den|·2 ≤ |den|
                    let diff = exact - i128::from(r.ore()) * d;
                    prop_assert!(2 * diff.abs() <= d.abs());
                    if 2 * diff.abs() == d.abs() {
                        // On a tie the result is the one farther from zero.
                        prop_assert!((i128::from(r.ore()) * d).abs() > exact.abs());
                    }
                }
                None => {
                    let approx = exact / d;
                    prop_assert!(approx >= i128::from(i64::MAX) || approx <= i128::from(i64::MIN));
                }
            }
        }
    }
}
