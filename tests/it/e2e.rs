//! End to end: start `samling serve --target all` as its own process on free
//! ports, talk gRPC to it as an officer and as a municipality, use the CLI
//! against it, then stop it and verify the audit chain with the CLI.

use samling_kit::auth::ContextSigner;
use samling_kit::dates;
use samling_proto::registry::v1::*;
use samling_registry::client::RegistryClient;
use samling_testkit::callers::{caseworker, manager, office, office_in};
use samling_testkit::http::{Client, Req};
use samling_testkit::people::adult;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common;
mod faults;
use common::{BIN, Server};

/// A base port whose region ports (base + 0 and base + 5) are free now.
/// The evidence an approval needs when served (ADR 0047): the household's
/// training and an evidence-based investigation, recorded by `c` for
/// `municipality`.
async fn record_evidence(c: &mut RegistryClient, home_id: &str, municipality: &str, tag: &str) {
    let r = c.request(RecordTrainingRequest {
        request_id: format!("e2e-tr-{tag}"),
        home_id: home_id.into(),
        municipality_code: municipality.into(),
        course_name: "Ett hem att växa i".into(),
        completed_on: Some(dates::to_proto(dates::today())),
        ..Default::default()
    });
    c.raw().record_training(r).await.unwrap();
    let r = c.request(RecordInvestigationRequest {
        request_id: format!("e2e-inv-{tag}"),
        home_id: home_id.into(),
        municipality_code: municipality.into(),
        methods: vec![InvestigationMethod::BraFam as i32],
        result: InvestigationResult::Suitable as i32,
        completed_on: Some(dates::to_proto(dates::today())),
        ..Default::default()
    });
    c.raw().record_investigation(r).await.unwrap();
}

fn free_base_port() -> u16 {
    // Below Linux's ephemeral range (32768–60999): a port found free there
    // can be handed to any outgoing connection (another test's client, a
    // service's consumer) before `serve` binds it, and the server then
    // never becomes healthy. Here only listeners compete, and each test
    // process starts at a different place.
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let start = std::process::id().wrapping_mul(7919);
    for _ in 0..500 {
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let base = 20_000 + (start.wrapping_add(n.wrapping_mul(7)) % 1_500) as u16 * 8;
        if [0, 5, 6]
            .iter()
            .all(|o| TcpListener::bind(("127.0.0.1", base + o)).is_ok())
        {
            return base;
        }
    }
    panic!("no free ports");
}

/// The gateway's port for a base: `base + 6` was checked free with the regions'.
fn http_port(base: u16) -> u16 {
    base + 6
}

fn samling(data: &Path, base: u16) -> Command {
    let mut c = Command::new(BIN);
    c.arg("--data-dir")
        .arg(data)
        .env("SAMLING_GRPC_BASE_PORT", base.to_string())
        .env(
            "SAMLING_HTTP_ADDR",
            format!("127.0.0.1:{}", http_port(base)),
        )
        .env("SAMLING_LOG", "warn");
    c.env_remove("SAMLING_DATABASE_URL")
        .env_remove("SAMLING_CONFIG");
    c
}

