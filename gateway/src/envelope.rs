//! The request envelope, as a tower layer around every API route: the
//! request id (the caller's `X-Request-Id` if sane, else a new one) put in
//! the request's extensions for the handler, and on the way out the
//! `X-Request-Id` header, the access log line and the request-duration
//! metric, under the matched route template. The handler tells the role it
//! served in the response's extensions ([`Served`]).
//!
//! Hand-written (no `middleware::from_fn`): the future is the handler's
//! wrapped in place, with no allocation of its own.

use crate::dispatch::{REQUEST_ID, access_log, request_id};
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, Method};
use axum::response::Response;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

/// The request id of a request, put there by [`EnvelopeLayer`].
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Who a request was served as (for the access log; `-` before the token
/// is known), put in the response's extensions by the handler.
#[derive(Debug, Clone, Copy)]
pub struct Served {
    pub role: &'static str,
}

/// The request id the envelope gave this request (or a fresh one, for a
/// handler called without the layer).
pub fn request_id_of(req: &axum::http::Extensions, headers: &axum::http::HeaderMap) -> String {
    match req.get::<RequestId>() {
        Some(id) => id.0.clone(),
        None => request_id(headers),
    }
}

/// See the module docs.
#[derive(Debug, Clone, Copy, Default)]
pub struct EnvelopeLayer;

impl<S> tower::Layer<S> for EnvelopeLayer {
    type Service = Envelope<S>;

    fn layer(&self, inner: S) -> Envelope<S> {
        Envelope { inner }
    }
}

#[derive(Debug, Clone)]
pub struct Envelope<S> {
    inner: S,
}

impl<S> tower::Service<Request> for Envelope<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = EnvelopeFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        let started = Instant::now();
        let rid = request_id(req.headers());
        let method = req.method().clone();
        let route = req.extensions().get::<MatchedPath>().cloned();
        req.extensions_mut().insert(RequestId(rid.clone()));
        EnvelopeFuture {
            inner: self.inner.call(req),
            started,
            rid,
            method,
            route,
        }
    }
}

pin_project_lite::pin_project! {
    /// The handler's future, and what the envelope adds when it is ready.
    pub struct EnvelopeFuture<F> {
        #[pin]
        inner: F,
        started: Instant,
        rid: String,
        method: Method,
        route: Option<MatchedPath>,
    }
}

impl<F> Future for EnvelopeFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Ok(mut response) = std::task::ready!(this.inner.poll(cx));
        let role = response
            .extensions()
            .get::<Served>()
            .map_or("-", |s| s.role);
        let route = this.route.as_ref().map_or("-", |r| r.as_str());
        access_log(
            this.method.as_str(),
            route,
            role,
            response.status(),
            *this.started,
        );
        if let Ok(v) = HeaderValue::from_str(this.rid) {
            response.headers_mut().insert(REQUEST_ID, v);
        }
        Poll::Ready(Ok(response))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::{Layer, ServiceExt};

    async fn through(header: Option<&str>) -> (Response, Option<String>) {
        let (seen_tx, seen_rx) = std::sync::mpsc::channel();
        let inner = tower::service_fn(move |req: Request| {
            let seen = request_id_of(req.extensions(), req.headers());
            let _ = seen_tx.send(seen);
            async move {
                let mut r = Response::new(axum::body::Body::empty());
                r.extensions_mut().insert(Served { role: "child" });
                Ok::<_, Infallible>(r)
            }
        });
        let mut req = Request::new(axum::body::Body::empty());
        if let Some(h) = header {
            req.headers_mut()
                .insert(REQUEST_ID, HeaderValue::from_str(h).unwrap());
        }
        let resp = EnvelopeLayer.layer(inner).oneshot(req).await.unwrap();
        (resp, seen_rx.try_recv().ok())
    }

    #[tokio::test]
    async fn the_handler_and_the_answer_carry_the_same_request_id() {
        let (resp, seen) = through(Some("req-1")).await;
        assert_eq!(seen.as_deref(), Some("req-1"));
        assert_eq!(resp.headers()[REQUEST_ID], "req-1");
        // No (or no sane) id: one is made, the same on both sides.
        for header in [None, Some("bad id<x>")] {
            let (resp, seen) = through(header).await;
            let made = resp.headers()[REQUEST_ID].to_str().unwrap().to_string();
            assert!(!made.is_empty() && Some(&made) == seen.as_ref(), "{made}");
            assert_ne!(Some(made.as_str()), header);
        }
    }
}
