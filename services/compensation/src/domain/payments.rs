//! The monthly payment run's rules: which days of an agreement are paid
//! (the agreement within its placement, as the registry's feed shows it),
//! statements per home, preliminary tax on arvode (R7), accounts (IBAN).

use super::CompensationError;
use chrono::NaiveDate;
use samling_kit::dates;
use samling_proto::compensation::v1::{Agreement, Component, MonthQuote, Statement, StatementLine};
use serde::Deserialize;
use std::collections::BTreeMap;

type R<T> = Result<T, CompensationError>;

/// One bracket of the tax table: up to `up_to_ore` (inclusive; unset = no
/// upper bound) of the month's taxable pay, `basis_points` of all of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaxBracket {
    #[serde(default)]
    pub up_to_ore: Option<i64>,
    pub basis_points: i32,
}

/// A table is non-empty, ascending, its last bracket unbounded, rates
/// 0..=100 %.
pub fn check_tax_table(t: &[TaxBracket]) -> R<()> {
    let field = "compensation.rules.tax_table";
    if t.is_empty() || t.last().is_some_and(|b| b.up_to_ore.is_some()) {
        return Err(CompensationError::invalid(
            field,
            "must end with a bracket without up_to_ore",
        ));
    }
    let mut prev = -1i64;
    for (i, b) in t.iter().enumerate() {
        if !(0..=10_000).contains(&b.basis_points) {
            return Err(CompensationError::invalid(
                format!("{field}[{i}].basis_points"),
                "must be 0..=10000",
            ));
        }
        if let Some(up) = b.up_to_ore {
            if up <= prev {
                return Err(CompensationError::invalid(
                    format!("{field}[{i}].up_to_ore"),
                    "brackets must ascend",
                ));
            }
            prev = up;
        }
    }
    Ok(())
}

/// Rule R7: preliminary tax on `taxable_ore` (the home's arvode of the
/// month): the rate of the first bracket whose bound is at or above it,
/// on the whole amount, **rounded down to whole kronor**. Nothing on 0 or
/// less.
pub fn preliminary_tax(table: &[TaxBracket], taxable_ore: i64) -> i64 {
    if taxable_ore <= 0 {
        return 0;
    }
    let bp = table
        .iter()
        .find(|b| b.up_to_ore.is_none_or(|u| taxable_ore <= u))
        .map(|b| b.basis_points)
        .unwrap_or(0);
    let ore = i128::from(taxable_ore) * i128::from(bp) / 10_000;
    ((ore / 100) * 100) as i64
}

/// A placement as the registry's feed shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacementDays {
    pub starts_on: Option<NaiveDate>,
    pub ends_on: Option<NaiveDate>,
}

/// Rule R8: the agreement within its placement: paid from the agreement's
/// `starts_on` (the booking day, which may come before the child does) to
/// the earlier of its `ends_on` and the placement's end; `None` when the
/// placement ended before the agreement starts. The placement's start only
/// says it exists.
pub fn within_placement(a: &Agreement, p: &PlacementDays) -> R<Option<Agreement>> {
    let start = dates::from_proto("starts_on", a.starts_on.as_ref())?;
    let a_end = dates::opt_from_proto("ends_on", a.ends_on.as_ref())?;
    let end = match (a_end, p.ends_on) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    };
    if end.is_some_and(|e| e < start) {
        return Ok(None);
    }
    let mut clipped = a.clone();
    clipped.ends_on = end.map(dates::to_proto);
    Ok(Some(clipped))
}

/// One agreement's month, for its home's statement.
pub struct Paid {
    pub home_id: String,
    pub placement_id: String,
    pub quote: MonthQuote,
}

