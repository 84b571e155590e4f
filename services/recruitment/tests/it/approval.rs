//! The nämnd's approval, recorded in the registry over gRPC (as the caller,
//! with its evidence) and only then on the case.

use crate::cases::ready_for_approval;
use crate::common::*;
use crate::intake::{date, events};
use samling_proto::recruitment::v1 as rec;
use samling_proto::registry::v1::*;
use tonic::Code;

/// A home in the registry under assessment (or, with `assess` false, just
/// created: not yet approvable).
pub async fn registry_home(h: &Harness, assess: bool) -> Home {
    let b = h.backend;
    let mut r = h.registry_client(office()).await;
    let created = rpc!(
        r,
        create_home,
        CreateHomeRequest {
            request_id: String::new(),
            draft: Some(HomeDraft {
                home_type: HomeType::FamilyHome as i32,
                provider: ProviderKind::Public as i32,
                municipality_code: "0180".into(),
                address: Some(Address {
                    street: "Storgatan 1".into(),
                    postal_code: "11122".into(),
                    city: "Stockholm".into(),
                }),
                members: vec![MemberDraft {
                    given_name: "Ingrid".into(),
                    family_name: "Sjöholm".into(),
                    personnummer: samling_testkit::people::adult(7),
                    role: MemberRole::Carer as i32,
                }],
                ..Default::default()
            }),
        }
    )
    .unwrap_or_else(|e| panic!("[{b}] create home: {e}"))
    .home
    .unwrap();
    if !assess {
        return created;
    }
    rpc!(
        r,
        transition_home,
        TransitionHomeRequest {
            home_id: created.id.clone(),
            to_status: HomeStatus::UnderAssessment as i32,
            reason: "home study".into(),
            ..Default::default()
        }
    )
    .unwrap_or_else(|e| panic!("[{b}] under assessment: {e}"))
}

fn approval(case_id: &str, home_id: &str, request_id: &str) -> rec::RecordApprovalRequest {
    rec::RecordApprovalRequest {
        request_id: request_id.into(),
        case_id: case_id.into(),
        registry_home_id: home_id.into(),
        municipality_code: "0180".into(),
        decision_date: Some(date(2026, 12, 1)),
        decision_ref: "SN 2026/311 §4".into(),
    }
}

#[tokio::test]
async fn the_approval_arrives_in_the_registry_with_its_evidence_then_on_the_case() {
    for (h, _b) in harnesses_with_registry(Some(REGION)).await {
        let b = h.backend;
        let home = registry_home(&h, true).await;
        let case = ready_for_approval(&h).await;
        let mut officer = h.client(office()).await;
        let approved = rpc!(
            officer,
            record_approval,
            approval(&case.id, &home.id, "ap-1")
        )
        .unwrap_or_else(|e| panic!("[{b}] approval: {e}"));
        assert_eq!(approved.status, rec::CaseStatus::Approved as i32, "[{b}]");
        assert_eq!(approved.stage, rec::Stage::Approved as i32, "[{b}]");
        let a = approved.approval.as_ref().unwrap();
        assert_eq!(a.registry_home_id, home.id, "[{b}]");
        assert_eq!(a.decision_ref, "SN 2026/311 §4", "[{b}]");
        assert_eq!(a.recorded_by, OFFICER, "[{b}]");

        // In the registry: approved, by the officer, with the evidence.
        let mut r = h.registry_client(office()).await;
        let got = rpc!(
            r,
            get_home,
            GetHomeRequest {
                home_id: home.id.clone()
            }
        )
        .unwrap();
        assert_eq!(got.status, HomeStatus::Approved as i32, "[{b}]");
        assert_eq!(got.approvals.len(), 1, "[{b}]");
        let ap = &got.approvals[0];
        assert_eq!(ap.municipality_code, "0180", "[{b}]");
        assert_eq!(ap.recorded_by, OFFICER, "[{b}] recorded as the caller");
        let ev = ap.evidence.as_ref().expect("evidence");
        assert_eq!(ev.recruitment_case_id, case.id, "[{b}]");
        assert_eq!(ev.investigation_method, "sosfs-2012:11/standard", "[{b}]");
        assert_eq!(ev.recommendation, "RECOMMENDATION_KIND_APPROVE", "[{b}]");
        for step in [
            "bra_fam_screening",
            "health",
            "references",
            "register_checks",
        ] {
            assert!(
                ev.investigation_steps.iter().any(|s| s == step),
                "[{b}] {step}: {ev:?}"
            );
        }
        assert!(ev.investigation_completed_on.is_some(), "[{b}]");

        // A retry: the first answer, and still one decision in the registry.
        let again = rpc!(
            officer,
            record_approval,
            approval(&case.id, &home.id, "ap-1")
        )
        .unwrap();
        assert_eq!(again.version, approved.version, "[{b}]");
        let got = rpc!(
            r,
            get_home,
            GetHomeRequest {
                home_id: home.id.clone()
            }
        )
        .unwrap();
        assert_eq!(got.approvals.len(), 1, "[{b}]");
        // Approved once: another decision on the case is refused here.
        let e = rpc!(
            officer,
            record_approval,
            approval(&case.id, &home.id, "ap-2")
        )
        .unwrap_err();
        assert_eq!(e.code(), Code::FailedPrecondition, "[{b}]");

        let approvals: Vec<_> = events(&h)
            .await
            .into_iter()
            .filter(|e| e.event_type == "recruitment.case_approved")
            .collect();
        assert_eq!(approvals.len(), 1, "[{b}]");
        assert!(approvals[0].payload_json.contains(&home.id), "[{b}]");
        assert!(!approvals[0].payload_json.contains("Sjöholm"), "[{b}]");
    }
}

