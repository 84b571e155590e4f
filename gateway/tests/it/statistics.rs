//! The dashboards' statistics through the gateway (issue 25, ADR 0050):
//! the national sum agrees with the regions, the aggregate roles see it
//! suppressed after adding up (and hidden wherever a region hides its
//! part), a region that is down makes the answer partial, the CSV shows
//! the cells as displayed, and every other caller is refused.

use crate::common;

use common::*;
use samling_kit::auth::Role;
use serde_json::{Value, json};

const TABLE: &str = "registry.unexecuted_decisions";

fn day(days_ago: u64) -> String {
    (chrono::Utc::now().date_naive() - chrono::Days::new(days_ago))
        .format("%Y-%m-%d")
        .to_string()
}

fn period() -> String {
    format!("from={}&to={}", day(200), day(0))
}

/// `n` unexecuted decisions of `municipality` in `region`, of `sex`.
async fn decisions(env: &Env, region: &str, municipality: &str, sex: &str, n: usize) {
    let token = env.caseworker(municipality);
    for _ in 0..n {
        env.http()
            .post(
                &format!("/v1/regions/{region}/unexecuted-decisions"),
                &token,
                &json!({
                    "municipality_code": municipality,
                    "sex": sex,
                    "decision_kind": "DECISION_KIND_FAMILY_HOME_PLACEMENT",
                    "decision_date": day(120),
                    "reason": "UNEXECUTED_REASON_NO_SUITABLE_HOME",
                }),
            )
            .await
            .ok();
    }
}

/// A cell of the table `id` by row key and column id: (display, value).
fn cell(doc: &Value, id: &str, row: &str, col: &str) -> (String, Value) {
    let t = doc["tables"]
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["id"] == id))
        .unwrap_or_else(|| panic!("no table {id}: {doc}"));
    let c = t["columns"]
        .as_array()
        .and_then(|cs| cs.iter().position(|c| c["id"] == col))
        .expect("column");
    let r = t["rows"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["key"] == row))
        .expect("row");
    let cell = &r["cells"][c];
    (
        cell["display"].as_str().unwrap_or("").to_string(),
        cell["value"].clone(),
    )
}

