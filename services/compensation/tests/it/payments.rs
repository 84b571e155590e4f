//! The monthly payment run: placements from the registry's feed (kit's
//! consumer), agreements prorated within them, preliminary tax on arvode,
//! statements per home, a second person's approval, a pain.001.001.09 file
//! valid against the XSD shipped in PyPI's `sepaxml`, the same bytes every
//! time, and a month never paid twice.

use crate::common::*;
use samling_compensation::Compensation;
use samling_compensation::domain::Rules;
use samling_compensation::domain::pain001::Payer;
use samling_compensation::domain::payments::{TaxBracket, iban_of};
use samling_kit::auth::{AuthContext, Role};
use samling_kit::consumer::{Consumer, FeedSource};
use samling_kit::outbox::{EventFeed, NewEvent};
use samling_proto::compensation::v1::*;
use tonic::Code;

pub(crate) fn rules() -> Rules {
    Rules {
        tax_table: vec![
            TaxBracket {
                up_to_ore: Some(1_000_000),
                basis_points: 2000,
            },
            TaxBracket {
                up_to_ore: None,
                basis_points: 3000,
            },
        ],
        payer: Some(Payer {
            name: "Region Stockholm-Gotland".into(),
            iban: iban_of("SE", "50000000058398257466"),
            bic: "ESSESESS".into(),
        }),
        ..Rules::default()
    }
}

/// The second person of finance.
pub(crate) fn second_officer() -> AuthContext {
    AuthContext::new("officer-2", Role::RegionalOfficer).with_region(REGION)
}

/// The Python that validates against sepaxml's XSD (testkit's
/// `python::with_packages`: `SAMLING_TEST_PYTHON`, `python3`, or a venv
/// from the pinned `.ci/requirements-pain001.txt`).
fn python() -> String {
    static PYTHON: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PYTHON
        .get_or_init(|| {
            samling_testkit::python::with_packages(
                "import sepaxml, xmlschema",
                &std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("pain001-venv"),
            )
        })
        .clone()
}

/// Validate `xml` against pain.001.001.09 from sepaxml; Err(message) when invalid.
pub(crate) fn validate(xml: &str) -> Result<(), String> {
    let path = std::env::temp_dir().join(format!("pain001-{}.xml", new_id()));
    std::fs::write(&path, xml).unwrap();
    let script = "import os, sys, sepaxml, xmlschema\n\
                  xsd = os.path.join(os.path.dirname(sepaxml.__file__), 'schemas', 'pain.001.001.09.xsd')\n\
                  xmlschema.XMLSchema(xsd).validate(sys.argv[1])\n";
    let out = std::process::Command::new(python())
        .args(["-c", script, path.to_str().unwrap()])
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e} (set SAMLING_TEST_PYTHON)", python()));
    let _ = std::fs::remove_file(&path);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        !stderr.contains("ModuleNotFoundError"),
        "the XSD check needs `pip install sepaxml xmlschema` for {} (or SAMLING_TEST_PYTHON): {stderr}",
        python()
    );
    if out.status.success() {
        Ok(())
    } else {
        Err(stderr)
    }
}

pub(crate) fn created(p: &str, home: &str, start: &str) -> NewEvent {
    NewEvent::new(
        "registry.placement_created",
        "placement",
        p,
        serde_json::json!({"placement_id": p, "child_id": new_id(), "home_id": home,
                           "unit_id": "", "start_date": start}),
    )
}

pub(crate) fn ended(p: &str, home: &str, end: &str) -> NewEvent {
    NewEvent::new(
        "registry.placement_ended",
        "placement",
        p,
        serde_json::json!({"placement_id": p, "child_id": new_id(), "home_id": home,
                           "unit_id": "", "end_reason": "END_REASON_PLANNED", "end_date": end}),
    )
}

