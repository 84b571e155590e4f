//! Group commit on the SQLite writer (ADR 0020): concurrent writes share
//! one transaction, each in a savepoint of its own, and one durable COMMIT.
//! The same tests run on PostgreSQL (no grouping there) where they apply:
//! the guarantees are the store's, whatever its writer does.

use super::{created, table_exists};
use crate::common::{TestStore, WIDGETS, heads, record, scalar, stores};
use samling_kit::ServiceError;
use samling_kit::audit;
use samling_kit::db::{Backend, Store, StoreOptions};
use samling_kit::error::{ErrorCode, KitError, Reason};
use samling_kit::outbox::EventFeed;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;

/// One write: widget `id`, its audit entry and its event. With `fail`, a
/// second insert of the same id then fails the write (after its first
/// statements ran, so a rollback has something to undo).
async fn write_widget(
    store: &Store,
    feed: &EventFeed,
    id: &str,
    fail: bool,
) -> Result<(), KitError> {
    let mut tx = store.begin_write().await?;
    sqlx::query("INSERT INTO widgets (id, n) VALUES ($1, 1)")
        .bind(id)
        .execute(tx.conn())
        .await?;
    tx.audit(&record("alice", "widget.write", id)).await?;
    tx.event(created(id)).await?;
    if fail {
        sqlx::query("INSERT INTO widgets (id, n) VALUES ($1, 2)")
            .bind(id)
            .execute(tx.conn())
            .await?;
    }
    tx.commit(feed).await?;
    Ok(())
}

async fn widget_ids(store: &Store) -> Vec<String> {
    sqlx::query_scalar("SELECT id FROM widgets ORDER BY id")
        .fetch_all(&store.read)
        .await
        .unwrap()
}

/// Record ids of the audit entries and aggregate ids of the events, in
/// chain and feed order.
async fn orders(store: &Store) -> (Vec<String>, Vec<String>) {
    let audits = sqlx::query_scalar("SELECT record_id FROM audit_log ORDER BY seq")
        .fetch_all(&store.read)
        .await
        .unwrap();
    let events = sqlx::query_scalar("SELECT aggregate_id FROM outbox ORDER BY seq")
        .fetch_all(&store.read)
        .await
        .unwrap();
    (audits, events)
}

/// Test stores with group commit on (SQLite at the suggested batch size;
/// it is off by default, ADR 0020).
async fn widget_stores() -> Vec<TestStore> {
    let mut all = stores(&[WIDGETS]).await;
    for ts in &mut all {
        if ts.store.backend == Backend::Sqlite {
            ts.store = reopen_with(ts, samling_kit::group::SUGGESTED_GROUP_COMMIT).await;
        }
        assert!(table_exists(&ts.store, "widgets").await);
    }
    all
}

