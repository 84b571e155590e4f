//! Rate limiting and idempotency records for the gateway.
//!
//! One [`Limits`] value serves both, backed either by Redis (production: every
//! gateway replica shares the same counters and records) or by an in-process
//! store (when `SAMLING_REDIS_URL` is empty: a single replica, tests, local
//! development). [`open`] (or [`connect`]) picks the backend from the URL; the
//! gateway code calls the same methods on either.
//!
//! # Rate limiting
//!
//! [`Limits::check`] implements GCRA (the "generic cell rate algorithm", a
//! token bucket kept as one timestamp per key). A limit of `N` per minute
//! admits a burst of `N` requests and then one more every `60/N` seconds, so
//! the sustained rate is `N` per minute and a client that stays within it is
//! never refused. A refused request does not consume anything, and
//! [`RateDecision::retry_after`] is exactly the time until the next slot frees
//! (never more than 60 s). A limit of `0` refuses everything.
//!
//! The state of a key is a single number, the "theoretical arrival time"; a key
//! whose time has passed holds no information, so expiring it is exact: Redis
//! keys carry a `PX` TTL of at most one minute, and the in-process table drops
//! such keys whenever it sweeps. In Redis the whole decision is one Lua script
//! (atomic, one round trip) that reads the clock with `TIME` on the server, so
//! replicas with skewed clocks still agree. In process it runs under a mutex.
//!
//! # Idempotency
//!
//! [`Limits::begin`] either reserves the key with an in-flight marker
//! ([`Begin::Fresh`]), or says what the key already holds:
//! [`Begin::Replay`] with the first response when the same request (same
//! request hash) completed, [`Begin::InFlight`] while a reservation is held
//! (by the same request or by a different one: the gateway answers 409, since
//! the holder may yet fail and release the key), and [`Begin::Mismatch`] only
//! when the key holds the *answer* to a different request (the gateway
//! answers 422). [`Limits::complete`] replaces the reservation with the
//! response; [`Limits::abandon`] drops a reservation (after an answer that is
//! not kept) so that a retry runs afresh. The `ttl` given to `begin` bounds
//! how long a reservation can outlive a gateway that lost track of its
//! request (it crashed, or Redis stalled before `complete`): the gateway
//! gives seconds, not the answer's lifetime. The `ttl` given to `complete` is
//! how long the answer can be replayed.
//!
//! Responses are stored as compact bytes (no JSON inflation of bodies). Keys
//! and request hashes are opaque; ones longer than [`MAX_KEY_LEN`] bytes, or
//! starting with `#`, are stored under `#sha256:<hex>` of themselves, which
//! bounds the memory a single entry can take.
//!
//! # Redis keys
//!
//! Every key is prefixed with a namespace ([`LimitsConfig::rate_namespace`],
//! default `samling:rl:`, and [`LimitsConfig::idempotency_namespace`], default
//! `samling:idem:`) and always carries a TTL (the outage probe writes
//! `<idempotency namespace>#probe`, 60 s). Requires Redis ≥ 5 (scripts
//! replicated by effects) and works on one node or a cluster (every script
//! touches a single key). The URL is `redis://[user:password@]host:port[/db]`
//! or `unix://`; TLS is not compiled in.
//!
//! # Failure
//!
//! [`connect`] gives up after [`LimitsConfig::connect_timeout`] (3 s by
//! default); [`open`], which the gateway uses, instead starts *degraded*. A
//! call that fails or takes longer than [`LimitsConfig::op_timeout`] (1 s by
//! default) opens a circuit: from then on every call returns
//! [`LimitError::Unavailable`] at once, without touching Redis, while one
//! background task probes Redis (a `SET` of a key in the idempotency
//! namespace) every [`LimitsConfig::probe_interval`]; the first answer closes
//! the circuit. So an outage costs one timeout, not one per request, and the
//! store recovers by itself. Each transition is logged once (warn when Redis
//! goes, info when it is back); [`Limits::health`] reports it for `/readyz`.
//! The gateway decides what an error means: **rate limiting falls back to an
//! in-process limiter** (per replica), **idempotency passes through** to the
//! services, which deduplicate on the request id the gateway gives them. The
//! in-process store fails only when it is full of in-flight reservations (or
//! a response exceeds its byte budget): it then returns
//! [`LimitError::Unavailable`] as well.
//!
//! # Memory (in process)
//!
//! The rate table holds at most [`LimitsConfig::max_rate_keys`] keys: expired
//! keys are swept every few seconds and whenever it is full; if it is still
//! full, the eighth of the keys closest to a full bucket are forgotten (so a
//! flood of new keys can never evict a throttled one first). The idempotency
//! table holds at most [`LimitsConfig::max_idempotency_entries`] records and
//! [`LimitsConfig::max_idempotency_bytes`] bytes: expired records are swept,
//! then completed records are evicted soonest-expiring first; in-flight
//! reservations are never evicted before they expire.

