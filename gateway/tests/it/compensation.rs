//! Compensation through the gateway: finance keeps schedules and
//! agreements, a home reads its own agreement and month and nobody else's,
//! amounts in öre as JSON.

use crate::common::*;
use samling_kit::auth::Role;
use serde_json::{Value, json};

const BASE: &str = "/v1/regions/stockholm-gotland/compensation";

fn schedule() -> Value {
    let mut arvode = Vec::new();
    for (level, base) in [
        ("CARE_LEVEL_BASIC", 1_000_000),
        ("CARE_LEVEL_RAISED", 2_000_000),
        ("CARE_LEVEL_HIGH", 3_000_000),
        ("CARE_LEVEL_EXTENSIVE", 4_000_000),
    ] {
        arvode.push(json!({"level": level, "household": "HOUSEHOLD_KIND_SINGLE_ADULT", "monthly_ore": base + 200_000}));
        arvode.push(
            json!({"level": level, "household": "HOUSEHOLD_KIND_TWO_ADULTS", "monthly_ore": base}),
        );
    }
    let mut omkostnad = Vec::new();
    for (i, band) in [
        "AGE_BAND_CHILD_0_TO_6",
        "AGE_BAND_CHILD_7_TO_12",
        "AGE_BAND_YOUTH_13_TO_20",
    ]
    .iter()
    .enumerate()
    {
        for (j, zone) in [
            "COST_ZONE_BASE",
            "COST_ZONE_METRO",
            "COST_ZONE_NORTHERN_INLAND",
        ]
        .iter()
        .enumerate()
        {
            omkostnad.push(json!({"age_band": band, "zone": zone,
                "monthly_ore": 500_000 + 100_000 * i as i64 + 50_000 * j as i64}));
        }
    }
    json!({"code": "national", "effective_from": "2026-01-01", "arvode": arvode, "omkostnad": omkostnad})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finance_makes_agreements_and_a_home_reads_only_its_own() {
    for_each_backend(|b| async move {
        let env = Env::start(&b).await;
        let http = env.http();
        let officer = env.officer();
        let s = http
            .post(&format!("{BASE}/fee-schedules"), &officer, &schedule())
            .await
            .ok();
        assert_eq!(s["version"], 1, "{s}");

        let home = new_id();
        let other_home = new_id();
        let body = |home: &str| {
            json!({"placement_id": new_id(), "home_id": home, "municipality_code": "0180",
                   "schedule_code": "national", "follow_indexation": true,
                   "level": "CARE_LEVEL_RAISED", "household": "HOUSEHOLD_KIND_TWO_ADULTS",
                   "zone": "COST_ZONE_METRO", "child_birth_date": "2016-06-01",
                   "starts_on": "2026-03-17"})
        };
        let a = http
            .post(&format!("{BASE}/agreements"), &officer, &body(&home))
            .await
            .ok();
        let id = a["id"].as_str().unwrap().to_string();
        http.post(&format!("{BASE}/agreements"), &officer, &body(&other_home))
            .await
            .ok();

        // The home: its own agreement and month; another home's is 404.
        let me = env.token(Role::FamilyHome, None, Some(&home));
        let got = http.get(&format!("{BASE}/agreements/{id}"), &me).await.ok();
        assert_eq!(got["home_id"], home.as_str(), "{got}");
        let q = http
            .get(
                &format!("{BASE}/agreements/{id}/quote?year=2026&month=3"),
                &me,
            )
            .await
            .ok();
        assert_eq!(q["paid_days"], 15, "{q}");
        // int64 is a JSON string in the proto3 mapping.
        assert_eq!(q["total_ore"], "1282258", "{q}");
        let stranger = env.token(Role::FamilyHome, None, Some(&other_home));
        http.get(&format!("{BASE}/agreements/{id}"), &stranger)
            .await
            .problem(404, "NOT_FOUND");
        let mine = http.get(&format!("{BASE}/agreements"), &me).await.ok();
        assert_eq!(mine["agreements"].as_array().unwrap().len(), 1, "{mine}");

        // A home may not write; an ombud may not read agreements.
        http.post(&format!("{BASE}/agreements"), &me, &body(&home))
            .await
            .refusal(403, "FORBIDDEN_ROLE");
        let ombud = env.token(Role::Ombud, None, None);
        http.get(&format!("{BASE}/agreements/{id}"), &ombud)
            .await
            .refusal(403, "FORBIDDEN_ROLE");
        // A month's run: the placement as the registry's feed shows it.
        let region = env.region(STOCKHOLM);
        let placement = a["placement_id"].as_str().unwrap().to_string();
        let mut tx = region.compensation.store.begin_write().await.unwrap();
        region
            .compensation
            .apply_registry_event(
                &mut tx,
                &samling_proto::common::v1::Event {
                    seq: 1,
                    id: "ev-1".into(),
                    event_type: "registry.placement_created".into(),
                    aggregate_type: "placement".into(),
                    aggregate_id: placement.clone(),
                    occurred_at: "2026-03-20T08:00:00Z".into(),
                    payload_json: json!({"placement_id": placement, "home_id": home,
                                         "start_date": "2026-03-20"})
                    .to_string(),
                },
            )
            .await
            .unwrap();
        tx.commit(&region.compensation.feed).await.unwrap();
        let run = http
            .post(
                &format!("{BASE}/payment-runs"),
                &officer,
                &json!({"year": 2026, "month": 3, "execution_date": "2026-03-25"}),
            )
            .await
            .ok();
        let run_id = run["id"].as_str().unwrap().to_string();
        let st = http
            .get(
                &format!("{BASE}/payment-runs/{run_id}/statements/{home}"),
                &me,
            )
            .await
            .ok();
        assert_eq!(st["gross_ore"], "1282258", "{st}");
        // Another home's statement: refused at the door (its id in the path).
        http.get(
            &format!("{BASE}/payment-runs/{run_id}/statements/{home}"),
            &stranger,
        )
        .await
        .refusal(403, "NOT_OWN_RECORD");
        // The home cannot see the run; the same officer cannot approve it.
        http.get(&format!("{BASE}/payment-runs/{run_id}"), &me)
            .await
            .refusal(403, "FORBIDDEN_ROLE");
        http.post(
            &format!("{BASE}/payment-runs/{run_id}/approval"),
            &officer,
            &json!({}),
        )
        .await
        .refusal(403, "FORBIDDEN");

        // Bad input names the field.
        let mut bad = body(&home);
        bad["child_birth_date"] = json!("2027-01-01");
        let p = http
            .post(&format!("{BASE}/agreements"), &officer, &bad)
            .await
            .problem(400, "INVALID_ARGUMENT");
        assert_eq!(p["field"], "child_birth_date", "{p}");
    })
    .await;
}

/// The state grant ledger through the door (ADR 0048): a municipality reads
/// its own grant history and is refused another's, at the door and by the
/// service; finance imports; a municipality's staff requisition their own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_municipality_reads_its_own_grant_history_and_not_anothers() {
    for_each_backend(|b| async move {
        let env = Env::start(&b).await;
        let http = env.http();
        let officer = env.officer();
        let imported = http
            .post(
                &format!("{BASE}/state-grants/imports"),
                &officer,
                &json!({"request_id": "grants-1",
                        "available": [{"year": 2021, "available_kr": "1400000"}],
                        "granted": [
                            {"year": 2021, "municipality_code": "1440", "granted_kr": "556745"},
                            {"year": 2021, "municipality_code": "1489", "granted_kr": "744518"}],
                        "unused": [{"from_year": 2021, "to_year": 2023,
                                    "municipality_code": "1440", "unused_kr": "151810"}]}),
            )
            .await
            .ok();
        assert_eq!(imported["years"][0]["granted_kr"], "1301263", "{imported}");

        let ale = env.token(Role::MunicipalityManager, Some("1440"), None);
        let h = http
            .get(&format!("{BASE}/state-grants/municipalities/1440"), &ale)
            .await
            .ok();
        assert_eq!(h["municipality_name"], "Ale", "{h}");
        assert_eq!(h["years"][0]["granted_kr"], "556745", "{h}");
        assert_eq!(h["unused_periods"][0]["unused_kr"], "151810", "{h}");
        // Alingsås's history: refused at the door (the code is in the path).
        http.get(&format!("{BASE}/state-grants/municipalities/1489"), &ale)
            .await
            .refusal(403, "NOT_OWN_MUNICIPALITY");
        // Nor may Ale requisition for Alingsås, or import.
        http.post(
            &format!("{BASE}/state-grants/municipalities/1489/requisitions"),
            &ale,
            &json!({"request_id": "r-1", "year": 2021}),
        )
        .await
        .refusal(403, "NOT_OWN_MUNICIPALITY");
        http.post(
            &format!("{BASE}/state-grants/imports"),
            &ale,
            &json!({"request_id": "grants-2", "granted": []}),
        )
        .await
        .refusal(403, "FORBIDDEN_ROLE");
        // A family home reads no grant history; an analyst reads the report.
        let home = env.token(Role::FamilyHome, None, Some(&new_id()));
        http.get(&format!("{BASE}/state-grants/municipalities/1440"), &home)
            .await
            .refusal(403, "FORBIDDEN_ROLE");
        let analyst = env.token(Role::NationalAnalyst, None, None);
        let r = http
            .get(&format!("{BASE}/state-grants/report?year=2021"), &analyst)
            .await
            .ok();
        assert_eq!(r["years"][0]["difference_kr"], "-98737", "{r}");
        assert_eq!(
            r["years"][0]["flags"][0], "granted_differs_from_available",
            "{r}"
        );
    })
    .await;
}

