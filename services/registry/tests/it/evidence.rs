//! The evidence behind an approval (issue 24 §5, ADR 0028): completed
//! training, the standard investigation (BRA-Fam, vignettes; Kälvesten not
//! evidence-based), follow-up home visits, the register extracts' renewal
//! and its overdue list. Through gRPC, on every backend, as those who
//! record it and as those who must not.

use crate::common::*;
use samling_kit::auth::AuthContext;
use samling_proto::registry::v1::*;
use tonic::Code;

const REGION: &str = "stockholm-gotland";

fn training(home_id: &str, municipality: &str) -> RecordTrainingRequest {
    RecordTrainingRequest {
        home_id: home_id.into(),
        municipality_code: municipality.into(),
        course_name: "Ett hem att växa i".into(),
        completed_on: Some(date(days_ago(40))),
        ..Default::default()
    }
}

fn investigation(
    home_id: &str,
    municipality: &str,
    methods: &[InvestigationMethod],
) -> RecordInvestigationRequest {
    RecordInvestigationRequest {
        home_id: home_id.into(),
        municipality_code: municipality.into(),
        methods: methods.iter().map(|m| *m as i32).collect(),
        result: InvestigationResult::Suitable as i32,
        completed_on: Some(date(days_ago(35))),
        ..Default::default()
    }
}

fn visit(home_id: &str, municipality: &str) -> RecordHomeVisitRequest {
    RecordHomeVisitRequest {
        home_id: home_id.into(),
        municipality_code: municipality.into(),
        visited_on: Some(date(days_ago(2))),
        findings: vec!["Barnet trivs".into()],
        ..Default::default()
    }
}

/// Roles that record no evidence at all (whatever municipality they name).
fn not_recorders(home_id: &str) -> Vec<AuthContext> {
    let mut norr = office_in(REGION);
    norr.region = Some("norr".into());
    vec![
        norr,
        family_home(home_id),
        child_ctx(home_id),
        analyst(),
        council_member(),
        ombud(),
        national_reviewer(),
        ivo(),
    ]
}

#[tokio::test]
async fn training_and_an_evidence_based_investigation_complete_the_approvals_evidence_kalvesten_does_not()
 {
    for_each_backend_in(Some(REGION), |h| async move {
        let home = h
            .approved_home(
                draft("Utbildningsvägen 1", &adult(501)),
                "0180",
                days_ago(10),
            )
            .await;
        assert_eq!(
            home.evidence_missing,
            vec!["training", "evidence_based_investigation"]
        );
        let seq = h.events().await.last().map(|e| e.seq).unwrap_or(0);
        let mut m = h.client(manager("0180")).await;
        let trained = rpc!(m, record_training, training(&home.id, "0180")).unwrap();
        assert_eq!(trained.trainings[0].course_name, "Ett hem att växa i");
        assert_eq!(
            trained.evidence_missing,
            vec!["evidence_based_investigation"]
        );
        assert_eq!(trained.version, home.version + 1, "a new version");

        let kalvesten = rpc!(
            m,
            record_investigation,
            investigation(&home.id, "0180", &[InvestigationMethod::Kalvesten])
        )
        .unwrap();
        assert!(!kalvesten.investigation_records[0].evidence_based);
        assert_eq!(
            kalvesten.evidence_missing,
            vec!["evidence_based_investigation"]
        );

        let mut cw = h.client(caseworker("0180")).await;
        let done = rpc!(
            cw,
            record_investigation,
            investigation(
                &home.id,
                "0180",
                &[InvestigationMethod::BraFam, InvestigationMethod::Vignettes]
            )
        )
        .unwrap();
        let rec = &done.investigation_records[1];
        assert!(rec.evidence_based);
        assert_eq!(rec.result, InvestigationResult::Suitable as i32);
        assert!(
            done.evidence_missing.is_empty(),
            "{:?}",
            done.evidence_missing
        );
        // Summaries carry it (matching and the office's lists).
        let found = h
            .client(caseworker("0114"))
            .await
            .search_homes(SearchHomesRequest::default())
            .await
            .unwrap();
        assert!(
            found
                .homes
                .iter()
                .find(|s| s.id == home.id)
                .unwrap()
                .evidence_missing
                .is_empty()
        );
        // Without a link, a municipality sees that it was investigated, not the result.
        let other = h
            .client(caseworker("0114"))
            .await
            .get_home(&home.id)
            .await
            .unwrap();
        assert_eq!(other.investigation_records.len(), 2);
        assert_eq!(other.investigation_records[1].result, 0);

        // The events name methods and codes, never the result.
        let events = h.events_after(seq).await;
        let e = events
            .iter()
            .rev()
            .find(|e| e.event_type == "registry.home_investigation_recorded")
            .expect("investigation event");
        assert!(e.payload_json.contains("INVESTIGATION_METHOD_BRA_FAM"));
        assert!(!e.payload_json.contains("SUITABLE"), "{}", e.payload_json);
        assert!(
            event_types(&events).contains(&"registry.home_training_recorded"),
            "{:?}",
            event_types(&events)
        );
    })
    .await;
}

