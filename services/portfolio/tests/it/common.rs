//! The portfolio test harness: a fresh store on every backend of the test
//! kit (SQLite always, PostgreSQL too when `SAMLING_TEST_DATABASE_URL` is
//! set), the service on the production server builder on a free local port,
//! a settable clock, the registry's feed (an in-process source standing in
//! for its WatchEvents, fed the events the registry writes) followed by the
//! real consumer, a registry that answers what protected children's events
//! leave out, and typed clients acting as any caller.
#![allow(dead_code, unused_macros)]

use chrono::{DateTime, Utc};
use samling_kit::auth::{AuthContext, ContextSigner, Role};
use samling_kit::client::ServiceClient;
use samling_kit::consumer::{Consumer, ConsumerHandle, FeedSource};
use samling_kit::dates::Clock;
use samling_kit::db::Store;
use samling_kit::outbox::{EventFeed, NewEvent};
use samling_portfolio::Portfolios;
use samling_portfolio::service::lookup::{
    ChildFacts, LookupFuture, PlacementFacts, RegistryLookup,
};
use samling_proto::common::v1::Date;
use samling_proto::portfolio::v1::portfolio_service_client::PortfolioServiceClient;
use samling_testkit::Backend;
use samling_testkit::server::Served;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tonic::transport::Channel;

pub use samling_testkit::callers::*;

pub type Client = ServiceClient<PortfolioServiceClient<Channel>>;

/// Call one RPC with the client's signed context:
/// `rpc!(client, get_portfolio, GetPortfolioRequest { .. })`.
macro_rules! rpc {
    ($client:expr, $method:ident, $msg:expr) => {{
        let client = &mut $client;
        let request = client.request($msg);
        client
            .raw()
            .$method(request)
            .await
            .map(tonic::Response::into_inner)
    }};
}

/// 2026-12-01 09:00 UTC: the tests' "now".
pub fn start_time() -> DateTime<Utc> {
    "2026-12-01T09:00:00Z".parse().expect("an instant")
}

/// The registry as the service asks it (placements and children by id).
#[derive(Default)]
pub struct FakeRegistry {
    pub placements: Mutex<HashMap<String, PlacementFacts>>,
    pub children: Mutex<HashMap<String, ChildFacts>>,
    pub asked: Mutex<u32>,
}

/// The fake as the service holds it.
pub struct Shared(pub Arc<FakeRegistry>);

impl RegistryLookup for Shared {
    fn placement(&self, id: String) -> LookupFuture<Option<PlacementFacts>> {
        *self.0.asked.lock().unwrap() += 1;
        let p = self.0.placements.lock().unwrap().get(&id).cloned();
        Box::pin(async move { Ok(p) })
    }
    fn child(&self, id: String) -> LookupFuture<Option<ChildFacts>> {
        let c = self.0.children.lock().unwrap().get(&id).cloned();
        Box::pin(async move { Ok(c) })
    }
}

/// One running portfolio service on one backend.
pub struct Harness {
    pub backend: &'static str,
    pub service: Portfolios,
    pub clock: Clock,
    pub signer: ContextSigner,
    pub endpoint: String,
    pub registry: Arc<FakeRegistry>,
    registry_store: Store,
    registry_feed: EventFeed,
    consumer: Option<ConsumerHandle>,
    published: u64,
    ombud_store: Store,
    ombud_events: EventFeed,
    ombud_consumer: Option<ConsumerHandle>,
    ombud_published: u64,
    served: Arc<Served>,
    /// Kept for the harness's life: its temporary SQLite files live with it.
    _backend: Backend,
}

