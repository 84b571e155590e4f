//! Homes over gRPC: creation and validation, idempotency, the lifecycle,
//! annual re-confirmation, versioned history, optimistic concurrency, the
//! home's own view and duplicate flags.

use crate::common;

use common::*;
use samling_proto::registry::v1::*;
use tokio_stream::StreamExt;
use tonic::Code;

#[tokio::test]
async fn a_created_home_can_be_read_back() {
    for_each_backend(|h| async move {
        let pnr = adult(121);
        let created = h.create_home(draft("Storgatan 1", &pnr)).await;
        assert!(!created.id.is_empty());
        assert_eq!(created.version, 1);
        assert_eq!(created.status, HomeStatus::Applicant as i32);

        let home = h.get_home(&created.id).await;
        assert_eq!(home.id, created.id);
        assert_eq!(home.municipality_code, "0180");
        assert_eq!(home.county_code, "01");
        assert_eq!(home.region_id, "stockholm-gotland");
        assert!(!home.personal_data_redacted);
        assert_eq!(home.languages, vec!["svenska"]);
        let address = home.address.expect("the office sees the address");
        assert_eq!(
            (address.street.as_str(), address.postal_code.as_str()),
            ("Storgatan 1", "111 22")
        );
        assert_eq!(home.members.len(), 1);
        assert_eq!(home.members[0].personnummer, canonical(&pnr));
        assert_eq!(home.members[0].birth_year, 1980);
        assert_eq!(home.members[0].role, MemberRole::Carer as i32);
    })
    .await;
}

#[tokio::test]
async fn a_bad_personnummer_is_refused_naming_the_field_and_nothing_is_stored() {
    for_each_backend(|h| async move {
        let mut bad = draft("Storgatan 1", &adult(121));
        let last = bad.members[0].personnummer.pop().expect("digit");
        bad.members[0].personnummer.push(if last == '9' {
            '0'
        } else {
            char::from(last as u8 + 1)
        });
        let mut office = h.office().await;
        let s = expect_invalid(
            rpc!(
                office,
                create_home,
                CreateHomeRequest {
                    request_id: "r-1".into(),
                    draft: Some(bad.clone())
                }
            ),
            "draft.members[0].personnummer",
        );
        assert!(
            !s.message().contains(&bad.members[0].personnummer[9..]),
            "the error must not echo the number"
        );

        let all = rpc!(
            office,
            search_homes,
            SearchHomesRequest {
                include_unplaceable: true,
                include_overdue: true,
                ..Default::default()
            }
        )
        .unwrap();
        assert!(all.homes.is_empty(), "nothing was stored");
        assert!(h.events().await.is_empty(), "no event was written");

        // Other fields are named the same way.
        let mut no_address = draft("Storgatan 1", &adult(121));
        no_address.address.as_mut().unwrap().postal_code = "1112".into();
        expect_invalid(
            rpc!(
                office,
                create_home,
                CreateHomeRequest {
                    request_id: String::new(),
                    draft: Some(no_address)
                }
            ),
            "draft.address.postal_code",
        );
        let mut unknown = draft("Storgatan 1", &adult(121));
        unknown.municipality_code = "9999".into();
        expect_invalid(
            rpc!(
                office,
                create_home,
                CreateHomeRequest {
                    request_id: String::new(),
                    draft: Some(unknown)
                }
            ),
            "draft.municipality_code",
        );
        let mut too_big = draft("Storgatan 1", &adult(121));
        too_big.capacity = 11;
        expect_invalid(
            rpc!(
                office,
                create_home,
                CreateHomeRequest {
                    request_id: String::new(),
                    draft: Some(too_big)
                }
            ),
            "draft.capacity",
        );
        let mut minor_carer = draft("Storgatan 1", &child_pnr(15, 2));
        minor_carer.members[0].role = MemberRole::Carer as i32;
        expect_invalid(
            rpc!(
                office,
                create_home,
                CreateHomeRequest {
                    request_id: String::new(),
                    draft: Some(minor_carer)
                }
            ),
            "draft.members[0].personnummer",
        );
        expect_invalid(
            rpc!(
                office,
                create_home,
                CreateHomeRequest {
                    request_id: String::new(),
                    draft: None
                }
            ),
            "draft",
        );
    })
    .await;
}

#[tokio::test]
async fn a_retry_with_the_same_request_id_returns_the_first_answer() {
    for_each_backend(|h| async move {
        let mut office = h.office().await;
        let d = draft("Storgatan 1", &adult(121));
        let first = rpc!(
            office,
            create_home,
            CreateHomeRequest {
                request_id: "create-1".into(),
                draft: Some(d.clone())
            }
        )
        .unwrap();
        let retry = rpc!(
            office,
            create_home,
            CreateHomeRequest {
                request_id: "create-1".into(),
                draft: Some(d.clone())
            }
        )
        .unwrap();
        assert_eq!(
            first, retry,
            "the retry is answered with the first response"
        );
        let all = rpc!(
            office,
            search_homes,
            SearchHomesRequest {
                include_unplaceable: true,
                include_overdue: true,
                ..Default::default()
            }
        )
        .unwrap();
        assert_eq!(all.homes.len(), 1, "the retry created nothing");

        let mut other = d.clone();
        other.address.as_mut().unwrap().street = "Lillgatan 2".into();
        expect_invalid_because(
            rpc!(
                office,
                create_home,
                CreateHomeRequest {
                    request_id: "create-1".into(),
                    draft: Some(other)
                }
            ),
            "request_id",
            "IDEMPOTENCY_KEY_REUSED",
        );

        // Request ids are the caller's own: another caller's id never replays this answer.
        let mut other_officer = h
            .client(
                samling_kit::auth::AuthContext::new(
                    "officer-2",
                    samling_kit::auth::Role::RegionalOfficer,
                )
                .with_region("stockholm-gotland"),
            )
            .await;
        let theirs = rpc!(
            other_officer,
            create_home,
            CreateHomeRequest {
                request_id: "create-1".into(),
                draft: Some(d)
            }
        )
        .unwrap();
        assert_ne!(theirs.home.unwrap().id, first.home.unwrap().id);

        // Idempotency holds for every mutation, e.g. a status change.
        let id = retry.home.unwrap().id;
        let step = TransitionHomeRequest {
            request_id: "t-1".into(),
            home_id: id.clone(),
            to_status: HomeStatus::InTraining as i32,
            reason: "course".into(),
        };
        let a = rpc!(office, transition_home, step.clone()).unwrap();
        let b = rpc!(office, transition_home, step).unwrap();
        assert_eq!(a, b);
        assert_eq!(
            h.get_home(&id).await.version,
            2,
            "the retried transition was applied once"
        );
    })
    .await;
}

