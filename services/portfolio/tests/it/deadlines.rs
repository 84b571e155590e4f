//! Deadlines and alerts (issue 22 §6, ADR 0042): a placed child's health
//! examination, six-monthly review, custody consideration, care end and
//! aftercare as items with states; `portfolio.deadline` emitted once per
//! change (not again on a re-run or after a restart); the caseworker's and
//! the exit coordinator's worklists, who may read them, and a protected
//! child redacted.

use crate::common::*;
use samling_kit::auth::AuthContext;
use samling_portfolio::Portfolios;
use samling_proto::common::v1::{Date, WatchEventsRequest};
use samling_proto::portfolio::v1::*;

fn at(day: &str) -> chrono::DateTime<chrono::Utc> {
    format!("{day}T09:00:00Z").parse().expect("an instant")
}

fn ymd(s: &str) -> Option<samling_proto::common::v1::Date> {
    let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    Some(samling_kit::dates::to_proto(d))
}

/// `portfolio.deadline` events of `child`: (item, state, due_on).
async fn events(h: &Harness, child: &str) -> Vec<(String, String, String)> {
    let mut svc = h.client(service()).await;
    let mut stream = rpc!(
        svc,
        watch_events,
        WatchEventsRequest {
            after: 0,
            event_types: vec!["portfolio.deadline".into()],
            stop_at_end: true,
        }
    )
    .unwrap();
    let mut out = Vec::new();
    while let Some(e) = stream.message().await.unwrap() {
        let v: serde_json::Value = serde_json::from_str(&e.payload_json).unwrap();
        let o = v.as_object().unwrap();
        // Ids and codes only: exactly these keys.
        let mut keys: Vec<&str> = o.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["child_id", "due_on", "item", "region", "state"]);
        assert_eq!(o["region"], REGION);
        if o["child_id"] == child {
            let s = |k: &str| o[k].as_str().unwrap().to_string();
            out.push((s("item"), s("state"), s("due_on")));
        }
    }
    out
}

fn count(ev: &[(String, String, String)], item: &str, state: &str, due: &str) -> usize {
    ev.iter()
        .filter(|(i, s, d)| i == item && s == state && d == due)
        .count()
}

async fn run(h: &Harness) -> RunDeadlinesResponse {
    let mut office = h.client(office()).await;
    rpc!(office, run_deadlines, RunDeadlinesRequest { today: None })
        .unwrap_or_else(|e| panic!("[{}] run: {e}", h.backend))
}

async fn worklist(
    h: &Harness,
    who: AuthContext,
    item: &str,
    state: &str,
) -> Result<ListDeadlinesResponse, tonic::Status> {
    let mut c = h.client(who).await;
    rpc!(
        c,
        list_deadlines,
        ListDeadlinesRequest {
            item: item.into(),
            state: state.into(),
            today: None,
            page: None,
        }
    )
}

fn items_of(r: &ListDeadlinesResponse, child: &str) -> Vec<(String, String)> {
    r.rows
        .iter()
        .filter(|r| r.child_id == child)
        .flat_map(|r| r.items.iter().map(|i| (i.item.clone(), i.state.clone())))
        .collect()
}

async fn aftercare(h: &Harness) -> ListAftercareResponse {
    let mut office = h.client(office()).await;
    rpc!(
        office,
        list_aftercare,
        ListAftercareRequest {
            today: None,
            page: None
        }
    )
    .unwrap_or_else(|e| panic!("[{}] aftercare: {e}", h.backend))
}

async fn write_section(h: &Harness, child: &str, section: update_section_request::Section) {
    let mut cw = h.client(caseworker(STOCKHOLM)).await;
    rpc!(
        cw,
        update_section,
        UpdateSectionRequest {
            request_id: new_id(),
            child_id: child.to_string(),
            expected_version: 0,
            section: Some(section),
        }
    )
    .unwrap_or_else(|e| panic!("[{}] section: {e}", h.backend));
}

