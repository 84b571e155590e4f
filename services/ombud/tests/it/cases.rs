//! Cases (ADR 0037): every transition of the state machine and every
//! refused one, the first-contact deadline on the injectable clock, who
//! opens, what each relation sees, bad input naming its field.

use crate::common::*;
use samling_proto::ombud::v1::*;
use tonic::Code;

/// One ombud, one placed child assigned to it (returns the child and home).
pub async fn setup(h: &mut Harness) -> (String, String) {
    h.register("ombud-a").await;
    let (child, home) = (new_id(), new_id());
    h.place(&child, &home).await;
    (child, home)
}

pub fn to(case_id: &str, state: CaseState) -> TransitionCaseRequest {
    TransitionCaseRequest {
        request_id: new_id(),
        case_id: case_id.into(),
        to_state: state as i32,
        expected_version: 0,
    }
}

pub fn close(case_id: &str, reason: CloseReason) -> CloseCaseRequest {
    CloseCaseRequest {
        request_id: new_id(),
        case_id: case_id.into(),
        reason: reason as i32,
        outcome: "Umgänge varannan helg från januari.".into(),
        child_view: "Bra, men jag ville ha mer.".into(),
    }
}

pub fn note(case_id: &str, text: &str, visible: bool) -> AddNoteRequest {
    AddNoteRequest {
        request_id: new_id(),
        case_id: case_id.into(),
        text: text.into(),
        visible_to_child: visible,
    }
}

fn precondition_on(e: &tonic::Status, field: &str, bk: &str) {
    assert_eq!(e.code(), Code::FailedPrecondition, "[{bk}] {e}");
    assert_eq!(field_of(e).as_deref(), Some(field), "[{bk}] {e}");
}

#[tokio::test]
async fn every_transition_of_the_state_machine_is_audited_and_announced() {
    for mut h in harnesses().await {
        let bk = h.backend;
        let (child, _) = setup(&mut h).await;
        let mut kid = h.client(child_ctx(&child)).await;
        let mut o = h.client(ombud_as("ombud-a")).await;
        let c = rpc!(
            kid,
            open_case,
            open_req(&child, "Jag vill träffa min bror oftare.")
        )
        .unwrap();
        assert_eq!(c.state, CaseState::Open as i32, "[{bk}]");
        assert_eq!(c.opened_by, Opener::Child as i32, "[{bk}]");
        assert_eq!(c.ombud_subject, "ombud-a", "[{bk}]");
        assert!(c.opened_by_subject.is_empty(), "[{bk}] never shown");

        // OPEN → WAITING is not a move of the machine.
        let e = rpc!(
            o,
            transition_case,
            to(&c.id, CaseState::WaitingForMunicipality)
        )
        .unwrap_err();
        precondition_on(&e, "to_state", bk);
        // OPEN → IN_PROGRESS → WAITING → IN_PROGRESS → CLOSED.
        for s in [
            CaseState::InProgress,
            CaseState::WaitingForMunicipality,
            CaseState::InProgress,
        ] {
            let got = rpc!(o, transition_case, to(&c.id, s)).unwrap();
            assert_eq!(got.state, s as i32, "[{bk}]");
        }
        // IN_PROGRESS → IN_PROGRESS is refused too.
        let e = rpc!(o, transition_case, to(&c.id, CaseState::InProgress)).unwrap_err();
        precondition_on(&e, "to_state", bk);
        // A stale version is a conflict.
        let mut stale = to(&c.id, CaseState::WaitingForMunicipality);
        stale.expected_version = 1;
        assert_eq!(
            rpc!(o, transition_case, stale).unwrap_err().code(),
            Code::Aborted,
            "[{bk}]"
        );
        let closed = rpc!(o, close_case, close(&c.id, CloseReason::Resolved)).unwrap();
        assert_eq!(closed.state, CaseState::Closed as i32, "[{bk}]");
        assert_eq!(closed.close_reason, CloseReason::Resolved as i32, "[{bk}]");
        assert_eq!(closed.child_view, "Bra, men jag ville ha mer.", "[{bk}]");
        let moves: Vec<(i32, i32)> = closed.transitions.iter().map(|t| (t.from, t.to)).collect();
        use CaseState::*;
        assert_eq!(
            moves,
            vec![
                (Open as i32, InProgress as i32),
                (InProgress as i32, WaitingForMunicipality as i32),
                (WaitingForMunicipality as i32, InProgress as i32),
                (InProgress as i32, Closed as i32),
            ],
            "[{bk}]"
        );
        // CLOSED is final.
        let e = rpc!(o, transition_case, to(&c.id, CaseState::InProgress)).unwrap_err();
        precondition_on(&e, "to_state", bk);
        let e = rpc!(o, close_case, close(&c.id, CloseReason::Resolved)).unwrap_err();
        precondition_on(&e, "state", bk);
        // A request may not ask for OPEN or CLOSED.
        let e = rpc!(o, transition_case, to(&c.id, CaseState::Closed)).unwrap_err();
        assert_eq!(
            (e.code(), field_of(&e).as_deref()),
            (Code::InvalidArgument, Some("to_state")),
            "[{bk}]"
        );

        // Each move is an event and an audit entry of the case.
        let events: Vec<_> = h
            .service
            .feed
            .read_after(0, 1000)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.aggregate_id == c.id)
            .map(|e| e.event_type)
            .collect();
        assert_eq!(
            events,
            [
                "ombud.case_opened",
                "ombud.case_transitioned",
                "ombud.case_transitioned",
                "ombud.case_transitioned",
                "ombud.case_transitioned",
                "ombud.case_closed"
            ],
            "[{bk}]"
        );
        let page = samling_kit::paging::Page::first(500);
        let (audit, _) = samling_kit::audit::list(&h.service.store, &c.id, &page)
            .await
            .unwrap();
        let transitions = audit
            .iter()
            .filter(|a| a.action == "case_transitioned" && a.role == "ombud")
            .count();
        assert_eq!(transitions, 4, "[{bk}]");
        h.stop().await;
    }
}

