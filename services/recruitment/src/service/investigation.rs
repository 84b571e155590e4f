//! The standard investigation: steps, references, register checks, the recommendation, and the approval recorded in the registry over gRPC.

use super::cases::{case_visible, is_office, office_only};
use super::intake::change_of;
use super::{R, Recruitment};
use crate::domain::investigation::{self, ASSESSMENTS, register_name, step_name};
use crate::domain::pipeline::{self, Context, track_name};
use crate::domain::{RecruitmentError, events};
use crate::store;
use samling_kit::auth::{AuthContext, Role};
use samling_kit::dates;
use samling_kit::error::{KitError, Reason};
use samling_kit::reference::MunicipalityCode;
use samling_kit::service::Service;
use samling_proto::recruitment::v1::*;
use samling_proto::registry::v1 as registry;
use serde_json::json;

/// The registry's request id for the approval of `case_id`: derived from
/// the caller's own request id (or, without one, from the decision), so a
/// retry is the registry's replay, never a second decision.
pub fn registry_request_id(case_id: &str, request_id: &str, decision_ref: &str) -> String {
    use sha2::{Digest, Sha256};
    let basis = if request_id.trim().is_empty() {
        format!("decision\u{1f}{case_id}\u{1f}{}", decision_ref.trim())
    } else {
        format!("request\u{1f}{case_id}\u{1f}{}", request_id.trim())
    };
    format!(
        "recruitment-approval-{}",
        hex::encode(Sha256::digest(basis.as_bytes()))
    )
}

impl Recruitment {
    pub async fn record_investigation_step(
        &self,
        ctx: &AuthContext,
        req: RecordInvestigationStepRequest,
    ) -> R<Case> {
        office_only(ctx, "record the investigation")?;
        let step = InvestigationStep::try_from(req.step)
            .ok()
            .filter(|s| *s != InvestigationStep::Unspecified)
            .ok_or_else(|| RecruitmentError::invalid("step", "is required"))?;
        let outcome = StepOutcome::try_from(req.outcome)
            .ok()
            .filter(|o| *o != StepOutcome::Unspecified)
            .ok_or_else(|| RecruitmentError::invalid("outcome", "is required"))?;
        let on = dates::opt_from_proto("completed_on", req.completed_on.as_ref())?;
        let rules = self.rules.clone();
        let actor = ctx.sub.clone();
        self.change_case(
            ctx,
            "RecordInvestigationStep",
            &req.request_id,
            &req,
            &req.case_id,
            "investigation_step_recorded",
            |c, today, _| {
                let n = investigation::record_step(
                    c,
                    step,
                    outcome,
                    on.unwrap_or(today),
                    today,
                    &actor,
                    &req.document_ref,
                    &rules,
                )?;
                Ok((n, json!({"step": step_name(step)})))
            },
        )
        .await
    }

    pub async fn record_reference(
        &self,
        ctx: &AuthContext,
        req: RecordReferenceRequest,
    ) -> R<Case> {
        office_only(ctx, "record the investigation")?;
        let rules = self.rules.clone();
        let reference = Reference {
            id: samling_kit::ids::new_id_string(),
            relation: req.relation,
            contacted_on: req.contacted_on,
            outcome: req.outcome,
            document_ref: req.document_ref.clone(),
        };
        self.change_case(
            ctx,
            "RecordReference",
            &req.request_id,
            &req,
            &req.case_id,
            "reference_recorded",
            |c, today, _| {
                let id = reference.id.clone();
                let n = investigation::record_reference(c, reference, today, &rules)?;
                Ok((n, json!({"reference_id": id})))
            },
        )
        .await
    }

    pub async fn record_register_check(
        &self,
        ctx: &AuthContext,
        req: RecordRegisterCheckRequest,
    ) -> R<Case> {
        office_only(ctx, "record the investigation")?;
        let register = Register::try_from(req.register)
            .map_err(|_| RecruitmentError::invalid("register", "is not a known register"))?;
        let outcome = RegisterCheckOutcome::try_from(req.outcome)
            .map_err(|_| RecruitmentError::invalid("outcome", "is not a known outcome"))?;
        let on = dates::opt_from_proto("checked_on", req.checked_on.as_ref())?;
        let rules = self.rules.clone();
        self.change_case(
            ctx,
            "RecordRegisterCheck",
            &req.request_id,
            &req,
            &req.case_id,
            "register_check_recorded",
            |c, today, _| {
                let n = investigation::record_register_check(
                    c,
                    &req.adult_id,
                    register,
                    outcome,
                    on.unwrap_or(today),
                    today,
                    &rules,
                )?;
                // The outcome (a remark) is not announced: ids and the register only.
                Ok((
                    n,
                    json!({"adult_id": req.adult_id.trim().to_ascii_lowercase(), "register": register_name(register)}),
                ))
            },
        )
        .await
    }

