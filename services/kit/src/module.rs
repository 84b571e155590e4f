//! One service as the `samling` binary sees it.
//!
//! The binary keeps one list of modules (`src/modules.rs`), the way Loki and
//! Quickwit register their targets; `serve`, `migrate`, `audit verify`,
//! `store check`, health and endpoint resolution iterate it and name no
//! service themselves. A service crate exposes one `pub fn module() ->
//! Module`. What a module says about its service:
//!
//! * its [name](Module::name): the `--target` value, the config section
//!   (`[<name>]`, read with [`Config::section`]), the key of its endpoint in
//!   `[regions.<region>]`, its store (`<data_dir>/<region>/<name>.db`, schema
//!   `<prefix><name>_<region>`) and its audit checkpoint file;
//! * its [gRPC service name](Module::grpc_service), whose grpc.health.v1
//!   status follows its store;
//! * its [migrations](Module::migrations) (applied after kit's own);
//! * how to [open](Module::open) it for one region: its store opened,
//!   migrated and keyed, as a [`Instance`] that adds its tonic service(s) to
//!   the region's server;
//! * how to [check its config section](Module::check_config), so a typo
//!   fails at start whatever the command;
//! * its [endpoint](Module::endpoint) in a region: `[regions.<region>]
//!   <name> = "<url>"`, else the region's own port on this machine
//!   (`listen.grpc_base_port + i`, where one process serves every service of
//!   region number i).

use crate::auth::ContextVerifier;
use crate::config::{Config, ConfigError};
use crate::db::{Migration, Store};
use crate::error::KitError;
use crate::grpc::Router;
use crate::reference::RegionMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

/// A boxed future (what a module's `open` returns). Not `Send`: opening a
/// store runs sqlx futures whose `Send` rustc cannot prove behind a
/// higher-ranked lifetime ("implementation of `Executor` is not general
/// enough"); the binary opens its services on its main task anyway.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// Opens (creates, migrates) one region's service as configured:
/// `(config, region id, the region map)`.
pub type OpenFn = for<'a> fn(
    &'a Config,
    &'a str,
    Arc<RegionMap>,
) -> BoxFuture<'a, Result<Box<dyn Instance>, KitError>>;

/// One service of the platform, as the binary runs it. See the module docs.
#[derive(Clone, Copy)]
pub struct Module {
    /// `registry`: lowercase ASCII letters, digits and `-` (a file name, a
    /// schema name part, a TOML key and a `--target` value).
    pub name: &'static str,
    /// `samling.registry.v1.RegistryService`: the health status the store
    /// probe sets, and what clients check.
    pub grpc_service: &'static str,
    /// The service's own migrations, applied after kit's.
    pub migrations: &'static [Migration],
    /// Open one region's service.
    pub open: OpenFn,
    /// Parse the service's config section (`[<name>]`); a section that does
    /// not parse is an error naming the field.
    pub check_config: fn(&Config) -> Result<(), ConfigError>,
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module")
            .field("name", &self.name)
            .field("grpc_service", &self.grpc_service)
            .field("migrations", &self.migrations.len())
            .finish_non_exhaustive()
    }
}

impl Module {
    /// The config section the service reads (`[registry]`).
    pub fn config_section(&self) -> &'static str {
        self.name
    }

    /// Where the service of `region` is reached: `[regions.<region>]
    /// <name> = "<url>"` when configured, else the region's port on this
    /// machine ([`region_grpc_addr`]).
    pub fn endpoint(
        &self,
        cfg: &Config,
        map: &RegionMap,
        region: &str,
    ) -> Result<String, KitError> {
        endpoint_of(cfg, map, self.name, region)
    }
}

/// The store of service `name` in `region` as configured (`[database]`,
/// `<region>/<name>.db` or its PostgreSQL schema): opened, created if
/// needed, migrated with kit's and the service's `migrations`, and its
/// audit chain keyed (ADR 0015). Every service's `open` starts here.
pub async fn open_store(
    cfg: &Config,
    name: &str,
    region: &str,
    migrations: &[Migration],
) -> Result<Store, KitError> {
    let target = crate::db::DbTarget::for_service(cfg, name, region);
    let options = crate::db::StoreOptions::from(&cfg.database);
    let store = Store::open_with(&target, &options, &[migrations]).await?;
    crate::audit::key_store(store, cfg, name, region).await
}

/// Where the service named `name` of `region` is reached (see
/// [`Module::endpoint`]): what one service uses to call another without
/// linking its crate.
pub fn endpoint_of(
    cfg: &Config,
    map: &RegionMap,
    name: &str,
    region: &str,
) -> Result<String, KitError> {
    if let Some(url) = cfg.regions.get(region).and_then(|r| r.get(name)) {
        return Ok(url.clone());
    }
    let index = map
        .regions()
        .iter()
        .position(|r| r.id.as_str() == region)
        .ok_or_else(|| {
            KitError::invalid("region", format!("{region:?} is not in the region map"))
        })?;
    Ok(format!("http://{}", region_grpc_addr(cfg, index)?))
}

