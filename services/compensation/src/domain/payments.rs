//! The monthly payment run's rules: which days of an agreement are paid
//! (the agreement within its placement, as the registry's feed shows it),
//! statements per home, preliminary tax on arvode (R7), accounts (IBAN).

use super::CompensationError;
use chrono::NaiveDate;
use samling_kit::dates;
use samling_proto::compensation::v1::{
    Agreement, CareLevel, Component, FeeSchedule, MonthQuote, Statement, StatementLine,
};
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

/// One line of a run for a home, before the statements are made.
#[derive(Debug, Clone, PartialEq)]
pub struct PayLine {
    pub home_id: String,
    /// Counts towards `pensionable_ore` (a taxable line of an agreement
    /// marked pension_eligible).
    pub pensionable: bool,
    pub line: StatementLine,
}

impl Paid {
    /// The quote's lines with paid days (arvode and omkostnad).
    pub fn lines(self) -> Vec<PayLine> {
        if self.quote.paid_days == 0 {
            return Vec::new();
        }
        let q = self.quote;
        q.lines
            .iter()
            .map(|l| PayLine {
                home_id: self.home_id.clone(),
                pensionable: false,
                line: StatementLine {
                    agreement_id: q.agreement_id.clone(),
                    placement_id: self.placement_id.clone(),
                    component: l.component,
                    paid_days: q.paid_days,
                    amount_ore: l.amount_ore,
                    taxable: l.taxable,
                    ..Default::default()
                },
            })
            .collect()
    }
}

impl Paid {
    /// A decided claim as its statement line (`COMPONENT_CLAIM`).
    pub fn claim_line(c: &samling_proto::compensation::v1::Claim, pensionable: bool) -> PayLine {
        PayLine {
            home_id: c.home_id.clone(),
            pensionable,
            line: StatementLine {
                agreement_id: c.agreement_id.clone(),
                placement_id: c.placement_id.clone(),
                component: Component::Claim as i32,
                paid_days: 0,
                amount_ore: c.approved_ore,
                taxable: c.taxable,
                claim_id: c.id.clone(),
                claim_kind: c.kind,
                corrects_period: String::new(),
            },
        }
    }
}

/// One component an agreement owes for a month (rules R1–R8, P2–P4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owed {
    pub component: Component,
    pub paid_days: u32,
    pub amount_ore: i64,
    pub taxable: bool,
}

/// Rule P2 (notice pay): the days arvode continues after a placement of
/// `start..=end` ends, by its length in whole months and the child's
/// needs (the care level): under 6 months none; 6–23 months 30 days; 24
/// months or more 60 days; 30 days more when the level is high or
/// extensive (and the placement lasted 6 months or more).
pub fn notice_days(start: NaiveDate, end: NaiveDate, level: CareLevel) -> u32 {
    let after_end = end.succ_opt().unwrap_or(end);
    let mut months = 0u32;
    while months < 1200 && dates::add_months(start, months + 1) <= after_end {
        months += 1;
    }
    let base = match months {
        0..=5 => 0,
        6..=23 => 30,
        _ => 60,
    };
    if base > 0 && matches!(level, CareLevel::High | CareLevel::Extensive) {
        base + 30
    } else {
        base
    }
}

