//! Who sees what, over gRPC: authentication of the signed context, personal
//! data only once a placement makes it a municipality's business, protected
//! identity, aggregates-only roles and municipal boundaries.

use crate::common;

use common::*;
use samling_kit::auth::{self, AuthContext, ContextSigner, Role};
use samling_proto::registry::v1::registry_service_client::RegistryServiceClient;
use samling_proto::registry::v1::*;
use tokio_stream::StreamExt;
use tonic::Code;

#[tokio::test]
async fn a_request_without_a_signed_context_is_unauthenticated() {
    for_each_backend(|h| async move {
        let home = h.create_home(draft("Storgatan 1", &adult(121))).await;

        let mut bare = RegistryServiceClient::connect(h.endpoint.clone())
            .await
            .unwrap();
        let s = expect_code(
            bare.get_home(GetHomeRequest {
                home_id: home.id.clone(),
            })
            .await,
            Code::Unauthenticated,
        );
        assert!(s.message().contains("missing"), "{s:?}");

        let forger = ContextSigner::generate().unwrap();
        let mut forged =
            samling_registry::client::RegistryClient::connect(&h.endpoint, forger, office())
                .await
                .unwrap();
        expect_code(forged.get_home(&home.id).await, Code::Unauthenticated);
        expect_code(
            forged
                .create_home("x", draft("Lillgatan 2", &adult(123)))
                .await,
            Code::Unauthenticated,
        );

        let mut expired = office();
        expired.exp = chrono::Utc::now().timestamp() - 1;
        let mut req = tonic::Request::new(GetHomeRequest {
            home_id: home.id.clone(),
        });
        auth::attach(&mut req, &h.signer.sign_exact(&expired)).unwrap();
        let s = expect_code(bare.get_home(req).await, Code::Unauthenticated);
        assert!(s.message().contains("expired"), "{s:?}");

        let mut garbage = tonic::Request::new(GetHomeRequest {
            home_id: home.id.clone(),
        });
        auth::attach(&mut garbage, "not-a-token").unwrap();
        expect_code(bare.get_home(garbage).await, Code::Unauthenticated);

        // Nothing was created by the refused calls.
        let all = rpc!(
            h.office().await,
            search_homes,
            SearchHomesRequest {
                include_unplaceable: true,
                include_overdue: true,
                ..Default::default()
            }
        )
        .unwrap();
        assert_eq!(all.homes.len(), 1);
    })
    .await;
}

#[tokio::test]
async fn a_caseworker_sees_home_personal_data_only_once_their_municipality_places_there() {
    for_each_backend(|h| async move {
        // Approved by Göteborg's nämnd, so Stockholm has nothing to do with it yet.
        let home = h
            .approved_home(draft("Storgatan 1", &adult(121)), "1480", days_ago(30))
            .await;
        let mut cw = h.client(caseworker("0180")).await;

        let before = cw.get_home(&home.id).await.unwrap();
        assert!(before.personal_data_redacted);
        assert!(before.members.is_empty(), "no members before a placement");
        assert!(before.address.is_none(), "no address before a placement");
        assert_eq!(
            before.municipality_code, "0180",
            "the non-personal profile is visible"
        );
        assert_eq!(before.languages, vec!["svenska"]);

        let child = h.register_child("0180", &child_pnr(9, 246)).await;
        h.place(caseworker("0180"), &child.id, &home.id, days_ago(1))
            .await
            .unwrap();

        let after = cw.get_home(&home.id).await.unwrap();
        assert!(!after.personal_data_redacted);
        assert_eq!(after.members.len(), 1);
        assert_eq!(after.members[0].personnummer, canonical(&adult(121)));
        assert_eq!(after.address.unwrap().street, "Storgatan 1");

        // The approving municipality sees it too; an unrelated one still does not.
        assert!(
            !h.client(caseworker("1480"))
                .await
                .get_home(&home.id)
                .await
                .unwrap()
                .personal_data_redacted
        );
        assert!(
            h.client(manager("1280"))
                .await
                .get_home(&home.id)
                .await
                .unwrap()
                .personal_data_redacted
        );
        // Ombud see homes without personal data.
        assert!(
            h.client(ombud())
                .await
                .get_home(&home.id)
                .await
                .unwrap()
                .personal_data_redacted
        );
    })
    .await;
}

#[tokio::test]
async fn a_protected_home_address_is_withheld_from_a_municipality_whose_placement_ended() {
    for_each_backend(|h| async move {
        let mut d = draft("Hemliga vägen 9", &adult(121));
        d.protected_identity = true;
        let home = h.approved_home(d, "1480", days_ago(60)).await;
        let child = h.register_child("0180", &child_pnr(12, 248)).await;
        let placed = h
            .place(caseworker("0180"), &child.id, &home.id, days_ago(40))
            .await
            .unwrap();
        let mut cw = h.client(caseworker("0180")).await;

        // A placement does not unlock a protected address (a caseworker
        // could register a child and place it to read it): disclosure is
        // the office's act. The household is the municipality's business.
        let during = cw.get_home(&home.id).await.unwrap();
        assert!(during.address.is_none(), "{during:?}");
        assert!(during.municipality_code.is_empty() && during.region_id.is_empty());
        assert_eq!(during.members.len(), 1);

        rpc!(
            cw,
            end_placement,
            EndPlacementRequest {
                placement_id: placed.placement.unwrap().id,
                end_date: Some(date(days_ago(2))),
                end_reason: EndReason::ReturnedHome as i32,
                ..Default::default()
            }
        )
        .unwrap();
        let after = cw.get_home(&home.id).await.unwrap();
        assert!(
            after.address.is_none(),
            "the address is withheld once the placement ended"
        );
        assert!(after.personal_data_redacted);
        assert_eq!(
            after.members.len(),
            1,
            "the household is still known to the municipality"
        );

        // Approval alone does not open a protected address either.
        assert!(
            h.client(caseworker("1480"))
                .await
                .get_home(&home.id)
                .await
                .unwrap()
                .address
                .is_none()
        );
        // The home itself sees it; the office only through its explicit,
        // audited reveal (the next test).
        assert!(h.get_home(&home.id).await.address.is_none());
        assert!(
            h.client(family_home(&home.id))
                .await
                .get_home(&home.id)
                .await
                .unwrap()
                .address
                .is_some()
        );
        // History snapshots are redacted the same way.
        let history = rpc!(
            cw,
            get_home_history,
            GetHomeHistoryRequest {
                home_id: home.id.clone(),
                page: None
            }
        )
        .unwrap();
        assert!(
            history
                .versions
                .iter()
                .all(|v| v.snapshot.as_ref().unwrap().address.is_none())
        );
    })
    .await;
}

#[tokio::test]
async fn a_protected_address_takes_the_offices_explicit_audited_reveal() {
    for_each_backend(|h| async move {
        let mut d = draft("Hemliga vägen 11", &adult(131));
        d.protected_identity = true;
        let home = h.approved_home(d, "0180", days_ago(60)).await;
        let open = h.create_home(draft("Öppna vägen 2", &adult(133))).await;
        let mut office = h.office().await;

        // An ordinary read of the office: the household and where the home
        // is, not the address; every answer to a write the same.
        let read = office.get_home(&home.id).await.unwrap();
        assert!(
            read.address.is_none() && read.personal_data_redacted,
            "{read:?}"
        );
        assert_eq!(
            (read.members.len(), read.municipality_code.as_str()),
            (1, "0180")
        );
        let history = rpc!(
            office,
            get_home_history,
            GetHomeHistoryRequest {
                home_id: home.id.clone(),
                page: None
            }
        )
        .unwrap();
        assert!(
            history
                .versions
                .iter()
                .all(|v| v.snapshot.as_ref().unwrap().address.is_none())
        );
        let answer = rpc!(
            office,
            record_incident,
            RecordIncidentRequest {
                home_id: home.id.clone(),
                occurred_on: Some(date(days_ago(1))),
                category: "visit".into(),
                ..Default::default()
            }
        )
        .unwrap();
        assert!(answer.address.is_none(), "{answer:?}");

        // The reason is required, named as the field.
        for reason in ["", "   ", "line\nbreak"] {
            expect_invalid(
                rpc!(
                    office,
                    reveal_protected_address,
                    RevealProtectedAddressRequest {
                        home_id: home.id.clone(),
                        reason: reason.into()
                    }
                ),
                "reason",
            );
        }
        let reason = "follow-up visit of a placed child";
        let revealed = rpc!(
            office,
            reveal_protected_address,
            RevealProtectedAddressRequest {
                home_id: home.id.clone(),
                reason: reason.into()
            }
        )
        .unwrap();
        assert_eq!(revealed.address.unwrap().street, "Hemliga vägen 11");
        let audit = rpc!(
            office,
            list_audit,
            samling_proto::common::v1::ListAuditRequest {
                record_id: home.id.clone(),
                page: None
            }
        )
        .unwrap();
        let reveals: Vec<_> = audit
            .entries
            .iter()
            .filter(|e| e.action == "reveal_protected_address")
            .collect();
        assert_eq!(reveals.len(), 1, "{audit:?}");
        assert_eq!(
            (reveals[0].subject.as_str(), reveals[0].reason.as_str()),
            (OFFICER, reason)
        );
        // Nothing to reveal of a home without protected identity.
        expect_code(
            rpc!(
                office,
                reveal_protected_address,
                RevealProtectedAddressRequest {
                    home_id: open.id.clone(),
                    reason: reason.into()
                }
            ),
            Code::FailedPrecondition,
        );

        // No municipality reveals it, not even with an active placement
        // there; nor the ombud, the aggregate roles or the home's user.
        let child = h.register_child("0180", &child_pnr(12, 250)).await;
        h.place(caseworker("0180"), &child.id, &home.id, days_ago(10))
            .await
            .unwrap();
        for ctx in [
            caseworker("0180"),
            manager("0180"),
            ombud(),
            analyst(),
            family_home(&home.id),
        ] {
            expect_code(
                rpc!(
                    h.client(ctx).await,
                    reveal_protected_address,
                    RevealProtectedAddressRequest {
                        home_id: home.id.clone(),
                        reason: reason.into()
                    }
                ),
                Code::PermissionDenied,
            );
        }
    })
    .await;
}