#[tokio::test]
async fn recruitments_evidence_on_the_approval_counts_without_being_copied() {
    for_each_backend_in(Some(REGION), |h| async move {
        let home = h
            .create_home(draft("Rekryteringsvägen 2", &adult(511)))
            .await;
        let mut office = h.office().await;
        rpc!(
            office,
            transition_home,
            TransitionHomeRequest {
                home_id: home.id.clone(),
                to_status: HomeStatus::UnderAssessment as i32,
                ..Default::default()
            }
        )
        .unwrap();
        let approved = rpc!(
            office,
            record_approval,
            RecordApprovalRequest {
                home_id: home.id.clone(),
                municipality_code: "0180".into(),
                decision_date: Some(date(days_ago(1))),
                decision_ref: "SN 2026/9".into(),
                evidence: Some(ApprovalEvidence {
                    recruitment_case_id: samling_kit::ids::new_id_string(),
                    course_ids: vec![samling_kit::ids::new_id_string()],
                    investigation_method: "sosfs-2012:11/standard".into(),
                    investigation_steps: vec![
                        "bra_fam_screening".into(),
                        "family_vignettes".into(),
                    ],
                    ..Default::default()
                }),
                ..Default::default()
            }
        )
        .unwrap();
        assert!(approved.evidence_missing.is_empty());
        assert!(approved.trainings.is_empty() && approved.investigation_records.is_empty());
    })
    .await;
}

#[tokio::test]
async fn evidence_is_recorded_by_the_office_or_a_linked_municipality_only() {
    for_each_backend_in(Some(REGION), |h| async move {
        let home = h
            .approved_home(
                draft("Behörighetsvägen 3", &adult(521)),
                "0180",
                days_ago(10),
            )
            .await;
        // Another municipality without a link to the home.
        let mut other = h.client(manager("0114")).await;
        for r in [
            rpc!(other, record_training, training(&home.id, "0114")).map(drop),
            rpc!(
                other,
                record_investigation,
                investigation(&home.id, "0114", &[InvestigationMethod::BraFam])
            )
            .map(drop),
            rpc!(other, record_home_visit, visit(&home.id, "0114")).map(drop),
        ] {
            let s = expect_code(r, Code::PermissionDenied);
            assert_eq!(
                s.metadata()
                    .get(samling_kit::error::REASON_METADATA_KEY)
                    .and_then(|v| v.to_str().ok()),
                Some("NO_DOCUMENTED_LINK")
            );
        }
        // A linked municipality's staff naming another municipality.
        let mut cw = h.client(caseworker("0180")).await;
        let s = expect_code(
            rpc!(cw, record_training, training(&home.id, "0114")),
            Code::PermissionDenied,
        );
        assert_eq!(
            s.metadata()
                .get(samling_kit::error::REASON_METADATA_KEY)
                .and_then(|v| v.to_str().ok()),
            Some("NOT_OWN_MUNICIPALITY")
        );
        for ctx in not_recorders(&home.id) {
            let role = ctx.role;
            let mut c = h.client(ctx).await;
            expect_code(
                rpc!(c, record_training, training(&home.id, "0180")),
                Code::PermissionDenied,
            );
            expect_code(
                rpc!(
                    c,
                    record_investigation,
                    investigation(&home.id, "0180", &[InvestigationMethod::BraFam])
                ),
                Code::PermissionDenied,
            );
            if role != samling_kit::auth::Role::Ivo {
                expect_code(
                    rpc!(c, record_home_visit, visit(&home.id, "0180")),
                    Code::PermissionDenied,
                );
            }
            expect_code(
                rpc!(
                    c,
                    list_record_checks_overdue,
                    ListOverdueHomesRequest::default()
                ),
                Code::PermissionDenied,
            );
        }
        // Bad input names its field.
        let mut m = h.client(manager("0180")).await;
        expect_invalid(
            rpc!(
                m,
                record_investigation,
                investigation(&home.id, "0180", &[])
            ),
            "methods",
        );
        let mut future = training(&home.id, "0180");
        future.completed_on = Some(date(today() + chrono::Days::new(2)));
        expect_invalid(rpc!(m, record_training, future), "completed_on");
        let mut nameless = training(&home.id, "0180");
        nameless.course_name.clear();
        expect_invalid(rpc!(m, record_training, nameless), "course_id");
        let mut no_result = investigation(&home.id, "0180", &[InvestigationMethod::Vignettes]);
        no_result.result = 0;
        expect_invalid(rpc!(m, record_investigation, no_result), "result");
        // A replay under another token is refused before the stored answer.
        let mut first = training(&home.id, "0180");
        first.request_id = "evidence-replay-1".into();
        rpc!(m, record_training, first.clone()).unwrap();
        expect_code(rpc!(other, record_training, first), Code::PermissionDenied);
    })
    .await;
}

