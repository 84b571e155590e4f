//! The health section as an HL7 FHIR R4 document Bundle in the shape of the
//! International Patient Summary (IPS): a Composition first (LOINC 60591-5
//! "Patient summary Document"), the Patient, and one section per kind of
//! health data the portfolio holds (docs/portfolio.md "Interop", ADR 0041).
//!
//! Built from the portfolio *as the caller's view shows it* (a protected
//! child's care unit already withheld): the builder adds nothing the view
//! does not hold. The Patient is named by the portfolio's child id (a
//! pseudonymous identifier), never a personnummer, and has no address.
//! Every `reference` is a `urn:uuid:` fullUrl of an entry of the Bundle.

use samling_proto::common::v1::Date;
use samling_proto::portfolio::v1::{Portfolio, ReferralKind};
use serde_json::{Value, json};

pub const LOINC: &str = "http://loinc.org";
/// The Composition's type: "Patient summary Document".
pub const PATIENT_SUMMARY: &str = "60591-5";
pub const SECTION_PROBLEMS: &str = "11450-4";
pub const SECTION_ALLERGIES: &str = "48765-2";
pub const SECTION_MEDICATIONS: &str = "10160-0";
pub const SECTION_IMMUNIZATIONS: &str = "11369-6";
pub const SECTION_PROCEDURES: &str = "47519-4";
pub const SECTION_PLAN_OF_CARE: &str = "18776-5";
/// The identifier system of the Patient: the portfolio's child id.
pub const CHILD_ID_SYSTEM: &str = "urn:samling:portfolio:child-id";
pub const MEDIA_TYPE: &str = "application/fhir+json";

const EMPTY_REASON: &str = "http://terminology.hl7.org/CodeSystem/list-empty-reason";
const ALLERGY_CLINICAL: &str = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical";

fn date_text(d: Option<&Date>) -> Option<String> {
    d.filter(|d| d.year != 0)
        .map(|d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day))
}

/// Text for XHTML narrative.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn narrative(lines: &[String]) -> Value {
    let body = if lines.is_empty() {
        "<p>None recorded.</p>".to_string()
    } else {
        format!(
            "<ul>{}</ul>",
            lines
                .iter()
                .map(|l| format!("<li>{}</li>", escape(l)))
                .collect::<String>()
        )
    };
    json!({"status": "generated", "div": format!("<div xmlns=\"http://www.w3.org/1999/xhtml\">{body}</div>")})
}

fn referral_name(kind: i32) -> &'static str {
    match ReferralKind::try_from(kind).unwrap_or_default() {
        ReferralKind::Bup => "Referral to child and adolescent psychiatry (BUP)",
        ReferralKind::Paediatrics => "Referral to paediatrics",
        ReferralKind::Habilitation => "Referral to habilitation",
        ReferralKind::Other | ReferralKind::Unspecified => "Referral",
    }
}

/// The Bundle's parts as they are built.
struct Builder<F: FnMut() -> String> {
    new_id: F,
    entries: Vec<Value>,
}

impl<F: FnMut() -> String> Builder<F> {
    fn add(&mut self, resource: Value) -> String {
        let url = format!("urn:uuid:{}", (self.new_id)());
        self.entries
            .push(json!({"fullUrl": url.clone(), "resource": resource}));
        url
    }
}

fn section(
    code: &str,
    title: &str,
    lines: Vec<String>,
    refs: Vec<String>,
    why_empty: &str,
) -> Value {
    let mut s = json!({
        "title": title,
        "code": {"coding": [{"system": LOINC, "code": code, "display": title}]},
        "text": narrative(&lines),
    });
    if refs.is_empty() {
        s["emptyReason"] = json!({"coding": [{"system": EMPTY_REASON, "code": why_empty}]});
    } else {
        s["entry"] = refs.into_iter().map(|r| json!({"reference": r})).collect();
    }
    s
}

