//! The transactional outbox and its cursor-based event feed.
//!
//! Events are written with the change ([`crate::tx::WriteTx::event`]) and
//! served by `WatchEvents(after)`: first everything after the cursor, then new
//! events as they commit (woken in-process, with a polling fallback for
//! writers in other processes). Delivery is at least once; consumers keep
//! their cursor and are idempotent.

use crate::db::Store;
use crate::error::KitError;
use futures::Stream;
use samling_proto::common::v1::{Event, WatchEventsRequest};
use sqlx::Row;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// A new event for the outbox. The payload holds ids and codes only — never
/// personnummer, names or addresses.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub event_type: String,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub payload: serde_json::Value,
}

impl NewEvent {
    pub fn new(
        event_type: &str,
        aggregate_type: &str,
        aggregate_id: impl Into<String>,
        payload: serde_json::Value,
    ) -> Self {
        NewEvent {
            event_type: event_type.into(),
            aggregate_type: aggregate_type.into(),
            aggregate_id: aggregate_id.into(),
            payload,
        }
    }
}

const BATCH: i64 = 500;
const POLL: Duration = Duration::from_millis(500);

#[derive(Clone, Debug)]
pub struct EventFeed {
    store: Store,
    wake: Arc<watch::Sender<u64>>,
    /// Set when the server starts shutting down: every stream ends.
    closed: Arc<watch::Sender<bool>>,
}

impl EventFeed {
    pub fn new(store: Store) -> Self {
        let (wake, _) = watch::channel(0);
        let (closed, _) = watch::channel(false);
        EventFeed {
            store,
            wake: Arc::new(wake),
            closed: Arc::new(closed),
        }
    }

    /// Called after a commit that wrote events.
    pub fn notify(&self) {
        self.wake.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// End every `WatchEvents` stream, now and from now on, with
    /// `UNAVAILABLE` (the consumer resumes from its cursor on another
    /// replica or after the restart). Called when shutdown starts: a
    /// follower's stream never ends by itself, and a graceful server stop
    /// waits for every open stream.
    pub fn close(&self) {
        self.closed.send_replace(true);
    }

    /// Events after `after`, at most `limit`.
    pub async fn read_after(&self, after: u64, limit: i64) -> Result<Vec<Event>, KitError> {
        let rows = sqlx::query(
            "SELECT seq, id, event_type, aggregate_type, aggregate_id, occurred_at, payload \
             FROM outbox WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after as i64)
        .bind(limit)
        .fetch_all(&self.store.read)
        .await?;
        rows.iter()
            .map(|r| {
                let seq: i64 = r.try_get(0)?;
                Ok(Event {
                    seq: seq as u64,
                    id: r.try_get(1)?,
                    event_type: r.try_get(2)?,
                    aggregate_type: r.try_get(3)?,
                    aggregate_id: r.try_get(4)?,
                    occurred_at: r.try_get(5)?,
                    payload_json: r.try_get(6)?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(KitError::from)
    }

    /// The `WatchEvents` stream.
    pub fn watch(
        &self,
        req: WatchEventsRequest,
    ) -> impl Stream<Item = Result<Event, tonic::Status>> + Send + 'static {
        let feed = self.clone();
        let mut wake = self.wake.subscribe();
        let mut closed = self.closed.subscribe();
        async_stream::try_stream! {
            let mut after = req.after;
            loop {
                if *closed.borrow_and_update() {
                    Err(crate::error::refusal_status(
                        crate::error::Reason::Unavailable,
                        "the server is shutting down; resume from your cursor",
                    ))?;
                }
                wake.mark_unchanged();
                let events = feed.read_after(after, BATCH).await.map_err(tonic::Status::from)?;
                let caught_up = (events.len() as i64) < BATCH;
                for e in events {
                    after = e.seq;
                    if req.event_types.is_empty() || req.event_types.contains(&e.event_type) {
                        yield e;
                    }
                }
                if caught_up {
                    if req.stop_at_end {
                        break;
                    }
                    // Woken by an in-process commit or by shutdown, or poll
                    // for other writers.
                    tokio::select! {
                        _ = tokio::time::timeout(POLL, wake.changed()) => {}
                        _ = closed.changed() => {}
                    }
                }
            }
        }
    }
}
