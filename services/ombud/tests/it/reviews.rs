//! Review requests: the deadline in working days on the injectable clock,
//! an answer after it recorded as late, escalation of an overdue or late
//! request into a stored, structured IVO complaint; who asks, answers and
//! reads.

use crate::cases::{close, setup, to};
use crate::common::*;
use samling_proto::ombud::v1::*;
use tonic::Code;

pub fn review(case_id: &str) -> RequestReviewRequest {
    RequestReviewRequest {
        request_id: new_id(),
        case_id: case_id.into(),
        subject: ReviewSubject::Decision as i32,
        question: "Ompröva beslutet att begränsa umgänget med brodern.".into(),
        decision_date: date(2026, 11, 20),
    }
}

pub fn answer(id: &str) -> AnswerReviewRequest {
    AnswerReviewRequest {
        request_id: new_id(),
        review_request_id: id.into(),
        answer: ReviewAnswer::Upheld as i32,
        answer_text: "Beslutet står fast.".into(),
    }
}

pub fn escalate(id: &str) -> EscalateReviewRequest {
    EscalateReviewRequest {
        request_id: new_id(),
        review_request_id: id.into(),
        grounds: "Nämnden svarade inte i tid och barnets rätt till umgänge prövades inte.".into(),
    }
}

/// A case in progress about a placed child of ombud-a.
pub async fn case_in_progress(h: &mut Harness) -> (String, Case) {
    let (child, _) = setup(h).await;
    let mut kid = h.client(child_ctx(&child)).await;
    let mut o = h.client(ombud_as("ombud-a")).await;
    let c = rpc!(
        kid,
        open_case,
        open_req(&child, "Jag får inte träffa min bror.")
    )
    .unwrap();
    let c = rpc!(o, transition_case, to(&c.id, CaseState::InProgress)).unwrap();
    (child, c)
}

