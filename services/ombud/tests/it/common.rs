//! The ombud test harness: a fresh store on every backend of the test kit
//! (SQLite always, PostgreSQL and Redis too when `SAMLING_TEST_DATABASE_URL`
//! and `SAMLING_TEST_REDIS_URL` are set), the service on the production
//! server builder on a free local port, a settable clock, the registry's
//! feed (an in-process source standing in for its WatchEvents) followed by
//! the real consumer, a registry answering what protected children's
//! events leave out, and typed clients acting as any caller.
#![allow(dead_code, unused_macros)]

use chrono::{DateTime, Utc};
use samling_kit::auth::{AuthContext, ContextSigner, Role};
use samling_kit::client::ServiceClient;
use samling_kit::consumer::{Consumer, ConsumerHandle, FeedSource};
use samling_kit::dates::Clock;
use samling_kit::db::Store;
use samling_kit::outbox::{EventFeed, NewEvent};
use samling_ombud::Ombuds;
use samling_ombud::config::OmbudConfig;
use samling_ombud::service::lookup::{LookupFuture, PlacementFacts, RegistryLookup, SurveyProfile};
use samling_proto::common::v1::Date;
use samling_proto::ombud::v1::ombud_service_client::OmbudServiceClient;
use samling_proto::ombud::v1::*;
use samling_testkit::Backend;
use samling_testkit::server::Served;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tonic::transport::Channel;

pub use samling_testkit::callers::*;

pub type Client = ServiceClient<OmbudServiceClient<Channel>>;

/// Call one RPC with the client's signed context:
/// `rpc!(client, open_case, OpenCaseRequest { .. })`.
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

/// Tuesday 2026-12-01 09:00 UTC: the tests' "now".
pub fn start_time() -> DateTime<Utc> {
    "2026-12-01T09:00:00Z".parse().expect("an instant")
}

/// The registry as the service asks it (placements by id).
#[derive(Default)]
pub struct FakeRegistry {
    pub placements: Mutex<HashMap<String, PlacementFacts>>,
    /// Children's birth dates and placement forms (surveys), by child id.
    pub profiles: Mutex<HashMap<String, SurveyProfile>>,
}

pub struct Shared(pub Arc<FakeRegistry>);

impl RegistryLookup for Shared {
    fn placement(&self, id: String) -> LookupFuture<Option<PlacementFacts>> {
        let p = self.0.placements.lock().unwrap().get(&id).cloned();
        Box::pin(async move { Ok(p) })
    }

    fn survey_profile(
        &self,
        child_id: String,
        _placement_id: String,
    ) -> LookupFuture<Option<SurveyProfile>> {
        let p = self.0.profiles.lock().unwrap().get(&child_id).cloned();
        Box::pin(async move { Ok(p) })
    }
}

/// One running ombud service on one backend.
pub struct Harness {
    pub backend: &'static str,
    pub service: Ombuds,
    pub clock: Clock,
    pub signer: ContextSigner,
    pub endpoint: String,
    pub registry: Arc<FakeRegistry>,
    registry_store: Store,
    registry_feed: EventFeed,
    consumer: Option<ConsumerHandle>,
    published: u64,
    portfolio_store: Store,
    portfolio_events: EventFeed,
    portfolio_consumer: Option<ConsumerHandle>,
    portfolio_published: u64,
    served: Arc<Served>,
    /// Kept for the harness's life: its temporary SQLite files live with it.
    _backend: Backend,
}

