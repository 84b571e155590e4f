//! The rights follow-up (issue 23 §6, ADR 0046): from real placements
//! (the registry's feed) and the portfolio's `portfolio.deadline` events
//! (its feed, followed by the real consumer), the assigned ombud's worklist
//! with overdue items first; the ombud's own item, talks with the child;
//! one `ombud.follow_up_overdue` per change; suppressed counts.

use crate::cases::setup;
use crate::common::*;
use samling_proto::ombud::v1::*;
use tonic::Code;

async fn alerts(h: &Harness) -> Vec<serde_json::Value> {
    h.service
        .feed
        .read_after(0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.event_type == "ombud.follow_up_overdue")
        .map(|e| serde_json::from_str(&e.payload_json).unwrap())
        .collect()
}

fn worklist(child: &str, overdue_only: bool) -> ListFollowUpRequest {
    ListFollowUpRequest {
        overdue_only,
        child_id: child.into(),
        page: None,
    }
}

fn item<'a>(f: &'a ChildFollowUp, code: &str) -> &'a FollowUpItem {
    f.items
        .iter()
        .find(|i| i.item == code)
        .unwrap_or_else(|| panic!("no item {code} in {f:?}"))
}

fn talk(child: &str, with: TalkWith, y: i32, m: i32, d: i32) -> RecordTalkRequest {
    RecordTalkRequest {
        request_id: new_id(),
        child_id: child.into(),
        held_on: date(y, m, d),
        with: with as i32,
    }
}

fn run(y: i32, m: i32, d: i32) -> RunFollowUpRequest {
    RunFollowUpRequest {
        request_id: new_id(),
        as_of: date(y, m, d),
    }
}

#[tokio::test]
async fn talks_with_the_child_are_due_then_overdue_and_met_after_a_recorded_talk() {
    for mut h in harnesses().await {
        let bk = h.backend;
        // Placed on 2026-11-01 (the event's start date); today 2026-12-01.
        let (child, _) = setup(&mut h).await;
        let mut a = h.client(ombud_as("ombud-a")).await;
        let list = rpc!(a, list_follow_up, worklist("", false)).unwrap();
        assert_eq!(list.children.len(), 1, "[{bk}]");
        let t = item(&list.children[0], "talks_with_child");
        assert_eq!(t.state, FollowUpState::Due as i32, "[{bk}] {t:?}");
        assert_eq!(t.due_on, date(2026, 12, 1), "[{bk}]");
        assert_eq!(t.source, FollowUpSource::Ombud as i32, "[{bk}]");
        // No word from the portfolio yet, within the days: upcoming.
        let exam = item(&list.children[0], "health_examination_physical");
        assert_eq!(exam.state, FollowUpState::Upcoming as i32, "[{bk}]");

        // The office's run as of today raises nothing; a day later the
        // talk is overdue: one alert, and a second run raises no other.
        let mut office = h.client(office()).await;
        let r = rpc!(office, run_follow_up, run(2026, 12, 1)).unwrap();
        assert_eq!((r.children, r.alerts_raised), (1, 0), "[{bk}]");
        h.days_pass(1);
        let r = rpc!(office, run_follow_up, run(2026, 12, 2)).unwrap();
        assert_eq!(r.alerts_raised, 1, "[{bk}]");
        let r = rpc!(office, run_follow_up, run(2026, 12, 2)).unwrap();
        assert_eq!(r.alerts_raised, 0, "[{bk}]");
        let raised = alerts(&h).await;
        assert_eq!(raised.len(), 1, "[{bk}]");
        assert_eq!(
            raised[0],
            serde_json::json!({"child_id": child, "item": "talks_with_child", "due_on": "2026-12-01"}),
            "[{bk}] ids and codes only"
        );
        let list = rpc!(a, list_follow_up, worklist("", true)).unwrap();
        let f = &list.children[0];
        // Overdue first; the health examination with no data is "unknown".
        assert_eq!(f.items[0].item, "talks_with_child", "[{bk}] {f:?}");
        assert_eq!(f.items[0].state, FollowUpState::Overdue as i32, "[{bk}]");
        assert_eq!(f.overdue, 1, "[{bk}]");
        let all = rpc!(a, list_follow_up, worklist(&child, false)).unwrap();
        assert_eq!(
            item(&all.children[0], "health_examination_oral").state,
            FollowUpState::Unknown as i32,
            "[{bk}] never shown as met without data"
        );

        // The placing caseworker records its talk: met, due in six months.
        let mut cw = h.client(caseworker(STOCKHOLM)).await;
        // Not the ombud's talk, not a future one.
        let e = rpc!(cw, record_talk, talk(&child, TalkWith::Ombud, 2026, 12, 2)).unwrap_err();
        assert_eq!(
            (e.code(), field_of(&e).as_deref()),
            (Code::InvalidArgument, Some("with")),
            "[{bk}]"
        );
        let e = rpc!(
            cw,
            record_talk,
            talk(&child, TalkWith::Caseworker, 2026, 12, 9)
        )
        .unwrap_err();
        assert_eq!(field_of(&e).as_deref(), Some("held_on"), "[{bk}]");
        let req = talk(&child, TalkWith::Caseworker, 2026, 12, 2);
        let t = rpc!(cw, record_talk, req.clone()).unwrap();
        assert_eq!(t.child_id, child, "[{bk}]");
        // The same request id under another municipality's token: refused
        // before the replay, never the first caller's answer.
        let mut solna = h.client(caseworker(SOLNA)).await;
        assert_eq!(
            rpc!(solna, record_talk, req).unwrap_err().code(),
            Code::NotFound,
            "[{bk}]"
        );
        let list = rpc!(a, list_follow_up, worklist("", false)).unwrap();
        let t = item(&list.children[0], "talks_with_child");
        assert_eq!(t.state, FollowUpState::Met as i32, "[{bk}] {t:?}");
        assert_eq!(t.due_on, date(2027, 6, 2), "[{bk}]");
        assert!(
            rpc!(a, list_follow_up, worklist("", true))
                .unwrap()
                .children
                .is_empty(),
            "[{bk}] nothing overdue"
        );
        // Another municipality may not record a talk with the child.
        assert_eq!(
            rpc!(
                solna,
                record_talk,
                talk(&child, TalkWith::Caseworker, 2026, 12, 2)
            )
            .unwrap_err()
            .code(),
            Code::NotFound,
            "[{bk}]"
        );

        // Six months and a day later it is overdue again: a new alert.
        let r = rpc!(office, run_follow_up, run(2027, 6, 3)).unwrap();
        assert_eq!(r.alerts_raised, 1, "[{bk}]");
        let raised = alerts(&h).await;
        assert_eq!(raised.len(), 2, "[{bk}]");
        assert_eq!(raised[1]["due_on"], "2027-06-02", "[{bk}]");
        // Only the office runs it.
        assert_eq!(
            rpc!(a, run_follow_up, run(2027, 6, 3)).unwrap_err().code(),
            Code::PermissionDenied,
            "[{bk}]"
        );
        h.stop().await;
    }
}

