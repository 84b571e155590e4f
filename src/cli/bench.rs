//! `samling bench registry`: load a register of realistic size into a fresh
//! in-process server on embedded SQLite and measure it over real gRPC on
//! loopback. Prints figures as text and, last, as one JSON line.

use crate::serve;
use samling_gateway::regions::ServiceEndpoint;
use samling_kit::auth::{AuthContext, Role};
use samling_kit::config::Config;
use samling_kit::dates;
use samling_kit::personnummer::luhn_check_digit;
use samling_kit::reference::MunicipalityCode;
use samling_proto::common::v1::PageRequest;
use samling_proto::registry::v1::*;
use samling_registry::client::RegistryClient;
use std::time::{Duration, Instant};

#[derive(clap::Subcommand, Debug)]
pub enum BenchCommand {
    /// Import homes, place children, then measure GetHome and SearchHomes.
    Registry(RegistryBench),
    /// The same authenticated read through the gateway and directly over
    /// gRPC; then national fan-out with one region hung.
    Gateway(GatewayBench),
    /// Rank sibling pairs over an in-memory read model of synthetic homes
    /// (the matching standard's core, as RankHomes runs it).
    Matching(MatchingBench),
    /// A month's payment run (compensation) for active placements and
    /// decided claims, with its approval and pain.001 file, on SQLite and
    /// (with `--database-url`) PostgreSQL.
    Payments(PaymentsBench),
    /// The national dashboard (every statistics table, one period) over
    /// six regions of demo data, against a bare HTTP hop (issue 25).
    Dashboard(super::bench_dashboard::DashboardBench),
}

#[derive(clap::Args, Debug, Clone)]
pub struct PaymentsBench {
    #[arg(long, default_value_t = 20_000)]
    placements: usize,
    #[arg(long, default_value_t = 5_000)]
    claims: usize,
    /// Also run on PostgreSQL at this URL (schema `bench<id>_compensation_*`,
    /// left behind for inspection).
    #[arg(long)]
    database_url: Option<String>,
    /// Also write the JSON here.
    #[arg(long)]
    json: Option<std::path::PathBuf>,
}

/// `samling bench payments`: prints each store's figures, then one JSON
/// line with `placements`, `claims`, `seconds_sqlite` and
/// `seconds_postgres` (null without `--database-url`).
async fn payments(base: &Config, b: PaymentsBench) -> anyhow::Result<()> {
    let id = samling_kit::ids::new_id().simple().to_string();
    let dir = std::env::temp_dir().join(format!("samling-bench-payments-{id}"));
    let mut cfg = base.clone();
    cfg.data_dir = dir.clone();
    cfg.database.url.clear();
    let region = "stockholm-gotland";
    let open = |cfg: &Config| {
        let target =
            samling_kit::db::DbTarget::for_service(cfg, samling_compensation::NAME, region);
        let options = samling_kit::db::StoreOptions::from(&cfg.database);
        async move {
            samling_kit::db::Store::open_with(
                &target,
                &options,
                &[samling_compensation::MIGRATIONS],
            )
            .await
        }
    };
    let store = open(&cfg).await?;
    let sqlite = samling_compensation::bench::run(store, b.placements, b.claims)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "payments on SQLite: {} placements, {} claims: run {:.3} s + approval and file {:.3} s = {:.3} s ({} statements, {} transfers, file {} bytes)",
        sqlite.placements,
        sqlite.claims,
        sqlite.run_seconds,
        sqlite.approve_and_file_seconds,
        sqlite.seconds,
        sqlite.statements,
        sqlite.transfers,
        sqlite.file_bytes
    );
    let _ = std::fs::remove_dir_all(&dir);
    let mut postgres = None;
    if let Some(url) = &b.database_url {
        let mut pg = base.clone();
        pg.database.url = url.clone();
        pg.database.schema_prefix = format!("bench{}_", &id[..12]);
        let store = open(&pg).await?;
        let f = samling_compensation::bench::run(store, b.placements, b.claims)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        println!(
            "payments on PostgreSQL: run {:.3} s + approval and file {:.3} s = {:.3} s",
            f.run_seconds, f.approve_and_file_seconds, f.seconds
        );
        postgres = Some(f);
    }
    let json = serde_json::json!({
        "bench": "payments",
        "placements": b.placements,
        "claims": b.claims,
        "seconds_sqlite": (sqlite.seconds * 1000.0).round() / 1000.0,
        "seconds_postgres": postgres.as_ref().map(|f| (f.seconds * 1000.0).round() / 1000.0),
        "sqlite": sqlite,
        "postgres": postgres,
    })
    .to_string();
    println!("{json}");
    if let Some(path) = &b.json {
        std::fs::write(path, format!("{json}\n"))?;
    }
    Ok(())
}

#[derive(clap::Args, Debug, Clone)]
pub struct MatchingBench {
    #[arg(long, default_value_t = 20_000)]
    homes: usize,
    #[arg(long, default_value_t = 4_000)]
    calls: usize,
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Also write the JSON here.
    #[arg(long)]
    json: Option<std::path::PathBuf>,
}

/// `samling bench matching`: prints the figures as JSON (homes,
/// rank_p50_ms, rank_p99_ms, matches_per_s, bytes_per_home, …).
fn matching(b: MatchingBench) -> anyhow::Result<()> {
    let o = samling_recruitment::matching::bench::BenchOptions {
        homes: b.homes,
        calls: b.calls,
        threads: b.threads,
        ..Default::default()
    };
    let figures = samling_recruitment::matching::bench::run(&o);
    let json = serde_json::to_string(&figures)?;
    println!("{json}");
    if let Some(path) = &b.json {
        std::fs::write(path, format!("{json}\n"))?;
    }
    Ok(())
}

#[derive(clap::Args, Debug, Clone)]
pub struct GatewayBench {
    #[arg(long, default_value_t = 2_000)]
    homes: usize,
    #[arg(long, default_value_t = 30_000)]
    requests: usize,
    /// Callers of the saturation run (each sends when answered).
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Also compare at a fixed offered load (requests per second, open
    /// loop): both paths' latency at the same throughput, by default the
    /// 5,000 req/s the gateway must sustain. 0 skips this run.
    #[arg(long, default_value_t = 5_000.0)]
    rate: f64,
    /// Callers of the fixed-rate run (enough that the schedule is kept).
    #[arg(long, default_value_t = 32)]
    rate_callers: usize,
    /// National searches with one region hung.
    #[arg(long, default_value_t = 40)]
    fanouts: usize,
    /// The paths to run (comma-separated). One path alone is for profiling
    /// it, e.g. under `perf` or `valgrind --tool=callgrind`; ratios need
    /// `direct`.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "direct,http1,http2,floor"
    )]
    legs: Vec<LegName>,
    #[arg(long)]
    json: Option<std::path::PathBuf>,
}

