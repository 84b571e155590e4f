//! Following another service's event feed (ADR 0022).
//!
//! A [`Consumer`] reads a feed (`WatchEvents(after)`, delivered at least
//! once) from an [`EventSource`] — over gRPC ([`GrpcSource`], as the
//! service's own identity) or in-process ([`FeedSource`], for tests) — and
//! hands each event to a handler in feed order:
//!
//! * a [`Handler`] applies it inside a write transaction of the consuming
//!   service's store, and the feed's cursor (`consumer_cursors`) advances in
//!   the *same* transaction: the effect happens exactly once locally however
//!   often the event is delivered (the cursor is read again inside the
//!   transaction, which holds the store's writer lock, so two replicas
//!   following the same feed do not both apply an event). The events the
//!   stream has ready are applied in batches of up to
//!   [`ConsumerOptions::batch_max`] per transaction; a batch with a failing
//!   event is rolled back and its events applied one by one;
//! * a [`MemoryHandler`] applies it to an in-memory read model; the cursor
//!   is kept in memory, and after a restart the model is rebuilt from the
//!   start of the feed (or from [`MemoryHandler::start_after`], the cursor of
//!   a snapshot the handler loaded itself).
//!
//! After a restart a durable consumer resumes after its stored cursor. When
//! the source is down or its stream ends (`UNAVAILABLE` when the source shuts
//! down) it reconnects after a capped exponential backoff with jitter, until
//! [`ConsumerHandle::stop`]. A handler error that a retry may outlive (a
//! store fault, `UNAVAILABLE`, `ABORTED`, …) is retried without limit; any
//! other error is a poison event: retried [`ConsumerOptions::max_attempts`]
//! times in all, then recorded in `consumer_dead_letters` (ids, type and the
//! error; never the payload) with the cursor moved past it, and counted in
//! the [`ConsumerStatus`]. Logs name the feed, the event's seq and type, never
//! its payload.

use crate::auth::{AuthContext, ContextSigner};
use crate::client::{CONNECT_TIMEOUT, ServiceClient, Stub};
use crate::db::Store;
use crate::error::{ErrorCode, KitError, Reason, ServiceError};
use crate::outbox::EventFeed;
use crate::tls::Tls;
use crate::tx::WriteTx;
use futures::{Stream, StreamExt};
use samling_proto::common::v1::{Event, WatchEventsRequest};
use sqlx::Row;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tonic::Status;

/// Events of a feed, in order, as a source delivers them.
pub type EventStream = Pin<Box<dyn Stream<Item = Result<Event, Status>> + Send + 'static>>;

/// Where a feed is read from. `open` answers the events after
/// `request.after`, in order, then new ones as they come; an error (or the
/// stream's end) makes the consumer reconnect after a backoff.
pub trait EventSource: Send + Sync + 'static {
    fn open(
        &self,
        request: WatchEventsRequest,
    ) -> impl Future<Output = Result<EventStream, Status>> + Send;
}

/// A feed of this process: the [`EventFeed`] of a store (tests, or a
/// service following itself).
#[derive(Clone, Debug)]
pub struct FeedSource(pub EventFeed);

impl EventSource for FeedSource {
    async fn open(&self, request: WatchEventsRequest) -> Result<EventStream, Status> {
        Ok(Box::pin(self.0.watch(request)))
    }
}

/// What `WatchEvents` answers on a generated client.
pub type WatchFuture = Pin<
    Box<
        dyn Future<Output = Result<tonic::Response<tonic::Streaming<Event>>, Status>>
            + Send
            + 'static,
    >,
>;

/// Calls `WatchEvents` on a generated client `C`; made by
/// [`watch_fn!`](crate::watch_fn).
pub type WatchFn<C> = fn(C, tonic::Request<WatchEventsRequest>) -> WatchFuture;

/// The [`WatchFn`] of a tonic-generated client type whose service serves
/// `WatchEvents`: `samling_kit::watch_fn!(RegistryServiceClient)`.
#[macro_export]
macro_rules! watch_fn {
    ($($client:ident)::+) => {{
        fn watch(
            mut client: $($client)::+<$crate::consumer::__private::Channel>,
            request: $crate::consumer::__private::Request<
                $crate::consumer::__private::WatchEventsRequest,
            >,
        ) -> $crate::consumer::WatchFuture {
            Box::pin(async move { client.watch_events(request).await })
        }
        watch as $crate::consumer::WatchFn<$($client)::+<$crate::consumer::__private::Channel>>
    }};
}