impl Harness {
    pub async fn start(backend_owned: Backend) -> Harness {
        let backend = &backend_owned;
        let (store, _) = backend
            .store("ombud", None, &[samling_ombud::MIGRATIONS])
            .await;
        let clock = Clock::fixed(start_time());
        let registry = Arc::new(FakeRegistry::default());
        let map = samling_kit::reference::RegionMap::default_map().clone();
        let service = Ombuds::new(store, OmbudConfig::default(), clock.clone())
            .for_region(map.parse_region(REGION).expect("known region"))
            .with_registry(Arc::new(Shared(registry.clone())));
        let signer = ContextSigner::generate().expect("signer");
        let served = Served::start(&[samling_ombud::SERVICE_NAME], |router| {
            router.add_service(samling_ombud::grpc::server(
                service.clone(),
                signer.verifier(),
            ))
        })
        .await;
        let (registry_store, _) = backend.store("registry", None, &[]).await;
        let registry_feed = EventFeed::new(registry_store.clone());
        // The portfolio's feed (its deadlines), followed the same way.
        let (portfolio_store, _) = backend.store("portfolio", None, &[]).await;
        let portfolio_events = EventFeed::new(portfolio_store.clone());
        let mut h = Harness {
            backend: backend.database(),
            service,
            clock,
            signer,
            endpoint: served.endpoint(),
            registry,
            registry_store,
            registry_feed,
            consumer: None,
            published: 0,
            portfolio_store,
            portfolio_events,
            portfolio_consumer: None,
            portfolio_published: 0,
            served: Arc::new(served),
            _backend: backend_owned,
        };
        h.consumer = Some(h.spawn_consumer());
        h.portfolio_consumer = Some(h.spawn_portfolio_consumer());
        h
    }

    /// The real consumer over the portfolio's feed, resuming from its
    /// stored cursor.
    fn spawn_portfolio_consumer(&self) -> ConsumerHandle {
        let mut opts = samling_ombud::portfolio_feed::options();
        opts.backoff_initial = std::time::Duration::from_millis(5);
        opts.max_attempts = 2;
        Consumer::new(
            samling_ombud::portfolio_feed::feed_name(REGION),
            FeedSource(self.portfolio_events.clone()),
        )
        .with_options(opts)
        .spawn_durable(
            self.service.store.clone(),
            self.service.feed.clone(),
            samling_ombud::portfolio_feed::PortfolioFeed(self.service.clone()),
        )
        .expect("portfolio consumer")
    }

    /// Stop the portfolio feed's consumer and start a new one: it resumes
    /// after its stored cursor.
    pub async fn restart_portfolio_consumer(&mut self) {
        if let Some(c) = self.portfolio_consumer.take() {
            c.stop().await;
        }
        self.portfolio_consumer = Some(self.spawn_portfolio_consumer());
        self.portfolio_published = 0;
    }

    /// The portfolio feed consumer's status (applied since its start).
    pub fn portfolio_status(&self) -> samling_kit::consumer::ConsumerStatus {
        self.portfolio_consumer.as_ref().unwrap().status()
    }

    /// Write `events` to the portfolio's feed and wait until the consumer
    /// has applied (or dead-lettered) them; returns the dead letters so far.
    pub async fn publish_portfolio(&mut self, events: Vec<NewEvent>) -> u64 {
        self.portfolio_published += events.len() as u64;
        let handle = self.portfolio_consumer.as_ref().unwrap();
        publish_to(
            self.backend,
            &self.portfolio_store,
            &self.portfolio_events,
            handle,
            self.portfolio_published,
            events,
        )
        .await
    }

    /// The real consumer over the registry's feed, resuming from its
    /// stored cursor.
    fn spawn_consumer(&self) -> ConsumerHandle {
        let mut opts = samling_ombud::registry_feed::options();
        opts.backoff_initial = std::time::Duration::from_millis(5);
        opts.max_attempts = 2;
        Consumer::new(
            samling_ombud::registry_feed::feed_name(REGION),
            FeedSource(self.registry_feed.clone()),
        )
        .with_options(opts)
        .spawn_durable(
            self.service.store.clone(),
            self.service.feed.clone(),
            samling_ombud::registry_feed::RegistryFeed(self.service.clone()),
        )
        .expect("consumer")
    }

    /// Stop the consumer and start a new one (a restart of the process):
    /// it resumes after its stored cursor. The count of events it must
    /// apply starts again from what it has not yet seen.
    pub async fn restart_consumer(&mut self) {
        if let Some(c) = self.consumer.take() {
            c.stop().await;
        }
        self.consumer = Some(self.spawn_consumer());
        self.published = 0;
    }

