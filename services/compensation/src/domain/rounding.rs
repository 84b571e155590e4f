//! The compensation model's rounding rules, each one function (written down
//! in docs/compensation.md "Rounding"). Exact integer arithmetic in `i128`;
//! never floating point.

use super::CompensationError;

type R<T> = Result<T, CompensationError>;

/// `num / den` rounded to the nearest integer, **half away from zero**
/// (2.5 → 3, −2.5 → −3): the one rounding of the model (the same as
/// `samling_kit::money::Money::mul_ratio`). `den` must be positive.
pub fn div_round_half_away(num: i128, den: i128) -> i128 {
    debug_assert!(den > 0);
    let q = num / den;
    let r = num % den;
    if 2 * r.abs() >= den {
        q + num.signum()
    } else {
        q
    }
}

/// Rule R1 (proration): a month's amount for the paid days. `daily_sum` is
/// the sum, over the paid days, of the monthly amount in force on each day;
/// the result is `daily_sum / days_in_month` rounded once, half away from
/// zero. A whole month at one amount is that amount exactly.
pub fn prorate(daily_sum_ore: i64, days_in_month: u32) -> R<i64> {
    if days_in_month == 0 {
        return Err(CompensationError::invalid("month", "has no days"));
    }
    let v = div_round_half_away(i128::from(daily_sum_ore), i128::from(days_in_month));
    i64::try_from(v).map_err(|_| CompensationError::invalid("amount", "is too large"))
}

/// Rule R2 (indexation): `monthly_ore` raised by `basis_points` hundredths
/// of a percent and rounded to **whole kronor**, half away from zero
/// (published schedules are in whole kronor): 18 450 kr + 3.50 % =
/// 19 095.75 kr → 19 096 kr.
pub fn index_to_whole_kronor(monthly_ore: i64, basis_points: i32) -> R<i64> {
    let factor = 10_000i128 + i128::from(basis_points);
    if factor < 0 {
        return Err(CompensationError::invalid(
            "basis_points",
            "would make amounts negative",
        ));
    }
    // öre × factor / 10 000 = öre; / 100 = kronor: one division by 1 000 000.
    let kronor = div_round_half_away(i128::from(monthly_ore) * factor, 1_000_000);
    i64::try_from(kronor * 100)
        .map_err(|_| CompensationError::invalid("basis_points", "makes an amount too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_away_from_zero() {
        assert_eq!(div_round_half_away(5, 2), 3);
        assert_eq!(div_round_half_away(-5, 2), -3);
        assert_eq!(div_round_half_away(7, 3), 2);
        assert_eq!(div_round_half_away(8, 3), 3);
        assert_eq!(div_round_half_away(-7, 3), -2);
        assert_eq!(div_round_half_away(-8, 3), -3);
        assert_eq!(div_round_half_away(0, 9), 0);
        assert_eq!(div_round_half_away(6, 3), 2);
    }

    #[test]
    fn prorate_rounds_once_and_keeps_whole_months_exact() {
        // 10 000 kr for 15 of 31 days: 483 870.967… öre → 483 871.
        assert_eq!(prorate(1_000_000 * 15, 31).unwrap(), 483_871);
        // 1 öre a month for 1 of 2 days is half an öre → 1 (away from zero).
        assert_eq!(prorate(1, 2).unwrap(), 1);
        assert_eq!(prorate(-1, 2).unwrap(), -1);
        // A whole month: the monthly amount to the öre.
        assert_eq!(prorate(1_234_567 * 30, 30).unwrap(), 1_234_567);
        assert!(prorate(1, 0).is_err());
    }

    #[test]
    fn indexation_rounds_to_whole_kronor() {
        assert_eq!(index_to_whole_kronor(1_845_000, 350).unwrap(), 1_909_600);
        // 100 kr + 0.50 % = 100.50 kr → 101 kr (half away from zero).
        assert_eq!(index_to_whole_kronor(10_000, 50).unwrap(), 10_100);
        // 100 kr + 0.49 % = 100.49 kr → 100 kr.
        assert_eq!(index_to_whole_kronor(10_000, 49).unwrap(), 10_000);
        // A lowering is rounded the same way: 99.50 kr → 100 kr, 99.49 → 99.
        assert_eq!(index_to_whole_kronor(10_000, -50).unwrap(), 10_000);
        assert_eq!(index_to_whole_kronor(10_000, -51).unwrap(), 9_900);
        // An amount not in whole kronor becomes whole.
        assert_eq!(index_to_whole_kronor(10_049, 0).unwrap(), 10_000);
        assert_eq!(index_to_whole_kronor(10_050, 0).unwrap(), 10_100);
        assert!(index_to_whole_kronor(10_000, -10_001).is_err());
    }
}
