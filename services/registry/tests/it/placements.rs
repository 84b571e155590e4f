//! Placements over gRPC: capacity and the IVO report, the first placing
//! municipality's objection, how placements start and end, breakdowns, the
//! 2-year custody-transfer consideration and unit placements.

use crate::common;

use common::*;
use samling_proto::common::v1::WatchEventsRequest;
use samling_proto::registry::v1::*;
use tokio_stream::StreamExt;
use tonic::Code;

/// Register `n` children of `municipality` (distinct personnummer from `serial`).
async fn children(h: &Harness, municipality: &str, n: u16, serial: u16) -> Vec<Child> {
    let mut out = Vec::new();
    for i in 0..n {
        out.push(
            h.register_child(municipality, &child_pnr(6 + i32::from(i), serial + 2 * i))
                .await,
        );
    }
    out
}

fn with_capacity(street: &str, pnr: &str, capacity: i32) -> HomeDraft {
    HomeDraft {
        capacity,
        ..draft(street, pnr)
    }
}

#[tokio::test]
async fn three_children_fit_and_a_fourth_needs_a_stated_reason() {
    for_each_backend(|h| async move {
        let home = h
            .approved_home(draft("Storgatan 1", &adult(121)), "0180", days_ago(30))
            .await;
        let kids = children(&h, "0180", 4, 300).await;
        for (i, kid) in kids[..3].iter().enumerate() {
            let r = h
                .place(caseworker("0180"), &kid.id, &home.id, days_ago(10))
                .await
                .unwrap();
            assert!(
                r.notices.is_empty(),
                "child {} of 3: {:?}",
                i + 1,
                r.notices
            );
        }
        let full = h.get_home(&home.id).await;
        assert_eq!(full.placed_count, 3);
        assert_eq!(
            full.status,
            HomeStatus::Active as i32,
            "the first placement made the approved home active"
        );

        let s = expect_code(
            h.place(caseworker("0180"), &kids[3].id, &home.id, days_ago(10))
                .await,
            Code::FailedPrecondition,
        );
        assert!(s.message().contains("capacity_exception_reason"), "{s:?}");
        assert_eq!(
            h.get_home(&home.id).await.placed_count,
            3,
            "the refused placement changed nothing"
        );

        let mut req = placement(&kids[3].id, &home.id, days_ago(10));
        req.capacity_exception_reason = "keeps siblings together".into();
        let r = rpc!(h.client(caseworker("0180")).await, create_placement, req).unwrap();
        assert!(
            r.notices.contains(&"above_normal_capacity".to_string()),
            "{:?}",
            r.notices
        );
        assert!(
            r.notices.contains(&"above_approved_capacity".to_string()),
            "{:?}",
            r.notices
        );
        assert!(!r.notices.contains(&"ivo_report_raised".to_string()));
        let now = h.get_home(&home.id).await;
        assert_eq!(now.placed_count, 4);
        assert!(!now.ivo_report_open);
        // The stated reason is kept in the home's history.
        let history = rpc!(
            h.office().await,
            get_home_history,
            GetHomeHistoryRequest {
                home_id: home.id.clone(),
                page: None
            }
        )
        .unwrap();
        let last = history.versions.last().unwrap();
        assert_eq!(
            (last.change.as_str(), last.reason.as_str()),
            ("home_placement_added", "keeps siblings together")
        );
    })
    .await;
}

