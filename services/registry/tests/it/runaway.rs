//! "Can search for a child who runs away" (issue 24 §8): socialjouren of any
//! municipality looks up where a child is placed now and whom to call; a
//! protected child's home or unit only to the office and the placing
//! municipality; every lookup audited with its reason.

use crate::common;

use common::*;
use samling_proto::common::v1::ListAuditRequest;
use samling_proto::registry::v1::*;
use tonic::Code;

fn locate(pnr: &str, reason: &str) -> LocateChildRequest {
    LocateChildRequest {
        personnummer: pnr.into(),
        reason: reason.into(),
    }
}

const REASON: &str = "ran away, found by the police at the station";

#[tokio::test]
async fn socialjouren_of_any_municipality_finds_where_a_runaway_child_is_placed() {
    for_each_backend(|h| async move {
        let home = h
            .approved_home(draft("Storgatan 1", &adult(1)), "0180", days_ago(60))
            .await;
        let pnr = child_pnr(14, 1);
        let child = h.register_child("0180", &pnr).await;
        let p = h
            .place(office(), &child.id, &home.id, days_ago(30))
            .await
            .unwrap()
            .placement
            .unwrap();
        let feed_before = h.events().await.len();

        // Socialjouren in Malmö, where the child turned up.
        let mut jour = h.client(caseworker("1280")).await;
        let found = rpc!(jour, locate_child, locate(&pnr, REASON)).unwrap();
        assert_eq!(found.children.len(), 1, "{found:?}");
        let w = &found.children[0];
        assert_eq!(w.child_id, child.id);
        assert_eq!(w.placing_municipality_code, "0180");
        assert!(w.placed && !w.location_withheld && !w.protected_identity);
        assert_eq!(
            (w.placement_id.as_str(), w.home_id.as_str()),
            (p.id.as_str(), home.id.as_str())
        );
        assert_eq!(w.receiving_municipality_code, "0180");
        assert_eq!(w.home_type, HomeType::FamilyHome as i32);
        assert_eq!(naive(&w.placed_since), days_ago(30));
        // The number is accepted in any written form (with or without century).
        let again = rpc!(jour, locate_child, locate(&canonical(&pnr), REASON)).unwrap();
        assert_eq!(again.children.len(), 1);

        // A number not registered here: nothing (the gateway asks every region).
        let none = rpc!(jour, locate_child, locate(&child_pnr(12, 2), REASON)).unwrap();
        assert!(none.children.is_empty());

        // Reason and number are required and checked, naming the field.
        expect_invalid(rpc!(jour, locate_child, locate(&pnr, "  ")), "reason");
        expect_invalid(rpc!(jour, locate_child, locate(&pnr, "a\u{7}b")), "reason");
        expect_invalid(
            rpc!(jour, locate_child, locate("not a number", REASON)),
            "personnummer",
        );

        // Roles that may not: refused before anything is looked up.
        for ctx in [
            ivo(),
            ombud(),
            analyst(),
            council_member(),
            national_reviewer(),
            family_home(&home.id),
            child_ctx(&child.id),
        ] {
            let role = ctx.role;
            expect_code(
                rpc!(h.client(ctx).await, locate_child, locate(&pnr, REASON)),
                Code::PermissionDenied,
            );
            let _ = role;
        }

        // Audited with the reason, per child and placement; no event.
        let audit = rpc!(
            h.office().await,
            list_audit,
            ListAuditRequest {
                record_id: child.id.clone(),
                page: None
            }
        )
        .unwrap();
        let lookups: Vec<_> = audit
            .entries
            .iter()
            .filter(|e| e.action == "locate_child")
            .collect();
        assert_eq!(lookups.len(), 2, "{audit:?}");
        assert!(
            lookups
                .iter()
                .all(|e| e.reason == REASON && e.municipality == "1280")
        );
        let audit = rpc!(
            h.office().await,
            list_audit,
            ListAuditRequest {
                record_id: p.id.clone(),
                page: None
            }
        )
        .unwrap();
        assert!(audit.entries.iter().any(|e| e.action == "locate_child"));
        assert_eq!(
            h.events().await.len(),
            feed_before,
            "a lookup writes no event"
        );

        // Ended: registered, not placed.
        rpc!(
            h.office().await,
            end_placement,
            EndPlacementRequest {
                placement_id: p.id.clone(),
                end_date: Some(date(today())),
                end_reason: EndReason::Planned as i32,
                ..Default::default()
            }
        )
        .unwrap();
        let ended = rpc!(jour, locate_child, locate(&pnr, REASON)).unwrap();
        assert!(!ended.children[0].placed && ended.children[0].home_id.is_empty());
    })
    .await;
}

#[tokio::test]
async fn a_protected_childs_unit_is_shown_only_to_the_office_and_the_placing_municipality() {
    for_each_backend(|h| async move {
        let mut office = h.office().await;
        let unit = rpc!(
            office,
            create_unit,
            CreateUnitRequest {
                name: "HVB Solgläntan".into(),
                kind: UnitKind::Hvb as i32,
                municipality_code: "0180".into(),
                places: 6,
                permit: valid_permit(),
                contact_phone: "08-555 000 11".into(),
                contact_email: "jour@solglantan.example".into(),
                ..Default::default()
            }
        )
        .unwrap();
        let pnr = child_pnr(15, 3);
        let child = h.register_child("0180", &pnr).await;
        rpc!(
            office,
            set_child_protection,
            SetChildProtectionRequest {
                child_id: child.id.clone(),
                protected_identity: true,
                ..Default::default()
            }
        )
        .unwrap();
        rpc!(
            office,
            create_placement,
            CreatePlacementRequest {
                child_id: child.id.clone(),
                unit_id: unit.id.clone(),
                legal_basis: LegalBasis::Lvu3 as i32,
                start_date: Some(date(days_ago(10))),
                ..Default::default()
            }
        )
        .unwrap();

        // Another municipality's socialjour: placed, but where is withheld —
        // call the placing municipality.
        let other = rpc!(
            h.client(caseworker("1280")).await,
            locate_child,
            locate(&pnr, REASON)
        )
        .unwrap();
        let w = &other.children[0];
        assert!(
            w.placed && w.protected_identity && w.location_withheld,
            "{w:?}"
        );
        assert_eq!(w.placing_municipality_code, "0180");
        assert!(w.unit_id.is_empty() && w.unit_name.is_empty() && w.unit_contact_phone.is_empty());
        assert!(w.home_id.is_empty() && w.receiving_municipality_code.is_empty());
        assert!(w.child_id.is_empty() && w.placement_id.is_empty(), "{w:?}");

        // The placing municipality and the office: the unit and whom to call there.
        for ctx in [caseworker("0180"), office_in(REGION)] {
            let r = rpc!(h.client(ctx).await, locate_child, locate(&pnr, REASON)).unwrap();
            let w = &r.children[0];
            assert!(!w.location_withheld, "{w:?}");
            assert_eq!(w.child_id, child.id);
            assert_eq!(
                (
                    w.unit_id.as_str(),
                    w.unit_name.as_str(),
                    w.unit_contact_phone.as_str()
                ),
                (unit.id.as_str(), "HVB Solgläntan", "08-555 000 11")
            );
            assert_eq!(w.unit_contact_email, "jour@solglantan.example");
            assert_eq!(w.receiving_municipality_code, "0180");
        }
    })
    .await;
}