/// The statements of a run, one per home with paid days, in home id order;
/// lines in agreement, component order; each statement's end-to-end id is
/// `YYYYMM-<n>` by that order (deterministic: the same run always makes
/// the same ids). `has_account` says whether a home can be paid by transfer.
pub fn statements(
    run_id: &str,
    year: i32,
    month: i32,
    paid: Vec<Paid>,
    tax_table: &[TaxBracket],
    has_account: impl Fn(&str) -> bool,
) -> Vec<Statement> {
    let mut by_home: BTreeMap<String, Vec<StatementLine>> = BTreeMap::new();
    for p in paid {
        if p.quote.paid_days == 0 {
            continue;
        }
        let lines = by_home.entry(p.home_id).or_default();
        for l in &p.quote.lines {
            lines.push(StatementLine {
                agreement_id: p.quote.agreement_id.clone(),
                placement_id: p.placement_id.clone(),
                component: l.component,
                paid_days: p.quote.paid_days,
                amount_ore: l.amount_ore,
                taxable: l.taxable,
            });
        }
    }
    by_home
        .into_iter()
        .enumerate()
        .map(|(i, (home_id, mut lines))| {
            lines.sort_by(|a, b| {
                (&a.agreement_id, a.component).cmp(&(&b.agreement_id, b.component))
            });
            let gross: i64 = lines.iter().map(|l| l.amount_ore).sum();
            let taxable: i64 = lines
                .iter()
                .filter(|l| l.taxable && l.component == Component::Arvode as i32)
                .map(|l| l.amount_ore)
                .sum();
            let tax = preliminary_tax(tax_table, taxable);
            let net = gross - tax;
            let transfer = net > 0 && has_account(&home_id);
            Statement {
                run_id: run_id.to_string(),
                home_id: home_id.clone(),
                year,
                month,
                lines,
                gross_ore: gross,
                taxable_ore: taxable,
                tax_ore: tax,
                net_ore: net,
                paid_by_transfer: transfer,
                end_to_end_id: format!("{year:04}{month:02}-{:06}", i + 1),
            }
        })
        .collect()
}

/// An IBAN as stored: spaces removed, upper case, 15–34 characters, two
/// letters, two check digits and letters/digits, mod 97 = 1 (ISO 13616).
/// A Swedish one (SE) has 24 characters. The message never echoes it.
pub fn check_iban(field: &str, iban: &str) -> R<String> {
    let s: String = iban
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    let bad = || CompensationError::invalid(field, "is not a valid IBAN");
    if !(15..=34).contains(&s.len())
        || !s.is_ascii()
        || !s[..2].bytes().all(|b| b.is_ascii_uppercase())
        || !s[2..4].bytes().all(|b| b.is_ascii_digit())
        || !s.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(bad());
    }
    if s.starts_with("SE") && s.len() != 24 {
        return Err(bad());
    }
    if mod97(&format!("{}{}", &s[4..], &s[..4])) != 1 {
        return Err(bad());
    }
    Ok(s)
}

fn mod97(s: &str) -> u32 {
    let mut r = 0u32;
    for b in s.bytes() {
        let v = if b.is_ascii_digit() {
            u32::from(b - b'0')
        } else {
            u32::from(b - b'A') + 10
        };
        r = if v >= 10 {
            (r * 100 + v) % 97
        } else {
            (r * 10 + v) % 97
        };
    }
    r
}

