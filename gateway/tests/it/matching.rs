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

/// Socialjouren at night over REST: a free jourhem of the own region with
/// its description, and the national part flagged partial when a region
/// hangs (answered within the deadline).
#[tokio::test]
async fn socialjouren_finds_a_free_jourhem_at_night_over_rest_with_a_hung_region_flagged() {
    for backend in backends() {
        let env = Env::start_with(&backend, &[NORR], |_| {}).await;
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
        // A port that accepts connections and never answers: väst hangs.
        let hung = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let hung_addr = format!("http://{}", hung.local_addr().unwrap());
        let _hold = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((s, _)) = hung.accept().await {
                held.push(s);
            }
        });
        let jourhem = |n: u64, muni: &str, available: bool| Home {
            home_type: HomeType::EmergencyHome as i32,
            willingness: vec![Willingness::Emergency as i32],
            jour_available: available,
            ..home(n, muni, 0)
        };
        let deadline = Duration::from_millis(600);
        let matching = Matching::new(
            rec.clone(),
            samling_recruitment::matching::MatchingConfig::default(),
            Arc::new(Homes(vec![
                jourhem(1, "2262", true),
                jourhem(2, "2281", false),
                home(3, "2281", 0),
            ])),
            Peers {
                regions: vec![("vast".into(), hung_addr)],
                signer: Some(env.signer.clone()),
                tls: None,
                deadline,
            },
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
        let search = |scope: &str| {
            json!({
                "municipality_code": "2281",
                "placing_municipality_code": "2281",
                "children": 1,
                "allergies": ["hund"],
                "scope": scope
            })
        };
        let id = samling_recruitment::matching::bench::home_id;
        let started = std::time::Instant::now();
        let night = http
            .post(
                "/v1/regions/norr/matching/emergency-searches",
                &token,
                &search("MATCH_SCOPE_NATIONAL"),
            )
            .await
            .ok();
        let took = started.elapsed();
        assert!(
            took <= deadline + deadline / 10 + Duration::from_millis(200),
            "answered in {took:?}"
        );
        let homes = night["homes"].as_array().unwrap();
        assert_eq!(homes.len(), 1, "{night}");
        assert_eq!(homes[0]["home_id"], json!(id(1)), "{night}");
        assert_eq!(homes[0]["jour_available"], json!(true), "{night}");
        let description = homes[0]["description"].as_str().unwrap();
        assert!(
            description.contains("available now") && description.contains("Timrå"),
            "{description}"
        );
        assert_eq!(night["partial"], json!(true), "{night}");
        assert_eq!(night["regions_missing"], json!(["vast"]), "{night}");
        assert_eq!(night["regions"], json!(["norr"]), "{night}");
        let not_now = night["excluded"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["constraint"] == "MATCH_CONSTRAINT_NOT_AVAILABLE_NOW")
            .expect("the not-available count");
        assert_eq!(not_now["count"], json!(1), "{night}");
        // The own region only: complete, not partial.
        let own = http
            .post(
                "/v1/regions/norr/matching/emergency-searches",
                &token,
                &search("MATCH_SCOPE_REGION"),
            )
            .await
            .ok();
        assert_eq!(own["homes"].as_array().unwrap().len(), 1, "{own}");
        assert!(own["partial"].as_bool() != Some(true), "{own}");
        // Another municipality's caseworker may not search for 2281.
        let other = http
            .post(
                "/v1/regions/norr/matching/emergency-searches",
                &env.caseworker("2480"),
                &search("MATCH_SCOPE_REGION"),
            )
            .await;
        assert_eq!(other.status, 403, "{}", other.text());
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
        // As the binary runs it: the startup read, then kit's consumer on
        // the registry's WatchEvents over gRPC.
        let follower = matching
            .follow_registry(&env.region(NORR).endpoint(), None, env.signer.clone())
            .unwrap();
        let t0 = std::time::Instant::now();
        while matching.feed_status().is_none_or(|s| !s.connected) {
            assert!(t0.elapsed() < Duration::from_secs(10), "not following");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
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
        let t0 = std::time::Instant::now();
        loop {
            {
                let m = matching.model.read().unwrap();
                if m.facts(&second).is_some() && m.facts(&first).is_some_and(|f| f.jour_available) {
                    let facts = m.facts(&first).unwrap();
                    assert_eq!(facts.version, 2);
                    assert_eq!(m.len(), 2);
                    assert!(m.cursor(NORR) > cursor);
                    break;
                }
            }
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "the feed's changes did not arrive: {:?}",
                matching.feed_status()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let st = matching
            .get_read_model_status(
                &samling_kit::auth::AuthContext::new(
                    "recruitment",
                    samling_kit::auth::Role::Service,
                ),
                Default::default(),
            )
            .await
            .unwrap();
        assert!(st.following && st.connected, "{st:?}");
        assert!(st.feed_head_known && st.events_behind == 0, "{st:?}");
        assert!(st.applied >= 2 && !st.last_event_at.is_empty(), "{st:?}");
        follower.stop().await;
    }
}