#[tokio::test]
async fn a_home_is_approved_through_assessment_and_a_nämnd_decision() {
    for_each_backend(|h| async move {
        let mut office = h.office().await;
        let home = h.create_home(draft("Storgatan 1", &adult(121))).await;
        let transition = |to: HomeStatus| TransitionHomeRequest {
            home_id: home.id.clone(),
            to_status: to as i32,
            reason: "step".into(),
            ..Default::default()
        };

        let s = expect_code(
            rpc!(office, transition_home, transition(HomeStatus::Active)),
            Code::FailedPrecondition,
        );
        assert!(s.message().contains("HOME_STATUS_APPLICANT"), "{s:?}");
        let approve = |on| RecordApprovalRequest {
            home_id: home.id.clone(),
            municipality_code: "0180".into(),
            decision_date: Some(date(on)),
            decision_ref: "SN 2026/14 §3".into(),
            ..Default::default()
        };
        expect_code(
            rpc!(office, record_approval, approve(days_ago(10))),
            Code::FailedPrecondition,
        );
        expect_invalid(
            rpc!(office, transition_home, transition(HomeStatus::Approved)),
            "to_status",
        );

        let assessed = rpc!(
            office,
            transition_home,
            transition(HomeStatus::UnderAssessment)
        )
        .unwrap();
        assert_eq!(assessed.status, HomeStatus::UnderAssessment as i32);
        expect_invalid(
            rpc!(
                office,
                record_approval,
                approve(today() + chrono::Days::new(1))
            ),
            "decision_date",
        );

        let decided = days_ago(10);
        let approved = rpc!(office, record_approval, approve(decided)).unwrap();
        assert_eq!(approved.status, HomeStatus::Approved as i32);
        assert_eq!(approved.approvals.len(), 1);
        assert_eq!(approved.approvals[0].municipality_code, "0180");
        assert_eq!(approved.approvals[0].recorded_by, OFFICER);
        assert_eq!(naive(&approved.last_reconfirmed_on), decided);
        assert_eq!(
            naive(&approved.reconfirmation_due_on),
            decided.checked_add_months(chrono::Months::new(12)).unwrap()
        );
        assert!(!approved.reconfirmation_overdue);

        // The same decision twice is a conflict, another municipality's decision is added.
        expect_code(
            rpc!(office, record_approval, approve(decided)),
            Code::Aborted,
        );
        let mut second = approve(days_ago(5));
        second.municipality_code = "1480".into();
        assert_eq!(
            rpc!(office, record_approval, second)
                .unwrap()
                .approvals
                .len(),
            2
        );

        let paused = rpc!(office, transition_home, transition(HomeStatus::Paused)).unwrap();
        assert_eq!(paused.status, HomeStatus::Paused as i32);
        let ended = rpc!(office, transition_home, transition(HomeStatus::Ended)).unwrap();
        assert_eq!(ended.status, HomeStatus::Ended as i32);
        expect_code(
            rpc!(office, transition_home, transition(HomeStatus::Active)),
            Code::FailedPrecondition,
        );
        expect_code(
            rpc!(office, record_approval, approve(days_ago(1))),
            Code::FailedPrecondition,
        );
        expect_invalid(
            rpc!(office, transition_home, transition(HomeStatus::Unspecified)),
            "to_status",
        );
    })
    .await;
}

#[tokio::test]
async fn a_home_not_reconfirmed_within_twelve_months_is_overdue_and_not_searchable() {
    for_each_backend(|h| async move {
        let mut office = h.office().await;
        let stale = h
            .approved_home(draft("Storgatan 1", &adult(121)), "0180", months_ago(13))
            .await;
        let fresh = h
            .approved_home(draft("Lillgatan 2", &adult(123)), "0180", months_ago(13))
            .await;
        let recent = h
            .approved_home(draft("Mellangatan 3", &adult(125)), "0180", days_ago(3))
            .await;
        assert!(h.get_home(&stale.id).await.reconfirmation_overdue);

        let reconfirmed = rpc!(
            office,
            reconfirm_home,
            ReconfirmHomeRequest {
                home_id: fresh.id.clone(),
                confirmed_on: Some(date(today())),
                note: "visited".into(),
                ..Default::default()
            }
        )
        .unwrap();
        assert!(!reconfirmed.reconfirmation_overdue);
        assert_eq!(naive(&reconfirmed.last_reconfirmed_on), today());
        assert_eq!(
            naive(&reconfirmed.reconfirmation_due_on),
            today().checked_add_months(chrono::Months::new(12)).unwrap()
        );

        let overdue = rpc!(
            office,
            list_overdue_homes,
            ListOverdueHomesRequest::default()
        )
        .unwrap();
        let ids: Vec<&str> = overdue.homes.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(
            ids,
            vec![stale.id.as_str()],
            "only the home not re-confirmed is overdue"
        );
        assert!(overdue.homes[0].reconfirmation_overdue);

        // A year from now every home is overdue unless re-confirmed again.
        let next_year = ListOverdueHomesRequest {
            as_of: Some(date(
                today().checked_add_months(chrono::Months::new(13)).unwrap(),
            )),
            ..Default::default()
        };
        assert_eq!(
            rpc!(office, list_overdue_homes, next_year)
                .unwrap()
                .homes
                .len(),
            3
        );

        let found = rpc!(office, search_homes, SearchHomesRequest::default()).unwrap();
        let mut ids: Vec<&str> = found.homes.iter().map(|s| s.id.as_str()).collect();
        ids.sort();
        let mut expected = vec![fresh.id.as_str(), recent.id.as_str()];
        expected.sort();
        assert_eq!(ids, expected, "the overdue home is excluded from search");
        let with_overdue = rpc!(
            office,
            search_homes,
            SearchHomesRequest {
                include_unplaceable: true,
                include_overdue: true,
                ..Default::default()
            }
        )
        .unwrap();
        assert_eq!(with_overdue.homes.len(), 3);
        assert!(
            with_overdue
                .homes
                .iter()
                .any(|s| s.id == stale.id && s.reconfirmation_overdue)
        );

        // Re-confirmation cannot be dated in the future or before the last one.
        let future = ReconfirmHomeRequest {
            home_id: stale.id.clone(),
            confirmed_on: Some(date(today() + chrono::Days::new(1))),
            ..Default::default()
        };
        expect_invalid(rpc!(office, reconfirm_home, future), "confirmed_on");
        let before = ReconfirmHomeRequest {
            home_id: fresh.id.clone(),
            confirmed_on: Some(date(days_ago(1))),
            ..Default::default()
        };
        expect_invalid(rpc!(office, reconfirm_home, before), "confirmed_on");
        // Only approved homes are re-confirmed.
        let applicant = h.create_home(draft("Sidogatan 4", &adult(127))).await;
        let r = ReconfirmHomeRequest {
            home_id: applicant.id,
            ..Default::default()
        };
        expect_code(rpc!(office, reconfirm_home, r), Code::FailedPrecondition);
    })
    .await;
}

