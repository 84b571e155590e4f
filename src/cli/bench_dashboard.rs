//! `samling bench dashboard` (issue 25): demo data in every region of the
//! map (six by default, `samling seed-demo`'s generator), then the national
//! dashboard — every statistics table, one period — through the gateway as
//! a national analyst, against a floor measured in the same run: a bare
//! HTTP hop on the same loopback. Prints figures and, last, one JSON line.

use crate::serve;
use samling_gateway::auth::{IssueClaims, TokenIssuer};
use samling_gateway::regions::ServiceEndpoint;
use samling_kit::auth::{AuthContext, Role};
use samling_kit::config::Config;
use samling_registry::client::RegistryClient;
use samling_tools::demo::{self, DemoOptions};
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug, Clone)]
pub struct DashboardBench {
    /// Demo homes per region.
    #[arg(long, default_value_t = 400)]
    homes: usize,
    /// Demo children per region.
    #[arg(long, default_value_t = 300)]
    children: usize,
    /// Dashboard requests measured (one at a time).
    #[arg(long, default_value_t = 60)]
    requests: usize,
    /// Also write the JSON here.
    #[arg(long)]
    json: Option<std::path::PathBuf>,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// (p50, p95, max) in ms of `v` (sorted here).
fn spread(v: &mut [Duration]) -> (f64, f64, f64) {
    v.sort();
    let at = |p: f64| {
        let i = ((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1;
        ms(v[i])
    };
    (at(0.5), at(0.95), v.last().map(|d| ms(*d)).unwrap_or(0.0))
}

pub async fn run(base: &Config, b: DashboardBench) -> anyhow::Result<()> {
    anyhow::ensure!(b.requests >= 1, "--requests must be at least 1");
    let dir = std::env::temp_dir().join(format!(
        "samling-bench-dash-{}",
        samling_kit::ids::new_id().simple()
    ));
    let mut cfg = base.clone();
    cfg.data_dir = dir.clone();
    cfg.database.url.clear();
    cfg.listen.grpc_base_port = 0;
    cfg.tls = Default::default();
    cfg.listen.health_addr = None;
    cfg.listen.http_addr = "127.0.0.1:0".into();
    cfg.gateway.token_rate_per_minute = u32::MAX / 2;
    let map = serve::region_map(&cfg)?;
    let ids: Vec<String> = map
        .regions()
        .iter()
        .map(|r| r.id.as_str().to_string())
        .collect();
    let target = serve::Target::parse(samling_registry::NAME).map_err(anyhow::Error::msg)?;
    let running = serve::start(&cfg, &target, &ids.join(",")).await?;
    let (signer, _) = serve::context_keys(&cfg, false)?;
    println!(
        "bench dashboard: {} regions, {} demo homes and {} children each (synthetic people only)",
        ids.len(),
        b.homes,
        b.children
    );
    let seeding = Instant::now();
    for (id, addr) in &running.addrs {
        let region = map.parse_region(id)?;
        let office = AuthContext::new("bench", Role::RegionalOfficer)
            .with_region(region.as_str())
            .with_purpose("benchmark");
        let mut client =
            RegistryClient::connect(&format!("http://{addr}"), signer.clone(), office).await?;
        demo::load(
            &mut client,
            &DemoOptions {
                region,
                homes: b.homes,
                children: b.children,
                seed: 25,
            },
        )
        .await?;
    }
    println!("seeded in {:.1} s", seeding.elapsed().as_secs_f64());
    // The services that are served (the registry: the others' statistics
    // are not built into this run).
    let endpoints: Vec<ServiceEndpoint> = running
        .addrs
        .iter()
        .map(|(r, a)| ServiceEndpoint::new(r, samling_registry::NAME, format!("http://{a}")))
        .collect();
    let gw = serve::build_gateway(&cfg, &endpoints, None).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let http_addr = listener.local_addr()?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(samling_gateway::serve(gw, listener, async move {
        let _ = stop_rx.await;
    }));
    let issuer = TokenIssuer::load_or_create(&cfg.gateway.jwt, &cfg.data_dir)?;
    let token = issuer.issue(IssueClaims {
        sub: "bench-analyst".into(),
        role: Role::NationalAnalyst,
        municipality: None,
        party: None,
        region: None,
        ttl: Duration::from_secs(3600),
    })?;
    let bearer = format!("Bearer {token}");
    let today = samling_kit::dates::today();
    let from = today - chrono::Days::new(365);
    let path = format!(
        "/v1/statistics?scope=national&from={}&to={}",
        from.format("%Y-%m-%d"),
        today.format("%Y-%m-%d")
    );

    // The floor: a bare HTTP hop answering a fixed body of the same size.
    let mut conn = super::httpc::Conn::connect(http_addr).await?;
    let (status, body) = conn
        .get(&path, &[("Authorization", bearer.as_str())])
        .await?;
    anyhow::ensure!(
        status == 200,
        "the dashboard answered {status}: {}",
        String::from_utf8_lossy(&body)
    );
    let doc: serde_json::Value = serde_json::from_slice(&body)?;
    let tables = doc["tables"].as_array().map(Vec::len).unwrap_or(0);
    let partial = doc["partial"] == serde_json::json!(true);
    let fixed = body.clone();
    let floor_app = axum::Router::new().route(
        "/floor",
        axum::routing::get(move || {
            let b = fixed.clone();
            async move { b }
        }),
    );
    let floor_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let floor_addr = floor_listener.local_addr()?;
    let floor_task = tokio::spawn(async move {
        let _ = axum::serve(floor_listener, floor_app).await;
    });
    let mut floor_conn = super::httpc::Conn::connect(floor_addr).await?;

    let mut dash = Vec::with_capacity(b.requests);
    let mut floor = Vec::with_capacity(b.requests);
    for _ in 0..b.requests {
        let s = Instant::now();
        let (status, _) = conn
            .get(&path, &[("Authorization", bearer.as_str())])
            .await?;
        dash.push(s.elapsed());
        anyhow::ensure!(status == 200, "the dashboard answered {status}");
        let s = Instant::now();
        floor_conn.get("/floor", &[]).await?;
        floor.push(s.elapsed());
    }
    let (d50, d95, dmax) = spread(&mut dash);
    let (f50, f95, fmax) = spread(&mut floor);
    println!(
        "national dashboard ({tables} tables, {} regions, one year{}): p50 {d50:.1} ms, p95 {d95:.1} ms, max {dmax:.1} ms (target p95 <= 300 ms)",
        ids.len(),
        if partial { ", PARTIAL" } else { "" }
    );
    println!(
        "bare HTTP hop, same body ({} bytes): p50 {f50:.2} ms, p95 {f95:.2} ms, max {fmax:.2} ms",
        body.len()
    );
    let json = format!(
        "{{\"bench\":\"dashboard\",\"regions\":{},\"homes_per_region\":{},\"children_per_region\":{},\"tables\":{tables},\"partial\":{partial},\"requests\":{},\"body_bytes\":{},\"dashboard_ms\":{{\"p50\":{d50:.2},\"p95\":{d95:.2},\"max\":{dmax:.2}}},\"floor_ms\":{{\"p50\":{f50:.2},\"p95\":{f95:.2},\"max\":{fmax:.2}}},\"target_p95_ms\":300}}",
        ids.len(),
        b.homes,
        b.children,
        b.requests,
        body.len()
    );
    println!("{json}");
    if let Some(p) = &b.json {
        std::fs::write(p, format!("{json}\n"))?;
    }
    let _ = stop_tx.send(());
    let _ = server.await;
    floor_task.abort();
    running.shutdown().await?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