#[doc(hidden)]
pub mod __private {
    pub use samling_proto::common::v1::WatchEventsRequest;
    pub use tonic::Request;
    pub use tonic::transport::Channel;
}

/// Another service's feed over gRPC, read as the caller of the
/// [`ServiceClient`] (the consuming service's own identity, a signed
/// `Role::Service` context: the feed is refused to other roles).
pub struct GrpcSource<C> {
    client: ServiceClient<C>,
    watch: WatchFn<C>,
}

impl<C: Clone + Send + Sync + 'static> GrpcSource<C> {
    /// Follow with a client already made.
    pub fn new(client: ServiceClient<C>, watch: WatchFn<C>) -> Self {
        GrpcSource { client, watch }
    }

    /// Follow `endpoint` over a channel that connects at the first call and
    /// reconnects as needed (the service may be down when the consumer
    /// starts), with HTTP/2 keepalive so a dead peer of an idle stream is
    /// noticed, acting as `identity`.
    pub fn lazy(
        stub: Stub<C>,
        endpoint: &str,
        tls: Option<&Tls>,
        signer: ContextSigner,
        identity: AuthContext,
        watch: WatchFn<C>,
    ) -> Result<Self, KitError> {
        let ep = crate::tls::endpoint(endpoint, tls)?
            .connect_timeout(CONNECT_TIMEOUT)
            .tcp_nodelay(true)
            .http2_keep_alive_interval(Duration::from_secs(30))
            .keep_alive_timeout(Duration::from_secs(10))
            .keep_alive_while_idle(true);
        let channel = crate::tls::connect_lazy(&ep, tls);
        Ok(Self::new(
            ServiceClient::from_channel(stub, channel, signer, identity),
            watch,
        ))
    }
}

impl<C: Clone + Send + Sync + 'static> GrpcSource<C> {
    /// Follow service `of` of `region`, reached as configured (its endpoint
    /// in `[regions.<region>]` or the region's port, the mesh's TLS, the
    /// context key), lazily, acting as service `me` of that region: what
    /// every service that follows another's feed starts with.
    pub fn configured(
        stub: Stub<C>,
        watch: WatchFn<C>,
        cfg: &crate::config::Config,
        regions: &crate::reference::RegionMap,
        of: &str,
        me: &str,
        region: &str,
    ) -> Result<Self, KitError> {
        let endpoint = crate::module::endpoint_of(cfg, regions, of, region)?;
        let tls = Tls::from_config(&cfg.tls)?;
        let signer = ContextSigner::load(&cfg.context_key_file())?;
        let identity = AuthContext::new(me, crate::auth::Role::Service).with_region(region);
        Self::lazy(stub, &endpoint, tls.as_ref(), signer, identity, watch)
    }
}

impl<C: Clone + Send + Sync + 'static> EventSource for GrpcSource<C> {
    async fn open(&self, request: WatchEventsRequest) -> Result<EventStream, Status> {
        let mut client = self.client.clone();
        // The deadline bounds the call's start (its answer headers), not the
        // stream that follows.
        let request = client.request(request);
        let raw = client.raw().clone();
        let answer = (self.watch)(raw, request).await?;
        Ok(Box::pin(answer.into_inner()))
    }
}

/// Applies an event to the consuming service's store: `apply` writes
/// through `tx`, and the consumer advances the cursor in the same
/// transaction and commits. An error rolls both back. Several events may
/// share a transaction (a batch); when one of them fails the batch is rolled
/// back and its events applied again one by one, so `apply` may run more
/// than once for an event: only its writes through `tx` may have effects.
pub trait Handler: Send + Sync + 'static {
    fn apply(
        &self,
        tx: &mut WriteTx,
        event: &Event,
    ) -> impl Future<Output = Result<(), KitError>> + Send;

    /// After a commit: the keys the transaction touched
    /// ([`WriteTx::touch`]), for caches to drop.
    fn committed(&self, _touched: &[String]) {}
}