#[tokio::test]
async fn a_fifth_child_in_a_home_approved_for_six_raises_a_report_to_ivo() {
    for_each_backend(|h| async move {
        let home = h
            .approved_home(
                with_capacity("Storgatan 1", &adult(121), 6),
                "0180",
                days_ago(30),
            )
            .await;
        let kids = children(&h, "0180", 5, 310).await;
        let mut notices = Vec::new();
        for kid in &kids {
            notices.push(
                h.place(caseworker("0180"), &kid.id, &home.id, days_ago(10))
                    .await
                    .unwrap()
                    .notices,
            );
        }
        let none: Vec<String> = vec![];
        assert_eq!(notices[..3], [none.clone(), none.clone(), none]);
        assert_eq!(
            notices[3],
            vec!["above_normal_capacity".to_string()],
            "a fourth child within the approved capacity needs no reason"
        );
        assert!(
            notices[4].contains(&"ivo_report_raised".to_string()),
            "{:?}",
            notices[4]
        );
        let home_now = h.get_home(&home.id).await;
        assert!(home_now.ivo_report_open);
        assert_eq!(home_now.placed_count, 5);

        let mut office = h.office().await;
        let req = office.request(WatchEventsRequest {
            after: 0,
            event_types: vec!["registry.ivo_report_raised".into()],
            stop_at_end: true,
        });
        let reports: Vec<_> = office
            .raw()
            .watch_events(req)
            .await
            .unwrap()
            .into_inner()
            .collect::<Vec<_>>()
            .await;
        assert_eq!(reports.len(), 1);
        let report = reports[0].as_ref().unwrap();
        assert_eq!(
            (report.aggregate_type.as_str(), report.aggregate_id.as_str()),
            ("home", home.id.as_str())
        );
        let payload: serde_json::Value = serde_json::from_str(&report.payload_json).unwrap();
        assert_eq!(payload["placed_count"], 5);
        assert_eq!(payload["home_id"], home.id.as_str());

        // Back to four: the report is no longer open.
        let p = rpc!(
            office,
            list_placements,
            ListPlacementsRequest {
                home_id: home.id.clone(),
                active_only: true,
                ..Default::default()
            }
        )
        .unwrap();
        assert_eq!(p.placements.len(), 5);
        rpc!(
            office,
            end_placement,
            EndPlacementRequest {
                placement_id: p.placements[0].id.clone(),
                end_date: Some(date(today())),
                end_reason: EndReason::Planned as i32,
                ..Default::default()
            }
        )
        .unwrap();
        let back = h.get_home(&home.id).await;
        assert_eq!(back.placed_count, 4);
        assert!(!back.ivo_report_open);
    })
    .await;
}

#[tokio::test]
async fn the_first_placing_municipality_may_object_to_further_placements() {
    for_each_backend(|h| async move {
        let home = h
            .approved_home(
                with_capacity("Storgatan 1", &adult(121), 6),
                "0180",
                days_ago(60),
            )
            .await;
        let sthlm_kids = children(&h, "0180", 2, 320).await;
        let gbg_kids = children(&h, "1480", 2, 330).await;
        let mut sthlm = h.client(caseworker("0180")).await;
        let mut gbg = h.client(caseworker("1480")).await;
        let objection = |m: &str| ObjectToFurtherPlacementsRequest {
            home_id: home.id.clone(),
            municipality_code: m.into(),
            reason: "the child needs the home's full attention".into(),
            ..Default::default()
        };

        expect_code(
            rpc!(sthlm, object_to_further_placements, objection("0180")),
            Code::FailedPrecondition,
        );
        h.place(
            caseworker("0180"),
            &sthlm_kids[0].id,
            &home.id,
            days_ago(30),
        )
        .await
        .unwrap();
        h.place(caseworker("1480"), &gbg_kids[0].id, &home.id, days_ago(10))
            .await
            .unwrap();

        expect_code(
            rpc!(gbg, object_to_further_placements, objection("1480")),
            Code::PermissionDenied,
        );
        expect_code(
            rpc!(gbg, object_to_further_placements, objection("0180")),
            Code::PermissionDenied,
        );
        let objected = rpc!(sthlm, object_to_further_placements, objection("0180")).unwrap();
        assert_eq!(objected.objections.len(), 1);
        assert_eq!(objected.objections[0].municipality_code, "0180");
        assert_eq!(
            objected.objections[0].reason,
            "the child needs the home's full attention"
        );
        expect_code(
            rpc!(sthlm, object_to_further_placements, objection("0180")),
            Code::Aborted,
        );

        let s = expect_code(
            h.place(caseworker("1480"), &gbg_kids[1].id, &home.id, days_ago(1))
                .await,
            Code::FailedPrecondition,
        );
        assert!(s.message().contains("objects"), "{s:?}");
        h.place(caseworker("0180"), &sthlm_kids[1].id, &home.id, days_ago(1))
            .await
            .expect("the objecting municipality may still place");

        let withdrawn = rpc!(
            sthlm,
            withdraw_objection,
            WithdrawObjectionRequest {
                home_id: home.id.clone(),
                municipality_code: "0180".into(),
                ..Default::default()
            }
        )
        .unwrap();
        assert!(withdrawn.objections.is_empty());
        h.place(caseworker("1480"), &gbg_kids[1].id, &home.id, days_ago(1))
            .await
            .expect("placements are open again");
        assert_eq!(h.get_home(&home.id).await.placed_count, 4);
    })
    .await;
}

