//! Rate limits and idempotency records, on the in-process store always and on
//! Redis too when `SAMLING_TEST_REDIS_URL` is set (e.g. redis://127.0.0.1:6379).
//! Every test uses its own namespace, unique per run, so tests running in
//! parallel (or several runs against one Redis) never see each other's keys.

//!
//! The second half runs the whole gateway in front of real registries: the
//! idempotency semantics of ADR 0013 (short reservations, only successes
//! kept, keys on the whole caller) and a Redis that is unreachable, stalls or
//! goes away (through a TCP proxy the test controls; the shared Redis itself
//! is never paused).

use crate::common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{
    BlackHole, Env, GatewayServer, OTHER, OWN, Problem, Req, STOCKHOLM, adult, for_each_backend,
    home_draft, new_id, personnummer,
};
use samling_gateway::auth::IssueClaims;
use samling_gateway::limits::{
    Begin, LimitError, Limits, LimitsConfig, StoreHealth, StoredResponse, connect, connect_with,
    open_with,
};
use samling_kit::auth::Role;
use samling_kit::reference::MunicipalityCode;
use samling_testkit::backend::redis_url;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A namespace no other test or run shares.
fn namespace(test: &str) -> String {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "samling-test:{}-{nanos}-{}:{test}:",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
}

fn config(test: &str) -> LimitsConfig {
    let ns = namespace(test);
    LimitsConfig {
        rate_namespace: format!("{ns}rl:"),
        idempotency_namespace: format!("{ns}idem:"),
        ..LimitsConfig::default()
    }
}

/// The in-process store, and Redis when configured.
async fn backends(test: &str) -> Vec<Limits> {
    let mut all = vec![Limits::in_process(config(test))];
    if let Some(url) = redis_url() {
        let redis = connect_with(&url, config(test))
            .await
            .expect("SAMLING_TEST_REDIS_URL is set but Redis is not reachable");
        assert_eq!(redis.backend_name(), "redis");
        all.push(redis);
    }
    all
}

fn response(body: &[u8]) -> StoredResponse {
    StoredResponse {
        status: 201,
        content_type: "application/json; charset=utf-8".to_owned(),
        body: body.to_vec(),
    }
}

const TTL: Duration = Duration::from_secs(30);

// --- rate limiting ------------------------------------------------------

#[tokio::test]
async fn allows_exactly_n_per_minute_then_refuses() {
    for limits in backends("exact-n").await {
        let b = limits.backend_name();
        for n in 1..=5u32 {
            let d = limits.check("tok:abc", 5).await.unwrap();
            assert!(d.allowed, "{b}: request {n} refused");
            assert_eq!(d.remaining, 5 - n, "{b}: remaining after {n}");
            assert_eq!(d.retry_after, Duration::ZERO);
        }
        for _ in 0..3 {
            let d = limits.check("tok:abc", 5).await.unwrap();
            assert!(!d.allowed, "{b}: sixth request allowed");
            assert_eq!(d.remaining, 0);
            assert!(
                d.retry_after > Duration::ZERO && d.retry_after <= Duration::from_secs(60),
                "{b}: retry_after {:?}",
                d.retry_after
            );
            // One slot frees every 12 s at 5 per minute.
            assert!(d.retry_after > Duration::from_secs(10), "{b}: {d:?}");
            assert!(d.retry_after_secs() >= 11 && d.retry_after_secs() <= 12);
        }

        // One per minute: the next slot is a whole minute away.
        assert!(limits.check("ip:10.0.0.1", 1).await.unwrap().allowed);
        let d = limits.check("ip:10.0.0.1", 1).await.unwrap();
        assert!(!d.allowed);
        assert!(
            d.retry_after > Duration::from_secs(58) && d.retry_after <= Duration::from_secs(60),
            "{b}: {d:?}"
        );
        assert_eq!(d.retry_after_secs(), 60);
    }
}

#[tokio::test]
async fn zero_limit_refuses_everything() {
    for limits in backends("zero").await {
        let d = limits.check("tok:zero", 0).await.unwrap();
        assert!(!d.allowed);
        assert_eq!(d.retry_after, Duration::from_secs(60));
    }
}

#[tokio::test]
async fn keys_are_independent() {
    for limits in backends("independent").await {
        let b = limits.backend_name();
        for _ in 0..3 {
            assert!(limits.check("tok:a", 3).await.unwrap().allowed);
        }
        assert!(!limits.check("tok:a", 3).await.unwrap().allowed, "{b}");
        // Other keys, including ones that look alike, are untouched.
        for key in ["tok:b", "ip:a", "tok:a ", "TOK:a"] {
            let d = limits.check(key, 3).await.unwrap();
            assert!(d.allowed, "{b}: {key:?}");
            assert_eq!(d.remaining, 2, "{b}: {key:?}");
        }
        assert!(!limits.check("tok:a", 3).await.unwrap().allowed, "{b}");
    }
}

