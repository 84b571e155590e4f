//! Retention (issue 22 §8, ADR 0043): a child whose placement ends moves
//! to RESTRICTED (the home has lost access, the young person and the
//! placing municipality keep it, only the aftercare sections are written);
//! a new placement before 25 makes the portfolio ACTIVE again; at 25 it is
//! ARCHIVED (thinned, read-only, the young person and the office only; the
//! credential deleted; the access log kept). Running the job again changes
//! and emits nothing; only the office and services run it.

use crate::common::*;
use samling_kit::auth::{AuthContext, Role};
use samling_proto::common::v1::WatchEventsRequest;
use samling_proto::portfolio::v1::*;

fn at(day: &str) -> chrono::DateTime<chrono::Utc> {
    format!("{day}T09:00:00Z").parse().unwrap()
}

fn run(today: Option<&str>, dry_run: bool) -> RunRetentionRequest {
    RunRetentionRequest {
        request_id: new_id(),
        today: today.map(|d| {
            let d = chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap();
            samling_kit::dates::to_proto(d)
        }),
        dry_run,
    }
}

fn count(r: &RetentionRun, s: RetentionStage) -> i64 {
    r.counts
        .iter()
        .find(|c| c.stage == s as i32)
        .map(|c| c.portfolios)
        .unwrap_or(-1)
}

fn change(child: &str, from: RetentionStage, to: RetentionStage) -> RetentionChange {
    RetentionChange {
        child_id: child.to_string(),
        from: from as i32,
        to: to as i32,
    }
}

/// The `portfolio.retention` events so far (payloads).
async fn retention_events(h: &Harness) -> Vec<serde_json::Value> {
    let mut svc = h.client(AuthContext::new("test", Role::Service)).await;
    let mut stream = rpc!(
        svc,
        watch_events,
        WatchEventsRequest {
            after: 0,
            event_types: vec!["portfolio.retention".into()],
            stop_at_end: true,
        }
    )
    .unwrap();
    let mut out = Vec::new();
    while let Some(e) = stream.message().await.unwrap() {
        out.push(serde_json::from_str(&e.payload_json).unwrap());
    }
    out
}

fn section(s: update_section_request::Section, child: &str) -> UpdateSectionRequest {
    UpdateSectionRequest {
        request_id: new_id(),
        child_id: child.to_string(),
        expected_version: 0,
        section: Some(s),
    }
}

