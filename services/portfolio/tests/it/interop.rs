//! Interop (issue 22 §7): the health section as an HL7 FHIR R4 IPS-style
//! document Bundle (structure checked here, and validated by the PyPI
//! package `fhir.resources`), and school data imported from an SS 12000-style
//! JSON document, all or nothing, a bad field named by its JSON path.

use crate::common::*;
use samling_kit::auth::{AuthContext, Role};
use samling_portfolio::domain::fhir;
use samling_proto::portfolio::v1::*;
use samling_testkit::people::personnummer;
use serde_json::{Value, json};

const HEALTH_UNIT: &str = "vc-norrtalje";
const SCHOOL_UNIT: &str = "skola-1";
const CARE_UNIT: &str = "Barnhälsovården Norrtälje";

/// A placed child (born 2012-01-01, so 14 today) with its units named and
/// a health section written by the caseworker; returns (child, home).
async fn child_with_health(h: &mut Harness, protected: bool) -> (String, String) {
    let (child, placement, home) = (new_id(), new_id(), new_id());
    register_child(h, &child, "2012-01-01", protected);
    if protected {
        register_placement(h, &placement, &child, &home, "2026-11-01");
    }
    h.publish(vec![created(
        &placement,
        &child,
        &home,
        "2026-11-01",
        protected,
    )])
    .await;
    let mut cw = h.client(caseworker(STOCKHOLM)).await;
    rpc!(
        cw,
        set_relations,
        SetRelationsRequest {
            request_id: new_id(),
            child_id: child.clone(),
            relations: Some(Relations {
                ombud_subjects: vec![ombud().sub],
                health_units: vec![HEALTH_UNIT.into()],
                school_units: vec![SCHOOL_UNIT.into()],
                ..Default::default()
            }),
        }
    )
    .unwrap();
    rpc!(
        cw,
        update_section,
        UpdateSectionRequest {
            request_id: new_id(),
            child_id: child.clone(),
            expected_version: 0,
            section: Some(update_section_request::Section::Health(Health {
                examination: Some(HealthExamination {
                    examined_on: date(2026, 11, 10),
                    physical: true,
                    psychological: true,
                    oral: false,
                    care_unit: CARE_UNIT.into(),
                }),
                referrals: vec![Referral {
                    kind: ReferralKind::Bup as i32,
                    referred_on: date(2026, 9, 1),
                    note: "Sömnsvårigheter".into(),
                    ..Default::default()
                }],
                medications: vec![Medication {
                    name: "Melatonin".into(),
                    dosage: "2 mg till natten".into(),
                }],
                allergies: vec!["Jordnötter".into()],
                vaccinations: vec![Vaccination {
                    name: "MPR".into(),
                    given_on: date(2013, 6, 1),
                }],
                ..Default::default()
            })),
        }
    )
    .unwrap();
    (child, home)
}

async fn export(h: &Harness, ctx: AuthContext, child: &str) -> Result<FhirDocument, tonic::Status> {
    let mut c = h.client(ctx).await;
    rpc!(
        c,
        export_health_fhir,
        ExportHealthFhirRequest {
            child_id: child.to_string()
        }
    )
}

