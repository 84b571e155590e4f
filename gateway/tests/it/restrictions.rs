//! A family home's negative decision and its appeal through the door
//! (issue 24 §3 and §2, ADR 0026): the nämnd's manager revokes its
//! approval, the home reads its notice and appeals, the keeping office may
//! not decide the appeal, the national reviewer does, with how to appeal
//! further; another municipality reads no notice.

use crate::common;

use common::*;
use samling_kit::auth::Role;
use serde_json::json;

fn today() -> String {
    chrono::Utc::now()
        .date_naive()
        .format("%Y-%m-%d")
        .to_string()
}

#[tokio::test]
async fn a_revocation_is_noticed_appealed_and_decided_by_the_national_reviewer_over_rest() {
    for_each_backend(|b| async move {
        let env = Env::start(&b).await;
        let http = env.http();
        let office = env.officer();
        let id = env
            .create_home_id(STOCKHOLM, home_draft(OWN, "Överklagandevägen 9", &adult(401), &["npf"]))
            .await;
        let home = format!("/v1/regions/{STOCKHOLM}/homes/{id}");
        http.post(
            &format!("{home}/status"),
            &office,
            &json!({"to_status": "HOME_STATUS_UNDER_ASSESSMENT", "reason": "home study"}),
        )
        .await
        .ok();
        http.post(
            &format!("{home}/approvals"),
            &office,
            &json!({"municipality_code": OWN, "decision_date": today(), "decision_ref": "SN 2026/9"}),
        )
        .await
        .ok();

        // The nämnd's manager revokes the approval, with reasons.
        let manager = env.token(Role::MunicipalityManager, Some(OWN), None);
        let revoked = http
            .post(
                &format!("{home}/restrictions"),
                &manager,
                &json!({"kind": "RESTRICTION_KIND_APPROVAL_REVOKED", "municipality_code": OWN,
                        "decision_date": today(), "decision_ref": "SN 2026/10",
                        "reasons": "Brister i tillsynen av barnet."}),
            )
            .await
            .ok();
        assert_eq!(revoked["status"], "HOME_STATUS_PAUSED", "{revoked}");
        assert_eq!(revoked["placement_blocked"], true);
        let rid = revoked["restrictions"][0]["id"].as_str().unwrap().to_string();

        // The home reads its notice; another municipality may not.
        let the_home = env.token(Role::FamilyHome, None, Some(&id));
        let notices = http.get(&format!("{home}/notices"), &the_home).await.ok();
        assert_eq!(
            notices["notices"][0]["reasons"], "Brister i tillsynen av barnet.",
            "{notices}"
        );
        let other = http
            .get(&format!("{home}/notices"), &env.caseworker(OTHER))
            .await;
        assert_eq!(other.status, 403, "{}", other.text());
        assert!(!other.text().contains("Brister"));

        // The home appeals; the office that keeps the register may not
        // decide it; the national reviewer does, with how to appeal further.
        let appeal = http
            .post(
                &format!("{home}/requests"),
                &the_home,
                &json!({"kind": "HOME_REQUEST_KIND_APPEAL", "restriction_id": rid,
                        "message": "Bristerna var åtgärdade före beslutet."}),
            )
            .await
            .ok();
        let aid = appeal["id"].as_str().unwrap().to_string();
        assert!(appeal["respond_by"].is_string() || appeal["respond_by"].is_object(), "{appeal}");
        let decision = format!("/v1/regions/{STOCKHOLM}/home-requests/{aid}/decision");
        let body = json!({"accept": true, "reason": "Beslutet saknade utredning.",
                          "further_appeal": "Överklaga till förvaltningsrätten inom tre veckor."});
        let by_office = http.post(&decision, &office, &body).await;
        assert_eq!(by_office.status, 403, "{}", by_office.text());
        let reviewer = env.token(Role::NationalReviewer, None, None);
        let decided = http.post(&decision, &reviewer, &body).await.ok();
        assert_eq!(decided["status"], "HOME_REQUEST_STATUS_ACCEPTED", "{decided}");
        assert_eq!(
            decided["further_appeal"],
            "Överklaga till förvaltningsrätten inom tre veckor."
        );
        let now = http.get(&home, &office).await.ok();
        assert_eq!(now["status"], "HOME_STATUS_APPROVED", "{now}");
        // Defaults are left out of the JSON: not blocked.
        assert_ne!(now["placement_blocked"], true, "{now}");
        assert_eq!(now["restrictions"][0]["id"], rid.as_str());
        assert_ne!(now["restrictions"][0]["in_force"], true, "{now}");
    })
    .await;
}

/// Matching's read model follows the registry's feed (ADR 0026): a
/// restriction's event carries the home's PAUSED status, which the read
/// model applies and its hard constraint leaves out of every ranking.
#[tokio::test]
async fn a_restricted_home_leaves_matchings_read_model_by_the_feed() {
    use samling_proto::registry::v1::HomeStatus;
    use samling_recruitment::matching::constraints::in_service;
    use samling_recruitment::service::matching::{GrpcRegistry, Matching, Peers};
    for backend in backends() {
        let env = Env::start_with(&backend, &[NORR], |_| {}).await;
        let http = env.http();
        let office = env.officer_in(NORR);
        let id = env
            .create_home_id(
                NORR,
                home_draft(UMEA, "Matchningsvägen 1", &adult(411), &["npf"]),
            )
            .await;
        let home = format!("/v1/regions/{NORR}/homes/{id}");
        http.post(
            &format!("{home}/status"),
            &office,
            &json!({"to_status": "HOME_STATUS_UNDER_ASSESSMENT", "reason": "home study"}),
        )
        .await
        .ok();
        http.post(
            &format!("{home}/approvals"),
            &office,
            &json!({"municipality_code": UMEA, "decision_date": today(), "decision_ref": "SN 1"}),
        )
        .await
        .ok();
        let (store, _) = backend
            .store("recruitment", None, &[samling_recruitment::MIGRATIONS])
            .await;
        let map = std::sync::Arc::new(samling_kit::reference::RegionMap::default_map().clone());
        let rec = samling_recruitment::Recruitment::new(
            store,
            samling_recruitment::domain::Rules::default(),
            map.clone(),
            samling_kit::dates::Clock::system(),
        )
        .for_region(map.parse_region(NORR).unwrap());
        let matching = Matching::new(
            rec,
            samling_recruitment::matching::MatchingConfig::default(),
            std::sync::Arc::new(GrpcRegistry {
                endpoint: env.region(NORR).endpoint(),
                tls: None,
                signer: env.signer.clone(),
                sub: "recruitment/norr".into(),
            }),
            Peers::default(),
        );
        matching.catch_up().await.unwrap();
        let status = |m: &Matching| {
            let f = m.model.read().unwrap().facts(&id).expect("the home");
            (HomeStatus::try_from(f.status).unwrap(), f.consent_withdrawn)
        };
        let (s, c) = status(&matching);
        assert_eq!(s, HomeStatus::Approved);
        assert!(in_service(s, c));

        http.post(
            &format!("{home}/restrictions"),
            &office,
            &json!({"kind": "RESTRICTION_KIND_APPROVAL_SUSPENDED", "municipality_code": UMEA,
                    "decision_date": today(), "decision_ref": "SN 2", "reasons": "Utredning pågår"}),
        )
        .await
        .ok();
        matching.sync().await.unwrap();
        let (s, c) = status(&matching);
        assert_eq!(s, HomeStatus::Paused, "[{}]", backend.name);
        assert!(!in_service(s, c), "left out of every ranking");
    }
}