#[tokio::test]
async fn search_filters_homes_and_shows_no_personal_data() {
    for_each_backend(|h| async move {
        let mut d1 = draft("Storgatan 1", &adult(121));
        d1.languages = vec!["svenska".into(), "arabiska".into()];
        d1.competences = vec!["NPF".into(), "trauma".into()];
        d1.willingness = vec![Willingness::Emergency as i32, Willingness::ShortTerm as i32];
        let a = h.approved_home(d1, "0180", days_ago(30)).await;
        let mut d2 = draft("Kungsportsavenyen 1", &adult(123));
        d2.municipality_code = "1480".into();
        d2.languages = vec!["finska".into()];
        d2.home_type = HomeType::EmergencyHome as i32;
        let b = h.approved_home(d2, "1480", days_ago(30)).await;
        let applicant = h.create_home(draft("Sidogatan 4", &adult(125))).await;

        // Municipalities search nationally (analysts get aggregates only).
        let mut analyst = h.client(caseworker("1280")).await;
        let ids = |r: SearchHomesResponse| r.homes.into_iter().map(|s| s.id).collect::<Vec<_>>();

        let r = rpc!(
            analyst,
            search_homes,
            SearchHomesRequest {
                include_unplaceable: true,
                languages: vec!["Arabiska".into(), "tigrinja".into()],
                ..Default::default()
            }
        )
        .unwrap();
        assert_eq!(ids(r), vec![a.id.clone()]);
        let r = rpc!(
            analyst,
            search_homes,
            SearchHomesRequest {
                include_unplaceable: true,
                competences: vec!["npf".into(), "trauma".into()],
                ..Default::default()
            }
        )
        .unwrap();
        assert_eq!(ids(r), vec![a.id.clone()]);
        let r = rpc!(
            analyst,
            search_homes,
            SearchHomesRequest {
                include_unplaceable: true,
                county_code: "14".into(),
                ..Default::default()
            }
        )
        .unwrap();
        assert_eq!(ids(r), vec![b.id.clone()]);
        let r = rpc!(
            analyst,
            search_homes,
            SearchHomesRequest {
                include_unplaceable: true,
                municipality_code: "0180".into(),
                statuses: vec![HomeStatus::Applicant as i32],
                ..Default::default()
            }
        )
        .unwrap();
        assert_eq!(ids(r), vec![applicant.id.clone()]);
        let r = rpc!(
            analyst,
            search_homes,
            SearchHomesRequest {
                include_unplaceable: true,
                home_types: vec![HomeType::EmergencyHome as i32],
                ..Default::default()
            }
        )
        .unwrap();
        assert_eq!(ids(r), vec![b.id.clone()]);
        let r = rpc!(
            analyst,
            search_homes,
            SearchHomesRequest {
                include_unplaceable: true,
                willingness: Willingness::Emergency as i32,
                ..Default::default()
            }
        )
        .unwrap();
        assert_eq!(ids(r), vec![a.id.clone()]);
        let r = rpc!(
            analyst,
            search_homes,
            SearchHomesRequest {
                include_unplaceable: true,
                with_free_capacity: true,
                ..Default::default()
            }
        )
        .unwrap();
        assert_eq!(r.homes.len(), 3);

        // Pages: one at a time, each token leads to the next.
        let mut seen = Vec::new();
        let mut token = String::new();
        loop {
            let page = samling_proto::common::v1::PageRequest {
                page_size: 1,
                page_token: token.clone(),
            };
            let r = rpc!(
                analyst,
                search_homes,
                SearchHomesRequest {
                    include_unplaceable: true,
                    page: Some(page),
                    ..Default::default()
                }
            )
            .unwrap();
            seen.extend(r.homes.iter().map(|s| s.id.clone()));
            token = r.page.unwrap().next_page_token;
            if token.is_empty() {
                break;
            }
        }
        assert_eq!(seen.len(), 3);

        // Summaries never carry names, personnummer or addresses.
        let all = rpc!(analyst, search_homes, SearchHomesRequest::default()).unwrap();
        let text = format!("{all:?}");
        for secret in [
            "Storgatan",
            "Kungsportsavenyen",
            "Anna",
            &canonical(&adult(121)),
        ] {
            assert!(!text.contains(secret), "search leaked {secret}");
        }
        expect_invalid(
            rpc!(
                analyst,
                search_homes,
                SearchHomesRequest {
                    include_unplaceable: true,
                    municipality_code: "9999".into(),
                    ..Default::default()
                }
            ),
            "municipality_code",
        );
        expect_invalid(
            rpc!(
                analyst,
                search_homes,
                SearchHomesRequest {
                    include_unplaceable: true,
                    home_types: vec![99],
                    ..Default::default()
                }
            ),
            "home_types[0]",
        );
    })
    .await;
}

