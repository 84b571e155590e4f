//! Ombud's REST API (`samling.ombud.v1.OmbudService`): the child-rights
//! ombud under `/v1/regions/{region}/ombud` (docs/ombud.md). The child's
//! own routes ("contact my ombud", "my ombud", "my cases") check the
//! child's party at the door; everything else about the caller's relation
//! to a child or a case (its ombud, its home, its placing municipality, the
//! opener) is the service's to decide, and a stranger is told "not found".
//! Survey answers are the one public route: sent with the invitation's
//! one-time token as the public caller, so no identity reaches the service
//! beside an answer (ADR 0044).

#![allow(clippy::result_large_err)] // Problem is the error response itself, as in registry.rs.

use super::ServiceRoutes;
use samling_kit::auth::Role;
use samling_proto::ombud::v1::ombud_service_client::OmbudServiceClient;
use samling_proto::ombud::v1::*;

/// The service's name in the module list and the region directory.
pub const NAME: &str = "ombud";

/// Ombud's part of the REST API.
pub const SERVICE: ServiceRoutes = ServiceRoutes {
    service: NAME,
    routes: REGION_ROUTES,
    national: &[],
    never_stored: NEVER_STORED,
    public: PUBLIC,
    creates: CREATES,
    components: Vec::new,
};

/// The regional office (and other services).
pub const OFFICE: &[Role] = &[Role::RegionalOfficer, Role::Service];
/// The child's ombud.
pub const OMBUD: &[Role] = &[Role::Ombud];
/// The child itself.
pub const CHILD: &[Role] = &[Role::Child];
/// Who opens a case about a child besides the child (the service checks
/// the relation: the child's home, its placing municipality, its ombud).
pub const OPENERS: &[Role] = &[
    Role::FamilyHome,
    Role::SchoolStaff,
    Role::HealthStaff,
    Role::MunicipalityCaseworker,
    Role::MunicipalityManager,
    Role::Ombud,
];
/// Who may be related to a case (the service decides what each sees).
pub const CASE_READERS: &[Role] = &[
    Role::Child,
    Role::FamilyHome,
    Role::SchoolStaff,
    Role::HealthStaff,
    Role::MunicipalityCaseworker,
    Role::MunicipalityManager,
    Role::Ombud,
    Role::RegionalOfficer,
    Role::Service,
];
/// A child's ombud: the child, its ombud, the placing municipality, the office.
pub const ASSIGNMENT_READERS: &[Role] = &[
    Role::Child,
    Role::Ombud,
    Role::MunicipalityCaseworker,
    Role::MunicipalityManager,
    Role::RegionalOfficer,
    Role::Service,
];
/// A child's cases: the child, its ombud, the office.
pub const CHILD_CASE_READERS: &[Role] = &[
    Role::Child,
    Role::Ombud,
    Role::RegionalOfficer,
    Role::Service,
];
/// The municipality a review request is addressed to.
pub const MUNICIPALITY: &[Role] = &[Role::MunicipalityCaseworker, Role::MunicipalityManager];
/// Review requests: the ombud, the municipalities, the office.
pub const REVIEW_READERS: &[Role] = &[
    Role::Ombud,
    Role::MunicipalityCaseworker,
    Role::MunicipalityManager,
    Role::RegionalOfficer,
    Role::Service,
];
/// A child's meetings: the child, its ombud, the placing municipality, the office.
pub const MEETING_READERS: &[Role] = &[
    Role::Child,
    Role::Ombud,
    Role::MunicipalityCaseworker,
    Role::MunicipalityManager,
    Role::RegionalOfficer,
    Role::Service,
];
/// The IVO complaint: the ombud, the office, IVO.
pub const COMPLAINT_READERS: &[Role] =
    &[Role::Ombud, Role::RegionalOfficer, Role::Service, Role::Ivo];

/// Survey results (suppressed aggregates): the Brukarråd (council
/// members), national analysts, the office.
pub const SURVEY_RESULT_READERS: &[Role] = &[
    Role::CouncilMember,
    Role::NationalAnalyst,
    Role::RegionalOfficer,
    Role::Service,
];
/// No role: survey answers are sent anonymously, with the invitation's
/// one-time token, as the public caller (ADR 0044).
pub const NOBODY_NEEDED: &[Role] = &[];

/// The public routes (no login): survey answers.
const PUBLIC: &[&str] = &["submitSurveyAnswers"];

/// Never kept for `Idempotency-Key` replays: the child's invitation holds
/// its one-time token (shown once, kept nowhere in clear); every public
/// caller is the same caller, and the token makes an answer single-use.
const NEVER_STORED: &[&str] = &["getMySurveyInvitation", "submitSurveyAnswers"];

