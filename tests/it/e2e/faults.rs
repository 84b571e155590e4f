//! Store faults against the real binary (issue 26): an I/O fault on the
//! SQLite files loses no acknowledged write, health follows the store, a
//! damaged file is refused at start with its cause, and SIGTERM ends event
//! followers' streams so the process exits.
//!
//! The fault is real: the data dir is on a small tmpfs of its own, filled to
//! the last byte while the server runs (SQLite then reports SQLITE_FULL from
//! the kernel's ENOSPC) and freed again, as a full disk is in production.

use super::{BIN, Server, free_base_port, samling, wait_healthy};
use samling_kit::auth::ContextSigner;
use samling_proto::common::v1::WatchEventsRequest;
use samling_proto::registry::v1::*;
use samling_registry::client::RegistryClient;
use samling_testkit::callers::office_in;
use samling_testkit::people::nth_adult;
use std::collections::HashSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tonic_health::pb::health_check_response::ServingStatus;

const NORR_INDEX: u16 = 5;

fn draft(n: u32) -> HomeDraft {
    HomeDraft {
        home_type: HomeType::FamilyHome as i32,
        provider: ProviderKind::Public as i32,
        municipality_code: "2480".into(),
        address: Some(Address {
            street: format!("Provvägen {n}"),
            postal_code: "90325".into(),
            city: "Umeå".into(),
        }),
        members: vec![MemberDraft {
            given_name: "Test".into(),
            family_name: format!("Hem{n}"),
            personnummer: nth_adult(n),
            role: MemberRole::Carer as i32,
        }],
        languages: vec!["svenska".into()],
        ..Default::default()
    }
}

/// One test's norr region: a data dir (on a small disk of its own when the
/// test fills or freezes it), free ports, and the config and log kept in
/// the temporary root, off that disk.
struct Norr {
    // Unmounted before the root is removed (fields drop in this order).
    disk: Option<SmallDisk>,
    root: tempfile::TempDir,
    data: std::path::PathBuf,
    base: u16,
    endpoint: String,
    /// `database.sqlite_group_commit` of its server (1 = off, the default).
    group_commit: usize,
}

impl Norr {
    fn new(disk_megabytes: Option<u32>) -> Norr {
        let root = tempfile::tempdir().unwrap();
        let disk = disk_megabytes.map(|mb| SmallDisk::mount(&root.path().join("disk"), mb));
        let data = match &disk {
            Some(d) => d.path().join("data"),
            None => root.path().join("data"),
        };
        let base = free_base_port();
        let endpoint = format!("http://127.0.0.1:{}", base + NORR_INDEX);
        Norr {
            disk,
            root,
            data,
            base,
            endpoint,
            group_commit: 1,
        }
    }

    /// `serve --target registry --regions norr` with a 1 s store probe,
    /// once it serves; its log in `serve.log`.
    async fn start(&self) -> Server {
        let config = self.root.path().join("samling.toml");
        std::fs::write(
            &config,
            format!(
                "[database]\nprobe_interval_secs = 1\nsqlite_group_commit = {}\n",
                self.group_commit
            ),
        )
        .unwrap();
        let log = std::fs::File::create(self.root.path().join("serve.log")).unwrap();
        let server = Server(
            samling(&self.data, self.base)
                .arg("--config")
                .arg(&config)
                .args(["serve", "--target", "registry", "--regions", "norr"])
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap(),
        );
        wait_healthy(&self.endpoint).await;
        server
    }

    /// The region's office, signing with the key `serve` made.
    async fn office(&self) -> RegistryClient {
        let signer = ContextSigner::load(&self.data.join("keys/context-signing.key")).unwrap();
        RegistryClient::connect(&self.endpoint, signer, office_in("norr"))
            .await
            .unwrap()
    }