#[tokio::test]
async fn every_change_adds_a_version_with_actor_and_reason() {
    for_each_backend(|h| async move {
        let mut office = h.office().await;
        let home = h.create_home(draft("Storgatan 1", &adult(121))).await;
        let mut d = draft("Storgatan 1", &adult(121));
        d.languages = vec!["svenska".into(), "finska".into()];
        rpc!(
            office,
            update_home_profile,
            UpdateHomeProfileRequest {
                home_id: home.id.clone(),
                expected_version: 1,
                draft: Some(d),
                reason: "the family speaks Finnish".into(),
                ..Default::default()
            }
        )
        .unwrap();
        rpc!(
            office,
            transition_home,
            TransitionHomeRequest {
                home_id: home.id.clone(),
                to_status: HomeStatus::UnderAssessment as i32,
                reason: "home study started".into(),
                ..Default::default()
            }
        )
        .unwrap();
        let mut manager = h.client(manager("0180")).await;
        rpc!(
            manager,
            record_approval,
            RecordApprovalRequest {
                home_id: home.id.clone(),
                municipality_code: "0180".into(),
                decision_date: Some(date(days_ago(2))),
                decision_ref: "SN 2026/7".into(),
                ..Default::default()
            }
        )
        .unwrap();
        let member = MemberDraft {
            given_name: "Bo".into(),
            family_name: "Berg".into(),
            personnummer: adult(131),
            role: MemberRole::OtherAdult as i32,
        };
        rpc!(
            office,
            add_household_member,
            AddHouseholdMemberRequest {
                home_id: home.id.clone(),
                member: Some(member),
                reason: "moved in".into(),
                ..Default::default()
            }
        )
        .unwrap();

        let history = rpc!(
            office,
            get_home_history,
            GetHomeHistoryRequest {
                home_id: home.id.clone(),
                page: None
            }
        )
        .unwrap();
        let rows: Vec<(i64, &str, &str, &str, &str)> = history
            .versions
            .iter()
            .map(|v| {
                (
                    v.version,
                    v.change.as_str(),
                    v.actor_subject.as_str(),
                    v.actor_role.as_str(),
                    v.reason.as_str(),
                )
            })
            .collect();
        assert_eq!(
            rows,
            vec![
                (1, "home_created", OFFICER, "regional_officer", "created"),
                (
                    2,
                    "home_updated",
                    OFFICER,
                    "regional_officer",
                    "the family speaks Finnish"
                ),
                (
                    3,
                    "home_status_changed",
                    OFFICER,
                    "regional_officer",
                    "home study started"
                ),
                (
                    4,
                    "home_approved",
                    "manager-0180",
                    "municipality_manager",
                    "nämnd decision"
                ),
                (
                    5,
                    "home_member_added",
                    OFFICER,
                    "regional_officer",
                    "moved in"
                ),
            ]
        );
        for v in &history.versions {
            let snap = v.snapshot.as_ref().expect("snapshot");
            assert_eq!(
                snap.version, v.version,
                "each snapshot is the home as of its version"
            );
            assert!(!v.at.is_empty());
        }
        assert_eq!(
            history.versions[1].snapshot.as_ref().unwrap().languages,
            vec!["finska", "svenska"]
        );
        assert_eq!(
            history.versions[0].snapshot.as_ref().unwrap().languages,
            vec!["svenska"]
        );
        assert_eq!(
            history.versions[4].snapshot.as_ref().unwrap().members.len(),
            2
        );
        assert_eq!(h.get_home(&home.id).await.version, 5);

        // The history pages by version.
        let page = |token: String| GetHomeHistoryRequest {
            home_id: home.id.clone(),
            page: Some(samling_proto::common::v1::PageRequest {
                page_size: 2,
                page_token: token,
            }),
        };
        let first = rpc!(office, get_home_history, page(String::new())).unwrap();
        assert_eq!(
            first.versions.iter().map(|v| v.version).collect::<Vec<_>>(),
            vec![1, 2]
        );
        let second = rpc!(
            office,
            get_home_history,
            page(first.page.unwrap().next_page_token)
        )
        .unwrap();
        assert_eq!(
            second
                .versions
                .iter()
                .map(|v| v.version)
                .collect::<Vec<_>>(),
            vec![3, 4]
        );
        let third = rpc!(
            office,
            get_home_history,
            page(second.page.unwrap().next_page_token)
        )
        .unwrap();
        assert_eq!(
            third.versions.iter().map(|v| v.version).collect::<Vec<_>>(),
            vec![5]
        );
        assert!(third.page.unwrap().next_page_token.is_empty());

        // A caseworker not involved with the home sees the history without personal data.
        let mut cw = h.client(caseworker("1280")).await;
        let theirs = rpc!(
            cw,
            get_home_history,
            GetHomeHistoryRequest {
                home_id: home.id.clone(),
                page: None
            }
        )
        .unwrap();
        assert_eq!(theirs.versions.len(), 5);
        assert!(theirs.versions.iter().all(|v| {
            let s = v.snapshot.as_ref().unwrap();
            s.members.is_empty() && s.address.is_none() && s.personal_data_redacted
        }));
    })
    .await;
}

#[tokio::test]
async fn a_profile_update_from_a_stale_version_is_aborted() {
    for_each_backend(|h| async move {
        let mut office = h.office().await;
        let home = h.create_home(draft("Storgatan 1", &adult(121))).await;
        let update = |version: i64, lang: &str| {
            let mut d = draft("Storgatan 1", &adult(121));
            d.languages = vec![lang.into()];
            UpdateHomeProfileRequest {
                home_id: home.id.clone(),
                expected_version: version,
                draft: Some(d),
                reason: "edit".into(),
                ..Default::default()
            }
        };
        let first = rpc!(office, update_home_profile, update(1, "finska")).unwrap();
        assert_eq!(first.version, 2);
        let s = expect_code(
            rpc!(office, update_home_profile, update(1, "arabiska")),
            Code::Aborted,
        );
        assert!(s.message().contains("version 2"), "{s:?}");
        let home_now = h.get_home(&home.id).await;
        assert_eq!(
            home_now.languages,
            vec!["finska"],
            "the stale write changed nothing"
        );
        assert_eq!(home_now.version, 2);
        let second = rpc!(office, update_home_profile, update(2, "arabiska")).unwrap();
        assert_eq!(
            (second.version, second.languages.clone()),
            (3, vec!["arabiska".to_string()])
        );
        // 0 skips the check; members are not touched by a profile update.
        let third = rpc!(office, update_home_profile, update(0, "somaliska")).unwrap();
        assert_eq!(third.version, 4);
        assert_eq!(third.members.len(), 1);
        let missing = UpdateHomeProfileRequest {
            home_id: "00000000-0000-7000-8000-000000000000".into(),
            ..update(0, "x")
        };
        expect_code(rpc!(office, update_home_profile, missing), Code::NotFound);
    })
    .await;
}