/// The structure of an IPS-style document: a Bundle of type document, a
/// Composition first (60591-5) with the required sections, the Patient
/// named by the child id only, every reference resolving to an entry.
fn check_structure(bundle: &Value, child: &str) {
    assert_eq!(bundle["resourceType"], "Bundle");
    assert_eq!(bundle["type"], "document");
    assert!(bundle["timestamp"].is_string() && bundle["identifier"]["value"].is_string());
    let entries = bundle["entry"].as_array().expect("entries");
    let composition = &entries[0]["resource"];
    assert_eq!(
        composition["resourceType"], "Composition",
        "Composition first"
    );
    assert_eq!(composition["type"]["coding"][0]["system"], fhir::LOINC);
    assert_eq!(composition["type"]["coding"][0]["code"], "60591-5");
    let codes: Vec<&str> = composition["section"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["code"]["coding"][0]["code"].as_str().unwrap())
        .collect();
    for required in [
        "11450-4", "48765-2", "10160-0", "11369-6", "47519-4", "18776-5",
    ] {
        assert!(codes.contains(&required), "section {required} in {codes:?}");
    }
    let urls: Vec<&str> = entries
        .iter()
        .map(|e| e["fullUrl"].as_str().expect("fullUrl"))
        .collect();
    assert!(urls.iter().all(|u| u.starts_with("urn:uuid:")), "{urls:?}");
    let refs = fhir::references(bundle);
    assert!(!refs.is_empty());
    for r in &refs {
        assert!(urls.contains(&r.as_str()), "reference {r} does not resolve");
    }
    let patient = entries
        .iter()
        .map(|e| &e["resource"])
        .find(|r| r["resourceType"] == "Patient")
        .expect("a Patient");
    let patient_url = entries
        .iter()
        .find(|e| e["resource"]["resourceType"] == "Patient")
        .map(|e| e["fullUrl"].clone())
        .unwrap();
    assert_eq!(composition["subject"]["reference"], patient_url);
    assert_eq!(
        patient["identifier"],
        json!([{"system": fhir::CHILD_ID_SYSTEM, "value": child}])
    );
    assert!(patient.get("name").is_none() && patient.get("address").is_none());
}

fn resources_of<'a>(bundle: &'a Value, kind: &str) -> Vec<&'a Value> {
    bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .filter(|r| r["resourceType"] == kind)
        .collect()
}

#[tokio::test]
async fn the_health_export_is_an_ips_document_for_every_role_that_reads_health() {
    for mut h in harnesses().await {
        let bk = h.backend;
        let (child, home) = child_with_health(&mut h, false).await;
        for ctx in [
            caseworker(STOCKHOLM),
            manager(STOCKHOLM),
            office(),
            service(),
            family_home(&home),
            health_staff(HEALTH_UNIT),
            ombud(),
            guardian(&child),
            child_ctx(&child),
        ] {
            let role = ctx.role;
            let doc = export(&h, ctx, &child)
                .await
                .unwrap_or_else(|e| panic!("[{bk}] {role:?}: {e}"));
            assert_eq!(doc.media_type, "application/fhir+json", "[{bk}]");
            assert_eq!(doc.child_id, child, "[{bk}]");
            let bundle: Value = serde_json::from_str(&doc.bundle_json).unwrap();
            check_structure(&bundle, &child);
            // The health section's content, each in its IPS resource.
            let text = bundle.to_string();
            assert_eq!(
                resources_of(&bundle, "AllergyIntolerance").len(),
                1,
                "[{bk}]"
            );
            assert_eq!(
                resources_of(&bundle, "MedicationStatement")[0]["dosage"][0]["text"],
                "2 mg till natten"
            );
            assert_eq!(
                resources_of(&bundle, "Immunization")[0]["occurrenceDateTime"],
                "2013-06-01"
            );
            let bup = resources_of(&bundle, "ServiceRequest")[0];
            assert_eq!(bup["status"], "active", "[{bk}] still waiting");
            // Referred 2026-09-01, today 2026-12-01: 91 days waiting.
            assert!(text.contains("waiting for 91 days"), "[{bk}] {text}");
            let exam = resources_of(&bundle, "Procedure")[0];
            assert_eq!(exam["performedDateTime"], "2026-11-10");
            assert!(
                exam["code"]["text"]
                    .as_str()
                    .unwrap()
                    .ends_with("physical, psychological"),
                "[{bk}] {exam}"
            );
            assert!(
                text.contains(CARE_UNIT),
                "[{bk}] not protected: the unit is shown"
            );
        }
    }
}