    pub async fn record_recommendation(
        &self,
        ctx: &AuthContext,
        req: RecordRecommendationRequest,
    ) -> R<Case> {
        office_only(ctx, "record the recommendation")?;
        let rec = Recommendation {
            kind: req.kind,
            home_types: req.home_types.clone(),
            capacity: req.capacity,
            decided_on: req.decided_on,
            decided_by: ctx.sub.clone(),
            document_ref: req.document_ref.clone(),
        };
        self.change_case(
            ctx,
            "RecordRecommendation",
            &req.request_id,
            &req,
            &req.case_id,
            "recommendation_recorded",
            |c, today, _| {
                let n = pipeline::record_recommendation(c, rec, today)?;
                let kind = RecommendationKind::try_from(req.kind)
                    .unwrap_or_default()
                    .as_str_name();
                Ok((n, json!({"kind": kind})))
            },
        )
        .await
    }

    /// The nämnd's approval. Checked here first (the case must be ready),
    /// then recorded in the registry as the caller (the registry checks the
    /// caller's own right to record it); only when the registry accepted it
    /// is it recorded on the case. A refusal by the registry leaves the case
    /// unchanged and is passed on with its reason.
    pub async fn record_approval(&self, ctx: &AuthContext, req: RecordApprovalRequest) -> R<Case> {
        let municipality = MunicipalityCode::parse(req.municipality_code.trim()).map_err(|_| {
            RecruitmentError::invalid("municipality_code", "is not a Swedish municipality code")
        })?;
        may_record_approval(ctx, municipality)?;
        let home_id = crate::domain::text::id("registry_home_id", &req.registry_home_id)?;
        let case_id = crate::domain::text::id("case_id", &req.case_id)?;
        let link = self.registry.clone().ok_or_else(|| {
            RecruitmentError::Kit(KitError::refused(
                Reason::Unavailable,
                "the registry is not reachable from this recruitment office",
            ))
        })?;
        let mut w = self
            .core()
            .begin(ctx, "RecordApproval", &req.request_id, &req)
            .await?;
        let current = store::cases::get(w.conn(), &case_id)
            .await?
            .ok_or_else(|| RecruitmentError::not_found(format!("case {case_id}")))?;
        case_visible(ctx, &current)?;
        let mut w = samling_kit::replay!(w, self, ctx);
        let today = self.clock.today();
        let now_text = self.now_text();
        let courses = self.courses_of_case(w.conn(), &current.id).await?;
        let approval = ApprovalRecord {
            registry_home_id: home_id.clone(),
            municipality_code: municipality.as_str().to_string(),
            decision_date: req.decision_date,
            decision_ref: req.decision_ref.clone(),
            recorded_at: now_text.clone(),
            recorded_by: ctx.sub.clone(),
        };
        let rules = self.rules.clone();
        let pctx = Context {
            rules: &rules,
            courses: &courses,
        };
        // Everything recruitment requires, before the registry hears of it.
        let mut next = pipeline::approve(&current, approval, today, &pctx)?;
        let registry_req = registry::RecordApprovalRequest {
            request_id: registry_request_id(&current.id, &req.request_id, &req.decision_ref),
            home_id: home_id.clone(),
            municipality_code: municipality.as_str().to_string(),
            decision_date: req.decision_date,
            decision_ref: req.decision_ref.trim().to_string(),
            evidence: Some(evidence(&current, &courses)),
        };
        link.record_approval(ctx, registry_req).await?;
        next.version = current.version + 1;
        next.updated_at = now_text;
        store::cases::save(w.conn(), &next, false).await?;
        self.core()
            .record(
                &mut w,
                ctx,
                change_of(events::CASE_APPROVED),
                "case",
                &next.id,
                json!({
                    "registry_home_id": home_id,
                    "approving_municipality": municipality.as_str(),
                    "track": track_name(next.track()),
                }),
            )
            .await?;
        w.finish(self, ctx, next).await
    }
}

/// The office, or a municipality's manager for its own nämnd's decision
/// (the registry checks its link to the home).
fn may_record_approval(ctx: &AuthContext, m: MunicipalityCode) -> R<()> {
    if is_office(ctx) || (ctx.role == Role::MunicipalityManager && ctx.is_municipality(&m)) {
        Ok(())
    } else {
        Err(RecruitmentError::Forbidden(
            "your role may not record this approval".into(),
        ))
    }
}

/// What the approval rests on, for the registry: ids, codes and dates.
fn evidence(case: &Case, courses: &[Course]) -> registry::ApprovalEvidence {
    let investigated = case
        .stages
        .iter()
        .rev()
        .find(|e| e.stage() == Stage::Investigation)
        .and_then(|e| e.left_on);
    let rec = case.recommendation.as_ref();
    registry::ApprovalEvidence {
        recruitment_case_id: case.id.clone(),
        course_ids: courses.iter().map(|c| c.id.clone()).collect(),
        investigation_method: format!("sosfs-2012:11/{}", track_name(case.track())),
        investigation_completed_on: investigated,
        investigation_steps: ASSESSMENTS
            .iter()
            .filter(|s| case.investigation.iter().any(|r| r.step == **s as i32))
            .map(|s| step_name(*s).to_string())
            .chain(
                (!case.references.is_empty())
                    .then(|| step_name(InvestigationStep::References).to_string()),
            )
            .chain(
                (!case.register_checks.is_empty())
                    .then(|| step_name(InvestigationStep::RegisterChecks).to_string()),
            )
            .collect(),
        recommendation: rec
            .map(|r| r.kind().as_str_name().to_string())
            .unwrap_or_default(),
        recommended_on: rec.and_then(|r| r.decided_on),
    }
}