impl<H: Handler> Handler for Arc<H> {
    fn apply(
        &self,
        tx: &mut WriteTx,
        event: &Event,
    ) -> impl Future<Output = Result<(), KitError>> + Send {
        (**self).apply(tx, event)
    }
    fn committed(&self, touched: &[String]) {
        (**self).committed(touched)
    }
}

/// Applies an event to an in-memory read model. `apply_in_memory` either
/// applies the whole event or, returning an error, nothing of it. It may
/// read what the event names from its source first (an event carries ids
/// and versions, not records); an error a retry may outlive (`UNAVAILABLE`,
/// …) is retried without limit, as for a [`Handler`].
pub trait MemoryHandler: Send + Sync + 'static {
    fn apply_in_memory(&self, event: &Event) -> impl Future<Output = Result<(), KitError>> + Send;

    /// Where the model starts: 0 (the whole feed, the default), or the
    /// cursor of a snapshot the handler loaded before the consumer started.
    fn start_after(&self) -> u64 {
        0
    }
}

impl<H: MemoryHandler> MemoryHandler for Arc<H> {
    fn apply_in_memory(&self, event: &Event) -> impl Future<Output = Result<(), KitError>> + Send {
        (**self).apply_in_memory(event)
    }
    fn start_after(&self) -> u64 {
        (**self).start_after()
    }
}

/// How a consumer reads and retries.
#[derive(Clone, Debug)]
pub struct ConsumerOptions {
    /// Only these event types (all when empty).
    pub event_types: Vec<String>,
    /// The first wait before a reconnect or a retry.
    pub backoff_initial: Duration,
    /// The longest wait (the backoff doubles up to here).
    pub backoff_max: Duration,
    /// Attempts of an event whose handler fails with a non-retryable error,
    /// before it is dead-lettered.
    pub max_attempts: u32,
    /// Events applied in one transaction at most (those the stream has
    /// ready; a batch with a failing event is applied again one by one).
    pub batch_max: usize,
}

impl ConsumerOptions {
    /// The default options, reading only `event_types`.
    pub fn for_types(event_types: &[&str]) -> Self {
        ConsumerOptions {
            event_types: event_types.iter().map(|t| t.to_string()).collect(),
            ..ConsumerOptions::default()
        }
    }
}

impl Default for ConsumerOptions {
    fn default() -> Self {
        ConsumerOptions {
            event_types: Vec::new(),
            backoff_initial: Duration::from_millis(200),
            backoff_max: Duration::from_secs(30),
            max_attempts: 5,
            batch_max: 100,
        }
    }
}

/// What a consumer is doing: for health and readiness, and for
/// `GetReadModelStatus`-like RPCs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConsumerStatus {
    pub feed: String,
    /// The last event applied (or dead-lettered): the stored cursor.
    pub cursor: u64,
    /// A stream from the source is open.
    pub connected: bool,
    /// Events applied since the consumer started.
    pub applied: u64,
    /// Events delivered again and ignored (already applied).
    pub duplicates: u64,
    /// Dead-lettered events of this feed (durable: all in the store).
    pub dead_letters: u64,
    /// The seq of the last event dead-lettered by this run.
    pub last_dead_letter: Option<u64>,
    /// The seq of an event being retried now.
    pub retrying: Option<u64>,
    /// When the last applied event occurred at its source (RFC 3339).
    pub last_event_at: Option<String>,
    /// When it was applied here (RFC 3339).
    pub last_applied_at: Option<String>,
    /// From the last applied event's occurrence to its application here.
    pub lag: Option<Duration>,
    /// The last failure (reason and message), cleared when connected again
    /// and an event is applied.
    pub last_error: Option<String>,
    /// Streams lost or refused since the start.
    pub reconnects: u64,
    /// The consumer has stopped (shutdown).
    pub stopped: bool,
}

impl ConsumerStatus {
    /// Ready for traffic that depends on the feed: connected and not stuck
    /// on an event.
    pub fn ready(&self) -> bool {
        self.connected && self.retrying.is_none() && !self.stopped
    }
}