#[tokio::test]
async fn the_health_export_is_refused_to_those_who_may_not_read_health() {
    for mut h in harnesses().await {
        let bk = h.backend;
        let (child, _) = child_with_health(&mut h, false).await;
        // School staff never read health (the unit is named for school).
        let e = export(&h, school_staff(SCHOOL_UNIT), &child)
            .await
            .unwrap_err();
        assert_eq!(e.code(), tonic::Code::PermissionDenied, "[{bk}] {e}");
        // Strangers are told "not found": another home, municipality, unit.
        for ctx in [
            family_home(&new_id()),
            caseworker(SOLNA),
            health_staff("vc-annan"),
            AuthContext::new("guardian-2", Role::Guardian).with_party(new_id()),
        ] {
            let e = export(&h, ctx, &child).await.unwrap_err();
            assert_eq!(e.code(), tonic::Code::NotFound, "[{bk}] {e}");
        }
        // Aggregate roles never.
        let e = export(&h, analyst(), &child).await.unwrap_err();
        assert_eq!(e.code(), tonic::Code::PermissionDenied, "[{bk}] {e}");
        // A birth parent, once the caseworker seals health from guardians.
        let mut cw = h.client(caseworker(STOCKHOLM)).await;
        rpc!(
            cw,
            set_relations,
            SetRelationsRequest {
                request_id: new_id(),
                child_id: child.clone(),
                relations: Some(Relations {
                    health_units: vec![HEALTH_UNIT.into()],
                    school_units: vec![SCHOOL_UNIT.into()],
                    sealed_sections: vec![Section::Health as i32],
                    ..Default::default()
                }),
            }
        )
        .unwrap();
        let e = export(&h, guardian(&child), &child).await.unwrap_err();
        assert_eq!(e.code(), tonic::Code::PermissionDenied, "[{bk}] {e}");
        // Refusals log no read of health.
        let mut cw = h.client(caseworker(STOCKHOLM)).await;
        let log = rpc!(
            cw,
            list_access_log,
            ListAccessLogRequest {
                child_id: child.clone(),
                page: None
            }
        )
        .unwrap();
        assert!(
            !log.entries.iter().any(|e| e.section == "health_fhir"),
            "[{bk}] {:?}",
            log.entries
        );
        let e = export(&h, caseworker(STOCKHOLM), "not-an-id")
            .await
            .unwrap_err();
        assert_eq!(field_of(&e).as_deref(), Some("child_id"), "[{bk}]");
    }
}

#[tokio::test]
async fn a_protected_childs_bundle_has_no_place_and_no_personnummer() {
    for mut h in harnesses().await {
        let bk = h.backend;
        let (child, _) = child_with_health(&mut h, true).await;
        for ctx in [guardian(&child), ombud(), health_staff(HEALTH_UNIT)] {
            let doc = export(&h, ctx, &child).await.unwrap();
            assert!(doc.location_redacted, "[{bk}]");
            let bundle: Value = serde_json::from_str(&doc.bundle_json).unwrap();
            check_structure(&bundle, &child);
            let text = doc.bundle_json.to_lowercase();
            assert!(!text.contains(&CARE_UNIT.to_lowercase()), "[{bk}] {text}");
            assert!(!text.contains("address"), "[{bk}] {text}");
            // No personnummer: the only identifier is the child id.
            assert!(!text.contains("personnummer") && !text.contains("1.2.752.129.2.1.3.1"));
            // (Ids aside: a UUID's groups may be all digits.)
            let digits: Vec<&str> = text
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                .filter(|t| samling_kit::ids::parse_id("id", t).is_err())
                .flat_map(|t| t.split(|c: char| !c.is_ascii_digit()))
                .filter(|s| s.len() >= 10)
                .collect();
            assert!(digits.is_empty(), "[{bk}] {digits:?}");
            // The unit is not left dangling: no Organization for it at all.
            assert_eq!(resources_of(&bundle, "Organization").len(), 1, "[{bk}]");
        }
        // Those who must know where the child is see the care unit.
        let doc = export(&h, caseworker(STOCKHOLM), &child).await.unwrap();
        assert!(
            !doc.location_redacted && doc.bundle_json.contains(CARE_UNIT),
            "[{bk}]"
        );
    }
}

#[tokio::test]
async fn the_export_is_on_the_childs_access_log() {
    for mut h in harnesses().await {
        let bk = h.backend;
        let (child, _) = child_with_health(&mut h, false).await;
        export(&h, health_staff(HEALTH_UNIT), &child).await.unwrap();
        let mut me = h.client(child_ctx(&child)).await;
        let log = rpc!(
            me,
            list_access_log,
            ListAccessLogRequest {
                child_id: child.clone(),
                page: None
            }
        )
        .unwrap();
        let exported: Vec<_> = log
            .entries
            .iter()
            .filter(|e| e.section == "health_fhir")
            .collect();
        assert_eq!(exported.len(), 1, "[{bk}] {:?}", log.entries);
        assert_eq!(exported[0].role, "health_staff", "[{bk}]");
        assert_eq!(exported[0].party, HEALTH_UNIT, "[{bk}]");
        assert_eq!(exported[0].action, "read", "[{bk}]");
    }
}

