//! Fee schedules: versions created whole, read by everyone signed in, and
//! the yearly indexation as a new version.

use super::access::{finance, signed_in};
use super::{Compensation, R};
use crate::domain::{CompensationError, schedule};
use crate::store;
use samling_kit::auth::AuthContext;
use samling_kit::dates;
use samling_kit::ids::new_id_string;
use samling_kit::paging::Page;
use samling_kit::service::Service;
use samling_proto::compensation::v1::*;
use serde_json::json;

impl Compensation {
    pub async fn create_fee_schedule(
        &self,
        ctx: &AuthContext,
        req: CreateFeeScheduleRequest,
    ) -> R<FeeSchedule> {
        finance(ctx, "create fee schedules")?;
        let code = schedule::check_code("code", &req.code)?;
        let from = dates::from_proto("effective_from", req.effective_from.as_ref())?;
        let (arvode, omkostnad) = schedule::check_rates(&req.arvode, &req.omkostnad)?;
        let w = self
            .core()
            .begin(ctx, "CreateFeeSchedule", &req.request_id, &req)
            .await?;
        let mut w = samling_kit::replay!(w, self, ctx);
        let newest = store::schedules::newest(w.conn(), &code).await?;
        let version = schedule::next_version(newest.as_ref(), from)?;
        let s = FeeSchedule {
            id: new_id_string(),
            code,
            version,
            effective_from: Some(dates::to_proto(from)),
            arvode,
            omkostnad,
            indexed_from_version: 0,
            index_basis_points: 0,
            created_at: self.now_text(),
            created_by: ctx.sub.clone(),
        };
        self.insert_schedule(&mut w, ctx, &s, "fee_schedule_created")
            .await?;
        w.finish(self, ctx, s).await
    }

    pub async fn index_fee_schedule(
        &self,
        ctx: &AuthContext,
        req: IndexFeeScheduleRequest,
    ) -> R<FeeSchedule> {
        finance(ctx, "index fee schedules")?;
        let code = schedule::check_code("code", &req.code)?;
        let from = dates::from_proto("effective_from", req.effective_from.as_ref())?;
        let basis_points = req
            .basis_points
            .or(self.rules.indexation_basis_points)
            .ok_or_else(|| {
                CompensationError::invalid(
                    "basis_points",
                    "is required: no [compensation.rules] indexation_basis_points is configured",
                )
            })?;
        let w = self
            .core()
            .begin(ctx, "IndexFeeSchedule", &req.request_id, &req)
            .await?;
        let mut w = samling_kit::replay!(w, self, ctx);
        let newest = store::schedules::newest(w.conn(), &code)
            .await?
            .ok_or_else(|| CompensationError::not_found(format!("fee schedule {code}")))?;
        let version = schedule::next_version(Some(&newest), from)?;
        let arvode = schedule::indexed_rates(&newest, basis_points)?;
        let s = FeeSchedule {
            id: new_id_string(),
            code,
            version,
            effective_from: Some(dates::to_proto(from)),
            arvode,
            omkostnad: newest.omkostnad.clone(),
            indexed_from_version: newest.version,
            index_basis_points: basis_points,
            created_at: self.now_text(),
            created_by: ctx.sub.clone(),
        };
        self.insert_schedule(&mut w, ctx, &s, "fee_schedule_indexed")
            .await?;
        w.finish(self, ctx, s).await
    }

    async fn insert_schedule(
        &self,
        w: &mut samling_kit::service::Envelope,
        ctx: &AuthContext,
        s: &FeeSchedule,
        change: &str,
    ) -> R<()> {
        store::schedules::insert(w.conn(), s).await?;
        self.core()
            .record(
                w,
                ctx,
                change,
                "fee_schedule",
                &s.id,
                json!({"fee_schedule_id": s.id, "code": s.code, "version": s.version,
                       "effective_from": store::day_text(s.effective_from.as_ref()),
                       "index_basis_points": s.index_basis_points}),
            )
            .await?;
        Ok(())
    }

    pub async fn get_fee_schedule(
        &self,
        ctx: &AuthContext,
        req: GetFeeScheduleRequest,
    ) -> R<FeeSchedule> {
        signed_in(ctx, "read fee schedules")?;
        let code = schedule::check_code("code", &req.code)?;
        let found = if req.version == 0 {
            store::schedules::newest(&self.store.read, &code).await?
        } else {
            store::schedules::version(&self.store.read, &code, req.version).await?
        };
        let s = found.ok_or_else(|| {
            CompensationError::not_found(match req.version {
                0 => format!("fee schedule {code}"),
                v => format!("fee schedule {code} version {v}"),
            })
        })?;
        self.core()
            .audit_read(ctx, "fee_schedule", &[&s.id])
            .await?;
        Ok(s)
    }

    pub async fn list_fee_schedules(
        &self,
        ctx: &AuthContext,
        req: ListFeeSchedulesRequest,
    ) -> R<ListFeeSchedulesResponse> {
        signed_in(ctx, "read fee schedules")?;
        let code = match req.code.trim() {
            "" => String::new(),
            c => schedule::check_code("code", c)?,
        };
        let page = Page::from_request(req.page.as_ref())?;
        let rows = store::schedules::list(&self.store.read, &code, &page).await?;
        let (schedules, page) = page.finish(rows, store::schedules::sort_key);
        Ok(ListFeeSchedulesResponse {
            schedules,
            page: Some(page),
        })
    }
}
