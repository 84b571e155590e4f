//! Unexecuted decisions (ej verkställda beslut) over gRPC: reported by the
//! municipality, marked executed, counted quarterly by sex and reason.

use crate::common;

use chrono::{Datelike, Months, NaiveDate};
use common::*;
use samling_proto::registry::v1::*;
use tonic::Code;

/// The last full quarter before today: (year, quarter, first day, last day).
fn previous_quarter() -> (i32, i32, NaiveDate, NaiveDate) {
    let t = today();
    let (year, quarter) = match (t.month0() / 3 + 1) as i32 {
        1 => (t.year() - 1, 4),
        q => (t.year(), q - 1),
    };
    let start = NaiveDate::from_ymd_opt(year, (quarter as u32 - 1) * 3 + 1, 1).unwrap();
    let end = start
        .checked_add_months(Months::new(3))
        .unwrap()
        .pred_opt()
        .unwrap();
    (year, quarter, start, end)
}

fn report(
    municipality: &str,
    sex: Sex,
    reason: UnexecutedReason,
    decided: NaiveDate,
) -> ReportUnexecutedDecisionRequest {
    ReportUnexecutedDecisionRequest {
        municipality_code: municipality.into(),
        sex: sex as i32,
        decision_kind: DecisionKind::FamilyHomePlacement as i32,
        decision_date: Some(date(decided)),
        reason: reason as i32,
        ..Default::default()
    }
}

#[tokio::test]
async fn an_unexecuted_decision_is_reported_and_marked_executed() {
    for_each_backend(|h| async move {
        let mut cw = h.client(caseworker("0180")).await;
        let decided = months_ago(5);
        let d = rpc!(
            cw,
            report_unexecuted_decision,
            report(
                "0180",
                Sex::Female,
                UnexecutedReason::NoSuitableHome,
                decided
            )
        )
        .unwrap();
        assert_eq!(d.municipality_code, "0180");
        assert_eq!(
            naive(&d.reportable_from),
            decided.checked_add_months(Months::new(3)).unwrap()
        );
        assert!(d.executed_on.is_none());

        expect_invalid(
            rpc!(
                cw,
                report_unexecuted_decision,
                report(
                    "0180",
                    Sex::Female,
                    UnexecutedReason::NoSuitableHome,
                    today() + chrono::Days::new(1)
                )
            ),
            "decision_date",
        );
        expect_invalid(
            rpc!(
                cw,
                report_unexecuted_decision,
                report(
                    "0180",
                    Sex::Unspecified,
                    UnexecutedReason::NoSuitableHome,
                    decided
                )
            ),
            "sex",
        );
        expect_invalid(
            rpc!(
                cw,
                report_unexecuted_decision,
                report("0180", Sex::Male, UnexecutedReason::Unspecified, decided)
            ),
            "reason",
        );
        expect_code(
            rpc!(
                cw,
                report_unexecuted_decision,
                report("1480", Sex::Male, UnexecutedReason::NoSuitableHome, decided)
            ),
            Code::PermissionDenied,
        );
        // A decision about a child names a child of the reporting municipality.
        let theirs = h.register_child("1480", &child_pnr(10, 400)).await;
        let mut about_theirs = report("0180", Sex::Male, UnexecutedReason::NoSuitableHome, decided);
        about_theirs.child_id = theirs.id.clone();
        expect_invalid(
            rpc!(cw, report_unexecuted_decision, about_theirs),
            "child_id",
        );

        let open = rpc!(
            cw,
            list_unexecuted_decisions,
            ListUnexecutedDecisionsRequest {
                open_only: true,
                ..Default::default()
            }
        )
        .unwrap();
        assert_eq!(
            open.decisions
                .iter()
                .map(|x| x.id.as_str())
                .collect::<Vec<_>>(),
            vec![d.id.as_str()]
        );
        expect_code(
            rpc!(
                cw,
                list_unexecuted_decisions,
                ListUnexecutedDecisionsRequest {
                    municipality_code: "1480".into(),
                    ..Default::default()
                }
            ),
            Code::PermissionDenied,
        );

        let mark = |on| MarkDecisionExecutedRequest {
            decision_id: d.id.clone(),
            executed_on: Some(date(on)),
            ..Default::default()
        };
        expect_invalid(
            rpc!(
                cw,
                mark_decision_executed,
                mark(decided - chrono::Days::new(1))
            ),
            "executed_on",
        );
        expect_invalid(
            rpc!(
                cw,
                mark_decision_executed,
                mark(today() + chrono::Days::new(1))
            ),
            "executed_on",
        );
        expect_code(
            rpc!(
                h.client(caseworker("1480")).await,
                mark_decision_executed,
                mark(days_ago(3))
            ),
            // Another municipality's decision answers as a missing one.
            Code::NotFound,
        );
        let executed = rpc!(cw, mark_decision_executed, mark(days_ago(3))).unwrap();
        assert_eq!(naive(&executed.executed_on), days_ago(3));
        expect_code(
            rpc!(cw, mark_decision_executed, mark(days_ago(2))),
            Code::FailedPrecondition,
        );

        let open = rpc!(
            cw,
            list_unexecuted_decisions,
            ListUnexecutedDecisionsRequest {
                open_only: true,
                ..Default::default()
            }
        )
        .unwrap();
        assert!(open.decisions.is_empty());
        let all = rpc!(
            cw,
            list_unexecuted_decisions,
            ListUnexecutedDecisionsRequest::default()
        )
        .unwrap();
        assert_eq!(all.decisions, vec![executed]);
    })
    .await;
}

