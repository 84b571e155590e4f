//! Funnel statistics: exact figures for the office, counts below 5 shown as
//! "<5" for the aggregate roles; no one else sees them.

use crate::common::*;
use crate::stages::*;
use chrono::Duration;
use samling_kit::dates;
use samling_kit::error::REASON_METADATA_KEY;
use samling_proto::recruitment::v1::*;
use tonic::Code;

/// A case of `municipality` received on `on` that passed its stages up to
/// `upto` of the standard track (1 = inquired only … 5 = approved), each a
/// week apart, or dropped out after the last one passed.
async fn funnel_case(h: &Harness, municipality: &str, upto: usize, dropped: bool) {
    let on = d(2026, 10, 5);
    let (mut c, _) = standard_case(h, municipality, on).await;
    let stages = [
        Stage::Inquiry,
        Stage::InfoMeeting,
        Stage::Training,
        Stage::Investigation,
        Stage::Recommendation,
    ];
    // inquired(1) → met(2: info meeting passed) → trained(3) → investigated(4)
    c.stages.clear();
    for (i, s) in stages.iter().enumerate() {
        let entered = on + Duration::weeks(i as i64);
        let passed = match i {
            0 => upto >= 2,
            1..=3 => i < upto,
            _ => upto == 5,
        };
        c.stages.push(StageEntry {
            stage: *s as i32,
            entered_on: Some(dates::to_proto(entered)),
            left_on: passed.then(|| dates::to_proto(entered + Duration::weeks(1))),
            outcome: if passed {
                StageOutcome::Passed as i32
            } else {
                StageOutcome::Unspecified as i32
            },
            ..Default::default()
        });
        if !passed {
            c.stage = *s as i32;
            break;
        }
    }
    if upto == 5 {
        c.stage = Stage::Approved as i32;
        c.status = CaseStatus::Approved as i32;
        c.approval = Some(ApprovalRecord {
            registry_home_id: samling_kit::ids::new_id_string(),
            municipality_code: municipality.into(),
            decision_date: Some(dates::to_proto(on + Duration::weeks(5))),
            decision_ref: "SN".into(),
            ..Default::default()
        });
    } else if dropped {
        c.status = CaseStatus::DroppedOut as i32;
        c.drop_out = Some(DropOut {
            reason: DropOutReason::ChangedMind as i32,
            at_stage: c.stage,
            on: Some(dates::to_proto(on + Duration::weeks(upto as i64))),
            initiated_by: DropOutInitiator::Applicant as i32,
        });
    }
    save(h, &c, false).await;
}

fn request(municipality: &str) -> GetFunnelStatisticsRequest {
    GetFunnelStatisticsRequest {
        municipality_code: municipality.into(),
        from: Some(day(2026, 10, 1)),
        to: Some(day(2026, 10, 31)),
        track: Track::Unspecified as i32,
    }
}

fn step(s: &FunnelStatistics, step: FunnelStep) -> &FunnelStepFigure {
    s.steps.iter().find(|f| f.step == step as i32).unwrap()
}

#[tokio::test]
async fn the_office_sees_exact_figures_and_the_aggregate_roles_see_small_counts_as_under_five() {
    for (h, _b) in harnesses(None).await {
        // Stockholm: 8 inquiries, 7 met, 6 trained, 4 investigated, 3
        // approved; 2 dropped out. Solna: 1 inquiry (outside the cohort of
        // a Stockholm request).
        for (upto, dropped) in [
            (5, false),
            (5, false),
            (5, false),
            (4, false),
            (3, true),
            (3, false),
            (2, false),
            (1, true),
        ] {
            funnel_case(&h, "0180", upto, dropped).await;
        }
        funnel_case(&h, "0184", 1, false).await;
        // Received outside the period: not in the cohort.
        let (_late, _) = standard_case(&h, "0180", d(2026, 11, 20)).await;

        let mut office = h.client(office()).await;
        let exact = rpc!(office, get_funnel_statistics, request("0180"))
            .unwrap_or_else(|e| panic!("[{}] office: {e}", h.backend));
        assert!(!exact.small_counts_suppressed);
        assert_eq!(exact.municipality_code, "0180");
        let counts: Vec<u32> = exact.steps.iter().map(|f| f.count).collect();
        assert_eq!(counts, vec![8, 7, 6, 4, 3], "[{}]", h.backend);
        assert_eq!(step(&exact, FunnelStep::Approved).count_display, "3");
        assert_eq!(exact.total_drop_outs, 2);
        assert_eq!(step(&exact, FunnelStep::Met).median_days, 14);
        assert_eq!(step(&exact, FunnelStep::Trained).median_days, 7);
        let region = rpc!(office, get_funnel_statistics, request("")).unwrap();
        assert_eq!(
            step(&region, FunnelStep::Inquired).count,
            9,
            "[{}]",
            h.backend
        );

        for ctx in [analyst(), council_member(), manager("0180")] {
            let mut c = h.client(ctx.clone()).await;
            let s = rpc!(c, get_funnel_statistics, request("0180"))
                .unwrap_or_else(|e| panic!("[{}] {:?}: {e}", h.backend, ctx.role));
            assert!(s.small_counts_suppressed);
            assert_eq!(step(&s, FunnelStep::Inquired).count_display, "8");
            assert_eq!(step(&s, FunnelStep::Trained).count_display, "6");
            for small in [FunnelStep::Investigated, FunnelStep::Approved] {
                let f = step(&s, small);
                assert_eq!(f.count_display, "<5", "[{}] {small:?}", h.backend);
                assert_eq!(f.count, 0, "[{}] a hidden count is 0", h.backend);
            }
            assert_eq!(s.total_drop_outs_display, "<5");
            assert!(
                s.drop_outs.iter().all(|d| d.count_display != "1"),
                "{:?}",
                s.drop_outs
            );
            // Medians over fewer than 5 cases are not shown.
            assert_eq!(step(&s, FunnelStep::Approved).median_days_display, "..");
        }

        // A manager sees its own municipality only; nobody else sees any.
        let mut m = h.client(manager("0184")).await;
        let err = rpc!(m, get_funnel_statistics, request("0180")).unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "[{}]", h.backend);
        assert_eq!(
            err.metadata()
                .get(REASON_METADATA_KEY)
                .and_then(|v| v.to_str().ok()),
            Some("NOT_OWN_MUNICIPALITY")
        );
        let own = rpc!(m, get_funnel_statistics, request("")).unwrap();
        assert_eq!(own.municipality_code, "0184");
        assert_eq!(step(&own, FunnelStep::Inquired).count_display, "<5");
        for ctx in [
            caseworker("0180"),
            family_home("0190a0b1-0000-7000-8000-0000000000f1"),
            ombud(),
        ] {
            let mut c = h.client(ctx).await;
            let err = rpc!(c, get_funnel_statistics, request("0180")).unwrap_err();
            assert_eq!(err.code(), Code::PermissionDenied, "[{}]", h.backend);
        }
        let err = rpc!(
            office,
            get_funnel_statistics,
            GetFunnelStatisticsRequest {
                from: Some(day(2026, 10, 31)),
                to: Some(day(2026, 10, 1)),
                ..Default::default()
            }
        )
        .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "[{}]", h.backend);
    }
}

