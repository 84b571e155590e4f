//! The done-when: a child placed in a home has a portfolio that the child,
//! the home and the caseworker see with the right sections; it moves with
//! the child to a new home in another municipality (the old home loses
//! access on the end date, the new one gains it on the start date); the
//! child reads who read what. Also for a protected child, whose registry
//! events do not link the child to the home.

use crate::common::*;
use samling_kit::auth::{AuthContext, Role};
use samling_kit::outbox::NewEvent;
use samling_proto::portfolio::v1::*;

fn health() -> Health {
    Health {
        examination: Some(HealthExamination {
            examined_on: date(2026, 11, 20),
            physical: true,
            psychological: true,
            oral: false,
            care_unit: "Barnhälsan Norrtälje".into(),
        }),
        referrals: vec![Referral {
            kind: ReferralKind::Bup as i32,
            referred_on: date(2026, 11, 1),
            ..Default::default()
        }],
        allergies: vec!["nötter".into()],
        ..Default::default()
    }
}

#[tokio::test]
async fn the_portfolio_follows_the_child_to_a_new_home_in_another_municipality() {
    for mut h in harnesses().await {
        let bk = h.backend;
        let (child, home_a, home_b, p1, p2) = (new_id(), new_id(), new_id(), new_id(), new_id());
        register_child(&h, &child, "2012-03-04", false);
        // Placed in home A (Norrtälje) on 1 November.
        assert_eq!(
            h.publish(vec![created(&p1, &child, &home_a, "2026-11-01", false)])
                .await,
            0
        );

        let mut kid = h.client(child_ctx(&child)).await;
        let mut a = h.client(family_home(&home_a)).await;
        let mut b = h.client(family_home(&home_b)).await;
        let mut cw = h.client(caseworker(STOCKHOLM)).await;
        let get = || GetPortfolioRequest {
            child_id: child.clone(),
        };

        // The caseworker names the health unit; the health unit writes health.
        let unit = new_id();
        rpc!(
            cw,
            set_relations,
            SetRelationsRequest {
                request_id: new_id(),
                child_id: child.clone(),
                relations: Some(Relations {
                    health_units: vec![unit.clone()],
                    ..Default::default()
                }),
            }
        )
        .unwrap_or_else(|e| panic!("[{bk}] relations: {e}"));
        let mut nurse = h.client(health_staff(&unit)).await;
        let after = rpc!(
            nurse,
            update_section,
            UpdateSectionRequest {
                request_id: new_id(),
                child_id: child.clone(),
                expected_version: 0,
                section: Some(update_section_request::Section::Health(health())),
            }
        )
        .unwrap_or_else(|e| panic!("[{bk}] health: {e}"));
        assert_eq!(
            after.health.as_ref().unwrap().referrals[0].waiting_days,
            30,
            "[{bk}] BUP wait"
        );
        assert!(
            after.school.is_none(),
            "[{bk}] the health unit does not read school"
        );

        // The child (14) writes about me; the home and the caseworker see it.
        rpc!(
            kid,
            update_section,
            UpdateSectionRequest {
                request_id: new_id(),
                child_id: child.clone(),
                expected_version: 0,
                section: Some(update_section_request::Section::AboutMe(AboutMe {
                    in_my_words: "Jag gillar att spela fotboll.".into(),
                    ..Default::default()
                })),
            }
        )
        .unwrap_or_else(|e| panic!("[{bk}] about me: {e}"));
        for (who, c) in [
            ("child", &mut kid),
            ("home A", &mut a),
            ("caseworker", &mut cw),
        ] {
            let p = rpc!(*c, get_portfolio, get()).unwrap_or_else(|e| panic!("[{bk}] {who}: {e}"));
            assert_eq!(
                p.about_me.as_ref().unwrap().in_my_words,
                "Jag gillar att spela fotboll.",
                "[{bk}] {who}"
            );
            assert_eq!(
                p.health.as_ref().unwrap().allergies,
                vec!["nötter"],
                "[{bk}] {who}"
            );
            assert!(
                p.hidden_sections.is_empty(),
                "[{bk}] {who} sees every section"
            );
            assert_eq!(p.current_home_id, home_a, "[{bk}] {who} knows the home");
        }
        let p = rpc!(a, get_portfolio, get()).unwrap();
        assert_eq!(
            p.writable_sections,
            vec![
                Section::Dental as i32,
                Section::Leisure as i32,
                Section::Contacts as i32
            ],
            "[{bk}] the home writes dental, leisure and contacts"
        );
        let e = rpc!(
            a,
            update_section,
            UpdateSectionRequest {
                request_id: new_id(),
                child_id: child.clone(),
                expected_version: 0,
                section: Some(update_section_request::Section::AboutMe(AboutMe::default())),
            }
        )
        .unwrap_err();
        assert_eq!(
            e.code(),
            tonic::Code::PermissionDenied,
            "[{bk}] the home never writes the child's words"
        );
        // Home B has no access yet.
        assert_eq!(
            rpc!(b, get_portfolio, get()).unwrap_err().code(),
            tonic::Code::NotFound,
            "[{bk}]"
        );

        // The move: A's placement ends 15 December, B's (Solna) starts the same day.
        h.publish(vec![ended(&p1, &child, &home_a, "2026-12-15", false)])
            .await;
        h.publish(vec![created(&p2, &child, &home_b, "2026-12-15", false)])
            .await;
        // Until the end date A still has access, B not yet.
        assert!(
            rpc!(a, get_portfolio, get()).is_ok(),
            "[{bk}] A until the end date"
        );
        assert_eq!(
            rpc!(b, get_portfolio, get()).unwrap_err().code(),
            tonic::Code::NotFound,
            "[{bk}] B before the start"
        );
        h.clock.set("2026-12-15T08:00:00Z".parse().unwrap());
        let e = rpc!(a, get_portfolio, get()).unwrap_err();
        assert_eq!(
            e.code(),
            tonic::Code::NotFound,
            "[{bk}] the old home lost access on the end date"
        );
        let e = rpc!(
            a,
            update_section,
            UpdateSectionRequest {
                request_id: new_id(),
                child_id: child.clone(),
                expected_version: 0,
                section: Some(update_section_request::Section::Leisure(Leisure::default())),
            }
        )
        .unwrap_err();
        assert_eq!(e.code(), tonic::Code::NotFound, "[{bk}] nor may it write");
        let p = rpc!(b, get_portfolio, get()).unwrap_or_else(|e| panic!("[{bk}] B: {e}"));
        assert_eq!(p.current_home_id, home_b, "[{bk}]");
        assert_eq!(
            p.health.as_ref().unwrap().allergies,
            vec!["nötter"],
            "[{bk}] the health section moved along"
        );
        // The caseworker of the municipality of B's home is not the placing one.
        let mut solna = h.client(caseworker(SOLNA)).await;
        assert_eq!(
            rpc!(solna, get_portfolio, get()).unwrap_err().code(),
            tonic::Code::NotFound,
            "[{bk}]"
        );

        // The child reads who read what and when.
        let page = Some(samling_proto::common::v1::PageRequest {
            page_size: 500,
            page_token: String::new(),
        });
        let log = rpc!(
            kid,
            list_access_log,
            ListAccessLogRequest {
                child_id: child.clone(),
                page
            }
        )
        .unwrap_or_else(|e| panic!("[{bk}] log: {e}"));
        let reads = |role: &str, party: &str, section: &str| {
            log.entries
                .iter()
                .filter(|e| {
                    e.role == role && e.party == party && e.section == section && e.action == "read"
                })
                .count()
        };
        assert!(
            reads("family_home", &home_a, "health") >= 2,
            "[{bk}] home A's reads of health: {:?}",
            log.entries
        );
        assert_eq!(
            reads("family_home", &home_b, "about_me"),
            1,
            "[{bk}] home B read about me once"
        );
        assert!(
            reads("municipality_caseworker", "", "health") >= 1,
            "[{bk}]"
        );
        assert!(
            log.entries
                .iter()
                .any(|e| e.role == "health_staff" && e.section == "health" && e.action == "write"),
            "[{bk}] the health unit's write"
        );
        assert!(
            log.entries
                .iter()
                .any(|e| e.section == "home_access" && e.action == "home_access_ended"),
            "[{bk}]"
        );
        assert!(log.entries.iter().all(|e| !e.at.is_empty()), "[{bk}]");
        assert_eq!(
            log.page.as_ref().unwrap().next_page_token,
            "",
            "[{bk}] one page"
        );
        // The home may not read the log.
        let mut b = h.client(family_home(&home_b)).await;
        let e = rpc!(
            b,
            list_access_log,
            ListAccessLogRequest {
                child_id: child.clone(),
                page: None
            }
        )
        .unwrap_err();
        assert_eq!(e.code(), tonic::Code::PermissionDenied, "[{bk}]");
        h.stop().await;
    }
}

