//! A child placed in another region (issue 24 §1, ADR 0021): two regions'
//! registers in one test, each on its own store and port, calling each
//! other over gRPC as the `service` role with their region signed in.

use crate::common::*;
use samling_kit::auth::{AuthContext, ContextSigner, Role};
use samling_proto::registry::v1::*;
use samling_registry::peers::IdentityKey;
use tonic::Code;

const STHLM: &str = "stockholm-gotland";
const NORR: &str = "norr";
/// Stockholm (stockholm-gotland).
const STOCKHOLM: &str = "0180";
/// Solna (stockholm-gotland): a neighbour of Stockholm's.
const SOLNA: &str = "0184";
/// Umeå (norr).
const UMEA: &str = "2480";

/// Stockholm's and Norr's registers, each knowing the other, sharing the
/// context key and the national identity key.
async fn two_regions(backend: &samling_testkit::Backend) -> (Harness, Harness) {
    let signer = ContextSigner::generate().expect("signer");
    let s = Harness::start_signed(backend, Some(STHLM), signer.clone()).await;
    let n = Harness::start_signed(backend, Some(NORR), signer.clone()).await;
    let key = IdentityKey::from_bytes([42; 32]);
    for (h, other, at) in [(&s, NORR, &n.endpoint), (&n, STHLM, &s.endpoint)] {
        let peers = h.registry.peers();
        peers.set_signer(signer.clone());
        peers.set_identity_key(key.clone());
        peers.add(other, at);
    }
    (s, n)
}

async fn each_backend<F, Fut>(test: F)
where
    F: Fn(Harness, Harness) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    samling_testkit::for_each_store_backend(|backend| {
        let test = &test;
        async move {
            let (s, n) = two_regions(&backend).await;
            test(s, n).await
        }
    })
    .await
}

fn office_of(region: &str) -> AuthContext {
    office_in(region)
}

/// An approved family home in Umeå, in Norr's register.
async fn umea_home(n: &Harness, carer_pnr: &str) -> Home {
    umea_home_with(n, carer_pnr, false).await
}

async fn umea_home_with(n: &Harness, carer_pnr: &str, protected: bool) -> Home {
    let mut d = draft("Storgatan 1", carer_pnr);
    d.protected_identity = protected;
    d.municipality_code = UMEA.into();
    if let Some(a) = d.address.as_mut() {
        a.city = "Umeå".into();
        a.postal_code = "90326".into();
    }
    let created = rpc!(
        n.client(office_of(NORR)).await,
        create_home,
        CreateHomeRequest {
            request_id: String::new(),
            draft: Some(d),
        }
    )
    .expect("create the Umeå home");
    let home = created.home.expect("home");
    let mut office = n.client(office_of(NORR)).await;
    rpc!(
        office,
        transition_home,
        TransitionHomeRequest {
            home_id: home.id.clone(),
            to_status: HomeStatus::UnderAssessment as i32,
            reason: "home study".into(),
            ..Default::default()
        }
    )
    .expect("to assessment");
    rpc!(
        office,
        record_approval,
        RecordApprovalRequest {
            home_id: home.id.clone(),
            municipality_code: UMEA.into(),
            decision_date: Some(date(days_ago(30))),
            decision_ref: "SN 2026/1".into(),
            ..Default::default()
        }
    )
    .expect("approve")
}

async fn stockholm_child(s: &Harness, pnr: &str) -> Child {
    let resp = rpc!(
        s.client(office_of(STHLM)).await,
        register_child,
        RegisterChildRequest {
            personnummer: pnr.into(),
            given_name: "Kim".into(),
            family_name: "Lind".into(),
            placing_municipality_code: STOCKHOLM.into(),
            ..Default::default()
        }
    )
    .expect("register the child in Stockholm");
    resp.child.expect("child")
}

async fn placed_count(n: &Harness, home_id: &str) -> i32 {
    rpc!(
        n.client(office_of(NORR)).await,
        get_home,
        GetHomeRequest {
            home_id: home_id.into()
        }
    )
    .expect("get the Umeå home")
    .placed_count
}

