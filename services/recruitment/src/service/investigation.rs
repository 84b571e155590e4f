//! The standard investigation: steps, references, register checks, the recommendation, and the approval recorded in the registry over gRPC.

use super::{R, Recruitment, pending};
use samling_kit::auth::AuthContext;
use samling_proto::recruitment::v1::*;

impl Recruitment {
    pub async fn record_investigation_step(
        &self,
        _ctx: &AuthContext,
        _req: RecordInvestigationStepRequest,
    ) -> R<Case> {
        Err(pending("RecordInvestigationStep"))
    }

    pub async fn record_reference(
        &self,
        _ctx: &AuthContext,
        _req: RecordReferenceRequest,
    ) -> R<Case> {
        Err(pending("RecordReference"))
    }

    pub async fn record_register_check(
        &self,
        _ctx: &AuthContext,
        _req: RecordRegisterCheckRequest,
    ) -> R<Case> {
        Err(pending("RecordRegisterCheck"))
    }

    pub async fn record_recommendation(
        &self,
        _ctx: &AuthContext,
        _req: RecordRecommendationRequest,
    ) -> R<Case> {
        Err(pending("RecordRecommendation"))
    }

    pub async fn record_approval(
        &self,
        _ctx: &AuthContext,
        _req: RecordApprovalRequest,
    ) -> R<Case> {
        Err(pending("RecordApproval"))
    }
}
