//! Access by section and role, and the attacks: another home, another
//! municipality, a guardian asking for a sealed section, a child under the
//! own-view age, an ombud not assigned, a unit writing another section, the
//! aggregate roles and the public caller, a replay under another token.

use crate::common::*;
use samling_kit::auth::{AuthContext, PUBLIC_SUBJECT, Role};
use samling_proto::portfolio::v1::*;

/// A child placed by Stockholm in `home` since 1 November.
async fn placed(h: &mut Harness, birth: &str) -> (String, String) {
    let (child, home, p) = (new_id(), new_id(), new_id());
    register_child(h, &child, birth, false);
    assert_eq!(
        h.publish(vec![created(&p, &child, &home, "2026-11-01", false)])
            .await,
        0
    );
    (child, home)
}

fn school() -> School {
    School {
        school_unit_code: "12345678".into(),
        school_unit_name: "Byskolan".into(),
        class_name: "7B".into(),
        has_support_plan: true,
        support_plan: "Extra stöd i matematik".into(),
        absence_per_mille: 50,
        ..Default::default()
    }
}

fn update(child: &str, s: update_section_request::Section) -> UpdateSectionRequest {
    UpdateSectionRequest {
        request_id: new_id(),
        child_id: child.to_string(),
        expected_version: 0,
        section: Some(s),
    }
}

#[tokio::test]
async fn each_role_sees_and_writes_exactly_its_sections() {
    for mut h in harnesses().await {
        let bk = h.backend;
        let (child, home) = placed(&mut h, "2012-01-01").await;
        let (hu, su) = (new_id(), new_id());
        let mut cw = h.client(caseworker(STOCKHOLM)).await;
        rpc!(
            cw,
            set_relations,
            SetRelationsRequest {
                request_id: new_id(),
                child_id: child.clone(),
                relations: Some(Relations {
                    ombud_subjects: vec!["ombud-1".into()],
                    health_units: vec![hu.clone()],
                    school_units: vec![su.clone()],
                    sealed_sections: vec![Section::Health as i32, Section::Documents as i32],
                    own_view_age: 0,
                }),
            }
        )
        .unwrap_or_else(|e| panic!("[{bk}] relations: {e}"));
        let mut teacher = h.client(school_staff(&su)).await;
        rpc!(
            teacher,
            update_section,
            update(&child, update_section_request::Section::School(school()))
        )
        .unwrap_or_else(|e| panic!("[{bk}] school: {e}"));
        let get = GetPortfolioRequest {
            child_id: child.clone(),
        };
        let hidden = |p: &Portfolio| -> Vec<i32> { p.hidden_sections.clone() };
        use Section as S;
        let all_but = |xs: &[S]| -> Vec<i32> {
            [
                S::AboutMe,
                S::Health,
                S::Dental,
                S::School,
                S::Leisure,
                S::Documents,
                S::Contacts,
            ]
            .into_iter()
            .filter(|s| !xs.contains(s))
            .map(|s| s as i32)
            .collect()
        };
        let cases: Vec<(&str, AuthContext, Vec<i32>)> = vec![
            ("child", child_ctx(&child), vec![]),
            ("home", family_home(&home), vec![]),
            ("caseworker", caseworker(STOCKHOLM), vec![]),
            ("manager", manager(STOCKHOLM), vec![]),
            ("office", office(), vec![]),
            ("ombud", ombud(), vec![]),
            (
                "guardian",
                guardian(&child),
                vec![S::Health as i32, S::Documents as i32],
            ),
            (
                "health",
                health_staff(&hu),
                all_but(&[S::Health, S::Dental]),
            ),
            ("school", school_staff(&su), all_but(&[S::School])),
        ];
        for (who, ctx, want_hidden) in cases {
            let mut c = h.client(ctx).await;
            let p =
                rpc!(c, get_portfolio, get.clone()).unwrap_or_else(|e| panic!("[{bk}] {who}: {e}"));
            assert_eq!(hidden(&p), want_hidden, "[{bk}] {who}'s hidden sections");
            if want_hidden.contains(&(S::Health as i32)) {
                assert!(p.health.is_none(), "[{bk}] {who}");
            }
            if !want_hidden.contains(&(S::School as i32)) {
                assert_eq!(p.school.as_ref().unwrap().class_name, "7B", "[{bk}] {who}");
            }
            let sees_relations = matches!(who, "caseworker" | "manager" | "office");
            assert_eq!(
                p.relations.is_some(),
                sees_relations,
                "[{bk}] {who}: who works with the child"
            );
        }
        // A guardian asking to write, or a unit writing another section.
        let mut g = h.client(guardian(&child)).await;
        let e = rpc!(
            g,
            update_section,
            update(
                &child,
                update_section_request::Section::Leisure(Leisure::default())
            )
        )
        .unwrap_err();
        assert_eq!(
            e.code(),
            tonic::Code::PermissionDenied,
            "[{bk}] guardian writes"
        );
        let e = rpc!(
            teacher,
            update_section,
            update(
                &child,
                update_section_request::Section::Health(Health::default())
            )
        )
        .unwrap_err();
        assert_eq!(
            e.code(),
            tonic::Code::PermissionDenied,
            "[{bk}] school writes health"
        );
        assert_eq!(reason_of(&e).as_deref(), Some("FORBIDDEN_ROLE"), "[{bk}]");
        let mut nurse = h.client(health_staff(&hu)).await;
        let e = rpc!(
            nurse,
            update_section,
            update(&child, update_section_request::Section::School(school()))
        )
        .unwrap_err();
        assert_eq!(
            e.code(),
            tonic::Code::PermissionDenied,
            "[{bk}] health writes school"
        );
        // Only the office and the placing caseworker set relations.
        let mut home_c = h.client(family_home(&home)).await;
        let e = rpc!(
            home_c,
            set_relations,
            SetRelationsRequest {
                request_id: new_id(),
                child_id: child.clone(),
                relations: Some(Relations::default()),
            }
        )
        .unwrap_err();
        assert_eq!(
            e.code(),
            tonic::Code::PermissionDenied,
            "[{bk}] the home sets relations"
        );
        h.stop().await;
    }
}

