//! Closing conversations, opened from the registry's `placement_ended`
//! events: once per placement however often the event is applied, due
//! sooner after an unplanned end.

use crate::common::*;
use crate::stages::*;
use samling_proto::common::v1::Event;
use samling_proto::recruitment::v1::*;
use samling_recruitment::domain::calendar::add_working_days;
use tonic::Code;

const HOME: &str = "0190a0b1-0000-7000-8000-0000000000f1";
const OTHER: &str = "0190a0b1-0000-7000-8000-0000000000f2";
const P1: &str = "0190a0b1-0000-7000-8000-0000000000a1";
const P2: &str = "0190a0b1-0000-7000-8000-0000000000a2";
const P3: &str = "0190a0b1-0000-7000-8000-0000000000a3";
const P4: &str = "0190a0b1-0000-7000-8000-0000000000a4";

/// The registry's event, as its EndPlacement writes it.
fn ended(seq: u64, placement: &str, home: &str, reason: &str, on: &str) -> Event {
    let mut payload = serde_json::json!({
        "placement_id": placement, "child_id": "0190a0b1-0000-7000-8000-0000000000c1",
        "unit_id": "", "end_reason": reason, "end_date": on,
    });
    if !home.is_empty() {
        payload["home_id"] = serde_json::json!(home);
    }
    Event {
        seq,
        id: format!("ev-{seq}"),
        event_type: "registry.placement_ended".into(),
        aggregate_type: "placement".into(),
        aggregate_id: placement.into(),
        occurred_at: "2026-12-01T08:00:00Z".into(),
        payload_json: payload.to_string(),
    }
}

async fn apply(h: &Harness, e: &Event) {
    let mut tx = h.store().begin_write().await.expect("tx");
    h.service
        .apply_registry_event(&mut tx, e)
        .await
        .unwrap_or_else(|err| panic!("[{}] apply: {err}", h.backend));
    tx.commit(&h.service.feed).await.expect("commit");
}

#[tokio::test]
async fn a_placement_end_opens_one_closing_conversation_due_by_how_it_ended() {
    for (h, _b) in harnesses(None).await {
        let planned = ended(1, P1, HOME, "END_REASON_PLANNED", "2026-12-01");
        apply(&h, &planned).await;
        apply(&h, &planned).await; // delivered again
        apply(
            &h,
            &ended(2, P2, OTHER, "END_REASON_BREAKDOWN", "2026-12-01"),
        )
        .await;
        // No home named (a unit, or a protected child's placement): none.
        apply(&h, &ended(3, P3, "", "END_REASON_PLANNED", "2026-12-01")).await;
        let mut other_event = ended(4, P3, HOME, "END_REASON_PLANNED", "2026-12-01");
        other_event.event_type = "registry.home_updated".into();
        apply(&h, &other_event).await;

        let mut office = h.client(office()).await;
        let all = rpc!(
            office,
            list_closing_conversations,
            ListClosingConversationsRequest::default()
        )
        .unwrap();
        assert_eq!(
            all.conversations.len(),
            2,
            "[{}] once per placement",
            h.backend
        );
        let c1 = all
            .conversations
            .iter()
            .find(|c| c.placement_id == P1)
            .unwrap()
            .clone();
        let c2 = all
            .conversations
            .iter()
            .find(|c| c.placement_id == P2)
            .unwrap()
            .clone();
        let end = d(2026, 12, 1);
        // 20 working days over Christmas and New Year; 5 after a breakdown.
        assert_eq!(
            c1.due_on,
            Some(samling_kit::dates::to_proto(add_working_days(end, 20)))
        );
        assert_eq!(c1.due_on, Some(day(2027, 1, 4)), "[{}]", h.backend);
        assert!(!c1.unplanned_end);
        assert!(c2.unplanned_end);
        assert_eq!(c2.due_on, Some(day(2026, 12, 8)), "[{}]", h.backend);
        assert_eq!(c1.status(), ClosingConversationStatus::Due);
        assert!(!c1.overdue && !c2.overdue);

        // The clock passes the breakdown's deadline.
        h.clock.set("2026-12-09T09:00:00Z".parse().unwrap());
        let overdue = rpc!(
            office,
            list_closing_conversations,
            ListClosingConversationsRequest {
                overdue_only: true,
                ..Default::default()
            }
        )
        .unwrap();
        assert_eq!(overdue.conversations.len(), 1, "[{}]", h.backend);
        assert_eq!(overdue.conversations[0].placement_id, P2);
        assert!(overdue.conversations[0].overdue);

        let record = |req: &str| RecordClosingConversationRequest {
            request_id: req.into(),
            closing_conversation_id: c2.id.clone(),
            status: ClosingConversationStatus::Held as i32,
            held_on: Some(day(2026, 12, 9)),
            topics: vec![
                ClosingTopic::BreakdownCauses as i32,
                ClosingTopic::Wellbeing as i32,
            ],
            wants_to_continue: true,
            crisis_support_offered: true,
            ..Default::default()
        };
        let held = rpc!(office, record_closing_conversation, record("r1")).unwrap();
        assert_eq!(held.status(), ClosingConversationStatus::Held);
        assert!(!held.overdue && held.wants_to_continue);
        assert_eq!(held.held_by, "officer-1");
        let again = rpc!(office, record_closing_conversation, record("r1")).unwrap();
        assert_eq!(again, held, "[{}] the retry's answer", h.backend);
        let err = rpc!(office, record_closing_conversation, record("r2")).unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition, "[{}]", h.backend);

        // The event carries ids and codes only.
        let events = h.service.feed.read_after(0, 100).await.unwrap();
        let due: Vec<_> = events
            .iter()
            .filter(|e| e.event_type == "recruitment.closing_conversation_due")
            .collect();
        assert_eq!(due.len(), 2, "[{}] one event per conversation", h.backend);

        // A home sees its own conversations; another home's are not found.
        let mut me = h.client(family_home(HOME)).await;
        let mine = rpc!(
            me,
            list_closing_conversations,
            ListClosingConversationsRequest::default()
        )
        .unwrap();
        assert_eq!(mine.conversations.len(), 1, "[{}]", h.backend);
        assert_eq!(mine.conversations[0].home_id, HOME);
        let err = rpc!(
            me,
            list_closing_conversations,
            ListClosingConversationsRequest {
                home_id: OTHER.into(),
                ..Default::default()
            }
        )
        .unwrap_err();
        assert_eq!(err.code(), Code::NotFound, "[{}]", h.backend);
        // The office's request id replayed by the home: refused, the first
        // answer not shown.
        let err = rpc!(me, record_closing_conversation, record("r1")).unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "[{}]", h.backend);
        assert!(!err.message().contains(&c2.id), "{}", err.message());
        let mut a = h.client(analyst()).await;
        let err = rpc!(
            a,
            list_closing_conversations,
            ListClosingConversationsRequest::default()
        )
        .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "[{}]", h.backend);
    }
}