/// The ways the gateway bench reads a home.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegName {
    /// Directly over gRPC.
    Direct,
    /// Through the gateway over HTTP/1.1.
    Http1,
    /// Through the gateway over HTTP/2.
    Http2,
    /// Through a bare axum server over HTTP/1.1 that makes the direct call
    /// and answers its protobuf bytes: no token, limits, JSON or logs. Not a
    /// gateway; the floor the HTTP hop itself puts under any gateway.
    Floor,
}

#[derive(clap::Args, Debug, Clone)]
pub struct RegistryBench {
    #[arg(long, default_value_t = 20_000)]
    homes: usize,
    #[arg(long, default_value_t = 30_000)]
    placements: usize,
    /// GetHome calls to time.
    #[arg(long, default_value_t = 60_000)]
    requests: usize,
    /// SearchHomes calls to time.
    #[arg(long, default_value_t = 2_000)]
    searches: usize,
    /// Concurrent callers.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// HTTP/2 connections the callers share.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Single writes (CreateHome) per write leg: group commit off, on, and
    /// PostgreSQL with `--database-url`; each leg on a fresh store. 0 skips
    /// the write legs.
    #[arg(long, default_value_t = 4_000)]
    writes: usize,
    /// Concurrent writers of the write legs (each sends when answered).
    #[arg(long, default_value_t = 16)]
    writers: usize,
    /// The "on" leg's `database.sqlite_group_commit` (writes per commit).
    #[arg(long, default_value_t = samling_kit::group::SUGGESTED_GROUP_COMMIT)]
    group_commit: usize,
    /// Also run the write leg on PostgreSQL at this URL (schemas
    /// `bench<id>_*`, left behind for inspection).
    #[arg(long)]
    database_url: Option<String>,
    /// Only the write legs: no import, placements or reads.
    #[arg(long)]
    writes_only: bool,
    /// Also write the JSON figures to this file.
    #[arg(long)]
    json: Option<std::path::PathBuf>,
}

/// One write leg's figures.
struct WriteFigures {
    writes_per_s: f64,
    p50: f64,
    p99: f64,
    /// Process CPU per write (client and server share the process), µs.
    cpu_us: Option<f64>,
}

impl WriteFigures {
    fn json(&self) -> String {
        format!(
            "{{\"writes_per_s\":{:.0},\"p50_ms\":{:.3},\"p99_ms\":{:.3},\"cpu_us_per_write\":{}}}",
            self.writes_per_s,
            self.p50,
            self.p99,
            self.cpu_us
                .map(|c| format!("{c:.0}"))
                .unwrap_or_else(|| "null".into())
        )
    }

    fn line(&self) -> String {
        format!(
            "{:.0} writes/s, p50 {:.2} ms, p99 {:.2} ms, CPU {} per write (whole process)",
            self.writes_per_s,
            self.p50,
            self.p99,
            self.cpu_us
                .map(|c| format!("{c:.0} µs"))
                .unwrap_or_else(|| "?".into())
        )
    }
}

/// `writes` single CreateHome writes from `writers` callers against a fresh
/// registry (its own data dir; on PostgreSQL with `database_url`) whose
/// SQLite writer groups up to `group_commit` writes per commit.
async fn write_leg(
    base: &Config,
    region: &str,
    munis: &[String],
    database_url: Option<&str>,
    group_commit: usize,
    writes: usize,
    writers: usize,
) -> anyhow::Result<WriteFigures> {
    let id = samling_kit::ids::new_id().simple().to_string();
    let dir = std::env::temp_dir().join(format!("samling-bench-writes-{id}"));
    let mut cfg = base.clone();
    cfg.data_dir = dir.clone();
    cfg.database.sqlite_group_commit = group_commit;
    match database_url {
        Some(url) => {
            cfg.database.url = url.to_string();
            cfg.database.schema_prefix = format!("bench{}_", &id[..12]);
        }
        None => cfg.database.url.clear(),
    }
    let target = serve::Target::parse(samling_registry::NAME).map_err(anyhow::Error::msg)?;
    let running = serve::start(&cfg, &target, region).await?;
    let addr = running.addrs[0].1;
    let (signer, _) = serve::context_keys(&cfg, false)?;
    let office = AuthContext::new("bench", Role::RegionalOfficer)
        .with_region(region)
        .with_purpose("benchmark");
    let mut clients = Vec::new();
    for _ in 0..4 {
        clients.push(
            RegistryClient::connect(&format!("http://{addr}"), signer.clone(), office.clone())
                .await?
                .with_timeout(Duration::from_secs(120)),
        );
    }
    let munis = std::sync::Arc::new(munis.to_vec());
    let write = move |offset: usize| {
        let munis = munis.clone();
        move |mut c: RegistryClient, i: usize| {
            let munis = munis.clone();
            async move { c.create_home("", draft(offset + i, &munis)).await.map(drop) }
        }
    };
    // Warm-up: connections, first pages, the statement caches.
    let warm = writers.max(1) * 4;
    drive(&clients, warm, writers.max(1), write(0)).await?;
    let cpu = process_cpu();
    let (lat, wall) = drive(&clients, writes, writers.max(1), write(warm)).await?;
    let cpu_us = process_cpu().zip(cpu).map(|(after, before)| {
        after.saturating_sub(before).as_secs_f64() * 1e6 / writes.max(1) as f64
    });
    running.shutdown().await?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(WriteFigures {
        writes_per_s: lat.len() as f64 / wall.as_secs_f64(),
        p50: percentile(&lat, 0.50),
        p99: percentile(&lat, 0.99),
        cpu_us,
    })
}

/// Mean time of an append of 4 KiB and its `fdatasync` in `dir`, as the
/// SQLite writer's `COMMIT` pays once with `synchronous = FULL` (ms).
fn fsync_ms(dir: &std::path::Path, rounds: usize) -> anyhow::Result<f64> {
    use std::io::Write;
    std::fs::create_dir_all(dir)?;
    let path = dir.join("fsync-probe");
    let mut f = std::fs::File::create(&path)?;
    let page = [7u8; 4096];
    let t = Instant::now();
    for _ in 0..rounds {
        f.write_all(&page)?;
        f.sync_data()?;
    }
    let ms = t.elapsed().as_secs_f64() * 1000.0 / rounds.max(1) as f64;
    drop(f);
    std::fs::remove_file(&path)?;
    Ok(ms)
}

