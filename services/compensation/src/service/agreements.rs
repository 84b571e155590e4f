//! Agreements: made by finance on a schedule version for one placement,
//! deviations added with reasons, read by finance, the home and the placing
//! municipality, and what an agreement pays for a month.

use super::access::{agreement_scope, finance, see_agreement};
use super::{Compensation, R};
use crate::domain::{CompensationError, agreement, schedule};
use crate::store;
use samling_kit::auth::AuthContext;
use samling_kit::dates;
use samling_kit::ids::{new_id_string, parse_id};
use samling_kit::paging::Page;
use samling_kit::reference::MunicipalityCode;
use samling_kit::service::{Answer, Service};
use samling_proto::compensation::v1::*;
use serde_json::json;

impl Compensation {
    pub async fn create_agreement(
        &self,
        ctx: &AuthContext,
        req: CreateAgreementRequest,
    ) -> R<Agreement> {
        finance(ctx, "make agreements")?;
        let placement_id = parse_id("placement_id", &req.placement_id)?.to_string();
        let home_id = parse_id("home_id", &req.home_id)?.to_string();
        let municipality = MunicipalityCode::parse(req.municipality_code.trim()).map_err(|_| {
            CompensationError::invalid("municipality_code", "is not a Swedish municipality code")
        })?;
        let code = schedule::check_code("schedule_code", &req.schedule_code)?;
        let terms = agreement::check_terms(
            req.level,
            req.household,
            req.zone,
            req.child_birth_date.as_ref(),
            req.starts_on.as_ref(),
            req.ends_on.as_ref(),
        )?;
        let custody =
            dates::opt_from_proto("custody_transfer_on", req.custody_transfer_on.as_ref())?;
        if custody.is_some_and(|c| c < terms.starts_on) {
            return Err(CompensationError::invalid(
                "custody_transfer_on",
                "must not be before starts_on",
            ));
        }
        if custody.is_some() && req.contracted_jourhem {
            return Err(CompensationError::invalid(
                "custody_transfer_on",
                "a contracted jourhem place has no custody transfer",
            ));
        }
        let custody = custody.map(dates::to_proto);
        let w = self
            .core()
            .begin(ctx, "CreateAgreement", &req.request_id, &req)
            .await?;
        let mut w = samling_kit::replay!(w, self, ctx);
        let s = if req.schedule_version == 0 {
            store::schedules::effective_on(w.conn(), &code, &dates::date_text(terms.starts_on))
                .await?
                .ok_or_else(|| {
                    CompensationError::invalid(
                        "schedule_code",
                        "has no version in effect on starts_on",
                    )
                })?
        } else {
            store::schedules::version(w.conn(), &code, req.schedule_version)
                .await?
                .ok_or_else(|| {
                    CompensationError::invalid(
                        "schedule_version",
                        "is not a version of the schedule",
                    )
                })?
        };
        if store::agreements::of_placement(w.conn(), &placement_id)
            .await?
            .is_some()
        {
            return Err(CompensationError::precondition(format!(
                "placement {placement_id} already has an agreement"
            )));
        }
        let a = Agreement {
            id: new_id_string(),
            placement_id,
            home_id,
            municipality_code: municipality.as_str().to_string(),
            schedule_code: s.code.clone(),
            schedule_version: s.version,
            follow_indexation: req.follow_indexation,
            level: terms.level as i32,
            household: terms.household as i32,
            zone: terms.zone as i32,
            child_birth_date: Some(dates::to_proto(terms.child_birth_date)),
            starts_on: Some(dates::to_proto(terms.starts_on)),
            ends_on: terms.ends_on.map(dates::to_proto),
            deviations: Vec::new(),
            version: 1,
            created_at: self.now_text(),
            created_by: ctx.sub.clone(),
            contracted_jourhem: req.contracted_jourhem,
            custody_transfer_on: custody,
            insured: req.insured,
            pension_eligible: req.pension_eligible,
        };
        store::agreements::save(w.conn(), &a, true).await?;
        // Ids, codes and the booking day only: never the child's birth date.
        self.core()
            .record(
                &mut w,
                ctx,
                "agreement_created",
                "agreement",
                &a.id,
                json!({"agreement_id": a.id, "placement_id": a.placement_id, "home_id": a.home_id,
                       "municipality_code": a.municipality_code, "schedule_code": a.schedule_code,
                       "schedule_version": a.schedule_version,
                       "level": terms.level.as_str_name(),
                       "starts_on": store::day_text(a.starts_on.as_ref())}),
            )
            .await?;
        w.finish(self, ctx, a).await
    }

