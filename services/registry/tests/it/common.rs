//! The registry test harness: a real store on every backend of the test
//! kit (SQLite always, PostgreSQL too when `SAMLING_TEST_DATABASE_URL` is
//! set), the registry on the production server builder on a free local
//! port and the typed client, so every test goes through gRPC the way the
//! gateway and the regional office's tools do.
#![allow(dead_code, unused_macros)]

use chrono::{Datelike, Months, NaiveDate};
use samling_kit::auth::{AuthContext, ContextSigner};
use samling_kit::db::Store;
use samling_kit::error::FIELD_METADATA_KEY;
use samling_kit::reference::RegionMap;
use samling_proto::common::v1::{Date, Event, WatchEventsRequest};
use samling_proto::registry::v1::*;
use samling_registry::Registry;
use samling_registry::client::RegistryClient;
use samling_testkit::Backend;
use samling_testkit::server::Served;
use std::future::Future;
use std::sync::Arc;
use tokio_stream::StreamExt;
use tonic::{Code, Status};

pub use samling_testkit::callers::*;
pub use samling_testkit::people::{adult, canonical, child_pnr};

/// Call one RPC on a [`RegistryClient`] with its signed context:
/// `rpc!(client, get_home, GetHomeRequest { .. })` → `Result<Home, Status>`.
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

/// One running registry on one backend.
#[derive(Clone)]
pub struct Harness {
    /// "sqlite" or "postgres", named in failures.
    pub backend: &'static str,
    pub registry: Registry,
    pub signer: ContextSigner,
    pub endpoint: String,
    /// The region served, when one is.
    pub region: Option<String>,
    /// The register's clock: fixed at the start, moved by tests of deadlines.
    pub clock: samling_kit::dates::Clock,
    /// The server, stopped when the last clone of the harness is dropped.
    served: Arc<Served>,
}

impl Harness {
    /// A fresh registry store on `backend` and the registry serving it
    /// (one `region`'s municipalities and officers only, when given).
    pub async fn start(backend: &Backend, region: Option<&str>) -> Harness {
        Self::start_signed(backend, region, ContextSigner::generate().expect("signer")).await
    }

    /// [`Harness::start`] verifying contexts signed by `signer` (registers
    /// of several regions that call each other share it).
    pub async fn start_signed(
        backend: &Backend,
        region: Option<&str>,
        signer: ContextSigner,
    ) -> Harness {
        let (store, _) = backend
            .store("registry", None, &[samling_registry::MIGRATIONS])
            .await;
        let map = Arc::new(RegionMap::default_map().clone());
        let clock = samling_kit::dates::Clock::fixed(chrono::Utc::now());
        let mut registry = Registry::new(
            store,
            samling_registry::domain::Rules::default(),
            map.clone(),
        )
        .with_clock(clock.clone());
        if let Some(r) = region {
            registry = registry.for_region(map.parse_region(r).expect("known region"));
        }
        let served = Served::start(&[samling_registry::SERVICE_NAME], |router| {
            router.add_service(samling_registry::grpc::server(
                registry.clone(),
                signer.verifier(),
            ))
        })
        .await;
        Harness {
            backend: backend.database(),
            registry,
            signer,
            endpoint: served.endpoint(),
            region: region.map(str::to_string),
            clock,
            served: Arc::new(served),
        }
    }

    /// The store behind the server (for audit verification and tampering).
    pub fn store(&self) -> &Store {
        &self.registry.store
    }

    /// A client acting as `ctx`.
    pub async fn client(&self, ctx: AuthContext) -> RegistryClient {
        RegistryClient::connect(&self.endpoint, self.signer.clone(), ctx)
            .await
            .unwrap_or_else(|e| panic!("[{}] connect: {e}", self.backend))
    }

    /// The regional office: keeps the register.
    pub async fn office(&self) -> RegistryClient {
        self.client(office_in(self.region.as_deref().unwrap_or(REGION)))
            .await
    }

    // ------------------------------------------------------- common flows

    /// The office creates a home from `draft`.
    pub async fn create_home(&self, draft: HomeDraft) -> Home {
        let resp = rpc!(
            self.office().await,
            create_home,
            CreateHomeRequest {
                request_id: String::new(),
                draft: Some(draft)
            }
        )
        .expect("create home");
        resp.home.expect("home in response")
    }

