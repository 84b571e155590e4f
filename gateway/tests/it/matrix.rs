//! The authorization matrix: every route of the route table × every role ×
//! (own, other) municipality for municipal roles and (own, other) party for
//! homes and children, through one gateway in front of real registries.
//!
//! What the door (the gateway) must do, per route spec:
//! * a role not in `spec.roles` → 403 PERMISSION_DENIED, and the request
//!   never reaches a region;
//! * a municipal role naming another municipality in an `own_municipality`
//!   field → 403, never reaching a region;
//! * `family_home`/`child` whose party is not the path's `party_param` → 403,
//!   never reaching a region;
//! * every other combination passes the door: it reaches the region, and the
//!   answer is the service's (2xx, 400, 404 or 409 — the dummy ids exist
//!   nowhere), never 401/403 and never 5xx.
//!
//! `cargo test -p samling-gateway --test it matrix:: -- --nocapture` prints the table.

use crate::common;

use common::*;
use samling_gateway::routes::{self, Carry, RouteSpec};
use samling_kit::auth::Role;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::time::Instant;

/// Which side of a rule a request is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    /// No municipality or party rule applies.
    Plain,
    OwnMunicipality,
    OtherMunicipality,
    OwnParty,
    OtherParty,
}

impl Case {
    /// The cases to try for `role` on `spec`.
    fn for_route(spec: &RouteSpec, role: Role) -> Vec<Case> {
        if role.is_municipal() {
            if spec.own_municipality.is_empty() {
                vec![Case::OwnMunicipality]
            } else {
                vec![Case::OwnMunicipality, Case::OtherMunicipality]
            }
        } else if matches!(role, Role::FamilyHome | Role::Child | Role::UnitStaff)
            && spec.party_param.is_some()
        {
            vec![Case::OwnParty, Case::OtherParty]
        } else {
            vec![Case::Plain]
        }
    }

    /// The municipality put in the route's municipality fields.
    fn municipality(self) -> &'static str {
        if self == Case::OtherMunicipality {
            OTHER
        } else {
            OWN
        }
    }
}

/// What the door must do with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Door {
    Denies,
    Passes,
}

fn door(spec: &RouteSpec, role: Role, case: Case) -> Door {
    // A public route ignores who calls: everyone passes as the public caller.
    if spec.is_public() {
        return Door::Passes;
    }
    if !spec.allows(role) || matches!(case, Case::OtherMunicipality | Case::OtherParty) {
        Door::Denies
    } else {
        Door::Passes
    }
}

/// Short column names for the summary.
fn abbrev(role: Role) -> &'static str {
    match role {
        Role::MunicipalityCaseworker => "casewrk",
        Role::MunicipalityManager => "manager",
        Role::RegionalOfficer => "officer",
        Role::NationalAnalyst => "analyst",
        Role::Ombud => "ombud",
        Role::FamilyHome => "home",
        Role::Child => "child",
        Role::CouncilMember => "council",
        Role::Service => "service",
        Role::NationalReviewer => "reviewer",
        Role::Ivo => "ivo",
        Role::HealthStaff => "health",
        Role::SchoolStaff => "school",
        Role::Guardian => "guardian",
        Role::UnitStaff => "unit",
    }
}