#[tokio::test]
async fn the_quarterly_report_counts_decisions_three_months_old_by_sex_and_reason() {
    for_each_backend(|h| async move {
        let (year, quarter, start, end) = previous_quarter();
        let before = |months: u32| start.checked_sub_months(Months::new(months)).unwrap();
        let mut sthlm = h.client(caseworker("0180")).await;
        let mut gbg = h.client(caseworker("1480")).await;

        // Two girls waiting for a home since well before the quarter.
        for months in [4, 5] {
            rpc!(
                sthlm,
                report_unexecuted_decision,
                report(
                    "0180",
                    Sex::Female,
                    UnexecutedReason::NoSuitableHome,
                    before(months)
                )
            )
            .unwrap();
        }
        // A boy's decision executed during the quarter, six months late.
        let late = rpc!(
            sthlm,
            report_unexecuted_decision,
            report(
                "0180",
                Sex::Male,
                UnexecutedReason::ResourceShortage,
                before(6)
            )
        )
        .unwrap();
        rpc!(
            sthlm,
            mark_decision_executed,
            MarkDecisionExecutedRequest {
                decision_id: late.id,
                executed_on: Some(date(start + chrono::Days::new(10))),
                ..Default::default()
            }
        )
        .unwrap();
        // Executed in time: not reported.
        let in_time = rpc!(
            sthlm,
            report_unexecuted_decision,
            report(
                "0180",
                Sex::Male,
                UnexecutedReason::NoSuitableHome,
                before(1)
            )
        )
        .unwrap();
        rpc!(
            sthlm,
            mark_decision_executed,
            MarkDecisionExecutedRequest {
                decision_id: in_time.id,
                executed_on: Some(date(start + chrono::Days::new(5))),
                ..Default::default()
            }
        )
        .unwrap();
        // Decided a month before the quarter's end: not yet three months old.
        rpc!(
            sthlm,
            report_unexecuted_decision,
            report(
                "0180",
                Sex::Male,
                UnexecutedReason::NoSuitableHome,
                end.checked_sub_months(Months::new(1)).unwrap()
            )
        )
        .unwrap();
        // Another municipality's decision counts nationally only.
        rpc!(
            gbg,
            report_unexecuted_decision,
            report(
                "1480",
                Sex::Female,
                UnexecutedReason::ChildOrGuardianDeclined,
                before(4)
            )
        )
        .unwrap();

        let q = |m: &str| GetQuarterlyReportRequest {
            municipality_code: m.into(),
            year,
            quarter,
        };
        let r = rpc!(sthlm, get_quarterly_report, q("0180")).unwrap();
        assert_eq!(naive(&r.quarter_end), end);
        let rows: Vec<(i32, i32, u32, u32)> = r
            .rows
            .iter()
            .map(|x| (x.sex, x.reason, x.not_executed, x.executed_late))
            .collect();
        assert_eq!(
            rows,
            vec![
                (
                    Sex::Female as i32,
                    UnexecutedReason::NoSuitableHome as i32,
                    2,
                    0
                ),
                (
                    Sex::Male as i32,
                    UnexecutedReason::ResourceShortage as i32,
                    0,
                    1
                ),
            ]
        );
        assert_eq!((r.total_not_executed, r.total_executed_late), (2, 1));

        assert_eq!(
            (
                r.total_not_executed_display.as_str(),
                r.small_counts_suppressed
            ),
            ("2", false)
        );

        // Nationally the office sees every count; an analyst none below 5.
        let raw = rpc!(h.office().await, get_quarterly_report, q("")).unwrap();
        assert_eq!((raw.total_not_executed, raw.total_executed_late), (3, 1));
        assert!(raw.rows.iter().any(|x| x.sex == Sex::Female as i32
            && x.reason == UnexecutedReason::ChildOrGuardianDeclined as i32
            && x.not_executed == 1
            && x.not_executed_display == "1"));
        let national = rpc!(h.client(analyst()).await, get_quarterly_report, q("")).unwrap();
        assert!(national.small_counts_suppressed);
        assert_eq!(
            (national.total_not_executed, national.total_executed_late),
            (0, 0)
        );
        assert_eq!(national.total_not_executed_display, "<5");
        for row in &national.rows {
            assert_eq!((row.not_executed, row.executed_late), (0, 0), "{row:?}");
            assert!(
                ["0", "<5", ".."].contains(&row.not_executed_display.as_str()),
                "{row:?}"
            );
        }

        // A municipality reads its own report only; the quarter is checked.
        expect_code(
            rpc!(sthlm, get_quarterly_report, q("1480")),
            Code::PermissionDenied,
        );
        expect_code(
            rpc!(sthlm, get_quarterly_report, q("")),
            Code::PermissionDenied,
        );
        expect_invalid(
            rpc!(
                sthlm,
                get_quarterly_report,
                GetQuarterlyReportRequest {
                    quarter: 5,
                    ..q("0180")
                }
            ),
            "quarter",
        );
        expect_invalid(
            rpc!(sthlm, get_quarterly_report, q("99")),
            "municipality_code",
        );
    })
    .await;
}