#[tokio::test]
async fn an_answer_after_the_deadline_is_late_and_the_request_is_escalated_to_ivo() {
    for mut h in harnesses().await {
        let bk = h.backend;
        let (child, c) = case_in_progress(&mut h).await;
        let mut o = h.client(ombud_as("ombud-a")).await;
        let mut cw = h.client(caseworker(STOCKHOLM)).await;
        let r = rpc!(o, request_review, review(&c.id)).unwrap();
        // Tuesday 1 December + 10 working days: Tuesday 15 December.
        assert_eq!(
            (r.sent_on, r.respond_by),
            (date(2026, 12, 1), date(2026, 12, 15)),
            "[{bk}]"
        );
        assert_eq!(
            r.municipality_code, STOCKHOLM,
            "[{bk}] the placing municipality"
        );
        assert_eq!(r.state, ReviewState::AwaitingAnswer as i32, "[{bk}]");
        let get = || GetCaseRequest {
            case_id: c.id.clone(),
        };
        assert_eq!(
            rpc!(o, get_case, get()).unwrap().state,
            CaseState::WaitingForMunicipality as i32,
            "[{bk}]"
        );
        // Not overdue yet: no escalation.
        let e = rpc!(o, escalate_review, escalate(&r.id)).unwrap_err();
        assert_eq!(
            (e.code(), field_of(&e).as_deref()),
            (Code::FailedPrecondition, Some("review_request_id")),
            "[{bk}]"
        );
        h.days_pass(14); // Tuesday 15 December: the last day.
        let listed = rpc!(
            cw,
            list_review_requests,
            ListReviewRequestsRequest::default()
        )
        .unwrap();
        assert!(!listed.review_requests[0].overdue, "[{bk}]");
        h.days_pass(2); // Thursday 17 December: two working days late.
        let listed = rpc!(
            cw,
            list_review_requests,
            ListReviewRequestsRequest::default()
        )
        .unwrap();
        assert_eq!(listed.review_requests.len(), 1, "[{bk}]");
        assert!(
            listed.review_requests[0].overdue,
            "[{bk}] the municipality sees it is overdue"
        );
        let answered = rpc!(cw, answer_review, answer(&r.id)).unwrap();
        assert!(answered.answered_late, "[{bk}]");
        assert_eq!(answered.working_days_late, 2, "[{bk}]");
        assert_eq!(answered.answered_on, date(2026, 12, 17), "[{bk}]");
        assert_eq!(answered.state, ReviewState::Answered as i32, "[{bk}]");
        assert_eq!(
            rpc!(o, get_case, get()).unwrap().state,
            CaseState::InProgress as i32,
            "[{bk}] back to the ombud"
        );
        let e = rpc!(cw, answer_review, answer(&r.id)).unwrap_err();
        assert_eq!(
            (e.code(), field_of(&e).as_deref()),
            (Code::FailedPrecondition, Some("review_request_id")),
            "[{bk}]"
        );

        let escalated = rpc!(o, escalate_review, escalate(&r.id)).unwrap();
        assert_eq!(escalated.state, ReviewState::Escalated as i32, "[{bk}]");
        assert_eq!(escalated.escalated_on, date(2026, 12, 17), "[{bk}]");
        assert!(!escalated.complaint_id.is_empty(), "[{bk}]");
        let e = rpc!(o, escalate_review, escalate(&r.id)).unwrap_err();
        assert_eq!(e.code(), Code::FailedPrecondition, "[{bk}] once");

        let want = |ivo: &IvoComplaint| {
            assert_eq!(ivo.id, escalated.complaint_id, "[{bk}]");
            assert_eq!(
                (ivo.case_id.as_str(), ivo.child_id.as_str()),
                (c.id.as_str(), child.as_str()),
                "[{bk}]"
            );
            assert_eq!(ivo.region, REGION, "[{bk}]");
            assert_eq!(ivo.municipality_code, STOCKHOLM, "[{bk}]");
            assert_eq!(ivo.ombud_subject, "ombud-a", "[{bk}]");
            assert_eq!(ivo.case_category, CaseCategory::Contact as i32, "[{bk}]");
            assert_eq!(ivo.review_subject, ReviewSubject::Decision as i32, "[{bk}]");
            assert_eq!(ivo.decision_date, date(2026, 11, 20), "[{bk}]");
            assert_eq!(
                (ivo.sent_on, ivo.respond_by, ivo.answered_on),
                (date(2026, 12, 1), date(2026, 12, 15), date(2026, 12, 17)),
                "[{bk}]"
            );
            assert_eq!(ivo.answer, ReviewAnswer::Upheld as i32, "[{bk}]");
            assert_eq!(ivo.working_days_late, 2, "[{bk}]");
            assert!(ivo.question.starts_with("Ompröva beslutet"), "[{bk}]");
            assert!(ivo.grounds.starts_with("Nämnden svarade inte"), "[{bk}]");
        };
        let req = || GetIvoComplaintRequest {
            review_request_id: r.id.clone(),
        };
        want(&rpc!(o, get_ivo_complaint, req()).unwrap());
        let mut ivo_reader = h.client(ivo()).await;
        want(&rpc!(ivo_reader, get_ivo_complaint, req()).unwrap());
        let mut off = h.client(office()).await;
        want(&rpc!(off, get_ivo_complaint, req()).unwrap());
        assert_eq!(
            rpc!(cw, get_ivo_complaint, req()).unwrap_err().code(),
            Code::PermissionDenied,
            "[{bk}]"
        );
        let mut other = h.client(ombud_as("ombud-z")).await;
        assert_eq!(
            rpc!(other, get_ivo_complaint, req()).unwrap_err().code(),
            Code::NotFound,
            "[{bk}]"
        );

        // The case closes with its outcome.
        let closed = rpc!(o, close_case, close(&c.id, CloseReason::EscalatedToIvo)).unwrap();
        assert_eq!(closed.state, CaseState::Closed as i32, "[{bk}]");
        let kinds: Vec<String> = h
            .service
            .feed
            .read_after(0, 1000)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.event_type)
            .filter(|t| t.contains("review"))
            .collect();
        assert_eq!(
            kinds,
            [
                "ombud.review_requested",
                "ombud.review_answered",
                "ombud.review_escalated"
            ],
            "[{bk}]"
        );
        h.stop().await;
    }
}

#[tokio::test]
async fn an_unanswered_overdue_request_is_escalated_and_holds_the_case_open_until_then() {
    for mut h in harnesses().await {
        let bk = h.backend;
        let (_, c) = case_in_progress(&mut h).await;
        let mut o = h.client(ombud_as("ombud-a")).await;
        let mut cw = h.client(caseworker(STOCKHOLM)).await;
        let mut req = review(&c.id);
        req.subject = ReviewSubject::Handling as i32;
        req.decision_date = None;
        let r = rpc!(o, request_review, req).unwrap();
        let e = rpc!(o, close_case, close(&c.id, CloseReason::Resolved)).unwrap_err();
        assert_eq!(
            (e.code(), field_of(&e).as_deref()),
            (Code::FailedPrecondition, Some("reason")),
            "[{bk}]"
        );
        h.days_pass(20); // Monday 21 December: 4 working days late.
        let escalated = rpc!(o, escalate_review, escalate(&r.id)).unwrap();
        assert_eq!(escalated.state, ReviewState::Escalated as i32, "[{bk}]");
        let ivo = rpc!(
            o,
            get_ivo_complaint,
            GetIvoComplaintRequest {
                review_request_id: r.id.clone()
            }
        )
        .unwrap();
        assert_eq!(ivo.answered_on, None, "[{bk}] never answered");
        assert_eq!(ivo.working_days_late, 4, "[{bk}]");
        // The municipality's answer still comes in, late; the request stays escalated.
        let late = rpc!(cw, answer_review, answer(&r.id)).unwrap();
        assert!(late.answered_late, "[{bk}]");
        assert_eq!(late.state, ReviewState::Escalated as i32, "[{bk}]");
        h.stop().await;
    }
}

