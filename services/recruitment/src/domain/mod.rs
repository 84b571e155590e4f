//! Recruitment's rules, with no I/O: values in, values (or a
//! [`RecruitmentError`]) out. "Today" and "now" are parameters, never read
//! from the clock here. Records are the `samling.recruitment.v1` message
//! types (as the registry's, ADR 0003).

pub mod calendar;
pub mod error;
pub mod events;
pub mod form;
pub mod funnel;
pub mod inquiry;
pub mod investigation;
pub mod mentor;
pub mod network;
pub mod pipeline;
pub mod support;
pub mod text;
pub mod training;
pub mod withdrawal;

pub use error::RecruitmentError;

use samling_proto::recruitment::v1::{Register, Stage, Track};
use serde::Deserialize;

/// The policy numbers of recruitment, all configurable (the defaults are
/// the authority's choices, written down in docs/recruitment.md, not law).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Rules {
    /// First response to an inquiry, in working days after it arrived.
    pub first_response_working_days: u32,
    /// The same for the network-home track (a child is waiting).
    pub network_first_response_working_days: u32,
    /// From entering the investigation to leaving it.
    pub investigation_working_days: u32,
    pub network_investigation_working_days: u32,
    /// From entering training to leaving it, network-home track only (the
    /// standard track follows the course calendar).
    pub network_training_working_days: u32,
    /// References needed before the investigation is complete.
    pub required_references: u32,
    /// Registers checked for every adult of the household.
    #[serde(deserialize_with = "registers")]
    pub required_registers: Vec<Register>,
    /// Homes per mentor family unless its own cap says otherwise (≈10,
    /// seed 003 lines 11598–11600).
    pub mentor_cap: u32,
    /// A closing conversation after an ended placement, in working days.
    pub closing_conversation_working_days: u32,
    /// The same after an unplanned end (breakdown): sooner.
    pub unplanned_closing_conversation_working_days: u32,
    /// Evening and weekend support after approval, in months.
    pub out_of_hours_support_months: u32,
    /// The public form: sent no sooner than this after the token was issued.
    pub form_min_fill_seconds: u32,
    /// … and no later than this.
    pub form_max_age_seconds: u32,
}

fn registers<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Register>, D::Error> {
    let names = Vec::<String>::deserialize(d)?;
    names
        .iter()
        .map(|n| {
            Register::from_str_name(n)
                .filter(|r| *r != Register::Unspecified)
                .ok_or_else(|| serde::de::Error::custom(format!("unknown register {n}")))
        })
        .collect()
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            first_response_working_days: 5,
            network_first_response_working_days: 1,
            investigation_working_days: 80,
            network_investigation_working_days: 20,
            network_training_working_days: 60,
            required_references: 2,
            required_registers: vec![Register::CriminalRecords, Register::SocialServices],
            mentor_cap: 10,
            closing_conversation_working_days: 20,
            unplanned_closing_conversation_working_days: 5,
            out_of_hours_support_months: 12,
            form_min_fill_seconds: 5,
            form_max_age_seconds: 24 * 3600,
        }
    }
}

impl Rules {
    /// Working days for the first response on this track.
    pub fn first_response_days(&self, track: Track) -> u32 {
        match track {
            Track::NetworkHome => self.network_first_response_working_days,
            _ => self.first_response_working_days,
        }
    }

    /// The deadline of a stage on a track, in working days after entering
    /// it; `None` where the stage has none (the inquiry's is the first
    /// response, kept on the case).
    pub fn stage_working_days(&self, track: Track, stage: Stage) -> Option<u32> {
        match (track, stage) {
            (Track::NetworkHome, Stage::Inquiry) => Some(self.network_first_response_working_days),
            (_, Stage::Inquiry) => Some(self.first_response_working_days),
            (Track::NetworkHome, Stage::Investigation) => {
                Some(self.network_investigation_working_days)
            }
            (_, Stage::Investigation) => Some(self.investigation_working_days),
            (Track::NetworkHome, Stage::Training) => Some(self.network_training_working_days),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_default_and_read_from_config_text() {
        let r = Rules::default();
        assert_eq!(r.mentor_cap, 10);
        assert_eq!(r.first_response_days(Track::Standard), 5);
        assert_eq!(r.first_response_days(Track::NetworkHome), 1);
        assert!(
            r.stage_working_days(Track::NetworkHome, Stage::Investigation)
                < r.stage_working_days(Track::Standard, Stage::Investigation)
        );
        assert_eq!(r.stage_working_days(Track::Standard, Stage::Training), None);

        let r: Rules = serde_json::from_str(
            r#"{"mentor_cap": 8, "required_registers": ["REGISTER_CRIMINAL_RECORDS", "REGISTER_SUSPICIONS"]}"#,
        )
        .unwrap();
        assert_eq!(r.mentor_cap, 8);
        assert_eq!(
            r.required_registers,
            vec![Register::CriminalRecords, Register::Suspicions]
        );
        assert_eq!(r.first_response_working_days, 5);
        let err = serde_json::from_str::<Rules>(r#"{"required_registers": ["POLICE"]}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown register POLICE"), "{err}");
        assert!(serde_json::from_str::<Rules>(r#"{"mentor_capp": 8}"#).is_err());
    }
}
