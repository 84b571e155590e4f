//! The tonic service: `samling.ombud.v1.OmbudService` adapted to [`Ombuds`]
//! (one line per RPC; kit adds `ListAudit` and `WatchEvents`).
//! Authentication is kit's interceptor; everything else is in `service`.

use crate::Ombuds;
use crate::domain::OmbudError;
use samling_kit::auth;
use samling_proto::ombud::v1::ombud_service_server::{OmbudService, OmbudServiceServer};
use samling_proto::ombud::v1::*;
use tonic::Status;

pub struct OmbudGrpc(pub Ombuds);

samling_kit::grpc_service! {
        impl OmbudService for OmbudGrpc;
        register_ombud(RegisterOmbudRequest) -> Ombud => |g, c, r| g.register_ombud(&c, r);
        list_ombuds(ListOmbudsRequest) -> ListOmbudsResponse => |g, c, r| g.list_ombuds(&c, r);
        list_unassigned(ListUnassignedRequest) -> ListUnassignedResponse => |g, c, r| g.list_unassigned(&c, r);
        list_my_children(ListMyChildrenRequest) -> ListMyChildrenResponse => |g, c, r| g.list_my_children(&c, r);
        get_assignment(GetAssignmentRequest) -> Assignment => |g, c, r| g.get_assignment(&c, r);
        open_case(OpenCaseRequest) -> Case => |g, c, r| g.open_case(&c, r);
        get_case(GetCaseRequest) -> Case => |g, c, r| g.get_case(&c, r);
        list_cases(ListCasesRequest) -> ListCasesResponse => |g, c, r| g.list_cases(&c, r);
        transition_case(TransitionCaseRequest) -> Case => |g, c, r| g.transition_case(&c, r);
        close_case(CloseCaseRequest) -> Case => |g, c, r| g.close_case(&c, r);
        add_note(AddNoteRequest) -> Case => |g, c, r| g.add_note(&c, r);
        request_review(RequestReviewRequest) -> ReviewRequest => |g, c, r| g.request_review(&c, r);
        answer_review(AnswerReviewRequest) -> ReviewRequest => |g, c, r| g.answer_review(&c, r);
        escalate_review(EscalateReviewRequest) -> ReviewRequest => |g, c, r| g.escalate_review(&c, r);
        list_review_requests(ListReviewRequestsRequest) -> ListReviewRequestsResponse => |g, c, r| g.list_review_requests(&c, r);
        get_ivo_complaint(GetIvoComplaintRequest) -> IvoComplaint => |g, c, r| g.get_ivo_complaint(&c, r);
        register_meeting(RegisterMeetingRequest) -> Meeting => |g, c, r| g.register_meeting(&c, r);
        record_meeting(RecordMeetingRequest) -> Meeting => |g, c, r| g.record_meeting(&c, r);
        list_meetings(ListMeetingsRequest) -> ListMeetingsResponse => |g, c, r| g.list_meetings(&c, r);
        open_survey_round(OpenSurveyRoundRequest) -> SurveyRound => |g, c, r| g.open_survey_round(&c, r);
        get_my_survey_invitation(GetMySurveyInvitationRequest) -> SurveyInvitation => |g, c, r| g.get_my_survey_invitation(&c, r);
        submit_survey_answers(SubmitSurveyAnswersRequest) -> SurveyReceipt => |g, c, r| g.submit_survey_answers(&c, r);
        get_survey_results(GetSurveyResultsRequest) -> SurveyResults => |g, c, r| g.get_survey_results(&c, r);
        // ---- rights follow-up (ADR 0046) ----
        record_talk(RecordTalkRequest) -> Talk => |g, c, r| g.record_talk(&c, r);
        list_follow_up(ListFollowUpRequest) -> ListFollowUpResponse => |g, c, r| g.list_follow_up(&c, r);
        run_follow_up(RunFollowUpRequest) -> RunFollowUpResponse => |g, c, r| g.run_follow_up(&c, r);
        follow_up_counts(FollowUpCountsRequest) -> FollowUpCountsResponse => |g, c, r| g.follow_up_counts(&c, r);
    ;
}

impl From<OmbudError> for Status {
    fn from(e: OmbudError) -> Self {
        samling_kit::error::to_status(&e)
    }
}

/// The ombud service behind kit's auth interceptor.
pub fn server(
    svc: Ombuds,
    verifier: auth::ContextVerifier,
) -> tonic::service::interceptor::InterceptedService<
    OmbudServiceServer<OmbudGrpc>,
    impl tonic::service::Interceptor + Clone,
> {
    OmbudServiceServer::with_interceptor(OmbudGrpc(svc), auth::interceptor(verifier))
}
