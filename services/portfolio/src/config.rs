//! Portfolio's section of the configuration, `[portfolio]`.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PortfolioConfig {
    /// The age from which a child has an own view of the portfolio
    /// (seed 003 ≈6971: own access from 13); a portfolio may set its own.
    pub own_view_age: u32,
    /// The region's prescription-credential signing key (a hex Ed25519
    /// seed). Unset: `<data_dir>/keys/portfolio-credential-<region>.key`,
    /// made (0600) at first start. Every replica of a region must use the
    /// same key, or a credential one issued is invalid at another.
    pub credential_key_file: Option<std::path::PathBuf>,
    /// Retention (ADR 0043): the age at which a portfolio is archived
    /// (18–100; aftercare runs to 25).
    pub archive_age: u32,
    /// …but no sooner than this many years after the care ended (0–25).
    pub archive_years_after_care_end: u32,
    /// How often the service runs the retention job (seconds; 0: never,
    /// only `RunRetention`). Idempotent: running it more often only costs
    /// a scan.
    pub retention_interval_secs: u64,
}

impl Default for PortfolioConfig {
    fn default() -> Self {
        PortfolioConfig {
            own_view_age: 13,
            credential_key_file: None,
            archive_age: 25,
            archive_years_after_care_end: 1,
            retention_interval_secs: 6 * 3600,
        }
    }
}