/// An IBAN of `country` and `bban` with its check digits (tests, examples).
pub fn iban_of(country: &str, bban: &str) -> String {
    let check = 98 - mod97(&format!("{bban}{country}00"));
    format!("{country}{check:02}{bban}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::schedule::tests::day;
    use samling_kit::error::ServiceError;
    use samling_proto::compensation::v1::QuoteLine;

    fn quote(id: &str, days: u32, arvode: i64, omk: i64) -> MonthQuote {
        MonthQuote {
            agreement_id: id.into(),
            year: 2026,
            month: 3,
            days_in_month: 31,
            paid_days: days,
            lines: vec![
                QuoteLine {
                    component: Component::Arvode as i32,
                    amount_ore: arvode,
                    taxable: true,
                    ..Default::default()
                },
                QuoteLine {
                    component: Component::Omkostnad as i32,
                    amount_ore: omk,
                    taxable: false,
                    ..Default::default()
                },
            ],
            total_ore: arvode + omk,
            ..Default::default()
        }
    }

    #[test]
    fn tax_by_bracket_rounded_down_to_whole_kronor() {
        let t = vec![
            TaxBracket {
                up_to_ore: Some(1_000_000),
                basis_points: 2000,
            },
            TaxBracket {
                up_to_ore: None,
                basis_points: 3200,
            },
        ];
        check_tax_table(&t).unwrap();
        // 9 677,42 kr × 20 % = 1 935,484 kr → 1 935 kr.
        assert_eq!(preliminary_tax(&t, 967_742), 193_500);
        // At the bound: the lower bracket.
        assert_eq!(preliminary_tax(&t, 1_000_000), 200_000);
        // Above: 32 % of all of it: 23 000 kr → 7 360 kr.
        assert_eq!(preliminary_tax(&t, 2_300_000), 736_000);
        assert_eq!(preliminary_tax(&t, 0), 0);
        assert_eq!(preliminary_tax(&t, -5), 0);
        let e = check_tax_table(&[TaxBracket {
            up_to_ore: Some(5),
            basis_points: 1,
        }])
        .unwrap_err();
        assert_eq!(e.field(), Some("compensation.rules.tax_table"));
        let e = check_tax_table(&[
            TaxBracket {
                up_to_ore: Some(5),
                basis_points: 1,
            },
            TaxBracket {
                up_to_ore: Some(5),
                basis_points: 1,
            },
            TaxBracket {
                up_to_ore: None,
                basis_points: 1,
            },
        ])
        .unwrap_err();
        assert_eq!(e.field(), Some("compensation.rules.tax_table[1].up_to_ore"));
        let e = check_tax_table(&[TaxBracket {
            up_to_ore: None,
            basis_points: 10_001,
        }])
        .unwrap_err();
        assert_eq!(
            e.field(),
            Some("compensation.rules.tax_table[0].basis_points")
        );
    }

    #[test]
    fn an_agreement_is_paid_within_its_placement() {
        let a = Agreement {
            starts_on: Some(dates::to_proto(day(2026, 3, 10))),
            ..Default::default()
        };
        // The child came on the 12th: paid from the booking day, the 10th.
        let p = PlacementDays {
            starts_on: Some(day(2026, 3, 12)),
            ends_on: None,
        };
        let c = within_placement(&a, &p).unwrap().unwrap();
        assert_eq!(c.starts_on, Some(dates::to_proto(day(2026, 3, 10))));
        assert_eq!(c.ends_on, None);
        // Ended: to the placement's end, or the agreement's if earlier.
        let p = PlacementDays {
            starts_on: None,
            ends_on: Some(day(2026, 4, 2)),
        };
        let c = within_placement(&a, &p).unwrap().unwrap();
        assert_eq!(c.ends_on, Some(dates::to_proto(day(2026, 4, 2))));
        let mut short = a.clone();
        short.ends_on = Some(dates::to_proto(day(2026, 3, 31)));
        let c = within_placement(&short, &p).unwrap().unwrap();
        assert_eq!(c.ends_on, Some(dates::to_proto(day(2026, 3, 31))));
        // Ended before the agreement starts: nothing.
        let p = PlacementDays {
            starts_on: None,
            ends_on: Some(day(2026, 3, 1)),
        };
        assert!(within_placement(&a, &p).unwrap().is_none());
    }

    #[test]
    fn statements_per_home_with_tax_on_arvode_only() {
        let t = vec![TaxBracket {
            up_to_ore: None,
            basis_points: 3000,
        }];
        let paid = vec![
            Paid {
                home_id: "h2".into(),
                placement_id: "p3".into(),
                quote: quote("a3", 31, 1_000_000, 500_000),
            },
            Paid {
                home_id: "h1".into(),
                placement_id: "p1".into(),
                quote: quote("a1", 15, 967_742, 314_516),
            },
            Paid {
                home_id: "h1".into(),
                placement_id: "p2".into(),
                quote: quote("a2", 31, 2_000_000, 650_000),
            },
            Paid {
                home_id: "h3".into(),
                placement_id: "p4".into(),
                quote: quote("a4", 0, 0, 0),
            },
        ];
        let s = statements("r", 2026, 3, paid, &t, |h| h != "h2");
        assert_eq!(s.len(), 2, "h3 has no paid days");
        assert_eq!(s[0].home_id, "h1");
        assert_eq!(s[0].lines.len(), 4);
        assert_eq!(s[0].lines[0].agreement_id, "a1");
        assert_eq!(s[0].gross_ore, 967_742 + 314_516 + 2_000_000 + 650_000);
        assert_eq!(s[0].taxable_ore, 2_967_742);
        // 30 % of 29 677,42 kr = 8 903,226 kr → 8 903 kr.
        assert_eq!(s[0].tax_ore, 890_300);
        assert_eq!(s[0].net_ore, s[0].gross_ore - 890_300);
        assert_eq!(s[0].end_to_end_id, "202603-000001");
        assert!(s[0].paid_by_transfer);
        assert_eq!(s[1].end_to_end_id, "202603-000002");
        assert!(!s[1].paid_by_transfer, "h2 has no account");
    }

    #[test]
    fn ibans_are_checked_by_their_digits() {
        let se = iban_of("SE", "50000000058398257466");
        assert_eq!(se, "SE4550000000058398257466");
        assert_eq!(
            check_iban("iban", "se45 5000 0000 0583 9825 7466").unwrap(),
            se
        );
        for bad in [
            "SE4450000000058398257466",
            "SE45500000000583982574",
            "4550000000058398257466XX",
            "",
            "SE45 5000 0000 0583 9825 746!",
        ] {
            assert_eq!(
                check_iban("iban", bad).unwrap_err().field(),
                Some("iban"),
                "{bad}"
            );
        }
        assert!(check_iban("iban", &iban_of("DE", "370400440532013000")).is_ok());
    }
}
