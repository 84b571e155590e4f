//! A region that is down or hangs costs the others nothing: national search
//! answers partially within the fan-out deadline, region-scoped calls to it
//! fail (503/504) instead of hanging, its circuit opens after
//! `breaker_failures` failures and then fails fast, and the live region
//! answers as before.

use crate::common;

use common::*;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// The fan-out deadline plus 10 %.
fn fanout_budget(env: &Env) -> Duration {
    Duration::from_millis(env.gateway.gw.cfg.fanout_deadline_ms * 11 / 10)
}

/// The call timeout plus 10 %.
fn call_budget(env: &Env) -> Duration {
    Duration::from_millis(env.gateway.gw.cfg.call_timeout_ms * 11 / 10)
}

const FAST: Duration = Duration::from_millis(50);

async fn create_home(
    env: &Env,
    region: &str,
    municipality: &str,
    street: &str,
    serial: u16,
) -> String {
    env.create_home_id(
        region,
        home_draft(municipality, street, &adult(serial), &["npf"]),
    )
    .await
}

fn ids(doc: &Value) -> Vec<String> {
    doc["homes"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|h| h["id"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Send `req` to `client`, returning the answer and how long it took.
async fn timed(client: &Client, req: Req) -> (Resp, Duration) {
    let t = Instant::now();
    let r = client.send(req).await;
    (r, t.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_region_makes_national_search_partial_within_the_deadline() {
    for_each_backend(|b| async move {
        let mut env = Env::start(&b).await;
        let south = create_home(&env, STOCKHOLM, OWN, "Söder 1", 61).await;
        create_home(&env, NORR, UMEA, "Norr 1", 62).await;
        let before = env
            .http()
            .get(
                "/v1/homes?competences=npf&include_unplaceable=true",
                &env.caseworker(OWN),
            )
            .await
            .ok();
        assert_eq!(
            (before["partial"].clone(), ids(&before).len()),
            (json!(false), 2),
            "{before}"
        );

        env.region_mut(NORR).kill().await;

        for attempt in 1..=4 {
            let (r, took) = timed(
                env.http(),
                Req::get("/v1/homes?competences=npf&include_unplaceable=true")
                    .bearer(&env.caseworker(OWN)),
            )
            .await;
            let doc = r.ok();
            assert!(
                took <= fanout_budget(&env),
                "attempt {attempt}: {took:?} > {:?}",
                fanout_budget(&env)
            );
            assert_eq!(doc["partial"], true, "attempt {attempt}: {doc}");
            assert_eq!(
                doc["missing_regions"],
                json!([NORR]),
                "attempt {attempt}: {doc}"
            );
            assert_eq!(
                ids(&doc),
                vec![south.clone()],
                "attempt {attempt}: the live region's homes"
            );
        }

        // Still ready (one region serves), and the dead one is named.
        let ready = env.http().send(Req::get("/readyz")).await.ok();
        assert_eq!(ready["status"], "ready");
        assert_eq!(
            ready["regions"],
            json!({ NORR: "down", STOCKHOLM: "serving" }),
            "{ready}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_to_a_dead_region_fail_then_its_circuit_opens_and_fails_fast() {
    for_each_backend(|b| async move {
        let mut env = Env::start(&b).await;
        let south = create_home(&env, STOCKHOLM, OWN, "Söder 2", 63).await;
        let north = create_home(&env, NORR, UMEA, "Norr 2", 64).await;
        env.region_mut(NORR).kill().await;
        let gw = env.gateway.gw.clone();
        let breaker = &gw
            .regions
            .get(NORR, "registry")
            .expect("norr is served")
            .breaker;
        let north_home = format!("/v1/regions/{NORR}/homes/{north}");

        // Each failure is a 503/504 problem within the call timeout, never a hang.
        for failure in 1..=gw.cfg.breaker_failures {
            assert!(
                !breaker.is_open(),
                "open after only {} failures",
                failure - 1
            );
            let (r, took) = timed(env.http(), Req::get(&north_home).bearer(&env.officer())).await;
            assert!(
                matches!(r.status, 503 | 504),
                "failure {failure}: {} {}",
                r.status,
                r.text()
            );
            let code = if r.status == 503 {
                "UNAVAILABLE"
            } else {
                "DEADLINE_EXCEEDED"
            };
            r.problem(r.status, code);
            assert!(took <= call_budget(&env), "failure {failure} took {took:?}");
        }
        assert!(
            breaker.is_open(),
            "the circuit opens after breaker_failures failures"
        );

        // Open: refused at once, without trying the region.
        for path in [
            north_home.clone(),
            format!("/v1/regions/{NORR}/homes"),
            format!("/v1/regions/{NORR}/agencies"),
        ] {
            let (r, took) = timed(env.http(), Req::get(&path).bearer(&env.officer())).await;
            let p = r.problem(503, "UNAVAILABLE");
            assert!(p["detail"].as_str().unwrap_or("").contains(NORR), "{p}");
            assert!(took < FAST, "{path}: {took:?} with the circuit open");
        }
        let (r, took) = timed(
            env.http(),
            Req::get("/v1/homes?competences=npf&include_unplaceable=true")
                .bearer(&env.caseworker(OWN)),
        )
        .await;
        let doc = r.ok();
        assert_eq!(
            (doc["partial"].clone(), doc["missing_regions"].clone()),
            (json!(true), json!([NORR]))
        );
        assert!(
            took < FAST,
            "national search with the circuit open took {took:?}"
        );

        // The live region is unaffected.
        let (r, took) = timed(
            env.http(),
            Req::get(&format!("/v1/regions/{STOCKHOLM}/homes/{south}")).bearer(&env.officer()),
        )
        .await;
        assert_eq!(r.ok()["id"], south.as_str());
        assert!(took < call_budget(&env), "{took:?}");
        let live = env
            .http()
            .get(
                &format!("/v1/regions/{STOCKHOLM}/homes?competences=npf&include_unplaceable=true"),
                &env.officer(),
            )
            .await
            .ok();
        assert_eq!(ids(&live), vec![south.clone()]);
        assert!(
            !gw.regions
                .get(STOCKHOLM, "registry")
                .expect("stockholm")
                .breaker
                .is_open()
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_region_that_hangs_costs_national_search_only_the_deadline() {
    for_each_backend(|b| async move {
        let env = Env::start_with(&b, &[STOCKHOLM], |_| {}).await;
        let south = create_home(&env, STOCKHOLM, OWN, "Söder 3", 65).await;
        let hole = BlackHole::start().await;
        let endpoints = vec![
            (STOCKHOLM.to_string(), env.region(STOCKHOLM).endpoint()),
            (NORR.to_string(), hole.endpoint()),
        ];
        let gateway = env.gateway_for(&endpoints, |_| {}).await;
        let deadline = Duration::from_millis(gateway.gw.cfg.fanout_deadline_ms);

        // The hanging region is waited for up to the deadline, no longer.
        let (r, took) = timed(
            &gateway.http,
            Req::get("/v1/homes?competences=npf&include_unplaceable=true")
                .bearer(&env.caseworker(OWN)),
        )
        .await;
        let doc = r.ok();
        assert!(
            took >= deadline,
            "answered in {took:?}, before the deadline: did it wait for the region at all?"
        );
        assert!(
            took <= fanout_budget(&env),
            "{took:?} > {:?}",
            fanout_budget(&env)
        );
        assert_eq!(doc["partial"], true);
        assert_eq!(doc["missing_regions"], json!([NORR]));
        assert_eq!(ids(&doc), vec![south.clone()]);

        // A region-scoped call: 504 at the call timeout, not a hang.
        let (r, took) = timed(
            &gateway.http,
            Req::get(&format!("/v1/regions/{NORR}/homes")).bearer(&env.officer_in(NORR)),
        )
        .await;
        r.problem(504, "DEADLINE_EXCEEDED");
        assert!(took <= call_budget(&env), "{took:?}");

        // Two failures: the circuit is open, and the hanging region costs nothing.
        assert!(
            gateway
                .gw
                .regions
                .get(NORR, "registry")
                .expect("norr")
                .breaker
                .is_open()
        );
        let (r, took) = timed(
            &gateway.http,
            Req::get(&format!("/v1/regions/{NORR}/homes")).bearer(&env.officer_in(NORR)),
        )
        .await;
        r.problem(503, "UNAVAILABLE");
        assert!(took < FAST, "{took:?}");
        let (r, took) = timed(
            &gateway.http,
            Req::get("/v1/homes?competences=npf&include_unplaceable=true")
                .bearer(&env.caseworker(OWN)),
        )
        .await;
        assert_eq!(r.ok()["missing_regions"], json!([NORR]));
        assert!(took < FAST, "{took:?}");
    })
    .await;
}