#[tokio::test]
async fn the_first_contact_deadline_runs_on_the_injectable_clock_in_working_days() {
    for mut h in harnesses().await {
        let bk = h.backend;
        let (child, _) = setup(&mut h).await;
        let mut kid = h.client(child_ctx(&child)).await;
        // Tuesday 1 December + 3 working days: Friday 4 December.
        let c = rpc!(kid, open_case, open_req(&child, "Hjälp")).unwrap();
        assert_eq!(c.first_contact_by, date(2026, 12, 4), "[{bk}]");
        assert!(!c.first_contact_overdue, "[{bk}]");
        let get = || GetCaseRequest {
            case_id: c.id.clone(),
        };
        h.days_pass(3); // Friday: still in time.
        assert!(
            !rpc!(kid, get_case, get()).unwrap().first_contact_overdue,
            "[{bk}]"
        );
        h.days_pass(1); // Saturday: overdue.
        assert!(
            rpc!(kid, get_case, get()).unwrap().first_contact_overdue,
            "[{bk}]"
        );
        let mut o = h.client(ombud_as("ombud-a")).await;
        let taken = rpc!(o, transition_case, to(&c.id, CaseState::InProgress)).unwrap();
        assert!(!taken.first_contact_overdue, "[{bk}] taken up");
        h.stop().await;
    }
}

#[tokio::test]
async fn a_case_never_taken_up_closes_only_as_withdrawn_or_outside_mandate() {
    for mut h in harnesses().await {
        let bk = h.backend;
        let (child, _) = setup(&mut h).await;
        let mut kid = h.client(child_ctx(&child)).await;
        let mut o = h.client(ombud_as("ombud-a")).await;
        let c = rpc!(kid, open_case, open_req(&child, "Glöm det")).unwrap();
        let e = rpc!(o, close_case, close(&c.id, CloseReason::Resolved)).unwrap_err();
        precondition_on(&e, "reason", bk);
        let mut req = close(&c.id, CloseReason::WithdrawnByChild);
        req.outcome = String::new();
        let e = rpc!(o, close_case, req.clone()).unwrap_err();
        assert_eq!(
            (e.code(), field_of(&e).as_deref()),
            (Code::InvalidArgument, Some("outcome")),
            "[{bk}]"
        );
        req.outcome = "Barnet drog tillbaka ärendet.".into();
        req.child_view = String::new();
        let closed = rpc!(o, close_case, req).unwrap();
        assert_eq!(
            closed.close_reason,
            CloseReason::WithdrawnByChild as i32,
            "[{bk}]"
        );
        h.stop().await;
    }
}

