//! RED metrics (rate, errors, duration), exported over OTLP next to the
//! spans when an OTLP endpoint is configured (see [`crate::telemetry::init`]).
//!
//! - gRPC servers: [`RpcMetricsLayer`], applied once in
//!   [`crate::grpc::server_builder`], records for every call the histogram
//!   `rpc.server.duration` (ms) and the counter `rpc.server.requests`, with
//!   `rpc.system`, `rpc.service`, `rpc.method` and `rpc.grpc.status_code`.
//! - REST: [`record_http`] (called by the gateway's access log) records
//!   `http.server.request.duration` (s, as the semantic conventions say) with
//!   `http.route`, `http.request.method` and `http.response.status_code`.
//!
//! Attributes are names from a fixed set: gRPC method paths that a service
//! actually serves (anything answered UNIMPLEMENTED is `_OTHER`) and route
//! templates, never a URL, an id, a query or anything personal.
//!
//! - TLS: the gauge `tls.certificate.time_to_expiry` (s) of the certificate
//!   this process presents, kept by [`crate::tls::Tls::watch`].
//!
//! Without an OTLP endpoint nothing is installed and both paths do no more
//! than one atomic load. With one, each distinct attribute set is built once
//! and reused, so recording costs a read lock, a map lookup and the SDK's
//! own aggregation — no allocation per call.
//!
//! The gRPC status is read from the response headers: tonic answers a failed
//! unary call "trailers-only", with `grpc-status` in the headers, while a
//! successful one has HTTP 200 and the status in the trailers, which counts
//! as OK. Limitation: for streaming RPCs (reflection, health `Watch`) the
//! call is measured to its response headers, not to the end of the stream,
//! and a status sent in the trailers after a stream started is not seen (the
//! call counts as OK). A call dropped before it answered counts as
//! DEADLINE_EXCEEDED when the caller's `grpc-timeout` had passed, else as
//! CANCELLED (the caller went away, the server's own timeout cut it, or the
//! server shut down).

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram, Meter, ObservableGauge};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{OnceLock, PoisonError, RwLock};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};
use tonic::codegen::http;

/// Unix seconds at which our TLS certificate expires (0: no TLS, or not read).
static CERT_NOT_AFTER: AtomicI64 = AtomicI64::new(0);

/// Record when the TLS certificate in use expires, for the gauge
/// `tls.certificate.time_to_expiry` (s; an alert belongs well above zero).
pub fn set_certificate_not_after(not_after: Option<chrono::DateTime<chrono::Utc>>) {
    CERT_NOT_AFTER.store(
        not_after.map(|t| t.timestamp()).unwrap_or(0),
        Ordering::Relaxed,
    );
}

/// Seconds left before the certificate recorded last expires (negative once
/// it has), `None` when none is recorded.
pub fn certificate_time_to_expiry(now: chrono::DateTime<chrono::Utc>) -> Option<i64> {
    match CERT_NOT_AFTER.load(Ordering::Relaxed) {
        0 => None,
        t => Some(t - now.timestamp()),
    }
}

/// The instruments, once an exporting meter provider exists.
struct Instruments {
    /// Kept so the callback stays registered.
    _cert_expiry: ObservableGauge<i64>,
    rpc_duration: Histogram<f64>,
    rpc_requests: Counter<u64>,
    http_duration: Histogram<f64>,
    rpc_attrs: AttrCache,
    http_attrs: AttrCache,
}

static INSTRUMENTS: OnceLock<Instruments> = OnceLock::new();

/// Create the instruments on `meter` (the first exporting provider of the
/// process wins, like the global subscriber).
pub(crate) fn install(meter: &Meter) {
    let _ = INSTRUMENTS.get_or_init(|| Instruments {
        _cert_expiry: meter
            .i64_observable_gauge("tls.certificate.time_to_expiry")
            .with_unit("s")
            .with_description("Seconds until the TLS certificate in use expires")
            .with_callback(|o| {
                if let Some(left) = certificate_time_to_expiry(chrono::Utc::now()) {
                    o.observe(left, &[]);
                }
            })
            .build(),
        rpc_duration: meter
            .f64_histogram("rpc.server.duration")
            .with_unit("ms")
            .with_description("Duration of inbound gRPC calls")
            .build(),
        rpc_requests: meter
            .u64_counter("rpc.server.requests")
            .with_unit("{request}")
            .with_description("Inbound gRPC calls")
            .build(),
        http_duration: meter
            .f64_histogram("http.server.request.duration")
            .with_unit("s")
            .with_description("Duration of REST requests")
            .with_boundaries(vec![
                0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
            ])
            .build(),
        rpc_attrs: AttrCache::default(),
        http_attrs: AttrCache::default(),
    });
}

// ------------------------------------------------------------ attributes

