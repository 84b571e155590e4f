//! `samling serve`: run the chosen targets for the chosen regions.
//!
//! Region number i (in region-map order) serves gRPC on `grpc_base_port + i`,
//! with every selected service of that region on the one port (health and
//! reflection included). Each region has its own stores. The same code runs
//! a single service of a single region in the distributed deployment. The
//! services are those of the module list (`crate::modules`); nothing here
//! names one.

use anyhow::Context;
use samling_gateway::regions::ServiceEndpoint;
use samling_kit::auth::{ContextSigner, ContextVerifier};
use samling_kit::config::Config;
use samling_kit::module::Module;
use samling_kit::reference::RegionMap;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::watch;

/// What one process runs: `--target all` (every service and the gateway),
/// or a comma list of service names and `gateway` (`registry,gateway`).
#[derive(Debug, Clone)]
pub struct Target {
    /// The services served, in module-list order.
    pub services: Vec<Module>,
    pub gateway: bool,
}

impl Target {
    /// Parse `--target` against the module list.
    pub fn parse(spec: &str) -> Result<Target, String> {
        Self::parse_in(spec, &crate::modules::all())
    }

    /// Parse `--target` against `modules`; an unknown word is an error
    /// listing the known ones.
    pub fn parse_in(spec: &str, modules: &[Module]) -> Result<Target, String> {
        let known = || {
            std::iter::once("all")
                .chain(modules.iter().map(|m| m.name))
                .chain(std::iter::once("gateway"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut chosen = vec![false; modules.len()];
        let mut gateway = false;
        let mut any = false;
        for word in spec.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            any = true;
            match word {
                "all" => {
                    chosen.iter_mut().for_each(|c| *c = true);
                    gateway = true;
                }
                "gateway" => gateway = true,
                name => match modules.iter().position(|m| m.name == name) {
                    Some(i) => chosen[i] = true,
                    None => return Err(format!("unknown target {name:?}; known: {}", known())),
                },
            }
        }
        if !any {
            return Err(format!("name at least one target; known: {}", known()));
        }
        let services = modules
            .iter()
            .zip(chosen)
            .filter(|(_, c)| *c)
            .map(|(m, _)| *m)
            .collect();
        Ok(Target { services, gateway })
    }

    fn serves(&self, name: &str) -> bool {
        self.services.iter().any(|m| m.name == name)
    }
}

/// The region map in force: configured, or the reference default.
pub fn region_map(cfg: &Config) -> anyhow::Result<Arc<RegionMap>> {
    Ok(Arc::new(match &cfg.region_map_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            RegionMap::from_csv(&text).with_context(|| format!("region map {}", path.display()))?
        }
        None => RegionMap::default_map().clone(),
    }))
}

/// Parse `--regions all|a,b` against the map; returns (index, id) pairs.
pub fn select_regions(map: &RegionMap, spec: &str) -> anyhow::Result<Vec<(usize, String)>> {
    let all: Vec<String> = map
        .regions()
        .into_iter()
        .map(|r| r.id.as_str().to_string())
        .collect();
    if spec.trim() == "all" {
        return Ok(all.into_iter().enumerate().collect());
    }
    let mut out = Vec::new();
    for s in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let idx = all.iter().position(|r| r == s).with_context(|| {
            format!("--regions: unknown region {s:?}; known: {}", all.join(", "))
        })?;
        out.push((idx, s.to_string()));
    }
    anyhow::ensure!(!out.is_empty(), "--regions: name at least one region");
    Ok(out)
}

/// The gRPC address of a region (see `samling_kit::module::region_grpc_addr`).
pub fn grpc_addr(cfg: &Config, index: usize) -> anyhow::Result<SocketAddr> {
    Ok(samling_kit::module::region_grpc_addr(cfg, index)?)
}

/// Where `service` of `region` is reached: configured, or this machine's default.
pub fn endpoint(
    cfg: &Config,
    map: &RegionMap,
    service: &Module,
    region: &str,
) -> anyhow::Result<String> {
    Ok(service.endpoint(cfg, map, region)?)
}