    /// `serve` that must refuse to start: its standard error, within 10 s.
    fn refused_start(&self) -> String {
        let started = Instant::now();
        let out = samling(&self.data, self.base)
            .args(["serve", "--target", "registry", "--regions", "norr"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            !out.status.success(),
            "serve must refuse to start:\n{stderr}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "refused after {:?}, not after the pool's retries",
            started.elapsed()
        );
        stderr
    }

    /// `samling store check --regions norr`.
    fn store_check(&self) -> std::process::Output {
        Command::new(BIN)
            .arg("--data-dir")
            .arg(&self.data)
            .args(["store", "check", "--regions", "norr"])
            .env_remove("SAMLING_DATABASE_URL")
            .output()
            .unwrap()
    }

    /// The last lines of the server's log, for assertion messages.
    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.root.path().join("serve.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

/// A small tmpfs of its own (a real file system that fills up), unmounted
/// when dropped. Needs CAP_SYS_ADMIN, as CI's root has.
struct SmallDisk {
    dir: std::path::PathBuf,
}

impl SmallDisk {
    fn mount(dir: &Path, megabytes: u32) -> SmallDisk {
        std::fs::create_dir_all(dir).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(dir)
            .output()
            .expect("mount runs");
        assert!(
            out.status.success(),
            "mounting a tmpfs for the disk-full test needs root: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        SmallDisk {
            dir: dir.to_path_buf(),
        }
    }

    fn path(&self) -> &Path {
        &self.dir
    }

    /// Fill every free byte with a file; returns it (remove it to free the disk).
    fn fill(&self) -> std::path::PathBuf {
        use std::io::Write;
        let filler = self.path().join("filler");
        let mut f = std::fs::File::create(&filler).unwrap();
        let chunk = vec![0u8; 64 * 1024];
        while f.write_all(&chunk).is_ok() {}
        let small = [0u8; 512];
        while f.write_all(&small).is_ok() {}
        let _ = f.sync_all();
        filler
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

async fn health(endpoint: &str) -> Option<i32> {
    let ch = tonic::transport::Endpoint::from_shared(endpoint.to_string())
        .ok()?
        .connect()
        .await
        .ok()?;
    let mut h = tonic_health::pb::health_client::HealthClient::new(ch);
    let req = tonic_health::pb::HealthCheckRequest {
        service: samling_registry::SERVICE_NAME.into(),
    };
    Some(h.check(req).await.ok()?.into_inner().status)
}

async fn wait_health(endpoint: &str, want: ServingStatus, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if health(endpoint).await == Some(want as i32) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// Create homes one after another until `until`; the ids of those whose
/// creation was acknowledged, and how many calls failed.
async fn write_until(
    c: &mut RegistryClient,
    next: &mut u32,
    until: Instant,
) -> (Vec<String>, u32, Option<tonic::Status>) {
    let (mut acked, mut failed, mut first_error) = (Vec::new(), 0, None);
    while Instant::now() < until {
        *next += 1;
        match c.create_home(&format!("fault-{next}"), draft(*next)).await {
            Ok(resp) => acked.push(resp.home.expect("a created home").id),
            Err(e) => {
                failed += 1;
                first_error.get_or_insert(e);
            }
        }
    }
    (acked, failed, first_error)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_acknowledged_around_a_full_disk_are_all_durable() {
    let norr = Norr::new(Some(256));
    let server = norr.start().await;
    let mut c = norr.office().await.with_timeout(Duration::from_secs(5));
    let mut n = 0;

    let (mut acked, failed, error) =
        write_until(&mut c, &mut n, Instant::now() + Duration::from_secs(1)).await;
    assert!(
        !acked.is_empty() && failed == 0,
        "healthy writes: {} acked, {failed} failed: {error:?}\n{}",
        acked.len(),
        norr.log_tail()
    );

    // The disk fills up: commits fail, nothing is acknowledged...
    let filler = norr.disk.as_ref().expect("a disk of its own").fill();
    let (during, failed_during, _) =
        write_until(&mut c, &mut n, Instant::now() + Duration::from_secs(2)).await;
    assert!(failed_during > 0, "the fault must refuse writes");
    acked.extend(during);
    // ...and the store probe takes the service out of rotation.
    assert!(
        wait_health(
            &norr.endpoint,
            ServingStatus::NotServing,
            Duration::from_secs(5)
        )
        .await,
        "health must turn NOT_SERVING while the store cannot commit\n{}",
        norr.log_tail()
    );

    // The disk is freed: writes are acknowledged again, health comes back.
    std::fs::remove_file(&filler).unwrap();
    assert!(
        wait_health(
            &norr.endpoint,
            ServingStatus::Serving,
            Duration::from_secs(10)
        )
        .await,
        "health must return to SERVING once the store commits again\n{}",
        norr.log_tail()
    );
    let (after, failed_after, error) =
        write_until(&mut c, &mut n, Instant::now() + Duration::from_secs(2)).await;
    assert!(
        after.len() > 10 && failed_after == 0,
        "after the fault: {} acked, {failed_after} failed: {error:?}\n{}",
        after.len(),
        norr.log_tail()
    );
    acked.extend(after);

    // A crash, a restart: every acknowledged write is there, the chain intact.
    drop(server);
    let log = std::fs::read_to_string(norr.root.path().join("serve.log")).unwrap_or_default();
    assert!(
        log.contains("sqlite code"),
        "a store error is logged with its code:\n{log}"
    );
    let _server = norr.start().await;
    let mut c = norr.office().await;
    let mut missing = Vec::new();
    for id in &acked {
        if c.get_home(id).await.is_err() {
            missing.push(id.clone());
        }
    }
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged writes lost, e.g. {:?}",
        missing.len(),
        acked.len(),
        missing.first()
    );
    let unique: HashSet<_> = acked.iter().collect();
    assert_eq!(unique.len(), acked.len(), "no write acknowledged twice");
}

/// 16 writers against the SQLite writer's group commit (on by default,
/// ADR 0020), the process killed (SIGKILL) while they write, so batches are
/// open, released-but-uncommitted writes waiting in them: after a restart
/// every acknowledged write is there and the audit chain is intact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_acknowledged_before_a_kill_mid_batch_all_survive() {
    use std::sync::{Arc, Mutex};
    let norr = Norr {
        group_commit: samling_kit::group::SUGGESTED_GROUP_COMMIT,
        ..Norr::new(None)
    };
    let server = norr.start().await;
    let acked = Arc::new(Mutex::new(Vec::new()));
    let failed = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let mut writers = tokio::task::JoinSet::new();
    for w in 0..16u32 {
        let mut c = norr.office().await.with_timeout(Duration::from_secs(5));
        let (acked, failed) = (acked.clone(), failed.clone());
        writers.spawn(async move {
            for k in 0..20_000u32 {
                let n = 100_000 + w * 20_000 + k;
                match c.create_home(&format!("kill-{n}"), draft(n)).await {
                    Ok(resp) => acked
                        .lock()
                        .unwrap()
                        .push(resp.home.expect("a created home").id),
                    Err(_) => {
                        failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        return;
                    }
                }
            }
        });
    }
    // Writes flow for a while, then the process dies mid-stream.
    let deadline = Instant::now() + Duration::from_secs(20);
    while acked.lock().unwrap().len() < 300 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let before_kill = acked.lock().unwrap().len();
    assert!(
        before_kill >= 300,
        "writes must flow before the kill: {before_kill}\n{}",
        norr.log_tail()
    );
    drop(server);
    while writers.join_next().await.is_some() {}
    let acked = acked.lock().unwrap().clone();
    assert_eq!(
        failed.load(std::sync::atomic::Ordering::Relaxed),
        16,
        "every writer was cut off by the kill (so writes were in flight)"
    );

    let server = norr.start().await;
    let mut c = norr.office().await;
    let mut missing = Vec::new();
    for id in &acked {
        if c.get_home(id).await.is_err() {
            missing.push(id.clone());
        }
    }
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged writes lost after a kill mid-batch, e.g. {:?}",
        missing.len(),
        acked.len(),
        missing.first()
    );
    let unique: HashSet<_> = acked.iter().collect();
    assert_eq!(unique.len(), acked.len(), "no write acknowledged twice");
    drop(server);
    let out = samling(&norr.data, norr.base)
        .args(["audit", "verify", "--regions", "norr"])
        .output()
        .unwrap();
    let text = super::common::stdout_of_success(&out);
    assert!(
        text.contains("norr registry") && text.contains("chain intact"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ends_event_followers_and_the_process_exits() {
    let norr = Norr::new(None);
    let (data, base) = (&norr.data, norr.base);
    let mut server = norr.start().await;
    let mut c = norr.office().await;
    c.create_home("term-1", draft(1)).await.unwrap();
    // A follower: no end, no deadline.
    let mut req = c.request(WatchEventsRequest {
        after: 0,
        ..Default::default()
    });
    req.metadata_mut().remove("grpc-timeout");
    let mut stream = c.raw().watch_events(req).await.unwrap().into_inner();
    let first = stream.message().await.unwrap().expect("the home's event");
    assert!(first.seq >= 1);

    let status = Command::new("kill")
        .args(["-TERM", &server.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    // The stream ends with UNAVAILABLE (resume from the cursor elsewhere)...
    let end = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match stream.message().await {
                Ok(Some(_)) => continue,
                Ok(None) => return None,
                Err(s) => return Some(s.code()),
            }
        }
    })
    .await
    .expect("the follower's stream must end when shutdown starts");
    assert!(
        matches!(end, Some(tonic::Code::Unavailable) | None),
        "ended with {end:?}"
    );
    // ...and the process exits well within a pod's grace period.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(code) = server.0.try_wait().unwrap() {
            assert!(code.success(), "serve exited with {code}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "serve still running 10 s after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Data at rest is private: the data dir, its keys and stores.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(data), 0o700);
        assert_eq!(mode(&data.join("keys")), 0o700);
        assert_eq!(mode(&data.join("norr")), 0o700);
        assert_eq!(mode(&data.join("norr/registry.db")), 0o600);
        assert_eq!(mode(&data.join("keys/context-signing.key")), 0o600);
    }
    // The audit chain's head was checkpointed outside the database on the
    // way out, and `audit verify` accepts the chain against it.
    let checkpoint = data.join("checkpoints/registry-norr.json");
    assert!(
        checkpoint.exists(),
        "no checkpoint at {}",
        checkpoint.display()
    );
    let out = samling(data, base)
        .args(["audit", "verify", "--regions", "norr"])
        .output()
        .unwrap();
    let text = super::common::stdout_of_success(&out);
    assert!(
        text.contains("norr registry") && text.contains("chain intact"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_store_is_refused_at_start_with_its_cause() {
    let norr = Norr::new(None);
    let data = &norr.data;
    // A store with data in it, then stopped.
    {
        let server = norr.start().await;
        let mut c = norr.office().await;
        for i in 0..200 {
            c.create_home(&format!("dmg-{i}"), draft(i)).await.unwrap();
        }
        drop(server);
    }
    let db = data.join("norr/registry.db");
    // Checkpoint the WAL into the file so the damage below hits real pages.
    let out = norr.store_check();
    let text = super::common::stdout_of_success(&out);
    assert!(text.contains("norr registry: ok"), "{text}");

    // Damage the middle of the file (a page of a table or index).
    let mut bytes = std::fs::read(&db).unwrap();
    assert!(bytes.len() > 64 * 1024, "a file of several pages");
    let page = 4096;
    let at = (bytes.len() / page / 2) * page;
    for b in &mut bytes[at + 8..at + page] {
        *b = 0xA5;
    }
    std::fs::write(&db, &bytes).unwrap();
    let _ = std::fs::remove_file(data.join("norr/registry.db-wal"));
    let _ = std::fs::remove_file(data.join("norr/registry.db-shm"));

    // `serve` refuses at once, naming the file and the cause.
    let stderr = norr.refused_start();
    assert!(
        stderr.contains("registry.db") && stderr.contains("integrity"),
        "the error names the file and the cause:\n{stderr}"
    );
    // `store check` reports it too, and fails.
    let out = norr.store_check();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("FAILED"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // A file that is not a database at all is refused the same way.
    std::fs::write(&db, b"this is not a database, it is a note").unwrap();
    let stderr = norr.refused_start();
    assert!(
        stderr.contains("registry.db") && stderr.contains("sqlite code 26"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_store_is_refused_at_start_with_its_cause() {
    let norr = Norr::new(Some(64));
    drop(norr.start().await);
    let out = Command::new("mount")
        .args(["-o", "remount,ro"])
        .arg(norr.disk.as_ref().expect("a disk of its own").path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = norr.refused_start();
    assert!(
        stderr.contains("registry.db") && stderr.contains("sqlite code"),
        "the error names the file and the store's code:\n{stderr}"
    );
}
