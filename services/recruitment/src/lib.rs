//! The recruitment service: from a public inquiry to an approved home, with
//! training, the standard investigation, the network-home track, support
//! after approval, and the national matching standard (DESIGN.md §5
//! "recruitment", docs/recruitment.md, docs/matching.md).
//!
//! * `domain/` — the pipeline's pure rules;
//! * `matching/` — the matching core: needs profiles, hard constraints, the
//!   weighted and explained score, the in-memory read model of the
//!   registry's homes, night mode, follow-up and information packages.
//!
//! * `store/` — SQL, one module per aggregate (kit's document store);
//! * `service/` — the operations: authorize, validate, apply, write with
//!   audit and events (kit's service skeleton);
//! * `grpc/` — the tonic services adapting `samling.recruitment.v1`;
//! * `config` — its section of the configuration, `[recruitment]`;
//! * [`module`] — recruitment as the `samling` binary runs it.
#![forbid(unsafe_code)]

pub mod client;
pub mod config;
pub mod domain;
pub mod grpc;
pub mod matching;
pub mod registry_feed;
pub mod service;
pub mod store;

pub use service::Recruitment;

use samling_kit::config::Config;
use samling_kit::error::KitError;
use samling_kit::module::{BoxFuture, Instance, Module};
use samling_kit::reference::RegionMap;
use std::sync::Arc;

/// The service's name: `--target recruitment`, `[recruitment]`,
/// `[regions.<r>] recruitment = …`, `<region>/recruitment.db`.
pub const NAME: &str = "recruitment";

/// The gRPC service name, for health checks.
pub const SERVICE_NAME: &str = "samling.recruitment.v1.RecruitmentService";

/// Recruitment's migrations (applied after kit's own).
pub const MIGRATIONS: &[samling_kit::db::Migration] = &[
    samling_kit::db::Migration {
        name: "recruitment/0001_cases",
        sql: include_str!("../migrations/0001_cases.sql"),
    },
    samling_kit::db::Migration {
        name: "recruitment/0002_support",
        sql: include_str!("../migrations/0002_support.sql"),
    },
    samling_kit::db::Migration {
        name: "recruitment/0003_matching",
        sql: include_str!("../migrations/0003_matching.sql"),
    },
];

/// Recruitment as the binary's module list sees it.
pub fn module() -> Module {
    Module {
        name: NAME,
        grpc_service: SERVICE_NAME,
        migrations: MIGRATIONS,
        open: open_service,
        check_config: |cfg| cfg.section::<config::RecruitmentConfig>(NAME).map(drop),
    }
}

fn open_service<'a>(
    cfg: &'a Config,
    region: &'a str,
    regions: Arc<RegionMap>,
) -> BoxFuture<'a, Result<Box<dyn Instance>, KitError>> {
    Box::pin(async move {
        let svc = open(cfg, region, regions.clone()).await?;
        let matching = open_matching(cfg, region, svc.clone())?;
        let follower = matching
            .follow_registry(
                &samling_kit::module::endpoint_of(cfg, &regions, "registry", region)?,
                samling_kit::tls::Tls::from_config(&cfg.tls)?.as_ref(),
                samling_kit::auth::ContextSigner::load(&cfg.context_key_file())?,
            )
            .map_err(|e| KitError::Internal(e.to_string()))?;
        Ok(Box::new(Opened {
            recruitment: svc,
            matching,
            follower: Some(follower),
        }) as Box<dyn Instance>)
    })
}

/// Recruitment with its matching service, as the binary runs it: both gRPC
/// services on one port, and the read model following the registry.
pub struct Opened {
    pub recruitment: Recruitment,
    pub matching: service::matching::Matching,
    /// The read model following the registry's feed (kit's consumer).
    follower: Option<service::matching::Follower>,
}

impl Instance for Opened {
    fn store(&self) -> &samling_kit::db::Store {
        &self.recruitment.store
    }