#[tokio::test]
async fn a_placement_records_both_municipalities_and_the_custody_transfer_date() {
    for_each_backend(|h| async move {
        let mut d = draft("Kungsportsavenyen 1", &adult(121));
        d.municipality_code = "1480".into();
        let home = h.approved_home(d, "1480", days_ago(60)).await;
        let child = h.register_child("0180", &child_pnr(9, 340)).await;
        let mut cw = h.client(caseworker("0180")).await;

        let start = days_ago(15);
        let planned_end = today().checked_add_months(chrono::Months::new(12)).unwrap();
        let req = CreatePlacementRequest {
            legal_basis: LegalBasis::Lvu2 as i32,
            planned_end_date: Some(date(planned_end)),
            ..placement(&child.id, &home.id, start)
        };
        let created = rpc!(cw, create_placement, req.clone()).unwrap();
        let p = created.placement.unwrap();
        assert_eq!(p.status, PlacementStatus::Active as i32);
        assert_eq!(
            (
                p.placing_municipality_code.as_str(),
                p.receiving_municipality_code.as_str()
            ),
            ("0180", "1480")
        );
        assert_eq!(p.legal_basis, LegalBasis::Lvu2 as i32);
        assert_eq!(naive(&p.start_date), start);
        assert_eq!(naive(&p.planned_end_date), planned_end);
        assert_eq!(
            naive(&p.custody_transfer_consideration_on),
            start.checked_add_months(chrono::Months::new(24)).unwrap()
        );
        assert_eq!(
            rpc!(
                cw,
                get_child,
                GetChildRequest {
                    child_id: child.id.clone()
                }
            )
            .unwrap()
            .active_placement_id,
            p.id
        );

        // A child has one active placement at a time.
        let again = expect_code(
            rpc!(
                cw,
                create_placement,
                CreatePlacementRequest {
                    request_id: "p-2".into(),
                    ..req.clone()
                }
            ),
            Code::FailedPrecondition,
        );
        assert!(again.message().contains("active placement"), "{again:?}");

        // Who may read it: both municipalities, the home, the child; not a third municipality.
        let get = GetPlacementRequest {
            placement_id: p.id.clone(),
        };
        assert_eq!(
            rpc!(
                h.client(caseworker("1480")).await,
                get_placement,
                get.clone()
            )
            .unwrap(),
            p
        );
        assert!(
            rpc!(
                h.client(family_home(&home.id)).await,
                get_placement,
                get.clone()
            )
            .is_ok()
        );
        assert!(
            rpc!(
                h.client(child_ctx(&child.id)).await,
                get_placement,
                get.clone()
            )
            .is_ok()
        );
        expect_code(
            rpc!(
                h.client(caseworker("1280")).await,
                get_placement,
                get.clone()
            ),
            // Answered as a missing placement: no existence oracle.
            Code::NotFound,
        );
        expect_code(
            rpc!(
                h.client(caseworker("1480")).await,
                create_placement,
                placement(&child.id, &home.id, start)
            ),
            Code::NotFound,
        );

        // Requests are validated field by field.
        let other = h.register_child("0180", &child_pnr(4, 342)).await;
        expect_invalid(
            rpc!(
                cw,
                create_placement,
                CreatePlacementRequest {
                    legal_basis: 0,
                    ..placement(&other.id, &home.id, start)
                }
            ),
            "legal_basis",
        );
        let far = today().checked_add_months(chrono::Months::new(7)).unwrap();
        expect_invalid(
            rpc!(cw, create_placement, placement(&other.id, &home.id, far)),
            "start_date",
        );
        expect_invalid(
            rpc!(
                cw,
                create_placement,
                CreatePlacementRequest {
                    planned_end_date: Some(date(days_ago(30))),
                    ..placement(&other.id, &home.id, start)
                }
            ),
            "planned_end_date",
        );
        expect_invalid(
            rpc!(
                cw,
                create_placement,
                CreatePlacementRequest {
                    start_date: None,
                    ..placement(&other.id, &home.id, start)
                }
            ),
            "start_date",
        );
        expect_invalid(
            rpc!(
                cw,
                create_placement,
                CreatePlacementRequest {
                    unit_id: home.id.clone(),
                    ..placement(&other.id, &home.id, start)
                }
            ),
            "home_id",
        );
        expect_invalid(
            rpc!(cw, create_placement, placement(&other.id, "", start)),
            "home_id",
        );
        expect_code(
            rpc!(
                cw,
                create_placement,
                placement("00000000-0000-7000-8000-000000000000", &home.id, start)
            ),
            Code::NotFound,
        );
        assert_eq!(h.get_home(&home.id).await.placed_count, 1);
    })
    .await;
}