    /// A home taken through assessment and approved by `municipality`'s nämnd on `decided`.
    pub async fn approved_home(
        &self,
        draft: HomeDraft,
        municipality: &str,
        decided: NaiveDate,
    ) -> Home {
        let home = self.create_home(draft).await;
        self.approve(&home.id, municipality, decided).await
    }

    /// Move an applicant to assessment and record the approval.
    pub async fn approve(&self, home_id: &str, municipality: &str, decided: NaiveDate) -> Home {
        let mut office = self.office().await;
        rpc!(
            office,
            transition_home,
            TransitionHomeRequest {
                home_id: home_id.into(),
                to_status: HomeStatus::UnderAssessment as i32,
                reason: "home study started".into(),
                ..Default::default()
            }
        )
        .expect("to under assessment");
        rpc!(
            office,
            record_approval,
            RecordApprovalRequest {
                home_id: home_id.into(),
                municipality_code: municipality.into(),
                decision_date: Some(date(decided)),
                decision_ref: format!("SN {}/{}", decided.year(), &home_id[home_id.len() - 4..]),
                ..Default::default()
            }
        )
        .expect("record approval")
    }

    /// The office registers a child of `municipality`.
    pub async fn register_child(&self, municipality: &str, personnummer: &str) -> Child {
        let resp = rpc!(
            self.office().await,
            register_child,
            RegisterChildRequest {
                personnummer: personnummer.into(),
                given_name: "Kim".into(),
                family_name: "Lind".into(),
                placing_municipality_code: municipality.into(),
                ..Default::default()
            }
        )
        .expect("register child");
        resp.child.expect("child in response")
    }

    /// Place `child_id` in `home_id` from `start`, acting as `ctx`.
    pub async fn place(
        &self,
        ctx: AuthContext,
        child_id: &str,
        home_id: &str,
        start: NaiveDate,
    ) -> Result<CreatePlacementResponse, Status> {
        rpc!(
            self.client(ctx).await,
            create_placement,
            placement(child_id, home_id, start)
        )
    }

    pub async fn get_home(&self, home_id: &str) -> Home {
        self.office()
            .await
            .get_home(home_id)
            .await
            .expect("get home")
    }

    /// Every event so far after `after` (the feed, read to its end).
    pub async fn events_after(&self, after: u64) -> Vec<Event> {
        let mut office = self.office().await;
        let req = office.request(WatchEventsRequest {
            after,
            event_types: vec![],
            stop_at_end: true,
        });
        let mut stream = office
            .raw()
            .watch_events(req)
            .await
            .expect("watch events")
            .into_inner();
        let mut out = Vec::new();
        while let Some(e) = stream.next().await {
            out.push(e.expect("event"));
        }
        out
    }

    pub async fn events(&self) -> Vec<Event> {
        self.events_after(0).await
    }
}

/// Run `test` once per backend, each on a fresh store and server. A failure
/// names the backend it happened on.
pub async fn for_each_backend<F, Fut>(test: F)
where
    F: Fn(Harness) -> Fut,
    Fut: Future<Output = ()>,
{
    for_each_backend_in(None, test).await
}

/// As [`for_each_backend`], the register serving one `region` (its
/// municipalities only, regional officers of that region only).
pub async fn for_each_backend_in<F, Fut>(region: Option<&str>, test: F)
where
    F: Fn(Harness) -> Fut,
    Fut: Future<Output = ()>,
{
    samling_testkit::for_each_store_backend(|backend| {
        let test = &test;
        async move { test(Harness::start(&backend, region).await).await }
    })
    .await
}

// ------------------------------------------------------------ dates

pub fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

pub fn days_ago(n: u64) -> NaiveDate {
    today() - chrono::Days::new(n)
}

pub fn months_ago(n: u32) -> NaiveDate {
    today()
        .checked_sub_months(Months::new(n))
        .expect("date in range")
}

pub fn date(d: NaiveDate) -> Date {
    Date {
        year: d.year(),
        month: d.month() as i32,
        day: d.day() as i32,
    }
}

pub fn naive(d: &Option<Date>) -> NaiveDate {
    let d = d.as_ref().expect("date is set");
    NaiveDate::from_ymd_opt(d.year, d.month as u32, d.day as u32).expect("valid date")
}