#[tokio::test]
async fn a_portfolio_deadline_shows_on_the_ombuds_worklist_alerts_once_and_is_cleared_when_met() {
    for mut h in harnesses().await {
        let bk = h.backend;
        let (child, _) = setup(&mut h).await;
        let mut a = h.client(ombud_as("ombud-a")).await;
        let dead = h
            .publish_portfolio(vec![deadline(
                &child,
                "six_month_review",
                "overdue",
                "2026-11-28",
            )])
            .await;
        assert_eq!(dead, 0, "[{bk}]");
        let list = rpc!(a, list_follow_up, worklist("", true)).unwrap();
        assert_eq!(list.children.len(), 1, "[{bk}]");
        let r = item(&list.children[0], "six_month_review");
        assert_eq!(
            (r.state, r.due_on, r.source),
            (
                FollowUpState::Overdue as i32,
                date(2026, 11, 28),
                FollowUpSource::Portfolio as i32
            ),
            "[{bk}]"
        );
        let raised = alerts(&h).await;
        assert_eq!(raised.len(), 1, "[{bk}]");
        assert_eq!(
            raised[0],
            serde_json::json!({"child_id": child, "item": "six_month_review", "due_on": "2026-11-28"}),
            "[{bk}]"
        );

        // Met: the item clears, no new alert; an unknown item code is kept.
        h.publish_portfolio(vec![
            deadline(&child, "six_month_review", "met", "2026-11-28"),
            deadline(&child, "dental", "due", "2026-12-20"),
        ])
        .await;
        let list = rpc!(a, list_follow_up, worklist(&child, false)).unwrap();
        assert_eq!(
            item(&list.children[0], "six_month_review").state,
            FollowUpState::Met as i32,
            "[{bk}]"
        );
        assert_eq!(
            item(&list.children[0], "dental").state,
            FollowUpState::Due as i32,
            "[{bk}]"
        );
        assert_eq!(alerts(&h).await.len(), 1, "[{bk}]");

        // An older event delivered late (a lower feed sequence) changes
        // nothing.
        let mut tx = h.service.store.begin_write().await.unwrap();
        let stale = samling_proto::common::v1::Event {
            seq: 1,
            id: new_id(),
            event_type: "portfolio.deadline".into(),
            aggregate_type: "child".into(),
            aggregate_id: child.clone(),
            occurred_at: String::new(),
            payload_json: serde_json::json!({"child_id": child, "region": REGION,
                "item": "six_month_review", "state": "overdue", "due_on": "2026-11-28"})
            .to_string(),
        };
        h.service
            .apply_portfolio_event(&mut tx, &stale)
            .await
            .unwrap();
        tx.commit(&h.service.feed).await.unwrap();
        let list = rpc!(a, list_follow_up, worklist(&child, false)).unwrap();
        assert_eq!(
            item(&list.children[0], "six_month_review").state,
            FollowUpState::Met as i32,
            "[{bk}] the older event changed nothing"
        );
        assert_eq!(alerts(&h).await.len(), 1, "[{bk}]");

        // The consumer restarts from its cursor: nothing applied again.
        h.restart_portfolio_consumer().await;
        // An invalid state is dead-lettered, naming the field.
        let dead = h
            .publish_portfolio(vec![deadline(&child, "dental", "late", "2026-12-20")])
            .await;
        assert_eq!(dead, 1, "[{bk}]");
        let bad: Vec<String> =
            sqlx::query_scalar("SELECT error FROM consumer_dead_letters WHERE feed = $1")
                .bind(samling_ombud::portfolio_feed::feed_name(REGION))
                .fetch_all(&h.service.store.read)
                .await
                .unwrap();
        assert!(bad.len() == 1 && bad[0].contains("state"), "[{bk}] {bad:?}");
        h.publish_portfolio(vec![deadline(&child, "dental", "overdue", "2026-11-30")])
            .await;
        assert_eq!(
            h.portfolio_status().applied,
            1,
            "[{bk}] resumed after its cursor"
        );
        let raised = alerts(&h).await;
        assert_eq!(raised.len(), 2, "[{bk}]");
        assert_eq!(raised[1]["item"], "dental", "[{bk}]");
        // The dental item stayed as the last valid event left it before.
        h.stop().await;
    }
}