/// Stops a consumer from anywhere, synchronously (a module's
/// [`crate::module::Instance::on_stop`]); cloneable.
#[derive(Clone, Debug)]
pub struct Stopper(Arc<watch::Sender<bool>>);

impl Stopper {
    /// Ask the consumer to stop (it finishes the event it is applying).
    pub fn stop(&self) {
        self.0.send_replace(true);
    }
}

/// A running consumer; stopped when dropped.
pub struct ConsumerHandle {
    stop: Arc<watch::Sender<bool>>,
    status: watch::Receiver<ConsumerStatus>,
    task: Option<JoinHandle<()>>,
}

impl ConsumerHandle {
    pub fn status(&self) -> ConsumerStatus {
        self.status.borrow().clone()
    }

    /// A handle that stops the consumer without owning it.
    pub fn stopper(&self) -> Stopper {
        Stopper(self.stop.clone())
    }

    /// Changes of the status, to wait on.
    pub fn watch_status(&self) -> watch::Receiver<ConsumerStatus> {
        self.status.clone()
    }

    /// Wait until the status satisfies `until` (no deadline of its own).
    pub async fn wait_for(&self, until: impl FnMut(&ConsumerStatus) -> bool) -> ConsumerStatus {
        let mut rx = self.status.clone();
        let seen = rx.wait_for(until).await.map(|s| s.clone());
        seen.unwrap_or_else(|_| self.status())
    }

    /// Stop: an event being applied is finished (committed or rolled
    /// back), then the stream is dropped. Returns once the task has ended.
    pub async fn stop(mut self) {
        self.stop.send_replace(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// End the task at once, wherever it is, as a crash would (tests of
    /// restarts): an open transaction is rolled back, never half applied.
    pub async fn abort(mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }
}

impl Drop for ConsumerHandle {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}

/// A consumer of one named feed (`"stockholm/registry"`): its cursor is
/// stored under that name, independently of other feeds.
pub struct Consumer<S> {
    feed: String,
    source: S,
    options: ConsumerOptions,
}

impl<S: EventSource> Consumer<S> {
    pub fn new(feed: impl Into<String>, source: S) -> Self {
        Consumer {
            feed: feed.into(),
            source,
            options: ConsumerOptions::default(),
        }
    }

    pub fn with_options(mut self, options: ConsumerOptions) -> Self {
        self.options = options;
        self
    }

    fn check(&self) -> Result<(), KitError> {
        let f = &self.feed;
        if f.is_empty() || f.len() > 200 || f.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(KitError::invalid(
                "feed",
                "must be 1 to 200 characters without spaces, e.g. \"stockholm/registry\"",
            ));
        }
        if self.options.max_attempts == 0 {
            return Err(KitError::invalid("max_attempts", "must be at least 1"));
        }
        if self.options.batch_max == 0 {
            return Err(KitError::invalid("batch_max", "must be at least 1"));
        }
        if self.options.backoff_initial.is_zero()
            || self.options.backoff_max < self.options.backoff_initial
        {
            return Err(KitError::invalid(
                "backoff_initial",
                "must be above zero and at most backoff_max",
            ));
        }
        Ok(())
    }

    /// Follow the feed into `store` through `handler`; `events` is the
    /// consuming service's own feed, woken when the handler wrote events.
    pub fn spawn_durable<H: Handler>(
        self,
        store: Store,
        events: EventFeed,
        handler: H,
    ) -> Result<ConsumerHandle, KitError> {
        self.check()?;
        let sink = Durable {
            store,
            events,
            handler,
        };
        Ok(self.spawn(sink))
    }

    /// Follow the feed into an in-memory read model (rebuilt from
    /// [`MemoryHandler::start_after`] at every start).
    pub fn spawn_in_memory<H: MemoryHandler>(self, handler: H) -> Result<ConsumerHandle, KitError> {
        self.check()?;
        let sink = Memory {
            cursor: handler.start_after(),
            handler,
        };
        Ok(self.spawn(sink))
    }

    fn spawn<A: Sink>(self, sink: A) -> ConsumerHandle {
        let (stop, stopped) = watch::channel(false);
        let (status_tx, status) = watch::channel(ConsumerStatus {
            feed: self.feed.clone(),
            ..ConsumerStatus::default()
        });
        let task = tokio::spawn(
            Run {
                feed: self.feed,
                source: self.source,
                options: self.options,
                status: status_tx,
                stop: stopped,
            }
            .run(sink),
        );
        ConsumerHandle {
            stop: Arc::new(stop),
            status,
            task: Some(task),
        }
    }
}

/// Where events go: a store with its cursor, or memory.
trait Sink: Send + 'static {
    /// The cursor to resume after, and the dead letters so far.
    fn resume(&mut self, feed: &str) -> impl Future<Output = Result<(u64, u64), KitError>> + Send;
    /// Apply the event and advance the cursor, atomically; `false` when it
    /// was applied already.
    fn apply(
        &mut self,
        feed: &str,
        event: &Event,
    ) -> impl Future<Output = Result<bool, KitError>> + Send;
    /// Apply several events and advance the cursor to the last: `(applied,
    /// already applied)`. On an error, how many of them stay applied (0 for
    /// a store: all rolled back) and the error.
    fn apply_batch(
        &mut self,
        feed: &str,
        events: &[Event],
    ) -> impl Future<Output = Result<(u64, u64), (usize, KitError)>> + Send;
    /// Record a poison event and move the cursor past it.
    fn dead_letter(
        &mut self,
        feed: &str,
        event: &Event,
        attempts: u32,
        error: &KitError,
    ) -> impl Future<Output = Result<(), KitError>> + Send;
}