    /// Followers' event streams never end by themselves: ended at the stop,
    /// with the registry's feed consumer and the read model's follower.
    fn on_stop(&self) -> Box<dyn FnOnce() + Send> {
        let feed = self.recruitment.feed.clone();
        let registry = self.recruitment.registry_feed.as_ref().map(|h| h.stopper());
        let follower = self.follower.as_ref().map(|f| f.stopper());
        Box::new(move || {
            if let Some(r) = registry {
                r.stop();
            }
            if let Some(f) = follower {
                f.stop();
            }
            feed.close();
        })
    }

    fn add_to(
        self: Box<Self>,
        router: samling_kit::grpc::Router,
        verifier: &samling_kit::auth::ContextVerifier,
    ) -> samling_kit::grpc::Router {
        router
            .add_service(grpc::server(self.recruitment, verifier.clone()))
            .add_service(grpc::matching::server(self.matching, verifier.clone()))
    }
}

/// The matching service of an opened region: its weights (the configured
/// file or the built-in standard), the region's registry as the read
/// model's source, the other regions for a national ranking.
pub fn open_matching(
    cfg: &Config,
    region: &str,
    rec: Recruitment,
) -> Result<service::matching::Matching, KitError> {
    use service::matching::{GrpcRegistry, Matching, Peers};
    let conf = cfg
        .section::<config::RecruitmentConfig>(NAME)
        .map_err(|e| KitError::invalid(NAME, e.to_string()))?;
    let weights = match &conf.matching.config_file {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                KitError::invalid("recruitment.matching.config_file", e.to_string())
            })?;
            matching::MatchingConfig::from_toml(&text)
                .map_err(|e| KitError::invalid("recruitment.matching.config_file", e.to_string()))?
        }
        None => matching::MatchingConfig::default(),
    };
    let tls = samling_kit::tls::Tls::from_config(&cfg.tls)?;
    let signer = samling_kit::auth::ContextSigner::load_or_create(&cfg.context_key_file())?;
    let map = rec.regions.clone();
    let registry = GrpcRegistry {
        endpoint: samling_kit::module::endpoint_of(cfg, &map, "registry", region)?,
        tls: tls.clone(),
        signer: signer.clone(),
        sub: format!("recruitment/{region}"),
    };
    let mut others = Vec::new();
    for r in map.regions() {
        if r.id.as_str() != region {
            others.push((
                r.id.as_str().to_string(),
                samling_kit::module::endpoint_of(cfg, &map, NAME, r.id.as_str())?,
            ));
        }
    }
    let peers = Peers {
        regions: others,
        signer: Some(signer),
        tls,
        deadline: std::time::Duration::from_millis(
            conf.matching.national_deadline_ms.unwrap_or(2000),
        ),
    };
    Ok(Matching::new(
        rec,
        weights,
        std::sync::Arc::new(registry),
        peers,
    ))
}

/// Open (and migrate) one region's recruitment store as configured.
pub async fn open(
    cfg: &Config,
    region: &str,
    regions: Arc<RegionMap>,
) -> Result<Recruitment, KitError> {
    let conf = cfg
        .section::<config::RecruitmentConfig>(NAME)
        .map_err(|e| KitError::invalid(NAME, e.to_string()))?;
    let store = samling_kit::module::open_store(cfg, NAME, region, MIGRATIONS).await?;
    let region_id = regions
        .parse_region(region)
        .map_err(|e| KitError::invalid("region", e.to_string()))?;
    let tokens = service::intake::form_tokens(cfg, &conf, &conf.rules)
        .map_err(|e| KitError::invalid("recruitment.form_token_key_file", e.to_string()))?;
    let registry = service::registry_link::RegistryLink::with_key_file(
        samling_kit::module::endpoint_of(cfg, &regions, "registry", region)?,
        samling_kit::tls::Tls::from_config(&cfg.tls)?,
        cfg.context_key_file(),
    );
    let svc = Recruitment::new(
        store,
        conf.rules,
        regions.clone(),
        samling_kit::dates::Clock::system(),
    )
    .for_region(region_id)
    .with_form_tokens(tokens)
    .with_registry(registry);
    // The handler holds a copy without the handle: no cycle keeps it alive.
    let feed = registry_feed::follow(&svc, cfg, region, &regions)?;
    let mut svc = svc;
    svc.registry_feed = Some(Arc::new(feed));
    Ok(svc)
}
