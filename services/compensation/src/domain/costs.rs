//! Costs (ADR 0049): the cost calculator of a municipal cost calculation
//! (seed 004) and the agencies' price splits compared (seed 003 lines
//! 5123–5135). Pure functions in integer öre; each rounding is one call of
//! [`div_round_half_away`] (rules R9–R11, docs/compensation.md).

use super::CompensationError;
use super::agreement::required_enum;
use super::rounding::div_round_half_away;
use samling_proto::compensation::v1::{
    AlternativeCost, AlternativeKind, CalculateCostsRequest, CostCalculation, PriceCell,
    PriceSplit, ScenarioCost, ScenarioKind,
};
use samling_proto::registry::v1::HomeType;
use std::collections::{BTreeMap, BTreeSet};

type R<T> = Result<T, CompensationError>;

/// Seed 004's days a month, in tenths: 30.5.
pub const DEFAULT_DAYS_PER_MONTH_TENTHS: u32 = 305;
/// The largest cost a day: 100 000 kr.
pub const MAX_COST_PER_DAY_ORE: i64 = 10_000_000;
pub const MAX_MONTHS: u32 = 120;
pub const MAX_PERSONS: u32 = 10_000;
/// The largest part of a team's cost: 100 000 000 000 kr.
pub const MAX_TEAM_COST_ORE: i64 = 10_000_000_000_000;
/// Scenarios, team costs and alternatives: at most this many each.
pub const MAX_ITEMS: usize = 50;
pub const MAX_LABEL_CHARS: usize = 100;
/// Averages are shown for cells of at least this many placements.
pub const MIN_PLACEMENTS_FOR_AVERAGES: u32 = samling_kit::disclosure::THRESHOLD;

/// Rule R9: `cost_per_day_ore × days_per_month_tenths / 10 × months ×
/// persons`, rounded **once** to the öre, half away from zero: 3 749 kr a
/// day × 30.5 × 6 months × 9 persons = 6 174 603 kr (seed 004 line 395).
pub fn scenario_ore(
    cost_per_day_ore: i64,
    days_per_month_tenths: u32,
    months: u32,
    persons: u32,
) -> R<i64> {
    let num = i128::from(cost_per_day_ore)
        * i128::from(days_per_month_tenths)
        * i128::from(months)
        * i128::from(persons);
    i64::try_from(div_round_half_away(num, 10))
        .map_err(|_| CompensationError::invalid("scenarios", "the amount is too large"))
}

fn label(field: String, s: &str) -> R<String> {
    let s = s.trim();
    if s.is_empty() {
        return Err(CompensationError::invalid(field, "is required"));
    }
    if s.chars().count() > MAX_LABEL_CHARS {
        return Err(CompensationError::invalid(
            field,
            format!("must be at most {MAX_LABEL_CHARS} characters"),
        ));
    }
    Ok(s.to_string())
}

fn per_day_months_persons(field: &str, cost: i64, months: u32, persons: u32) -> R<()> {
    if !(0..=MAX_COST_PER_DAY_ORE).contains(&cost) {
        return Err(CompensationError::invalid(
            format!("{field}.cost_per_day_ore"),
            format!("must be 0..={MAX_COST_PER_DAY_ORE} öre"),
        ));
    }
    if !(1..=MAX_MONTHS).contains(&months) {
        return Err(CompensationError::invalid(
            format!("{field}.months"),
            format!("must be 1..={MAX_MONTHS}"),
        ));
    }
    if !(1..=MAX_PERSONS).contains(&persons) {
        return Err(CompensationError::invalid(
            format!("{field}.persons"),
            format!("must be 1..={MAX_PERSONS}"),
        ));
    }
    Ok(())
}

fn at_most(field: &str, n: usize) -> R<()> {
    if n > MAX_ITEMS {
        return Err(CompensationError::invalid(
            field,
            format!("at most {MAX_ITEMS}"),
        ));
    }
    Ok(())
}

