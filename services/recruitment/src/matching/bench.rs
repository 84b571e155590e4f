//! `samling bench matching`: build a read model of N synthetic homes and
//! time rank calls (a sibling pair, long-term, over the whole model), on
//! `threads` threads. The integrator wires [`run`] into the binary; the
//! example `bench_matching` runs it on its own.

use super::config::MatchingConfig;
use super::convert;
use super::geo::{Geo, Muni};
use super::model::{HomeFacts, ReadModel};
use super::profile::{Anchor, Child, Profile};
use super::rank::RankOptions;
use chrono::{Days, NaiveDate};
use samling_proto::recruitment::v1::{AnchorKind, NeedKind, PlacementKind};
use samling_proto::registry::v1::{HomeStatus, HomeType, ProviderKind, Sex, Willingness};
use serde::Serialize;
use std::time::Instant;

#[derive(Clone, Debug)]
pub struct BenchOptions {
    pub homes: usize,
    pub calls: usize,
    pub threads: usize,
    pub seed: u64,
    /// The region the synthetic homes are in.
    pub region: String,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            homes: 20_000,
            calls: 2_000,
            threads: 2,
            seed: 20,
            region: "norr".into(),
        }
    }
}

/// The figures, as `samling bench matching` prints them (JSON).
#[derive(Clone, Debug, Serialize)]
pub struct BenchFigures {
    pub homes: usize,
    pub calls: usize,
    pub threads: usize,
    pub rank_p50_ms: f64,
    pub rank_p99_ms: f64,
    pub rank_max_ms: f64,
    pub matches_per_s: f64,
    pub bytes_per_home: u32,
    pub bytes_total: u64,
    pub build_ms: f64,
    /// Median number of suitable homes per ranking (how much was scored).
    pub suitable_median: u32,
    /// Calls per second of the threads' CPU time (Linux schedstat; 0 when
    /// not available): what one core does when it is not shared, apart
    /// from waiting for a core on a busy machine.
    pub matches_per_cpu_s: f64,
    /// Load average when the run ended (shared machines: context for the wall figures).
    pub load_average: f64,
    /// The calls' own CPU time (schedstat, per call): p99 and max. Far
    /// below `rank_p99_ms` means the wall-clock tail is not the ranking's
    /// work (allocation, locks) but waiting for a core.
    pub rank_p99_cpu_ms: f64,
    pub rank_max_cpu_ms: f64,
    /// Per call, the time spent runnable but waiting for a core (schedstat's
    /// run-queue wait): p99, and its share of the wall time of the slowest
    /// 1 % of calls.
    pub rank_p99_wait_ms: f64,
    pub slowest_1pct_wait_share: f64,
    pub config_version: String,
}

/// A small deterministic generator (splitmix64).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    pub fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len() as u64) as usize]
    }
}

/// A synthetic home id: UUIDv7-shaped, unique per `i`.
pub fn home_id(i: u64) -> String {
    uuid::Uuid::from_u128((0x0190_a000_0000_7000_8000u128 << 48) | u128::from(i))
        .hyphenated()
        .to_string()
}

pub fn agency_id(i: u64) -> String {
    uuid::Uuid::from_u128((0x0190_a000_0000_7000_9000u128 << 48) | u128::from(i))
        .hyphenated()
        .to_string()
}

/// Municipalities of `region` in the default region map.
pub fn municipalities_of(region: &str) -> Vec<Muni> {
    let map = samling_kit::reference::RegionMap::default_map();
    match map.parse_region(region) {
        Ok(r) => map
            .municipalities_in(&r)
            .into_iter()
            .map(Muni::from_code)
            .collect(),
        Err(_) => vec![],
    }
}

