//! The Redis connection both stores share, and its circuit: a failed or
//! slow call opens it, a background probe closes it.

use super::LimitError;
use redis::RedisResult;
use redis::aio::ConnectionManager;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

pub(in crate::limits) fn unavailable(e: &redis::RedisError) -> LimitError {
    LimitError::Unavailable(format!("redis: {e}"))
}

/// The Redis backend; clones share the connection and the circuit.
#[derive(Clone)]
pub(in crate::limits) struct RedisStore(pub(in crate::limits) Arc<RedisShared>);

pub(in crate::limits) struct RedisShared {
    pub(in crate::limits) conn: ConnectionManager,
    pub(in crate::limits) rate_ns: String,
    pub(in crate::limits) idem_ns: String,
    pub(in crate::limits) op_timeout: Duration,
    pub(in crate::limits) probe_interval: Duration,
    /// The circuit: open (true) after a failed call, until a probe succeeds.
    pub(in crate::limits) down: AtomicBool,
    /// Whether a probe task is running (at most one).
    pub(in crate::limits) probing: AtomicBool,
}

impl RedisStore {
    /// One call, bounded by the operation timeout. While the circuit is open
    /// it fails at once: a Redis that stalls costs one timeout per outage,
    /// not one per request.
    pub(in crate::limits) async fn run<T>(
        &self,
        call: impl Future<Output = RedisResult<T>>,
    ) -> Result<T, LimitError> {
        if self.0.down.load(Ordering::Acquire) {
            return Err(LimitError::Unavailable(
                "redis: degraded (not answering; probing in the background)".to_owned(),
            ));
        }
        let error = match tokio::time::timeout(self.0.op_timeout, call).await {
            Ok(Ok(v)) => return Ok(v),
            Ok(Err(e)) => unavailable(&e),
            Err(_) => LimitError::Unavailable("redis: operation timed out".to_owned()),
        };
        self.trip(&error.to_string());
        Err(error)
    }

    /// Opens the circuit (logged once per outage) and starts the probe.
    pub(in crate::limits) fn trip(&self, reason: &str) {
        if !self.0.down.swap(true, Ordering::AcqRel) {
            tracing::warn!(
                reason,
                "redis unavailable: the gateway runs degraded (rate limits per replica, \
                 idempotency left to the services); probing every {:?}",
                self.0.probe_interval
            );
        }
        if self.0.probing.swap(true, Ordering::AcqRel) {
            return;
        }
        let shared = Arc::downgrade(&self.0);
        tokio::spawn(async move {
            loop {
                let Some(interval) = shared.upgrade().map(|s| s.probe_interval) else {
                    return;
                };
                tokio::time::sleep(interval).await;
                // Ends with the last clone of the store.
                let Some(store) = shared.upgrade().map(RedisStore) else {
                    return;
                };
                let answered = matches!(
                    tokio::time::timeout(store.0.op_timeout, store.probe()).await,
                    Ok(Ok(()))
                );
                if answered {
                    store.0.probing.store(false, Ordering::Release);
                    store.0.down.store(false, Ordering::Release);
                    tracing::info!(
                        "redis answers again: shared rate limits and idempotency records resumed"
                    );
                    return;
                }
            }
        });
    }

    /// A write, not a PING: a Redis that answers but refuses writes (out of
    /// memory, a read-only replica after a failover) is not back.
    pub(in crate::limits) async fn probe(&self) -> RedisResult<()> {
        let mut conn = self.0.conn.clone();
        redis::cmd("SET")
            .arg(format!("{}#probe", self.0.idem_ns))
            .arg(1)
            .arg("PX")
            .arg(60_000)
            .query_async::<()>(&mut conn)
            .await
    }

    pub(in crate::limits) async fn ping(&self) -> Result<(), LimitError> {
        let mut conn = self.0.conn.clone();
        self.run(async move {
            redis::cmd("PING")
                .query_async::<String>(&mut conn)
                .await
                .map(drop)
        })
        .await
    }
}
