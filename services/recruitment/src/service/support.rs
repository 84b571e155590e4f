//! Support after approval: handledning sessions, relief, support plans (evenings and weekends in the first year), mentor families, closing conversations.

use super::{R, Recruitment, pending};
use samling_kit::auth::AuthContext;
use samling_proto::recruitment::v1::*;

impl Recruitment {
    pub async fn record_support_session(
        &self,
        _ctx: &AuthContext,
        _req: RecordSupportSessionRequest,
    ) -> R<SupportSession> {
        Err(pending("RecordSupportSession"))
    }

    pub async fn list_support_sessions(
        &self,
        _ctx: &AuthContext,
        _req: ListSupportSessionsRequest,
    ) -> R<ListSupportSessionsResponse> {
        Err(pending("ListSupportSessions"))
    }

    pub async fn record_relief_arrangement(
        &self,
        _ctx: &AuthContext,
        _req: RecordReliefArrangementRequest,
    ) -> R<ReliefArrangement> {
        Err(pending("RecordReliefArrangement"))
    }

    pub async fn get_support_plan(
        &self,
        _ctx: &AuthContext,
        _req: GetSupportPlanRequest,
    ) -> R<SupportPlan> {
        Err(pending("GetSupportPlan"))
    }

    pub async fn list_support_plans(
        &self,
        _ctx: &AuthContext,
        _req: ListSupportPlansRequest,
    ) -> R<ListSupportPlansResponse> {
        Err(pending("ListSupportPlans"))
    }

    pub async fn set_out_of_hours_support(
        &self,
        _ctx: &AuthContext,
        _req: SetOutOfHoursSupportRequest,
    ) -> R<SupportPlan> {
        Err(pending("SetOutOfHoursSupport"))
    }

    pub async fn register_mentor_family(
        &self,
        _ctx: &AuthContext,
        _req: RegisterMentorFamilyRequest,
    ) -> R<MentorFamily> {
        Err(pending("RegisterMentorFamily"))
    }

    pub async fn list_mentor_families(
        &self,
        _ctx: &AuthContext,
        _req: ListMentorFamiliesRequest,
    ) -> R<ListMentorFamiliesResponse> {
        Err(pending("ListMentorFamilies"))
    }

    pub async fn assign_mentor_family(
        &self,
        _ctx: &AuthContext,
        _req: AssignMentorFamilyRequest,
    ) -> R<MentorFamily> {
        Err(pending("AssignMentorFamily"))
    }

    pub async fn end_mentor_assignment(
        &self,
        _ctx: &AuthContext,
        _req: EndMentorAssignmentRequest,
    ) -> R<MentorFamily> {
        Err(pending("EndMentorAssignment"))
    }

    pub async fn list_closing_conversations(
        &self,
        _ctx: &AuthContext,
        _req: ListClosingConversationsRequest,
    ) -> R<ListClosingConversationsResponse> {
        Err(pending("ListClosingConversations"))
    }

    pub async fn record_closing_conversation(
        &self,
        _ctx: &AuthContext,
        _req: RecordClosingConversationRequest,
    ) -> R<ClosingConversation> {
        Err(pending("RecordClosingConversation"))
    }
}
