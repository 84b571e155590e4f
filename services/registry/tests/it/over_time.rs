//! Placements over time (ADR 0030, issue 24 §6): the settling-in from an
//! emergency home, long jourhem stays, the custody-transfer consideration,
//! siblings, the network alternative, the closing conversation and the
//! year's statistics; with the attacker's side of each.

use crate::common;

use common::*;
use samling_proto::registry::v1::*;
use tonic::Code;

fn typed(street: &str, pnr: &str, t: HomeType) -> HomeDraft {
    HomeDraft {
        home_type: t as i32,
        willingness: vec![Willingness::Emergency as i32, Willingness::LongTerm as i32],
        ..draft(street, pnr)
    }
}

async fn jourhem(h: &Harness, street: &str, serial: u16) -> Home {
    h.approved_home(
        typed(street, &adult(serial), HomeType::EmergencyHome),
        "0180",
        days_ago(400),
    )
    .await
}

async fn family(h: &Harness, street: &str, serial: u16) -> Home {
    h.approved_home(
        typed(street, &adult(serial), HomeType::FamilyHome),
        "0180",
        days_ago(400),
    )
    .await
}

fn transition(from: &str) -> (String, Option<Transition>) {
    (
        from.to_string(),
        Some(Transition {
            plan: "visits, then weekends, then the move".into(),
            information_to_home: "needs, school, religious belonging".into(),
            ..Default::default()
        }),
    )
}

async fn child_of(h: &Harness, id: &str) -> Child {
    rpc!(
        h.office().await,
        get_child,
        GetChildRequest {
            child_id: id.into()
        }
    )
    .unwrap()
}

async fn placement_as(h: &Harness, ctx: samling_kit::auth::AuthContext, id: &str) -> Placement {
    rpc!(
        h.client(ctx).await,
        get_placement,
        GetPlacementRequest {
            placement_id: id.into()
        }
    )
    .unwrap()
}

async fn place_req(
    h: &Harness,
    ctx: samling_kit::auth::AuthContext,
    req: CreatePlacementRequest,
) -> Result<CreatePlacementResponse, tonic::Status> {
    rpc!(h.client(ctx).await, create_placement, req)
}

async fn end(
    h: &Harness,
    ctx: samling_kit::auth::AuthContext,
    id: &str,
    on: chrono::NaiveDate,
    why: &str,
) -> Result<Placement, tonic::Status> {
    rpc!(
        h.client(ctx).await,
        end_placement,
        EndPlacementRequest {
            placement_id: id.into(),
            end_date: Some(date(on)),
            end_reason: EndReason::MovedToOtherPlacement as i32,
            short_settling_in_reason: why.into(),
            ..Default::default()
        }
    )
}