#[tokio::test]
async fn a_protected_childs_portfolio_moves_too_and_nothing_links_it_to_the_home() {
    for mut h in harnesses().await {
        let bk = h.backend;
        let (child, home_a, home_b, p1, p2) = (new_id(), new_id(), new_id(), new_id(), new_id());
        register_child(&h, &child, "2010-01-01", true);
        register_placement(&h, &p1, &child, &home_a, "2026-11-01");
        register_placement(&h, &p2, &child, &home_b, "2026-12-10");
        h.publish(vec![created(&p1, &child, &home_a, "2026-11-01", true)])
            .await;
        let mut a = h.client(family_home(&home_a)).await;
        let get = || GetPortfolioRequest {
            child_id: child.clone(),
        };
        let p = rpc!(a, get_portfolio, get()).unwrap_or_else(|e| panic!("[{bk}] home: {e}"));
        assert!(p.protected_identity, "[{bk}]");
        assert_eq!(p.current_home_id, home_a, "[{bk}] the home knows itself");
        rpc!(
            a,
            update_section,
            UpdateSectionRequest {
                request_id: new_id(),
                child_id: child.clone(),
                expected_version: 0,
                section: Some(update_section_request::Section::Contacts(Contacts {
                    contacts: vec![
                        Contact {
                            name: "Familjehemmet".into(),
                            relation: "family_home".into(),
                            phone: "070-123 45 67".into(),
                            reveals_location: true
                        },
                        Contact {
                            name: "Barnrättsombudet".into(),
                            relation: "ombud".into(),
                            phone: "".into(),
                            reveals_location: false
                        },
                    ],
                    ..Default::default()
                })),
            }
        )
        .unwrap_or_else(|e| panic!("[{bk}] contacts: {e}"));
        // The guardian reads the portfolio, never where the child lives.
        let mut g = h.client(guardian(&child)).await;
        let p = rpc!(g, get_portfolio, get()).unwrap_or_else(|e| panic!("[{bk}] guardian: {e}"));
        assert_eq!(p.current_home_id, "", "[{bk}] no home for the guardian");
        assert!(p.location_redacted, "[{bk}]");
        let names: Vec<&str> = p
            .contacts
            .as_ref()
            .unwrap()
            .contacts
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(names, vec!["Barnrättsombudet"], "[{bk}]");
        assert!(
            !format!("{p:?}").contains(&home_a),
            "[{bk}] the home's id is nowhere in the guardian's answer"
        );

        // The move, by events without links: the registry is asked.
        h.publish(vec![ended(&p1, &child, &home_a, "2026-12-10", true)])
            .await;
        h.publish(vec![created(&p2, &child, &home_b, "2026-12-10", true)])
            .await;
        h.clock.set("2026-12-10T08:00:00Z".parse().unwrap());
        assert_eq!(
            rpc!(a, get_portfolio, get()).unwrap_err().code(),
            tonic::Code::NotFound,
            "[{bk}] old home"
        );
        let mut b = h.client(family_home(&home_b)).await;
        assert_eq!(
            rpc!(b, get_portfolio, get()).unwrap().current_home_id,
            home_b,
            "[{bk}] new home"
        );
        // The portfolio's own events never name the protected child's homes.
        let events = h.service.feed.read_after(0, 1000).await.unwrap();
        let mine: Vec<_> = events.iter().filter(|e| e.aggregate_id == child).collect();
        assert!(
            mine.iter()
                .any(|e| e.event_type == "portfolio.home_access_granted"),
            "[{bk}] {mine:?}"
        );
        for e in &mine {
            assert!(
                !e.payload_json.contains(&home_a) && !e.payload_json.contains(&home_b),
                "[{bk}] {e:?}"
            );
        }
        h.stop().await;
    }
}