fn payloads(events: &[samling_proto::common::v1::Event]) -> String {
    events
        .iter()
        .map(|e| format!("{} {} {}\n", e.event_type, e.aggregate_id, e.payload_json))
        .collect()
}

#[tokio::test]
async fn a_stockholm_child_is_placed_in_an_umea_home_counted_there_and_freed_when_ended() {
    each_backend(|s, n| async move {
        let home = umea_home(&n, &adult(501)).await;
        let pnr = child_pnr(9, 502);
        let child = stockholm_child(&s, &pnr).await;
        let before = n.events_after(0).await.len();

        // Stockholm's caseworker places the child through Stockholm's
        // register; the home's region is found without being named.
        let mut req = placement(&child.id, &home.id, days_ago(2));
        req.request_id = "place-1".into();
        let placed = rpc!(
            s.client(caseworker(STOCKHOLM)).await,
            create_placement,
            req.clone()
        )
        .unwrap_or_else(|e| panic!("[{}] place across regions: {e:?}", s.backend));
        let p = placed.placement.expect("placement");
        assert_eq!(p.home_region, NORR, "[{}]", s.backend);
        assert_eq!(p.home_id, home.id);
        assert_eq!(p.receiving_municipality_code, UMEA);
        assert_eq!(p.placing_municipality_code, STOCKHOLM);
        assert_eq!(placed_count(&n, &home.id).await, 1, "counted in Umeå");

        // Stockholm owns the placement and the child; Umeå has no child.
        let got = rpc!(
            s.client(caseworker(STOCKHOLM)).await,
            get_placement,
            GetPlacementRequest {
                placement_id: p.id.clone()
            }
        )
        .expect("Stockholm reads its placement");
        assert_eq!(got.home_region, NORR);
        expect_code(
            rpc!(
                n.client(office_of(NORR)).await,
                get_child,
                GetChildRequest {
                    child_id: child.id.clone()
                }
            ),
            Code::NotFound,
        );
        // Umeå's feed: the place taken, by placement id and placing region,
        // never the child or its number.
        let events = n.events_after(0).await;
        let text = payloads(&events[before..]);
        assert!(text.contains("registry.home_placement_added"), "{text}");
        assert!(text.contains(&p.id) && text.contains(STHLM), "{text}");
        assert!(!text.contains(&child.id), "no child id in Umeå: {text}");
        assert!(
            !text.contains(&canonical(&pnr)) && !text.contains(&pnr),
            "{text}"
        );

        // A retry of the same request: the first answer, counted once.
        let again =
            rpc!(s.client(caseworker(STOCKHOLM)).await, create_placement, req).expect("replayed");
        assert_eq!(again.placement.expect("placement").id, p.id);
        assert_eq!(
            placed_count(&n, &home.id).await,
            1,
            "a replay counts nothing"
        );

        // Ending it frees the place in Umeå; a retry frees nothing twice.
        let end = EndPlacementRequest {
            request_id: "end-1".into(),
            placement_id: p.id.clone(),
            end_date: Some(date(today())),
            end_reason: EndReason::Planned as i32,
            ..Default::default()
        };
        let ended = rpc!(
            s.client(caseworker(STOCKHOLM)).await,
            end_placement,
            end.clone()
        )
        .expect("end the placement");
        assert_eq!(ended.status, PlacementStatus::Ended as i32);
        assert_eq!(placed_count(&n, &home.id).await, 0, "freed in Umeå");
        rpc!(s.client(caseworker(STOCKHOLM)).await, end_placement, end).expect("replayed end");
        assert_eq!(placed_count(&n, &home.id).await, 0);
        let text = payloads(&n.events_after(0).await);
        assert!(text.contains("registry.home_placement_ended"), "{text}");

        // The child can be placed again, naming the region this time.
        let mut req = placement(&child.id, &home.id, today());
        req.home_region = NORR.into();
        rpc!(s.client(caseworker(STOCKHOLM)).await, create_placement, req).expect("placed again");
        assert_eq!(placed_count(&n, &home.id).await, 1);
    })
    .await;
}

