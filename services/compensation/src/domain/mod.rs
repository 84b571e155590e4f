//! Compensation's rules, with no I/O: values in, values (or a
//! [`CompensationError`]) out. "Today" is a parameter, never read from a
//! clock here. Records are the `samling.compensation.v1` message types (as
//! the registry's, ADR 0003). Every rounding rule is a function of
//! [`rounding`] and is written down in docs/compensation.md.

pub mod agreement;
pub mod claims;
pub mod costs;
pub mod error;
pub mod grants;
pub mod ledger;
pub mod ledger_csv;
pub mod names;
pub mod pain001;
pub mod payments;
pub mod rounding;
pub mod schedule;

pub use error::CompensationError;

use serde::Deserialize;

/// The policy numbers of compensation (`[compensation.rules]`), all
/// configurable.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Rules {
    /// The yearly indexation of arvode in hundredths of a percent (350 =
    /// 3.50 %: the latest known average wage increase of the care
    /// professions, seed 003 ≈ line 10403), used when `IndexFeeSchedule`
    /// names none. Unset: the request must name it.
    pub indexation_basis_points: Option<i32>,
    /// The preliminary tax table on arvode (rule R7): brackets by the
    /// home's taxable amount of the month, ascending, the last unbounded.
    pub tax_table: Vec<payments::TaxBracket>,
    /// The region's own account, the debtor of its payment files
    /// (`[compensation.rules.payer]`); unset: no file can be made.
    pub payer: Option<pain001::Payer>,
    /// The ceiling of one claim per kind (rule K3,
    /// `[compensation.rules.claim_ceilings]`).
    pub claim_ceilings: crate::domain::claims::ClaimCeilings,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            indexation_basis_points: None,
            // A flat 30 %: replace with the region's table (Skatteverket's
            // column for the municipality's tax rate).
            tax_table: vec![payments::TaxBracket {
                up_to_ore: None,
                basis_points: 3000,
            }],
            payer: None,
            claim_ceilings: claims::ClaimCeilings::default(),
        }
    }
}

impl Rules {
    /// Refuse a configuration outside what indexation accepts.
    pub fn check(&self) -> Result<(), CompensationError> {
        if let Some(bp) = self.indexation_basis_points
            && !(-5000..=5000).contains(&bp)
        {
            return Err(CompensationError::invalid(
                "compensation.rules.indexation_basis_points",
                "must be -5000..=5000",
            ));
        }
        payments::check_tax_table(&self.tax_table)?;
        if let Some(p) = &self.payer {
            p.check("compensation.rules.payer")?;
        }
        self.claim_ceilings
            .check("compensation.rules.claim_ceilings")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use samling_kit::error::ServiceError;

    #[test]
    fn rules_read_from_config_text() {
        assert_eq!(Rules::default().indexation_basis_points, None);
        let r: Rules = serde_json::from_str(r#"{"indexation_basis_points": 350}"#).unwrap();
        assert_eq!(r.indexation_basis_points, Some(350));
        assert!(r.check().is_ok());
        let bad: Rules = serde_json::from_str(r#"{"indexation_basis_points": 9000}"#).unwrap();
        assert_eq!(
            bad.check().unwrap_err().field(),
            Some("compensation.rules.indexation_basis_points")
        );
        assert!(serde_json::from_str::<Rules>(r#"{"indexation": 1}"#).is_err());
    }
}
