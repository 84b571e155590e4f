//! The evidence behind an approval (ADR 0028): training, the standard
//! investigation, follow-up home visits (and IVO's), and the register
//! extracts' renewal with its overdue list.

use super::{R, Registry};
use crate::domain::evidence;
use crate::domain::{RegistryError, access, home};
use crate::store;
use samling_kit::auth::AuthContext;
use samling_kit::paging::Page;
use samling_kit::reference::MunicipalityCode;
use samling_kit::{dates, ids};
use samling_proto::registry::v1::*;
use serde_json::json;

fn municipality(field: &str, s: &str) -> R<MunicipalityCode> {
    MunicipalityCode::parse(s).map_err(|e| RegistryError::invalid(field, e.to_string()))
}

impl Registry {
    /// A municipal caller records evidence only about a home it has a
    /// documented link to (its municipality, assessment or approval; for a
    /// visit also a child it placed there). The office needs none.
    async fn check_evidence_link(
        &self,
        tx: &mut samling_kit::tx::WriteTx,
        ctx: &AuthContext,
        home_id: &str,
        m: &str,
        placing_counts: bool,
    ) -> R<()> {
        if !ctx.role.is_municipal() {
            return Ok(());
        }
        let current = store::homes::must_get(tx.conn(), home_id).await?;
        if access::approval_link(ctx, &current, m).is_ok() {
            return Ok(());
        }
        if placing_counts {
            let placing = store::placements::placing(tx.conn(), home_id).await?;
            if placing.ever.iter().any(|c| c == m) {
                return Ok(());
            }
        }
        access::approval_link(ctx, &current, m)
    }

    pub async fn record_training(&self, ctx: &AuthContext, req: RecordTrainingRequest) -> R<Home> {
        let m = municipality("municipality_code", &req.municipality_code)?;
        access::record_evidence(ctx, m.as_str())?;
        ids::parse_id("home_id", &req.home_id)?;
        let on = evidence::done_on(
            "completed_on",
            req.completed_on.as_ref(),
            self.clock.today(),
        )?;
        if !req.course_id.is_empty() {
            ids::parse_id("course_id", &req.course_id)?;
        }
        let name = evidence::short_text("course_name", &req.course_name, 200)?;
        if req.course_id.is_empty() && name.is_empty() {
            return Err(RegistryError::invalid(
                "course_id",
                "one of course_id and course_name is required",
            ));
        }
        let mut tx = self
            .core
            .begin(ctx, "RecordTraining", &req.request_id, &req)
            .await?;
        self.check_evidence_link(&mut tx, ctx, &req.home_id, m.as_str(), false)
            .await?;
        let mut tx = samling_kit::replay!(tx, self, ctx);
        let t = TrainingRecord {
            id: ids::new_id_string(),
            course_id: req.course_id.clone(),
            course_name: name,
            completed_on: Some(dates::to_proto(on)),
            municipality_code: m.as_str().into(),
            recorded_by: ctx.sub.clone(),
        };
        let h = self
            .change_home(
                &mut tx,
                ctx,
                &req.home_id,
                "home_training_recorded",
                "training completed",
                |h| {
                    let extra = json!({"training_id": t.id, "course_id": t.course_id,
                                       "recording_municipality": m.as_str()});
                    h.trainings.push(t);
                    Ok(extra)
                },
            )
            .await?;
        tx.finish(self, ctx, h).await
    }