/// The Python with `fhir.resources` (testkit's `python::with_packages`,
/// as compensation's pain.001 check).
fn python() -> String {
    static PYTHON: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PYTHON
        .get_or_init(|| {
            samling_testkit::python::with_packages(
                "import fhir.resources.R4B.bundle",
                &std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("fhir-venv"),
            )
        })
        .clone()
}

/// Validate a Bundle with `fhir.resources` (R4B, the R4 line it ships);
/// Err(message) when invalid.
fn validate_fhir(bundle: &str) -> Result<(), String> {
    let path = std::env::temp_dir().join(format!("fhir-{}.json", new_id()));
    std::fs::write(&path, bundle).unwrap();
    let script = "import sys\n\
                  from fhir.resources.R4B.bundle import Bundle\n\
                  b = Bundle.model_validate_json(open(sys.argv[1]).read())\n\
                  assert b.entry[0].resource.get_resource_type() == 'Composition'\n";
    let out = std::process::Command::new(python())
        .args(["-c", script, path.to_str().unwrap()])
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e} (set SAMLING_TEST_PYTHON)", python()));
    let _ = std::fs::remove_file(&path);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        !stderr.contains("ModuleNotFoundError"),
        "the FHIR check needs `pip install fhir.resources` for {} (or SAMLING_TEST_PYTHON): {stderr}",
        python()
    );
    if out.status.success() {
        Ok(())
    } else {
        Err(stderr)
    }
}

#[tokio::test]
async fn the_bundle_validates_with_fhir_resources() {
    for mut h in harnesses().await {
        let bk = h.backend;
        let (child, _) = child_with_health(&mut h, false).await;
        let doc = export(&h, caseworker(STOCKHOLM), &child).await.unwrap();
        validate_fhir(&doc.bundle_json).unwrap_or_else(|e| panic!("[{bk}] {e}"));
        // A protected child's (no care unit) and an empty health section's too.
        let (protected, _) = child_with_health(&mut h, true).await;
        let doc = export(&h, guardian(&protected), &protected).await.unwrap();
        validate_fhir(&doc.bundle_json).unwrap_or_else(|e| panic!("[{bk}] {e}"));
        let (empty, p) = (new_id(), new_id());
        register_child(&h, &empty, "2015-05-05", false);
        h.publish(vec![created(&p, &empty, &new_id(), "2026-11-01", false)])
            .await;
        let doc = export(&h, caseworker(STOCKHOLM), &empty).await.unwrap();
        validate_fhir(&doc.bundle_json).unwrap_or_else(|e| panic!("[{bk}] {e}"));
        // The check can fail: a bad date, an element R4 does not have.
        let mut bad: Value = serde_json::from_str(&doc.bundle_json).unwrap();
        bad["entry"][0]["resource"]["date"] = json!("yesterday");
        assert!(validate_fhir(&bad.to_string()).is_err(), "[{bk}]");
        let mut bad: Value = serde_json::from_str(&doc.bundle_json).unwrap();
        bad["entry"][1]["resource"]["personnummer"] = json!("x");
        assert!(validate_fhir(&bad.to_string()).is_err(), "[{bk}]");
    }
}

// ---------------------------------------------------------------------------
// SS 12000-style school import
// ---------------------------------------------------------------------------