#[tokio::test]
async fn a_national_analyst_sees_aggregates_only() {
    for_each_backend(|h| async move {
        let home = h
            .approved_home(draft("Storgatan 1", &adult(121)), "0180", days_ago(30))
            .await;
        let child = h.register_child("0180", &child_pnr(7, 250)).await;
        let mut analyst = h.client(analyst()).await;

        expect_code(analyst.get_home(&home.id).await, Code::PermissionDenied);
        expect_code(
            rpc!(
                analyst,
                get_child,
                GetChildRequest {
                    child_id: child.id.clone()
                }
            ),
            Code::PermissionDenied,
        );
        expect_code(
            rpc!(
                analyst,
                get_home_history,
                GetHomeHistoryRequest {
                    home_id: home.id.clone(),
                    page: None
                }
            ),
            Code::PermissionDenied,
        );
        expect_code(
            rpc!(analyst, list_children, ListChildrenRequest::default()),
            Code::PermissionDenied,
        );
        expect_code(
            rpc!(analyst, list_placements, ListPlacementsRequest::default()),
            Code::PermissionDenied,
        );

        // No individual homes either, not even summaries (finding 5).
        expect_code(
            rpc!(analyst, search_homes, SearchHomesRequest::default()),
            Code::PermissionDenied,
        );
        let (year, quarter) = (chrono::Datelike::year(&today()), 1);
        let report = rpc!(
            analyst,
            get_quarterly_report,
            GetQuarterlyReportRequest {
                municipality_code: String::new(),
                year,
                quarter
            }
        )
        .unwrap();
        assert_eq!(report.total_not_executed, 0);

        // A council member is held to the same line.
        let mut council = h.client(council_member()).await;
        expect_code(council.get_home(&home.id).await, Code::PermissionDenied);
        assert!(
            rpc!(
                council,
                get_quarterly_report,
                GetQuarterlyReportRequest {
                    municipality_code: String::new(),
                    year,
                    quarter
                }
            )
            .is_ok()
        );
        // One municipality's figures are not theirs (a table to difference).
        expect_code(
            rpc!(
                council,
                get_quarterly_report,
                GetQuarterlyReportRequest {
                    municipality_code: "0180".into(),
                    year,
                    quarter
                }
            ),
            Code::PermissionDenied,
        );
    })
    .await;
}

#[tokio::test]
async fn a_caseworker_reaches_only_their_own_municipalitys_children() {
    for_each_backend(|h| async move {
        let stockholm = h.register_child("0180", &child_pnr(10, 252)).await;
        let goteborg = h.register_child("1480", &child_pnr(11, 254)).await;
        let mut sthlm = h.client(caseworker("0180")).await;
        let mut gbg = h.client(caseworker("1480")).await;

        let own = rpc!(
            sthlm,
            get_child,
            GetChildRequest {
                child_id: stockholm.id.clone()
            }
        )
        .unwrap();
        assert_eq!(own.personnummer, canonical(&child_pnr(10, 252)));
        assert!(!own.personal_data_redacted);
        // Another municipality's child answers as a missing one does (no
        // existence oracle): the same code, the same words.
        let hidden = expect_code(
            rpc!(
                gbg,
                get_child,
                GetChildRequest {
                    child_id: stockholm.id.clone()
                }
            ),
            Code::NotFound,
        );
        let missing_id = samling_kit::ids::new_id_string();
        let missing = expect_code(
            rpc!(
                gbg,
                get_child,
                GetChildRequest {
                    child_id: missing_id.clone()
                }
            ),
            Code::NotFound,
        );
        assert_eq!(
            hidden.message().replace(&stockholm.id, "ID"),
            missing.message().replace(&missing_id, "ID")
        );

        let listed = rpc!(sthlm, list_children, ListChildrenRequest::default()).unwrap();
        assert_eq!(
            listed
                .children
                .iter()
                .map(|c| c.id.as_str())
                .collect::<Vec<_>>(),
            vec![stockholm.id.as_str()]
        );
        expect_code(
            rpc!(
                gbg,
                list_children,
                ListChildrenRequest {
                    municipality_code: "0180".into(),
                    page: None
                }
            ),
            Code::PermissionDenied,
        );

        // Registering or protecting another municipality's child is refused.
        let other = RegisterChildRequest {
            personnummer: child_pnr(5, 256),
            given_name: "A".into(),
            family_name: "B".into(),
            placing_municipality_code: "0180".into(),
            ..Default::default()
        };
        expect_code(rpc!(gbg, register_child, other), Code::PermissionDenied);
        expect_code(
            rpc!(
                gbg,
                set_child_protection,
                SetChildProtectionRequest {
                    child_id: stockholm.id.clone(),
                    protected_identity: true,
                    ..Default::default()
                }
            ),
            Code::NotFound,
        );
        let protected = rpc!(
            sthlm,
            set_child_protection,
            SetChildProtectionRequest {
                child_id: stockholm.id.clone(),
                protected_identity: true,
                ..Default::default()
            }
        )
        .unwrap();
        assert!(protected.protected_identity);
        assert_eq!(protected.version, 2);

        // Ombud see only children the ombud service assigned to them
        // (tests/it/ombud.rs): none here. The child reads its own record only.
        let mut ombud = h.client(ombud()).await;
        expect_code(
            rpc!(
                ombud,
                get_child,
                GetChildRequest {
                    child_id: goteborg.id.clone()
                }
            ),
            Code::NotFound,
        );
        let listed = rpc!(ombud, list_children, ListChildrenRequest::default()).unwrap();
        assert!(listed.children.is_empty(), "{listed:?}");
        let mut me = h.client(child_ctx(&goteborg.id)).await;
        assert!(
            rpc!(
                me,
                get_child,
                GetChildRequest {
                    child_id: goteborg.id.clone()
                }
            )
            .is_ok()
        );
        expect_code(
            rpc!(
                me,
                get_child,
                GetChildRequest {
                    child_id: stockholm.id.clone()
                }
            ),
            Code::NotFound,
        );

        // Registration validates the personnummer and the age of care.
        let bad = RegisterChildRequest {
            personnummer: "20150101-0000".into(),
            given_name: "A".into(),
            family_name: "B".into(),
            placing_municipality_code: "0180".into(),
            ..Default::default()
        };
        expect_invalid(rpc!(sthlm, register_child, bad), "personnummer");
        let grown = RegisterChildRequest {
            personnummer: adult(141),
            given_name: "A".into(),
            family_name: "B".into(),
            placing_municipality_code: "0180".into(),
            ..Default::default()
        };
        expect_invalid(rpc!(sthlm, register_child, grown), "personnummer");
    })
    .await;
}