#[tokio::test]
async fn long_and_odd_keys_work_and_stay_distinct() {
    for limits in backends("odd-keys").await {
        let b = limits.backend_name();
        let long_a = format!("tok:{}a", "x".repeat(500));
        let long_b = format!("tok:{}b", "x".repeat(500));
        for key in [
            long_a.as_str(),
            long_b.as_str(),
            "#sha256:abc",
            "",
            "ip:::1",
            "nyckel:åäö\u{0}",
        ] {
            assert!(limits.check(key, 1).await.unwrap().allowed, "{b}: {key:?}");
        }
        for key in [long_a.as_str(), long_b.as_str(), "#sha256:abc", ""] {
            assert!(!limits.check(key, 1).await.unwrap().allowed, "{b}: {key:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_callers_never_exceed_the_limit() {
    for limits in backends("concurrent").await {
        let b = limits.backend_name();
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let limits = limits.clone();
                tokio::spawn(async move { limits.check("tok:shared", 10).await })
            })
            .collect();
        let mut allowed = 0;
        let mut remaining_seen = Vec::new();
        for t in tasks {
            let d = t.await.unwrap().unwrap();
            if d.allowed {
                allowed += 1;
                remaining_seen.push(d.remaining);
            } else {
                assert!(d.retry_after > Duration::ZERO);
            }
        }
        assert_eq!(allowed, 10, "{b}");
        // Each admitted request saw a different count of what was left.
        remaining_seen.sort_unstable();
        assert_eq!(remaining_seen, (0..10).collect::<Vec<u32>>(), "{b}");
    }
}

#[tokio::test]
async fn a_slot_frees_after_retry_after() {
    for limits in backends("refill").await {
        let b = limits.backend_name();
        // 120 per minute: one slot every 500 ms.
        let start = Instant::now();
        let mut allowed = 0;
        let refused = loop {
            let d = limits.check("tok:refill", 120).await.unwrap();
            if !d.allowed {
                break d;
            }
            allowed += 1;
            assert!(allowed <= 200, "{b}: never refused");
        };
        let elapsed_slots = (start.elapsed().as_millis() / 500) as u32;
        assert!(
            (120..=120 + elapsed_slots + 1).contains(&allowed),
            "{b}: {allowed} allowed"
        );
        assert!(
            refused.retry_after <= Duration::from_millis(500),
            "{b}: {refused:?}"
        );
        tokio::time::sleep(refused.retry_after + Duration::from_millis(30)).await;
        let d = limits.check("tok:refill", 120).await.unwrap();
        assert!(d.allowed, "{b}: still refused after retry_after");
        assert!(
            !limits.check("tok:refill", 120).await.unwrap().allowed,
            "{b}"
        );
    }
}

// --- idempotency --------------------------------------------------------

#[tokio::test]
async fn fresh_complete_replay_returns_the_same_bytes() {
    for limits in backends("replay").await {
        let b = limits.backend_name();
        let first = response(b"{\"id\":\"7\"}\xff\x00 binary tail");
        assert_eq!(
            limits.begin("idem:k1", "h1", TTL).await.unwrap(),
            Begin::Fresh
        );
        limits.complete("idem:k1", "h1", &first, TTL).await.unwrap();
        for _ in 0..2 {
            match limits.begin("idem:k1", "h1", TTL).await.unwrap() {
                Begin::Replay(r) => assert_eq!(r, first, "{b}"),
                other => panic!("{b}: expected replay, got {other:?}"),
            }
        }
        // An empty body and an empty content type survive as well.
        let empty = StoredResponse {
            status: 204,
            content_type: String::new(),
            body: Vec::new(),
        };
        assert_eq!(
            limits.begin("idem:k2", "h", TTL).await.unwrap(),
            Begin::Fresh
        );
        limits.complete("idem:k2", "h", &empty, TTL).await.unwrap();
        assert_eq!(
            limits.begin("idem:k2", "h", TTL).await.unwrap(),
            Begin::Replay(empty),
            "{b}"
        );
        // A large body too.
        let big = response(&vec![0xa5; 256 * 1024]);
        assert_eq!(
            limits.begin("idem:k3", "h", TTL).await.unwrap(),
            Begin::Fresh
        );
        limits.complete("idem:k3", "h", &big, TTL).await.unwrap();
        assert_eq!(
            limits.begin("idem:k3", "h", TTL).await.unwrap(),
            Begin::Replay(big),
            "{b}"
        );
    }
}

#[tokio::test]
async fn same_key_different_hash_is_a_mismatch_only_against_an_answer() {
    for limits in backends("mismatch").await {
        let b = limits.backend_name();
        assert_eq!(
            limits.begin("idem:m", "h1", TTL).await.unwrap(),
            Begin::Fresh
        );
        // While the first is only in flight, another request waits (409):
        // the first may yet fail and release the key.
        assert_eq!(
            limits.begin("idem:m", "h2", TTL).await.unwrap(),
            Begin::InFlight,
            "{b}"
        );
        limits
            .complete("idem:m", "h1", &response(b"1"), TTL)
            .await
            .unwrap();
        // …and once completed.
        assert_eq!(
            limits.begin("idem:m", "h2", TTL).await.unwrap(),
            Begin::Mismatch,
            "{b}"
        );
        // Completing with the other hash must not overwrite the first answer.
        limits
            .complete("idem:m", "h2", &response(b"2"), TTL)
            .await
            .unwrap();
        assert_eq!(
            limits.begin("idem:m", "h1", TTL).await.unwrap(),
            Begin::Replay(response(b"1")),
            "{b}"
        );
        // Long hashes are compared whole.
        let ha = format!("{}a", "0".repeat(300));
        let hb = format!("{}b", "0".repeat(300));
        assert_eq!(
            limits.begin("idem:long", &ha, TTL).await.unwrap(),
            Begin::Fresh
        );
        assert_eq!(
            limits.begin("idem:long", &hb, TTL).await.unwrap(),
            Begin::InFlight,
            "{b}"
        );
        assert_eq!(
            limits.begin("idem:long", &ha, TTL).await.unwrap(),
            Begin::InFlight,
            "{b}"
        );
        limits
            .complete("idem:long", &ha, &response(b"a"), TTL)
            .await
            .unwrap();
        assert_eq!(
            limits.begin("idem:long", &hb, TTL).await.unwrap(),
            Begin::Mismatch,
            "{b}"
        );
        // A different request that failed released the key: the genuine one
        // then runs (the gateway abandons every answer it does not keep).
        assert_eq!(
            limits.begin("idem:n", "typo", TTL).await.unwrap(),
            Begin::Fresh
        );
        assert_eq!(
            limits.begin("idem:n", "genuine", TTL).await.unwrap(),
            Begin::InFlight,
            "{b}"
        );
        limits.abandon("idem:n").await.unwrap();
        assert_eq!(
            limits.begin("idem:n", "genuine", TTL).await.unwrap(),
            Begin::Fresh,
            "{b}"
        );
    }
}

#[tokio::test]
async fn second_begin_while_in_flight() {
    for limits in backends("in-flight").await {
        let b = limits.backend_name();
        assert_eq!(
            limits.begin("idem:f", "h", TTL).await.unwrap(),
            Begin::Fresh
        );
        assert_eq!(
            limits.begin("idem:f", "h", TTL).await.unwrap(),
            Begin::InFlight,
            "{b}"
        );
        assert_eq!(
            limits.begin("idem:f", "h", TTL).await.unwrap(),
            Begin::InFlight,
            "{b}"
        );
        // A different key is free.
        assert_eq!(
            limits.begin("idem:g", "h", TTL).await.unwrap(),
            Begin::Fresh,
            "{b}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_begins_reserve_once() {
    for limits in backends("begin-race").await {
        let b = limits.backend_name();
        let tasks: Vec<_> = (0..30)
            .map(|_| {
                let limits = limits.clone();
                tokio::spawn(async move { limits.begin("idem:race", "h", TTL).await })
            })
            .collect();
        let mut fresh = 0;
        for t in tasks {
            match t.await.unwrap().unwrap() {
                Begin::Fresh => fresh += 1,
                Begin::InFlight => {}
                other => panic!("{b}: {other:?}"),
            }
        }
        assert_eq!(fresh, 1, "{b}");
    }
}

#[tokio::test]
async fn abandon_lets_a_retry_be_fresh() {
    for limits in backends("abandon").await {
        let b = limits.backend_name();
        assert_eq!(
            limits.begin("idem:a", "h", TTL).await.unwrap(),
            Begin::Fresh
        );
        limits.abandon("idem:a").await.unwrap();
        assert_eq!(
            limits.begin("idem:a", "h", TTL).await.unwrap(),
            Begin::Fresh,
            "{b}"
        );
        // After abandoning, even a different request may use the key.
        limits.abandon("idem:a").await.unwrap();
        assert_eq!(
            limits.begin("idem:a", "other", TTL).await.unwrap(),
            Begin::Fresh,
            "{b}"
        );
        // Abandoning a completed record leaves it replayable.
        limits
            .complete("idem:a", "other", &response(b"ok"), TTL)
            .await
            .unwrap();
        limits.abandon("idem:a").await.unwrap();
        assert_eq!(
            limits.begin("idem:a", "other", TTL).await.unwrap(),
            Begin::Replay(response(b"ok")),
            "{b}"
        );
        // Abandoning an unknown key is fine.
        limits.abandon("idem:never-used").await.unwrap();
    }
}

#[tokio::test]
async fn records_expire_after_ttl() {
    for limits in backends("expiry").await {
        let b = limits.backend_name();
        let short = Duration::from_secs(1);
        // A reservation lapses (the gateway died mid-request).
        assert_eq!(
            limits.begin("idem:e1", "h", short).await.unwrap(),
            Begin::Fresh
        );
        // A completed answer lapses.
        assert_eq!(
            limits.begin("idem:e2", "h", TTL).await.unwrap(),
            Begin::Fresh
        );
        limits
            .complete("idem:e2", "h", &response(b"x"), short)
            .await
            .unwrap();
        assert_eq!(
            limits.begin("idem:e1", "h", short).await.unwrap(),
            Begin::InFlight
        );
        assert!(matches!(
            limits.begin("idem:e2", "h", TTL).await.unwrap(),
            Begin::Replay(_)
        ));
        tokio::time::sleep(Duration::from_millis(1300)).await;
        assert_eq!(
            limits.begin("idem:e1", "h", TTL).await.unwrap(),
            Begin::Fresh,
            "{b}"
        );
        assert_eq!(
            limits.begin("idem:e2", "other", TTL).await.unwrap(),
            Begin::Fresh,
            "{b}"
        );
    }
}

#[tokio::test]
async fn complete_after_the_reservation_lapsed_still_stores() {
    for limits in backends("late-complete").await {
        let b = limits.backend_name();
        assert_eq!(
            limits
                .begin("idem:late", "h", Duration::from_millis(200))
                .await
                .unwrap(),
            Begin::Fresh
        );
        tokio::time::sleep(Duration::from_millis(400)).await;
        limits
            .complete("idem:late", "h", &response(b"late"), TTL)
            .await
            .unwrap();
        assert_eq!(
            limits.begin("idem:late", "h", TTL).await.unwrap(),
            Begin::Replay(response(b"late")),
            "{b}"
        );
    }
}

// --- in-process bounds --------------------------------------------------

#[tokio::test]
async fn in_process_rate_table_is_bounded_and_keeps_throttled_keys() {
    let limits = Limits::in_process(LimitsConfig {
        max_rate_keys: 100,
        ..config("rate-bound")
    });
    // Exhaust one key…
    for _ in 0..5 {
        assert!(limits.check("tok:hot", 5).await.unwrap().allowed);
    }
    // …then flood with new keys, each barely used.
    for i in 0..2_000 {
        assert!(limits.check(&format!("ip:{i}"), 5).await.unwrap().allowed);
        assert!(limits.memory_usage().unwrap().rate_keys <= 100);
    }
    // The throttled key was not the one forgotten.
    assert!(!limits.check("tok:hot", 5).await.unwrap().allowed);
}

#[tokio::test]
async fn in_process_rate_table_drops_stale_keys() {
    let limits = Limits::in_process(LimitsConfig {
        max_rate_keys: 50,
        ..config("rate-stale")
    });
    // At 6000 per minute a single request is forgotten after 10 ms.
    for i in 0..50 {
        limits.check(&format!("ip:{i}"), 6_000).await.unwrap();
    }
    assert_eq!(limits.memory_usage().unwrap().rate_keys, 50);
    tokio::time::sleep(Duration::from_millis(50)).await;
    // The next new key finds the table full and sweeps it.
    limits.check("ip:new", 6_000).await.unwrap();
    assert_eq!(limits.memory_usage().unwrap().rate_keys, 1);
}

#[tokio::test]
async fn in_process_idempotency_table_is_bounded() {
    let limits = Limits::in_process(LimitsConfig {
        max_idempotency_entries: 10,
        ..config("idem-bound")
    });
    for i in 0..100 {
        let key = format!("idem:{i}");
        assert_eq!(limits.begin(&key, "h", TTL).await.unwrap(), Begin::Fresh);
        limits
            .complete(&key, "h", &response(b"r"), TTL)
            .await
            .unwrap();
        assert!(limits.memory_usage().unwrap().idempotency_entries <= 10);
    }
    // The newest answers are still there.
    assert!(matches!(
        limits.begin("idem:99", "h", TTL).await.unwrap(),
        Begin::Replay(_)
    ));

    // In-flight reservations are never evicted: once only they fill the
    // table, a new one is refused rather than letting a concurrent duplicate
    // in unseen (the gateway then passes the request to the service, which
    // deduplicates on its request id, as when Redis is down).
    let limits = Limits::in_process(LimitsConfig {
        max_idempotency_entries: 4,
        ..config("idem-full")
    });
    for i in 0..4 {
        assert_eq!(
            limits.begin(&format!("k{i}"), "h", TTL).await.unwrap(),
            Begin::Fresh
        );
    }
    assert!(matches!(
        limits.begin("k4", "h", TTL).await,
        Err(LimitError::Unavailable(_))
    ));
    for i in 0..4 {
        assert_eq!(
            limits.begin(&format!("k{i}"), "h", TTL).await.unwrap(),
            Begin::InFlight
        );
    }
    limits.abandon("k0").await.unwrap();
    assert_eq!(limits.begin("k4", "h", TTL).await.unwrap(), Begin::Fresh);
}

#[tokio::test]
async fn in_process_idempotency_bytes_are_bounded() {
    let limits = Limits::in_process(LimitsConfig {
        max_idempotency_bytes: 64 * 1024,
        ..config("idem-bytes")
    });
    let body = vec![7u8; 10 * 1024];
    for i in 0..50 {
        let key = format!("idem:{i}");
        assert_eq!(limits.begin(&key, "h", TTL).await.unwrap(), Begin::Fresh);
        limits
            .complete(&key, "h", &response(&body), TTL)
            .await
            .unwrap();
        let usage = limits.memory_usage().unwrap();
        assert!(usage.idempotency_bytes <= 64 * 1024, "{usage:?}");
    }
    // A response larger than the whole budget is refused, and its
    // reservation released so that a retry is not stuck behind it.
    assert_eq!(
        limits.begin("idem:huge", "h", TTL).await.unwrap(),
        Begin::Fresh
    );
    let huge = response(&vec![0u8; 128 * 1024]);
    assert!(matches!(
        limits.complete("idem:huge", "h", &huge, TTL).await,
        Err(LimitError::Unavailable(_))
    ));
    assert_eq!(
        limits.begin("idem:huge", "h", TTL).await.unwrap(),
        Begin::Fresh
    );
}

#[tokio::test]
async fn in_process_idempotency_drops_expired_records() {
    let limits = Limits::in_process(LimitsConfig {
        max_idempotency_entries: 20,
        ..config("idem-expired")
    });
    for i in 0..20 {
        let key = format!("idem:{i}");
        assert_eq!(
            limits
                .begin(&key, "h", Duration::from_millis(50))
                .await
                .unwrap(),
            Begin::Fresh
        );
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Full of lapsed reservations: the next one sweeps them.
    assert_eq!(
        limits.begin("idem:new", "h", TTL).await.unwrap(),
        Begin::Fresh
    );
    assert_eq!(limits.memory_usage().unwrap().idempotency_entries, 1);
}

// --- construction and failure -------------------------------------------

#[tokio::test]
async fn empty_url_means_in_process() {
    for url in ["", "  "] {
        let limits = connect(url).await.unwrap();
        assert_eq!(limits.backend_name(), "in-process");
        assert!(!limits.is_shared());
        assert!(limits.memory_usage().is_some());
        limits.ping().await.unwrap();
    }
}

#[tokio::test]
async fn bad_url_is_a_config_error_without_echoing_secrets() {
    let err = connect("http://user:hunter2@example.invalid/")
        .await
        .unwrap_err();
    assert!(matches!(err, LimitError::Config(_)), "{err:?}");
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

#[tokio::test]
async fn unreachable_redis_fails_fast() {
    // Nothing listens on this port: the listener is dropped before connecting.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let start = Instant::now();
    let err = connect(&format!("redis://:hunter2@127.0.0.1:{port}"))
        .await
        .unwrap_err();
    assert!(matches!(err, LimitError::Unavailable(_)), "{err:?}");
    assert!(!err.to_string().contains("hunter2"), "{err}");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn redis_keys_are_namespaced_and_expire() {
    let Some(url) = redis_url() else { return };
    let cfg = config("namespaced");
    let limits = connect_with(&url, cfg.clone()).await.unwrap();
    assert!(limits.is_shared());
    assert!(limits.memory_usage().is_none());
    limits.ping().await.unwrap();
    limits.check("tok:ns", 10).await.unwrap();
    assert_eq!(
        limits.begin("idem:ns", "h", TTL).await.unwrap(),
        Begin::Fresh
    );

    let client = redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let rate_ttl: i64 = redis::cmd("PTTL")
        .arg(format!("{}tok:ns", cfg.rate_namespace))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!((1..=60_000).contains(&rate_ttl), "rate key PTTL {rate_ttl}");
    let idem_ttl: i64 = redis::cmd("PTTL")
        .arg(format!("{}idem:ns", cfg.idempotency_namespace))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(
        (1..=30_000).contains(&idem_ttl),
        "idempotency key PTTL {idem_ttl}"
    );
    // Nothing was written outside the namespaces.
    for bare in ["tok:ns", "idem:ns"] {
        let exists: i64 = redis::cmd("EXISTS")
            .arg(bare)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(exists, 0, "{bare}");
    }
}

/// A TCP proxy in front of Redis that can be cut and restored, or stalled
/// (connections stay open, nothing is forwarded) and resumed, to see the
/// store go unavailable at runtime and recover.
struct Proxy {
    port: u16,
    upstream: String,
    stalled: tokio::sync::watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Proxy {
    async fn start(upstream: String) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut proxy = Self {
            port,
            upstream,
            stalled: tokio::sync::watch::channel(false).0,
            task: None,
        };
        proxy.serve(listener);
        proxy
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let upstream = self.upstream.clone();
        let stalled = self.stalled.clone();
        self.task = Some(tokio::spawn(async move {
            let mut conns = tokio::task::JoinSet::new();
            while let Ok((inbound, _)) = listener.accept().await {
                let Ok(outbound) = tokio::net::TcpStream::connect(upstream.clone()).await else {
                    continue;
                };
                let (in_read, in_write) = inbound.into_split();
                let (out_read, out_write) = outbound.into_split();
                conns.spawn(pipe(in_read, out_write, stalled.subscribe()));
                conns.spawn(pipe(out_read, in_write, stalled.subscribe()));
            }
        }));
    }

    /// Drops the listener and every proxied connection.
    async fn cut(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }

    async fn restore(&mut self) {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .unwrap();
        self.serve(listener);
    }

    /// Stops forwarding in both directions; connections stay open.
    fn stall(&self) {
        self.stalled.send_replace(true);
    }

    fn resume(&self) {
        self.stalled.send_replace(false);
    }
}

/// Copies `from` to `to`, holding what it read while the proxy is stalled.
async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut stalled: tokio::sync::watch::Receiver<bool>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        while *stalled.borrow_and_update() {
            if stalled.changed().await.is_err() {
                return;
            }
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// The plain `host:port` of a `redis://host:port` URL; `None` (the test is
/// skipped) for URLs with credentials, a database or a socket path.
fn proxied_host_port(url: &str) -> Option<String> {
    let host_port = url
        .trim()
        .trim_start_matches("redis://")
        .trim_end_matches('/')
        .to_owned();
    if host_port.contains('@') || host_port.contains('/') {
        eprintln!("skipping: the outage tests proxy plain redis://host:port URLs only");
        return None;
    }
    Some(host_port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_outage_is_unavailable_then_recovers() {
    let Some(url) = redis_url() else { return };
    let Some(host_port) = proxied_host_port(&url) else {
        return;
    };
    let mut proxy = Proxy::start(host_port).await;
    let limits = connect_with(
        &format!("redis://127.0.0.1:{}", proxy.port),
        config("outage"),
    )
    .await
    .unwrap();
    assert!(limits.check("tok:o", 100).await.unwrap().allowed);
    assert_eq!(
        limits.begin("idem:o", "h", TTL).await.unwrap(),
        Begin::Fresh
    );

    proxy.cut().await;
    for _ in 0..3 {
        let start = Instant::now();
        let rate = limits.check("tok:o", 100).await;
        assert!(matches!(rate, Err(LimitError::Unavailable(_))), "{rate:?}");
        let idem = limits.begin("idem:o", "h", TTL).await;
        assert!(matches!(idem, Err(LimitError::Unavailable(_))), "{idem:?}");
        assert!(limits.ping().await.is_err());
        // Bounded by the 1 s operation timeout (plus scheduling slack).
        assert!(
            start.elapsed() < Duration::from_secs(4),
            "{:?}",
            start.elapsed()
        );
    }

    proxy.restore().await;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match limits.begin("idem:o", "h", TTL).await {
            Ok(b) => {
                // The reservation made before the outage is still there.
                assert_eq!(b, Begin::InFlight);
                break;
            }
            Err(e) => {
                assert!(Instant::now() < deadline, "no recovery: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    assert!(limits.check("tok:o", 100).await.unwrap().allowed);
}

// --- a degraded store -----------------------------------------------------

/// The median time a call may take while the store is degraded: no Redis
/// round trip at all, so far below the operation timeout.
const FAST: Duration = Duration::from_millis(50);

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort_unstable();
    times[times.len() / 2]
}

#[tokio::test]
async fn an_unreachable_redis_is_degraded_not_an_error_and_answers_at_once() {
    // Port 1: nothing listens, connections are refused.
    let url = "redis://127.0.0.1:1";
    assert!(matches!(
        connect(url).await,
        Err(LimitError::Unavailable(_))
    ));
    let limits = open_with(
        url,
        LimitsConfig {
            probe_interval: Duration::from_millis(100),
            ..config("unreachable")
        },
    )
    .await
    .expect("open starts without Redis");
    assert_eq!(limits.backend_name(), "redis");
    assert_eq!(limits.health(), StoreHealth::Degraded);
    let mut times = Vec::new();
    for _ in 0..20 {
        let start = Instant::now();
        assert!(matches!(
            limits.check("tok:u", 10).await,
            Err(LimitError::Unavailable(_))
        ));
        assert!(matches!(
            limits.begin("idem:u", "h", TTL).await,
            Err(LimitError::Unavailable(_))
        ));
        assert!(limits.ping().await.is_err());
        times.push(start.elapsed());
    }
    let p50 = median(times);
    assert!(p50 < FAST, "{p50:?}");
    // A malformed URL is still refused at start.
    assert!(matches!(
        open_with("http://x/", config("bad")).await,
        Err(LimitError::Config(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_redis_costs_one_timeout_then_calls_fail_at_once_until_it_is_back() {
    let Some(url) = redis_url() else { return };
    let Some(host_port) = proxied_host_port(&url) else {
        return;
    };
    let proxy = Proxy::start(host_port).await;
    let limits = open_with(
        &proxy.url(),
        LimitsConfig {
            op_timeout: Duration::from_millis(300),
            probe_interval: Duration::from_millis(100),
            ..config("stall")
        },
    )
    .await
    .unwrap();
    assert_eq!(limits.health(), StoreHealth::Ok);
    assert!(limits.check("tok:s", 100).await.unwrap().allowed);

    proxy.stall();
    let start = Instant::now();
    assert!(limits.check("tok:s", 100).await.is_err());
    let first = start.elapsed();
    assert!(
        first >= Duration::from_millis(250) && first < Duration::from_secs(2),
        "{first:?}"
    );
    assert_eq!(limits.health(), StoreHealth::Degraded);
    let mut times = Vec::new();
    for _ in 0..20 {
        let start = Instant::now();
        assert!(limits.begin("idem:s", "h", TTL).await.is_err());
        times.push(start.elapsed());
    }
    let p50 = median(times);
    assert!(p50 < FAST, "{p50:?}");
    // Still stalled: the probe does not close the circuit.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(limits.health(), StoreHealth::Degraded);

    proxy.resume();
    let deadline = Instant::now() + Duration::from_secs(10);
    while limits.health() != StoreHealth::Ok {
        assert!(Instant::now() < deadline, "no recovery after the stall");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        limits.begin("idem:s", "h", TTL).await.unwrap(),
        Begin::Fresh
    );
}

// --- the gateway ----------------------------------------------------------

fn homes_path(region: &str) -> String {
    format!("/v1/regions/{region}/homes")
}

/// Ids of the homes in `region` with a competence (the test's marker).
async fn homes_with(env: &Env, region: &str, competence: &str) -> Vec<String> {
    let doc = env
        .http()
        .get(
            &format!(
                "{}?competences={competence}&include_unplaceable=true",
                homes_path(region)
            ),
            &env.officer(),
        )
        .await
        .ok();
    doc["homes"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|h| h["id"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn create_home(token: &str, key: &str, body: &Value) -> Req {
    Req::post(&homes_path(STOCKHOLM))
        .bearer(token)
        .header("Idempotency-Key", key)
        .json(body)
}

fn home_body(street: &str, competence: &str, carer: u16) -> Value {
    json!({ "draft": home_draft(OWN, street, &adult(carer), &[competence]) })
}

/// The gateway's `/readyz` document (always HTTP 200 while a region serves).
async fn readyz(gateway: &GatewayServer) -> Value {
    gateway.http.send(Req::get("/readyz")).await.ok()
}

/// The median time of 20 reads of one home.
async fn median_read(env: &Env, gateway: &GatewayServer, home_id: &str) -> Duration {
    let path = format!("{}/{home_id}", homes_path(STOCKHOLM));
    let mut times = Vec::new();
    for _ in 0..20 {
        let start = Instant::now();
        gateway.http.get(&path, &env.officer()).await.ok();
        times.push(start.elapsed());
    }
    median(times)
}

/// Sends a request and hangs up before the answer: the gateway's handler is
/// dropped mid-request (as when a gateway dies), so it never releases what
/// it reserved.
async fn send_and_hang_up(addr: std::net::SocketAddr, req: &Req) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let body = req.body.clone().unwrap_or_default();
    let mut head = format!("{} {} HTTP/1.1\r\nHost: {addr}\r\n", req.method, req.path);
    for (k, v) in &req.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(stream);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_request_frees_its_key_in_seconds_and_the_retry_gets_the_first_answer() {
    for_each_backend(|b| async move {
        let tweak = |c: &mut samling_kit::config::GatewayConfig| {
            c.call_timeout_ms = 1000;
            c.idempotency_reservation_ms = 2500;
        };
        let env = Env::start_with(&b, &[STOCKHOLM], tweak).await;
        let body = home_body("Förlorade gatan 1", "idem-lost", 31);
        let token = env.officer();

        // A gateway ran the request, the service committed it, and the
        // gateway's record of the answer was lost (its store is its own).
        let lost = env.gateway_with(tweak).await;
        let first = lost.http.send(create_home(&token, "lost-1", &body)).await;
        first.ok();

        // What a replica that died mid-request leaves in the shared store.
        let gw = &env.gateway.gw;
        let caller = gw.verified_token(&token).await.unwrap();
        let key = caller.idempotency_key(STOCKHOLM, "lost-1");
        let start = Instant::now();
        assert_eq!(
            gw.limits
                .begin(&key, "died", gw.reservation_ttl())
                .await
                .unwrap(),
            Begin::Fresh
        );
        env.http()
            .send(create_home(&token, "lost-1", &body))
            .await
            .refusal(409, "IDEMPOTENCY_KEY_IN_USE");

        // The reservation lapses within seconds (not the answer's TTL), and
        // the retry reaches the service, which answers what it answered first.
        let lapsed = gw.reservation_ttl() + Duration::from_millis(300);
        assert!(lapsed < Duration::from_secs(4), "{lapsed:?}");
        tokio::time::sleep(lapsed.saturating_sub(start.elapsed())).await;
        let retry = env.http().send(create_home(&token, "lost-1", &body)).await;
        assert_eq!(retry.status, 200, "{}", retry.text());
        assert_eq!(retry.body, first.body, "the retry gets the first answer");
        assert_eq!(homes_with(&env, STOCKHOLM, "idem-lost").await.len(), 1);

        // Now kept by this gateway: the next retry does not reach a region.
        let reached = env.reached();
        let again = env.http().send(create_home(&token, "lost-1", &body)).await;
        assert_eq!(again.body, first.body);
        assert_eq!(env.reached(), reached, "replayed by the gateway");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_whose_client_hangs_up_keeps_nothing() {
    for_each_backend(|b| async move {
        let tweak = |c: &mut samling_kit::config::GatewayConfig| {
            c.call_timeout_ms = 3000;
        };
        let env = Env::start_with(&b, &[STOCKHOLM], tweak).await;
        let body = home_body("Avbrutna gatan 1", "idem-hangup", 32);
        let token = env.officer();
        // A replica sharing the main gateway's store whose region hangs: the
        // client gives up and hangs up mid-call; the handler is dropped.
        let hung = BlackHole::start().await;
        let replica = env
            .gateway_with_limits(
                &[(STOCKHOLM.to_string(), hung.endpoint())],
                env.gateway.gw.limits.clone(),
                tweak,
            )
            .await;
        send_and_hang_up(replica.addr, &create_home(&token, "hangup-1", &body)).await;
        // Well before the replica's call would time out, the key is free.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let r = env
            .http()
            .send(create_home(&token, "hangup-1", &body))
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(homes_with(&env, STOCKHOLM, "idem-hangup").await.len(), 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reservation_redis_lost_during_the_release_lapses_in_seconds() {
    let Some(url) = redis_url() else { return };
    let Some(host_port) = proxied_host_port(&url) else {
        return;
    };
    let mut proxy = Proxy::start(host_port).await;
    let plain = common::backends().remove(0);
    let tweak = |c: &mut samling_kit::config::GatewayConfig| {
        c.call_timeout_ms = 1000;
        c.idempotency_reservation_ms = 3000;
    };
    let env = Env::start_with(&plain, &[STOCKHOLM], tweak).await;
    // Two replicas on one Redis namespace: one through the proxy in front of
    // a hanging region, one direct in front of the real region.
    let cfg = config("release-lost");
    let through_proxy = open_with(&proxy.url(), cfg.clone()).await.unwrap();
    let direct = open_with(&url, cfg).await.unwrap();
    let hung = BlackHole::start().await;
    let replica = env
        .gateway_with_limits(
            &[(STOCKHOLM.to_string(), hung.endpoint())],
            through_proxy,
            tweak,
        )
        .await;
    let gateway = env
        .gateway_with_limits(&env.endpoints(), direct, tweak)
        .await;
    let token = env.officer();
    let body = home_body("Tappade gatan 1", "idem-release-lost", 33);

    // The replica reserves the key, then Redis goes away before its call
    // times out: the release fails and the reservation stays behind.
    let start = Instant::now();
    let request = create_home(&token, "release-lost-1", &body);
    let pending = tokio::spawn(async move { replica.http.send(request).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    proxy.cut().await;
    let answer = pending.await.unwrap();
    answer.problem(504, "DEADLINE_EXCEEDED");
    gateway
        .http
        .send(create_home(&token, "release-lost-1", &body))
        .await
        .problem(409, "ABORTED");

    // It lapses within seconds and the retry runs.
    let lapsed = gateway.gw.reservation_ttl() + Duration::from_millis(300);
    tokio::time::sleep(lapsed.saturating_sub(start.elapsed())).await;
    let retry = gateway
        .http
        .send(create_home(&token, "release-lost-1", &body))
        .await;
    assert_eq!(retry.status, 200, "{}", retry.text());
    assert_eq!(
        homes_with(&env, STOCKHOLM, "idem-release-lost").await.len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_request_does_not_keep_its_key_and_a_reserved_key_is_409_not_422() {
    for_each_backend(|b| async move {
        let env = Env::start_with(&b, &[STOCKHOLM], |_| {}).await;
        let token = env.officer();

        // The service refuses a draft naming an agency that does not exist:
        // nothing happened, so the answer is not kept…
        let mut typo = home_body("Felgatan 1", "idem-refused", 41);
        typo["draft"]["agency_id"] = json!(new_id());
        let r = env
            .http()
            .send(create_home(&token, "refused-1", &typo))
            .await;
        assert_eq!(
            r.problem(400, "INVALID_ARGUMENT")["field"],
            "draft.agency_id"
        );
        // …and the corrected request under the same key runs (not 422).
        let genuine = home_body("Rättgatan 1", "idem-refused", 41);
        let first = env
            .http()
            .send(create_home(&token, "refused-1", &genuine))
            .await;
        first.ok();
        let again = env
            .http()
            .send(create_home(&token, "refused-1", &genuine))
            .await;
        assert_eq!(again.body, first.body);
        // Against the kept answer a different request is 422.
        env.http()
            .send(create_home(&token, "refused-1", &typo))
            .await
            .problem(422, "INVALID_ARGUMENT");
        assert_eq!(homes_with(&env, STOCKHOLM, "idem-refused").await.len(), 1);

        // A different request holding the key's reservation makes the genuine
        // one wait (409), not fail for good (422).
        let caller = env.gateway.gw.verified_token(&token).await.unwrap();
        let key = caller.idempotency_key(STOCKHOLM, "reserved-1");
        let gw = &env.gateway.gw;
        assert_eq!(
            gw.limits
                .begin(&key, "another-body", gw.reservation_ttl())
                .await
                .unwrap(),
            Begin::Fresh
        );
        let body = home_body("Väntgatan 1", "idem-wait", 42);
        env.http()
            .send(create_home(&token, "reserved-1", &body))
            .await
            .problem(409, "ABORTED");
        // The other request failed and released the key: the genuine one runs.
        gw.limits.abandon(&key).await.unwrap();
        env.http()
            .send(create_home(&token, "reserved-1", &body))
            .await
            .ok();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_request_under_a_key_the_service_kept_is_422_after_a_restart_too() {
    for_each_backend(|b| async move {
        let env = Env::start_with(&b, &[STOCKHOLM], |_| {}).await;
        let token = env.officer();
        let first = home_body("Förstagatan 1", "idem-restart", 51);
        env.http()
            .send(create_home(&token, "restart-1", &first))
            .await
            .ok();
        let other = home_body("Andragatan 2", "idem-restart", 51);
        let before = env
            .http()
            .send(create_home(&token, "restart-1", &other))
            .await;
        let p = before.problem(422, "INVALID_ARGUMENT");
        assert_eq!(p["field"], "Idempotency-Key");
        // A restarted gateway (an empty store) answers the same: the
        // service's own record of the request id decides.
        let restarted = env.gateway_with(|_| {}).await;
        let after = restarted
            .http
            .send(create_home(&token, "restart-1", &other))
            .await;
        let p = after.problem(422, "INVALID_ARGUMENT");
        assert_eq!(p["field"], "Idempotency-Key", "{p}");
        assert_eq!(homes_with(&env, STOCKHOLM, "idem-restart").await.len(), 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotency_key_belongs_to_the_whole_caller_not_to_the_sub() {
    for_each_backend(|b| async move {
        let mut env = Env::start_with(&b, &[STOCKHOLM], |_| {}).await;
        // Two tokens with one `sub`, of two municipalities.
        let token = |municipality: &str| {
            env.issuer
                .issue(IssueClaims {
                    sub: "shared-sub".into(),
                    role: Role::MunicipalityCaseworker,
                    municipality: Some(MunicipalityCode::parse(municipality).unwrap()),
                    party: None,
                    region: None,
                    ttl: Duration::from_secs(3600),
                })
                .unwrap()
        };
        let (ours, theirs) = (token(OWN), token(OTHER));
        let child = env
            .http()
            .post(
                &format!("/v1/regions/{STOCKHOLM}/children"),
                &ours,
                &json!({
                    "personnummer": personnummer(chrono::NaiveDate::from_ymd_opt(2015, 6, 1).unwrap(), 321),
                    "given_name": "Alva",
                    "family_name": "Ek",
                    "placing_municipality_code": OWN,
                }),
            )
            .await
            .ok();
        let child_id = child["child"]["id"].as_str().unwrap().to_string();
        let protect = |token: &str| {
            Req::new(
                "PUT",
                &format!("/v1/regions/{STOCKHOLM}/children/{child_id}/protection"),
            )
            .bearer(token)
            .header("Idempotency-Key", "protect-1")
            .json(&json!({ "protected_identity": true }))
        };
        let first = env.http().send(protect(&ours)).await;
        first.ok();

        // With the region gone only a stored answer could answer 200.
        env.region_mut(STOCKHOLM).kill().await;
        let r = env.http().send(protect(&theirs)).await;
        assert_ne!(
            r.status,
            200,
            "another caller got the stored answer: {}",
            r.text()
        );
        assert!(!r.text().contains(&child_id), "{}", r.text());
        // The caller who made it still gets it.
        let again = env.http().send(protect(&ours)).await;
        assert_eq!(again.status, 200, "{}", again.text());
        assert_eq!(again.body, first.body);
    })
    .await;
}

#[test]
fn every_mutating_route_gives_the_service_a_request_id() {
    // While Redis is down the gateway passes keyed writes through, relying on
    // the service to deduplicate on `request_id` (a route without one would
    // be refused with 503 then).
    let schema = samling_gateway::schema::Schema::load().unwrap();
    // (A route whose answer is never stored ignores the key: a read that
    // must be a POST, such as revealing a protected address.)
    let mutating: Vec<_> = samling_gateway::routes::all()
        .filter(|r| r.keeps_answers())
        .collect();
    assert!(mutating.len() > 20);
    for route in mutating {
        assert!(
            schema.has_field(route.request, "request_id"),
            "{} ({}) has no request_id",
            route.operation_id,
            route.request
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_starts_without_redis_and_works_degraded() {
    let plain = common::backends().remove(0);
    let env = Env::start_with(&plain, &[STOCKHOLM], |_| {}).await;
    let unreachable = || async {
        open_with("redis://127.0.0.1:1", config("gateway-unreachable"))
            .await
            .unwrap()
    };
    let gateway = env
        .gateway_with_limits(&env.endpoints(), unreachable().await, |_| {})
        .await;
    let ready = readyz(&gateway).await;
    assert_eq!(ready["status"], "ready", "{ready}");
    assert_eq!(ready["redis"], "degraded", "{ready}");

    // Writes with an Idempotency-Key pass through; the service deduplicates.
    let token = env.officer();
    let body = home_body("Utan Redis 1", "idem-no-redis", 61);
    let first = gateway
        .http
        .send(create_home(&token, "no-redis-1", &body))
        .await;
    let home_id = first.ok()["home"]["id"].as_str().unwrap().to_string();
    let retry = gateway
        .http
        .send(create_home(&token, "no-redis-1", &body))
        .await;
    assert_eq!(retry.status, 200, "{}", retry.text());
    assert_eq!(retry.body, first.body);
    assert_eq!(homes_with(&env, STOCKHOLM, "idem-no-redis").await.len(), 1);

    // Reads do not wait on Redis.
    let p50 = median_read(&env, &gateway, &home_id).await;
    eprintln!("redis unreachable: p50 of 20 reads {p50:?}");
    assert!(p50 < Duration::from_millis(100), "p50 {p50:?}");

    // Rate limits still hold, per replica.
    let limited = env
        .gateway_with_limits(&env.endpoints(), unreachable().await, |c| {
            c.token_rate_per_minute = 3;
        })
        .await;
    let path = format!("{}/{home_id}", homes_path(STOCKHOLM));
    for _ in 0..3 {
        limited.http.get(&path, &token).await.ok();
    }
    let r = limited.http.get(&path, &token).await;
    r.problem(429, "RESOURCE_EXHAUSTED");
    assert!(r.header("retry-after").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_that_stalls_or_goes_away_mid_run_degrades_the_gateway_until_it_is_back() {
    let Some(url) = redis_url() else { return };
    let Some(host_port) = proxied_host_port(&url) else {
        return;
    };
    let mut proxy = Proxy::start(host_port).await;
    let plain = common::backends().remove(0);
    let env = Env::start_with(&plain, &[STOCKHOLM], |_| {}).await;
    let limits = open_with(
        &proxy.url(),
        LimitsConfig {
            probe_interval: Duration::from_millis(200),
            ..config("gateway-stall")
        },
    )
    .await
    .unwrap();
    let gateway = env
        .gateway_with_limits(&env.endpoints(), limits, |_| {})
        .await;
    let token = env.officer();
    assert_eq!(readyz(&gateway).await["redis"], "ok");
    let home = gateway
        .http
        .send(create_home(
            &token,
            "stall-0",
            &home_body("Stallgatan 1", "idem-stall-0", 71),
        ))
        .await
        .ok();
    let home_id = home["home"]["id"].as_str().unwrap().to_string();

    for outage in ["stall", "cut"] {
        match outage {
            "stall" => proxy.stall(),
            _ => proxy.cut().await,
        }
        // A write succeeds (the first call into the outage waits the 1 s
        // operation timeout at most) and its retry gets the same answer.
        let key = format!("{outage}-1");
        let body = home_body(&format!("{outage}gatan 2"), &format!("idem-{outage}"), 72);
        let started = Instant::now();
        let first = gateway.http.send(create_home(&token, &key, &body)).await;
        eprintln!("redis {outage}: first write {:?}", started.elapsed());
        assert_eq!(first.status, 200, "{outage}: {}", first.text());
        let retry = gateway.http.send(create_home(&token, &key, &body)).await;
        assert_eq!(retry.body, first.body, "{outage}");
        assert_eq!(
            homes_with(&env, STOCKHOLM, &format!("idem-{outage}"))
                .await
                .len(),
            1,
            "{outage}"
        );
        // Reads stay fast; the gateway says it is degraded, and ready.
        let p50 = median_read(&env, &gateway, &home_id).await;
        eprintln!("redis {outage}: p50 of 20 reads {p50:?}");
        assert!(p50 < Duration::from_millis(100), "{outage}: p50 {p50:?}");
        let ready = readyz(&gateway).await;
        assert_eq!(ready["redis"], "degraded", "{outage}: {ready}");
        assert_eq!(ready["status"], "ready", "{outage}: {ready}");

        match outage {
            "stall" => proxy.resume(),
            _ => proxy.restore().await,
        }
        let back = Instant::now();
        let deadline = back + Duration::from_secs(10);
        loop {
            if readyz(&gateway).await["redis"] == "ok" {
                eprintln!("redis {outage}: ok again after {:?}", back.elapsed());
                break;
            }
            assert!(Instant::now() < deadline, "{outage}: no recovery");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Back to shared records: a new answer is kept in Redis and
        // replayed without reaching the region.
        let key = format!("{outage}-2");
        let body = home_body(
            &format!("{outage}gatan 3"),
            &format!("idem-{outage}-after"),
            73,
        );
        let first = gateway.http.send(create_home(&token, &key, &body)).await;
        first.ok();
        let reached = env.reached();
        let retry = gateway.http.send(create_home(&token, &key, &body)).await;
        assert_eq!(retry.body, first.body, "{outage}");
        assert_eq!(env.reached(), reached, "{outage}: replayed from Redis");
    }
}

/// Token-limited requests `token` may still make (each a cheap 404) before
/// the gateway answers 429; at most `cap`.
async fn cheap_requests_left(gateway: &GatewayServer, token: &str, cap: usize) -> usize {
    let missing = format!("{}/{}", homes_path(STOCKHOLM), common::new_id());
    for n in 0..cap {
        let r = gateway.http.send(Req::get(&missing).bearer(token)).await;
        if r.status == 429 {
            return n;
        }
        assert_eq!(r.status, 404, "{}", r.text());
    }
    cap
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_answer_costs_its_caller_as_many_requests_as_its_size() {
    for_each_backend(|b| async move {
        let env = Env::start_with(&b, &[STOCKHOLM], |_| {}).await;
        for i in 0..12 {
            env.create_home_id(
                STOCKHOLM,
                json!(home_draft(
                    OWN,
                    &format!("Kostgatan {i}"),
                    &adult(300 + i),
                    &["cost-marker"]
                )),
            )
            .await;
        }
        let gateway = env
            .gateway_with(|c| {
                c.token_rate_per_minute = 40;
                c.rate_cost_bytes = 256;
            })
            .await;
        // One caller reads a page of twelve homes with their households...
        let reader = env.officer();
        let page = gateway
            .http
            .send(
                Req::get(&format!(
                    "{}?competences=cost-marker&include_unplaceable=true",
                    homes_path(STOCKHOLM)
                ))
                .bearer(&reader),
            )
            .await;
        page.ok();
        let units = page.body.len() / 256;
        assert!(
            units >= 8,
            "a page of 12 homes is {} bytes",
            page.body.len()
        );
        // ...another makes one cheap request.
        let other = env.caseworker(OWN);
        let missing = format!("{}/{}", homes_path(STOCKHOLM), common::new_id());
        gateway.http.send(Req::get(&missing).bearer(&other)).await;

        // The page cost its reader as many requests as its size.
        let reader_left = cheap_requests_left(&gateway, &reader, 40).await;
        let other_left = cheap_requests_left(&gateway, &other, 40).await;
        assert_eq!(other_left, 39, "a cheap request costs one");
        assert!(
            reader_left + units <= 39 + 1 && reader_left + units + 1 >= 39,
            "after a {}-byte answer ({units} units) the reader had {reader_left} left",
            page.body.len()
        );
    })
    .await;
}
