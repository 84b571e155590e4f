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
    /// Rights follow-up (ADR 0046): days from the care's start within
    /// which the first talk with the child is due.
    pub talks_first_within_days: u32,
    /// Months at most between two talks with the child after the first.
    pub talks_every_months: u32,
    /// Days before its date a talk is shown as due.
    pub talks_due_window_days: u32,
    /// Days after the care's start after which a health examination the
    /// portfolio has said nothing about is shown as unknown.
    pub health_exam_data_days: u32,
}

impl Default for OmbudConfig {
    fn default() -> Self {
        OmbudConfig {
            first_contact_working_days: 3,
            review_response_working_days: 10,
            talks_first_within_days: 30,
            talks_every_months: 6,
            talks_due_window_days: 30,
            health_exam_data_days: 30,
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
        if !(1..=180).contains(&self.talks_first_within_days) {
            return Err(("ombud.talks_first_within_days", "must be between 1 and 180"));
        }
        if !(1..=6).contains(&self.talks_every_months) {
            return Err(("ombud.talks_every_months", "must be between 1 and 6"));
        }
        if self.talks_due_window_days > 90 {
            return Err(("ombud.talks_due_window_days", "must be at most 90"));
        }
        if !(1..=365).contains(&self.health_exam_data_days) {
            return Err(("ombud.health_exam_data_days", "must be between 1 and 365"));
        }
        Ok(())
    }

    /// The talks rule of `domain::follow_up`.
    pub fn talk_rule(&self) -> crate::domain::follow_up::TalkRule {
        crate::domain::follow_up::TalkRule {
            first_within_days: self.talks_first_within_days,
            every_months: self.talks_every_months,
            due_window_days: self.talks_due_window_days,
        }
    }
}
