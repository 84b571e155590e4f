//! The family home's due process (ADR 0026): structured corrections applied
//! on acceptance, appeals and second opinions decided with reasons and how
//! to appeal further, overdue requests.

use super::RegistryError;
use super::home;
use chrono::NaiveDate;
use samling_kit::dates;
use samling_proto::registry::v1::{Home, HomeRequest, HomeRequestKind, HomeRequestStatus};

/// The profile fields a home may ask to have corrected: lists of tags,
/// proposed comma-separated. Household, address and capacity are changed
/// by the office's own acts (and capacity by a nämnd decision).
pub const CORRECTABLE: [&str; 5] = [
    "languages",
    "competences",
    "target_groups",
    "pets",
    "allergies",
];

/// A correction's field and proposed value, checked: the field one of
/// [`CORRECTABLE`], the value its normalised tags (may be empty: "none").
pub fn validate_correction(field: &str, proposed: &str) -> Result<Vec<String>, RegistryError> {
    let field = field.trim();
    if field.is_empty() {
        return Err(RegistryError::invalid(
            "field",
            "a correction names the field to correct",
        ));
    }
    if !CORRECTABLE.contains(&field) {
        return Err(RegistryError::invalid(
            "field",
            format!("can be corrected by request: {}", CORRECTABLE.join(", ")),
        ));
    }
    let items: Vec<String> = proposed
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if items.len() > 50 {
        return Err(RegistryError::invalid(
            "proposed_value",
            "at most 50 values",
        ));
    }
    home::normalise_tags("proposed_value", &items)
        .map_err(|e| RegistryError::invalid("proposed_value", e.to_string()))
}

/// Apply an accepted correction to the home (the service writes it as a
/// new version).
pub fn apply_correction(
    h: &mut Home,
    field: &str,
    values: Vec<String>,
) -> Result<(), RegistryError> {
    let slot = match field {
        "languages" => &mut h.languages,
        "competences" => &mut h.competences,
        "target_groups" => &mut h.target_groups,
        "pets" => &mut h.pets,
        "allergies" => &mut h.allergies,
        _ => return Err(RegistryError::invalid("field", "is not correctable")),
    };
    *slot = values;
    Ok(())
}

/// Does this kind of request get a respond_by date?
pub fn has_deadline(kind: HomeRequestKind) -> bool {
    matches!(
        kind,
        HomeRequestKind::Appeal | HomeRequestKind::SecondOpinion | HomeRequestKind::Correction
    )
}

/// Decided by the national reviewer (not the office)?
pub fn decided_nationally(kind: HomeRequestKind) -> bool {
    matches!(
        kind,
        HomeRequestKind::Appeal | HomeRequestKind::SecondOpinion
    )
}

/// Open, with a respond_by before `today` (due today is not yet overdue).
pub fn overdue(r: &HomeRequest, today: NaiveDate) -> bool {
    r.status == HomeRequestStatus::Open as i32
        && dates::opt_from_proto("", r.respond_by.as_ref())
            .ok()
            .flatten()
            .is_some_and(|d| d < today)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_correction_names_a_correctable_field_and_a_valid_value() {
        assert_eq!(
            validate_correction("languages", " Svenska, Arabiska ,")
                .unwrap()
                .len(),
            2
        );
        assert!(validate_correction("pets", "").unwrap().is_empty());
        for (f, v, field) in [
            ("", "x", "field"),
            ("address", "Storgatan 1", "field"),
            ("capacity", "5", "field"),
            ("languages", "sv\u{202E}", "proposed_value"),
        ] {
            let e = validate_correction(f, v).unwrap_err().to_string();
            assert!(e.starts_with(field), "{f}/{v}: {e}");
        }
        let mut h = Home::default();
        apply_correction(&mut h, "competences", vec!["npf".into()]).unwrap();
        assert_eq!(h.competences, vec!["npf".to_string()]);
    }

    #[test]
    fn overdue_is_open_and_past_respond_by() {
        let d = |day| NaiveDate::from_ymd_opt(2026, 12, day).unwrap();
        let r = HomeRequest {
            status: HomeRequestStatus::Open as i32,
            respond_by: Some(dates::to_proto(d(10))),
            ..Default::default()
        };
        assert!(!overdue(&r, d(10)));
        assert!(overdue(&r, d(11)));
        let decided = HomeRequest {
            status: HomeRequestStatus::Accepted as i32,
            ..r.clone()
        };
        assert!(!overdue(&decided, d(11)));
        assert!(decided_nationally(HomeRequestKind::Appeal));
        assert!(!decided_nationally(HomeRequestKind::Correction));
    }
}
