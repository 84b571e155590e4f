//! Text fields as a person or an officer types them: trimmed, bounded, with
//! no control or invisible formatting characters (which make a name display
//! as something else in lists and exports). Errors name the field.
use super::RecruitmentError;

/// Control characters and the invisible format characters (bidi overrides,
/// zero-width, soft hyphen, BOM, …).
pub fn is_hidden_char(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{00AD}'
            | '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
        )
}

/// A one-line text: trimmed, at most `max` characters, required or not.
pub fn line(field: &str, s: &str, required: bool, max: usize) -> Result<String, RecruitmentError> {
    let t = s.trim();
    if required && t.is_empty() {
        return Err(RecruitmentError::invalid(field, "is required"));
    }
    if t.chars().count() > max {
        return Err(RecruitmentError::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if t.chars().any(is_hidden_char) {
        return Err(RecruitmentError::invalid(
            field,
            "must not contain control or invisible characters",
        ));
    }
    Ok(t.to_string())
}

/// A free text of several lines: as [`line`] but line breaks and tabs are kept.
pub fn paragraph(field: &str, s: &str, max: usize) -> Result<String, RecruitmentError> {
    let t = s.trim();
    if t.chars().count() > max {
        return Err(RecruitmentError::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if t.chars()
        .any(|c| is_hidden_char(c) && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(RecruitmentError::invalid(
            field,
            "must not contain control or invisible characters",
        ));
    }
    Ok(t.to_string())
}

/// An optional record id (empty = none): a hyphenated UUID.
pub fn opt_id(field: &str, s: &str) -> Result<Option<String>, RecruitmentError> {
    let t = s.trim();
    if t.is_empty() {
        return Ok(None);
    }
    id(field, t).map(Some)
}

/// A required record id: a hyphenated UUID, lower-cased.
pub fn id(field: &str, s: &str) -> Result<String, RecruitmentError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(RecruitmentError::invalid(field, "is required"));
    }
    let groups: Vec<&str> = t.split('-').collect();
    let shape = [8, 4, 4, 4, 12];
    let ok = groups.len() == 5
        && groups
            .iter()
            .zip(shape)
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()));
    if !ok {
        return Err(RecruitmentError::invalid(
            field,
            "is not a valid id (a UUID)",
        ));
    }
    Ok(t.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_trimmed_bounded_and_plain() {
        assert_eq!(line("f", "  Anna ", true, 10).unwrap(), "Anna");
        let e = line("inquiry.given_name", "  ", true, 10).unwrap_err();
        assert_eq!(e.to_string(), "inquiry.given_name: is required");
        assert!(line("f", "", false, 10).unwrap().is_empty());
        let e = line("f", "abcdefghijk", false, 10).unwrap_err();
        assert!(e.to_string().contains("at most 10"));
        for bad in ["An\u{202E}na", "A\u{200B}nna", "An\nna", "A\u{0000}"] {
            assert!(line("f", bad, true, 50).is_err(), "{bad:?}");
        }
        // Letters of every script are fine.
        assert!(line("f", "Åsa Öberg-Nguyễn عائشة", true, 50).is_ok());
        assert_eq!(paragraph("m", "rad 1\nrad 2", 50).unwrap(), "rad 1\nrad 2");
        assert!(paragraph("m", "rad\u{202E}", 50).is_err());
    }

    #[test]
    fn ids_are_uuids() {
        assert_eq!(
            id("case_id", "0190A0B1-2C3D-7E4F-8A9B-0C1D2E3F4A5B").unwrap(),
            "0190a0b1-2c3d-7e4f-8a9b-0c1d2e3f4a5b"
        );
        assert_eq!(opt_id("campaign_id", " ").unwrap(), None);
        for bad in [
            "x",
            "0190a0b12c3d7e4f8a9b0c1d2e3f4a5b",
            "0190a0b1-2c3d-7e4f-8a9b-0c1d2e3f4a5g",
        ] {
            let e = id("case_id", bad).unwrap_err();
            assert_eq!(e.to_string(), "case_id: is not a valid id (a UUID)");
        }
    }
}
