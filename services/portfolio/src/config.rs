//! Portfolio's section of the configuration, `[portfolio]`.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PortfolioConfig {
    /// The age from which a child has an own view of the portfolio
    /// (seed 003 ≈6971: own access from 13); a portfolio may set its own.
    pub own_view_age: u32,
}

impl Default for PortfolioConfig {
    fn default() -> Self {
        PortfolioConfig { own_view_age: 13 }
    }
}