#[tokio::test]
async fn a_family_home_sees_its_own_entry_and_asks_for_corrections_and_appeals() {
    for_each_backend(|h| async move {
        let own = h
            .approved_home(draft("Storgatan 1", &adult(121)), "0180", days_ago(20))
            .await;
        let other = h.create_home(draft("Lillgatan 2", &adult(123))).await;
        let mut home = h.client(family_home(&own.id)).await;

        let seen = home.get_home(&own.id).await.unwrap();
        assert!(!seen.personal_data_redacted);
        assert!(seen.address.is_some());
        assert_eq!(seen.members[0].personnummer, canonical(&adult(121)));
        expect_code(home.get_home(&other.id).await, Code::PermissionDenied);
        expect_code(
            home.create_home("x", draft("Tredje gatan 3", &adult(125)))
                .await,
            Code::PermissionDenied,
        );
        expect_code(
            rpc!(home, search_homes, SearchHomesRequest::default()),
            Code::PermissionDenied,
        );

        let correction = rpc!(
            home,
            submit_home_request,
            SubmitHomeRequestRequest {
                home_id: own.id.clone(),
                kind: HomeRequestKind::Correction as i32,
                field: "languages".into(),
                proposed_value: "svenska, finska".into(),
                message: "We also speak Finnish".into(),
                ..Default::default()
            }
        )
        .unwrap();
        assert_eq!(correction.status, HomeRequestStatus::Open as i32);
        assert_eq!(correction.field, "languages");
        assert_eq!(correction.submitted_by, family_home(&own.id).sub);
        assert_eq!(
            naive(&correction.respond_by),
            today() + chrono::Days::new(28)
        );

        let appeal = rpc!(
            home,
            submit_home_request,
            SubmitHomeRequestRequest {
                home_id: own.id.clone(),
                kind: HomeRequestKind::Appeal as i32,
                message: "We disagree with the incident note".into(),
                ..Default::default()
            }
        )
        .unwrap();
        assert_eq!(naive(&appeal.respond_by), today() + chrono::Days::new(28));
        let second_opinion = rpc!(
            home,
            submit_home_request,
            SubmitHomeRequestRequest {
                home_id: own.id.clone(),
                kind: HomeRequestKind::SecondOpinion as i32,
                message: "We ask for a second assessment".into(),
                ..Default::default()
            }
        )
        .unwrap();
        assert_eq!(
            naive(&second_opinion.respond_by),
            today() + chrono::Days::new(28)
        );
        let reply = rpc!(
            home,
            submit_home_request,
            SubmitHomeRequestRequest {
                home_id: own.id.clone(),
                kind: HomeRequestKind::Response as i32,
                message: "Thank you".into(),
                ..Default::default()
            }
        )
        .unwrap();
        assert!(
            reply.respond_by.is_none(),
            "a plain response has no deadline"
        );

        expect_invalid(
            rpc!(
                home,
                submit_home_request,
                SubmitHomeRequestRequest {
                    home_id: own.id.clone(),
                    kind: HomeRequestKind::Correction as i32,
                    message: "fix".into(),
                    ..Default::default()
                }
            ),
            "field",
        );
        expect_invalid(
            rpc!(
                home,
                submit_home_request,
                SubmitHomeRequestRequest {
                    home_id: own.id.clone(),
                    kind: HomeRequestKind::Appeal as i32,
                    ..Default::default()
                }
            ),
            "message",
        );
        expect_code(
            rpc!(
                home,
                submit_home_request,
                SubmitHomeRequestRequest {
                    home_id: other.id.clone(),
                    kind: HomeRequestKind::Appeal as i32,
                    message: "not ours".into(),
                    ..Default::default()
                }
            ),
            Code::PermissionDenied,
        );

        let listed = rpc!(
            home,
            list_home_requests,
            ListHomeRequestsRequest {
                home_id: own.id.clone(),
                open_only: true,
                page: None
            }
        )
        .unwrap();
        assert_eq!(listed.requests.len(), 4);
        expect_code(
            rpc!(
                home,
                list_home_requests,
                ListHomeRequestsRequest {
                    home_id: other.id.clone(),
                    ..Default::default()
                }
            ),
            Code::PermissionDenied,
        );

        // The office decides; the home cannot decide its own request.
        let decide = |accept| DecideHomeRequestRequest {
            home_request_id: correction.id.clone(),
            accept,
            reason: "checked with the family".into(),
            ..Default::default()
        };
        expect_code(
            rpc!(home, decide_home_request, decide(true)),
            Code::PermissionDenied,
        );
        let mut office = h.office().await;
        expect_invalid(
            rpc!(
                office,
                decide_home_request,
                DecideHomeRequestRequest {
                    home_request_id: correction.id.clone(),
                    accept: true,
                    ..Default::default()
                }
            ),
            "reason",
        );
        let decided = rpc!(office, decide_home_request, decide(true)).unwrap();
        assert_eq!(decided.status, HomeRequestStatus::Accepted as i32);
        assert_eq!(decided.decided_by, OFFICER);
        assert_eq!(decided.decision_reason, "checked with the family");
        expect_code(
            rpc!(office, decide_home_request, decide(false)),
            Code::FailedPrecondition,
        );
        let open = rpc!(
            office,
            list_home_requests,
            ListHomeRequestsRequest {
                home_id: String::new(),
                open_only: true,
                page: None
            }
        )
        .unwrap();
        assert_eq!(
            open.requests.len(),
            3,
            "the decided request is no longer open"
        );
        // A home's list is the home's: a malformed id is refused naming it,
        // an unknown home is not found (not an empty list).
        let of = |home_id: &str| ListHomeRequestsRequest {
            home_id: home_id.into(),
            ..Default::default()
        };
        expect_invalid(rpc!(office, list_home_requests, of("null,null")), "home_id");
        expect_code(
            rpc!(
                office,
                list_home_requests,
                of("01a20d6f-1d58-75f0-a744-4b1eec0c7d9a")
            ),
            Code::NotFound,
        );
    })
    .await;
}

