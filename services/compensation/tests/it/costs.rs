//! Costs (ADR 0049) end to end on every store: the cost calculator for
//! staff (seed 004's figures), and agencies' price splits per placement —
//! recorded by finance or the placing municipality on placements the
//! registry's feed has shown, compared per home type with small counts
//! suppressed for the aggregate roles — and the attackers.

use crate::common::*;
use crate::payments::follow_registry;
use samling_kit::auth::AuthContext;
use samling_kit::outbox::NewEvent;
use samling_proto::compensation::v1::*;
use samling_proto::registry::v1::HomeType;
use tonic::Code;

fn seed_004() -> CalculateCostsRequest {
    let s = |label: &str, kind: ScenarioKind, months: u32, persons: u32| CostScenario {
        label: label.into(),
        kind: kind as i32,
        cost_per_day_ore: 374_900,
        months,
        persons,
    };
    CalculateCostsRequest {
        days_per_month_tenths: 305,
        scenarios: vec![
            s("förhindrade", ScenarioKind::Prevented, 6, 9),
            s("förkortade", ScenarioKind::Shortened, 3, 4),
        ],
        team_costs: vec![TeamCost {
            label: "teamet".into(),
            amount_ore: 450_000_000,
        }],
        alternatives: vec![CostAlternative {
            label: "HVB".into(),
            kind: AlternativeKind::Hvb as i32,
            cost_per_day_ore: 374_900,
            months: 12,
            persons: 1,
        }],
    }
}

/// Seed 004 lines 390–407 through the RPC, for every staff role; a child,
/// a guardian and a family home are refused; bad input names the field.
#[tokio::test]
async fn the_cost_calculator_answers_staff_with_seed_004s_figures() {
    for (h, _b) in harnesses().await {
        let bk = h.backend;
        for ctx in [
            caseworker("0180"),
            office(),
            analyst(),
            council_member(),
            ombud(),
        ] {
            let role = ctx.role.as_str();
            let c = rpc!(h.costs(ctx).await, calculate_costs, seed_004()).unwrap();
            assert_eq!(
                (c.prevented_ore, c.shortened_ore, c.placement_costs_ore),
                (617_460_300, 137_213_400, 754_673_700),
                "[{bk}] {role}: 6 174 603 + 1 372 134 = 7 546 737 kr"
            );
            assert_eq!(c.savings_ore, 304_673_700, "[{bk}] {role}: ca 3 mnkr");
            assert_eq!(c.alternatives[0].total_ore, 137_213_400, "[{bk}]");
        }
        let guardian =
            AuthContext::new("guardian-1", samling_kit::auth::Role::Guardian).with_party(new_id());
        for ctx in [child_ctx(&new_id()), family_home(&new_id()), guardian] {
            let e = rpc!(h.costs(ctx).await, calculate_costs, seed_004()).unwrap_err();
            assert_eq!(e.code(), Code::PermissionDenied, "[{bk}] {e:?}");
        }
        let mut bad = seed_004();
        bad.scenarios[1].persons = 0;
        let e = rpc!(h.costs(office()).await, calculate_costs, bad).unwrap_err();
        assert_eq!(
            (e.code(), field_of(&e).as_deref()),
            (Code::InvalidArgument, Some("scenarios[1].persons")),
            "[{bk}]"
        );
    }
}

/// The registry's placement_created event naming the placing municipality.
fn placed(p: &str, home: &str, municipality: &str) -> NewEvent {
    NewEvent::new(
        "registry.placement_created",
        "placement",
        p,
        serde_json::json!({"placement_id": p, "child_id": new_id(), "home_id": home,
                           "unit_id": "", "placing_municipality_code": municipality,
                           "start_date": "2026-01-01"}),
    )
}

fn split(fee: i64, exp: i64, admin: i64, add: i64) -> Option<PriceSplit> {
    Some(PriceSplit {
        fee_per_day_ore: fee,
        expenses_per_day_ore: exp,
        administration_per_day_ore: admin,
        add_ons_per_day_ore: add,
    })
}

fn record(
    placement: &str,
    agency: &str,
    t: HomeType,
    s: Option<PriceSplit>,
) -> RecordPriceSplitRequest {
    RecordPriceSplitRequest {
        request_id: new_id(),
        placement_id: placement.into(),
        agency_id: agency.into(),
        home_type: t as i32,
        split: s,
        expected_version: 0,
    }
}

