//! The registry's ombud access is exactly the children the ombud service
//! assigned (ADR 0045): the register follows the ombud feed's
//! `ombud.child_assigned`; a reassignment moves the access; a stale or
//! malformed event changes nothing.

use crate::common::*;
use samling_kit::auth::{AuthContext, Role};
use samling_kit::consumer::{Consumer, ConsumerHandle, FeedSource};
use samling_kit::db::Store;
use samling_kit::outbox::{EventFeed, NewEvent};
use samling_proto::registry::v1::*;
use serde_json::json;
use tonic::Code;

/// The ombud service's feed as the register follows it in production
/// (kit's durable consumer with the register's own handler).
struct OmbudFeed {
    store: Store,
    feed: EventFeed,
    handle: ConsumerHandle,
    published: u64,
}

impl OmbudFeed {
    async fn start(h: &Harness, store: Store) -> OmbudFeed {
        let feed = EventFeed::new(store.clone());
        let mut opts = samling_registry::ombud_feed::options();
        opts.backoff_initial = std::time::Duration::from_millis(5);
        opts.max_attempts = 2;
        let handle = Consumer::new(
            samling_registry::ombud_feed::feed_name("stockholm-gotland"),
            FeedSource(feed.clone()),
        )
        .with_options(opts)
        .spawn_durable(
            h.registry.store.clone(),
            h.registry.feed.clone(),
            samling_registry::ombud_feed::OmbudFeed(h.registry.clone()),
        )
        .expect("ombud consumer");
        OmbudFeed {
            store,
            feed,
            handle,
            published: 0,
        }
    }

    /// Publish `events` and wait until all are applied or dead-lettered;
    /// the dead letters so far.
    async fn publish(&mut self, events: Vec<NewEvent>) -> u64 {
        self.published += events.len() as u64;
        let mut tx = self.store.begin_write().await.unwrap();
        for e in events {
            tx.event(e).await.unwrap();
        }
        tx.commit(&self.feed).await.unwrap();
        let n = self.published;
        tokio::time::timeout(
            std::time::Duration::from_secs(20),
            self.handle.wait_for(|s| s.applied + s.dead_letters >= n),
        )
        .await
        .expect("the register caught up with the ombud feed")
        .dead_letters
    }
}

fn assigned(child_id: &str, ombud: &str) -> NewEvent {
    NewEvent::new(
        "ombud.child_assigned",
        "assignment",
        child_id.to_string(),
        json!({"child_id": child_id, "ombud_subject": ombud, "placement_id": ""}),
    )
}

fn ombud_named(sub: &str) -> AuthContext {
    AuthContext::new(sub, Role::Ombud)
}

async fn children_of(h: &Harness, sub: &str) -> Vec<String> {
    let mut c = h.client(ombud_named(sub)).await;
    let listed = rpc!(c, list_children, ListChildrenRequest::default()).unwrap();
    listed.children.into_iter().map(|c| c.id).collect()
}

async fn placements_of(h: &Harness, sub: &str) -> Vec<String> {
    let mut c = h.client(ombud_named(sub)).await;
    let listed = rpc!(c, list_placements, ListPlacementsRequest::default()).unwrap();
    listed.placements.into_iter().map(|p| p.child_id).collect()
}

async fn get_child(h: &Harness, sub: &str, id: &str) -> Result<Child, tonic::Status> {
    let mut c = h.client(ombud_named(sub)).await;
    rpc!(
        c,
        get_child,
        GetChildRequest {
            child_id: id.to_string()
        }
    )
}