async fn wait_healthy(addr: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(ch) = tonic::transport::Endpoint::from_shared(addr.to_string())
            .unwrap()
            .connect()
            .await
        {
            let mut health = tonic_health::pb::health_client::HealthClient::new(ch);
            let req = tonic_health::pb::HealthCheckRequest {
                service: "samling.registry.v1.RegistryService".into(),
            };
            if let Ok(r) = health.check(req).await
                && r.into_inner().status
                    == tonic_health::pb::health_check_response::ServingStatus::Serving as i32
            {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "server at {addr} did not become healthy"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// GET with a bearer token; returns status and body.
async fn http_get(port: u16, path: &str, token: &str) -> (u16, String) {
    let r = Client::local(port).send(Req::get(path).bearer(token)).await;
    (r.status, r.text())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_all_answers_grpc_and_the_cli_across_regions() {
    let data = tempfile::tempdir().unwrap();
    let base = free_base_port();
    let server = Server(
        samling(data.path(), base)
            .args([
                "serve",
                "--target",
                "all",
                "--regions",
                "stockholm-gotland,norr",
            ])
            // The access log (and warnings) to a file, as under a supervisor.
            .env("SAMLING_LOG", "warn,access=info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(data.path().join("serve.log")).unwrap())
            .spawn()
            .unwrap(),
    );
    let stockholm = format!("http://127.0.0.1:{base}");
    let norr = format!("http://127.0.0.1:{}", base + 5);
    wait_healthy(&stockholm).await;
    wait_healthy(&norr).await;

    let signer = ContextSigner::load(&data.path().join("keys/context-signing.key")).unwrap();
    let mut c = RegistryClient::connect(&stockholm, signer.clone(), office())
        .await
        .unwrap();

    // An officer registers, assesses and a municipality approves a home.
    let created = c
        .create_home(
            "e2e-create-1",
            HomeDraft {
                home_type: HomeType::FamilyHome as i32,
                provider: ProviderKind::Public as i32,
                municipality_code: "0180".into(),
                address: Some(Address {
                    street: "Hemvägen 3".into(),
                    postal_code: "11122".into(),
                    city: "Stockholm".into(),
                }),
                members: vec![MemberDraft {
                    given_name: "Eva".into(),
                    family_name: "Lund".into(),
                    personnummer: adult(1),
                    role: MemberRole::Carer as i32,
                }],
                languages: vec!["svenska".into()],
                competences: vec!["npf".into()],
                willingness: vec![Willingness::LongTerm as i32],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let home = created.home.unwrap();
    let r = c.request(TransitionHomeRequest {
        request_id: "e2e-t1".into(),
        home_id: home.id.clone(),
        to_status: HomeStatus::UnderAssessment as i32,
        reason: "home study".into(),
    });
    c.raw().transition_home(r).await.unwrap();
    record_evidence(&mut c, &home.id, "0180", "1").await;

    let mut m = c.acting_as(manager("0180"));
    let approved = m
        .record_approval(RecordApprovalRequest {
            request_id: "e2e-a1".into(),
            home_id: home.id.clone(),
            municipality_code: "0180".into(),
            decision_date: Some(dates::to_proto(dates::today())),
            decision_ref: "SN 2026/77".into(),
            evidence: None,
        })
        .await
        .unwrap();
    assert_eq!(approved.status, HomeStatus::Approved as i32);

    // Another municipality finds it nationally, without personal data.
    let mut o = c.acting_as(caseworker("1480"));
    let found = o
        .search_homes(SearchHomesRequest {
            competences: vec!["npf".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(found.homes.len(), 1);
    let seen = o.get_home(&home.id).await.unwrap();
    assert!(seen.personal_data_redacted && seen.members.is_empty() && seen.address.is_none());

    // Regions are separate stores: norr does not have the home.
    let mut n = RegistryClient::connect(&norr, signer.clone(), office_in("norr"))
        .await
        .unwrap();
    assert_eq!(
        n.get_home(&home.id).await.unwrap_err().code(),
        tonic::Code::NotFound
    );

    // A Stockholm child placed in an Umeå home (ADR 0021): the registers of
    // the one process find each other, sign with its context key and count
    // the place in Norr's register.
    let umea = n
        .create_home(
            "e2e-umea-1",
            HomeDraft {
                home_type: HomeType::FamilyHome as i32,
                provider: ProviderKind::Public as i32,
                municipality_code: "2480".into(),
                address: Some(Address {
                    street: "Storgatan 3".into(),
                    postal_code: "90326".into(),
                    city: "Umeå".into(),
                }),
                members: vec![MemberDraft {
                    given_name: "Ola".into(),
                    family_name: "Berg".into(),
                    personnummer: adult(2),
                    role: MemberRole::Carer as i32,
                }],
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .home
        .unwrap();
    let r = n.request(TransitionHomeRequest {
        request_id: "e2e-t2".into(),
        home_id: umea.id.clone(),
        to_status: HomeStatus::UnderAssessment as i32,
        reason: "home study".into(),
    });
    n.raw().transition_home(r).await.unwrap();
    record_evidence(&mut n, &umea.id, "2480", "2").await;
    n.record_approval(RecordApprovalRequest {
        request_id: "e2e-a2".into(),
        home_id: umea.id.clone(),
        municipality_code: "2480".into(),
        decision_date: Some(dates::to_proto(dates::today())),
        decision_ref: "SN 2026/78".into(),
        evidence: None,
    })
    .await
    .unwrap();
    let mut cw = c.acting_as(caseworker("0180"));
    let r = cw.request(RegisterChildRequest {
        request_id: "e2e-c1".into(),
        personnummer: samling_testkit::people::child_pnr(9, 3),
        given_name: "Kim".into(),
        family_name: "Lind".into(),
        placing_municipality_code: "0180".into(),
        ..Default::default()
    });
    let child = cw
        .raw()
        .register_child(r)
        .await
        .unwrap()
        .into_inner()
        .child
        .unwrap();
    let r = cw.request(CreatePlacementRequest {
        request_id: "e2e-p1".into(),
        child_id: child.id.clone(),
        home_id: umea.id.clone(),
        legal_basis: LegalBasis::SolVoluntary as i32,
        start_date: Some(dates::to_proto(dates::today())),
        ..Default::default()
    });
    let placed = cw.raw().create_placement(r).await.unwrap().into_inner();
    assert_eq!(placed.placement.unwrap().home_region, "norr");
    assert_eq!(n.get_home(&umea.id).await.unwrap().placed_count, 1);

    // The CLI works against the running system.
    let out = samling(data.path(), base)
        .args(["homes", "list", "--region", "stockholm-gotland"])
        .output()
        .unwrap();
    let text = common::stdout_of_success(&out);
    assert!(
        text.contains(&home.id) && text.contains("APPROVED"),
        "{text}"
    );
    // The office's reveal of a protected address: this home has none to reveal.
    let out = samling(data.path(), base)
        .args([
            "homes",
            "reveal-address",
            &home.id,
            "--reason",
            "e2e",
            "--region",
            "stockholm-gotland",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no protected identity"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = samling(data.path(), base)
        .args([
            "homes",
            "reconfirm",
            &home.id,
            "--region",
            "stockholm-gotland",
        ])
        .output()
        .unwrap();
    assert!(common::stdout_of_success(&out).contains("re-confirmed"));

    // The state grant ledger's import (ADR 0048): a misprinted name is
    // reported with the closest municipality and nothing is imported;
    // corrected, the file imports, prints the year's total, and importing it
    // again leaves the total as it was.
    let grants = data.path().join("grants.csv");
    let grant_file = |bengtsfors: &str| {
        format!(
            "year,municipality,granted_kr\n2021,Ale kommun,556 745\n2021,{bengtsfors},926 090\n"
        )
    };
    let import_grants = || {
        samling(data.path(), base)
            .args([
                "import",
                "state-grants",
                grants.to_str().unwrap(),
                "--available",
                "2021=1482835",
                "--region",
                "stockholm-gotland",
            ])
            .output()
            .unwrap()
    };
    std::fs::write(&grants, grant_file("Bengtstors kommun")).unwrap();
    let out = import_grants();
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        text.contains("line 3: municipality: `Bengtstors kommun` is not a municipality; closest: 1460 Bengtsfors"),
        "{text}"
    );
    std::fs::write(&grants, grant_file("Bengtsfors kommun")).unwrap();
    for _ in 0..2 {
        let text = common::stdout_of_success(&import_grants());
        assert!(
            text.contains("year 2021: granted 1482835 kr to 2 municipalities, available 1482835 kr, difference 0 kr"),
            "{text}"
        );
    }
    let out = samling(data.path(), base)
        .args([
            "compensation",
            "grants",
            "history",
            "1460",
            "--as",
            "municipality_manager",
            "--municipality",
            "1460",
            "--region",
            "stockholm-gotland",
        ])
        .output()
        .unwrap();
    let text = common::stdout_of_success(&out);
    assert!(
        text.starts_with("1460 Bengtsfors") && text.contains("granted      926090 kr"),
        "{text}"
    );

    // The ombud's rights follow-up over the CLI (ADR 0046): a run as of a
    // day, then the counts per item; a bad day names the option.
    let out = samling(data.path(), base)
        .args([
            "ombud",
            "follow-up",
            "--as-of",
            "2026-12-01",
            "--region",
            "stockholm-gotland",
        ])
        .output()
        .unwrap();
    let text = common::stdout_of_success(&out);
    assert!(
        text.starts_with("follow-up as of 2026-12-01: ") && text.contains("children evaluated"),
        "{text}"
    );
    assert!(
        text.contains("item overdue due met upcoming unknown children"),
        "{text}"
    );
    let out = samling(data.path(), base)
        .args([
            "ombud",
            "follow-up",
            "--as-of",
            "1 december",
            "--region",
            "stockholm-gotland",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--as-of"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Recruitment's CLI against the same system: a campaign, the cases, the funnel.
    let recruitment = |args: &[&str]| {
        samling(data.path(), base)
            .arg("recruitment")
            .args(args)
            .args(["--region", "stockholm-gotland"])
            .output()
            .unwrap()
    };
    let out = recruitment(&[
        "campaigns",
        "create",
        "--name",
        "Vintern 2026",
        "--code",
        "VINTER26",
        "--channel",
        "social-media",
    ]);
    assert!(common::stdout_of_success(&out).contains("with code VINTER26"));
    let out = recruitment(&["campaigns", "list"]);
    assert!(common::stdout_of_success(&out).contains("VINTER26"));
    let out = recruitment(&["cases", "--stage", "info-meeting"]);
    assert!(common::stdout_of_success(&out).starts_with("id "));
    let out = recruitment(&["funnel", "--from", "2026-01-01", "--to", "2026-12-31"]);
    let text = common::stdout_of_success(&out);
    assert!(
        text.contains("inquired") && text.contains("approved"),
        "{text}"
    );
    let out = recruitment(&["advance", &home.id, "--to", "approval-now"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--to: unknown value"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = recruitment(&["show", "not-an-id"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("case_id"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The portfolio's CLI: the interop (the office): the placement above
    // opened the child's portfolio (the registry's feed); school data from
    // an SS 12000-style file, then the health section as a FHIR Bundle.
    // Then the retention job (ADR 0043), a dry run and a run for the
    // office; another role is refused, a malformed day names --today.
    let portfolio = |args: &[&str]| {
        samling(data.path(), base)
            .arg("portfolio")
            .args(args)
            .args(["--region", "stockholm-gotland"])
            .output()
            .unwrap()
    };
    let school = |placed_at: &str| {
        serde_json::json!({
            "organisations": [{"id": "org-1", "displayName": "Byskolan",
                "organisationType": "Skolenhet", "schoolUnitCode": "12345678"}],
            "persons": [{"id": child.id,
                "civicNo": {"value": samling_testkit::people::child_pnr(9, 3)}}],
            "placements": [{"id": "pl-1", "placedAt": {"id": placed_at},
                "child": {"id": child.id}, "startDate": "2020-08-17"}]
        })
        .to_string()
    };
    let file = data.path().join("school.json");
    std::fs::write(&file, school("org-9")).unwrap();
    let out = portfolio(&["import-school", file.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        err.contains("placements[0].placedAt.id: unknown organisation")
            && !err.contains(&samling_testkit::people::child_pnr(9, 3)),
        "{err}"
    );
    std::fs::write(&file, school("org-1")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = portfolio(&["import-school", file.to_str().unwrap()]);
        if out.status.success() {
            assert!(common::stdout_of_success(&out).contains("1 school sections written"));
            break;
        }
        // Until the feed has opened the portfolio, the child is unknown here.
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(err.contains("persons[0].id"), "{err}");
        assert!(
            Instant::now() < deadline,
            "the portfolio never opened: {err}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let out = portfolio(&["export-fhir", &child.id]);
    let bundle: serde_json::Value = serde_json::from_str(&common::stdout_of_success(&out)).unwrap();
    assert_eq!(bundle["type"], "document");
    assert_eq!(
        bundle["entry"][0]["resource"]["resourceType"],
        "Composition"
    );
    let out = portfolio(&["export-fhir", "not-an-id"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("child_id"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = portfolio(&["retention", "--dry-run", "--today", "2040-01-01"]);
    let text = common::stdout_of_success(&out);
    assert!(
        text.starts_with("retention dry run for 2040-01-01:") && text.contains("\narchived "),
        "{text}"
    );
    let out = portfolio(&["retention"]);
    let text = common::stdout_of_success(&out);
    assert!(text.starts_with("retention run for "), "{text}");
    let out = portfolio(&["retention", "--today", "2040-01-01"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("today"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = portfolio(&["retention", "--dry-run", "--today", "2026-02-30"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--today"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = samling(data.path(), base)
        .args([
            "portfolio",
            "retention",
            "--dry-run",
            "--region",
            "stockholm-gotland",
            "--as",
            "municipality_caseworker",
            "--municipality",
            "0180",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("retention"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The deadline and aftercare worklists (ADR 0042): the run, the
    // worklists' headers, a bad --today and a bad --state named.
    let out = portfolio(&["deadlines", "--run", "--today", "2026-01-15"]);
    let text = common::stdout_of_success(&out);
    assert!(
        text.starts_with("run: ") && text.contains("child municipality home"),
        "{text}"
    );
    let out = portfolio(&["aftercare"]);
    assert!(common::stdout_of_success(&out).starts_with("child municipality care_ended_on"));
    let out = portfolio(&["deadlines", "--today", "2026-13-01"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--today"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = portfolio(&["deadlines", "--state", "met"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("state"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The ombud follows the portfolio's deadlines (issue 23 §6): after a
    // run for today, the ombud's counts list the portfolio's items (the
    // care plan is the portfolio's alone: the ombud computes none).
    common::stdout_of_success(&portfolio(&["deadlines", "--run"]));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = samling(data.path(), base)
            .args(["ombud", "follow-up", "--region", "stockholm-gotland"])
            .output()
            .unwrap();
        let text = common::stdout_of_success(&out);
        if text.lines().any(|l| l.starts_with("care_plan ")) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the ombud never saw the portfolio's items: {text}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    // Bad input over the CLI is a clear error naming the field, not a panic.
    let out = samling(data.path(), base)
        .args([
            "homes",
            "approve",
            &home.id,
            "--by",
            "9999",
            "--decision-date",
            "2026-01-01",
            "--decision-ref",
            "x",
            "--region",
            "stockholm-gotland",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("municipality_code"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The same register over the gateway's REST API, with a token from the CLI.
    let out = samling(data.path(), base)
        .args([
            "token",
            "issue",
            "--role",
            "regional_officer",
            "--region",
            "stockholm-gotland",
        ])
        .output()
        .unwrap();
    let token = common::stdout_of_success(&out).trim().to_string();
    let (status, body) = http_get(
        http_port(base),
        &format!("/v1/regions/stockholm-gotland/homes/{}", home.id),
        &token,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("\"home_type\":\"HOME_TYPE_FAMILY_HOME\"") && body.contains("Hemvägen 3"),
        "{body}"
    );
    let (status, body) = http_get(
        http_port(base),
        "/v1/homes?competences=npf&include_unplaceable=true",
        &token,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains(&home.id) && body.contains("\"partial\":false"),
        "{body}"
    );
    let (status, body) = http_get(
        http_port(base),
        "/v1/regions/stockholm-gotland/homes/not-an-id",
        &token,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("\"field\":\"home_id\""), "{body}");
    let (status, _) = http_get(http_port(base), "/v1/homes", "not-a-token").await;
    assert_eq!(status, 401);

    // One access-log line per REST request: method, route template, role,
    // status, latency; no ids, personal data or tokens, no colour codes.
    let log_path = data.path().join("serve.log");
    let deadline = Instant::now() + Duration::from_secs(10);
    let access: Vec<String> = loop {
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        let lines: Vec<String> = log
            .lines()
            .filter(|l| l.contains(" access: "))
            .map(str::to_string)
            .collect();
        if lines.len() >= 4 || Instant::now() > deadline {
            break lines;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let expected = [
        (
            "/v1/regions/{region}/homes/{home_id}",
            "regional_officer",
            200,
        ),
        ("/v1/homes", "regional_officer", 200),
        (
            "/v1/regions/{region}/homes/{home_id}",
            "regional_officer",
            400,
        ),
        ("/v1/homes", "-", 401),
    ];
    assert_eq!(access.len(), expected.len(), "{access:#?}");
    for (line, (route, role, status)) in access.iter().zip(expected) {
        assert!(
            line.contains("method=GET")
                && line.contains(&format!(" route={route} "))
                && line.contains(&format!(" role={role} "))
                && line.contains(&format!(" status={status} "))
                && line.contains(" us="),
            "{line}"
        );
    }
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    let pnr = adult(1);
    // The registers asked each other about these (ADR 0021): by keyed hash only.
    let (pnr2, child_pnr) = (adult(2), samling_testkit::people::child_pnr(9, 3));
    for secret in [
        home.id.as_str(),
        &pnr,
        &pnr.replace('-', ""),
        &pnr2.replace('-', ""),
        &child_pnr.replace('-', ""),
        "Hemvägen",
        token.as_str(),
        "\x1b[",
    ] {
        assert!(!log.contains(secret), "{secret:?} in the log:\n{log}");
    }

    drop(server);

    // The audit chain of every region verifies after the run.
    let out = samling(data.path(), base)
        .args(["audit", "verify", "--regions", "stockholm-gotland,norr"])
        .output()
        .unwrap();
    let text = common::stdout_of_success(&out);
    assert!(
        text.contains("stockholm-gotland registry") && text.contains("chain intact"),
        "{text}"
    );
}
