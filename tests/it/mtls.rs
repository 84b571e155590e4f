//! mTLS between services: `samling serve` with `SAMLING_TLS_*` set requires a
//! client certificate signed by the configured CA on every gRPC port. Clients
//! with a valid certificate (the service's own, the CLI's) get answers; a
//! client without a certificate, with another CA's certificate, or speaking
//! plaintext is refused. The in-process gateway reaches its region over mTLS,
//! and the plaintext health-only listener answers probes and nothing else.
//! Certificates come from the same code as `samling certs dev`.

use samling_kit::auth::{AuthContext, ContextSigner};
use samling_kit::tls::Tls;
use samling_registry::client::RegistryClient;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tonic::Code;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};

use crate::common;
use common::{BIN, Server};
use samling_testkit::http::{Client, Req};
use samling_tools::certs::{DevCerts, dev_certs};

const REGION: &str = "stockholm-gotland";
const REGISTRY: &str = "samling.registry.v1.RegistryService";

/// `N` distinct free ports (held together while chosen, then released).
fn free_ports<const N: usize>() -> [u16; N] {
    let held: Vec<TcpListener> = (0..N)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    std::array::from_fn(|i| held[i].local_addr().unwrap().port())
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap()
}

/// The service's own identity, as the gateway and other services present it.
fn service_tls(c: &DevCerts) -> Tls {
    Tls::from_pem(read(&c.ca_cert), read(&c.cert), read(&c.key)).expect("service TLS")
}

/// Health check through `tls` (None: plaintext) against `url`.
async fn health(
    url: &str,
    tls: Option<&Tls>,
    service: &str,
) -> Result<HealthCheckResponse, String> {
    let ep = samling_kit::tls::endpoint(url, tls)
        .map_err(|e| e.to_string())?
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(5));
    let channel = samling_kit::tls::connect(&ep, tls)
        .await
        .map_err(|e| samling_kit::tls::error_chain(&e))?;
    HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: service.into(),
        })
        .await
        .map(tonic::Response::into_inner)
        .map_err(|s| format!("{:?}: {}", s.code(), s.message()))
}

/// GetHome of a random id with a raw TLS client configuration; Ok(code) is
/// the gRPC answer, Err a connection or handshake failure.
async fn get_home_with(
    url: &str,
    tls: ClientTlsConfig,
    signer: &ContextSigner,
) -> Result<Code, String> {
    let channel = Endpoint::from_shared(url.replacen("http://", "https://", 1))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(5))
        .connect()
        .await
        .map_err(|e| samling_kit::tls::error_chain(&e))?;
    let mut client = RegistryClient::from_channel(channel, signer.clone(), office());
    match client.get_home(&samling_kit::ids::new_id_string()).await {
        Ok(_) => Ok(Code::Ok),
        Err(s) => Ok(s.code()),
    }
}

fn office() -> AuthContext {
    samling_testkit::callers::office_in(REGION).with_purpose("mtls test")
}

/// Refused: no connection, or a transport-level failure; never an answer
/// from the registry (NOT_FOUND would mean the call went through). With TLS
/// 1.3 the client may finish its side of the handshake before the server
/// rejects its certificate, so the refusal can surface on the first call as
/// UNAVAILABLE or CANCELLED (the connection closed under it).
fn assert_refused(what: &str, r: Result<Code, String>) {
    match r {
        Err(_) => {}
        Ok(code) => assert!(
            matches!(
                code,
                Code::Unavailable | Code::Unknown | Code::Internal | Code::Cancelled
            ),
            "{what}: expected a refused connection, got gRPC {code:?}"
        ),
    }
}