#[tokio::test]
async fn a_registry_refusal_leaves_the_case_unchanged_and_is_passed_on() {
    for (h, _b) in harnesses_with_registry(Some(REGION)).await {
        let b = h.backend;
        // Not under assessment: the registry refuses to approve it.
        let home = registry_home(&h, false).await;
        let case = ready_for_approval(&h).await;
        let mut officer = h.client(office()).await;
        let e = rpc!(
            officer,
            record_approval,
            approval(&case.id, &home.id, "ap-1")
        )
        .unwrap_err();
        assert_eq!(e.code(), Code::FailedPrecondition, "[{b}] {e:?}");
        assert!(
            e.message().starts_with("registry: "),
            "[{b}] {}",
            e.message()
        );
        let now = rpc!(
            officer,
            get_case,
            rec::GetCaseRequest {
                case_id: case.id.clone()
            }
        )
        .unwrap();
        assert_eq!(now.version, case.version, "[{b}] unchanged");
        assert_eq!(now.stage, rec::Stage::Recommendation as i32, "[{b}]");
        assert!(now.approval.is_none(), "[{b}]");
        // A home the registry does not know: not found, passed on.
        let e = rpc!(
            officer,
            record_approval,
            approval(&case.id, "0190a0b1-0000-7000-8000-0000000000ff", "ap-2")
        )
        .unwrap_err();
        assert_eq!(e.code(), Code::NotFound, "[{b}] {e:?}");
        assert!(
            !events(&h)
                .await
                .iter()
                .any(|e| e.event_type == "recruitment.case_approved"),
            "[{b}]"
        );

        // Another municipality's manager: the case is not theirs to see.
        let mut solna = h.client(manager("0184")).await;
        let e = rpc!(
            solna,
            record_approval,
            rec::RecordApprovalRequest {
                municipality_code: "0184".into(),
                ..approval(&case.id, &home.id, "")
            }
        )
        .unwrap_err();
        assert_eq!(e.code(), Code::NotFound, "[{b}]");
        // A caseworker may not record a nämnd decision.
        let mut cw = h.client(caseworker("0180")).await;
        let e = rpc!(cw, record_approval, approval(&case.id, &home.id, "")).unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied, "[{b}]");
    }
}

#[tokio::test]
async fn without_a_registry_the_approval_is_refused_as_unavailable() {
    for (h, _b) in harnesses(Some(REGION)).await {
        let b = h.backend;
        let case = ready_for_approval(&h).await;
        let mut officer = h.client(office()).await;
        let e = rpc!(
            officer,
            record_approval,
            approval(&case.id, "0190a0b1-0000-7000-8000-0000000000ff", "")
        )
        .unwrap_err();
        assert_eq!(e.code(), Code::Unavailable, "[{b}] {e:?}");
    }
}