#[tokio::test]
async fn an_ombud_reads_exactly_the_children_the_ombud_service_assigned_and_a_reassignment_moves_it()
 {
    samling_testkit::for_each_store_backend(|backend| async move {
        let h = Harness::start(&backend, None).await;
        let (ombud_store, _) = backend.store("ombud", None, &[]).await;
        let mut feed = OmbudFeed::start(&h, ombud_store).await;
        let home = h
            .approved_home(draft("Storgatan 1", &adult(131)), "0180", days_ago(30))
            .await;
        let kim = h.register_child("0180", &child_pnr(9, 410)).await;
        let ali = h.register_child("0180", &child_pnr(10, 412)).await;
        h.place(caseworker("0180"), &kim.id, &home.id, days_ago(3))
            .await
            .expect("place kim");
        h.place(caseworker("0180"), &ali.id, &home.id, days_ago(2))
            .await
            .expect("place ali");

        // Before any assignment: nothing, and "not found" as for a stranger.
        assert!(children_of(&h, "ombud-anna").await.is_empty());
        assert!(placements_of(&h, "ombud-anna").await.is_empty());
        expect_code(get_child(&h, "ombud-anna", &kim.id).await, Code::NotFound);

        assert_eq!(
            feed.publish(vec![
                assigned(&kim.id, "ombud-anna"),
                assigned(&ali.id, "ombud-bo")
            ])
            .await,
            0,
            "{}",
            h.backend
        );
        assert_eq!(children_of(&h, "ombud-anna").await, vec![kim.id.clone()]);
        assert_eq!(placements_of(&h, "ombud-anna").await, vec![kim.id.clone()]);
        assert_eq!(
            get_child(&h, "ombud-anna", &kim.id).await.unwrap().id,
            kim.id
        );
        expect_code(get_child(&h, "ombud-anna", &ali.id).await, Code::NotFound);
        assert_eq!(children_of(&h, "ombud-bo").await, vec![ali.id.clone()]);
        // An ombud asking for another's child by id in the filter: nothing.
        let mut anna = h.client(ombud_named("ombud-anna")).await;
        let listed = rpc!(
            anna,
            list_placements,
            ListPlacementsRequest {
                child_id: ali.id.clone(),
                ..Default::default()
            }
        )
        .unwrap();
        assert!(listed.placements.is_empty(), "{listed:?}");
        // Unexecuted decisions name children not yet placed: none for ombud.
        let decisions = rpc!(
            anna,
            list_unexecuted_decisions,
            ListUnexecutedDecisionsRequest::default()
        )
        .unwrap();
        assert!(decisions.decisions.is_empty());

        // Kim is reassigned to Bo: Anna loses the access, Bo has both.
        feed.publish(vec![assigned(&kim.id, "ombud-bo")]).await;
        assert!(children_of(&h, "ombud-anna").await.is_empty());
        expect_code(get_child(&h, "ombud-anna", &kim.id).await, Code::NotFound);
        let mut both = vec![kim.id.clone(), ali.id.clone()];
        both.sort();
        assert_eq!(children_of(&h, "ombud-bo").await, both);
        let mut placed = placements_of(&h, "ombud-bo").await;
        placed.sort();
        assert_eq!(placed, both);

        // A malformed assignment is dead-lettered and changes nothing.
        let bad = NewEvent::new(
            "ombud.child_assigned",
            "assignment",
            kim.id.clone(),
            json!({"child_id": kim.id, "ombud_subject": ""}),
        );
        assert_eq!(feed.publish(vec![bad]).await, 1, "{}", h.backend);
        assert_eq!(children_of(&h, "ombud-bo").await, both);

        // A municipality caller carrying the ombud's subject is no ombud.
        let pretender = AuthContext::new("ombud-bo", Role::MunicipalityCaseworker)
            .with_municipality(municipality("0114"));
        let mut p = h.client(pretender).await;
        expect_code(
            rpc!(
                p,
                get_child,
                GetChildRequest {
                    child_id: kim.id.clone()
                }
            ),
            Code::NotFound,
        );

        // The assignment and the ombud's reads are on the audit trail.
        let mut office = h.office().await;
        let audit = rpc!(
            office,
            list_audit,
            samling_proto::common::v1::ListAuditRequest {
                record_id: kim.id.clone(),
                ..Default::default()
            }
        )
        .unwrap();
        let actions: Vec<(&str, &str)> = audit
            .entries
            .iter()
            .map(|e| (e.action.as_str(), e.subject.as_str()))
            .collect();
        assert!(
            actions.contains(&("ombud_assigned", "registry")),
            "{actions:?}"
        );
        assert!(
            actions
                .iter()
                .any(|(a, s)| a.starts_with("read") && *s == "ombud-anna"),
            "{actions:?}"
        );
        feed.handle.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_ombud_access_survives_a_restart_of_the_consumer_and_a_stale_delivery_changes_nothing()
{
    samling_testkit::for_each_store_backend(|backend| async move {
        let h = Harness::start(&backend, None).await;
        let (ombud_store, _) = backend.store("ombud", None, &[]).await;
        let mut feed = OmbudFeed::start(&h, ombud_store.clone()).await;
        let home = h
            .approved_home(draft("Storgatan 2", &adult(133)), "0180", days_ago(30))
            .await;
        let kim = h.register_child("0180", &child_pnr(9, 414)).await;
        h.place(caseworker("0180"), &kim.id, &home.id, days_ago(3))
            .await
            .expect("place kim");
        feed.publish(vec![
            assigned(&kim.id, "ombud-anna"),
            assigned(&kim.id, "ombud-bo"),
        ])
        .await;
        feed.handle.stop().await;
        // A new consumer on the same cursor applies only what is new.
        let mut again = OmbudFeed::start(&h, ombud_store).await;
        again.published = 0;
        let ali = h.register_child("0180", &child_pnr(10, 416)).await;
        again.publish(vec![assigned(&ali.id, "ombud-anna")]).await;
        assert_eq!(children_of(&h, "ombud-bo").await, vec![kim.id.clone()]);
        assert_eq!(children_of(&h, "ombud-anna").await, vec![ali.id.clone()]);
        again.handle.stop().await;
        // The first assignment delivered again (its earlier place in the
        // feed): the later one still holds.
        let stale = samling_proto::common::v1::Event {
            seq: 1,
            event_type: "ombud.child_assigned".into(),
            payload_json: json!({"child_id": kim.id, "ombud_subject": "ombud-anna"}).to_string(),
            ..Default::default()
        };
        let mut tx = h.registry.store.begin_write().await.unwrap();
        h.registry.apply_ombud_event(&mut tx, &stale).await.unwrap();
        tx.commit(&h.registry.feed).await.unwrap();
        assert_eq!(children_of(&h, "ombud-bo").await, vec![kim.id.clone()]);
        assert_eq!(children_of(&h, "ombud-anna").await, vec![ali.id.clone()]);
    })
    .await;
}