#[tokio::test]
async fn a_breakdown_is_recorded_with_reason_codes_and_frees_the_place() {
    for_each_backend(|h| async move {
        let home = h
            .approved_home(draft("Storgatan 1", &adult(121)), "0180", days_ago(90))
            .await;
        let child = h.register_child("0180", &child_pnr(14, 350)).await;
        let p = h
            .place(caseworker("0180"), &child.id, &home.id, days_ago(60))
            .await
            .unwrap()
            .placement
            .unwrap();
        let mut cw = h.client(caseworker("0180")).await;
        assert_eq!(h.get_home(&home.id).await.placed_count, 1);

        let s = expect_code(
            rpc!(
                h.office().await,
                transition_home,
                TransitionHomeRequest {
                    home_id: home.id.clone(),
                    to_status: HomeStatus::Ended as i32,
                    reason: "retiring".into(),
                    ..Default::default()
                }
            ),
            Code::FailedPrecondition,
        );
        assert!(s.message().contains("placed children"), "{s:?}");

        let end = |reason: EndReason, breakdown: Option<Breakdown>, on| EndPlacementRequest {
            placement_id: p.id.clone(),
            end_date: Some(date(on)),
            end_reason: reason as i32,
            breakdown,
            ..Default::default()
        };
        let good = Breakdown {
            reasons: vec![
                BreakdownReason::MismatchedNeeds as i32,
                BreakdownReason::InsufficientSupport as i32,
            ],
            initiated_by: BreakdownInitiator::Home as i32,
            note: "the home asked for the placement to end".into(),
        };
        expect_invalid(
            rpc!(
                cw,
                end_placement,
                end(EndReason::Breakdown, None, days_ago(1))
            ),
            "breakdown",
        );
        expect_invalid(
            rpc!(
                cw,
                end_placement,
                end(
                    EndReason::Breakdown,
                    Some(Breakdown {
                        reasons: vec![],
                        ..good.clone()
                    }),
                    days_ago(1)
                )
            ),
            "breakdown.reasons",
        );
        expect_invalid(
            rpc!(
                cw,
                end_placement,
                end(
                    EndReason::Breakdown,
                    Some(Breakdown {
                        initiated_by: 0,
                        ..good.clone()
                    }),
                    days_ago(1)
                )
            ),
            "breakdown.initiated_by",
        );
        expect_invalid(
            rpc!(
                cw,
                end_placement,
                end(EndReason::Planned, Some(good.clone()), days_ago(1))
            ),
            "breakdown",
        );
        expect_invalid(
            rpc!(
                cw,
                end_placement,
                end(EndReason::Unspecified, None, days_ago(1))
            ),
            "end_reason",
        );
        expect_invalid(
            rpc!(
                cw,
                end_placement,
                end(EndReason::Breakdown, Some(good.clone()), days_ago(61))
            ),
            "end_date",
        );
        expect_code(
            rpc!(
                h.client(caseworker("1480")).await,
                end_placement,
                end(EndReason::Breakdown, Some(good.clone()), days_ago(1))
            ),
            Code::NotFound,
        );
        assert_eq!(
            h.get_home(&home.id).await.placed_count,
            1,
            "refused endings change nothing"
        );

        let ended = rpc!(
            cw,
            end_placement,
            end(EndReason::Breakdown, Some(good.clone()), days_ago(1))
        )
        .unwrap();
        assert_eq!(ended.status, PlacementStatus::Ended as i32);
        assert_eq!(ended.end_reason, EndReason::Breakdown as i32);
        assert_eq!(naive(&ended.end_date), days_ago(1));
        assert_eq!(ended.breakdown.as_ref(), Some(&good));
        assert_eq!(ended.version, 2);

        assert_eq!(
            h.get_home(&home.id).await.placed_count,
            0,
            "the place is free again"
        );
        assert!(
            rpc!(
                cw,
                get_child,
                GetChildRequest {
                    child_id: child.id.clone()
                }
            )
            .unwrap()
            .active_placement_id
            .is_empty()
        );
        expect_code(
            rpc!(cw, end_placement, end(EndReason::Planned, None, today())),
            Code::FailedPrecondition,
        );

        let events = h.events().await;
        let breakdown = events
            .iter()
            .find(|e| e.event_type == "registry.breakdown_recorded")
            .expect("breakdown event");
        let payload: serde_json::Value = serde_json::from_str(&breakdown.payload_json).unwrap();
        assert_eq!(
            payload["reasons"],
            serde_json::json!([
                "BREAKDOWN_REASON_MISMATCHED_NEEDS",
                "BREAKDOWN_REASON_INSUFFICIENT_SUPPORT"
            ])
        );
        assert_eq!(payload["initiated_by"], "BREAKDOWN_INITIATOR_HOME");

        // The child can be placed again, and the home can now end.
        h.place(caseworker("0180"), &child.id, &home.id, today())
            .await
            .expect("placed again");
    })
    .await;
}

