//! gRPC server plumbing shared by every service: health (grpc.health.v1),
//! reflection, request tracing and graceful shutdown.

use std::net::SocketAddr;
use std::time::Duration;
use tonic::transport::Server;

/// The layers [`server_builder`] adds to every service (RED metrics).
pub type Layers =
    tower::layer::util::Stack<crate::metrics::RpcMetricsLayer, tower::layer::util::Identity>;
/// A router built from [`server_builder`].
pub type Router = tonic::transport::server::Router<Layers>;

/// A tonic server builder with the settings every Samling server uses: a
/// tracing span per request (method only: never payloads), HTTP/2 keepalive,
/// RED metrics per call (crate::metrics), and a request timeout so no
/// handler runs forever.
pub fn server_builder() -> Server<Layers> {
    Server::builder()
        .timeout(Duration::from_secs(30))
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .tcp_nodelay(true)
        // Only the method is recorded; trace_fn sees headers, never the body.
        .trace_fn(crate::telemetry::grpc_server_span)
        .layer(crate::metrics::RpcMetricsLayer)
}

/// Health and reflection services, to add to a router.
pub async fn health_and_reflection(
    serving: &[&str],
) -> Result<
    (
        tonic_health::pb::health_server::HealthServer<impl tonic_health::pb::health_server::Health>,
        tonic_reflection::server::v1::ServerReflectionServer<
            impl tonic_reflection::server::v1::ServerReflection,
        >,
    ),
    crate::error::KitError,
> {
    let (reporter, health) = tonic_health::server::health_reporter();
    for name in serving {
        reporter
            .set_service_status(*name, tonic_health::ServingStatus::Serving)
            .await;
    }
    reporter
        .set_service_status("", tonic_health::ServingStatus::Serving)
        .await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(samling_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(|e| crate::error::KitError::Internal(format!("reflection: {e}")))?;
    Ok((health, reflection))
}

/// Serve `router` on `listener` until `shutdown` resolves; over mutual TLS
/// when `tls` is given (each handshake with the material in use then, see
/// [`crate::tls`]).
pub async fn serve(
    router: Router,
    listener: tokio::net::TcpListener,
    tls: Option<&crate::tls::Tls>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), tonic::transport::Error> {
    match tls {
        Some(tls) => {
            router
                .serve_with_incoming_shutdown(crate::tls::incoming(listener, tls.clone()), shutdown)
                .await
        }
        None => {
            // Accepted sockets do not inherit the builder's TCP_NODELAY;
            // without it small responses wait out delayed ACKs (~40 ms a call).
            let incoming =
                tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
            router
                .serve_with_incoming_shutdown(incoming, shutdown)
                .await
        }
    }
}

/// Bind, reporting the address in the error.
pub async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, crate::error::KitError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| crate::error::KitError::Internal(format!("cannot listen on {addr}: {e}")))
}
