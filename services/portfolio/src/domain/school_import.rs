//! School data in an SS 12000-style JSON document (SS 12000:2018/2020, the
//! Swedish standard for school administration data; docs/portfolio.md
//! "Interop"): the subset of its JSON API objects that says which school
//! unit and class a child attends.
//!
//! ```json
//! {"organisations": [{"id": "…", "displayName": "Byskolan", "organisationType": "Skolenhet",
//!                     "schoolUnitCode": "12345678", "municipalityCode": "0180"}],
//!  "persons":       [{"id": "<the child's portfolio id>", "civicNo": {"value": "…"}}],
//!  "groups":        [{"id": "…", "displayName": "5B", "groupType": "Klass", "organisation": {"id": "…"}}],
//!  "placements":    [{"id": "…", "placedAt": {"id": "…"}, "child": {"id": "…"}, "group": {"id": "…"},
//!                     "startDate": "2026-08-17", "endDate": "2027-06-11"}]}
//! ```
//!
//! Every bad field is refused with its JSON path (`placements[2].placedAt.id:
//! unknown organisation`); a civic number is checked (and compared with the
//! child's birth date by the service) but never echoed, stored or logged.
//! Fields outside the subset are ignored. Pure: the service matches the
//! persons to portfolios and writes all or nothing.

use super::PortfolioError;
use chrono::NaiveDate;
use samling_kit::personnummer::Personnummer;
use samling_kit::reference::MunicipalityCode;
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};

type R<T> = Result<T, PortfolioError>;

/// The largest document accepted.
pub const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;
/// The most items of one list.
pub const MAX_ITEMS: usize = 5000;

/// SS 12000's organisation types.
pub const ORGANISATION_TYPES: &[&str] = &[
    "Huvudman",
    "Verksamhetsområde",
    "Förvaltning",
    "Rektorsområde",
    "Skola",
    "Skolenhet",
    "Varumärke",
    "Bolag",
    "Övrigt",
];

/// A person the document places, to be matched to a portfolio.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// `persons[i]`.
    pub path: String,
    /// The portfolio's child id (the SS 12000 person id).
    pub child_id: String,
    /// The birth date of the civic number, when one was given.
    pub civic_birth_date: Option<NaiveDate>,
    /// The current school placement, if any.
    pub current: Option<Current>,
}

/// Where the person goes to school today.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Current {
    pub placement_id: String,
    pub school_unit_code: String,
    pub school_unit_name: String,
    pub class_name: String,
}

fn bad(path: impl Into<String>, message: impl Into<String>) -> PortfolioError {
    PortfolioError::invalid(path, message)
}

fn object<'a>(v: &'a Value, path: &str) -> R<&'a Map<String, Value>> {
    v.as_object().ok_or_else(|| bad(path, "must be an object"))
}

fn array<'a>(o: &'a Map<String, Value>, path: &str, required: bool) -> R<&'a [Value]> {
    match o.get(path.rsplit('.').next().unwrap_or(path)) {
        None | Some(Value::Null) if !required => Ok(&[]),
        None | Some(Value::Null) => Err(bad(path, "is required")),
        Some(Value::Array(a)) if a.len() > MAX_ITEMS => {
            Err(bad(path, format!("has more than {MAX_ITEMS} items")))
        }
        Some(Value::Array(a)) => Ok(a),
        Some(_) => Err(bad(path, "must be an array")),
    }
}

/// The string at `o[key]` (`path` is `o`'s path).
fn string<'a>(
    o: &'a Map<String, Value>,
    path: &str,
    key: &str,
    required: bool,
) -> R<Option<&'a str>> {
    let at = format!("{path}.{key}");
    match o.get(key) {
        None | Some(Value::Null) if !required => Ok(None),
        None | Some(Value::Null) => Err(bad(at, "is required")),
        Some(Value::String(s)) if required && s.trim().is_empty() => Err(bad(at, "is required")),
        Some(Value::String(s)) if s.chars().count() > 200 => {
            Err(bad(at, "is longer than 200 characters"))
        }
        Some(Value::String(s)) if s.chars().any(char::is_control) => {
            Err(bad(at, "must not contain control characters"))
        }
        Some(Value::String(s)) => Ok(Some(s.trim())),
        Some(_) => Err(bad(at, "must be a string")),
    }
}