/// The registry's feed (an in-process source standing in for its
/// WatchEvents) followed by compensation's consumer until `n` events are
/// applied or dead-lettered.
pub(crate) async fn follow_registry(
    h: &Harness,
    b: &samling_testkit::Backend,
    events: Vec<NewEvent>,
    n: u64,
) -> u64 {
    let (registry_store, _) = b.store("registry", None, &[]).await;
    let registry_feed = EventFeed::new(registry_store.clone());
    let mut tx = registry_store.begin_write().await.unwrap();
    for e in events {
        tx.event(e).await.unwrap();
    }
    tx.commit(&registry_feed).await.unwrap();
    let mut opts = samling_compensation::registry_feed::options();
    opts.backoff_initial = std::time::Duration::from_millis(5);
    opts.max_attempts = 2;
    let handle = Consumer::new(
        samling_compensation::registry_feed::feed_name("test"),
        FeedSource(registry_feed.clone()),
    )
    .with_options(opts)
    .spawn_durable(
        h.service.store.clone(),
        h.service.feed.clone(),
        samling_compensation::registry_feed::RegistryFeed(h.service.clone()),
    )
    .unwrap();
    let status = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        handle.wait_for(|s| s.applied + s.dead_letters >= n),
    )
    .await
    .unwrap_or_else(|_| panic!("[{}] the consumer caught up", h.backend));
    handle.stop().await;
    status.dead_letters
}