/// The auth-context key: the verifier accepts it plus any configured extra keys.
pub fn context_keys(
    cfg: &Config,
    create: bool,
) -> anyhow::Result<(ContextSigner, ContextVerifier)> {
    let path = cfg.context_key_file();
    let signer = if create {
        ContextSigner::load_or_create(&path)
    } else {
        ContextSigner::load(&path)
    }
    .map_err(|e| {
        anyhow::anyhow!("{e} (run `samling serve` once to create it, or set auth.context_key_file)")
    })?;
    let verifier = signer
        .verifier()
        .with_extra_keys(&cfg.auth.context_public_keys)?;
    Ok((signer, verifier))
}

/// A running set of regions; dropped or `shutdown()` stops them.
pub struct Running {
    pub addrs: Vec<(String, SocketAddr)>,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<anyhow::Result<()>>>,
    /// Work that finishes after the servers (the audit checkpoint's last write).
    after: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        for t in std::mem::take(&mut self.tasks) {
            t.await??;
        }
        self.finish_after().await;
        Ok(())
    }

    /// Let the background work's last step (a final audit checkpoint) finish,
    /// within a bound.
    async fn finish_after(&mut self) {
        let after = futures::future::join_all(std::mem::take(&mut self.after));
        if tokio::time::timeout(std::time::Duration::from_secs(5), after)
            .await
            .is_err()
        {
            tracing::warn!("the final audit checkpoints did not finish within 5 s");
        }
    }

    /// Serve until SIGINT/SIGTERM (then drain gracefully) or until a server
    /// fails (then stop the others and report the failure).
    pub async fn until_signal(mut self) -> anyhow::Result<()> {
        let tasks = std::mem::take(&mut self.tasks);
        let mut first_done = Box::pin(futures::future::select_all(tasks.into_iter().map(Box::pin)));
        tokio::select! {
            (first, _, rest) = &mut first_done => {
                let _ = self.stop.send(true);
                for t in rest {
                    let _ = t.await;
                }
                first??;
                anyhow::bail!("a server stopped unexpectedly");
            }
            _ = shutdown_signal() => {
                tracing::info!("shutting down: draining in-flight calls");
                let _ = self.stop.send(true);
                let (first, _, rest) = first_done.await;
                first??;
                for t in rest {
                    t.await??;
                }
                self.finish_after().await;
                Ok(())
            }
        }
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Start the target's services in every selected region, and the gateway
/// if it is one. Listeners are bound before this returns, so callers can
/// connect at once.
pub async fn start(cfg: &Config, target: &Target, regions: &str) -> anyhow::Result<Running> {
    let modules = crate::modules::all();
    let map = region_map(cfg)?;
    let selected = select_regions(&map, regions)?;
    let (_, verifier) = context_keys(cfg, true)?;
    // The data dir (stores, dev keys, checkpoints) is for this service's
    // user only. Best effort: a mounted volume's root may not be ours to chmod.
    for dir in [cfg.data_dir.clone(), cfg.data_dir.join("keys")] {
        if dir.exists()
            && let Err(e) = samling_kit::db::create_private_dir(&dir)
        {
            tracing::warn!(error = %e, "the data directory stays readable by others");
        }
    }
    // mTLS on every gRPC server and client when configured (distributed
    // mode), re-read as its files are renewed.
    let tls = samling_kit::tls::Tls::from_config(&cfg.tls).context("tls")?;
    if let Some(tls) = &tls {
        tls.watch(std::time::Duration::from_secs(cfg.tls.reload_interval_secs));
    }
    let (stop, stop_rx) = watch::channel(false);
    let mut addrs = Vec::new();
    let mut tasks = Vec::new();
    let drain = Some(std::time::Duration::from_secs(cfg.listen.drain_secs));
    let health_names: Vec<&str> = target.services.iter().map(|m| m.grpc_service).collect();
    // The plaintext probe port reports what the first region's store probes find.
    let health_only = match &cfg.listen.health_addr {
        Some(addr) if !target.services.is_empty() => Some((
            addr.clone(),
            samling_kit::grpc::health_reporting(&health_names).await?,
        )),
        _ => None,
    };
    let mut endpoints = Vec::new();
    let mut after = Vec::new();
    for (idx, region) in selected {
        if target.services.is_empty() {
            for m in &modules {
                endpoints.push(ServiceEndpoint::new(
                    &region,
                    m.name,
                    endpoint(cfg, &map, m, &region)?,
                ));
            }
            continue;
        }
        let (reporter, health, reflection) =
            samling_kit::grpc::health_reporting(&health_names).await?;
        let mut reporters = vec![reporter];
        if addrs.is_empty()
            && let Some((_, (probe_reporter, _, _))) = &health_only
        {
            reporters.push(probe_reporter.clone());
        }
        let mut router = samling_kit::grpc::server_builder()
            .add_service(health)
            .add_service(reflection);
        let mut on_stop = Vec::new();
        for module in &target.services {
            let name = module.name;
            let service = (module.open)(cfg, &region, map.clone())
                .await
                .with_context(|| format!("opening the {name} store of region {region}"))?;
            let store = service.store().clone();
            samling_kit::health::spawn_store_probe(
                store.clone(),
                format!("{name}/{region}"),
                samling_kit::health::HealthTargets {
                    reporters: reporters.clone(),
                    services: vec![module.grpc_service.into()],
                },
                std::time::Duration::from_secs(cfg.database.probe_interval_secs),
                std::time::Duration::from_secs(cfg.database.integrity_check_interval_secs),
                stop_rx.clone(),
            );
            if let Some(key) = store.audit_key.clone() {
                after.push(samling_kit::audit::spawn_checkpointer(
                    store.clone(),
                    key,
                    samling_kit::audit::CheckpointFile::for_service(cfg, name, &region),
                    std::time::Duration::from_secs(cfg.audit.checkpoint_interval_secs),
                    stop_rx.clone(),
                ));
            }
            samling_kit::idempotency::spawn_sweeper(
                store,
                std::time::Duration::from_secs(cfg.database.idempotency_retention_days * 86_400),
                stop_rx.clone(),
            );
            on_stop.push(service.on_stop());
            router = service.add_to(router, &verifier);
        }
        let addr = grpc_addr(cfg, idx)?;
        let listener = samling_kit::grpc::bind(
            addr,
            "listen.grpc_base_port or SAMLING_GRPC_BASE_PORT (region i listens on base + i)",
        )
        .await?;
        let addr = listener.local_addr()?;
        let names: Vec<&str> = target.services.iter().map(|m| m.name).collect();
        tracing::info!(%region, %addr, services = %names.join(","), mtls = tls.is_some(), "serving gRPC");
        addrs.push((region.clone(), addr));
        // In one process the gateway reaches the region's services where
        // they really listen; the others where they are configured.
        for m in &modules {
            let url = if target.serves(m.name) {
                format!("http://{addr}")
            } else {
                endpoint(cfg, &map, m, &region)?
            };
            endpoints.push(ServiceEndpoint::new(&region, m.name, url));
        }
        let mut rx = stop_rx.clone();
        let tls = tls.clone();
        tasks.push(tokio::spawn(async move {
            let shutdown = async move {
                let _ = rx.wait_for(|s| *s).await;
                for stop in on_stop {
                    stop();
                }
            };
            samling_kit::grpc::serve_draining(router, listener, tls.as_ref(), shutdown, drain)
                .await
                .with_context(|| format!("{} of region {region}", names.join(",")))
        }));
    }
    if let Some((addr, (_, health, _))) = health_only {
        tasks.push(serve_health_only(&addr, health, stop_rx.clone()).await?);
    }
    if target.gateway {
        let gw = build_gateway(cfg, &endpoints, tls.as_ref()).await?;
        let addr: SocketAddr = cfg.listen.http_addr.parse().context("listen.http_addr")?;
        let listener =
            samling_kit::grpc::bind(addr, "listen.http_addr or SAMLING_HTTP_ADDR").await?;
        let addr = listener.local_addr()?;
        tracing::info!(%addr, endpoints = endpoints.len(), "gateway serving HTTP");
        addrs.push(("gateway".into(), addr));
        let mut rx = stop_rx.clone();
        tasks.push(tokio::spawn(async move {
            let shutdown = async move {
                let _ = rx.wait_for(|s| *s).await;
            };
            let (shutdown, fired) = samling_kit::grpc::signal_fired(shutdown);
            let server = samling_gateway::serve(gw, listener, shutdown);
            samling_kit::grpc::drain_within(server, fired, drain, "gateway")
                .await
                .unwrap_or(Ok(()))
                .context("gateway")
        }));
    }
    Ok(Running {
        addrs,
        stop,
        tasks,
        after,
    })
}

/// Plaintext grpc.health.v1 and nothing else on `listen.health_addr`, for
/// probes that cannot present a client certificate when mTLS is on (the
/// kubelet's gRPC probe). Statuses are those of the main port (of the first
/// region's, when one process serves several).
async fn serve_health_only(
    addr: &str,
    health: tonic_health::pb::health_server::HealthServer<
        impl tonic_health::pb::health_server::Health,
    >,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<tokio::task::JoinHandle<anyhow::Result<()>>> {
    let addr: SocketAddr = addr.parse().context("listen.health_addr")?;
    let router = samling_kit::grpc::server_builder().add_service(health);
    let listener = samling_kit::grpc::bind(addr, "listen.health_addr").await?;
    tracing::info!(addr = %listener.local_addr()?, "grpc.health.v1 (plaintext) for probes");
    Ok(tokio::spawn(async move {
        let shutdown = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        samling_kit::grpc::serve(router, listener, None, shutdown)
            .await
            .context("health listener")
    }))
}

/// The gateway in front of `endpoints` ((region, service) → URL), calling
/// them over mutual TLS when `tls` is given.
pub async fn build_gateway(
    cfg: &Config,
    endpoints: &[ServiceEndpoint],
    tls: Option<&samling_kit::tls::Tls>,
) -> anyhow::Result<Arc<samling_gateway::Gateway>> {
    let g = &cfg.gateway;
    let directory = samling_gateway::regions::Directory::for_services(
        endpoints,
        tls,
        g.breaker_failures,
        std::time::Duration::from_secs(g.breaker_open_secs),
    )?;
    let auth = samling_gateway::auth::Authenticator::from_config(&g.jwt, &cfg.data_dir)
        .await
        .context("gateway JWT keys")?;
    // A Redis that does not answer is no reason not to start: the gateway
    // runs degraded until it does (only a malformed URL fails here).
    let limits = samling_gateway::limits::open(&g.redis_url)
        .await
        .context("gateway rate-limit/idempotency store")?;
    let (signer, _) = context_keys(cfg, true)?;
    samling_gateway::Gateway::new(g.clone(), directory, auth, limits, signer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_port_zero_gives_every_region_an_ephemeral_port() {
        let mut cfg = Config::default();
        cfg.listen.host = "127.0.0.1".into();
        cfg.listen.grpc_base_port = 0;
        assert_eq!(grpc_addr(&cfg, 0).unwrap().port(), 0);
        assert_eq!(grpc_addr(&cfg, 3).unwrap().port(), 0);
        cfg.listen.grpc_base_port = 7000;
        assert_eq!(grpc_addr(&cfg, 3).unwrap().port(), 7003);
        cfg.listen.grpc_base_port = u16::MAX;
        assert!(grpc_addr(&cfg, 1).is_err());
    }

    fn names(t: &Target) -> Vec<&'static str> {
        t.services.iter().map(|m| m.name).collect()
    }

    #[test]
    fn targets_are_a_comma_list_of_services_and_the_gateway_or_all() {
        let modules = crate::modules::all();
        let every: Vec<&str> = modules.iter().map(|m| m.name).collect();
        let all = Target::parse_in("all", &modules).unwrap();
        assert!(all.gateway);
        assert_eq!(names(&all), every);
        let gw = Target::parse_in("gateway", &modules).unwrap();
        assert!(gw.gateway && gw.services.is_empty());
        let first = every[0];
        let both = Target::parse_in(&format!(" {first} , gateway,{first}"), &modules).unwrap();
        assert!(both.gateway);
        assert_eq!(names(&both), vec![first], "named once, in list order");
        let alone = Target::parse_in(first, &modules).unwrap();
        assert!(!alone.gateway);
        for bad in ["registyr", "gateway,nope"] {
            let e = Target::parse_in(bad, &modules).unwrap_err();
            assert!(e.contains("unknown target"), "{e}");
            for known in every.iter().chain(&["all", "gateway"]) {
                assert!(e.contains(known), "{e} lists {known}");
            }
        }
        let e = Target::parse_in(" , ", &modules).unwrap_err();
        assert!(e.contains("at least one"), "{e}");
    }
}