/// `samling serve --target all` for REGION with mTLS from `files` (CA,
/// certificate, key), the gRPC base port `grpc` and the gateway on `http`.
fn serve_with_tls(config: &Path, data: &Path, grpc: u16, http: u16, files: [&Path; 3]) -> Server {
    let [ca, cert, key] = files;
    Server(
        Command::new(BIN)
            .arg("--config")
            .arg(config)
            .arg("--data-dir")
            .arg(data)
            .args(["serve", "--target", "all", "--regions", REGION])
            .env("SAMLING_GRPC_BASE_PORT", grpc.to_string())
            .env("SAMLING_HTTP_ADDR", format!("127.0.0.1:{http}"))
            .env("SAMLING_LOG", "warn")
            .env("SAMLING_TLS_CA_FILE", ca)
            .env("SAMLING_TLS_CERT_FILE", cert)
            .env("SAMLING_TLS_KEY_FILE", key)
            .env_remove("SAMLING_DATABASE_URL")
            .env_remove("SAMLING_TLS_SERVER_NAME")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

/// Wait (at most `within`) until the registry at `url` answers a health
/// check over `tls` with SERVING; `what` says what is awaited.
async fn until_serving(url: &str, tls: &Tls, within: Duration, what: &str) {
    let deadline = Instant::now() + within;
    loop {
        match health(url, Some(tls), REGISTRY).await {
            Ok(r) if r.status == ServingStatus::Serving as i32 => return,
            other => assert!(Instant::now() < deadline, "{what}: {other:?}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_clients_with_a_certificate_from_the_ca_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let names = ["localhost".to_string(), "127.0.0.1".to_string()];
    let good = dev_certs(&dir.path().join("ca-a"), &names).unwrap();
    let other = dev_certs(&dir.path().join("ca-b"), &names).unwrap();

    let [grpc, http, health_port] = free_ports::<3>();
    let data = dir.path().join("data");
    let config = dir.path().join("samling.toml");
    std::fs::write(
        &config,
        format!("[listen]\nhealth_addr = \"127.0.0.1:{health_port}\"\n"),
    )
    .unwrap();
    let _server = serve_with_tls(
        &config,
        &data,
        grpc,
        http,
        [&good.ca_cert, &good.cert, &good.key],
    );
    let url = format!("http://127.0.0.1:{grpc}");
    let svc = service_tls(&good);

    // Up, and serving over mTLS with the service certificate.
    until_serving(
        &url,
        &svc,
        Duration::from_secs(60),
        "registry did not become healthy over mTLS",
    )
    .await;

    let signer = ContextSigner::load(&data.join("keys/context-signing.key")).unwrap();
    let ca = Certificate::from_pem(read(&good.ca_cert));

    // A valid client certificate (the CLI's) and a signed context: the call
    // reaches the registry, which does not know the id.
    let cli = Tls::from_pem(
        read(&good.ca_cert),
        read(&good.client_cert),
        read(&good.client_key),
    )
    .unwrap();
    let mut client = RegistryClient::connect_with_tls(&url, Some(&cli), signer.clone(), office())
        .await
        .unwrap();
    let e = client
        .get_home(&samling_kit::ids::new_id_string())
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound, "{e:?}");
    let with_service_cert = ClientTlsConfig::new()
        .ca_certificate(ca.clone())
        .identity(Identity::from_pem(read(&good.cert), read(&good.key)));
    assert_eq!(
        get_home_with(&url, with_service_cert, &signer).await,
        Ok(Code::NotFound)
    );

    // No client certificate.
    let no_cert = ClientTlsConfig::new().ca_certificate(ca.clone());
    assert_refused(
        "no client certificate",
        get_home_with(&url, no_cert, &signer).await,
    );
    let e = health(
        &url, None, "", // health too: nothing on the port answers without a certificate
    )
    .await;
    assert!(e.is_err(), "plaintext health on the TLS port: {e:?}");

    // A certificate from another CA (the client still trusts our server).
    let foreign = ClientTlsConfig::new()
        .ca_certificate(ca.clone())
        .identity(Identity::from_pem(
            read(&other.client_cert),
            read(&other.client_key),
        ));
    assert_refused(
        "another CA's certificate",
        get_home_with(&url, foreign, &signer).await,
    );
    let foreign_svc =
        Tls::from_pem(read(&good.ca_cert), read(&other.cert), read(&other.key)).unwrap();
    let r = health(&url, Some(&foreign_svc), REGISTRY).await;
    assert!(r.is_err(), "another CA's service certificate: {r:?}");

    // Plaintext: the typed client over http:// without TLS.
    let r = RegistryClient::connect(&url, signer.clone(), office()).await;
    match r {
        Err(_) => {}
        Ok(mut c) => {
            let e = c
                .get_home(&samling_kit::ids::new_id_string())
                .await
                .unwrap_err();
            assert_ne!(e.code(), Code::NotFound, "plaintext got an answer: {e:?}");
        }
    }

    // The client refuses a server whose CA it does not trust.
    let wrong_ca =
        Tls::from_pem(read(&other.ca_cert), read(&other.cert), read(&other.key)).unwrap();
    let r = health(&url, Some(&wrong_ca), REGISTRY).await;
    assert!(r.is_err(), "server certificate from an untrusted CA: {r:?}");

    // The in-process gateway reaches the region over mTLS. It binds its port
    // after the regions serve: wait for it (a connection refused reads as 0).
    let deadline = Instant::now() + Duration::from_secs(15);
    let (status, body) = loop {
        let (status, body) = match Client::local(http).try_send(Req::get("/readyz")).await {
            Ok(r) => (r.status, r.text()),
            Err(e) => (0, e.to_string()),
        };
        if status == 200 || Instant::now() > deadline {
            break (status, body);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains(&format!("\"{REGION}\":\"serving\"")),
        "gateway → registry over mTLS: {body}"
    );

    // Probes: plaintext grpc.health.v1 on health_addr, and nothing else there.
    let probe_url = format!("http://127.0.0.1:{health_port}");
    let r = health(&probe_url, None, REGISTRY).await.unwrap();
    assert_eq!(r.status, ServingStatus::Serving as i32);
    let mut plain = RegistryClient::connect(&probe_url, signer.clone(), office())
        .await
        .unwrap();
    let e = plain
        .get_home(&samling_kit::ids::new_id_string())
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unimplemented, "{e:?}");

    // The CLI with the CLI certificate gets through; without TLS it does not.
    let cli_run = |tls: bool| {
        let mut c = Command::new(BIN);
        c.arg("--data-dir")
            .arg(&data)
            .args(["homes", "--endpoint", &url, "show"])
            .arg(samling_kit::ids::new_id_string())
            .env("SAMLING_LOG", "error")
            .env_remove("SAMLING_CONFIG")
            .env_remove("SAMLING_TLS_CA_FILE")
            .env_remove("SAMLING_TLS_CERT_FILE")
            .env_remove("SAMLING_TLS_KEY_FILE");
        if tls {
            c.env("SAMLING_TLS_CA_FILE", &good.ca_cert)
                .env("SAMLING_TLS_CERT_FILE", &good.client_cert)
                .env("SAMLING_TLS_KEY_FILE", &good.client_key);
        }
        let out = c.output().unwrap();
        String::from_utf8_lossy(&out.stderr).to_lowercase()
    };
    let with = cli_run(true);
    assert!(
        with.contains("not found") || with.contains("notfound"),
        "CLI over mTLS: {with}"
    );
    let without = cli_run(false);
    assert!(
        !without.contains("not found") && !without.contains("notfound"),
        "CLI without a certificate got an answer: {without}"
    );
}

/// cert-manager renews the Secret's files in place: a running `serve` picks
/// the new certificate, key and CA up (`tls.reload_interval_secs`) and new
/// connections are served with them, no restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renewed_certificates_are_served_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let names = ["localhost".to_string(), "127.0.0.1".to_string()];
    let old = dev_certs(&dir.path().join("old"), &names).unwrap();
    let new = dev_certs(&dir.path().join("new"), &names).unwrap();
    let live = dir.path().join("live");
    std::fs::create_dir_all(&live).unwrap();
    // As the kubelet updates a mounted Secret: written aside, renamed over.
    let install = |certs: &DevCerts| {
        for (from, to) in [
            (&certs.ca_cert, "ca.crt"),
            (&certs.cert, "tls.crt"),
            (&certs.key, "tls.key"),
        ] {
            let aside = live.join(format!(".{to}.new"));
            std::fs::write(&aside, read(from)).unwrap();
            std::fs::rename(&aside, live.join(to)).unwrap();
        }
    };
    install(&old);

    let [grpc, http] = free_ports::<2>();
    let config = dir.path().join("samling.toml");
    std::fs::write(&config, "[tls]\nreload_interval_secs = 1\n").unwrap();
    let _server = serve_with_tls(
        &config,
        &dir.path().join("data"),
        grpc,
        http,
        [
            &live.join("ca.crt"),
            &live.join("tls.crt"),
            &live.join("tls.key"),
        ],
    );
    let url = format!("http://127.0.0.1:{grpc}");
    let (old_tls, new_tls) = (service_tls(&old), service_tls(&new));
    until_serving(
        &url,
        &old_tls,
        Duration::from_secs(60),
        "registry did not come up over mTLS",
    )
    .await;
    let r = health(&url, Some(&new_tls), REGISTRY).await;
    assert!(r.is_err(), "the new CA before the renewal: {r:?}");

    install(&new);
    until_serving(
        &url,
        &new_tls,
        Duration::from_secs(20),
        "the renewed certificates were not picked up",
    )
    .await;
    let r = health(&url, Some(&old_tls), REGISTRY).await;
    assert!(r.is_err(), "the old CA after the renewal: {r:?}");
}
