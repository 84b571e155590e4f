//! IVO's part (ADR 0029): the homes above the IVO limit, inspections of
//! agencies as well as units (unannounced marked, findings shown to
//! everyone who reads providers and flagged on summaries for matching).

use super::{R, Registry};
use crate::domain::evidence;
use crate::domain::{RegistryError, access, home};
use crate::store;
use samling_kit::auth::{AuthContext, Role};
use samling_kit::paging::Page;
use samling_kit::reference::MunicipalityCode;
use samling_kit::{dates, ids};
use samling_proto::registry::v1::*;
use serde_json::json;

/// An inspection as recorded: validated fields; IVO's authority is "IVO".
pub(crate) struct ValidInspection {
    pub on: chrono::NaiveDate,
    pub authority: String,
    pub report_ref: String,
    pub summary: String,
    pub findings: Vec<String>,
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn validate_inspection(
    ctx: &AuthContext,
    inspected_on: Option<&samling_proto::common::v1::Date>,
    authority: &str,
    report_ref: &str,
    summary: &str,
    findings: &[String],
    today: chrono::NaiveDate,
) -> R<ValidInspection> {
    let on = evidence::done_on("inspected_on", inspected_on, today)?;
    let mut authority = evidence::short_text("authority", authority, 100)?;
    if authority.is_empty() {
        if ctx.role == Role::Ivo {
            authority = "IVO".into();
        } else {
            return Err(RegistryError::invalid("authority", "is required"));
        }
    }
    Ok(ValidInspection {
        on,
        authority,
        report_ref: evidence::short_text("report_ref", report_ref, 100)?,
        summary: evidence::short_text("summary", summary, 2000)?,
        findings: evidence::findings(findings)?,
    })
}

pub(crate) fn inspection(
    ctx: &AuthContext,
    v: ValidInspection,
    remarks: bool,
    unannounced: bool,
) -> Inspection {
    Inspection {
        id: ids::new_id_string(),
        inspected_on: Some(dates::to_proto(v.on)),
        authority: v.authority,
        report_ref: v.report_ref,
        summary: v.summary,
        remarks,
        unannounced,
        findings: v.findings,
        recorded_by: ctx.sub.clone(),
    }
}

impl Registry {
    /// Homes with more children placed than `ivo_report_above`: IVO and
    /// the office. A protected home's location is withheld from IVO as
    /// from every reader outside the office.
    pub async fn list_ivo_reports(
        &self,
        ctx: &AuthContext,
        req: &ListIvoReportsRequest,
    ) -> R<SearchHomesResponse> {
        access::ivo_reports(ctx)?;
        if !req.municipality_code.is_empty() {
            MunicipalityCode::parse(&req.municipality_code)
                .map_err(|e| RegistryError::invalid("municipality_code", e.to_string()))?;
        }
        let page = Page::from_request(req.page.as_ref())?;
        let found = store::homes::above_ivo_limit(
            &self.store.read,
            self.rules.ivo_report_above,
            &req.municipality_code,
            &page,
        )
        .await?;
        let office = access::manage_register(ctx).is_ok();
        let today = self.clock.today();
        let mut homes = Vec::with_capacity(found.len());
        for mut h in found {
            // A location filter would tell where a protected home is.
            if h.protected_identity && !office && !req.municipality_code.is_empty() {
                continue;
            }
            home::refresh_derived(&mut h, today);
            if h.protected_identity && !office {
                home::withhold_location(&mut h);
            }
            homes.push(home::summary(&h));
        }
        let (mut homes, page) = page.finish(homes, |h| h.id.clone());
        self.flag_agency_permits(&mut homes).await?;
        let ids: Vec<&str> = homes.iter().map(|h| h.id.as_str()).collect();
        self.core.audit_read(ctx, "ivo_report", &ids).await?;
        Ok(SearchHomesResponse {
            homes,
            page: Some(page),
        })
    }

    pub async fn record_agency_inspection(
        &self,
        ctx: &AuthContext,
        req: RecordAgencyInspectionRequest,
    ) -> R<Agency> {
        access::record_inspection(ctx)?;
        ids::parse_id("agency_id", &req.agency_id)?;
        let v = validate_inspection(
            ctx,
            req.inspected_on.as_ref(),
            &req.authority,
            &req.report_ref,
            &req.summary,
            &req.findings,
            self.clock.today(),
        )?;
        let tx = self
            .core
            .begin(ctx, "RecordAgencyInspection", &req.request_id, &req)
            .await?;
        let mut tx = samling_kit::replay!(tx, self, ctx);
        let mut a = store::agencies::must_get(tx.conn(), &req.agency_id).await?;
        let i = inspection(ctx, v, req.remarks, req.unannounced);
        let payload = json!({"agency_id": a.id, "inspection_id": i.id, "authority": i.authority,
                             "unannounced": i.unannounced, "remarks": i.remarks,
                             "findings": i.findings.len()});
        a.inspections.push(i);
        a.inspection_remarks = evidence::latest_remarks(&a.inspections);
        a.version += 1;
        a.updated_at = dates::now_text();
        store::agencies::save(tx.conn(), &a, false).await?;
        self.core
            .record(
                &mut tx,
                ctx,
                "agency_inspection_recorded",
                "agency",
                &a.id,
                payload,
            )
            .await?;
        tx.finish(self, ctx, a).await
    }
}
