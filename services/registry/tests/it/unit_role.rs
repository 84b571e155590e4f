//! HVB units report their own vacancies (issue 24 §8): the `unit_staff`
//! role acts for its own unit only; units carry target groups and contact
//! details and are searched by target group.

use crate::common;

use common::*;
use samling_kit::auth::{AuthContext, Role};
use samling_proto::registry::v1::*;
use tonic::Code;

/// The staff of unit `unit_id`.
fn unit_staff(unit_id: &str) -> AuthContext {
    AuthContext::new(format!("unit-user-{}", &unit_id[..8]), Role::UnitStaff).with_party(unit_id)
}

fn unit(name: &str, target_groups: &[&str]) -> CreateUnitRequest {
    CreateUnitRequest {
        name: name.into(),
        kind: UnitKind::Hvb as i32,
        municipality_code: "0180".into(),
        places: 8,
        permit: valid_permit(),
        target_groups: target_groups.iter().map(|t| t.to_string()).collect(),
        contact_phone: "08-123 456 70".into(),
        contact_email: "Intag@Solglantan.example".into(),
        ..Default::default()
    }
}

fn vacancies(unit_id: &str, n: i32, request_id: &str) -> UpdateVacanciesRequest {
    UpdateVacanciesRequest {
        request_id: request_id.into(),
        unit_id: unit_id.into(),
        vacancies: n,
    }
}

#[tokio::test]
async fn a_unit_reports_its_own_vacancies_and_is_refused_another_units() {
    for_each_backend(|h| async move {
        let mut office = h.office().await;
        let a = rpc!(
            office,
            create_unit,
            unit("HVB Solgläntan", &["Girls_13_17"])
        )
        .unwrap();
        let b = rpc!(office, create_unit, unit("HVB Björken", &["boys_13_17"])).unwrap();
        assert_eq!(a.target_groups, vec!["girls_13_17"]);
        assert_eq!(a.contact_phone, "08-123 456 70");
        assert_eq!(a.contact_email, "intag@solglantan.example");

        // The unit's own staff reports its vacancies.
        let mut staff_a = h.client(unit_staff(&a.id)).await;
        let u = rpc!(staff_a, update_vacancies, vacancies(&a.id, 3, "vac-1")).unwrap();
        assert_eq!((u.vacancies, u.version), (3, 2));
        // Its own retry gets the first answer.
        let again = rpc!(staff_a, update_vacancies, vacancies(&a.id, 3, "vac-1")).unwrap();
        assert_eq!((again.vacancies, again.version), (3, 2));
        // Bad input names the field.
        expect_invalid(
            rpc!(staff_a, update_vacancies, vacancies(&a.id, 9, "")),
            "vacancies",
        );

        // Another unit: refused, and nothing changes.
        let s = expect_code(
            rpc!(staff_a, update_vacancies, vacancies(&b.id, 5, "")),
            Code::PermissionDenied,
        );
        assert!(s.message().contains("own vacancies"), "{s:?}");
        // A retry of unit A's request under unit B's token is refused
        // before the stored answer is replayed.
        let mut staff_b = h.client(unit_staff(&b.id)).await;
        expect_code(
            rpc!(staff_b, update_vacancies, vacancies(&a.id, 3, "vac-1")),
            Code::PermissionDenied,
        );
        // A token naming no unit, and every other role, is refused too.
        let no_party = AuthContext::new("unit-user-x", Role::UnitStaff);
        for ctx in [
            no_party,
            caseworker("0180"),
            manager("0180"),
            ivo(),
            ombud(),
            analyst(),
            national_reviewer(),
            family_home(&a.id),
        ] {
            let role = ctx.role;
            let r = rpc!(
                h.client(ctx).await,
                update_vacancies,
                vacancies(&a.id, 1, "")
            );
            assert_eq!(
                r.as_ref().map_err(|s| s.code()).err(),
                Some(Code::PermissionDenied),
                "[{}] {role:?}: {r:?}",
                h.backend
            );
        }
        let b_now = rpc!(
            office,
            get_unit,
            GetUnitRequest {
                unit_id: b.id.clone()
            }
        )
        .unwrap();
        assert_eq!((b_now.vacancies, b_now.version), (0, 1));
        let a_now = rpc!(
            office,
            get_unit,
            GetUnitRequest {
                unit_id: a.id.clone()
            }
        )
        .unwrap();
        assert_eq!((a_now.vacancies, a_now.version), (3, 2));

        // The unit reads units (its own and others'), as other providers' readers do.
        let read = rpc!(
            staff_a,
            get_unit,
            GetUnitRequest {
                unit_id: a.id.clone()
            }
        )
        .unwrap();
        assert_eq!(read.vacancies, 3);

        // The change is an event naming the unit and the count only.
        let events = h.events().await;
        let changed: Vec<_> = events
            .iter()
            .filter(|e| e.event_type == "registry.unit_vacancies_changed")
            .collect();
        assert_eq!(changed.len(), 1, "the retry wrote nothing: {events:?}");
        assert!(changed[0].payload_json.contains(&a.id));
    })
    .await;
}

