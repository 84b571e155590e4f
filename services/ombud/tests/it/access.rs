//! Independence and access, as attackers try it: another ombud, a
//! caseworker of another municipality, a child asking for another child's
//! case, a replay of someone else's request id under another token, the
//! gateway's public caller; municipality roles never read the ombud's
//! notes; every read is audited.

use crate::cases::{note, setup, to};
use crate::common::*;
use crate::reviews::{answer, review};
use samling_kit::auth::{AuthContext, PUBLIC_SUBJECT, Role};
use samling_proto::common::v1::ListAuditRequest;
use samling_proto::ombud::v1::*;
use tonic::Code;

#[tokio::test]
async fn another_ombud_is_told_nothing_of_a_childs_cases() {
    for mut h in harnesses().await {
        let bk = h.backend;
        let (child, _) = setup(&mut h).await;
        h.register("ombud-b").await;
        let mut kid = h.client(child_ctx(&child)).await;
        let c = rpc!(kid, open_case, open_req(&child, "Hemligt")).unwrap();
        let mut a = h.client(ombud_as("ombud-a")).await;
        rpc!(a, transition_case, to(&c.id, CaseState::InProgress)).unwrap();
        let r = rpc!(a, request_review, review(&c.id)).unwrap();
        let mut b = h.client(ombud_as("ombud-b")).await;
        let nf = |e: tonic::Status, what: &str| {
            assert_eq!(e.code(), Code::NotFound, "[{bk}] {what}: {e}")
        };
        nf(
            rpc!(
                b,
                get_case,
                GetCaseRequest {
                    case_id: c.id.clone()
                }
            )
            .unwrap_err(),
            "get",
        );
        nf(
            rpc!(b, add_note, note(&c.id, "x", false)).unwrap_err(),
            "note",
        );
        nf(
            rpc!(
                b,
                transition_case,
                to(&c.id, CaseState::WaitingForMunicipality)
            )
            .unwrap_err(),
            "move",
        );
        nf(
            rpc!(
                b,
                close_case,
                crate::cases::close(&c.id, CloseReason::Resolved)
            )
            .unwrap_err(),
            "close",
        );
        nf(
            rpc!(b, request_review, review(&c.id)).unwrap_err(),
            "review",
        );
        nf(
            rpc!(b, escalate_review, crate::reviews::escalate(&r.id)).unwrap_err(),
            "escalate",
        );
        nf(
            rpc!(
                b,
                list_cases,
                ListCasesRequest {
                    child_id: child.clone(),
                    page: None
                }
            )
            .unwrap_err(),
            "list",
        );
        nf(
            rpc!(
                b,
                get_assignment,
                GetAssignmentRequest {
                    child_id: child.clone()
                }
            )
            .unwrap_err(),
            "assignment",
        );
        nf(
            rpc!(b, open_case, open_req(&child, "x")).unwrap_err(),
            "open",
        );
        let mine = rpc!(b, list_my_children, ListMyChildrenRequest { page: None }).unwrap();
        assert!(mine.children.is_empty(), "[{bk}]");
        // The same NOT_FOUND as a case that does not exist: nothing told.
        let e = rpc!(b, get_case, GetCaseRequest { case_id: new_id() }).unwrap_err();
        assert_eq!(e.code(), Code::NotFound, "[{bk}]");
        h.stop().await;
    }
}

#[tokio::test]
async fn a_caseworker_of_another_municipality_is_told_nothing() {
    for mut h in harnesses().await {
        let bk = h.backend;
        let (child, _) = setup(&mut h).await;
        let mut own = h.client(caseworker(STOCKHOLM)).await;
        let c = rpc!(own, open_case, open_req(&child, "Oro")).unwrap();
        let mut a = h.client(ombud_as("ombud-a")).await;
        rpc!(a, transition_case, to(&c.id, CaseState::InProgress)).unwrap();
        let r = rpc!(a, request_review, review(&c.id)).unwrap();
        let mut solna = h.client(caseworker(SOLNA)).await;
        let mut solna_mgr = h.client(manager(SOLNA)).await;
        for (who, cl) in [("caseworker", &mut solna), ("manager", &mut solna_mgr)] {
            assert_eq!(
                rpc!(
                    *cl,
                    get_case,
                    GetCaseRequest {
                        case_id: c.id.clone()
                    }
                )
                .unwrap_err()
                .code(),
                Code::NotFound,
                "[{bk}] {who}"
            );
            assert_eq!(
                rpc!(*cl, open_case, open_req(&child, "x"))
                    .unwrap_err()
                    .code(),
                Code::NotFound,
                "[{bk}] {who}"
            );
            assert_eq!(
                rpc!(*cl, answer_review, answer(&r.id)).unwrap_err().code(),
                Code::NotFound,
                "[{bk}] {who}"
            );
            assert_eq!(
                rpc!(
                    *cl,
                    get_assignment,
                    GetAssignmentRequest {
                        child_id: child.clone()
                    }
                )
                .unwrap_err()
                .code(),
                Code::NotFound,
                "[{bk}] {who}"
            );
            let l = rpc!(
                *cl,
                list_review_requests,
                ListReviewRequestsRequest::default()
            )
            .unwrap();
            assert!(l.review_requests.is_empty(), "[{bk}] {who}");
            let e = rpc!(
                *cl,
                list_cases,
                ListCasesRequest {
                    child_id: child.clone(),
                    page: None
                }
            )
            .unwrap_err();
            assert_eq!(
                e.code(),
                Code::PermissionDenied,
                "[{bk}] {who}: municipalities never list a child's cases"
            );
        }
        h.stop().await;
    }
}