impl Harness {
    pub async fn start(backend_owned: Backend) -> Harness {
        let backend = &backend_owned;
        let (store, _) = backend
            .store("portfolio", None, &[samling_portfolio::MIGRATIONS])
            .await;
        let clock = Clock::fixed(start_time());
        let registry = Arc::new(FakeRegistry::default());
        let map = samling_kit::reference::RegionMap::default_map().clone();
        let service = Portfolios::new(store, 13, clock.clone())
            .for_region(map.parse_region(REGION).expect("known region"))
            .with_registry(Arc::new(Shared(registry.clone())));
        let signer = ContextSigner::generate().expect("signer");
        let served = Served::start(&[samling_portfolio::SERVICE_NAME], |router| {
            router.add_service(samling_portfolio::grpc::server(
                service.clone(),
                signer.verifier(),
            ))
        })
        .await;
        let (registry_store, _) = backend.store("registry", None, &[]).await;
        let registry_feed = EventFeed::new(registry_store.clone());
        let mut opts = samling_portfolio::registry_feed::options();
        opts.backoff_initial = std::time::Duration::from_millis(5);
        opts.max_attempts = 2;
        let consumer = Consumer::new(
            samling_portfolio::registry_feed::feed_name(REGION),
            FeedSource(registry_feed.clone()),
        )
        .with_options(opts)
        .spawn_durable(
            service.store.clone(),
            service.feed.clone(),
            samling_portfolio::registry_feed::RegistryFeed(service.clone()),
        )
        .expect("consumer");
        // The ombud service's feed (its assignments), followed the same way.
        let (ombud_store, _) = backend.store("ombud", None, &[]).await;
        let ombud_events = EventFeed::new(ombud_store.clone());
        let mut opts = samling_portfolio::ombud_feed::options();
        opts.backoff_initial = std::time::Duration::from_millis(5);
        opts.max_attempts = 2;
        let ombud_consumer = Consumer::new(
            samling_portfolio::ombud_feed::feed_name(REGION),
            FeedSource(ombud_events.clone()),
        )
        .with_options(opts)
        .spawn_durable(
            service.store.clone(),
            service.feed.clone(),
            samling_portfolio::ombud_feed::OmbudFeed(service.clone()),
        )
        .expect("ombud consumer");
        Harness {
            backend: backend.database(),
            service,
            clock,
            signer,
            endpoint: served.endpoint(),
            registry,
            registry_store,
            registry_feed,
            consumer: Some(consumer),
            published: 0,
            ombud_store,
            ombud_events,
            ombud_consumer: Some(ombud_consumer),
            ombud_published: 0,
            served: Arc::new(served),
            _backend: backend_owned,
        }
    }

    /// A client acting as `ctx`.
    pub async fn client(&self, ctx: AuthContext) -> Client {
        ServiceClient::connect(
            samling_portfolio::client::STUB,
            &self.endpoint,
            None,
            self.signer.clone(),
            ctx,
        )
        .await
        .unwrap_or_else(|e| panic!("[{}] connect: {e}", self.backend))
    }

    /// Write `events` to the registry's feed and wait until the consumer
    /// has applied (or dead-lettered) them; returns the dead letters so far.
    pub async fn publish(&mut self, events: Vec<NewEvent>) -> u64 {
        self.published += events.len() as u64;
        let handle = self.consumer.as_ref().unwrap();
        publish_to(
            self.backend,
            &self.registry_store,
            &self.registry_feed,
            handle,
            self.published,
            events,
        )
        .await
    }

    /// The same for the ombud service's feed.
    pub async fn publish_ombud(&mut self, events: Vec<NewEvent>) -> u64 {
        self.ombud_published += events.len() as u64;
        let handle = self.ombud_consumer.as_ref().unwrap();
        publish_to(
            self.backend,
            &self.ombud_store,
            &self.ombud_events,
            handle,
            self.ombud_published,
            events,
        )
        .await
    }

    pub async fn stop(mut self) {
        for c in [self.consumer.take(), self.ombud_consumer.take()]
            .into_iter()
            .flatten()
        {
            c.stop().await;
        }
    }
}

/// Write `events` to a source's feed and wait until `handle` has applied
/// (or dead-lettered) `n` in all; the dead letters so far.
async fn publish_to(
    backend: &str,
    store: &Store,
    feed: &EventFeed,
    handle: &ConsumerHandle,
    n: u64,
    events: Vec<NewEvent>,
) -> u64 {
    let mut tx = store.begin_write().await.unwrap();
    for e in events {
        tx.event(e).await.unwrap();
    }
    tx.commit(feed).await.unwrap();
    let status = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        handle.wait_for(|s| s.applied + s.dead_letters >= n),
    )
    .await
    .unwrap_or_else(|_| panic!("[{backend}] the consumer caught up: {:?}", handle.status()));
    status.dead_letters
}

