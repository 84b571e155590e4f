//! Issue 20's "done when": a caseworker asks for homes for a sibling pair
//! over REST and gets a ranked, explained list. The gateway routes the
//! matching API to the region's recruitment service (its MatchingService)
//! by the directory's (region, "recruitment") entry, beside the registry.
//! The recruitment service's read model is fed here from a registry held in
//! memory (its feed handling is tested in the recruitment crate).

use crate::common::*;
use samling_gateway::Gateway;
use samling_gateway::auth::Authenticator;
use samling_gateway::limits::{Limits, LimitsConfig};
use samling_gateway::regions::{Directory, ServiceEndpoint};
use samling_kit::dates::Clock;
use samling_proto::common::v1::{Date, Event};
use samling_proto::registry::v1::{
    Agency, Home, HomeStatus, HomeType, HouseholdMember, MemberRole, ProviderKind, RecordCheck,
    Willingness,
};
use samling_recruitment::service::matching::{BoxFuture, Matching, Peers, RegistrySource};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

type R<T> = Result<T, samling_recruitment::domain::RecruitmentError>;

/// A registry's homes held in memory, as the read model's source.
pub struct Homes(pub Vec<Home>);

impl RegistrySource for Homes {
    fn get_home(&self, id: String) -> BoxFuture<'static, R<Option<Home>>> {
        let h = self.0.iter().find(|h| h.id == id).cloned();
        Box::pin(async move { Ok(h) })
    }
    fn get_agency(&self, _: String) -> BoxFuture<'static, R<Option<Agency>>> {
        Box::pin(async { Ok(None) })
    }
    fn events_after(&self, _: u64) -> BoxFuture<'static, R<Vec<Event>>> {
        Box::pin(async { Ok(vec![]) })
    }
    fn all(&self) -> BoxFuture<'static, R<(Vec<Home>, Vec<Agency>)>> {
        let h = self.0.clone();
        Box::pin(async move { Ok((h, vec![])) })
    }
}

fn date(y: i32, m: i32, d: i32) -> Option<Date> {
    Some(Date {
        year: y,
        month: m,
        day: d,
    })
}

