//! Ombud's section of the configuration, `[ombud]`.

use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OmbudConfig {
    /// Working days within which the ombud takes a new case up (OPEN →
    /// IN_PROGRESS); later, the case shows `first_contact_overdue`.
    pub first_contact_working_days: u32,
    /// Working days the municipality has to answer a review request.
    pub review_response_working_days: u32,
}

impl Default for OmbudConfig {
    fn default() -> Self {
        OmbudConfig {
            first_contact_working_days: 3,
            review_response_working_days: 10,
        }
    }
}

impl OmbudConfig {
    /// The bounds `open` checks: (key, value, max).
    pub fn check(&self) -> Result<(), (&'static str, &'static str)> {
        if !(1..=30).contains(&self.first_contact_working_days) {
            return Err((
                "ombud.first_contact_working_days",
                "must be between 1 and 30",
            ));
        }
        if !(1..=60).contains(&self.review_response_working_days) {
            return Err((
                "ombud.review_response_working_days",
                "must be between 1 and 60",
            ));
        }
        Ok(())
    }
}
