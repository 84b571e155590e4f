//! kit's event consumer (ADR 0022) on every test backend (SQLite always,
//! PostgreSQL when `SAMLING_TEST_DATABASE_URL` is set): a source store
//! writes events, a consumer follows its feed into another store, and each
//! effect is a row of `effects` — counted to prove none is lost and none
//! applied twice.

use samling_kit::auth::{AuthContext, ContextSigner, Role};
use samling_kit::client::Stub;
use samling_kit::consumer::*;
use samling_kit::db::{DbTarget, Migration, Store};
use samling_kit::error::KitError;
use samling_kit::outbox::{EventFeed, NewEvent};
use samling_kit::service::{Core, Service};
use samling_kit::tx::WriteTx;
use samling_proto::common::v1::{Event, WatchEventsRequest};
use samling_proto::registry::v1::registry_service_client::RegistryServiceClient;
use samling_testkit::backend::{Backend, store_backends};
use serde_json::json;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tonic::Status;
use tonic::transport::Channel;

const EFFECTS: &[Migration] = &[Migration {
    name: "sink/0001_effects",
    // No key: an event applied twice would show as a second row.
    sql: "CREATE TABLE effects (feed TEXT NOT NULL, seq BIGINT NOT NULL, aggregate_id TEXT NOT NULL);",
}];

/// A source store and its feed, and a consuming store, on one backend.
struct Pair {
    name: String,
    source: Store,
    feed: EventFeed,
    sink: Store,
    sink_feed: EventFeed,
    sink_target: DbTarget,
    _backend: Backend,
}

async fn pairs() -> Vec<Pair> {
    let mut out = Vec::new();
    for backend in store_backends() {
        let (source, _) = backend.store("source", None, &[]).await;
        let (sink, sink_target) = backend.store("sink", None, &[EFFECTS]).await;
        out.push(Pair {
            name: backend.name.clone(),
            feed: EventFeed::new(source.clone()),
            sink_feed: EventFeed::new(sink.clone()),
            source,
            sink,
            sink_target,
            _backend: backend,
        });
    }
    out
}

/// Commit one event per id, in one transaction.
async fn produce(store: &Store, feed: &EventFeed, ids: &[String]) {
    let mut tx = store.begin_write().await.unwrap();
    for id in ids {
        tx.event(NewEvent::new(
            "source.made",
            "thing",
            id.clone(),
            json!({ "thing_id": id }),
        ))
        .await
        .unwrap();
    }
    tx.commit(feed).await.unwrap();
}

fn ids(prefix: &str, range: std::ops::Range<u32>) -> Vec<String> {
    range.map(|i| format!("{prefix}-{i:03}")).collect()
}

/// Quick retries, for tests.
fn quick() -> ConsumerOptions {
    ConsumerOptions {
        backoff_initial: Duration::from_millis(10),
        backoff_max: Duration::from_millis(80),
        max_attempts: 3,
        ..ConsumerOptions::default()
    }
}

/// Writes one `effects` row per event. Refuses the aggregate `poison`
/// always; answers UNAVAILABLE for `flaky` until `flaky_left` runs out.
#[derive(Default)]
struct Effects {
    feed: String,
    seen: Mutex<Vec<u64>>,
    poison_attempts: AtomicU32,
    flaky_left: AtomicU32,
}

impl Effects {
    fn new(feed: &str) -> Arc<Effects> {
        Arc::new(Effects {
            feed: feed.into(),
            ..Effects::default()
        })
    }
}

impl Handler for Effects {
    async fn apply(&self, tx: &mut WriteTx, event: &Event) -> Result<(), KitError> {
        if event.aggregate_id == "poison" {
            self.poison_attempts.fetch_add(1, Ordering::SeqCst);
            return Err(KitError::invalid(
                "thing_id",
                "is not a thing of this service",
            ));
        }
        if event.aggregate_id == "flaky"
            && self
                .flaky_left
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
        {
            return Err(KitError::refused(
                samling_kit::error::Reason::Unavailable,
                "the register is restarting",
            ));
        }
        sqlx::query("INSERT INTO effects (feed, seq, aggregate_id) VALUES ($1, $2, $3)")
            .bind(&self.feed)
            .bind(event.seq as i64)
            .bind(&event.aggregate_id)
            .execute(tx.conn())
            .await?;
        self.seen.lock().unwrap().push(event.seq);
        Ok(())
    }
}

