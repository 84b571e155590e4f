//! The register's statistics for the dashboards (issue 25, ADR 0050):
//! the figures agree with the records, the area and period filters narrow
//! them, the aggregate roles see small counts suppressed, and everyone
//! else is refused (attacker's side).

use crate::common;

use common::*;
use samling_proto::registry::v1::*;
use samling_proto::statistics::v1::{GetStatisticsRequest, StatTable, StatisticsReport};
use samling_testkit::callers::{REGION, office_in};
use tonic::Code;

fn typed(street: &str, pnr: &str, t: HomeType) -> HomeDraft {
    HomeDraft {
        home_type: t as i32,
        capacity: 10,
        willingness: vec![Willingness::Emergency as i32, Willingness::LongTerm as i32],
        ..draft(street, pnr)
    }
}

fn request(municipality: &str, tables: &[&str]) -> GetStatisticsRequest {
    GetStatisticsRequest {
        municipality: municipality.into(),
        from: Some(date(days_ago(30))),
        to: Some(date(today())),
        tables: tables.iter().map(|t| t.to_string()).collect(),
        ..Default::default()
    }
}

async fn stats(
    h: &Harness,
    ctx: samling_kit::auth::AuthContext,
    req: GetStatisticsRequest,
) -> Result<StatisticsReport, tonic::Status> {
    rpc!(h.client(ctx).await, get_statistics, req)
}

fn table<'a>(r: &'a StatisticsReport, id: &str) -> &'a StatTable {
    r.tables
        .iter()
        .find(|t| t.id == id)
        .unwrap_or_else(|| panic!("no table {id} in {r:?}"))
}

/// A cell by row key and column id.
fn cell<'a>(t: &'a StatTable, row: &str, col: &str) -> &'a samling_proto::statistics::v1::StatCell {
    let c = t.columns.iter().position(|c| c.id == col).expect("column");
    &t.rows.iter().find(|r| r.key == row).expect("row").cells[c]
}

/// Two homes of 0180 (a network home, a family home), six children of
/// 0180 placed (one in the network home), one of 0114; two placements
/// ended (one a breakdown), and one ended child placed again.
async fn fixture(h: &Harness) -> Vec<Placement> {
    let net = h
        .approved_home(
            typed("Släktvägen 15", &adult(841), HomeType::NetworkHome),
            "0180",
            days_ago(400),
        )
        .await;
    let fam = h
        .approved_home(
            typed("Familjevägen 16", &adult(842), HomeType::FamilyHome),
            "0180",
            days_ago(400),
        )
        .await;
    let mut placed = Vec::new();
    for i in 0..7u16 {
        let muni = if i == 6 { "0114" } else { "0180" };
        let kid = h.register_child(muni, &child_pnr(9, 851 + 2 * i)).await;
        let home = if i == 0 { &net.id } else { &fam.id };
        let mut req = placement(&kid.id, home, today());
        req.capacity_exception_reason = "statistics".into();
        placed.push(
            rpc!(h.client(caseworker(muni)).await, create_placement, req)
                .unwrap()
                .placement
                .unwrap(),
        );
    }
    rpc!(
        h.client(caseworker("0180")).await,
        end_placement,
        EndPlacementRequest {
            placement_id: placed[1].id.clone(),
            end_date: Some(date(today())),
            end_reason: EndReason::Breakdown as i32,
            breakdown: Some(Breakdown {
                reasons: vec![BreakdownReason::ChildBehaviour as i32],
                initiated_by: BreakdownInitiator::Home as i32,
                note: String::new(),
            }),
            ..Default::default()
        }
    )
    .unwrap();
    rpc!(
        h.client(caseworker("0180")).await,
        end_placement,
        EndPlacementRequest {
            placement_id: placed[2].id.clone(),
            end_date: Some(date(today())),
            end_reason: EndReason::Planned as i32,
            ..Default::default()
        }
    )
    .unwrap();
    // The child of placement 2 placed again: two placements.
    let mut again = placement(&placed[2].child_id, &net.id, today());
    again.capacity_exception_reason = "statistics".into();
    placed.push(
        rpc!(h.client(caseworker("0180")).await, create_placement, again)
            .unwrap()
            .placement
            .unwrap(),
    );
    placed
}