#[tokio::test]
async fn review_requests_are_asked_answered_and_listed_by_the_right_parties_only() {
    for mut h in harnesses().await {
        let bk = h.backend;
        let (child, c) = case_in_progress(&mut h).await;
        let mut o = h.client(ombud_as("ombud-a")).await;
        // A case not yet taken up sends nothing.
        let mut kid = h.client(child_ctx(&child)).await;
        let fresh = rpc!(kid, open_case, open_req(&child, "Till")).unwrap();
        let e = rpc!(o, request_review, review(&fresh.id)).unwrap_err();
        assert_eq!(
            (e.code(), field_of(&e).as_deref()),
            (Code::FailedPrecondition, Some("case_id")),
            "[{bk}]"
        );
        let mut no_date = review(&c.id);
        no_date.decision_date = None;
        let e = rpc!(o, request_review, no_date).unwrap_err();
        assert_eq!(
            (e.code(), field_of(&e).as_deref()),
            (Code::InvalidArgument, Some("decision_date")),
            "[{bk}]"
        );
        let mut future = review(&c.id);
        future.decision_date = date(2027, 1, 1);
        let e = rpc!(o, request_review, future).unwrap_err();
        assert_eq!(field_of(&e).as_deref(), Some("decision_date"), "[{bk}]");
        let mut bad = review(&c.id);
        bad.decision_date = date(2026, 2, 30);
        let e = rpc!(o, request_review, bad).unwrap_err();
        assert_eq!(
            (e.code(), field_of(&e).as_deref()),
            (Code::InvalidArgument, Some("decision_date")),
            "[{bk}]"
        );
        let e = rpc!(
            o,
            request_review,
            RequestReviewRequest {
                subject: 0,
                ..review(&c.id)
            }
        )
        .unwrap_err();
        assert_eq!(field_of(&e).as_deref(), Some("subject"), "[{bk}]");

        let r = rpc!(o, request_review, review(&c.id)).unwrap();
        // Only the municipality it is addressed to answers; others are told nothing.
        let mut solna = h.client(caseworker(SOLNA)).await;
        assert_eq!(
            rpc!(solna, answer_review, answer(&r.id))
                .unwrap_err()
                .code(),
            Code::NotFound,
            "[{bk}]"
        );
        let listed = rpc!(
            solna,
            list_review_requests,
            ListReviewRequestsRequest::default()
        )
        .unwrap();
        assert!(listed.review_requests.is_empty(), "[{bk}]");
        assert_eq!(
            rpc!(o, answer_review, answer(&r.id)).unwrap_err().code(),
            Code::PermissionDenied,
            "[{bk}]"
        );
        let mut kid2 = h.client(child_ctx(&child)).await;
        assert_eq!(
            rpc!(kid2, answer_review, answer(&r.id)).unwrap_err().code(),
            Code::PermissionDenied,
            "[{bk}]"
        );
        let mut m = h.client(manager(STOCKHOLM)).await;
        let e = rpc!(
            m,
            answer_review,
            AnswerReviewRequest {
                answer: 0,
                ..answer(&r.id)
            }
        )
        .unwrap_err();
        assert_eq!(field_of(&e).as_deref(), Some("answer"), "[{bk}]");
        let on_time = rpc!(m, answer_review, answer(&r.id)).unwrap();
        assert!(!on_time.answered_late, "[{bk}]");
        assert_eq!(on_time.working_days_late, 0, "[{bk}]");
        // Answered in time: nothing to escalate.
        let e = rpc!(o, escalate_review, escalate(&r.id)).unwrap_err();
        assert_eq!(e.code(), Code::FailedPrecondition, "[{bk}]");
        // The ombud lists its case's requests, and all of its own.
        let of_case = rpc!(
            o,
            list_review_requests,
            ListReviewRequestsRequest {
                case_id: c.id.clone(),
                page: None
            }
        )
        .unwrap();
        assert_eq!(of_case.review_requests.len(), 1, "[{bk}]");
        let all = rpc!(
            o,
            list_review_requests,
            ListReviewRequestsRequest::default()
        )
        .unwrap();
        assert_eq!(all.review_requests.len(), 1, "[{bk}]");
        let mut z = h.client(ombud_as("ombud-z")).await;
        let none = rpc!(
            z,
            list_review_requests,
            ListReviewRequestsRequest::default()
        )
        .unwrap();
        assert!(none.review_requests.is_empty(), "[{bk}]");
        let e = rpc!(
            z,
            list_review_requests,
            ListReviewRequestsRequest {
                case_id: c.id.clone(),
                page: None
            }
        )
        .unwrap_err();
        assert_eq!(e.code(), Code::NotFound, "[{bk}]");
        h.stop().await;
    }
}