fn document(kind: DocumentKind, dated: &str) -> Document {
    Document {
        kind: kind as i32,
        title: "Beslut".into(),
        media_type: "application/pdf".into(),
        size_bytes: 1000,
        sha256: "a".repeat(64),
        dated: ymd(dated),
        ..Default::default()
    }
}

#[tokio::test]
async fn the_health_examination_is_due_at_care_start_overdue_after_the_window_and_met_once_recorded()
 {
    for mut h in harnesses().await {
        let bk = h.backend;
        let (child, home, p1) = (new_id(), new_id(), new_id());
        register_child(&h, &child, "2012-03-04", false);
        h.publish(vec![created(&p1, &child, &home, "2026-12-01", false)])
            .await;

        let r = run(&h).await;
        assert_eq!(r.children, 1, "[{bk}]");
        assert!(r.emitted >= 5, "[{bk}] {r:?}");
        let w = worklist(&h, office(), "health_examination_physical", "")
            .await
            .unwrap();
        assert_eq!(
            items_of(&w, &child),
            vec![("health_examination_physical".into(), "due".into())],
            "[{bk}]"
        );
        assert_eq!(w.rows[0].items[0].due_on, ymd("2026-12-31"), "[{bk}]");
        assert_eq!(w.rows[0].home_id, home, "[{bk}]");
        assert_eq!(w.rows[0].care_start, ymd("2026-12-01"), "[{bk}]");

        // Run again, and after a restart: nothing new.
        assert_eq!(run(&h).await.emitted, 0, "[{bk}] a second run");
        let restarted = Portfolios::new(h.service.store.clone(), 13, h.clock.clone())
            .for_region(h.service.region.clone().unwrap());
        let again = restarted.run_deadlines_on(h.clock.today()).await.unwrap();
        assert_eq!((again.children, again.emitted), (1, 0), "[{bk}] restarted");
        let ev = events(&h, &child).await;
        assert_eq!(
            count(&ev, "health_examination_physical", "due", "2026-12-31"),
            1,
            "[{bk}] {ev:?}"
        );

        // The window's last day: still due; the day after: overdue.
        h.clock.set(at("2026-12-31"));
        run(&h).await;
        // (Only the health items here: the school and the care plan are
        // overdue by then too: the_rights_the_ombud_follows_up_….)
        let health = |w: &ListDeadlinesResponse| -> Vec<(String, String)> {
            items_of(w, &child)
                .into_iter()
                .filter(|(i, _)| i.starts_with("health_"))
                .collect()
        };
        let w = worklist(&h, office(), "", "overdue").await.unwrap();
        assert!(health(&w).is_empty(), "[{bk}]");
        h.clock.set(at("2027-01-01"));
        run(&h).await;
        let ev = events(&h, &child).await;
        let overdue = |ev: &[(String, String, String)]| {
            ev.iter()
                .filter(|(i, s, _)| i.starts_with("health_") && s == "overdue")
                .count()
        };
        assert_eq!(overdue(&ev), 3, "[{bk}] the three kinds overdue");
        let w = worklist(&h, office(), "", "overdue").await.unwrap();
        assert_eq!(health(&w).len(), 3, "[{bk}]");

        // Physical and psychological examined: met; oral still overdue.
        write_section(
            &h,
            &child,
            update_section_request::Section::Health(Health {
                examination: Some(HealthExamination {
                    examined_on: ymd("2027-01-01"),
                    physical: true,
                    psychological: true,
                    oral: false,
                    care_unit: "Barnhälsan".into(),
                }),
                ..Default::default()
            }),
        )
        .await;
        assert_eq!(run(&h).await.emitted, 2, "[{bk}] two met");
        let w = worklist(&h, office(), "", "").await.unwrap();
        let open = items_of(&w, &child);
        assert!(
            open.contains(&("health_examination_oral".into(), "overdue".into())),
            "[{bk}] {open:?}"
        );
        assert!(
            !open.iter().any(|(i, _)| i == "health_examination_physical"),
            "[{bk}] {open:?}"
        );
        let ev = events(&h, &child).await;
        assert_eq!(
            count(&ev, "health_examination_physical", "overdue", "2026-12-31"),
            1,
            "[{bk}]"
        );
        assert_eq!(
            count(&ev, "health_examination_physical", "met", "2026-12-31"),
            1,
            "[{bk}]"
        );
        assert_eq!(
            count(&ev, "health_examination_oral", "met", "2026-12-31"),
            0,
            "[{bk}]"
        );
        h.stop().await;
    }
}

