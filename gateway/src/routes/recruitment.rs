//! Recruitment's REST API (`samling.recruitment.v1.RecruitmentService`):
//! every RPC under `/v1/regions/{region}/recruitment/…`, and the PUBLIC
//! inquiry form (a form token, then the inquiry) that needs no login: it is
//! called as the gateway's fixed public caller and charged against the
//! strict per-address budget (`public_form_rate_per_minute`; ADR 0023).
//!
//! The door's roles mirror the service's access rules (docs/recruitment.md
//! "Access"); the service checks again.

#![allow(clippy::result_large_err)] // Problem is the error response itself; it is built once per failed request.

use super::{RouteSpec, ServiceRoutes};
use samling_kit::auth::Role;
use samling_proto::recruitment::v1::recruitment_service_client::RecruitmentServiceClient;
use samling_proto::recruitment::v1::*;
use serde_json::Value;

/// The service's name in the module list and the region directory.
pub const NAME: &str = "recruitment";

/// Recruitment's part of the REST API.
pub const SERVICE: ServiceRoutes = ServiceRoutes {
    service: NAME,
    routes: REGION_ROUTES,
    national: &[],
    never_stored: NEVER_STORED,
    public: PUBLIC,
    creates: CREATES,
    components,
};

/// No role: the public form (anyone, as the public caller).
pub const NOBODY_NEEDED: &[Role] = &[];
/// The regional office's work.
pub const OFFICE: &[Role] = &[Role::RegionalOfficer, Role::Service];
/// Cases of the caller's own municipality (redacted) and the office's.
pub const CASE_READERS: &[Role] = &[
    Role::RegionalOfficer,
    Role::Service,
    Role::MunicipalityCaseworker,
    Role::MunicipalityManager,
];
/// The nämnd's decision: the office or the municipality's manager.
pub const APPROVERS: &[Role] = &[
    Role::RegionalOfficer,
    Role::Service,
    Role::MunicipalityManager,
];
/// A home's own support (plan, sessions), and the office.
pub const HOME_SELF: &[Role] = &[Role::RegionalOfficer, Role::Service, Role::FamilyHome];
/// Funnel figures: the office exact; the aggregate roles suppressed.
pub const FUNNEL_READERS: &[Role] = &[
    Role::RegionalOfficer,
    Role::Service,
    Role::MunicipalityManager,
    Role::NationalAnalyst,
    Role::CouncilMember,
];