/// The IPS-style document Bundle of the viewed portfolio `p`'s health
/// section, made `now` (RFC 3339) in `region`, with fresh ids from `new_id`.
pub fn health_bundle(
    p: &Portfolio,
    now: &str,
    region: &str,
    mut new_id: impl FnMut() -> String,
) -> Value {
    let bundle_id = new_id();
    let composition_url = format!("urn:uuid:{}", new_id());
    let mut b = Builder {
        new_id,
        entries: Vec::new(),
    };
    let h = p.health.clone().unwrap_or_default();

    let mut patient = json!({
        "resourceType": "Patient",
        "identifier": [{"system": CHILD_ID_SYSTEM, "value": p.child_id}],
    });
    if let Some(b) = date_text(p.birth_date.as_ref()) {
        patient["birthDate"] = json!(b);
    }
    let patient_url = b.add(patient);
    let subject = json!({"reference": patient_url});
    let author_url = b.add(json!({
        "resourceType": "Organization",
        "name": format!("Samling, the child's portfolio (region {region})"),
    }));

    // Problems: the portfolio keeps no problem list.
    let problems = section(
        SECTION_PROBLEMS,
        "Problem list",
        vec!["The portfolio keeps no problem list.".into()],
        vec![],
        "unavailable",
    );

    let mut lines = Vec::new();
    let mut refs = Vec::new();
    for a in &h.allergies {
        lines.push(a.clone());
        refs.push(b.add(json!({
            "resourceType": "AllergyIntolerance",
            "clinicalStatus": {"coding": [{"system": ALLERGY_CLINICAL, "code": "active"}]},
            "code": {"text": a},
            "patient": subject,
        })));
    }
    let allergies = section(
        SECTION_ALLERGIES,
        "Allergies and intolerances",
        lines,
        refs,
        "nilknown",
    );

    let mut lines = Vec::new();
    let mut refs = Vec::new();
    for m in &h.medications {
        let mut r = json!({
            "resourceType": "MedicationStatement",
            "status": "active",
            "medicationCodeableConcept": {"text": m.name},
            "subject": subject,
        });
        if m.dosage.trim().is_empty() {
            lines.push(m.name.clone());
        } else {
            lines.push(format!("{}: {}", m.name, m.dosage));
            r["dosage"] = json!([{"text": m.dosage}]);
        }
        refs.push(b.add(r));
    }
    let medications = section(
        SECTION_MEDICATIONS,
        "Medication summary",
        lines,
        refs,
        "nilknown",
    );

    let mut lines = Vec::new();
    let mut refs = Vec::new();
    for v in &h.vaccinations {
        let mut r = json!({
            "resourceType": "Immunization",
            "status": "completed",
            "vaccineCode": {"text": v.name},
            "patient": subject,
        });
        match date_text(v.given_on.as_ref()) {
            Some(d) => {
                lines.push(format!("{} ({d})", v.name));
                r["occurrenceDateTime"] = json!(d);
            }
            None => {
                lines.push(format!("{} (date unknown)", v.name));
                r["occurrenceString"] = json!("date unknown");
            }
        }
        refs.push(b.add(r));
    }
    let immunizations = section(
        SECTION_IMMUNIZATIONS,
        "Immunizations",
        lines,
        refs,
        "nilknown",
    );

    // The examination at care start (11 kap. 3 a § SoL).
    let mut lines = Vec::new();
    let mut refs = Vec::new();
    if let Some(e) = &h.examination {
        let parts: Vec<&str> = [
            (e.physical, "physical"),
            (e.psychological, "psychological"),
            (e.oral, "oral"),
        ]
        .into_iter()
        .filter(|(done, _)| *done)
        .map(|(_, n)| n)
        .collect();
        let what = if parts.is_empty() {
            "Health examination at the start of care".to_string()
        } else {
            format!(
                "Health examination at the start of care: {}",
                parts.join(", ")
            )
        };
        let mut r = json!({
            "resourceType": "Procedure",
            "status": "completed",
            "code": {"text": what},
            "subject": subject,
        });
        let on = date_text(e.examined_on.as_ref());
        if let Some(d) = &on {
            r["performedDateTime"] = json!(d);
        }
        if !e.care_unit.is_empty() {
            let unit = b.add(json!({"resourceType": "Organization", "name": e.care_unit}));
            r["performer"] = json!([{"actor": {"reference": unit}}]);
        }
        let mut line = match on {
            Some(d) => format!("{what} ({d})"),
            None => what,
        };
        if !e.care_unit.is_empty() {
            line = format!("{line}, {}", e.care_unit);
        }
        lines.push(line);
        refs.push(b.add(r));
    }
    let procedures = section(
        SECTION_PROCEDURES,
        "History of procedures",
        lines,
        refs,
        "nilknown",
    );

    // Referrals, with the waiting time the service computed.
    let mut lines = Vec::new();
    let mut refs = Vec::new();
    for r in &h.referrals {
        let name = referral_name(r.kind);
        let first = date_text(r.first_appointment_on.as_ref());
        let waited = match &first {
            Some(d) => format!(
                "waited {} days to the first appointment on {d}",
                r.waiting_days
            ),
            None => format!("waiting for {} days", r.waiting_days),
        };
        let mut sr = json!({
            "resourceType": "ServiceRequest",
            "status": if first.is_some() { "completed" } else { "active" },
            "intent": "order",
            "code": {"text": name},
            "subject": subject,
            "note": [{"text": waited.clone()}],
        });
        if let Some(d) = date_text(r.referred_on.as_ref()) {
            sr["authoredOn"] = json!(d);
        }
        if let Some(d) = &first {
            sr["occurrenceDateTime"] = json!(d);
        }
        if !r.note.trim().is_empty() {
            sr["note"]
                .as_array_mut()
                .expect("note is an array")
                .push(json!({"text": r.note}));
        }
        lines.push(format!("{name}: {waited}"));
        refs.push(b.add(sr));
    }
    let plan = section(
        SECTION_PLAN_OF_CARE,
        "Plan of care",
        lines,
        refs,
        "nilknown",
    );

    let composition = json!({
        "resourceType": "Composition",
        "status": "final",
        "type": {"coding": [{"system": LOINC, "code": PATIENT_SUMMARY, "display": "Patient summary Document"}]},
        "subject": subject,
        "date": now,
        "author": [{"reference": author_url}],
        "title": "Patient summary: health section of the child's portfolio",
        "confidentiality": "R",
        "section": [problems, allergies, medications, immunizations, procedures, plan],
    });
    let mut entries = vec![json!({"fullUrl": composition_url, "resource": composition})];
    entries.extend(b.entries);
    json!({
        "resourceType": "Bundle",
        "identifier": {"system": "urn:ietf:rfc:3986", "value": format!("urn:uuid:{bundle_id}")},
        "type": "document",
        "timestamp": now,
        "entry": entries,
    })
}

