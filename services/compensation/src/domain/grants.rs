//! The state grants' distribution key (seed 002, DESIGN.md §5): five
//! factors per municipality weighted 15 % purchase costs, 20 % share of
//! 0–20-year-olds in family homes, 25 % in jourhem, 20 % on social
//! assistance, 20 % unemployed; whole kronor, the total exactly the
//! available sum (rules G1–G4 in docs/compensation.md "State grants").

use super::CompensationError;
use std::collections::HashSet;

type R<T> = Result<T, CompensationError>;

/// The factors' weights in basis points (of 10 000), in the order of
/// [`Factors::values`].
pub const WEIGHTS: [i128; 5] = [1500, 2000, 2500, 2000, 2000];
pub const FACTOR_NAMES: [&str; 5] = [
    "purchase_costs",
    "placed_in_family_homes",
    "placed_in_jourhem",
    "social_assistance",
    "unemployed",
];

/// Exact shares are kept in nano-kronor (10⁻⁹ kr) before the whole-kronor step.
const NANO: i128 = 1_000_000_000;
/// Inputs are bounded so that every product fits in `i128`.
pub const MAX_AVAILABLE_KR: i64 = 100_000_000_000;
pub const MAX_FACTOR: i64 = 1_000_000_000_000;

/// One municipality's factors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Factors {
    pub municipality_code: String,
    pub values: [i64; 5],
}

/// One municipality's grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share {
    pub municipality_code: String,
    pub granted_kr: i64,
    /// The exact share in millionths of the available sum (truncated).
    pub share_ppm: i64,
    pub remainder_krona: bool,
}

