//! A gRPC service spawned for a test on the production server builder
//! (kit's `server_builder` and `serve`: timeouts, keepalive, RED metrics,
//! request spans, optional mutual TLS), with health and reflection, on a
//! free loopback port.

use samling_kit::grpc::Router;
use samling_kit::tls::Tls;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running server; stopped when dropped.
pub struct Served {
    pub addr: SocketAddr,
    /// gRPC requests that reached it (health checks included).
    reached: Arc<AtomicUsize>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Served {
    /// Serve, in plaintext, health (SERVING for `health` and the whole
    /// server), reflection and what `add` puts on the router.
    pub async fn start(health: &[&str], add: impl FnOnce(Router) -> Router) -> Served {
        Served::start_with_tls(None, health, add).await
    }

    /// [`Served::start`], over mutual TLS with `tls` when given.
    pub async fn start_with_tls(
        tls: Option<&Tls>,
        health: &[&str],
        add: impl FnOnce(Router) -> Router,
    ) -> Served {
        let (_, health, reflection) = samling_kit::grpc::health_reporting(health)
            .await
            .expect("health and reflection");
        let reached = Arc::new(AtomicUsize::new(0));
        let counter = reached.clone();
        let router = add(samling_kit::grpc::server_builder()
            .trace_fn(move |req| {
                counter.fetch_add(1, Ordering::SeqCst);
                samling_kit::telemetry::grpc_server_span(req)
            })
            .add_service(health)
            .add_service(reflection));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let addr = listener.local_addr().expect("local addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let tls = tls.cloned();
        let task = tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.await;
            };
            let _ = samling_kit::grpc::serve(router, listener, tls.as_ref(), shutdown).await;
        });
        Served {
            addr,
            reached,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// `http://<addr>`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// gRPC requests this server has received so far.
    pub fn reached(&self) -> usize {
        self.reached.load(Ordering::SeqCst)
    }

    /// Stop the server: connections are closed and the port refuses new
    /// ones (the listener is dropped).
    pub async fn kill(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
        assert!(
            tokio::net::TcpStream::connect(self.addr).await.is_err(),
            "the stopped server at {} still accepts connections",
            self.addr
        );
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