#[tokio::test]
async fn the_homes_rules_hold_across_regions_and_a_refusal_stores_nothing() {
    each_backend(|s, n| async move {
        let home = umea_home(&n, &adult(511)).await;
        // Umeå's own rule: a home whose consent is withdrawn takes nobody.
        rpc!(
            n.client(office_of(NORR)).await,
            withdraw_consent,
            WithdrawConsentRequest {
                home_id: home.id.clone(),
                reason: "the family asked".into(),
                ..Default::default()
            }
        )
        .expect("withdraw consent");
        let child = stockholm_child(&s, &child_pnr(8, 512)).await;
        let refused = rpc!(
            s.client(caseworker(STOCKHOLM)).await,
            create_placement,
            placement(&child.id, &home.id, today())
        );
        let st = expect_code(refused, Code::FailedPrecondition);
        assert!(st.message().contains(NORR), "names the region: {st:?}");
        assert_eq!(placed_count(&n, &home.id).await, 0);
        let c = rpc!(
            s.client(caseworker(STOCKHOLM)).await,
            get_child,
            GetChildRequest {
                child_id: child.id.clone()
            }
        )
        .expect("child");
        assert!(
            c.active_placement_id.is_empty(),
            "nothing stored in Stockholm"
        );

        // A home nobody has: 404, naming no region.
        expect_code(
            rpc!(
                s.client(caseworker(STOCKHOLM)).await,
                create_placement,
                placement(&child.id, &samling_kit::ids::new_id_string(), today())
            ),
            Code::NotFound,
        );

        // The home's region down: unavailable, nothing stored, nothing counted.
        let home2 = umea_home(&n, &adult(513)).await;
        s.registry.peers().add(NORR, "http://127.0.0.1:9");
        let mut req = placement(&child.id, &home2.id, today());
        req.home_region = NORR.into();
        expect_code(
            rpc!(s.client(caseworker(STOCKHOLM)).await, create_placement, req),
            Code::Unavailable,
        );
        assert_eq!(placed_count(&n, &home2.id).await, 0);
    })
    .await;
}

#[tokio::test]
async fn only_another_regions_register_may_reserve_release_or_match() {
    each_backend(|s, n| async move {
        let home = umea_home(&n, &adult(521)).await;
        let reserve = |rid: &str| ReserveHomePlaceRequest {
            request_id: rid.into(),
            placement_id: samling_kit::ids::new_id_string(),
            home_id: home.id.clone(),
            placing_municipality_code: STOCKHOLM.into(),
            start_date: Some(date(today())),
            ..Default::default()
        };
        let callers = [
            (caseworker(STOCKHOLM), Code::PermissionDenied),
            (caseworker(UMEA), Code::PermissionDenied),
            (manager(UMEA), Code::PermissionDenied),
            (office_of(NORR), Code::PermissionDenied),
            (analyst(), Code::PermissionDenied),
            (family_home(&home.id), Code::PermissionDenied),
            // A service without a region, or claiming to be this register.
            (
                AuthContext::new("svc", Role::Service),
                Code::PermissionDenied,
            ),
            (
                AuthContext::new("svc", Role::Service).with_region(NORR),
                Code::PermissionDenied,
            ),
        ];
        for (i, (ctx, code)) in callers.into_iter().enumerate() {
            let who = format!("{} {:?}", ctx.role.as_str(), ctx.region);
            let mut c = n.client(ctx).await;
            let st = expect_code(rpc!(c, reserve_home_place, reserve(&format!("r{i}"))), code);
            assert!(!st.message().is_empty(), "{who}");
            expect_code(
                rpc!(
                    c,
                    release_home_place,
                    ReleaseHomePlaceRequest {
                        placement_id: samling_kit::ids::new_id_string(),
                        ..Default::default()
                    }
                ),
                code,
            );
            expect_code(
                rpc!(
                    c,
                    match_identities,
                    MatchIdentitiesRequest {
                        kind: IdentityKind::Child as i32,
                        record_id: samling_kit::ids::new_id_string(),
                        identity_hashes: vec!["0".repeat(64)],
                        ..Default::default()
                    }
                ),
                code,
            );
        }
        assert_eq!(placed_count(&n, &home.id).await, 0, "nobody took a place");

        // Stockholm's register may; a raw number is no hash.
        let mut peer = n
            .client(
                AuthContext::new("registry-stockholm-gotland", Role::Service).with_region(STHLM),
            )
            .await;
        let r = rpc!(peer, reserve_home_place, reserve("ok")).expect("a register reserves");
        assert_eq!(r.placed_count, 1);
        expect_invalid(
            rpc!(
                peer,
                match_identities,
                MatchIdentitiesRequest {
                    kind: IdentityKind::Child as i32,
                    record_id: samling_kit::ids::new_id_string(),
                    identity_hashes: vec![canonical(&child_pnr(5, 523))],
                    ..Default::default()
                }
            ),
            "identity_hashes",
        );
        drop(s);
    })
    .await;
}

