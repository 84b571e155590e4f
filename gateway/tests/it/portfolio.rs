//! The portfolio's done-when through the door (issue 22): a Stockholm
//! child placed in a Norrtälje home through REST has a portfolio that the
//! child, the home and the caseworker read; the child moves to a Gotland
//! home (another municipality): the old home loses access on the end date,
//! the new one has it; the child reads over the gateway who read what.

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

/// An approved family home in `municipality` of Stockholm-Gotland; its id.
async fn approved_home(env: &Env, municipality: &str, serial: u16) -> String {
    let id = env
        .create_home_id(
            STOCKHOLM,
            home_draft(municipality, "Skolgatan 1", &adult(serial), &["trauma"]),
        )
        .await;
    let office = env.officer();
    env.http()
        .post(
            &format!("/v1/regions/{STOCKHOLM}/homes/{id}/status"),
            &office,
            &json!({"to_status": "HOME_STATUS_UNDER_ASSESSMENT", "reason": "home study"}),
        )
        .await
        .ok();
    env.http()
        .post(
            &format!("/v1/regions/{STOCKHOLM}/homes/{id}/approvals"),
            &office,
            &json!({"municipality_code": municipality, "decision_date": today(), "decision_ref": "SN 2026/22"}),
        )
        .await
        .ok();
    id
}

fn sections(doc: &Value) -> Vec<String> {
    [
        "about_me",
        "health",
        "dental",
        "school",
        "leisure",
        "documents",
        "contacts",
    ]
    .iter()
    .filter(|s| !doc[**s].is_null())
    .map(|s| s.to_string())
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_portfolio_moves_with_the_child_and_the_child_reads_its_access_log_over_the_gateway() {
    for_each_backend(|b| async move {
        let env = Env::start(&b).await;
        let home_a = approved_home(&env, "0188", 221).await; // Norrtälje
        let home_b = approved_home(&env, "0980", 222).await; // Gotland
        let cw = env.caseworker(OWN);
        let pnr = personnummer(chrono::NaiveDate::from_ymd_opt(2011, 2, 3).unwrap(), 223);
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
                &json!({"child_id": child, "home_id": home_a, "legal_basis": "LEGAL_BASIS_SOL_VOLUNTARY", "start_date": today()}),
            )
            .await
            .ok();
        let p1 = placed["placement"]["id"].as_str().expect("placement id").to_string();
        let region = env.region(STOCKHOLM);
        region.portfolio_caught_up().await;

        let path = format!("/v1/regions/{STOCKHOLM}/portfolio/children/{child}");
        let kid = env.token(Role::Child, None, Some(&child));
        let a = env.token(Role::FamilyHome, None, Some(&home_a));
        let bt = env.token(Role::FamilyHome, None, Some(&home_b));
        // The child writes about me; child, home and caseworker see every section.
        let r = env
            .http()
            .send(
                Req::new("PUT", &format!("{path}/section"))
                    .bearer(&kid)
                    .json(&json!({"about_me": {"in_my_words": "Jag vill bo nära min bror."}})),
            )
            .await
            .ok();
        assert_eq!(r["about_me"]["in_my_words"], json!("Jag vill bo nära min bror."), "{r}");
        for (who, token) in [("child", &kid), ("home A", &a), ("caseworker", &cw)] {
            let doc = env.http().get(&path, token).await.ok();
            assert_eq!(sections(&doc), vec!["about_me"], "{who}: {doc}");
            assert!(doc["hidden_sections"].as_array().is_none_or(|h| h.is_empty()), "{who}: {doc}");
            assert_eq!(doc["current_home_id"], json!(home_a), "{who}: {doc}");
            assert!(!doc.to_string().contains(&pnr.replace('-', "")), "{who}: no personnummer");
        }
        assert_eq!(env.http().get(&path, &bt).await.status, 404, "home B before the move");

        // The move to Gotland: A's placement ends today, B's starts today.
        env.http()
            .post(
                &format!("/v1/regions/{STOCKHOLM}/placements/{p1}/end"),
                &cw,
                &json!({"end_date": today(), "end_reason": "END_REASON_PLANNED"}),
            )
            .await
            .ok();
        env.http()
            .post(
                &format!("/v1/regions/{STOCKHOLM}/placements"),
                &cw,
                &json!({"child_id": child, "home_id": home_b, "legal_basis": "LEGAL_BASIS_SOL_VOLUNTARY", "start_date": today()}),
            )
            .await
            .ok();
        region.portfolio_caught_up().await;
        let r = env.http().get(&path, &a).await;
        assert_eq!(r.status, 404, "the old home lost access: {}", r.text());
        let doc = env.http().get(&path, &bt).await.ok();
        assert_eq!(doc["current_home_id"], json!(home_b), "{doc}");
        assert_eq!(doc["about_me"]["in_my_words"], json!("Jag vill bo nära min bror."), "{doc}");
        // Gotland's caseworkers are not the placing municipality's.
        let r = env.http().get(&path, &env.caseworker("0980")).await;
        assert_eq!(r.status, 404, "{}", r.text());

        // The child reads who read what; the old home may not, nor another child.
        let log = env.http().get(&format!("{path}/access-log"), &kid).await.ok();
        let entries = log["entries"].as_array().expect("entries");
        let read_by = |party: &str| {
            entries
                .iter()
                .filter(|e| e["role"] == json!("family_home") && e["party"] == json!(party) && e["action"] == json!("read"))
                .count()
        };
        assert!(read_by(&home_a) >= 1, "{log}");
        assert!(read_by(&home_b) >= 1, "{log}");
        assert!(entries.iter().any(|e| e["section"] == json!("about_me") && e["action"] == json!("write") && e["role"] == json!("child")), "{log}");
        let r = env.http().get(&format!("{path}/access-log"), &a).await;
        assert_eq!(r.status, 403, "{}", r.text());
        let other_child = env.token(Role::Child, None, Some(&new_id()));
        let r = env.http().get(&format!("{path}/access-log"), &other_child).await;
        assert_eq!(r.status, 403, "another child at the door: {}", r.text());
    })
    .await;
}