/// The write legs: group commit off and on (SQLite), PostgreSQL when asked;
/// prints them and returns their JSON object.
async fn write_legs(
    cfg: &Config,
    b: &RegistryBench,
    region: &str,
    munis: &[String],
) -> anyhow::Result<String> {
    let synchronous = cfg.database.sqlite_synchronous.pragma();
    // A directory of this run's own: benches may run side by side.
    let probe_dir = std::env::temp_dir().join(format!(
        "samling-bench-fsync-{}",
        samling_kit::ids::new_id().simple()
    ));
    let fsync = fsync_ms(&probe_dir, 200);
    let _ = std::fs::remove_dir_all(&probe_dir);
    let fsync = fsync?;
    println!(
        "writes: {} CreateHome per leg from {} writers; SQLite writer synchronous={synchronous}; \
         an append + fdatasync of 4 KiB in {} takes {fsync:.2} ms",
        b.writes,
        b.writers,
        std::env::temp_dir().display()
    );
    let off = write_leg(cfg, region, munis, None, 1, b.writes, b.writers).await?;
    println!("  SQLite, group commit off: {}", off.line());
    let group = b.group_commit.max(2);
    let on = write_leg(cfg, region, munis, None, group, b.writes, b.writers).await?;
    let ratio = on.writes_per_s / off.writes_per_s.max(1e-9);
    println!(
        "  SQLite, group commit on (≤{group} per commit): {}; {ratio:.2}x off",
        on.line()
    );
    let pg = match &b.database_url {
        Some(url) => {
            let pg = write_leg(cfg, region, munis, Some(url), 1, b.writes, b.writers).await?;
            println!("  PostgreSQL: {}", pg.line());
            pg.json()
        }
        None => "null".into(),
    };
    Ok(format!(
        "{{\"writes\":{},\"writers\":{},\"sqlite_synchronous\":\"{synchronous}\",\"fsync_ms\":{fsync:.3},\"group_commit_off\":{},\"group_commit_on\":{},\"group_commit\":{group},\"on_vs_off\":{ratio:.3},\"postgres\":{pg}}}",
        b.writes,
        b.writers,
        off.json(),
        on.json()
    ))
}

/// A valid (synthetic) personnummer for an adult born in 1960–1995.
fn synthetic_pnr(i: usize, adult: bool) -> String {
    let year = if adult {
        1960 + (i % 36)
    } else {
        2010 + (i % 14)
    };
    let month = 1 + (i / 36) % 12;
    let day = 1 + (i / 432) % 28;
    let serial = (i / 12_096) % 1000;
    let ten = format!("{:02}{month:02}{day:02}{serial:03}", year % 100);
    let digits: Vec<u8> = ten.bytes().map(|b| b - b'0').collect();
    format!(
        "{year}{month:02}{day:02}{serial:03}{}",
        luhn_check_digit(&digits)
    )
}

const LANGS: [&str; 6] = [
    "svenska",
    "arabiska",
    "somaliska",
    "persiska",
    "finska",
    "engelska",
];
const COMPS: [&str; 5] = ["npf", "trauma", "medical", "teenage", "siblings"];

