//! The registry's config section, `[registry]` (read with
//! `samling_kit::config::Config::section`).

use serde::Deserialize;

/// Rules of the register that are policy, not law, and so configurable.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegistryConfig {
    /// Normal maximum of placed children in one home.
    pub normal_capacity: u32,
    /// More placed children than this raises a report to IVO.
    pub ivo_report_above: u32,
    /// Months between re-confirmations (aktualitetsförklaring).
    pub reconfirmation_months: u32,
    /// Days the regional office has to answer an appeal or second-opinion request.
    pub home_request_response_days: u32,
    /// Months a household adult's register extract (registerutdrag) holds
    /// before it is renewed: the due date and the overdue list (ADR 0028).
    pub record_check_renewal_months: u32,
    /// Refuse an approval that lacks completed training or an
    /// evidence-based investigation (recorded, or in recruitment's
    /// evidence). On by default (issue 24 §5, ADR 0047): a home does not go
    /// from applicant to approved without training. Homes approved before
    /// the register recorded evidence keep their approval and are shown
    /// with `evidence_missing` (ADR 0028). The served register reads this;
    /// registers built in-process from `domain::Rules::default()` (the test
    /// harnesses) do not enforce it unless they say so.
    pub approval_requires_evidence: bool,
    /// A child in an emergency home (jourhem) longer than this many days is
    /// listed by ListLongJourhemStays (ADR 0030).
    pub jourhem_alert_days: u32,
    /// A settling-in from an emergency home shorter than this many days
    /// needs a stated reason when the emergency placement ends.
    pub settling_in_min_days: u32,
    /// Months until the custody-transfer question comes up again after a
    /// consideration that did not lead to an application.
    pub custody_reconsideration_months: u32,
    /// The national identity key (64 hex characters, the same file in every
    /// region): registers compare children and adults across regions by
    /// HMAC-SHA-256 of the personnummer under it (ADR 0021). Default
    /// `<data_dir>/keys/registry-identity.key`, created when missing.
    pub identity_key_file: Option<std::path::PathBuf>,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        RegistryConfig {
            normal_capacity: 3,
            ivo_report_above: 4,
            reconfirmation_months: 12,
            home_request_response_days: 28,
            record_check_renewal_months: 12,
            approval_requires_evidence: true,
            jourhem_alert_days: 90,
            settling_in_min_days: 14,
            custody_reconsideration_months: 6,
            identity_key_file: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_section_is_read_by_name_and_refuses_unknown_keys() {
        let cfg = samling_kit::config::Config::from_toml(
            "[registry]\nnormal_capacity = 2\nreconfirmation_months = 6\n",
        )
        .unwrap();
        let section: RegistryConfig = cfg.section(crate::NAME).unwrap();
        assert_eq!(section.normal_capacity, 2);
        assert_eq!(section.reconfirmation_months, 6);
        assert_eq!(section.ivo_report_above, 4, "the rest keep their defaults");
        // What `serve` runs with: an approval needs its evidence (ADR 0047).
        assert!(section.approval_requires_evidence);
        assert!(crate::domain::Rules::from(&section).approval_requires_evidence);
        let off = samling_kit::config::Config::from_toml(
            "[registry]\napproval_requires_evidence = false\n",
        )
        .unwrap();
        assert!(
            !off.section::<RegistryConfig>(crate::NAME)
                .unwrap()
                .approval_requires_evidence
        );
        let cfg =
            samling_kit::config::Config::from_toml("[registry]\nnormal_capacty = 2\n").unwrap();
        let e = cfg
            .section::<RegistryConfig>(crate::NAME)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("[registry]") && e.contains("normal_capacty"),
            "{e}"
        );
    }
}
