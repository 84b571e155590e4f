//! Issue 24 §8 through the door: an HVB unit's own staff reports its
//! vacancies (another unit's: refused), units are searched nationally by
//! target group with their contact details, and socialjouren of any
//! municipality finds where a runaway child is placed, in whichever region
//! holds it (the personnummer in the body, never the URL).

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

async fn unit(env: &Env, region: &str, municipality: &str, name: &str) -> String {
    let r = env
        .http()
        .post(
            &format!("/v1/regions/{region}/units"),
            &env.officer_in(region),
            &json!({
                "name": name, "kind": "UNIT_KIND_HVB", "municipality_code": municipality,
                "places": 6, "target_groups": ["girls_13_17"],
                "contact_phone": "010-123 45 67", "contact_email": "intag@hvb.example",
                "permit": {"permit_number": "IVO 8.5-1/2025", "valid_from": "2025-01-01"}
            }),
        )
        .await
        .ok();
    r["id"].as_str().expect("unit id").to_string()
}

fn unit_ids(doc: &Value) -> Vec<String> {
    let mut ids: Vec<String> = doc["units"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|u| u["id"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_units_staff_reports_its_vacancies_and_units_are_searched_nationally() {
    for_each_backend(|b| async move {
        let mut env = Env::start(&b).await;
        let sthlm = unit(&env, STOCKHOLM, OWN, "HVB Solgläntan").await;
        let umea = unit(&env, NORR, UMEA, "HVB Norrsken").await;

        // The unit's own staff, through REST.
        let staff = env.token(Role::UnitStaff, None, Some(&sthlm));
        let r = env
            .http()
            .send(
                Req::new(
                    "PUT",
                    &format!("/v1/regions/{STOCKHOLM}/units/{sthlm}/vacancies"),
                )
                .bearer(&staff)
                .json(&json!({"vacancies": 2})),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["vacancies"], json!(2));
        // Another unit's: refused at the door, nothing reaches the register.
        let before = env.reached();
        let r = env
            .http()
            .send(
                Req::new("PUT", &format!("/v1/regions/{NORR}/units/{umea}/vacancies"))
                    .bearer(&staff)
                    .json(&json!({"vacancies": 4})),
            )
            .await;
        assert_eq!(r.status, 403, "{}", r.text());
        assert_eq!(env.reached(), before);

        // Searched nationally by a caseworker of any municipality.
        let cw = env.caseworker(UMEA);
        let all = env
            .http()
            .get("/v1/units?target_group=girls_13_17", &cw)
            .await
            .ok();
        assert_eq!(all["partial"], json!(false), "{all}");
        let mut want = vec![sthlm.clone(), umea.clone()];
        want.sort();
        assert_eq!(unit_ids(&all), want, "{all}");
        assert!(all.to_string().contains("010-123 45 67"), "{all}");
        let free = env
            .http()
            .get("/v1/units?with_vacancy_only=true", &cw)
            .await
            .ok();
        assert_eq!(unit_ids(&free), vec![sthlm.clone()], "{free}");
        let none = env
            .http()
            .get("/v1/units?target_group=boys_13_17", &cw)
            .await
            .ok();
        assert!(unit_ids(&none).is_empty(), "{none}");
        // A child gets no provider list.
        let r = env
            .http()
            .get("/v1/units", &env.token(Role::Child, None, Some(&new_id())))
            .await;
        assert_eq!(r.status, 403, "{}", r.text());

        // Norr down: Stockholm's unit still listed, flagged partial.
        env.region_mut(NORR).kill().await;
        let part = env
            .http()
            .get("/v1/units?target_group=girls_13_17", &cw)
            .await
            .ok();
        assert_eq!(part["partial"], json!(true), "{part}");
        assert_eq!(part["missing_regions"], json!([NORR]), "{part}");
        assert_eq!(unit_ids(&part), vec![sthlm], "{part}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socialjouren_in_umea_finds_a_stockholm_child_placed_in_an_umea_home() {
    for_each_backend(|b| async move {
        let env = Env::start(&b).await;
        env.connect_regions();
        // An approved Umeå home (Norr's register).
        let office = env.officer_in(NORR);
        let home = env
            .create_home_id(NORR, home_draft(UMEA, "Storgatan 3", &adult(731), &["npf"]))
            .await;
        env.http()
            .post(
                &format!("/v1/regions/{NORR}/homes/{home}/status"),
                &office,
                &json!({"to_status": "HOME_STATUS_UNDER_ASSESSMENT", "reason": "home study"}),
            )
            .await
            .ok();
        env.http()
            .post(
                &format!("/v1/regions/{NORR}/homes/{home}/approvals"),
                &office,
                &json!({"municipality_code": UMEA, "decision_date": today(), "decision_ref": "SN 2026/9"}),
            )
            .await
            .ok();
        // A Stockholm child, registered and placed there by Stockholm.
        let cw = env.caseworker(OWN);
        let pnr = personnummer(chrono::NaiveDate::from_ymd_opt(2012, 5, 5).unwrap(), 732);
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
        env.http()
            .post(
                &format!("/v1/regions/{STOCKHOLM}/placements"),
                &cw,
                &json!({"child_id": child, "home_id": home, "legal_basis": "LEGAL_BASIS_SOL_VOLUNTARY", "start_date": today()}),
            )
            .await
            .ok();

        // Socialjouren in Umeå, where the child turned up.
        let jour = env.caseworker(UMEA);
        let found = env
            .http()
            .post(
                "/v1/children/locate",
                &jour,
                &json!({"personnummer": pnr, "reason": "ran away, found by the police"}),
            )
            .await
            .ok();
        assert_eq!(found["partial"], json!(false), "{found}");
        let children = found["children"].as_array().expect("children");
        assert_eq!(children.len(), 1, "{found}");
        let w = &children[0];
        assert_eq!(w["child_id"], json!(child), "{found}");
        assert_eq!(w["placing_municipality_code"], json!(OWN), "{found}");
        assert_eq!(w["home_id"], json!(home), "{found}");
        assert_eq!(w["home_region"], json!(NORR), "{found}");
        assert_eq!(w["region_id"], json!(STOCKHOLM), "{found}");
        assert!(!found.to_string().contains(&pnr.replace('-', "")[2..]), "{found}");

        // The reason is required (named); the aggregate roles, IVO and the
        // homes may not look up.
        let r = env
            .http()
            .post("/v1/children/locate", &jour, &json!({"personnummer": pnr}))
            .await;
        assert_eq!(r.status, 400, "{}", r.text());
        assert!(r.text().contains("reason"), "{}", r.text());
        for token in [
            env.token(Role::NationalAnalyst, None, None),
            env.token(Role::Ivo, None, None),
            env.token(Role::FamilyHome, None, Some(&home)),
        ] {
            let r = env
                .http()
                .post(
                    "/v1/children/locate",
                    &token,
                    &json!({"personnummer": pnr, "reason": "x"}),
                )
                .await;
            assert_eq!(r.status, 403, "{}", r.text());
        }
    })
    .await;
}
