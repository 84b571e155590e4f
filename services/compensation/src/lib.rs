//! The compensation service: the national compensation model (DESIGN.md §5
//! "compensation", docs/compensation.md, ADR 0027).
//!
//! * `domain/` — pure rules: fee schedules and their indexation, agreements
//!   and what they pay for a month, the state grants' distribution key, and
//!   every rounding rule (`domain::rounding`);
//! * `store/` — SQL, one module per aggregate (kit's document store);
//! * `service/` — the operations: authorize, validate, apply, write with
//!   audit and events (kit's service skeleton);
//! * `grpc/` — the tonic service adapting `samling.compensation.v1`;
//! * `config` — its section of the configuration, `[compensation]`;
//! * [`module`] — compensation as the `samling` binary runs it.
#![forbid(unsafe_code)]

pub mod bench;
pub mod client;
pub mod config;
pub mod domain;
pub mod grpc;
pub mod registry_feed;
pub mod service;
pub mod store;

pub use service::Compensation;

use samling_kit::config::Config;
use samling_kit::error::KitError;
use samling_kit::module::{BoxFuture, Instance, Module};
use samling_kit::reference::RegionMap;
use std::sync::Arc;

/// The service's name: `--target compensation`, `[compensation]`,
/// `[regions.<r>] compensation = …`, `<region>/compensation.db`.
pub const NAME: &str = "compensation";

/// The gRPC service name, for health checks.
pub const SERVICE_NAME: &str = "samling.compensation.v1.CompensationService";

/// Compensation's migrations (applied after kit's own).
pub const MIGRATIONS: &[samling_kit::db::Migration] = &[
    samling_kit::db::Migration {
        name: "compensation/0001_fee_model",
        sql: include_str!("../migrations/0001_fee_model.sql"),
    },
    samling_kit::db::Migration {
        name: "compensation/0002_payments",
        sql: include_str!("../migrations/0002_payments.sql"),
    },
    samling_kit::db::Migration {
        name: "compensation/0003_claims",
        sql: include_str!("../migrations/0003_claims.sql"),
    },
    samling_kit::db::Migration {
        name: "compensation/0004_grant_ledger",
        sql: include_str!("../migrations/0004_grant_ledger.sql"),
    },
    samling_kit::db::Migration {
        name: "compensation/0005_carry_over",
        sql: include_str!("../migrations/0005_carry_over.sql"),
    },
    samling_kit::db::Migration {
        name: "compensation/0006_price_splits",
        sql: include_str!("../migrations/0006_price_splits.sql"),
    },
];

/// Compensation as the binary's module list sees it.
pub fn module() -> Module {
    Module {
        name: NAME,
        grpc_service: SERVICE_NAME,
        migrations: MIGRATIONS,
        open: open_service,
        check_config: |cfg| cfg.section::<config::CompensationConfig>(NAME).map(drop),
    }
}

fn open_service<'a>(
    cfg: &'a Config,
    region: &'a str,
    regions: Arc<RegionMap>,
) -> BoxFuture<'a, Result<Box<dyn Instance>, KitError>> {
    Box::pin(async move {
        let svc = open(cfg, region, regions).await?;
        Ok(Box::new(Opened(svc)) as Box<dyn Instance>)
    })
}

/// Compensation as the binary runs it.
pub struct Opened(pub Compensation);

impl Instance for Opened {
    fn store(&self) -> &samling_kit::db::Store {
        &self.0.store
    }

    /// The registry feed's consumer and the event feed's watchers are
    /// ended at the stop.
    fn on_stop(&self) -> Box<dyn FnOnce() + Send> {
        let feed = self.0.feed.clone();
        let registry = self.0.registry_feed.as_ref().map(|h| h.stopper());
        Box::new(move || {
            if let Some(r) = registry {
                r.stop();
            }
            feed.close()
        })
    }

    fn add_to(
        self: Box<Self>,
        router: samling_kit::grpc::Router,
        verifier: &samling_kit::auth::ContextVerifier,
    ) -> samling_kit::grpc::Router {
        let costs = grpc::costs_server(self.0.clone(), verifier.clone());
        router
            .add_service(grpc::server(self.0, verifier.clone()))
            .add_service(costs)
    }
}

/// Open (and migrate) one region's compensation store as configured.
pub async fn open(
    cfg: &Config,
    region: &str,
    regions: Arc<RegionMap>,
) -> Result<Compensation, KitError> {
    let conf = cfg
        .section::<config::CompensationConfig>(NAME)
        .map_err(|e| KitError::invalid(NAME, e.to_string()))?;
    conf.rules.check().map_err(|e| match e {
        domain::CompensationError::Invalid { field, message } => KitError::invalid(field, message),
        other => KitError::invalid(NAME, other.to_string()),
    })?;
    let store = samling_kit::module::open_store(cfg, NAME, region, MIGRATIONS).await?;
    let region_id = regions
        .parse_region(region)
        .map_err(|e| KitError::invalid("region", e.to_string()))?;
    let svc = Compensation::new(
        store,
        conf.rules,
        regions.clone(),
        samling_kit::dates::Clock::system(),
    )
    .for_region(region_id);
    // The handler holds a copy without the handle: no cycle keeps it alive.
    let feed = registry_feed::follow(&svc, cfg, region, &regions)?;
    let mut svc = svc;
    svc.registry_feed = Some(Arc::new(feed));
    Ok(svc)
}