struct Durable<H> {
    store: Store,
    events: EventFeed,
    handler: H,
}

/// The stored cursor of `feed` (0 when it has none), read in `tx` (which
/// holds the writer lock) so concurrent consumers of the feed serialise.
async fn cursor_in(tx: &mut WriteTx, feed: &str) -> Result<u64, KitError> {
    let row = sqlx::query("SELECT after_seq FROM consumer_cursors WHERE feed = $1")
        .bind(feed)
        .fetch_optional(tx.conn())
        .await?;
    Ok(match row {
        Some(r) => r.try_get::<i64, _>(0)? as u64,
        None => 0,
    })
}

async fn advance(tx: &mut WriteTx, feed: &str, seq: u64) -> Result<(), KitError> {
    sqlx::query(
        "INSERT INTO consumer_cursors (feed, after_seq, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (feed) DO UPDATE SET after_seq = excluded.after_seq, updated_at = excluded.updated_at",
    )
    .bind(feed)
    .bind(seq as i64)
    .bind(crate::dates::now_text())
    .execute(tx.conn())
    .await?;
    Ok(())
}

impl<H: Handler> Sink for Durable<H> {
    async fn resume(&mut self, feed: &str) -> Result<(u64, u64), KitError> {
        let cursor: Option<i64> =
            sqlx::query_scalar("SELECT after_seq FROM consumer_cursors WHERE feed = $1")
                .bind(feed)
                .fetch_optional(&self.store.read)
                .await?;
        let dead: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM consumer_dead_letters WHERE feed = $1")
                .bind(feed)
                .fetch_one(&self.store.read)
                .await?;
        Ok((cursor.unwrap_or(0) as u64, dead as u64))
    }

    async fn apply(&mut self, feed: &str, event: &Event) -> Result<bool, KitError> {
        let mut tx = self.store.begin_write().await?;
        if event.seq <= cursor_in(&mut tx, feed).await? {
            // Dropped: rolled back.
            return Ok(false);
        }
        self.handler.apply(&mut tx, event).await?;
        advance(&mut tx, feed, event.seq).await?;
        let touched = tx.commit(&self.events).await?;
        self.handler.committed(&touched);
        Ok(true)
    }

    async fn apply_batch(
        &mut self,
        feed: &str,
        events: &[Event],
    ) -> Result<(u64, u64), (usize, KitError)> {
        let attempt = async {
            let mut tx = self.store.begin_write().await?;
            let mut last = cursor_in(&mut tx, feed).await?;
            let (mut applied, mut duplicates) = (0, 0);
            for e in events {
                if e.seq <= last {
                    duplicates += 1;
                    continue;
                }
                self.handler.apply(&mut tx, e).await?;
                applied += 1;
                last = e.seq;
            }
            if applied > 0 {
                advance(&mut tx, feed, last).await?;
                let touched = tx.commit(&self.events).await?;
                self.handler.committed(&touched);
            }
            Ok::<_, KitError>((applied, duplicates))
        };
        attempt.await.map_err(|e| (0, e))
    }