fn draft(i: usize, munis: &[String]) -> HomeDraft {
    HomeDraft {
        home_type: [
            HomeType::FamilyHome,
            HomeType::NetworkHome,
            HomeType::EmergencyHome,
            HomeType::ReinforcedFamilyHome,
        ][i % 4] as i32,
        provider: ProviderKind::Public as i32,
        municipality_code: munis[i % munis.len()].clone(),
        address: Some(Address {
            street: format!("Benchgatan {i}"),
            postal_code: format!("{:05}", 10000 + i % 89999),
            city: "Bench".into(),
        }),
        members: vec![MemberDraft {
            given_name: "Bench".into(),
            family_name: format!("Home{i}"),
            personnummer: synthetic_pnr(i, true),
            role: MemberRole::Carer as i32,
        }],
        languages: vec![LANGS[i % LANGS.len()].into(), "svenska".into()],
        competences: vec![COMPS[i % COMPS.len()].into()],
        capacity: 3,
        willingness: vec![Willingness::LongTerm as i32],
        ..Default::default()
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

/// Run `total` calls of `call` from `concurrency` tasks; returns sorted latencies and wall time.
async fn drive<C, F, Fut>(
    clients: &[C],
    total: usize,
    concurrency: usize,
    call: F,
) -> anyhow::Result<(Vec<Duration>, Duration)>
where
    C: Clone + Send + 'static,
    F: Fn(C, usize) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), tonic::Status>> + Send,
{
    let states = (0..concurrency)
        .map(|t| clients[t % clients.len()].clone())
        .collect();
    let (mut all, wall, _) = drive_states(states, total, None, move |client: C, i| {
        let done = call(client.clone(), i);
        async move {
            done.await?;
            Ok(client)
        }
    })
    .await?;
    all.sort();
    Ok((all, wall))
}

pub async fn run(base: &Config, cmd: BenchCommand) -> anyhow::Result<()> {
    let b = match cmd {
        BenchCommand::Registry(b) => b,
        BenchCommand::Gateway(g) => return gateway(base, g).await,
        BenchCommand::Matching(m) => return matching(m),
        BenchCommand::Payments(p) => return payments(base, p).await,
        BenchCommand::Dashboard(d) => return super::bench_dashboard::run(base, d).await,
    };
    let dir = std::env::temp_dir().join(format!(
        "samling-bench-{}",
        samling_kit::ids::new_id().simple()
    ));
    let mut cfg = base.clone();
    cfg.data_dir = dir.clone();
    cfg.database.url.clear();
    cfg.listen.grpc_base_port = 0;
    // In-process, plaintext loopback: the benches measure the services.
    cfg.tls = Default::default();
    cfg.listen.health_addr = None;
    let map = serve::region_map(&cfg)?;
    let region = map
        .regions()
        .first()
        .map(|r| r.id.clone())
        .ok_or_else(|| anyhow::anyhow!("no regions"))?;
    let registry_only = serve::Target::parse(samling_registry::NAME).map_err(anyhow::Error::msg)?;
    let running = serve::start(&cfg, &registry_only, region.as_str()).await?;
    let addr = running.addrs[0].1;
    let (signer, _) = serve::context_keys(&cfg, false)?;
    let office = AuthContext::new("bench", Role::RegionalOfficer)
        .with_region(region.as_str())
        .with_purpose("benchmark");
    let mut clients = Vec::new();
    for _ in 0..b.connections.max(1) {
        clients.push(
            RegistryClient::connect(&format!("http://{addr}"), signer.clone(), office.clone())
                .await?
                .with_timeout(Duration::from_secs(120)),
        );
    }
    let munis: Vec<String> = map
        .municipalities_in(&region)
        .iter()
        .map(|m| m.as_str().to_string())
        .collect();
    if b.writes_only {
        running.shutdown().await?;
        let _ = std::fs::remove_dir_all(&dir);
        let writes = write_legs(&cfg, &b, region.as_str(), &munis).await?;
        let json = format!("{{\"bench\":\"registry\",\"write_legs\":{writes}}}");
        println!("{json}");
        if let Some(path) = &b.json {
            std::fs::write(path, format!("{json}\n"))?;
        }
        return Ok(());
    }
    println!(
        "bench registry: region {region}, {} homes, {} placements, data in {}",
        b.homes,
        b.placements,
        dir.display()
    );

    // 1. Bulk import over gRPC.
    let t = Instant::now();
    let mut home_ids = Vec::with_capacity(b.homes);
    let mut client = clients[0].clone();
    for (batch_no, chunk) in (0..b.homes).collect::<Vec<_>>().chunks(1000).enumerate() {
        let rows = chunk
            .iter()
            .map(|&i| ImportRow {
                line: i as u32 + 2,
                draft: Some(draft(i, &munis)),
            })
            .collect();
        let resp = client
            .import_homes(ImportHomesRequest {
                request_id: format!("bench-import-{batch_no}"),
                rows,
                dry_run: false,
            })
            .await?;
        anyhow::ensure!(
            resp.errors.is_empty(),
            "import rejected rows: {:?}",
            resp.errors.first()
        );
        home_ids.extend(resp.home_ids);
    }
    let import_s = t.elapsed().as_secs_f64();
    println!(
        "import: {} homes in {import_s:.2} s ({:.0} homes/s)",
        home_ids.len(),
        home_ids.len() as f64 / import_s
    );

    // 2. Approve enough homes and place children (setup, timed for information).
    let t = Instant::now();
    let needed_homes = b.placements.div_ceil(3).min(home_ids.len());
    let ids = std::sync::Arc::new(home_ids.clone());
    let today = dates::today();
    let ids2 = ids.clone();
    let munis1 = std::sync::Arc::new(munis.clone());
    drive(&clients, needed_homes, b.concurrency, move |mut c, i| {
        let ids = ids2.clone();
        let munis = munis1.clone();
        async move {
            let r = c.request(TransitionHomeRequest {
                request_id: String::new(),
                home_id: ids[i].clone(),
                to_status: HomeStatus::UnderAssessment as i32,
                reason: "bench".into(),
            });
            c.raw().transition_home(r).await?;
            // The evidence an approval needs when served (ADR 0047).
            let r = c.request(RecordTrainingRequest {
                request_id: String::new(),
                home_id: ids[i].clone(),
                municipality_code: munis[i % munis.len()].clone(),
                course_name: "bench".into(),
                completed_on: Some(dates::to_proto(today)),
                ..Default::default()
            });
            c.raw().record_training(r).await?;
            let r = c.request(RecordInvestigationRequest {
                request_id: String::new(),
                home_id: ids[i].clone(),
                municipality_code: munis[i % munis.len()].clone(),
                methods: vec![InvestigationMethod::BraFam as i32],
                result: InvestigationResult::Suitable as i32,
                completed_on: Some(dates::to_proto(today)),
                ..Default::default()
            });
            c.raw().record_investigation(r).await?;
            // Home i was imported in municipality i mod n, which approves it.
            let approval = RecordApprovalRequest {
                request_id: String::new(),
                home_id: ids[i].clone(),
                municipality_code: munis[i % munis.len()].clone(),
                decision_date: Some(dates::to_proto(today)),
                decision_ref: format!("B{i}"),
                evidence: None,
            };
            c.record_approval(approval).await?;
            Ok(())
        }
    })
    .await?;
    let munis2 = std::sync::Arc::new(munis.clone());
    let ids3 = ids.clone();
    let placements = b.placements.min(needed_homes * 3);
    drive(&clients, placements, b.concurrency, move |mut c, i| {
        let ids = ids3.clone();
        let munis = munis2.clone();
        async move {
            let r = c.request(RegisterChildRequest {
                request_id: String::new(),
                personnummer: synthetic_pnr(i, false),
                given_name: "Barn".into(),
                family_name: format!("B{i}"),
                protected_identity: false,
                placing_municipality_code: munis[i % munis.len()].clone(),
            });
            let child = c
                .raw()
                .register_child(r)
                .await?
                .into_inner()
                .child
                .unwrap_or_default();
            let r = c.request(CreatePlacementRequest {
                request_id: String::new(),
                child_id: child.id,
                home_id: ids[i / 3].clone(),
                unit_id: String::new(),
                legal_basis: LegalBasis::SolVoluntary as i32,
                start_date: Some(dates::to_proto(today)),
                planned_end_date: None,
                capacity_exception_reason: String::new(),
                home_region: String::new(),
                permit_exception_reason: String::new(),
                ..Default::default()
            });
            c.raw().create_placement(r).await?;
            Ok(())
        }
    })
    .await?;
    // Each approval is two writes (transition, approval), each placement two
    // (register the child, place it): single writes from `concurrency` callers.
    let setup_s = t.elapsed().as_secs_f64();
    let setup_writes = 2 * (needed_homes + placements);
    let writes_per_s = setup_writes as f64 / setup_s;
    let synchronous = cfg.database.sqlite_synchronous.pragma();
    println!(
        "setup: {needed_homes} approvals and {placements} children placed in {setup_s:.1} s \
         ({setup_writes} single writes, {writes_per_s:.0} writes/s, SQLite writer synchronous={synchronous})"
    );

    // 3. GetHome.
    // Cold: every home once, read from SQLite (the embedded store's read cache is empty).
    let ids4 = ids.clone();
    let (lat, wall) = drive(&clients, ids.len(), b.concurrency, move |mut c, i| {
        let ids = ids4.clone();
        async move { c.get_home(&ids[i]).await.map(|_| ()) }
    })
    .await?;
    let cold_rps = lat.len() as f64 / wall.as_secs_f64();
    let (cold_p50, cold_p99) = (percentile(&lat, 0.50), percentile(&lat, 0.99));
    println!(
        "GetHome cold (each home once): {} calls, {cold_rps:.0} req/s, p50 {cold_p50:.2} ms, p99 {cold_p99:.2} ms",
        lat.len()
    );
    let ids5 = ids.clone();
    let (lat, wall) = drive(&clients, b.requests, b.concurrency, move |mut c, i| {
        let ids = ids5.clone();
        async move { c.get_home(home_of(&ids, i)).await.map(|_| ()) }
    })
    .await?;
    let get_rps = lat.len() as f64 / wall.as_secs_f64();
    let (get_p50, get_p99) = (percentile(&lat, 0.50), percentile(&lat, 0.99));
    println!(
        "GetHome warm: {} calls, {get_rps:.0} req/s, p50 {get_p50:.2} ms, p99 {get_p99:.2} ms",
        lat.len()
    );

    // 3b. The floor: a trivial tonic unary (grpc.health.v1 Check) on the
    // same server (same builder, layers and port), over as many connections,
    // from as many callers, in the same run: what any gRPC call costs here.
    let mut health = Vec::new();
    for _ in 0..b.connections.max(1) {
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))?
            .tcp_nodelay(true)
            .connect()
            .await?;
        health.push(tonic_health::pb::health_client::HealthClient::new(channel));
    }
    let (lat, wall) = drive(
        &health,
        b.requests,
        b.concurrency.max(1),
        |mut c, _| async move {
            c.check(tonic_health::pb::HealthCheckRequest {
                service: String::new(),
            })
            .await
            .map(drop)
        },
    )
    .await?;
    let floor_rps = lat.len() as f64 / wall.as_secs_f64();
    let (floor_p50, floor_p99) = (percentile(&lat, 0.50), percentile(&lat, 0.99));
    let rps_ratio = get_rps / floor_rps;
    let p99_ratio = get_p99 / floor_p99.max(0.001);
    println!(
        "floor (grpc.health Check, same server): {} calls, {floor_rps:.0} req/s, p50 {floor_p50:.2} ms, p99 {floor_p99:.2} ms; \
         GetHome warm is {rps_ratio:.2}x its throughput, {p99_ratio:.1}x its p99",
        lat.len()
    );

    // 4. Filtered SearchHomes.
    let munis3 = std::sync::Arc::new(munis.clone());
    let (lat, wall) = drive(
        &clients,
        b.searches,
        b.concurrency.min(16),
        move |mut c, i| {
            let munis = munis3.clone();
            async move {
                c.search_homes(SearchHomesRequest {
                    municipality_code: munis[i % munis.len()].clone(),
                    competences: vec![COMPS[i % COMPS.len()].into()],
                    languages: vec!["svenska".into()],
                    with_free_capacity: i % 2 == 0,
                    page: Some(PageRequest {
                        page_size: 50,
                        page_token: String::new(),
                    }),
                    ..Default::default()
                })
                .await
                .map(|_| ())
            }
        },
    )
    .await?;
    let search_rps = lat.len() as f64 / wall.as_secs_f64();
    let (search_p50, search_p99) = (percentile(&lat, 0.50), percentile(&lat, 0.99));
    println!(
        "SearchHomes (municipality + competence + language [+ free capacity]): {} calls, {search_rps:.0} req/s, p50 {search_p50:.2} ms, p99 {search_p99:.2} ms",
        lat.len()
    );

    running.shutdown().await?;
    let _ = std::fs::remove_dir_all(&dir);
    let writes = if b.writes > 0 {
        write_legs(&cfg, &b, region.as_str(), &munis).await?
    } else {
        "null".into()
    };
    let json = format!(
        "{{\"bench\":\"registry\",\"write_legs\":{writes},\"homes\":{},\"placements\":{placements},\"sqlite_synchronous\":\"{synchronous}\",\"setup_writes\":{setup_writes},\"setup_writes_per_s\":{writes_per_s:.0},\"import_seconds\":{import_s:.3},\"get_home_cold\":{{\"rps\":{cold_rps:.0},\"p50_ms\":{cold_p50:.3},\"p99_ms\":{cold_p99:.3}}},\"get_home\":{{\"requests\":{},\"rps\":{get_rps:.0},\"p50_ms\":{get_p50:.3},\"p99_ms\":{get_p99:.3}}},\"search_homes\":{{\"requests\":{},\"rps\":{search_rps:.0},\"p50_ms\":{search_p50:.3},\"p99_ms\":{search_p99:.3}}},\"floor\":{{\"rps\":{floor_rps:.0},\"p50_ms\":{floor_p50:.3},\"p99_ms\":{floor_p99:.3}}},\"get_home_vs_floor\":{{\"rps_ratio\":{rps_ratio:.3},\"p99_ratio\":{p99_ratio:.3}}},\"concurrency\":{},\"connections\":{}}}",
        home_ids.len(),
        b.requests,
        b.searches,
        b.concurrency,
        b.connections
    );
    println!("{json}");
    if let Some(path) = &b.json {
        std::fs::write(path, format!("{json}\n"))?;
    }
    Ok(())
}