#[tokio::test]
async fn only_the_office_keeps_the_register_and_only_a_manager_records_approvals() {
    for_each_backend(|h| async move {
        let home = h.create_home(draft("Storgatan 1", &adult(121))).await;
        rpc!(
            h.office().await,
            transition_home,
            TransitionHomeRequest {
                home_id: home.id.clone(),
                to_status: HomeStatus::UnderAssessment as i32,
                reason: "study".into(),
                ..Default::default()
            }
        )
        .unwrap();
        let approval = |m: &str| RecordApprovalRequest {
            home_id: home.id.clone(),
            municipality_code: m.into(),
            decision_date: Some(date(days_ago(1))),
            decision_ref: "SN 1".into(),
            ..Default::default()
        };
        let mut cw = h.client(caseworker("0180")).await;
        expect_code(
            rpc!(cw, record_approval, approval("0180")),
            Code::PermissionDenied,
        );
        expect_code(
            rpc!(
                h.client(manager("1480")).await,
                record_approval,
                approval("0180")
            ),
            Code::PermissionDenied,
        );
        let approved = rpc!(
            h.client(manager("0180")).await,
            record_approval,
            approval("0180")
        )
        .unwrap();
        assert_eq!(approved.status, HomeStatus::Approved as i32);
        assert_eq!(approved.approvals[0].recorded_by, "manager-0180");

        expect_code(
            cw.create_home("c-1", draft("Lillgatan 2", &adult(123)))
                .await,
            Code::PermissionDenied,
        );
        expect_code(
            rpc!(
                cw,
                transition_home,
                TransitionHomeRequest {
                    home_id: home.id.clone(),
                    to_status: HomeStatus::Paused as i32,
                    ..Default::default()
                }
            ),
            Code::PermissionDenied,
        );
        expect_code(
            rpc!(
                cw,
                list_audit,
                samling_proto::common::v1::ListAuditRequest::default()
            ),
            Code::PermissionDenied,
        );
        let req = cw.request(samling_proto::common::v1::WatchEventsRequest {
            after: 0,
            event_types: vec![],
            stop_at_end: true,
        });
        expect_code(
            cw.raw().watch_events(req).await.map(|_| ()),
            Code::PermissionDenied,
        );
        expect_code(
            rpc!(
                h.client(child_ctx("c")).await,
                list_agencies,
                ListAgenciesRequest::default()
            ),
            Code::PermissionDenied,
        );
        // Bad ids are named, not looked up.
        expect_invalid(h.office().await.get_home("not-an-id").await, "home_id");
        expect_code(
            h.office()
                .await
                .get_home("00000000-0000-7000-8000-000000000000")
                .await,
            Code::NotFound,
        );
    })
    .await;
}

#[tokio::test]
async fn a_protected_homes_location_is_not_revealed_by_search() {
    for_each_backend(|h| async move {
        let mut d = draft("Skyddade gatan 1", &adult(131));
        d.protected_identity = true;
        d.municipality_code = "0180".into();
        let home = h.approved_home(d, "0180", days_ago(10)).await;
        let mut cw = h.client(caseworker("1480")).await;

        let by_place = cw
            .search_homes(SearchHomesRequest {
                include_unplaceable: true,
                municipality_code: "0180".into(),
                ..Default::default()
            })
            .await
            .unwrap();
        assert!(
            by_place.homes.iter().all(|s| s.id != home.id),
            "a location-filtered search must not confirm where a protected home is"
        );

        let national = cw
            .search_homes(SearchHomesRequest::default())
            .await
            .unwrap();
        let found = national.homes.iter().find(|s| s.id == home.id).unwrap();
        assert!(found.protected_identity && found.municipality_code.is_empty());

        let seen = cw.get_home(&home.id).await.unwrap();
        assert!(seen.municipality_code.is_empty() && seen.address.is_none());

        // The office keeps the full picture.
        let mut office = h.office().await;
        let office = office
            .search_homes(SearchHomesRequest {
                include_unplaceable: true,
                municipality_code: "0180".into(),
                ..Default::default()
            })
            .await
            .unwrap();
        let mine = office.homes.iter().find(|s| s.id == home.id).unwrap();
        assert_eq!(mine.municipality_code, "0180");
    })
    .await;
}

// ---------------------------------------------------------------- issue 18

/// A protected home in Täby (0160), under assessment.
async fn protected_home_under_assessment(h: &Harness) -> Home {
    let mut d = draft("Hemliga vägen 9", &adult(161));
    d.municipality_code = "0160".into();
    d.protected_identity = true;
    protected_home_under_assessment_from(h, d).await
}

fn approval(home_id: &str, municipality: &str, decision_ref: &str) -> RecordApprovalRequest {
    RecordApprovalRequest {
        home_id: home_id.into(),
        municipality_code: municipality.into(),
        decision_date: Some(date(days_ago(1))),
        decision_ref: decision_ref.into(),
        ..Default::default()
    }
}

/// No address, location or household of a protected home in `h`.
#[track_caller]
fn shows_nothing_of_where(h: &Home) {
    assert!(h.address.is_none(), "address: {h:?}");
    assert!(
        h.municipality_code.is_empty() && h.county_code.is_empty() && h.region_id.is_empty(),
        "location: {h:?}"
    );
    assert!(
        h.approvals.iter().all(|a| a.municipality_code.is_empty()),
        "approvals: {h:?}"
    );
    assert!(h.personal_data_redacted);
}

#[tokio::test]
async fn a_manager_without_a_link_to_a_protected_home_cannot_approve_it() {
    for_each_backend(|h| async move {
        let home = protected_home_under_assessment(&h).await;

        // Finding 1: Göteborg's manager "approves" a Täby home.
        expect_code(
            rpc!(
                h.client(manager("1480")).await,
                record_approval,
                approval(&home.id, "1480", "fake-1")
            ),
            Code::PermissionDenied,
        );
        let unchanged = h.get_home(&home.id).await;
        assert_eq!(unchanged.status, HomeStatus::UnderAssessment as i32);
        assert!(unchanged.approvals.is_empty());
        assert!(unchanged.reconfirmation_due_on.is_none());
        let seen = h
            .client(manager("1480"))
            .await
            .get_home(&home.id)
            .await
            .unwrap();
        shows_nothing_of_where(&seen);
        assert!(seen.members.is_empty(), "{seen:?}");

        // The home's own municipality (its assessment) records the decision;
        // the answer goes through the same view as a read: no address, no
        // location, though the household is now its business.
        let answer = rpc!(
            h.client(manager("0160")).await,
            record_approval,
            approval(&home.id, "0160", "SN 2026/1")
        )
        .unwrap();
        assert_eq!(answer.status, HomeStatus::Approved as i32);
        assert!(answer.address.is_none() && answer.municipality_code.is_empty());
        assert!(answer.region_id.is_empty() && answer.county_code.is_empty());
        assert_eq!(answer.members.len(), 1);
        assert_eq!(answer.approvals.len(), 1, "its own decision");

        // The event does not say which municipality approved a protected home.
        let approved = h
            .events()
            .await
            .into_iter()
            .find(|e| e.event_type == "registry.home_approved")
            .expect("home_approved");
        assert!(
            !approved.payload_json.contains("0160"),
            "{}",
            approved.payload_json
        );
    })
    .await;
}

