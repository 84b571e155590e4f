//! With an OTLP endpoint configured, spans reach the collector, and a gRPC
//! server span continues the trace whose context arrived in metadata.

use samling_kit::config::TelemetryConfig;
use samling_testkit::otlp::Collector;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_are_exported_over_otlp_and_continue_the_callers_trace() {
    // The subscriber and the tracer provider are per process.
    if !samling_testkit::in_own_process() {
        return;
    }
    let (collector, endpoint) = Collector::start().await;

    let cfg = TelemetryConfig {
        log: "info".into(),
        log_format: "text".into(),
        otlp_endpoint: Some(endpoint),
    };
    let mut guard = samling_kit::telemetry::init(&cfg, "samling-test");

    // A caller's span injects its context; the "server" side extracts it.
    let caller = tracing::info_span!("caller");
    let mut md = tonic::metadata::MetadataMap::new();
    caller.in_scope(|| samling_kit::telemetry::inject_context(&mut md));
    assert!(
        md.get("traceparent").is_some(),
        "W3C traceparent is injected"
    );
    let mut http = tonic::codegen::http::Request::builder()
        .uri("/samling.registry.v1.RegistryService/GetHome");
    for (k, v) in md.clone().into_headers().iter() {
        http = http.header(k, v);
    }
    let server_span = samling_kit::telemetry::grpc_server_span(&http.body(()).unwrap());
    server_span.in_scope(|| tracing::info!("handled"));
    drop(server_span);
    drop(caller);
    guard.shutdown();

    let got = collector.spans();
    let caller = got
        .iter()
        .find(|s| s.name == "caller")
        .expect("caller span exported");
    let server = got
        .iter()
        .find(|s| s.name == "grpc.server")
        .expect("server span exported");
    assert_eq!(
        caller.trace_id, server.trace_id,
        "one trace spans caller and server"
    );
    assert_eq!(
        server.parent_span_id, caller.span_id,
        "the server span has the caller as parent"
    );
}
