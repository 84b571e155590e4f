//! The registry service: the national family-home register
//! (familjehemsregister) of one region.
//!
//! * `domain/` — the rules, pure functions over values;
//! * `store/` — SQL (SQLite and PostgreSQL through `sqlx::Any`);
//! * `service/` — the operations: authorize, validate, apply, write with audit and events;
//! * `grpc/` — the tonic service adapting `samling.registry.v1` to `service`;
//! * `client` — a typed client for regional offices' tools and other services;
//! * `import` — CSV import/export of homes;
//! * `config` — its section of the configuration, `[registry]`;
//! * [`module`] — the registry as the `samling` binary runs it.
//!
//! Demo data is not here: it is in the tools crate (`samling-tools`).
#![forbid(unsafe_code)]

pub mod client;
pub mod config;
pub mod domain;
pub mod grpc;
pub mod import;
pub mod ombud_feed;
pub mod peers;
pub mod service;
pub mod store;

pub use service::Registry;

/// The registry's migrations (applied after kit's own).
pub const MIGRATIONS: &[samling_kit::db::Migration] = &[
    samling_kit::db::Migration {
        name: "registry/0001_init",
        sql: include_str!("../migrations/0001_registry.sql"),
    },
    samling_kit::db::Migration {
        name: "registry/0002_actors",
        sql: include_str!("../migrations/0002_registry_actors.sql"),
    },
    samling_kit::db::Migration {
        name: "registry/0003_regions",
        sql: include_str!("../migrations/0003_registry_regions.sql"),
    },
    samling_kit::db::Migration {
        name: "registry/0004_decisions",
        sql: include_str!("../migrations/0004_registry_decisions.sql"),
    },
    samling_kit::db::Migration {
        name: "registry/0005_evidence",
        sql: include_str!("../migrations/0005_registry_evidence.sql"),
    },
    samling_kit::db::Migration {
        name: "registry/0006_placements_over_time",
        sql: include_str!("../migrations/0006_registry_placements_over_time.sql"),
    },
    samling_kit::db::Migration {
        name: "registry/0007_ombud_assignments",
        sql: include_str!("../migrations/0007_registry_ombud_assignments.sql"),
    },
];

/// The gRPC service name, for health checks.
pub const SERVICE_NAME: &str = "samling.registry.v1.RegistryService";

/// The service's name: `--target registry`, `[registry]`, `[regions.<r>]
/// registry = …`, `<region>/registry.db`.
pub const NAME: &str = "registry";

/// The registry as the binary's module list sees it.
pub fn module() -> samling_kit::module::Module {
    samling_kit::module::Module {
        name: NAME,
        grpc_service: SERVICE_NAME,
        migrations: MIGRATIONS,
        open: open_service,
        check_config: |cfg| cfg.section::<config::RegistryConfig>(NAME).map(drop),
    }
}

fn open_service<'a>(
    cfg: &'a samling_kit::config::Config,
    region: &'a str,
    regions: std::sync::Arc<samling_kit::reference::RegionMap>,
) -> samling_kit::module::BoxFuture<
    'a,
    Result<Box<dyn samling_kit::module::Instance>, samling_kit::error::KitError>,
> {
    Box::pin(async move {
        let registry = open(cfg, region, regions).await?;
        Ok(Box::new(registry) as Box<dyn samling_kit::module::Instance>)
    })
}

impl samling_kit::module::Instance for Registry {
    fn store(&self) -> &samling_kit::db::Store {
        &self.store
    }

    /// Followers' event streams never end by themselves: ended at the stop,
    /// or the graceful stop would wait for them.
    fn on_stop(&self) -> Box<dyn FnOnce() + Send> {
        let feed = self.feed.clone();
        let ombud = self.ombud_feed.as_ref().map(|h| h.stopper());
        Box::new(move || {
            if let Some(o) = ombud {
                o.stop();
            }
            feed.close()
        })
    }

    fn add_to(
        self: Box<Self>,
        router: samling_kit::grpc::Router,
        verifier: &samling_kit::auth::ContextVerifier,
    ) -> samling_kit::grpc::Router {
        router.add_service(grpc::server(*self, verifier.clone()))
    }
}

/// Open (and migrate) one region's registry store as configured.
pub async fn open(
    cfg: &samling_kit::config::Config,
    region: &str,
    regions: std::sync::Arc<samling_kit::reference::RegionMap>,
) -> Result<Registry, samling_kit::error::KitError> {
    let rules = cfg
        .section::<config::RegistryConfig>(NAME)
        .map_err(|e| samling_kit::error::KitError::invalid(NAME, e.to_string()))?;
    let store = samling_kit::module::open_store(cfg, NAME, region, MIGRATIONS).await?;
    let region_id = regions
        .parse_region(region)
        .map_err(|e| samling_kit::error::KitError::invalid("region", e.to_string()))?;
    let mut registry =
        Registry::new(store, domain::Rules::from(&rules), regions.clone()).for_region(region_id);
    connect_peers(&registry, cfg, &rules, region, &regions)?;
    // The handler holds a copy without the handle: no cycle keeps it alive.
    let ombud = ombud_feed::follow(&registry, cfg, region, &regions)?;
    registry.ombud_feed = Some(std::sync::Arc::new(ombud));
    let indexed = registry
        .index_identities()
        .await
        .map_err(|e| samling_kit::error::KitError::Internal(e.to_string()))?;
    if indexed > 0 {
        tracing::info!(%region, indexed, "keyed identities indexed for other regions' duplicate checks");
    }
    Ok(registry)
}

/// The other regions' registers (ADR 0021): where each is (configured as
/// `[regions.<r>] registry = "<url>"`, or the region's port on this
/// machine), the key calls to them are signed with (this process's context
/// key: each verifier must accept it), mTLS when configured, and the
/// national identity key.
fn connect_peers(
    registry: &Registry,
    cfg: &samling_kit::config::Config,
    rules: &config::RegistryConfig,
    region: &str,
    regions: &samling_kit::reference::RegionMap,
) -> Result<(), samling_kit::error::KitError> {
    let peers = registry.peers();
    if let Ok(signer) = samling_kit::auth::ContextSigner::load(&cfg.context_key_file()) {
        peers.set_signer(signer);
    }
    peers.set_tls(samling_kit::tls::Tls::from_config(&cfg.tls)?);
    let key_file = rules
        .identity_key_file
        .clone()
        .unwrap_or_else(|| cfg.data_dir.join("keys").join("registry-identity.key"));
    // The same 32-byte hex format as the audit chain key (created 0600).
    samling_kit::audit::ChainKey::load_or_create(&key_file)?;
    let text = std::fs::read_to_string(&key_file).map_err(|e| {
        samling_kit::error::KitError::Internal(format!(
            "cannot read the identity key {} (registry.identity_key_file): {e}",
            key_file.display()
        ))
    })?;
    let key = peers::IdentityKey::from_hex(&text).map_err(|_| {
        samling_kit::error::KitError::invalid(
            "registry.identity_key_file",
            "must hold 32 bytes of hex",
        )
    })?;
    peers.set_identity_key(key);
    let me = module();
    for other in regions.regions() {
        let other = other.id.as_str();
        let configured = cfg.regions.get(other).is_some_and(|r| r.contains_key(NAME));
        // Ephemeral ports (base port 0) are known only once bound: such a
        // process names its registers in `[regions.<r>]` or has none.
        if other == region || (!configured && cfg.listen.grpc_base_port == 0) {
            continue;
        }
        peers.add(other, &me.endpoint(cfg, regions, other)?);
    }
    Ok(())
}
