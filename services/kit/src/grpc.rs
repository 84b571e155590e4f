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

/// Health and reflection services, to add to a router, and the reporter
/// that changes the health statuses (see [`crate::health`]).
pub async fn health_reporting(
    serving: &[&str],
) -> Result<
    (
        tonic_health::server::HealthReporter,
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
    Ok((reporter, health, reflection))
}

/// Serve `router` on `listener` until `shutdown` resolves; over mutual TLS
/// when `tls` is given (each handshake with the material in use then, see
/// [`crate::tls`]). In-flight calls are drained without a bound.
pub async fn serve(
    router: Router,
    listener: tokio::net::TcpListener,
    tls: Option<&crate::tls::Tls>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), tonic::transport::Error> {
    serve_draining(router, listener, tls, shutdown, None).await
}

/// [`serve`], giving in-flight calls at most `drain` after `shutdown`
/// resolves; then the remaining connections are closed.
pub async fn serve_draining(
    router: Router,
    listener: tokio::net::TcpListener,
    tls: Option<&crate::tls::Tls>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    drain: Option<Duration>,
) -> Result<(), tonic::transport::Error> {
    let (shutdown, fired) = signal_fired(shutdown);
    let server = serve_inner(router, listener, tls, shutdown);
    drain_within(server, fired, drain, "gRPC")
        .await
        .unwrap_or(Ok(()))
}

/// `signal` passed on, and a receiver told when it has fired.
pub fn signal_fired(
    signal: impl std::future::Future<Output = ()> + Send + 'static,
) -> (
    impl std::future::Future<Output = ()> + Send + 'static,
    tokio::sync::oneshot::Receiver<()>,
) {
    let (tx, fired) = tokio::sync::oneshot::channel();
    let signal = async move {
        signal.await;
        let _ = tx.send(());
    };
    (signal, fired)
}

/// Run `server` to its end, but once `fired` says its shutdown signal has
/// fired give it at most `drain` (`None`: no bound). `None` back means the
/// drain was cut short: the server future, and with it every connection it
/// still held, is dropped.
pub async fn drain_within<T>(
    server: impl std::future::Future<Output = T>,
    fired: tokio::sync::oneshot::Receiver<()>,
    drain: Option<Duration>,
    what: &'static str,
) -> Option<T> {
    let Some(drain) = drain else {
        return Some(server.await);
    };
    let deadline = async move {
        if fired.await.is_ok() {
            tokio::time::sleep(drain).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        r = server => Some(r),
        _ = deadline => {
            tracing::warn!(
                server = what,
                drain_secs = drain.as_secs(),
                "drain did not finish in time; closing the remaining connections"
            );
            None
        }
    }
}

async fn serve_inner(
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

/// Bind, naming in the error the address and the `setting` that moves it.
pub async fn bind(
    addr: SocketAddr,
    setting: &str,
) -> Result<tokio::net::TcpListener, crate::error::KitError> {
    tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        crate::error::KitError::Internal(format!(
            "cannot listen on {addr}: {e} (another port: set {setting})"
        ))
    })
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn a_port_in_use_is_refused_naming_the_setting_that_moves_it() {
        let taken = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = taken.local_addr().unwrap();
        let err = super::bind(addr, "listen.http_addr").await.unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(&addr.to_string()) && text.contains("set listen.http_addr"),
            "{text}"
        );
    }

    #[test]
    fn the_default_ports_are_below_the_ephemeral_range() {
        let cfg = crate::config::Config::default();
        let regions = crate::reference::RegionMap::default_map().regions().len() as u16;
        // Linux hands out 32768–60999 to client sockets: a default there can
        // be held by any program's outgoing connection.
        assert!(cfg.listen.grpc_base_port + regions < 32768);
        let http: std::net::SocketAddr = cfg.listen.http_addr.parse().unwrap();
        assert!(http.port() < 32768);
    }
}
