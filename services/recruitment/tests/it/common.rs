//! The recruitment test harness: a fresh store on every backend of the test
//! kit (SQLite always, PostgreSQL too when `SAMLING_TEST_DATABASE_URL` is
//! set), the service on the production server builder on a free local port,
//! a settable clock, and typed clients acting as any caller.
#![allow(dead_code, unused_macros)]

use chrono::{DateTime, Utc};
use samling_kit::auth::{AuthContext, ContextSigner};
use samling_kit::client::ServiceClient;
use samling_kit::dates::Clock;
use samling_kit::db::Store;
use samling_kit::reference::RegionMap;
use samling_proto::recruitment::v1::recruitment_service_client::RecruitmentServiceClient;
use samling_recruitment::Recruitment;
use samling_testkit::Backend;
use samling_testkit::server::Served;
use std::sync::Arc;
use tonic::transport::Channel;

pub use samling_testkit::callers::*;

pub type Client = ServiceClient<RecruitmentServiceClient<Channel>>;

/// Call one RPC with the client's signed context:
/// `rpc!(client, get_case, GetCaseRequest { .. })` → `Result<Case, Status>`.
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

/// 2026-12-01 09:00 UTC, a Tuesday: the tests' "now" unless they move it.
pub fn start_time() -> DateTime<Utc> {
    "2026-12-01T09:00:00Z".parse().expect("an instant")
}

/// One running recruitment service on one backend.
#[derive(Clone)]
pub struct Harness {
    /// "sqlite" or "postgres", named in failures.
    pub backend: &'static str,
    pub service: Recruitment,
    pub clock: Clock,
    pub signer: ContextSigner,
    pub endpoint: String,
    served: Arc<Served>,
}

impl Harness {
    /// A fresh store on `backend` and the service serving it (one
    /// `region`'s municipalities and officers only, when given).
    pub async fn start(backend: &Backend, region: Option<&str>) -> Harness {
        let (store, _) = backend
            .store("recruitment", None, &[samling_recruitment::MIGRATIONS])
            .await;
        let map = Arc::new(RegionMap::default_map().clone());
        let clock = Clock::fixed(start_time());
        let mut service = Recruitment::new(
            store,
            samling_recruitment::domain::Rules::default(),
            map.clone(),
            clock.clone(),
        );
        if let Some(r) = region {
            service = service.for_region(map.parse_region(r).expect("known region"));
        }
        let signer = ContextSigner::generate().expect("signer");
        let served = Served::start(&[samling_recruitment::SERVICE_NAME], |router| {
            router.add_service(samling_recruitment::grpc::server(
                service.clone(),
                signer.verifier(),
            ))
        })
        .await;
        Harness {
            backend: backend.database(),
            service,
            clock,
            signer,
            endpoint: served.endpoint(),
            served: Arc::new(served),
        }
    }

    pub fn store(&self) -> &Store {
        &self.service.store
    }

    /// A client acting as `ctx`.
    pub async fn client(&self, ctx: AuthContext) -> Client {
        ServiceClient::connect(
            samling_recruitment::client::STUB,
            &self.endpoint,
            None,
            self.signer.clone(),
            ctx,
        )
        .await
        .unwrap_or_else(|e| panic!("[{}] connect: {e}", self.backend))
    }
}

/// A harness on every test backend, for `for h in harnesses(None).await`.
pub async fn harnesses(region: Option<&str>) -> Vec<(Harness, Backend)> {
    let mut out = Vec::new();
    for b in samling_testkit::backend::store_backends() {
        let h = Harness::start(&b, region).await;
        out.push((h, b));
    }
    out
}
