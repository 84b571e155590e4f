//! The compensation test harness: a fresh store on every backend of the
//! test kit (SQLite always, PostgreSQL too when `SAMLING_TEST_DATABASE_URL`
//! is set), the service on the production server builder on a free local
//! port, a settable clock, and typed clients acting as any caller.
#![allow(dead_code, unused_macros)]

use chrono::{DateTime, Utc};
use samling_compensation::Compensation;
use samling_compensation::domain::Rules;
use samling_kit::auth::{AuthContext, ContextSigner};
use samling_kit::client::ServiceClient;
use samling_kit::dates::Clock;
use samling_kit::reference::RegionMap;
use samling_proto::common::v1::Date;
use samling_proto::compensation::v1::compensation_service_client::CompensationServiceClient;
use samling_proto::compensation::v1::*;
use samling_testkit::Backend;
use samling_testkit::server::Served;
use std::sync::Arc;
use tonic::transport::Channel;

pub use samling_testkit::callers::*;

pub type Client = ServiceClient<CompensationServiceClient<Channel>>;

/// Call one RPC with the client's signed context:
/// `rpc!(client, get_agreement, GetAgreementRequest { .. })`.
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

/// One running compensation service on one backend.
#[derive(Clone)]
pub struct Harness {
    pub backend: &'static str,
    pub service: Compensation,
    pub clock: Clock,
    pub signer: ContextSigner,
    pub endpoint: String,
    served: Arc<Served>,
}

impl Harness {
    pub async fn start(backend: &Backend, region: Option<&str>, rules: Rules) -> Harness {
        let (store, _) = backend
            .store("compensation", None, &[samling_compensation::MIGRATIONS])
            .await;
        let map = Arc::new(RegionMap::default_map().clone());
        let clock = Clock::fixed(start_time());
        let mut service = Compensation::new(store, rules, map.clone(), clock.clone());
        if let Some(r) = region {
            service = service.for_region(map.parse_region(r).expect("known region"));
        }
        let signer = ContextSigner::generate().expect("signer");
        let served = Served::start(&[samling_compensation::SERVICE_NAME], |router| {
            router
                .add_service(samling_compensation::grpc::server(
                    service.clone(),
                    signer.verifier(),
                ))
                .add_service(samling_compensation::grpc::costs_server(
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

    /// A client acting as `ctx`.
    pub async fn client(&self, ctx: AuthContext) -> Client {
        ServiceClient::connect(
            samling_compensation::client::STUB,
            &self.endpoint,
            None,
            self.signer.clone(),
            ctx,
        )
        .await
        .unwrap_or_else(|e| panic!("[{}] connect: {e}", self.backend))
    }
}

/// The costs service's client acting as `ctx` (the same endpoint).
pub type CostsClient =
    ServiceClient<samling_proto::compensation::v1::costs_client::CostsClient<Channel>>;

impl Harness {
    pub async fn costs(&self, ctx: AuthContext) -> CostsClient {
        ServiceClient::connect(
            samling_compensation::client::COSTS_STUB,
            &self.endpoint,
            None,
            self.signer.clone(),
            ctx,
        )
        .await
        .unwrap_or_else(|e| panic!("[{}] connect: {e}", self.backend))
    }
}

/// A harness on every test backend (region Stockholm-Gotland).
pub async fn harnesses() -> Vec<(Harness, Backend)> {
    harnesses_with(Rules::default()).await
}

pub async fn harnesses_with(rules: Rules) -> Vec<(Harness, Backend)> {
    let mut out = Vec::new();
    for b in samling_testkit::backend::store_backends() {
        let h = Harness::start(&b, Some(REGION), rules.clone()).await;
        out.push((h, b));
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

/// A complete schedule's rates: arvode 10 000 kr × level number (+2 000 kr
/// for a single adult); omkostnad 5 000 kr + 1 000 kr per age band above
/// the first + 500 kr per zone after the base.
pub fn rates() -> (Vec<ArvodeRate>, Vec<OmkostnadRate>) {
    let mut arvode = Vec::new();
    for level in 1..=4 {
        for household in 1..=2 {
            arvode.push(ArvodeRate {
                level,
                household,
                monthly_ore: 1_000_000 * i64::from(level)
                    + if household == 1 { 200_000 } else { 0 },
            });
        }
    }
    let mut omkostnad = Vec::new();
    for band in 1..=3 {
        for zone in 1..=3 {
            omkostnad.push(OmkostnadRate {
                age_band: band,
                zone,
                monthly_ore: 500_000 + 100_000 * i64::from(band - 1) + 50_000 * i64::from(zone - 1),
            });
        }
    }
    (arvode, omkostnad)
}

/// Schedule `code`'s next version from `effective_from`, as the office.
pub async fn create_schedule(c: &mut Client, code: &str, from: Option<Date>) -> FeeSchedule {
    let (arvode, omkostnad) = rates();
    rpc!(
        *c,
        create_fee_schedule,
        CreateFeeScheduleRequest {
            request_id: new_id(),
            code: code.into(),
            effective_from: from,
            arvode,
            omkostnad,
        }
    )
    .expect("create schedule")
}

/// An agreement request: raised level, two adults, metro, a child born
/// 2016-06-01, booked from `starts_on`, paid by Stockholm (0180).
pub fn agreement_request(home_id: &str, starts_on: Option<Date>) -> CreateAgreementRequest {
    CreateAgreementRequest {
        request_id: new_id(),
        placement_id: new_id(),
        home_id: home_id.into(),
        municipality_code: "0180".into(),
        schedule_code: "national".into(),
        schedule_version: 0,
        follow_indexation: true,
        level: CareLevel::Raised as i32,
        household: HouseholdKind::TwoAdults as i32,
        zone: CostZone::Metro as i32,
        child_birth_date: date(2016, 6, 1),
        starts_on,
        ends_on: None,
        ..Default::default()
    }
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