/// N homes spread like a real register: most approved or active, a few
/// paused, overdue, unchecked, with objections, protected or without
/// permits; types, tags, pets and capacities mixed.
pub fn synthetic_homes(n: usize, seed: u64, region: &str, today: NaiveDate) -> Vec<HomeFacts> {
    let mut r = Rng::new(seed);
    let munis = municipalities_of(region);
    let types = [
        (HomeType::FamilyHome, 50),
        (HomeType::NetworkHome, 10),
        (HomeType::ReinforcedFamilyHome, 12),
        (HomeType::EmergencyHome, 12),
        (HomeType::ContractedEmergencyHome, 8),
        (HomeType::ContactFamily, 5),
        (HomeType::MentorFamily, 3),
    ];
    let statuses = [
        (HomeStatus::Approved, 25),
        (HomeStatus::Active, 45),
        (HomeStatus::Paused, 8),
        (HomeStatus::Applicant, 7),
        (HomeStatus::InTraining, 5),
        (HomeStatus::UnderAssessment, 5),
        (HomeStatus::Ended, 5),
    ];
    let weighted = |r: &mut Rng, v: &[(HomeType, u64)]| {
        let mut x = r.below(100);
        for (t, w) in v {
            if x < *w {
                return *t;
            }
            x -= w;
        }
        v[0].0
    };
    let languages = [
        "arabiska",
        "somaliska",
        "persiska",
        "engelska",
        "tigrinja",
        "finska",
        "bosniska",
    ];
    let competences = [
        "npf",
        "trauma",
        "medical",
        "teenage",
        "psykiatri",
        "skydd",
        "missbruk",
        "funktionsnedsättning",
        "spädbarn",
    ];
    let targets = ["0-5", "6-12", "13-17"];
    let pets = ["hund", "katt", "kanin"];
    let day = |d: i64| {
        if d >= 0 {
            today.checked_add_days(Days::new(d as u64))
        } else {
            today.checked_sub_days(Days::new((-d) as u64))
        }
    };
    (0..n as u64)
        .map(|i| {
            let t = weighted(&mut r, &types);
            let status = {
                let mut x = r.below(100);
                let mut s = HomeStatus::Active;
                for (st, w) in statuses {
                    if x < w {
                        s = st;
                        break;
                    }
                    x -= w;
                }
                s
            };
            let agency = r.chance(30);
            let emergency = matches!(
                t,
                HomeType::EmergencyHome | HomeType::ContractedEmergencyHome
            );
            let mut willingness = Vec::new();
            if emergency || r.chance(10) {
                willingness.push(Willingness::Emergency as i32);
            }
            if !emergency || r.chance(30) {
                if r.chance(50) {
                    willingness.push(Willingness::ShortTerm as i32);
                }
                if r.chance(80) {
                    willingness.push(Willingness::LongTerm as i32);
                }
            }
            let mut langs = vec!["svenska".to_string()];
            if r.chance(40) {
                langs.push(r.pick(&languages).to_string());
            }
            let comps: Vec<String> = (0..r.below(4))
                .map(|_| r.pick(&competences).to_string())
                .collect();
            let tg: Vec<String> = (0..1 + r.below(2))
                .map(|_| r.pick(&targets).to_string())
                .collect();
            let pet: Vec<String> = if r.chance(40) {
                vec![r.pick(&pets).to_string()]
            } else {
                vec![]
            };
            let allergies: Vec<String> = if r.chance(10) {
                vec![r.pick(&["katt", "hund"]).to_string()]
            } else {
                vec![]
            };
            let capacity = if r.chance(50) {
                0
            } else {
                1 + r.below(4) as i32
            };
            let cap = if capacity == 0 { 3 } else { capacity };
            let placed = r.below(cap as u64 + 1) as i32;
            let muni = *r.pick(&munis);
            HomeFacts {
                id: home_id(i),
                version: 1 + r.below(20) as i64,
                home_type: t as i32,
                provider: if agency {
                    ProviderKind::Agency
                } else {
                    ProviderKind::Public
                } as i32,
                agency_id: if agency {
                    agency_id(r.below(20))
                } else {
                    String::new()
                },
                status: status as i32,
                municipality_code: muni.code(),
                region_id: String::new(),
                protected_identity: r.chance(3),
                languages: langs,
                competences: comps,
                target_groups: tg,
                pets: pet,
                allergies,
                willingness,
                jour_available: emergency && r.chance(50),
                capacity,
                placed_count: placed,
                consent_withdrawn: r.chance(1),
                reconfirmation_due_on: day(r.below(425) as i64 - 60),
                record_checks_oldest: day(-(r.below(400) as i64)),
                adults: 1 + r.below(2) as u32,
                own_children_birth_years: (0..r.below(4))
                    .map(|_| 2005 + r.below(20) as i32)
                    .collect(),
                objections: if r.chance(2) {
                    vec![r.pick(&munis).code()]
                } else {
                    vec![]
                },
            }
        })
        .collect()
}