/// Two placed children whose school unit is `SCHOOL_UNIT`; the first has a
/// support plan already.
async fn two_pupils(h: &mut Harness) -> (String, String) {
    let mut ids = Vec::new();
    for _ in 0..2 {
        let (child, p) = (new_id(), new_id());
        register_child(h, &child, "2012-01-01", false);
        h.publish(vec![created(&p, &child, &new_id(), "2026-11-01", false)])
            .await;
        let mut cw = h.client(caseworker(STOCKHOLM)).await;
        rpc!(
            cw,
            set_relations,
            SetRelationsRequest {
                request_id: new_id(),
                child_id: child.clone(),
                relations: Some(Relations {
                    school_units: vec![SCHOOL_UNIT.into()],
                    ..Default::default()
                }),
            }
        )
        .unwrap();
        ids.push(child);
    }
    let mut cw = h.client(caseworker(STOCKHOLM)).await;
    rpc!(
        cw,
        update_section,
        UpdateSectionRequest {
            request_id: new_id(),
            child_id: ids[0].clone(),
            expected_version: 0,
            section: Some(update_section_request::Section::School(School {
                has_support_plan: true,
                support_plan: "Extra stöd i matematik".into(),
                ..Default::default()
            })),
        }
    )
    .unwrap();
    (ids[0].clone(), ids[1].clone())
}

fn school_doc(a: &str, b: &str) -> Value {
    json!({
        "organisations": [
            {"id": "org-huvudman", "displayName": "Norrtälje kommun", "organisationType": "Huvudman",
             "municipalityCode": "0188"},
            {"id": "org-1", "displayName": "Byskolan", "organisationType": "Skolenhet",
             "schoolUnitCode": "12345678", "municipalityCode": "0188",
             "parentOrganisation": {"id": "org-huvudman"}},
            {"id": "org-2", "displayName": "Kustskolan", "organisationType": "Skolenhet",
             "schoolUnitCode": "87654321"}
        ],
        "persons": [
            {"id": a, "givenName": "Not stored", "civicNo": {"value": personnummer(chrono::NaiveDate::from_ymd_opt(2012, 1, 1).unwrap(), 123), "nationality": "SE"}},
            {"id": b}
        ],
        "groups": [
            {"id": "grp-5b", "displayName": "5B", "groupType": "Klass", "organisation": {"id": "org-1"}},
            {"id": "grp-7a", "displayName": "7A", "groupType": "Klass", "organisation": {"id": "org-2"}}
        ],
        "placements": [
            {"id": "pl-old", "placedAt": {"id": "org-2"}, "child": {"id": a}, "group": {"id": "grp-7a"},
             "startDate": "2025-08-18", "endDate": "2026-06-12"},
            {"id": "pl-1", "placedAt": {"id": "org-1"}, "child": {"id": a}, "group": {"id": "grp-5b"},
             "startDate": "2026-08-17"},
            {"id": "pl-2", "placedAt": {"id": "org-2"}, "child": {"id": b}, "group": {"id": "grp-7a"},
             "startDate": "2026-08-17", "endDate": "2027-06-11"}
        ]
    })
}

async fn import(
    h: &Harness,
    ctx: AuthContext,
    doc: &Value,
    request_id: &str,
) -> Result<ImportSchoolDataResponse, tonic::Status> {
    let mut c = h.client(ctx).await;
    rpc!(
        c,
        import_school_data,
        ImportSchoolDataRequest {
            request_id: request_id.to_string(),
            document_json: doc.to_string(),
        }
    )
}

async fn school_of(h: &Harness, child: &str) -> Option<School> {
    let mut cw = h.client(caseworker(STOCKHOLM)).await;
    rpc!(
        cw,
        get_portfolio,
        GetPortfolioRequest {
            child_id: child.to_string()
        }
    )
    .unwrap()
    .school
}