#[tokio::test]
async fn care_end_restricts_a_new_placement_reactivates_and_25_archives() {
    use RetentionStage::{Active, Archived, Restricted};
    use update_section_request::Section as S;
    for mut h in harnesses().await {
        let bk = h.backend;
        let (child, home, p1, p2, unit) = (new_id(), new_id(), new_id(), new_id(), new_id());
        // Born 10 Dec 2001: 18 on 10 Dec 2019, 25 on 10 Dec 2026.
        h.clock.set(at("2019-06-01"));
        register_child(&h, &child, "2001-12-10", false);
        h.publish(vec![created(&p1, &child, &home, "2015-01-01", false)])
            .await;
        let mut office = h.client(office()).await;
        let mut cw = h.client(caseworker(STOCKHOLM)).await;
        let mut kid = h.client(child_ctx(&child)).await;
        let mut fh = h.client(family_home(&home)).await;
        let get = || GetPortfolioRequest {
            child_id: child.clone(),
        };
        rpc!(
            cw,
            set_relations,
            SetRelationsRequest {
                request_id: new_id(),
                child_id: child.clone(),
                relations: Some(Relations {
                    health_units: vec![unit.clone()],
                    ombud_subjects: vec!["ombud-1".to_string()],
                    sealed_sections: vec![Section::Health as i32],
                    ..Default::default()
                }),
            }
        )
        .unwrap();
        rpc!(
            fh,
            update_section,
            section(
                S::Contacts(Contacts {
                    contacts: vec![Contact {
                        name: "Moster Anna".into(),
                        relation: "moster".into(),
                        phone: "070-1234567".into(),
                        reveals_location: false,
                    }],
                    ..Default::default()
                }),
                &child
            )
        )
        .unwrap_or_else(|e| panic!("[{bk}] contacts: {e}"));
        rpc!(
            kid,
            update_section,
            section(
                S::AboutMe(AboutMe {
                    in_my_words: "Jag gillar fotboll".into(),
                    ..Default::default()
                }),
                &child
            )
        )
        .unwrap_or_else(|e| panic!("[{bk}] about me: {e}"));
        let p = rpc!(fh, get_portfolio, get()).unwrap();
        assert_eq!(p.retention_stage, Active as i32, "[{bk}]");
        let cred = rpc!(
            fh,
            issue_prescription_credential,
            IssuePrescriptionCredentialRequest {
                request_id: new_id(),
                child_id: child.clone(),
            }
        )
        .unwrap_or_else(|e| panic!("[{bk}] credential: {e}"));
        // Nothing to do while in care.
        let r = rpc!(office, run_retention, run(None, false)).unwrap();
        assert!(r.changes.is_empty(), "[{bk}] {r:?}");
        assert_eq!(count(&r, Active), 1, "[{bk}]");

        // Care ends on the 18th birthday.
        h.publish(vec![ended(&p1, &child, &home, "2019-12-10", false)])
            .await;
        h.clock.set(at("2019-12-09"));
        let r = rpc!(office, run_retention, run(None, true)).unwrap();
        assert!(r.changes.is_empty(), "[{bk}] the day before: {r:?}");
        h.clock.set(at("2019-12-10"));
        // Access follows the facts at once, before the job records it.
        let p = rpc!(kid, get_portfolio, get()).unwrap();
        assert_eq!(p.retention_stage, Restricted as i32, "[{bk}]");
        assert_eq!(
            rpc!(fh, get_portfolio, get()).unwrap_err().code(),
            tonic::Code::NotFound,
            "[{bk}] the home lost access on the end date"
        );
        // The dry run lists it and changes nothing.
        let dry = rpc!(office, run_retention, run(None, true)).unwrap();
        assert!(dry.dry_run);
        assert_eq!(
            dry.changes,
            vec![change(&child, Active, Restricted)],
            "[{bk}]"
        );
        assert_eq!(count(&dry, Restricted), 1, "[{bk}]");
        assert_eq!(count(&dry, Active), 0, "[{bk}]");
        assert!(
            retention_events(&h).await.is_empty(),
            "[{bk}] a dry run emits nothing"
        );
        let r = rpc!(office, run_retention, run(None, false)).unwrap();
        assert_eq!(
            r.changes,
            vec![change(&child, Active, Restricted)],
            "[{bk}]"
        );
        assert_eq!(count(&r, Restricted), 1, "[{bk}]");
        let events = retention_events(&h).await;
        assert_eq!(
            events,
            vec![serde_json::json!({"child_id": child, "region": REGION, "stage": "restricted"})],
            "[{bk}] ids and codes only"
        );
        // Again: nothing changes, nothing is emitted.
        let again = rpc!(office, run_retention, run(None, false)).unwrap();
        assert!(again.changes.is_empty(), "[{bk}] {again:?}");
        assert_eq!(
            h.service.run_retention_job(h.clock.today()).await.unwrap(),
            0
        );
        assert_eq!(retention_events(&h).await.len(), 1, "[{bk}]");

        // Aftercare: the young person and the caseworker keep the portfolio;
        // the ombud and the health unit do not; leisure is no longer written.
        let p = rpc!(cw, get_portfolio, get()).unwrap();
        assert_eq!(p.retention_stage, Restricted as i32);
        assert!(p.contacts.is_some(), "[{bk}]");
        assert!(!p.writable_sections.contains(&(Section::Leisure as i32)));
        assert!(p.writable_sections.contains(&(Section::Health as i32)));
        rpc!(
            cw,
            update_section,
            section(S::Health(Health::default()), &child)
        )
        .unwrap_or_else(|e| panic!("[{bk}] aftercare health: {e}"));
        let e = rpc!(
            cw,
            update_section,
            section(S::Leisure(Leisure::default()), &child)
        )
        .unwrap_err();
        assert_eq!(e.code(), tonic::Code::FailedPrecondition, "[{bk}] {e}");
        assert!(e.message().contains("restricted"), "[{bk}] {e}");
        for who in [ombud(), health_staff(&unit)] {
            let mut c = h.client(who.clone()).await;
            let e = rpc!(c, get_portfolio, get()).unwrap_err();
            assert_eq!(e.code(), tonic::Code::FailedPrecondition, "[{bk}] {who:?}");
        }
        // The guardian of an adult reads nothing; the credential is revoked.
        let mut g = h.client(guardian(&child)).await;
        assert_eq!(
            rpc!(g, get_portfolio, get()).unwrap_err().code(),
            tonic::Code::FailedPrecondition,
            "[{bk}]"
        );
        let mut pharmacy = h
            .client(AuthContext::new(
                samling_kit::auth::PUBLIC_SUBJECT,
                Role::Service,
            ))
            .await;
        let verify = || VerifyPrescriptionCredentialRequest {
            token: cred.token.clone(),
        };
        assert_eq!(
            rpc!(pharmacy, verify_prescription_credential, verify())
                .unwrap()
                .status,
            "revoked",
            "[{bk}]"
        );

        // Placed again at 19: active at once, recorded by the next run.
        h.clock.set(at("2020-03-01"));
        h.publish(vec![created(&p2, &child, &home, "2020-03-01", false)])
            .await;
        let p = rpc!(fh, get_portfolio, get())
            .unwrap_or_else(|e| panic!("[{bk}] the new placement's home: {e}"));
        assert_eq!(p.retention_stage, Active as i32, "[{bk}]");
        let r = rpc!(office, run_retention, run(None, false)).unwrap();
        assert_eq!(
            r.changes,
            vec![change(&child, Restricted, Active)],
            "[{bk}]"
        );
        h.publish(vec![ended(&p2, &child, &home, "2021-01-01", false)])
            .await;
        h.clock.set(at("2021-01-01"));
        assert_eq!(
            h.service.run_retention_job(h.clock.today()).await.unwrap(),
            1
        );

        // The day before the 25th birthday: still restricted.
        h.clock.set(at("2026-12-09"));
        let r = rpc!(office, run_retention, run(None, false)).unwrap();
        assert!(r.changes.is_empty(), "[{bk}] {r:?}");
        // A run may not be for a later day (archiving is irreversible);
        // a dry run may.
        let e = rpc!(office, run_retention, run(Some("2026-12-10"), false)).unwrap_err();
        assert_eq!(e.code(), tonic::Code::InvalidArgument);
        assert_eq!(field_of(&e).as_deref(), Some("today"), "[{bk}]");
        let dry = rpc!(office, run_retention, run(Some("2026-12-10"), true)).unwrap();
        assert_eq!(
            dry.changes,
            vec![change(&child, Restricted, Archived)],
            "[{bk}]"
        );
        assert_eq!(dry.credentials_deleted, 1, "[{bk}]");

        // The 25th birthday: archived.
        h.clock.set(at("2026-12-10"));
        let r = rpc!(office, run_retention, run(None, false)).unwrap();
        assert_eq!(
            r.changes,
            vec![change(&child, Restricted, Archived)],
            "[{bk}]"
        );
        assert_eq!(r.credentials_deleted, 1, "[{bk}]");
        assert_eq!(count(&r, Archived), 1, "[{bk}]");
        // The young person reads the archive form; contacts are thinned,
        // their own words kept; nothing is writable.
        let p = rpc!(kid, get_portfolio, get()).unwrap();
        assert_eq!(p.retention_stage, Archived as i32, "[{bk}]");
        assert!(!p.archived_at.is_empty(), "[{bk}]");
        assert!(p.contacts.is_none(), "[{bk}] contacts thinned");
        assert_eq!(p.about_me.unwrap().in_my_words, "Jag gillar fotboll");
        assert!(p.writable_sections.is_empty(), "[{bk}]");
        let p = rpc!(office, get_portfolio, get()).unwrap();
        let r = p.relations.unwrap();
        assert!(
            r.health_units.is_empty() && r.ombud_subjects.is_empty(),
            "[{bk}]"
        );
        assert_eq!(
            r.sealed_sections,
            vec![Section::Health as i32],
            "[{bk}] sealed stays sealed"
        );
        // Everyone else loses read: the caseworker is told it is archived,
        // the home and the health unit (no longer named) are strangers.
        let e = rpc!(cw, get_portfolio, get()).unwrap_err();
        assert_eq!(e.code(), tonic::Code::FailedPrecondition, "[{bk}]");
        assert!(e.message().contains("archived"), "[{bk}] {e}");
        for who in [
            family_home(&home),
            health_staff(&unit),
            school_staff(&new_id()),
        ] {
            let mut c = h.client(who.clone()).await;
            let e = rpc!(c, get_portfolio, get()).unwrap_err();
            assert_eq!(e.code(), tonic::Code::NotFound, "[{bk}] {who:?}");
        }
        let mut svc = h.client(service()).await;
        assert_eq!(
            rpc!(svc, get_portfolio, get()).unwrap_err().code(),
            tonic::Code::FailedPrecondition,
            "[{bk}]"
        );
        // Writes are refused naming the stage, to everyone.
        for (c, body) in [
            (
                &mut kid,
                S::AboutMe(AboutMe {
                    in_my_words: "ny".into(),
                    ..Default::default()
                }),
            ),
            (&mut office, S::Health(Health::default())),
            (&mut cw, S::Health(Health::default())),
        ] {
            let e = rpc!(*c, update_section, section(body, &child)).unwrap_err();
            assert_eq!(e.code(), tonic::Code::FailedPrecondition, "[{bk}] {e}");
            assert!(e.message().contains("archived"), "[{bk}] {e}");
        }
        let e = rpc!(
            office,
            set_relations,
            SetRelationsRequest {
                request_id: new_id(),
                child_id: child.clone(),
                relations: Some(Relations::default()),
            }
        )
        .unwrap_err();
        assert_eq!(e.code(), tonic::Code::FailedPrecondition, "[{bk}] {e}");
        // The credential is gone (thinned): invalid.
        assert_eq!(
            rpc!(pharmacy, verify_prescription_credential, verify())
                .unwrap()
                .status,
            "invalid",
            "[{bk}]"
        );
        // The access log survives: the home's reads years ago, the stages.
        let log = rpc!(
            kid,
            list_access_log,
            ListAccessLogRequest {
                child_id: child.clone(),
                page: Some(samling_proto::common::v1::PageRequest {
                    page_size: 500,
                    page_token: String::new(),
                }),
            }
        )
        .unwrap()
        .entries;
        assert!(
            log.iter()
                .any(|e| e.role == "family_home" && e.action == "read"),
            "[{bk}] {log:?}"
        );
        for stage in [
            "retention_restricted",
            "retention_active",
            "retention_archived",
        ] {
            assert!(
                log.iter()
                    .any(|e| e.action == stage && e.section == "retention"),
                "[{bk}] {stage} {log:?}"
            );
        }
        // Re-running changes and emits nothing; a new placement after 25
        // does not bring an archive back.
        let before = retention_events(&h).await.len();
        assert_eq!(before, 4, "[{bk}] restricted, active, restricted, archived");
        let again = rpc!(office, run_retention, run(None, false)).unwrap();
        assert!(again.changes.is_empty(), "[{bk}]");
        h.publish(vec![created(&new_id(), &child, &home, "2026-12-10", false)])
            .await;
        assert_eq!(
            h.service.run_retention_job(h.clock.today()).await.unwrap(),
            0
        );
        assert_eq!(retention_events(&h).await.len(), before, "[{bk}]");
        assert_eq!(
            rpc!(fh, get_portfolio, get()).unwrap_err().code(),
            tonic::Code::FailedPrecondition,
            "[{bk}] archived is final"
        );
        h.stop().await;
    }
}

