//! Compensation's section of the configuration, `[compensation]`.

use crate::domain::Rules;
use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CompensationConfig {
    /// The policy numbers (`[compensation.rules]`): the yearly indexation.
    pub rules: Rules,
}