#[tokio::test]
async fn a_home_manages_its_jour_availability_and_may_withdraw_consent() {
    for_each_backend(|h| async move {
        let mut d = draft("Storgatan 1", &adult(121));
        d.willingness = vec![Willingness::Emergency as i32];
        let jour = h.approved_home(d, "0180", days_ago(20)).await;
        let long_term = h
            .approved_home(draft("Lillgatan 2", &adult(123)), "0180", days_ago(20))
            .await;

        let mut home = h.client(family_home(&jour.id)).await;
        let on = rpc!(
            home,
            set_jour_availability,
            SetJourAvailabilityRequest {
                home_id: jour.id.clone(),
                available: true,
                ..Default::default()
            }
        )
        .unwrap();
        assert!(on.jour_available);
        assert!(!on.jour_available_updated_at.is_empty());
        let mut other = h.client(family_home(&long_term.id)).await;
        expect_code(
            rpc!(
                other,
                set_jour_availability,
                SetJourAvailabilityRequest {
                    home_id: long_term.id.clone(),
                    available: true,
                    ..Default::default()
                }
            ),
            Code::FailedPrecondition,
        );
        expect_code(
            rpc!(
                other,
                set_jour_availability,
                SetJourAvailabilityRequest {
                    home_id: jour.id.clone(),
                    available: false,
                    ..Default::default()
                }
            ),
            Code::PermissionDenied,
        );

        // Municipalities search nationally (analysts get aggregates only).
        let mut analyst = h.client(caseworker("1280")).await;
        let r = rpc!(
            analyst,
            search_homes,
            SearchHomesRequest {
                include_unplaceable: true,
                jour_available_only: true,
                ..Default::default()
            }
        )
        .unwrap();
        assert_eq!(
            r.homes.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
            vec![jour.id.as_str()]
        );

        let withdrawn = rpc!(
            home,
            withdraw_consent,
            WithdrawConsentRequest {
                home_id: jour.id.clone(),
                reason: "family reasons".into(),
                ..Default::default()
            }
        )
        .unwrap();
        assert!(withdrawn.consent_withdrawn);
        assert_eq!(naive(&withdrawn.consent_withdrawn_on), today());
        assert!(
            !withdrawn.jour_available,
            "withdrawing consent ends jour availability"
        );
        expect_code(
            rpc!(
                home,
                set_jour_availability,
                SetJourAvailabilityRequest {
                    home_id: jour.id.clone(),
                    available: true,
                    ..Default::default()
                }
            ),
            Code::FailedPrecondition,
        );
        let r = rpc!(
            analyst,
            search_homes,
            SearchHomesRequest {
                include_unplaceable: true,
                jour_available_only: true,
                ..Default::default()
            }
        )
        .unwrap();
        assert!(r.homes.is_empty());
    })
    .await;
}

#[tokio::test]
async fn household_members_checks_and_incidents_are_kept_on_the_home() {
    for_each_backend(|h| async move {
        let mut office = h.office().await;
        let home = h.create_home(draft("Storgatan 1", &adult(121))).await;
        let carer_id = home.members[0].id.clone();
        let teen = MemberDraft {
            given_name: "Ida".into(),
            family_name: "Berg".into(),
            personnummer: String::new(),
            role: MemberRole::Child as i32,
        };
        let added = rpc!(
            office,
            add_household_member,
            AddHouseholdMemberRequest {
                home_id: home.id.clone(),
                member: Some(teen),
                reason: "born".into(),
                ..Default::default()
            }
        )
        .unwrap();
        let with_teen = added.home.unwrap();
        assert_eq!(with_teen.members.len(), 2);
        let same_again = MemberDraft {
            given_name: "Anna".into(),
            family_name: "Berg".into(),
            personnummer: adult(121),
            role: MemberRole::OtherAdult as i32,
        };
        expect_invalid(
            rpc!(
                office,
                add_household_member,
                AddHouseholdMemberRequest {
                    home_id: home.id.clone(),
                    member: Some(same_again),
                    ..Default::default()
                }
            ),
            "member.personnummer",
        );

        let check = RecordCheck {
            checked_on: Some(date(days_ago(3))),
            register: "belastningsregistret".into(),
            outcome: RecordCheckOutcome::Clear as i32,
        };
        let checked = rpc!(
            office,
            record_record_check,
            RecordRecordCheckRequest {
                home_id: home.id.clone(),
                member_id: carer_id.clone(),
                check: Some(check.clone()),
                ..Default::default()
            }
        )
        .unwrap();
        let carer = checked.members.iter().find(|m| m.id == carer_id).unwrap();
        assert_eq!(carer.record_checks, vec![check.clone()]);
        let future = RecordCheck {
            checked_on: Some(date(today() + chrono::Days::new(2))),
            ..check.clone()
        };
        expect_invalid(
            rpc!(
                office,
                record_record_check,
                RecordRecordCheckRequest {
                    home_id: home.id.clone(),
                    member_id: carer_id.clone(),
                    check: Some(future),
                    ..Default::default()
                }
            ),
            "check.checked_on",
        );
        expect_code(
            rpc!(
                office,
                record_record_check,
                RecordRecordCheckRequest {
                    home_id: home.id.clone(),
                    member_id: "no-such-member".into(),
                    check: Some(check),
                    ..Default::default()
                }
            ),
            Code::NotFound,
        );

        let incident = rpc!(
            office,
            record_incident,
            RecordIncidentRequest {
                home_id: home.id.clone(),
                occurred_on: Some(date(days_ago(1))),
                category: "complaint".into(),
                description: "neighbour complaint".into(),
                ..Default::default()
            }
        )
        .unwrap();
        assert_eq!(incident.incidents.len(), 1);
        assert_eq!(incident.incidents[0].category, "complaint");

        // The last carer cannot be removed; others can.
        expect_code(
            rpc!(
                office,
                remove_household_member,
                RemoveHouseholdMemberRequest {
                    home_id: home.id.clone(),
                    member_id: carer_id.clone(),
                    reason: "moved".into(),
                    ..Default::default()
                }
            ),
            Code::FailedPrecondition,
        );
        let teen_id = with_teen
            .members
            .iter()
            .find(|m| m.role == MemberRole::Child as i32)
            .unwrap()
            .id
            .clone();
        let removed = rpc!(
            office,
            remove_household_member,
            RemoveHouseholdMemberRequest {
                home_id: home.id.clone(),
                member_id: teen_id,
                reason: "moved out".into(),
                ..Default::default()
            }
        )
        .unwrap();
        assert_eq!(removed.members.len(), 1);
        assert_eq!(removed.version, 5);
    })
    .await;
}

