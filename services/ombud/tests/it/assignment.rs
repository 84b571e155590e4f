//! Roster and assignment: every placed child gets the ombud of the region
//! with the fewest active children (ties: registered first, then subject);
//! a child placed before any ombud waits; the consumer restarted assigns
//! nothing twice; a move keeps the ombud; a protected child's municipality
//! is asked of the registry.

use crate::common::*;
use samling_proto::ombud::v1::*;
use tonic::Code;

async fn events_of(h: &Harness, kind: &str) -> Vec<serde_json::Value> {
    h.service
        .feed
        .read_after(0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.event_type == kind)
        .map(|e| serde_json::from_str(&e.payload_json).unwrap())
        .collect()
}

#[tokio::test]
async fn a_placed_child_gets_the_least_loaded_ombud_and_ties_are_deterministic() {
    for mut h in harnesses().await {
        let bk = h.backend;
        h.register("ombud-b").await;
        h.clock.advance(chrono::Duration::minutes(1));
        h.register("ombud-a").await;
        let kids: Vec<String> = (0..4).map(|_| new_id()).collect();
        let p0 = h.place(&kids[0], &new_id()).await;
        h.place(&kids[1], &new_id()).await;
        h.place(&kids[2], &new_id()).await;
        // A tie goes to the ombud registered first (b), then the loads alternate.
        let who = |a: Assignment| (a.state, a.ombud_subject);
        let assigned = AssignmentState::Assigned as i32;
        assert_eq!(
            who(h.assignment(&kids[0]).await),
            (assigned, "ombud-b".into()),
            "[{bk}]"
        );
        assert_eq!(
            who(h.assignment(&kids[1]).await),
            (assigned, "ombud-a".into()),
            "[{bk}]"
        );
        assert_eq!(
            who(h.assignment(&kids[2]).await),
            (assigned, "ombud-b".into()),
            "[{bk}]"
        );
        // The first child's placement ends: b's workload drops to 1, a tie
        // again, which b (registered first) takes.
        assert_eq!(h.publish(vec![ended(&p0, &kids[0], "2026-11-30")]).await, 0);
        let a0 = h.assignment(&kids[0]).await;
        assert_eq!(a0.ombud_subject, "ombud-b", "[{bk}] the assignment stays");
        assert_eq!(a0.placement_ended_on, date(2026, 11, 30), "[{bk}]");
        h.place(&kids[3], &new_id()).await;
        assert_eq!(
            h.assignment(&kids[3]).await.ombud_subject,
            "ombud-b",
            "[{bk}]"
        );

        let mut office = h.client(office()).await;
        let list = rpc!(office, list_ombuds, ListOmbudsRequest { page: None }).unwrap();
        let loads: Vec<(String, i64)> = list
            .ombuds
            .into_iter()
            .map(|o| (o.subject, o.active_children))
            .collect();
        assert_eq!(
            loads,
            vec![("ombud-a".to_string(), 1), ("ombud-b".to_string(), 2)],
            "[{bk}]"
        );
        let mut b = h.client(ombud_as("ombud-b")).await;
        let mine = rpc!(b, list_my_children, ListMyChildrenRequest { page: None }).unwrap();
        let mut ids: Vec<String> = mine.children.into_iter().map(|a| a.child_id).collect();
        ids.sort();
        let mut want = vec![kids[0].clone(), kids[2].clone(), kids[3].clone()];
        want.sort();
        assert_eq!(
            ids, want,
            "[{bk}] b's children (the ended placement's child stays)"
        );
        let assigned = events_of(&h, "ombud.child_assigned").await;
        assert_eq!(assigned.len(), 4, "[{bk}]");
        assert!(
            assigned.iter().all(|e| e.get("home_id").is_none()),
            "[{bk}] no home in events"
        );
        h.stop().await;
    }
}

