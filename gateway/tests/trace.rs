//! One REST request is one trace: the gateway's `http.server` span and the
//! registry's `grpc.server` span share a trace id and the gRPC span descends
//! from the HTTP one; a caller's `traceparent` is continued; and RED metrics
//! for both reach an OTLP collector, with templates, never ids, as
//! attributes.
//!
//! A test binary of its own: the tracing subscriber and the meter provider
//! are per process.

mod common;

use common::*;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::number_data_point::Value as Number;
use samling_kit::config::TelemetryConfig;
use std::sync::{Arc, Mutex};
use tonic::{Request, Response, Status};

/// One exported span.
#[derive(Clone, Debug)]
struct Span {
    name: String,
    trace_id: Vec<u8>,
    span_id: Vec<u8>,
    parent_span_id: Vec<u8>,
    attrs: Vec<(String, String)>,
}

impl Span {
    fn attr(&self, key: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// One exported data point: metric name, attributes, count (histogram) or
/// value (sum).
#[derive(Clone, Debug)]
struct Point {
    metric: String,
    unit: String,
    attrs: Vec<(String, String)>,
    count: f64,
}

impl Point {
    fn has(&self, key: &str, value: &str) -> bool {
        self.attrs.iter().any(|(k, v)| k == key && v == value)
    }
}

#[derive(Clone, Default)]
struct Collector {
    spans: Arc<Mutex<Vec<Span>>>,
    points: Arc<Mutex<Vec<Point>>>,
}

fn text(v: &Option<AnyValue>) -> String {
    match v.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        other => format!("{other:?}"),
    }
}

fn pairs(kvs: &[KeyValue]) -> Vec<(String, String)> {
    kvs.iter()
        .map(|kv| (kv.key.clone(), text(&kv.value)))
        .collect()
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        req: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let mut got = self.spans.lock().unwrap();
        for rs in req.into_inner().resource_spans {
            for ss in rs.scope_spans {
                for s in ss.spans {
                    got.push(Span {
                        attrs: pairs(&s.attributes),
                        name: s.name,
                        trace_id: s.trace_id,
                        span_id: s.span_id,
                        parent_span_id: s.parent_span_id,
                    });
                }
            }
        }
        Ok(Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

#[tonic::async_trait]
impl MetricsService for Collector {
    async fn export(
        &self,
        req: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        let mut got = self.points.lock().unwrap();
        for rm in req.into_inner().resource_metrics {
            for sm in rm.scope_metrics {
                for m in sm.metrics {
                    let mut push = |attrs: &[KeyValue], count: f64| {
                        got.push(Point {
                            metric: m.name.clone(),
                            unit: m.unit.clone(),
                            attrs: pairs(attrs),
                            count,
                        })
                    };
                    match &m.data {
                        Some(Data::Histogram(h)) => {
                            for p in &h.data_points {
                                push(&p.attributes, p.count as f64);
                            }
                        }
                        Some(Data::Sum(s)) => {
                            for p in &s.data_points {
                                let v = match p.value {
                                    Some(Number::AsInt(i)) => i as f64,
                                    Some(Number::AsDouble(d)) => d,
                                    None => 0.0,
                                };
                                push(&p.attributes, v);
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        Ok(Response::new(ExportMetricsServiceResponse {
            partial_success: None,
        }))
    }
}

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
    let collector = Collector::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the collector");
    let addr = listener.local_addr().expect("collector addr");
    let served = collector.clone();
    tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(served.clone()))
            .add_service(MetricsServiceServer::new(served))
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener))
            .await
    });
    let guard = samling_kit::telemetry::init(
        &TelemetryConfig {
            log: "info".into(),
            otlp_endpoint: Some(format!("http://{addr}")),
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

    let spans = collector.spans.lock().unwrap().clone();
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

    let points = collector.points.lock().unwrap().clone();
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
