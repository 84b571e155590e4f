//! Rate limits and idempotency records, on the in-process store always and on
//! Redis too when `SAMLING_TEST_REDIS_URL` is set (e.g. redis://127.0.0.1:6379).
//! Every test uses its own namespace, unique per run, so tests running in
//! parallel (or several runs against one Redis) never see each other's keys.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use samling_gateway::limits::{
    Begin, LimitError, Limits, LimitsConfig, StoredResponse, connect, connect_with,
};

fn redis_url() -> Option<String> {
    std::env::var("SAMLING_TEST_REDIS_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
}

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
    // table, a new one is refused (the gateway answers 503) rather than
    // letting a duplicate run.
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

/// A TCP proxy in front of Redis that can be cut and restored, to see the
/// store go unavailable at runtime and recover.
struct Proxy {
    port: u16,
    upstream: String,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Proxy {
    async fn start(upstream: String) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut proxy = Self {
            port,
            upstream,
            task: None,
        };
        proxy.serve(listener);
        proxy
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let upstream = self.upstream.clone();
        self.task = Some(tokio::spawn(async move {
            let mut conns = tokio::task::JoinSet::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                let upstream = upstream.clone();
                conns.spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_outage_is_unavailable_then_recovers() {
    let Some(url) = redis_url() else { return };
    let host_port = url
        .trim()
        .trim_start_matches("redis://")
        .trim_end_matches('/')
        .to_owned();
    if host_port.contains('@') || host_port.contains('/') {
        eprintln!("skipping: the outage test proxies plain redis://host:port URLs only");
        return;
    }
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