/// One way of making the same read, over the measured rounds.
#[derive(Default)]
struct Leg {
    lat: Vec<Duration>,
    wall: Duration,
    /// Process CPU time over the leg's rounds (client, gateway and services
    /// share the process), when procfs tells it.
    cpu: Option<Duration>,
}

impl Leg {
    /// Add one round (a warm-up round only warms up).
    fn add(
        &mut self,
        warm_up: bool,
        lat: Vec<Duration>,
        wall: Duration,
        cpu_before: Option<Duration>,
    ) {
        if warm_up {
            return;
        }
        let used = process_cpu()
            .zip(cpu_before)
            .map(|(after, before)| after.saturating_sub(before));
        self.cpu = match (self.cpu, used) {
            (Some(total), Some(u)) => Some(total + u),
            (None, Some(u)) if self.lat.is_empty() => Some(u),
            _ => None,
        };
        self.lat.extend(lat);
        self.wall += wall;
    }

    fn figures(mut self) -> Figures {
        self.lat.sort();
        let n = self.lat.len().max(1) as f64;
        Figures {
            rps: self.lat.len() as f64 / self.wall.as_secs_f64().max(1e-9),
            p50: percentile(&self.lat, 0.5),
            p99: percentile(&self.lat, 0.99),
            cpu_us: self.cpu.map(|c| c.as_secs_f64() * 1e6 / n),
        }
    }
}

