//! The state grant ledger over gRPC on every store (ADR 0048): an import
//! that sets (a re-import changes nothing), requisitions by the
//! municipality, decisions, usage, reclaims and the redistribution of
//! leftovers by finance, a municipality's history (its own only) and the
//! reconciled report.

use crate::common::*;
use samling_compensation::domain::ledger_csv;
use samling_proto::compensation::v1::*;
use tonic::Code;

fn common_office() -> samling_kit::auth::AuthContext {
    office()
}

fn granted(year: i32, code: &str, kr: i64) -> GrantedRow {
    GrantedRow {
        line: 0,
        year,
        municipality_code: code.into(),
        granted_kr: kr,
    }
}

#[tokio::test]
async fn seed_002_imports_once_and_reconciles_with_table_1() {
    let text = String::from_utf8(include_bytes!("../data/seed002_granted.csv").to_vec())
        .unwrap()
        .replace("Bengtstors", "Bengtsfors")
        .replace("Mölnåls", "Mölndals")
        .replace("Smedjebäckens", "Smedjebackens")
        .replace("Sätters", "Säters");
    let rows = ledger_csv::parse(text.as_bytes());
    assert!(rows.errors.is_empty() && rows.unresolved.is_empty());
    let unused = ledger_csv::parse(include_bytes!("../data/seed002_unused.csv"));
    for (h, _b) in harnesses().await {
        let b = h.backend;
        let mut office = h.client(office()).await;
        let req = ImportStateGrantsRequest {
            request_id: new_id(),
            available: vec![
                GrantAvailable {
                    year: 2021,
                    available_kr: 248_500_000,
                },
                GrantAvailable {
                    year: 2022,
                    available_kr: 248_500_000,
                },
                GrantAvailable {
                    year: 2023,
                    available_kr: 298_500_000,
                },
            ],
            granted: rows.granted.clone(),
            unused: unused.unused.clone(),
            decisions_only: false,
        };
        let first = rpc!(office, import_state_grants, req.clone()).unwrap();
        assert_eq!(first.changed, 3 + 870 + 286, "[{b}]");
        let totals: Vec<_> = first
            .years
            .iter()
            .map(|y| (y.year, y.granted_kr, y.municipalities, y.available_kr))
            .collect();
        assert_eq!(
            totals,
            vec![
                (2021, 248_500_000, 290, 248_500_000),
                (2022, 248_500_000, 290, 248_500_000),
                (2023, 298_500_000, 290, 298_500_000)
            ],
            "[{b}]"
        );
        // Bengtsfors' 346 090 kr did not resolve in the unused file.
        assert_eq!(first.periods[0].unused_kr, 16_436_024 - 346_090, "[{b}]");
        // The same rows under a new request id: nothing changes, nothing doubles.
        let mut again = req.clone();
        again.request_id = new_id();
        let second = rpc!(office, import_state_grants, again).unwrap();
        assert_eq!(
            (second.changed, second.unchanged),
            (0, 3 + 870 + 286),
            "[{b}]"
        );
        assert_eq!(second.years, first.years, "[{b}]");

        let report = rpc!(office, get_grant_report, GetGrantReportRequest::default()).unwrap();
        assert_eq!(report.years.len(), 3, "[{b}]");
        for y in &report.years {
            assert_eq!(y.difference_kr, 0, "[{b}] {y:?}");
            assert!(y.flags.is_empty(), "[{b}] {y:?}");
            assert_eq!(y.paid_kr, y.available_kr, "[{b}]");
        }
        // A county's report (Västra Götaland, 14) carries no national difference.
        let county = rpc!(
            office,
            get_grant_report,
            GetGrantReportRequest {
                year: 2021,
                county_code: "14".into(),
                municipalities: true,
            }
        )
        .unwrap();
        assert_eq!(county.years.len(), 1, "[{b}]");
        assert!(county.years[0].granted_kr < 248_500_000 && county.years[0].flags.is_empty());
        assert!(
            county
                .municipalities
                .iter()
                .all(|e| e.municipality_code.starts_with("14")),
            "[{b}]"
        );
        let ale = county
            .municipalities
            .iter()
            .find(|e| e.municipality_code == "1440")
            .unwrap();
        assert_eq!(
            (ale.granted_kr, ale.municipality_name.as_str()),
            (556_745, "Ale"),
            "[{b}]"
        );

        // A changed amount changes one row; the year's total then differs
        // from the available sum and is flagged.
        let mut changed = req.clone();
        changed.request_id = new_id();
        changed.available.clear();
        changed.unused.clear();
        changed.granted = vec![granted(2021, "1440", 556_746)];
        let third = rpc!(office, import_state_grants, changed).unwrap();
        assert_eq!(third.changed, 1, "[{b}]");
        assert_eq!(third.years[0].granted_kr, 248_500_001, "[{b}]");
        let report = rpc!(
            office,
            get_grant_report,
            GetGrantReportRequest {
                year: 2021,
                ..Default::default()
            }
        )
        .unwrap();
        assert_eq!(report.years[0].difference_kr, 1, "[{b}]");
        assert_eq!(
            report.years[0].flags,
            vec!["granted_differs_from_available", "paid_exceeds_available"],
            "[{b}]"
        );

        // Ale's staff read Ale's history; not Alingsås's.
        let mut ale_staff = h.client(manager("1440")).await;
        let hist = rpc!(
            ale_staff,
            get_grant_history,
            GetGrantHistoryRequest {
                municipality_code: "1440".into()
            }
        )
        .unwrap();
        let got: Vec<_> = hist.years.iter().map(|e| (e.year, e.granted_kr)).collect();
        assert_eq!(
            got,
            vec![(2021, 556_746), (2022, 515_215), (2023, 610_209)],
            "[{b}]"
        );
        assert_eq!(hist.unused_periods[0].unused_kr, 151_810, "[{b}]");
        let err = rpc!(
            ale_staff,
            get_grant_history,
            GetGrantHistoryRequest {
                municipality_code: "1489".into()
            }
        )
        .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "[{b}]");
        assert_eq!(
            reason_of(&err).as_deref(),
            Some("NOT_OWN_MUNICIPALITY"),
            "[{b}]"
        );
        // Municipal staff do not read the national report; a council member does.
        let err = rpc!(
            ale_staff,
            get_grant_report,
            GetGrantReportRequest::default()
        )
        .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "[{b}]");
        let mut council = h.client(council_member()).await;
        rpc!(council, get_grant_report, GetGrantReportRequest::default()).unwrap();
        // Nobody but finance imports; bad rows name the field.
        let err = rpc!(ale_staff, import_state_grants, req.clone()).unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "[{b}]");
        let mut bad = req.clone();
        bad.request_id = new_id();
        bad.granted[5].municipality_code = "9999".into();
        let err = rpc!(office, import_state_grants, bad).unwrap_err();
        assert_eq!(
            field_of(&err).as_deref(),
            Some("granted[5].municipality_code"),
            "[{b}]"
        );
        let mut bad = req.clone();
        bad.request_id = new_id();
        bad.granted[1] = bad.granted[0].clone();
        let err = rpc!(office, import_state_grants, bad).unwrap_err();
        assert_eq!(
            field_of(&err).as_deref(),
            Some("granted[1].municipality_code"),
            "[{b}]"
        );
    }
}