#[tokio::test]
async fn aggregate_roles_see_no_count_below_five_and_none_derivable_from_the_totals() {
    for_each_backend(|h| async move {
        let (year, quarter, start, _) = previous_quarter();
        let before = |months: u32| start.checked_sub_months(Months::new(months)).unwrap();
        let mut sthlm = h.client(caseworker("0180")).await;
        // One girl (the finding: a count of 1 with sex and reason) and six
        // boys waiting: total 7, so 7 − 6 would give the girl away.
        let mut cases = vec![(Sex::Female, 4)];
        cases.extend((0..6).map(|i| (Sex::Male, 4 + i)));
        for (sex, months) in cases {
            rpc!(
                sthlm,
                report_unexecuted_decision,
                report(
                    "0180",
                    sex,
                    UnexecutedReason::NoSuitableHome,
                    before(months)
                )
            )
            .unwrap();
        }
        let q = |m: &str| GetQuarterlyReportRequest {
            municipality_code: m.into(),
            year,
            quarter,
        };
        let figures = |r: &QuarterlyReport| -> Vec<(i32, String, u32)> {
            r.rows
                .iter()
                .map(|x| (x.sex, x.not_executed_display.clone(), x.not_executed))
                .collect()
        };
        let council = samling_kit::auth::AuthContext::new(
            "council-1",
            samling_kit::auth::Role::CouncilMember,
        );
        for ctx in [analyst(), council] {
            let mut c = h.client(ctx.clone()).await;
            // One municipality's figures are not for them (a third table to
            // difference against the region's and the nation's).
            let refused = rpc!(c, get_quarterly_report, q("0180")).unwrap_err();
            assert_eq!(refused.code(), tonic::Code::PermissionDenied, "{refused:?}");
            for m in [""] {
                let r = rpc!(c, get_quarterly_report, q(m)).unwrap();
                assert!(r.small_counts_suppressed);
                assert_eq!(
                    figures(&r),
                    vec![
                        (Sex::Female as i32, "<5".to_string(), 0),
                        (Sex::Male as i32, "..".to_string(), 0),
                    ],
                    "{:?} {m:?}",
                    ctx.role
                );
                assert_eq!(
                    (r.total_not_executed, r.total_not_executed_display.as_str()),
                    (7, "7")
                );
            }
        }
        // The municipality and the office see the counts.
        for ctx in [caseworker("0180"), office()] {
            let r = rpc!(h.client(ctx).await, get_quarterly_report, q("0180")).unwrap();
            assert!(!r.small_counts_suppressed);
            assert_eq!(
                figures(&r),
                vec![
                    (Sex::Female as i32, "1".to_string(), 1),
                    (Sex::Male as i32, "6".to_string(), 6),
                ]
            );
        }
    })
    .await;
}