/// Every `reference` of a FHIR JSON value (depth first).
pub fn references(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    if k == "reference"
                        && let Some(s) = x.as_str()
                    {
                        out.push(s.to_string());
                    } else {
                        walk(x, out);
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    walk(v, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use samling_proto::portfolio::v1::*;

    fn d(y: i32, m: i32, day: i32) -> Option<Date> {
        Some(Date {
            year: y,
            month: m,
            day,
        })
    }

    fn ids() -> impl FnMut() -> String {
        let mut n = 0u32;
        move || {
            n += 1;
            format!("00000000-0000-7000-8000-{n:012}")
        }
    }

    #[test]
    fn the_composition_comes_first_and_every_reference_resolves() {
        let p = Portfolio {
            child_id: "0191e1a8-0000-7000-8000-0000000000aa".into(),
            health: Some(Health {
                examination: Some(HealthExamination {
                    examined_on: d(2026, 9, 1),
                    physical: true,
                    oral: true,
                    care_unit: "BVC <Norr> & co".into(),
                    ..Default::default()
                }),
                referrals: vec![Referral {
                    kind: ReferralKind::Bup as i32,
                    referred_on: d(2026, 9, 2),
                    waiting_days: 90,
                    ..Default::default()
                }],
                allergies: vec!["Jordnötter".into()],
                ..Default::default()
            }),
            ..Default::default()
        };
        let b = health_bundle(&p, "2026-12-01T10:00:00Z", "norr", ids());
        let entries = b["entry"].as_array().unwrap();
        assert_eq!(entries[0]["resource"]["resourceType"], "Composition");
        let urls: Vec<&str> = entries
            .iter()
            .map(|e| e["fullUrl"].as_str().unwrap())
            .collect();
        let refs = references(&b);
        assert!(refs.len() >= 8, "{refs:?}");
        for r in &refs {
            assert!(urls.contains(&r.as_str()), "{r} does not resolve");
        }
        let codes: Vec<&str> = entries[0]["resource"]["section"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["code"]["coding"][0]["code"].as_str().unwrap())
            .collect();
        assert_eq!(
            codes,
            [
                SECTION_PROBLEMS,
                SECTION_ALLERGIES,
                SECTION_MEDICATIONS,
                SECTION_IMMUNIZATIONS,
                SECTION_PROCEDURES,
                SECTION_PLAN_OF_CARE
            ]
        );
        // The narrative escapes the care unit's name; the BUP wait is shown.
        let text = b.to_string();
        assert!(text.contains("BVC &lt;Norr&gt; &amp; co"));
        assert!(text.contains("waiting for 90 days"));
        // An empty section says why.
        assert_eq!(
            entries[0]["resource"]["section"][2]["emptyReason"]["coding"][0]["code"],
            "nilknown"
        );
    }
}
