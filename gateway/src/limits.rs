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

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{LazyLock, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{RedisResult, Script};
use serde::{Deserialize, Serialize};
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

/// What [`Limits::check`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    /// Whether the request may proceed (it has been counted if so).
    pub allowed: bool,
    /// How many more requests would be allowed right now.
    pub remaining: u32,
    /// When refused: time until the next request will be allowed, in
    /// `(0, 60 s]`. Zero when allowed.
    pub retry_after: Duration,
}

impl RateDecision {
    /// [`Self::retry_after`] rounded up to whole seconds, for a `Retry-After`
    /// header (at least 1 when refused, 0 when allowed).
    pub fn retry_after_secs(&self) -> u64 {
        let d = self.retry_after;
        d.as_secs() + u64::from(d.subsec_nanos() > 0)
    }
}

/// A response kept for replay under an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredResponse {
    /// HTTP status code.
    pub status: u16,
    /// The `Content-Type` header value.
    pub content_type: String,
    /// The response body, verbatim.
    pub body: Vec<u8>,
}

/// What [`Limits::begin`] found for an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begin {
    /// The key was free and is now reserved for this request: run it, then
    /// [`Limits::complete`] (or [`Limits::abandon`]).
    Fresh,
    /// The same request already completed: answer with this.
    Replay(StoredResponse),
    /// The key holds the answer to a different request hash (HTTP 422).
    Mismatch,
    /// A request (this one or another) holds the key's reservation and is
    /// still running (HTTP 409).
    InFlight,
}

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
    let client = redis::Client::open(url).map_err(|e| {
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

/// GCRA parameters in microseconds: the emission interval and the window
/// (`limit` intervals, so a full burst is exactly `limit` requests).
fn gcra_params(limit: u32) -> (u64, u64) {
    let limit = u64::from(limit.max(1));
    let interval = WINDOW_US.div_ceil(limit);
    (interval, interval.saturating_mul(limit))
}

fn decision(allowed: bool, remaining: u64, retry_after_us: u64) -> RateDecision {
    RateDecision {
        allowed,
        remaining: u32::try_from(remaining).unwrap_or(u32::MAX),
        retry_after: if allowed {
            Duration::ZERO
        } else {
            Duration::from_micros(retry_after_us.clamp(1, WINDOW_US))
        },
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

fn unavailable(e: &redis::RedisError) -> LimitError {
    LimitError::Unavailable(format!("redis: {e}"))
}

/// An idempotency record as stored in Redis.
#[derive(Debug, PartialEq, Eq)]
enum Record {
    InFlight {
        hash: String,
    },
    Done {
        hash: String,
        response: StoredResponse,
    },
}

const TAG_IN_FLIGHT: u8 = b'I';
const TAG_DONE: u8 = b'D';

/// `I` followed by the request hash. The Lua scripts compare against this
/// exact byte string and test the first byte for `I`.
fn encode_in_flight(hash: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + hash.len());
    out.push(TAG_IN_FLIGHT);
    out.extend_from_slice(hash.as_bytes());
    out
}

/// `D`, u32 hash length, hash, u16 status, u32 content-type length,
/// content type, body (the rest); integers big-endian.
fn encode_done(hash: &str, response: &StoredResponse) -> Result<Vec<u8>, LimitError> {
    let too_long = |_| LimitError::Unavailable("idempotency record too large".to_owned());
    let hash_len = u32::try_from(hash.len()).map_err(too_long)?;
    let ct_len = u32::try_from(response.content_type.len()).map_err(too_long)?;
    let mut out =
        Vec::with_capacity(11 + hash.len() + response.content_type.len() + response.body.len());
    out.push(TAG_DONE);
    out.extend_from_slice(&hash_len.to_be_bytes());
    out.extend_from_slice(hash.as_bytes());
    out.extend_from_slice(&response.status.to_be_bytes());
    out.extend_from_slice(&ct_len.to_be_bytes());
    out.extend_from_slice(response.content_type.as_bytes());
    out.extend_from_slice(&response.body);
    Ok(out)
}

fn decode_record(bytes: &[u8]) -> Option<Record> {
    let (&tag, rest) = bytes.split_first()?;
    match tag {
        TAG_IN_FLIGHT => Some(Record::InFlight {
            hash: String::from_utf8(rest.to_vec()).ok()?,
        }),
        TAG_DONE => {
            let mut r = Reader(rest);
            let hash_len = usize::try_from(u32::from_be_bytes(r.array()?)).ok()?;
            let hash = String::from_utf8(r.take(hash_len)?.to_vec()).ok()?;
            let status = u16::from_be_bytes(r.array()?);
            let ct_len = usize::try_from(u32::from_be_bytes(r.array()?)).ok()?;
            let content_type = String::from_utf8(r.take(ct_len)?.to_vec()).ok()?;
            Some(Record::Done {
                hash,
                response: StoredResponse {
                    status,
                    content_type,
                    body: r.0.to_vec(),
                },
            })
        }
        _ => None,
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }
}

fn begin_from_existing(existing: Record, hash: &str) -> Begin {
    match existing {
        Record::InFlight { hash: h } => begin_with(&h, None, hash),
        Record::Done { hash: h, response } => begin_with(&h, Some(&response), hash),
    }
}

/// What a key already holding `stored_hash` (and the first answer, once
/// there is one) means for a request with `hash` — the same on both stores.
/// Only a stored answer can make a request a mismatch: while the key is
/// merely reserved, whoever reserved it may yet fail (and release it), so a
/// different request waits (409) instead of being refused for good (422).
fn begin_with(stored_hash: &str, response: Option<&StoredResponse>, hash: &str) -> Begin {
    match response {
        None => Begin::InFlight,
        Some(_) if stored_hash != hash => Begin::Mismatch,
        Some(response) => Begin::Replay(response.clone()),
    }
}

// ---------------------------------------------------------------------------
// Redis

/// GCRA. KEYS[1] = key; ARGV[1] = interval (µs); ARGV[2] = window (µs).
/// Returns {allowed 0/1, remaining, retry_after µs}.
static RATE_SCRIPT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local tat = now
local stored = redis.call('GET', KEYS[1])
if stored then
  tat = tonumber(stored) or now
  if tat < now then tat = now end
end
local new_tat = tat + interval
local slack = now + window - new_tat
if slack < 0 then
  return {0, 0, -slack}
end
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000))
return {1, math.floor(slack / interval), 0}
",
    )
});