#[tokio::test]
async fn a_placement_over_two_years_old_is_due_for_custody_transfer_consideration() {
    for_each_backend(|h| async move {
        let home = h
            .approved_home(
                with_capacity("Storgatan 1", &adult(121), 4),
                "0180",
                days_ago(30),
            )
            .await;
        let kids = children(&h, "0180", 2, 360).await;
        let long = h
            .place(caseworker("0180"), &kids[0].id, &home.id, months_ago(25))
            .await
            .unwrap()
            .placement
            .unwrap();
        let short = h
            .place(caseworker("0180"), &kids[1].id, &home.id, days_ago(5))
            .await
            .unwrap()
            .placement
            .unwrap();
        assert_eq!(
            naive(&long.custody_transfer_consideration_on),
            months_ago(25)
                .checked_add_months(chrono::Months::new(24))
                .unwrap()
        );

        let ids =
            |r: ListPlacementsResponse| r.placements.into_iter().map(|p| p.id).collect::<Vec<_>>();
        let due = rpc!(
            h.office().await,
            list_custody_transfer_due,
            ListCustodyTransferDueRequest::default()
        )
        .unwrap();
        assert_eq!(ids(due), vec![long.id.clone()]);
        let mine = rpc!(
            h.client(caseworker("0180")).await,
            list_custody_transfer_due,
            ListCustodyTransferDueRequest::default()
        )
        .unwrap();
        assert_eq!(ids(mine), vec![long.id.clone()]);
        let theirs = rpc!(
            h.client(caseworker("1480")).await,
            list_custody_transfer_due,
            ListCustodyTransferDueRequest::default()
        )
        .unwrap();
        assert!(
            theirs.placements.is_empty(),
            "another municipality sees none of them"
        );
        let later = ListCustodyTransferDueRequest {
            as_of: Some(date(
                today().checked_add_months(chrono::Months::new(25)).unwrap(),
            )),
            ..Default::default()
        };
        let mut all = ids(rpc!(h.office().await, list_custody_transfer_due, later).unwrap());
        all.sort();
        let mut expected = vec![long.id.clone(), short.id.clone()];
        expected.sort();
        assert_eq!(all, expected, "in two years the newer placement is due too");

        rpc!(
            h.client(caseworker("0180")).await,
            end_placement,
            EndPlacementRequest {
                placement_id: long.id.clone(),
                end_date: Some(date(today())),
                end_reason: EndReason::CustodyTransferred as i32,
                ..Default::default()
            }
        )
        .unwrap();
        let due = rpc!(
            h.office().await,
            list_custody_transfer_due,
            ListCustodyTransferDueRequest::default()
        )
        .unwrap();
        assert!(
            due.placements.is_empty(),
            "an ended placement is no longer due"
        );
    })
    .await;
}