#[tokio::test]
async fn the_six_monthly_review_is_due_overdue_and_moves_on_once_held() {
    for mut h in harnesses().await {
        let bk = h.backend;
        let (child, home, p1) = (new_id(), new_id(), new_id());
        register_child(&h, &child, "2012-03-04", false);
        h.publish(vec![created(&p1, &child, &home, "2026-06-01", false)])
            .await;
        run(&h).await;
        let w = worklist(&h, office(), "six_month_review", "")
            .await
            .unwrap();
        assert_eq!(
            items_of(&w, &child),
            vec![("six_month_review".into(), "due".into())],
            "[{bk}] due on the day"
        );
        h.clock.set(at("2026-12-02"));
        run(&h).await;
        let w = worklist(&h, office(), "six_month_review", "overdue")
            .await
            .unwrap();
        assert_eq!(
            items_of(&w, &child).len(),
            1,
            "[{bk}] overdue the day after"
        );

        // A review without its date is refused, naming the field.
        let mut cw = h.client(caseworker(STOCKHOLM)).await;
        let mut undated = document(DocumentKind::CareReview, "2026-12-02");
        undated.dated = None;
        let e = rpc!(
            cw,
            update_section,
            UpdateSectionRequest {
                request_id: new_id(),
                child_id: child.clone(),
                expected_version: 0,
                section: Some(update_section_request::Section::Documents(Documents {
                    documents: vec![undated],
                    ..Default::default()
                })),
            }
        )
        .unwrap_err();
        assert_eq!(e.code(), tonic::Code::InvalidArgument, "[{bk}]");
        assert_eq!(
            field_of(&e).as_deref(),
            Some("documents.documents[0].dated"),
            "[{bk}]"
        );

        // The review held on 2 December: the next is due on 2 June.
        write_section(
            &h,
            &child,
            update_section_request::Section::Documents(Documents {
                documents: vec![document(DocumentKind::CareReview, "2026-12-02")],
                ..Default::default()
            }),
        )
        .await;
        assert_eq!(run(&h).await.emitted, 1, "[{bk}]");
        let w = worklist(&h, office(), "six_month_review", "")
            .await
            .unwrap();
        assert!(items_of(&w, &child).is_empty(), "[{bk}]");
        let ev = events(&h, &child).await;
        assert_eq!(
            count(&ev, "six_month_review", "upcoming", "2027-06-02"),
            1,
            "[{bk}] {ev:?}"
        );
        assert_eq!(
            count(&ev, "six_month_review", "overdue", "2026-12-01"),
            1,
            "[{bk}] {ev:?}"
        );
        h.stop().await;
    }
}

