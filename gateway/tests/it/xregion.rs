//! A child placed in another region through the door (issue 24 §1, ADR
//! 0021): Stockholm's caseworker places a Stockholm child in an Umeå home
//! with Stockholm's register, which reserves the place in Norr's; the
//! municipality's national list shows the placement once, and flags itself
//! partial when a region does not answer.

use crate::common;

use common::*;
use samling_kit::auth::Role;
use serde_json::{Value, json};

fn today() -> String {
    chrono::Utc::now()
        .date_naive()
        .format("%Y-%m-%d")
        .to_string()
}

/// An approved family home in Umeå (Norr's register); its id.
async fn umea_home(env: &Env, serial: u16) -> String {
    let id = env
        .create_home_id(
            NORR,
            home_draft(UMEA, "Storgatan 3", &adult(serial), &["npf"]),
        )
        .await;
    let office = env.officer_in(NORR);
    env.http()
        .post(
            &format!("/v1/regions/{NORR}/homes/{id}/status"),
            &office,
            &json!({"to_status": "HOME_STATUS_UNDER_ASSESSMENT", "reason": "home study"}),
        )
        .await
        .ok();
    env.http()
        .post(
            &format!("/v1/regions/{NORR}/homes/{id}/approvals"),
            &office,
            &json!({"municipality_code": UMEA, "decision_date": today(), "decision_ref": "SN 2026/7"}),
        )
        .await
        .ok();
    id
}

fn placed_count(doc: &Value) -> i64 {
    doc["placed_count"].as_i64().unwrap_or(0)
}

fn ids_of(doc: &Value) -> Vec<String> {
    doc["placements"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|p| p["id"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stockholm_child_is_placed_in_an_umea_home_through_rest_and_listed_nationally_once() {
    for_each_backend(|b| async move {
        let mut env = Env::start(&b).await;
        env.connect_regions();
        let home = umea_home(&env, 701).await;
        let cw = env.caseworker(OWN);
        let pnr = personnummer(chrono::NaiveDate::from_ymd_opt(2017, 1, 1).unwrap(), 702);
        let child = env
            .http()
            .post(
                &format!("/v1/regions/{STOCKHOLM}/children"),
                &cw,
                &json!({"personnummer": pnr, "given_name": "Kim", "family_name": "Lind", "placing_municipality_code": OWN}),
            )
            .await
            .ok()["child"]["id"]
            .as_str()
            .expect("child id")
            .to_string();
        let placed = env
            .http()
            .post(
                &format!("/v1/regions/{STOCKHOLM}/placements"),
                &cw,
                &json!({"child_id": child, "home_id": home, "legal_basis": "LEGAL_BASIS_SOL_VOLUNTARY", "start_date": today()}),
            )
            .await
            .ok();
        let p = &placed["placement"];
        let pid = p["id"].as_str().expect("placement id").to_string();
        assert_eq!(p["home_region"], json!(NORR), "{placed}");
        assert_eq!(p["receiving_municipality_code"], json!(UMEA), "{placed}");

        // Counted in Umeå's register.
        let office = env.officer_in(NORR);
        let h = env
            .http()
            .get(&format!("/v1/regions/{NORR}/homes/{home}"), &office)
            .await
            .ok();
        assert_eq!(placed_count(&h), 1, "{h}");

        // Stockholm's national list: the placement once.
        let list = env.http().get("/v1/placements?active_only=true", &cw).await.ok();
        assert_eq!(list["partial"], json!(false), "{list}");
        assert_eq!(ids_of(&list), vec![pid.clone()], "{list}");
        assert!(!list.to_string().contains(&pnr.replace('-', "")), "{list}");
        // Another municipality's list has none of it; the aggregate roles
        // get no list at all.
        let other = env
            .http()
            .get("/v1/placements", &env.caseworker(UMEA))
            .await
            .ok();
        assert!(ids_of(&other).is_empty(), "{other}");
        let r = env
            .http()
            .get("/v1/placements", &env.token(Role::NationalAnalyst, None, None))
            .await;
        assert_eq!(r.status, 403, "{}", r.text());

        // Norr down: Stockholm's placement is still listed, flagged partial.
        env.region_mut(NORR).kill().await;
        let list = env.http().get("/v1/placements", &cw).await.ok();
        assert_eq!(list["partial"], json!(true), "{list}");
        assert_eq!(list["missing_regions"], json!([NORR]), "{list}");
        assert_eq!(ids_of(&list), vec![pid], "{list}");

        // Ending it now cannot free the place in Norr: refused, nothing ended.
        let r = env
            .http()
            .post(
                &format!("/v1/regions/{STOCKHOLM}/placements/{}/end", ids_of(&list)[0]),
                &cw,
                &json!({"end_date": today(), "end_reason": "END_REASON_PLANNED"}),
            )
            .await;
        assert_eq!(r.status, 503, "{}", r.text());
    })
    .await;
}