/// The registry's feed followed by kit's consumer (an in-process source
/// standing in for the registry's WatchEvents): a placement end delivered
/// with other events opens its conversation once; a malformed end is
/// dead-lettered and the feed goes on.
/// The placements that have a closing conversation, sorted.
async fn placements_with_conversations(h: &Harness) -> Vec<String> {
    let open = samling_recruitment::store::closing::list(
        &h.store().read,
        "",
        ClosingConversationStatus::Unspecified,
        "",
        &samling_kit::paging::Page::first(10),
    )
    .await
    .unwrap();
    let mut placements: Vec<String> = open.into_iter().map(|c| c.placement_id).collect();
    placements.sort();
    placements
}

#[tokio::test]
async fn the_registry_feed_followed_by_the_consumer_opens_conversations() {
    use samling_kit::consumer::{Consumer, FeedSource};
    use samling_kit::outbox::{EventFeed, NewEvent};
    use samling_recruitment::registry_feed::{RegistryFeed, feed_name, options};

    for (h, b) in harnesses(None).await {
        let (registry_store, _) = b.store("registry", None, &[]).await;
        let registry_feed = EventFeed::new(registry_store.clone());
        let write = |events: Vec<NewEvent>| {
            let store = registry_store.clone();
            let feed = registry_feed.clone();
            async move {
                let mut tx = store.begin_write().await.unwrap();
                for e in events {
                    tx.event(e).await.unwrap();
                }
                tx.commit(&feed).await.unwrap();
            }
        };
        let end = |p: &str, home: &str, reason: &str, date: &str| {
            NewEvent::new(
                "registry.placement_ended",
                "placement",
                p,
                serde_json::json!({"placement_id": p, "home_id": home, "unit_id": "",
                                   "end_reason": reason, "end_date": date}),
            )
        };
        write(vec![
            NewEvent::new(
                "registry.home_created",
                "home",
                HOME,
                serde_json::json!({"home_id": HOME}),
            ),
            end(P1, HOME, "END_REASON_PLANNED", "2026-12-01"),
            end(P2, OTHER, "END_REASON_BREAKDOWN", "not a date"),
            end(P3, OTHER, "END_REASON_BREAKDOWN", "2026-11-30"),
        ])
        .await;
        let mut opts = options();
        opts.backoff_initial = std::time::Duration::from_millis(5);
        opts.max_attempts = 2;
        let handle = Consumer::new(feed_name("test"), FeedSource(registry_feed.clone()))
            .with_options(opts.clone())
            .spawn_durable(
                h.store().clone(),
                h.service.feed.clone(),
                RegistryFeed(h.service.clone()),
            )
            .unwrap();
        let status = tokio::time::timeout(
            std::time::Duration::from_secs(20),
            handle.wait_for(|s| s.applied + s.dead_letters >= 3),
        )
        .await
        .unwrap_or_else(|_| panic!("[{}] the consumer caught up", h.backend));
        assert_eq!(status.dead_letters, 1, "[{}] the malformed end", h.backend);
        let placements = placements_with_conversations(&h).await;
        assert_eq!(placements, vec![P1, P3], "[{}]", h.backend);
        let cursor = status.cursor;
        handle.stop().await;

        // Stopped (a restart): the registry goes on; P1's end is delivered
        // again (a re-sent event) beside a new end. The consumer resumes at
        // its stored cursor: nothing missed, nothing opened twice.
        write(vec![
            end(P1, HOME, "END_REASON_PLANNED", "2026-12-01"),
            end(P4, HOME, "END_REASON_PLANNED", "2026-12-02"),
        ])
        .await;
        let handle = Consumer::new(feed_name("test"), FeedSource(registry_feed.clone()))
            .with_options(opts)
            .spawn_durable(
                h.store().clone(),
                h.service.feed.clone(),
                RegistryFeed(h.service.clone()),
            )
            .unwrap();
        let status = tokio::time::timeout(
            std::time::Duration::from_secs(20),
            handle.wait_for(|s| s.cursor >= cursor + 2),
        )
        .await
        .unwrap_or_else(|_| panic!("[{}] the restarted consumer caught up", h.backend));
        assert_eq!(
            status.applied + status.duplicates,
            2,
            "[{}] only what came after the cursor: {status:?}",
            h.backend
        );
        assert_eq!(status.dead_letters, 1, "[{}] still the one", h.backend);
        let placements = placements_with_conversations(&h).await;
        assert_eq!(placements, vec![P1, P3, P4], "[{}]", h.backend);
        handle.stop().await;
    }
}
