//! The portfolio service: the child's digital portfolio that follows the
//! child across placements and municipalities (DESIGN.md §5 "portfolio",
//! docs/portfolio.md, ADRs 0034–0036).
//!
//! * `domain/` — pure rules: who reads and writes which section, what a
//!   valid section is, what a protected child's portfolio withholds;
//! * `store/` — SQL (kit's document store): portfolios and the placements
//!   that give homes access;
//! * `service/` — the operations, the caller's relation to the child, the
//!   one view of a portfolio, the registry's events;
//! * `grpc/` — the tonic service adapting `samling.portfolio.v1`;
//! * `registry_feed` — following the registry's feed (kit's consumer);
//! * `ombud_feed` — following the ombud service's assignments (the assigned
//!   ombud reads the child's portfolio);
//! * [`module`] — portfolio as the `samling` binary runs it.
#![forbid(unsafe_code)]

pub mod client;
pub mod config;
pub mod domain;
pub mod grpc;
pub mod ombud_feed;
pub mod registry_feed;
pub mod service;
pub mod store;

pub use service::Portfolios;

use samling_kit::config::Config;
use samling_kit::error::KitError;
use samling_kit::module::{BoxFuture, Instance, Module};
use samling_kit::reference::RegionMap;
use std::sync::Arc;

/// The service's name: `--target portfolio`, `[portfolio]`,
/// `[regions.<r>] portfolio = …`, `<region>/portfolio.db`.
pub const NAME: &str = "portfolio";

/// The gRPC service name, for health checks.
pub const SERVICE_NAME: &str = "samling.portfolio.v1.PortfolioService";

/// Portfolio's migrations (applied after kit's own).
pub const MIGRATIONS: &[samling_kit::db::Migration] = &[
    samling_kit::db::Migration {
        name: "portfolio/0001_portfolio",
        sql: include_str!("../migrations/0001_portfolio.sql"),
    },
    samling_kit::db::Migration {
        name: "portfolio/0002_credentials",
        sql: include_str!("../migrations/0002_credentials.sql"),
    },
    samling_kit::db::Migration {
        name: "portfolio/0003_ombud_access",
        sql: include_str!("../migrations/0003_ombud_access.sql"),
    },
    samling_kit::db::Migration {
        name: "portfolio/0004_retention",
        sql: include_str!("../migrations/0004_retention.sql"),
    },
    samling_kit::db::Migration {
        name: "portfolio/0005_deadlines",
        sql: include_str!("../migrations/0005_deadlines.sql"),
    },
];

/// Portfolio as the binary's module list sees it.
pub fn module() -> Module {
    Module {
        name: NAME,
        grpc_service: SERVICE_NAME,
        migrations: MIGRATIONS,
        open: open_service,
        check_config: |cfg| cfg.section::<config::PortfolioConfig>(NAME).map(drop),
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

/// Portfolio as the binary runs it.
pub struct Opened(pub Portfolios);

impl Instance for Opened {
    fn store(&self) -> &samling_kit::db::Store {
        &self.0.store
    }

    /// The registry feed's consumer and the event feed's watchers are
    /// ended at the stop.
    fn on_stop(&self) -> Box<dyn FnOnce() + Send> {
        let feed = self.0.feed.clone();
        let registry = self.0.registry_feed.as_ref().map(|h| h.stopper());
        let ombud = self.0.ombud_feed.as_ref().map(|h| h.stopper());
        let retention = self.0.retention_job.clone();
        let job = self.0.deadline_job.clone();
        Box::new(move || {
            if let Some(j) = retention {
                j.stop();
            }
            for r in [registry, ombud].into_iter().flatten() {
                r.stop();
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

/// The region's credential key: the configured file, or the one under the
/// data dir, made at first start. Credentials stay valid across restarts.
fn credential_key(
    cfg: &Config,
    conf: &config::PortfolioConfig,
    region: &str,
) -> Result<ed25519_dalek::SigningKey, KitError> {
    let path = conf.credential_key_file.clone().unwrap_or_else(|| {
        cfg.data_dir
            .join("keys")
            .join(format!("portfolio-credential-{region}.key"))
    });
    service::credentials::load_or_create_key(&path)
}

/// Open (and migrate) one region's portfolio store as configured.
pub async fn open(
    cfg: &Config,
    region: &str,
    regions: Arc<RegionMap>,
) -> Result<Portfolios, KitError> {
    let conf = cfg
        .section::<config::PortfolioConfig>(NAME)
        .map_err(|e| KitError::invalid(NAME, e.to_string()))?;
    if !(7..=18).contains(&conf.own_view_age) {
        return Err(KitError::invalid(
            "portfolio.own_view_age",
            "must be between 7 and 18",
        ));
    }
    if !(18..=100).contains(&conf.archive_age) {
        return Err(KitError::invalid(
            "portfolio.archive_age",
            "must be between 18 and 100",
        ));
    }
    if conf.archive_years_after_care_end > 25 {
        return Err(KitError::invalid(
            "portfolio.archive_years_after_care_end",
            "must be between 0 and 25",
        ));
    }
    conf.deadlines
        .check()
        .map_err(|(key, msg)| KitError::invalid(key, msg))?;
    let store = samling_kit::module::open_store(cfg, NAME, region, MIGRATIONS).await?;
    let region_id = regions
        .parse_region(region)
        .map_err(|e| KitError::invalid("region", e.to_string()))?;
    let endpoint = samling_kit::module::endpoint_of(cfg, &regions, "registry", region)?;
    let tls = samling_kit::tls::Tls::from_config(&cfg.tls)?;
    let signer = samling_kit::auth::ContextSigner::load(&cfg.context_key_file())?;
    let lookup = service::GrpcRegistry::new(&endpoint, tls.as_ref(), signer, region)?;
    let svc = Portfolios::new(
        store,
        conf.own_view_age,
        samling_kit::dates::Clock::system(),
    )
    .for_region(region_id)
    .with_registry(Arc::new(lookup))
    .with_credential_key(credential_key(cfg, &conf, region)?)
    .with_retention(domain::retention::Policy {
        archive_age: conf.archive_age,
        years_after_care_end: conf.archive_years_after_care_end,
    })
    .with_deadlines(conf.deadlines.clone());
    // The handler holds a copy without the handle: no cycle keeps it alive.
    let feed = registry_feed::follow(&svc, cfg, region, &regions)?;
    let ombud = ombud_feed::follow(&svc, cfg, region, &regions)?;
    // The job's copy too holds no handle (spawned before they are set).
    let job = (conf.retention_interval_secs > 0).then(|| {
        svc.spawn_retention_job(std::time::Duration::from_secs(conf.retention_interval_secs))
    });
    let mut svc = svc;
    svc.registry_feed = Some(Arc::new(feed));
    svc.ombud_feed = Some(Arc::new(ombud));
    svc.retention_job = job.map(|j| j.stopper());
    if conf.deadlines.run_every_secs > 0 {
        let every = std::time::Duration::from_secs(conf.deadlines.run_every_secs);
        svc.deadline_job = Some(Arc::new(service::deadlines::DeadlineJob::spawn(
            svc.clone(),
            every,
        )));
    }
    Ok(svc)
}
