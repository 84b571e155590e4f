//! The state grants' distribution key (a computation: nothing is stored).

use super::access::grants;
use super::{Compensation, R};
use crate::domain::CompensationError;
use crate::domain::grants::{Factors, distribute};
use samling_kit::auth::AuthContext;
use samling_kit::reference::MunicipalityCode;
use samling_proto::compensation::v1::*;

impl Compensation {
    pub async fn distribute_state_grant(
        &self,
        ctx: &AuthContext,
        req: DistributeStateGrantRequest,
    ) -> R<StateGrantDistribution> {
        grants(ctx)?;
        if !(2000..=2200).contains(&req.year) {
            return Err(CompensationError::invalid("year", "must be 2000..=2200"));
        }
        let mut factors = Vec::with_capacity(req.municipalities.len());
        for (i, m) in req.municipalities.iter().enumerate() {
            let code = MunicipalityCode::parse(m.municipality_code.trim()).map_err(|_| {
                CompensationError::invalid(
                    format!("municipalities[{i}].municipality_code"),
                    "is not a Swedish municipality code",
                )
            })?;
            factors.push(Factors {
                municipality_code: code.as_str().to_string(),
                values: [
                    m.purchase_costs,
                    m.placed_in_family_homes,
                    m.placed_in_jourhem,
                    m.social_assistance,
                    m.unemployed,
                ],
            });
        }
        let shares = distribute(req.available_kr, &factors)?;
        let distributed_kr = shares.iter().map(|s| s.granted_kr).sum();
        Ok(StateGrantDistribution {
            year: req.year,
            available_kr: req.available_kr,
            distributed_kr,
            shares: shares
                .into_iter()
                .map(|s| GrantShare {
                    municipality_code: s.municipality_code,
                    granted_kr: s.granted_kr,
                    share_ppm: s.share_ppm,
                    remainder_krona: s.remainder_krona,
                })
                .collect(),
        })
    }
}