/// The dashboards' tables (issue 25, ADR 0050): how far each household got
/// (a partition: each once), the mean days to each step; small counts
/// suppressed for the aggregate roles; other roles refused.
#[tokio::test]
async fn the_dashboard_tables_count_each_household_once_at_its_furthest_step() {
    use samling_proto::statistics::v1::{GetStatisticsRequest, StatTable};
    for (h, _b) in harnesses(None).await {
        for (upto, dropped) in [
            (5, false),
            (5, false),
            (5, false),
            (4, false),
            (3, true),
            (3, false),
            (2, false),
            (1, true),
        ] {
            funnel_case(&h, "0180", upto, dropped).await;
        }
        funnel_case(&h, "0184", 1, false).await;
        let req = |municipality: &str| GetStatisticsRequest {
            municipality: municipality.into(),
            from: Some(day(2026, 10, 1)),
            to: Some(day(2026, 12, 31)),
            ..Default::default()
        };
        let values =
            |t: &StatTable| -> Vec<i64> { t.rows.iter().map(|r| r.cells[0].value).collect() };
        let mut office = h.client(office()).await;
        let s = rpc!(office, get_statistics, req("0180")).unwrap();
        assert_eq!(s.tables[0].id, "recruitment.funnel");
        // inquired only, met, trained, investigated, approved; all 8.
        assert_eq!(
            values(&s.tables[0]),
            vec![1, 1, 2, 1, 3, 8],
            "[{}]",
            h.backend
        );
        // Met two weeks after the inquiry (7 households), trained one week later.
        let days = &s.tables[1];
        assert_eq!(days.rows[0].key, "met");
        assert_eq!(
            (
                days.rows[0].cells[0].value,
                days.rows[0].cells[0].denominator
            ),
            (14, 7)
        );
        assert_eq!(days.rows[1].cells[0].value, 7);
        let region = rpc!(office, get_statistics, req("")).unwrap();
        assert_eq!(values(&region.tables[0]), vec![2, 1, 2, 1, 3, 9]);

        for ctx in [analyst(), council_member()] {
            let mut c = h.client(ctx).await;
            let s = rpc!(c, get_statistics, req("")).unwrap();
            for row in s.tables[0].rows.iter().filter(|r| !r.total) {
                assert_eq!(row.cells[0].display, "<5", "[{}] {}", h.backend, row.key);
                assert_eq!(row.cells[0].value, 0);
            }
            // 7 households met: enough for a mean; 4 investigated: not.
            assert_eq!(s.tables[1].rows[0].cells[0].display, "14");
            let investigated = s.tables[1]
                .rows
                .iter()
                .find(|r| r.key == "investigated")
                .unwrap();
            assert_eq!(investigated.cells[0].display, "..");
            assert_eq!(investigated.cells[0].denominator, 0);
            // One municipality's figures: not for these roles.
            let e = rpc!(c, get_statistics, req("0180")).unwrap_err();
            assert_eq!(e.code(), Code::PermissionDenied);
        }
        for ctx in [manager("0180"), caseworker("0180")] {
            let mut c = h.client(ctx).await;
            let e = rpc!(c, get_statistics, req("0180")).unwrap_err();
            assert_eq!(e.code(), Code::PermissionDenied, "[{}]", h.backend);
        }
        let mut bad = req("");
        bad.to = Some(day(2026, 9, 1));
        let e = rpc!(office, get_statistics, bad).unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument);
        assert_eq!(
            e.metadata()
                .get("samling-field")
                .and_then(|v| v.to_str().ok()),
            Some("to")
        );
    }
}