#[tokio::test]
async fn custody_is_considered_after_two_years_in_the_same_home_and_a_move_starts_again() {
    for mut h in harnesses().await {
        let bk = h.backend;
        let (child, home_a, home_b, p1, p2) = (new_id(), new_id(), new_id(), new_id(), new_id());
        register_child(&h, &child, "2012-03-04", false);
        h.publish(vec![created(&p1, &child, &home_a, "2024-12-10", false)])
            .await;
        run(&h).await;
        let w = worklist(&h, office(), "custody_consideration", "")
            .await
            .unwrap();
        assert_eq!(
            items_of(&w, &child),
            vec![("custody_consideration".into(), "due".into())],
            "[{bk}] due within the lead of two years in home A"
        );
        assert_eq!(w.rows[0].items[0].due_on, ymd("2026-12-10"), "[{bk}]");

        // A move to home B: the two years start again.
        h.publish(vec![
            ended(&p1, &child, &home_a, "2026-12-01", false),
            created(&p2, &child, &home_b, "2026-12-01", false),
        ])
        .await;
        assert!(run(&h).await.emitted >= 1, "[{bk}]");
        let w = worklist(&h, office(), "custody_consideration", "")
            .await
            .unwrap();
        assert!(items_of(&w, &child).is_empty(), "[{bk}]");
        let ev = events(&h, &child).await;
        assert_eq!(
            count(&ev, "custody_consideration", "due", "2026-12-10"),
            1,
            "[{bk}] {ev:?}"
        );
        assert_eq!(
            count(&ev, "custody_consideration", "upcoming", "2028-12-01"),
            1,
            "[{bk}] {ev:?}"
        );

        // Two years later in home B, a consideration recorded meets it.
        h.clock.set(at("2028-12-02"));
        run(&h).await;
        let w = worklist(&h, office(), "custody_consideration", "overdue")
            .await
            .unwrap();
        assert_eq!(items_of(&w, &child).len(), 1, "[{bk}]");
        write_section(
            &h,
            &child,
            update_section_request::Section::Documents(Documents {
                documents: vec![document(DocumentKind::CustodyConsideration, "2028-12-02")],
                ..Default::default()
            }),
        )
        .await;
        run(&h).await;
        let ev = events(&h, &child).await;
        assert_eq!(
            count(&ev, "custody_consideration", "met", "2028-12-01"),
            1,
            "[{bk}] {ev:?}"
        );
        h.stop().await;
    }
}

#[tokio::test]
async fn care_ends_at_18_and_the_aftercare_worklist_lists_the_young_person_until_25() {
    for mut h in harnesses().await {
        let bk = h.backend;
        let (child, home, p1) = (new_id(), new_id(), new_id());
        // 18 on 1 December 2026 (today).
        register_child(&h, &child, "2008-12-01", false);
        h.publish(vec![created(&p1, &child, &home, "2020-01-01", false)])
            .await;
        run(&h).await;
        let w = worklist(&h, office(), "care_end", "").await.unwrap();
        assert_eq!(
            items_of(&w, &child),
            vec![("care_end".into(), "due".into())],
            "[{bk}]"
        );
        assert!(aftercare(&h).await.rows.is_empty(), "[{bk}] still in care");

        // Care ends on the 18th birthday: aftercare until 25.
        h.publish(vec![ended(&p1, &child, &home, "2026-12-01", false)])
            .await;
        run(&h).await;
        let a = aftercare(&h).await;
        assert_eq!(a.rows.len(), 1, "[{bk}]");
        let row = &a.rows[0];
        assert_eq!(row.child_id, child, "[{bk}]");
        assert_eq!(row.care_ended_on, ymd("2026-12-01"), "[{bk}]");
        assert_eq!(row.aftercare_until, ymd("2033-12-01"), "[{bk}]");
        assert_eq!(row.years_left, 7, "[{bk}]");
        assert_eq!(row.contact_status, "not_contacted", "[{bk}]");
        assert_eq!(row.placing_municipality_code, STOCKHOLM, "[{bk}]");
        let ev = events(&h, &child).await;
        assert_eq!(count(&ev, "care_end", "met", "2026-12-01"), 1, "[{bk}]");
        assert_eq!(count(&ev, "aftercare", "due", "2033-12-01"), 1, "[{bk}]");

        // Told about the support after care: informed.
        let mut cw = h.client(caseworker(STOCKHOLM)).await;
        rpc!(
            cw,
            record_information,
            RecordInformationRequest {
                request_id: new_id(),
                child_id: child.clone(),
                phase: InformationPhase::After as i32,
                topic: InformationTopic::AftercareSupport as i32,
                told_on: ymd("2026-12-01"),
                understanding: Understanding::Understood as i32,
                in_the_childs_words: String::new(),
                method: String::new(),
            }
        )
        .unwrap_or_else(|e| panic!("[{bk}] told: {e}"));
        assert_eq!(aftercare(&h).await.rows[0].contact_status, "informed");

        // The day before the 25th birthday: listed; on it: not.
        h.clock.set(at("2033-11-30"));
        let a = aftercare(&h).await;
        assert_eq!(a.rows.len(), 1, "[{bk}]");
        assert_eq!(a.rows[0].years_left, 0, "[{bk}]");
        h.clock.set(at("2033-12-01"));
        assert!(aftercare(&h).await.rows.is_empty(), "[{bk}] 25");
        assert_eq!(run(&h).await.emitted, 1, "[{bk}] aftercare met");
        let ev = events(&h, &child).await;
        assert_eq!(count(&ev, "aftercare", "met", "2033-12-01"), 1, "[{bk}]");
        h.stop().await;
    }
}