    pub async fn add_deviation(&self, ctx: &AuthContext, req: AddDeviationRequest) -> R<Agreement> {
        finance(ctx, "add deviations")?;
        let id = parse_id("agreement_id", &req.agreement_id)?.to_string();
        let w = self
            .core()
            .begin(ctx, "AddDeviation", &req.request_id, &req)
            .await?;
        let mut w = samling_kit::replay!(w, self, ctx);
        let mut a = store::agreements::get(w.conn(), &id)
            .await?
            .ok_or_else(|| CompensationError::not_found(format!("agreement {id}")))?;
        if req.expected_version != 0 && req.expected_version != a.version {
            return Err(CompensationError::Conflict(format!(
                "expected_version: agreement {id} is at version {}, not {}",
                a.version, req.expected_version
            )));
        }
        let d = agreement::check_deviation(
            &a,
            &new_id_string(),
            req.component,
            req.monthly_adjustment_ore,
            req.reason,
            &req.note,
            req.valid_from.as_ref(),
            req.valid_to.as_ref(),
            &ctx.sub,
            &self.now_text(),
        )?;
        let payload = json!({"agreement_id": a.id, "deviation_id": d.id,
            "component": d.component().as_str_name(), "reason": d.reason().as_str_name(),
            "monthly_adjustment_ore": d.monthly_adjustment_ore,
            "valid_from": store::day_text(d.valid_from.as_ref())});
        a.deviations.push(d);
        a.version += 1;
        store::agreements::save(w.conn(), &a, false).await?;
        self.core()
            .record(&mut w, ctx, "deviation_added", "agreement", &a.id, payload)
            .await?;
        w.finish(self, ctx, a).await
    }

    /// The agreement `id` as `ctx` may see it (others' are "not found").
    async fn agreement_for(&self, ctx: &AuthContext, id: &str) -> R<Agreement> {
        let id = parse_id("agreement_id", id)?.to_string();
        let a = store::agreements::get(&self.store.read, &id)
            .await?
            .ok_or_else(|| CompensationError::not_found(format!("agreement {id}")))?;
        see_agreement(ctx, &a)?;
        Ok(a)
    }

    pub async fn get_agreement(&self, ctx: &AuthContext, req: GetAgreementRequest) -> R<Agreement> {
        let a = self.agreement_for(ctx, &req.agreement_id).await?;
        self.core().audit_read(ctx, "agreement", &[&a.id]).await?;
        a.view(self, ctx).await
    }

    pub async fn list_agreements(
        &self,
        ctx: &AuthContext,
        req: ListAgreementsRequest,
    ) -> R<ListAgreementsResponse> {
        let (home_id, municipality) = agreement_scope(ctx, &req.home_id, &req.municipality_code)?;
        let page = Page::from_request(req.page.as_ref())?;
        let rows =
            store::agreements::list(&self.store.read, &home_id, &municipality, &page).await?;
        let (rows, page) = page.finish(rows, |a| a.id.clone());
        let mut agreements = Vec::with_capacity(rows.len());
        for a in rows {
            agreements.push(a.view(self, ctx).await?);
        }
        let ids: Vec<&str> = agreements.iter().map(|a| a.id.as_str()).collect();
        self.core().audit_read(ctx, "agreement", &ids).await?;
        Ok(ListAgreementsResponse {
            agreements,
            page: Some(page),
        })
    }

    pub async fn quote_month(&self, ctx: &AuthContext, req: QuoteMonthRequest) -> R<MonthQuote> {
        let a = self.agreement_for(ctx, &req.agreement_id).await?;
        let (first, _) = agreement::month_bounds(req.year, req.month)?;
        let versions = store::schedules::all_versions(&self.store.read, &a.schedule_code).await?;
        let s =
            schedule::version_for_month(&versions, a.schedule_version, a.follow_indexation, first)?;
        let q = agreement::quote_month(&a, s, req.year, req.month)?;
        self.core().audit_read(ctx, "agreement", &[&a.id]).await?;
        Ok(q)
    }
}