/// The whole calculation: every scenario (R9), the prevented and shortened
/// sums, the team's cost, the savings (placement costs − team cost), and
/// each alternative's total (R9), cost a person and month (R10), rank and
/// distance from the cheapest. Bad input names the field
/// (`scenarios[1].months`). Nothing is stored.
pub fn calculate(req: &CalculateCostsRequest) -> R<CostCalculation> {
    let tenths = match req.days_per_month_tenths {
        0 => DEFAULT_DAYS_PER_MONTH_TENTHS,
        t if (280..=310).contains(&t) => t,
        _ => {
            return Err(CompensationError::invalid(
                "days_per_month_tenths",
                "must be 280..=310 (28.0–31.0 days), or 0 for 30.5",
            ));
        }
    };
    at_most("scenarios", req.scenarios.len())?;
    at_most("team_costs", req.team_costs.len())?;
    at_most("alternatives", req.alternatives.len())?;
    if req.scenarios.is_empty() && req.alternatives.is_empty() {
        return Err(CompensationError::invalid(
            "scenarios",
            "name at least one scenario or alternative",
        ));
    }
    let mut out = CostCalculation {
        days_per_month_tenths: tenths,
        ..Default::default()
    };
    for (i, s) in req.scenarios.iter().enumerate() {
        let f = format!("scenarios[{i}]");
        let l = label(format!("{f}.label"), &s.label)?;
        let kind = required_enum(&format!("{f}.kind"), s.kind, ScenarioKind::Unspecified)?;
        per_day_months_persons(&f, s.cost_per_day_ore, s.months, s.persons)?;
        let amount = scenario_ore(s.cost_per_day_ore, tenths, s.months, s.persons)?;
        match kind {
            ScenarioKind::Prevented => out.prevented_ore += amount,
            _ => out.shortened_ore += amount,
        }
        out.scenarios.push(ScenarioCost {
            label: l,
            kind: kind as i32,
            amount_ore: amount,
        });
    }
    out.placement_costs_ore = out.prevented_ore + out.shortened_ore;
    for (i, t) in req.team_costs.iter().enumerate() {
        label(format!("team_costs[{i}].label"), &t.label)?;
        if !(0..=MAX_TEAM_COST_ORE).contains(&t.amount_ore) {
            return Err(CompensationError::invalid(
                format!("team_costs[{i}].amount_ore"),
                format!("must be 0..={MAX_TEAM_COST_ORE} öre"),
            ));
        }
        out.team_cost_ore += t.amount_ore;
    }
    out.savings_ore = out.placement_costs_ore - out.team_cost_ore;
    for (i, a) in req.alternatives.iter().enumerate() {
        let f = format!("alternatives[{i}]");
        let l = label(format!("{f}.label"), &a.label)?;
        let kind = required_enum(&format!("{f}.kind"), a.kind, AlternativeKind::Unspecified)?;
        per_day_months_persons(&f, a.cost_per_day_ore, a.months, a.persons)?;
        out.alternatives.push(AlternativeCost {
            label: l,
            kind: kind as i32,
            total_ore: scenario_ore(a.cost_per_day_ore, tenths, a.months, a.persons)?,
            per_person_month_ore: scenario_ore(a.cost_per_day_ore, tenths, 1, 1)?,
            ..Default::default()
        });
    }
    if let Some(cheapest) = out.alternatives.iter().map(|a| a.total_ore).min() {
        let totals: Vec<i64> = out.alternatives.iter().map(|a| a.total_ore).collect();
        for a in &mut out.alternatives {
            a.above_cheapest_ore = a.total_ore - cheapest;
            a.rank = 1 + totals.iter().filter(|&&t| t < a.total_ore).count() as u32;
        }
    }
    Ok(out)
}