#[tokio::test]
async fn a_month_is_paid_once_from_placements_to_an_approved_valid_pain001_file() {
    for (h, b) in harnesses_with(rules()).await {
        let bk = h.backend;
        let mut office = h.client(office()).await;
        create_schedule(&mut office, "national", date(2026, 1, 1)).await;
        let (home_a, home_b, home_c, home_d) = (new_id(), new_id(), new_id(), new_id());
        // A: booked 17 March, the child came on the 20th (paid from the 17th).
        let a = rpc!(
            office,
            create_agreement,
            agreement_request(&home_a, date(2026, 3, 17))
        )
        .unwrap();
        // B: since January, the placement ended 10 March.
        let bb = rpc!(
            office,
            create_agreement,
            agreement_request(&home_b, date(2026, 1, 1))
        )
        .unwrap();
        // C: the whole month, but no account.
        let c = rpc!(
            office,
            create_agreement,
            agreement_request(&home_c, date(2026, 2, 1))
        )
        .unwrap();
        // D: its placement never reached the feed.
        let d = rpc!(
            office,
            create_agreement,
            agreement_request(&home_d, date(2026, 3, 1))
        )
        .unwrap();
        let dead = follow_registry(
            &h,
            &b,
            vec![
                created(&a.placement_id, &home_a, "2026-03-20"),
                created(&bb.placement_id, &home_b, "2026-01-01"),
                ended(&bb.placement_id, &home_b, "2026-03-10"),
                created(&c.placement_id, &home_c, "2026-02-01"),
                created(&new_id(), &home_c, "not a date"),
            ],
            5,
        )
        .await;
        assert_eq!(dead, 1, "[{bk}] the malformed event is dead-lettered");
        let mut ibans = Vec::new();
        for home in [&home_a, &home_b] {
            let digits = home[home.len() - 10..].replace(|c: char| !c.is_ascii_digit(), "1");
            let iban = iban_of("SE", &format!("1200000001{digits}"));
            rpc!(
                office,
                set_payee_account,
                SetPayeeAccountRequest {
                    request_id: new_id(),
                    home_id: home.to_string(),
                    iban: iban.clone()
                }
            )
            .unwrap();
            ibans.push(iban);
        }
        let err = rpc!(
            office,
            set_payee_account,
            SetPayeeAccountRequest {
                request_id: new_id(),
                home_id: home_c.clone(),
                iban: "SE00 1234".into()
            }
        )
        .unwrap_err();
        assert_eq!(field_of(&err).as_deref(), Some("iban"), "[{bk}]");

        let start = StartPaymentRunRequest {
            request_id: new_id(),
            year: 2026,
            month: 3,
            execution_date: date(2026, 3, 25),
        };
        let run = rpc!(office, start_payment_run, start.clone()).unwrap();
        assert_eq!(run.status, RunStatus::Calculated as i32, "[{bk}]");
        assert_eq!((run.statements, run.transfers), (3, 2), "[{bk}]");
        assert_eq!(run.homes_without_account, vec![home_c.clone()], "[{bk}]");
        assert_eq!(
            run.agreements_without_placement,
            vec![d.id.clone()],
            "[{bk}]"
        );

        // A: 15 of 31 days: arvode 967 742, omkostnad 314 516; tax 20 %
        // (≤ 10 000 kr) of 9 677,42 kr → 1 935 kr.
        let mut me = h.client(family_home(&home_a)).await;
        let sa = rpc!(
            me,
            get_statement,
            GetStatementRequest {
                run_id: run.id.clone(),
                home_id: home_a.clone()
            }
        )
        .unwrap();
        assert_eq!(
            (sa.gross_ore, sa.taxable_ore, sa.tax_ore),
            (1_282_258, 967_742, 193_500),
            "[{bk}]"
        );
        assert_eq!(sa.net_ore, 1_282_258 - 193_500, "[{bk}]");
        assert!(sa.paid_by_transfer, "[{bk}]");
        // B: 10 of 31 days; C: the whole month (20 000 kr arvode at 30 %).
        let mut fin = h.client(second_officer()).await;
        let sb = rpc!(
            fin,
            get_statement,
            GetStatementRequest {
                run_id: run.id.clone(),
                home_id: home_b.clone()
            }
        )
        .unwrap();
        assert_eq!(sb.lines[0].paid_days, 10, "[{bk}]");
        assert_eq!(sb.gross_ore, 645_161 + 209_677, "[{bk}]");
        let sc = rpc!(
            fin,
            get_statement,
            GetStatementRequest {
                run_id: run.id.clone(),
                home_id: home_c.clone()
            }
        )
        .unwrap();
        assert_eq!((sc.gross_ore, sc.tax_ore), (2_650_000, 600_000), "[{bk}]");
        assert!(!sc.paid_by_transfer, "[{bk}]");
        assert_eq!(run.net_ore, sa.net_ore + sb.net_ore + sc.net_ore, "[{bk}]");
        // A home reads only its own statement; a municipality none.
        let err = rpc!(
            me,
            get_statement,
            GetStatementRequest {
                run_id: run.id.clone(),
                home_id: home_b.clone()
            }
        )
        .unwrap_err();
        assert_eq!(err.code(), Code::NotFound, "[{bk}]");
        let mut worker = h.client(caseworker("0180")).await;
        let err = rpc!(
            worker,
            get_statement,
            GetStatementRequest {
                run_id: run.id.clone(),
                home_id: home_a.clone()
            }
        )
        .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "[{bk}]");
        let err = rpc!(
            me,
            get_payment_run,
            GetPaymentRunRequest {
                run_id: run.id.clone()
            }
        )
        .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "[{bk}]");

        // Never twice: the same request, a new request, another person.
        let again = rpc!(office, start_payment_run, start.clone()).unwrap();
        assert_eq!(again.id, run.id, "[{bk}]");
        let mut fresh = start.clone();
        fresh.request_id = new_id();
        assert_eq!(
            rpc!(fin, start_payment_run, fresh).unwrap().id,
            run.id,
            "[{bk}]"
        );
        let listed = rpc!(
            fin,
            list_statements,
            ListStatementsRequest {
                run_id: run.id.clone(),
                page: None
            }
        )
        .unwrap();
        assert_eq!(listed.statements.len(), 3, "[{bk}]");

        // No file before a second person approves; not the same person.
        let err = rpc!(
            office,
            get_payment_file,
            GetPaymentFileRequest {
                run_id: run.id.clone()
            }
        )
        .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition, "[{bk}]");
        let approve = ApprovePaymentRunRequest {
            request_id: new_id(),
            run_id: run.id.clone(),
        };
        let err = rpc!(office, approve_payment_run, approve.clone()).unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "[{bk}]");
        let err = rpc!(me, approve_payment_run, approve.clone()).unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "[{bk}]");
        let approved = rpc!(fin, approve_payment_run, approve.clone()).unwrap();
        assert_eq!(
            (approved.status, approved.approved_by.as_str()),
            (RunStatus::Approved as i32, "officer-2"),
            "[{bk}]"
        );
        let mut other = approve.clone();
        other.request_id = new_id();
        let err = rpc!(fin, approve_payment_run, other).unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition, "[{bk}]");

        // The file: two transfers (C has no account), valid against the XSD,
        // the same bytes every time and after a restart.
        let file = rpc!(
            office,
            get_payment_file,
            GetPaymentFileRequest {
                run_id: run.id.clone()
            }
        )
        .unwrap();
        assert_eq!(file.xml.matches("<CdtTrfTxInf>").count(), 2, "[{bk}]");
        assert!(
            file.xml.contains(&format!(
                "<CtrlSum>{}</CtrlSum>",
                samling_compensation::domain::pain001::kronor(sa.net_ore + sb.net_ore)
            )),
            "[{bk}]"
        );
        assert!(
            file.xml
                .contains("<ReqdExctnDt><Dt>2026-03-25</Dt></ReqdExctnDt>"),
            "[{bk}]"
        );
        assert!(
            !file.xml.contains(&home_a),
            "[{bk}] no home ids in the bank's file"
        );
        validate(&file.xml)
            .unwrap_or_else(|e| panic!("[{bk}] pain.001 invalid: {e}\n{}", file.xml));
        let twice = rpc!(
            fin,
            get_payment_file,
            GetPaymentFileRequest {
                run_id: run.id.clone()
            }
        )
        .unwrap();
        assert_eq!(
            (twice.xml.as_str(), twice.sha256.as_str()),
            (file.xml.as_str(), file.sha256.as_str()),
            "[{bk}]"
        );
        let restarted = Compensation::new(
            h.service.store.clone(),
            rules(),
            h.service.regions.clone(),
            h.clock.clone(),
        );
        let after = restarted
            .get_payment_file(
                &crate::common::office(),
                GetPaymentFileRequest {
                    run_id: run.id.clone(),
                },
            )
            .await
            .unwrap();
        assert_eq!(after.xml, file.xml, "[{bk}]");
        // The validator is real: a file without its message id is refused.
        let broken = file
            .xml
            .replacen(&format!("<MsgId>{}</MsgId>", file.message_id), "", 1);
        assert!(
            validate(&broken).is_err(),
            "[{bk}] the XSD check refuses a broken file"
        );
        // Events hold no account.
        let events = h.service.feed.read_after(0, 200).await.unwrap();
        for iban in &ibans {
            assert!(
                file.xml.contains(iban.as_str()),
                "[{bk}] the file pays the account"
            );
            assert!(
                events
                    .iter()
                    .all(|e| !e.payload_json.contains(iban.as_str())),
                "[{bk}]"
            );
        }
        assert!(
            events
                .iter()
                .any(|e| e.event_type == "compensation.payment_run_approved"),
            "[{bk}]"
        );
    }
}