    pub async fn record_investigation(
        &self,
        ctx: &AuthContext,
        req: RecordInvestigationRequest,
    ) -> R<Home> {
        let m = municipality("municipality_code", &req.municipality_code)?;
        access::record_evidence(ctx, m.as_str())?;
        ids::parse_id("home_id", &req.home_id)?;
        let methods = evidence::methods(&req.methods)?;
        let result = InvestigationResult::try_from(req.result)
            .ok()
            .filter(|r| *r != InvestigationResult::Unspecified)
            .ok_or_else(|| RegistryError::invalid("result", "is required"))?;
        let on = evidence::done_on(
            "completed_on",
            req.completed_on.as_ref(),
            self.clock.today(),
        )?;
        if !req.recruitment_case_id.is_empty() {
            ids::parse_id("recruitment_case_id", &req.recruitment_case_id)?;
        }
        let mut tx = self
            .core
            .begin(ctx, "RecordInvestigation", &req.request_id, &req)
            .await?;
        self.check_evidence_link(&mut tx, ctx, &req.home_id, m.as_str(), false)
            .await?;
        let mut tx = samling_kit::replay!(tx, self, ctx);
        let record = InvestigationRecord {
            id: ids::new_id_string(),
            methods: methods.iter().map(|m| *m as i32).collect(),
            result: result as i32,
            completed_on: Some(dates::to_proto(on)),
            municipality_code: m.as_str().into(),
            evidence_based: evidence::evidence_based(&methods),
            recruitment_case_id: req.recruitment_case_id.clone(),
            recorded_by: ctx.sub.clone(),
        };
        let h = self
            .change_home(
                &mut tx,
                ctx,
                &req.home_id,
                "home_investigation_recorded",
                "standard investigation",
                |h| {
                    // The result stays out of the event: it is about the household.
                    let extra = json!({"investigation_id": record.id,
                                       "evidence_based": record.evidence_based,
                                       "methods": methods.iter().map(|m| m.as_str_name()).collect::<Vec<_>>(),
                                       "investigating_municipality": m.as_str()});
                    h.investigation_records.push(record);
                    Ok(extra)
                },
            )
            .await?;
        tx.finish(self, ctx, h).await
    }

    pub async fn record_home_visit(
        &self,
        ctx: &AuthContext,
        req: RecordHomeVisitRequest,
    ) -> R<Home> {
        let code = if req.municipality_code.is_empty() {
            String::new()
        } else {
            municipality("municipality_code", &req.municipality_code)?
                .as_str()
                .to_string()
        };
        let visitor = access::record_home_visit(ctx, &code)?;
        ids::parse_id("home_id", &req.home_id)?;
        let on = evidence::done_on("visited_on", req.visited_on.as_ref(), self.clock.today())?;
        let findings = evidence::findings(&req.findings)?;
        let mut tx = self
            .core
            .begin(ctx, "RecordHomeVisit", &req.request_id, &req)
            .await?;
        self.check_evidence_link(&mut tx, ctx, &req.home_id, &code, true)
            .await?;
        let mut tx = samling_kit::replay!(tx, self, ctx);
        let v = HomeVisit {
            id: ids::new_id_string(),
            visited_on: Some(dates::to_proto(on)),
            visitor: visitor as i32,
            municipality_code: code.clone(),
            unannounced: req.unannounced,
            remarks: req.remarks,
            findings,
            recorded_by: ctx.sub.clone(),
        };
        let h = self
            .change_home(
                &mut tx,
                ctx,
                &req.home_id,
                "home_visit_recorded",
                "home visit",
                |h| {
                    // Codes only: the findings stay on the home.
                    let mut extra = json!({"visit_id": v.id, "visitor": visitor.as_str_name(),
                                           "unannounced": v.unannounced, "remarks": v.remarks,
                                           "visited_on": dates::date_text(on)});
                    if !code.is_empty() {
                        extra["visiting_municipality"] = json!(code);
                    }
                    h.visits.push(v);
                    Ok(extra)
                },
            )
            .await?;
        tx.finish(self, ctx, h).await
    }

    /// Homes whose register extracts are past due: the shape of
    /// [`Registry::list_overdue`] (the office; summaries as of `as_of`).
    pub async fn list_record_checks_overdue(
        &self,
        ctx: &AuthContext,
        req: &ListOverdueHomesRequest,
    ) -> R<SearchHomesResponse> {
        access::manage_register(ctx)?;
        let as_of = dates::opt_from_proto("as_of", req.as_of.as_ref())?
            .unwrap_or_else(|| self.clock.today());
        if !req.municipality_code.is_empty() {
            municipality("municipality_code", &req.municipality_code)?;
        }
        let page = Page::from_request(req.page.as_ref())?;
        let found = store::homes::record_checks_overdue(
            &self.store.read,
            as_of,
            &req.municipality_code,
            &page,
        )
        .await?;
        let mut homes = Vec::with_capacity(found.len());
        for mut h in found {
            home::refresh_derived(&mut h, as_of);
            homes.push(home::summary(&h));
        }
        let (mut homes, page) = page.finish(homes, |h| h.id.clone());
        self.flag_agency_permits(&mut homes).await?;
        Ok(SearchHomesResponse {
            homes,
            page: Some(page),
        })
    }
}