/// A price split checked: each part 0 … 100 000 kr a day, the total above 0.
/// Answers the total a day.
pub fn check_split(field: &str, s: Option<&PriceSplit>) -> R<(PriceSplit, i64)> {
    let s = s
        .copied()
        .ok_or_else(|| CompensationError::invalid(field, "is required"))?;
    for (key, v) in [
        ("fee_per_day_ore", s.fee_per_day_ore),
        ("expenses_per_day_ore", s.expenses_per_day_ore),
        ("administration_per_day_ore", s.administration_per_day_ore),
        ("add_ons_per_day_ore", s.add_ons_per_day_ore),
    ] {
        if !(0..=MAX_COST_PER_DAY_ORE).contains(&v) {
            return Err(CompensationError::invalid(
                format!("{field}.{key}"),
                format!("must be 0..={MAX_COST_PER_DAY_ORE} öre a day"),
            ));
        }
    }
    let total = total(&s);
    if total == 0 {
        return Err(CompensationError::invalid(
            field,
            "the parts must add up to more than 0",
        ));
    }
    Ok((s, total))
}

pub fn total(s: &PriceSplit) -> i64 {
    s.fee_per_day_ore
        + s.expenses_per_day_ore
        + s.administration_per_day_ore
        + s.add_ons_per_day_ore
}

/// One recorded price, as the comparison reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Price {
    pub home_type: HomeType,
    pub agency_id: String,
    pub split: PriceSplit,
}

/// Rule R11: a mean of öre amounts, rounded once to the öre, half away
/// from zero.
fn mean(sum: i128, n: u32) -> i64 {
    div_round_half_away(sum, i128::from(n.max(1))) as i64
}

/// The prices compared per home type (in home type order): raw counts,
/// and — for cells of at least [`MIN_PLACEMENTS_FOR_AVERAGES`] placements —
/// the average of each part and of the total (R11), the cheapest and
/// dearest total, and the administration's share of the average total in
/// basis points (R11: administration × 10 000 ÷ total, rounded once).
/// Counts are shown as numbers here; [`suppress`] makes the aggregate-only
/// roles' view.
pub fn compare(prices: &[Price]) -> Vec<PriceCell> {
    let mut by_type: BTreeMap<i32, Vec<&Price>> = BTreeMap::new();
    for p in prices {
        by_type.entry(p.home_type as i32).or_default().push(p);
    }
    by_type
        .into_iter()
        .map(|(home_type, ps)| {
            let n = ps.len() as u32;
            let agencies: BTreeSet<&str> = ps.iter().map(|p| p.agency_id.as_str()).collect();
            let mut cell = PriceCell {
                home_type,
                placements: n,
                placements_display: n.to_string(),
                agencies: agencies.len() as u32,
                agencies_display: agencies.len().to_string(),
                ..Default::default()
            };
            if n >= MIN_PLACEMENTS_FOR_AVERAGES {
                let sum = |f: fn(&PriceSplit) -> i64| -> i128 {
                    ps.iter().map(|p| i128::from(f(&p.split))).sum()
                };
                let average = PriceSplit {
                    fee_per_day_ore: mean(sum(|s| s.fee_per_day_ore), n),
                    expenses_per_day_ore: mean(sum(|s| s.expenses_per_day_ore), n),
                    administration_per_day_ore: mean(sum(|s| s.administration_per_day_ore), n),
                    add_ons_per_day_ore: mean(sum(|s| s.add_ons_per_day_ore), n),
                };
                let sum_total = sum(total);
                let sum_admin = sum(|s| s.administration_per_day_ore);
                cell.averages_shown = true;
                cell.average = Some(average);
                cell.average_total_per_day_ore = mean(sum_total, n);
                cell.min_total_per_day_ore = ps.iter().map(|p| total(&p.split)).min().unwrap_or(0);
                cell.max_total_per_day_ore = ps.iter().map(|p| total(&p.split)).max().unwrap_or(0);
                // The shares of the sums (the same as of the averages, unrounded).
                cell.administration_share_bp = if sum_total > 0 {
                    div_round_half_away(sum_admin * 10_000, sum_total) as u32
                } else {
                    0
                };
            }
            cell
        })
        .collect()
}