#[tokio::test]
async fn a_child_placed_before_any_ombud_waits_and_is_assigned_when_one_is_registered() {
    for mut h in harnesses().await {
        let bk = h.backend;
        let (c1, c2) = (new_id(), new_id());
        h.place(&c1, &new_id()).await;
        h.clock.advance(chrono::Duration::minutes(1));
        h.place(&c2, &new_id()).await;
        let a = h.assignment(&c1).await;
        assert_eq!(a.state, AssignmentState::Waiting as i32, "[{bk}]");
        assert!(a.ombud_subject.is_empty(), "[{bk}]");
        let mut office = h.client(office()).await;
        let waiting = rpc!(
            office,
            list_unassigned,
            ListUnassignedRequest { page: None }
        )
        .unwrap();
        assert_eq!(waiting.children.len(), 2, "[{bk}]");
        assert_eq!(
            events_of(&h, "ombud.child_waiting").await.len(),
            2,
            "[{bk}]"
        );

        let o = h.register("ombud-x").await;
        assert_eq!(
            o.active_children, 2,
            "[{bk}] both waiting children are assigned"
        );
        for c in [&c1, &c2] {
            let a = h.assignment(c).await;
            assert_eq!(a.state, AssignmentState::Assigned as i32, "[{bk}]");
            assert_eq!(a.ombud_subject, "ombud-x", "[{bk}]");
            assert_eq!(
                a.assigned_at, "2026-12-01T09:01:00.000000Z",
                "[{bk}] assigned at the registration"
            );
        }
        let waiting = rpc!(
            office,
            list_unassigned,
            ListUnassignedRequest { page: None }
        )
        .unwrap();
        assert!(waiting.children.is_empty(), "[{bk}]");
        // Registering again answers the ombud as it stands, assigning nothing more.
        let again = h.register("ombud-x").await;
        assert_eq!(again.subject, "ombud-x", "[{bk}]");
        assert_eq!(
            events_of(&h, "ombud.ombud_registered").await.len(),
            1,
            "[{bk}]"
        );
        assert_eq!(
            events_of(&h, "ombud.child_assigned").await.len(),
            2,
            "[{bk}]"
        );
        h.stop().await;
    }
}

#[tokio::test]
async fn the_consumer_restarted_and_an_event_delivered_again_assign_nothing_twice() {
    for mut h in harnesses().await {
        let bk = h.backend;
        h.register("ombud-a").await;
        let c1 = new_id();
        let home = new_id();
        let p1 = new_id();
        assert_eq!(h.publish(vec![created(&p1, &c1, &home, false)]).await, 0);
        let before = h.assignment(&c1).await;
        assert_eq!(before.ombud_subject, "ombud-a", "[{bk}]");

        // A restart resumes after the stored cursor; b arrives meanwhile.
        h.restart_consumer().await;
        h.clock.advance(chrono::Duration::hours(1));
        h.register("ombud-b").await;
        // The same placement delivered again (at-least-once): no change.
        assert_eq!(h.publish(vec![created(&p1, &c1, &home, false)]).await, 0);
        assert_eq!(h.assignment(&c1).await, before, "[{bk}] not re-assigned");
        // A new child goes to b (a has one already).
        let c2 = new_id();
        h.place(&c2, &new_id()).await;
        assert_eq!(h.assignment(&c2).await.ombud_subject, "ombud-b", "[{bk}]");
        assert_eq!(
            events_of(&h, "ombud.child_assigned").await.len(),
            2,
            "[{bk}]"
        );
        h.stop().await;
    }
}

#[tokio::test]
async fn a_move_keeps_the_ombud_and_a_protected_childs_municipality_is_asked_of_the_registry() {
    for mut h in harnesses().await {
        let bk = h.backend;
        h.register("ombud-a").await;
        let (child, home, p1) = (new_id(), new_id(), new_id());
        h.registry.placements.lock().unwrap().insert(
            p1.clone(),
            samling_ombud::service::PlacementFacts {
                child_id: child.clone(),
                home_id: home.clone(),
                placing_municipality_code: STOCKHOLM.into(),
            },
        );
        assert_eq!(h.publish(vec![created(&p1, &child, "", true)]).await, 0);
        let a = h.assignment(&child).await;
        assert_eq!(
            a.placing_municipality_code, STOCKHOLM,
            "[{bk}] asked of the registry"
        );
        assert_eq!(a.home_id, home, "[{bk}]");
        // b is registered with no children: the moved child keeps a.
        h.register("ombud-b").await;
        let p2 = new_id();
        assert_eq!(
            h.publish(vec![created(&p2, &child, &new_id(), false)])
                .await,
            0
        );
        let a = h.assignment(&child).await;
        assert_eq!(
            (a.ombud_subject.as_str(), a.placement_id.as_str()),
            ("ombud-a", p2.as_str()),
            "[{bk}]"
        );
        h.stop().await;
    }
}