/// The request for `spec` in `case`: path parameters filled (region = a
/// served region, ids = `ids`, municipality = own or other), and the
/// route's own-municipality fields set in the query or body.
fn request(spec: &RouteSpec, case: Case, ids: &BTreeMap<&'static str, String>) -> Req {
    let municipality = case.municipality();
    let params = spec.path_params();
    let mut path = spec.path.to_string();
    for p in &params {
        let value = match *p {
            "region" => STOCKHOLM.to_string(),
            "municipality_code" => municipality.to_string(),
            other => ids[other].clone(),
        };
        path = path.replace(&format!("{{{p}}}"), &value);
    }
    let fields: Vec<&str> = spec
        .own_municipality
        .iter()
        .copied()
        .filter(|f| !params.contains(f))
        .collect();
    match spec.carry {
        Carry::Query => {
            // A query's municipality is a filter: callers of no municipality
            // (the office, the aggregate roles) ask without one.
            let query: Vec<String> = fields
                .iter()
                .filter(|_| case != Case::Plain)
                .map(|f| format!("{f}={municipality}"))
                .collect();
            if !query.is_empty() {
                path = format!("{path}?{}", query.join("&"));
            }
            Req::new(spec.method, &path)
        }
        Carry::Body => {
            let body: Map<String, Value> = fields
                .iter()
                .map(|f| (f.to_string(), Value::String(municipality.to_string())))
                .collect();
            Req::new(spec.method, &path).json(&Value::Object(body))
        }
    }
}

