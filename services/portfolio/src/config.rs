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
}

impl Default for PortfolioConfig {
    fn default() -> Self {
        PortfolioConfig {
            own_view_age: 13,
            credential_key_file: None,
        }
    }
}