#[tokio::test]
async fn who_may_open_a_case_about_a_child() {
    for mut h in harnesses().await {
        let bk = h.backend;
        let (child, home) = setup(&mut h).await;
        let other = new_id();
        h.place(&other, &new_id()).await;
        let unit = new_id();
        let openers = [
            (child_ctx(&child), Opener::Child),
            (family_home(&home), Opener::FamilyHome),
            (school_staff(&unit), Opener::School),
            (health_staff(&unit), Opener::Health),
            (caseworker(STOCKHOLM), Opener::Caseworker),
            (manager(STOCKHOLM), Opener::Caseworker),
            (ombud_as("ombud-a"), Opener::Ombud),
        ];
        for (ctx, opener) in openers {
            let role = ctx.role;
            let mut c = h.client(ctx).await;
            let got = rpc!(c, open_case, open_req(&child, "Oro"))
                .unwrap_or_else(|e| panic!("[{bk}] {role:?}: {e}"));
            assert_eq!(got.opened_by, opener as i32, "[{bk}] {role:?}");
            // The opener reads its case back (its state, never the notes).
            let back = rpc!(
                c,
                get_case,
                GetCaseRequest {
                    case_id: got.id.clone()
                }
            )
            .unwrap_or_else(|e| panic!("[{bk}] {role:?} reads back: {e}"));
            assert_eq!(back.id, got.id, "[{bk}]");
        }
        let strangers = [
            child_ctx(&other),
            family_home(&new_id()),
            caseworker(SOLNA),
            ombud_as("ombud-b"),
        ];
        for ctx in strangers {
            let role = ctx.role;
            let mut c = h.client(ctx).await;
            let e = rpc!(c, open_case, open_req(&child, "Oro")).unwrap_err();
            assert_eq!(e.code(), Code::NotFound, "[{bk}] {role:?}");
        }
        let refused = [
            guardian_ctx(&child),
            analyst(),
            ivo(),
            office(),
            national_reviewer(),
        ];
        for ctx in refused {
            let role = ctx.role;
            let mut c = h.client(ctx).await;
            let e = rpc!(c, open_case, open_req(&child, "Oro")).unwrap_err();
            assert_eq!(e.code(), Code::PermissionDenied, "[{bk}] {role:?}");
        }
        // A child the ombud service does not know: not found.
        let mut cw = h.client(caseworker(STOCKHOLM)).await;
        let e = rpc!(cw, open_case, open_req(&new_id(), "Oro")).unwrap_err();
        assert_eq!(e.code(), Code::NotFound, "[{bk}]");
        h.stop().await;
    }
}

fn guardian_ctx(child: &str) -> samling_kit::auth::AuthContext {
    samling_kit::auth::AuthContext::new("guardian-1", samling_kit::auth::Role::Guardian)
        .with_party(child)
}

#[tokio::test]
async fn the_child_sees_only_the_notes_shown_to_it_and_the_municipality_none() {
    for mut h in harnesses().await {
        let bk = h.backend;
        let (child, _) = setup(&mut h).await;
        let mut cw = h.client(caseworker(STOCKHOLM)).await;
        let mut o = h.client(ombud_as("ombud-a")).await;
        let mut kid = h.client(child_ctx(&child)).await;
        let mut off = h.client(office()).await;
        let c = rpc!(cw, open_case, open_req(&child, "Barnet vill byta skola")).unwrap();
        rpc!(o, transition_case, to(&c.id, CaseState::InProgress)).unwrap();
        rpc!(
            o,
            add_note,
            note(&c.id, "Samtal med barnet: vill byta skola.", true)
        )
        .unwrap();
        let all = rpc!(
            o,
            add_note,
            note(&c.id, "Min bedömning: skolan har brustit.", false)
        )
        .unwrap();
        assert_eq!(all.notes.len(), 2, "[{bk}] the ombud sees every note");
        let get = || GetCaseRequest {
            case_id: c.id.clone(),
        };
        let seen = rpc!(kid, get_case, get()).unwrap();
        assert_eq!(
            (
                seen.notes.len(),
                seen.notes_withheld,
                seen.notes[0].text.as_str()
            ),
            (1, 1, "Samtal med barnet: vill byta skola."),
            "[{bk}]"
        );
        rpc!(o, close_case, close(&c.id, CloseReason::PartlyResolved)).unwrap();
        for (who, client) in [("caseworker", &mut cw), ("office", &mut off)] {
            let seen = rpc!(*client, get_case, get()).unwrap();
            assert!(seen.notes.is_empty(), "[{bk}] {who}");
            assert_eq!(seen.notes_withheld, 2, "[{bk}] {who}");
            assert!(
                seen.outcome.is_empty() && seen.child_view.is_empty(),
                "[{bk}] {who}"
            );
            assert_eq!(
                seen.state,
                CaseState::Closed as i32,
                "[{bk}] {who} sees the state"
            );
        }
        let kid_view = rpc!(kid, get_case, get()).unwrap();
        assert_eq!(
            kid_view.child_view, "Bra, men jag ville ha mer.",
            "[{bk}] the child's own view"
        );
        assert!(!kid_view.outcome.is_empty(), "[{bk}]");
        // No note text in any event.
        for e in h.service.feed.read_after(0, 1000).await.unwrap() {
            assert!(
                !e.payload_json.contains("skola"),
                "[{bk}] {}",
                e.payload_json
            );
        }
        h.stop().await;
    }
}

