//! Recruitment following a real registry over gRPC with kit's consumer:
//! the registry's EndPlacement opens the home's closing conversation.

use crate::common::*;
use chrono::Duration;
use samling_kit::auth::{AuthContext, Role};
use samling_kit::client::ServiceClient;
use samling_kit::consumer::{Consumer, GrpcSource};
use samling_kit::dates;
use samling_kit::reference::RegionMap;
use samling_proto::recruitment::v1::ClosingConversationStatus;
use samling_proto::registry::v1::registry_service_client::RegistryServiceClient;
use samling_proto::registry::v1::*;
use samling_recruitment::domain::calendar::add_working_days;
use samling_recruitment::registry_feed::{REGISTRY, RegistryFeed, feed_name, options};
use samling_testkit::people::{adult, child_pnr};
use samling_testkit::server::Served;
use std::sync::Arc;

#[tokio::test]
async fn a_placement_ended_in_the_registry_opens_the_homes_closing_conversation() {
    for (h, b) in harnesses(None).await {
        let (store, _) = b
            .store("registry", None, &[samling_registry::MIGRATIONS])
            .await;
        let map = Arc::new(RegionMap::default_map().clone());
        let registry =
            samling_registry::Registry::new(store, samling_registry::domain::Rules::default(), map);
        // One signing key for both services, as `samling serve` has.
        let served = Served::start(&[samling_registry::SERVICE_NAME], |router| {
            router.add_service(samling_registry::grpc::server(
                registry.clone(),
                h.signer.verifier(),
            ))
        })
        .await;
        let endpoint = served.endpoint();
        let client = |ctx: AuthContext| {
            let signer = h.signer.clone();
            let endpoint = endpoint.clone();
            async move {
                ServiceClient::connect(REGISTRY, &endpoint, None, signer, ctx)
                    .await
                    .expect("registry client")
            }
        };
        let mut office = client(office()).await;
        let today = dates::today();
        let home = rpc!(
            office,
            create_home,
            CreateHomeRequest {
                request_id: String::new(),
                draft: Some(HomeDraft {
                    home_type: HomeType::FamilyHome as i32,
                    provider: ProviderKind::Public as i32,
                    municipality_code: "0180".into(),
                    address: Some(Address {
                        street: "Storgatan 1".into(),
                        postal_code: "11122".into(),
                        city: "Stockholm".into(),
                    }),
                    members: vec![MemberDraft {
                        given_name: "Anna".into(),
                        family_name: "Berg".into(),
                        personnummer: adult(121),
                        role: MemberRole::Carer as i32,
                    }],
                    willingness: vec![Willingness::LongTerm as i32],
                    ..Default::default()
                }),
            }
        )
        .unwrap_or_else(|e| panic!("[{}] create home: {e}", h.backend))
        .home
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
        rpc!(
            office,
            record_approval,
            RecordApprovalRequest {
                home_id: home.id.clone(),
                municipality_code: "0180".into(),
                decision_date: Some(dates::to_proto(today - Duration::days(30))),
                decision_ref: "SN 2026/1".into(),
                ..Default::default()
            }
        )
        .unwrap_or_else(|e| panic!("[{}] approve: {e}", h.backend));
        let child = rpc!(
            office,
            register_child,
            RegisterChildRequest {
                personnummer: child_pnr(8, 410),
                given_name: "Kim".into(),
                family_name: "Lind".into(),
                placing_municipality_code: "0180".into(),
                ..Default::default()
            }
        )
        .unwrap()
        .child
        .unwrap();
        let mut worker = client(caseworker("0180")).await;
        let placement = rpc!(
            worker,
            create_placement,
            CreatePlacementRequest {
                child_id: child.id.clone(),
                home_id: home.id.clone(),
                legal_basis: LegalBasis::SolVoluntary as i32,
                start_date: Some(dates::to_proto(today - Duration::days(3))),
                ..Default::default()
            }
        )
        .unwrap_or_else(|e| panic!("[{}] place: {e}", h.backend))
        .placement
        .unwrap();
        rpc!(
            worker,
            end_placement,
            EndPlacementRequest {
                placement_id: placement.id.clone(),
                end_date: Some(dates::to_proto(today)),
                end_reason: EndReason::Breakdown as i32,
                breakdown: Some(Breakdown {
                    reasons: vec![BreakdownReason::MismatchedNeeds as i32],
                    initiated_by: BreakdownInitiator::Home as i32,
                    ..Default::default()
                }),
                ..Default::default()
            }
        )
        .unwrap_or_else(|e| panic!("[{}] end: {e}", h.backend));

        let source = GrpcSource::lazy(
            REGISTRY,
            &endpoint,
            None,
            h.signer.clone(),
            AuthContext::new("recruitment", Role::Service),
            samling_kit::watch_fn!(RegistryServiceClient),
        )
        .unwrap();
        let handle = Consumer::new(feed_name("test"), source)
            .with_options(options())
            .spawn_durable(
                h.store().clone(),
                h.service.feed.clone(),
                RegistryFeed(h.service.clone()),
            )
            .unwrap();
        tokio::time::timeout(
            std::time::Duration::from_secs(30),
            handle.wait_for(|s| s.applied >= 1),
        )
        .await
        .unwrap_or_else(|_| {
            panic!(
                "[{}] the placement end arrived: {:?}",
                h.backend,
                handle.status()
            )
        });
        handle.stop().await;

        let found =
            samling_recruitment::store::closing::of_placement(&h.store().read, &placement.id)
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("[{}] a closing conversation", h.backend));
        assert_eq!(found.home_id, home.id, "[{}]", h.backend);
        assert!(found.unplanned_end, "[{}] a breakdown", h.backend);
        assert_eq!(found.status(), ClosingConversationStatus::Due);
        assert_eq!(
            found.due_on,
            Some(dates::to_proto(add_working_days(today, 5))),
            "[{}]",
            h.backend
        );
    }
}
