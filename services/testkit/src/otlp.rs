//! An in-process OTLP collector: a tonic server for the trace and metrics
//! services that keeps what it is sent, for the telemetry tests of kit and
//! the gateway.

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
use std::sync::{Arc, Mutex};
use tonic::{Request, Response, Status};

/// One exported span.
#[derive(Clone, Debug)]
pub struct Span {
    pub name: String,
    pub trace_id: Vec<u8>,
    pub span_id: Vec<u8>,
    pub parent_span_id: Vec<u8>,
    pub attrs: Vec<(String, String)>,
}

impl Span {
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// One exported data point: metric name, attributes, count (histogram) or
/// value (sum).
#[derive(Clone, Debug)]
pub struct Point {
    pub metric: String,
    pub unit: String,
    pub attrs: Vec<(String, String)>,
    pub count: f64,
}

impl Point {
    pub fn has(&self, key: &str, value: &str) -> bool {
        self.attrs.iter().any(|(k, v)| k == key && v == value)
    }
}

/// What the collector has been sent so far.
#[derive(Clone, Default)]
pub struct Collector {
    spans: Arc<Mutex<Vec<Span>>>,
    points: Arc<Mutex<Vec<Point>>>,
}

impl Collector {
    /// A collector serving OTLP/gRPC on a loopback port; returns it and its
    /// endpoint URL.
    pub async fn start() -> (Collector, String) {
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
        (collector, format!("http://{addr}"))
    }

    pub fn spans(&self) -> Vec<Span> {
        self.spans.lock().expect("spans").clone()
    }

    pub fn points(&self) -> Vec<Point> {
        self.points.lock().expect("points").clone()
    }
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
        let mut got = self.spans.lock().expect("spans");
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
        let mut got = self.points.lock().expect("points");
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
