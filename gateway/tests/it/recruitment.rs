//! Recruitment's public inquiry form through the gateway: no login, the
//! strict per-address budget (ADR 0009, 0023), refusals naming the field,
//! nothing personal in the receipt, security-free in the OpenAPI document.

use crate::common::*;
use serde_json::{Value, json};

const FORM: &str = "/v1/regions/stockholm-gotland/recruitment/inquiry-form";
const SUBMIT: &str = "/v1/regions/stockholm-gotland/recruitment/inquiries/public";

fn inquiry(token: &str) -> Value {
    json!({
        "form_token": token,
        "inquiry": {
            "given_name": "Ingrid",
            "family_name": "Sjöholm",
            "email": "ingrid.sjoholm@example.se",
            "phone": "070-123 45 67",
            "municipality_code": "0180",
            "interests": ["HOME_TYPE_FAMILY_HOME"],
            "message": "Vi har ett extra rum."
        },
        "channel": "CHANNEL_WEBSITE",
        "consent": true,
        "privacy_notice_version": "2026-1"
    })
}

fn from(req: Req, address: &str) -> Req {
    req.header("x-forwarded-for", address)
}

async fn token(gw: &GatewayServer, address: &str) -> String {
    let t = gw.http.send(from(Req::get(FORM), address)).await.ok();
    t["token"].as_str().expect("a form token").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_form_needs_no_login_takes_a_token_once_and_answers_nothing_personal() {
    for_each_backend(|b| async move {
        let env = Env::start(&b).await;
        let gw = env
            .gateway_with(|c| c.trusted_proxies = vec!["127.0.0.1/32".into(), "::1".into()])
            .await;
        let clock = env.region(STOCKHOLM).recruitment.clock.clone();
        let t = token(&gw, "203.0.113.7").await;

        // Sent at once: refused naming the token.
        let p = gw
            .http
            .send(from(Req::post(SUBMIT).json(&inquiry(&t)), "203.0.113.7"))
            .await
            .problem(400, "INVALID_ARGUMENT");
        assert_eq!(p["field"], "form_token", "{p}");
        assert!(p["detail"].as_str().unwrap().contains("too soon"), "{p}");

        clock.advance(chrono::Duration::seconds(30));
        let r = gw
            .http
            .send(from(Req::post(SUBMIT).json(&inquiry(&t)), "203.0.113.7"))
            .await;
        let receipt = r.ok();
        assert!(
            receipt["reference"].as_str().unwrap().starts_with("FH-"),
            "{receipt}"
        );
        for personal in [
            "Ingrid",
            "Sjöholm",
            "ingrid",
            "example.se",
            "123 45",
            "extra rum",
        ] {
            assert!(
                !r.text().contains(personal),
                "the receipt holds {personal}: {}",
                r.text()
            );
        }

        // The same token again: refused, naming it.
        let p = gw
            .http
            .send(from(Req::post(SUBMIT).json(&inquiry(&t)), "203.0.113.7"))
            .await
            .problem(400, "INVALID_ARGUMENT");
        assert_eq!(p["field"], "form_token", "{p}");
        assert!(
            p["detail"].as_str().unwrap().contains("already been used"),
            "{p}"
        );

        // A token changes nothing: the public caller still reaches only the form.
        let t2 = token(&gw, "203.0.113.8").await;
        clock.advance(chrono::Duration::seconds(30));
        let with_token = gw
            .http
            .send(
                from(Req::post(SUBMIT).json(&inquiry(&t2)), "203.0.113.8")
                    .bearer("not-a-token-at-all"),
            )
            .await;
        assert_eq!(with_token.status, 200, "{}", with_token.text());

        // The office sees the inquiry (with the person) through its own route.
        let listed = env
            .http()
            .get(
                "/v1/regions/stockholm-gotland/recruitment/cases",
                &env.officer(),
            )
            .await
            .ok();
        let cases = listed["cases"].as_array().expect("cases");
        assert_eq!(cases.len(), 2, "{listed}");
        assert_eq!(
            cases[0]["intake_route"], "INTAKE_ROUTE_PUBLIC_FORM",
            "{listed}"
        );
        // A municipality's caseworker of another municipality sees none.
        let other = env
            .http()
            .get(
                "/v1/regions/stockholm-gotland/recruitment/cases",
                &env.token(
                    samling_kit::auth::Role::MunicipalityCaseworker,
                    Some("0184"),
                    None,
                ),
            )
            .await
            .ok();
        assert!(
            other["cases"].as_array().map(Vec::is_empty).unwrap_or(true),
            "{other}"
        );
        // An analyst asks for cases: refused at the door.
        env.http()
            .get(
                "/v1/regions/stockholm-gotland/recruitment/cases",
                &env.token(samling_kit::auth::Role::NationalAnalyst, None, None),
            )
            .await
            .problem(403, "PERMISSION_DENIED");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_form_has_a_strict_budget_per_address() {
    for_each_backend(|b| async move {
        let env = Env::start(&b).await;
        let gw = env
            .gateway_with(|c| {
                c.public_form_rate_per_minute = 3;
                c.trusted_proxies = vec!["127.0.0.1/32".into(), "::1".into()];
            })
            .await;
        // Three posts from one address are heard (each refused for its
        // fields); the fourth in the minute is 429 with Retry-After.
        for _ in 0..3 {
            let r = gw
                .http
                .send(from(Req::post(SUBMIT).json(&json!({})), "198.51.100.4"))
                .await;
            assert_eq!(r.status, 400, "{}", r.text());
        }
        let r = gw
            .http
            .send(from(Req::post(SUBMIT).json(&json!({})), "198.51.100.4"))
            .await;
        r.problem(429, "RESOURCE_EXHAUSTED");
        let retry: u64 = r
            .header("retry-after")
            .and_then(|v| v.parse().ok())
            .expect("Retry-After in seconds");
        assert!((1..=60).contains(&retry), "{retry}");
        // Another address still passes.
        let other = gw
            .http
            .send(from(Req::post(SUBMIT).json(&json!({})), "198.51.100.5"))
            .await;
        assert_eq!(other.status, 400, "{}", other.text());
        // The form's GET has its own budget (a form is a GET and a POST).
        gw.http
            .send(from(Req::get(FORM), "198.51.100.4"))
            .await
            .ok();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_marks_the_public_form_security_free() {
    let plain = backends().remove(0);
    let env = Env::start(&plain).await;
    let doc = env.http().send(Req::get("/openapi.json")).await.ok();
    let paths = &doc["paths"];
    assert_eq!(
        paths[FORM.replace("stockholm-gotland", "{region}")]["get"]["security"],
        json!([])
    );
    assert_eq!(
        paths[SUBMIT.replace("stockholm-gotland", "{region}")]["post"]["security"],
        json!([])
    );
    assert_eq!(
        paths["/v1/regions/{region}/recruitment/inquiries"]["post"]["security"],
        json!([{"bearerAuth": []}])
    );
}