#[tokio::test]
async fn a_child_asking_for_another_childs_case_is_told_nothing() {
    for mut h in harnesses().await {
        let bk = h.backend;
        let (child, _) = setup(&mut h).await;
        let other = new_id();
        h.place(&other, &new_id()).await;
        let mut kid = h.client(child_ctx(&child)).await;
        let c = rpc!(kid, open_case, open_req(&child, "Mitt")).unwrap();
        let mut thief = h.client(child_ctx(&other)).await;
        assert_eq!(
            rpc!(
                thief,
                get_case,
                GetCaseRequest {
                    case_id: c.id.clone()
                }
            )
            .unwrap_err()
            .code(),
            Code::NotFound,
            "[{bk}]"
        );
        assert_eq!(
            rpc!(
                thief,
                list_cases,
                ListCasesRequest {
                    child_id: child.clone(),
                    page: None
                }
            )
            .unwrap_err()
            .code(),
            Code::NotFound,
            "[{bk}]"
        );
        assert_eq!(
            rpc!(
                thief,
                get_assignment,
                GetAssignmentRequest {
                    child_id: child.clone()
                }
            )
            .unwrap_err()
            .code(),
            Code::NotFound,
            "[{bk}]"
        );
        // A child never works a case.
        assert_eq!(
            rpc!(kid, add_note, note(&c.id, "x", true))
                .unwrap_err()
                .code(),
            Code::PermissionDenied,
            "[{bk}]"
        );
        assert_eq!(
            rpc!(kid, transition_case, to(&c.id, CaseState::InProgress))
                .unwrap_err()
                .code(),
            Code::PermissionDenied,
            "[{bk}]"
        );
        h.stop().await;
    }
}

#[tokio::test]
async fn a_replay_of_someone_elses_request_id_under_another_token_gets_nothing() {
    for mut h in harnesses().await {
        let bk = h.backend;
        let (child, _) = setup(&mut h).await;
        h.register("ombud-b").await;
        let other = new_id();
        h.place(&other, &new_id()).await; // ombud-b's
        let mut kid = h.client(child_ctx(&child)).await;
        let req = open_req(&child, "Första");
        let first = rpc!(kid, open_case, req.clone()).unwrap();
        // The child's own retry answers the first case.
        assert_eq!(
            rpc!(kid, open_case, req.clone()).unwrap().id,
            first.id,
            "[{bk}]"
        );
        // Another child replaying it is refused before any replay.
        let mut thief = h.client(child_ctx(&other)).await;
        assert_eq!(
            rpc!(thief, open_case, req.clone()).unwrap_err().code(),
            Code::NotFound,
            "[{bk}]"
        );
        // Another ombud replaying the ombud's note request.
        let mut a = h.client(ombud_as("ombud-a")).await;
        let n = note(&first.id, "Bara för ombudet", false);
        rpc!(a, add_note, n.clone()).unwrap();
        let mut b = h.client(ombud_as("ombud-b")).await;
        assert_eq!(
            rpc!(b, add_note, n.clone()).unwrap_err().code(),
            Code::NotFound,
            "[{bk}]"
        );
        // The same request id with another request is refused, naming it.
        let mut changed = n.clone();
        changed.text = "Annat".into();
        let e = rpc!(a, add_note, changed).unwrap_err();
        assert_eq!(
            (e.code(), field_of(&e).as_deref()),
            (Code::InvalidArgument, Some("request_id")),
            "[{bk}]"
        );
        let case = rpc!(
            a,
            get_case,
            GetCaseRequest {
                case_id: first.id.clone()
            }
        )
        .unwrap();
        assert_eq!(case.notes.len(), 1, "[{bk}] the note once");
        h.stop().await;
    }
}