#[tokio::test]
async fn strangers_are_told_nothing_and_the_wrong_roles_are_refused() {
    for mut h in harnesses().await {
        let bk = h.backend;
        let (child, _home) = placed(&mut h, "2012-01-01").await;
        let get = GetPortfolioRequest {
            child_id: child.clone(),
        };
        let not_found: Vec<(&str, AuthContext)> = vec![
            ("another home", family_home(&new_id())),
            ("another municipality", caseworker(SOLNA)),
            ("another child", child_ctx(&new_id())),
            (
                "an ombud not assigned",
                AuthContext::new("ombud-9", Role::Ombud),
            ),
            ("a health unit not named", health_staff(&new_id())),
            ("a school unit not named", school_staff(&new_id())),
            ("another child's guardian", guardian(&new_id())),
        ];
        for (who, ctx) in not_found {
            let mut c = h.client(ctx).await;
            let e = rpc!(c, get_portfolio, get.clone()).unwrap_err();
            assert_eq!(e.code(), tonic::Code::NotFound, "[{bk}] {who}: {e}");
            let e = rpc!(
                c,
                list_access_log,
                ListAccessLogRequest {
                    child_id: child.clone(),
                    page: None
                }
            )
            .unwrap_err();
            assert_eq!(e.code(), tonic::Code::NotFound, "[{bk}] {who}'s log: {e}");
        }
        let refused: Vec<(&str, AuthContext)> = vec![
            ("analyst", analyst()),
            ("council", council_member()),
            ("public", AuthContext::new(PUBLIC_SUBJECT, Role::Service)),
            ("officer of another region", office_in("norr")),
        ];
        for (who, ctx) in refused {
            let mut c = h.client(ctx).await;
            let e = rpc!(c, get_portfolio, get.clone()).unwrap_err();
            assert_eq!(e.code(), tonic::Code::PermissionDenied, "[{bk}] {who}: {e}");
        }
        // Another municipality may not open a portfolio for Stockholm.
        let mut solna = h.client(caseworker(SOLNA)).await;
        let e = rpc!(
            solna,
            open_portfolio,
            OpenPortfolioRequest {
                request_id: new_id(),
                child_id: new_id(),
                placing_municipality_code: STOCKHOLM.into(),
                birth_date: date(2015, 1, 1),
                protected_identity: false,
            }
        )
        .unwrap_err();
        assert_eq!(
            reason_of(&e).as_deref(),
            Some("NOT_OWN_MUNICIPALITY"),
            "[{bk}] {e}"
        );
        h.stop().await;
    }
}