//!
//! # Files
//!
//! `rate/` is the rate limiter and `idempotency/` the idempotency store,
//! each with its `memory.rs` and `redis.rs` backend; `redis.rs` here is the
//! shared Redis connection and its circuit, `memory.rs` the in-process
//! store's tables.

mod idempotency;
mod memory;
mod rate;
mod redis;

pub use idempotency::{Begin, StoredResponse};
pub use rate::RateDecision;

use self::redis::{RedisShared, RedisStore, unavailable};
use memory::MemoryStore;
use rate::gcra_params;
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use sha2::{Digest, Sha256};

/// Default namespace of rate-limit keys in Redis.
pub const DEFAULT_RATE_NAMESPACE: &str = "samling:rl:";
/// Default namespace of idempotency records in Redis.
pub const DEFAULT_IDEMPOTENCY_NAMESPACE: &str = "samling:idem:";
/// Keys and request hashes longer than this are stored by their SHA-256.
pub const MAX_KEY_LEN: usize = 200;

/// The rate-limit window: limits are "per minute".
const WINDOW_US: u64 = 60_000_000;
/// Longest TTL accepted for idempotency records (longer ones are clamped).
const MAX_TTL: Duration = Duration::from_secs(366 * 24 * 3600);
/// How often the in-process tables drop expired entries unprompted.
const SWEEP_EVERY_US: u64 = 5_000_000;
/// Bookkeeping bytes counted per in-process idempotency record.
const ENTRY_OVERHEAD: usize = 96;

/// Why a limits call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    /// The configuration cannot work (e.g. a malformed `SAMLING_REDIS_URL`).
    #[error("rate-limit/idempotency store misconfigured: {0}")]
    Config(String),
    /// The store could not answer (Redis unreachable, timed out, or the
    /// in-process store is full). Rate limiting fails open on this,
    /// idempotency fails closed.
    #[error("rate-limit/idempotency store unavailable: {0}")]
    Unavailable(String),
}

/// Tunables; [`Default`] is what [`connect`] uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitsConfig {
    /// Prefix of every rate-limit key in Redis.
    pub rate_namespace: String,
    /// Prefix of every idempotency key in Redis.
    pub idempotency_namespace: String,
    /// Upper bound on establishing the Redis connection in [`connect_with`].
    pub connect_timeout: Duration,
    /// Upper bound on any one Redis call, including waiting for a reconnect.
    pub op_timeout: Duration,
    /// While Redis is degraded, how often it is probed in the background.
    pub probe_interval: Duration,
    /// In process: most rate-limit keys kept.
    pub max_rate_keys: usize,
    /// In process: most idempotency records kept.
    pub max_idempotency_entries: usize,
    /// In process: most bytes of idempotency records (keys, hashes, bodies).
    pub max_idempotency_bytes: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            rate_namespace: DEFAULT_RATE_NAMESPACE.to_owned(),
            idempotency_namespace: DEFAULT_IDEMPOTENCY_NAMESPACE.to_owned(),
            connect_timeout: Duration::from_secs(3),
            op_timeout: Duration::from_secs(1),
            probe_interval: Duration::from_secs(1),
            max_rate_keys: 100_000,
            max_idempotency_entries: 50_000,
            max_idempotency_bytes: 64 * 1024 * 1024,
        }
    }
}

/// How full the in-process store is (see [`Limits::memory_usage`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryUsage {
    /// Rate-limit keys held.
    pub rate_keys: usize,
    /// Idempotency records held (in flight or completed).
    pub idempotency_entries: usize,
    /// Bytes accounted to those records.
    pub idempotency_bytes: usize,
}

/// Connects with the default [`LimitsConfig`]; an empty (or blank) URL gives
/// the in-process store. Fails when Redis does not answer at start (see
/// [`open`] for the gateway's way, which starts degraded instead).
pub async fn connect(redis_url: &str) -> Result<Limits, LimitError> {
    connect_with(redis_url, LimitsConfig::default()).await
}

/// Like [`connect`], with explicit tunables.
pub async fn connect_with(redis_url: &str, config: LimitsConfig) -> Result<Limits, LimitError> {
    let (limits, answered) = establish(redis_url, config).await?;
    answered.map(|()| limits)
}