#[tokio::test]
async fn a_child_settles_in_from_jourhem_to_a_family_home_with_an_overlap() {
    for_each_backend(|h| async move {
        let jour = jourhem(&h, "Jourvägen 1", 501).await;
        let fam = family(&h, "Familjevägen 2", 502).await;
        let other = family(&h, "Familjevägen 3", 503).await;
        // The jourhem says it can take a child now.
        rpc!(
            h.client(family_home(&jour.id)).await,
            set_jour_availability,
            SetJourAvailabilityRequest {
                home_id: jour.id.clone(),
                available: true,
                ..Default::default()
            }
        )
        .unwrap();
        assert!(h.get_home(&jour.id).await.jour_available);
        let kid = h.register_child("0180", &child_pnr(7, 511)).await;
        let first = h
            .place(caseworker("0180"), &kid.id, &jour.id, days_ago(60))
            .await
            .unwrap();
        // §8: the jour flag cleared itself when the emergency placement started.
        assert!(
            first
                .notices
                .contains(&"jour_availability_cleared".to_string()),
            "{:?}",
            first.notices
        );
        assert!(!h.get_home(&jour.id).await.jour_available);
        let jp = first.placement.unwrap();
        assert_eq!(jp.home_type, HomeType::EmergencyHome as i32);

        // One active placement per child, unless it is a settling-in.
        expect_code(
            h.place(caseworker("0180"), &kid.id, &fam.id, days_ago(20))
                .await,
            Code::FailedPrecondition,
        );
        let mut req = placement(&kid.id, &fam.id, days_ago(20));
        req.transition_from_placement_id = jp.id.clone();
        expect_invalid(
            place_req(&h, caseworker("0180"), req.clone()).await,
            "transition",
        );
        (req.transition_from_placement_id, req.transition) = transition(&jp.id);
        // Another municipality cannot make the move (the child is not theirs).
        expect_code(
            place_req(&h, caseworker("1480"), req.clone()).await,
            Code::NotFound,
        );
        let mut before = req.clone();
        before.start_date = Some(date(days_ago(61)));
        expect_invalid(
            place_req(&h, caseworker("0180"), before).await,
            "start_date",
        );
        let moved = place_req(&h, caseworker("0180"), req.clone())
            .await
            .unwrap()
            .placement
            .unwrap();
        assert_eq!(moved.transition_from_placement_id, jp.id);
        assert_eq!(
            moved.transition.as_ref().unwrap().information_to_home,
            "needs, school, religious belonging"
        );
        let child = child_of(&h, &kid.id).await;
        assert_eq!(child.active_placement_id, moved.id);
        let both = rpc!(
            h.client(caseworker("0180")).await,
            list_placements,
            ListPlacementsRequest {
                child_id: kid.id.clone(),
                active_only: true,
                ..Default::default()
            }
        )
        .unwrap();
        assert_eq!(both.placements.len(), 2, "the overlap: both active");
        // No third placement, and no second settling-in from the new home.
        let mut third = placement(&kid.id, &other.id, days_ago(5));
        (third.transition_from_placement_id, third.transition) = transition(&moved.id);
        expect_code(
            place_req(&h, caseworker("0180"), third).await,
            Code::FailedPrecondition,
        );
        // Ending the jourhem placement after 10 days' overlap: hasty, say why.
        expect_invalid(
            end(&h, caseworker("0180"), &jp.id, days_ago(10), "").await,
            "short_settling_in_reason",
        );
        end(&h, caseworker("0180"), &jp.id, days_ago(5), "")
            .await
            .unwrap();
        let moved = placement_as(&h, office(), &moved.id).await;
        assert_eq!(moved.transition.unwrap().settling_in_days, 15);
        let child = child_of(&h, &kid.id).await;
        assert_eq!(child.active_placement_id, moved.id);
        let created: Vec<_> = h
            .events()
            .await
            .into_iter()
            .filter(|e| e.event_type == "registry.placement_created")
            .collect();
        assert!(
            created.iter().any(|e| e
                .payload_json
                .contains(&format!("\"transition_from_placement_id\":\"{}\"", jp.id))),
            "{created:?}"
        );
        assert!(
            created
                .iter()
                .all(|e| !e.payload_json.contains("religious")),
            "what the home was told stays out of events"
        );
    })
    .await;
}

#[tokio::test]
async fn a_settling_in_is_only_from_a_jourhem_and_a_broken_off_one_returns_the_child() {
    for_each_backend(|h| async move {
        let fam = family(&h, "Familjevägen 4", 521).await;
        let fam2 = family(&h, "Familjevägen 5", 522).await;
        let jour = jourhem(&h, "Jourvägen 6", 523).await;
        let kid = h.register_child("0180", &child_pnr(8, 531)).await;
        let p = h
            .place(caseworker("0180"), &kid.id, &fam.id, days_ago(40))
            .await
            .unwrap()
            .placement
            .unwrap();
        let mut req = placement(&kid.id, &fam2.id, days_ago(10));
        (req.transition_from_placement_id, req.transition) = transition(&p.id);
        expect_invalid(
            place_req(&h, caseworker("0180"), req).await,
            "transition_from_placement_id",
        );
        end(&h, caseworker("0180"), &p.id, days_ago(30), "")
            .await
            .unwrap();
        let jp = h
            .place(caseworker("0180"), &kid.id, &jour.id, days_ago(30))
            .await
            .unwrap()
            .placement
            .unwrap();
        let mut req = placement(&kid.id, &fam2.id, days_ago(10));
        (req.transition_from_placement_id, req.transition) = transition(&jp.id);
        let moved = place_req(&h, caseworker("0180"), req)
            .await
            .unwrap()
            .placement
            .unwrap();
        // The settling-in breaks off: the child is back in the jourhem only.
        rpc!(
            h.client(caseworker("0180")).await,
            end_placement,
            EndPlacementRequest {
                placement_id: moved.id.clone(),
                end_date: Some(date(days_ago(2))),
                end_reason: EndReason::Breakdown as i32,
                breakdown: Some(Breakdown {
                    reasons: vec![BreakdownReason::MismatchedNeeds as i32],
                    initiated_by: BreakdownInitiator::Home as i32,
                    note: String::new(),
                }),
                ..Default::default()
            }
        )
        .unwrap();
        let child = child_of(&h, &kid.id).await;
        assert_eq!(child.active_placement_id, jp.id);
    })
    .await;
}

