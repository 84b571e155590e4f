//! Logging and tracing: `tracing` to stderr (text or JSON) and, when an OTLP
//! endpoint is configured, spans exported over OTLP/gRPC with W3C trace
//! context read from and written to gRPC metadata, and RED metrics
//! (crate::metrics) exported over OTLP/gRPC every 60 s
//! (`OTEL_METRIC_EXPORT_INTERVAL`, ms) and at shutdown.
//!
//! Log lines and span fields carry ids and codes, never personnummer, names
//! or addresses: handlers never put those into `tracing` fields.

use crate::config::TelemetryConfig;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Keeps the exporters alive; dropping it flushes pending spans and metrics.
#[must_use = "dropping the guard stops span and metric export"]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
    meters: Option<SdkMeterProvider>,
    _log_writer: Option<crate::logwriter::LogGuard>,
}

impl TelemetryGuard {
    /// Flush and stop the exporters (spans, then a last metrics export).
    pub fn shutdown(&mut self) {
        if let Some(p) = self.provider.take() {
            let _ = p.shutdown();
        }
        if let Some(m) = self.meters.take() {
            let _ = m.shutdown();
        }
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Install the global subscriber (once per process; later calls only return
/// a guard). `service` names the exporting process in traces.
pub fn init(cfg: &TelemetryConfig, service: &str) -> TelemetryGuard {
    let filter = EnvFilter::try_new(&cfg.log).unwrap_or_else(|_| EnvFilter::new("info"));
    // Log lines go through a batching background writer: a line per request
    // (the gateway's access log) must cost neither a syscall nor a wake-up.
    let (writer, log_guard) = crate::logwriter::batched(std::io::stderr());
    let json = cfg.log_format == "json";
    // Colour only on a terminal: escape codes in a log file or a
    // collector are noise (and cost a formatting pass per line).
    let ansi = !json && {
        use std::io::IsTerminal;
        std::io::stderr().is_terminal()
    };
    let fmt = if json {
        tracing_subscriber::fmt::layer()
            .json()
            .with_writer(writer.clone())
            .boxed()
    } else {
        tracing_subscriber::fmt::layer()
            .with_ansi(ansi)
            .with_writer(writer.clone())
            .boxed()
    };
    let mut provider = None;
    let mut meters = None;
    let mut otel_error = None;
    let otel = match cfg.otlp_endpoint.as_deref().filter(|e| !e.is_empty()) {
        Some(endpoint) => match otlp_provider(endpoint, service) {
            Ok((p, m)) => {
                let tracer = p.tracer("samling");
                opentelemetry::global::set_tracer_provider(p.clone());
                crate::metrics::install(&m.meter("samling"));
                opentelemetry::global::set_meter_provider(m.clone());
                provider = Some(p);
                meters = Some(m);
                Some(tracing_opentelemetry::layer().with_tracer(tracer))
            }
            Err(e) => {
                otel_error = Some(e);
                None
            }
        },
        None => None,
    };
    opentelemetry::global::set_text_map_propagator(
        opentelemetry_sdk::propagation::TraceContextPropagator::new(),
    );
    let exports = otel.is_some();
    let installed = tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(otel)
        .try_init()
        .is_ok();
    if installed && exports {
        EXPORTING.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    // The access log writes its lines into the same sink in the same layout
    // (a coloured terminal keeps the tracing path).
    if installed && !ansi {
        crate::accesslog::install(writer, json);
    }
    if let Some(e) = otel_error {
        tracing::error!(error = %e, "OTLP export disabled: cannot build the exporter");
    }
    TelemetryGuard {
        provider,
        meters,
        // Only the installed subscriber's writer needs to outlive the call.
        _log_writer: installed.then_some(log_guard),
    }
}

/// Span and metric providers exporting to `endpoint` (OTLP/gRPC).
fn otlp_provider(
    endpoint: &str,
    service: &str,
) -> Result<(SdkTracerProvider, SdkMeterProvider), String> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .build()
        .map_err(|e| e.to_string())?;
    let metric_exporter = opentelemetry_otlp::MetricExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .build()
        .map_err(|e| e.to_string())?;
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(service.to_string())
        .build();
    let spans = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource.clone())
        .build();
    let metrics = SdkMeterProvider::builder()
        .with_periodic_exporter(metric_exporter)
        .with_resource(resource)
        .build();
    Ok((spans, metrics))
}

/// Reads `traceparent`/`tracestate` from HTTP/2 headers.
struct HeaderExtractor<'a>(&'a tonic::codegen::http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

/// Writes trace context into gRPC metadata.
struct MetadataInjector<'a>(&'a mut tonic::metadata::MetadataMap);

impl Injector for MetadataInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(k), Ok(v)) = (
            tonic::metadata::MetadataKey::from_bytes(key.as_bytes()),
            value.parse(),
        ) {
            self.0.insert(k, per_request_value(v));
        }
    }
}

/// A metadata value that differs on every call (trace context, request id)
/// is sent as an HPACK never-indexed literal: inserted into the connection's
/// header table it would evict the entries every call re-uses (the signed
/// auth context, content type), which then travel in full again.
pub fn per_request_value(
    mut v: tonic::metadata::MetadataValue<tonic::metadata::Ascii>,
) -> tonic::metadata::MetadataValue<tonic::metadata::Ascii> {
    v.set_sensitive(true);
    v
}

/// The server span of one gRPC call, child of the caller's trace if it sent one.
pub fn grpc_server_span(req: &tonic::codegen::http::Request<()>) -> tracing::Span {
    if !exporting() {
        return tracing::Span::none();
    }
    let span = tracing::info_span!("grpc.server", rpc.method = %req.uri().path());
    continue_trace(&span, req.headers());
    span
}

/// The server span of one REST call (route template only, never the URL).
pub fn http_server_span(
    method: &str,
    route: &str,
    headers: &tonic::codegen::http::HeaderMap,
) -> tracing::Span {
    if !exporting() {
        return tracing::Span::none();
    }
    let span = tracing::info_span!("http.server", http.method = method, http.route = route);
    continue_trace(&span, headers);
    span
}

/// Spans are exported (an OTLP endpoint is configured). Without an exporter
/// the per-request server spans are not built at all: they would only cost
/// (field formatting per request) and carry no trace id anywhere.
static EXPORTING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn exporting() -> bool {
    EXPORTING.load(std::sync::atomic::Ordering::Relaxed)
}

/// Make `span` a child of the W3C trace context in `headers`, if any.
fn continue_trace(span: &tracing::Span, headers: &tonic::codegen::http::HeaderMap) {
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let parent =
        opentelemetry::global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(headers)));
    let _ = span.set_parent(parent);
}

/// Put the current span's trace context into an outgoing request.
pub fn inject_context(md: &mut tonic::metadata::MetadataMap) {
    if !exporting() {
        return;
    }
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let cx = tracing::Span::current().context();
    opentelemetry::global::get_text_map_propagator(|p| {
        p.inject_context(&cx, &mut MetadataInjector(md))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_call_metadata_is_never_indexed() {
        let mut md = tonic::metadata::MetadataMap::new();
        MetadataInjector(&mut md).set(
            "traceparent",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".into(),
        );
        let v = md.get("traceparent").expect("injected");
        assert!(
            v.is_sensitive(),
            "a per-call value must not enter the HPACK table"
        );
        assert!(per_request_value("abc".parse().expect("ascii")).is_sensitive());
    }
}