route_table! {
    service = NAME,
    package = "samling.recruitment.v1",
    client = RecruitmentServiceClient;
    // --- The public inquiry form (no login) ------------------------------------
    GET "/v1/regions/{region}/recruitment/inquiry-form" "issueInquiryFormToken" => issue_inquiry_form_token(IssueInquiryFormTokenRequest) -> InquiryFormToken,
        Query, NOBODY_NEEDED, own = [], party = None, "PUBLIC (no login): a signed token for the inquiry form; send the form with it after min_fill_seconds and before expires_at, once";
    POST "/v1/regions/{region}/recruitment/inquiries/public" "submitPublicInquiry" => submit_public_inquiry(SubmitPublicInquiryRequest) -> InquiryReceipt,
        Body, NOBODY_NEEDED, own = [], party = None, "PUBLIC (no login): send an inquiry (intresseanmälan); the receipt echoes nothing personal; strictly limited per client address";
    // --- Inquiries --------------------------------------------------------------
    POST "/v1/regions/{region}/recruitment/inquiries" "createInquiry" => create_inquiry(CreateInquiryRequest) -> Case,
        Body, OFFICE, own = [], party = None, "An inquiry entered by the regional office (a call, an event, an e-mail)";
    POST "/v1/regions/{region}/recruitment/cases/{case_id}/first-response" "recordFirstResponse" => record_first_response(RecordFirstResponseRequest) -> Case,
        Body, OFFICE, own = [], party = None, "The first contact with the person who inquired";
    GET "/v1/regions/{region}/recruitment/overdue-inquiries" "listOverdueInquiries" => list_overdue_inquiries(ListOverdueInquiriesRequest) -> ListCasesResponse,
        Query, CASE_READERS, own = ["municipality_code"], party = None, "Inquiries whose first response is past due (Swedish working days)";
    POST "/v1/regions/{region}/recruitment/cases/{case_id}/withdrawal" "withdrawCase" => withdraw_case(WithdrawCaseRequest) -> WithdrawCaseResponse,
        Body, OFFICE, own = [], party = None, "The person withdraws: personal data erased, the answer lists erased and kept fields";
    // --- Campaigns --------------------------------------------------------------
    POST "/v1/regions/{region}/recruitment/campaigns" "createCampaign" => create_campaign(CreateCampaignRequest) -> Campaign,
        Body, OFFICE, own = [], party = None, "A recruitment campaign with its printed code";
    GET "/v1/regions/{region}/recruitment/campaigns/{campaign_id}" "getCampaign" => get_campaign(GetCampaignRequest) -> Campaign,
        Query, CASE_READERS, own = [], party = None, "A campaign";
    GET "/v1/regions/{region}/recruitment/campaigns" "listCampaigns" => list_campaigns(ListCampaignsRequest) -> ListCampaignsResponse,
        Query, CASE_READERS, own = [], party = None, "Campaigns, optionally the running ones only";
    // --- Cases ------------------------------------------------------------------
    GET "/v1/regions/{region}/recruitment/cases/{case_id}" "getRecruitmentCase" => get_case(GetCaseRequest) -> Case,
        Query, CASE_READERS, own = [], party = None, "A case as the caller may see it (municipalities: their own, without personal data)";
    GET "/v1/regions/{region}/recruitment/cases" "listRecruitmentCases" => list_cases(ListCasesRequest) -> ListCasesResponse,
        Query, CASE_READERS, own = ["municipality_code"], party = None, "Cases by municipality, track, stage, status, owner, campaign or overdue";
    PUT "/v1/regions/{region}/recruitment/cases/{case_id}/owner" "assignCaseOwner" => assign_case_owner(AssignCaseOwnerRequest) -> Case,
        Body, OFFICE, own = [], party = None, "The officer who owns the case";
    POST "/v1/regions/{region}/recruitment/cases/{case_id}/stage" "advanceCase" => advance_case(AdvanceCaseRequest) -> Case,
        Body, OFFICE, own = [], party = None, "Move a case to the next stage of its track (the refusal lists what is missing)";
    POST "/v1/regions/{region}/recruitment/cases/{case_id}/drop-out" "dropOut" => drop_out(DropOutRequest) -> Case,
        Body, OFFICE, own = [], party = None, "End a case at its stage with a reason code";
    POST "/v1/regions/{region}/recruitment/cases/{case_id}/adults" "addHouseholdAdult" => add_household_adult(AddHouseholdAdultRequest) -> Case,
        Body, OFFICE, own = [], party = None, "Add an adult of the household";
    DELETE "/v1/regions/{region}/recruitment/cases/{case_id}/adults/{adult_id}" "removeHouseholdAdult" => remove_household_adult(RemoveHouseholdAdultRequest) -> Case,
        Query, OFFICE, own = [], party = None, "Remove an adult who left the household";
    // --- The investigation and the approval --------------------------------------
    POST "/v1/regions/{region}/recruitment/cases/{case_id}/investigation-steps" "recordInvestigationStep" => record_investigation_step(RecordInvestigationStepRequest) -> Case,
        Body, OFFICE, own = [], party = None, "An assessment step's outcome (BRA-Fam, vignettes, circumstances, home, health)";
    POST "/v1/regions/{region}/recruitment/cases/{case_id}/references" "recordReference" => record_reference(RecordReferenceRequest) -> Case,
        Body, OFFICE, own = [], party = None, "A reference taken";
    POST "/v1/regions/{region}/recruitment/cases/{case_id}/register-checks" "recordRegisterCheck" => record_register_check(RecordRegisterCheckRequest) -> Case,
        Body, OFFICE, own = [], party = None, "A register check of a household adult";
    POST "/v1/regions/{region}/recruitment/cases/{case_id}/recommendation" "recordRecommendation" => record_recommendation(RecordRecommendationRequest) -> Case,
        Body, OFFICE, own = [], party = None, "The investigation's recommendation";
    POST "/v1/regions/{region}/recruitment/cases/{case_id}/approval" "recordCaseApproval" => record_approval(RecordApprovalRequest) -> Case,
        Body, APPROVERS, own = ["municipality_code"], party = None, "The nämnd's approval: recorded in the registry (as the caller) and then on the case";
    // --- Information meetings -----------------------------------------------------
    POST "/v1/regions/{region}/recruitment/info-meetings" "createInfoMeeting" => create_info_meeting(CreateInfoMeetingRequest) -> InfoMeeting,
        Body, OFFICE, own = [], party = None, "An information meeting";
    GET "/v1/regions/{region}/recruitment/info-meetings" "listInfoMeetings" => list_info_meetings(ListInfoMeetingsRequest) -> ListInfoMeetingsResponse,
        Query, OFFICE, own = [], party = None, "Information meetings";
    POST "/v1/regions/{region}/recruitment/info-meetings/{meeting_id}/attendance" "recordInfoMeetingAttendance" => record_info_meeting_attendance(RecordInfoMeetingAttendanceRequest) -> InfoMeeting,
        Body, OFFICE, own = [], party = None, "Households that attended a meeting";
    // --- Training -----------------------------------------------------------------
    POST "/v1/regions/{region}/recruitment/courses" "createCourse" => create_course(CreateCourseRequest) -> Course,
        Body, OFFICE, own = [], party = None, "A course (basic training, NPF, TMO, …)";
    GET "/v1/regions/{region}/recruitment/courses/{course_id}" "getCourse" => get_course(GetCourseRequest) -> Course,
        Query, OFFICE, own = [], party = None, "A course with its sessions and participants";
    GET "/v1/regions/{region}/recruitment/courses" "listCourses" => list_courses(ListCoursesRequest) -> ListCoursesResponse,
        Query, OFFICE, own = [], party = None, "Courses";
    POST "/v1/regions/{region}/recruitment/courses/{course_id}/sessions" "addCourseSession" => add_course_session(AddCourseSessionRequest) -> Course,
        Body, OFFICE, own = [], party = None, "A session of a course";
    POST "/v1/regions/{region}/recruitment/courses/{course_id}/participants" "enrolInCourse" => enrol_in_course(EnrolInCourseRequest) -> Course,
        Body, OFFICE, own = [], party = None, "Enrol a case or an approved home";
    POST "/v1/regions/{region}/recruitment/courses/{course_id}/sessions/{session_id}/attendance" "recordAttendance" => record_attendance(RecordAttendanceRequest) -> Course,
        Body, OFFICE, own = [], party = None, "Who attended a session";
    // --- Network homes --------------------------------------------------------------
    POST "/v1/regions/{region}/recruitment/placement-needs" "openPlacementNeed" => open_placement_need(OpenPlacementNeedRequest) -> PlacementNeed,
        Body, CASE_READERS, own = ["municipality_code"], party = None, "A municipality's need of a placement for a child (ids only)";
    GET "/v1/regions/{region}/recruitment/placement-needs/{placement_need_id}" "getPlacementNeed" => get_placement_need(GetPlacementNeedRequest) -> PlacementNeed,
        Query, CASE_READERS, own = [], party = None, "A placement need with its network alternatives";
    GET "/v1/regions/{region}/recruitment/placement-needs" "listPlacementNeeds" => list_placement_needs(ListPlacementNeedsRequest) -> ListPlacementNeedsResponse,
        Query, CASE_READERS, own = ["municipality_code"], party = None, "Placement needs";
    POST "/v1/regions/{region}/recruitment/placement-needs/{placement_need_id}/alternatives" "recordNetworkAlternative" => record_network_alternative(RecordNetworkAlternativeRequest) -> PlacementNeed,
        Body, CASE_READERS, own = [], party = None, "A network alternative looked into, with its outcome";
    POST "/v1/regions/{region}/recruitment/placement-needs/{placement_need_id}/alternatives/{alternative_id}/case" "startNetworkHomeCase" => start_network_home_case(StartNetworkHomeCaseRequest) -> Case,
        Body, CASE_READERS, own = [], party = None, "Start the network-home track for an alternative";
    // --- Support after approval --------------------------------------------------------
    POST "/v1/regions/{region}/recruitment/support-sessions" "recordSupportSession" => record_support_session(RecordSupportSessionRequest) -> SupportSession,
        Body, OFFICE, own = [], party = None, "A handledning or further-training session";
    GET "/v1/regions/{region}/recruitment/homes/{home_id}/support-sessions" "listSupportSessions" => list_support_sessions(ListSupportSessionsRequest) -> ListSupportSessionsResponse,
        Query, HOME_SELF, own = [], party = Some("home_id"), "A home's support sessions";
    POST "/v1/regions/{region}/recruitment/homes/{home_id}/relief" "recordReliefArrangement" => record_relief_arrangement(RecordReliefArrangementRequest) -> ReliefArrangement,
        Body, OFFICE, own = [], party = None, "A relief (avlastning) arrangement";
    GET "/v1/regions/{region}/recruitment/homes/{home_id}/support-plan" "getSupportPlan" => get_support_plan(GetSupportPlanRequest) -> SupportPlan,
        Query, HOME_SELF, own = [], party = Some("home_id"), "A home's support plan";
    GET "/v1/regions/{region}/recruitment/support-plans" "listSupportPlans" => list_support_plans(ListSupportPlansRequest) -> ListSupportPlansResponse,
        Query, OFFICE, own = [], party = None, "Support plans (e.g. evening and weekend support in the first year)";
    PUT "/v1/regions/{region}/recruitment/homes/{home_id}/out-of-hours-support" "setOutOfHoursSupport" => set_out_of_hours_support(SetOutOfHoursSupportRequest) -> SupportPlan,
        Body, OFFICE, own = [], party = None, "Keep evening and weekend support on past the first year";
    // --- Mentor families -------------------------------------------------------------
    POST "/v1/regions/{region}/recruitment/mentor-families" "registerMentorFamily" => register_mentor_family(RegisterMentorFamilyRequest) -> MentorFamily,
        Body, OFFICE, own = [], party = None, "Register a mentor family";
    GET "/v1/regions/{region}/recruitment/mentor-families" "listMentorFamilies" => list_mentor_families(ListMentorFamiliesRequest) -> ListMentorFamiliesResponse,
        Query, OFFICE, own = [], party = None, "Mentor families";
    POST "/v1/regions/{region}/recruitment/mentor-families/{mentor_family_id}/assignments" "assignMentorFamily" => assign_mentor_family(AssignMentorFamilyRequest) -> MentorFamily,
        Body, OFFICE, own = [], party = None, "Assign a mentor family to a home (refused at its cap)";
    POST "/v1/regions/{region}/recruitment/mentor-families/{mentor_family_id}/assignments/{assignment_id}/end" "endMentorAssignment" => end_mentor_assignment(EndMentorAssignmentRequest) -> MentorFamily,
        Body, OFFICE, own = [], party = None, "End a mentor assignment";
    // --- Closing conversations ---------------------------------------------------------
    GET "/v1/regions/{region}/recruitment/closing-conversations" "listClosingConversations" => list_closing_conversations(ListClosingConversationsRequest) -> ListClosingConversationsResponse,
        Query, OFFICE, own = [], party = None, "Closing conversations after ended placements";
    POST "/v1/regions/{region}/recruitment/closing-conversations/{closing_conversation_id}" "recordClosingConversation" => record_closing_conversation(RecordClosingConversationRequest) -> ClosingConversation,
        Body, OFFICE, own = [], party = None, "Record a closing conversation";
    // --- Statistics ------------------------------------------------------------------
    GET "/v1/regions/{region}/recruitment/funnel" "getFunnelStatistics" => get_funnel_statistics(GetFunnelStatisticsRequest) -> FunnelStatistics,
        Query, FUNNEL_READERS, own = ["municipality_code"], party = None, "Inquiries → met → trained → investigated → approved (counts below 5 suppressed for aggregate roles)";
}

/// The public routes (no login).
const PUBLIC: &[&str] = &["issueInquiryFormToken", "submitPublicInquiry"];

/// The public form's answer is never stored for `Idempotency-Key` replays:
/// every public caller is the same caller, and the form token already makes
/// each submission single-use.
const NEVER_STORED: &[&str] = &["submitPublicInquiry"];

/// Operations whose answer names a record others take in their path.
const CREATES: &[(&str, &str, &str)] = &[
    ("createInquiry", "/id", "case_id"),
    ("createCampaign", "/id", "campaign_id"),
];

/// Recruitment has no national answers of the gateway's own.
fn components() -> Vec<(&'static str, Value)> {
    Vec::new()
}

/// The route of `operation_id` (for tests and docs).
pub fn route(operation_id: &str) -> Option<&'static RouteSpec> {
    REGION_ROUTES
        .iter()
        .map(|r| &r.spec)
        .find(|s| s.operation_id == operation_id)
}