fn home(n: u64, muni: &str, capacity: i32) -> Home {
    Home {
        id: samling_recruitment::matching::bench::home_id(n),
        version: 1,
        home_type: HomeType::FamilyHome as i32,
        provider: ProviderKind::Public as i32,
        status: HomeStatus::Active as i32,
        municipality_code: muni.into(),
        members: vec![HouseholdMember {
            role: MemberRole::Carer as i32,
            birth_year: 1980,
            record_checks: vec![RecordCheck {
                checked_on: date(2026, 6, 1),
                register: "belastningsregistret".into(),
                outcome: 1,
            }],
            ..Default::default()
        }],
        languages: vec!["svenska".into()],
        competences: vec!["npf".into()],
        willingness: vec![Willingness::LongTerm as i32],
        capacity,
        reconfirmation_due_on: date(2027, 6, 1),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_caseworker_ranks_homes_for_a_sibling_pair_over_rest() {
    for backend in backends() {
        let env = Env::start_with(&backend, &[NORR], |_| {}).await;
        // Norr's recruitment service: three homes, one with room for one child only.
        let (store, _) = backend
            .store("recruitment", None, &[samling_recruitment::MIGRATIONS])
            .await;
        let map = Arc::new(samling_kit::reference::RegionMap::default_map().clone());
        let rec = samling_recruitment::Recruitment::new(
            store,
            samling_recruitment::domain::Rules::default(),
            map.clone(),
            Clock::fixed("2026-12-01T09:00:00Z".parse().unwrap()),
        )
        .for_region(map.parse_region(NORR).unwrap());
        let matching = Matching::new(
            rec.clone(),
            samling_recruitment::matching::MatchingConfig::default(),
            Arc::new(Homes(vec![
                home(1, "2281", 0),
                home(2, "2480", 0),
                home(3, "2281", 1),
            ])),
            Peers::default(),
        );
        matching.catch_up().await.unwrap();
        let verifier = env.signer.verifier();
        let m = matching.clone();
        let served = samling_testkit::server::Served::start(
            &[samling_recruitment::SERVICE_NAME],
            move |router| {
                router
                    .add_service(samling_recruitment::grpc::server(rec, verifier.clone()))
                    .add_service(samling_recruitment::grpc::matching::server(m, verifier))
            },
        )
        .await;
        // A gateway whose directory sends norr's registry and recruitment to
        // their own servers.
        let cfg = test_config(&backend);
        let directory = Directory::for_services(
            &[
                ServiceEndpoint::new(NORR, "registry", env.region(NORR).endpoint()),
                ServiceEndpoint::new(NORR, "recruitment", served.endpoint()),
            ],
            None,
            cfg.breaker_failures,
            Duration::from_secs(cfg.breaker_open_secs),
        )
        .unwrap();
        let auth = Authenticator::from_config(&cfg.jwt, env.dir.path())
            .await
            .unwrap();
        let limits = Limits::in_process(LimitsConfig::default());
        let gw = Gateway::new(cfg, directory, auth, limits, env.signer.clone()).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(samling_gateway::serve(gw, listener, async move {
            let _ = stopped.await;
        }));
        let http = Client::new(addr);

        let token = env.caseworker("2281");
        let profile = http
            .post(
                "/v1/regions/norr/matching/profiles",
                &token,
                &json!({
                    "request_id": new_id(),
                    "draft": {
                        "placing_municipality_code": "2281",
                        "placement_kind": "PLACEMENT_KIND_LONG_TERM",
                        "children": [
                            {"key": "a", "birth_date": "2016-03-01", "needs": ["NEED_KIND_NPF"], "together_group": "s"},
                            {"key": "b", "birth_date": "2019-05-01", "together_group": "s"}
                        ],
                        "anchors": [{"kind": "ANCHOR_KIND_SCHOOL", "municipality_code": "2281"}]
                    }
                }),
            )
            .await
            .ok();
        let profile_id = profile["id"].as_str().expect("a profile id").to_string();
        let ranked = http
            .post(
                "/v1/regions/norr/matching/rankings",
                &token,
                &json!({"request_id": new_id(), "profile_id": profile_id, "scope": "MATCH_SCOPE_REGION"}),
            )
            .await
            .ok();
        let unit = &ranked["units"][0];
        assert_eq!(unit["child_keys"], json!(["a", "b"]), "{ranked}");
        let ids: Vec<&str> = unit["homes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["home_id"].as_str().unwrap())
            .collect();
        let id = samling_recruitment::matching::bench::home_id;
        assert_eq!(
            ids,
            vec![id(1), id(2)],
            "Sundsvall first, then Umeå; {ranked}"
        );
        let criteria = unit["homes"][0]["criteria"].as_array().unwrap();
        assert_eq!(criteria.len(), 13, "{ranked}");
        assert!(
            criteria.iter().any(|c| c["criterion"] == "proximity_school"
                && c["detail"].as_str().is_some_and(|d| !d.is_empty())),
            "{ranked}"
        );
        let capacity = unit["excluded"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["constraint"] == "MATCH_CONSTRAINT_CAPACITY")
            .expect("the capacity count");
        assert_eq!(capacity["count"], json!(1), "{ranked}");
        // The proposal is there to follow up.
        let proposal_id = ranked["proposal_id"].as_str().unwrap();
        let prop = http
            .get(
                &format!("/v1/regions/norr/matching/proposals/{proposal_id}"),
                &token,
            )
            .await
            .ok();
        assert_eq!(prop["homes"].as_array().unwrap().len(), 2, "{prop}");
        // Another municipality does not see it; an analyst may not rank.
        let other = http
            .get(
                &format!("/v1/regions/norr/matching/proposals/{proposal_id}"),
                &env.caseworker("2480"),
            )
            .await;
        assert_eq!(other.status, 404, "{}", other.text());
        let analyst = http
            .post(
                "/v1/regions/norr/matching/rankings",
                &env.token(samling_kit::auth::Role::NationalAnalyst, None, None),
                &json!({"request_id": new_id(), "profile_id": profile_id}),
            )
            .await;
        assert_eq!(analyst.status, 403, "{}", analyst.text());
        let _ = stop.send(());
    }
}

/// The read model over a real registry, as the service reads it in
/// production: its homes exported at start, then its event feed (GetHome
/// only for a newer version).
#[tokio::test]
async fn the_read_model_follows_a_real_registry_over_grpc() {
    for backend in backends() {
        let env = Env::start_with(&backend, &[NORR], |_| {}).await;
        let mut draft = home_draft(UMEA, "Storgatan 1", &adult(1), &["npf"]);
        draft["willingness"] = json!(["WILLINGNESS_EMERGENCY", "WILLINGNESS_LONG_TERM"]);
        let first = env.create_home_id(NORR, draft).await;
        let (store, _) = backend
            .store("recruitment", None, &[samling_recruitment::MIGRATIONS])
            .await;
        let map = Arc::new(samling_kit::reference::RegionMap::default_map().clone());
        let rec = samling_recruitment::Recruitment::new(
            store,
            samling_recruitment::domain::Rules::default(),
            map.clone(),
            Clock::system(),
        )
        .for_region(map.parse_region(NORR).unwrap());
        let matching = Matching::new(
            rec,
            samling_recruitment::matching::MatchingConfig::default(),
            Arc::new(samling_recruitment::service::matching::GrpcRegistry {
                endpoint: env.region(NORR).endpoint(),
                tls: None,
                signer: env.signer.clone(),
                sub: "recruitment/norr".into(),
            }),
            Peers::default(),
        );
        matching.catch_up().await.unwrap();
        let facts = matching
            .model
            .read()
            .unwrap()
            .facts(&first)
            .expect("the home");
        assert_eq!(facts.version, 1);
        assert_eq!(facts.adults, 1);
        assert_eq!(facts.competences, vec!["npf"]);
        let cursor = matching.model.read().unwrap().cursor(NORR);
        assert!(cursor > 0, "the feed's position noted");

        // A second home and the first's jour availability arrive by the feed.
        let second = env
            .create_home_id(NORR, home_draft(UMEA, "Storgatan 2", &adult(2), &[]))
            .await;
        env.http()
            .send(
                Req::new(
                    "PUT",
                    &format!("/v1/regions/{NORR}/homes/{first}/jour-availability"),
                )
                .bearer(&env.officer_in(NORR))
                .json(&json!({"request_id": new_id(), "available": true})),
            )
            .await
            .ok();
        let applied = matching.sync().await.unwrap();
        assert!(applied >= 2, "{applied} events");
        let m = matching.model.read().unwrap();
        let facts = m.facts(&first).expect("the home");
        assert_eq!(facts.version, 2);
        assert!(facts.jour_available);
        assert!(m.facts(&second).is_some());
        assert_eq!(m.len(), 2);
        assert!(m.cursor(NORR) > cursor);
    }
}
