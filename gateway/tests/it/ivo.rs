//! IVO and the evidence behind an approval through the door (issue 24 §4,
//! §5; ADR 0028, 0029): an `ivo` token reads the report above four
//! children, inspects an agency unannounced and visits a home; a
//! municipality reads the findings and records training and an
//! investigation; the office lists overdue register extracts.

use crate::common;

use common::*;
use samling_kit::auth::Role;
use serde_json::json;

fn day(offset: i64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(offset))
        .format("%Y-%m-%d")
        .to_string()
}

#[tokio::test]
async fn ivo_and_the_evidence_work_over_rest_and_the_door_refuses_the_rest() {
    for_each_backend(|b| async move {
        let env = Env::start(&b).await;
        let http = env.http();
        let office = env.officer();
        let ivo = env.token(Role::Ivo, None, None);
        let region = format!("/v1/regions/{STOCKHOLM}");
        let id = env
            .create_home_id(STOCKHOLM, home_draft(OWN, "Tillsynsvägen 3", &adult(451), &["npf"]))
            .await;
        let home = format!("{region}/homes/{id}");
        http.post(
            &format!("{home}/status"),
            &office,
            &json!({"to_status": "HOME_STATUS_UNDER_ASSESSMENT", "reason": "home study"}),
        )
        .await
        .ok();
        let approved = http
            .post(
                &format!("{home}/approvals"),
                &office,
                &json!({"municipality_code": OWN, "decision_date": day(0), "decision_ref": "SN 2026/11"}),
            )
            .await
            .ok();
        assert_eq!(
            approved["evidence_missing"],
            json!(["training", "evidence_based_investigation"]),
            "{approved}"
        );

        // The municipality records training and a BRA-Fam investigation.
        let manager = env.token(Role::MunicipalityManager, Some(OWN), None);
        http.post(
            &format!("{home}/trainings"),
            &manager,
            &json!({"municipality_code": OWN, "course_name": "Ett hem att växa i", "completed_on": day(-20)}),
        )
        .await
        .ok();
        let investigated = http
            .post(
                &format!("{home}/investigation-records"),
                &manager,
                &json!({"municipality_code": OWN, "methods": ["INVESTIGATION_METHOD_BRA_FAM"],
                        "result": "INVESTIGATION_RESULT_SUITABLE", "completed_on": day(-10)}),
            )
            .await
            .ok();
        assert!(investigated.get("evidence_missing").is_none(), "{investigated}");
        // Another municipality naming itself has no link to the home.
        let other = http
            .post(
                &format!("{home}/trainings"),
                &env.token(Role::MunicipalityManager, Some(OTHER), None),
                &json!({"municipality_code": OTHER, "course_name": "x", "completed_on": day(-1)}),
            )
            .await;
        assert_eq!(other.status, 403, "{}", other.text());

        // IVO visits the home unannounced; the report above four is its to read.
        let visited = http
            .post(
                &format!("{home}/visits"),
                &ivo,
                &json!({"visited_on": day(-1), "unannounced": true, "remarks": true,
                        "findings": ["Brandvarnare saknas"]}),
            )
            .await
            .ok();
        assert_eq!(visited["visits"][0]["visitor"], "VISITOR_IVO", "{visited}");
        assert_eq!(visited["inspection_remarks"], true);
        let reports = http.get(&format!("{region}/ivo-reports"), &ivo).await;
        assert_eq!(reports.status, 200, "{}", reports.text());
        let refused = http
            .get(&format!("{region}/ivo-reports"), &env.caseworker(OWN))
            .await;
        assert_eq!(refused.status, 403, "{}", refused.text());

        // An agency inspected unannounced: its findings reach a municipality.
        let agency = http
            .post(
                &format!("{region}/agencies"),
                &office,
                &json!({"name": "Konsulent AB", "org_number": "556016-0680", "municipality_code": OWN}),
            )
            .await
            .ok();
        let aid = agency["id"].as_str().unwrap().to_string();
        let inspected = http
            .post(
                &format!("{region}/agencies/{aid}/inspections"),
                &ivo,
                &json!({"inspected_on": day(-2), "unannounced": true, "remarks": true,
                        "findings": ["Handledning saknas"]}),
            )
            .await
            .ok();
        assert_eq!(inspected["inspections"][0]["authority"], "IVO", "{inspected}");
        let read = http
            .get(&format!("{region}/agencies/{aid}"), &env.caseworker(OTHER))
            .await
            .ok();
        assert_eq!(read["inspections"][0]["findings"][0], "Handledning saknas");
        assert_eq!(read["inspection_remarks"], true);
        let by_municipality = http
            .post(
                &format!("{region}/agencies/{aid}/inspections"),
                &env.caseworker(OWN),
                &json!({"inspected_on": day(-2), "authority": "IVO"}),
            )
            .await;
        assert_eq!(by_municipality.status, 403);

        // The carer was never checked: overdue tomorrow, on the office's list.
        let overdue = http
            .get(
                &format!("{region}/overdue-record-checks?as_of={}", day(1)),
                &office,
            )
            .await
            .ok();
        assert!(
            overdue["homes"]
                .as_array()
                .is_some_and(|h| h.iter().any(|h| h["id"] == id.as_str())),
            "{overdue}"
        );
    })
    .await;
}