#[tokio::test]
async fn the_worklists_are_for_the_office_and_the_placing_municipality_only() {
    for mut h in harnesses().await {
        let bk = h.backend;
        let (child, home, p1) = (new_id(), new_id(), new_id());
        register_child(&h, &child, "2012-03-04", false);
        h.publish(vec![created(&p1, &child, &home, "2026-12-01", false)])
            .await;
        run(&h).await;

        // The placing municipality sees its child; another municipality none.
        let own = worklist(&h, caseworker(STOCKHOLM), "", "").await.unwrap();
        assert!(!items_of(&own, &child).is_empty(), "[{bk}]");
        let other = worklist(&h, caseworker(SOLNA), "", "").await.unwrap();
        assert!(other.rows.is_empty(), "[{bk}] another municipality");

        // Wrong role: refused; wrong region: refused.
        for who in [
            family_home(&home),
            child_ctx(&child),
            ombud(),
            guardian(&child),
            health_staff(&new_id()),
            analyst(),
        ] {
            let role = who.role;
            let e = worklist(&h, who, "", "").await.unwrap_err();
            assert_eq!(
                e.code(),
                tonic::Code::PermissionDenied,
                "[{bk}] {role:?} deadlines"
            );
        }
        let e = worklist(&h, office_in("norr"), "", "").await.unwrap_err();
        assert_eq!(e.code(), tonic::Code::PermissionDenied, "[{bk}] norr");
        for who in [caseworker(STOCKHOLM), family_home(&home), office_in("norr")] {
            let role = who.role;
            let mut c = h.client(who.clone()).await;
            let e = rpc!(
                c,
                list_aftercare,
                ListAftercareRequest {
                    today: None,
                    page: None
                }
            )
            .unwrap_err();
            assert_eq!(
                e.code(),
                tonic::Code::PermissionDenied,
                "[{bk}] {role:?} aftercare"
            );
            let e = rpc!(c, run_deadlines, RunDeadlinesRequest { today: None }).unwrap_err();
            assert_eq!(
                e.code(),
                tonic::Code::PermissionDenied,
                "[{bk}] {role:?} run"
            );
        }

        // Bad filters and a day after today name their field.
        for (item, state, field) in [
            ("bedtime", "", "item"),
            ("", "met", "state"),
            ("", "late", "state"),
        ] {
            let e = worklist(&h, office(), item, state).await.unwrap_err();
            assert_eq!(e.code(), tonic::Code::InvalidArgument, "[{bk}] {field}");
            assert_eq!(field_of(&e).as_deref(), Some(field), "[{bk}]");
        }
        let mut o = h.client(office()).await;
        let e = rpc!(
            o,
            run_deadlines,
            RunDeadlinesRequest {
                today: ymd("2026-12-02")
            }
        )
        .unwrap_err();
        assert_eq!(field_of(&e).as_deref(), Some("today"), "[{bk}]");
        // An earlier day is allowed (the CLI's --today).
        let w = rpc!(
            o,
            list_deadlines,
            ListDeadlinesRequest {
                today: ymd("2026-11-30"),
                ..Default::default()
            }
        )
        .unwrap();
        assert!(w.rows.is_empty(), "[{bk}] not placed yet on 30 November");
        h.stop().await;
    }
}