/// A debit after the fact. KEYS[1] = key; ARGV[1] = interval (µs);
/// ARGV[2] = window (µs); ARGV[3] = units. The debt stops at one window.
static CHARGE_SCRIPT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local tat = now
local stored = redis.call('GET', KEYS[1])
if stored then
  tat = tonumber(stored) or now
  if tat < now then tat = now end
end
local new_tat = tat + interval * tonumber(ARGV[3])
if new_tat > now + window then new_tat = now + window end
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.max(1, math.ceil((new_tat - now) / 1000)))
return 1
",
    )
});

/// KEYS[1] = key; ARGV[1] = in-flight marker; ARGV[2] = TTL (ms).
/// Returns the existing record, or nil after reserving the key.
static BEGIN_SCRIPT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local v = redis.call('GET', KEYS[1])
if v then return v end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false
",
    )
});

/// KEYS[1] = key; ARGV[1] = our in-flight marker; ARGV[2] = record;
/// ARGV[3] = TTL (ms). Stores only over our own reservation or nothing.
static COMPLETE_SCRIPT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local v = redis.call('GET', KEYS[1])
if (not v) or v == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
",
    )
});

/// KEYS[1] = key. Deletes it only while it is an in-flight marker.
static ABANDON_SCRIPT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, 1) == 'I' then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
",
    )
});

/// The Redis backend; clones share the connection and the circuit.
#[derive(Clone)]
struct RedisStore(Arc<RedisShared>);

struct RedisShared {
    conn: ConnectionManager,
    rate_ns: String,
    idem_ns: String,
    op_timeout: Duration,
    probe_interval: Duration,
    /// The circuit: open (true) after a failed call, until a probe succeeds.
    down: AtomicBool,
    /// Whether a probe task is running (at most one).
    probing: AtomicBool,
}