#[tokio::test]
async fn another_municipality_cannot_place_or_replay_into_another_regions_home() {
    each_backend(|s, n| async move {
        let home = umea_home(&n, &adult(531)).await;
        let child = stockholm_child(&s, &child_pnr(7, 532)).await;
        // Solna's caseworker (same region) and Göteborg's: Stockholm's
        // child is none of theirs — 404, and no place is reserved.
        for ctx in [caseworker(SOLNA), caseworker("1480"), caseworker(UMEA)] {
            expect_code(
                rpc!(
                    s.client(ctx).await,
                    create_placement,
                    placement(&child.id, &home.id, today())
                ),
                Code::NotFound,
            );
        }
        assert_eq!(placed_count(&n, &home.id).await, 0);
        // Stockholm places; Solna replays the same request id: refused
        // before the replay, and nothing is reserved for it.
        let mut req = placement(&child.id, &home.id, today());
        req.request_id = "shared-id".into();
        rpc!(
            s.client(caseworker(STOCKHOLM)).await,
            create_placement,
            req.clone()
        )
        .expect("Stockholm places");
        expect_code(
            rpc!(s.client(caseworker(SOLNA)).await, create_placement, req),
            Code::NotFound,
        );
        assert_eq!(placed_count(&n, &home.id).await, 1);
    })
    .await;
}

#[tokio::test]
async fn a_protected_childs_place_in_another_region_names_no_placement_there() {
    each_backend(|s, n| async move {
        let home = umea_home(&n, &adult(541)).await;
        let resp = rpc!(
            s.client(office_of(STHLM)).await,
            register_child,
            RegisterChildRequest {
                personnummer: child_pnr(6, 542),
                given_name: "Alex".into(),
                family_name: "Ek".into(),
                placing_municipality_code: STOCKHOLM.into(),
                protected_identity: true,
                ..Default::default()
            }
        )
        .expect("register");
        let child = resp.child.expect("child");
        let before = n.events_after(0).await.len();
        let p = rpc!(
            s.client(caseworker(STOCKHOLM)).await,
            create_placement,
            placement(&child.id, &home.id, today())
        )
        .expect("placed")
        .placement
        .expect("placement");
        let text = payloads(&n.events_after(0).await[before..]);
        assert!(text.contains("home_placement_added"), "{text}");
        assert!(
            !text.contains(&p.id),
            "a protected child's placement is not named: {text}"
        );
        assert_eq!(placed_count(&n, &home.id).await, 1);
    })
    .await;
}