#[tokio::test]
async fn the_registers_figures_agree_with_its_records_and_filters_narrow_them() {
    for_each_backend(|h| async move {
        fixture(&h).await;
        let raw = stats(&h, office(), request("", &[])).await.unwrap();
        // Every table, in order, each with its displays filled.
        assert_eq!(raw.tables.len(), 12, "{raw:?}");
        for t in &raw.tables {
            for c in t.rows.iter().flat_map(|r| &r.cells) {
                assert!(!c.display.is_empty(), "{}", t.id);
            }
        }
        let homes = table(&raw, "registry.homes_by_type");
        assert_eq!(cell(homes, "network_home", "public").value, 1);
        assert_eq!(cell(homes, "family_home", "total").value, 1);
        assert_eq!(cell(homes, "total", "total").value, 2);
        assert_eq!(cell(homes, "family_home", "public").display, "1");
        // Places: 20, of which the active placements (6 of 8) are taken.
        let places = table(&raw, "registry.places");
        assert_eq!(cell(places, "total", "total").value, 20);
        assert_eq!(cell(places, "total", "placed").value, 6);
        // Started: 8 placements (two in the network home), by type.
        let started = table(&raw, "registry.placements_by_type");
        assert_eq!(cell(started, "network_home", "public").value, 2);
        assert_eq!(cell(started, "family_home", "public").value, 6);
        assert_eq!(cell(started, "total", "total").value, 8);
        let month = samling_kit::statistics::month_of(today());
        let series = table(&raw, "registry.placements_by_month");
        assert_eq!(series.chart, "series");
        assert_eq!(cell(series, "started", &month).value, 8);
        assert_eq!(cell(series, "ended", &month).value, 2);
        let endings = table(&raw, "registry.endings_by_reason");
        assert_eq!(cell(endings, "breakdown", "total").value, 1);
        assert_eq!(cell(endings, "planned", "total").value, 1);
        // Seven children, one of them placed twice.
        let children = table(&raw, "registry.children_by_placements");
        assert_eq!(cell(children, "more", "children").value, 1);
        assert_eq!(cell(children, "one", "children").value, 6);
        let shares = table(&raw, "registry.shares");
        // 1 of 7 children; 2 of 8 placements: ratios from their parts.
        let more = cell(shares, "more_than_one_placement", "share");
        assert_eq!((more.value, more.numerator, more.denominator), (14, 1, 7));
        assert_eq!(cell(shares, "network_placements", "share").value, 25);
        let by_muni = table(&raw, "registry.network_by_municipality");
        assert_eq!(cell(by_muni, "0180", "network").value, 2);
        assert_eq!(cell(by_muni, "0114", "total").value, 1);
        assert_eq!(
            by_muni.rows.iter().find(|r| r.key == "0114").unwrap().label,
            "Upplands Väsby"
        );

        // The placing municipality's filter: 0114's one placement.
        let muni = stats(
            &h,
            office(),
            request("0114", &["registry.placements_by_type"]),
        )
        .await
        .unwrap();
        assert_eq!(muni.tables.len(), 1);
        assert_eq!(cell(&muni.tables[0], "total", "total").value, 1);
        // A county: both municipalities are in Stockholm county (01).
        let mut county = request("", &["registry.placements_by_type"]);
        county.county = "01".into();
        let c = stats(&h, office(), county).await.unwrap();
        assert_eq!(cell(&c.tables[0], "total", "total").value, 8);
        let mut other = request("", &["registry.placements_by_type"]);
        other.county = "14".into();
        let c = stats(&h, office(), other).await.unwrap();
        assert_eq!(cell(&c.tables[0], "total", "total").value, 0);
        // A period before any of it: nothing started.
        let mut before = request("", &["registry.placements_by_type"]);
        before.from = Some(date(days_ago(400)));
        before.to = Some(date(days_ago(300)));
        let b = stats(&h, office(), before).await.unwrap();
        assert_eq!(cell(&b.tables[0], "total", "total").value, 0);
    })
    .await;
}