#[tokio::test]
async fn every_read_is_audited_and_the_audit_log_is_the_offices() {
    for mut h in harnesses().await {
        let bk = h.backend;
        let (child, _) = setup(&mut h).await;
        let mut kid = h.client(child_ctx(&child)).await;
        let c = rpc!(kid, open_case, open_req(&child, "Läs")).unwrap();
        rpc!(
            kid,
            get_case,
            GetCaseRequest {
                case_id: c.id.clone()
            }
        )
        .unwrap();
        rpc!(
            kid,
            list_cases,
            ListCasesRequest {
                child_id: child.clone(),
                page: None
            }
        )
        .unwrap();
        let mut cw = h.client(caseworker(STOCKHOLM)).await;
        rpc!(
            cw,
            get_assignment,
            GetAssignmentRequest {
                child_id: child.clone()
            }
        )
        .unwrap();
        let mut off = h.client(office()).await;
        let log = rpc!(
            off,
            list_audit,
            ListAuditRequest {
                record_id: c.id.clone(),
                page: None
            }
        )
        .unwrap();
        let child_reads = log
            .entries
            .iter()
            .filter(|e| e.action == "read" && e.role == "child" && e.record_type == "case")
            .count();
        // The answer to the opening, the get and the list.
        assert!(
            child_reads >= 3,
            "[{bk}] {child_reads} reads of the case by the child"
        );
        let log = rpc!(
            off,
            list_audit,
            ListAuditRequest {
                record_id: child.clone(),
                page: None
            }
        )
        .unwrap();
        assert!(
            log.entries.iter().any(|e| e.action == "read"
                && e.role == "municipality_caseworker"
                && e.record_type == "assignment"),
            "[{bk}]"
        );
        for ctx in [
            caseworker(STOCKHOLM),
            ombud_as("ombud-a"),
            child_ctx(&child),
        ] {
            let mut cl = h.client(ctx).await;
            let e = rpc!(
                cl,
                list_audit,
                ListAuditRequest {
                    record_id: c.id.clone(),
                    page: None
                }
            )
            .unwrap_err();
            assert_eq!(e.code(), Code::PermissionDenied, "[{bk}]");
        }
        h.stop().await;
    }
}

#[tokio::test]
async fn the_public_caller_is_refused_everywhere() {
    for mut h in harnesses().await {
        let bk = h.backend;
        let (child, _) = setup(&mut h).await;
        let public = AuthContext::new(PUBLIC_SUBJECT, Role::Service);
        let mut p = h.client(public).await;
        let denied = |e: tonic::Status, what: &str| {
            assert_eq!(e.code(), Code::PermissionDenied, "[{bk}] {what}: {e}")
        };
        denied(
            rpc!(p, open_case, open_req(&child, "x")).unwrap_err(),
            "open",
        );
        denied(
            rpc!(p, get_case, GetCaseRequest { case_id: new_id() }).unwrap_err(),
            "get",
        );
        denied(
            rpc!(
                p,
                get_assignment,
                GetAssignmentRequest {
                    child_id: child.clone()
                }
            )
            .unwrap_err(),
            "assignment",
        );
        denied(
            rpc!(
                p,
                register_ombud,
                RegisterOmbudRequest {
                    request_id: new_id(),
                    subject: "x".into()
                }
            )
            .unwrap_err(),
            "register",
        );
        denied(
            rpc!(p, list_ombuds, ListOmbudsRequest { page: None }).unwrap_err(),
            "ombuds",
        );
        denied(
            rpc!(p, list_unassigned, ListUnassignedRequest { page: None }).unwrap_err(),
            "unassigned",
        );
        denied(
            rpc!(
                p,
                list_cases,
                ListCasesRequest {
                    child_id: child.clone(),
                    page: None
                }
            )
            .unwrap_err(),
            "cases",
        );
        denied(
            rpc!(
                p,
                list_review_requests,
                ListReviewRequestsRequest::default()
            )
            .unwrap_err(),
            "reviews",
        );
        denied(
            rpc!(
                p,
                get_ivo_complaint,
                GetIvoComplaintRequest {
                    review_request_id: new_id()
                }
            )
            .unwrap_err(),
            "complaint",
        );
        denied(
            rpc!(
                p,
                list_audit,
                ListAuditRequest {
                    record_id: String::new(),
                    page: None
                }
            )
            .unwrap_err(),
            "audit",
        );
        h.stop().await;
    }
}
