//! The register's rules, with no I/O: values in, values (or a
//! [`RegistryError`]) out. The store and gRPC layers sit around this module;
//! nothing here imports sqlx or tonic. Where the store filters in SQL (lists,
//! searches, duplicate candidates), the rule is still the function here and
//! the registry's tests check that both agree.
//!
//! Data is the protobuf message types of `samling.registry.v1` (plain structs);
//! see docs/adr/0003-proto-types-as-register-records.md.

pub mod access;
pub mod decisions;
pub mod due_process;
pub mod duplicates;
pub mod error;
pub mod evidence;
pub mod home;
pub mod over_time;
pub mod placement;
pub mod restriction;

pub use error::RegistryError;

/// The policy numbers of the register (configurable, see `RegistryConfig`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    pub normal_capacity: u32,
    pub ivo_report_above: u32,
    pub reconfirmation_months: u32,
    pub home_request_response_days: u32,
    pub record_check_renewal_months: u32,
    pub approval_requires_evidence: bool,
    pub jourhem_alert_days: u32,
    pub settling_in_min_days: u32,
    pub custody_reconsideration_months: u32,
}

/// The configured defaults, but approvals without recorded evidence
/// allowed: for registers built in-process (the test harnesses of every
/// service, whose tests are about something else than the evidence; those
/// that are about it turn it on). The served register reads
/// `RegistryConfig`, whose default enforces it (ADR 0047).
impl Default for Rules {
    fn default() -> Self {
        Rules {
            approval_requires_evidence: false,
            ..Rules::from(&crate::config::RegistryConfig::default())
        }
    }
}

impl From<&crate::config::RegistryConfig> for Rules {
    fn from(c: &crate::config::RegistryConfig) -> Self {
        Rules {
            normal_capacity: c.normal_capacity,
            ivo_report_above: c.ivo_report_above,
            reconfirmation_months: c.reconfirmation_months,
            home_request_response_days: c.home_request_response_days,
            record_check_renewal_months: c.record_check_renewal_months,
            approval_requires_evidence: c.approval_requires_evidence,
            jourhem_alert_days: c.jourhem_alert_days,
            settling_in_min_days: c.settling_in_min_days,
            custody_reconsideration_months: c.custody_reconsideration_months,
        }
    }
}