#[tokio::test]
async fn only_approved_consenting_homes_for_24_hour_care_take_placements() {
    for_each_backend(|h| async move {
        let kid = h.register_child("0180", &child_pnr(8, 370)).await;
        let applicant = h.create_home(draft("Storgatan 1", &adult(121))).await;
        let s = expect_code(
            h.place(caseworker("0180"), &kid.id, &applicant.id, today())
                .await,
            Code::FailedPrecondition,
        );
        assert!(s.message().contains("HOME_STATUS_APPLICANT"), "{s:?}");

        let contact = h
            .approved_home(
                HomeDraft {
                    home_type: HomeType::ContactFamily as i32,
                    ..draft("Lillgatan 2", &adult(123))
                },
                "0180",
                days_ago(10),
            )
            .await;
        expect_code(
            h.place(caseworker("0180"), &kid.id, &contact.id, today())
                .await,
            Code::FailedPrecondition,
        );

        let paused = h
            .approved_home(draft("Mellangatan 3", &adult(125)), "0180", days_ago(10))
            .await;
        rpc!(
            h.office().await,
            transition_home,
            TransitionHomeRequest {
                home_id: paused.id.clone(),
                to_status: HomeStatus::Paused as i32,
                reason: "rest".into(),
                ..Default::default()
            }
        )
        .unwrap();
        expect_code(
            h.place(caseworker("0180"), &kid.id, &paused.id, today())
                .await,
            Code::FailedPrecondition,
        );

        let withdrawn = h
            .approved_home(draft("Sidogatan 4", &adult(127)), "0180", days_ago(10))
            .await;
        rpc!(
            h.client(family_home(&withdrawn.id)).await,
            withdraw_consent,
            WithdrawConsentRequest {
                home_id: withdrawn.id.clone(),
                reason: "no longer".into(),
                ..Default::default()
            }
        )
        .unwrap();
        let s = expect_code(
            h.place(caseworker("0180"), &kid.id, &withdrawn.id, today())
                .await,
            Code::FailedPrecondition,
        );
        assert!(s.message().contains("consent"), "{s:?}");

        // An overdue home may take a placement, but the caller is told.
        let overdue = h
            .approved_home(draft("Gamla vägen 5", &adult(129)), "0180", months_ago(13))
            .await;
        let r = h
            .place(caseworker("0180"), &kid.id, &overdue.id, today())
            .await
            .unwrap();
        assert_eq!(r.notices, vec!["home_reconfirmation_overdue".to_string()]);
    })
    .await;
}