    /// A client acting as `ctx`.
    pub async fn client(&self, ctx: AuthContext) -> Client {
        ServiceClient::connect(
            samling_ombud::client::STUB,
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
        let mut tx = self.registry_store.begin_write().await.unwrap();
        for e in events {
            tx.event(e).await.unwrap();
            self.published += 1;
        }
        tx.commit(&self.registry_feed).await.unwrap();
        let n = self.published;
        let handle = self.consumer.as_ref().unwrap();
        let status = tokio::time::timeout(
            std::time::Duration::from_secs(20),
            handle.wait_for(|s| s.applied + s.dead_letters >= n),
        )
        .await
        .unwrap_or_else(|_| {
            panic!(
                "[{}] the consumer caught up: {:?}",
                self.backend,
                handle.status()
            )
        });
        status.dead_letters
    }

    /// Register ombud `subject` as the office.
    pub async fn register(&self, subject: &str) -> Ombud {
        let mut office = self.client(office()).await;
        rpc!(
            office,
            register_ombud,
            RegisterOmbudRequest {
                request_id: new_id(),
                subject: subject.into(),
            }
        )
        .unwrap_or_else(|e| panic!("[{}] register {subject}: {e}", self.backend))
    }

    /// Place `child` (a new placement by Stockholm in `home`) and return
    /// the placement id.
    pub async fn place(&mut self, child: &str, home: &str) -> String {
        let p = new_id();
        assert_eq!(self.publish(vec![created(&p, child, home, false)]).await, 0);
        p
    }

    /// The child's assignment as the office sees it.
    pub async fn assignment(&self, child: &str) -> Assignment {
        let mut office = self.client(office()).await;
        rpc!(
            office,
            get_assignment,
            GetAssignmentRequest {
                child_id: child.into()
            }
        )
        .unwrap_or_else(|e| panic!("[{}] assignment of {child}: {e}", self.backend))
    }

    /// Advance the clock by `days` calendar days.
    pub fn days_pass(&self, days: i64) {
        self.clock.advance(chrono::Duration::days(days));
    }

    pub async fn stop(mut self) {
        for c in [self.consumer.take(), self.portfolio_consumer.take()]
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

/// `portfolio.deadline` as the portfolio writes it.
pub fn deadline(child: &str, item: &str, state: &str, due_on: &str) -> NewEvent {
    NewEvent::new(
        "portfolio.deadline",
        "child",
        child,
        serde_json::json!({"child_id": child, "region": REGION, "item": item,
            "state": state, "due_on": due_on}),
    )
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

/// The placing municipality of the tests, and another.
pub const STOCKHOLM: &str = "0180";
pub const SOLNA: &str = "0184";

/// `registry.placement_created` as the registry writes it (a protected
/// child's leaves out the home, the unit and the municipality).
pub fn created(placement: &str, child: &str, home: &str, protected: bool) -> NewEvent {
    let mut v = serde_json::json!({"placement_id": placement, "child_id": child, "home_id": home,
        "unit_id": "", "legal_basis": "LEGAL_BASIS_SOL_11_1",
        "placing_municipality_code": STOCKHOLM, "start_date": "2026-11-01"});
    if protected {
        let o = v.as_object_mut().unwrap();
        o.remove("home_id");
        o.remove("unit_id");
        o.remove("placing_municipality_code");
    }
    NewEvent::new("registry.placement_created", "placement", placement, v)
}

/// `registry.placement_ended` as the registry writes it.
pub fn ended(placement: &str, child: &str, end: &str) -> NewEvent {
    let v = serde_json::json!({"placement_id": placement, "child_id": child,
        "end_reason": "END_REASON_PLANNED", "end_date": end});
    NewEvent::new("registry.placement_ended", "placement", placement, v)
}

pub fn ombud_as(subject: &str) -> AuthContext {
    AuthContext::new(subject, Role::Ombud)
}

pub fn health_staff(unit: &str) -> AuthContext {
    AuthContext::new("nurse-1", Role::HealthStaff).with_party(unit)
}

pub fn school_staff(unit: &str) -> AuthContext {
    AuthContext::new("teacher-1", Role::SchoolStaff).with_party(unit)
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

/// Open a case as `ctx` about `child`.
pub fn open_req(child: &str, summary: &str) -> OpenCaseRequest {
    OpenCaseRequest {
        request_id: new_id(),
        child_id: child.into(),
        category: CaseCategory::Contact as i32,
        summary: summary.into(),
    }
}