#[tokio::test]
async fn agencies_prices_are_recorded_per_placement_and_compared_per_home_type() {
    for (h, b) in harnesses().await {
        let bk = h.backend;
        let (a1, a2) = (new_id(), new_id());
        // Six emergency-home placements of Stockholm (0180), one family home
        // placed by Solna (0184), one the feed has not shown.
        let jour: Vec<String> = (0..6).map(|_| new_id()).collect();
        let (solna_p, unseen) = (new_id(), new_id());
        let mut events: Vec<NewEvent> = jour.iter().map(|p| placed(p, &new_id(), "0180")).collect();
        events.push(placed(&solna_p, &new_id(), "0184"));
        follow_registry(&h, &b, events, 7).await;

        let mut fin = h.costs(office()).await;
        let mut cw = h.costs(caseworker("0180")).await;
        let mut solna = h.costs(caseworker("0184")).await;
        // Finance records five, Stockholm's caseworker its sixth.
        for (i, p) in jour.iter().enumerate().take(5) {
            let agency = if i < 3 { &a1 } else { &a2 };
            let r = rpc!(
                fin,
                record_price_split,
                record(
                    p,
                    agency,
                    HomeType::EmergencyHome,
                    split(100_000, 40_000, 150_000 + 10_001 * i as i64, 0)
                )
            )
            .unwrap();
            assert_eq!(
                (r.version, r.municipality_code.as_str()),
                (1, "0180"),
                "[{bk}]"
            );
        }
        let req6 = record(
            &jour[5],
            &a2,
            HomeType::EmergencyHome,
            split(120_000, 40_000, 100_000, 20_000),
        );
        let sixth = rpc!(cw, record_price_split, req6.clone()).unwrap();
        assert_eq!(sixth.total_per_day_ore, 280_000, "[{bk}]");
        // Another municipality's placement is not found to Stockholm, and a
        // replay of Stockholm's request under Solna's token is refused
        // before the replay.
        let e = rpc!(
            cw,
            record_price_split,
            record(&solna_p, &a1, HomeType::FamilyHome, split(1, 0, 0, 0))
        )
        .unwrap_err();
        assert_eq!(e.code(), Code::NotFound, "[{bk}]");
        let e = rpc!(solna, record_price_split, req6.clone()).unwrap_err();
        assert_eq!(
            e.code(),
            Code::NotFound,
            "[{bk}] replay under another token"
        );
        // The same request again under its own token: the same answer.
        let again = rpc!(cw, record_price_split, req6).unwrap();
        assert_eq!(again.version, sixth.version, "[{bk}]");
        rpc!(
            solna,
            record_price_split,
            record(
                &solna_p,
                &a1,
                HomeType::FamilyHome,
                split(80_000, 30_000, 90_000, 5_000)
            )
        )
        .unwrap();
        // A placement the feed has not shown.
        let e = rpc!(
            fin,
            record_price_split,
            record(&unseen, &a1, HomeType::FamilyHome, split(1, 0, 0, 0))
        )
        .unwrap_err();
        assert_eq!(
            (e.code(), field_of(&e).as_deref()),
            (Code::FailedPrecondition, Some("placement_id")),
            "[{bk}]"
        );
        let e = rpc!(
            cw,
            record_price_split,
            record(&unseen, &a1, HomeType::FamilyHome, split(1, 0, 0, 0))
        )
        .unwrap_err();
        assert_eq!(e.code(), Code::NotFound, "[{bk}]");
        // Bad input names the field; other roles are refused.
        let e = rpc!(
            fin,
            record_price_split,
            record(&jour[0], &a1, HomeType::EmergencyHome, split(1, -1, 0, 0))
        )
        .unwrap_err();
        assert_eq!(
            field_of(&e).as_deref(),
            Some("split.expenses_per_day_ore"),
            "[{bk}]"
        );
        let e = rpc!(
            fin,
            record_price_split,
            record(&jour[0], &a1, HomeType::Unspecified, split(1, 0, 0, 0))
        )
        .unwrap_err();
        assert_eq!(field_of(&e).as_deref(), Some("home_type"), "[{bk}]");
        for ctx in [
            family_home(&new_id()),
            analyst(),
            ombud(),
            child_ctx(&new_id()),
        ] {
            let e = rpc!(
                h.costs(ctx).await,
                record_price_split,
                record(&jour[0], &a1, HomeType::EmergencyHome, split(1, 0, 0, 0))
            )
            .unwrap_err();
            assert_eq!(e.code(), Code::PermissionDenied, "[{bk}]");
        }
        // Optimistic concurrency on a replacement.
        let mut stale = record(
            &jour[0],
            &a1,
            HomeType::EmergencyHome,
            split(100_000, 40_000, 150_000, 0),
        );
        stale.expected_version = 7;
        let e = rpc!(fin, record_price_split, stale).unwrap_err();
        assert_eq!(e.code(), Code::Aborted, "[{bk}] {e:?}");

        // Reading one: finance and its municipality; another's not found.
        let got = rpc!(
            cw,
            get_price_split,
            GetPriceSplitRequest {
                placement_id: jour[0].clone()
            }
        )
        .unwrap();
        assert_eq!(got.agency_id, a1, "[{bk}]");
        let e = rpc!(
            solna,
            get_price_split,
            GetPriceSplitRequest {
                placement_id: jour[0].clone()
            }
        )
        .unwrap_err();
        assert_eq!(e.code(), Code::NotFound, "[{bk}]");
        let e = rpc!(
            h.costs(analyst()).await,
            get_price_split,
            GetPriceSplitRequest {
                placement_id: jour[0].clone()
            }
        )
        .unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied, "[{bk}]");

        // The comparison: finance sees the counts; the family-home cell of
        // one placement hides its averages from everyone.
        let c = rpc!(fin, compare_prices, ComparePricesRequest::default()).unwrap();
        assert_eq!(c.region, REGION, "[{bk}]");
        let cell = |c: &PriceComparison, t: HomeType| {
            c.cells
                .iter()
                .find(|x| x.home_type == t as i32)
                .cloned()
                .unwrap()
        };
        let fam = cell(&c, HomeType::FamilyHome);
        assert_eq!(
            (fam.placements, fam.placements_display.as_str()),
            (1, "1"),
            "[{bk}]"
        );
        assert!(!fam.averages_shown && fam.average.is_none(), "[{bk}]");
        let j = cell(&c, HomeType::EmergencyHome);
        assert_eq!((j.placements, j.agencies), (6, 2), "[{bk}]");
        assert!(j.averages_shown, "[{bk}]");
        // Totals 290 000 + … + 330 004 and 280 000: 1 830 010 / 6 = 305 001.67 → 305 002.
        assert_eq!(j.average_total_per_day_ore, 305_002, "[{bk}]");
        assert_eq!(
            (j.min_total_per_day_ore, j.max_total_per_day_ore),
            (280_000, 330_004),
            "[{bk}]"
        );
        // The analyst and the council: "<5" for the one placement and the
        // two agencies; what would give them away hidden.
        for ctx in [analyst(), council_member()] {
            let c = rpc!(
                h.costs(ctx).await,
                compare_prices,
                ComparePricesRequest::default()
            )
            .unwrap();
            let fam = cell(&c, HomeType::FamilyHome);
            assert_eq!(
                (fam.placements, fam.placements_display.as_str()),
                (0, "<5"),
                "[{bk}]"
            );
            let j = cell(&c, HomeType::EmergencyHome);
            assert_eq!(j.placements_display, "..", "[{bk}]");
            assert_eq!(j.agencies_display, "<5", "[{bk}]");
            assert_eq!(j.average_total_per_day_ore, 305_002, "[{bk}]");
        }
        // One home type only.
        let c = rpc!(
            fin,
            compare_prices,
            ComparePricesRequest {
                home_type: HomeType::FamilyHome as i32
            }
        )
        .unwrap();
        assert_eq!(c.cells.len(), 1, "[{bk}]");
        for ctx in [family_home(&new_id()), ombud(), child_ctx(&new_id())] {
            let e = rpc!(
                h.costs(ctx).await,
                compare_prices,
                ComparePricesRequest::default()
            )
            .unwrap_err();
            assert_eq!(e.code(), Code::PermissionDenied, "[{bk}]");
        }
    }
}
