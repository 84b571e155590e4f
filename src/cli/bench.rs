//! `samling bench registry`: load a register of realistic size into a fresh
//! in-process server on embedded SQLite and measure it over real gRPC on
//! loopback. Prints figures as text and, last, as one JSON line.

use crate::serve;
use samling_kit::auth::{AuthContext, Role};
use samling_kit::config::Config;
use samling_kit::dates;
use samling_kit::personnummer::luhn_check_digit;
use samling_proto::common::v1::PageRequest;
use samling_proto::registry::v1::*;
use samling_registry::client::RegistryClient;
use std::time::{Duration, Instant};

#[derive(clap::Subcommand, Debug)]
pub enum BenchCommand {
    /// Import homes, place children, then measure GetHome and SearchHomes.
    Registry(RegistryBench),
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
    /// Also write the JSON figures to this file.
    #[arg(long)]
    json: Option<std::path::PathBuf>,
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
async fn drive<F, Fut>(
    clients: &[RegistryClient],
    total: usize,
    concurrency: usize,
    call: F,
) -> anyhow::Result<(Vec<Duration>, Duration)>
where
    F: Fn(RegistryClient, usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<(), tonic::Status>> + Send,
{
    let start = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..concurrency {
        let client = clients[t % clients.len()].clone();
        let call = call.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut i = t;
            while i < total {
                let s = Instant::now();
                call(client.clone(), i).await?;
                lat.push(s.elapsed());
                i += concurrency;
            }
            Ok::<_, tonic::Status>(lat)
        }));
    }
    let mut all = Vec::with_capacity(total);
    for t in tasks {
        all.extend(t.await??);
    }
    let wall = start.elapsed();
    all.sort();
    Ok((all, wall))
}

pub async fn run(base: &Config, cmd: BenchCommand) -> anyhow::Result<()> {
    let BenchCommand::Registry(b) = cmd;
    let dir = std::env::temp_dir().join(format!(
        "samling-bench-{}",
        samling_kit::ids::new_id().simple()
    ));
    let mut cfg = base.clone();
    cfg.data_dir = dir.clone();
    cfg.database.url.clear();
    cfg.listen.grpc_base_port = 0;
    let map = serve::region_map(&cfg)?;
    let region = map
        .regions()
        .first()
        .map(|r| r.id.clone())
        .ok_or_else(|| anyhow::anyhow!("no regions"))?;
    let running = serve::start(&cfg, serve::Target::Registry, region.as_str()).await?;
    let addr = running.addrs[0].1;
    let (signer, _) = serve::context_keys(&cfg, false)?;
    let office = AuthContext::new("bench", Role::RegionalOfficer).with_purpose("benchmark");
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
            // Home i was imported in municipality i mod n, which approves it.
            let approval = RecordApprovalRequest {
                request_id: String::new(),
                home_id: ids[i].clone(),
                municipality_code: munis[i % munis.len()].clone(),
                decision_date: Some(dates::to_proto(today)),
                decision_ref: format!("B{i}"),
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
            });
            c.raw().create_placement(r).await?;
            Ok(())
        }
    })
    .await?;
    println!(
        "setup: {needed_homes} approvals and {placements} children placed in {:.1} s",
        t.elapsed().as_secs_f64()
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
        async move { c.get_home(&ids[(i * 7919) % ids.len()]).await.map(|_| ()) }
    })
    .await?;
    let get_rps = lat.len() as f64 / wall.as_secs_f64();
    let (get_p50, get_p99) = (percentile(&lat, 0.50), percentile(&lat, 0.99));
    println!(
        "GetHome warm: {} calls, {get_rps:.0} req/s, p50 {get_p50:.2} ms, p99 {get_p99:.2} ms",
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

    let json = format!(
        "{{\"bench\":\"registry\",\"homes\":{},\"placements\":{placements},\"import_seconds\":{import_s:.3},\"get_home_cold\":{{\"rps\":{cold_rps:.0},\"p50_ms\":{cold_p50:.3},\"p99_ms\":{cold_p99:.3}}},\"get_home\":{{\"requests\":{},\"rps\":{get_rps:.0},\"p50_ms\":{get_p50:.3},\"p99_ms\":{get_p99:.3}}},\"search_homes\":{{\"requests\":{},\"rps\":{search_rps:.0},\"p50_ms\":{search_p50:.3},\"p99_ms\":{search_p99:.3}}},\"concurrency\":{},\"connections\":{}}}",
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
    running.shutdown().await?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