/// Like [`connect`], but a Redis that does not answer at start is no error:
/// the store starts degraded (see "Failure" in the module docs) and probes
/// Redis in the background until it answers. Only a malformed URL fails.
pub async fn open(redis_url: &str) -> Result<Limits, LimitError> {
    open_with(redis_url, LimitsConfig::default()).await
}

/// Like [`open`], with explicit tunables.
pub async fn open_with(redis_url: &str, config: LimitsConfig) -> Result<Limits, LimitError> {
    let (limits, answered) = establish(redis_url, config).await?;
    if let (Err(e), Backend::Redis(r)) = (answered, &limits.backend) {
        r.trip(&e.to_string());
    }
    Ok(limits)
}

/// The store for `redis_url`, and whether Redis answered a first PING within
/// the connect timeout (always `Ok` in process).
async fn establish(
    redis_url: &str,
    config: LimitsConfig,
) -> Result<(Limits, Result<(), LimitError>), LimitError> {
    let url = redis_url.trim();
    if url.is_empty() {
        return Ok((Limits::in_process(config), Ok(())));
    }
    // The URL may carry a password: never echo it.
    let client = ::redis::Client::open(url).map_err(|e| {
        LimitError::Config(format!(
            "the Redis URL is not usable (expected redis://host:port or unix:///path): {:?}",
            e.kind()
        ))
    })?;
    let manager_config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(config.connect_timeout))
        .set_response_timeout(Some(config.op_timeout))
        .set_number_of_retries(2)
        .set_max_delay(Duration::from_secs(1));
    // Lazy: nothing is sent until the first command, so an unreachable
    // Redis does not stop the gateway from starting.
    let manager = ConnectionManager::new_lazy_with_config(client, manager_config)
        .map_err(|e| LimitError::Config(format!("the Redis client: {:?}", e.kind())))?;
    let store = RedisStore(Arc::new(RedisShared {
        conn: manager,
        rate_ns: config.rate_namespace,
        idem_ns: config.idempotency_namespace,
        op_timeout: config.op_timeout,
        probe_interval: config.probe_interval.max(Duration::from_millis(10)),
        down: AtomicBool::new(false),
        probing: AtomicBool::new(false),
    }));
    let answered = match tokio::time::timeout(config.connect_timeout, store.probe()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(unavailable(&e)),
        Err(_) => Err(LimitError::Unavailable(
            "connecting to Redis timed out".to_owned(),
        )),
    };
    Ok((
        Limits {
            backend: Backend::Redis(store),
        },
        answered,
    ))
}

/// Whether the store answers, as `/readyz` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreHealth {
    /// No Redis configured: the in-process store (always answers).
    InProcess,
    /// Redis answers.
    Ok,
    /// Redis did not answer: calls fail at once (no Redis round trip) while
    /// a background probe waits for it to come back.
    Degraded,
}

impl StoreHealth {
    /// `"in-process"`, `"ok"` or `"degraded"`.
    pub fn as_str(self) -> &'static str {
        match self {
            StoreHealth::InProcess => "in-process",
            StoreHealth::Ok => "ok",
            StoreHealth::Degraded => "degraded",
        }
    }
}

/// The gateway's rate limits and idempotency records, in Redis or in process.
/// Cheap to clone; clones share the store.
#[derive(Clone)]
pub struct Limits {
    backend: Backend,
}

#[derive(Clone)]
enum Backend {
    Memory(Arc<MemoryStore>),
    Redis(RedisStore),
}

impl fmt::Debug for Limits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Limits")
            .field("backend", &self.backend_name())
            .finish()
    }
}

impl Limits {
    /// An in-process store (one gateway replica only).
    pub fn in_process(config: LimitsConfig) -> Self {
        Self {
            backend: Backend::Memory(Arc::new(MemoryStore::new(&config))),
        }
    }