/// A leg's throughput, latency (ms) and CPU per request (µs, whole process).
struct Figures {
    rps: f64,
    p50: f64,
    p99: f64,
    cpu_us: Option<f64>,
}

impl Figures {
    fn ratio(&self, base: &Figures) -> f64 {
        self.p50 / base.p50.max(1e-9)
    }

    fn line(&self, base: Option<&Figures>) -> String {
        let mut l = format!(
            "{:.0} req/s, p50 {:.2} ms, p99 {:.2} ms",
            self.rps, self.p50, self.p99
        );
        if let Some(cpu) = self.cpu_us {
            l.push_str(&format!(", CPU {cpu:.0} µs/request"));
        }
        if let Some(base) = base {
            l.push_str(&format!(" (p50 ratio {:.2}x)", self.ratio(base)));
        }
        l
    }

    fn json(&self, base: Option<&Figures>) -> String {
        let mut j = format!(
            "{{\"rps\":{:.0},\"p50_ms\":{:.3},\"p99_ms\":{:.3}",
            self.rps, self.p50, self.p99
        );
        if let Some(cpu) = self.cpu_us {
            j.push_str(&format!(",\"cpu_us_per_request\":{cpu:.1}"));
        }
        if let Some(base) = base {
            j.push_str(&format!(",\"p50_ratio\":{:.3}", self.ratio(base)));
        }
        j.push('}');
        j
    }
}

/// CPU time (user + system) this process has used so far, from
/// /proc/self/stat (clock ticks of 10 ms); `None` where there is no procfs.
fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields of the line, the 12th and 13th after it.
    let rest = stat.rsplit_once(')')?.1;
    let mut f = rest.split_whitespace().skip(11);
    let utime: u64 = f.next()?.parse().ok()?;
    let stime: u64 = f.next()?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 10))
}

/// Latencies (unsorted) and wall time of `total` calls from one task per
/// state; each call takes the task's state and gives it back, and the states
/// are handed back at the end. Closed loop without `pace` (a task calls again
/// when answered); with it, open loop: call `i` is due at `start + i × pace`
/// and goes to task `i mod n`, which makes it when due, or at once when it
/// has fallen behind.
async fn drive_states<S, F, Fut>(
    states: Vec<S>,
    total: usize,
    pace: Option<Duration>,
    call: F,
) -> anyhow::Result<(Vec<Duration>, Duration, Vec<S>)>
where
    S: Send + 'static,
    F: Fn(S, usize) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<S>> + Send,
{
    let n = states.len();
    let start = Instant::now();
    // Open loop: the calls are released by a thread of their own, which
    // sleeps to each one's slot. (tokio's timer has a resolution of 1 ms: at
    // 5,000 req/s its sleeps would release the calls five at a time, once a
    // millisecond — bursts, not the even load the figures claim.)
    let mut due: Vec<Option<tokio::sync::mpsc::UnboundedReceiver<()>>> =
        (0..n).map(|_| None).collect();
    let pacer = pace.map(|pace| {
        let senders: Vec<_> = due
            .iter_mut()
            .map(|d| {
                let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
                *d = Some(rx);
                tx
            })
            .collect();
        std::thread::spawn(move || {
            for i in 0..total {
                let slot = start + pace.saturating_mul(i as u32);
                let now = Instant::now();
                if slot > now {
                    std::thread::sleep(slot - now);
                }
                if senders[i % n].send(()).is_err() {
                    return;
                }
            }
        })
    });
    let mut tasks = Vec::new();
    for (t, (mut state, mut due)) in states.into_iter().zip(due).enumerate() {
        let call = call.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut i = t;
            while i < total {
                if let Some(due) = due.as_mut() {
                    due.recv().await;
                }
                let s = Instant::now();
                state = call(state, i).await?;
                lat.push(s.elapsed());
                i += n;
            }
            Ok::<_, anyhow::Error>((lat, state))
        }));
    }
    let mut all = Vec::with_capacity(total);
    let mut back = Vec::with_capacity(n);
    for t in tasks {
        let (lat, state) = t.await??;
        all.extend(lat);
        back.push(state);
    }
    if let Some(p) = pacer {
        let _ = p.join();
    }
    Ok((all, start.elapsed(), back))
}

/// The same read four ways: directly over gRPC; through the gateway over
/// HTTP/1.1 (a keep-alive connection per caller) and HTTP/2 (one shared
/// connection, as the direct callers share one gRPC channel); and through
/// the floor's bare pass-through over HTTP/1.1.
struct Paths {
    client: RegistryClient,
    http_addr: std::net::SocketAddr,
    /// The bare pass-through server of the `floor` leg, when it runs.
    floor_addr: Option<std::net::SocketAddr>,
    bearer: std::sync::Arc<String>,
    region: std::sync::Arc<str>,
    ids: std::sync::Arc<Vec<String>>,
}

/// The home read by call `i`: a stride through the ids, the same on every path.
fn home_of(ids: &[String], i: usize) -> &str {
    &ids[(i * 7919) % ids.len()]
}

/// `total` authenticated GetHome reads through the gateway, one caller per
/// connection handle (its own HTTP/1.1 connection or a clone of the shared
/// HTTP/2 one); every answer must be 200.
async fn gateway_reads<C: super::httpc::Get>(
    p: &Paths,
    conns: Vec<C>,
    total: usize,
    pace: Option<Duration>,
    offset: usize,
) -> anyhow::Result<(Vec<Duration>, Duration, Vec<C>)> {
    let (ids, region, bearer) = (p.ids.clone(), p.region.clone(), p.bearer.clone());
    drive_states(conns, total, pace, move |mut conn: C, i| {
        let path = format!("/v1/regions/{region}/homes/{}", home_of(&ids, offset + i));
        let auth = bearer.clone();
        async move {
            let status = conn
                .get_status(&path, &[("Authorization", auth.as_str())])
                .await?;
            anyhow::ensure!(status == 200, "gateway answered {status}");
            Ok(conn)
        }
    })
    .await
}

