//! Ids are UUIDv7 (time-ordered), stored as text.
use crate::error::KitError;
use uuid::Uuid;

pub fn new_id() -> Uuid {
    Uuid::now_v7()
}

/// A fresh id as text.
pub fn new_id_string() -> String {
    Uuid::now_v7().to_string()
}

/// Parse an id from a request field; the error names the field.
pub fn parse_id(field: &str, value: &str) -> Result<Uuid, KitError> {
    if value.trim().is_empty() {
        return Err(KitError::invalid(field, "is required"));
    }
    Uuid::parse_str(value.trim()).map_err(|_| KitError::invalid(field, "is not a valid id (UUID)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_time_ordered() {
        let a = new_id();
        let b = new_id();
        assert!(a < b);
        assert_eq!(a.get_version_num(), 7);
    }

    #[test]
    fn a_bad_id_names_the_field() {
        let e = parse_id("home_id", "nope").unwrap_err();
        assert_eq!(e.to_string(), "home_id: is not a valid id (UUID)");
        assert!(parse_id("home_id", "").is_err());
    }
}
