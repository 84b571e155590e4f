//! Integration tests of kit's stores: migrations, `WriteTx`, the audit chain,
//! the outbox and its feed, and idempotency records.
//!
//! Every test runs on SQLite, and also on PostgreSQL when
//! `SAMLING_TEST_DATABASE_URL` is set (each run in a fresh schema).

use crate::common;
mod faults;
mod group_commit;

use common::{TestStore, WIDGETS, heads, record, scalar, stores};
use futures::StreamExt;
use samling_kit::audit::{self, AuditRecord, AuditWriter};
use samling_kit::db::{Migration, Store};
use samling_kit::error::KitError;
use samling_kit::idempotency::IdempotencyKey;
use samling_kit::outbox::{EventFeed, NewEvent};
use samling_kit::paging::Page;
use samling_proto::common::v1::{AuditEntry, Event, Money, PageRequest, WatchEventsRequest};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::task::JoinSet;

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

// ---------------------------------------------------------------- helpers

async fn applied_migrations(store: &Store) -> Vec<(String, String, String)> {
    use sqlx::Row;
    sqlx::query("SELECT name, checksum, applied_at FROM samling_migrations ORDER BY name")
        .fetch_all(&store.read)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

/// Does `table` exist (is it queryable) in this store?
async fn table_exists(store: &Store, table: &str) -> bool {
    sqlx::query(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(&store.read)
        .await
        .is_ok()
}

fn created(id: &str) -> NewEvent {
    NewEvent::new("widget.created", "widget", id, json!({ "widget_id": id }))
}

fn updated(id: &str) -> NewEvent {
    NewEvent::new("widget.updated", "widget", id, json!({ "widget_id": id }))
}

/// Commit one transaction with one audit entry and the given events.
async fn commit_events(ts: &TestStore, feed: &EventFeed, events: Vec<NewEvent>) -> Vec<u64> {
    let mut tx = ts.store.begin_write().await.unwrap();
    tx.audit(&record("alice", "widget.write", "w"))
        .await
        .unwrap();
    let mut seqs = Vec::new();
    for e in events {
        seqs.push(tx.event(e).await.unwrap());
    }
    tx.commit(feed).await.unwrap();
    seqs
}

/// Append `n` audit entries, one committed `WriteTx` each.
async fn append_audits(store: &Store, n: usize) {
    let feed = EventFeed::new(store.clone());
    for i in 0..n {
        let mut tx = store.begin_write().await.unwrap();
        tx.audit(&record("alice", "widget.read", &format!("w{i}")))
            .await
            .unwrap();
        tx.commit(&feed).await.unwrap();
    }
}

/// Every audit entry about `record_id` ("" = all), page by page; also the
/// number of pages.
async fn list_all(store: &Store, record_id: &str, size: u32) -> (Vec<AuditEntry>, usize) {
    let mut page = Page::first(size);
    let mut all = Vec::new();
    let mut pages = 0;
    loop {
        let (entries, resp) = audit::list(store, record_id, &page).await.unwrap();
        assert!(entries.len() <= size as usize);
        pages += 1;
        all.extend(entries);
        if resp.next_page_token.is_empty() {
            return (all, pages);
        }
        page = Page::from_request(Some(&PageRequest {
            page_size: size,
            page_token: resp.next_page_token,
        }))
        .unwrap();
    }
}

/// Entries are numbered 1..=n and each links to its predecessor.
fn assert_linked(entries: &[AuditEntry], backend: &str) {
    let mut prev = GENESIS.to_string();
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(e.seq, i as u64 + 1, "{backend}: seq not contiguous");
        assert_eq!(e.prev_hash, prev, "{backend}: entry {} not linked", e.seq);
        prev = e.hash.clone();
    }
}

async fn collect_watch(feed: &EventFeed, req: WatchEventsRequest) -> Vec<Event> {
    let stream = feed.watch(req);
    tokio::time::timeout(Duration::from_secs(10), stream.collect::<Vec<_>>())
        .await
        .expect("a stop_at_end watch must end")
        .into_iter()
        .map(|r| r.unwrap())
        .collect()
}

fn seqs(events: &[Event]) -> Vec<u64> {
    events.iter().map(|e| e.seq).collect()
}

// ------------------------------------------------------------- migrations

#[tokio::test]
async fn opening_an_existing_store_again_applies_nothing_and_keeps_the_data() {
    for ts in stores(&[WIDGETS]).await {
        let b = ts.name();
        append_audits(&ts.store, 2).await;
        let before = applied_migrations(&ts.store).await;
        let names: Vec<&str> = before.iter().map(|m| m.0.as_str()).collect();
        assert_eq!(
            names,
            [
                "kit/0001_init",
                "kit/0002_audit_index_head",
                "kit/0003_store_probe",
                "kit/0004_audit_keyed",
                "kit/0005_idempotency_created",
                "kit/0006_consumer_dead_letters",
                "test/0001_widgets"
            ],
            "{b}"
        );
        ts.store.close().await;

        for _ in 0..2 {
            let again = ts.reopen(&[WIDGETS]).await;
            // Migrating the open store once more is also a no-op.
            again.migrate(&[WIDGETS]).await.unwrap();
            assert_eq!(applied_migrations(&again).await, before, "{b}: re-applied");
            assert_eq!(
                scalar(&again, "SELECT COUNT(*) FROM chain_head").await,
                1,
                "{b}"
            );
            assert_eq!(heads(&again).await, (2, 0), "{b}: chain head reset");
            let report = audit::verify(&again).await.unwrap();
            assert!(report.ok(), "{b}: {report:?}");
            assert_eq!(report.entries, 2, "{b}");
            again.close().await;
        }
    }
}

/// A store made before kit/0002 (the index head in `chain_head`) upgrades
/// keeping how far its audit index reaches.
#[tokio::test]
async fn a_store_from_before_the_index_head_migration_keeps_its_index_position() {
    for ts in stores(&[]).await {
        let b = ts.name();
        append_audits(&ts.store, 5).await;
        assert_eq!(audit::index_pending(&ts.store, 3).await.unwrap(), 3, "{b}");
        // Put the schema back as kit/0001 left it, index position included.
        sqlx::raw_sql(
            "ALTER TABLE chain_head ADD COLUMN indexed_seq BIGINT NOT NULL DEFAULT 0; \
             UPDATE chain_head SET indexed_seq = 3 WHERE id = 1; \
             DROP TABLE audit_index_head; \
             DELETE FROM samling_migrations WHERE name = 'kit/0002_audit_index_head';",
        )
        .execute(&ts.store.write)
        .await
        .unwrap();
        ts.store.close().await;

        let s = ts.reopen(&[]).await;
        assert_eq!(
            scalar(&s, "SELECT indexed_seq FROM audit_index_head WHERE id = 1").await,
            3,
            "{b}"
        );
        assert!(
            sqlx::query("SELECT indexed_seq FROM chain_head")
                .fetch_one(&s.read)
                .await
                .is_err(),
            "{b}: the old column is gone"
        );
        assert_eq!(audit::index_pending(&s, 100).await.unwrap(), 2, "{b}");
        assert_eq!(
            scalar(&s, "SELECT COUNT(*) FROM audit_index").await,
            5,
            "{b}"
        );
        assert!(audit::verify(&s).await.unwrap().ok(), "{b}");
        s.close().await;
    }
}

#[tokio::test]
async fn a_migration_changed_after_it_was_applied_is_refused() {
    const EDITED: &[Migration] = &[Migration {
        name: "test/0001_widgets",
        sql: "CREATE TABLE widgets (id TEXT PRIMARY KEY, n BIGINT NOT NULL, extra TEXT); \
              CREATE TABLE gadgets (id TEXT PRIMARY KEY);",
    }];
    for ts in stores(&[WIDGETS]).await {
        let b = ts.name();
        let before = applied_migrations(&ts.store).await;

        let err = ts.store.migrate(&[EDITED]).await.unwrap_err();
        assert!(
            matches!(err, KitError::FailedPrecondition(_)),
            "{b}: {err:?}"
        );
        assert!(err.to_string().contains("test/0001_widgets"), "{b}: {err}");
        // Nothing of the edited SQL ran, and the record is unchanged.
        assert!(!table_exists(&ts.store, "gadgets").await, "{b}");
        assert_eq!(applied_migrations(&ts.store).await, before, "{b}");

        // Opening with the edited set is refused too; the original still opens.
        let err = Store::open(&ts.target, None, &[EDITED]).await.unwrap_err();
        assert!(err.to_string().contains("test/0001_widgets"), "{b}: {err}");
        Store::open(&ts.target, None, &[WIDGETS]).await.unwrap();
    }
}

#[tokio::test]
async fn service_migrations_run_after_kits_in_the_order_given() {
    // Each migration records how many rows its predecessors left, so the
    // table's contents prove the order: kit's tables, then each set in turn.
    const SERVICE: &[Migration] = &[
        Migration {
            name: "svc/0001_init",
            sql: "CREATE TABLE svc_steps (name TEXT PRIMARY KEY, n BIGINT NOT NULL); \
                  INSERT INTO svc_steps (name, n) SELECT 'kit_head', audit_seq FROM chain_head WHERE id = 1;",
        },
        Migration {
            name: "svc/0002_more",
            sql: "INSERT INTO svc_steps (name, n) SELECT 'second', COUNT(*) FROM svc_steps;",
        },
    ];
    const OTHER: &[Migration] = &[Migration {
        name: "other/0001_init",
        sql: "INSERT INTO svc_steps (name, n) SELECT 'other', COUNT(*) FROM svc_steps;",
    }];
    for ts in stores(&[SERVICE, OTHER]).await {
        let b = ts.name();
        let s = &ts.store;
        assert_eq!(
            scalar(s, "SELECT n FROM svc_steps WHERE name = 'kit_head'").await,
            0,
            "{b}"
        );
        assert_eq!(
            scalar(s, "SELECT n FROM svc_steps WHERE name = 'second'").await,
            1,
            "{b}"
        );
        assert_eq!(
            scalar(s, "SELECT n FROM svc_steps WHERE name = 'other'").await,
            2,
            "{b}"
        );
        let names: Vec<String> = applied_migrations(s)
            .await
            .into_iter()
            .map(|m| m.0)
            .collect();
        assert_eq!(
            names,
            [
                "kit/0001_init",
                "kit/0002_audit_index_head",
                "kit/0003_store_probe",
                "kit/0004_audit_keyed",
                "kit/0005_idempotency_created",
                "kit/0006_consumer_dead_letters",
                "other/0001_init",
                "svc/0001_init",
                "svc/0002_more"
            ],
            "{b}"
        );
    }
}

#[tokio::test]
async fn a_failing_migration_is_rolled_back_and_not_recorded() {
    const BROKEN: &[Migration] = &[Migration {
        name: "broken/0001",
        sql: "CREATE TABLE half_done (id TEXT PRIMARY KEY); \
              INSERT INTO no_such_table (id) VALUES ('x');",
    }];
    for ts in stores(&[]).await {
        let b = ts.name();
        assert!(ts.store.migrate(&[BROKEN]).await.is_err(), "{b}");
        assert!(
            !table_exists(&ts.store, "half_done").await,
            "{b}: partly applied"
        );
        assert_eq!(
            scalar(
                &ts.store,
                "SELECT COUNT(*) FROM samling_migrations WHERE name = 'broken/0001'"
            )
            .await,
            0,
            "{b}"
        );
        // The store still works and can migrate afterwards.
        ts.store.migrate(&[WIDGETS]).await.unwrap();
        append_audits(&ts.store, 1).await;
        assert!(audit::verify(&ts.store).await.unwrap().ok(), "{b}");
    }
}

// ---------------------------------------------------------------- WriteTx

#[tokio::test]
async fn a_write_tx_commits_change_audit_and_event_together() {
    for ts in stores(&[WIDGETS]).await {
        let b = ts.name();
        let s = &ts.store;
        let feed = EventFeed::new(s.clone());

        let mut tx = s.begin_write().await.unwrap();
        sqlx::query("INSERT INTO widgets (id, n) VALUES ($1, $2)")
            .bind("w1")
            .bind(7_i64)
            .execute(tx.conn())
            .await
            .unwrap();
        tx.audit(&record("alice", "widget.create", "w1"))
            .await
            .unwrap();
        let seq = tx.event(created("w1")).await.unwrap();
        assert_eq!(seq, 1, "{b}");

        // Invisible to readers until committed.
        assert_eq!(scalar(s, "SELECT COUNT(*) FROM widgets").await, 0, "{b}");
        assert_eq!(scalar(s, "SELECT COUNT(*) FROM audit_log").await, 0, "{b}");
        assert!(feed.read_after(0, 10).await.unwrap().is_empty(), "{b}");

        tx.commit(&feed).await.unwrap();

        assert_eq!(
            scalar(s, "SELECT n FROM widgets WHERE id = 'w1'").await,
            7,
            "{b}"
        );
        let (entries, page) = audit::list(s, "w1", &Page::first(10)).await.unwrap();
        assert!(page.next_page_token.is_empty(), "{b}");
        assert_eq!(entries.len(), 1, "{b}");
        let e = &entries[0];
        assert_eq!(
            (
                e.seq,
                e.subject.as_str(),
                e.role.as_str(),
                e.action.as_str()
            ),
            (1, "alice", "municipality_caseworker", "widget.create"),
            "{b}"
        );
        assert_eq!(
            (
                e.record_type.as_str(),
                e.record_id.as_str(),
                e.purpose.as_str()
            ),
            ("widget", "w1", "test"),
            "{b}"
        );
        assert_eq!(e.prev_hash, GENESIS, "{b}");
        assert_eq!(e.hash.len(), 64, "{b}");

        let events = feed.read_after(0, 10).await.unwrap();
        assert_eq!(events.len(), 1, "{b}");
        let ev = &events[0];
        assert_eq!(
            (
                ev.seq,
                ev.event_type.as_str(),
                ev.aggregate_type.as_str(),
                ev.aggregate_id.as_str()
            ),
            (1, "widget.created", "widget", "w1"),
            "{b}"
        );
        let payload: serde_json::Value = serde_json::from_str(&ev.payload_json).unwrap();
        assert_eq!(payload, json!({ "widget_id": "w1" }), "{b}");
        assert!(!ev.id.is_empty() && !ev.occurred_at.is_empty(), "{b}");

        assert_eq!(heads(s).await, (1, 1), "{b}");
        let report = audit::verify(s).await.unwrap();
        assert!(report.ok() && report.entries == 1, "{b}: {report:?}");
    }
}

#[tokio::test]
async fn a_write_of_more_rows_than_one_statement_binds_commits_them_all() {
    for ts in stores(&[WIDGETS]).await {
        let b = ts.name();
        let s = &ts.store;
        let feed = EventFeed::new(s.clone());
        // More rows of each kind than one multi-row INSERT carries.
        let widgets: Vec<(String, i64)> = (0..1000).map(|i| (format!("w{i}"), i)).collect();
        let mut tx = s.begin_write().await.unwrap();
        samling_kit::db::insert_rows(
            tx.conn(),
            "INSERT INTO widgets (id, n)",
            2,
            &widgets,
            |q, (id, n)| q.bind(id.clone()).bind(*n),
        )
        .await
        .unwrap();
        for i in 0..150 {
            tx.audit(&record("alice", "widget.create", &format!("w{i}")))
                .await
                .unwrap();
        }
        for i in 0..250 {
            tx.event(created(&format!("w{i}"))).await.unwrap();
        }
        tx.commit(&feed).await.unwrap();

        assert_eq!(scalar(s, "SELECT COUNT(*) FROM widgets").await, 1000, "{b}");
        // Every row's values in their own columns, row by row.
        assert_eq!(
            scalar(
                s,
                "SELECT COUNT(*) FROM widgets WHERE id = 'w' || CAST(n AS TEXT)"
            )
            .await,
            1000,
            "{b}"
        );
        assert_eq!(
            scalar(s, "SELECT COUNT(*) FROM audit_log").await,
            150,
            "{b}"
        );
        assert!(audit::verify(s).await.unwrap().ok(), "{b}");
        let events = feed.read_after(0, 1000).await.unwrap();
        assert_eq!(seqs(&events), (1..=250).collect::<Vec<u64>>(), "{b}");
    }
}

#[tokio::test]
async fn a_dropped_write_tx_leaves_no_row_no_audit_and_no_event() {
    for ts in stores(&[WIDGETS]).await {
        let b = ts.name();
        let s = &ts.store;
        let feed = EventFeed::new(s.clone());

        {
            let mut tx = s.begin_write().await.unwrap();
            sqlx::query("INSERT INTO widgets (id, n) VALUES ('w1', 1)")
                .execute(tx.conn())
                .await
                .unwrap();
            tx.audit(&record("alice", "widget.create", "w1"))
                .await
                .unwrap();
            tx.event(created("w1")).await.unwrap();
            // Dropped without commit: a handler that returned early with `?`.
        }

        assert_eq!(scalar(s, "SELECT COUNT(*) FROM widgets").await, 0, "{b}");
        assert_eq!(scalar(s, "SELECT COUNT(*) FROM audit_log").await, 0, "{b}");
        assert_eq!(scalar(s, "SELECT COUNT(*) FROM outbox").await, 0, "{b}");
        assert!(feed.read_after(0, 10).await.unwrap().is_empty(), "{b}");
        assert_eq!(heads(s).await, (0, 0), "{b}: chain head advanced");

        // A transaction failing after its audit and event is undone the same way.
        commit_rows(s, &feed, &["w2"]).await;
        {
            let mut tx = s.begin_write().await.unwrap();
            tx.audit(&record("alice", "widget.create", "w2"))
                .await
                .unwrap();
            tx.event(created("w2")).await.unwrap();
            let dup = sqlx::query("INSERT INTO widgets (id, n) VALUES ('w2', 2)")
                .execute(tx.conn())
                .await;
            assert!(dup.is_err(), "{b}: duplicate key accepted");
        }
        assert_eq!(scalar(s, "SELECT COUNT(*) FROM widgets").await, 1, "{b}");
        assert_eq!(heads(s).await, (1, 1), "{b}");

        // The next committed transaction continues the sequences without gaps.
        let mut tx = s.begin_write().await.unwrap();
        tx.audit(&record("alice", "widget.create", "w3"))
            .await
            .unwrap();
        assert_eq!(tx.event(created("w3")).await.unwrap(), 2, "{b}");
        tx.commit(&feed).await.unwrap();
        let report = audit::verify(s).await.unwrap();
        assert!(report.ok() && report.entries == 2, "{b}: {report:?}");
        assert_eq!(seqs(&feed.read_after(0, 10).await.unwrap()), [1, 2], "{b}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_audit_only_commit_refuses_events_and_keeps_nothing_of_them() {
    for ts in stores(&[WIDGETS]).await {
        let b = ts.name();
        let s = &ts.store;
        let mut tx = s.begin_write().await.unwrap();
        tx.audit(&record("alice", "widget.read", "w1"))
            .await
            .unwrap();
        tx.event(created("w1")).await.unwrap();
        assert!(tx.commit_audits().await.is_err(), "{b}");
        assert_eq!(scalar(s, "SELECT COUNT(*) FROM audit_log").await, 0, "{b}");
        assert_eq!(scalar(s, "SELECT COUNT(*) FROM outbox").await, 0, "{b}");
        assert_eq!(heads(s).await, (0, 0), "{b}");

        let mut tx = s.begin_write().await.unwrap();
        tx.audit(&record("alice", "widget.read", "w1"))
            .await
            .unwrap();
        tx.audit(&record("alice", "widget.read", "w2"))
            .await
            .unwrap();
        tx.commit_audits().await.unwrap();
        assert_eq!(heads(s).await, (2, 0), "{b}");
        let report = audit::verify(s).await.unwrap();
        assert!(report.ok() && report.entries == 2, "{b}: {report:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_background_indexer_catches_up_a_backlog_of_many_batches() {
    for ts in stores(&[]).await {
        let b = ts.name();
        let s = &ts.store;
        // 1,000 read audits in one group commit: several indexer batches.
        let writer = AuditWriter::spawn(s.clone());
        writer
            .record(
                (0..1_000)
                    .map(|i| record("alice", "widget.read", &format!("w{}", i % 7)))
                    .collect(),
            )
            .await
            .unwrap();
        let indexer = audit::spawn_indexer(s.clone());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let indexed = scalar(s, "SELECT indexed_seq FROM audit_index_head WHERE id = 1").await;
            if indexed == 1_000 {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{b}: indexed {indexed} of 1000"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        indexer.abort();
        assert_eq!(
            scalar(s, "SELECT COUNT(*) FROM audit_index").await,
            1_000,
            "{b}"
        );
        assert_eq!(
            scalar(s, "SELECT COUNT(*) FROM audit_index WHERE record_id = 'w3'").await,
            143,
            "{b}"
        );
    }
}

/// On PostgreSQL an indexing run holds only the index head: writers (and
/// the read audits every GetHome waits for) commit meanwhile. (SQLite has
/// one writer connection, so there the two take turns by construction.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writers_do_not_wait_for_an_indexing_run_on_postgres() {
    for ts in stores(&[]).await {
        if ts.store.backend != samling_kit::db::Backend::Postgres {
            continue;
        }
        let s = &ts.store;
        let mut indexing = s.write.begin().await.unwrap();
        sqlx::query("UPDATE audit_index_head SET indexed_seq = indexed_seq WHERE id = 1")
            .execute(&mut *indexing)
            .await
            .unwrap();
        let writer = AuditWriter::spawn(s.clone());
        let wrote = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            writer.record(vec![record("alice", "widget.read", "w1")]),
        )
        .await;
        assert!(
            matches!(wrote, Ok(Ok(()))),
            "a read audit waited for the indexer: {wrote:?}"
        );
        indexing.rollback().await.unwrap();
        assert_eq!(heads(s).await.0, 1);
    }
}

/// One committed transaction per id: insert the widget, audit it, emit an event.
async fn commit_rows(store: &Store, feed: &EventFeed, ids: &[&str]) {
    for id in ids {
        let mut tx = store.begin_write().await.unwrap();
        sqlx::query("INSERT INTO widgets (id, n) VALUES ($1, 0)")
            .bind(*id)
            .execute(tx.conn())
            .await
            .unwrap();
        tx.audit(&record("alice", "widget.create", id))
            .await
            .unwrap();
        tx.event(created(id)).await.unwrap();
        tx.commit(feed).await.unwrap();
    }
}

// ------------------------------------------------------------ audit chain

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_chain_stays_intact_under_concurrent_appends() {
    const READERS: usize = 50;
    const PER_READER: usize = 5;
    const WRITERS: usize = 10;
    for ts in stores(&[]).await {
        let b = ts.name();
        let s = ts.store.clone();
        let writer = AuditWriter::spawn(s.clone());
        let feed = EventFeed::new(s.clone());
        assert!(writer.record(Vec::new()).await.is_ok(), "{b}");

        let mut tasks = JoinSet::new();
        for t in 0..READERS {
            let w = writer.clone();
            tasks.spawn(async move {
                for i in 0..PER_READER {
                    let r = record(&format!("reader-{t}"), "widget.read", &format!("r{t}-{i}"));
                    w.record(vec![r]).await.unwrap();
                }
            });
        }
        for t in 0..WRITERS {
            let (s, feed) = (s.clone(), feed.clone());
            tasks.spawn(async move {
                let mut tx = s.begin_write().await.unwrap();
                tx.audit(&record("writer", "widget.update", &format!("u{t}-0")))
                    .await
                    .unwrap();
                tx.audit(&record("writer", "widget.update", &format!("u{t}-1")))
                    .await
                    .unwrap();
                tx.commit(&feed).await.unwrap();
            });
        }
        // Several entries in one `record` call land together, in order.
        let batch: Vec<AuditRecord> = (0..3)
            .map(|i| record("batch", "widget.read", &format!("b{i}")))
            .collect();
        writer.record(batch).await.unwrap();
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }

        let total = READERS * PER_READER + WRITERS * 2 + 3;
        let report = audit::verify(&s).await.unwrap();
        assert!(report.ok(), "{b}: {report:?}");
        assert_eq!(report.entries, total as u64, "{b}");
        assert_eq!(heads(&s).await.0, total as i64, "{b}");

        let (all, pages) = list_all(&s, "", 100).await;
        assert_eq!(all.len(), total, "{b}");
        assert_eq!(pages, total.div_ceil(100), "{b}");
        assert_linked(&all, b);
        let mut ids: Vec<&str> = all.iter().map(|e| e.record_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), total, "{b}: an entry was lost or doubled");
        let batch_seqs: Vec<u64> = all
            .iter()
            .filter(|e| e.subject == "batch")
            .map(|e| e.seq)
            .collect();
        assert_eq!(batch_seqs.len(), 3, "{b}");
        assert!(
            batch_seqs.windows(2).all(|w| w[1] == w[0] + 1),
            "{b}: {batch_seqs:?}"
        );
        // Each writer's two entries are adjacent: its transaction held the head.
        for t in 0..WRITERS {
            let at = |i| {
                all.iter()
                    .find(|e| e.record_id == format!("u{t}-{i}"))
                    .unwrap()
                    .seq
            };
            assert_eq!(at(1), at(0) + 1, "{b}: writer {t} interleaved");
        }
    }
}

#[tokio::test]
async fn a_changed_entry_breaks_the_chain_at_that_entry() {
    for ts in stores(&[]).await {
        let b = ts.name();
        let s = &ts.store;
        append_audits(s, 5).await;
        assert!(audit::verify(s).await.unwrap().ok(), "{b}");

        sqlx::query("UPDATE audit_log SET subject = 'x' WHERE seq = 3")
            .execute(&s.write)
            .await
            .unwrap();
        let report = audit::verify(s).await.unwrap();
        assert!(!report.ok(), "{b}");
        assert_eq!(report.first_broken_seq, Some(3), "{b}");
        assert_eq!(report.entries, 2, "{b}");
    }
}

/// How a database writer re-hashes entries (all they can compute without the key).
#[derive(Clone, Copy, Debug)]
enum Rehash<'a> {
    /// The original, unkeyed hash (entries from before the chain was keyed).
    Legacy,
    /// Plain SHA-256 of every field (what a store without a key writes).
    Unkeyed,
    /// HMAC under a key of their own.
    Key(&'a audit::ChainKey),
}

/// The attack of issue 17: recompute every hash from entry `from` on (after
/// whatever the caller changed) and move the chain head to match.
async fn rehash(store: &Store, from: i64, how: Rehash<'_>) {
    use sqlx::Row;
    let mut prev: String = if from == 1 {
        GENESIS.into()
    } else {
        sqlx::query("SELECT hash FROM audit_log WHERE seq = $1")
            .bind(from - 1)
            .fetch_one(&store.read)
            .await
            .unwrap()
            .get(0)
    };
    let rows = sqlx::query(
        "SELECT seq, id, at, subject, role, municipality, party, action, record_type, record_id, \
         purpose, reason FROM audit_log WHERE seq >= $1 ORDER BY seq",
    )
    .bind(from)
    .fetch_all(&store.read)
    .await
    .unwrap();
    for row in rows {
        let seq: i64 = row.get(0);
        let (id, at): (String, String) = (row.get(1), row.get(2));
        let mut r = AuditRecord {
            subject: row.get(3),
            role: row.get(4),
            municipality: row.get(5),
            party: row.get(6),
            action: row.get(7),
            record_type: row.get(8),
            record_id: row.get(9),
            purpose: row.get(10),
            reason: row.get(11),
        };
        let (key_id, hash) = match how {
            Rehash::Legacy => {
                // Legacy rows have no such fields: drop them, as a careful forger would.
                r.municipality.clear();
                r.party.clear();
                r.reason.clear();
                (String::new(), audit::entry_hash(&prev, seq, &id, &at, &r))
            }
            Rehash::Unkeyed => audit::keyed_hash(None, &prev, seq, &id, &at, &r),
            Rehash::Key(k) => audit::keyed_hash(Some(k), &prev, seq, &id, &at, &r),
        };
        sqlx::query(
            "UPDATE audit_log SET prev_hash = $1, hash = $2, key_id = $3, municipality = $4, \
             party = $5, reason = $6 WHERE seq = $7",
        )
        .bind(&prev)
        .bind(&hash)
        .bind(&key_id)
        .bind(&r.municipality)
        .bind(&r.party)
        .bind(&r.reason)
        .bind(seq)
        .execute(&store.write)
        .await
        .unwrap();
        prev = hash;
    }
    sqlx::query("UPDATE chain_head SET audit_hash = $1 WHERE id = 1")
        .bind(&prev)
        .execute(&store.write)
        .await
        .unwrap();
}

/// Issue 17 §2: "re-hashing every entry still gives chain intact". Before
/// the chain was keyed every one of these forgeries verified (the hash was
/// plain SHA-256 anyone can compute); now each is found at the entry where
/// it starts, whatever the forger hashes with.
#[tokio::test]
async fn a_database_writer_cannot_rehash_the_keyed_chain() {
    let mallorys_key = audit::ChainKey::generate().unwrap();
    for how in [Rehash::Legacy, Rehash::Unkeyed, Rehash::Key(&mallorys_key)] {
        for ts in stores(&[]).await {
            let b = format!("{} {how:?}", ts.name());
            let s = &ts.store;
            append_audits(s, 5).await;
            sqlx::query("UPDATE audit_log SET subject = 'mallory' WHERE seq = 3")
                .execute(&s.write)
                .await
                .unwrap();
            rehash(s, 3, how).await;
            let report = audit::verify(s).await.unwrap();
            assert_eq!(report.first_broken_seq, Some(3), "{b}: {report:?}");
            assert_eq!(report.entries, 2, "{b}");
            // Re-hashing the whole chain is found at its first entry.
            rehash(s, 1, how).await;
            let report = audit::verify(s).await.unwrap();
            assert_eq!(report.first_broken_seq, Some(1), "{b}: {report:?}");
        }
    }
}

#[tokio::test]
async fn the_municipality_party_and_reason_of_an_entry_are_recorded_and_covered_by_its_hash() {
    use samling_kit::auth::{AuthContext, Role};
    use samling_kit::reference::MunicipalityCode;
    for ts in stores(&[]).await {
        let b = ts.name();
        let s = &ts.store;
        let mut ctx = AuthContext::new("user-1", Role::FamilyHome)
            .with_municipality(MunicipalityCode::parse("0180").unwrap())
            .with_party("home-7")
            .with_purpose("uppföljning");
        ctx.reason = "stated in the request".into();
        let mut tx = s.begin_write().await.unwrap();
        tx.audit(&ctx.audit("read", "home", "home-7"))
            .await
            .unwrap();
        tx.commit_audits().await.unwrap();
        let row =
            sqlx::query("SELECT municipality, party, purpose, reason FROM audit_log WHERE seq = 1")
                .fetch_one(&s.read)
                .await
                .unwrap();
        use sqlx::Row;
        let got: (String, String, String, String) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        assert_eq!(
            got,
            (
                "0180".into(),
                "home-7".into(),
                "uppföljning".into(),
                "stated in the request".into()
            ),
            "{b}"
        );
        assert!(audit::verify(s).await.unwrap().ok(), "{b}");
        for change in [
            "UPDATE audit_log SET municipality = '0181' WHERE seq = 1",
            "UPDATE audit_log SET party = 'home-8', municipality = '0180' WHERE seq = 1",
        ] {
            sqlx::query(change).execute(&s.write).await.unwrap();
            let report = audit::verify(s).await.unwrap();
            assert_eq!(report.first_broken_seq, Some(1), "{b}: {change}");
        }
    }
}

/// A chain written before the chain was keyed: every entry's hash the
/// original, unkeyed one (as kit/0004 leaves old rows).
async fn make_legacy(ts: &TestStore, n: usize) {
    append_audits(&ts.store, n).await;
    rehash(&ts.store, 1, Rehash::Legacy).await;
}

#[tokio::test]
async fn a_chain_from_before_keying_is_sealed_once_and_then_verifies() {
    for ts in stores(&[]).await {
        let b = ts.name();
        make_legacy(&ts, 3).await;
        let report = audit::verify(&ts.store).await.unwrap();
        assert_eq!(
            report.first_broken_seq,
            Some(1),
            "{b}: unsealed: {report:?}"
        );

        // The service opens it with the key: one seal entry vouches for the three.
        let s = ts.reopen(&[]).await;
        assert_eq!(heads(&s).await.0, 4, "{b}");
        let action: String = sqlx::query_scalar("SELECT action FROM audit_log WHERE seq = 4")
            .fetch_one(&s.read)
            .await
            .unwrap();
        assert_eq!(action, audit::SEAL_ACTION, "{b}");
        append_audits(&s, 2).await;
        let report = audit::verify(&s).await.unwrap();
        assert!(report.ok(), "{b}: {report:?}");
        assert_eq!(report.entries, 6, "{b}");
        // Opening again seals nothing more.
        let again = ts.reopen(&[]).await;
        assert_eq!(heads(&again).await.0, 6, "{b}");

        // The legacy entries are still protected: by the seal's link.
        sqlx::query("UPDATE audit_log SET subject = 'mallory' WHERE seq = 2")
            .execute(&s.write)
            .await
            .unwrap();
        assert_eq!(
            audit::verify(&s).await.unwrap().first_broken_seq,
            Some(2),
            "{b}"
        );
        rehash(&s, 2, Rehash::Legacy).await;
        let report = audit::verify(&s).await.unwrap();
        assert!(
            !report.ok(),
            "{b}: re-hashed legacy entries pass: {report:?}"
        );
    }
}

/// A store really written before kit/0004 (the old columns, the old hash)
/// upgrades in place: the migration adds the columns to its rows, the first
/// keyed open seals them, and the chain verifies and continues keyed.
#[tokio::test]
async fn a_store_from_before_the_keyed_chain_migration_upgrades_and_is_sealed() {
    for ts in stores(&[]).await {
        let b = ts.name();
        let s = &ts.store;
        // Put the schema back as kit/0002 left it.
        for col in ["municipality", "party", "reason", "key_id"] {
            sqlx::raw_sql(&format!("ALTER TABLE audit_log DROP COLUMN {col}"))
                .execute(&s.write)
                .await
                .unwrap();
        }
        sqlx::query("DELETE FROM samling_migrations WHERE name = 'kit/0004_audit_keyed'")
            .execute(&s.write)
            .await
            .unwrap();
        // Three entries as the old code wrote them.
        let mut prev = GENESIS.to_string();
        for seq in 1..=3i64 {
            let r = record("alice", "widget.read", &format!("w{seq}"));
            let (id, at) = (format!("id-{seq}"), "2026-11-30T10:00:00Z".to_string());
            let hash = audit::entry_hash(&prev, seq, &id, &at, &r);
            sqlx::query(
                "INSERT INTO audit_log (seq, id, at, subject, role, action, record_type, \
                 record_id, purpose, prev_hash, hash) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(seq)
            .bind(&id)
            .bind(&at)
            .bind(&r.subject)
            .bind(&r.role)
            .bind(&r.action)
            .bind(&r.record_type)
            .bind(&r.record_id)
            .bind(&r.purpose)
            .bind(&prev)
            .bind(&hash)
            .execute(&s.write)
            .await
            .unwrap();
            prev = hash;
        }
        sqlx::query("UPDATE chain_head SET audit_seq = 3, audit_hash = $1 WHERE id = 1")
            .bind(&prev)
            .execute(&s.write)
            .await
            .unwrap();
        s.close().await;

        let s = ts.reopen(&[]).await;
        assert_eq!(heads(&s).await.0, 4, "{b}: sealed");
        append_audits(&s, 2).await;
        let report = audit::verify(&s).await.unwrap();
        assert!(report.ok(), "{b}: {report:?}");
        assert_eq!(report.entries, 6, "{b}");
        let keyed = scalar(&s, "SELECT COUNT(*) FROM audit_log WHERE key_id <> ''").await;
        assert_eq!(keyed, 3, "{b}: the seal and the two new entries");
        s.close().await;
    }
}

/// The downgrade: make keyed entries look like entries from before keying.
#[tokio::test]
async fn unkeyed_entries_after_keyed_ones_are_a_downgrade() {
    for ts in stores(&[]).await {
        let b = ts.name();
        let s = &ts.store;
        append_audits(s, 6).await;
        // The tail only: an unkeyed entry after keyed ones.
        rehash(s, 4, Rehash::Legacy).await;
        let report = audit::verify(s).await.unwrap();
        assert_eq!(report.first_broken_seq, Some(4), "{b}: {report:?}");
        // The whole chain, and the running service writes on top of it: a
        // keyed entry that is no seal does not vouch for unkeyed ones.
        rehash(s, 1, Rehash::Legacy).await;
        append_audits(s, 1).await;
        let report = audit::verify(s).await.unwrap();
        assert_eq!(report.first_broken_seq, Some(7), "{b}: {report:?}");
    }
}

#[tokio::test]
async fn a_downgraded_chain_is_not_sealed_once_a_checkpoint_exists() {
    for ts in stores(&[]).await {
        let b = ts.name();
        let dir = tempfile::tempdir().unwrap();
        let file = audit::CheckpointFile::new(dir.path(), "kit", "test");
        append_audits(&ts.store, 4).await;
        file.write(&ts.store, &ts.key).await.unwrap().unwrap();
        rehash(&ts.store, 1, Rehash::Legacy).await;
        // A restart must not vouch for the forgery.
        let s = samling_kit::db::Store::open(&ts.target, None, &[])
            .await
            .unwrap();
        let s = audit::with_key(s, ts.key.clone(), Some(&file.path))
            .await
            .unwrap();
        assert_eq!(heads(&s).await.0, 4, "{b}: sealed a downgraded chain");
        let cp = file.read(&ts.key).unwrap();
        let report = audit::verify_against(&s, cp.as_ref()).await.unwrap();
        assert_eq!(report.first_broken_seq, Some(1), "{b}: {report:?}");
    }
}

/// Issue 17 §2: "cutting the tail and moving the chain head back still
/// gives chain intact" — true of the chain alone; the checkpoint finds it.
#[tokio::test]
async fn a_cut_tail_with_the_head_moved_back_is_found_against_the_checkpoint() {
    for ts in stores(&[]).await {
        let b = ts.name();
        let s = &ts.store;
        let dir = tempfile::tempdir().unwrap();
        let file = audit::CheckpointFile::new(dir.path(), "kit", "test");
        append_audits(s, 8).await;
        let cp = file.write(s, &ts.key).await.unwrap().unwrap();
        assert_eq!(cp.seq, 8, "{b}");
        assert!(
            audit::verify_against(s, Some(&cp)).await.unwrap().ok(),
            "{b}"
        );

        sqlx::query("DELETE FROM audit_log WHERE seq > 5")
            .execute(&s.write)
            .await
            .unwrap();
        sqlx::raw_sql(
            "UPDATE chain_head SET audit_seq = 5, \
             audit_hash = (SELECT hash FROM audit_log WHERE seq = 5) WHERE id = 1",
        )
        .execute(&s.write)
        .await
        .unwrap();
        assert!(
            audit::verify(s).await.unwrap().ok(),
            "{b}: the chain alone holds"
        );
        let report = audit::verify_against(s, Some(&cp)).await.unwrap();
        assert_eq!(report.first_broken_seq, Some(6), "{b}: {report:?}");
        assert_eq!(report.checkpoint_seq, Some(8), "{b}");

        // Nor does the next checkpoint bless the cut chain.
        append_audits(s, 5).await;
        let e = file.write(s, &ts.key).await.unwrap_err();
        assert!(matches!(e, KitError::FailedPrecondition(_)), "{b}: {e:?}");
        assert_eq!(file.read(&ts.key).unwrap().unwrap().seq, 8, "{b}");
    }
}

#[tokio::test]
async fn a_checkpoint_edited_or_signed_with_another_key_is_refused() {
    for ts in stores(&[]).await {
        let b = ts.name();
        let dir = tempfile::tempdir().unwrap();
        let file = audit::CheckpointFile::new(dir.path(), "kit", "test");
        append_audits(&ts.store, 3).await;
        file.write(&ts.store, &ts.key).await.unwrap();
        let text = std::fs::read_to_string(&file.path).unwrap();
        let other = audit::ChainKey::generate().unwrap();
        assert!(file.read(&other).is_err(), "{b}: another key");
        std::fs::write(&file.path, text.replace("\"seq\": 3", "\"seq\": 2")).unwrap();
        let e = file.read(&ts.key).unwrap_err();
        assert!(e.to_string().contains("signature"), "{b}: {e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_checkpointer_writes_at_once_and_once_more_when_stopped() {
    for ts in stores(&[]).await {
        let b = ts.name();
        let dir = tempfile::tempdir().unwrap();
        let file = audit::CheckpointFile::new(dir.path(), "kit", "test");
        append_audits(&ts.store, 2).await;
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        let task = audit::spawn_checkpointer(
            ts.store.clone(),
            ts.key.clone(),
            file.clone(),
            Duration::from_secs(3600),
            stop_rx,
        );
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while file.read(&ts.key).unwrap().is_none() {
            assert!(
                std::time::Instant::now() < deadline,
                "{b}: no first checkpoint"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(file.read(&ts.key).unwrap().unwrap().seq, 2, "{b}");
        append_audits(&ts.store, 3).await;
        stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(file.read(&ts.key).unwrap().unwrap().seq, 5, "{b}: at stop");
    }
}

/// Issue 17 §2: "deleting index rows makes ListAudit return 0 of 16 entries".
#[tokio::test]
async fn verify_reports_a_record_index_that_no_longer_matches_the_chain() {
    for ts in stores(&[]).await {
        let b = ts.name();
        let s = &ts.store;
        let feed = EventFeed::new(s.clone());
        for _ in 0..16 {
            let mut tx = s.begin_write().await.unwrap();
            tx.audit(&record("alice", "widget.read", "child-1"))
                .await
                .unwrap();
            tx.commit(&feed).await.unwrap();
        }
        audit::index_pending(s, 100).await.unwrap();
        assert_eq!(list_all(s, "child-1", 50).await.0.len(), 16, "{b}");
        assert!(audit::verify(s).await.unwrap().ok(), "{b}");

        sqlx::query("DELETE FROM audit_index WHERE seq >= 4")
            .execute(&s.write)
            .await
            .unwrap();
        assert_eq!(
            list_all(s, "child-1", 50).await.0.len(),
            3,
            "{b}: the finding"
        );
        let report = audit::verify(s).await.unwrap();
        assert_eq!(report.first_broken_seq, Some(4), "{b}: {report:?}");
        assert!(report.problem.unwrap().contains("index"), "{b}");

        // Filed under another record instead of deleted: also reported.
        audit::index_pending(s, 100).await.unwrap();
        sqlx::raw_sql("DELETE FROM audit_index; UPDATE audit_index_head SET indexed_seq = 0")
            .execute(&s.write)
            .await
            .unwrap();
        audit::index_pending(s, 100).await.unwrap();
        assert!(audit::verify(s).await.unwrap().ok(), "{b}: re-indexed");
        sqlx::query("UPDATE audit_index SET record_id = 'child-2' WHERE seq = 9")
            .execute(&s.write)
            .await
            .unwrap();
        let report = audit::verify(s).await.unwrap();
        assert_eq!(report.first_broken_seq, Some(9), "{b}: {report:?}");
    }
}

#[tokio::test]
async fn a_removed_entry_breaks_the_chain() {
    for ts in stores(&[]).await {
        let b = ts.name();
        let s = &ts.store;
        append_audits(s, 5).await;

        // The last entry: every remaining link is fine, but the head no longer matches.
        sqlx::query("DELETE FROM audit_log WHERE seq = 5")
            .execute(&s.write)
            .await
            .unwrap();
        let report = audit::verify(s).await.unwrap();
        assert_eq!(report.first_broken_seq, Some(5), "{b}: {report:?}");
        assert_eq!(report.entries, 4, "{b}");

        // One in the middle: a gap.
        sqlx::query("DELETE FROM audit_log WHERE seq = 2")
            .execute(&s.write)
            .await
            .unwrap();
        let report = audit::verify(s).await.unwrap();
        assert_eq!(report.first_broken_seq, Some(2), "{b}: {report:?}");
        assert_eq!(report.entries, 1, "{b}");
    }
}

#[tokio::test]
async fn an_empty_chain_verifies() {
    for ts in stores(&[]).await {
        let report = audit::verify(&ts.store).await.unwrap();
        assert_eq!(report.entries, 0, "{}", ts.name());
        assert!(report.ok(), "{}", ts.name());
    }
}

#[tokio::test]
async fn audit_entries_are_listed_by_record_page_by_page() {
    for ts in stores(&[]).await {
        let b = ts.name();
        let s = &ts.store;
        let feed = EventFeed::new(s.clone());
        // 7 entries about "a" interleaved with 4 about "b".
        for i in 0..11 {
            let id = if i % 3 == 1 { "b" } else { "a" };
            let mut tx = s.begin_write().await.unwrap();
            tx.audit(&record(&format!("user-{i}"), "widget.read", id))
                .await
                .unwrap();
            tx.commit(&feed).await.unwrap();
        }
        let a_count = (0..11).filter(|i| i % 3 != 1).count();

        let (first, resp) = audit::list(s, "a", &Page::first(3)).await.unwrap();
        assert_eq!(first.len(), 3, "{b}");
        assert!(!resp.next_page_token.is_empty(), "{b}");

        let (a, pages) = list_all(s, "a", 3).await;
        assert_eq!(a.len(), a_count, "{b}");
        assert_eq!(pages, a_count.div_ceil(3), "{b}");
        assert!(a.iter().all(|e| e.record_id == "a"), "{b}");
        assert!(
            a.windows(2).all(|w| w[0].seq < w[1].seq),
            "{b}: not oldest first"
        );
        assert_eq!(a[..3], first[..], "{b}");

        let (bs, _) = list_all(s, "b", 3).await;
        assert_eq!(seqs_of(&bs), [2, 5, 8, 11], "{b}");
        let (all, _) = list_all(s, "", 4).await;
        assert_eq!(all.len(), 11, "{b}");
        assert_linked(&all, b);
        assert!(list_all(s, "nobody", 3).await.0.is_empty(), "{b}");

        let bad = Page {
            size: 3,
            after: Some("not-a-seq".into()),
        };
        let err = audit::list(s, "a", &bad).await.unwrap_err();
        assert!(err.to_string().starts_with("page.page_token"), "{b}: {err}");
    }
}

#[tokio::test]
async fn listing_by_record_is_the_same_before_during_and_after_indexing() {
    for ts in stores(&[]).await {
        let b = ts.name();
        let s = &ts.store;
        let feed = EventFeed::new(s.clone());
        let write = |i: usize| {
            let s = s.clone();
            let feed = feed.clone();
            async move {
                let id = if i.is_multiple_of(2) { "a" } else { "b" };
                let mut tx = s.begin_write().await.unwrap();
                tx.audit(&record(&format!("user-{i}"), "widget.read", id))
                    .await
                    .unwrap();
                tx.commit(&feed).await.unwrap();
            }
        };
        for i in 0..6 {
            write(i).await;
        }
        let before = list_all(s, "a", 2).await.0;
        assert_eq!(seqs_of(&before), [1, 3, 5], "{b}");
        // Index part of the log: the rest is found by scanning the tail.
        assert_eq!(audit::index_pending(s, 4).await.unwrap(), 4, "{b}");
        for i in 6..9 {
            write(i).await;
        }
        assert_eq!(
            seqs_of(&list_all(s, "a", 2).await.0),
            [1, 3, 5, 7, 9],
            "{b}"
        );
        assert_eq!(audit::index_pending(s, 100).await.unwrap(), 5, "{b}");
        assert_eq!(audit::index_pending(s, 100).await.unwrap(), 0, "{b}");
        assert_eq!(
            seqs_of(&list_all(s, "a", 2).await.0),
            [1, 3, 5, 7, 9],
            "{b}"
        );
        assert_eq!(seqs_of(&list_all(s, "b", 10).await.0), [2, 4, 6, 8], "{b}");
        assert!(audit::verify(s).await.unwrap().ok(), "{b}");
    }
}

fn seqs_of(entries: &[AuditEntry]) -> Vec<u64> {
    entries.iter().map(|e| e.seq).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chain_verifies_while_writers_append() {
    for ts in stores(&[]).await {
        let b = ts.name();
        let s = ts.store.clone();
        let writer = AuditWriter::spawn(s.clone());
        append_audits(&s, 3).await;
        let stop = Arc::new(AtomicBool::new(false));
        let appender = {
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    writer
                        .record(vec![record("bob", "widget.read", "w")])
                        .await
                        .unwrap();
                    n += 1;
                }
                n
            })
        };
        for round in 0..40 {
            let report = audit::verify(&s).await.unwrap();
            assert!(
                report.ok(),
                "{b}: round {round}: live chain reported broken: {report:?}"
            );
        }
        stop.store(true, Ordering::Relaxed);
        let appended = appender.await.unwrap();
        let report = audit::verify(&s).await.unwrap();
        assert!(report.ok(), "{b}: {report:?}");
        assert_eq!(report.entries, 3 + appended, "{b}");
    }
}

// ------------------------------------------------------- outbox and feed

#[tokio::test]
async fn events_are_numbered_in_commit_order_and_read_after_a_cursor() {
    for ts in stores(&[]).await {
        let b = ts.name();
        let feed = EventFeed::new(ts.store.clone());
        assert_eq!(
            commit_events(&ts, &feed, vec![created("w1"), updated("w1")]).await,
            [1, 2]
        );
        assert_eq!(commit_events(&ts, &feed, vec![created("w2")]).await, [3]);
        assert_eq!(
            commit_events(&ts, &feed, vec![updated("w2"), updated("w1")]).await,
            [4, 5]
        );

        let all = feed.read_after(0, 100).await.unwrap();
        assert_eq!(seqs(&all), [1, 2, 3, 4, 5], "{b}");
        let kinds: Vec<(&str, &str)> = all
            .iter()
            .map(|e| (e.event_type.as_str(), e.aggregate_id.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("widget.created", "w1"),
                ("widget.updated", "w1"),
                ("widget.created", "w2"),
                ("widget.updated", "w2"),
                ("widget.updated", "w1"),
            ],
            "{b}"
        );
        let mut ids: Vec<&str> = all.iter().map(|e| e.id.as_str()).collect();
        ids.dedup();
        assert_eq!(ids.len(), 5, "{b}: event ids not unique");

        assert_eq!(
            seqs(&feed.read_after(2, 100).await.unwrap()),
            [3, 4, 5],
            "{b}"
        );
        assert_eq!(seqs(&feed.read_after(2, 2).await.unwrap()), [3, 4], "{b}");
        assert!(feed.read_after(5, 100).await.unwrap().is_empty(), "{b}");
        assert!(feed.read_after(99, 100).await.unwrap().is_empty(), "{b}");
    }
}

#[tokio::test]
async fn a_watch_to_the_end_returns_exactly_the_filtered_events() {
    for ts in stores(&[]).await {
        let b = ts.name();
        let feed = EventFeed::new(ts.store.clone());
        commit_events(&ts, &feed, vec![created("w1"), updated("w1")]).await;
        commit_events(
            &ts,
            &feed,
            vec![created("w2"), updated("w2"), updated("w1")],
        )
        .await;
        let req = |after: u64, types: &[&str]| WatchEventsRequest {
            after,
            event_types: types.iter().map(|t| t.to_string()).collect(),
            stop_at_end: true,
        };

        assert_eq!(
            seqs(&collect_watch(&feed, req(0, &[])).await),
            [1, 2, 3, 4, 5],
            "{b}"
        );
        let made = collect_watch(&feed, req(0, &["widget.created"])).await;
        assert_eq!(seqs(&made), [1, 3], "{b}");
        assert!(made.iter().all(|e| e.event_type == "widget.created"), "{b}");
        assert_eq!(
            seqs(&collect_watch(&feed, req(1, &["widget.created"])).await),
            [3],
            "{b}"
        );
        assert_eq!(
            seqs(&collect_watch(&feed, req(3, &["widget.updated"])).await),
            [4, 5],
            "{b}"
        );
        assert_eq!(
            seqs(&collect_watch(&feed, req(0, &["widget.created", "widget.updated"])).await),
            [1, 2, 3, 4, 5],
            "{b}"
        );
        assert!(
            collect_watch(&feed, req(0, &["widget.deleted"]))
                .await
                .is_empty(),
            "{b}"
        );
        assert!(collect_watch(&feed, req(5, &[])).await.is_empty(), "{b}");
    }
}

#[tokio::test]
async fn a_watch_catches_up_across_batches() {
    const N: u64 = 1203;
    for ts in stores(&[]).await {
        let b = ts.name();
        let feed = EventFeed::new(ts.store.clone());
        let mut tx = ts.store.begin_write().await.unwrap();
        for i in 0..N {
            let e = if i % 3 == 0 {
                created(&format!("w{i}"))
            } else {
                updated(&format!("w{i}"))
            };
            tx.event(e).await.unwrap();
        }
        tx.commit(&feed).await.unwrap();

        let all = collect_watch(
            &feed,
            WatchEventsRequest {
                after: 0,
                event_types: vec![],
                stop_at_end: true,
            },
        )
        .await;
        assert_eq!(seqs(&all), (1..=N).collect::<Vec<_>>(), "{b}");
        let made = collect_watch(
            &feed,
            WatchEventsRequest {
                after: 10,
                event_types: vec!["widget.created".into()],
                stop_at_end: true,
            },
        )
        .await;
        let want: Vec<u64> = (11..=N).filter(|s| (s - 1) % 3 == 0).collect();
        assert_eq!(seqs(&made), want, "{b}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_receives_an_event_committed_while_it_waits() {
    for ts in stores(&[]).await {
        let b = ts.name();
        let feed = EventFeed::new(ts.store.clone());
        commit_events(&ts, &feed, vec![created("w1")]).await;

        let mut stream = Box::pin(feed.watch(WatchEventsRequest {
            after: 0,
            event_types: vec!["widget.updated".into()],
            stop_at_end: false,
        }));
        // Caught up (nothing matches yet): the follower waits.
        let waiter = tokio::spawn(async move {
            let first = tokio::time::timeout(Duration::from_secs(5), stream.next()).await;
            (first, stream)
        });
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert!(
            !waiter.is_finished(),
            "{b}: follower ended or yielded early"
        );

        commit_events(&ts, &feed, vec![created("w2"), updated("w2")]).await;
        let committed = tokio::time::Instant::now();
        let (first, mut stream) = waiter.await.unwrap();
        let got = first
            .unwrap_or_else(|_| panic!("{b}: no event within 5 s"))
            .expect("stream ended")
            .unwrap();
        assert!(
            committed.elapsed() < Duration::from_secs(2),
            "{b}: took {:?}",
            committed.elapsed()
        );
        assert_eq!(
            (got.seq, got.event_type.as_str()),
            (3, "widget.updated"),
            "{b}"
        );

        // A commit through another feed (another process) wakes no one here:
        // the follower still picks it up by polling.
        let other = EventFeed::new(ts.store.clone());
        commit_events(&ts, &other, vec![updated("w1")]).await;
        let next = tokio::time::timeout(Duration::from_secs(2), stream.next())
            .await
            .unwrap_or_else(|_| panic!("{b}: polling fallback did not deliver"))
            .expect("stream ended")
            .unwrap();
        assert_eq!(next.seq, 4, "{b}");
    }
}

// ------------------------------------------------------------ idempotency

const METHOD: &str = "samling.test.v1.Widgets/Create";

fn key(subject: &str, method: &'static str, request_id: &str, ore: i64) -> IdempotencyKey {
    IdempotencyKey::new(subject, method, request_id, &Money { ore })
        .unwrap()
        .expect("a request id gives a key")
}

/// The handler shape: replay or do the work and remember the answer.
async fn handle(
    store: &Store,
    feed: &EventFeed,
    key: &IdempotencyKey,
    answer: i64,
) -> Result<Money, KitError> {
    let mut tx = store.begin_write().await?;
    if let Some(first) = tx.replay::<Money>(Some(key)).await? {
        return Ok(first);
    }
    tx.event(created(&format!("w{answer}"))).await?;
    let response = Money { ore: answer };
    tx.remember(Some(key), &response).await?;
    tx.commit(feed).await?;
    Ok(response)
}

#[tokio::test]
async fn stored_answers_expire_after_the_retention_and_then_the_request_runs_afresh() {
    for ts in stores(&[]).await {
        let b = ts.name();
        let s = &ts.store;
        let feed = EventFeed::new(s.clone());
        let old = key("alice", "Pay", "r-old", 100);
        let recent = key("alice", "Pay", "r-new", 100);
        assert_eq!(handle(s, &feed, &old, 1).await.unwrap().ore, 1);
        assert_eq!(handle(s, &feed, &recent, 2).await.unwrap().ore, 2);
        // The first answer was stored 40 days ago.
        sqlx::query("UPDATE idempotency SET created_at = '2000-01-01T00:00:00.000000Z' WHERE created_at = (SELECT MIN(created_at) FROM idempotency)")
            .execute(&s.write)
            .await
            .unwrap();
        let cutoff = samling_kit::dates::instant_text(
            samling_kit::dates::now() - chrono::Duration::days(30),
        );
        assert_eq!(
            samling_kit::idempotency::sweep(s, &cutoff).await.unwrap(),
            1,
            "{b}"
        );
        // The expired request runs afresh; the recent one still replays.
        assert_eq!(handle(s, &feed, &old, 3).await.unwrap().ore, 3, "{b}");
        assert_eq!(handle(s, &feed, &recent, 4).await.unwrap().ore, 2, "{b}");
        assert_eq!(
            samling_kit::idempotency::sweep(s, &cutoff).await.unwrap(),
            0,
            "{b}"
        );
    }
}

#[tokio::test]
async fn a_retried_request_replays_the_first_answer() {
    for ts in stores(&[]).await {
        let b = ts.name();
        let s = &ts.store;
        let feed = EventFeed::new(s.clone());
        let k = key("alice", METHOD, "req-1", 100);

        assert_eq!(
            handle(s, &feed, &k, 4242).await.unwrap(),
            Money { ore: 4242 },
            "{b}"
        );
        // The retry (same caller, method, id and request) gets the first
        // answer and does no work again.
        let retry = key("alice", METHOD, "req-1", 100);
        assert_eq!(
            handle(s, &feed, &retry, 9999).await.unwrap(),
            Money { ore: 4242 },
            "{b}"
        );
        // Surrounding whitespace is not part of the id.
        let padded = key("alice", METHOD, "  req-1 ", 100);
        assert_eq!(
            handle(s, &feed, &padded, 9999).await.unwrap(),
            Money { ore: 4242 },
            "{b}"
        );
        assert_eq!(
            seqs(&feed.read_after(0, 10).await.unwrap()),
            [1],
            "{b}: work redone"
        );
    }
}

#[tokio::test]
async fn a_request_id_reused_for_another_request_is_refused() {
    for ts in stores(&[]).await {
        let b = ts.name();
        let s = &ts.store;
        let feed = EventFeed::new(s.clone());
        handle(s, &feed, &key("alice", METHOD, "req-1", 100), 1)
            .await
            .unwrap();

        let other = key("alice", METHOD, "req-1", 101);
        let err = handle(s, &feed, &other, 2).await.unwrap_err();
        match &err {
            KitError::InvalidArgument(f) => assert_eq!(
                (f.field.as_str(), f.reason),
                (
                    "request_id",
                    samling_kit::error::Reason::IdempotencyKeyReused
                ),
                "{b}"
            ),
            e => panic!("{b}: expected InvalidArgument, got {e:?}"),
        }
        assert!(err.to_string().starts_with("request_id"), "{b}: {err}");
        assert_eq!(feed.read_after(0, 10).await.unwrap().len(), 1, "{b}");
    }
}

#[tokio::test]
async fn request_ids_are_scoped_by_caller_and_method() {
    for ts in stores(&[]).await {
        let b = ts.name();
        let s = &ts.store;
        let feed = EventFeed::new(s.clone());
        handle(s, &feed, &key("alice", METHOD, "req-1", 100), 1)
            .await
            .unwrap();

        // Bob's request with Alice's id is his own: no replay of her answer.
        let mut tx = s.begin_write().await.unwrap();
        let bob = key("bob", METHOD, "req-1", 100);
        assert_eq!(tx.replay::<Money>(Some(&bob)).await.unwrap(), None, "{b}");
        drop(tx);
        assert_eq!(
            handle(s, &feed, &bob, 2).await.unwrap(),
            Money { ore: 2 },
            "{b}"
        );
        // Nor does another method of Alice's.
        let update = key("alice", "samling.test.v1.Widgets/Update", "req-1", 100);
        assert_eq!(
            handle(s, &feed, &update, 3).await.unwrap(),
            Money { ore: 3 },
            "{b}"
        );
        // Each kept its own answer.
        assert_eq!(
            handle(s, &feed, &bob, 0).await.unwrap(),
            Money { ore: 2 },
            "{b}"
        );
        let alice = key("alice", METHOD, "req-1", 100);
        assert_eq!(
            handle(s, &feed, &alice, 0).await.unwrap(),
            Money { ore: 1 },
            "{b}"
        );
        assert_eq!(
            scalar(s, "SELECT COUNT(*) FROM idempotency").await,
            3,
            "{b}"
        );
    }
}

#[tokio::test]
async fn an_answer_is_remembered_only_with_its_commit() {
    for ts in stores(&[]).await {
        let b = ts.name();
        let s = &ts.store;
        let feed = EventFeed::new(s.clone());
        let k = key("alice", METHOD, "req-1", 100);
        {
            let mut tx = s.begin_write().await.unwrap();
            tx.remember(Some(&k), &Money { ore: 1 }).await.unwrap();
        }
        assert_eq!(
            handle(s, &feed, &k, 2).await.unwrap(),
            Money { ore: 2 },
            "{b}"
        );
        // Without a key nothing is deduplicated or stored.
        let mut tx = s.begin_write().await.unwrap();
        assert_eq!(tx.replay::<Money>(None).await.unwrap(), None, "{b}");
        tx.remember(None, &Money { ore: 3 }).await.unwrap();
        tx.commit(&feed).await.unwrap();
        assert_eq!(
            scalar(s, "SELECT COUNT(*) FROM idempotency").await,
            1,
            "{b}"
        );
    }
}

#[test]
fn request_ids_are_optional_and_bounded() {
    let m = Money { ore: 1 };
    assert!(
        IdempotencyKey::new("alice", METHOD, "", &m)
            .unwrap()
            .is_none()
    );
    assert!(
        IdempotencyKey::new("alice", METHOD, "   ", &m)
            .unwrap()
            .is_none()
    );
    assert!(
        IdempotencyKey::new("alice", METHOD, &"x".repeat(128), &m)
            .unwrap()
            .is_some()
    );
    let err = IdempotencyKey::new("alice", METHOD, &"x".repeat(129), &m).unwrap_err();
    assert!(
        matches!(&err, KitError::InvalidArgument(f) if f.field == "request_id"),
        "{err:?}"
    );
    assert!(err.to_string().starts_with("request_id"), "{err}");
}

// ------------------------------------------------------------ concurrency

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_writer_waits_for_the_first_and_continues_the_chain() {
    for ts in stores(&[]).await {
        let b = ts.name();
        let s = ts.store.clone();
        let feed = EventFeed::new(s.clone());

        let mut first = s.begin_write().await.unwrap();
        first
            .audit(&record("first", "widget.update", "w1"))
            .await
            .unwrap();
        assert_eq!(first.event(updated("w1")).await.unwrap(), 1, "{b}");

        let second = {
            let (s, feed) = (s.clone(), feed.clone());
            tokio::spawn(async move {
                let mut tx = s.begin_write().await?;
                tx.audit(&record("second", "widget.update", "w2")).await?;
                let seq = tx.event(updated("w2")).await?;
                tx.commit(&feed).await?;
                Ok::<u64, KitError>(seq)
            })
        };
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            !second.is_finished(),
            "{b}: second writer did not wait for the head"
        );

        first.commit(&feed).await.unwrap();
        let seq = tokio::time::timeout(Duration::from_secs(10), second)
            .await
            .expect("second writer stuck")
            .unwrap()
            .unwrap();
        assert_eq!(seq, 2, "{b}");

        let (all, _) = list_all(&s, "", 10).await;
        let who: Vec<&str> = all.iter().map(|e| e.subject.as_str()).collect();
        assert_eq!(who, ["first", "second"], "{b}");
        assert_linked(&all, b);
        let report = audit::verify(&s).await.unwrap();
        assert!(report.ok() && report.entries == 2, "{b}: {report:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_write_txs_keep_audit_and_event_order_equal_to_commit_order() {
    const TASKS: usize = 12;
    const ROUNDS: usize = 5;
    for ts in stores(&[WIDGETS]).await {
        let b = ts.name();
        let s = ts.store.clone();
        let feed = EventFeed::new(s.clone());
        let mut tasks = JoinSet::new();
        for t in 0..TASKS {
            let (s, feed) = (s.clone(), feed.clone());
            tasks.spawn(async move {
                for r in 0..ROUNDS {
                    let id = format!("w{t}-{r}");
                    let mut tx = s.begin_write().await.unwrap();
                    sqlx::query("INSERT INTO widgets (id, n) VALUES ($1, $2)")
                        .bind(&id)
                        .bind(r as i64)
                        .execute(tx.conn())
                        .await
                        .unwrap();
                    tx.audit(&record(&format!("t{t}"), "widget.create", &id))
                        .await
                        .unwrap();
                    tx.event(created(&id)).await.unwrap();
                    tx.commit(&feed).await.unwrap();
                }
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }

        let total = TASKS * ROUNDS;
        assert_eq!(
            scalar(&s, "SELECT COUNT(*) FROM widgets").await,
            total as i64,
            "{b}"
        );
        let report = audit::verify(&s).await.unwrap();
        assert!(
            report.ok() && report.entries == total as u64,
            "{b}: {report:?}"
        );
        let (entries, _) = list_all(&s, "", 500).await;
        let events = feed.read_after(0, 500).await.unwrap();
        assert_eq!(seqs(&events), (1..=total as u64).collect::<Vec<_>>(), "{b}");
        // The k-th audit entry and the k-th event come from the same transaction.
        for (e, ev) in entries.iter().zip(&events) {
            assert_eq!(
                e.record_id, ev.aggregate_id,
                "{b}: audit {} vs event {}",
                e.seq, ev.seq
            );
        }
        assert_eq!(heads(&s).await, (total as i64, total as i64), "{b}");
    }
}

// ------------------------------------------------------- PostgreSQL over TLS

/// `url` with one more query parameter.
fn with_param(url: &str, param: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{param}")
}

/// A database URL may demand TLS (`sslmode=require`, `verify-ca`,
/// `verify-full` with `sslrootcert`): the store then talks to PostgreSQL
/// only over TLS, and only to a server whose certificate the given root
/// vouches for. PostgreSQL only (an embedded SQLite file has no wire).
#[tokio::test]
async fn a_database_url_that_demands_tls_is_served_over_tls_or_refused() {
    let Some(url) = samling_testkit::backend::database_url() else {
        return;
    };
    let schema = format!("t_tls_{}", samling_kit::ids::new_id().simple());
    let plain = Store::open(
        &samling_kit::db::DbTarget::Postgres {
            url: url.clone(),
            schema: schema.clone(),
        },
        Some(1),
        &[],
    )
    .await
    .unwrap();
    let server_tls: String = sqlx::query_scalar("SHOW ssl")
        .fetch_one(&plain.read)
        .await
        .unwrap();
    plain.close().await;

    let require = samling_kit::db::DbTarget::Postgres {
        url: with_param(&url, "sslmode=require"),
        schema: schema.clone(),
    };
    let opened = Store::open(&require, Some(2), &[WIDGETS]).await;
    if server_tls != "on" {
        // A server without TLS: demanding it must fail, not fall back.
        let Err(err) = opened else {
            panic!("sslmode=require against a server without TLS must fail");
        };
        assert!(!err.to_string().is_empty());
        return;
    }
    let store = opened.unwrap_or_else(|e| panic!("sslmode=require: {e}"));
    let ssl =
        "SELECT CASE WHEN ssl THEN 1 ELSE 0 END FROM pg_stat_ssl WHERE pid = pg_backend_pid()";
    for (pool, name) in [(&store.read, "read"), (&store.write, "write")] {
        let on: i32 = sqlx::query_scalar(ssl).fetch_one(pool).await.unwrap();
        assert_eq!(on, 1, "the {name} pool is not on TLS");
    }
    // The store works over it: a change, its audit entry and the chain.
    append_audits(&store, 3).await;
    assert!(audit::verify(&store).await.unwrap().ok());
    store.close().await;

    // verify-full against a root that did not sign the server's certificate.
    let dir = tempfile::tempdir().unwrap();
    let certs =
        samling_tools::certs::dev_certs(dir.path(), &["db.samling.invalid".to_string()]).unwrap();
    let stranger = samling_kit::db::DbTarget::Postgres {
        url: with_param(
            &url,
            &format!(
                "sslmode=verify-full&sslrootcert={}",
                certs.ca_cert.display()
            ),
        ),
        schema,
    };
    let Err(err) = Store::open(&stranger, Some(1), &[]).await else {
        panic!("a server certificate the root did not sign must be refused");
    };
    // What `serve` prints (`{:#}`): the error and its causes.
    let msg = format!("{:#}", anyhow::Error::new(err));
    assert!(
        msg.to_lowercase().contains("certificate"),
        "the refusal should say why: {msg}"
    );
    eprintln!("refused as it should be: {msg}");
}