    /// `"redis"` or `"in-process"`, for logs and health output.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Memory(_) => "in-process",
            Backend::Redis(_) => "redis",
        }
    }

    /// Whether limits are shared between gateway replicas (Redis).
    pub fn is_shared(&self) -> bool {
        matches!(self.backend, Backend::Redis(_))
    }

    /// Fill levels of the in-process store; `None` for Redis.
    pub fn memory_usage(&self) -> Option<MemoryUsage> {
        match &self.backend {
            Backend::Memory(m) => Some(m.usage()),
            Backend::Redis(_) => None,
        }
    }

    /// Checks that the store answers (for readiness probes). While Redis is
    /// degraded this fails at once, without a round trip.
    pub async fn ping(&self) -> Result<(), LimitError> {
        match &self.backend {
            Backend::Memory(_) => Ok(()),
            Backend::Redis(r) => r.ping().await,
        }
    }

    /// Whether Redis answers, as last seen (no I/O; see [`Self::ping`]).
    pub fn health(&self) -> StoreHealth {
        match &self.backend {
            Backend::Memory(_) => StoreHealth::InProcess,
            Backend::Redis(r) if r.0.down.load(Ordering::Acquire) => StoreHealth::Degraded,
            Backend::Redis(_) => StoreHealth::Ok,
        }
    }

    /// Counts one request against `key`, allowing `limit_per_minute` per
    /// minute (see the module docs for the exact policy).
    pub async fn check(
        &self,
        key: &str,
        limit_per_minute: u32,
    ) -> Result<RateDecision, LimitError> {
        if limit_per_minute == 0 {
            return Ok(RateDecision {
                allowed: false,
                remaining: 0,
                retry_after: Duration::from_micros(WINDOW_US),
            });
        }
        let key = bounded(key);
        let (interval, window) = gcra_params(limit_per_minute);
        match &self.backend {
            Backend::Memory(m) => Ok(m.check(&key, interval, window)),
            Backend::Redis(r) => r.check(&key, interval, window).await,
        }
    }

    /// Debits `units` more requests from `key` after the fact: an answer that
    /// read (and so audited) many records costs more than one request. Never
    /// refuses; the debt is capped at one full window, so a caller who spent
    /// it waits at most a minute.
    pub async fn charge(
        &self,
        key: &str,
        limit_per_minute: u32,
        units: u32,
    ) -> Result<(), LimitError> {
        if limit_per_minute == 0 || units == 0 {
            return Ok(());
        }
        let key = bounded(key);
        let (interval, window) = gcra_params(limit_per_minute);
        match &self.backend {
            Backend::Memory(m) => {
                m.charge(&key, interval, window, units);
                Ok(())
            }
            Backend::Redis(r) => r.charge(&key, interval, window, units).await,
        }
    }

    /// Reserves `key` for a request with `request_hash`, or reports what the
    /// key already holds. A reservation lapses after `ttl`.
    pub async fn begin(
        &self,
        key: &str,
        request_hash: &str,
        ttl: Duration,
    ) -> Result<Begin, LimitError> {
        let (key, hash) = (bounded(key), bounded(request_hash));
        match &self.backend {
            Backend::Memory(m) => m.begin(&key, &hash, ttl),
            Backend::Redis(r) => r.begin(&key, &hash, ttl).await,
        }
    }

    /// Stores the answer to the request that [`Self::begin`] reserved, for
    /// replay during `ttl`. Does nothing if the key has meanwhile been taken
    /// by a different request or already holds an answer.
    pub async fn complete(
        &self,
        key: &str,
        request_hash: &str,
        response: &StoredResponse,
        ttl: Duration,
    ) -> Result<(), LimitError> {
        let (key, hash) = (bounded(key), bounded(request_hash));
        match &self.backend {
            Backend::Memory(m) => m.complete(&key, &hash, response, ttl),
            Backend::Redis(r) => r.complete(&key, &hash, response, ttl).await,
        }
    }

    /// Drops an in-flight reservation so that a retry starts afresh. A
    /// completed record is left alone.
    pub async fn abandon(&self, key: &str) -> Result<(), LimitError> {
        let key = bounded(key);
        match &self.backend {
            Backend::Memory(m) => {
                m.abandon(&key);
                Ok(())
            }
            Backend::Redis(r) => r.abandon(&key).await,
        }
    }
}

// ---------------------------------------------------------------------------
// Shared helpers

/// Long keys (and keys that could pose as hashed ones) become `#sha256:<hex>`.
fn bounded(s: &str) -> Cow<'_, str> {
    if s.len() <= MAX_KEY_LEN && !s.starts_with('#') {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(format!(
            "#sha256:{}",
            hex::encode(Sha256::digest(s.as_bytes()))
        ))
    }
}

fn ttl_millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.min(MAX_TTL).as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

fn ttl_micros(ttl: Duration) -> u64 {
    u64::try_from(ttl.min(MAX_TTL).as_micros())
        .unwrap_or(u64::MAX)
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_and_hash_like_keys_are_hashed() {
        assert_eq!(bounded("ip:1.2.3.4"), "ip:1.2.3.4");
        let long = "x".repeat(MAX_KEY_LEN + 1);
        assert!(bounded(&long).starts_with("#sha256:"));
        assert_ne!(bounded("#a"), "#a");
        assert_eq!(bounded("#a"), bounded("#a"));
    }
}
