//! Renewed TLS material is used without a restart: after the files change
//! and the material is reloaded, new handshakes on both sides (the server
//! accepting, a client connecting — a lazy channel made before the reload
//! included) use the new certificate, key and CA; a reload of broken files
//! keeps what is in use; `watch` picks a change up by itself.

use samling_kit::config::TlsConfig;
use samling_kit::tls::Tls;
use samling_testkit::server::Served;
use samling_tools::certs::{DevCerts, dev_certs};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};

const NAMES: [&str; 2] = ["localhost", "127.0.0.1"];

/// A process's three TLS files, replaced the way the kubelet updates a
/// mounted Secret: written aside, then renamed over.
struct Live {
    dir: PathBuf,
}

impl Live {
    fn new(dir: PathBuf) -> Live {
        std::fs::create_dir_all(&dir).unwrap();
        Live { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn put(&self, name: &str, bytes: &[u8]) {
        let aside = self.dir.join(format!(".{name}.new"));
        std::fs::write(&aside, bytes).unwrap();
        std::fs::rename(&aside, self.path(name)).unwrap();
    }

    /// Install `certs`' CA and the service (or client) certificate and key.
    fn install(&self, certs: &DevCerts, client: bool) {
        let (cert, key) = if client {
            (&certs.client_cert, &certs.client_key)
        } else {
            (&certs.cert, &certs.key)
        };
        self.put("ca.crt", &std::fs::read(&certs.ca_cert).unwrap());
        self.put("tls.crt", &std::fs::read(cert).unwrap());
        self.put("tls.key", &std::fs::read(key).unwrap());
    }

    fn tls(&self) -> Tls {
        Tls::from_config(&TlsConfig {
            enabled: true,
            ca_file: Some(self.path("ca.crt")),
            cert_file: Some(self.path("tls.crt")),
            key_file: Some(self.path("tls.key")),
            ..TlsConfig::default()
        })
        .unwrap()
        .expect("TLS is on")
    }
}

fn fixed(certs: &DevCerts) -> Tls {
    let read = |p: &Path| std::fs::read(p).unwrap();
    Tls::from_pem(
        read(&certs.ca_cert),
        read(&certs.client_cert),
        read(&certs.client_key),
    )
    .unwrap()
}

async fn check(channel: tonic::transport::Channel) -> Result<HealthCheckResponse, String> {
    HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .map(tonic::Response::into_inner)
        .map_err(|s| format!("{:?}: {}", s.code(), s.message()))
}

/// A health check on a new connection with `tls`: Ok when served.
async fn served(url: &str, tls: &Tls) -> Result<(), String> {
    let ep = samling_kit::tls::endpoint(url, Some(tls))
        .map_err(|e| e.to_string())?
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(5));
    let channel = samling_kit::tls::connect(&ep, Some(tls))
        .await
        .map_err(|e| samling_kit::tls::error_chain(&e))?;
    let r = check(channel).await?;
    if r.status == ServingStatus::Serving as i32 {
        Ok(())
    } else {
        Err(format!("status {}", r.status))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renewed_material_is_used_by_new_handshakes_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<String> = NAMES.iter().map(|n| n.to_string()).collect();
    let a = dev_certs(&dir.path().join("a"), &names).unwrap();
    let b = dev_certs(&dir.path().join("b"), &names).unwrap();

    // A server on CA A's material, from files.
    let server_files = Live::new(dir.path().join("server"));
    server_files.install(&a, false);
    let server_tls = server_files.tls();
    let server = Served::start_with_tls(Some(&server_tls), &[], |router| router).await;
    let url = server.endpoint();

    let (client_a, client_b) = (fixed(&a), fixed(&b));
    served(&url, &client_a)
        .await
        .expect("A's client on A's server");
    assert!(
        served(&url, &client_b).await.is_err(),
        "B's client on A's server"
    );

    // Same bytes: nothing to do.
    assert!(!server_tls.reload().unwrap());

    // The server's files are renewed from CA B; until the reload, A's
    // material stays in use.
    server_files.install(&b, false);
    served(&url, &client_a)
        .await
        .expect("the old material until reloaded");
    assert!(server_tls.reload().unwrap(), "the new files are loaded");
    served(&url, &client_b)
        .await
        .expect("B's client after the reload");
    let refused = served(&url, &client_a).await;
    assert!(refused.is_err(), "A's client after the reload: {refused:?}");

    // A broken renewal (a key that is not B's) is refused, naming the file;
    // B's material stays in use.
    server_files.put("tls.key", &std::fs::read(&a.key).unwrap());
    let e = server_tls.reload().unwrap_err();
    assert!(e.to_string().contains("tls.key_file"), "{e}");
    served(&url, &client_b)
        .await
        .expect("B's material after a failed reload");
    server_files.put("tls.key", &std::fs::read(&b.key).unwrap());

    // Client side: a lazy channel made while the client's files held A's
    // material connects, at its first call, with what is in use then.
    let client_files = Live::new(dir.path().join("client"));
    client_files.install(&a, true);
    let client_tls = client_files.tls();
    let ep = samling_kit::tls::endpoint(&url, Some(&client_tls))
        .unwrap()
        .timeout(Duration::from_secs(5));
    let lazy = samling_kit::tls::connect_lazy(&ep, Some(&client_tls));
    client_files.install(&b, true);
    assert!(client_tls.reload().unwrap());
    let r = check(lazy)
        .await
        .expect("the lazy channel with B's material");
    assert_eq!(r.status, ServingStatus::Serving as i32);

    // `watch` re-reads by itself: the server goes back to A's material.
    let watcher = server_tls
        .watch(Duration::from_millis(50))
        .expect("file material is watched");
    server_files.install(&a, false);
    let deadline = Instant::now() + Duration::from_secs(10);
    while served(&url, &client_a).await.is_err() {
        assert!(
            Instant::now() < deadline,
            "the watcher did not load the renewed files"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    watcher.abort();
    assert!(
        client_a.clone().watch(Duration::from_millis(50)).is_none(),
        "PEM given in memory has no files to watch"
    );
}