/// The cost calculator and cost transparency through the gateway (ADR 0049):
/// seed 004's figures for a caseworker, a child refused at the door, a
/// price split on a placement the registry's feed has shown, and the
/// analyst's suppressed comparison.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn costs_are_calculated_for_staff_and_prices_compared() {
    for_each_backend(|b| async move {
        let env = Env::start(&b).await;
        let http = env.http();
        let cw = env.token(Role::MunicipalityCaseworker, Some("0180"), None);
        let body = json!({
            "scenarios": [
                {"label": "förhindrade", "kind": "SCENARIO_KIND_PREVENTED", "cost_per_day_ore": 374900, "months": 6, "persons": 9},
                {"label": "förkortade", "kind": "SCENARIO_KIND_SHORTENED", "cost_per_day_ore": 374900, "months": 3, "persons": 4}
            ],
            "team_costs": [{"label": "teamet", "amount_ore": 450000000}]
        });
        let c = http
            .post(&format!("{BASE}/cost-calculations"), &cw, &body)
            .await
            .ok();
        // 7 546 737 kr of placements, ca 3 mnkr saved (seed 004).
        assert_eq!(c["placement_costs_ore"], "754673700", "{c}");
        assert_eq!(c["savings_ore"], "304673700", "{c}");
        assert_eq!(c["days_per_month_tenths"], 305, "{c}");
        let child = env.token(Role::Child, None, Some(&new_id()));
        http.post(&format!("{BASE}/cost-calculations"), &child, &body)
            .await
            .refusal(403, "FORBIDDEN_ROLE");

        // A placement the registry's feed has shown, placed by 0180.
        let region = env.region(STOCKHOLM);
        let placement = new_id();
        let mut tx = region.compensation.store.begin_write().await.unwrap();
        region
            .compensation
            .apply_registry_event(
                &mut tx,
                &samling_proto::common::v1::Event {
                    seq: 1,
                    id: "ev-1".into(),
                    event_type: "registry.placement_created".into(),
                    aggregate_type: "placement".into(),
                    aggregate_id: placement.clone(),
                    occurred_at: "2026-03-20T08:00:00Z".into(),
                    payload_json: json!({"placement_id": placement, "home_id": new_id(),
                                         "placing_municipality_code": "0180",
                                         "start_date": "2026-03-20"})
                    .to_string(),
                },
            )
            .await
            .unwrap();
        tx.commit(&region.compensation.feed).await.unwrap();
        let split = json!({"agency_id": new_id(), "home_type": "HOME_TYPE_EMERGENCY_HOME",
                           "split": {"fee_per_day_ore": 100000, "expenses_per_day_ore": 40000,
                                     "administration_per_day_ore": 150000, "add_ons_per_day_ore": 0}});
        let path = format!("{BASE}/placements/{placement}/price-split");
        let r = http
            .send(
                samling_testkit::http::Req::new("PUT", &path)
                    .bearer(&cw)
                    .json(&split),
            )
            .await
            .ok();
        assert_eq!(r["total_per_day_ore"], "290000", "{r}");
        assert_eq!(r["municipality_code"], "0180", "{r}");
        let other = env.token(Role::MunicipalityCaseworker, Some("0184"), None);
        http.get(&path, &other).await.problem(404, "NOT_FOUND");
        let analyst = env.token(Role::NationalAnalyst, None, None);
        let cmp = http
            .get(&format!("{BASE}/price-comparison"), &analyst)
            .await
            .ok();
        assert_eq!(cmp["cells"][0]["placements_display"], "<5", "{cmp}");
        // Fewer than 5 placements: no averages (false is left out of the JSON).
        assert_ne!(cmp["cells"][0]["averages_shown"], true, "{cmp}");
        assert!(cmp["cells"][0].get("average").is_none(), "{cmp}");
        let home = env.token(Role::FamilyHome, None, Some(&new_id()));
        http.get(&format!("{BASE}/price-comparison"), &home)
            .await
            .refusal(403, "FORBIDDEN_ROLE");
    })
    .await;
}
