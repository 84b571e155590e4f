//! The ombud service: the placed child's independent child-rights ombud
//! (barnrättsombud; DESIGN.md §5 "ombud", docs/ombud.md, ADRs 0037–0039).
//!
//! * `domain/` — pure rules: the case state machine, valid input, the
//!   balancing of assignments, working days;
//! * `store/` — SQL (kit's document store): ombuds, assignments, cases,
//!   review requests, IVO complaints;
//! * `service/` — the operations, the caller's relation to the child and
//!   the case, the one view of each record, the registry's events;
//! * `grpc/` — the tonic service adapting `samling.ombud.v1`;
//! * `registry_feed` — following the registry's feed (kit's consumer);
//! * `portfolio_feed` — following the portfolio's deadlines (the rights
//!   follow-up, ADR 0046);
//! * [`module`] — ombud as the `samling` binary runs it.
#![forbid(unsafe_code)]

pub mod client;
pub mod config;
pub mod domain;
pub mod grpc;
pub mod portfolio_feed;
pub mod registry_feed;
pub mod service;
pub mod store;

pub use service::Ombuds;

use samling_kit::config::Config;
use samling_kit::error::KitError;
use samling_kit::module::{BoxFuture, Instance, Module};
use samling_kit::reference::RegionMap;
use std::sync::Arc;

/// The service's name: `--target ombud`, `[ombud]`,
/// `[regions.<r>] ombud = …`, `<region>/ombud.db`.
pub const NAME: &str = "ombud";

/// The gRPC service name, for health checks.
pub const SERVICE_NAME: &str = "samling.ombud.v1.OmbudService";

/// Ombud's migrations (applied after kit's own).
pub const MIGRATIONS: &[samling_kit::db::Migration] = &[
    samling_kit::db::Migration {
        name: "ombud/0001_ombud",
        sql: include_str!("../migrations/0001_ombud.sql"),
    },
    samling_kit::db::Migration {
        name: "ombud/0002_meetings",
        sql: include_str!("../migrations/0002_meetings.sql"),
    },
    samling_kit::db::Migration {
        name: "ombud/0003_surveys",
        sql: include_str!("../migrations/0003_surveys.sql"),
    },
    samling_kit::db::Migration {
        name: "ombud/0004_follow_up",
        sql: include_str!("../migrations/0004_follow_up.sql"),
    },
];

/// Ombud as the binary's module list sees it.
pub fn module() -> Module {
    Module {
        name: NAME,
        grpc_service: SERVICE_NAME,
        migrations: MIGRATIONS,
        open: open_service,
        check_config: |cfg| cfg.section::<config::OmbudConfig>(NAME).map(drop),
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

/// Ombud as the binary runs it.
pub struct Opened(pub Ombuds);

impl Instance for Opened {
    fn store(&self) -> &samling_kit::db::Store {
        &self.0.store
    }

    /// The registry feed's consumer and the event feed's watchers are
    /// ended at the stop.
    fn on_stop(&self) -> Box<dyn FnOnce() + Send> {
        let feed = self.0.feed.clone();
        let registry = self.0.registry_feed.as_ref().map(|h| h.stopper());
        let portfolio = self.0.portfolio_feed.as_ref().map(|h| h.stopper());
        let job = self.0.follow_up_job.clone();
        Box::new(move || {
            if let Some(r) = registry {
                r.stop();
            }
            if let Some(p) = portfolio {
                p.stop();
            }
            if let Some(j) = job {
                j.stop();
            }
            feed.close()
        })
    }

    fn add_to(
        self: Box<Self>,
        router: samling_kit::grpc::Router,
        verifier: &samling_kit::auth::ContextVerifier,
    ) -> samling_kit::grpc::Router {
        router.add_service(grpc::server(self.0, verifier.clone()))
    }
}

/// Open (and migrate) one region's ombud store as configured, and start
/// following the region's registry.
pub async fn open(cfg: &Config, region: &str, regions: Arc<RegionMap>) -> Result<Ombuds, KitError> {
    let conf = cfg
        .section::<config::OmbudConfig>(NAME)
        .map_err(|e| KitError::invalid(NAME, e.to_string()))?;
    conf.check()
        .map_err(|(key, msg)| KitError::invalid(key, msg))?;
    let store = samling_kit::module::open_store(cfg, NAME, region, MIGRATIONS).await?;
    let region_id = regions
        .parse_region(region)
        .map_err(|e| KitError::invalid("region", e.to_string()))?;
    let endpoint = samling_kit::module::endpoint_of(cfg, &regions, "registry", region)?;
    let tls = samling_kit::tls::Tls::from_config(&cfg.tls)?;
    let signer = samling_kit::auth::ContextSigner::load(&cfg.context_key_file())?;
    let lookup = service::GrpcRegistry::new(&endpoint, tls.as_ref(), signer, region)?;
    let svc = Ombuds::new(store, conf, samling_kit::dates::Clock::system())
        .for_region(region_id)
        .with_registry(Arc::new(lookup));
    // The handler holds a copy without the handle: no cycle keeps it alive.
    let feed = registry_feed::follow(&svc, cfg, region, &regions)?;
    let portfolio = portfolio_feed::follow(&svc, cfg, region, &regions)?;
    let job =
        service::follow_up::FollowUpJob::spawn(svc.clone(), std::time::Duration::from_secs(3600));
    let mut svc = svc;
    svc.registry_feed = Some(Arc::new(feed));
    svc.portfolio_feed = Some(Arc::new(portfolio));
    svc.follow_up_job = Some(Arc::new(job));
    Ok(svc)
}