#[tokio::test]
async fn children_long_in_jourhem_are_listed_to_whom_they_concern() {
    for_each_backend(|h| async move {
        let jour = jourhem(&h, "Jourvägen 7", 541).await;
        let fam = family(&h, "Familjevägen 8", 542).await;
        let long = h.register_child("0180", &child_pnr(9, 551)).await;
        let short = h.register_child("0180", &child_pnr(9, 553)).await;
        let settled = h.register_child("0180", &child_pnr(9, 555)).await;
        let pl = h
            .place(caseworker("0180"), &long.id, &jour.id, days_ago(100))
            .await
            .unwrap()
            .placement
            .unwrap();
        let mut req = placement(&short.id, &jour.id, days_ago(30));
        req.capacity_exception_reason = "x".into();
        place_req(&h, caseworker("0180"), req).await.unwrap();
        h.place(caseworker("0180"), &settled.id, &fam.id, days_ago(300))
            .await
            .unwrap();
        let list = |ctx, min_days: u32| {
            let h = h.clone();
            async move {
                rpc!(
                    h.client(ctx).await,
                    list_long_jourhem_stays,
                    ListLongJourhemStaysRequest {
                        min_days,
                        ..Default::default()
                    }
                )
                .map(|r| {
                    let mut v: Vec<String> = r.placements.into_iter().map(|p| p.child_id).collect();
                    v.sort();
                    v
                })
            }
        };
        // The default threshold (90 days) from config.
        assert_eq!(
            list(caseworker("0180"), 0).await.unwrap(),
            vec![long.id.clone()]
        );
        assert_eq!(list(office(), 0).await.unwrap(), vec![long.id.clone()]);
        let mut both = vec![long.id.clone(), short.id.clone()];
        both.sort();
        assert_eq!(list(caseworker("0180"), 20).await.unwrap(), both);
        // Another municipality, an ombud: nothing; aggregate roles: refused.
        assert!(list(caseworker("1480"), 20).await.unwrap().is_empty());
        assert!(list(ombud(), 20).await.unwrap().is_empty());
        expect_code(list(analyst(), 20).await, Code::PermissionDenied);
        expect_code(list(council_member(), 20).await, Code::PermissionDenied);
        expect_code(
            rpc!(
                h.client(caseworker("0180")).await,
                list_long_jourhem_stays,
                ListLongJourhemStaysRequest {
                    municipality_code: "01".into(),
                    ..Default::default()
                }
            ),
            Code::InvalidArgument,
        );
        // Ended: no longer listed.
        end(&h, caseworker("0180"), &pl.id, today(), "")
            .await
            .unwrap();
        assert!(list(caseworker("0180"), 0).await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn the_custody_consideration_is_recorded_and_its_clock_runs_from_the_start_in_that_home() {
    for_each_backend(|h| async move {
        let fam = family(&h, "Familjevägen 9", 561).await;
        let kid = h.register_child("0180", &child_pnr(10, 571)).await;
        let start = months_ago(25);
        let sol = h
            .place(caseworker("0180"), &kid.id, &fam.id, start)
            .await
            .unwrap()
            .placement
            .unwrap();
        // LVU after SoL in the same home: the clock does not restart.
        rpc!(
            h.client(caseworker("0180")).await,
            end_placement,
            EndPlacementRequest {
                placement_id: sol.id.clone(),
                end_date: Some(date(days_ago(1))),
                end_reason: EndReason::Other as i32,
                ..Default::default()
            }
        )
        .unwrap();
        let mut req = placement(&kid.id, &fam.id, today());
        req.legal_basis = LegalBasis::Lvu2 as i32;
        let lvu = place_req(&h, caseworker("0180"), req)
            .await
            .unwrap()
            .placement
            .unwrap();
        assert_eq!(naive(&lvu.in_home_since), start);
        assert_eq!(
            naive(&lvu.custody_transfer_consideration_on),
            start.checked_add_months(chrono::Months::new(24)).unwrap()
        );
        let due = |as_of| {
            let h = h.clone();
            async move {
                rpc!(
                    h.client(caseworker("0180")).await,
                    list_custody_transfer_due,
                    ListCustodyTransferDueRequest {
                        as_of: Some(date(as_of)),
                        ..Default::default()
                    }
                )
                .unwrap()
                .placements
                .into_iter()
                .map(|p| p.id)
                .collect::<Vec<_>>()
            }
        };
        assert_eq!(due(today()).await, vec![lvu.id.clone()]);
        let consider = |ctx, outcome: CustodyOutcome| {
            let h = h.clone();
            let id = lvu.id.clone();
            async move {
                rpc!(
                    h.client(ctx).await,
                    record_custody_consideration,
                    RecordCustodyConsiderationRequest {
                        placement_id: id,
                        considered_on: Some(date(today())),
                        outcome: outcome as i32,
                        decision_ref: "SN 2026/12 §4".into(),
                        ..Default::default()
                    }
                )
            }
        };
        expect_code(
            consider(caseworker("1480"), CustodyOutcome::NotInChildsInterest).await,
            Code::NotFound,
        );
        expect_code(
            consider(analyst(), CustodyOutcome::NotInChildsInterest).await,
            Code::NotFound,
        );
        expect_code(
            consider(family_home(&fam.id), CustodyOutcome::NotInChildsInterest).await,
            Code::NotFound,
        );
        expect_invalid(
            consider(caseworker("0180"), CustodyOutcome::Unspecified).await,
            "outcome",
        );
        let p = consider(caseworker("0180"), CustodyOutcome::NotInChildsInterest)
            .await
            .unwrap();
        assert_eq!(p.custody_considerations.len(), 1);
        let next = today().checked_add_months(chrono::Months::new(6)).unwrap();
        assert_eq!(naive(&p.custody_considerations[0].next_due_on), next);
        // Made: off today's due list, due again in six months.
        assert!(due(today()).await.is_empty());
        assert_eq!(due(next).await, vec![lvu.id.clone()]);
        let p = consider(caseworker("0180"), CustodyOutcome::TransferApplied)
            .await
            .unwrap();
        assert!(p.custody_transfer_consideration_on.is_none());
        assert!(due(next).await.is_empty());
    })
    .await;
}

#[tokio::test]
async fn siblings_placed_apart_say_so() {
    for_each_backend(|h| async move {
        let a_home = family(&h, "Familjevägen 10", 581).await;
        let b_home = family(&h, "Familjevägen 11", 582).await;
        let a = h.register_child("0180", &child_pnr(6, 591)).await;
        let b = h.register_child("0180", &child_pnr(8, 593)).await;
        let c = h.register_child("0180", &child_pnr(9, 595)).await;
        let stranger = h.register_child("1480", &child_pnr(9, 597)).await;
        let link = |ctx, child: &str, sib: &str, linked: bool| {
            let h = h.clone();
            let req = SetSiblingLinkRequest {
                child_id: child.into(),
                sibling_child_id: sib.into(),
                linked,
                ..Default::default()
            };
            async move { rpc!(h.client(ctx).await, set_sibling_link, req) }
        };
        // Attackers: another municipality's children, one's own child and another's.
        expect_code(
            link(caseworker("1480"), &a.id, &b.id, true).await,
            Code::NotFound,
        );
        expect_code(
            link(caseworker("0180"), &a.id, &stranger.id, true).await,
            Code::NotFound,
        );
        expect_code(link(analyst(), &a.id, &b.id, true).await, Code::NotFound);
        expect_invalid(
            link(caseworker("0180"), &a.id, &a.id, true).await,
            "sibling_child_id",
        );
        let linked = link(caseworker("0180"), &a.id, &b.id, true).await.unwrap();
        assert_eq!(linked.sibling_ids, vec![b.id.clone()]);
        link(caseworker("0180"), &c.id, &a.id, true).await.unwrap();
        let b_now = child_of(&h, &b.id).await;
        assert_eq!(b_now.sibling_ids, vec![a.id.clone()], "linked both ways");

        let first = h
            .place(caseworker("0180"), &a.id, &a_home.id, days_ago(10))
            .await
            .unwrap();
        assert!(
            !first.placement.unwrap().splits_siblings,
            "nobody placed yet"
        );
        let mut req = placement(&b.id, &b_home.id, days_ago(5));
        req.sibling_split_reason = "no home for two".into();
        let apart = place_req(&h, caseworker("0180"), req).await.unwrap();
        assert!(apart.notices.contains(&"splits_siblings".to_string()));
        let p = apart.placement.unwrap();
        assert!(p.splits_siblings);
        assert_eq!(p.siblings_placed_elsewhere, 1);
        assert_eq!(p.sibling_split_reason, "no home for two");
        let together = h
            .place(caseworker("0180"), &c.id, &a_home.id, days_ago(5))
            .await
            .unwrap();
        assert!(!together.placement.unwrap().splits_siblings);
        // Unlinked: a new placement no longer counts them.
        link(caseworker("0180"), &a.id, &b.id, false).await.unwrap();
        let a_now = child_of(&h, &a.id).await;
        assert_eq!(a_now.sibling_ids, vec![c.id.clone()]);
    })
    .await;
}

#[tokio::test]
async fn the_network_alternative_is_recorded_at_each_placement() {
    for_each_backend(|h| async move {
        let fam = family(&h, "Familjevägen 12", 601).await;
        let net = h
            .approved_home(
                typed("Släktvägen 13", &adult(602), HomeType::NetworkHome),
                "0180",
                days_ago(400),
            )
            .await;
        let a = h.register_child("0180", &child_pnr(6, 611)).await;
        let b = h.register_child("0180", &child_pnr(6, 613)).await;
        let c = h.register_child("0180", &child_pnr(6, 615)).await;
        let mut req = placement(&a.id, &fam.id, days_ago(3));
        req.network_alternative = Some(NetworkAlternative {
            considered: true,
            reason_not_chosen: " ".into(),
        });
        expect_invalid(
            place_req(&h, caseworker("0180"), req.clone()).await,
            "network_alternative.reason_not_chosen",
        );
        req.network_alternative = Some(NetworkAlternative {
            considered: true,
            reason_not_chosen: "the aunt could not take him".into(),
        });
        let r = place_req(&h, caseworker("0180"), req).await.unwrap();
        assert!(
            r.notices.iter().all(|n| !n.starts_with("network_")),
            "{:?}",
            r.notices
        );
        assert!(r.placement.unwrap().network_alternative.unwrap().considered);
        let r = h
            .place(caseworker("0180"), &b.id, &fam.id, days_ago(3))
            .await
            .unwrap();
        assert!(r.placement.unwrap().network_alternative.is_none());
        let mut req = placement(&b.id, &fam.id, days_ago(3));
        req.network_alternative = Some(NetworkAlternative::default());
        let r = place_req(&h, caseworker("0180"), req).await;
        // The child already has a placement: refused before anything is noted.
        expect_code(r, Code::FailedPrecondition);
        let r = h
            .place(caseworker("0180"), &c.id, &net.id, days_ago(3))
            .await
            .unwrap();
        assert!(
            r.notices.iter().all(|n| !n.starts_with("network_")),
            "{:?}",
            r.notices
        );
    })
    .await;
}

#[tokio::test]
async fn a_closing_conversation_is_recorded_after_the_placement_ended() {
    for_each_backend(|h| async move {
        let fam = family(&h, "Familjevägen 14", 621).await;
        let kid = h.register_child("0180", &child_pnr(12, 631)).await;
        let p = h
            .place(caseworker("0180"), &kid.id, &fam.id, days_ago(200))
            .await
            .unwrap()
            .placement
            .unwrap();
        let record = |ctx, held| {
            let h = h.clone();
            let req = RecordClosingConversationRequest {
                placement_id: p.id.clone(),
                held_on: Some(date(held)),
                participants: vec!["home".into(), "child".into()],
                note: "the home asks how he is doing at school".into(),
                ..Default::default()
            };
            async move { rpc!(h.client(ctx).await, record_closing_conversation, req) }
        };
        expect_code(
            record(caseworker("0180"), today()).await,
            Code::FailedPrecondition,
        );
        end(&h, caseworker("0180"), &p.id, days_ago(3), "")
            .await
            .unwrap();
        expect_code(record(caseworker("1480"), today()).await, Code::NotFound);
        expect_code(record(family_home(&fam.id), today()).await, Code::NotFound);
        expect_invalid(record(caseworker("0180"), days_ago(4)).await, "held_on");
        let done = record(caseworker("0180"), today()).await.unwrap();
        let c = done.closing_conversation.unwrap();
        assert_eq!(c.participants, vec!["home", "child"]);
        expect_code(record(caseworker("0180"), today()).await, Code::Aborted);
        // The home reads it with its placement; the note never goes to the feed.
        let seen = placement_as(&h, family_home(&fam.id), &p.id).await;
        assert!(seen.closing_conversation.is_some());
        let events = h.events().await;
        assert!(
            events
                .iter()
                .any(|e| e.event_type == "registry.closing_conversation_recorded")
        );
        assert!(events.iter().all(|e| !e.payload_json.contains("school")));
    })
    .await;
}

#[tokio::test]
async fn placement_statistics_give_network_shares_and_breakdowns_suppressed_for_aggregates() {
    for_each_backend(|h| async move {
        use chrono::Datelike;
        let year = today().year();
        let net = h
            .approved_home(
                HomeDraft {
                    capacity: 10,
                    ..typed("Släktvägen 15", &adult(641), HomeType::NetworkHome)
                },
                "0180",
                days_ago(400),
            )
            .await;
        let fam = h
            .approved_home(
                HomeDraft {
                    capacity: 10,
                    ..typed("Familjevägen 16", &adult(642), HomeType::FamilyHome)
                },
                "0180",
                days_ago(400),
            )
            .await;
        // 0180: 6 placements this year, 1 in the network home; 2 end, 1 by breakdown.
        let mut placed = Vec::new();
        for i in 0..6u16 {
            let kid = h.register_child("0180", &child_pnr(8, 651 + 2 * i)).await;
            let home = if i == 0 { &net.id } else { &fam.id };
            let mut req = placement(&kid.id, home, today());
            req.capacity_exception_reason = "statistics".into();
            placed.push(
                place_req(&h, caseworker("0180"), req)
                    .await
                    .unwrap()
                    .placement
                    .unwrap(),
            );
        }
        rpc!(
            h.client(caseworker("0180")).await,
            end_placement,
            EndPlacementRequest {
                placement_id: placed[1].id.clone(),
                end_date: Some(date(today())),
                end_reason: EndReason::Breakdown as i32,
                breakdown: Some(Breakdown {
                    reasons: vec![BreakdownReason::ChildBehaviour as i32],
                    initiated_by: BreakdownInitiator::Home as i32,
                    note: String::new(),
                }),
                ..Default::default()
            }
        )
        .unwrap();
        end(&h, caseworker("0180"), &placed[2].id, today(), "")
            .await
            .unwrap();
        let stats = |ctx, m: &str| {
            let h = h.clone();
            let req = GetPlacementStatisticsRequest {
                municipality_code: m.into(),
                year,
            };
            async move { rpc!(h.client(ctx).await, get_placement_statistics, req) }
        };
        let office_view = stats(office(), "").await.unwrap();
        assert!(!office_view.small_counts_suppressed);
        assert_eq!(office_view.network.len(), 1);
        let row = &office_view.network[0];
        assert_eq!(row.municipality_code, "0180");
        assert_eq!(row.placements.as_ref().unwrap().count, 6);
        assert_eq!(row.network_placements.as_ref().unwrap().count, 1);
        assert_eq!(row.network_share_permille, 166);
        let fam_row = office_view
            .breakdowns
            .iter()
            .find(|r| r.home_type == HomeType::FamilyHome as i32)
            .unwrap();
        assert_eq!(fam_row.provider, ProviderKind::Public as i32);
        assert_eq!(fam_row.ended.as_ref().unwrap().count, 2);
        assert_eq!(fam_row.breakdowns.as_ref().unwrap().count, 1);
        assert!(office_view.provisional || today().month() == 12 && today().day() == 31);
        let own = stats(caseworker("0180"), "0180").await.unwrap();
        assert_eq!(own.network, office_view.network);
        // Aggregate roles: the region's table, small counts as "<5".
        for ctx in [analyst(), council_member()] {
            let agg = stats(ctx.clone(), "").await.unwrap();
            assert!(agg.small_counts_suppressed);
            let row = &agg.network[0];
            assert_eq!(row.placements.as_ref().unwrap().display, "6");
            assert_eq!(row.network_placements.as_ref().unwrap().display, "<5");
            assert_eq!(row.network_placements.as_ref().unwrap().count, 0);
            assert_eq!(row.network_share_permille, -1);
            let b = &agg.breakdowns[0];
            assert_eq!(b.breakdowns.as_ref().unwrap().display, "<5");
            expect_code(stats(ctx, "0180").await, Code::PermissionDenied);
        }
        // Another municipality's figures; roles without any.
        expect_code(
            stats(caseworker("1480"), "0180").await,
            Code::PermissionDenied,
        );
        expect_code(stats(caseworker("1480"), "").await, Code::PermissionDenied);
        expect_code(
            stats(family_home(&fam.id), "").await,
            Code::PermissionDenied,
        );
        expect_code(stats(ombud(), "").await, Code::PermissionDenied);
        expect_invalid(
            rpc!(
                h.client(office()).await,
                get_placement_statistics,
                GetPlacementStatisticsRequest {
                    year: 1999,
                    ..Default::default()
                }
            ),
            "year",
        );
    })
    .await;
}