#[tokio::test]
async fn a_child_registered_in_two_regions_is_flagged_in_both_without_its_number() {
    each_backend(|s, n| async move {
        let pnr = child_pnr(10, 551);
        let first = stockholm_child(&s, &pnr).await;
        let s_before = s.events_after(0).await.len();
        // The old work-around: the same child registered again in Norr.
        let second = rpc!(
            n.client(office_of(NORR)).await,
            register_child,
            RegisterChildRequest {
                personnummer: pnr.clone(),
                given_name: "Kim".into(),
                family_name: "Lind".into(),
                placing_municipality_code: UMEA.into(),
                ..Default::default()
            }
        )
        .expect("register in Norr");
        let child = second.child.clone().expect("child");
        let flag = second
            .duplicates
            .iter()
            .find(|f| f.other_record_id == first.id)
            .unwrap_or_else(|| panic!("[{}] flagged in Norr: {second:?}", s.backend));
        assert_eq!(flag.kind, DuplicateKind::SameChildTwice as i32);
        assert_eq!(flag.other_region, STHLM);
        assert_eq!(flag.record_id, child.id);

        // And in Stockholm, pointing at Norr's record.
        let flags = rpc!(
            s.client(office_of(STHLM)).await,
            list_duplicate_flags,
            ListDuplicateFlagsRequest {
                open_only: true,
                ..Default::default()
            }
        )
        .expect("Stockholm's flags")
        .flags;
        let theirs = flags
            .iter()
            .find(|f| f.record_id == first.id)
            .unwrap_or_else(|| panic!("flagged in Stockholm: {flags:?}"));
        assert_eq!(theirs.other_record_id, child.id);
        assert_eq!(theirs.other_region, NORR);

        // A municipality registering sees no flags (they name another's child).
        let third = rpc!(
            n.client(caseworker(UMEA)).await,
            register_child,
            RegisterChildRequest {
                personnummer: pnr.clone(),
                given_name: "Kim".into(),
                family_name: "Lind".into(),
                placing_municipality_code: UMEA.into(),
                ..Default::default()
            }
        )
        .expect("a caseworker registers");
        assert!(third.duplicates.is_empty());

        // Neither feed carries the number.
        for (h, since) in [(&s, s_before), (&n, 0)] {
            let text = payloads(&h.events_after(0).await[since..]);
            assert!(text.contains("registry.duplicate_flagged"), "{text}");
            assert!(
                !text.contains(&canonical(&pnr)) && !text.contains(&pnr),
                "{text}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn an_adult_in_homes_of_two_regions_is_flagged_in_both() {
    each_backend(|s, n| async move {
        let pnr = adult(561);
        let umea = umea_home(&n, &pnr).await;
        let created = rpc!(
            s.client(office_of(STHLM)).await,
            create_home,
            CreateHomeRequest {
                request_id: String::new(),
                draft: Some(draft("Götgatan 9", &pnr)),
            }
        )
        .expect("a Stockholm home with the same adult");
        let sthlm = created.home.clone().expect("home");
        let flag = created
            .duplicates
            .iter()
            .find(|f| f.other_record_id == umea.id)
            .unwrap_or_else(|| panic!("[{}] flagged in Stockholm: {created:?}", s.backend));
        assert_eq!(flag.kind, DuplicateKind::SameAdultInTwoHomes as i32);
        assert_eq!(flag.other_region, NORR);
        let flags = rpc!(
            n.client(office_of(NORR)).await,
            list_duplicate_flags,
            ListDuplicateFlagsRequest::default()
        )
        .expect("Norr's flags")
        .flags;
        assert!(
            flags.iter().any(|f| f.record_id == umea.id
                && f.other_record_id == sthlm.id
                && f.other_region == STHLM),
            "{flags:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_protected_umea_homes_municipality_is_withheld_in_stockholms_placement_views() {
    each_backend(|s, n| async move {
        let home = umea_home_with(&n, &adult(571), true).await;
        let child = stockholm_child(&s, &child_pnr(11, 572)).await;
        let placed = rpc!(
            s.client(caseworker(STOCKHOLM)).await,
            create_placement,
            placement(&child.id, &home.id, today())
        )
        .expect("placed in a protected home of another region");
        let p = placed.placement.expect("placement");
        assert_eq!(p.home_region, NORR);
        assert!(
            p.receiving_municipality_code.is_empty(),
            "[{}] the placing caseworker does not learn where a protected home is: {p:?}",
            s.backend
        );
        let get = |ctx: AuthContext| {
            let s = s.clone();
            let id = p.id.clone();
            async move {
                rpc!(
                    s.client(ctx).await,
                    get_placement,
                    GetPlacementRequest { placement_id: id }
                )
                .expect("get placement")
            }
        };
        assert!(
            get(caseworker(STOCKHOLM))
                .await
                .receiving_municipality_code
                .is_empty()
        );
        assert_eq!(
            get(office_of(STHLM)).await.receiving_municipality_code,
            UMEA
        );
        // The home's own events name no municipality of a protected home.
        let text = payloads(&n.events_after(0).await);
        assert!(text.contains("home_placement_added"), "{text}");
        assert!(!text.contains(&format!("\"{STOCKHOLM}\"")), "{text}");
        assert!(!text.contains(&format!("\"{UMEA}\"")), "{text}");
    })
    .await;
}

#[tokio::test]
async fn the_first_placing_municipality_of_another_region_may_object_in_the_homes_register() {
    each_backend(|s, n| async move {
        let home = umea_home(&n, &adult(581)).await;
        let first = stockholm_child(&s, &child_pnr(12, 582)).await;
        rpc!(
            s.client(caseworker(STOCKHOLM)).await,
            create_placement,
            placement(&first.id, &home.id, days_ago(3))
        )
        .expect("Stockholm places first");
        // Stockholm is the home's first placing municipality, though its
        // placement is kept in Stockholm's register: it objects in Norr's.
        rpc!(
            n.client(caseworker(STOCKHOLM)).await,
            object_to_further_placements,
            ObjectToFurtherPlacementsRequest {
                home_id: home.id.clone(),
                municipality_code: STOCKHOLM.into(),
                reason: "the child needs calm".into(),
                ..Default::default()
            }
        )
        .expect("the first placing municipality objects");
        // Umeå's own placement is refused now.
        let umea_child = rpc!(
            n.client(office_of(NORR)).await,
            register_child,
            RegisterChildRequest {
                personnummer: child_pnr(13, 583),
                given_name: "Sam".into(),
                family_name: "Nord".into(),
                placing_municipality_code: UMEA.into(),
                ..Default::default()
            }
        )
        .expect("an Umeå child")
        .child
        .expect("child");
        let refused = rpc!(
            n.client(caseworker(UMEA)).await,
            create_placement,
            placement(&umea_child.id, &home.id, today())
        );
        assert!(
            refused.is_err(),
            "[{}] the objection holds: {refused:?}",
            s.backend
        );
        assert_eq!(placed_count(&n, &home.id).await, 1);
    })
    .await;
}

#[tokio::test]
async fn records_from_before_the_identity_key_are_indexed_and_then_found() {
    samling_testkit::for_each_store_backend(|backend| async move {
        // Stockholm's register without a national key: nothing indexed.
        let signer = ContextSigner::generate().expect("signer");
        let s = Harness::start_signed(&backend, Some(STHLM), signer.clone()).await;
        let n = Harness::start_signed(&backend, Some(NORR), signer.clone()).await;
        let pnr = child_pnr(14, 591);
        let old = stockholm_child(&s, &pnr).await;
        assert_eq!(s.registry.index_identities().await.expect("index"), 0);
        // The key arrives (a restart with it): the old child is indexed once.
        let key = IdentityKey::from_bytes([42; 32]);
        for (h, other, at) in [(&s, NORR, &n.endpoint), (&n, STHLM, &s.endpoint)] {
            let peers = h.registry.peers();
            peers.set_signer(signer.clone());
            peers.set_identity_key(key.clone());
            peers.add(other, at);
        }
        assert_eq!(s.registry.index_identities().await.expect("index"), 1);
        assert_eq!(s.registry.index_identities().await.expect("again"), 0);
        // Norr registers the same child: found in Stockholm.
        let second = rpc!(
            n.client(office_of(NORR)).await,
            register_child,
            RegisterChildRequest {
                personnummer: pnr,
                given_name: "Kim".into(),
                family_name: "Lind".into(),
                placing_municipality_code: UMEA.into(),
                ..Default::default()
            }
        )
        .expect("register in Norr");
        assert!(
            second
                .duplicates
                .iter()
                .any(|f| f.other_record_id == old.id && f.other_region == STHLM),
            "[{}] {second:?}",
            s.backend
        );
    })
    .await;
}

#[tokio::test]
async fn a_duplicate_check_a_region_missed_is_asked_again_once_it_answers() {
    each_backend(|s, n| async move {
        let pnr = child_pnr(15, 601);
        // Norr knew the child before (it asked Stockholm then: no match).
        let earlier = rpc!(
            n.client(office_of(NORR)).await,
            register_child,
            RegisterChildRequest {
                personnummer: pnr.clone(),
                given_name: "Kim".into(),
                family_name: "Lind".into(),
                placing_municipality_code: UMEA.into(),
                ..Default::default()
            }
        )
        .expect("registered in Norr")
        .child
        .expect("child");
        // Stockholm registers it while Norr does not answer: no flag yet.
        s.registry.peers().add(NORR, "http://127.0.0.1:9");
        let resp = rpc!(
            s.client(office_of(STHLM)).await,
            register_child,
            RegisterChildRequest {
                personnummer: pnr.clone(),
                given_name: "Kim".into(),
                family_name: "Lind".into(),
                placing_municipality_code: STOCKHOLM.into(),
                ..Default::default()
            }
        )
        .expect("registered in Stockholm while Norr is away");
        assert!(resp.duplicates.is_empty(), "{resp:?}");
        let child = resp.child.expect("child");
        assert_eq!(
            s.registry.retry_identity_checks(10).await.expect("retry"),
            0
        );
        // Norr answers again: the missed check is asked, both flag it.
        s.registry.peers().add(NORR, &n.endpoint);
        assert_eq!(
            s.registry.retry_identity_checks(10).await.expect("retry"),
            1
        );
        assert_eq!(
            s.registry.retry_identity_checks(10).await.expect("again"),
            0
        );
        let mine = rpc!(
            s.client(office_of(STHLM)).await,
            list_duplicate_flags,
            ListDuplicateFlagsRequest::default()
        )
        .expect("Stockholm's flags")
        .flags;
        assert!(
            mine.iter()
                .any(|f| f.record_id == child.id && f.other_record_id == earlier.id),
            "[{}] {mine:?}",
            s.backend
        );
        let theirs = rpc!(
            n.client(office_of(NORR)).await,
            list_duplicate_flags,
            ListDuplicateFlagsRequest::default()
        )
        .expect("Norr's flags")
        .flags;
        assert!(
            theirs
                .iter()
                .any(|f| f.record_id == earlier.id && f.other_record_id == child.id),
            "{theirs:?}"
        );
    })
    .await;
}

/// A restriction in the home's register (ADR 0026) refuses another
/// region's placement there, and the other region's placement already
/// there is told of it with its placing region and municipality.
#[tokio::test]
async fn a_restriction_in_the_homes_region_refuses_and_notifies_another_regions_placement() {
    each_backend(|s, n| async move {
        let home = umea_home(&n, &adult(601)).await;
        let first = stockholm_child(&s, &child_pnr(9, 602)).await;
        let placed = rpc!(
            s.client(caseworker(STOCKHOLM)).await,
            create_placement,
            placement(&first.id, &home.id, days_ago(2))
        )
        .unwrap()
        .placement
        .unwrap();
        let seq = n.events().await.last().map(|e| e.seq).unwrap_or(0);
        rpc!(
            n.client(office_of(NORR)).await,
            record_restriction,
            RecordRestrictionRequest {
                home_id: home.id.clone(),
                kind: RestrictionKind::Prohibition as i32,
                municipality_code: UMEA.into(),
                decision_date: Some(date(days_ago(1))),
                decision_ref: "SN 2026/90".into(),
                reasons: "Förbud enligt 22 kap. 11 § SoL".into(),
                ..Default::default()
            }
        )
        .unwrap();
        let told: Vec<_> = n
            .events_after(seq)
            .await
            .into_iter()
            .filter(|e| e.event_type == "registry.placement_home_restricted")
            .collect();
        assert_eq!(told.len(), 1, "[{}] {told:?}", s.backend);
        assert_eq!(told[0].aggregate_id, placed.id);
        let p: serde_json::Value = serde_json::from_str(&told[0].payload_json).unwrap();
        assert_eq!(p["placing_region"], STHLM);
        assert_eq!(p["placing_municipality_code"], STOCKHOLM);
        // A second Stockholm child: refused where the home is; not counted.
        let second = stockholm_child(&s, &child_pnr(9, 603)).await;
        let refused = rpc!(
            s.client(caseworker(STOCKHOLM)).await,
            create_placement,
            placement(&second.id, &home.id, today())
        );
        expect_code(refused, Code::FailedPrecondition);
        assert_eq!(placed_count(&n, &home.id).await, 1, "[{}]", s.backend);
    })
    .await;
}