/// What agreement `a` owes for the month `year`-`month`, `None` when its
/// placement is unknown (R8: listed on the run, not paid):
///
/// * R8: within the placement as the registry's feed shows it;
/// * P2: after the placement ends (not by the agreement's own end), arvode
///   for the notice days ([`notice_days`]) as `COMPONENT_NOTICE_PAY`,
///   prorated by R1 with the schedule and deviations of each day;
/// * P3: a contracted jourhem is paid its own days, placed or empty (no
///   placement needed, no notice pay);
/// * P4: after a custody transfer the placement's end does not stop pay
///   (to the agreement's own end) and the schedule follows indexation.
pub fn month_owed(
    a: &Agreement,
    p: Option<&PlacementDays>,
    versions: &[FeeSchedule],
    year: i32,
    month: i32,
) -> R<Option<Vec<Owed>>> {
    let (first, _) = super::agreement::month_bounds(year, month)?;
    let custody = dates::opt_from_proto("custody_transfer_on", a.custody_transfer_on.as_ref())?;
    let clipped = if a.contracted_jourhem || custody.is_some() {
        if p.is_none() && !a.contracted_jourhem {
            return Ok(None);
        }
        Some(a.clone())
    } else {
        match p {
            None => return Ok(None),
            Some(p) => within_placement(a, p)?,
        }
    };
    let follow = a.follow_indexation || custody.is_some();
    let s = super::schedule::version_for_month(versions, a.schedule_version, follow, first)?;
    let mut out = Vec::new();
    if let Some(c) = clipped {
        let q = super::agreement::quote_month(&c, s, year, month)?;
        if q.paid_days > 0 {
            for l in &q.lines {
                out.push(Owed {
                    component: l.component(),
                    paid_days: q.paid_days,
                    amount_ore: l.amount_ore,
                    taxable: l.taxable,
                });
            }
        }
    }
    let placement_end = p.and_then(|p| p.ends_on);
    let own_end = dates::opt_from_proto("ends_on", a.ends_on.as_ref())?;
    if let Some(end) = placement_end
        && !a.contracted_jourhem
        && custody.is_none()
        && own_end.is_none_or(|e| e > end)
    {
        let start = dates::from_proto("starts_on", a.starts_on.as_ref())?;
        let level = super::agreement::required_enum("level", a.level, CareLevel::Unspecified)?;
        let days = notice_days(start, end, level);
        if days > 0 && end >= start {
            let from = end + chrono::Duration::days(1);
            let mut to = end + chrono::Duration::days(i64::from(days));
            if let Some(e) = own_end {
                to = to.min(e);
            }
            let mut notice = a.clone();
            notice.starts_on = Some(dates::to_proto(from));
            notice.ends_on = Some(dates::to_proto(to));
            let q = super::agreement::quote_month(&notice, s, year, month)?;
            if q.paid_days > 0
                && let Some(l) = q.lines.iter().find(|l| l.component() == Component::Arvode)
            {
                out.push(Owed {
                    component: Component::NoticePay,
                    paid_days: q.paid_days,
                    amount_ore: l.amount_ore,
                    taxable: true,
                });
            }
        }
    }
    Ok(Some(out))
}

/// Rule C1 (corrections): for one earlier month, what is owed now minus
/// what was paid for it (its run's lines and earlier corrections), per
/// (agreement, component); every non-zero difference is one correction
/// line of the next run, never a repaid month. Keys in order.
pub fn corrections(
    owed_now: &BTreeMap<(String, i32), (i64, u32)>,
    paid: &BTreeMap<(String, i32), i64>,
) -> Vec<((String, i32), i64, u32)> {
    let mut keys: Vec<&(String, i32)> = owed_now.keys().chain(paid.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter_map(|k| {
            let (owed, days) = owed_now.get(k).copied().unwrap_or((0, 0));
            let diff = owed - paid.get(k).copied().unwrap_or(0);
            (diff != 0).then(|| (k.clone(), diff, days))
        })
        .collect()
}

/// The statements of a run, one per home with lines, in home id order;
/// lines in agreement, corrected period, component, claim order; each
/// statement's end-to-end id is `YYYYMM-<n>` by that order (deterministic:
/// the same run always makes the same ids). Preliminary tax (R7) is on the
/// sum of the taxable lines (arvode, notice pay, taxable claims and their
/// corrections). `has_account` says whether a home can be paid by transfer;
/// a net of 0 or less is not transferred.
pub fn statements(
    run_id: &str,
    year: i32,
    month: i32,
    lines: Vec<PayLine>,
    tax_table: &[TaxBracket],
    has_account: impl Fn(&str) -> bool,
) -> Vec<Statement> {
    let mut by_home: BTreeMap<String, (Vec<StatementLine>, i64)> = BTreeMap::new();
    for p in lines {
        let e = by_home.entry(p.home_id).or_default();
        if p.pensionable && p.line.taxable {
            e.1 += p.line.amount_ore;
        }
        e.0.push(p.line);
    }
    by_home
        .into_iter()
        .enumerate()
        .map(|(i, (home_id, (mut lines, pensionable)))| {
            lines.sort_by(|a, b| {
                (
                    &a.agreement_id,
                    &a.corrects_period,
                    a.component,
                    &a.claim_id,
                )
                    .cmp(&(
                        &b.agreement_id,
                        &b.corrects_period,
                        b.component,
                        &b.claim_id,
                    ))
            });
            let gross: i64 = lines.iter().map(|l| l.amount_ore).sum();
            let taxable: i64 = lines
                .iter()
                .filter(|l| l.taxable)
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
                pensionable_ore: pensionable,
            }
        })
        .collect()
}