/// The aggregate-only roles' view (samling_kit::disclosure): the counts of
/// placements and of agencies, each column suppressed as one table ("<5",
/// and what would give a small one away ".."), their numbers 0 when not
/// shown. Averages are already hidden below 5 placements.
pub fn suppress(cells: &mut [PriceCell]) {
    for column in [0, 1] {
        let counts: Vec<u32> = cells
            .iter()
            .map(|c| {
                if column == 0 {
                    c.placements
                } else {
                    c.agencies
                }
            })
            .collect();
        let total = counts.iter().sum();
        let (shown, _) = samling_kit::disclosure::suppress(&counts, total);
        for (c, s) in cells.iter_mut().zip(shown) {
            if column == 0 {
                c.placements = s.number();
                c.placements_display = s.display();
            } else {
                c.agencies = s.number();
                c.agencies_display = s.display();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use samling_kit::error::ServiceError;
    use samling_proto::compensation::v1::{CostAlternative, CostScenario, TeamCost};

    fn scenario(
        label: &str,
        kind: ScenarioKind,
        kr_day: i64,
        months: u32,
        persons: u32,
    ) -> CostScenario {
        CostScenario {
            label: label.into(),
            kind: kind as i32,
            cost_per_day_ore: kr_day * 100,
            months,
            persons,
        }
    }

    fn team() -> Vec<TeamCost> {
        // Seed 004 lines 385–388: 2 mnkr + 2,5 mnkr a year.
        vec![
            TeamCost {
                label: "Omsorgsnämnden".into(),
                amount_ore: 2_000_000 * 100,
            },
            TeamCost {
                label: "Socialförvaltningen".into(),
                amount_ore: 2_500_000 * 100,
            },
        ]
    }

    /// Seed 004 lines 390–407: "3749 kr/dygn x 30,5 dgr/mån x 6 mån x 9 pers
    /// = 6 174 603 kr", "… x 3 mån x 4 pers = 1 372 134 kr", "Totalt
    /// Placeringskostnader 7 546 737 kr", team ca 4,5 mnkr, "Total
    /// besparing = ca 3 mnkr".
    #[test]
    fn seed_004s_six_month_calculation_is_reproduced_to_the_krona() {
        let req = CalculateCostsRequest {
            days_per_month_tenths: 0,
            scenarios: vec![
                scenario("förhindrade", ScenarioKind::Prevented, 3749, 6, 9),
                scenario("förkortade", ScenarioKind::Shortened, 3749, 3, 4),
            ],
            team_costs: team(),
            alternatives: vec![],
        };
        let c = calculate(&req).unwrap();
        assert_eq!(c.days_per_month_tenths, 305);
        assert_eq!(c.scenarios[0].amount_ore, 6_174_603 * 100);
        assert_eq!(c.scenarios[1].amount_ore, 1_372_134 * 100);
        assert_eq!(c.prevented_ore, 6_174_603 * 100);
        assert_eq!(c.shortened_ore, 1_372_134 * 100);
        assert_eq!(c.placement_costs_ore, 7_546_737 * 100);
        assert_eq!(c.team_cost_ore, 4_500_000 * 100);
        assert_eq!(c.savings_ore, 3_046_737 * 100, "ca 3 mnkr");
    }

    /// Seed 004 lines 408–420: the 12-month variant, "12 349 206 kr",
    /// "Totalt Placeringskostnader = 13 721 340", besparing "ca 9,0" mnkr.
    #[test]
    fn seed_004s_twelve_month_calculation_is_reproduced() {
        let req = CalculateCostsRequest {
            scenarios: vec![
                scenario("förhindrade", ScenarioKind::Prevented, 3749, 12, 9),
                scenario("förkortade", ScenarioKind::Shortened, 3749, 3, 4),
            ],
            team_costs: team(),
            ..Default::default()
        };
        let c = calculate(&req).unwrap();
        assert_eq!(c.scenarios[0].amount_ore, 12_349_206 * 100);
        assert_eq!(c.placement_costs_ore, 13_721_340 * 100);
        assert_eq!(c.savings_ore, 9_221_340 * 100);
    }

    #[test]
    fn r9_rounds_once_half_away_from_zero() {
        // 1 öre × 30.5 × 1 × 1 = 30.5 öre → 31 öre.
        assert_eq!(scenario_ore(1, 305, 1, 1).unwrap(), 31);
        // 3 öre × 30.5 = 91.5 → 92 (not 3 × 31 = 93: one rounding).
        assert_eq!(scenario_ore(3, 305, 1, 1).unwrap(), 92);
        // 30.4 days: 10 öre × 30.4 = 304 exactly.
        assert_eq!(scenario_ore(10, 304, 1, 1).unwrap(), 304);
        assert_eq!(
            scenario_ore(MAX_COST_PER_DAY_ORE, 310, MAX_MONTHS, MAX_PERSONS).unwrap(),
            372_000_000_000_000
        );
    }

    #[test]
    fn alternatives_are_ranked_against_the_cheapest() {
        let alt = |label: &str, kind: AlternativeKind, kr_day: i64| CostAlternative {
            label: label.into(),
            kind: kind as i32,
            cost_per_day_ore: kr_day * 100,
            months: 12,
            persons: 1,
        };
        let req = CalculateCostsRequest {
            alternatives: vec![
                alt("HVB", AlternativeKind::Hvb, 3749),
                alt("familjehem", AlternativeKind::FamilyHome, 1200),
                alt("familjesupporten", AlternativeKind::SupportTeam, 1200),
            ],
            ..Default::default()
        };
        let c = calculate(&req).unwrap();
        let got: Vec<(i64, i64, i64, u32)> = c
            .alternatives
            .iter()
            .map(|a| {
                (
                    a.total_ore,
                    a.per_person_month_ore,
                    a.above_cheapest_ore,
                    a.rank,
                )
            })
            .collect();
        // 3 749 kr × 30.5 × 12 = 1 372 134 kr; 1 200 kr × 30.5 × 12 = 439 200 kr.
        assert_eq!(
            got,
            vec![
                (137_213_400, 11_434_450, 93_293_400, 3),
                (43_920_000, 3_660_000, 0, 1),
                (43_920_000, 3_660_000, 0, 1),
            ]
        );
        assert_eq!((c.placement_costs_ore, c.savings_ore), (0, 0));
    }

    #[test]
    fn bad_input_names_the_field() {
        let ok = scenario("x", ScenarioKind::Prevented, 100, 1, 1);
        let field =
            |req: CalculateCostsRequest| calculate(&req).unwrap_err().field().map(str::to_string);
        let with = |s: CostScenario| CalculateCostsRequest {
            scenarios: vec![ok.clone(), s],
            ..Default::default()
        };
        assert_eq!(
            field(CalculateCostsRequest::default()).as_deref(),
            Some("scenarios")
        );
        assert_eq!(
            field(with(CostScenario {
                months: 0,
                ..ok.clone()
            }))
            .as_deref(),
            Some("scenarios[1].months")
        );
        assert_eq!(
            field(with(CostScenario {
                persons: 10_001,
                ..ok.clone()
            }))
            .as_deref(),
            Some("scenarios[1].persons")
        );
        assert_eq!(
            field(with(CostScenario {
                cost_per_day_ore: -1,
                ..ok.clone()
            }))
            .as_deref(),
            Some("scenarios[1].cost_per_day_ore")
        );
        assert_eq!(
            field(with(CostScenario {
                kind: 0,
                ..ok.clone()
            }))
            .as_deref(),
            Some("scenarios[1].kind")
        );
        assert_eq!(
            field(with(CostScenario {
                label: " ".into(),
                ..ok.clone()
            }))
            .as_deref(),
            Some("scenarios[1].label")
        );
        let mut r = with(ok.clone());
        r.days_per_month_tenths = 365;
        assert_eq!(field(r).as_deref(), Some("days_per_month_tenths"));
        let mut r = with(ok.clone());
        r.team_costs = vec![TeamCost {
            label: "t".into(),
            amount_ore: -5,
        }];
        assert_eq!(field(r).as_deref(), Some("team_costs[0].amount_ore"));
        let mut r = with(ok.clone());
        r.scenarios = vec![ok.clone(); MAX_ITEMS + 1];
        assert_eq!(field(r).as_deref(), Some("scenarios"));
    }

    fn price(t: HomeType, agency: &str, fee: i64, exp: i64, admin: i64, add: i64) -> Price {
        Price {
            home_type: t,
            agency_id: agency.into(),
            split: PriceSplit {
                fee_per_day_ore: fee,
                expenses_per_day_ore: exp,
                administration_per_day_ore: admin,
                add_ons_per_day_ore: add,
            },
        }
    }

    #[test]
    fn prices_are_compared_per_home_type_and_small_cells_hide_their_averages() {
        let mut ps: Vec<Price> = (0..5)
            .map(|i| {
                price(
                    HomeType::EmergencyHome,
                    if i < 3 { "a" } else { "b" },
                    100_000,
                    40_000,
                    150_000 + i * 10_001,
                    0,
                )
            })
            .collect();
        ps.push(price(
            HomeType::FamilyHome,
            "a",
            80_000,
            30_000,
            90_000,
            5_000,
        ));
        let cells = compare(&ps);
        assert_eq!(cells.len(), 2);
        let fam = &cells[0];
        assert_eq!(fam.home_type, HomeType::FamilyHome as i32);
        assert_eq!((fam.placements, fam.agencies), (1, 1));
        assert!(!fam.averages_shown && fam.average.is_none());
        assert_eq!(fam.average_total_per_day_ore, 0);
        let jour = &cells[1];
        assert_eq!((jour.placements, jour.agencies), (5, 2));
        assert!(jour.averages_shown);
        // Administration 150 000 + (0+1+2+3+4) × 10 001 / 5 = 170 002.
        let avg = jour.average.as_ref().unwrap();
        assert_eq!(avg.administration_per_day_ore, 170_002);
        assert_eq!(jour.average_total_per_day_ore, 310_002);
        assert_eq!(
            (jour.min_total_per_day_ore, jour.max_total_per_day_ore),
            (290_000, 330_004)
        );
        // 850 010 × 10 000 / 1 550 010 = 5 483.8… → 5 484 bp.
        assert_eq!(jour.administration_share_bp, 5_484);
        // The aggregate-only view: 1 placement is "<5", and the 5 beside it
        // is hidden (else the total would give the 1 away).
        let mut shown = cells.clone();
        suppress(&mut shown);
        assert_eq!(shown[0].placements_display, "<5");
        assert_eq!(shown[0].placements, 0);
        assert_eq!(shown[1].placements_display, "..");
        // 1 and 2 agencies: both "<5".
        assert_eq!(shown[0].agencies_display, "<5");
        assert_eq!(shown[1].agencies_display, "<5");
        assert_eq!(shown[1].agencies, 0);
    }

    #[test]
    fn a_price_split_is_checked() {
        let s = PriceSplit {
            fee_per_day_ore: 100_000,
            expenses_per_day_ore: 40_000,
            administration_per_day_ore: 150_000,
            add_ons_per_day_ore: 0,
        };
        assert_eq!(check_split("split", Some(&s)).unwrap().1, 290_000);
        assert_eq!(
            check_split("split", None).unwrap_err().field(),
            Some("split")
        );
        let bad = PriceSplit {
            add_ons_per_day_ore: -1,
            ..s
        };
        assert_eq!(
            check_split("split", Some(&bad)).unwrap_err().field(),
            Some("split.add_ons_per_day_ore")
        );
        assert_eq!(
            check_split("split", Some(&PriceSplit::default()))
                .unwrap_err()
                .field(),
            Some("split")
        );
    }
}