#[tokio::test]
async fn the_same_adult_in_two_homes_is_flagged_not_merged() {
    for_each_backend(|h| async move {
        let mut office = h.office().await;
        let shared = adult(121);
        let first = h.create_home(draft("Storgatan 1", &shared)).await;
        let resp = rpc!(
            office,
            create_home,
            CreateHomeRequest {
                request_id: String::new(),
                draft: Some(draft("Lillgatan 2", &shared))
            }
        )
        .unwrap();
        let second = resp.home.unwrap();
        assert_eq!(resp.duplicates.len(), 1);
        let flag = &resp.duplicates[0];
        assert_eq!(flag.kind, DuplicateKind::SameAdultInTwoHomes as i32);
        assert_eq!(flag.status, DuplicateStatus::Open as i32);
        assert_eq!(
            (
                flag.record_type.as_str(),
                flag.record_id.as_str(),
                flag.other_record_id.as_str()
            ),
            ("home", second.id.as_str(), first.id.as_str())
        );

        // Both records still exist, each with its own member.
        assert_eq!(h.get_home(&first.id).await.members.len(), 1);
        assert_eq!(h.get_home(&second.id).await.members.len(), 1);

        let listed = rpc!(
            office,
            list_duplicate_flags,
            ListDuplicateFlagsRequest {
                open_only: true,
                page: None
            }
        )
        .unwrap();
        assert_eq!(listed.flags, resp.duplicates);

        // An adult added later to a third home is flagged against both.
        let third = h.create_home(draft("Tredje gatan 3", &adult(125))).await;
        let added = rpc!(
            office,
            add_household_member,
            AddHouseholdMemberRequest {
                home_id: third.id.clone(),
                member: Some(carer("Anna", &shared)),
                reason: "second carer".into(),
                ..Default::default()
            }
        )
        .unwrap();
        let mut others: Vec<String> = added
            .duplicates
            .iter()
            .map(|f| f.other_record_id.clone())
            .collect();
        others.sort();
        let mut expected = vec![first.id.clone(), second.id.clone()];
        expected.sort();
        assert_eq!(others, expected);

        // Resolving keeps the flag, with its outcome.
        let resolve = |status: DuplicateStatus| ResolveDuplicateFlagRequest {
            flag_id: flag.id.clone(),
            resolution: status as i32,
            note: "two homes, one carer's work address".into(),
            ..Default::default()
        };
        expect_invalid(
            rpc!(
                office,
                resolve_duplicate_flag,
                resolve(DuplicateStatus::Open)
            ),
            "resolution",
        );
        let resolved = rpc!(
            office,
            resolve_duplicate_flag,
            resolve(DuplicateStatus::NotDuplicate)
        )
        .unwrap();
        assert_eq!(resolved.status, DuplicateStatus::NotDuplicate as i32);
        assert_eq!(
            resolved.resolution_note,
            "two homes, one carer's work address"
        );
        expect_code(
            rpc!(
                office,
                resolve_duplicate_flag,
                resolve(DuplicateStatus::ConfirmedDuplicate)
            ),
            Code::FailedPrecondition,
        );
        let open = rpc!(
            office,
            list_duplicate_flags,
            ListDuplicateFlagsRequest {
                open_only: true,
                page: None
            }
        )
        .unwrap();
        assert!(open.flags.iter().all(|f| f.id != flag.id));
        let all = rpc!(
            office,
            list_duplicate_flags,
            ListDuplicateFlagsRequest {
                open_only: false,
                page: None
            }
        )
        .unwrap();
        assert!(
            all.flags
                .iter()
                .any(|f| f.id == flag.id && f.status == DuplicateStatus::NotDuplicate as i32)
        );

        expect_code(
            rpc!(
                h.client(caseworker("0180")).await,
                list_duplicate_flags,
                ListDuplicateFlagsRequest::default()
            ),
            Code::PermissionDenied,
        );
    })
    .await;
}

#[tokio::test]
async fn a_flagged_pair_is_not_flagged_again_when_a_home_is_edited() {
    for_each_backend(|h| async move {
        let mut office = h.office().await;
        let shared = adult(121);
        let first = h.create_home(draft("Storgatan 1", &shared)).await;
        let resp = rpc!(
            office,
            create_home,
            CreateHomeRequest {
                request_id: String::new(),
                draft: Some(draft("Lillgatan 2", &shared))
            }
        )
        .unwrap();
        let second = resp.home.unwrap();
        assert_eq!(resp.duplicates.len(), 1);
        let flag_id = resp.duplicates[0].id.clone();
        rpc!(
            office,
            resolve_duplicate_flag,
            ResolveDuplicateFlagRequest {
                flag_id,
                resolution: DuplicateStatus::NotDuplicate as i32,
                note: "checked".into(),
                ..Default::default()
            }
        )
        .unwrap();

        // Editing either home must not raise the reviewed pair again.
        for (id, street) in [(&second.id, "Lillgatan 2"), (&first.id, "Storgatan 1")] {
            let mut d = draft(street, &shared);
            d.languages = vec!["finska".into()];
            rpc!(
                office,
                update_home_profile,
                UpdateHomeProfileRequest {
                    home_id: id.clone(),
                    draft: Some(d),
                    reason: "edit".into(),
                    ..Default::default()
                }
            )
            .unwrap();
        }
        let all = rpc!(
            office,
            list_duplicate_flags,
            ListDuplicateFlagsRequest {
                open_only: false,
                page: None
            }
        )
        .unwrap();
        assert_eq!(all.flags.len(), 1, "one pair, one flag: {:?}", all.flags);
    })
    .await;
}