/// The ombud service's assignment (its feed) gives that ombud the child's
/// portfolio; a reassignment moves it to the new ombud; an event delivered
/// again or a malformed one changes nothing; the child's log shows it.
#[tokio::test]
async fn the_ombud_the_ombud_service_assigns_reads_the_portfolio_and_a_reassignment_moves_it() {
    for mut h in harnesses().await {
        let bk = h.backend;
        let (child, home, placement) = (new_id(), new_id(), new_id());
        register_child(&h, &child, "2012-01-01", false);
        h.publish(vec![created(
            &placement,
            &child,
            &home,
            "2026-11-01",
            false,
        )])
        .await;
        let get = GetPortfolioRequest {
            child_id: child.clone(),
        };
        let ombud_a = AuthContext::new("ombud-a", Role::Ombud);
        let ombud_b = AuthContext::new("ombud-b", Role::Ombud);
        // The assigned ombud reads every section.
        let reads = |p: &Result<Portfolio, tonic::Status>| matches!(p, Ok(p) if p.hidden_sections.is_empty() && p.child_id == child);
        // Not assigned yet: told nothing.
        let mut a = h.client(ombud_a.clone()).await;
        let e = rpc!(a, get_portfolio, get.clone()).unwrap_err();
        assert_eq!(code_of(&e), tonic::Code::NotFound, "[{bk}] {e}");

        assert_eq!(
            h.publish_ombud(vec![ombud_assigned(&child, "ombud-a", &placement)])
                .await,
            0,
            "[{bk}] applied"
        );
        let p = rpc!(a, get_portfolio, get.clone());
        assert!(reads(&p), "[{bk}] the assigned ombud reads: {p:?}");
        let mut b = h.client(ombud_b.clone()).await;
        assert_eq!(
            code_of(&rpc!(b, get_portfolio, get.clone()).unwrap_err()),
            tonic::Code::NotFound,
            "[{bk}] another ombud"
        );

        // Reassigned to B: B reads, A is told nothing.
        h.publish_ombud(vec![ombud_assigned(&child, "ombud-b", &placement)])
            .await;
        assert!(
            reads(&rpc!(b, get_portfolio, get.clone())),
            "[{bk}] B reads"
        );
        assert_eq!(
            code_of(&rpc!(a, get_portfolio, get.clone()).unwrap_err()),
            tonic::Code::NotFound,
            "[{bk}] A no longer"
        );

        // A malformed assignment is dead-lettered and changes nothing.
        let bad = NewEvent::new(
            "ombud.child_assigned",
            "assignment",
            &child,
            serde_json::json!({"child_id": child, "ombud_subject": ""}),
        );
        assert_eq!(h.publish_ombud(vec![bad]).await, 1, "[{bk}] dead letter");
        assert!(
            reads(&rpc!(b, get_portfolio, get.clone())),
            "[{bk}] B still reads"
        );

        // The child's log names the grants.
        let mut kid = h.client(child_ctx(&child)).await;
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
        .unwrap();
        let grants = log
            .entries
            .iter()
            .filter(|e| e.action == "ombud_access_granted" && e.section == "ombud")
            .count();
        assert_eq!(grants, 2, "[{bk}] {:?}", log.entries);
        let reads_by_ombud = log.entries.iter().filter(|e| e.role == "ombud").count();
        assert!(reads_by_ombud >= 2, "[{bk}] the ombuds' reads are logged");
        h.stop().await;
    }
}