/// The model the benchmark ranks over: `n` homes and 20 agencies (one
/// with a lapsed permit).
pub fn synthetic_model(n: usize, seed: u64, region: &str, today: NaiveDate) -> ReadModel {
    let mut m = ReadModel::with_geo(Geo::default_map());
    for i in 0..20 {
        let _ = m.apply_agency_facts(&super::model::AgencyFacts {
            id: agency_id(i),
            version: 1,
            has_permit: true,
            permit_valid_from: NaiveDate::from_ymd_opt(2020, 1, 1),
            permit_valid_until: if i == 0 {
                NaiveDate::from_ymd_opt(2025, 1, 1)
            } else {
                None
            },
            permit_revoked: false,
        });
    }
    for h in synthetic_homes(n, seed, region, today) {
        // Synthetic facts are valid by construction.
        let _ = m.apply_home_facts(&h);
    }
    m.advance(region, n as u64);
    m
}

/// A sibling pair for a long-term placement, varied by `i`.
pub fn synthetic_profile(i: u64, region: &str, today: NaiveDate) -> Profile {
    let mut r = Rng::new(i.wrapping_mul(7919) ^ 0xABCD);
    let munis = municipalities_of(region);
    let child = |key: &str, age: u64, r: &mut Rng| Child {
        key: key.into(),
        child_id: String::new(),
        birth_date: today.checked_sub_days(Days::new(age * 365 + r.below(300))),
        sex: if r.chance(50) { Sex::Female } else { Sex::Male },
        needs: vec![*r.pick(&[NeedKind::Npf, NeedKind::Trauma, NeedKind::Teen])],
        languages: if r.chance(50) {
            vec!["arabiska".into()]
        } else {
            vec![]
        },
        culture: String::new(),
        religion: String::new(),
        allergies: if r.chance(30) {
            vec!["katt".into()]
        } else {
            vec![]
        },
        pets: vec![],
        together_group: "s".into(),
    };
    let a = 4 + r.below(10);
    let children = vec![child("a", a, &mut r), child("b", a + 2, &mut r)];
    let anchor = |kind, r: &mut Rng| Anchor {
        kind,
        muni: *r.pick(&munis),
        within: None,
        keep_away: false,
    };
    Profile {
        placing: *r.pick(&munis),
        children,
        kind: PlacementKind::LongTerm,
        protected_identity: false,
        violence_exposure: false,
        anchors: vec![
            anchor(AnchorKind::Home, &mut r),
            anchor(AnchorKind::School, &mut r),
            anchor(AnchorKind::Parents, &mut r),
        ],
        kinship: vec![uuid::Uuid::parse_str(&home_id(r.below(1000))).map_or(0, |u| u.as_u128())],
        deliver: vec![],
        home_types: vec![],
    }
}

/// This thread's CPU time in ns (Linux `/proc/thread-self/schedstat`).
fn thread_cpu_ns() -> Option<u64> {
    thread_sched().map(|s| s.0)
}

/// This thread's (CPU time, run-queue wait) in ns: the first two fields of
/// Linux `/proc/thread-self/schedstat`.
fn thread_sched() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let mut f = text.split_whitespace().map(|x| x.parse::<u64>().ok());
    Some((f.next()??, f.next()??))
}

fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Build the model and time `calls` rankings on `threads` threads.
pub fn run(o: &BenchOptions) -> BenchFigures {
    let cfg = MatchingConfig::default();
    let today = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap_or_default();
    let t0 = Instant::now();
    let model = synthetic_model(o.homes, o.seed, &o.region, today);
    let build_ms = t0.elapsed().as_secs_f64() * 1e3;
    let threads = o.threads.max(1);
    let per = o.calls.div_ceil(threads).max(1);
    let opts = RankOptions {
        region: Some(o.region.clone()),
        limit: None,
        as_of: today,
        night: false,
    };
    // Warm up.
    for i in 0..10 {
        let _ = model.rank(&cfg, &synthetic_profile(i, &o.region, today), &opts);
    }
    let start = Instant::now();
    /// Per call (wall ms, CPU ms, run-queue wait ms); suitable counts; CPU ns.
    type PerThread = (Vec<(f64, f64, f64)>, Vec<u32>, Option<u64>);
    let results: Vec<PerThread> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (model, cfg, opts) = (&model, &cfg, &opts);
                let region = o.region.clone();
                s.spawn(move || {
                    let mut lat = Vec::with_capacity(per);
                    let mut suitable = Vec::with_capacity(per);
                    let cpu0 = thread_cpu_ns();
                    for i in 0..per {
                        let p = synthetic_profile((t * per + i) as u64, &region, today);
                        let s0 = thread_sched();
                        let c = Instant::now();
                        let r = model.rank(cfg, &p, opts);
                        let answer = r.as_ref().map(|r| convert::rank_response(r, "", ""));
                        let wall = c.elapsed().as_secs_f64() * 1e3;
                        let (cpu, wait) = match (s0, thread_sched()) {
                            (Some(a), Some(b)) => (
                                b.0.saturating_sub(a.0) as f64 / 1e6,
                                b.1.saturating_sub(a.1) as f64 / 1e6,
                            ),
                            _ => (0.0, 0.0),
                        };
                        lat.push((wall, cpu, wait));
                        if let Ok(a) = answer {
                            suitable.push(a.units.first().map_or(0, |u| u.suitable));
                        }
                    }
                    let cpu = cpu0.zip(thread_cpu_ns()).map(|(a, b)| b.saturating_sub(a));
                    (lat, suitable, cpu)
                })
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    let wall = start.elapsed().as_secs_f64();
    let mut calls: Vec<(f64, f64, f64)> =
        results.iter().flat_map(|r| r.0.iter().copied()).collect();
    let mut suitable: Vec<u32> = results.iter().flat_map(|r| r.1.iter().copied()).collect();
    calls.sort_by(|a, b| a.0.total_cmp(&b.0));
    let lat: Vec<f64> = calls.iter().map(|c| c.0).collect();
    let slowest = &calls[calls.len() - calls.len().div_ceil(100).min(calls.len())..];
    let slow_wall: f64 = slowest.iter().map(|c| c.0).sum();
    let slow_wait: f64 = slowest.iter().map(|c| c.2.min(c.0)).sum();
    let mut cpu: Vec<f64> = calls.iter().map(|c| c.1).collect();
    cpu.sort_by(f64::total_cmp);
    let mut wait: Vec<f64> = calls.iter().map(|c| c.2).collect();
    wait.sort_by(f64::total_cmp);
    let cpu_s: f64 = results.iter().filter_map(|r| r.2).sum::<u64>() as f64 / 1e9;
    suitable.sort_unstable();
    let mem = model.memory();
    BenchFigures {
        homes: model.len(),
        calls: lat.len(),
        threads,
        rank_p50_ms: percentile(&lat, 0.50),
        rank_p99_ms: percentile(&lat, 0.99),
        rank_max_ms: lat.last().copied().unwrap_or(0.0),
        matches_per_s: if wall > 0.0 {
            lat.len() as f64 / wall
        } else {
            0.0
        },
        bytes_per_home: mem.bytes_per_home,
        bytes_total: mem.bytes_total,
        build_ms,
        suitable_median: suitable.get(suitable.len() / 2).copied().unwrap_or(0),
        matches_per_cpu_s: if cpu_s > 0.0 {
            lat.len() as f64 / cpu_s
        } else {
            0.0
        },
        load_average: load_average(),
        rank_p99_cpu_ms: percentile(&cpu, 0.99),
        rank_max_cpu_ms: cpu.last().copied().unwrap_or(0.0),
        rank_p99_wait_ms: percentile(&wait, 0.99),
        slowest_1pct_wait_share: if slow_wall > 0.0 {
            slow_wait / slow_wall
        } else {
            0.0
        },
        config_version: cfg.version,
    }
}