#[tokio::test]
async fn the_same_address_on_two_homes_is_flagged() {
    for_each_backend(|h| async move {
        let mut office = h.office().await;
        let first = h.create_home(draft("Storgatan 1", &adult(121))).await;
        let mut same_place = draft("storgatan  1", &adult(123));
        same_place.address.as_mut().unwrap().postal_code = "111 22".into();
        let resp = rpc!(
            office,
            create_home,
            CreateHomeRequest {
                request_id: String::new(),
                draft: Some(same_place)
            }
        )
        .unwrap();
        assert_eq!(resp.duplicates.len(), 1);
        assert_eq!(
            resp.duplicates[0].kind,
            DuplicateKind::SameAddressTwoHomes as i32
        );
        assert_eq!(resp.duplicates[0].other_record_id, first.id);
        // An ended home no longer counts.
        rpc!(
            office,
            transition_home,
            TransitionHomeRequest {
                home_id: first.id.clone(),
                to_status: HomeStatus::Ended as i32,
                reason: "moved abroad".into(),
                ..Default::default()
            }
        )
        .unwrap();
        let third = rpc!(
            office,
            create_home,
            CreateHomeRequest {
                request_id: String::new(),
                draft: Some(draft("Storgatan 1", &adult(125)))
            }
        )
        .unwrap();
        assert!(
            third
                .duplicates
                .iter()
                .all(|f| f.other_record_id != first.id),
            "{:?}",
            third.duplicates
        );
    })
    .await;
}

#[tokio::test]
async fn the_same_child_registered_twice_is_flagged_and_both_records_kept() {
    for_each_backend(|h| async move {
        let mut office = h.office().await;
        let pnr = child_pnr(8, 234);
        let first = h.register_child("0180", &pnr).await;
        let req = RegisterChildRequest {
            personnummer: pnr.clone(),
            given_name: "Kim".into(),
            family_name: "Lind".into(),
            placing_municipality_code: "0180".into(),
            ..Default::default()
        };
        let again = rpc!(office, register_child, req).unwrap();
        let second = again.child.unwrap();
        assert_ne!(first.id, second.id);
        assert_eq!(again.duplicates.len(), 1);
        let f = &again.duplicates[0];
        assert_eq!(f.kind, DuplicateKind::SameChildTwice as i32);
        assert_eq!(
            (
                f.record_type.as_str(),
                f.record_id.as_str(),
                f.other_record_id.as_str()
            ),
            ("child", second.id.as_str(), first.id.as_str())
        );
        for id in [&first.id, &second.id] {
            let c = rpc!(
                office,
                get_child,
                GetChildRequest {
                    child_id: id.clone()
                }
            )
            .unwrap();
            assert_eq!(c.personnummer, canonical(&pnr));
        }
        let confirmed = rpc!(
            office,
            resolve_duplicate_flag,
            ResolveDuplicateFlagRequest {
                flag_id: f.id.clone(),
                resolution: DuplicateStatus::ConfirmedDuplicate as i32,
                note: "same child".into(),
                ..Default::default()
            }
        )
        .unwrap();
        assert_eq!(confirmed.status, DuplicateStatus::ConfirmedDuplicate as i32);
    })
    .await;
}

#[tokio::test]
async fn homes_are_imported_row_by_row_and_exported_without_protected_addresses() {
    for_each_backend(|h| async move {
        let mut office = h.office().await;
        let mut bad = draft("Tredje gatan 3", &adult(125));
        bad.provider = 0;
        let mut protected = draft("Hemliga vägen 9", &adult(123));
        protected.protected_identity = true;
        let rows = vec![
            ImportRow {
                line: 2,
                draft: Some(draft("Storgatan 1", &adult(121))),
            },
            ImportRow {
                line: 3,
                draft: Some(bad),
            },
            ImportRow {
                line: 4,
                draft: Some(protected),
            },
        ];
        let dry = dry_run_import(&mut office, &rows).await;
        assert_eq!(dry.created, 0);
        assert_eq!(import_errors(&dry), vec![(3, "draft.provider")]);
        let none = rpc!(
            office,
            search_homes,
            SearchHomesRequest {
                include_unplaceable: true,
                include_overdue: true,
                ..Default::default()
            }
        )
        .unwrap();
        assert!(none.homes.is_empty(), "a dry run writes nothing");

        let done = rpc!(
            office,
            import_homes,
            ImportHomesRequest {
                request_id: "import-1".into(),
                rows,
                dry_run: false
            }
        )
        .unwrap();
        assert_eq!(done.created, 2);
        assert_eq!(done.home_ids.len(), 2);
        assert_eq!(done.errors.len(), 1);
        assert_eq!(done.errors[0].line, 3);

        let req = office.request(ExportHomesRequest {
            municipality_code: "0180".into(),
        });
        let mut stream = office.raw().export_homes(req).await.unwrap().into_inner();
        let mut exported = Vec::new();
        while let Some(home) = stream.next().await {
            exported.push(home.unwrap());
        }
        assert_eq!(exported.len(), 2);
        let hidden = exported.iter().find(|x| x.protected_identity).unwrap();
        assert!(
            hidden.address.is_none() && hidden.personal_data_redacted,
            "a protected address never leaves in an export"
        );
        let open = exported.iter().find(|x| !x.protected_identity).unwrap();
        assert_eq!(open.address.as_ref().unwrap().street, "Storgatan 1");

        let mut cw = h.client(caseworker("0180")).await;
        let req = cw.request(ExportHomesRequest::default());
        expect_code(
            cw.raw().export_homes(req).await.map(|_| ()),
            Code::PermissionDenied,
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_retries_of_one_request_all_get_the_first_answer() {
    for_each_backend(|h| async move {
        let d = draft("Storgatan 1", &adult(121));
        let mut calls = Vec::new();
        for _ in 0..6 {
            let h = h.clone();
            let d = d.clone();
            calls.push(tokio::spawn(async move {
                rpc!(
                    h.office().await,
                    create_home,
                    CreateHomeRequest {
                        request_id: "same-request".into(),
                        draft: Some(d)
                    }
                )
            }));
        }
        let mut ids = Vec::new();
        for c in calls {
            let resp = c.await.unwrap().expect("every retry is answered");
            ids.push(resp.home.unwrap().id);
        }
        ids.dedup();
        assert_eq!(ids.len(), 1, "one home, one answer: {ids:?}");
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
