//! Store faults in process (issue 26): a failed COMMIT, a write dropped
//! half-way or cancelled, a full store, the store probe, shutdown of the
//! event feed and the privacy of the files. The I/O fault against the
//! binary (a full disk) is in the root crate's `tests/it/e2e/faults.rs`.

use super::common::{TestStore, WIDGETS, record, scalar, stores};
use samling_kit::db::{Backend, Migration, Store};
use samling_kit::error::{ErrorCode, KitError, ServiceError};
use samling_kit::outbox::{EventFeed, NewEvent};
use samling_proto::common::v1::WatchEventsRequest;
use serde_json::json;
use std::time::Duration;

/// Children whose parent is checked only at COMMIT (deferred).
const FAMILY: &[Migration] = &[Migration {
    name: "test/0001_family",
    sql: "CREATE TABLE parents (id TEXT PRIMARY KEY); \
          CREATE TABLE children (id TEXT PRIMARY KEY, \
            parent TEXT REFERENCES parents (id) DEFERRABLE INITIALLY DEFERRED);",
}];

async fn insert_widget(store: &Store, feed: &EventFeed, id: &str) -> Result<(), KitError> {
    let mut tx = store.begin_write().await?;
    sqlx::query("INSERT INTO widgets (id, n) VALUES ($1, 1)")
        .bind(id)
        .execute(tx.conn())
        .await?;
    tx.audit(&record("alice", "widget.write", id)).await?;
    tx.event(NewEvent::new(
        "widget.created",
        "widget",
        id,
        json!({ "widget_id": id }),
    ))
    .await?;
    tx.commit(feed).await?;
    Ok(())
}

/// The store as another process would see it after a restart.
async fn reopened(ts: &TestStore, sets: &[&[Migration]]) -> Store {
    ts.reopen(sets).await
}

