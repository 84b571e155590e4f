//! One REST request is one trace: the gateway's `http.server` span and the
//! registry's `grpc.server` span share a trace id and the gRPC span descends
//! from the HTTP one; a caller's `traceparent` is continued; and RED metrics
//! for both reach an OTLP collector, with templates, never ids, as
//! attributes.
//!
//! In a process of its own: the tracing subscriber and the meter provider
//! are per process, and other tests' calls would count in its metrics.

use crate::common;

use common::*;
use samling_kit::config::TelemetryConfig;
use samling_testkit::otlp::{Collector, Span};

/// Does `from`'s chain of parents (within the exported spans) reach `to`?
fn descends_from(spans: &[Span], from: &Span, to: &Span) -> bool {
    let mut parent = from.parent_span_id.clone();
    for _ in 0..spans.len() {
        if parent.is_empty() {
            return false;
        }
        if parent == to.span_id {
            return true;
        }
        match spans
            .iter()
            .find(|s| s.span_id == parent && s.trace_id == from.trace_id)
        {
            Some(p) => parent = p.parent_span_id.clone(),
            None => return false,
        }
    }
    false
}

const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_rest_request_is_one_trace_across_gateway_and_registry_with_red_metrics() {
    if !samling_testkit::in_own_process() {
        return;
    }
    let (collector, endpoint) = Collector::start().await;
    let guard = samling_kit::telemetry::init(
        &TelemetryConfig {
            log: "info".into(),
            otlp_endpoint: Some(endpoint),
            ..TelemetryConfig::default()
        },
        "samling-trace-test",
    );

    let backend = backends().into_iter().next().expect("the SQLite backend");
    let env = Env::start_with(&backend, &[STOCKHOLM], |_| {}).await;
    let id = env
        .create_home_id(
            STOCKHOLM,
            home_draft(OWN, "Spårgatan 1", &adult(21), &["npf"]),
        )
        .await;
    let path = format!("/v1/regions/{STOCKHOLM}/homes/{id}");

    // The request of the test: no trace context, so the gateway starts one.
    let read = env.http().get(&path, &env.officer()).await.ok();
    assert_eq!(read["id"], id.as_str(), "{read}");
    // The same from a caller that is itself traced.
    env.http()
        .send(Req::get(&path).bearer(&env.officer()).header(
            "traceparent",
            &format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01"),
        ))
        .await
        .ok();

    // Flush spans and metrics (blocking; off the runtime's workers).
    let guard = tokio::task::spawn_blocking(move || {
        let mut guard = guard;
        guard.shutdown();
        guard
    })
    .await
    .expect("flush");
    drop(env);
    drop(guard);

    let spans = collector.spans();
    let gets: Vec<&Span> = spans
        .iter()
        .filter(|s| s.name == "http.server" && s.attr("http.method") == Some("GET"))
        .collect();
    assert_eq!(gets.len(), 2, "two GETs, two http.server spans: {spans:#?}");
    let caller_trace = hex::decode(CALLER_TRACE).unwrap();
    let (traced, fresh): (Vec<&Span>, Vec<&Span>) =
        gets.iter().partition(|s| s.trace_id == caller_trace);
    assert_eq!(traced.len(), 1, "a traceparent is continued: {gets:#?}");
    assert_eq!(fresh.len(), 1, "{gets:#?}");
    let (traced, fresh) = (traced[0], fresh[0]);
    assert_eq!(
        traced.parent_span_id,
        hex::decode(CALLER_SPAN).unwrap(),
        "the gateway's span is the caller's span's child"
    );
    assert!(
        fresh.parent_span_id.is_empty(),
        "without a traceparent the gateway's span is the root: {fresh:?}"
    );
    assert_eq!(
        fresh.attr("http.route"),
        Some("/v1/regions/{region}/homes/{home_id}"),
        "the route template, not the URL"
    );

    for http in [fresh, traced] {
        let grpc: Vec<&Span> = spans
            .iter()
            .filter(|s| s.name == "grpc.server" && s.trace_id == http.trace_id)
            .collect();
        assert_eq!(
            grpc.len(),
            1,
            "one registry call in the trace of {http:?}: {spans:#?}"
        );
        let grpc = grpc[0];
        assert_eq!(
            grpc.attr("rpc.method"),
            Some("/samling.registry.v1.RegistryService/GetHome")
        );
        assert!(
            descends_from(&spans, grpc, http),
            "the registry's span descends from the gateway's: {grpc:?} {http:?}"
        );
    }
    // The trace the gateway started is its own: nothing else shares it but
    // its descendants.
    for s in spans.iter().filter(|s| s.trace_id == fresh.trace_id) {
        assert!(
            s.span_id == fresh.span_id || descends_from(&spans, s, fresh),
            "{s:?}"
        );
    }

    let points = collector.points();
    let rpc = points
        .iter()
        .find(|p| p.metric == "rpc.server.duration" && p.has("rpc.method", "GetHome"))
        .unwrap_or_else(|| panic!("rpc.server.duration of GetHome: {points:#?}"));
    assert_eq!(rpc.unit, "ms");
    assert!(rpc.has("rpc.system", "grpc"), "{rpc:?}");
    assert!(
        rpc.has("rpc.service", "samling.registry.v1.RegistryService"),
        "{rpc:?}"
    );
    assert!(rpc.has("rpc.grpc.status_code", "0"), "{rpc:?}");
    assert_eq!(rpc.count, 2.0, "two GetHome calls: {rpc:?}");
    let requests = points
        .iter()
        .find(|p| p.metric == "rpc.server.requests" && p.has("rpc.method", "GetHome"))
        .unwrap_or_else(|| panic!("rpc.server.requests of GetHome: {points:#?}"));
    assert_eq!(requests.count, 2.0, "{requests:?}");
    assert!(
        points
            .iter()
            .any(|p| p.metric == "rpc.server.duration" && p.has("rpc.method", "CreateHome")),
        "{points:#?}"
    );

    let http = points
        .iter()
        .find(|p| {
            p.metric == "http.server.request.duration"
                && p.has("http.route", "/v1/regions/{region}/homes/{home_id}")
        })
        .unwrap_or_else(|| panic!("http.server.request.duration of getHome: {points:#?}"));
    assert_eq!(http.unit, "s");
    assert!(http.has("http.request.method", "GET"), "{http:?}");
    assert!(http.has("http.response.status_code", "200"), "{http:?}");
    assert_eq!(http.count, 2.0, "{http:?}");

    // Templates only: no id, no region value in any attribute.
    for p in &points {
        for (k, v) in &p.attrs {
            assert!(
                !v.contains(&id) && !v.contains(STOCKHOLM),
                "{}: {k}={v} names a record or region",
                p.metric
            );
        }
    }
}
