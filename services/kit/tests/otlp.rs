//! With an OTLP endpoint configured, spans reach the collector, and a gRPC
//! server span continues the trace whose context arrived in metadata.

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use samling_kit::config::TelemetryConfig;
use std::sync::{Arc, Mutex};
use tonic::{Request, Response, Status};

/// (span name, trace id, parent span id) of every exported span.
type Spans = Arc<Mutex<Vec<(String, Vec<u8>, Vec<u8>)>>>;

#[derive(Clone, Default)]
struct Collector(Spans);

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        req: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let mut got = self.0.lock().unwrap();
        for rs in req.into_inner().resource_spans {
            for ss in rs.scope_spans {
                for s in ss.spans {
                    got.push((s.name, s.trace_id, s.parent_span_id));
                }
            }
        }
        Ok(Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_are_exported_over_otlp_and_continue_the_callers_trace() {
    let collector = Collector::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = collector.clone();
    tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(server))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
            .await
    });

    let cfg = TelemetryConfig {
        log: "info".into(),
        log_format: "text".into(),
        otlp_endpoint: Some(format!("http://{addr}")),
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

    let got = collector.0.lock().unwrap().clone();
    let caller = got
        .iter()
        .find(|s| s.0 == "caller")
        .expect("caller span exported");
    let server = got
        .iter()
        .find(|s| s.0 == "grpc.server")
        .expect("server span exported");
    assert_eq!(caller.1, server.1, "one trace spans caller and server");
    assert!(
        !server.2.is_empty(),
        "the server span has the caller as parent"
    );
}