/// Distinct attribute sets beyond which new ones are built per call and not
/// kept (the sets come from a fixed vocabulary; this only bounds memory).
const MAX_CACHED: usize = 4096;

/// One attribute set per (name, method, status), built on first use.
#[derive(Default)]
struct AttrCache(RwLock<Cache>);

/// Attribute sets by name, and how many there are.
type Cache = (HashMap<Box<str>, Vec<Cached>>, usize);

struct Cached {
    method: Box<str>,
    status: u16,
    attrs: Box<[KeyValue]>,
}

impl AttrCache {
    fn with(
        &self,
        name: &str,
        method: &str,
        status: u16,
        build: impl FnOnce() -> Vec<KeyValue>,
        record: impl FnOnce(&[KeyValue]),
    ) {
        {
            let cache = self.0.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(c) = cache.0.get(name).and_then(|v| {
                v.iter()
                    .find(|c| c.status == status && *c.method == *method)
            }) {
                return record(&c.attrs);
            }
        }
        let attrs: Box<[KeyValue]> = build().into();
        record(&attrs);
        let mut cache = self.0.write().unwrap_or_else(PoisonError::into_inner);
        let (map, count) = &mut *cache;
        if *count >= MAX_CACHED {
            return;
        }
        let entries = map.entry(name.into()).or_default();
        if !entries
            .iter()
            .any(|c| c.status == status && *c.method == *method)
        {
            entries.push(Cached {
                method: method.into(),
                status,
                attrs,
            });
            *count += 1;
        }
    }
}

// ------------------------------------------------------------ gRPC

/// gRPC codes by number, for `rpc.grpc.status_code`.
const OK: u16 = 0;
const CANCELLED: u16 = 1;
const UNKNOWN: u16 = 2;
const DEADLINE_EXCEEDED: u16 = 4;
const UNIMPLEMENTED: u16 = 12;

/// Records RED metrics of every call of the server it wraps.
#[derive(Clone, Copy, Debug, Default)]
pub struct RpcMetricsLayer;

impl<S> tower::Layer<S> for RpcMetricsLayer {
    type Service = RpcMetrics<S>;
    fn layer(&self, inner: S) -> RpcMetrics<S> {
        RpcMetrics { inner }
    }
}

/// The service of [`RpcMetricsLayer`].
#[derive(Clone, Debug)]
pub struct RpcMetrics<S> {
    inner: S,
}

impl<S, B, ResB> tower::Service<http::Request<B>> for RpcMetrics<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<ResB>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = RpcMetricsFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let call = INSTRUMENTS.get().map(|instruments| Call {
            instruments,
            // A reference count on the request's bytes, not a copy.
            path: req.uri().path_and_query().cloned(),
            deadline: req
                .headers()
                .get("grpc-timeout")
                .and_then(|v| grpc_timeout(v.as_bytes())),
            started: Instant::now(),
        });
        RpcMetricsFuture {
            inner: self.inner.call(req),
            pending: Pending(call),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`RpcMetrics`].
    pub struct RpcMetricsFuture<F> {
        #[pin]
        inner: F,
        pending: Pending,
    }
}

impl<F, ResB, E> Future for RpcMetricsFuture<F>
where
    F: Future<Output = Result<http::Response<ResB>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let out = ready!(this.inner.poll(cx));
        if let Some(call) = this.pending.0.take() {
            let status = match &out {
                Ok(resp) => grpc_status(resp),
                Err(_) => UNKNOWN,
            };
            call.record(status);
        }
        Poll::Ready(out)
    }
}

/// A call not yet answered; dropped unanswered, it is recorded as cut off.
struct Pending(Option<Call>);

impl Drop for Pending {
    fn drop(&mut self) {
        if let Some(call) = self.0.take() {
            let status = match call.deadline {
                Some(d) if call.started.elapsed() >= d => DEADLINE_EXCEEDED,
                _ => CANCELLED,
            };
            call.record(status);
        }
    }
}

struct Call {
    instruments: &'static Instruments,
    path: Option<http::uri::PathAndQuery>,
    deadline: Option<Duration>,
    started: Instant,
}

impl Call {
    fn record(self, status: u16) {
        let ms = self.started.elapsed().as_secs_f64() * 1000.0;
        let i = self.instruments;
        // "/package.Service/Method"; anything not served is `_OTHER`, so a
        // caller cannot mint attribute values.
        let path = self.path.as_ref().map(|p| p.path()).unwrap_or("");
        let split = path
            .strip_prefix('/')
            .and_then(|p| p.split_once('/'))
            .filter(|(s, m)| !s.is_empty() && !m.is_empty() && !m.contains('/'));
        let (name, service, method) = match split {
            Some((s, m)) if status != UNIMPLEMENTED => (path, s, m),
            _ => ("_OTHER", "_OTHER", "_OTHER"),
        };
        i.rpc_attrs.with(
            name,
            "",
            status,
            || {
                vec![
                    KeyValue::new("rpc.system", "grpc"),
                    KeyValue::new("rpc.service", service.to_string()),
                    KeyValue::new("rpc.method", method.to_string()),
                    KeyValue::new("rpc.grpc.status_code", i64::from(status)),
                ]
            },
            |attrs| {
                i.rpc_duration.record(ms, attrs);
                i.rpc_requests.add(1, attrs);
            },
        );
    }
}