#[tokio::test]
async fn a_unit_placement_takes_a_free_place() {
    for_each_backend(|h| async move {
        let mut office = h.office().await;
        let unit = rpc!(
            office,
            create_unit,
            CreateUnitRequest {
                name: "HVB Solgläntan".into(),
                kind: UnitKind::Hvb as i32,
                municipality_code: "1280".into(),
                places: 2,
                permit: valid_permit(),
                ..Default::default()
            }
        )
        .unwrap();
        rpc!(
            office,
            update_vacancies,
            UpdateVacanciesRequest {
                unit_id: unit.id.clone(),
                vacancies: 2,
                ..Default::default()
            }
        )
        .unwrap();
        let kids = children(&h, "0180", 3, 380).await;
        let mut cw = h.client(caseworker("0180")).await;
        let to_unit = |child: &Child| CreatePlacementRequest {
            unit_id: unit.id.clone(),
            ..placement(&child.id, "", days_ago(3))
        };

        let p = rpc!(cw, create_placement, to_unit(&kids[0]))
            .unwrap()
            .placement
            .unwrap();
        assert_eq!(p.unit_id, unit.id);
        assert!(p.home_id.is_empty());
        assert_eq!(p.receiving_municipality_code, "1280");
        let u = rpc!(
            office,
            get_unit,
            GetUnitRequest {
                unit_id: unit.id.clone()
            }
        )
        .unwrap();
        assert_eq!((u.placed_count, u.vacancies), (1, 1));

        rpc!(cw, create_placement, to_unit(&kids[1])).unwrap();
        let s = expect_code(
            rpc!(cw, create_placement, to_unit(&kids[2])),
            Code::FailedPrecondition,
        );
        assert!(s.message().contains("no free place"), "{s:?}");

        rpc!(
            cw,
            end_placement,
            EndPlacementRequest {
                placement_id: p.id.clone(),
                end_date: Some(date(today())),
                end_reason: EndReason::MovedToOtherPlacement as i32,
                ..Default::default()
            }
        )
        .unwrap();
        assert_eq!(
            rpc!(
                office,
                get_unit,
                GetUnitRequest {
                    unit_id: unit.id.clone()
                }
            )
            .unwrap()
            .placed_count,
            1
        );
        rpc!(cw, create_placement, to_unit(&kids[2])).expect("the freed place is taken");
    })
    .await;
}