/// A harness on every test backend (region Stockholm-Gotland).
pub async fn harnesses() -> Vec<Harness> {
    let mut out = Vec::new();
    for b in samling_testkit::backend::store_backends() {
        out.push(Harness::start(b).await);
    }
    out
}

pub fn date(y: i32, m: i32, d: i32) -> Option<Date> {
    Some(Date {
        year: y,
        month: m,
        day: d,
    })
}

pub fn new_id() -> String {
    samling_kit::ids::new_id_string()
}

/// The municipalities of the tests: Stockholm places; the first home is in
/// Norrtälje, the second in Uppsala.
pub const STOCKHOLM: &str = "0180";
pub const NORRTALJE: &str = "0188";
pub const SOLNA: &str = "0184";

/// `registry.placement_created` as the registry writes it (a protected
/// child's leaves out the home, the unit and the municipality).
pub fn created(placement: &str, child: &str, home: &str, start: &str, protected: bool) -> NewEvent {
    let mut v = serde_json::json!({"placement_id": placement, "child_id": child, "home_id": home,
        "unit_id": "", "legal_basis": "LEGAL_BASIS_SOL_11_1",
        "placing_municipality_code": STOCKHOLM, "start_date": start});
    if protected {
        let o = v.as_object_mut().unwrap();
        o.remove("home_id");
        o.remove("unit_id");
        o.remove("placing_municipality_code");
    }
    NewEvent::new("registry.placement_created", "placement", placement, v)
}

/// `ombud.child_assigned` as the ombud service writes it.
pub fn ombud_assigned(child: &str, subject: &str, placement: &str) -> NewEvent {
    NewEvent::new(
        "ombud.child_assigned",
        "assignment",
        child,
        serde_json::json!({"child_id": child, "ombud_subject": subject, "placement_id": placement}),
    )
}

/// `registry.placement_ended` as the registry writes it.
pub fn ended(placement: &str, child: &str, home: &str, end: &str, protected: bool) -> NewEvent {
    let mut v = serde_json::json!({"placement_id": placement, "child_id": child, "home_id": home,
        "unit_id": "", "end_reason": "END_REASON_PLANNED", "end_date": end});
    if protected {
        let o = v.as_object_mut().unwrap();
        o.remove("home_id");
        o.remove("unit_id");
    }
    NewEvent::new("registry.placement_ended", "placement", placement, v)
}

/// A child known to the registry: born `birth`, placed by Stockholm.
pub fn register_child(h: &Harness, child: &str, birth: &str, protected: bool) {
    h.registry.children.lock().unwrap().insert(
        child.to_string(),
        ChildFacts {
            birth_date: birth.to_string(),
            protected_identity: protected,
            placing_municipality_code: STOCKHOLM.to_string(),
        },
    );
}

/// A placement known to the registry (asked for protected children).
pub fn register_placement(h: &Harness, placement: &str, child: &str, home: &str, start: &str) {
    h.registry.placements.lock().unwrap().insert(
        placement.to_string(),
        PlacementFacts {
            child_id: child.to_string(),
            home_id: home.to_string(),
            placing_municipality_code: STOCKHOLM.to_string(),
            start_date: start.to_string(),
            end_date: String::new(),
        },
    );
}

pub fn guardian(child: &str) -> AuthContext {
    AuthContext::new("guardian-1", Role::Guardian).with_party(child)
}

pub fn health_staff(unit: &str) -> AuthContext {
    AuthContext::new("nurse-1", Role::HealthStaff).with_party(unit)
}

pub fn school_staff(unit: &str) -> AuthContext {
    AuthContext::new("teacher-1", Role::SchoolStaff).with_party(unit)
}

pub fn code_of(s: &tonic::Status) -> tonic::Code {
    s.code()
}

/// The status's field (kit's metadata), if any.
pub fn field_of(s: &tonic::Status) -> Option<String> {
    s.metadata()
        .get(samling_kit::error::FIELD_METADATA_KEY)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

pub fn reason_of(s: &tonic::Status) -> Option<String> {
    s.metadata()
        .get(samling_kit::error::REASON_METADATA_KEY)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}
