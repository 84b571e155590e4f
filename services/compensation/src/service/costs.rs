//! Costs (ADR 0049): the cost calculator (nothing stored) and cost
//! transparency — an agency's price split per placement, recorded by
//! finance or the placing municipality, compared per home type.
//!
//! The placement is the registry's, as compensation's read of the
//! registry's feed knows it (`placements`, with the placing municipality the
//! `registry.placement_created` event names); the registry's own tables are
//! never read. Access is checked before a replay.

use super::access::{is_finance, refused};
use super::{Compensation, R};
use crate::domain::{CompensationError, costs};
use crate::store;
use samling_kit::auth::{AuthContext, Role};
use samling_kit::error::Reason;
use samling_kit::ids::parse_id;
use samling_kit::service::{Answer, Service};
use samling_proto::compensation::v1::*;
use samling_proto::registry::v1::HomeType;
use serde_json::json;

/// Staff: every signed-in role but a child, a guardian and a family home.
fn staff(ctx: &AuthContext, what: &str) -> R<()> {
    if ctx.is_public() || matches!(ctx.role, Role::Child | Role::Guardian | Role::FamilyHome) {
        return Err(refused(
            Reason::ForbiddenRole,
            format!("a {} may not {what}", ctx.role.as_str()),
        ));
    }
    Ok(())
}

/// May `ctx` see (and record) the price of a placement placed by
/// `municipality_code`? Finance; the placing municipality's caseworkers and
/// managers (another municipality's is "not found"); other roles refused.
fn see_price(ctx: &AuthContext, placement_id: &str, municipality_code: &str) -> R<()> {
    match ctx.role {
        _ if is_finance(ctx) => Ok(()),
        r if r.is_municipal() => {
            let own = ctx.municipality.as_ref().map(|m| m.as_str());
            if !municipality_code.is_empty() && own == Some(municipality_code) {
                Ok(())
            } else {
                Err(CompensationError::not_found(format!(
                    "placement {placement_id}"
                )))
            }
        }
        _ => Err(refused(
            Reason::ForbiddenRole,
            format!(
                "a {} may not read or record agencies' prices",
                ctx.role.as_str()
            ),
        )),
    }
}

impl Compensation {
    /// A cost calculation (seed 004): nothing is stored, nothing audited.
    pub async fn calculate_costs(
        &self,
        ctx: &AuthContext,
        req: CalculateCostsRequest,
    ) -> R<CostCalculation> {
        staff(ctx, "calculate costs")?;
        costs::calculate(&req)
    }

    /// The placing municipality of a placement the registry's feed has
    /// shown: the event's, else its fee agreement's ('' when neither names
    /// one); `None` when the feed has not shown it.
    async fn placing_municipality(&self, placement_id: &str) -> R<Option<String>> {
        let Some(code) =
            store::costs::placement_municipality(&self.store.read, placement_id).await?
        else {
            return Ok(None);
        };
        if !code.is_empty() {
            return Ok(Some(code));
        }
        let agreement = store::agreements::of_placement(&self.store.read, placement_id).await?;
        Ok(Some(
            agreement.map(|a| a.municipality_code).unwrap_or_default(),
        ))
    }

