//! The unexecuted-decisions report in the form municipalities file (issue
//! 24 §7, part): sex from the child record, per type of insats and sex, the
//! two previous quarters, the running quarter provisional; the aggregate
//! roles' small counts suppressed in the new tables too.

use crate::common;

use chrono::Datelike;
use common::*;
use samling_proto::registry::v1::*;
use tonic::Code;

fn report(
    child_id: &str,
    sex: Sex,
    kind: DecisionKind,
    decided: chrono::NaiveDate,
) -> ReportUnexecutedDecisionRequest {
    ReportUnexecutedDecisionRequest {
        municipality_code: "0180".into(),
        child_id: child_id.into(),
        sex: sex as i32,
        decision_kind: kind as i32,
        decision_date: Some(date(decided)),
        reason: UnexecutedReason::NoSuitableHome as i32,
        ..Default::default()
    }
}

#[tokio::test]
async fn the_quarterly_form_takes_sex_from_the_child_and_counts_per_insats_with_two_quarters_back()
{
    for_each_backend(|h| async move {
        let kid = h.register_child("0180", &child_pnr(10, 801)).await;
        let recorded = Sex::try_from(kid.sex).unwrap();
        let other = if recorded == Sex::Female {
            Sex::Male
        } else {
            Sex::Female
        };
        let mut cw = h.client(caseworker("0180")).await;
        // Typed over the record: refused; left out: the record's.
        expect_invalid(
            rpc!(
                cw,
                report_unexecuted_decision,
                report(
                    &kid.id,
                    other,
                    DecisionKind::FamilyHomePlacement,
                    months_ago(4)
                )
            ),
            "sex",
        );
        expect_invalid(
            rpc!(
                cw,
                report_unexecuted_decision,
                report(
                    "",
                    Sex::Unspecified,
                    DecisionKind::ContactFamily,
                    months_ago(4)
                )
            ),
            "sex",
        );
        let d = rpc!(
            cw,
            report_unexecuted_decision,
            report(
                &kid.id,
                Sex::Unspecified,
                DecisionKind::FamilyHomePlacement,
                months_ago(4)
            )
        )
        .unwrap();
        assert_eq!(d.sex, recorded as i32);
        rpc!(
            cw,
            report_unexecuted_decision,
            report("", Sex::Female, DecisionKind::ContactFamily, months_ago(7))
        )
        .unwrap();
        // Another municipality cannot file for 0180.
        expect_code(
            rpc!(
                h.client(caseworker("1480")).await,
                report_unexecuted_decision,
                report(
                    &kid.id,
                    Sex::Unspecified,
                    DecisionKind::FamilyHomePlacement,
                    months_ago(4)
                )
            ),
            Code::PermissionDenied,
        );
        let (year, quarter) = (today().year(), (today().month0() / 3 + 1) as i32);
        let get = |ctx, m: &str| {
            let h = h.clone();
            let req = GetQuarterlyReportRequest {
                municipality_code: m.into(),
                year,
                quarter,
            };
            async move { rpc!(h.client(ctx).await, get_quarterly_report, req) }
        };
        let r = get(caseworker("0180"), "0180").await.unwrap();
        assert!(r.provisional, "the running quarter");
        assert_eq!(r.total_not_executed, 2);
        let kinds: Vec<(i32, i32, u32)> = r
            .kind_rows
            .iter()
            .map(|k| (k.decision_kind, k.sex, k.not_executed))
            .collect();
        let mut want = vec![
            (DecisionKind::FamilyHomePlacement as i32, recorded as i32, 1),
            (DecisionKind::ContactFamily as i32, Sex::Female as i32, 1),
        ];
        want.sort();
        assert_eq!(kinds, want);
        assert_eq!(r.previous_quarters.len(), 2);
        let prev = &r.previous_quarters[1];
        let (py, pq) = if quarter == 1 {
            (year - 1, 4)
        } else {
            (year, quarter - 1)
        };
        assert_eq!((prev.year, prev.quarter), (py, pq));
        assert!(prev.total_not_executed >= 1, "{prev:?}");
        // A past quarter is final.
        let (fy, fq) = if quarter == 1 {
            (year - 1, 3)
        } else {
            (year - 1, quarter)
        };
        let past = rpc!(
            h.client(office()).await,
            get_quarterly_report,
            GetQuarterlyReportRequest {
                municipality_code: String::new(),
                year: fy,
                quarter: fq
            }
        )
        .unwrap();
        assert!(!past.provisional);
        // Aggregate roles: the region's figures, small counts hidden in every table.
        for ctx in [analyst(), council_member()] {
            let a = get(ctx.clone(), "").await.unwrap();
            assert!(a.small_counts_suppressed);
            assert!(
                a.kind_rows
                    .iter()
                    .all(|k| k.not_executed == 0 && k.not_executed_display == "<5"),
                "{:?}",
                a.kind_rows
            );
            assert_eq!(a.previous_quarters[1].total_not_executed_display, "<5");
            expect_code(get(ctx, "0180").await, Code::PermissionDenied);
        }
        expect_code(
            get(caseworker("1480"), "0180").await,
            Code::PermissionDenied,
        );
        expect_code(get(ombud(), "").await, Code::PermissionDenied);
    })
    .await;
}
