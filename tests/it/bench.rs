//! The benchmarks are a user-facing command: run each with tiny numbers so
//! it keeps working and keeps printing the figures its issue asks for (the
//! figures themselves are measured with release builds, not asserted here).

use std::process::Command;

use crate::common;
use common::BIN;

fn bench(args: &[&str]) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("figures.json");
    let out = Command::new(BIN)
        .arg("--data-dir")
        .arg(dir.path())
        .arg("bench")
        .args(args)
        .arg("--json")
        .arg(&json)
        .env("SAMLING_LOG", "warn")
        .env_remove("SAMLING_DATABASE_URL")
        .env_remove("SAMLING_CONFIG")
        .output()
        .unwrap();
    common::stdout_of_success(&out);
    serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap()
}

fn assert_leg(v: &serde_json::Value, name: &str) {
    assert!(v["rps"].as_f64().unwrap() > 0.0, "{name}: {v}");
    let (p50, p99) = (v["p50_ms"].as_f64().unwrap(), v["p99_ms"].as_f64().unwrap());
    assert!(p50 > 0.0 && p99 >= p50, "{name}: {v}");
}

#[test]
fn bench_gateway_compares_the_paths_and_fans_out_past_a_hung_region() {
    let v = bench(&[
        "gateway",
        "--homes",
        "30",
        "--requests",
        "60",
        "--concurrency",
        "3",
        "--rate",
        "300",
        "--rate-callers",
        "3",
        "--fanouts",
        "1",
    ]);
    for run in ["saturation", "fixed_rate"] {
        for leg in ["direct", "gateway_http1", "gateway_http2", "floor_http1"] {
            assert_leg(&v[run][leg], &format!("{run}.{leg}"));
        }
        for leg in ["gateway_http1", "gateway_http2", "floor_http1"] {
            let ratio = v[run][leg]["p50_ratio"].as_f64().unwrap();
            let expected = v[run][leg]["p50_ms"].as_f64().unwrap()
                / v[run]["direct"]["p50_ms"].as_f64().unwrap();
            assert!((ratio - expected).abs() < 0.01, "{run}.{leg}: {v}");
        }
    }
    assert_eq!(v["saturation"]["callers"], 3);
    assert_eq!(v["fixed_rate"]["offered_rps"], 300);
    assert_eq!(v["fanout"]["regions"], 6);
    assert_eq!(v["fanout"]["partial_correct"], true, "{v}");
}

/// A quick gateway bench without the fixed-rate run.
const QUICK_NO_RATE: &[&str] = &[
    "gateway",
    "--homes",
    "10",
    "--requests",
    "30",
    "--concurrency",
    "2",
    "--rate",
    "0",
    "--fanouts",
    "1",
];

#[test]
fn bench_gateway_rate_zero_skips_the_fixed_rate_run() {
    let v = bench(QUICK_NO_RATE);
    assert_leg(
        &v["saturation"]["gateway_http1"],
        "saturation.gateway_http1",
    );
    assert!(v["fixed_rate"].is_null(), "{v}");
}

#[test]
fn bench_gateway_runs_only_the_legs_asked_for() {
    let v = bench(&[QUICK_NO_RATE, &["--legs", "http1"]].concat());
    let run = &v["saturation"];
    assert_leg(&run["gateway_http1"], "saturation.gateway_http1");
    assert!(
        run["direct"].is_null() && run["gateway_http2"].is_null() && run["floor_http1"].is_null(),
        "{v}"
    );
    // Without the direct leg there is nothing to take a ratio against.
    assert!(run["gateway_http1"]["p50_ratio"].is_null(), "{v}");
}

#[test]
fn bench_gateway_refuses_nonsense_numbers() {
    for (args, named) in [
        (&["--legs", "http3"][..], "--legs"),
        (&["--concurrency", "0"][..], "--concurrency"),
        (&["--rate", "0.5"][..], "--rate"),
        (&["--rate=-5000"][..], "--rate"),
    ] {
        let out = Command::new(BIN)
            .args(["bench", "gateway"])
            .args(args)
            .env("SAMLING_LOG", "warn")
            .env_remove("SAMLING_CONFIG")
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(named),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn bench_registry_prints_its_figures_beside_a_floor_in_the_same_run() {
    let v = bench(&[
        "registry",
        "--homes",
        "60",
        "--placements",
        "30",
        "--requests",
        "200",
        "--searches",
        "20",
        "--concurrency",
        "4",
        "--connections",
        "2",
        "--writes",
        "160",
        "--writers",
        "8",
    ]);
    for leg in ["get_home_cold", "get_home", "search_homes", "floor"] {
        assert_leg(&v[leg], leg);
    }
    assert_eq!(v["sqlite_synchronous"], "FULL", "durable by default: {v}");
    assert!(v["setup_writes_per_s"].as_f64().unwrap() > 0.0, "{v}");
    let ratio = &v["get_home_vs_floor"];
    let expected = v["get_home"]["rps"].as_f64().unwrap() / v["floor"]["rps"].as_f64().unwrap();
    let printed = ratio["rps_ratio"].as_f64().unwrap();
    assert!(
        (printed - expected).abs() < 0.01 + expected * 0.01,
        "{ratio} vs {expected}"
    );
    assert!(ratio["p99_ratio"].as_f64().unwrap() > 0.0, "{ratio}");
    // The write legs: group commit off and on in the same run, their ratio.
    let w = &v["write_legs"];
    assert_eq!(
        (w["writes"].as_u64(), w["writers"].as_u64()),
        (Some(160), Some(8)),
        "{w}"
    );
    assert_eq!(w["group_commit"], 64, "{w}");
    assert!(w["fsync_ms"].as_f64().unwrap() > 0.0, "{w}");
    let (off, on) = (&w["group_commit_off"], &w["group_commit_on"]);
    for leg in [off, on] {
        let rate = leg["writes_per_s"].as_f64().unwrap();
        assert!(rate > 0.0, "{w}");
        assert!(
            leg["p99_ms"].as_f64().unwrap() >= leg["p50_ms"].as_f64().unwrap(),
            "{w}"
        );
    }
    let expected = on["writes_per_s"].as_f64().unwrap() / off["writes_per_s"].as_f64().unwrap();
    let printed = w["on_vs_off"].as_f64().unwrap();
    assert!((printed - expected).abs() < 0.01 + expected * 0.01, "{w}");
    assert!(w["postgres"].is_null(), "no --database-url: {w}");
}

#[test]
fn bench_registry_writes_only_measures_the_write_legs_alone() {
    let v = bench(&[
        "registry",
        "--writes-only",
        "--writes",
        "64",
        "--writers",
        "4",
    ]);
    let w = &v["write_legs"];
    assert_eq!(w["writes"], 64, "{v}");
    assert!(
        w["group_commit_on"]["writes_per_s"].as_f64().unwrap() > 0.0,
        "{v}"
    );
    assert!(v.get("get_home").is_none(), "no reads: {v}");
}

#[test]
fn bench_matching_prints_the_figures_issue_20_asks_for() {
    let v = bench(&[
        "matching",
        "--homes",
        "2000",
        "--calls",
        "40",
        "--threads",
        "2",
    ]);
    assert_eq!(v["homes"], 2000, "{v}");
    let (p50, p99) = (
        v["rank_p50_ms"].as_f64().unwrap(),
        v["rank_p99_ms"].as_f64().unwrap(),
    );
    assert!(p50 > 0.0 && p99 >= p50, "{v}");
    assert!(v["matches_per_s"].as_f64().unwrap() > 0.0, "{v}");
    assert!(v["bytes_per_home"].as_u64().unwrap() > 0, "{v}");
}