/// Figures of the paths in `LegName` order (those in `legs`)
/// for `requests` reads each from `callers` callers, closed loop or paced.
/// Interleaved rounds (each leg in turn, ROUNDS times) so drift in a
/// shared machine's speed falls on all alike; round 0 warms up.
async fn compare(
    p: &Paths,
    callers: usize,
    requests: usize,
    pace: Option<Duration>,
    legs: &[LegName],
) -> anyhow::Result<[Option<Figures>; 4]> {
    const ROUNDS: usize = 5;
    let clients: Vec<RegistryClient> = (0..callers).map(|_| p.client.clone()).collect();
    // A keep-alive HTTP/1.1 connection per caller.
    async fn connect_each(
        addr: std::net::SocketAddr,
        callers: usize,
    ) -> std::io::Result<Vec<super::httpc::Conn>> {
        let mut conns = Vec::with_capacity(callers);
        for _ in 0..callers {
            conns.push(super::httpc::Conn::connect(addr).await?);
        }
        Ok(conns)
    }
    let mut conns = connect_each(p.http_addr, callers).await?;
    let mut h2_conns = vec![super::httpc::H2::connect(p.http_addr).await?; callers];
    let mut floor_conns = match p.floor_addr {
        Some(addr) => connect_each(addr, callers).await?,
        None => Vec::new(),
    };
    let run = |leg| legs.contains(&leg).then(Leg::default);
    // The floor's server runs exactly when its leg was asked for.
    let (mut direct, mut via, mut via2, mut floor) = (
        run(LegName::Direct),
        run(LegName::Http1),
        run(LegName::Http2),
        p.floor_addr.map(|_| Leg::default()),
    );
    let per_round = requests.div_ceil(ROUNDS);
    for round in 0..=ROUNDS {
        let offset = round * per_round;
        let warm_up = round == 0;
        if let Some(direct) = &mut direct {
            let ids = p.ids.clone();
            let cpu = process_cpu();
            let (lat, wall, _) = drive_states(
                clients.clone(),
                per_round,
                pace,
                move |mut c: RegistryClient, i| {
                    let id = home_of(&ids, offset + i).to_string();
                    async move {
                        c.get_home(&id).await?;
                        Ok(c)
                    }
                },
            )
            .await?;
            direct.add(warm_up, lat, wall, cpu);
        }
        // One HTTP leg's round on its connections (given back for the next).
        macro_rules! http_round {
            ($leg:expr, $conns:expr) => {
                if let Some(leg) = &mut $leg {
                    let cpu = process_cpu();
                    let (lat, wall, back) =
                        gateway_reads(p, std::mem::take(&mut $conns), per_round, pace, offset)
                            .await?;
                    $conns = back;
                    leg.add(warm_up, lat, wall, cpu);
                }
            };
        }
        http_round!(via, conns);
        http_round!(via2, h2_conns);
        http_round!(floor, floor_conns);
    }
    Ok([direct, via, via2, floor].map(|l| l.map(Leg::figures)))
}