async fn scalar(store: &Store, sql: &str, feed: &str) -> i64 {
    sqlx::query_scalar(sql)
        .bind(feed)
        .fetch_one(&store.read)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

async fn effects(store: &Store, feed: &str) -> i64 {
    scalar(store, "SELECT COUNT(*) FROM effects WHERE feed = $1", feed).await
}

async fn distinct_effects(store: &Store, feed: &str) -> i64 {
    scalar(
        store,
        "SELECT COUNT(DISTINCT seq) FROM effects WHERE feed = $1",
        feed,
    )
    .await
}

async fn stored_cursor(store: &Store, feed: &str) -> i64 {
    scalar(
        store,
        "SELECT COALESCE(MAX(after_seq), 0) FROM consumer_cursors WHERE feed = $1",
        feed,
    )
    .await
}

/// Wait (at most 20 s) until the status satisfies `until`.
async fn wait(
    h: &ConsumerHandle,
    what: &str,
    until: impl FnMut(&ConsumerStatus) -> bool,
) -> ConsumerStatus {
    match tokio::time::timeout(Duration::from_secs(20), h.wait_for(until)).await {
        Ok(s) => s,
        Err(_) => panic!("timed out waiting for {what}: {:?}", h.status()),
    }
}

#[tokio::test]
async fn a_consumer_applies_every_event_once_in_order_and_follows_new_ones() {
    for p in pairs().await {
        let b = &p.name;
        produce(&p.source, &p.feed, &ids("a", 0..10)).await;
        produce(&p.source, &p.feed, &ids("b", 0..20)).await;
        let handler = Effects::new("src");
        let h = Consumer::new("src", FeedSource(p.feed.clone()))
            .with_options(quick())
            .spawn_durable(p.sink.clone(), p.sink_feed.clone(), handler.clone())
            .unwrap();
        let s = wait(&h, "30 events", |s| s.cursor == 30).await;
        assert_eq!(s.applied, 30, "{b}");
        assert!(s.connected && s.ready(), "{b}: {s:?}");
        assert!(s.last_event_at.is_some() && s.lag.is_some(), "{b}: {s:?}");
        assert_eq!(
            *handler.seen.lock().unwrap(),
            (1..=30).collect::<Vec<u64>>(),
            "{b}: in feed order"
        );
        assert_eq!(stored_cursor(&p.sink, "src").await, 30, "{b}");
        let first: String = sqlx::query_scalar("SELECT aggregate_id FROM effects WHERE seq = 11")
            .fetch_one(&p.sink.read)
            .await
            .unwrap();
        assert_eq!(first, "b-000", "{b}: seq 11 is the second commit's first");

        // Live: events committed while it follows.
        produce(&p.source, &p.feed, &ids("c", 0..5)).await;
        let s = wait(&h, "35 events", |s| s.cursor == 35).await;
        assert_eq!(s.applied, 35, "{b}");
        h.stop().await;
        assert_eq!(effects(&p.sink, "src").await, 35, "{b}");
        assert_eq!(distinct_effects(&p.sink, "src").await, 35, "{b}");
    }
}

#[tokio::test]
async fn a_consumer_stops_on_the_signal_and_says_so() {
    for p in pairs().await {
        let h = Consumer::new("src", FeedSource(p.feed.clone()))
            .with_options(quick())
            .spawn_durable(p.sink.clone(), p.sink_feed.clone(), Effects::new("src"))
            .unwrap();
        wait(&h, "connected", |s| s.connected).await;
        let rx = h.watch_status();
        tokio::time::timeout(Duration::from_secs(5), h.stop())
            .await
            .unwrap_or_else(|_| panic!("{}: stop did not end the task", p.name));
        let s = rx.borrow().clone();
        assert!(s.stopped && !s.connected && !s.ready(), "{}: {s:?}", p.name);

        // From a module's on_stop: a synchronous signal, the handle kept
        // elsewhere.
        let h = Consumer::new("src", FromStart(EventFeed::new(p.source.clone())))
            .with_options(quick())
            .spawn_durable(p.sink.clone(), p.sink_feed.clone(), Effects::new("src"))
            .unwrap();
        wait(&h, "connected", |s| s.connected).await;
        let on_stop: Box<dyn FnOnce() + Send> = {
            let stopper = h.stopper();
            Box::new(move || stopper.stop())
        };
        on_stop();
        let s = wait(&h, "stopped", |s| s.stopped).await;
        assert!(!s.connected, "{}: {s:?}", p.name);

        // While the source is down and it waits out a long backoff.
        let down = Switch {
            store: p.source.clone(),
            feed: Arc::default(),
            opens: Arc::default(),
        };
        let h = Consumer::new("src", down)
            .with_options(ConsumerOptions {
                backoff_initial: Duration::from_secs(60),
                backoff_max: Duration::from_secs(60),
                ..ConsumerOptions::default()
            })
            .spawn_durable(p.sink.clone(), p.sink_feed.clone(), Effects::new("src"))
            .unwrap();
        wait(&h, "a refused open", |s| s.reconnects == 1).await;
        tokio::time::timeout(Duration::from_secs(5), h.stop())
            .await
            .unwrap_or_else(|_| panic!("{}: stop did not cut the backoff", p.name));
    }
}

#[tokio::test]
async fn a_consumer_killed_midway_resumes_from_its_cursor_losing_and_repeating_nothing() {
    for p in pairs().await {
        let b = &p.name;
        for i in 0..6 {
            produce(&p.source, &p.feed, &ids(&format!("k{i}"), 0..20)).await;
        }
        // Batches of ten: killed between (or inside) transactions.
        let small = ConsumerOptions {
            batch_max: 10,
            ..quick()
        };
        let h = Consumer::new("src", FeedSource(p.feed.clone()))
            .with_options(small.clone())
            .spawn_durable(p.sink.clone(), p.sink_feed.clone(), Effects::new("src"))
            .unwrap();
        wait(&h, "some events", |s| s.cursor >= 25).await;
        // Killed wherever it is: perhaps inside a transaction.
        h.abort().await;
        // The process is gone with its connections (an open transaction
        // rolled back); the restarted service opens its store again.
        p.sink.close().await;
        let sink = Store::open(&p.sink_target, None, &[EFFECTS])
            .await
            .unwrap_or_else(|e| panic!("{b}: reopen: {e}"));
        let at_kill = stored_cursor(&sink, "src").await;
        assert!((25..120).contains(&at_kill), "{b}: {at_kill}");
        assert_eq!(
            effects(&sink, "src").await,
            at_kill,
            "{b}: effects and cursor committed together"
        );
        let h = Consumer::new("src", FeedSource(p.feed.clone()))
            .with_options(small)
            .spawn_durable(
                sink.clone(),
                EventFeed::new(sink.clone()),
                Effects::new("src"),
            )
            .unwrap();
        let s = wait(&h, "all 120", |s| s.cursor == 120).await;
        assert_eq!(
            s.applied as i64,
            120 - at_kill,
            "{b}: resumed after the stored cursor"
        );
        h.stop().await;
        assert_eq!(effects(&sink, "src").await, 120, "{b}: none lost");
        assert_eq!(distinct_effects(&sink, "src").await, 120, "{b}: none twice");
    }
}

/// Delivers the whole feed on every open, whatever the cursor (an
/// at-least-once source at its worst).
struct FromStart(EventFeed);

impl EventSource for FromStart {
    async fn open(&self, mut request: WatchEventsRequest) -> Result<EventStream, Status> {
        request.after = 0;
        Ok(Box::pin(self.0.watch(request)))
    }
}

#[tokio::test]
async fn events_delivered_again_or_to_two_replicas_are_applied_once() {
    for p in pairs().await {
        let b = &p.name;
        produce(&p.source, &p.feed, &ids("d", 0..40)).await;
        // Two replicas of the consuming service follow the same feed into
        // the same store, both from the start.
        let one = Consumer::new("src", FromStart(p.feed.clone()))
            .with_options(quick())
            .spawn_durable(p.sink.clone(), p.sink_feed.clone(), Effects::new("src"))
            .unwrap();
        let two = Consumer::new("src", FromStart(p.feed.clone()))
            .with_options(quick())
            .spawn_durable(p.sink.clone(), p.sink_feed.clone(), Effects::new("src"))
            .unwrap();
        // Each sees all 40 (one may resume after a cursor the other stored,
        // and is then sent them again).
        let all = |s: &ConsumerStatus| s.cursor == 40 && s.applied + s.duplicates == 40;
        let s1 = wait(&one, "replica one", all).await;
        let s2 = wait(&two, "replica two", all).await;
        assert_eq!(s1.applied + s2.applied, 40, "{b}: {s1:?} {s2:?}");
        assert_eq!(s1.duplicates + s2.duplicates, 40, "{b}: {s1:?} {s2:?}");
        one.stop().await;
        two.stop().await;
        // A restart whose source sends everything again applies nothing.
        let again = Consumer::new("src", FromStart(p.feed.clone()))
            .with_options(quick())
            .spawn_durable(p.sink.clone(), p.sink_feed.clone(), Effects::new("src"))
            .unwrap();
        let s = wait(&again, "duplicates skipped", |s| s.duplicates == 40).await;
        assert_eq!((s.applied, s.cursor), (0, 40), "{b}");
        again.stop().await;
        assert_eq!(effects(&p.sink, "src").await, 40, "{b}");
        assert_eq!(distinct_effects(&p.sink, "src").await, 40, "{b}");
    }
}

/// A source that can be taken down (its feed closed, as at shutdown) and
/// brought up again (a new feed over the same store, as after a restart).
#[derive(Clone)]
struct Switch {
    store: Store,
    feed: Arc<Mutex<Option<EventFeed>>>,
    opens: Arc<AtomicU32>,
}

impl Switch {
    fn down(&self) {
        if let Some(f) = self.feed.lock().unwrap().take() {
            f.close();
        }
    }
    fn up(&self) -> EventFeed {
        let f = EventFeed::new(self.store.clone());
        *self.feed.lock().unwrap() = Some(f.clone());
        f
    }
}

impl EventSource for Switch {
    async fn open(&self, request: WatchEventsRequest) -> Result<EventStream, Status> {
        self.opens.fetch_add(1, Ordering::SeqCst);
        let feed = self.feed.lock().unwrap().clone();
        match feed {
            Some(f) => Ok(Box::pin(f.watch(request))),
            None => Err(Status::unavailable("connection refused")),
        }
    }
}

#[tokio::test]
async fn a_consumer_reconnects_with_backoff_when_its_source_comes_back() {
    for p in pairs().await {
        let b = &p.name;
        let switch = Switch {
            store: p.source.clone(),
            feed: Arc::default(),
            opens: Arc::default(),
        };
        let h = Consumer::new("src", switch.clone())
            .with_options(ConsumerOptions {
                backoff_initial: Duration::from_millis(20),
                backoff_max: Duration::from_millis(200),
                ..ConsumerOptions::default()
            })
            .spawn_durable(p.sink.clone(), p.sink_feed.clone(), Effects::new("src"))
            .unwrap();
        // Down from the start.
        let s = wait(&h, "failed opens", |s| s.reconnects >= 3).await;
        assert!(!s.connected && !s.ready(), "{b}: {s:?}");
        assert!(
            s.last_error.as_deref().unwrap().starts_with("UNAVAILABLE"),
            "{b}: {s:?}"
        );
        // Backoff: doubling from 20 ms (waits of 10–20, 20–40, 40–80, …
        // capped at 100–200 ms): far fewer than one open per millisecond.
        tokio::time::sleep(Duration::from_millis(600)).await;
        let opens = switch.opens.load(Ordering::SeqCst);
        assert!((4..=16).contains(&opens), "{b}: {opens} opens in ~0.7 s");

        let feed = switch.up();
        produce(&p.source, &feed, &ids("e", 0..10)).await;
        let s = wait(&h, "caught up", |s| s.cursor == 10).await;
        assert!(s.connected && s.last_error.is_none(), "{b}: {s:?}");

        // The source shuts down (its streams end with UNAVAILABLE); events
        // are written meanwhile; it comes back.
        switch.down();
        let s = wait(&h, "lost", |s| !s.connected).await;
        assert!(
            s.last_error.as_deref().unwrap().contains("shutting down"),
            "{b}: {s:?}"
        );
        let mut tx = p.source.begin_write().await.unwrap();
        for id in ids("f", 0..5) {
            tx.event(NewEvent::new("source.made", "thing", id, json!({})))
                .await
                .unwrap();
        }
        tx.commit(&EventFeed::new(p.source.clone())).await.unwrap();
        switch.up();
        let s = wait(&h, "resumed", |s| s.cursor == 15 && s.connected).await;
        assert_eq!(s.applied, 15, "{b}");
        h.stop().await;
        assert_eq!(effects(&p.sink, "src").await, 15, "{b}");
        assert_eq!(distinct_effects(&p.sink, "src").await, 15, "{b}");
    }
}

#[tokio::test]
async fn a_poison_event_is_dead_lettered_and_the_events_after_it_applied() {
    for p in pairs().await {
        let b = &p.name;
        let order: Vec<String> = ["a", "flaky", "poison", "b", "c"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        produce(&p.source, &p.feed, &order).await;
        let handler = Effects::new("src");
        // Three UNAVAILABLE answers: retried however many, never dead.
        handler.flaky_left.store(4, Ordering::SeqCst);
        let h = Consumer::new("src", FeedSource(p.feed.clone()))
            .with_options(quick())
            .spawn_durable(p.sink.clone(), p.sink_feed.clone(), handler.clone())
            .unwrap();
        let s = wait(&h, "past the poison", |s| s.cursor == 5).await;
        assert_eq!(
            (s.applied, s.dead_letters, s.last_dead_letter),
            (4, 1, Some(3)),
            "{b}: {s:?}"
        );
        assert_eq!(handler.poison_attempts.load(Ordering::SeqCst), 3, "{b}");
        assert_eq!(handler.flaky_left.load(Ordering::SeqCst), 0, "{b}");
        let applied: Vec<i64> = sqlx::query_scalar("SELECT seq FROM effects ORDER BY seq")
            .fetch_all(&p.sink.read)
            .await
            .unwrap();
        assert_eq!(applied, [1, 2, 4, 5], "{b}");
        let row: (i64, String, String, String, i64, String, String) = sqlx::query_as(
            "SELECT seq, event_type, aggregate_id, event_id, attempts, reason, error \
             FROM consumer_dead_letters WHERE feed = $1",
        )
        .bind("src")
        .fetch_one(&p.sink.read)
        .await
        .unwrap();
        assert_eq!(
            (row.0, row.1.as_str(), row.2.as_str(), row.4, row.5.as_str()),
            (3, "source.made", "poison", 3, "INVALID_FIELD"),
            "{b}"
        );
        assert!(!row.3.is_empty(), "{b}: the event's id");
        assert_eq!(
            row.6, "INVALID_FIELD: thing_id: is not a thing of this service",
            "{b}: the reason and the field named"
        );
        h.stop().await;

        // After a restart the dead letter is still counted, not retried.
        let again = Effects::new("src");
        let h = Consumer::new("src", FeedSource(p.feed.clone()))
            .with_options(quick())
            .spawn_durable(p.sink.clone(), p.sink_feed.clone(), again.clone())
            .unwrap();
        let s = wait(&h, "resumed", |s| s.connected).await;
        assert_eq!((s.dead_letters, s.cursor, s.applied), (1, 5, 0), "{b}");
        h.stop().await;
        assert_eq!(again.poison_attempts.load(Ordering::SeqCst), 0, "{b}");
        assert_eq!(effects(&p.sink, "src").await, 4, "{b}");
    }
}

#[tokio::test]
async fn cursors_are_stored_per_feed_name() {
    for p in pairs().await {
        let b = &p.name;
        produce(&p.source, &p.feed, &ids("g", 0..10)).await;
        let first = Consumer::new("stockholm/source", FeedSource(p.feed.clone()))
            .with_options(quick())
            .spawn_durable(
                p.sink.clone(),
                p.sink_feed.clone(),
                Effects::new("stockholm/source"),
            )
            .unwrap();
        wait(&first, "first", |s| s.cursor == 10).await;
        first.stop().await;
        produce(&p.source, &p.feed, &ids("h", 0..5)).await;
        // Another feed name on the same store starts from the beginning and
        // moves only its own cursor.
        let second = Consumer::new("uppsala/source", FeedSource(p.feed.clone()))
            .with_options(quick())
            .spawn_durable(
                p.sink.clone(),
                p.sink_feed.clone(),
                Effects::new("uppsala/source"),
            )
            .unwrap();
        let s = wait(&second, "second", |s| s.cursor == 15).await;
        assert_eq!(s.applied, 15, "{b}");
        second.stop().await;
        assert_eq!(stored_cursor(&p.sink, "stockholm/source").await, 10, "{b}");
        assert_eq!(stored_cursor(&p.sink, "uppsala/source").await, 15, "{b}");
        assert_eq!(effects(&p.sink, "stockholm/source").await, 10, "{b}");
        assert_eq!(effects(&p.sink, "uppsala/source").await, 15, "{b}");
    }
}

#[tokio::test]
async fn a_feed_name_and_options_are_checked() {
    let p = pairs().await.remove(0);
    let long = "x".repeat(201);
    for bad in ["", "two words", long.as_str()] {
        let err = Consumer::new(bad, FeedSource(p.feed.clone()))
            .spawn_durable(p.sink.clone(), p.sink_feed.clone(), Effects::new("x"))
            .err()
            .expect("refused");
        assert!(err.to_string().starts_with("feed: "), "{err}");
    }
    let err = Consumer::new("ok", FeedSource(p.feed.clone()))
        .with_options(ConsumerOptions {
            max_attempts: 0,
            ..ConsumerOptions::default()
        })
        .spawn_in_memory(Arc::new(Model::default()))
        .err()
        .expect("refused");
    assert!(err.to_string().starts_with("max_attempts: "), "{err}");
}

#[test]
fn backoff_doubles_up_to_its_cap_with_jitter() {
    let o = ConsumerOptions {
        backoff_initial: Duration::from_millis(100),
        backoff_max: Duration::from_secs(2),
        ..ConsumerOptions::default()
    };
    for (n, full) in [
        (1, 100),
        (2, 200),
        (3, 400),
        (5, 1600),
        (6, 2000),
        (40, 2000),
    ] {
        let waits: Vec<Duration> = (0..50).map(|_| backoff(&o, n)).collect();
        for w in &waits {
            assert!(
                *w >= Duration::from_millis(full / 2) && *w <= Duration::from_millis(full),
                "attempt {n}: {w:?}"
            );
        }
        assert!(
            waits.iter().any(|w| *w != waits[0]),
            "attempt {n}: jittered"
        );
    }
}

/// An in-memory read model: the things seen, in order.
#[derive(Default)]
struct Model {
    things: Mutex<Vec<String>>,
    snapshot_after: u64,
}

impl MemoryHandler for Model {
    async fn apply_in_memory(&self, event: &Event) -> Result<(), KitError> {
        if event.aggregate_id == "poison" {
            return Err(KitError::invalid("thing_id", "unknown"));
        }
        self.things.lock().unwrap().push(event.aggregate_id.clone());
        Ok(())
    }
    fn start_after(&self) -> u64 {
        self.snapshot_after
    }
}

#[tokio::test]
async fn an_in_memory_read_model_is_rebuilt_from_the_start_or_its_snapshot() {
    for p in pairs().await {
        let b = &p.name;
        let mut all = ids("m", 0..3);
        all.push("poison".into());
        all.extend(ids("n", 0..3));
        produce(&p.source, &p.feed, &all).await;
        let model = Arc::new(Model::default());
        let h = Consumer::new("src", FeedSource(p.feed.clone()))
            .with_options(quick())
            .spawn_in_memory(model.clone())
            .unwrap();
        let s = wait(&h, "model", |s| s.cursor == 7).await;
        assert_eq!((s.applied, s.dead_letters), (6, 1), "{b}: {s:?}");
        h.stop().await;
        let expected: Vec<String> = all.iter().filter(|t| *t != "poison").cloned().collect();
        assert_eq!(*model.things.lock().unwrap(), expected, "{b}");
        assert_eq!(
            stored_cursor(&p.sink, "src").await,
            0,
            "{b}: nothing stored"
        );

        // Restarted: a new model is built from the start again.
        let rebuilt = Arc::new(Model::default());
        let h = Consumer::new("src", FeedSource(p.feed.clone()))
            .with_options(quick())
            .spawn_in_memory(rebuilt.clone())
            .unwrap();
        wait(&h, "rebuilt", |s| s.cursor == 7).await;
        h.stop().await;
        assert_eq!(*rebuilt.things.lock().unwrap(), expected, "{b}");

        // From a snapshot taken after seq 5: only what came later.
        let snap = Arc::new(Model {
            snapshot_after: 5,
            ..Model::default()
        });
        let h = Consumer::new("src", FeedSource(p.feed.clone()))
            .with_options(quick())
            .spawn_in_memory(snap.clone())
            .unwrap();
        let s = wait(&h, "from snapshot", |s| s.cursor == 7).await;
        assert_eq!(s.applied, 2, "{b}");
        h.stop().await;
        assert_eq!(*snap.things.lock().unwrap(), ["n-001", "n-002"], "{b}");
    }
}

// ------------------------------------------------------------ over gRPC

/// A service on kit's skeleton whose feed is served over gRPC under the
/// registry's service name (WatchEvents only): what a consumer in another
/// service follows.
#[derive(Clone)]
struct Source {
    core: Core,
}

impl Service for Source {
    type Error = KitError;
    fn core(&self) -> &Core {
        &self.core
    }
}

mod server {
    use super::Source;
    use samling_kit::service::EventStream;
    use samling_proto::common::v1::{Event, WatchEventsRequest};
    use std::convert::Infallible;
    use tonic::Status;
    use tonic::codegen::{Body, BoxFuture, Context, Poll, StdError, http};

    /// `samling.registry.v1.RegistryService` answering `WatchEvents` with
    /// kit's handler (bind, `may_watch_events`, event views) and nothing
    /// else.
    #[derive(Clone)]
    pub struct FeedServer(pub Source);

    impl tonic::server::NamedService for FeedServer {
        const NAME: &'static str = "samling.registry.v1.RegistryService";
    }

    struct Watch(Source);

    impl tonic::server::ServerStreamingService<WatchEventsRequest> for Watch {
        type Response = Event;
        type ResponseStream = EventStream;
        type Future = BoxFuture<tonic::Response<EventStream>, Status>;
        fn call(&mut self, request: tonic::Request<WatchEventsRequest>) -> Self::Future {
            let svc = self.0.clone();
            Box::pin(async move { samling_kit::service::watch_events(&svc, request) })
        }
    }

    impl<B> tower::Service<http::Request<B>> for FeedServer
    where
        B: Body + Send + 'static,
        B::Error: Into<StdError> + Send + 'static,
    {
        type Response = http::Response<tonic::body::Body>;
        type Error = Infallible;
        type Future = BoxFuture<Self::Response, Infallible>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, req: http::Request<B>) -> Self::Future {
            if req.uri().path() != "/samling.registry.v1.RegistryService/WatchEvents" {
                return Box::pin(async {
                    Ok(Status::unimplemented("WatchEvents only").into_http())
                });
            }
            let svc = self.0.clone();
            Box::pin(async move {
                let mut grpc = tonic::server::Grpc::new(tonic_prost::ProstCodec::default());
                Ok(grpc.server_streaming(Watch(svc), req).await)
            })
        }
    }
}

fn feed_service(
    src: Source,
    signer: &ContextSigner,
) -> tonic::service::interceptor::InterceptedService<
    server::FeedServer,
    impl tonic::service::Interceptor + Clone + Send + Sync + 'static,
> {
    tonic::service::interceptor::InterceptedService::new(
        server::FeedServer(src),
        samling_kit::auth::interceptor(signer.verifier()),
    )
}

fn feed_router(
    src: Source,
    signer: &ContextSigner,
) -> impl FnOnce(samling_kit::grpc::Router) -> samling_kit::grpc::Router {
    let service = feed_service(src, signer);
    move |router| router.add_service(service)
}

const REGISTRY: Stub<RegistryServiceClient<Channel>> =
    samling_kit::stub!("registry", RegistryServiceClient);

fn grpc_source(
    endpoint: &str,
    signer: &ContextSigner,
    who: AuthContext,
) -> GrpcSource<RegistryServiceClient<Channel>> {
    GrpcSource::lazy(
        REGISTRY,
        endpoint,
        None,
        signer.clone(),
        who,
        samling_kit::watch_fn!(RegistryServiceClient),
    )
    .unwrap()
}

#[tokio::test]
async fn a_consumer_follows_a_service_over_grpc_as_the_service_identity() {
    for p in pairs().await {
        let b = &p.name;
        let signer = ContextSigner::generate().unwrap();
        let src = Source {
            core: Core::new("source", p.source.clone()),
        };
        let mut served =
            samling_testkit::server::Served::start(&[], feed_router(src.clone(), &signer)).await;
        let endpoint = served.endpoint();
        produce(&src.core.store, &src.core.feed, &ids("r", 0..12)).await;

        // Another role may not follow the feed: refused, nothing applied,
        // and the consumer keeps trying (visible in its status).
        let caseworker = AuthContext::new("cw", Role::MunicipalityCaseworker)
            .with_municipality(samling_testkit::callers::municipality("0180"));
        let refused = Consumer::new(
            "stockholm/registry",
            grpc_source(&endpoint, &signer, caseworker),
        )
        .with_options(quick())
        .spawn_durable(p.sink.clone(), p.sink_feed.clone(), Effects::new("refused"))
        .unwrap();
        let s = wait(&refused, "refusals", |s| s.reconnects >= 2).await;
        assert!(
            s.last_error.as_deref().unwrap().starts_with("FORBIDDEN"),
            "{b}: {s:?}"
        );
        assert_eq!((s.applied, s.connected), (0, false), "{b}");
        refused.stop().await;
        // A token signed by someone else: not authenticated.
        let forger = ContextSigner::generate().unwrap();
        let forged = Consumer::new(
            "stockholm/registry",
            grpc_source(
                &endpoint,
                &forger,
                AuthContext::new("recruitment", Role::Service),
            ),
        )
        .with_options(quick())
        .spawn_durable(p.sink.clone(), p.sink_feed.clone(), Effects::new("refused"))
        .unwrap();
        let s = wait(&forged, "refusal", |s| s.reconnects >= 1).await;
        assert!(
            s.last_error
                .as_deref()
                .unwrap()
                .starts_with("UNAUTHENTICATED"),
            "{b}: {s:?}"
        );
        forged.stop().await;
        assert_eq!(effects(&p.sink, "refused").await, 0, "{b}");

        // The service identity follows it.
        let me = AuthContext::new("recruitment", Role::Service);
        let h = Consumer::new("stockholm/registry", grpc_source(&endpoint, &signer, me))
            .with_options(quick())
            .spawn_durable(
                p.sink.clone(),
                p.sink_feed.clone(),
                Effects::new("stockholm/registry"),
            )
            .unwrap();
        let s = wait(&h, "over gRPC", |s| s.cursor == 12).await;
        assert!(s.connected && s.ready(), "{b}: {s:?}");

        // The source restarts on the same address: its feed closes (streams
        // end UNAVAILABLE), the server stops, events are written meanwhile.
        let addr = served.addr;
        src.core.feed.close();
        served.kill().await;
        let s = wait(&h, "lost", |s| !s.connected).await;
        assert!(
            s.last_error.as_deref().unwrap().starts_with("UNAVAILABLE"),
            "{b}: {s:?}"
        );
        let restarted = Source {
            core: Core::new("source", p.source.clone()),
        };
        produce(&restarted.core.store, &restarted.core.feed, &ids("s", 0..6)).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let router = samling_kit::grpc::server_builder()
            .add_service(feed_service(restarted.clone(), &signer));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(samling_kit::grpc::serve(
            router,
            listener,
            None,
            async move {
                let _ = stopped.await;
            },
        ));
        let s = wait(&h, "resumed over gRPC", |s| s.cursor == 18 && s.connected).await;
        assert_eq!(s.applied, 18, "{b}");
        h.stop().await;
        restarted.core.feed.close();
        let _ = stop.send(());
        let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
        assert_eq!(effects(&p.sink, "stockholm/registry").await, 18, "{b}");
        assert_eq!(
            distinct_effects(&p.sink, "stockholm/registry").await,
            18,
            "{b}"
        );
    }
}

/// Catch-up rate of a durable consumer (batches of up to 100 events): run
/// with `cargo test -p samling-kit --test it consumer::catch_up_rate --
/// --ignored --nocapture`.
#[tokio::test]
#[ignore = "a measurement, not a check"]
async fn catch_up_rate() {
    const N: u32 = 2000;
    for p in pairs().await {
        for chunk in 0..(N / 500) {
            produce(&p.source, &p.feed, &ids(&format!("r{chunk}"), 0..500)).await;
        }
        let started = std::time::Instant::now();
        let h = Consumer::new("src", FeedSource(p.feed.clone()))
            .spawn_durable(p.sink.clone(), p.sink_feed.clone(), Effects::new("src"))
            .unwrap();
        wait(&h, "all", |s| s.cursor == N as u64).await;
        let took = started.elapsed();
        h.stop().await;
        println!(
            "{}: {N} events caught up in {took:?}: {:.0} events/s",
            p.name,
            N as f64 / took.as_secs_f64()
        );
        assert_eq!(effects(&p.sink, "src").await, N as i64);
    }
}

/// Log lines written while a test runs.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_and_dead_letters_name_events_never_their_payloads() {
    // A subscriber of its own: tracing caches per call site whether anyone
    // listens, and other tests' threads would race that cache.
    if !samling_testkit::in_own_process() {
        return;
    }
    // A payload that breaks the rule (ids only): still never copied.
    const MARK: &str = "19121212-1212";
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .finish();
    // The test's runtime runs the consumer on this thread.
    let _guard = tracing::subscriber::set_default(subscriber);
    for p in pairs().await {
        let b = &p.name;
        let switch = Switch {
            store: p.source.clone(),
            feed: Arc::default(),
            opens: Arc::default(),
        };
        let feed = switch.up();
        let mut tx = p.source.begin_write().await.unwrap();
        for id in ["a", "flaky", "poison", "b"] {
            tx.event(NewEvent::new(
                "source.made",
                "thing",
                id,
                json!({ "personnummer": MARK }),
            ))
            .await
            .unwrap();
        }
        tx.commit(&feed).await.unwrap();
        let handler = Effects::new("src");
        handler.flaky_left.store(2, Ordering::SeqCst);
        let h = Consumer::new("src", switch.clone())
            .with_options(quick())
            .spawn_durable(p.sink.clone(), p.sink_feed.clone(), handler)
            .unwrap();
        wait(&h, "all four", |s| s.cursor == 4).await;
        switch.down();
        let lost = wait(&h, "lost", |s| !s.connected).await;
        wait(&h, "a refused open", |s| s.reconnects > lost.reconnects).await;
        switch.up();
        wait(&h, "back", |s| s.connected).await;
        h.stop().await;
        let dead: Vec<(String, String, String, String)> = sqlx::query_as(
            "SELECT event_id, aggregate_id, reason, error FROM consumer_dead_letters",
        )
        .fetch_all(&p.sink.read)
        .await
        .unwrap();
        assert_eq!(dead.len(), 1, "{b}");
        assert!(!format!("{dead:?}").contains(MARK), "{b}: {dead:?}");
    }
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    for line in [
        "consumer following the feed",
        "consumer will retry the event",
        "consumer's handler refused the event",
        "consumer dead-lettered the event",
        "consumer lost the feed",
        "consumer cannot open the feed",
        "consumer stopped",
    ] {
        assert!(text.contains(line), "{line:?} missing from:\n{text}");
    }
    assert!(!text.contains(MARK), "a payload was logged:\n{text}");
}