    async fn dead_letter(
        &mut self,
        feed: &str,
        event: &Event,
        attempts: u32,
        error: &KitError,
    ) -> Result<(), KitError> {
        let mut tx = self.store.begin_write().await?;
        if event.seq <= cursor_in(&mut tx, feed).await? {
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO consumer_dead_letters (feed, seq, event_id, event_type, aggregate_type, \
             aggregate_id, occurred_at, attempts, reason, error, dead_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (feed, seq) DO NOTHING",
        )
        .bind(feed)
        .bind(event.seq as i64)
        .bind(&event.id)
        .bind(&event.event_type)
        .bind(&event.aggregate_type)
        .bind(&event.aggregate_id)
        .bind(&event.occurred_at)
        .bind(attempts as i64)
        .bind(error.reason().as_str())
        .bind(describe_error(error))
        .bind(crate::dates::now_text())
        .execute(tx.conn())
        .await?;
        advance(&mut tx, feed, event.seq).await?;
        tx.commit(&self.events).await?;
        Ok(())
    }
}

struct Memory<H> {
    handler: H,
    cursor: u64,
}

impl<H: MemoryHandler> Sink for Memory<H> {
    async fn resume(&mut self, _feed: &str) -> Result<(u64, u64), KitError> {
        Ok((self.cursor, 0))
    }

    async fn apply(&mut self, _feed: &str, event: &Event) -> Result<bool, KitError> {
        if event.seq <= self.cursor {
            return Ok(false);
        }
        self.handler.apply_in_memory(event).await?;
        self.cursor = event.seq;
        Ok(true)
    }

    async fn apply_batch(
        &mut self,
        feed: &str,
        events: &[Event],
    ) -> Result<(u64, u64), (usize, KitError)> {
        let (mut applied, mut duplicates) = (0, 0);
        for (i, e) in events.iter().enumerate() {
            match self.apply(feed, e).await {
                Ok(true) => applied += 1,
                Ok(false) => duplicates += 1,
                Err(error) => return Err((i, error)),
            }
        }
        Ok((applied, duplicates))
    }