async fn get(env: &Env, query: &str, token: &str) -> Resp {
    env.http()
        .get(&format!("/v1/statistics?{query}"), token)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn national_figures_add_the_regions_up_then_suppress_and_a_dead_region_is_flagged() {
    for_each_backend(|b| async move {
        let mut env = Env::start(&b).await;
        // Stockholm: 3 girls, 12 boys; Norr: 10 girls, 20 boys.
        decisions(&env, STOCKHOLM, OWN, "SEX_FEMALE", 3).await;
        decisions(&env, STOCKHOLM, OWN, "SEX_MALE", 12).await;
        decisions(&env, NORR, UMEA, "SEX_FEMALE", 10).await;
        decisions(&env, NORR, UMEA, "SEX_MALE", 20).await;
        let q = format!("scope=national&{}&tables={TABLE}", period());
        let service = env.token(Role::Service, None, None);
        let raw = get(&env, &q, &service).await.ok();
        assert_eq!(raw["partial"], false, "{raw}");
        assert_eq!(raw["scope"], "national");
        let regions: Vec<&str> = raw["regions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["code"].as_str().unwrap())
            .collect();
        assert_eq!(regions, [NORR, STOCKHOLM]);
        let nsh = "no_suitable_home";
        assert_eq!(cell(&raw, TABLE, nsh, "female"), ("13".into(), json!(13)));
        assert_eq!(cell(&raw, TABLE, nsh, "male"), ("32".into(), json!(32)));
        assert_eq!(
            cell(&raw, TABLE, "total", "total"),
            ("45".into(), json!(45))
        );

        let analyst = env.token(Role::NationalAnalyst, None, None);
        let council = env.token(Role::CouncilMember, None, None);
        for token in [&analyst, &council] {
            // Each region as the aggregate roles see it.
            let south = get(
                &env,
                &format!("scope={STOCKHOLM}&{}&tables={TABLE}", period()),
                token,
            )
            .await
            .ok();
            assert_eq!(
                cell(&south, TABLE, nsh, "female"),
                ("<5".into(), Value::Null)
            );
            // 15 − 12 would give the 3 away: the 12 is hidden too.
            assert_eq!(cell(&south, TABLE, nsh, "male"), ("..".into(), Value::Null));
            let north = get(
                &env,
                &format!("scope={NORR}&{}&tables={TABLE}", period()),
                token,
            )
            .await
            .ok();
            assert_eq!(cell(&north, TABLE, nsh, "female").0, "10");
            // Nationally, 13 − Norr's 10 would give Stockholm's 3 away:
            // hidden wherever a region hides its part.
            let national = get(&env, &q, token).await.ok();
            let girls = cell(&national, TABLE, nsh, "female");
            assert_eq!(girls.1, Value::Null, "{national}");
            assert_ne!(girls.0, "13");
            assert_eq!(cell(&national, TABLE, nsh, "male").1, Value::Null);
            // Whatever is shown is the true figure.
            for t in national["tables"].as_array().unwrap() {
                for r in t["rows"].as_array().unwrap() {
                    for c in r["cells"].as_array().unwrap() {
                        if let Some(v) = c["value"].as_i64() {
                            assert_eq!(c["display"], v.to_string());
                        } else {
                            assert!(c["display"] == "<5" || c["display"] == "..", "{c}");
                        }
                    }
                }
            }
        }

        // The CSV: Swedish labels, cells as shown, `;`.
        let csv = env
            .http()
            .get(
                &format!("/v1/statistics/{TABLE}.csv?scope={STOCKHOLM}&{}", period()),
                &analyst,
            )
            .await;
        assert_eq!(csv.status, 200, "{}", csv.text());
        assert_eq!(csv.content_type(), "text/csv; charset=utf-8");
        let text = csv.text();
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].ends_with(";Flickor;Pojkar;Ej angivet;Totalt"),
            "{text}"
        );
        assert!(lines[1].starts_with("Inget lämpligt hem;<5;..;"), "{text}");
        let missing = env
            .http()
            .get(
                &format!("/v1/statistics/registry.nope.csv?{}", period()),
                &analyst,
            )
            .await;
        assert_eq!(missing.status, 400, "{}", missing.text());
        // A table no service has (found by schemathesis: it was a 503).
        let unknown = env
            .http()
            .get(&format!("/v1/statistics/_._.csv?{}", period()), &analyst)
            .await;
        assert_eq!(unknown.status, 404, "{}", unknown.text());

        // Norr goes down: the national answer is partial, Stockholm's
        // figures still there.
        env.region_mut(NORR).kill().await;
        let partial = get(&env, &q, &service).await.ok();
        assert_eq!(partial["partial"], true, "{partial}");
        assert_eq!(partial["missing"][0]["region"], NORR);
        assert_eq!(partial["missing"][0]["service"], "registry");
        assert_eq!(cell(&partial, TABLE, nsh, "female"), ("3".into(), json!(3)));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statistics_are_refused_to_callers_without_them_and_bad_queries_name_the_field() {
    for_each_backend(|b| async move {
        let env = Env::start(&b).await;
        decisions(&env, STOCKHOLM, OWN, "SEX_FEMALE", 6).await;
        let q = format!("scope=national&{}", period());
        let region_q = format!("scope={STOCKHOLM}&{}", period());
        // No token.
        let r = env
            .http()
            .send(Req::get(&format!("/v1/statistics?{q}")))
            .await;
        assert_eq!(r.status, 401);
        let reached = env.reached();
        // Roles without statistics, before any region is asked.
        for token in [
            env.caseworker(OWN),
            env.token(Role::MunicipalityManager, Some(OWN), None),
            env.token(
                Role::Child,
                None,
                Some("0191d4f0-0000-7000-8000-000000000001"),
            ),
            env.token(
                Role::FamilyHome,
                None,
                Some("0191d4f0-0000-7000-8000-000000000002"),
            ),
            env.token(Role::Ombud, None, None),
            env.token(Role::Ivo, None, None),
        ] {
            for query in [&q, &region_q] {
                let r = get(&env, query, &token).await;
                assert_eq!(r.status, 403, "{}", r.text());
            }
        }
        assert_eq!(
            env.reached(),
            reached,
            "refused before any region was asked"
        );
        // The office: its own region raw, never the nation's or another's.
        let officer = env.officer();
        let own = get(&env, &format!("{region_q}&tables={TABLE}"), &officer)
            .await
            .ok();
        assert_eq!(cell(&own, TABLE, "no_suitable_home", "female").0, "6");
        assert_eq!(get(&env, &q, &officer).await.status, 403);
        assert_eq!(
            get(&env, &format!("scope={NORR}&{}", period()), &officer)
                .await
                .status,
            403
        );
        // The aggregate roles: no municipality's or county's figures.
        let council = env.token(Role::CouncilMember, None, None);
        for extra in ["municipality=0180", "county=01"] {
            let r = get(&env, &format!("{region_q}&{extra}"), &council).await;
            assert_eq!(r.status, 403, "{}", r.text());
        }
        // Bad queries name the field.
        let analyst = env.token(Role::NationalAnalyst, None, None);
        for (query, field) in [
            (format!("scope=national&to={}", day(0)), "from"),
            (format!("scope=nowhere&{}", period()), "scope"),
            (format!("{q}&tables=registry"), "tables"),
            (format!("{q}&colour=red"), "colour"),
            (
                format!("scope=national&from={}&to={}", day(0), day(10)),
                "to",
            ),
        ] {
            let r = get(&env, &query, &analyst).await;
            assert_eq!(r.status, 400, "{query}: {}", r.text());
            assert_eq!(r.json()["field"], field, "{query}");
        }
        // The OpenAPI document lists both routes.
        let doc = env.http().send(Req::get("/openapi.json")).await.ok();
        assert!(doc["paths"]["/v1/statistics"]["get"].is_object());
        assert!(doc["paths"]["/v1/statistics/{file}"]["get"].is_object());
    })
    .await;
}