#[tokio::test]
async fn a_run_abandoned_halfway_leaves_nothing_and_runs_whole_afterwards() {
    for (h, b) in harnesses_with(rules()).await {
        let bk = h.backend;
        let mut office = h.client(office()).await;
        create_schedule(&mut office, "national", date(2026, 1, 1)).await;
        let home = new_id();
        let a = rpc!(
            office,
            create_agreement,
            agreement_request(&home, date(2026, 1, 1))
        )
        .unwrap();
        follow_registry(
            &h,
            &b,
            vec![created(&a.placement_id, &home, "2026-01-01")],
            1,
        )
        .await;
        // A run killed after writing part of it: its transaction never commits.
        {
            let mut tx = h.service.store.begin_write().await.unwrap();
            let partial = PaymentRun {
                id: new_id(),
                year: 2026,
                month: 4,
                status: RunStatus::Calculated as i32,
                ..Default::default()
            };
            samling_compensation::store::payments::insert_run(tx.conn(), &partial)
                .await
                .unwrap();
            drop(tx);
        }
        let run = rpc!(
            office,
            start_payment_run,
            StartPaymentRunRequest {
                request_id: new_id(),
                year: 2026,
                month: 4,
                execution_date: date(2026, 4, 25)
            }
        )
        .unwrap();
        assert_eq!(run.statements, 1, "[{bk}] the whole run, once");
        assert_eq!(run.gross_ore, 2_650_000, "[{bk}]");
    }
}

/// A measurement, not a check of behaviour beyond the counts:
/// `cargo test -p samling-compensation --test it measure -- --ignored --nocapture`
/// (`SAMLING_MEASURE_PLACEMENTS`, default 20 000; `SAMLING_MEASURE_CLAIMS`,
/// default 5 000): `samling bench payments`' engine on every test backend.
#[tokio::test]
#[ignore = "a measurement; run it with --ignored --nocapture"]
async fn measure_a_monthly_run() {
    let env = |k: &str, d: usize| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let n = env("SAMLING_MEASURE_PLACEMENTS", 20_000);
    let claims = env("SAMLING_MEASURE_CLAIMS", 5_000);
    for b in samling_testkit::backend::store_backends() {
        let (store, _) = b
            .store("compensation", None, &[samling_compensation::MIGRATIONS])
            .await;
        let f = samling_compensation::bench::run(store, n, claims)
            .await
            .unwrap();
        assert_eq!((f.statements as usize, f.claims_paid as usize), (n, claims));
        println!(
            "{{\"backend\": \"{}\", \"figures\": {}}}",
            b.database(),
            serde_json::to_string(&f).unwrap()
        );
    }
}