#[tokio::test]
async fn a_failed_commit_is_not_acknowledged_and_every_later_write_is_durable() {
    for ts in stores(&[WIDGETS, FAMILY]).await {
        let b = ts.name();
        let feed = EventFeed::new(ts.store.clone());
        let mut tx = ts.store.begin_write().await.unwrap();
        sqlx::query("INSERT INTO children (id, parent) VALUES ('c1', 'nobody')")
            .execute(tx.conn())
            .await
            .unwrap();
        tx.audit(&record("alice", "child.write", "c1"))
            .await
            .unwrap();
        let err = tx
            .commit(&feed)
            .await
            .expect_err("the deferred check fails the COMMIT");
        assert!(matches!(err, KitError::Database(_)), "{b}: {err}");
        for i in 0..20 {
            insert_widget(&ts.store, &feed, &format!("w{i}"))
                .await
                .unwrap();
        }
        ts.store.close().await;
        let again = reopened(&ts, &[WIDGETS, FAMILY]).await;
        assert_eq!(
            scalar(&again, "SELECT COUNT(*) FROM widgets").await,
            20,
            "{b}"
        );
        assert_eq!(
            scalar(&again, "SELECT COUNT(*) FROM children").await,
            0,
            "{b}"
        );
        let report = samling_kit::audit::verify(&again).await.unwrap();
        assert!(report.ok(), "{b}: {report:?}");
        assert_eq!(
            report.entries, 20,
            "{b}: the failed write's audit entry is not kept"
        );
        again.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_dropped_or_cancelled_half_way_leaves_nothing_and_the_writer_usable() {
    for ts in stores(&[WIDGETS]).await {
        let b = ts.name();
        let feed = EventFeed::new(ts.store.clone());
        // Dropped after a statement (an early `?` return).
        {
            let mut tx = ts.store.begin_write().await.unwrap();
            sqlx::query("INSERT INTO widgets (id, n) VALUES ('dropped', 1)")
                .execute(tx.conn())
                .await
                .unwrap();
        }
        // Cancelled while it holds the writer (a client gone, a deadline).
        let store = ts.store.clone();
        let cancelled = tokio::spawn(async move {
            let mut tx = store.begin_write().await.unwrap();
            sqlx::query("INSERT INTO widgets (id, n) VALUES ('cancelled', 1)")
                .execute(tx.conn())
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_secs(60)).await;
            drop(tx);
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        cancelled.abort();
        let _ = cancelled.await;
        tokio::time::timeout(
            Duration::from_secs(10),
            insert_widget(&ts.store, &feed, "after"),
        )
        .await
        .unwrap_or_else(|_| panic!("{b}: the writer must be free again"))
        .unwrap();
        ts.store.close().await;
        let again = reopened(&ts, &[WIDGETS]).await;
        let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM widgets ORDER BY id")
            .fetch_all(&again.read)
            .await
            .unwrap();
        assert_eq!(ids, ["after"], "{b}");
        again.close().await;
    }
}

#[tokio::test]
async fn a_full_store_is_unavailable_with_its_code_and_recovers() {
    for ts in stores(&[WIDGETS]).await {
        if ts.store.backend != Backend::Sqlite {
            continue; // max_page_count is SQLite's; PostgreSQL's disk-full is 53100
        }
        let feed = EventFeed::new(ts.store.clone());
        insert_widget(&ts.store, &feed, "before").await.unwrap();
        let pages = scalar(&ts.store, "PRAGMA page_count").await;
        let set_limit = |n: i64| {
            let store = ts.store.clone();
            async move {
                let mut tx = store.begin_tx().await.unwrap();
                sqlx::query(&format!("PRAGMA max_page_count = {n}"))
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
            }
        };
        set_limit(pages).await;
        let mut tx = ts.store.begin_write().await.unwrap();
        let err = sqlx::query("INSERT INTO widgets (id, n) VALUES ($1, 1)")
            .bind("x".repeat(64 * 1024))
            .execute(tx.conn())
            .await
            .map_err(KitError::from)
            .expect_err("the store is full");
        drop(tx);
        assert_eq!(err.code(), ErrorCode::Unavailable, "{err}");
        assert!(err.to_string().contains("sqlite code 13"), "{err}");
        set_limit(1_073_741_823).await;
        insert_widget(&ts.store, &feed, "after").await.unwrap();
        assert_eq!(scalar(&ts.store, "SELECT COUNT(*) FROM widgets").await, 2);
    }
}

#[tokio::test]
async fn the_store_probe_commits_a_row_through_the_writer() {
    for ts in stores(&[]).await {
        let b = ts.name();
        ts.store.probe_write().await.unwrap();
        let first: String = sqlx::query_scalar("SELECT probed_at FROM store_probe WHERE id = 1")
            .fetch_one(&ts.store.read)
            .await
            .unwrap();
        assert!(!first.is_empty(), "{b}: open() probed already");
        tokio::time::sleep(Duration::from_millis(5)).await;
        ts.store.probe_write().await.unwrap();
        let second: String = sqlx::query_scalar("SELECT probed_at FROM store_probe WHERE id = 1")
            .fetch_one(&ts.store.read)
            .await
            .unwrap();
        assert!(second > first, "{b}: {first} then {second}");
        assert!(ts.store.integrity(false).await.unwrap().is_empty(), "{b}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_the_feed_ends_followers_with_unavailable() {
    use futures::StreamExt;
    for ts in stores(&[WIDGETS]).await {
        let b = ts.name();
        let feed = EventFeed::new(ts.store.clone());
        insert_widget(&ts.store, &feed, "w1").await.unwrap();
        let mut stream = Box::pin(feed.watch(WatchEventsRequest::default()));
        assert!(stream.next().await.unwrap().is_ok(), "{b}");
        let closer = feed.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            closer.close();
        });
        let end = tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .unwrap_or_else(|_| panic!("{b}: a follower must end when the feed closes"));
        assert_eq!(
            end.unwrap().unwrap_err().code(),
            tonic::Code::Unavailable,
            "{b}"
        );
        assert!(stream.next().await.is_none(), "{b}");
        // A follower arriving after the close ends at once.
        let mut late = Box::pin(feed.watch(WatchEventsRequest::default()));
        let first = tokio::time::timeout(Duration::from_secs(5), late.next())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(first.unwrap_err().code(), tonic::Code::Unavailable, "{b}");
    }
}

#[cfg(unix)]
#[tokio::test]
async fn store_directories_and_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    for ts in stores(&[WIDGETS]).await {
        let samling_kit::db::DbTarget::SqliteFile(path) = &ts.target else {
            continue;
        };
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        assert_eq!(mode(path), 0o600);
        let wal = path.with_extension("db-wal");
        if wal.exists() {
            assert_eq!(mode(&wal), 0o600);
        }
    }
}

#[tokio::test]
async fn the_sqlite_writer_is_durable_by_default_and_normal_only_when_asked() {
    use samling_kit::config::SqliteSync;
    use samling_kit::db::StoreOptions;
    for ts in stores(&[]).await {
        if ts.store.backend != Backend::Sqlite {
            continue;
        }
        let synchronous = |store: Store| async move {
            let mut tx = store.begin_tx().await.unwrap();
            let v: i64 = sqlx::query_scalar("PRAGMA synchronous")
                .fetch_one(&mut *tx)
                .await
                .unwrap();
            tx.rollback().await.unwrap();
            v
        };
        assert_eq!(
            synchronous(ts.store.clone()).await,
            2,
            "FULL: on disk before acknowledged"
        );
        ts.store.close().await;
        let options = StoreOptions {
            sqlite_synchronous: SqliteSync::Normal,
            ..StoreOptions::default()
        };
        let normal = Store::open_with(&ts.target, &options, &[]).await.unwrap();
        assert_eq!(
            synchronous(normal.clone()).await,
            1,
            "NORMAL when configured"
        );
        normal.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wal_stays_bounded_under_a_steady_stream_of_writes() {
    use samling_kit::db::{DbTarget, StoreOptions};
    for ts in stores(&[]).await {
        let DbTarget::SqliteFile(path) = ts.target.clone() else {
            continue;
        };
        ts.store.close().await;
        // A small bound, so a few seconds of writes cross it many times.
        let options = StoreOptions {
            wal_truncate_bytes: 256 * 1024,
            ..StoreOptions::default()
        };
        let store = Store::open_with(&ts.target, &options, &[WIDGETS])
            .await
            .unwrap();
        let feed = EventFeed::new(store.clone());
        let wal = path.with_extension("db-wal");
        let mut largest = 0;
        let started = std::time::Instant::now();
        let mut i = 0;
        // Back-to-back writes for three seconds, readers alongside: the
        // writer never pauses for a PASSIVE checkpoint to catch up.
        while started.elapsed() < Duration::from_secs(3) {
            insert_widget(&store, &feed, &format!("w{i}"))
                .await
                .unwrap();
            let _: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM widgets")
                .fetch_one(&store.read)
                .await
                .unwrap();
            largest = largest.max(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0));
            i += 1;
        }
        // Once the writes stop, the next checkpoint empties the WAL (a
        // PASSIVE one alone never shrinks the file: it stayed at its peak).
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let after = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
        assert!(
            largest > 256 * 1024 && after <= 256 * 1024,
            "{i} writes: the WAL peaked at {largest} bytes and kept {after}"
        );
        // While writing, it never got far past the bound either (what half a
        // second of writes adds between two checks).
        assert!(
            largest < 32 * 1024 * 1024,
            "the WAL grew to {largest} bytes"
        );
        assert_eq!(
            scalar(&store, "SELECT COUNT(*) FROM widgets").await,
            i as i64
        );
        store.close().await;
    }
}
