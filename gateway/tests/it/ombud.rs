//! The ombud's done-when through the door (issue 23): a child placed
//! through REST is assigned the region's ombud; the child contacts its
//! ombud (opens a case) over the gateway; the ombud works the case, asks
//! the placing municipality for a review, the municipality answers late,
//! the ombud escalates it to IVO and closes the case with the outcome and
//! the child's view; the child sees its case and only the notes shown to
//! it; the municipality never reads the notes. A meeting the municipality
//! registers is recorded by the ombud.

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_contacts_its_ombud_who_works_the_case_to_an_outcome_with_a_late_review_escalated_to_ivo()
 {
    for_each_backend(|b| async move {
        let env = Env::start(&b).await;
        let office = env.officer();
        let base = format!("/v1/regions/{STOCKHOLM}/ombud");
        // The office registers the region's ombud.
        let o = env
            .http()
            .post(&format!("{base}/ombuds"), &office, &json!({"subject": "ombud-anna"}))
            .await
            .ok();
        assert_eq!(o["subject"], json!("ombud-anna"), "{o}");

        // A Stockholm child placed in a home through REST.
        let home = env
            .create_home_id(STOCKHOLM, home_draft("0188", "Skolgatan 1", &adult(231), &["trauma"]))
            .await;
        env.http()
            .post(&format!("/v1/regions/{STOCKHOLM}/homes/{home}/status"), &office,
                  &json!({"to_status": "HOME_STATUS_UNDER_ASSESSMENT", "reason": "home study"}))
            .await
            .ok();
        env.http()
            .post(&format!("/v1/regions/{STOCKHOLM}/homes/{home}/approvals"), &office,
                  &json!({"municipality_code": "0188", "decision_date": today(), "decision_ref": "SN 2026/23"}))
            .await
            .ok();
        let cw = env.caseworker(OWN);
        let pnr = personnummer(chrono::NaiveDate::from_ymd_opt(2012, 5, 6).unwrap(), 232);
        let child = env
            .http()
            .post(&format!("/v1/regions/{STOCKHOLM}/children"), &cw,
                  &json!({"personnummer": pnr, "given_name": "Alva", "family_name": "Berg", "placing_municipality_code": OWN}))
            .await
            .ok()["child"]["id"]
            .as_str()
            .expect("child id")
            .to_string();
        env.http()
            .post(&format!("/v1/regions/{STOCKHOLM}/placements"), &cw,
                  &json!({"child_id": child, "home_id": home, "legal_basis": "LEGAL_BASIS_SOL_VOLUNTARY", "start_date": today()}))
            .await
            .ok();
        let region = env.region(STOCKHOLM);
        region.ombud_caught_up().await;

        // The child asks who its ombud is and contacts it.
        let kid = env.token(Role::Child, None, Some(&child));
        let mine = env.http().get(&format!("{base}/children/{child}/ombud"), &kid).await.ok();
        assert_eq!(mine["ombud_subject"], json!("ombud-anna"), "{mine}");
        let case = env
            .http()
            .post(&format!("{base}/children/{child}/contact"), &kid,
                  &json!({"category": "CASE_CATEGORY_CONTACT", "summary": "Jag får inte träffa min bror."}))
            .await
            .ok();
        let case_id = case["id"].as_str().expect("case id").to_string();
        assert_eq!(case["state"], json!("CASE_STATE_OPEN"), "{case}");
        assert!(!case.to_string().contains(&pnr.replace('-', "")), "no personnummer");
        // Bad input: 400 naming the field.
        let r = env
            .http()
            .send(Req::new("POST", &format!("{base}/children/{child}/contact")).bearer(&kid)
                .json(&json!({"category": "CASE_CATEGORY_CONTACT", "summary": " "})))
            .await;
        assert_eq!(r.status, 400, "{}", r.text());
        assert_eq!(r.json()["field"], json!("summary"), "{}", r.text());
        // Another child at the door.
        let other_kid = env.token(Role::Child, None, Some(&new_id()));
        let r = env.http().get(&format!("{base}/children/{child}/cases"), &other_kid).await;
        assert_eq!(r.status, 403, "{}", r.text());
        let r = env.http().get(&format!("{base}/cases/{case_id}"), &other_kid).await;
        assert_eq!(r.status, 404, "{}", r.text());

        // The ombud takes it up, notes what the child wants said and asks
        // Stockholm to review the contact decision.
        let ombud = env
            .issuer
            .issue(samling_gateway::auth::IssueClaims {
                sub: "ombud-anna".into(),
                role: Role::Ombud,
                municipality: None,
                party: None,
                region: None,
                ttl: std::time::Duration::from_secs(3600),
            })
            .expect("ombud token");
        let moved = env.http()
            .post(&format!("{base}/cases/{case_id}/transition"), &ombud, &json!({"to_state": "CASE_STATE_IN_PROGRESS"}))
            .await
            .ok();
        assert_eq!(moved["state"], json!("CASE_STATE_IN_PROGRESS"), "{moved}");
        env.http()
            .post(&format!("{base}/cases/{case_id}/notes"), &ombud,
                  &json!({"text": "Alva vill träffa sin bror varje vecka.", "visible_to_child": true}))
            .await
            .ok();
        env.http()
            .post(&format!("{base}/cases/{case_id}/notes"), &ombud,
                  &json!({"text": "Nämnden har inte hört Alva.", "visible_to_child": false}))
            .await
            .ok();
        let review = env
            .http()
            .post(&format!("{base}/cases/{case_id}/review-requests"), &ombud,
                  &json!({"subject": "REVIEW_SUBJECT_DECISION", "question": "Ompröva beslutet om umgänge med brodern.", "decision_date": today()}))
            .await
            .ok();
        let review_id = review["id"].as_str().expect("review id").to_string();
        assert_eq!(review["municipality_code"], json!(OWN), "{review}");
        assert_eq!(review["state"], json!("REVIEW_STATE_AWAITING_ANSWER"), "{review}");

        // Stockholm answers a month later: late.
        region.ombud.clock.advance(chrono::Duration::days(30));
        let listed = env.http().get(&format!("{base}/review-requests"), &cw).await.ok();
        assert_eq!(listed["review_requests"][0]["overdue"], json!(true), "{listed}");
        let answered = env
            .http()
            .post(&format!("{base}/review-requests/{review_id}/answer"), &cw,
                  &json!({"answer": "REVIEW_ANSWER_UPHELD", "answer_text": "Beslutet står fast."}))
            .await
            .ok();
        assert_eq!(answered["answered_late"], json!(true), "{answered}");
        // The municipality never reads the ombud's notes.
        let r = env.http().get(&format!("{base}/cases/{case_id}"), &cw).await;
        assert_eq!(r.status, 404, "the caseworker did not open it: {}", r.text());

        // Stockholm registers the six-monthly review; the ombud attends and
        // records what Alva wanted said.
        let meeting = env
            .http()
            .post(
                &format!("{base}/children/{child}/meetings"),
                &cw,
                &json!({"kind": "MEETING_KIND_CARE_REVIEW", "held_on": today()}),
            )
            .await
            .ok();
        assert_eq!(meeting["ombud_subject"], json!("ombud-anna"), "{meeting}");
        let meeting_id = meeting["id"].as_str().expect("meeting id").to_string();
        let recorded = env
            .http()
            .post(
                &format!("{base}/meetings/{meeting_id}/record"),
                &ombud,
                &json!({"ombud_attended": true, "child_wishes": "Träffa brodern varje vecka.", "decisions": "Umgänget prövas igen."}),
            )
            .await
            .ok();
        assert_eq!(recorded["recorded"], json!(true), "{recorded}");
        let seen = env.http().get(&format!("{base}/children/{child}/meetings"), &cw).await.ok();
        assert!(seen["meetings"][0]["child_wishes"].is_null() || seen["meetings"][0]["child_wishes"] == json!(""), "{seen}");
        let seen = env.http().get(&format!("{base}/children/{child}/meetings"), &kid).await.ok();
        assert_eq!(seen["meetings"][0]["child_wishes"], json!("Träffa brodern varje vecka."), "{seen}");

        // Escalated: the IVO complaint is generated and stored.
        let escalated = env
            .http()
            .post(&format!("{base}/review-requests/{review_id}/escalation"), &ombud,
                  &json!({"grounds": "Nämnden svarade för sent och barnet hördes inte."}))
            .await
            .ok();
        assert_eq!(escalated["state"], json!("REVIEW_STATE_ESCALATED"), "{escalated}");
        let ivo_token = env.token(Role::Ivo, None, None);
        let complaint = env
            .http()
            .get(&format!("{base}/review-requests/{review_id}/ivo-complaint"), &ivo_token)
            .await
            .ok();
        assert_eq!(complaint["case_id"], json!(case_id), "{complaint}");
        assert_eq!(complaint["child_id"], json!(child), "{complaint}");
        assert_eq!(complaint["municipality_code"], json!(OWN), "{complaint}");
        assert!(complaint["working_days_late"].as_i64().unwrap_or(0) > 0 || complaint["working_days_late"].as_str().is_some(), "{complaint}");
        assert!(!complaint.to_string().contains(&pnr.replace('-', "")), "no personnummer in the complaint");
        assert!(!complaint.to_string().contains("Alva"), "no name in the complaint");

        // Closed with the outcome and the child's view.
        let closed = env
            .http()
            .post(&format!("{base}/cases/{case_id}/closure"), &ombud,
                  &json!({"reason": "CLOSE_REASON_ESCALATED_TO_IVO", "outcome": "Anmält till IVO.", "child_view": "Bra att någon lyssnar."}))
            .await
            .ok();
        assert_eq!(closed["state"], json!("CASE_STATE_CLOSED"), "{closed}");

        // The child sees its case: the outcome, its view, the note shown to it only.
        let cases = env.http().get(&format!("{base}/children/{child}/cases"), &kid).await.ok();
        let seen = &cases["cases"][0];
        assert_eq!(seen["id"], json!(case_id), "{cases}");
        assert_eq!(seen["child_view"], json!("Bra att någon lyssnar."), "{cases}");
        let notes: Vec<&Value> = seen["notes"].as_array().map(|v| v.iter().collect()).unwrap_or_default();
        assert_eq!(notes.len(), 1, "{cases}");
        assert_eq!(notes[0]["text"], json!("Alva vill träffa sin bror varje vecka."), "{cases}");
    })
    .await;
}
