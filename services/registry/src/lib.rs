//! The registry service: the national family-home register
//! (familjehemsregister) of one region.
//!
//! * `domain/` — the rules, pure functions over values;
//! * `store/` — SQL (SQLite and PostgreSQL through `sqlx::Any`);
//! * `service/` — the operations: authorize, validate, apply, write with audit and events;
//! * `grpc/` — the tonic service adapting `samling.registry.v1` to `service`;
//! * `client` — a typed client for regional offices' tools and other services;
//! * `import` — CSV import/export of homes.
//!
//! Demo data is not here: it is in the tools crate (`samling-tools`).
#![forbid(unsafe_code)]

pub mod client;
pub mod domain;
pub mod grpc;
pub mod import;
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
];

/// The gRPC service name, for health checks.
pub const SERVICE_NAME: &str = "samling.registry.v1.RegistryService";

/// Open (and migrate) one region's registry store as configured.
pub async fn open(
    cfg: &samling_kit::config::Config,
    region: &str,
    regions: std::sync::Arc<samling_kit::reference::RegionMap>,
) -> Result<Registry, samling_kit::error::KitError> {
    let target = samling_kit::db::DbTarget::for_service(cfg, "registry", region);
    let options = samling_kit::db::StoreOptions::from(&cfg.database);
    let store = samling_kit::db::Store::open_with(&target, &options, &[MIGRATIONS]).await?;
    let store = samling_kit::audit::key_store(store, cfg, "registry", region).await?;
    let region_id = regions
        .parse_region(region)
        .map_err(|e| samling_kit::error::KitError::invalid("region", e.to_string()))?;
    Ok(Registry::new(store, domain::Rules::from(&cfg.registry), regions).for_region(region_id))
}