/// Interop through the door (issue 22 §7): the health section as a FHIR
/// document Bundle over REST, and an SS 12000-style school import whose bad
/// field comes back as a 400 problem naming its JSON path.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_health_export_and_the_school_import_go_through_the_gateway() {
    for_each_backend(|b| async move {
        let env = Env::start(&b).await;
        let home = approved_home(&env, "0188", 231).await;
        let cw = env.caseworker(OWN);
        let pnr = personnummer(chrono::NaiveDate::from_ymd_opt(2012, 4, 5).unwrap(), 233);
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
        env.region(STOCKHOLM).portfolio_caught_up().await;
        let path = format!("/v1/regions/{STOCKHOLM}/portfolio/children/{child}");
        env.http()
            .send(
                Req::new("PUT", &format!("{path}/section"))
                    .bearer(&cw)
                    .json(&json!({"health": {"allergies": ["Jordnötter"]}})),
            )
            .await
            .ok();

        // The export: a document Bundle, the Composition first, no personnummer.
        let doc = env.http().get(&format!("{path}/health/fhir"), &cw).await.ok();
        assert_eq!(doc["media_type"], json!("application/fhir+json"), "{doc}");
        let bundle: Value = serde_json::from_str(doc["bundle_json"].as_str().expect("bundle")).unwrap();
        assert_eq!(bundle["type"], json!("document"));
        assert_eq!(bundle["entry"][0]["resource"]["resourceType"], json!("Composition"));
        assert!(bundle.to_string().contains("Jordnötter"));
        assert!(!doc.to_string().contains(&pnr.replace('-', "")[2..]), "no personnummer: {doc}");
        let school = env.token(Role::SchoolStaff, None, Some("skola-1"));
        // School staff never read health: refused at the door.
        assert_eq!(env.http().get(&format!("{path}/health/fhir"), &school).await.status, 403);

        // The import: a bad field is a 400 naming its path; then the good one.
        let document = |placed_at: &str| {
            json!({
                "organisations": [{"id": "org-1", "displayName": "Byskolan",
                    "organisationType": "Skolenhet", "schoolUnitCode": "12345678"}],
                "persons": [{"id": child}],
                "placements": [{"id": "pl-1", "placedAt": {"id": placed_at},
                    "child": {"id": child}, "startDate": "2026-08-17"}]
            })
            .to_string()
        };
        let import = format!("/v1/regions/{STOCKHOLM}/portfolio/school-import");
        let p = env
            .http()
            .post(&import, &cw, &json!({"document_json": document("org-9")}))
            .await
            .problem(400, "INVALID_ARGUMENT");
        assert_eq!(p["field"], "placements[0].placedAt.id", "{p}");
        let r = env
            .http()
            .post(&import, &cw, &json!({"document_json": document("org-1")}))
            .await
            .ok();
        assert_eq!(r["children"][0]["child_id"], json!(child), "{r}");
        let doc = env.http().get(&path, &cw).await.ok();
        assert_eq!(doc["school"]["school_unit_name"], json!("Byskolan"), "{doc}");
    })
    .await;
}

/// The retention job through the door (ADR 0043): the office runs it or
/// its dry run; a caseworker may not; a run for a later day is a 400
/// naming `today`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_office_runs_the_portfolio_retention_job_over_the_gateway() {
    for_each_backend(|b| async move {
        let env = Env::start(&b).await;
        let path = format!("/v1/regions/{STOCKHOLM}/portfolio/retention/runs");
        let office = env.officer();
        let dry = env
            .http()
            .post(
                &path,
                &office,
                &json!({"dry_run": true, "today": "2040-01-01"}),
            )
            .await
            .ok();
        assert_eq!(dry["dry_run"], json!(true), "{dry}");
        assert_eq!(dry["today"], json!("2040-01-01"), "{dry}");
        let stages: Vec<&str> = dry["counts"]
            .as_array()
            .expect("counts")
            .iter()
            .filter_map(|c| c["stage"].as_str())
            .collect();
        assert_eq!(
            stages,
            [
                "RETENTION_STAGE_ACTIVE",
                "RETENTION_STAGE_RESTRICTED",
                "RETENTION_STAGE_ARCHIVED"
            ],
            "{dry}"
        );
        let run = env
            .http()
            .post(&path, &office, &json!({"request_id": new_id()}))
            .await
            .ok();
        assert_eq!(run["today"], json!(today()), "{run}");
        let r = env
            .http()
            .post(&path, &env.caseworker(OWN), &json!({"dry_run": true}))
            .await;
        assert_eq!(r.status, 403, "{}", r.text());
        let r = env
            .http()
            .post(&path, &office, &json!({"today": "2040-01-01"}))
            .await;
        assert_eq!(r.status, 400, "{}", r.text());
        assert!(r.text().contains("today"), "{}", r.text());
    })
    .await;
}