#[tokio::test]
async fn the_follow_up_is_refused_to_strangers_as_an_attacker_would_try() {
    for mut h in harnesses().await {
        let bk = h.backend;
        let (child, home) = setup(&mut h).await;
        h.publish_portfolio(vec![deadline(
            &child,
            "six_month_review",
            "overdue",
            "2026-11-28",
        )])
        .await;
        h.register("ombud-b").await;
        // ombud-b gets the next child (fewest children).
        let other_child = new_id();
        h.place(&other_child, &new_id()).await;
        let mut b = h.client(ombud_as("ombud-b")).await;
        // Its own list holds only its child; the other ombud's child: not found.
        let own = rpc!(b, list_follow_up, worklist("", false)).unwrap();
        let ids: Vec<&str> = own.children.iter().map(|c| c.child_id.as_str()).collect();
        assert_eq!(ids, vec![other_child.as_str()], "[{bk}]");
        assert_eq!(
            rpc!(b, list_follow_up, worklist(&child, false))
                .unwrap_err()
                .code(),
            Code::NotFound,
            "[{bk}]"
        );
        // A talk with another ombud's child: not found.
        assert_eq!(
            rpc!(b, record_talk, talk(&child, TalkWith::Ombud, 2026, 12, 1))
                .unwrap_err()
                .code(),
            Code::NotFound,
            "[{bk}]"
        );
        // The child sees its own items, not another child's.
        let mut kid = h.client(child_ctx(&child)).await;
        let mine = rpc!(kid, list_follow_up, worklist(&child, false)).unwrap();
        assert_eq!(mine.children[0].child_id, child, "[{bk}]");
        assert_eq!(
            rpc!(kid, list_follow_up, worklist(&other_child, false))
                .unwrap_err()
                .code(),
            Code::NotFound,
            "[{bk}]"
        );
        assert_eq!(
            rpc!(kid, list_follow_up, worklist("", false))
                .unwrap_err()
                .code(),
            Code::InvalidArgument,
            "[{bk}]"
        );
        // Municipality roles, the home, the aggregate roles: refused.
        for ctx in [
            caseworker(STOCKHOLM),
            manager(STOCKHOLM),
            family_home(&home),
            analyst(),
            council_member(),
        ] {
            let mut c = h.client(ctx.clone()).await;
            assert_eq!(
                rpc!(c, list_follow_up, worklist(&child, false))
                    .unwrap_err()
                    .code(),
                Code::PermissionDenied,
                "[{bk}] {:?}",
                ctx.role
            );
        }
        // The office of another region is refused; this region's sees it.
        let mut far = h.client(office_in("vast")).await;
        assert_eq!(
            rpc!(far, list_follow_up, worklist(&child, false))
                .unwrap_err()
                .code(),
            Code::PermissionDenied,
            "[{bk}]"
        );
        let mut office = h.client(office()).await;
        let seen = rpc!(office, list_follow_up, worklist(&child, true)).unwrap();
        assert_eq!(seen.children[0].overdue, 1, "[{bk}]");
        // A malformed id names the field.
        let e = rpc!(office, list_follow_up, worklist("not-an-id", false)).unwrap_err();
        assert_eq!(field_of(&e).as_deref(), Some("child_id"), "[{bk}]");
        h.stop().await;
    }
}