/// The `floor` leg's server: the gateway's route shape on plain axum over
/// HTTP/1.1 (TCP_NODELAY, as the gateway), each request one `GetHome` on
/// the direct path's client, answered as protobuf bytes. What it costs over
/// the direct call is what hyper, axum and the extra loopback hop cost.
async fn floor_server(
    client: RegistryClient,
) -> anyhow::Result<(std::net::SocketAddr, tokio::task::JoinHandle<()>)> {
    use axum::extract::Path;
    use axum::http::StatusCode;
    use axum::serve::ListenerExt;
    let app = axum::Router::new().route(
        "/v1/regions/{region}/homes/{id}",
        axum::routing::get(move |Path((_, id)): Path<(String, String)>| {
            let mut c = client.clone();
            async move {
                match c.get_home(&id).await {
                    Ok(home) => (StatusCode::OK, prost::Message::encode_to_vec(&home)),
                    Err(_) => (StatusCode::BAD_GATEWAY, Vec::new()),
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((addr, task))
}

async fn gateway(base: &Config, b: GatewayBench) -> anyhow::Result<()> {
    use samling_gateway::auth::{IssueClaims, TokenIssuer};
    anyhow::ensure!(b.homes >= 1, "--homes must be at least 1");
    anyhow::ensure!(b.requests >= 1, "--requests must be at least 1");
    anyhow::ensure!(b.concurrency >= 1, "--concurrency must be at least 1");
    anyhow::ensure!(b.rate_callers >= 1, "--rate-callers must be at least 1");
    anyhow::ensure!(
        b.rate == 0.0 || (b.rate.is_finite() && b.rate >= 1.0),
        "--rate must be at least 1 request per second (or 0: no fixed-rate run)"
    );
    let dir = std::env::temp_dir().join(format!(
        "samling-bench-gw-{}",
        samling_kit::ids::new_id().simple()
    ));
    let mut cfg = base.clone();
    cfg.data_dir = dir.clone();
    cfg.database.url.clear();
    cfg.listen.grpc_base_port = 0;
    // In-process, plaintext loopback: the benches measure the services.
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
    anyhow::ensure!(
        ids.len() >= 2,
        "the fan-out bench needs at least two regions"
    );
    let live = &ids[..ids.len() - 1];
    let hung_id = ids[ids.len() - 1].clone();
    let registry_only = serve::Target::parse(samling_registry::NAME).map_err(anyhow::Error::msg)?;
    let running = serve::start(&cfg, &registry_only, &live.join(",")).await?;
    // A region that accepts connections and never answers: the worst case for a deadline.
    let hung = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let mut endpoints: Vec<ServiceEndpoint> = running
        .addrs
        .iter()
        .flat_map(|(r, a)| ServiceEndpoint::every_routed(r, &format!("http://{a}")))
        .collect();
    endpoints.extend(ServiceEndpoint::every_routed(
        &hung_id,
        &format!("http://{}", hung.local_addr()?),
    ));
    // Plaintext loopback, as the direct path.
    let gw = serve::build_gateway(&cfg, &endpoints, None).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let http_addr = listener.local_addr()?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(samling_gateway::serve(gw, listener, async move {
        let _ = stop_rx.await;
    }));

    let region = live[0].clone();
    let grpc_addr = running.addrs[0].1;
    let (signer, _) = serve::context_keys(&cfg, false)?;
    let office = AuthContext::new("bench", Role::RegionalOfficer)
        .with_region(region.clone())
        .with_purpose("benchmark");
    let mut client = RegistryClient::connect(
        &format!("http://{grpc_addr}"),
        signer.clone(),
        office.clone(),
    )
    .await?;
    let munis: Vec<String> = map
        .municipalities_in(&map.parse_region(&region)?)
        .iter()
        .map(|m| m.as_str().to_string())
        .collect();
    let mut home_ids = Vec::new();
    for (n, chunk) in (0..b.homes).collect::<Vec<_>>().chunks(1000).enumerate() {
        let rows = chunk
            .iter()
            .map(|&i| ImportRow {
                line: i as u32 + 2,
                draft: Some(draft(i, &munis)),
            })
            .collect();
        let resp = client
            .import_homes(ImportHomesRequest {
                request_id: format!("gw-bench-{n}"),
                rows,
                dry_run: false,
            })
            .await?;
        home_ids.extend(resp.home_ids);
    }
    let ids_arc = std::sync::Arc::new(home_ids);
    let issuer = TokenIssuer::load_or_create(&cfg.gateway.jwt, &cfg.data_dir)?;
    let token = issuer.issue(IssueClaims {
        sub: "bench".into(),
        role: Role::RegionalOfficer,
        municipality: None,
        party: None,
        region: Some(region.clone()),
        ttl: Duration::from_secs(3600),
    })?;
    let bearer = std::sync::Arc::new(format!("Bearer {token}"));
    // National search fans out only for national callers (an officer asks
    // its own region, ADR 0017): a caseworker of the region asks them all.
    let national = issuer.issue(IssueClaims {
        sub: "bench-caseworker".into(),
        role: Role::MunicipalityCaseworker,
        municipality: Some(MunicipalityCode::parse(
            munis.first().map(String::as_str).unwrap_or_default(),
        )?),
        party: None,
        region: None,
        ttl: Duration::from_secs(3600),
    })?;
    let national = format!("Bearer {national}");
    println!(
        "bench gateway: {} homes in {region}; {} reads each way, per load",
        ids_arc.len(),
        b.requests,
    );

    let floor = if b.legs.contains(&LegName::Floor) {
        Some(floor_server(client.clone()).await?)
    } else {
        None
    };
    let paths = Paths {
        client: client.clone(),
        http_addr,
        floor_addr: floor.as_ref().map(|(a, _)| *a),
        bearer: bearer.clone(),
        region: region.as_str().into(),
        ids: ids_arc.clone(),
    };
    let saturated = compare(&paths, b.concurrency, b.requests, None, &b.legs).await?;
    let paced = if b.rate == 0.0 {
        None
    } else {
        let pace = Duration::from_secs_f64(1.0 / b.rate);
        Some((
            b.rate,
            compare(&paths, b.rate_callers, b.requests, Some(pace), &b.legs).await?,
        ))
    };

    // National fan-out with one region hung.
    let deadline = cfg
        .gateway
        .fanout_deadline_ms
        .min(cfg.gateway.call_timeout_ms) as f64;
    let mut conn = super::httpc::Conn::connect(http_addr).await?;
    let mut fan = Vec::new();
    let mut partial_ok = true;
    for _ in 0..b.fanouts {
        let s = Instant::now();
        let (status, body) = conn
            .get(
                "/v1/homes?page.page_size=20",
                &[("Authorization", national.as_str())],
            )
            .await?;
        fan.push(s.elapsed());
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        if std::env::var_os("SAMLING_BENCH_DEBUG").is_some() {
            eprintln!(
                "{status} {}",
                String::from_utf8_lossy(&body)
                    .chars()
                    .take(300)
                    .collect::<String>()
            );
        }
        partial_ok &= status == 200
            && v["partial"] == serde_json::json!(true)
            && v["missing_regions"] == serde_json::json!([hung_id]);
    }
    fan.sort();

    let (f50, fmax) = (
        percentile(&fan, 0.5),
        fan.last().map(|d| d.as_secs_f64() * 1000.0).unwrap_or(0.0),
    );
    let mut runs = vec![(
        format!(
            "at saturation ({} callers, each sends when answered)",
            b.concurrency
        ),
        &saturated,
    )];
    if let Some((rate, figures)) = &paced {
        runs.push((
            format!(
                "at a fixed {rate:.0} req/s offered ({} callers, open loop)",
                b.rate_callers
            ),
            figures,
        ));
    }
    // In `LegName` order, as `compare`'s figures.
    const LABELS: [(&str, &str); 4] = [
        ("direct", "direct gRPC:          "),
        ("gateway_http1", "via gateway, HTTP/1.1:"),
        ("gateway_http2", "via gateway, HTTP/2:  "),
        ("floor_http1", "bare axum hop (floor):"),
    ];
    for (title, figures) in runs {
        println!("GetHome {title}:");
        for (i, (_, label)) in LABELS.iter().enumerate() {
            if let Some(f) = &figures[i] {
                let base = figures[0].as_ref().filter(|_| i > 0);
                println!("  {label}  {}", f.line(base));
            }
        }
    }
    println!(
        "national search, {} regions with '{hung_id}' hung: p50 {f50:.0} ms, max {fmax:.0} ms (deadline {deadline:.0} ms, +10 % = {:.0} ms); partial answers correct: {partial_ok}",
        ids.len(),
        deadline * 1.1
    );
    let legs = |figures: &[Option<Figures>; 4]| {
        let base = figures[0].as_ref();
        LABELS
            .iter()
            .enumerate()
            .filter_map(|(i, (name, _))| {
                let f = figures[i].as_ref()?;
                Some(format!("\"{name}\":{}", f.json(base.filter(|_| i > 0))))
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    let fixed_rate = match &paced {
        Some((rate, figures)) => format!(
            "{{\"offered_rps\":{rate:.0},\"callers\":{},{}}}",
            b.rate_callers,
            legs(figures)
        ),
        None => "null".into(),
    };
    let json = format!(
        "{{\"bench\":\"gateway\",\"saturation\":{{\"callers\":{},{}}},\"fixed_rate\":{fixed_rate},\"fanout\":{{\"regions\":{},\"hung\":\"{hung_id}\",\"deadline_ms\":{deadline:.0},\"p50_ms\":{f50:.1},\"max_ms\":{fmax:.1},\"partial_correct\":{partial_ok}}}}}",
        b.concurrency,
        legs(&saturated),
        ids.len()
    );
    println!("{json}");
    if let Some(p) = &b.json {
        std::fs::write(p, format!("{json}\n"))?;
    }
    let _ = stop_tx.send(());
    let _ = server.await;
    if let Some((_, task)) = floor {
        task.abort();
    }
    running.shutdown().await?;
    drop(hung);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