// ---- rights follow-up (ADR 0046) ----
/// A child's follow-up: the child (its own), its ombud, the office.
pub const FOLLOW_UP_READERS: &[Role] = &[
    Role::Child,
    Role::Ombud,
    Role::RegionalOfficer,
    Role::Service,
];
/// Who records a talk with the child: its ombud, its placing caseworker.
pub const TALKERS: &[Role] = &[Role::Ombud, Role::MunicipalityCaseworker];
/// The follow-up's counts (1–4 as "<5"): the office and the aggregate roles.
pub const COUNT_READERS: &[Role] = &[
    Role::RegionalOfficer,
    Role::Service,
    Role::CouncilMember,
    Role::NationalAnalyst,
];

const CREATES: &[(&str, &str, &str)] = &[
    ("openCase", "/id", "case_id"),
    ("contactMyOmbud", "/id", "case_id"),
    ("requestReview", "/id", "review_request_id"),
    ("openSurveyRound", "/id", "round_id"),
];

route_table! {
    service = NAME,
    package = "samling.ombud.v1",
    client = OmbudServiceClient;
    POST "/v1/regions/{region}/ombud/ombuds" "registerOmbud" => register_ombud(RegisterOmbudRequest) -> Ombud,
        Body, OFFICE, own = [], party = None, "Register an ombud of the region (the subject of its token); children waiting for an ombud are assigned at once";
    GET "/v1/regions/{region}/ombud/ombuds" "listOmbuds" => list_ombuds(ListOmbudsRequest) -> ListOmbudsResponse,
        Query, OFFICE, own = [], party = None, "The region's ombuds and their active children";
    GET "/v1/regions/{region}/ombud/unassigned-children" "listUnassignedChildren" => list_unassigned(ListUnassignedRequest) -> ListUnassignedResponse,
        Query, OFFICE, own = [], party = None, "Placed children waiting for an ombud";
    GET "/v1/regions/{region}/ombud/my-children" "listMyChildren" => list_my_children(ListMyChildrenRequest) -> ListMyChildrenResponse,
        Query, OMBUD, own = [], party = None, "The children assigned to the calling ombud";
    GET "/v1/regions/{region}/ombud/children/{child_id}/ombud" "getAssignment" => get_assignment(GetAssignmentRequest) -> Assignment,
        Query, ASSIGNMENT_READERS, own = [], party = Some("child_id"), "A child's ombud (the child asks for its own)";
    POST "/v1/regions/{region}/ombud/children/{child_id}/contact" "contactMyOmbud" => open_case(OpenCaseRequest) -> Case,
        Body, CHILD, own = [], party = Some("child_id"), "Contact my ombud: the child opens its own case";
    GET "/v1/regions/{region}/ombud/children/{child_id}/cases" "listChildCases" => list_cases(ListCasesRequest) -> ListCasesResponse,
        Query, CHILD_CASE_READERS, own = [], party = Some("child_id"), "A child's cases (the child sees its own, with the notes its ombud shows it)";
    POST "/v1/regions/{region}/ombud/cases" "openCase" => open_case(OpenCaseRequest) -> Case,
        Body, OPENERS, own = [], party = None, "Open a case about a child (its home, school or health staff, its placing municipality, its ombud)";
    GET "/v1/regions/{region}/ombud/cases" "listMyCases" => list_cases(ListCasesRequest) -> ListCasesResponse,
        Query, OMBUD, own = [], party = None, "The calling ombud's cases";
    GET "/v1/regions/{region}/ombud/cases/{case_id}" "getCase" => get_case(GetCaseRequest) -> Case,
        Query, CASE_READERS, own = [], party = None, "A case as the caller may see it (notes: the ombud; those shown to the child: the child)";
    POST "/v1/regions/{region}/ombud/cases/{case_id}/transition" "transitionCase" => transition_case(TransitionCaseRequest) -> Case,
        Body, OMBUD, own = [], party = None, "Move a case to IN_PROGRESS or WAITING_FOR_MUNICIPALITY (ADR 0037)";
    POST "/v1/regions/{region}/ombud/cases/{case_id}/closure" "closeCase" => close_case(CloseCaseRequest) -> Case,
        Body, OMBUD, own = [], party = None, "Close a case with its reason, the outcome and the child's own view";
    POST "/v1/regions/{region}/ombud/cases/{case_id}/notes" "addCaseNote" => add_note(AddNoteRequest) -> Case,
        Body, OMBUD, own = [], party = None, "A note on a case (visibleToChild shows it to the child; never to the municipality)";
    POST "/v1/regions/{region}/ombud/cases/{case_id}/review-requests" "requestReview" => request_review(RequestReviewRequest) -> ReviewRequest,
        Body, OMBUD, own = [], party = None, "Ask the placing municipality to review a decision or its handling (deadline in working days)";
    GET "/v1/regions/{region}/ombud/review-requests" "listReviewRequests" => list_review_requests(ListReviewRequestsRequest) -> ListReviewRequestsResponse,
        Query, REVIEW_READERS, own = [], party = None, "Review requests: the municipality's own, the ombud's, the region's";
    POST "/v1/regions/{region}/ombud/review-requests/{review_request_id}/answer" "answerReview" => answer_review(AnswerReviewRequest) -> ReviewRequest,
        Body, MUNICIPALITY, own = [], party = None, "The municipality's answer (after the deadline: recorded as late)";
    POST "/v1/regions/{region}/ombud/review-requests/{review_request_id}/escalation" "escalateReview" => escalate_review(EscalateReviewRequest) -> ReviewRequest,
        Body, OMBUD, own = [], party = None, "Escalate an overdue or late-answered request: a structured complaint to IVO";
    GET "/v1/regions/{region}/ombud/review-requests/{review_request_id}/ivo-complaint" "getIvoComplaint" => get_ivo_complaint(GetIvoComplaintRequest) -> IvoComplaint,
        Query, COMPLAINT_READERS, own = [], party = None, "The IVO complaint of an escalated review request (ids and dates, no personnummer)";
    POST "/v1/regions/{region}/ombud/children/{child_id}/meetings" "registerMeeting" => register_meeting(RegisterMeetingRequest) -> Meeting,
        Body, MUNICIPALITY, own = [], party = None, "A meeting about the child (care planning, the six-monthly review, network, school), announced to the child's ombud";
    GET "/v1/regions/{region}/ombud/children/{child_id}/meetings" "listMeetings" => list_meetings(ListMeetingsRequest) -> ListMeetingsResponse,
        Query, MEETING_READERS, own = [], party = Some("child_id"), "A child's meetings (what the child wanted said: the child and its ombud only)";
    POST "/v1/regions/{region}/ombud/meetings/{meeting_id}/record" "recordMeeting" => record_meeting(RecordMeetingRequest) -> Meeting,
        Body, OMBUD, own = [], party = None, "The ombud's record of a meeting: attendance, what the child wanted said, what was decided";
    // --- User surveys (ADR 0044) ------------------------------------------------
    POST "/v1/regions/{region}/ombud/survey-rounds" "openSurveyRound" => open_survey_round(OpenSurveyRoundRequest) -> SurveyRound,
        Body, OFFICE, own = [], party = None, "Open a survey round of the region: every child placed now is invited (the list of who was invited holds no token)";
    POST "/v1/regions/{region}/ombud/children/{child_id}/survey-invitation" "getMySurveyInvitation" => get_my_survey_invitation(GetMySurveyInvitationRequest) -> SurveyInvitation,
        Body, CHILD, own = [], party = Some("child_id"), "The child's own survey invitation: questions for its age, placement form and (asked for) easy-read wording, and its one-time token, shown once";
    POST "/v1/regions/{region}/ombud/survey-answers" "submitSurveyAnswers" => submit_survey_answers(SubmitSurveyAnswersRequest) -> SurveyReceipt,
        Body, NOBODY_NEEDED, own = [], party = None, "PUBLIC (no login): answer a survey with the invitation's token, anonymously; the token is burnt; nothing kept names who answered";
    GET "/v1/regions/{region}/ombud/survey-rounds/{round_id}/results" "getSurveyResults" => get_survey_results(GetSurveyResultsRequest) -> SurveyResults,
        Query, SURVEY_RESULT_READERS, own = [], party = None, "A round's results as suppressed aggregates per placement form (1–4 shown as <5, complementary cells as ..): the Brukarråd, national analysts, the office";
    // ---- rights follow-up (ADR 0046) ----
    GET "/v1/regions/{region}/ombud/follow-up" "listMyFollowUp" => list_follow_up(ListFollowUpRequest) -> ListFollowUpResponse,
        Query, OMBUD, own = [], party = None, "The calling ombud's worklist: its children's follow-up items, overdue first (overdueOnly filters)";
    GET "/v1/regions/{region}/ombud/children/{child_id}/follow-up" "listChildFollowUp" => list_follow_up(ListFollowUpRequest) -> ListFollowUpResponse,
        Query, FOLLOW_UP_READERS, own = [], party = Some("child_id"), "A child's follow-up items (its ombud, the office; the child its own)";
    POST "/v1/regions/{region}/ombud/children/{child_id}/talks" "recordTalk" => record_talk(RecordTalkRequest) -> Talk,
        Body, TALKERS, own = [], party = None, "A talk with the child (its ombud, or its placing municipality's caseworker)";
    POST "/v1/regions/{region}/ombud/follow-up/runs" "runFollowUp" => run_follow_up(RunFollowUpRequest) -> RunFollowUpResponse,
        Body, OFFICE, own = [], party = None, "Evaluate the talks rule as of a date and alert what became overdue (ombud.follow_up_overdue)";
    GET "/v1/regions/{region}/ombud/follow-up/counts" "followUpCounts" => follow_up_counts(FollowUpCountsRequest) -> FollowUpCountsResponse,
        Query, COUNT_READERS, own = [], party = None, "Per follow-up item, the region's children overdue, due, met (1–4 shown as \"<5\")";
}
