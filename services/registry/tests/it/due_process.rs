//! The family home's due process (issue 24 §2, ADR 0026): structured
//! corrections applied on acceptance as a new version; appeals and second
//! opinions decided by the national reviewer, never the keeping office;
//! the home's responses shown to municipalities that may see the home;
//! overdue requests escalated and listed by the register's clock.

use crate::common::*;
use crate::restrictions::restriction;
use samling_proto::registry::v1::*;
use tonic::Code;

fn request(home_id: &str, kind: HomeRequestKind, message: &str) -> SubmitHomeRequestRequest {
    SubmitHomeRequestRequest {
        home_id: home_id.into(),
        kind: kind as i32,
        message: message.into(),
        ..Default::default()
    }
}

fn decide(id: &str, accept: bool, reason: &str, further: &str) -> DecideHomeRequestRequest {
    DecideHomeRequestRequest {
        home_request_id: id.into(),
        accept,
        reason: reason.into(),
        further_appeal: further.into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn an_accepted_correction_is_applied_as_a_new_version_and_bad_corrections_name_the_field() {
    for_each_backend(|h| async move {
        let home = h
            .approved_home(draft("Rättelsegatan 1", &adult(501)), "0180", days_ago(30))
            .await;
        let mut me = h.client(family_home(&home.id)).await;
        for (field, value, at) in [
            ("", "x", "field"),
            ("address", "Annan gata 2", "field"),
            ("capacity", "6", "field"),
            ("languages", "svenska, \u{202E}arabiska", "proposed_value"),
        ] {
            let mut r = request(&home.id, HomeRequestKind::Correction, "fel i registret");
            r.field = field.into();
            r.proposed_value = value.into();
            expect_invalid(rpc!(me, submit_home_request, r), at);
        }
        let mut r = request(
            &home.id,
            HomeRequestKind::Correction,
            "Vi talar även arabiska",
        );
        r.field = "languages".into();
        r.proposed_value = "Svenska, Arabiska".into();
        let submitted = rpc!(me, submit_home_request, r).unwrap();
        assert_eq!(submitted.proposed_value, "arabiska, svenska");
        assert!(submitted.respond_by.is_some());

        // Not the national reviewer's to decide; the office decides it.
        expect_code(
            rpc!(
                h.client(national_reviewer()).await,
                decide_home_request,
                decide(&submitted.id, true, "ok", "")
            ),
            Code::PermissionDenied,
        );
        let decided = rpc!(
            h.office().await,
            decide_home_request,
            decide(&submitted.id, true, "Stämmer med utredningen", "")
        )
        .unwrap();
        assert_eq!(decided.status, HomeRequestStatus::Accepted as i32);
        let now = h.get_home(&home.id).await;
        assert_eq!(now.languages, vec!["arabiska", "svenska"]);
        assert_eq!(now.version, home.version + 1);
        assert_eq!(decided.applied_version, now.version);
        let history = rpc!(
            h.office().await,
            get_home_history,
            GetHomeHistoryRequest {
                home_id: home.id.clone(),
                page: None
            }
        )
        .unwrap();
        let last = history.versions.last().unwrap();
        assert_eq!(last.change, "correction_applied");
        assert!(last.reason.contains(&submitted.id), "{last:?}");
        // Decided once.
        expect_code(
            rpc!(
                h.office().await,
                decide_home_request,
                decide(&submitted.id, false, "again", "")
            ),
            Code::FailedPrecondition,
        );
        // A rejected correction changes nothing.
        let mut r = request(&home.id, HomeRequestKind::Correction, "inga husdjur");
        r.field = "pets".into();
        r.proposed_value = "".into();
        let second = rpc!(me, submit_home_request, r).unwrap();
        rpc!(
            h.office().await,
            decide_home_request,
            decide(&second.id, false, "Hunden finns kvar enligt hembesök", "")
        )
        .unwrap();
        assert_eq!(h.get_home(&home.id).await.version, now.version);
    })
    .await;
}

#[tokio::test]
async fn the_keeping_office_cannot_decide_an_appeal_the_national_reviewer_does_with_how_to_appeal_further()
 {
    for_each_backend(|h| async move {
        let home = h
            .approved_home(draft("Prövningsvägen 2", &adult(511)), "0180", days_ago(30))
            .await;
        let restricted = rpc!(
            h.office().await,
            record_restriction,
            restriction(
                &home.id,
                RestrictionKind::ApprovalSuspended,
                "0180",
                "Anmälan om brister utreds"
            )
        )
        .unwrap();
        let rid = restricted.restrictions[0].id.clone();
        let mut me = h.client(family_home(&home.id)).await;
        // An appeal names a decision in force on this home.
        let mut bad = request(&home.id, HomeRequestKind::Appeal, "fel");
        bad.restriction_id = samling_kit::ids::new_id_string();
        expect_invalid(rpc!(me, submit_home_request, bad), "restriction_id");
        let mut appeal = request(&home.id, HomeRequestKind::Appeal, "Anmälan var grundlös");
        appeal.restriction_id = rid.clone();
        let appeal = rpc!(me, submit_home_request, appeal).unwrap();
        let second = rpc!(
            me,
            submit_home_request,
            request(
                &home.id,
                HomeRequestKind::SecondOpinion,
                "Vi vill ha en ny bedömning"
            )
        )
        .unwrap();

        let body = decide(
            &appeal.id,
            true,
            "Utredningen visar inga brister",
            "Överklaga till förvaltningsrätten inom tre veckor",
        );
        // The office that keeps the register (and made the decision), a
        // municipality, the home itself: refused; nothing changed.
        for (who, ctx) in [
            ("office", office_in(REGION)),
            ("service", service()),
            ("manager 0180", manager("0180")),
            ("the home", family_home(&home.id)),
            ("analyst", analyst()),
        ] {
            match rpc!(h.client(ctx).await, decide_home_request, body.clone()) {
                Err(s) if s.code() == Code::PermissionDenied => {}
                other => panic!("{who}: must be refused, got {other:?}"),
            }
        }
        assert!(h.get_home(&home.id).await.placement_blocked);
        let mut reviewer = h.client(national_reviewer()).await;
        // How to appeal further is required of the reviewer.
        expect_invalid(
            rpc!(
                reviewer,
                decide_home_request,
                decide(&appeal.id, true, "ok", "")
            ),
            "further_appeal",
        );
        // The reviewer sees appeals and second opinions, not other requests.
        let listed = rpc!(
            reviewer,
            list_home_requests,
            ListHomeRequestsRequest {
                home_id: home.id.clone(),
                ..Default::default()
            }
        )
        .unwrap();
        assert_eq!(listed.requests.len(), 2);
        let decided = rpc!(reviewer, decide_home_request, body).unwrap();
        assert_eq!(decided.status, HomeRequestStatus::Accepted as i32);
        assert_eq!(decided.decided_by, "reviewer-1");
        assert!(decided.further_appeal.contains("förvaltningsrätten"));
        // Upheld: the suspension is set aside, the home back in service,
        // and told so in a notice that says how to appeal further.
        let now = h.get_home(&home.id).await;
        assert!(!now.placement_blocked && !now.restrictions[0].in_force);
        assert_eq!(now.status, HomeStatus::Approved as i32);
        assert_eq!(decided.applied_version, now.version);
        let notices = rpc!(
            me,
            list_home_notices,
            ListHomeNoticesRequest {
                home_id: home.id.clone(),
                page: None
            }
        )
        .unwrap()
        .notices;
        let lifted = notices
            .iter()
            .find(|n| n.event == "restriction_lifted")
            .expect("a notice of the lifting");
        assert!(lifted.how_to_appeal.contains("förvaltningsrätten"));
        // A second opinion, rejected with reasons.
        let no = rpc!(
            reviewer,
            decide_home_request,
            decide(
                &second.id,
                false,
                "Bedömningen står sig",
                "Kan inte överklagas vidare"
            )
        )
        .unwrap();
        assert_eq!(no.status, HomeRequestStatus::Rejected as i32);
        assert_eq!(no.decision_reason, "Bedömningen står sig");
    })
    .await;
}

#[tokio::test]
async fn the_homes_responses_are_shown_to_municipalities_that_may_see_the_home_only() {
    for_each_backend(|h| async move {
        let home = h
            .approved_home(draft("Svarsgatan 3", &adult(521)), "0180", days_ago(30))
            .await;
        let mut me = h.client(family_home(&home.id)).await;
        let response = rpc!(
            me,
            submit_home_request,
            request(
                &home.id,
                HomeRequestKind::Response,
                "Vi har fått ny handledare"
            )
        )
        .unwrap();
        assert!(response.respond_by.is_none());
        let mut c = request(&home.id, HomeRequestKind::Correction, "fler språk");
        c.field = "languages".into();
        c.proposed_value = "finska".into();
        rpc!(me, submit_home_request, c).unwrap();
        let list = ListHomeRequestsRequest {
            home_id: home.id.clone(),
            ..Default::default()
        };
        // 0180 approved the home: it sees the home's responses (only).
        for ctx in [manager("0180"), caseworker("0180")] {
            let seen = rpc!(h.client(ctx).await, list_home_requests, list.clone()).unwrap();
            assert_eq!(seen.requests.len(), 1);
            assert_eq!(seen.requests[0].id, response.id);
            assert_eq!(seen.requests[0].message, "Vi har fått ny handledare");
        }
        // A municipality with no approval or placement there: refused.
        for ctx in [caseworker("1480"), manager("1480")] {
            expect_code(
                rpc!(h.client(ctx).await, list_home_requests, list.clone()),
                Code::PermissionDenied,
            );
        }
        // Once 1480 places a child there, it sees them too.
        let child = h.register_child("1480", &child_pnr(9, 521)).await;
        rpc!(
            h.client(manager("1480")).await,
            create_placement,
            placement(&child.id, &home.id, today())
        )
        .unwrap();
        let seen = rpc!(h.client(caseworker("1480")).await, list_home_requests, list).unwrap();
        assert_eq!(seen.requests.len(), 1);
        // The office and the home see all of them.
        let all = rpc!(
            me,
            list_home_requests,
            ListHomeRequestsRequest {
                home_id: home.id.clone(),
                ..Default::default()
            }
        )
        .unwrap();
        assert_eq!(all.requests.len(), 2);
    })
    .await;
}

#[tokio::test]
async fn a_missed_respond_by_escalates_once_and_is_listed_by_the_registers_clock() {
    for_each_backend(|h| async move {
        let home = h
            .approved_home(draft("Fristvägen 4", &adult(531)), "0180", days_ago(30))
            .await;
        let mut me = h.client(family_home(&home.id)).await;
        let second = rpc!(
            me,
            submit_home_request,
            request(
                &home.id,
                HomeRequestKind::SecondOpinion,
                "Ny bedömning, tack"
            )
        )
        .unwrap();
        let decided_in_time = rpc!(
            me,
            submit_home_request,
            request(&home.id, HomeRequestKind::SecondOpinion, "En till")
        )
        .unwrap();
        let mut reviewer = h.client(national_reviewer()).await;
        let overdue = |c: &mut samling_registry::client::RegistryClient| {
            let mut c = c.clone();
            async move {
                rpc!(
                    c,
                    list_overdue_home_requests,
                    ListOverdueHomeRequestsRequest::default()
                )
                .unwrap()
                .requests
            }
        };
        assert!(overdue(&mut reviewer).await.is_empty(), "not yet due");
        rpc!(
            reviewer,
            decide_home_request,
            decide(&decided_in_time.id, false, "Nej", "Förvaltningsrätten")
        )
        .unwrap();
        // On respond_by itself it is not yet overdue; the day after it is.
        let due = naive(&second.respond_by);
        h.clock.set(due.and_hms_opt(12, 0, 0).unwrap().and_utc());
        assert!(
            overdue(&mut reviewer).await.is_empty(),
            "due today is not overdue"
        );
        h.clock.advance(chrono::Duration::days(1));
        let seq = h.events().await.last().map(|e| e.seq).unwrap_or(0);
        let listed = overdue(&mut reviewer).await;
        assert_eq!(listed.len(), 1, "{listed:?}");
        assert_eq!(listed[0].id, second.id);
        assert_eq!(naive(&listed[0].escalated_on), due + chrono::Days::new(1));
        // Escalated once: a second look (the office's) raises no second event.
        let by_office = rpc!(
            h.office().await,
            list_overdue_home_requests,
            ListOverdueHomeRequestsRequest::default()
        )
        .unwrap();
        assert_eq!(by_office.requests.len(), 1);
        let raised: Vec<_> = h
            .events_after(seq)
            .await
            .into_iter()
            .filter(|e| e.event_type == "registry.home_request_overdue")
            .collect();
        assert_eq!(raised.len(), 1);
        assert!(raised[0].payload_json.contains(&second.id));
        assert!(!raised[0].payload_json.contains("Ny bedömning"));
        // Not for municipalities or homes.
        for ctx in [caseworker("0180"), family_home(&home.id), analyst()] {
            expect_code(
                rpc!(
                    h.client(ctx).await,
                    list_overdue_home_requests,
                    ListOverdueHomeRequestsRequest::default()
                ),
                Code::PermissionDenied,
            );
        }
        // Decided late: off the list.
        rpc!(
            reviewer,
            decide_home_request,
            decide(&second.id, true, "Ny bedömning görs", "Förvaltningsrätten")
        )
        .unwrap();
        assert!(overdue(&mut reviewer).await.is_empty());
    })
    .await;
}