#[tokio::test]
async fn only_the_office_and_services_run_retention_and_a_replay_answers_the_first_run() {
    for mut h in harnesses().await {
        let bk = h.backend;
        let (child, home, p1) = (new_id(), new_id(), new_id());
        register_child(&h, &child, "2010-01-01", false);
        h.publish(vec![
            created(&p1, &child, &home, "2020-01-01", false),
            ended(&p1, &child, &home, "2026-11-01", false),
        ])
        .await;
        for who in [
            caseworker(STOCKHOLM),
            manager(STOCKHOLM),
            family_home(&home),
            child_ctx(&child),
            guardian(&child),
            ombud(),
            health_staff(&new_id()),
            analyst(),
            council_member(),
            national_reviewer(),
            ivo(),
            office_in("norr"),
            AuthContext::new(samling_kit::auth::PUBLIC_SUBJECT, Role::Service),
        ] {
            let mut c = h.client(who.clone()).await;
            for dry in [true, false] {
                let e = rpc!(c, run_retention, run(None, dry)).unwrap_err();
                assert_eq!(e.code(), tonic::Code::PermissionDenied, "[{bk}] {who:?}");
            }
        }
        assert!(retention_events(&h).await.is_empty(), "[{bk}]");
        // A service (a batch job) runs it; the same request_id answers the
        // first run's answer.
        let mut svc = h.client(service()).await;
        let req = run(None, false);
        let first = rpc!(svc, run_retention, req.clone()).unwrap();
        assert_eq!(first.changes.len(), 1, "[{bk}]");
        let replay = rpc!(svc, run_retention, req).unwrap();
        assert_eq!(replay, first, "[{bk}]");
        assert_eq!(retention_events(&h).await.len(), 1, "[{bk}]");
        // A malformed day names the field.
        let mut office = h.client(office()).await;
        let mut bad = run(None, true);
        bad.today = Some(samling_proto::common::v1::Date {
            year: 2026,
            month: 2,
            day: 30,
        });
        let e = rpc!(office, run_retention, bad).unwrap_err();
        assert_eq!(e.code(), tonic::Code::InvalidArgument, "[{bk}]");
        assert_eq!(field_of(&e).as_deref(), Some("today"), "[{bk}]");
        h.stop().await;
    }
}

#[tokio::test]
async fn the_periodic_job_records_the_stage_without_a_call() {
    for mut h in harnesses().await {
        let bk = h.backend;
        let (child, home, p1) = (new_id(), new_id(), new_id());
        register_child(&h, &child, "2010-01-01", false);
        h.publish(vec![
            created(&p1, &child, &home, "2020-01-01", false),
            ended(&p1, &child, &home, "2026-11-01", false),
        ])
        .await;
        let job = h
            .service
            .spawn_retention_job(std::time::Duration::from_secs(1));
        let mut seen = Vec::new();
        for _ in 0..100 {
            seen = retention_events(&h).await;
            if !seen.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        job.stop().await;
        assert_eq!(
            seen,
            vec![serde_json::json!({"child_id": child, "region": REGION, "stage": "restricted"})],
            "[{bk}]"
        );
        h.stop().await;
    }
}