/// The gRPC status of a response as far as its headers tell.
fn grpc_status<B>(resp: &http::Response<B>) -> u16 {
    if let Some(v) = resp.headers().get("grpc-status") {
        return std::str::from_utf8(v.as_bytes())
            .ok()
            .and_then(|s| s.parse::<u16>().ok())
            .filter(|c| *c <= 16)
            .unwrap_or(UNKNOWN);
    }
    // No grpc-status yet: a 200 sends it in the trailers (OK for unary);
    // otherwise map the HTTP status as the gRPC spec does.
    match resp.status().as_u16() {
        200 => OK,
        400 => 13,             // INTERNAL
        401 => 16,             // UNAUTHENTICATED
        403 => 7,              // PERMISSION_DENIED
        404 => 12,             // UNIMPLEMENTED
        429 | 502..=504 => 14, // UNAVAILABLE
        _ => UNKNOWN,
    }
}

/// Parse a `grpc-timeout` value: up to 8 digits and a unit (H M S m u n).
fn grpc_timeout(v: &[u8]) -> Option<Duration> {
    let (unit, digits) = v.split_last()?;
    if digits.is_empty() || digits.len() > 8 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n: u64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some(match unit {
        b'H' => Duration::from_secs(n * 3600),
        b'M' => Duration::from_secs(n * 60),
        b'S' => Duration::from_secs(n),
        b'm' => Duration::from_millis(n),
        b'u' => Duration::from_micros(n),
        b'n' => Duration::from_nanos(n),
        _ => return None,
    })
}

// ------------------------------------------------------------ HTTP

/// Record one REST request that started at `started`. `route` must be the
/// route template (`/v1/regions/{region}/homes/{home_id}`), never the URL.
pub fn record_http(method: &str, route: &str, status: u16, started: Instant) {
    let Some(i) = INSTRUMENTS.get() else {
        return;
    };
    let secs = started.elapsed().as_secs_f64();
    let method = match method {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        _ => "_OTHER",
    };
    i.http_attrs.with(
        route,
        method,
        status,
        || {
            vec![
                KeyValue::new("http.request.method", method),
                KeyValue::new("http.route", route.to_string()),
                KeyValue::new("http.response.status_code", i64::from(status)),
            ]
        },
        |attrs| i.http_duration.record(secs, attrs),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeouts_parse() {
        assert_eq!(grpc_timeout(b"1999m"), Some(Duration::from_millis(1999)));
        assert_eq!(grpc_timeout(b"30S"), Some(Duration::from_secs(30)));
        assert_eq!(grpc_timeout(b"2H"), Some(Duration::from_secs(7200)));
        assert_eq!(grpc_timeout(b"m"), None);
        assert_eq!(grpc_timeout(b"123456789n"), None);
        assert_eq!(grpc_timeout(b"12x"), None);
    }

    #[test]
    fn the_status_comes_from_grpc_status_or_the_http_status() {
        let with = |code: &str| {
            http::Response::builder()
                .header("grpc-status", code)
                .body(())
                .unwrap()
        };
        assert_eq!(grpc_status(&with("5")), 5);
        assert_eq!(grpc_status(&with("16")), 16);
        assert_eq!(grpc_status(&with("17")), UNKNOWN);
        assert_eq!(grpc_status(&with("x")), UNKNOWN);
        assert_eq!(grpc_status(&http::Response::new(())), OK);
        let status = |s: u16| http::Response::builder().status(s).body(()).unwrap();
        assert_eq!(grpc_status(&status(404)), UNIMPLEMENTED);
        assert_eq!(grpc_status(&status(503)), 14);
        assert_eq!(grpc_status(&status(500)), UNKNOWN);
    }

    #[tokio::test]
    async fn without_instruments_the_layer_passes_calls_through() {
        use tower::{Layer, Service, ServiceExt};
        let svc = tower::service_fn(|_req: http::Request<()>| async {
            Ok::<_, std::convert::Infallible>(http::Response::new(()))
        });
        let mut svc = RpcMetricsLayer.layer(svc);
        let req = http::Request::builder()
            .uri("/samling.registry.v1.RegistryService/GetHome")
            .body(())
            .unwrap();
        let resp = svc.ready().await.unwrap().call(req).await.unwrap();
        assert_eq!(resp.status(), 200);
    }
}