#[tokio::test]
async fn the_aggregate_roles_see_small_counts_suppressed_and_no_child_stands_out() {
    for_each_backend(|h| async move {
        fixture(&h).await;
        let raw = stats(&h, service(), request("", &[])).await.unwrap();
        for ctx in [analyst(), council_member()] {
            let seen = stats(&h, ctx, request("", &[])).await.unwrap();
            assert_eq!(seen.tables.len(), raw.tables.len());
            let mut complementary = 0;
            for (s, r) in seen.tables.iter().zip(&raw.tables) {
                for (srow, rrow) in s.rows.iter().zip(&r.rows) {
                    for (sc, rc) in srow.cells.iter().zip(&rrow.cells) {
                        // Never a ratio's parts; never a hidden number.
                        assert_eq!((sc.numerator, sc.denominator), (0, 0));
                        if sc.suppressed {
                            assert_eq!(sc.value, 0, "{}", s.id);
                            assert!(sc.display == "<5" || sc.display == "..");
                            complementary += usize::from(sc.display == "..");
                        } else {
                            assert_eq!(sc.value, rc.value, "{} {}", s.id, srow.key);
                            assert_eq!(sc.display, rc.value.to_string());
                        }
                        if s.counts && (1..5).contains(&rc.value) {
                            assert_eq!(sc.display, "<5", "{} {}", s.id, srow.key);
                        }
                    }
                }
            }
            assert!(complementary > 0, "complementary suppression happened");
            // 0114's one placed child: its row shows no count.
            let by_muni = table(&seen, "registry.network_by_municipality");
            assert_eq!(cell(by_muni, "0114", "total").display, "<5");
            // One child of seven placed twice: 1 in the share's numerator.
            let shares = table(&seen, "registry.shares");
            assert_eq!(
                cell(shares, "more_than_one_placement", "share").display,
                ".."
            );
        }
    })
    .await;
}

#[tokio::test]
async fn statistics_are_refused_to_whoever_may_not_read_them() {
    for_each_backend_in(Some(REGION), |h| async move {
        let placed = fixture(&h).await;
        // Roles with no statistics at all.
        for ctx in [
            caseworker("0180"),
            manager("0180"),
            ombud(),
            family_home(&placed[0].home_id),
            child_ctx(&placed[0].child_id),
            national_reviewer(),
            ivo(),
        ] {
            let role = ctx.role;
            let e = expect_code(
                stats(&h, ctx, request("", &[])).await,
                Code::PermissionDenied,
            );
            assert!(!e.message().contains(&placed[0].child_id), "{role:?}");
        }
        // The aggregate roles: never one municipality's or county's figures.
        for ctx in [analyst(), council_member()] {
            expect_code(
                stats(&h, ctx.clone(), request("0180", &[])).await,
                Code::PermissionDenied,
            );
            let mut county = request("", &[]);
            county.county = "01".into();
            expect_code(stats(&h, ctx, county).await, Code::PermissionDenied);
        }
        // A council member of another region gets this region's figures
        // suppressed only, as any council member: never raw.
        let other_council = council_member().with_region("vast");
        let seen = stats(&h, other_council, request("", &["registry.homes_by_type"]))
            .await
            .unwrap();
        assert_eq!(
            cell(&seen.tables[0], "network_home", "public").display,
            "<5"
        );
        // Another region's office: refused by the register.
        expect_code(
            stats(&h, office_in("vast"), request("", &[])).await,
            Code::PermissionDenied,
        );
        // Bad input names the field.
        let mut r = request("", &[]);
        r.to = Some(date(days_ago(40)));
        expect_invalid(stats(&h, office(), r).await, "to");
        let mut r = request("", &[]);
        r.from = None;
        expect_invalid(stats(&h, office(), r).await, "from");
        let mut r = request("", &[]);
        r.from = Some(date(days_ago(365 * 6)));
        expect_invalid(stats(&h, office(), r).await, "to");
        expect_invalid(
            stats(&h, office(), request("", &["registry.no_such_table"])).await,
            "tables",
        );
        expect_invalid(
            stats(&h, office(), request("9999", &[])).await,
            "municipality",
        );
    })
    .await;
}