fn requisition(year: i32, code: &str, kr: i64, opt_in: bool) -> RequisitionStateGrantRequest {
    RequisitionStateGrantRequest {
        request_id: new_id(),
        year,
        municipality_code: code.into(),
        amount_kr: kr,
        opt_in_leftovers: opt_in,
    }
}

fn decide(code: &str, approve: bool, expected_version: u64) -> DecideRequisitionRequest {
    DecideRequisitionRequest {
        request_id: new_id(),
        year: 2024,
        municipality_code: code.into(),
        approve,
        expected_version,
    }
}

#[tokio::test]
async fn requisition_usage_reclaim_and_leftovers_in_whole_kronor() {
    for (h, _b) in harnesses().await {
        let b = h.backend;
        let mut office = h.client(office()).await;
        // 2024: 1 000 001 kr available; the grants as a distribution decided
        // them, to be requisitioned.
        let decided = rpc!(
            office,
            import_state_grants,
            ImportStateGrantsRequest {
                request_id: new_id(),
                available: vec![GrantAvailable {
                    year: 2024,
                    available_kr: 1_000_001,
                }],
                granted: vec![
                    granted(2024, "0180", 500_000),
                    granted(2024, "0114", 300_000),
                    granted(2024, "1440", 200_001),
                ],
                decisions_only: true,
                ..Default::default()
            }
        )
        .unwrap();
        assert_eq!(decided.years[0].granted_kr, 1_000_001, "[{b}]");
        let mut sthlm = h.client(caseworker("0180")).await;
        let mut vasby = h.client(manager("0114")).await;
        let mut ale = h.client(manager("1440")).await;

        // Who may ask: the municipality's own staff, up to its grant.
        let first = requisition(2024, "0180", 0, true);
        let e = rpc!(sthlm, requisition_state_grant, first.clone()).unwrap();
        assert_eq!(
            (e.requisitioned_kr, e.requisition_status(), e.paid_kr),
            (500_000, RequisitionStatus::Requested, 0),
            "[{b}]"
        );
        // Replayed under another municipality's token: refused before the replay.
        let err = rpc!(ale, requisition_state_grant, first.clone()).unwrap_err();
        assert_eq!(
            reason_of(&err).as_deref(),
            Some("NOT_OWN_MUNICIPALITY"),
            "[{b}]"
        );
        // The same request again is its first answer.
        let again = rpc!(sthlm, requisition_state_grant, first).unwrap();
        assert_eq!(again, e, "[{b}]");
        let err = rpc!(
            sthlm,
            requisition_state_grant,
            requisition(2024, "0180", 1, true)
        )
        .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition, "[{b}]");
        for caller in [common_office(), analyst(), family_home(&new_id())] {
            let mut c = h.client(caller).await;
            let err = rpc!(
                c,
                requisition_state_grant,
                requisition(2024, "0114", 0, true)
            )
            .unwrap_err();
            assert_eq!(err.code(), Code::PermissionDenied, "[{b}]");
        }
        let err = rpc!(
            vasby,
            requisition_state_grant,
            requisition(2024, "0114", 300_001, true)
        )
        .unwrap_err();
        assert_eq!(field_of(&err).as_deref(), Some("amount_kr"), "[{b}]");
        let err = rpc!(
            vasby,
            requisition_state_grant,
            requisition(2026, "0114", 0, true)
        )
        .unwrap_err();
        assert_eq!(field_of(&err).as_deref(), Some("year"), "[{b}]");
        rpc!(
            vasby,
            requisition_state_grant,
            requisition(2024, "0114", 250_000, true)
        )
        .unwrap();
        rpc!(
            ale,
            requisition_state_grant,
            requisition(2024, "1440", 100_000, false)
        )
        .unwrap();

        // Leftovers wait for every decision.
        let redistribute = RedistributeLeftoversRequest {
            request_id: new_id(),
            year: 2024,
        };
        let err = rpc!(office, redistribute_leftovers, redistribute.clone()).unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition, "[{b}]");

        // Finance decides; a municipality does not; a stale version conflicts.
        let err = rpc!(sthlm, decide_requisition, decide("0180", true, 0)).unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "[{b}]");
        let err = rpc!(office, decide_requisition, decide("0180", true, 1)).unwrap_err();
        assert_eq!(err.code(), Code::Aborted, "[{b}]");
        let e = rpc!(office, decide_requisition, decide("0180", true, 2)).unwrap();
        assert_eq!(e.paid_kr, 500_000, "[{b}]");
        let err = rpc!(office, decide_requisition, decide("0180", false, 0)).unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition, "[{b}]");
        rpc!(office, decide_requisition, decide("0114", true, 0)).unwrap();
        rpc!(office, decide_requisition, decide("1440", true, 0)).unwrap();

        // 1 000 001 − 850 000 = 150 001 kr among the two that opted in: the
        // extra krona to the lower code (0114).
        let r = rpc!(office, redistribute_leftovers, redistribute.clone()).unwrap();
        assert_eq!(
            (r.leftover_kr, r.municipalities, r.low_kr, r.high_kr),
            (150_001, 2, 75_000, 75_001),
            "[{b}]"
        );
        let shares: Vec<_> = r
            .entries
            .iter()
            .map(|e| (e.municipality_code.as_str(), e.redistributed_kr, e.paid_kr))
            .collect();
        assert_eq!(
            shares,
            vec![("0114", 75_001, 325_001), ("0180", 75_000, 575_000)],
            "[{b}]"
        );
        // Replayed by an analyst: refused before the replay; a second
        // redistribution of the year is refused.
        let mut a = h.client(analyst()).await;
        let err = rpc!(a, redistribute_leftovers, redistribute.clone()).unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "[{b}]");
        assert_eq!(
            rpc!(office, redistribute_leftovers, redistribute).unwrap(),
            r,
            "[{b}]"
        );
        let err = rpc!(
            office,
            redistribute_leftovers,
            RedistributeLeftoversRequest {
                request_id: new_id(),
                year: 2024
            }
        )
        .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition, "[{b}]");

        // Usage: at most what was paid; the rest is unused; finance reclaims it.
        let usage = |used_kr| ReportGrantUsageRequest {
            request_id: new_id(),
            year: 2024,
            municipality_code: "0114".into(),
            used_kr,
            expected_version: 0,
        };
        let err = rpc!(vasby, report_grant_usage, usage(325_002)).unwrap_err();
        assert_eq!(field_of(&err).as_deref(), Some("used_kr"), "[{b}]");
        let err = rpc!(sthlm, report_grant_usage, usage(1)).unwrap_err();
        assert_eq!(
            reason_of(&err).as_deref(),
            Some("NOT_OWN_MUNICIPALITY"),
            "[{b}]"
        );
        let e = rpc!(vasby, report_grant_usage, usage(300_000)).unwrap();
        assert_eq!(
            (e.unused_kr, e.flags.clone()),
            (25_001, vec!["unused_not_reclaimed".to_string()]),
            "[{b}]"
        );
        let reclaim = |amount_kr| ReclaimStateGrantRequest {
            request_id: new_id(),
            year: 2024,
            municipality_code: "0114".into(),
            amount_kr,
            expected_version: 0,
        };
        let err = rpc!(vasby, reclaim_state_grant, reclaim(0)).unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "[{b}]");
        let err = rpc!(office, reclaim_state_grant, reclaim(25_002)).unwrap_err();
        assert_eq!(field_of(&err).as_deref(), Some("amount_kr"), "[{b}]");
        let e = rpc!(office, reclaim_state_grant, reclaim(1)).unwrap();
        assert_eq!(e.reclaimed_kr, 1, "[{b}]");
        let e = rpc!(office, reclaim_state_grant, reclaim(0)).unwrap();
        assert_eq!((e.reclaimed_kr, e.flags.len()), (25_001, 0), "[{b}]");
        let err = rpc!(office, reclaim_state_grant, reclaim(0)).unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition, "[{b}]");
        // After a reclaim the usage report is final.
        let err = rpc!(vasby, report_grant_usage, usage(1)).unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition, "[{b}]");
        // No usage reported: nothing to reclaim.
        let mut r = reclaim(0);
        r.municipality_code = "1440".into();
        let err = rpc!(office, reclaim_state_grant, r).unwrap_err();
        assert_eq!(field_of(&err).as_deref(), Some("year"), "[{b}]");

        // The year reconciles: granted = paid = available.
        let report = rpc!(
            a,
            get_grant_report,
            GetGrantReportRequest {
                year: 2024,
                county_code: String::new(),
                municipalities: true,
            }
        )
        .unwrap();
        let y = &report.years[0];
        assert_eq!(
            (
                y.granted_kr,
                y.paid_kr,
                y.redistributed_kr,
                y.unused_kr,
                y.reclaimed_kr,
                y.difference_kr
            ),
            (1_000_001, 1_000_001, 150_001, 25_001, 25_001, 0),
            "[{b}] {y:?}"
        );
        assert!(y.flags.is_empty(), "[{b}] {y:?}");
        assert_eq!(report.municipalities.len(), 3, "[{b}]");
        // Väsby's history as Väsby sees it.
        let hist = rpc!(
            vasby,
            get_grant_history,
            GetGrantHistoryRequest {
                municipality_code: "0114".into()
            }
        )
        .unwrap();
        let e = &hist.years[0];
        assert_eq!(
            (
                e.granted_kr,
                e.requisitioned_kr,
                e.redistributed_kr,
                e.paid_kr,
                e.used_kr,
                e.reclaimed_kr
            ),
            (300_000, 250_000, 75_001, 325_001, 300_000, 25_001),
            "[{b}]"
        );
        assert_eq!(hist.municipality_name, "Upplands Väsby", "[{b}]");
    }
}