/// A negative net of a statement, to be carried into a later run (rule C2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Carry {
    pub from_run_id: String,
    pub home_id: String,
    /// The month (YYYY-MM) of the statement whose net it is.
    pub period: String,
    /// Below 0.
    pub amount_ore: i64,
}

/// Rule C2: every statement of a run whose net is below 0 leaves that net
/// to the next run (nothing is transferred for it, nothing is lost).
pub fn carries(statements: &[Statement]) -> Vec<Carry> {
    statements
        .iter()
        .filter(|s| s.net_ore < 0)
        .map(|s| Carry {
            from_run_id: s.run_id.clone(),
            home_id: s.home_id.clone(),
            period: format!("{:04}-{:02}", s.year, s.month),
            amount_ore: s.net_ore,
        })
        .collect()
}

/// The explicit line a carried net is in the next run: tax-free (the
/// earlier statement's tax stands; the net is already after tax), naming
/// the month it comes from in `corrects_period`.
pub fn carry_line(c: &Carry) -> PayLine {
    PayLine {
        home_id: c.home_id.clone(),
        pensionable: false,
        line: StatementLine {
            component: Component::CarriedOver as i32,
            amount_ore: c.amount_ore,
            taxable: false,
            corrects_period: c.period.clone(),
            ..Default::default()
        },
    }
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
    fn a_negative_net_is_carried_as_one_tax_free_line_of_the_next_run() {
        let t = vec![TaxBracket {
            up_to_ore: None,
            basis_points: 3000,
        }];
        // March: a correction of −1 230 357 öre and nothing else.
        let corr = PayLine {
            home_id: "h1".into(),
            pensionable: false,
            line: StatementLine {
                agreement_id: "a1".into(),
                component: Component::Arvode as i32,
                amount_ore: -1_230_357,
                taxable: true,
                corrects_period: "2026-02".into(),
                ..Default::default()
            },
        };
        let march = statements("r3", 2026, 3, vec![corr], &t, |_| true);
        assert_eq!(
            (march[0].net_ore, march[0].paid_by_transfer),
            (-1_230_357, false)
        );
        let c = carries(&march);
        assert_eq!(
            c,
            vec![Carry {
                from_run_id: "r3".into(),
                home_id: "h1".into(),
                period: "2026-03".into(),
                amount_ore: -1_230_357,
            }]
        );
        // April: 20 000 kr arvode, taxed 6 000 kr as if nothing were carried;
        // the carried net is deducted after tax.
        let mut lines = Paid {
            home_id: "h1".into(),
            placement_id: "p1".into(),
            quote: quote("a1", 30, 2_000_000, 0),
        }
        .lines();
        lines.retain(|l| l.line.amount_ore != 0);
        lines.push(carry_line(&c[0]));
        let april = statements("r4", 2026, 4, lines, &t, |_| true);
        let s = &april[0];
        assert_eq!(s.tax_ore, 600_000);
        assert_eq!(s.net_ore, 2_000_000 - 600_000 - 1_230_357);
        assert!(s.paid_by_transfer);
        let carried: Vec<_> = s
            .lines
            .iter()
            .filter(|l| l.component() == Component::CarriedOver)
            .collect();
        assert_eq!(carried.len(), 1);
        assert_eq!(
            (
                carried[0].amount_ore,
                carried[0].taxable,
                carried[0].corrects_period.as_str()
            ),
            (-1_230_357, false, "2026-03")
        );
        assert!(
            carries(&april).is_empty(),
            "recovered: nothing more to carry"
        );
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
        let lines = paid.into_iter().flat_map(Paid::lines).collect();
        let s = statements("r", 2026, 3, lines, &t, |h| h != "h2");
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
    fn notice_pay_grows_with_the_length_and_the_needs() {
        let start = day(2024, 1, 15);
        // 5 whole months (to 14 June): none.
        assert_eq!(notice_days(start, day(2024, 6, 13), CareLevel::Basic), 0);
        assert_eq!(notice_days(start, day(2024, 6, 13), CareLevel::High), 0);
        // 6 whole months (15 Jan – 14 Jul inclusive): 30 days; 60 high.
        assert_eq!(notice_days(start, day(2024, 7, 14), CareLevel::Basic), 30);
        assert_eq!(notice_days(start, day(2024, 7, 14), CareLevel::Raised), 30);
        assert_eq!(notice_days(start, day(2024, 7, 14), CareLevel::High), 60);
        // 24 whole months: 60; extensive 90.
        assert_eq!(notice_days(start, day(2026, 1, 14), CareLevel::Basic), 60);
        assert_eq!(notice_days(start, day(2026, 1, 13), CareLevel::Basic), 30);
        assert_eq!(
            notice_days(start, day(2026, 1, 14), CareLevel::Extensive),
            90
        );
    }

    fn owed_agreement(starts: NaiveDate) -> Agreement {
        Agreement {
            id: "a1".into(),
            schedule_code: "national".into(),
            schedule_version: 1,
            follow_indexation: false,
            level: CareLevel::Raised as i32,
            household: samling_proto::compensation::v1::HouseholdKind::TwoAdults as i32,
            zone: samling_proto::compensation::v1::CostZone::Metro as i32,
            child_birth_date: Some(dates::to_proto(day(2016, 6, 1))),
            starts_on: Some(dates::to_proto(starts)),
            ..Default::default()
        }
    }

    fn amount(o: &[Owed], c: Component) -> Option<i64> {
        o.iter().find(|l| l.component == c).map(|l| l.amount_ore)
    }

    #[test]
    fn a_month_owes_notice_pay_after_the_end_and_jourhem_while_empty() {
        let versions = vec![crate::domain::schedule::tests::schedule(1, day(2020, 1, 1))];
        let arvode = crate::domain::schedule::arvode_of(
            &versions[0],
            CareLevel::Raised,
            samling_proto::compensation::v1::HouseholdKind::TwoAdults,
        )
        .unwrap();
        let a = owed_agreement(day(2025, 1, 1));
        // The placement ended 10 March 2026 after 14 whole months: 30 days
        // of notice, 11 March – 9 April: 21 days of March, 9 of April.
        let p = PlacementDays {
            starts_on: Some(day(2025, 1, 1)),
            ends_on: Some(day(2026, 3, 10)),
        };
        let march = month_owed(&a, Some(&p), &versions, 2026, 3)
            .unwrap()
            .unwrap();
        assert_eq!(
            amount(&march, Component::Arvode),
            Some(crate::domain::rounding::prorate(arvode * 10, 31).unwrap())
        );
        // R1 on the notice days: arvode × 21 / 31, rounded once.
        assert_eq!(
            amount(&march, Component::NoticePay),
            Some(crate::domain::rounding::prorate(arvode * 21, 31).unwrap())
        );
        assert!(
            march
                .iter()
                .all(|o| o.component != Component::NoticePay || o.taxable)
        );
        let april = month_owed(&a, Some(&p), &versions, 2026, 4)
            .unwrap()
            .unwrap();
        assert_eq!(april.len(), 1, "notice pay only: {april:?}");
        assert_eq!(april[0].paid_days, 9);
        assert_eq!(
            april[0].amount_ore,
            crate::domain::rounding::prorate(arvode * 9, 30).unwrap()
        );
        assert!(
            month_owed(&a, Some(&p), &versions, 2026, 5)
                .unwrap()
                .unwrap()
                .is_empty()
        );
        // Unknown placement: not owed (listed).
        assert!(month_owed(&a, None, &versions, 2026, 3).unwrap().is_none());
        // A contracted jourhem: paid whole months with no placement, no notice.
        let mut j = a.clone();
        j.contracted_jourhem = true;
        let m = month_owed(&j, None, &versions, 2026, 5).unwrap().unwrap();
        assert_eq!(amount(&m, Component::Arvode), Some(arvode));
        let m = month_owed(&j, Some(&p), &versions, 2026, 4)
            .unwrap()
            .unwrap();
        assert_eq!(amount(&m, Component::Arvode), Some(arvode));
        assert_eq!(amount(&m, Component::NoticePay), None);
        // Custody transferred: the placement's end does not stop pay, and
        // the schedule follows indexation even when the agreement is pinned.
        let mut v2 = versions.clone();
        let mut indexed = crate::domain::schedule::tests::schedule(2, day(2026, 1, 1));
        for r in &mut indexed.arvode {
            r.monthly_ore += 100_000;
        }
        v2.push(indexed);
        let mut c = a.clone();
        c.custody_transfer_on = Some(dates::to_proto(day(2026, 3, 10)));
        let m = month_owed(&c, Some(&p), &v2, 2026, 6).unwrap().unwrap();
        assert_eq!(amount(&m, Component::Arvode), Some(arvode + 100_000));
        assert_eq!(amount(&m, Component::NoticePay), None);
        // The agreement's own end before the placement's: no notice pay.
        let mut own = a.clone();
        own.ends_on = Some(dates::to_proto(day(2026, 3, 10)));
        let m = month_owed(&own, Some(&p), &versions, 2026, 4)
            .unwrap()
            .unwrap();
        assert!(m.is_empty());
    }

    #[test]
    fn corrections_are_the_differences_never_a_repaid_month() {
        let k = |a: &str, c: Component| (a.to_string(), c as i32);
        let owed = BTreeMap::from([
            (k("a1", Component::Arvode), (1_000_000, 31)),
            (k("a1", Component::Omkostnad), (500_000, 31)),
            (k("a2", Component::Arvode), (322_581, 10)),
        ]);
        let paid = BTreeMap::from([
            (k("a1", Component::Arvode), 1_000_000),
            (k("a1", Component::Omkostnad), 450_000),
            (k("a2", Component::Arvode), 1_000_000),
            (k("a3", Component::Arvode), 5),
        ]);
        let c = corrections(&owed, &paid);
        assert_eq!(
            c,
            vec![
                (k("a1", Component::Omkostnad), 50_000, 31),
                (k("a2", Component::Arvode), -677_419, 10),
                (k("a3", Component::Arvode), -5, 0),
            ]
        );
        assert!(
            corrections(&owed, &owed.iter().map(|(k, v)| (k.clone(), v.0)).collect()).is_empty()
        );
    }

    #[test]
    fn claims_and_corrections_are_lines_and_taxed_when_taxable() {
        let t = vec![TaxBracket {
            up_to_ore: None,
            basis_points: 3000,
        }];
        let claim = samling_proto::compensation::v1::Claim {
            id: "c1".into(),
            agreement_id: "a1".into(),
            home_id: "h1".into(),
            kind: samling_proto::compensation::v1::ClaimKind::LostIncome as i32,
            approved_ore: 100_050,
            taxable: true,
            ..Default::default()
        };
        let travel = samling_proto::compensation::v1::Claim {
            id: "c2".into(),
            taxable: false,
            approved_ore: 45_000,
            ..claim.clone()
        };
        let correction = PayLine {
            home_id: "h1".into(),
            pensionable: true,
            line: StatementLine {
                agreement_id: "a1".into(),
                component: Component::Arvode as i32,
                amount_ore: -20_000,
                taxable: true,
                corrects_period: "2026-02".into(),
                ..Default::default()
            },
        };
        let lines = vec![
            Paid::claim_line(&claim, true),
            Paid::claim_line(&travel, true),
            correction,
        ];
        let s = statements("r", 2026, 3, lines, &t, |_| true);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].gross_ore, 100_050 + 45_000 - 20_000);
        // Taxable: 1 000,50 − 200 = 800,50 kr; 30 % = 240,15 kr → 240 kr.
        assert_eq!(s[0].taxable_ore, 80_050);
        assert_eq!(s[0].tax_ore, 24_000);
        assert_eq!(s[0].pensionable_ore, 80_050);
        assert_eq!(s[0].lines[0].corrects_period, "", "this month's first");
        assert_eq!(s[0].lines[2].corrects_period, "2026-02");
        // A net of 0 or less is not transferred.
        let minus = PayLine {
            home_id: "h9".into(),
            pensionable: false,
            line: StatementLine {
                amount_ore: -1,
                ..Default::default()
            },
        };
        let s = statements("r", 2026, 3, vec![minus], &t, |_| true);
        assert!(!s[0].paid_by_transfer);
        assert_eq!(s[0].tax_ore, 0);
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