/// The id of the reference object at `o[key]` (`{"id": "…"}`).
fn reference<'a>(
    o: &'a Map<String, Value>,
    path: &str,
    key: &str,
    required: bool,
) -> R<Option<&'a str>> {
    let at = format!("{path}.{key}");
    match o.get(key) {
        None | Some(Value::Null) if !required => Ok(None),
        None | Some(Value::Null) => Err(bad(at, "is required")),
        Some(v) => string(object(v, &at)?, &at, "id", true),
    }
}

fn date(o: &Map<String, Value>, path: &str, key: &str, required: bool) -> R<Option<NaiveDate>> {
    match string(o, path, key, required)? {
        None => Ok(None),
        Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| bad(format!("{path}.{key}"), "must be a date (YYYY-MM-DD)")),
    }
}

fn unique<'a>(seen: &mut HashSet<&'a str>, id: &'a str, path: &str) -> R<()> {
    if !seen.insert(id) {
        return Err(bad(format!("{path}.id"), "is the id of an earlier item"));
    }
    Ok(())
}

struct Organisation<'a> {
    name: &'a str,
    school_unit_code: Option<&'a str>,
}

/// Parse and check the document; the persons it places, in document order,
/// each with the placement current on `today` (the latest started of those
/// begun and not ended; none when none is).
pub fn parse(document: &str, today: NaiveDate) -> R<Vec<Person>> {
    if document.len() > MAX_DOCUMENT_BYTES {
        return Err(bad(
            "document_json",
            format!("is larger than {MAX_DOCUMENT_BYTES} bytes"),
        ));
    }
    let doc: Value = serde_json::from_str(document).map_err(|e| {
        bad(
            "document_json",
            format!("is not JSON (line {}, column {})", e.line(), e.column()),
        )
    })?;
    let top = doc
        .as_object()
        .ok_or_else(|| bad("document_json", "must be a JSON object"))?;

    let mut orgs: HashMap<&str, Organisation> = HashMap::new();
    let mut seen = HashSet::new();
    for (i, v) in array(top, "organisations", true)?.iter().enumerate() {
        let path = format!("organisations[{i}]");
        let o = object(v, &path)?;
        let id = string(o, &path, "id", true)?.unwrap_or_default();
        unique(&mut seen, id, &path)?;
        let name = string(o, &path, "displayName", true)?.unwrap_or_default();
        let kind = string(o, &path, "organisationType", true)?.unwrap_or_default();
        if !ORGANISATION_TYPES.contains(&kind) {
            return Err(bad(
                format!("{path}.organisationType"),
                format!("must be one of {}", ORGANISATION_TYPES.join(", ")),
            ));
        }
        let code = string(o, &path, "schoolUnitCode", kind == "Skolenhet")?;
        if let Some(c) = code
            && (c.len() != 8 || !c.chars().all(|c| c.is_ascii_digit()))
        {
            return Err(bad(
                format!("{path}.schoolUnitCode"),
                "must be a school unit code of 8 digits",
            ));
        }
        if let Some(m) = string(o, &path, "municipalityCode", false)?
            && MunicipalityCode::parse(m).is_err()
        {
            return Err(bad(
                format!("{path}.municipalityCode"),
                "is not a Swedish municipality code",
            ));
        }
        orgs.insert(
            id,
            Organisation {
                name,
                school_unit_code: code.filter(|_| kind == "Skolenhet"),
            },
        );
    }

    let mut persons: Vec<Person> = Vec::new();
    let mut person_at: HashMap<&str, usize> = HashMap::new();
    for (i, v) in array(top, "persons", true)?.iter().enumerate() {
        let path = format!("persons[{i}]");
        let o = object(v, &path)?;
        let id = string(o, &path, "id", true)?.unwrap_or_default();
        let child_id = samling_kit::ids::parse_id("id", id)
            .map_err(|_| {
                bad(
                    format!("{path}.id"),
                    "must be the child's portfolio id (a UUID)",
                )
            })?
            .to_string();
        if person_at.insert(id, persons.len()).is_some() {
            return Err(bad(format!("{path}.id"), "is the id of an earlier item"));
        }
        let civic_birth_date = match o.get("civicNo") {
            None | Some(Value::Null) => None,
            Some(c) => {
                let at = format!("{path}.civicNo");
                let value = string(object(c, &at)?, &at, "value", true)?.unwrap_or_default();
                // Never echoed: the message names the path only.
                let pnr = Personnummer::parse_on(value, today)
                    .map_err(|_| bad(format!("{at}.value"), "is not a valid personnummer"))?;
                Some(pnr.birth_date())
            }
        };
        persons.push(Person {
            path,
            child_id,
            civic_birth_date,
            current: None,
        });
    }

    let mut groups: HashMap<&str, &str> = HashMap::new();
    let mut seen = HashSet::new();
    for (i, v) in array(top, "groups", false)?.iter().enumerate() {
        let path = format!("groups[{i}]");
        let o = object(v, &path)?;
        let id = string(o, &path, "id", true)?.unwrap_or_default();
        unique(&mut seen, id, &path)?;
        let name = string(o, &path, "displayName", true)?.unwrap_or_default();
        string(o, &path, "groupType", false)?;
        if let Some(org) = reference(o, &path, "organisation", false)?
            && !orgs.contains_key(org)
        {
            return Err(bad(
                format!("{path}.organisation.id"),
                "unknown organisation",
            ));
        }
        groups.insert(id, name);
    }

    let mut placed: Vec<bool> = vec![false; persons.len()];
    // Per person: the current placement's start.
    let mut starts: Vec<Option<NaiveDate>> = vec![None; persons.len()];
    let mut seen = HashSet::new();
    for (i, v) in array(top, "placements", true)?.iter().enumerate() {
        let path = format!("placements[{i}]");
        let o = object(v, &path)?;
        let id = string(o, &path, "id", true)?.unwrap_or_default();
        unique(&mut seen, id, &path)?;
        let org_id = reference(o, &path, "placedAt", true)?.unwrap_or_default();
        let org = orgs
            .get(org_id)
            .ok_or_else(|| bad(format!("{path}.placedAt.id"), "unknown organisation"))?;
        let Some(code) = org.school_unit_code else {
            return Err(bad(
                format!("{path}.placedAt.id"),
                "is not a school unit (organisationType Skolenhet)",
            ));
        };
        let person = reference(o, &path, "child", true)?.unwrap_or_default();
        let p = *person_at
            .get(person)
            .ok_or_else(|| bad(format!("{path}.child.id"), "unknown person"))?;
        let class = match reference(o, &path, "group", false)? {
            None => "",
            Some(g) => groups
                .get(g)
                .ok_or_else(|| bad(format!("{path}.group.id"), "unknown group"))?,
        };
        let start = date(o, &path, "startDate", true)?.unwrap_or(today);
        let end = date(o, &path, "endDate", false)?;
        if end.is_some_and(|e| e < start) {
            return Err(bad(
                format!("{path}.endDate"),
                "must not be before startDate",
            ));
        }
        placed[p] = true;
        let current = start <= today && end.is_none_or(|e| today <= e);
        if current && starts[p].is_none_or(|s| s <= start) {
            starts[p] = Some(start);
            persons[p].current = Some(Current {
                placement_id: id.to_string(),
                school_unit_code: code.to_string(),
                school_unit_name: org.name.to_string(),
                class_name: class.to_string(),
            });
        }
    }
    Ok(persons
        .into_iter()
        .zip(placed)
        .filter(|(_, placed)| *placed)
        .map(|(p, _)| p)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use samling_kit::error::ServiceError;
    use serde_json::json;

    const CHILD: &str = "0191e1a8-0000-7000-8000-0000000000aa";

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
    }

    fn doc() -> Value {
        json!({
            "organisations": [
                {"id": "huvudman", "displayName": "Kommunen", "organisationType": "Huvudman"},
                {"id": "s1", "displayName": "Byskolan", "organisationType": "Skolenhet",
                 "schoolUnitCode": "12345678", "municipalityCode": "0180"},
                {"id": "s2", "displayName": "Nya skolan", "organisationType": "Skolenhet",
                 "schoolUnitCode": "87654321"}
            ],
            "persons": [{"id": CHILD, "givenName": "ignored"}],
            "groups": [{"id": "g1", "displayName": "5B", "groupType": "Klass", "organisation": {"id": "s2"}}],
            "placements": [
                {"id": "p1", "placedAt": {"id": "s1"}, "child": {"id": CHILD},
                 "startDate": "2025-08-18", "endDate": "2026-06-12"},
                {"id": "p2", "placedAt": {"id": "s2"}, "child": {"id": CHILD}, "group": {"id": "g1"},
                 "startDate": "2026-08-17"}
            ]
        })
    }

    fn field(v: Value) -> String {
        parse(&v.to_string(), today())
            .unwrap_err()
            .field()
            .unwrap()
            .to_string()
    }

    #[test]
    fn the_current_placement_names_the_school_unit_and_class() {
        let persons = parse(&doc().to_string(), today()).unwrap();
        assert_eq!(persons.len(), 1);
        assert_eq!(persons[0].child_id, CHILD);
        assert_eq!(
            persons[0].current,
            Some(Current {
                placement_id: "p2".into(),
                school_unit_code: "87654321".into(),
                school_unit_name: "Nya skolan".into(),
                class_name: "5B".into(),
            })
        );
    }

    #[test]
    fn every_bad_field_is_named_by_its_path() {
        let mut d = doc();
        d["placements"][1]["placedAt"]["id"] = json!("nope");
        assert_eq!(field(d), "placements[1].placedAt.id");
        let mut d = doc();
        d["placements"][1]["placedAt"]["id"] = json!("huvudman");
        assert_eq!(field(d), "placements[1].placedAt.id");
        let mut d = doc();
        d["placements"][0]["child"]["id"] = json!("someone");
        assert_eq!(field(d), "placements[0].child.id");
        let mut d = doc();
        d["placements"][0]["startDate"] = json!("2026-13-01");
        assert_eq!(field(d), "placements[0].startDate");
        let mut d = doc();
        d["organisations"][1]["schoolUnitCode"] = json!(12345678);
        assert_eq!(field(d), "organisations[1].schoolUnitCode");
        let mut d = doc();
        d["organisations"][2]["organisationType"] = json!("Skolhus");
        assert_eq!(field(d), "organisations[2].organisationType");
        let mut d = doc();
        d["persons"][0]["civicNo"] = json!({"value": "201001011234"});
        assert_eq!(field(d), "persons[0].civicNo.value");
        let mut d = doc();
        d["placements"] = json!({});
        assert_eq!(field(d), "placements");
        assert_eq!(field(json!([])), "document_json");
    }

    #[test]
    fn a_bad_civic_number_is_never_echoed() {
        let mut d = doc();
        d["persons"][0]["civicNo"] = json!({"value": "201001011234"});
        let e = parse(&d.to_string(), today()).unwrap_err();
        assert!(!e.to_string().contains("201001011234"), "{e}");
    }
}