    pub async fn record_price_split(
        &self,
        ctx: &AuthContext,
        req: RecordPriceSplitRequest,
    ) -> R<PriceSplitRecord> {
        if !is_finance(ctx) && !ctx.role.is_municipal() {
            return Err(refused(
                Reason::ForbiddenRole,
                format!(
                    "a {} may not record agencies' prices: finance or the placing municipality does",
                    ctx.role.as_str()
                ),
            ));
        }
        let placement_id = parse_id("placement_id", &req.placement_id)?.to_string();
        let agency_id = parse_id("agency_id", &req.agency_id)?.to_string();
        let home_type = HomeType::try_from(req.home_type)
            .ok()
            .filter(|t| *t != HomeType::Unspecified)
            .ok_or_else(|| CompensationError::invalid("home_type", "is required"))?;
        let (split, total) = costs::check_split("split", req.split.as_ref())?;
        // Access before the replay: a placement the feed has not shown, or
        // another municipality's, is not found to a municipality.
        let municipality = self.placing_municipality(&placement_id).await?;
        match &municipality {
            Some(code) => see_price(ctx, &placement_id, code)?,
            None if ctx.role.is_municipal() => {
                return Err(CompensationError::not_found(format!(
                    "placement {placement_id}"
                )));
            }
            None => {
                return Err(CompensationError::PreconditionOn {
                    field: "placement_id".into(),
                    message: format!(
                        "the registry's feed has not shown placement {placement_id} (yet)"
                    ),
                });
            }
        }
        let w = self
            .core()
            .begin(ctx, "RecordPriceSplit", &req.request_id, &req)
            .await?;
        let mut w = samling_kit::replay!(w, self, ctx);
        let existing = store::costs::get(w.conn(), &placement_id).await?;
        let version = existing.as_ref().map(|p| p.version).unwrap_or(0);
        if req.expected_version != 0 && req.expected_version != version {
            return Err(CompensationError::Conflict(format!(
                "expected_version: the price split of placement {placement_id} is at version {version}, not {}",
                req.expected_version
            )));
        }
        let p = PriceSplitRecord {
            placement_id: placement_id.clone(),
            version: version + 1,
            agency_id,
            home_type: home_type as i32,
            municipality_code: municipality.unwrap_or_default(),
            split: Some(split),
            total_per_day_ore: total,
            recorded_at: self.now_text(),
            recorded_by: ctx.sub.clone(),
        };
        store::costs::save(w.conn(), &p, existing.is_none()).await?;
        self.core()
            .record(
                &mut w,
                ctx,
                "price_split_recorded",
                "placement",
                &p.placement_id,
                json!({"placement_id": p.placement_id, "agency_id": p.agency_id,
                       "home_type": home_type.as_str_name(), "version": p.version,
                       "total_per_day_ore": p.total_per_day_ore}),
            )
            .await?;
        w.finish(self, ctx, p).await
    }

    pub async fn get_price_split(
        &self,
        ctx: &AuthContext,
        req: GetPriceSplitRequest,
    ) -> R<PriceSplitRecord> {
        let placement_id = parse_id("placement_id", &req.placement_id)?.to_string();
        if !is_finance(ctx) && !ctx.role.is_municipal() {
            see_price(ctx, &placement_id, "")?;
        }
        let hidden =
            || CompensationError::not_found(format!("price split of placement {placement_id}"));
        let p = store::costs::get(&self.store.read, &placement_id)
            .await?
            .ok_or_else(hidden)?;
        see_price(ctx, &placement_id, &p.municipality_code).map_err(|_| hidden())?;
        self.core()
            .audit_read(ctx, "price_split", &[&p.placement_id])
            .await?;
        p.view(self, ctx).await
    }

    /// The region's prices per home type; the aggregate-only roles see
    /// counts below 5 as "<5" (and what would give one away as ".."), and
    /// nobody sees the averages of a cell of fewer than 5 placements.
    pub async fn compare_prices(
        &self,
        ctx: &AuthContext,
        req: ComparePricesRequest,
    ) -> R<PriceComparison> {
        let allowed = is_finance(ctx) || ctx.role.is_municipal() || ctx.role.aggregates_only();
        if !allowed {
            return Err(refused(
                Reason::ForbiddenRole,
                format!("a {} may not compare agencies' prices", ctx.role.as_str()),
            ));
        }
        let home_type = HomeType::try_from(req.home_type)
            .map_err(|_| CompensationError::invalid("home_type", "is not a home type"))?;
        let prices = store::costs::prices(&self.store.read, home_type).await?;
        let mut cells = costs::compare(&prices);
        if ctx.role.aggregates_only() {
            costs::suppress(&mut cells);
        }
        Ok(PriceComparison {
            region: self
                .region
                .as_ref()
                .map(|r| r.as_str().to_string())
                .unwrap_or_default(),
            cells,
        })
    }
}

/// A placement's price: finance and the placing municipality.
impl Answer<Compensation> for PriceSplitRecord {
    fn record(&self) -> (&'static str, String) {
        ("price_split", self.placement_id.clone())
    }

    async fn view(self, _svc: &Compensation, ctx: &AuthContext) -> R<Self> {
        see_price(ctx, &self.placement_id, &self.municipality_code)?;
        Ok(self)
    }
}