#[tokio::test]
async fn a_protected_child_is_redacted_in_the_worklists_and_the_pages_hold_together() {
    for mut h in harnesses().await {
        let bk = h.backend;
        let (child, home, p1) = (new_id(), new_id(), new_id());
        register_child(&h, &child, "2012-03-04", true);
        register_placement(&h, &p1, &child, &home, "2026-12-01");
        h.publish(vec![created(&p1, &child, &home, "2026-12-01", true)])
            .await;
        // Two more children, not protected.
        let mut others = Vec::new();
        for _ in 0..2 {
            let (c, hm, p) = (new_id(), new_id(), new_id());
            register_child(&h, &c, "2013-05-05", false);
            h.publish(vec![created(&p, &c, &hm, "2026-12-01", false)])
                .await;
            others.push((c, hm));
        }
        run(&h).await;
        let w = worklist(&h, office(), "", "").await.unwrap();
        assert_eq!(w.rows.len(), 3, "[{bk}]");
        for r in &w.rows {
            if r.child_id == child {
                assert!(r.redacted, "[{bk}]");
                assert_eq!(r.home_id, "", "[{bk}] the protected child's home");
                assert_eq!(r.placing_municipality_code, "", "[{bk}]");
            } else {
                assert!(!r.redacted, "[{bk}]");
                let home = &others.iter().find(|(c, _)| *c == r.child_id).unwrap().1;
                assert_eq!(&r.home_id, home, "[{bk}]");
            }
        }
        // Paged one by one: every child once, in order.
        let mut o = h.client(office()).await;
        let mut seen = Vec::new();
        let mut token = String::new();
        loop {
            let w = rpc!(
                o,
                list_deadlines,
                ListDeadlinesRequest {
                    page: Some(samling_proto::common::v1::PageRequest {
                        page_size: 1,
                        page_token: token,
                    }),
                    ..Default::default()
                }
            )
            .unwrap();
            assert!(w.rows.len() <= 1, "[{bk}]");
            seen.extend(w.rows.iter().map(|r| r.child_id.clone()));
            token = w.page.unwrap().next_page_token;
            if token.is_empty() {
                break;
            }
        }
        let mut all: Vec<String> = w.rows.iter().map(|r| r.child_id.clone()).collect();
        all.sort();
        assert_eq!(seen, all, "[{bk}]");
        // The run's events never name the home (`events` checks the keys).
        let ev = events(&h, &child).await;
        assert!(!ev.is_empty(), "[{bk}]");
        // The worklist read is on the child's access log.
        let mut cw = h.client(caseworker(STOCKHOLM)).await;
        let log = rpc!(
            cw,
            list_access_log,
            ListAccessLogRequest {
                child_id: child.clone(),
                page: None
            }
        )
        .unwrap();
        assert!(
            log.entries.iter().any(|e| e.section == "deadlines"
                && e.action == "read"
                && e.role == "regional_officer"),
            "[{bk}] {:?}",
            log.entries
        );
        h.stop().await;
    }
}

#[tokio::test]
async fn care_under_lvu_3_ends_at_21_from_the_placements_legal_basis() {
    for mut h in harnesses().await {
        let bk = h.backend;
        let (child, home, p1) = (new_id(), new_id(), new_id());
        // 18 today; placed under LVU 3 § (the young person's own behaviour).
        register_child(&h, &child, "2008-12-01", false);
        let mut e = created(&p1, &child, &home, "2020-01-01", false);
        e.payload["legal_basis"] = "LEGAL_BASIS_LVU_3".into();
        h.publish(vec![e]).await;
        run(&h).await;
        let w = worklist(&h, office(), "care_end", "").await.unwrap();
        assert!(items_of(&w, &child).is_empty(), "[{bk}] not due at 18");
        let ev = events(&h, &child).await;
        assert_eq!(
            count(&ev, "care_end", "upcoming", "2029-12-01"),
            1,
            "[{bk}] {ev:?}"
        );
        h.stop().await;
    }
}