#[tokio::test]
async fn a_child_under_the_own_view_age_is_refused_until_the_caseworker_lowers_it() {
    for mut h in harnesses().await {
        let bk = h.backend;
        // 11 years old on 1 December 2026.
        let (child, _) = placed(&mut h, "2015-06-01").await;
        let mut kid = h.client(child_ctx(&child)).await;
        let get = GetPortfolioRequest {
            child_id: child.clone(),
        };
        let e = rpc!(kid, get_portfolio, get.clone()).unwrap_err();
        assert_eq!(e.code(), tonic::Code::PermissionDenied, "[{bk}] {e}");
        assert!(e.message().contains("13"), "[{bk}] says the age: {e}");
        let e = rpc!(
            kid,
            list_access_log,
            ListAccessLogRequest {
                child_id: child.clone(),
                page: None
            }
        )
        .unwrap_err();
        assert_eq!(
            e.code(),
            tonic::Code::PermissionDenied,
            "[{bk}] the log too"
        );
        let mut cw = h.client(caseworker(STOCKHOLM)).await;
        let e = rpc!(
            cw,
            set_relations,
            SetRelationsRequest {
                request_id: new_id(),
                child_id: child.clone(),
                relations: Some(Relations {
                    own_view_age: 3,
                    ..Default::default()
                }),
            }
        )
        .unwrap_err();
        assert_eq!(
            field_of(&e).as_deref(),
            Some("relations.own_view_age"),
            "[{bk}]"
        );
        rpc!(
            cw,
            set_relations,
            SetRelationsRequest {
                request_id: new_id(),
                child_id: child.clone(),
                relations: Some(Relations {
                    own_view_age: 11,
                    ..Default::default()
                }),
            }
        )
        .unwrap();
        assert!(
            rpc!(kid, get_portfolio, get).is_ok(),
            "[{bk}] from 11 on this portfolio"
        );
        h.stop().await;
    }
}

#[tokio::test]
async fn a_replay_under_another_token_is_checked_as_that_caller() {
    for mut h in harnesses().await {
        let bk = h.backend;
        let (child, home) = placed(&mut h, "2012-01-01").await;
        let mut a = h.client(family_home(&home)).await;
        let req = update(
            &child,
            update_section_request::Section::Leisure(Leisure {
                plan: "Fotboll två kvällar i veckan".into(),
                activities: vec![LeisureActivity {
                    name: "Fotboll".into(),
                    yearly_cost_ore: 150_000,
                }],
                yearly_budget_ore: 300_000,
                ..Default::default()
            }),
        );
        let first = rpc!(a, update_section, req.clone()).unwrap_or_else(|e| panic!("[{bk}] {e}"));
        let again = rpc!(a, update_section, req.clone()).unwrap();
        assert_eq!(
            first.version, again.version,
            "[{bk}] a retry answers the first answer"
        );
        assert_eq!(
            again.leisure.as_ref().unwrap().version,
            1,
            "[{bk}] written once"
        );
        // Another home sending the same request id: refused, not replayed.
        let mut other = h.client(family_home(&new_id())).await;
        let e = rpc!(other, update_section, req.clone()).unwrap_err();
        assert_eq!(e.code(), tonic::Code::NotFound, "[{bk}] {e}");
        // A guardian with the same request: refused.
        let mut g = h.client(guardian(&child)).await;
        let e = rpc!(g, update_section, req).unwrap_err();
        assert_eq!(e.code(), tonic::Code::PermissionDenied, "[{bk}] {e}");
        h.stop().await;
    }
}