#[tokio::test]
async fn units_are_searched_by_target_group_with_their_contact_details() {
    for_each_backend(|h| async move {
        let mut office = h.office().await;
        let girls = rpc!(
            office,
            create_unit,
            unit("HVB Solgläntan", &["girls_13_17", "trauma"])
        )
        .unwrap();
        let boys = rpc!(office, create_unit, unit("HVB Björken", &["boys_13_17"])).unwrap();
        rpc!(office, update_vacancies, vacancies(&girls.id, 2, "")).unwrap();
        rpc!(office, update_vacancies, vacancies(&boys.id, 1, "")).unwrap();

        // A caseworker of any municipality searches.
        let mut cw = h.client(caseworker("1280")).await;
        let found = rpc!(
            cw,
            list_units,
            ListUnitsRequest {
                target_group: " GIRLS_13_17 ".into(),
                with_vacancy_only: true,
                ..Default::default()
            }
        )
        .unwrap();
        assert_eq!(
            found
                .units
                .iter()
                .map(|u| u.id.as_str())
                .collect::<Vec<_>>(),
            vec![girls.id.as_str()]
        );
        assert_eq!(found.units[0].contact_phone, "08-123 456 70");
        assert_eq!(found.units[0].target_groups, vec!["girls_13_17", "trauma"]);
        // Paged through the filter: one a page, each once.
        let mut seen = Vec::new();
        let mut token = String::new();
        loop {
            let page = rpc!(
                cw,
                list_units,
                ListUnitsRequest {
                    target_group: "boys_13_17".into(),
                    page: Some(samling_proto::common::v1::PageRequest {
                        page_size: 1,
                        page_token: token.clone(),
                    }),
                    ..Default::default()
                }
            )
            .unwrap();
            seen.extend(page.units.into_iter().map(|u| u.id));
            token = page.page.map(|p| p.next_page_token).unwrap_or_default();
            if token.is_empty() {
                break;
            }
        }
        assert_eq!(seen, vec![boys.id.clone()]);

        // Bad input names the field.
        for (req, field) in [
            (
                CreateUnitRequest {
                    contact_phone: "call us".into(),
                    ..unit("X", &[])
                },
                "contact_phone",
            ),
            (
                CreateUnitRequest {
                    contact_email: "intag at x".into(),
                    ..unit("X", &[])
                },
                "contact_email",
            ),
            (
                CreateUnitRequest {
                    contact_email: "a@b.se\u{202e}".into(),
                    ..unit("X", &[])
                },
                "contact_email",
            ),
        ] {
            expect_invalid(rpc!(office, create_unit, req), field);
        }
        expect_invalid(
            rpc!(
                cw,
                list_units,
                ListUnitsRequest {
                    target_group: "\u{0}".into(),
                    ..Default::default()
                }
            ),
            "target_group",
        );
    })
    .await;
}