#[tokio::test]
async fn follow_up_counts_are_suppressed_below_five_and_exact_from_five() {
    for mut h in harnesses().await {
        let bk = h.backend;
        h.register("ombud-a").await;
        let mut children = Vec::new();
        for _ in 0..6 {
            let c = new_id();
            h.place(&c, &new_id()).await;
            children.push(c);
        }
        // Two children's talks are recorded; one review is overdue.
        let mut a = h.client(ombud_as("ombud-a")).await;
        for c in &children[..2] {
            rpc!(a, record_talk, talk(c, TalkWith::Ombud, 2026, 11, 20)).unwrap();
        }
        h.publish_portfolio(vec![deadline(
            &children[0],
            "six_month_review",
            "overdue",
            "2026-11-28",
        )])
        .await;
        for ctx in [analyst(), council_member(), office()] {
            let mut c = h.client(ctx.clone()).await;
            let counts = rpc!(c, follow_up_counts, FollowUpCountsRequest {}).unwrap();
            let talks = counts
                .items
                .iter()
                .find(|i| i.item == "talks_with_child")
                .unwrap();
            assert_eq!(
                (
                    talks.children.as_str(),
                    talks.due.as_str(),
                    talks.met.as_str(),
                    talks.overdue.as_str()
                ),
                ("6", "<5", "<5", "0"),
                "[{bk}] {:?}",
                ctx.role
            );
            let exam = counts
                .items
                .iter()
                .find(|i| i.item == "health_examination_physical")
                .unwrap();
            assert_eq!(
                (exam.children.as_str(), exam.upcoming.as_str()),
                ("6", "6"),
                "[{bk}]"
            );
            let review = counts
                .items
                .iter()
                .find(|i| i.item == "six_month_review")
                .unwrap();
            assert_eq!(
                (review.overdue.as_str(), review.children.as_str()),
                ("<5", "<5"),
                "[{bk}]"
            );
            let shown = format!("{counts:?}");
            for child in &children {
                assert!(
                    !shown.contains(child.as_str()),
                    "[{bk}] a child id in the counts"
                );
            }
        }
        // Every child's talk recorded: 6 met, shown exactly.
        for c in &children[2..] {
            rpc!(a, record_talk, talk(c, TalkWith::Ombud, 2026, 11, 21)).unwrap();
        }
        let mut an = h.client(analyst()).await;
        let counts = rpc!(an, follow_up_counts, FollowUpCountsRequest {}).unwrap();
        let talks = counts
            .items
            .iter()
            .find(|i| i.item == "talks_with_child")
            .unwrap();
        assert_eq!(
            (talks.met.as_str(), talks.due.as_str()),
            ("6", "0"),
            "[{bk}]"
        );
        // Not for municipality roles or the ombud.
        for ctx in [caseworker(STOCKHOLM), ombud_as("ombud-a")] {
            let mut c = h.client(ctx).await;
            assert_eq!(
                rpc!(c, follow_up_counts, FollowUpCountsRequest {})
                    .unwrap_err()
                    .code(),
                Code::PermissionDenied,
                "[{bk}]"
            );
        }
        h.stop().await;
    }
}