impl RedisStore {
    /// One call, bounded by the operation timeout. While the circuit is open
    /// it fails at once: a Redis that stalls costs one timeout per outage,
    /// not one per request.
    async fn run<T>(&self, call: impl Future<Output = RedisResult<T>>) -> Result<T, LimitError> {
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
    fn trip(&self, reason: &str) {
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
    async fn probe(&self) -> RedisResult<()> {
        let mut conn = self.0.conn.clone();
        redis::cmd("SET")
            .arg(format!("{}#probe", self.0.idem_ns))
            .arg(1)
            .arg("PX")
            .arg(60_000)
            .query_async::<()>(&mut conn)
            .await
    }

    async fn ping(&self) -> Result<(), LimitError> {
        let mut conn = self.0.conn.clone();
        self.run(async move {
            redis::cmd("PING")
                .query_async::<String>(&mut conn)
                .await
                .map(drop)
        })
        .await
    }

    async fn check(
        &self,
        key: &str,
        interval: u64,
        window: u64,
    ) -> Result<RateDecision, LimitError> {
        let mut conn = self.0.conn.clone();
        let full_key = format!("{}{key}", self.0.rate_ns);
        let (allowed, remaining, retry_us): (i64, i64, i64) = self
            .run(async move {
                RATE_SCRIPT
                    .key(full_key)
                    .arg(interval)
                    .arg(window)
                    .invoke_async(&mut conn)
                    .await
            })
            .await?;
        Ok(decision(
            allowed == 1,
            u64::try_from(remaining).unwrap_or(0),
            u64::try_from(retry_us).unwrap_or(0),
        ))
    }

    async fn charge(
        &self,
        key: &str,
        interval: u64,
        window: u64,
        units: u32,
    ) -> Result<(), LimitError> {
        let mut conn = self.0.conn.clone();
        let full_key = format!("{}{key}", self.0.rate_ns);
        let _: i64 = self
            .run(async move {
                CHARGE_SCRIPT
                    .key(full_key)
                    .arg(interval)
                    .arg(window)
                    .arg(units)
                    .invoke_async(&mut conn)
                    .await
            })
            .await?;
        Ok(())
    }

    async fn begin(&self, key: &str, hash: &str, ttl: Duration) -> Result<Begin, LimitError> {
        let mut conn = self.0.conn.clone();
        let full_key = format!("{}{key}", self.0.idem_ns);
        let marker = encode_in_flight(hash);
        let existing: Option<Vec<u8>> = self
            .run(async move {
                BEGIN_SCRIPT
                    .key(full_key)
                    .arg(marker)
                    .arg(ttl_millis(ttl))
                    .invoke_async(&mut conn)
                    .await
            })
            .await?;
        match existing {
            None => Ok(Begin::Fresh),
            Some(bytes) => decode_record(&bytes)
                .map(|record| begin_from_existing(record, hash))
                .ok_or_else(|| LimitError::Unavailable("corrupt idempotency record".to_owned())),
        }
    }

    async fn complete(
        &self,
        key: &str,
        hash: &str,
        response: &StoredResponse,
        ttl: Duration,
    ) -> Result<(), LimitError> {
        let mut conn = self.0.conn.clone();
        let full_key = format!("{}{key}", self.0.idem_ns);
        let marker = encode_in_flight(hash);
        let record = encode_done(hash, response)?;
        let stored: i64 = self
            .run(async move {
                COMPLETE_SCRIPT
                    .key(full_key)
                    .arg(marker)
                    .arg(record)
                    .arg(ttl_millis(ttl))
                    .invoke_async(&mut conn)
                    .await
            })
            .await?;
        if stored != 1 {
            tracing::debug!("idempotency key taken by another request; response not stored");
        }
        Ok(())
    }

    async fn abandon(&self, key: &str) -> Result<(), LimitError> {
        let mut conn = self.0.conn.clone();
        let full_key = format!("{}{key}", self.0.idem_ns);
        let _: i64 = self
            .run(async move { ABANDON_SCRIPT.key(full_key).invoke_async(&mut conn).await })
            .await?;
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// In process

struct MemoryStore {
    /// Times are microseconds since this instant.
    base: Instant,
    rate: Mutex<RateTable>,
    idem: Mutex<IdemTable>,
    max_rate_keys: usize,
    max_idem_entries: usize,
    max_idem_bytes: usize,
}

#[derive(Default)]
struct RateTable {
    /// Key → theoretical arrival time (µs); stale once ≤ now.
    tat: HashMap<String, u64>,
    last_sweep: u64,
}

#[derive(Default)]
struct IdemTable {
    entries: HashMap<String, IdemEntry>,
    bytes: usize,
    last_sweep: u64,
}

struct IdemEntry {
    hash: String,
    /// `None` while in flight.
    response: Option<StoredResponse>,
    expires: u64,
    bytes: usize,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl MemoryStore {
    fn new(config: &LimitsConfig) -> Self {
        Self {
            base: Instant::now(),
            rate: Mutex::default(),
            idem: Mutex::default(),
            max_rate_keys: config.max_rate_keys.max(1),
            max_idem_entries: config.max_idempotency_entries.max(1),
            max_idem_bytes: config.max_idempotency_bytes,
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    fn usage(&self) -> MemoryUsage {
        let rate_keys = lock(&self.rate).tat.len();
        let idem = lock(&self.idem);
        MemoryUsage {
            rate_keys,
            idempotency_entries: idem.entries.len(),
            idempotency_bytes: idem.bytes,
        }
    }

    fn check(&self, key: &str, interval: u64, window: u64) -> RateDecision {
        let now = self.now();
        let mut table = lock(&self.rate);
        if now.saturating_sub(table.last_sweep) >= SWEEP_EVERY_US {
            table.sweep(now);
        }
        let tat = table.tat.get(key).copied().unwrap_or(now).max(now);
        let new_tat = tat.saturating_add(interval);
        let horizon = now.saturating_add(window);
        if new_tat > horizon {
            return decision(false, 0, new_tat - horizon);
        }
        let remaining = (horizon - new_tat) / interval.max(1);
        table.put(key, new_tat, now, self.max_rate_keys);
        decision(true, remaining, 0)
    }

    fn charge(&self, key: &str, interval: u64, window: u64, units: u32) {
        let now = self.now();
        let mut table = lock(&self.rate);
        let tat = table.tat.get(key).copied().unwrap_or(now).max(now);
        let new_tat = tat
            .saturating_add(interval.saturating_mul(u64::from(units)))
            .min(now.saturating_add(window));
        table.put(key, new_tat, now, self.max_rate_keys);
    }

    fn begin(&self, key: &str, hash: &str, ttl: Duration) -> Result<Begin, LimitError> {
        let now = self.now();
        let mut table = lock(&self.idem);
        table.sweep_if_due(now);
        if let Some(entry) = table.entries.get(key).filter(|e| e.expires > now) {
            return Ok(begin_with(&entry.hash, entry.response.as_ref(), hash));
        }
        table.remove(key);
        let entry = IdemEntry {
            hash: hash.to_owned(),
            response: None,
            expires: now.saturating_add(ttl_micros(ttl)),
            bytes: ENTRY_OVERHEAD + key.len() + hash.len(),
        };
        table.insert(key, entry, now, self.max_idem_entries, self.max_idem_bytes)?;
        Ok(Begin::Fresh)
    }

    fn complete(
        &self,
        key: &str,
        hash: &str,
        response: &StoredResponse,
        ttl: Duration,
    ) -> Result<(), LimitError> {
        let now = self.now();
        let mut table = lock(&self.idem);
        table.sweep_if_due(now);
        match table.entries.get(key).filter(|e| e.expires > now) {
            Some(e) if e.hash == hash && e.response.is_none() => {}
            Some(_) => {
                tracing::debug!("idempotency key taken by another request; response not stored");
                return Ok(());
            }
            None => {}
        }
        // Our reservation (or an expired entry) goes; the answer takes its place.
        table.remove(key);
        let entry = IdemEntry {
            hash: hash.to_owned(),
            bytes: ENTRY_OVERHEAD
                + key.len()
                + hash.len()
                + response.content_type.len()
                + response.body.len(),
            response: Some(response.clone()),
            expires: now.saturating_add(ttl_micros(ttl)),
        };
        table.insert(key, entry, now, self.max_idem_entries, self.max_idem_bytes)
    }

    fn abandon(&self, key: &str) {
        let mut table = lock(&self.idem);
        if table.entries.get(key).is_some_and(|e| e.response.is_none()) {
            table.remove(key);
        }
    }
}

impl RateTable {
    /// Set `key`'s arrival time, making room for a new key if needed.
    fn put(&mut self, key: &str, tat: u64, now: u64, cap: usize) {
        if let Some(slot) = self.tat.get_mut(key) {
            *slot = tat;
        } else {
            self.make_room(now, cap);
            self.tat.insert(key.to_owned(), tat);
        }
    }

    fn sweep(&mut self, now: u64) {
        self.tat.retain(|_, tat| *tat > now);
        self.last_sweep = now;
    }

    /// Ensures there is room for one more key.
    fn make_room(&mut self, now: u64, cap: usize) {
        if self.tat.len() < cap {
            return;
        }
        self.sweep(now);
        if self.tat.len() < cap {
            return;
        }
        // Still full of live keys: forget the eighth with the earliest
        // arrival times, i.e. those with the most tokens left.
        let mut times: Vec<u64> = self.tat.values().copied().collect();
        let nth = (cap / 8).max(1).min(times.len()).saturating_sub(1);
        if times.is_empty() {
            return;
        }
        let (_, threshold, _) = times.select_nth_unstable(nth);
        let threshold = *threshold;
        self.tat.retain(|_, tat| *tat > threshold);
    }
}

impl IdemTable {
    fn sweep_if_due(&mut self, now: u64) {
        if now.saturating_sub(self.last_sweep) >= SWEEP_EVERY_US {
            self.sweep(now);
        }
    }

    fn sweep(&mut self, now: u64) {
        let mut freed = 0;
        self.entries.retain(|_, e| {
            let keep = e.expires > now;
            if !keep {
                freed += e.bytes;
            }
            keep
        });
        self.bytes = self.bytes.saturating_sub(freed);
        self.last_sweep = now;
    }

    fn remove(&mut self, key: &str) {
        if let Some(e) = self.entries.remove(key) {
            self.bytes = self.bytes.saturating_sub(e.bytes);
        }
    }

    fn insert(
        &mut self,
        key: &str,
        entry: IdemEntry,
        now: u64,
        max_entries: usize,
        max_bytes: usize,
    ) -> Result<(), LimitError> {
        let need = entry.bytes;
        if need > max_bytes {
            return Err(LimitError::Unavailable(
                "response too large for the in-process idempotency store".to_owned(),
            ));
        }
        let full =
            |t: &Self| t.entries.len() >= max_entries || t.bytes.saturating_add(need) > max_bytes;
        if full(self) {
            self.sweep(now);
        }
        if full(self) {
            // Evict completed records, soonest-expiring first, plus some slack
            // so that a full table is not re-sorted on every insert.
            let mut done: Vec<(u64, String)> = self
                .entries
                .iter()
                .filter(|(_, e)| e.response.is_some())
                .map(|(k, e)| (e.expires, k.clone()))
                .collect();
            done.sort_unstable();
            let slack = max_entries / 16;
            for (evicted, (_, k)) in done.into_iter().enumerate() {
                if evicted >= slack && !full(self) {
                    break;
                }
                self.remove(&k);
            }
        }
        if full(self) {
            return Err(LimitError::Unavailable(
                "in-process idempotency store is full".to_owned(),
            ));
        }
        self.bytes = self.bytes.saturating_add(need);
        self.entries.insert(key.to_owned(), entry);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let response = StoredResponse {
            status: 201,
            content_type: "application/json".to_owned(),
            body: vec![0, 255, b'{', b'}'],
        };
        let bytes = encode_done("h", &response).unwrap_or_default();
        assert_eq!(
            decode_record(&bytes),
            Some(Record::Done {
                hash: "h".to_owned(),
                response
            })
        );
        assert_eq!(
            decode_record(&encode_in_flight("abc")),
            Some(Record::InFlight {
                hash: "abc".to_owned()
            })
        );
        for bad in [&b""[..], b"X", b"D", b"D\0\0\0\x09ab", b"D\0\0\0\0\x01"] {
            assert_eq!(decode_record(bad), None);
        }
    }

    #[test]
    fn gcra_window_is_exactly_the_burst() {
        for limit in [1, 7, 60, 1000, 7_000_000, u32::MAX] {
            let (interval, window) = gcra_params(limit);
            assert!(interval >= 1);
            assert_eq!(window, interval * u64::from(limit));
            assert!(window >= WINDOW_US);
        }
    }

    #[test]
    fn long_and_hash_like_keys_are_hashed() {
        assert_eq!(bounded("ip:1.2.3.4"), "ip:1.2.3.4");
        let long = "x".repeat(MAX_KEY_LEN + 1);
        assert!(bounded(&long).starts_with("#sha256:"));
        assert_ne!(bounded("#a"), "#a");
        assert_eq!(bounded("#a"), bounded("#a"));
    }
}