#[tokio::test]
async fn the_rights_the_ombud_follows_up_dental_bup_school_and_the_plans_are_items_too() {
    for mut h in harnesses().await {
        let bk = h.backend;
        let (child, home, p1) = (new_id(), new_id(), new_id());
        register_child(&h, &child, "2012-03-04", false);
        h.publish(vec![created(&p1, &child, &home, "2026-12-01", false)])
            .await;
        run(&h).await;
        let all = |w: &ListDeadlinesResponse| -> Vec<(String, String, Option<Date>)> {
            w.rows
                .iter()
                .filter(|r| r.child_id == child)
                .flat_map(|r| {
                    r.items
                        .iter()
                        .map(|i| (i.item.clone(), i.state.clone(), i.due_on))
                })
                .collect()
        };
        let w = worklist(&h, office(), "", "").await.unwrap();
        let items = all(&w);
        for want in [
            ("care_plan", "due", "2026-12-15"),
            ("school_placement", "due", "2026-12-15"),
            ("implementation_plan", "due", "2026-12-31"),
        ] {
            assert!(
                items.contains(&(want.0.into(), want.1.into(), ymd(want.2))),
                "[{bk}] {want:?} in {items:?}"
            );
        }
        assert!(
            !items.iter().any(|(i, _, _)| i == "bup_referral"),
            "[{bk}] no referral, no item"
        );
        // The dental visit is not due yet (the worklist lists due and
        // overdue items): announced as upcoming.
        let ev = events(&h, &child).await;
        assert_eq!(
            count(&ev, "dental", "upcoming", "2027-03-01"),
            1,
            "[{bk}] {ev:?}"
        );

        // A care plan dated before care start, the school, a BUP referral.
        write_section(
            &h,
            &child,
            update_section_request::Section::Documents(Documents {
                documents: vec![document(DocumentKind::CarePlan, "2026-11-28")],
                ..Default::default()
            }),
        )
        .await;
        write_section(
            &h,
            &child,
            update_section_request::Section::School(School {
                school_unit_code: "12345678".into(),
                school_unit_name: "Centralskolan".into(),
                class_name: "8B".into(),
                ..Default::default()
            }),
        )
        .await;
        write_section(
            &h,
            &child,
            update_section_request::Section::Health(Health {
                referrals: vec![Referral {
                    kind: ReferralKind::Bup as i32,
                    referred_on: ymd("2026-12-01"),
                    ..Default::default()
                }],
                ..Default::default()
            }),
        )
        .await;
        run(&h).await;
        let w = worklist(&h, office(), "", "").await.unwrap();
        let items = all(&w);
        assert!(
            !items
                .iter()
                .any(|(i, _, _)| i == "care_plan" || i == "school_placement"),
            "[{bk}] met: {items:?}"
        );
        assert!(
            items.contains(&("bup_referral".into(), "due".into(), ymd("2026-12-31"))),
            "[{bk}] {items:?}"
        );

        // 1 January: the referral waited past 30 days, no implementation plan.
        h.clock.set(at("2027-01-01"));
        run(&h).await;
        let w = worklist(&h, office(), "", "overdue").await.unwrap();
        let overdue: Vec<String> = all(&w).into_iter().map(|(i, _, _)| i).collect();
        assert!(
            overdue.contains(&"bup_referral".to_string()),
            "[{bk}] {overdue:?}"
        );
        assert!(
            overdue.contains(&"implementation_plan".to_string()),
            "[{bk}] {overdue:?}"
        );
        // The first appointment on 2 January: met from that day.
        write_section(
            &h,
            &child,
            update_section_request::Section::Health(Health {
                referrals: vec![Referral {
                    kind: ReferralKind::Bup as i32,
                    referred_on: ymd("2026-12-01"),
                    first_appointment_on: ymd("2027-01-02"),
                    ..Default::default()
                }],
                ..Default::default()
            }),
        )
        .await;
        assert_eq!(run(&h).await.emitted, 0, "[{bk}] not yet on the 1st");
        h.clock.set(at("2027-01-02"));
        run(&h).await;
        let ev = events(&h, &child).await;
        for (state, n) in [("due", 1), ("overdue", 1), ("met", 1)] {
            assert_eq!(
                count(&ev, "bup_referral", state, "2026-12-31"),
                n,
                "[{bk}] {state}: {ev:?}"
            );
        }
        assert_eq!(count(&ev, "care_plan", "met", "2026-12-15"), 1, "[{bk}]");
        h.stop().await;
    }
}