#[tokio::test]
async fn placements_are_listed_within_the_callers_reach() {
    for_each_backend(|h| async move {
        let mut d = draft("Storgatan 1", &adult(121));
        d.municipality_code = "2480".into();
        let home = h.approved_home(d, "2480", days_ago(30)).await;
        let other_home = h
            .approved_home(draft("Lillgatan 2", &adult(123)), "0180", days_ago(30))
            .await;
        let a = h.register_child("0180", &child_pnr(8, 390)).await;
        let b = h.register_child("1480", &child_pnr(9, 392)).await;
        let pa = h
            .place(caseworker("0180"), &a.id, &home.id, days_ago(20))
            .await
            .unwrap()
            .placement
            .unwrap();
        let pb = h
            .place(caseworker("1480"), &b.id, &home.id, days_ago(10))
            .await
            .unwrap()
            .placement
            .unwrap();

        let hr = &h;
        let list = |ctx| async move {
            let r = rpc!(
                hr.client(ctx).await,
                list_placements,
                ListPlacementsRequest::default()
            )
            .unwrap();
            let mut ids: Vec<String> = r.placements.into_iter().map(|p| p.id).collect();
            ids.sort();
            ids
        };
        let mut both = vec![pa.id.clone(), pb.id.clone()];
        both.sort();
        assert_eq!(
            list(caseworker("0180")).await,
            vec![pa.id.clone()],
            "the placing municipality"
        );
        assert_eq!(list(caseworker("1480")).await, vec![pb.id.clone()]);
        assert_eq!(
            list(caseworker("2480")).await,
            both,
            "the receiving municipality sees both"
        );
        assert_eq!(
            list(family_home(&home.id)).await,
            both,
            "the home sees its own children's placements"
        );
        assert!(list(family_home(&other_home.id)).await.is_empty());
        assert_eq!(list(child_ctx(&a.id)).await, vec![pa.id.clone()]);
        assert_eq!(list(office()).await, both);

        rpc!(
            h.office().await,
            end_placement,
            EndPlacementRequest {
                placement_id: pa.id.clone(),
                end_date: Some(date(today())),
                end_reason: EndReason::Planned as i32,
                ..Default::default()
            }
        )
        .unwrap();
        let active = rpc!(
            h.office().await,
            list_placements,
            ListPlacementsRequest {
                home_id: home.id.clone(),
                active_only: true,
                ..Default::default()
            }
        )
        .unwrap();
        assert_eq!(
            active
                .placements
                .iter()
                .map(|p| p.id.as_str())
                .collect::<Vec<_>>(),
            vec![pb.id.as_str()]
        );
        let of_a = rpc!(
            h.office().await,
            list_placements,
            ListPlacementsRequest {
                child_id: a.id.clone(),
                ..Default::default()
            }
        )
        .unwrap();
        assert_eq!(of_a.placements.len(), 1);
        assert_eq!(of_a.placements[0].status, PlacementStatus::Ended as i32);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_placed_twice_at_once_ends_up_in_one_placement() {
    for_each_backend(|h| async move {
        let mut homes = Vec::new();
        for (i, street) in ["Storgatan 1", "Lillgatan 2", "Mellangatan 3", "Sidogatan 4"]
            .iter()
            .enumerate()
        {
            homes.push(
                h.approved_home(
                    draft(street, &adult(121 + 2 * i as u16)),
                    "0180",
                    days_ago(30),
                )
                .await,
            );
        }
        for round in 0..3u16 {
            let child = h
                .register_child("0180", &child_pnr(8, 500 + 2 * round))
                .await;
            let mut calls = Vec::new();
            for home in &homes {
                let (h, child_id, home_id) = (h.clone(), child.id.clone(), home.id.clone());
                calls.push(tokio::spawn(async move {
                    h.place(caseworker("0180"), &child_id, &home_id, days_ago(1))
                        .await
                }));
            }
            let mut placed = 0;
            for c in calls {
                match c.await.unwrap() {
                    Ok(_) => placed += 1,
                    Err(s) => assert!(
                        matches!(s.code(), Code::FailedPrecondition | Code::Aborted),
                        "{s:?}"
                    ),
                }
            }
            assert_eq!(placed, 1, "round {round}: a child has one active placement");
            let active = rpc!(
                h.office().await,
                list_placements,
                ListPlacementsRequest {
                    child_id: child.id.clone(),
                    active_only: true,
                    ..Default::default()
                }
            )
            .unwrap();
            assert_eq!(active.placements.len(), 1, "round {round}");
        }
        let total: i32 = {
            let mut n = 0;
            for home in &homes {
                n += h.get_home(&home.id).await.placed_count;
            }
            n
        };
        assert_eq!(total, 3, "placed counts match the placements");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_placements_never_exceed_the_approved_capacity() {
    for_each_backend(|h| async move {
        let home = h
            .approved_home(draft("Storgatan 1", &adult(121)), "0180", days_ago(30))
            .await;
        let kids = children(&h, "0180", 6, 520).await;
        let mut calls = Vec::new();
        for kid in &kids {
            let (h, child_id, home_id) = (h.clone(), kid.id.clone(), home.id.clone());
            calls.push(tokio::spawn(async move {
                h.place(caseworker("0180"), &child_id, &home_id, days_ago(1))
                    .await
            }));
        }
        let mut placed = 0;
        for c in calls {
            match c.await.unwrap() {
                Ok(r) => {
                    placed += 1;
                    assert!(r.notices.is_empty(), "{:?}", r.notices);
                }
                Err(s) => assert!(
                    matches!(s.code(), Code::FailedPrecondition | Code::Aborted),
                    "{s:?}"
                ),
            }
        }
        assert!((1..=3).contains(&placed), "{placed} placed");
        let now = h.get_home(&home.id).await;
        assert_eq!(
            now.placed_count, placed,
            "the count matches the placements made"
        );
        let active = rpc!(
            h.office().await,
            list_placements,
            ListPlacementsRequest {
                home_id: home.id.clone(),
                active_only: true,
                ..Default::default()
            }
        )
        .unwrap();
        assert_eq!(active.placements.len() as i32, placed);
    })
    .await;
}
