//! The tonic services: `samling.recruitment.v1.RecruitmentService` adapted
//! to [`Recruitment`] (one line per RPC; kit adds `ListAudit` and
//! `WatchEvents`). Authentication is kit's interceptor; everything else is
//! in `service`.

pub mod matching;

use crate::Recruitment;
use crate::domain::RecruitmentError;
use samling_kit::auth;
use samling_proto::recruitment::v1::recruitment_service_server::{
    RecruitmentService, RecruitmentServiceServer,
};
use samling_proto::recruitment::v1::*;
use samling_proto::statistics::v1::{GetStatisticsRequest, StatisticsReport};
use tonic::Status;

pub struct RecruitmentGrpc(pub Recruitment);

samling_kit::grpc_service! {
        impl RecruitmentService for RecruitmentGrpc;
        issue_inquiry_form_token(IssueInquiryFormTokenRequest) -> InquiryFormToken => |g, c, r| g.issue_inquiry_form_token(&c, r);
        submit_public_inquiry(SubmitPublicInquiryRequest) -> InquiryReceipt => |g, c, r| g.submit_public_inquiry(&c, r);
        create_inquiry(CreateInquiryRequest) -> Case => |g, c, r| g.create_inquiry(&c, r);
        record_first_response(RecordFirstResponseRequest) -> Case => |g, c, r| g.record_first_response(&c, r);
        list_overdue_inquiries(ListOverdueInquiriesRequest) -> ListCasesResponse => |g, c, r| g.list_overdue_inquiries(&c, r);
        withdraw_case(WithdrawCaseRequest) -> WithdrawCaseResponse => |g, c, r| g.withdraw_case(&c, r);
        create_campaign(CreateCampaignRequest) -> Campaign => |g, c, r| g.create_campaign(&c, r);
        get_campaign(GetCampaignRequest) -> Campaign => |g, c, r| g.get_campaign(&c, r);
        list_campaigns(ListCampaignsRequest) -> ListCampaignsResponse => |g, c, r| g.list_campaigns(&c, r);
        get_case(GetCaseRequest) -> Case => |g, c, r| g.get_case(&c, r);
        list_cases(ListCasesRequest) -> ListCasesResponse => |g, c, r| g.list_cases(&c, r);
        assign_case_owner(AssignCaseOwnerRequest) -> Case => |g, c, r| g.assign_case_owner(&c, r);
        advance_case(AdvanceCaseRequest) -> Case => |g, c, r| g.advance_case(&c, r);
        drop_out(DropOutRequest) -> Case => |g, c, r| g.drop_out(&c, r);
        add_household_adult(AddHouseholdAdultRequest) -> Case => |g, c, r| g.add_household_adult(&c, r);
        remove_household_adult(RemoveHouseholdAdultRequest) -> Case => |g, c, r| g.remove_household_adult(&c, r);
        create_info_meeting(CreateInfoMeetingRequest) -> InfoMeeting => |g, c, r| g.create_info_meeting(&c, r);
        list_info_meetings(ListInfoMeetingsRequest) -> ListInfoMeetingsResponse => |g, c, r| g.list_info_meetings(&c, r);
        record_info_meeting_attendance(RecordInfoMeetingAttendanceRequest) -> InfoMeeting => |g, c, r| g.record_info_meeting_attendance(&c, r);
        create_course(CreateCourseRequest) -> Course => |g, c, r| g.create_course(&c, r);
        get_course(GetCourseRequest) -> Course => |g, c, r| g.get_course(&c, r);
        list_courses(ListCoursesRequest) -> ListCoursesResponse => |g, c, r| g.list_courses(&c, r);
        add_course_session(AddCourseSessionRequest) -> Course => |g, c, r| g.add_course_session(&c, r);
        enrol_in_course(EnrolInCourseRequest) -> Course => |g, c, r| g.enrol_in_course(&c, r);
        record_attendance(RecordAttendanceRequest) -> Course => |g, c, r| g.record_attendance(&c, r);
        record_investigation_step(RecordInvestigationStepRequest) -> Case => |g, c, r| g.record_investigation_step(&c, r);
        record_reference(RecordReferenceRequest) -> Case => |g, c, r| g.record_reference(&c, r);
        record_register_check(RecordRegisterCheckRequest) -> Case => |g, c, r| g.record_register_check(&c, r);
        record_recommendation(RecordRecommendationRequest) -> Case => |g, c, r| g.record_recommendation(&c, r);
        record_approval(RecordApprovalRequest) -> Case => |g, c, r| g.record_approval(&c, r);
        open_placement_need(OpenPlacementNeedRequest) -> PlacementNeed => |g, c, r| g.open_placement_need(&c, r);
        get_placement_need(GetPlacementNeedRequest) -> PlacementNeed => |g, c, r| g.get_placement_need(&c, r);
        list_placement_needs(ListPlacementNeedsRequest) -> ListPlacementNeedsResponse => |g, c, r| g.list_placement_needs(&c, r);
        record_network_alternative(RecordNetworkAlternativeRequest) -> PlacementNeed => |g, c, r| g.record_network_alternative(&c, r);
        start_network_home_case(StartNetworkHomeCaseRequest) -> Case => |g, c, r| g.start_network_home_case(&c, r);
        record_support_session(RecordSupportSessionRequest) -> SupportSession => |g, c, r| g.record_support_session(&c, r);
        list_support_sessions(ListSupportSessionsRequest) -> ListSupportSessionsResponse => |g, c, r| g.list_support_sessions(&c, r);
        record_relief_arrangement(RecordReliefArrangementRequest) -> ReliefArrangement => |g, c, r| g.record_relief_arrangement(&c, r);
        get_support_plan(GetSupportPlanRequest) -> SupportPlan => |g, c, r| g.get_support_plan(&c, r);
        list_support_plans(ListSupportPlansRequest) -> ListSupportPlansResponse => |g, c, r| g.list_support_plans(&c, r);
        set_out_of_hours_support(SetOutOfHoursSupportRequest) -> SupportPlan => |g, c, r| g.set_out_of_hours_support(&c, r);
        register_mentor_family(RegisterMentorFamilyRequest) -> MentorFamily => |g, c, r| g.register_mentor_family(&c, r);
        list_mentor_families(ListMentorFamiliesRequest) -> ListMentorFamiliesResponse => |g, c, r| g.list_mentor_families(&c, r);
        assign_mentor_family(AssignMentorFamilyRequest) -> MentorFamily => |g, c, r| g.assign_mentor_family(&c, r);
        end_mentor_assignment(EndMentorAssignmentRequest) -> MentorFamily => |g, c, r| g.end_mentor_assignment(&c, r);
        list_closing_conversations(ListClosingConversationsRequest) -> ListClosingConversationsResponse => |g, c, r| g.list_closing_conversations(&c, r);
        record_closing_conversation(RecordClosingConversationRequest) -> ClosingConversation => |g, c, r| g.record_closing_conversation(&c, r);
        get_funnel_statistics(GetFunnelStatisticsRequest) -> FunnelStatistics => |g, c, r| g.get_funnel_statistics(&c, r);
        get_statistics(GetStatisticsRequest) -> StatisticsReport => |g, c, r| g.get_statistics(&c, &r);
    ;
}

impl From<RecruitmentError> for Status {
    fn from(e: RecruitmentError) -> Self {
        samling_kit::error::to_status(&e)
    }
}

/// The recruitment service behind kit's auth interceptor.
pub fn server(
    svc: Recruitment,
    verifier: auth::ContextVerifier,
) -> tonic::service::interceptor::InterceptedService<
    RecruitmentServiceServer<RecruitmentGrpc>,
    impl tonic::service::Interceptor + Clone,
> {
    RecruitmentServiceServer::with_interceptor(RecruitmentGrpc(svc), auth::interceptor(verifier))
}