#[tokio::test]
async fn a_municipality_the_office_assigns_to_investigate_may_record_the_approval() {
    for_each_backend(|h| async move {
        let home = protected_home_under_assessment(&h).await;
        let mut gbg = h.client(manager("1480")).await;
        expect_code(
            rpc!(
                gbg,
                record_approval,
                approval(&home.id, "1480", "SN 2026/7")
            ),
            Code::PermissionDenied,
        );
        // Only the office assigns, not the municipality itself.
        let assign = |request_id: &str| AssignInvestigatingMunicipalityRequest {
            request_id: request_id.into(),
            home_id: home.id.clone(),
            municipality_code: "1480".into(),
            reason: "the family is moving to Göteborg".into(),
        };
        expect_code(
            rpc!(gbg, assign_investigating_municipality, assign("g-1")),
            Code::PermissionDenied,
        );
        expect_invalid(
            rpc!(
                h.office().await,
                assign_investigating_municipality,
                AssignInvestigatingMunicipalityRequest {
                    municipality_code: "99".into(),
                    ..assign("bad")
                }
            ),
            "municipality_code",
        );
        let before = h.get_home(&home.id).await.version;
        let assigned = rpc!(
            h.office().await,
            assign_investigating_municipality,
            assign("a-1")
        )
        .unwrap();
        // Recorded on the home as a new version.
        assert_eq!(assigned.version, before + 1);
        assert_eq!(assigned.investigations.len(), 1);
        assert_eq!(assigned.investigations[0].municipality_code, "1480");
        assert_eq!(assigned.investigations[0].assigned_by, OFFICER);
        // A retry replays, a second assignment of the same one conflicts.
        let again = rpc!(
            h.office().await,
            assign_investigating_municipality,
            assign("a-1")
        )
        .unwrap();
        assert_eq!(again.version, assigned.version);
        expect_code(
            rpc!(
                h.office().await,
                assign_investigating_municipality,
                assign("a-2")
            ),
            Code::Aborted,
        );

        // Audited; in the history; announced with codes only, and for a
        // protected home without the municipality (it points at where).
        let audit = rpc!(
            h.office().await,
            list_audit,
            samling_proto::common::v1::ListAuditRequest {
                record_id: home.id.clone(),
                page: None
            }
        )
        .unwrap();
        assert!(
            audit
                .entries
                .iter()
                .any(|e| e.action == "investigation_assigned" && e.subject == OFFICER),
            "{audit:?}"
        );
        let history = rpc!(
            h.office().await,
            get_home_history,
            GetHomeHistoryRequest {
                home_id: home.id.clone(),
                page: None
            }
        )
        .unwrap();
        assert!(
            history
                .versions
                .iter()
                .any(|v| v.change == "investigation_assigned" && v.reason.contains("moving"))
        );
        let event = h
            .events()
            .await
            .into_iter()
            .find(|e| e.event_type == "registry.investigation_assigned")
            .expect("investigation_assigned");
        assert!(event.payload_json.contains(&home.id));
        assert!(
            !event.payload_json.contains("1480") && !event.payload_json.contains("moving"),
            "{}",
            event.payload_json
        );

        // Now Göteborg's manager records its nämnd's approval; the answer is
        // its view of a protected home (its own assignment and approval only).
        let answer = rpc!(
            gbg,
            record_approval,
            approval(&home.id, "1480", "SN 2026/7")
        )
        .unwrap();
        assert_eq!(answer.status, HomeStatus::Approved as i32);
        assert!(answer.address.is_none() && answer.municipality_code.is_empty());
        assert_eq!(answer.investigations.len(), 1);
        // Another municipality sees neither the assignment nor the approval.
        let other = h
            .client(manager("1281"))
            .await
            .get_home(&home.id)
            .await
            .unwrap();
        assert!(
            other.investigations.is_empty() && other.approvals.is_empty(),
            "{other:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_municipal_approval_does_not_restart_the_annual_reconfirmation() {
    for_each_backend(|h| async move {
        let decided = months_ago(10);
        let home = h
            .approved_home(draft("Storgatan 1", &adult(163)), "0180", decided)
            .await;
        let due = naive(&home.reconfirmation_due_on);
        assert!(due > today());

        let mut req = approval(&home.id, "0180", "SN 2026/99");
        req.decision_date = Some(date(today()));
        let after = rpc!(h.client(manager("0180")).await, record_approval, req).unwrap();
        assert_eq!(after.approvals.len(), 2);
        assert_eq!(
            naive(&after.reconfirmation_due_on),
            due,
            "re-confirmation is the office's act"
        );

        // The office's decision moves it.
        let mut req = approval(&home.id, "0180", "SN 2026/100");
        req.decision_date = Some(date(today()));
        let moved = rpc!(h.office().await, record_approval, req).unwrap();
        assert!(naive(&moved.reconfirmation_due_on) > due);
    })
    .await;
}

#[tokio::test]
async fn a_self_made_placement_does_not_open_a_protected_home_and_other_regions_children_stay_out()
{
    for_each_backend_in(Some("stockholm-gotland"), |h| async move {
        let home = protected_home_under_assessment(&h).await;
        rpc!(
            h.office().await,
            record_approval,
            approval(&home.id, "0160", "SN 2026/7")
        )
        .unwrap();

        // Finding 2, first half: a child of another region is not registered here.
        let mut gbg = h.client(caseworker("1480")).await;
        expect_invalid(
            rpc!(
                gbg,
                register_child,
                RegisterChildRequest {
                    personnummer: child_pnr(8, 402),
                    given_name: "Invented".into(),
                    family_name: "Child".into(),
                    placing_municipality_code: "1480".into(),
                    ..Default::default()
                }
            ),
            "placing_municipality_code",
        );

        // Second half: Stockholm's caseworker registers a child and places it there.
        let mut cw = h.client(caseworker("0180")).await;
        let child = rpc!(
            cw,
            register_child,
            RegisterChildRequest {
                personnummer: child_pnr(8, 404),
                given_name: "Invented".into(),
                family_name: "Child".into(),
                placing_municipality_code: "0180".into(),
                ..Default::default()
            }
        )
        .unwrap()
        .child
        .unwrap();
        let placed = h
            .place(caseworker("0180"), &child.id, &home.id, days_ago(1))
            .await
            .unwrap()
            .placement
            .unwrap();
        assert!(
            placed.receiving_municipality_code.is_empty(),
            "the answer does not say where the protected home is: {placed:?}"
        );
        let seen = cw.get_home(&home.id).await.unwrap();
        shows_nothing_of_where(&seen);
        assert!(
            seen.members.is_empty(),
            "a self-made placement shows no household: {seen:?}"
        );
        let history = rpc!(
            cw,
            get_home_history,
            GetHomeHistoryRequest {
                home_id: home.id.clone(),
                page: None
            }
        )
        .unwrap();
        for v in &history.versions {
            let snap = v.snapshot.as_ref().unwrap();
            shows_nothing_of_where(snap);
            assert!(snap.members.is_empty());
        }

        // A child the office registered and the municipality placed: the
        // household is its business, the address and location still not.
        let other = h.register_child("0180", &child_pnr(6, 406)).await;
        h.place(caseworker("0180"), &other.id, &home.id, days_ago(1))
            .await
            .unwrap();
        let seen = cw.get_home(&home.id).await.unwrap();
        shows_nothing_of_where(&seen);
        assert_eq!(seen.members.len(), 1);
    })
    .await;
}

#[tokio::test]
async fn a_regional_officer_works_in_its_own_regions_register_only() {
    for_each_backend_in(Some("stockholm-gotland"), |h| async move {
        let home = h.create_home(draft("Storgatan 1", &adult(165))).await;
        let child = h.register_child("0180", &child_pnr(9, 408)).await;
        for claim in ["norr", "atlantis"] {
            let mut ctx = office();
            ctx.region = Some(claim.into());
            let mut other = h.client(ctx).await;
            expect_code(other.get_home(&home.id).await, Code::PermissionDenied);
            expect_code(
                other
                    .create_home("", draft("Lillgatan 2", &adult(167)))
                    .await,
                Code::PermissionDenied,
            );
            expect_code(
                rpc!(
                    other,
                    get_child,
                    GetChildRequest {
                        child_id: child.id.clone()
                    }
                ),
                Code::PermissionDenied,
            );
            expect_code(
                rpc!(other, search_homes, SearchHomesRequest::default()),
                Code::PermissionDenied,
            );
            let req = other.request(samling_proto::common::v1::WatchEventsRequest {
                after: 0,
                event_types: vec![],
                stop_at_end: true,
            });
            expect_code(
                other.raw().watch_events(req).await.map(|_| ()),
                Code::PermissionDenied,
            );
        }
        // An officer's context without a region is bound to no register.
        let mut ctx = office();
        ctx.region = None;
        let mut unbound = h.client(ctx).await;
        expect_code(unbound.get_home(&home.id).await, Code::PermissionDenied);
        expect_code(
            rpc!(unbound, search_homes, SearchHomesRequest::default()),
            Code::PermissionDenied,
        );
        let mut ctx = office();
        ctx.region = Some("stockholm-gotland".into());
        let own = h.client(ctx).await.get_home(&home.id).await.unwrap();
        assert!(own.address.is_some());

        // National roles stay national: a region claim does not bind them.
        let mut council = AuthContext::new("council-2", Role::CouncilMember);
        council.region = Some("norr".into());
        assert!(
            rpc!(
                h.client(council).await,
                get_quarterly_report,
                GetQuarterlyReportRequest {
                    municipality_code: String::new(),
                    year: chrono::Datelike::year(&today()),
                    quarter: 1
                }
            )
            .is_ok()
        );
    })
    .await;
}

/// A refusal's reason, as a gRPC client reads it (docs/reason-codes.md).
#[track_caller]
fn reason_of<T: std::fmt::Debug>(r: Result<T, tonic::Status>) -> (Code, String, String) {
    let s = r.expect_err("a refusal");
    let meta = |key: &str| {
        s.metadata()
            .get(key)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    (
        s.code(),
        meta(samling_kit::error::REASON_METADATA_KEY),
        meta(samling_kit::error::FIELD_METADATA_KEY),
    )
}

#[tokio::test]
async fn every_refusal_carries_its_reason_and_field_in_grpc_metadata() {
    for_each_backend_in(Some("stockholm-gotland"), |h| async move {
        let want = |code, reason: &str, field: &str| (code, reason.to_string(), field.to_string());
        let mut officer = office();
        officer.region = Some("stockholm-gotland".into());
        let home = h
            .client(officer.clone())
            .await
            .create_home("", draft("Storgatan 1", &adult(181)))
            .await
            .unwrap()
            .home
            .unwrap();

        let mut bare = RegistryServiceClient::connect(h.endpoint.clone())
            .await
            .unwrap();
        let get = GetHomeRequest {
            home_id: home.id.clone(),
        };
        assert_eq!(
            reason_of(bare.get_home(get).await),
            want(Code::Unauthenticated, "UNAUTHENTICATED", "")
        );
        let mut norr = officer.clone();
        norr.region = Some("norr".into());
        assert_eq!(
            reason_of(h.client(norr).await.get_home(&home.id).await),
            want(Code::PermissionDenied, "OUT_OF_REGION", "")
        );
        assert_eq!(
            reason_of(
                h.client(caseworker("0180"))
                    .await
                    .create_home("", draft("Lillgatan 2", &adult(183)))
                    .await
            ),
            want(Code::PermissionDenied, "FORBIDDEN_ROLE", "")
        );
        let mut stockholm = h.client(caseworker("0180")).await;
        let child = RegisterChildRequest {
            request_id: "reasons-1".into(),
            personnummer: child_pnr(6, 184),
            given_name: "Kim".into(),
            family_name: "Lind".into(),
            placing_municipality_code: "1480".into(),
            ..Default::default()
        };
        assert_eq!(
            reason_of(rpc!(stockholm, register_child, child.clone())),
            want(Code::PermissionDenied, "NOT_OWN_MUNICIPALITY", "")
        );
        let mut office_client = h.client(officer).await;
        assert_eq!(
            reason_of(
                office_client
                    .get_home(&samling_kit::ids::new_id_string())
                    .await
            ),
            want(Code::NotFound, "NOT_FOUND", "")
        );
        let mut bad = draft("Storgatan 3", &adult(185));
        bad.capacity = 99;
        assert_eq!(
            reason_of(office_client.create_home("", bad).await),
            want(Code::InvalidArgument, "INVALID_FIELD", "draft.capacity")
        );
        // A request id used again for another request.
        let child = RegisterChildRequest {
            placing_municipality_code: "0180".into(),
            ..child
        };
        rpc!(stockholm, register_child, child.clone()).unwrap();
        let other = RegisterChildRequest {
            personnummer: child_pnr(6, 186),
            ..child
        };
        assert_eq!(
            reason_of(rpc!(stockholm, register_child, other)),
            want(
                Code::InvalidArgument,
                "IDEMPOTENCY_KEY_REUSED",
                "request_id"
            )
        );
    })
    .await;
}

#[tokio::test]
async fn a_retry_under_another_token_is_checked_before_any_answer_is_replayed() {
    for_each_backend(|h| async move {
        let as_in = |code: &str| {
            AuthContext::new("shared-sub", Role::MunicipalityCaseworker)
                .with_municipality(municipality(code))
        };
        let req = RegisterChildRequest {
            request_id: "r-1".into(),
            personnummer: child_pnr(7, 410),
            given_name: "Kim".into(),
            family_name: "Lind".into(),
            placing_municipality_code: "0180".into(),
            ..Default::default()
        };
        let first = rpc!(h.client(as_in("0180")).await, register_child, req.clone())
            .unwrap()
            .child
            .unwrap();

        // The same subject and request id under Göteborg's token: the
        // access check comes first, the first answer is not replayed.
        expect_code(
            rpc!(h.client(as_in("1480")).await, register_child, req.clone()),
            Code::PermissionDenied,
        );
        // Its own request with the same id is a new request, not a clash.
        let own = rpc!(
            h.client(as_in("1480")).await,
            register_child,
            RegisterChildRequest {
                personnummer: child_pnr(7, 412),
                placing_municipality_code: "1480".into(),
                ..req.clone()
            }
        )
        .unwrap()
        .child
        .unwrap();
        assert_ne!(own.id, first.id);

        // The same caller gets the first answer, and the replay is audited.
        let again = rpc!(h.client(as_in("0180")).await, register_child, req.clone())
            .unwrap()
            .child
            .unwrap();
        assert_eq!(again.id, first.id);
        let log = rpc!(
            h.office().await,
            list_audit,
            samling_proto::common::v1::ListAuditRequest {
                record_id: first.id.clone(),
                page: None
            }
        )
        .unwrap();
        assert!(
            log.entries
                .iter()
                .any(|e| e.action == "replay" && e.subject == "shared-sub"),
            "{:?}",
            log.entries
        );
    })
    .await;
}

#[tokio::test]
async fn a_childs_name_with_control_or_bidi_characters_is_refused_naming_the_field() {
    for_each_backend(|h| async move {
        let mut cw = h.client(caseworker("0180")).await;
        for (field, bad) in [
            ("given_name", "Kim\u{0}"),
            ("family_name", "\u{202E}dniL"),
            ("given_name", "K\u{200B}im"),
        ] {
            let mut req = RegisterChildRequest {
                personnummer: child_pnr(6, 414),
                given_name: "Kim".into(),
                family_name: "Lind".into(),
                placing_municipality_code: "0180".into(),
                ..Default::default()
            };
            match field {
                "given_name" => req.given_name = bad.into(),
                _ => req.family_name = bad.into(),
            }
            expect_invalid(rpc!(cw, register_child, req), field);
        }
        let mut office = h.office().await;
        let mut d = draft("Storgatan\u{202E} 1", &adult(169));
        d.members[0].family_name = "Berg".into();
        expect_invalid(office.create_home("", d).await, "draft.address.street");
        expect_invalid(
            rpc!(
                office,
                create_agency,
                CreateAgencyRequest {
                    name: "Omsorg\u{2066} AB".into(),
                    org_number: "556677-8899".into(),
                    ..Default::default()
                }
            ),
            "name",
        );
    })
    .await;
}

#[tokio::test]
async fn reads_of_unexecuted_decisions_and_home_requests_are_audited() {
    for_each_backend(|h| async move {
        let home = h.create_home(draft("Storgatan 1", &adult(171))).await;
        let mut own = h.client(family_home(&home.id)).await;
        let hr = rpc!(
            own,
            submit_home_request,
            SubmitHomeRequestRequest {
                home_id: home.id.clone(),
                kind: HomeRequestKind::Appeal as i32,
                message: "We disagree".into(),
                ..Default::default()
            }
        )
        .unwrap();
        rpc!(
            h.office().await,
            list_home_requests,
            ListHomeRequestsRequest::default()
        )
        .unwrap();
        let mut cw = h.client(caseworker("0180")).await;
        let d = rpc!(
            cw,
            report_unexecuted_decision,
            ReportUnexecutedDecisionRequest {
                municipality_code: "0180".into(),
                sex: Sex::Female as i32,
                decision_kind: DecisionKind::FamilyHomePlacement as i32,
                decision_date: Some(date(days_ago(120))),
                reason: UnexecutedReason::NoSuitableHome as i32,
                ..Default::default()
            }
        )
        .unwrap();
        rpc!(
            cw,
            list_unexecuted_decisions,
            ListUnexecutedDecisionsRequest::default()
        )
        .unwrap();
        let mut office = h.office().await;
        for (id, who) in [(&hr.id, OFFICER), (&d.id, "caseworker-0180")] {
            let log = rpc!(
                office,
                list_audit,
                samling_proto::common::v1::ListAuditRequest {
                    record_id: id.clone(),
                    page: None
                }
            )
            .unwrap();
            assert!(
                log.entries
                    .iter()
                    .any(|e| e.action == "read" && e.subject == who),
                "{id}: {:?}",
                log.entries
            );
        }
    })
    .await;
}

// ------------------------------------------------------------ privacy walk

/// Who walks: a name and the context.
fn walkers(
    home: &str,
    other_home: &str,
    child: &str,
    unit: &str,
) -> Vec<(&'static str, AuthContext)> {
    let mut bound = office();
    bound.region = Some("stockholm-gotland".into());
    vec![
        ("office", bound),
        ("service", service()),
        ("placing caseworker 0180", caseworker("0180")),
        ("placing manager 0180", manager("0180")),
        ("approving manager 0160", manager("0160")),
        ("caseworker 0162", caseworker("0162")),
        ("caseworker 1480", caseworker("1480")),
        ("ombud", ombud()),
        ("analyst", analyst()),
        ("council", council_member()),
        ("the protected home", family_home(home)),
        ("another home", family_home(other_home)),
        ("the protected child", child_ctx(child)),
        ("national reviewer", national_reviewer()),
        ("ivo", ivo()),
        (
            "another child",
            child_ctx(&samling_kit::ids::new_id_string()),
        ),
        (
            "the unit's staff",
            AuthContext::new("unit-user", samling_kit::auth::Role::UnitStaff).with_party(unit),
        ),
    ]
}

/// Every RPC as `ctx`, against the protected records; each answer (or
/// refusal) as text. Mutations run twice with one request id, so their
/// replays are walked too.
async fn walk(h: &Harness, ctx: AuthContext, ids: &WalkIds) -> Vec<(String, bool, String)> {
    let mut c = h.client(ctx.clone()).await;
    let mut out: Vec<(String, bool, String)> = Vec::new();
    macro_rules! call {
        ($name:literal, $method:ident, $msg:expr) => {{
            let r = rpc!(c, $method, $msg);
            out.push(($name.to_string(), r.is_ok(), format!("{r:?}")));
        }};
    }
    let own = ctx
        .municipality
        .as_ref()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "0160".into());
    let (home, child, placement_id, decision) = (
        ids.home.clone(),
        ids.child.clone(),
        ids.placement.clone(),
        ids.decision.clone(),
    );
    call!(
        "GetHome",
        get_home,
        GetHomeRequest {
            home_id: home.clone()
        }
    );
    call!(
        "SearchHomes",
        search_homes,
        SearchHomesRequest {
            include_unplaceable: true,
            include_overdue: true,
            ..Default::default()
        }
    );
    call!(
        "SearchHomes(0160)",
        search_homes,
        SearchHomesRequest {
            include_unplaceable: true,
            municipality_code: "0160".into(),
            include_overdue: true,
            ..Default::default()
        }
    );
    call!(
        "ListOverdueHomes",
        list_overdue_homes,
        ListOverdueHomesRequest {
            as_of: Some(date(today() + chrono::Days::new(800))),
            ..Default::default()
        }
    );
    call!(
        "GetHomeHistory",
        get_home_history,
        GetHomeHistoryRequest {
            home_id: home.clone(),
            page: None
        }
    );
    call!(
        "ListHomeRequests(home)",
        list_home_requests,
        ListHomeRequestsRequest {
            home_id: home.clone(),
            ..Default::default()
        }
    );
    call!(
        "ListHomeRequests",
        list_home_requests,
        ListHomeRequestsRequest::default()
    );
    call!(
        "ListAgencies",
        list_agencies,
        ListAgenciesRequest::default()
    );
    call!("ListUnits", list_units, ListUnitsRequest::default());
    // Issue 24 §8: socialjouren's lookup of a runaway child (the protected
    // one), and a unit's own vacancies (its replay too).
    call!(
        "LocateChild",
        locate_child,
        LocateChildRequest {
            personnummer: ids.child_pnr.clone(),
            reason: "walk: ran away".into()
        }
    );
    let who = ctx.sub.clone();
    for _ in 0..2 {
        call!(
            "UpdateVacancies",
            update_vacancies,
            UpdateVacanciesRequest {
                request_id: format!("vac-{who}"),
                unit_id: ids.unit.clone(),
                vacancies: 1
            }
        );
    }
    call!(
        "GetChild",
        get_child,
        GetChildRequest {
            child_id: child.clone()
        }
    );
    call!(
        "ListChildren",
        list_children,
        ListChildrenRequest::default()
    );
    call!(
        "GetPlacement",
        get_placement,
        GetPlacementRequest {
            placement_id: placement_id.clone()
        }
    );
    call!(
        "ListPlacements",
        list_placements,
        ListPlacementsRequest::default()
    );
    call!(
        "ListPlacements(home)",
        list_placements,
        ListPlacementsRequest {
            home_id: home.clone(),
            ..Default::default()
        }
    );
    call!(
        "ListPlacements(child)",
        list_placements,
        ListPlacementsRequest {
            child_id: child.clone(),
            ..Default::default()
        }
    );
    call!(
        "ListCustodyTransferDue",
        list_custody_transfer_due,
        ListCustodyTransferDueRequest {
            as_of: Some(date(today() + chrono::Days::new(800))),
            ..Default::default()
        }
    );
    call!(
        "ListUnexecutedDecisions",
        list_unexecuted_decisions,
        ListUnexecutedDecisionsRequest::default()
    );
    call!(
        "GetQuarterlyReport",
        get_quarterly_report,
        GetQuarterlyReportRequest {
            municipality_code: String::new(),
            year: chrono::Datelike::year(&today()),
            quarter: 1
        }
    );
    call!(
        "ListDuplicateFlags",
        list_duplicate_flags,
        ListDuplicateFlagsRequest::default()
    );
    call!(
        "ListAudit(home)",
        list_audit,
        samling_proto::common::v1::ListAuditRequest {
            record_id: home.clone(),
            page: None
        }
    );
    call!(
        "ListAudit(child)",
        list_audit,
        samling_proto::common::v1::ListAuditRequest {
            record_id: child.clone(),
            page: None
        }
    );
    // ADR 0026: a decision on the protected home (the office's succeeds,
    // its replay answers the first; everyone else's is refused or already
    // recorded), its notices, the overdue requests.
    let who = ctx.sub.clone();
    for _ in 0..2 {
        call!(
            "RecordRestriction",
            record_restriction,
            RecordRestrictionRequest {
                request_id: format!("restrict-{who}"),
                home_id: home.clone(),
                kind: RestrictionKind::ApprovalSuspended as i32,
                municipality_code: "0160".into(),
                decision_date: Some(date(days_ago(1))),
                decision_ref: "SN walk".into(),
                reasons: "walk: an investigation".into(),
                ..Default::default()
            }
        );
    }
    call!(
        "ListHomeNotices",
        list_home_notices,
        ListHomeNoticesRequest {
            home_id: home.clone(),
            page: None
        }
    );
    call!(
        "ListOverdueHomeRequests",
        list_overdue_home_requests,
        ListOverdueHomeRequestsRequest::default()
    );
    call!(
        "RevealProtectedAddress",
        reveal_protected_address,
        RevealProtectedAddressRequest {
            home_id: home.clone(),
            reason: "walk: a planned follow-up visit".into()
        }
    );
    let who = ctx.sub.clone();
    for _ in 0..2 {
        call!(
            "AssignInvestigatingMunicipality",
            assign_investigating_municipality,
            AssignInvestigatingMunicipalityRequest {
                request_id: format!("v-{who}"),
                home_id: home.clone(),
                municipality_code: "0162".into(),
                reason: "walk".into()
            }
        );
        call!(
            "RecordApproval",
            record_approval,
            RecordApprovalRequest {
                request_id: format!("a-{who}"),
                home_id: home.clone(),
                municipality_code: own.clone(),
                decision_date: Some(date(days_ago(1))),
                decision_ref: format!("SN/{who}"),
                evidence: None,
            }
        );
        call!(
            "ObjectToFurtherPlacements",
            object_to_further_placements,
            ObjectToFurtherPlacementsRequest {
                request_id: format!("o-{who}"),
                home_id: home.clone(),
                municipality_code: own.clone(),
                reason: "walk".into()
            }
        );
        call!(
            "SetJourAvailability",
            set_jour_availability,
            SetJourAvailabilityRequest {
                request_id: format!("j-{who}"),
                home_id: home.clone(),
                available: false
            }
        );
        call!(
            "RecordIncident",
            record_incident,
            RecordIncidentRequest {
                request_id: format!("i-{who}"),
                home_id: home.clone(),
                occurred_on: Some(date(days_ago(2))),
                category: "walk".into(),
                description: String::new()
            }
        );
        call!(
            "SubmitHomeRequest",
            submit_home_request,
            SubmitHomeRequestRequest {
                request_id: format!("r-{who}"),
                home_id: home.clone(),
                kind: HomeRequestKind::Correction as i32,
                field: "languages".into(),
                message: "walk".into(),
                ..Default::default()
            }
        );
        call!(
            "SetChildProtection",
            set_child_protection,
            SetChildProtectionRequest {
                request_id: format!("p-{who}"),
                child_id: child.clone(),
                protected_identity: true
            }
        );
        call!(
            "RegisterChild",
            register_child,
            RegisterChildRequest {
                request_id: format!("c-{who}"),
                personnummer: ids.child_pnr.clone(),
                given_name: "Walk".into(),
                family_name: "Er".into(),
                placing_municipality_code: own.clone(),
                ..Default::default()
            }
        );
        call!(
            "CreatePlacement",
            create_placement,
            placement(&child, &home, days_ago(1))
        );
        call!(
            "EndPlacement",
            end_placement,
            EndPlacementRequest {
                request_id: format!("e-{who}"),
                placement_id: placement_id.clone(),
                end_date: Some(date(today() + chrono::Days::new(3))),
                end_reason: EndReason::ReturnedHome as i32,
                breakdown: None,
                short_settling_in_reason: String::new()
            }
        );
        call!(
            "ReportUnexecutedDecision",
            report_unexecuted_decision,
            ReportUnexecutedDecisionRequest {
                request_id: format!("d-{who}"),
                municipality_code: own.clone(),
                child_id: child.clone(),
                sex: Sex::Female as i32,
                decision_kind: DecisionKind::FamilyHomePlacement as i32,
                decision_date: Some(date(days_ago(120))),
                reason: UnexecutedReason::NoSuitableHome as i32
            }
        );
        call!(
            "MarkDecisionExecuted",
            mark_decision_executed,
            MarkDecisionExecutedRequest {
                request_id: format!("x-{who}"),
                decision_id: decision.clone(),
                executed_on: Some(date(today() + chrono::Days::new(3)))
            }
        );
        // ADR 0028: the evidence behind the approval, and visits (IVO's too).
        call!(
            "RecordTraining",
            record_training,
            RecordTrainingRequest {
                request_id: format!("t-{who}"),
                home_id: home.clone(),
                municipality_code: own.clone(),
                course_name: "walk course".into(),
                completed_on: Some(date(days_ago(5))),
                ..Default::default()
            }
        );
        call!(
            "RecordInvestigation",
            record_investigation,
            RecordInvestigationRequest {
                request_id: format!("u-{who}"),
                home_id: home.clone(),
                municipality_code: own.clone(),
                methods: vec![InvestigationMethod::BraFam as i32],
                result: InvestigationResult::Suitable as i32,
                completed_on: Some(date(days_ago(5))),
                ..Default::default()
            }
        );
        call!(
            "RecordHomeVisit",
            record_home_visit,
            RecordHomeVisitRequest {
                request_id: format!("w-{who}"),
                home_id: home.clone(),
                municipality_code: ctx
                    .municipality
                    .as_ref()
                    .map(|m| m.as_str().to_string())
                    .unwrap_or_default(),
                visited_on: Some(date(days_ago(1))),
                unannounced: true,
                findings: vec!["walk finding".into()],
                ..Default::default()
            }
        );
    }
    call!(
        "ListIvoReports",
        list_ivo_reports,
        ListIvoReportsRequest::default()
    );
    call!(
        "ListRecordChecksOverdue",
        list_record_checks_overdue,
        ListOverdueHomesRequest {
            as_of: Some(date(today() + chrono::Days::new(1))),
            ..Default::default()
        }
    );
    // The streams.
    let req = c.request(ExportHomesRequest::default());
    let exported = match c.raw().export_homes(req).await {
        Ok(s) => {
            let items: Vec<_> = s.into_inner().collect::<Vec<_>>().await;
            format!("{items:?}")
        }
        Err(e) => format!("{e:?}"),
    };
    out.push(("ExportHomes".into(), true, exported));
    let req = c.request(samling_proto::common::v1::WatchEventsRequest {
        after: 0,
        event_types: vec![],
        stop_at_end: true,
    });
    let events = match c.raw().watch_events(req).await {
        Ok(s) => {
            let items: Vec<_> = s.into_inner().collect::<Vec<_>>().await;
            format!("{items:?}")
        }
        Err(e) => format!("{e:?}"),
    };
    out.push(("WatchEvents".into(), true, events));
    out
}

struct WalkIds {
    unit: String,
    home: String,
    child: String,
    child_pnr: String,
    placement: String,
    decision: String,
}

#[tokio::test]
async fn the_privacy_walk_every_rpc_and_the_feed_as_every_role() {
    for_each_backend_in(Some("stockholm-gotland"), |h| async move {
        // A home in Täby that becomes protected after its first versions
        // (history from before), approved by Täby, with a protected child
        // of Stockholm placed there by Stockholm's caseworker.
        let carer = adult(191);
        let mut d = draft("Hemligvägen 77", &carer);
        d.municipality_code = "0160".into();
        d.address = Some(Address {
            street: "Hemligvägen 77".into(),
            postal_code: "98765".into(),
            city: "Skyddsby".into(),
        });
        let home = h.approved_home(d.clone(), "0160", days_ago(90)).await;
        d.protected_identity = true;
        rpc!(
            h.office().await,
            update_home_profile,
            UpdateHomeProfileRequest {
                home_id: home.id.clone(),
                draft: Some(d),
                reason: "skyddade personuppgifter".into(),
                ..Default::default()
            }
        )
        .unwrap();
        let other_home = h
            .approved_home(draft("Öppna gatan 1", &adult(193)), "0180", days_ago(90))
            .await;
        let child_pnr = child_pnr(9, 420);
        let child = h.register_child("0180", &child_pnr).await;
        let placement = h
            .place(caseworker("0180"), &child.id, &home.id, days_ago(20))
            .await
            .unwrap()
            .placement
            .unwrap();
        // Protected after it was placed: the earlier events are redacted by
        // the child's state now.
        rpc!(
            h.client(caseworker("0180")).await,
            set_child_protection,
            SetChildProtectionRequest {
                child_id: child.id.clone(),
                protected_identity: true,
                ..Default::default()
            }
        )
        .unwrap();
        let decision = rpc!(
            h.client(caseworker("0180")).await,
            report_unexecuted_decision,
            ReportUnexecutedDecisionRequest {
                municipality_code: "0180".into(),
                child_id: child.id.clone(),
                // The child record's sex (issue 24 §7).
                sex: Sex::Unspecified as i32,
                decision_kind: DecisionKind::FamilyHomePlacement as i32,
                decision_date: Some(date(days_ago(100))),
                reason: UnexecutedReason::NoSuitableHome as i32,
                ..Default::default()
            }
        )
        .unwrap();
        let unit = rpc!(
            h.office().await,
            create_unit,
            CreateUnitRequest {
                name: "HVB Walk".into(),
                kind: UnitKind::Hvb as i32,
                municipality_code: "0180".into(),
                places: 4,
                permit: valid_permit(),
                contact_phone: "08-100 200".into(),
                ..Default::default()
            }
        )
        .unwrap();
        let ids = WalkIds {
            unit: unit.id.clone(),
            home: home.id.clone(),
            child: child.id.clone(),
            child_pnr: child_pnr.clone(),
            placement: placement.id.clone(),
            decision: decision.id.clone(),
        };

        // The postal code quoted (a field holding it): bare, "98765" also
        // turns up inside hashes, ids and the microseconds of timestamps
        // (one CI run in a few: `ListAudit(home)` as the service).
        let address = ["Hemligvägen", "Skyddsby", "987 65", "\"98765\""];
        // Quoted: a field holding exactly the code (ids and personnummer
        // never match). The region is checked field by field in the tests
        // above (every home of this register is in it).
        let location = ["\"0160\""];
        let carer_pnr = canonical(&carer);
        let mut failures = Vec::new();
        let mut calls = 0;
        for (who, ctx) in walkers(&home.id, &other_home.id, &child.id, &unit.id) {
            let keeper = matches!(who, "office" | "service" | "the protected home");
            let household = keeper
                || matches!(
                    who,
                    "approving manager 0160" | "placing caseworker 0180" | "placing manager 0180"
                );
            let knows_child = keeper
                || matches!(
                    who,
                    "placing caseworker 0180" | "placing manager 0180" | "the protected child"
                );
            for (rpc, ok, text) in walk(&h, ctx, &ids).await {
                calls += 1;
                // The feed is redacted for everyone, the office included.
                let feed = rpc == "WatchEvents";
                // The address: the home's own reads, and the office's
                // explicit reveal (ADR 0017); no ordinary read of the office.
                let reveal = rpc == "RevealProtectedAddress";
                let office = matches!(who, "office" | "service");
                // The home's notices (ADR 0026): the home, the office, the
                // national reviewer, the deciding nämnd (0160) only.
                let notice_reader = office
                    || matches!(
                        who,
                        "the protected home" | "national reviewer" | "approving manager 0160"
                    );
                if rpc == "ListHomeNotices" && ok != notice_reader {
                    failures.push(format!("{who} / {rpc}: answered {ok}: {text}"));
                }
                if rpc == "ListHomeNotices" && ok && !text.contains("walk: an investigation") {
                    failures.push(format!("{who} / {rpc}: no notice: {text}"));
                }
                // Issue 24 §8: the lookup — the office and municipal staff
                // of any municipality; the vacancies — the office and the
                // unit's own staff.
                let municipal = who.contains("caseworker") || who.contains("manager");
                if rpc == "LocateChild" && ok != (office || municipal) {
                    failures.push(format!("{who} / {rpc}: answered {ok}: {text}"));
                }
                if rpc == "UpdateVacancies" && ok != (office || who == "the unit's staff") {
                    failures.push(format!("{who} / {rpc}: answered {ok}: {text}"));
                }
                if reveal && ok != office {
                    failures.push(format!("{who} / {rpc}: answered {ok}: {text}"));
                }
                if reveal && office && !text.contains("Hemligvägen") {
                    failures.push(format!("{who} / {rpc}: no address: {text}"));
                }
                let sees_address = who == "the protected home" || (reveal && office);
                if !sees_address || feed {
                    for s in address {
                        if text.contains(s) {
                            failures.push(format!("{who} / {rpc}: address {s:?}"));
                        }
                    }
                }
                // The walk's own RegisterChild calls (the office's under
                // 0160) register the number again: the lookup names those
                // records' placing municipality, which is no location. What
                // it must not show is the protected home's municipality.
                if rpc == "LocateChild"
                    && !office
                    && text.contains("receiving_municipality_code: \"0160\"")
                {
                    failures.push(format!("{who} / {rpc}: the protected home's municipality"));
                }
                if (!keeper || feed) && who != "approving manager 0160" && rpc != "LocateChild" {
                    for s in location {
                        if text.contains(s) {
                            failures.push(format!("{who} / {rpc}: location {s}"));
                        }
                    }
                }
                if !household && text.contains(&carer_pnr) {
                    failures.push(format!("{who} / {rpc}: the carer's personnummer"));
                }
                if ok && !knows_child && text.contains(&child.id) {
                    failures.push(format!("{who} / {rpc}: the protected child"));
                }
                // A caller registering the same personnummer sees what it typed.
                let own_input = matches!(rpc.as_str(), "RegisterChild" | "ListChildren");
                if ok && !knows_child && !own_input && text.contains(&canonical(&child_pnr)) {
                    failures.push(format!("{who} / {rpc}: the child's personnummer"));
                }
            }
        }
        // The feed never links the protected child to the home.
        for e in h.events().await {
            if e.payload_json.contains(&child.id) && e.payload_json.contains(&home.id) {
                failures.push(format!(
                    "event {} links the child to the home",
                    e.event_type
                ));
            }
            if e.aggregate_id == home.id && e.payload_json.contains(&placement.id) {
                failures.push(format!(
                    "event {} links the home to the child's placement",
                    e.event_type
                ));
            }
        }
        assert!(
            failures.is_empty(),
            "[{}] {} of {calls} answers leak:\n{}",
            h.backend,
            failures.len(),
            failures.join("\n")
        );
    })
    .await;
}

#[tokio::test]
async fn a_replayed_answer_is_redacted_as_the_home_stands_now() {
    for_each_backend(|h| async move {
        let d = draft("Storgatan 5", &adult(195));
        let home = h.create_home(d.clone()).await;
        rpc!(
            h.office().await,
            transition_home,
            TransitionHomeRequest {
                home_id: home.id.clone(),
                to_status: HomeStatus::UnderAssessment as i32,
                reason: "home study".into(),
                ..Default::default()
            }
        )
        .unwrap();
        let mut req = approval(&home.id, "0180", "SN 2026/5");
        req.request_id = "approve-once".into();
        let mut m = h.client(manager("0180")).await;
        let first = rpc!(m, record_approval, req.clone()).unwrap();
        assert_eq!(first.address.unwrap().street, "Storgatan 5");

        // The home becomes protected; the retry's answer follows.
        rpc!(
            h.office().await,
            update_home_profile,
            UpdateHomeProfileRequest {
                home_id: home.id.clone(),
                draft: Some(HomeDraft {
                    protected_identity: true,
                    ..d
                }),
                reason: "skyddade personuppgifter".into(),
                ..Default::default()
            }
        )
        .unwrap();
        let again = rpc!(m, record_approval, req).unwrap();
        assert_eq!(again.approvals.len(), 1, "the first answer, replayed");
        assert!(again.address.is_none(), "{again:?}");
        assert!(again.municipality_code.is_empty() && again.region_id.is_empty());
        assert!(again.personal_data_redacted);
    })
    .await;
}

#[tokio::test]
async fn two_homes_at_a_protected_address_do_not_name_each_other_to_the_office() {
    for_each_backend(|h| async move {
        let mut hidden = draft("Delade gatan 7", &adult(171));
        hidden.protected_identity = true;
        let protected = h.create_home(hidden).await;
        let mut office = h.office().await;
        // The office registers an open home at the same address: the pair is
        // still flagged, but neither flag nor event names the other home
        // (the open home's address would be the protected one's).
        let created = rpc!(
            office,
            create_home,
            CreateHomeRequest {
                request_id: String::new(),
                draft: Some(draft("Delade gatan 7", &adult(173)))
            }
        )
        .unwrap();
        let open = created.home.unwrap().id;
        let names_both = |f: &DuplicateFlag| {
            let ids = [f.record_id.as_str(), f.other_record_id.as_str()];
            ids.contains(&open.as_str()) && ids.contains(&protected.id.as_str())
        };
        let same_address = DuplicateKind::SameAddressTwoHomes as i32;
        assert!(
            created.duplicates.iter().any(|f| f.kind == same_address),
            "the pair is flagged: {:?}",
            created.duplicates
        );
        assert!(
            !created.duplicates.iter().any(names_both),
            "{:?}",
            created.duplicates
        );
        let listed = rpc!(
            office,
            list_duplicate_flags,
            ListDuplicateFlagsRequest {
                open_only: true,
                page: None
            }
        )
        .unwrap();
        assert!(listed.flags.iter().any(|f| f.kind == same_address));
        assert!(!listed.flags.iter().any(names_both), "{:?}", listed.flags);
        let req = office.request(samling_proto::common::v1::WatchEventsRequest {
            after: 0,
            event_types: vec!["registry.duplicate_flagged".into()],
            stop_at_end: true,
        });
        let events: Vec<_> = office
            .raw()
            .watch_events(req)
            .await
            .unwrap()
            .into_inner()
            .collect::<Vec<_>>()
            .await;
        assert!(!events.is_empty());
        for e in events {
            let e = e.unwrap();
            let both = [e.aggregate_id.as_str(), e.payload_json.as_str()];
            assert!(
                !(both.iter().any(|s| s.contains(&open))
                    && both.iter().any(|s| s.contains(&protected.id))),
                "{e:?}"
            );
        }
    })
    .await;
}

/// The office's new acts (assigning an investigation, revealing a protected
/// address) and the approval, tried by everyone who must not: other roles,
/// an officer of another region, an aggregate role, another municipality
/// replaying the office's or a manager's request id, and unknown homes.
#[tokio::test]
async fn the_offices_acts_and_the_approval_refuse_every_other_caller_and_foreign_replays() {
    // A register of one region, as `serve` runs it.
    for_each_backend_in(Some("stockholm-gotland"), |h| async move {
        let mut hidden = draft("Skyddade gatan 3", &adult(181));
        hidden.protected_identity = true;
        let home = protected_home_under_assessment_from(&h, hidden).await;
        let norr_officer =
            AuthContext::new("officer-norr", Role::RegionalOfficer).with_region("norr");
        let council = council_member();
        let outsiders = [
            ("analyst", analyst()),
            ("council", council.clone()),
            ("caseworker 0180", caseworker("0180")),
            ("manager 0180", manager("0180")),
            ("manager 1480", manager("1480")),
            ("ombud", ombud()),
            ("the home", family_home(&home.id)),
            ("a child", child_ctx(&samling_kit::ids::new_id_string())),
            ("an officer of norr", norr_officer.clone()),
        ];
        let assign = |request_id: &str| AssignInvestigatingMunicipalityRequest {
            request_id: request_id.into(),
            home_id: home.id.clone(),
            municipality_code: "0181".into(),
            reason: "the family moves within the county".into(),
        };
        let reveal = RevealProtectedAddressRequest {
            home_id: home.id.clone(),
            reason: "a visit".into(),
        };
        fn refused<T: std::fmt::Debug>(who: &str, r: Result<T, tonic::Status>) {
            match r {
                Err(s) if matches!(s.code(), Code::PermissionDenied | Code::NotFound) => {}
                other => panic!("{who}: must be refused, got {other:?}"),
            }
        }
        for (who, ctx) in outsiders.iter().cloned() {
            let mut c = h.client(ctx).await;
            refused(
                who,
                rpc!(c, assign_investigating_municipality, assign("x-1")),
            );
            if who != "the home" {
                refused(who, rpc!(c, reveal_protected_address, reveal.clone()));
            }
        }
        // Nothing was assigned by any of them.
        assert!(h.get_home(&home.id).await.investigations.is_empty());

        // The office assigns under a request id; another municipality's
        // manager sending the very same request id and request is refused,
        // never handed the office's answer.
        rpc!(
            h.office().await,
            assign_investigating_municipality,
            assign("a-1")
        )
        .unwrap();
        refused(
            "manager 1480 replaying the office's request id",
            rpc!(
                h.client(manager("1480")).await,
                assign_investigating_municipality,
                assign("a-1")
            ),
        );
        // Unknown homes are unknown to the office too.
        let unknown = samling_kit::ids::new_id_string();
        expect_code(
            rpc!(
                h.office().await,
                assign_investigating_municipality,
                AssignInvestigatingMunicipalityRequest {
                    home_id: unknown.clone(),
                    ..assign("u-1")
                }
            ),
            Code::NotFound,
        );
        expect_code(
            rpc!(
                h.office().await,
                reveal_protected_address,
                RevealProtectedAddressRequest {
                    home_id: unknown,
                    reason: "a visit".into()
                }
            ),
            Code::NotFound,
        );

        // The approval: aggregate roles and an officer of another region
        // are refused; the home's own municipality approves under a request
        // id, and another municipality replaying that id and request gets a
        // refusal, not the approval (with the household in it).
        let approve = RecordApprovalRequest {
            request_id: "ap-1".into(),
            ..approval(&home.id, "0180", "SN 1")
        };
        for (who, ctx) in [
            ("analyst", analyst()),
            ("council", council),
            ("an officer of norr", norr_officer),
        ] {
            refused(
                who,
                rpc!(h.client(ctx).await, record_approval, approve.clone()),
            );
        }
        let approved = rpc!(
            h.client(manager("0180")).await,
            record_approval,
            approve.clone()
        );
        assert!(approved.is_ok(), "{approved:?}");
        refused(
            "manager 1480 replaying 0180's approval",
            rpc!(
                h.client(manager("1480")).await,
                record_approval,
                approve.clone()
            ),
        );
    })
    .await;
}

/// A home under assessment, made by the office from `d`.
async fn protected_home_under_assessment_from(h: &Harness, d: HomeDraft) -> Home {
    let home = h.create_home(d).await;
    rpc!(
        h.office().await,
        transition_home,
        TransitionHomeRequest {
            home_id: home.id.clone(),
            to_status: HomeStatus::UnderAssessment as i32,
            reason: "home study".into(),
            ..Default::default()
        }
    )
    .unwrap()
}