// ------------------------------------------------------------ people

pub fn carer(given: &str, pnr: &str) -> MemberDraft {
    MemberDraft {
        given_name: given.into(),
        family_name: "Berg".into(),
        personnummer: pnr.into(),
        role: MemberRole::Carer as i32,
    }
}

/// A public family home in Stockholm (0180) with one carer.
pub fn draft(street: &str, carer_pnr: &str) -> HomeDraft {
    HomeDraft {
        home_type: HomeType::FamilyHome as i32,
        provider: ProviderKind::Public as i32,
        municipality_code: "0180".into(),
        address: Some(Address {
            street: street.into(),
            postal_code: "11122".into(),
            city: "Stockholm".into(),
        }),
        members: vec![carer("Anna", carer_pnr)],
        languages: vec!["Svenska".into()],
        competences: vec!["trauma".into()],
        willingness: vec![Willingness::LongTerm as i32],
        ..Default::default()
    }
}

pub fn placement(child_id: &str, home_id: &str, start: NaiveDate) -> CreatePlacementRequest {
    CreatePlacementRequest {
        child_id: child_id.into(),
        home_id: home_id.into(),
        legal_basis: LegalBasis::SolVoluntary as i32,
        start_date: Some(date(start)),
        ..Default::default()
    }
}

/// An IVO permit in force since a year ago (HVB units and agencies need one).
pub fn valid_permit() -> Option<IvoPermit> {
    Some(IvoPermit {
        permit_number: "IVO 8.5-1234/2024".into(),
        valid_from: Some(date(months_ago(12))),
        valid_until: None,
        revoked: false,
    })
}

// ------------------------------------------------------------ assertions

/// The call failed with `code`; returns the status for further checks.
#[track_caller]
pub fn expect_code<T: std::fmt::Debug>(result: Result<T, Status>, code: Code) -> Status {
    match result {
        Ok(v) => panic!("expected {code:?}, got Ok({v:?})"),
        Err(s) => {
            assert_eq!(s.code(), code, "status: {s:?}");
            s
        }
    }
}

/// The call was refused as `INVALID_ARGUMENT` naming `field` in the message
/// prefix and in the `samling-field` metadata, with the reason `INVALID_FIELD`
/// in `samling-reason`.
#[track_caller]
pub fn expect_invalid<T: std::fmt::Debug>(result: Result<T, Status>, field: &str) -> Status {
    expect_invalid_because(result, field, "INVALID_FIELD")
}

/// [`expect_invalid`] for another reason of `INVALID_ARGUMENT`
/// (`IDEMPOTENCY_KEY_REUSED`).
#[track_caller]
pub fn expect_invalid_because<T: std::fmt::Debug>(
    result: Result<T, Status>,
    field: &str,
    reason: &str,
) -> Status {
    let s = expect_code(result, Code::InvalidArgument);
    assert!(
        s.message().starts_with(&format!("{field}:")),
        "message {:?} should name {field}",
        s.message()
    );
    assert_eq!(
        s.metadata()
            .get(FIELD_METADATA_KEY)
            .and_then(|v| v.to_str().ok()),
        Some(field),
        "samling-field of {s:?}"
    );
    assert_eq!(
        s.metadata()
            .get(samling_kit::error::REASON_METADATA_KEY)
            .and_then(|v| v.to_str().ok()),
        Some(reason),
        "samling-reason of {s:?}"
    );
    s
}

/// A dry run of importing `rows`: what would be created and refused, nothing stored.
pub async fn dry_run_import(
    client: &mut RegistryClient,
    rows: &[ImportRow],
) -> ImportHomesResponse {
    rpc!(
        *client,
        import_homes,
        ImportHomesRequest {
            rows: rows.to_vec(),
            dry_run: true,
            ..Default::default()
        }
    )
    .unwrap()
}

/// An import's refused rows as (line, field at fault).
pub fn import_errors(r: &ImportHomesResponse) -> Vec<(u32, &str)> {
    r.errors
        .iter()
        .map(|e| (e.line, e.field.as_str()))
        .collect()
}

pub fn event_types(events: &[Event]) -> Vec<&str> {
    events.iter().map(|e| e.event_type.as_str()).collect()
}