#[tokio::test]
async fn a_childs_ombud_is_told_to_the_child_its_ombud_and_placing_municipality_only() {
    for mut h in harnesses().await {
        let bk = h.backend;
        h.register("ombud-a").await;
        h.register("ombud-b").await;
        let (child, other, home) = (new_id(), new_id(), new_id());
        h.place(&child, &home).await;
        h.place(&other, &new_id()).await;
        let get = || GetAssignmentRequest {
            child_id: child.clone(),
        };
        let ok = [
            child_ctx(&child),
            ombud_as("ombud-a"),
            caseworker(STOCKHOLM),
            manager(STOCKHOLM),
            office(),
        ];
        for ctx in ok {
            let role = ctx.role;
            let mut c = h.client(ctx).await;
            let a =
                rpc!(c, get_assignment, get()).unwrap_or_else(|e| panic!("[{bk}] {role:?}: {e}"));
            assert_eq!(
                a.ombud_subject, "ombud-a",
                "[{bk}] {role:?}: contact my ombud"
            );
            assert_eq!(
                a.home_id.is_empty(),
                role != samling_kit::auth::Role::RegionalOfficer,
                "[{bk}] {role:?}: the home is the office's only"
            );
        }
        let hidden = [child_ctx(&other), ombud_as("ombud-b"), caseworker(SOLNA)];
        for ctx in hidden {
            let role = ctx.role;
            let mut c = h.client(ctx).await;
            let e = rpc!(c, get_assignment, get()).unwrap_err();
            assert_eq!(e.code(), Code::NotFound, "[{bk}] {role:?}");
        }
        let refused = [
            family_home(&home),
            analyst(),
            council_member(),
            ivo(),
            national_reviewer(),
        ];
        for ctx in refused {
            let role = ctx.role;
            let mut c = h.client(ctx).await;
            let e = rpc!(c, get_assignment, get()).unwrap_err();
            assert_eq!(e.code(), Code::PermissionDenied, "[{bk}] {role:?}");
        }
        // The office's own calls are the office's.
        let mut cw = h.client(caseworker(STOCKHOLM)).await;
        let e = rpc!(
            cw,
            register_ombud,
            RegisterOmbudRequest {
                request_id: new_id(),
                subject: "me".into()
            }
        )
        .unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied, "[{bk}]");
        let mut o = h.client(ombud_as("ombud-a")).await;
        let e = rpc!(o, list_unassigned, ListUnassignedRequest { page: None }).unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied, "[{bk}]");
        let mut off = h.client(office()).await;
        let e = rpc!(
            off,
            register_ombud,
            RegisterOmbudRequest {
                request_id: new_id(),
                subject: "199001011234".into()
            }
        )
        .unwrap_err();
        assert_eq!(
            (e.code(), field_of(&e).as_deref()),
            (Code::InvalidArgument, Some("subject")),
            "[{bk}]"
        );
        let e = rpc!(
            off,
            get_assignment,
            GetAssignmentRequest {
                child_id: "nope".into()
            }
        )
        .unwrap_err();
        assert_eq!(
            (e.code(), field_of(&e).as_deref()),
            (Code::InvalidArgument, Some("child_id")),
            "[{bk}]"
        );
        let mut other_region = h.client(office_in("vast")).await;
        let e = rpc!(other_region, list_ombuds, ListOmbudsRequest { page: None }).unwrap_err();
        assert_eq!(
            e.code(),
            Code::PermissionDenied,
            "[{bk}] another region's office"
        );
        h.stop().await;
    }
}