/// The store reopened with group commit set to `n` (SQLite only).
async fn reopen_with(ts: &TestStore, n: usize) -> Store {
    ts.store.close().await;
    let options = StoreOptions {
        sqlite_group_commit: n,
        ..StoreOptions::default()
    };
    let store = Store::open_with(&ts.target, &options, &[WIDGETS])
        .await
        .unwrap();
    audit::with_key(store, ts.key.clone(), None).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_write_in_a_batch_rolls_back_only_itself() {
    for ts in widget_stores().await {
        let (b, store) = (ts.name(), ts.store.clone());
        let feed = EventFeed::new(store.clone());
        let before = match store.group_commit() {
            Some(g) => Some(g.stats().await),
            None => None,
        };
        assert_eq!(
            before.is_some(),
            store.backend == Backend::Sqlite,
            "{b}: group commit is on here on SQLite, never on PostgreSQL"
        );
        // The first write holds the writer while three more queue behind
        // it, in this order; the middle one fails after inserting its row.
        let mut first = store.begin_write().await.unwrap();
        sqlx::query("INSERT INTO widgets (id, n) VALUES ('w0', 1)")
            .execute(first.conn())
            .await
            .unwrap();
        first
            .audit(&record("alice", "widget.write", "w0"))
            .await
            .unwrap();
        first.event(created("w0")).await.unwrap();
        let mut queued = Vec::new();
        for (id, fail) in [("w1", false), ("w2", true), ("w3", false)] {
            let (store, feed) = (store.clone(), feed.clone());
            queued.push(tokio::spawn(async move {
                write_widget(&store, &feed, id, fail).await
            }));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        first.commit(&feed).await.unwrap();
        let results: Vec<_> = futures::future::join_all(queued)
            .await
            .into_iter()
            .map(|r| r.unwrap())
            .collect();
        assert!(results[0].is_ok(), "{b}: w1: {:?}", results[0]);
        let err = results[1].as_ref().expect_err("w2 fails");
        assert!(
            matches!(err, KitError::Database(_)),
            "{b}: w2 gets its own error, the store's: {err:?}"
        );
        assert!(results[2].is_ok(), "{b}: w3: {:?}", results[2]);

        assert_eq!(widget_ids(&store).await, ["w0", "w1", "w3"], "{b}");
        let (audits, events) = orders(&store).await;
        assert_eq!(audits, ["w0", "w1", "w3"], "{b}: chain in queue order");
        assert_eq!(events, ["w0", "w1", "w3"], "{b}: feed in queue order");
        assert_eq!(heads(&store).await, (3, 3), "{b}: heads skip nothing");
        let report = audit::verify(&store).await.unwrap();
        assert!(report.ok() && report.entries == 3, "{b}: {report:?}");
        if let Some(before) = before {
            let after = store.group_commit().unwrap().stats().await;
            assert_eq!(
                (after.commits - before.commits, after.writes - before.writes),
                (1, 3),
                "{b}: the three good writes shared one COMMIT"
            );
        }
    }
}

/// 16 writers × 25 writes, every 10th failing; what was acknowledged is
/// what is there after a reopen, the chain and the feed in one order.
async fn concurrent_writes(store: &Store) -> (Vec<String>, usize) {
    let feed = EventFeed::new(store.clone());
    let mut writers = JoinSet::new();
    for w in 0..16 {
        let (store, feed) = (store.clone(), feed.clone());
        writers.spawn(async move {
            let mut acked = Vec::new();
            let mut failed = 0;
            for k in 0..25 {
                let id = format!("w{w:02}-{k:02}");
                match write_widget(&store, &feed, &id, k % 10 == 3).await {
                    Ok(()) => acked.push(id),
                    Err(_) => failed += 1,
                }
            }
            (acked, failed)
        });
    }
    let mut acked = Vec::new();
    let mut failed = 0;
    while let Some(r) = writers.join_next().await {
        let (a, f) = r.unwrap();
        acked.extend(a);
        failed += f;
    }
    acked.sort();
    (acked, failed)
}

async fn assert_all_there(ts: &TestStore, store: &Store, acked: &[String], what: &str) {
    let b = ts.name();
    assert_eq!(
        widget_ids(store).await,
        acked,
        "{b} {what}: the acknowledged rows"
    );
    let (audits, events) = orders(store).await;
    assert_eq!(audits.len(), acked.len(), "{b} {what}");
    assert_eq!(audits, events, "{b} {what}: chain and feed in one order");
    let n = acked.len() as i64;
    assert_eq!(heads(store).await, (n, n), "{b} {what}");
    assert_eq!(
        scalar(store, "SELECT COUNT(DISTINCT seq) FROM outbox").await,
        n,
        "{b} {what}"
    );
    let report = audit::verify(store).await.unwrap();
    assert!(
        report.ok() && report.entries == n as u64,
        "{b} {what}: {report:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_concurrent_write_is_there_after_reopen_with_the_chain_intact() {
    for ts in widget_stores().await {
        let before = match ts.store.group_commit() {
            Some(g) => Some(g.stats().await),
            None => None,
        };
        let (acked, failed) = concurrent_writes(&ts.store).await;
        assert_eq!(
            failed,
            16 * 3,
            "{}: only the failing writes fail",
            ts.name()
        );
        assert_eq!(acked.len(), 16 * 22, "{}", ts.name());
        assert_all_there(&ts, &ts.store, &acked, "before reopen").await;
        if let Some(before) = before {
            let after = ts.store.group_commit().unwrap().stats().await;
            let (commits, writes) = (after.commits - before.commits, after.writes - before.writes);
            assert_eq!(
                writes,
                acked.len() as u64,
                "{}: every ack from a commit",
                ts.name()
            );
            assert!(
                commits < writes,
                "{}: concurrent writes were grouped ({writes} writes in {commits} commits)",
                ts.name()
            );
        }
        ts.store.close().await;
        let reopened = ts.reopen(&[WIDGETS]).await;
        assert_all_there(&ts, &reopened, &acked, "after reopen").await;
        reopened.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_commit_off_still_commits_each_write_alone() {
    for ts in widget_stores().await {
        if ts.store.backend != Backend::Sqlite {
            continue;
        }
        let store = reopen_with(&ts, 1).await;
        assert!(store.group_commit().is_none(), "1 = off");
        let (acked, failed) = concurrent_writes(&store).await;
        assert_eq!((acked.len(), failed), (16 * 22, 16 * 3));
        assert_all_there(&ts, &store, &acked, "group commit off").await;
        store.close().await;
        let reopened = ts.reopen(&[WIDGETS]).await;
        assert_all_there(&ts, &reopened, &acked, "off, reopened").await;
        reopened.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_batch_limit_commits_full_batches_at_once() {
    for ts in widget_stores().await {
        if ts.store.backend != Backend::Sqlite {
            continue;
        }
        let store = reopen_with(&ts, 2).await;
        let group = store.group_commit().expect("on");
        assert_eq!(group.max(), 2);
        let (acked, _) = concurrent_writes(&store).await;
        let stats = group.stats().await;
        assert_eq!(stats.writes, acked.len() as u64);
        assert!(
            stats.commits * 2 >= stats.writes,
            "never more than 2 writes per commit: {stats:?}"
        );
        assert_all_there(&ts, &store, &acked, "batches of 2").await;
        store.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_waiting_too_long_for_the_writer_is_unavailable_not_hung() {
    for ts in widget_stores().await {
        let Some(group) = ts.store.group_commit() else {
            continue;
        };
        let store = ts.store.clone();
        let feed = EventFeed::new(store.clone());
        group.set_writer_wait(Duration::from_millis(300));
        let holder = store.begin_write().await.unwrap();
        let started = std::time::Instant::now();
        let err = match tokio::time::timeout(
            Duration::from_secs(10),
            write_widget(&store, &feed, "late", false),
        )
        .await
        {
            Ok(Err(e)) => e,
            Ok(Ok(())) => panic!("a write went in while another held the writer"),
            Err(_) => panic!("a write waiting for the writer hung"),
        };
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(err.code(), ErrorCode::Unavailable, "{err}");
        assert_eq!(err.reason(), Reason::StoreUnavailable, "{err}");
        // The holder gives up; the writer serves the next write at once.
        drop(holder);
        write_widget(&store, &feed, "next", false).await.unwrap();
        assert_eq!(widget_ids(&store).await, ["next"]);
        let report = audit::verify(&store).await.unwrap();
        assert!(report.ok() && report.entries == 1, "{report:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_cancelled_while_waiting_for_its_batch_still_gets_the_batch_committed() {
    for ts in widget_stores().await {
        if ts.store.group_commit().is_none() {
            continue;
        }
        let store = ts.store.clone();
        let feed = Arc::new(EventFeed::new(store.clone()));
        // `first` holds the writer; w1 queues, then `holder` behind it.
        let first = store.begin_write().await.unwrap();
        let waiting = {
            let (store, feed) = (store.clone(), feed.clone());
            tokio::spawn(async move { write_widget(&store, &feed, "w1", false).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let holder = {
            let store = store.clone();
            tokio::spawn(async move {
                let tx = store.begin_write().await.unwrap();
                tokio::time::sleep(Duration::from_millis(400)).await;
                // Given up without a commit: rolled back to its savepoint.
                drop(tx);
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        // `first` gives up; w1 runs, is released into the batch and waits
        // for its COMMIT behind `holder`, which now holds the writer...
        drop(first);
        tokio::time::sleep(Duration::from_millis(150)).await;
        // ...when w1's request is cancelled. Nobody else waits for the
        // batch: what w1 left behind commits it once `holder` is done.
        waiting.abort();
        let _ = waiting.await;
        holder.await.unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while widget_ids(&store).await.is_empty() && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(
            widget_ids(&store).await,
            ["w1"],
            "the batch was committed without another write coming along"
        );
        tokio::time::timeout(
            Duration::from_secs(5),
            write_widget(&store, &feed, "w2", false),
        )
        .await
        .expect("the writer is free")
        .unwrap();
        assert_eq!(widget_ids(&store).await, ["w1", "w2"]);
        let report = audit::verify(&store).await.unwrap();
        assert!(report.ok() && report.entries == 2, "{report:?}");
    }
}

/// Requests cancelled at any point of their write (waiting for the writer,
/// in `BEGIN`, mid-statement, at `RELEASE`, waiting for the batch's COMMIT)
/// leave nothing holding the file: the store closes and opens again at
/// once, every time, and what was acknowledged is whole. (A cancelled
/// `BEGIN` once left the writer's connection half-begun and the file locked
/// after the store closed; ADR 0020, "Status".)
/// Writes acknowledged in `writes_cancelled_anywhere_…`.
static ACKED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_cancelled_anywhere_leave_the_file_free_for_the_next_open() {
    for ts in widget_stores().await {
        let options = StoreOptions {
            sqlite_group_commit: match ts.store.backend {
                Backend::Sqlite => samling_kit::group::SUGGESTED_GROUP_COMMIT,
                Backend::Postgres => 1,
            },
            ..StoreOptions::default()
        };
        let mut store = ts.store.clone();
        ACKED.lock().unwrap().clear();
        // PostgreSQL has no batch; a few rounds prove the same there.
        let (rounds, first_us) = match ts.store.backend {
            Backend::Sqlite => (150, 1_000),
            Backend::Postgres => (20, 20_000),
        };
        for round in 0..rounds {
            let feed = Arc::new(EventFeed::new(store.clone()));
            let mut writes = JoinSet::new();
            // Two writers writing one widget after another (as a consumer
            // does), cancelled a little later each round: somewhere else in
            // a write.
            for w in 0..2 {
                let (store, feed) = (store.clone(), feed.clone());
                writes.spawn(async move {
                    for i in 0.. {
                        let id = format!("r{round:03}-{w}-{i}");
                        if write_widget(&store, &feed, &id, false).await.is_ok() {
                            ACKED.lock().unwrap().push(id);
                        }
                    }
                });
            }
            tokio::time::sleep(Duration::from_micros(first_us + 41 * round as u64)).await;
            writes.abort_all();
            while writes.join_next().await.is_some() {}
            feed.close();
            store.close().await;
            let opened = tokio::time::timeout(
                Duration::from_secs(5),
                Store::open_with(&ts.target, &options, &[WIDGETS]),
            )
            .await
            .unwrap_or_else(|_| panic!("round {round}: the file is still locked after close"))
            .unwrap_or_else(|e| panic!("round {round}: reopen: {e}"));
            store = audit::with_key(opened, ts.key.clone(), None).await.unwrap();
        }
        let there = widget_ids(&store).await;
        let acked: Vec<String> = ACKED.lock().unwrap().drain(..).collect();
        assert!(!acked.is_empty(), "some writes were acknowledged");
        for id in &acked {
            assert!(there.contains(id), "acknowledged {id} is there");
        }
        let report = audit::verify(&store).await.unwrap();
        assert!(report.ok(), "{report:?}");
        assert_eq!(
            report.entries as usize,
            there.len(),
            "one audit entry per widget"
        );
        store.close().await;
    }
}
