//! Recruitment's section of the configuration, `[recruitment]`.

use crate::domain::Rules;
use serde::Deserialize;
use std::path::PathBuf;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RecruitmentConfig {
    /// The policy numbers (`[recruitment.rules]`): deadlines in working
    /// days, references and registers required, the mentor cap, the public
    /// form's timing. Defaults in `domain::Rules`.
    pub rules: Rules,
    /// The key that signs the public form's tokens (≥ 32 bytes, hex);
    /// created under the data dir in development when absent.
    pub form_token_key_file: Option<PathBuf>,
    /// The matching standard (`[recruitment.matching]`): its weights file,
    /// the national ranking's deadline, the registry feed's polling.
    pub matching: crate::service::matching::MatchingSettings,
}