#[tokio::test]
async fn the_child_lists_its_own_cases_and_the_ombud_its_own() {
    for mut h in harnesses().await {
        let bk = h.backend;
        let (child, _) = setup(&mut h).await;
        let other = new_id();
        h.place(&other, &new_id()).await; // also ombud-a's (the only ombud)
        let mut kid = h.client(child_ctx(&child)).await;
        let mut other_kid = h.client(child_ctx(&other)).await;
        let a = rpc!(kid, open_case, open_req(&child, "Ett")).unwrap();
        let b = rpc!(kid, open_case, open_req(&child, "Två")).unwrap();
        rpc!(other_kid, open_case, open_req(&other, "Tre")).unwrap();
        let mine = rpc!(
            kid,
            list_cases,
            ListCasesRequest {
                child_id: child.clone(),
                page: None
            }
        )
        .unwrap();
        let ids: Vec<_> = mine.cases.iter().map(|c| c.id.clone()).collect();
        assert_eq!(ids, vec![a.id.clone(), b.id.clone()], "[{bk}]");
        // Paged.
        let first = rpc!(
            kid,
            list_cases,
            ListCasesRequest {
                child_id: child.clone(),
                page: Some(samling_proto::common::v1::PageRequest {
                    page_size: 1,
                    page_token: String::new()
                }),
            }
        )
        .unwrap();
        assert_eq!(first.cases.len(), 1, "[{bk}]");
        let token = first.page.unwrap().next_page_token;
        assert!(!token.is_empty(), "[{bk}]");
        let e = rpc!(
            kid,
            list_cases,
            ListCasesRequest {
                child_id: String::new(),
                page: None
            }
        )
        .unwrap_err();
        assert_eq!(
            (e.code(), field_of(&e).as_deref()),
            (Code::InvalidArgument, Some("child_id")),
            "[{bk}]"
        );
        let mut o = h.client(ombud_as("ombud-a")).await;
        let all = rpc!(
            o,
            list_cases,
            ListCasesRequest {
                child_id: String::new(),
                page: None
            }
        )
        .unwrap();
        assert_eq!(all.cases.len(), 3, "[{bk}] the ombud's cases");
        let mut stranger = h.client(ombud_as("ombud-z")).await;
        let none = rpc!(
            stranger,
            list_cases,
            ListCasesRequest {
                child_id: String::new(),
                page: None
            }
        )
        .unwrap();
        assert!(none.cases.is_empty(), "[{bk}]");
        h.stop().await;
    }
}

#[tokio::test]
async fn bad_input_is_invalid_argument_naming_the_field() {
    for mut h in harnesses().await {
        let bk = h.backend;
        let (child, _) = setup(&mut h).await;
        let mut kid = h.client(child_ctx(&child)).await;
        let mut o = h.client(ombud_as("ombud-a")).await;
        let cases: Vec<(OpenCaseRequest, &str)> = vec![
            (
                OpenCaseRequest {
                    child_id: "not-an-id".into(),
                    ..open_req(&child, "x")
                },
                "child_id",
            ),
            (
                OpenCaseRequest {
                    category: 0,
                    ..open_req(&child, "x")
                },
                "category",
            ),
            (
                OpenCaseRequest {
                    category: 99,
                    ..open_req(&child, "x")
                },
                "category",
            ),
            (open_req(&child, "  "), "summary"),
            (open_req(&child, &"å".repeat(4001)), "summary"),
            (open_req(&child, "nul\u{0}"), "summary"),
        ];
        for (req, field) in cases {
            let e = rpc!(kid, open_case, req).unwrap_err();
            assert_eq!(
                (e.code(), field_of(&e).as_deref()),
                (Code::InvalidArgument, Some(field)),
                "[{bk}] {e}"
            );
        }
        let c = rpc!(kid, open_case, open_req(&child, "ok")).unwrap();
        let e = rpc!(o, add_note, note(&c.id, "", false)).unwrap_err();
        assert_eq!(field_of(&e).as_deref(), Some("text"), "[{bk}]");
        let e = rpc!(
            o,
            get_case,
            GetCaseRequest {
                case_id: "1".into()
            }
        )
        .unwrap_err();
        assert_eq!(field_of(&e).as_deref(), Some("case_id"), "[{bk}]");
        let mut bad = close(&c.id, CloseReason::Unspecified);
        let e = rpc!(o, close_case, bad.clone()).unwrap_err();
        assert_eq!(field_of(&e).as_deref(), Some("reason"), "[{bk}]");
        bad.reason = CloseReason::Resolved as i32;
        bad.child_view = "x".repeat(5000);
        let e = rpc!(o, close_case, bad).unwrap_err();
        assert_eq!(field_of(&e).as_deref(), Some("child_view"), "[{bk}]");
        let e = rpc!(
            kid,
            list_cases,
            ListCasesRequest {
                child_id: child.clone(),
                page: Some(samling_proto::common::v1::PageRequest {
                    page_size: 501,
                    page_token: String::new()
                }),
            }
        )
        .unwrap_err();
        assert_eq!(field_of(&e).as_deref(), Some("page.page_size"), "[{bk}]");
        h.stop().await;
    }
}