/// Distribute `available_kr` among `municipalities`:
///
/// * G1 (shares): a municipality's exact amount is the sum over the factors
///   of `available × weight × own value / factor total`;
/// * G2 (normalisation): a factor whose total is 0 (no municipality has
///   any) drops out and the remaining weights are scaled up to 100 %; all
///   factors 0 is refused;
/// * G3 (whole kronor): each municipality first gets its exact amount
///   rounded down to whole kronor (computed to 10⁻⁹ kr);
/// * G4 (remainder): the kronor left over (fewer than the number of
///   municipalities) go one each to the municipalities with the largest
///   cut-off fractions, ties by municipality code ascending (largest
///   remainder, Hamilton's method). The total is exactly `available_kr`.
///
/// Shares are returned in the order given.
pub fn distribute(available_kr: i64, municipalities: &[Factors]) -> R<Vec<Share>> {
    if !(1..=MAX_AVAILABLE_KR).contains(&available_kr) {
        return Err(CompensationError::invalid(
            "available_kr",
            format!("must be 1..={MAX_AVAILABLE_KR} kronor"),
        ));
    }
    if municipalities.is_empty() {
        return Err(CompensationError::invalid("municipalities", "is empty"));
    }
    let mut seen = HashSet::new();
    for (i, m) in municipalities.iter().enumerate() {
        if !seen.insert(m.municipality_code.as_str()) {
            return Err(CompensationError::invalid(
                format!("municipalities[{i}].municipality_code"),
                "is given twice",
            ));
        }
        for (f, v) in m.values.iter().enumerate() {
            if !(0..=MAX_FACTOR).contains(v) {
                return Err(CompensationError::invalid(
                    format!("municipalities[{i}].{}", FACTOR_NAMES[f]),
                    format!("must be 0..={MAX_FACTOR}"),
                ));
            }
        }
    }
    let mut totals = [0i128; 5];
    for m in municipalities {
        for (f, v) in m.values.iter().enumerate() {
            totals[f] += i128::from(*v);
        }
    }
    let weight_sum: i128 = (0..5).filter(|f| totals[*f] > 0).map(|f| WEIGHTS[f]).sum();
    if weight_sum == 0 {
        return Err(CompensationError::invalid(
            "municipalities",
            "every factor is 0 for every municipality",
        ));
    }
    let available = i128::from(available_kr);
    // G1/G2 in nano-kronor: each term floored (the sum loses < 5 nano-kr).
    let exact: Vec<i128> = municipalities
        .iter()
        .map(|m| {
            (0..5)
                .filter(|f| totals[*f] > 0)
                .map(|f| {
                    available * WEIGHTS[f] * i128::from(m.values[f]) * NANO
                        / (totals[f] * weight_sum)
                })
                .sum()
        })
        .collect();
    // G3.
    let mut granted: Vec<i64> = exact.iter().map(|e| (e / NANO) as i64).collect();
    let floor_sum: i64 = granted.iter().sum();
    let left = available_kr - floor_sum;
    debug_assert!(left >= 0 && (left as usize) <= municipalities.len());
    // G4.
    let mut order: Vec<usize> = (0..municipalities.len()).collect();
    order.sort_by(|a, b| {
        (exact[*b] % NANO).cmp(&(exact[*a] % NANO)).then_with(|| {
            municipalities[*a]
                .municipality_code
                .cmp(&municipalities[*b].municipality_code)
        })
    });
    let mut extra = vec![false; municipalities.len()];
    for i in order.into_iter().take(left.max(0) as usize) {
        granted[i] += 1;
        extra[i] = true;
    }
    Ok(municipalities
        .iter()
        .enumerate()
        .map(|(i, m)| Share {
            municipality_code: m.municipality_code.clone(),
            granted_kr: granted[i],
            share_ppm: (exact[i] * 1_000_000 / (available * NANO)) as i64,
            remainder_krona: extra[i],
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use samling_kit::error::ServiceError;

    fn f(code: &str, values: [i64; 5]) -> Factors {
        Factors {
            municipality_code: code.into(),
            values,
        }
    }

    #[test]
    fn the_weights_are_fifteen_twenty_twentyfive_twenty_twenty() {
        assert_eq!(WEIGHTS.iter().sum::<i128>(), 10_000);
        // One municipality with everything of factor f gets its weight.
        for (i, w) in WEIGHTS.iter().enumerate() {
            let mut a = [0, 0, 0, 0, 0];
            let mut b = [0, 0, 0, 0, 0];
            a[i] = 1;
            for j in 0..5 {
                if j != i {
                    a[j] = 1;
                    b[j] = 1;
                }
            }
            // a has the whole of factor i and half of every other.
            let s = distribute(1_000_000, &[f("0114", a), f("0115", b)]).unwrap();
            let expected = 1_000_000 * w / 10_000 + (1_000_000 - 1_000_000 * w / 10_000) / 2;
            assert_eq!(i128::from(s[0].granted_kr), expected, "factor {i}");
        }
    }

    #[test]
    fn whole_kronor_summing_exactly_with_the_remainder_rule() {
        // Three equal municipalities share 100 kr: 33 each, 1 left, to the
        // lowest code (equal fractions).
        let eq = [1, 1, 1, 1, 1];
        let s = distribute(100, &[f("0180", eq), f("0114", eq), f("0115", eq)]).unwrap();
        let got: Vec<_> = s
            .iter()
            .map(|x| {
                (
                    x.municipality_code.as_str(),
                    x.granted_kr,
                    x.remainder_krona,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![("0180", 33, false), ("0114", 34, true), ("0115", 33, false)]
        );
        // The largest fraction wins before the code: 0180 has 2/3 of all.
        let s = distribute(100, &[f("0180", [2, 2, 2, 2, 2]), f("0114", eq)]).unwrap();
        // 66.67 → 66 + 1 (fraction .67 > .33); 33.33 → 33.
        assert_eq!((s[0].granted_kr, s[1].granted_kr), (67, 33));
        assert!(s[0].remainder_krona && !s[1].remainder_krona);
        assert_eq!(s[0].share_ppm, 666_666);
    }

    #[test]
    fn a_factor_nobody_has_drops_out_and_the_weights_are_renormalised() {
        // Only purchase costs (15 %) and unemployed (20 %) have values.
        let s = distribute(
            35_000,
            &[f("0114", [1, 0, 0, 0, 0]), f("0115", [0, 0, 0, 0, 1])],
        )
        .unwrap();
        assert_eq!((s[0].granted_kr, s[1].granted_kr), (15_000, 20_000));
    }

    #[test]
    fn bad_input_names_the_field() {
        let eq = [1, 1, 1, 1, 1];
        assert_eq!(
            distribute(0, &[f("0114", eq)]).unwrap_err().field(),
            Some("available_kr")
        );
        assert_eq!(
            distribute(10, &[]).unwrap_err().field(),
            Some("municipalities")
        );
        assert_eq!(
            distribute(10, &[f("0114", eq), f("0114", eq)])
                .unwrap_err()
                .field(),
            Some("municipalities[1].municipality_code")
        );
        assert_eq!(
            distribute(10, &[f("0114", [1, 1, -1, 1, 1])])
                .unwrap_err()
                .field(),
            Some("municipalities[0].placed_in_jourhem")
        );
        assert_eq!(
            distribute(10, &[f("0114", [0; 5])]).unwrap_err().field(),
            Some("municipalities")
        );
    }

    #[test]
    fn seed_scale_290_municipalities() {
        // 290 municipalities and a sum the size of a yearly grant.
        let ms: Vec<Factors> = (0..290)
            .map(|i| {
                let v = i as i64 + 1;
                f(
                    &format!("{:04}", 1000 + i),
                    [v * 1_000_003, v % 17, v % 5, v * 31 % 101, v * 7 % 113],
                )
            })
            .collect();
        let s = distribute(245_000_000, &ms).unwrap();
        assert_eq!(s.iter().map(|x| x.granted_kr).sum::<i64>(), 245_000_000);
        assert!(s.iter().filter(|x| x.remainder_krona).count() < 290);
    }

    proptest! {
        #[test]
        fn the_total_is_always_exactly_the_available_sum(
            available in 1i64..=MAX_AVAILABLE_KR,
            values in prop::collection::vec(prop::array::uniform5(0i64..=MAX_FACTOR), 1..40),
        ) {
            let ms: Vec<Factors> = values
                .iter()
                .enumerate()
                .map(|(i, v)| f(&format!("{:04}", 1000 + i), *v))
                .collect();
            match distribute(available, &ms) {
                Ok(s) => {
                    prop_assert_eq!(s.iter().map(|x| x.granted_kr).sum::<i64>(), available);
                    prop_assert!(s.iter().all(|x| x.granted_kr >= 0));
                    // Nobody is more than one krona from their exact share.
                    let left = s.iter().filter(|x| x.remainder_krona).count();
                    prop_assert!(left <= ms.len());
                }
                Err(e) => prop_assert!(values.iter().all(|v| v == &[0; 5]), "{}", e),
            }
        }
    }
}