/// The gRPC address region number `index` (in region-map order) listens on:
/// `listen.host`, port `listen.grpc_base_port + index`. Base port 0 gives
/// every region an ephemeral port (benches, tests), not the ports 1, 2, …
/// after it.
pub fn region_grpc_addr(cfg: &Config, index: usize) -> Result<SocketAddr, KitError> {
    let port = match cfg.listen.grpc_base_port {
        0 => 0,
        base => u16::try_from(index)
            .ok()
            .and_then(|i| base.checked_add(i))
            .ok_or_else(|| {
                KitError::invalid(
                    "listen.grpc_base_port",
                    "the base port plus the region's index is over 65535",
                )
            })?,
    };
    format!("{}:{port}", cfg.listen.host)
        .parse()
        .map_err(|_| KitError::invalid("listen.host", "is not an IP address"))
}

/// One region's service, opened: the binary probes, checkpoints, sweeps and
/// closes its store, and serves it on the region's port.
pub trait Instance: Send {
    /// The service's store.
    fn store(&self) -> &Store;

    /// What to do when the server stops, before it drains: end what a
    /// graceful stop would otherwise wait for (followers' event streams).
    fn on_stop(&self) -> Box<dyn FnOnce() + Send> {
        Box::new(|| {})
    }

    /// Add the service's tonic service(s) to the region's `router`, callers
    /// authenticated by their signed context with `verifier`.
    fn add_to(self: Box<Self>, router: Router, verifier: &ContextVerifier) -> Router;
}

/// Check a module list: names well formed and unique, none of them a
/// word `--target` gives its own meaning (`all`, `gateway`).
pub fn check_list(modules: &[Module]) -> Result<(), String> {
    let mut seen = std::collections::BTreeSet::new();
    for m in modules {
        let well_formed = !m.name.is_empty()
            && m.name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !m.name.starts_with('-');
        if !well_formed {
            return Err(format!(
                "module name {:?}: lowercase letters, digits and '-' only",
                m.name
            ));
        }
        if matches!(m.name, "all" | "gateway") {
            return Err(format!("module name {:?} is reserved", m.name));
        }
        if !seen.insert(m.name) {
            return Err(format!("module {:?} is listed twice", m.name));
        }
        if m.grpc_service.is_empty() {
            return Err(format!("module {:?}: no gRPC service name", m.name));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open_nothing<'a>(
        _: &'a Config,
        _: &'a str,
        _: Arc<RegionMap>,
    ) -> BoxFuture<'a, Result<Box<dyn Instance>, KitError>> {
        Box::pin(async { Err(KitError::Internal("not opened in this test".into())) })
    }

    fn module(name: &'static str) -> Module {
        Module {
            name,
            grpc_service: "samling.x.v1.XService",
            migrations: &[],
            open: open_nothing,
            check_config: |_| Ok(()),
        }
    }

    #[test]
    fn the_endpoint_is_the_configured_one_else_the_regions_port() {
        let map = RegionMap::default_map();
        let second = map.regions()[1].id.as_str().to_string();
        let mut cfg = Config::from_toml(&format!(
            "[listen]\ngrpc_base_port = 7000\n[regions.{second}]\nx = \"http://x.example:1\"\n"
        ))
        .unwrap();
        let x = module("x");
        assert_eq!(
            x.endpoint(&cfg, map, &second).unwrap(),
            "http://x.example:1"
        );
        // Another service of the same region: the region's port here.
        assert_eq!(
            module("y").endpoint(&cfg, map, &second).unwrap(),
            "http://127.0.0.1:7001"
        );
        let e = x.endpoint(&cfg, map, "atlantis").unwrap_err().to_string();
        assert!(e.contains("atlantis"), "{e}");
        cfg.listen.grpc_base_port = u16::MAX;
        let e = module("y")
            .endpoint(&cfg, map, &second)
            .unwrap_err()
            .to_string();
        assert!(e.contains("listen.grpc_base_port"), "{e}");
    }

    #[test]
    fn base_port_zero_gives_every_region_an_ephemeral_port() {
        let mut cfg = Config::default();
        cfg.listen.grpc_base_port = 0;
        assert_eq!(region_grpc_addr(&cfg, 0).unwrap().port(), 0);
        assert_eq!(region_grpc_addr(&cfg, 3).unwrap().port(), 0);
        cfg.listen.grpc_base_port = 7000;
        assert_eq!(region_grpc_addr(&cfg, 3).unwrap().port(), 7003);
    }

    #[test]
    fn a_list_with_a_reserved_twice_named_or_malformed_module_is_refused() {
        assert!(check_list(&[module("registry"), module("ombud")]).is_ok());
        for (list, word) in [
            (vec![module("registry"), module("registry")], "twice"),
            (vec![module("gateway")], "reserved"),
            (vec![module("all")], "reserved"),
            (vec![module("Registry")], "lowercase"),
            (vec![module("")], "lowercase"),
        ] {
            let e = check_list(&list).unwrap_err();
            assert!(e.contains(word), "{e}");
        }
    }
}