#[tokio::test]
async fn school_data_is_imported_into_the_school_section() {
    for mut h in harnesses().await {
        let bk = h.backend;
        let (a, b) = two_pupils(&mut h).await;
        let rid = new_id();
        let doc = school_doc(&a, &b);
        let answer = import(&h, school_staff(SCHOOL_UNIT), &doc, &rid)
            .await
            .unwrap();
        let mut got: Vec<_> = answer
            .children
            .iter()
            .map(|c| (c.child_id.clone(), c.placement_id.clone(), c.school_version))
            .collect();
        got.sort();
        let mut want = vec![
            (a.clone(), "pl-1".to_string(), 2),
            (b.clone(), "pl-2".to_string(), 1),
        ];
        want.sort();
        assert_eq!(got, want, "[{bk}]");
        let s = school_of(&h, &a).await.unwrap();
        assert_eq!(
            (
                s.school_unit_code.as_str(),
                s.school_unit_name.as_str(),
                s.class_name.as_str()
            ),
            ("12345678", "Byskolan", "5B"),
            "[{bk}] the current placement, not the ended one"
        );
        assert_eq!(
            s.support_plan, "Extra stöd i matematik",
            "[{bk}] the rest is kept"
        );
        assert_eq!(s.updated_by_role, "school_staff", "[{bk}]");
        let s = school_of(&h, &b).await.unwrap();
        assert_eq!(
            (s.school_unit_name.as_str(), s.class_name.as_str()),
            ("Kustskolan", "7A")
        );
        // The same request again answers the first answer, writing nothing.
        let again = import(&h, school_staff(SCHOOL_UNIT), &doc, &rid)
            .await
            .unwrap();
        assert_eq!(again, answer, "[{bk}]");
        assert_eq!(school_of(&h, &a).await.unwrap().version, 2, "[{bk}]");
        // The same request id under another token (another school unit,
        // another municipality's caseworker): refused as for any import of
        // children it may not write, never the first caller's answer.
        for other in [school_staff("skolenhet-annan"), caseworker("1480")] {
            let e = import(&h, other.clone(), &doc, &rid).await.unwrap_err();
            assert_eq!(e.code(), tonic::Code::InvalidArgument, "[{bk}] {other:?}");
            assert!(
                e.message()
                    .contains("no portfolio whose school section you may write"),
                "[{bk}] {e:?}"
            );
        }
        assert_eq!(school_of(&h, &a).await.unwrap().version, 2, "[{bk}]");
        // A caseworker imports too; the write is on the child's log.
        import(&h, caseworker(STOCKHOLM), &doc, &new_id())
            .await
            .unwrap();
        assert_eq!(school_of(&h, &a).await.unwrap().version, 3, "[{bk}]");
        let mut cw = h.client(caseworker(STOCKHOLM)).await;
        let log = rpc!(
            cw,
            list_access_log,
            ListAccessLogRequest {
                child_id: b.clone(),
                page: None
            }
        )
        .unwrap();
        let writes: Vec<_> = log
            .entries
            .iter()
            .filter(|e| e.section == "school" && e.action == "write")
            .map(|e| e.role.as_str())
            .collect();
        let mut writes = writes;
        writes.sort_unstable();
        assert_eq!(
            writes,
            ["municipality_caseworker", "school_staff"],
            "[{bk}]"
        );
    }
}

/// A change that spoils a good document.
type Change = Box<dyn Fn(&mut Value)>;