/// The caller's token for `role` in `case`.
fn token(
    env: &Env,
    spec: &RouteSpec,
    role: Role,
    case: Case,
    ids: &BTreeMap<&'static str, String>,
) -> String {
    match role {
        Role::MunicipalityCaseworker | Role::MunicipalityManager => {
            env.token(role, Some(OWN), None)
        }
        Role::FamilyHome | Role::Child | Role::UnitStaff => {
            let party = match (case, spec.party_param) {
                (Case::OwnParty, Some(p)) => ids[p].clone(),
                _ => new_id(),
            };
            env.token(role, None, Some(&party))
        }
        Role::Guardian | Role::HealthStaff | Role::SchoolStaff => {
            env.token(role, None, Some(&new_id()))
        }
        _ => env.token(role, None, None),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_admits_exactly_its_roles_and_municipalities_and_parties() {
    for_each_backend(|b| async move {
        let env = Env::start(&b).await;
        let started = Instant::now();
        let mut failures = Vec::new();
        let mut rows = Vec::new();
        let mut requests = 0usize;
        for spec in routes::all() {
            let ids: BTreeMap<&'static str, String> = spec
                .path_params()
                .into_iter()
                .filter(|p| !matches!(*p, "region" | "municipality_code"))
                .map(|p| (p, new_id()))
                .collect();
            let mut cells = Vec::new();
            for role in Role::ALL {
                let mut cell = Vec::new();
                for case in Case::for_route(spec, role) {
                    let req = request(spec, case, &ids).bearer(&token(&env, spec, role, case, &ids));
                    let what = format!("{} {} as {} ({case:?})", spec.method, req.path, role.as_str());
                    let before = env.reached();
                    let r = env.http().send(req).await;
                    let reached = env.reached() > before;
                    requests += 1;
                    let code = r.json().get("code").and_then(Value::as_str).unwrap_or("").to_string();
                    let reason = r.json().get("reason").and_then(Value::as_str).unwrap_or("").to_string();
                    match door(spec, role, case) {
                        Door::Denies => {
                            // Why, in the documented reason: the role first.
                            let why = if !spec.allows(role) {
                                "FORBIDDEN_ROLE"
                            } else if case == Case::OtherMunicipality {
                                "NOT_OWN_MUNICIPALITY"
                            } else {
                                "NOT_OWN_RECORD"
                            };
                            if r.status != 403 || code != "PERMISSION_DENIED" || reason != why {
                                failures.push(format!("{what}: the door must deny (403 {why}), got {} {}", r.status, r.text()));
                            } else if reached {
                                failures.push(format!("{what}: denied, but the request reached a region"));
                            }
                        }
                        Door::Passes => {
                            if matches!(r.status, 401 | 403) || r.status >= 500 || !reached {
                                failures.push(format!(
                                    "{what}: must pass the door to the service, got {} (reached a region: {reached}) {}",
                                    r.status,
                                    r.text()
                                ));
                            }
                        }
                    }
                    if r.status == 403 && r.header("content-type") != Some("application/problem+json") {
                        failures.push(format!("{what}: 403 without problem+json"));
                    }
                    cell.push(r.status.to_string());
                }
                cells.push(cell.join("/"));
            }
            rows.push((format!("{} {}", spec.method, spec.path), cells));
        }
        print_table(&b.name, &rows);
        println!(
            "[{}] {} routes, {requests} requests in {:?}",
            b.name,
            rows.len(),
            started.elapsed()
        );
        assert!(failures.is_empty(), "{} of {requests} requests broke the rules:\n{}", failures.len(), failures.join("\n"));
    })
    .await;
}

fn print_table(backend: &str, rows: &[(String, Vec<String>)]) {
    let width = rows.iter().map(|(r, _)| r.len()).max().unwrap_or(10);
    let cols: Vec<&str> = Role::ALL.iter().map(|r| abbrev(*r)).collect();
    println!(
        "\n[{backend}] status per route × role (municipal roles: own/other municipality; home/child: own/other party)"
    );
    let mut header = format!("{:width$}", "route");
    for c in &cols {
        header.push_str(&format!(" {c:>8}"));
    }
    println!("{header}");
    for (route, cells) in rows {
        let mut line = format!("{route:width$}");
        for c in cells {
            line.push_str(&format!(" {c:>8}"));
        }
        println!("{line}");
    }
}

#[test]
fn the_route_table_is_consistent_with_itself() {
    let mut seen = std::collections::BTreeSet::new();
    for spec in routes::all() {
        assert!(
            seen.insert((spec.method, spec.path)),
            "{} {} twice",
            spec.method,
            spec.path
        );
        // Roles are empty exactly for the public routes (no login).
        assert_eq!(
            spec.roles.is_empty(),
            spec.is_public(),
            "{}: nobody may call it",
            spec.operation_id
        );
        if let Some(p) = spec.party_param {
            assert!(
                spec.path_params().contains(&p),
                "{}: party {p} is not a path parameter",
                spec.operation_id
            );
        }
        assert_eq!(
            spec.national,
            !spec.path.starts_with("/v1/regions/{region}"),
            "{}",
            spec.path
        );
        assert_eq!(
            spec.mutating(),
            spec.carry == Carry::Body || spec.method == "DELETE",
            "{}",
            spec.operation_id
        );
    }
}

/// A token of `role` bound to `region` (the claim the register checks).
fn regional_token(env: &Env, role: Role, region: Option<&str>) -> String {
    env.issuer
        .issue(samling_gateway::auth::IssueClaims {
            sub: format!("{}-{}", role.as_str(), region.unwrap_or("none")),
            role,
            municipality: None,
            party: None,
            region: region.map(str::to_string),
            ttl: std::time::Duration::from_secs(3600),
        })
        .expect("issue a token")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_region_binds_its_officers_and_a_protected_home_is_redacted_through_the_door() {
    for_each_backend(|b| async move {
        let env = Env::start(&b).await;
        let mut draft = home_draft("0160", "Hemliga vägen 9", &adult(301), &["trauma"]);
        draft["protected_identity"] = Value::Bool(true);
        let id = env.create_home_id(STOCKHOLM, draft).await;
        let path = format!("/v1/regions/{STOCKHOLM}/homes/{id}");

        // The region claim binds a regional officer to its own register; the
        // door lets it through, the register refuses (defence in depth).
        for claim in ["norr", "atlantis"] {
            let before = env.reached();
            let r = env
                .http()
                .get(
                    &path,
                    &regional_token(&env, Role::RegionalOfficer, Some(claim)),
                )
                .await;
            // The service's reason, forwarded.
            r.refusal(403, "OUT_OF_REGION");
            assert!(env.reached() > before, "the register decides");
            assert!(!r.text().contains("Hemliga"), "{}", r.text());
        }
        // An officer's token without a region claim is refused at the door
        // (crafted: the dev issuer will not sign one).
        let mut claims = env.claims();
        claims.remove("region");
        let before = env.reached();
        let r = env
            .http()
            .get(
                &path,
                &env.sign_raw(&json!({"alg": "EdDSA", "typ": "JWT"}), &claims),
            )
            .await;
        assert_eq!(r.status, 401, "{}", r.text());
        assert!(r.text().contains("region"), "{}", r.text());
        assert_eq!(env.reached(), before, "refused before any region is asked");
        let own = env
            .http()
            .get(
                &path,
                &regional_token(&env, Role::RegionalOfficer, Some(STOCKHOLM)),
            )
            .await
            .ok();
        // The office's ordinary read withholds the address; its explicit,
        // audited reveal (POST, the reason in the body) gives it.
        assert!(own.get("address").is_none(), "{own}");
        assert_eq!(own["municipality_code"], "0160", "{own}");
        let reveal = format!("{path}/protected-address/reveal");
        let officer = regional_token(&env, Role::RegionalOfficer, Some(STOCKHOLM));
        for reason in ["planned visit", "a second visit"] {
            // An Idempotency-Key is ignored here: the answer is never stored
            // outside the register (else the second reason would be 422).
            let r = env
                .http()
                .send(
                    Req::post(&reveal)
                        .bearer(&officer)
                        .header("Idempotency-Key", "reveal-1")
                        .json(&json!({ "reason": reason })),
                )
                .await;
            assert_eq!(r.ok()["address"]["street"], "Hemliga vägen 9");
        }
        let r = env
            .http()
            .post(&reveal, &officer, &json!({ "reason": "" }))
            .await;
        assert_eq!(r.status, 400, "{}", r.text());
        assert!(r.text().contains("reason"), "{}", r.text());
        for token in [
            env.caseworker(OWN),
            regional_token(&env, Role::NationalAnalyst, None),
        ] {
            let r = env
                .http()
                .post(&reveal, &token, &json!({ "reason": "curious" }))
                .await;
            assert_eq!(r.status, 403, "{}", r.text());
        }

        // A municipality sees no address, location or household of it.
        for token in [
            env.caseworker(OWN),
            env.token(Role::MunicipalityManager, Some(OTHER), None),
            env.token(Role::Ombud, None, None),
        ] {
            let home = env.http().get(&path, &token).await.ok();
            let text = home.to_string();
            assert!(
                !text.contains("Hemliga") && !text.contains("0160") && !text.contains(STOCKHOLM),
                "{text}"
            );
            assert_eq!(home["personal_data_redacted"], true, "{home}");
        }
        // National search: the home is there, its location is not.
        let found = env
            .http()
            .get(
                "/v1/homes?include_overdue=true&include_unplaceable=true",
                &env.caseworker(OWN),
            )
            .await
            .ok()
            .to_string();
        assert!(found.contains(&id) && !found.contains("0160"), "{found}");

        // The aggregate-only roles get no individual homes.
        for role in [Role::NationalAnalyst, Role::CouncilMember] {
            let r = env
                .http()
                .get("/v1/homes", &regional_token(&env, role, None))
                .await;
            assert_eq!(r.status, 403, "{}: {}", role.as_str(), r.text());
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aggregate_roles_get_the_national_sum_suppressed_after_adding_up_and_no_small_count_from_a_region()
 {
    for_each_backend(|b| async move {
        let env = Env::start(&b).await;
        let today = chrono::Utc::now().date_naive();
        let decided = today - chrono::Days::new(200);
        let (year, quarter) = (
            chrono::Datelike::year(&today),
            chrono::Datelike::month0(&today) / 3 + 1,
        );
        // Stockholm: 3 girls, 2 boys; Norr: 3 girls, 3 boys, all waiting for
        // a home. Every regional figure is small, the national ones are not.
        for (region, municipality, girls, boys) in [(STOCKHOLM, OWN, 3, 2), (NORR, UMEA, 3, 3)] {
            let token = env.caseworker(municipality);
            for (sex, n) in [("SEX_FEMALE", girls), ("SEX_MALE", boys)] {
                for _ in 0..n {
                    env.http()
                        .post(
                            &format!("/v1/regions/{region}/unexecuted-decisions"),
                            &token,
                            &json!({
                                "municipality_code": municipality,
                                "sex": sex,
                                "decision_kind": "DECISION_KIND_FAMILY_HOME_PLACEMENT",
                                "decision_date": decided.format("%Y-%m-%d").to_string(),
                                "reason": "UNEXECUTED_REASON_NO_SUITABLE_HOME",
                            }),
                        )
                        .await
                        .ok();
                }
            }
        }
        let query = format!("year={year}&quarter={quarter}");
        let cells = |doc: &Value| -> Vec<(String, String, Value)> {
            doc["rows"]
                .as_array()
                .expect("rows")
                .iter()
                .map(|r| {
                    (
                        r["sex"].as_str().unwrap_or("").to_string(),
                        r["not_executed_display"].as_str().unwrap_or("").to_string(),
                        r["not_executed"].clone(),
                    )
                })
                .collect()
        };
        for role in [Role::NationalAnalyst, Role::CouncilMember] {
            let token = regional_token(&env, role, None);
            // Summed from the regions' raw counts (6 girls, 5 boys), then
            // suppressed: every region shows its counts as "<5", so national
            // 6 and 5 beside them are hidden too (else a region shown with
            // a count would let national minus it give the other away); the
            // total 11 pins neither (each hidden figure is at least 5).
            let doc = env
                .http()
                .get(
                    &format!("/v1/statistics/unexecuted-decisions?{query}"),
                    &token,
                )
                .await
                .ok();
            let report = &doc["report"];
            assert_eq!(report["small_counts_suppressed"], true, "{doc}");
            let national = cells(report);
            assert_eq!(
                national
                    .iter()
                    .map(|(sex, display, _)| (sex.as_str(), display.as_str()))
                    .collect::<Vec<_>>(),
                vec![("SEX_FEMALE", ".."), ("SEX_MALE", "..")],
                "{doc}"
            );
            for (_, _, number) in &national {
                assert!(number.is_null() || *number == json!(0), "{doc}");
            }
            assert_eq!(report["total_not_executed_display"], "11", "{doc}");
            // Nor one municipality's figures, nationally or from a region.
            env.http()
                .send(
                    Req::get(&format!(
                        "/v1/statistics/unexecuted-decisions?{query}&municipality_code={OWN}"
                    ))
                    .bearer(&token),
                )
                .await
                .refusal(403, "FORBIDDEN_ROLE");
            env.http()
                .send(
                    Req::get(&format!(
                        "/v1/regions/{STOCKHOLM}/unexecuted-decisions/quarterly-report?{query}&municipality_code={OWN}"
                    ))
                    .bearer(&token),
                )
                .await
                .problem(403, "PERMISSION_DENIED");
            // Asking a region directly gives no raw count below 5.
            for region in [STOCKHOLM, NORR] {
                let r = env
                    .http()
                    .get(
                        &format!(
                            "/v1/regions/{region}/unexecuted-decisions/quarterly-report?{query}"
                        ),
                        &token,
                    )
                    .await
                    .ok();
                let text = r.to_string();
                assert_eq!(r["small_counts_suppressed"], true, "{text}");
                for (_, display, number) in cells(&r) {
                    assert_eq!(display, "<5", "{region}: {text}");
                    // A hidden count's number is 0 (proto3 JSON omits it or says 0).
                    assert!(number.is_null() || number == json!(0), "{region}: {text}");
                }
            }
        }
        // The office of a region gets its raw counts.
        let r = env
            .http()
            .get(
                &format!("/v1/regions/{STOCKHOLM}/unexecuted-decisions/quarterly-report?{query}"),
                &env.officer(),
            )
            .await
            .ok();
        assert_eq!(
            cells(&r),
            vec![
                ("SEX_FEMALE".to_string(), "3".to_string(), json!(3)),
                ("SEX_MALE".to_string(), "2".to_string(), json!(2)),
            ],
            "{r}"
        );
    })
    .await;
}