#[tokio::test]
async fn a_placing_municipality_records_its_follow_up_visits() {
    for_each_backend_in(Some(REGION), |h| async move {
        let home = h
            .approved_home(
                draft("Uppföljningsvägen 4", &adult(531)),
                "0180",
                days_ago(60),
            )
            .await;
        // Before placing, Täby has no link to Stockholm's home.
        let mut taby = h.client(caseworker("0160")).await;
        expect_code(
            rpc!(taby, record_home_visit, visit(&home.id, "0160")),
            Code::PermissionDenied,
        );
        let c = h.register_child("0160", &child_pnr(9, 531)).await;
        h.place(caseworker("0160"), &c.id, &home.id, days_ago(30))
            .await
            .unwrap();
        let visited = rpc!(taby, record_home_visit, visit(&home.id, "0160")).unwrap();
        let v = &visited.visits[0];
        assert_eq!(v.visitor, Visitor::Municipality as i32);
        assert_eq!(v.municipality_code, "0160");
        assert_eq!(
            v.findings,
            vec!["Barnet trivs"],
            "a placing municipality sees them"
        );
        assert!(
            !visited.inspection_remarks,
            "only IVO's visits are inspections"
        );
        // The office's visit names no municipality.
        expect_invalid(
            rpc!(h.office().await, record_home_visit, visit(&home.id, "0180")),
            "municipality_code",
        );
        let office_visit = rpc!(h.office().await, record_home_visit, visit(&home.id, "")).unwrap();
        assert_eq!(
            office_visit.visits[1].visitor,
            Visitor::RegionalOffice as i32
        );
    })
    .await;
}

#[tokio::test]
async fn register_extracts_fall_due_by_the_configured_rule_and_are_listed_when_overdue() {
    for_each_backend_in(Some(REGION), |h| async move {
        let home = h
            .approved_home(draft("Utdragsvägen 5", &adult(541)), "0180", days_ago(10))
            .await;
        // The carer was never checked: due from the registration (today).
        assert_eq!(naive(&home.record_checks_due_on), today());
        assert!(!home.record_checks_overdue, "due today is not overdue");
        let mut office = h.office().await;
        let list = |as_of| ListOverdueHomesRequest {
            as_of: Some(date(as_of)),
            ..Default::default()
        };
        let tomorrow = today() + chrono::Days::new(1);
        let overdue = rpc!(office, list_record_checks_overdue, list(tomorrow)).unwrap();
        assert_eq!(overdue.homes.len(), 1);
        assert!(overdue.homes[0].record_checks_overdue);
        let none_yet = rpc!(office, list_record_checks_overdue, list(today())).unwrap();
        assert!(none_yet.homes.is_empty());

        // A check renews it for `record_check_renewal_months` (12).
        let member = home.members[0].id.clone();
        let checked = rpc!(
            office,
            record_record_check,
            RecordRecordCheckRequest {
                home_id: home.id.clone(),
                member_id: member,
                check: Some(RecordCheck {
                    checked_on: Some(date(days_ago(3))),
                    register: "belastningsregistret".into(),
                    outcome: RecordCheckOutcome::Clear as i32,
                }),
                ..Default::default()
            }
        )
        .unwrap();
        let due = naive(&checked.record_checks_due_on);
        assert_eq!(
            due,
            days_ago(3)
                .checked_add_months(chrono::Months::new(12))
                .unwrap()
        );
        assert!(
            rpc!(office, list_record_checks_overdue, list(tomorrow))
                .unwrap()
                .homes
                .is_empty()
        );
        let later = rpc!(
            office,
            list_record_checks_overdue,
            list(due + chrono::Days::new(1))
        )
        .unwrap();
        assert_eq!(later.homes[0].id, home.id);
        // The municipality filter is checked; the list is the office's.
        expect_invalid(
            rpc!(
                office,
                list_record_checks_overdue,
                ListOverdueHomesRequest {
                    municipality_code: "x".into(),
                    ..Default::default()
                }
            ),
            "municipality_code",
        );
        for ctx in [caseworker("0180"), manager("0180")] {
            expect_code(
                rpc!(
                    h.client(ctx).await,
                    list_record_checks_overdue,
                    list(tomorrow)
                ),
                Code::PermissionDenied,
            );
        }
    })
    .await;
}