#[tokio::test]
async fn bad_school_documents_name_the_json_path_and_write_nothing() {
    for mut h in harnesses().await {
        let bk = h.backend;
        let (a, b) = two_pupils(&mut h).await;
        let pnr = personnummer(chrono::NaiveDate::from_ymd_opt(2011, 3, 3).unwrap(), 456);
        let bad: Vec<(Change, &str, &str)> = vec![
            (
                Box::new(|d| d["placements"][2]["placedAt"]["id"] = json!("org-9")),
                "placements[2].placedAt.id",
                "unknown organisation",
            ),
            (
                Box::new(|d| d["placements"][1]["child"]["id"] = json!(new_id())),
                "placements[1].child.id",
                "unknown person",
            ),
            (
                Box::new(|d| {
                    d["placements"][1].as_object_mut().unwrap().remove("child");
                }),
                "placements[1].child",
                "is required",
            ),
            (
                Box::new(|d| d["placements"][2]["startDate"] = json!("2026-02-30")),
                "placements[2].startDate",
                "must be a date",
            ),
            (
                Box::new(|d| d["placements"][2]["endDate"] = json!("2026-01-01")),
                "placements[2].endDate",
                "must not be before startDate",
            ),
            (
                Box::new(|d| d["organisations"][1]["schoolUnitCode"] = json!(12345678)),
                "organisations[1].schoolUnitCode",
                "must be a string",
            ),
            (
                Box::new(|d| d["persons"] = json!({"id": "x"})),
                "persons",
                "must be an array",
            ),
            (
                Box::new(|d| d["placements"][0]["group"]["id"] = json!("grp-9")),
                "placements[0].group.id",
                "unknown group",
            ),
            (
                Box::new(|d| d["persons"][1]["id"] = json!("elev-17")),
                "persons[1].id",
                "UUID",
            ),
            // A person the caller has no portfolio of: told like an unknown one.
            (
                Box::new(|d| {
                    let id = new_id();
                    d["persons"][1]["id"] = json!(id);
                    d["placements"][2]["child"]["id"] = json!(id);
                }),
                "persons[1].id",
                "no portfolio",
            ),
            (
                Box::new(move |d| d["persons"][0]["civicNo"]["value"] = json!(pnr.clone())),
                "persons[0].civicNo.value",
                "does not match the child's birth date",
            ),
            (
                Box::new(|d| d["persons"][0]["civicNo"]["value"] = json!("201201011235")),
                "persons[0].civicNo.value",
                "is not a valid personnummer",
            ),
        ];
        for (change, path, says) in bad {
            let mut doc = school_doc(&a, &b);
            let civic = doc["persons"][0]["civicNo"]["value"]
                .as_str()
                .unwrap()
                .to_string();
            change(&mut doc);
            let e = import(&h, school_staff(SCHOOL_UNIT), &doc, &new_id())
                .await
                .unwrap_err();
            assert_eq!(e.code(), tonic::Code::InvalidArgument, "[{bk}] {path}: {e}");
            assert_eq!(field_of(&e).as_deref(), Some(path), "[{bk}] {e}");
            assert!(
                e.message().starts_with(&format!("{path}: ")) && e.message().contains(says),
                "[{bk}] {}",
                e.message()
            );
            // The civic number is never echoed, whichever was sent.
            let sent = doc["persons"][0]["civicNo"]["value"]
                .as_str()
                .unwrap_or("")
                .to_string();
            for n in [civic, sent].into_iter().filter(|n| !n.is_empty()) {
                assert!(
                    !e.message().contains(&n) && !e.message().contains(&n.replace('-', "")),
                    "[{bk}] {}",
                    e.message()
                );
            }
        }
        let e = import(&h, school_staff(SCHOOL_UNIT), &json!("{"), &new_id())
            .await
            .unwrap_err();
        assert_eq!(field_of(&e).as_deref(), Some("document_json"), "[{bk}]");
        // Nothing was written: the first child's school is as it was, the
        // second has none.
        assert_eq!(school_of(&h, &a).await.unwrap().version, 1, "[{bk}]");
        assert_eq!(
            school_of(&h, &a).await.unwrap().school_unit_code,
            "",
            "[{bk}]"
        );
        assert!(school_of(&h, &b).await.is_none(), "[{bk}]");
    }
}

#[tokio::test]
async fn only_those_who_write_the_school_section_import() {
    for mut h in harnesses().await {
        let bk = h.backend;
        let (a, b) = two_pupils(&mut h).await;
        let doc = school_doc(&a, &b);
        for ctx in [
            family_home(&new_id()),
            health_staff(HEALTH_UNIT),
            guardian(&a),
            child_ctx(&a),
            ombud(),
            service(),
            analyst(),
        ] {
            let role = ctx.role;
            let e = import(&h, ctx, &doc, &new_id()).await.unwrap_err();
            assert_eq!(
                e.code(),
                tonic::Code::PermissionDenied,
                "[{bk}] {role:?}: {e}"
            );
        }
        // Another school unit, another municipality: no portfolio of theirs,
        // told by path, nothing written.
        for ctx in [school_staff("skola-annan"), caseworker(SOLNA)] {
            let e = import(&h, ctx, &doc, &new_id()).await.unwrap_err();
            assert_eq!(e.code(), tonic::Code::InvalidArgument, "[{bk}] {e}");
            assert_eq!(field_of(&e).as_deref(), Some("persons[0].id"), "[{bk}]");
        }
        assert_eq!(school_of(&h, &a).await.unwrap().version, 1, "[{bk}]");
        assert!(school_of(&h, &b).await.is_none(), "[{bk}]");
    }
}