    async fn dead_letter(
        &mut self,
        _feed: &str,
        event: &Event,
        _attempts: u32,
        _error: &KitError,
    ) -> Result<(), KitError> {
        self.cursor = self.cursor.max(event.seq);
        Ok(())
    }
}

/// A handler's error that a later attempt may outlive: the store or a
/// service it called is unavailable, a conflict, a limit.
fn retryable(e: &KitError) -> bool {
    matches!(
        e.code(),
        ErrorCode::Unavailable | ErrorCode::Aborted | ErrorCode::ResourceExhausted
    )
}

/// An error as kept in status and dead letters: its reason and message,
/// cut to 300 characters (messages name fields and ids, never values).
fn describe_error(e: &KitError) -> String {
    cut(format!("{}: {e}", e.reason()))
}

fn describe_status(s: &Status) -> String {
    cut(format!("{}: {}", Reason::of_status(s), s.message()))
}

fn cut(mut s: String) -> String {
    if s.len() > 300 {
        let mut end = 300;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

/// The wait before attempt `n` (1, 2, …) after a failure: doubling from
/// `initial` up to `max`, half of it fixed and half random ("equal jitter":
/// replicas restarting together do not reconnect in step).
pub fn backoff(options: &ConsumerOptions, n: u32) -> Duration {
    let factor = 1u32 << n.saturating_sub(1).min(20);
    let full = options
        .backoff_initial
        .saturating_mul(factor)
        .min(options.backoff_max);
    let half = full / 2;
    let nanos = half.as_nanos() as u64;
    let jitter = if nanos == 0 {
        0
    } else {
        getrandom::u64().unwrap_or(0) % (nanos + 1)
    };
    half + Duration::from_nanos(jitter)
}

/// Resolves when the stop signal is (or has been) given, or its sender is gone.
async fn stop_signal(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

enum Delivered {
    Applied,
    Duplicate,
    Dead,
}

struct Run<S> {
    feed: String,
    source: S,
    options: ConsumerOptions,
    status: watch::Sender<ConsumerStatus>,
    stop: watch::Receiver<bool>,
}

impl<S: EventSource> Run<S> {
    /// Sleep `d`; false when stopped meanwhile.
    async fn sleep(&mut self, d: Duration) -> bool {
        let stopped = tokio::select! {
            _ = tokio::time::sleep(d) => false,
            _ = stop_signal(&mut self.stop) => true,
        };
        !stopped && !self.stopping()
    }

    fn stopping(&self) -> bool {
        *self.stop.borrow()
    }

    fn note_error(&self, error: String) {
        self.status.send_modify(|s| s.last_error = Some(error));
    }

    async fn run<A: Sink>(mut self, mut sink: A) {
        let feed = self.feed.clone();
        let mut failures = 0u32;
        let mut cursor = loop {
            match sink.resume(&feed).await {
                Ok((cursor, dead)) => {
                    self.status.send_modify(|s| {
                        s.cursor = cursor;
                        s.dead_letters = dead;
                    });
                    break cursor;
                }
                Err(e) => {
                    tracing::warn!(feed = %feed, error = %describe_error(&e), "consumer cannot read its cursor");
                    self.note_error(describe_error(&e));
                    failures += 1;
                    if !self.sleep(backoff(&self.options, failures)).await {
                        return self.finish();
                    }
                }
            }
        };
        failures = 0;
        'connect: while !self.stopping() {
            let request = WatchEventsRequest {
                after: cursor,
                event_types: self.options.event_types.clone(),
                stop_at_end: false,
            };
            let opened = tokio::select! {
                r = self.source.open(request) => r,
                _ = stop_signal(&mut self.stop) => break 'connect,
            };
            let stream = match opened {
                Ok(s) => s,
                Err(status) => {
                    let error = describe_status(&status);
                    tracing::warn!(feed = %feed, after = cursor, error = %error, "consumer cannot open the feed");
                    self.status.send_modify(|s| {
                        s.connected = false;
                        s.reconnects += 1;
                        s.last_error = Some(error);
                    });
                    failures += 1;
                    if !self.sleep(backoff(&self.options, failures)).await {
                        break 'connect;
                    }
                    continue 'connect;
                }
            };
            tracing::info!(feed = %feed, after = cursor, "consumer following the feed");
            self.status.send_modify(|s| s.connected = true);
            let opened_at = Instant::now();
            let mut progressed = false;
            // Whatever the stream has ready, up to a batch: one transaction.
            let mut chunks = stream.ready_chunks(self.options.batch_max);
            let ended = loop {
                let next = tokio::select! {
                    n = chunks.next() => n,
                    _ = stop_signal(&mut self.stop) => break 'connect,
                };
                let Some(chunk) = next else {
                    break "UNAVAILABLE: the feed ended".to_string();
                };
                let mut events = Vec::with_capacity(chunk.len());
                let mut failed = None;
                for item in chunk {
                    match item {
                        Ok(e) => events.push(e),
                        Err(status) => {
                            failed = Some(describe_status(&status));
                            break;
                        }
                    }
                }
                let before = cursor;
                if !self.deliver_batch(&mut sink, events, &mut cursor).await {
                    break 'connect;
                }
                progressed |= cursor > before;
                if let Some(error) = failed {
                    break error;
                }
            };
            drop(chunks);
            tracing::warn!(feed = %feed, after = cursor, error = %ended, "consumer lost the feed; reconnecting");
            self.status.send_modify(|s| {
                s.connected = false;
                s.reconnects += 1;
                s.last_error = Some(ended);
            });
            if progressed || opened_at.elapsed() >= self.options.backoff_max {
                failures = 0;
            }
            failures += 1;
            if !self.sleep(backoff(&self.options, failures)).await {
                break 'connect;
            }
        }
        self.finish()
    }

    /// The events of one batch (in order, after `cursor`): in one
    /// transaction when they all apply, else one by one ([`Run::deliver`]).
    /// False when stopped.
    async fn deliver_batch<A: Sink>(
        &mut self,
        sink: &mut A,
        mut events: Vec<Event>,
        cursor: &mut u64,
    ) -> bool {
        let before = events.len();
        events.retain(|e| e.seq > *cursor);
        let stale = (before - events.len()) as u64;
        if stale > 0 {
            self.status.send_modify(|s| s.duplicates += stale);
        }
        if events.len() > 1 {
            match sink.apply_batch(&self.feed, &events).await {
                Ok((applied, duplicates)) => {
                    let last = &events[events.len() - 1];
                    *cursor = last.seq;
                    self.note(last, applied, duplicates);
                    return true;
                }
                Err((done, error)) => {
                    tracing::debug!(feed = %self.feed, error = %describe_error(&error),
                        "consumer's batch failed; applying its events one by one");
                    if done > 0 {
                        *cursor = events[done - 1].seq;
                        self.note(&events[done - 1], done as u64, 0);
                    }
                    events.drain(..done);
                }
            }
        }
        for event in &events {
            let Some(outcome) = self.deliver(sink, event).await else {
                return false;
            };
            *cursor = event.seq;
            match outcome {
                Delivered::Applied => self.note(event, 1, 0),
                Delivered::Duplicate => self.note(event, 0, 1),
                Delivered::Dead => self.status.send_modify(|s| {
                    s.cursor = event.seq;
                    s.retrying = None;
                    s.dead_letters += 1;
                    s.last_dead_letter = Some(event.seq);
                }),
            }
        }
        true
    }

    /// Status after `applied` events (and `duplicates` skipped) up to `last`.
    fn note(&self, last: &Event, applied: u64, duplicates: u64) {
        let now = crate::dates::now();
        self.status.send_modify(|s| {
            s.cursor = last.seq;
            s.retrying = None;
            s.duplicates += duplicates;
            if applied > 0 {
                s.applied += applied;
                s.last_error = None;
                s.last_event_at = Some(last.occurred_at.clone());
                s.last_applied_at = Some(crate::dates::instant_text(now));
                s.lag = chrono::DateTime::parse_from_rfc3339(&last.occurred_at)
                    .ok()
                    .and_then(|at| (now - at.to_utc()).to_std().ok())
                    .or(Some(Duration::ZERO));
            }
        });
    }

    fn finish(&self) {
        tracing::info!(feed = %self.feed, "consumer stopped");
        self.status.send_modify(|s| {
            s.connected = false;
            s.stopped = true;
        });
    }

    /// Apply one event, retrying as the error allows; `None` when stopped
    /// while retrying.
    async fn deliver<A: Sink>(&mut self, sink: &mut A, event: &Event) -> Option<Delivered> {
        let feed = self.feed.clone();
        let (mut attempts, mut transient) = (0u32, 0u32);
        loop {
            let error = match sink.apply(&feed, event).await {
                Ok(true) => return Some(Delivered::Applied),
                Ok(false) => return Some(Delivered::Duplicate),
                Err(e) => e,
            };
            let described = describe_error(&error);
            self.status.send_modify(|s| {
                s.retrying = Some(event.seq);
                s.last_error = Some(described.clone());
            });
            let wait = if retryable(&error) {
                transient += 1;
                tracing::warn!(feed = %feed, seq = event.seq, event_type = %event.event_type,
                    error = %described, "consumer will retry the event");
                backoff(&self.options, transient)
            } else {
                attempts += 1;
                if attempts >= self.options.max_attempts {
                    match sink.dead_letter(&feed, event, attempts, &error).await {
                        Ok(()) => {
                            tracing::error!(feed = %feed, seq = event.seq, event_type = %event.event_type,
                                attempts, error = %described, "consumer dead-lettered the event");
                            return Some(Delivered::Dead);
                        }
                        Err(e) => {
                            tracing::warn!(feed = %feed, seq = event.seq, error = %describe_error(&e),
                                "consumer cannot dead-letter the event");
                            transient += 1;
                            backoff(&self.options, transient)
                        }
                    }
                } else {
                    tracing::warn!(feed = %feed, seq = event.seq, event_type = %event.event_type,
                        attempts, error = %described, "consumer's handler refused the event");
                    backoff(&self.options, attempts)
                }
            };
            if !self.sleep(wait).await {
                return None;
            }
        }
    }
}
