//! The registry's REST API: its route table, each route's gRPC call, and
//! its national answers (home search across regions, a municipality's
//! placements in every region, the national quarterly report of unexecuted
//! decisions, units in every region, socialjouren's lookup of a child who
//! ran away).

#![allow(clippy::result_large_err)] // Problem is the error response itself; it is built once per failed request.

use super::{Carry, RouteSpec, ServiceRoutes};
use crate::national::{self, National, NationalRoute};
use crate::problem::Problem;
use crate::{Caller, Gateway};
use axum::response::Response;
use futures::future::BoxFuture;
use samling_kit::auth::Role;
use samling_proto::registry::v1::registry_service_client::RegistryServiceClient;
use samling_proto::registry::v1::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The service's name in the module list and the region directory.
pub const NAME: &str = "registry";

/// The registry's part of the REST API.
pub const SERVICE: ServiceRoutes = ServiceRoutes {
    service: NAME,
    routes: REGION_ROUTES,
    national: NATIONAL_ROUTES,
    never_stored: NEVER_STORED,
    public: &[],
    creates: CREATES,
    components,
};

pub const OFFICE: &[Role] = &[Role::RegionalOfficer, Role::Service];
pub const MUNI_AND_OFFICE: &[Role] = &[
    Role::RegionalOfficer,
    Role::Service,
    Role::MunicipalityCaseworker,
    Role::MunicipalityManager,
];
/// Home search returns individual homes: not for the aggregate-only roles
/// (analysts and the council get figures, never single homes).
pub const SEARCHERS: &[Role] = &[
    Role::RegionalOfficer,
    Role::Service,
    Role::MunicipalityCaseworker,
    Role::MunicipalityManager,
    Role::Ivo,
];
pub const HOME_READERS: &[Role] = &[
    Role::RegionalOfficer,
    Role::Service,
    Role::MunicipalityCaseworker,
    Role::MunicipalityManager,
    Role::FamilyHome,
    Role::Ombud,
    Role::Ivo,
];
/// IVO's reads and its inspections of units and agencies (ADR 0029): IVO
/// and the office.
pub const IVO_AND_OFFICE: &[Role] = &[Role::RegionalOfficer, Role::Service, Role::Ivo];
/// Home visits (ADR 0028): a municipality's follow-up (its own, with a
/// link to the home: the register checks), the office, IVO's inspection.
pub const VISITORS: &[Role] = &[
    Role::RegionalOfficer,
    Role::Service,
    Role::MunicipalityCaseworker,
    Role::MunicipalityManager,
    Role::Ivo,
];
pub const HOME_SELF: &[Role] = &[Role::RegionalOfficer, Role::Service, Role::FamilyHome];
/// A home's notices (ADR 0026): the office, the home, the deciding
/// municipality (its own notices only, the register checks), the national
/// reviewer.
pub const NOTICE_READERS: &[Role] = &[
    Role::RegionalOfficer,
    Role::Service,
    Role::MunicipalityCaseworker,
    Role::MunicipalityManager,
    Role::FamilyHome,
    Role::NationalReviewer,
];
/// A home's requests: the office, the home, a municipality involved with
/// the home (its responses), the national reviewer (appeals).
pub const REQUEST_READERS: &[Role] = &[
    Role::RegionalOfficer,
    Role::Service,
    Role::MunicipalityCaseworker,
    Role::MunicipalityManager,
    Role::FamilyHome,
    Role::NationalReviewer,
];
/// Deciding homes' requests: the office (responses, corrections), the
/// national reviewer (appeals, second opinions); the register decides which.
pub const REQUEST_DECIDERS: &[Role] =
    &[Role::RegionalOfficer, Role::Service, Role::NationalReviewer];
pub const APPROVERS: &[Role] = &[
    Role::RegionalOfficer,
    Role::Service,
    Role::MunicipalityManager,
];
pub const CHILD_READERS: &[Role] = &[
    Role::RegionalOfficer,
    Role::Service,
    Role::MunicipalityCaseworker,
    Role::MunicipalityManager,
    Role::Child,
    Role::Ombud,
];
pub const PLACEMENT_READERS: &[Role] = &[
    Role::RegionalOfficer,
    Role::Service,
    Role::MunicipalityCaseworker,
    Role::MunicipalityManager,
    Role::Ombud,
    Role::FamilyHome,
    Role::Child,
];
pub const PROVIDER_READERS: &[Role] = &[
    Role::RegionalOfficer,
    Role::Service,
    Role::MunicipalityCaseworker,
    Role::MunicipalityManager,
    Role::NationalAnalyst,
    Role::CouncilMember,
    Role::Ombud,
    Role::FamilyHome,
    Role::Ivo,
    Role::UnitStaff,
];
/// A unit's vacancies (issue 24 §8): the office, or the unit's own staff
/// (the path's unit must be the token's party; the register checks again).
pub const VACANCY_REPORTERS: &[Role] = &[Role::RegionalOfficer, Role::Service, Role::UnitStaff];
/// Socialjouren's lookup of a child who ran away (issue 24 §8): the office
/// and municipal staff of any municipality. The police is not a role: it
/// calls socialjouren.
pub const LOCATORS: &[Role] = MUNI_AND_OFFICE;
pub const REPORT_READERS: &[Role] = &[
    Role::RegionalOfficer,
    Role::Service,
    Role::MunicipalityCaseworker,
    Role::MunicipalityManager,
    Role::NationalAnalyst,
    Role::CouncilMember,
];

route_table! {
    service = NAME,
    package = "samling.registry.v1",
    client = RegistryServiceClient;
    POST "/v1/regions/{region}/homes" "createHome" => create_home(CreateHomeRequest) -> CreateHomeResponse,
        Body, OFFICE, own = [], party = None, "Register a home (applicant); possible duplicates are flagged";
    GET "/v1/regions/{region}/homes" "searchRegionHomes" => search_homes(SearchHomesRequest) -> SearchHomesResponse,
        Query, SEARCHERS, own = [], party = None, "Search one region's homes (summaries, no personal data)";
    POST "/v1/regions/{region}/homes/import" "importHomes" => import_homes(ImportHomesRequest) -> ImportHomesResponse,
        Body, OFFICE, own = [], party = None, "Bulk import homes; invalid rows reported with line and field";
    GET "/v1/regions/{region}/homes/{home_id}" "getHome" => get_home(GetHomeRequest) -> Home,
        Query, HOME_READERS, own = [], party = Some("home_id"), "A home as the caller may see it";
    PUT "/v1/regions/{region}/homes/{home_id}/profile" "updateHomeProfile" => update_home_profile(UpdateHomeProfileRequest) -> Home,
        Body, OFFICE, own = [], party = None, "Replace a home's editable profile (optimistic concurrency)";
    POST "/v1/regions/{region}/homes/{home_id}/status" "transitionHome" => transition_home(TransitionHomeRequest) -> Home,
        Body, OFFICE, own = [], party = None, "Move a home along its lifecycle";
    POST "/v1/regions/{region}/homes/{home_id}/approvals" "recordApproval" => record_approval(RecordApprovalRequest) -> Home,
        Body, APPROVERS, own = ["municipality_code"], party = None, "Record a municipality's approval decision";
    POST "/v1/regions/{region}/homes/{home_id}/investigations" "assignInvestigatingMunicipality" => assign_investigating_municipality(AssignInvestigatingMunicipalityRequest) -> Home,
        Body, OFFICE, own = [], party = None, "The regional office assigns a municipality to investigate a home (then its manager may record the approval)";
    POST "/v1/regions/{region}/homes/{home_id}/protected-address/reveal" "revealProtectedAddress" => reveal_protected_address(RevealProtectedAddressRequest) -> RevealProtectedAddressResponse,
        Body, OFFICE, own = [], party = None, "A protected home's address, with a stated reason (audited); never stored for Idempotency-Key replays";
    POST "/v1/regions/{region}/homes/{home_id}/reconfirmations" "reconfirmHome" => reconfirm_home(ReconfirmHomeRequest) -> Home,
        Body, OFFICE, own = [], party = None, "Record the annual re-confirmation";
    GET "/v1/regions/{region}/overdue-homes" "listOverdueHomes" => list_overdue_homes(ListOverdueHomesRequest) -> SearchHomesResponse,
        Query, MUNI_AND_OFFICE, own = ["municipality_code"], party = None, "Homes overdue for re-confirmation (a municipality: the homes its children are placed in)";
    GET "/v1/regions/{region}/homes/{home_id}/history" "getHomeHistory" => get_home_history(GetHomeHistoryRequest) -> GetHomeHistoryResponse,
        Query, HOME_READERS, own = [], party = Some("home_id"), "Every version of a home: who, when, why";
    POST "/v1/regions/{region}/homes/{home_id}/members" "addHouseholdMember" => add_household_member(AddHouseholdMemberRequest) -> CreateHomeResponse,
        Body, OFFICE, own = [], party = None, "Add a household member";
    DELETE "/v1/regions/{region}/homes/{home_id}/members/{member_id}" "removeHouseholdMember" => remove_household_member(RemoveHouseholdMemberRequest) -> Home,
        Query, OFFICE, own = [], party = None, "Remove a household member";
    POST "/v1/regions/{region}/homes/{home_id}/members/{member_id}/record-checks" "recordRecordCheck" => record_record_check(RecordRecordCheckRequest) -> Home,
        Body, OFFICE, own = [], party = None, "Record a register check of a household member";
    POST "/v1/regions/{region}/homes/{home_id}/incidents" "recordIncident" => record_incident(RecordIncidentRequest) -> Home,
        Body, OFFICE, own = [], party = None, "Record an incident";
    POST "/v1/regions/{region}/homes/{home_id}/consent-withdrawal" "withdrawConsent" => withdraw_consent(WithdrawConsentRequest) -> Home,
        Body, HOME_SELF, own = [], party = Some("home_id"), "The home withdraws its consent";
    PUT "/v1/regions/{region}/homes/{home_id}/jour-availability" "setJourAvailability" => set_jour_availability(SetJourAvailabilityRequest) -> Home,
        Body, HOME_SELF, own = [], party = Some("home_id"), "Live emergency (jour) availability";
    POST "/v1/regions/{region}/homes/{home_id}/objections" "objectToFurtherPlacements" => object_to_further_placements(ObjectToFurtherPlacementsRequest) -> Home,
        Body, MUNI_AND_OFFICE, own = ["municipality_code"], party = None, "The first placing municipality objects to further placements";
    DELETE "/v1/regions/{region}/homes/{home_id}/objections/{municipality_code}" "withdrawObjection" => withdraw_objection(WithdrawObjectionRequest) -> Home,
        Query, MUNI_AND_OFFICE, own = ["municipality_code"], party = None, "Withdraw an objection";
    POST "/v1/regions/{region}/homes/{home_id}/requests" "submitHomeRequest" => submit_home_request(SubmitHomeRequestRequest) -> HomeRequest,
        Body, HOME_SELF, own = [], party = Some("home_id"), "A home's response, correction, appeal or second-opinion request";
    GET "/v1/regions/{region}/homes/{home_id}/requests" "listHomeRequests" => list_home_requests(ListHomeRequestsRequest) -> ListHomeRequestsResponse,
        Query, REQUEST_READERS, own = [], party = Some("home_id"), "A home's requests (a municipality involved with the home: its responses; the national reviewer: appeals and second opinions)";
    GET "/v1/regions/{region}/home-requests" "listAllHomeRequests" => list_home_requests(ListHomeRequestsRequest) -> ListHomeRequestsResponse,
        Query, REQUEST_DECIDERS, own = [], party = None, "All homes' requests (the national reviewer: appeals and second opinions)";
    POST "/v1/regions/{region}/home-requests/{home_request_id}/decision" "decideHomeRequest" => decide_home_request(DecideHomeRequestRequest) -> HomeRequest,
        Body, REQUEST_DECIDERS, own = [], party = None, "Decide a home's request: corrections (applied as a new version) by the office, appeals and second opinions by the national reviewer only";
    GET "/v1/regions/{region}/overdue-home-requests" "listOverdueHomeRequests" => list_overdue_home_requests(ListOverdueHomeRequestsRequest) -> ListHomeRequestsResponse,
        Query, REQUEST_DECIDERS, own = [], party = None, "Homes' requests past respond_by (escalated to the national reviewer)";
    POST "/v1/regions/{region}/homes/{home_id}/restrictions" "recordRestriction" => record_restriction(RecordRestrictionRequest) -> Home,
        Body, APPROVERS, own = ["municipality_code"], party = None, "Revoke or suspend an approval, a prohibition (22 kap. 11 § SoL), a medgivande withdrawn: with reasons, the home notified";
    POST "/v1/regions/{region}/homes/{home_id}/restrictions/{restriction_id}/lift" "liftRestriction" => lift_restriction(LiftRestrictionRequest) -> Home,
        Body, APPROVERS, own = [], party = None, "Lift a restriction (the deciding nämnd or the office)";
    GET "/v1/regions/{region}/homes/{home_id}/notices" "listHomeNotices" => list_home_notices(ListHomeNoticesRequest) -> ListHomeNoticesResponse,
        Query, NOTICE_READERS, own = [], party = Some("home_id"), "The notices a home was sent (a municipality: its own decisions')";
    POST "/v1/regions/{region}/agencies" "createAgency" => create_agency(CreateAgencyRequest) -> Agency,
        Body, OFFICE, own = [], party = None, "Register an agency (konsulentverksamhet)";
    GET "/v1/regions/{region}/agencies" "listAgencies" => list_agencies(ListAgenciesRequest) -> ListAgenciesResponse,
        Query, PROVIDER_READERS, own = [], party = None, "Agencies";
    GET "/v1/regions/{region}/agencies/{agency_id}" "getAgency" => get_agency(GetAgencyRequest) -> Agency,
        Query, PROVIDER_READERS, own = [], party = None, "An agency with its permit and price split";
    PUT "/v1/regions/{region}/agencies/{agency_id}" "updateAgency" => update_agency(UpdateAgencyRequest) -> Agency,
        Body, OFFICE, own = [], party = None, "Update an agency's permit, prices or name";
    POST "/v1/regions/{region}/units" "createUnit" => create_unit(CreateUnitRequest) -> Unit,
        Body, OFFICE, own = [], party = None, "Register an HVB or other unit";
    GET "/v1/regions/{region}/units" "listUnits" => list_units(ListUnitsRequest) -> ListUnitsResponse,
        Query, PROVIDER_READERS, own = [], party = None, "Units, optionally with vacancies only";
    GET "/v1/regions/{region}/units/{unit_id}" "getUnit" => get_unit(GetUnitRequest) -> Unit,
        Query, PROVIDER_READERS, own = [], party = None, "A unit";
    PUT "/v1/regions/{region}/units/{unit_id}/vacancies" "updateVacancies" => update_vacancies(UpdateVacanciesRequest) -> Unit,
        Body, VACANCY_REPORTERS, own = [], party = Some("unit_id"), "Report a unit's vacancies (the office, or the unit's own staff)";
    POST "/v1/regions/{region}/units/{unit_id}/inspections" "recordInspection" => record_inspection(RecordInspectionRequest) -> Unit,
        Body, IVO_AND_OFFICE, own = [], party = None, "Record an inspection of a unit (IVO or the office; unannounced marked, findings)";
    POST "/v1/regions/{region}/agencies/{agency_id}/inspections" "recordAgencyInspection" => record_agency_inspection(RecordAgencyInspectionRequest) -> Agency,
        Body, IVO_AND_OFFICE, own = [], party = None, "Record an inspection of an agency (IVO or the office; unannounced marked, findings)";
    GET "/v1/regions/{region}/ivo-reports" "listIvoReports" => list_ivo_reports(ListIvoReportsRequest) -> SearchHomesResponse,
        Query, IVO_AND_OFFICE, own = [], party = None, "Homes with more children placed than the IVO limit (summaries)";
    POST "/v1/regions/{region}/homes/{home_id}/trainings" "recordTraining" => record_training(RecordTrainingRequest) -> Home,
        Body, MUNI_AND_OFFICE, own = ["municipality_code"], party = None, "Record a course the household completed";
    POST "/v1/regions/{region}/homes/{home_id}/investigation-records" "recordInvestigation" => record_investigation(RecordInvestigationRequest) -> Home,
        Body, MUNI_AND_OFFICE, own = ["municipality_code"], party = None, "Record the standard investigation's methods and result (Kälvesten is not evidence-based)";
    POST "/v1/regions/{region}/homes/{home_id}/visits" "recordHomeVisit" => record_home_visit(RecordHomeVisitRequest) -> Home,
        Body, VISITORS, own = ["municipality_code"], party = None, "Record a home visit: a municipality's follow-up, the office's, IVO's inspection (unannounced marked)";
    GET "/v1/regions/{region}/overdue-record-checks" "listRecordChecksOverdue" => list_record_checks_overdue(ListOverdueHomesRequest) -> SearchHomesResponse,
        Query, OFFICE, own = [], party = None, "Homes whose register extracts are past due for renewal";
    POST "/v1/regions/{region}/children" "registerChild" => register_child(RegisterChildRequest) -> RegisterChildResponse,
        Body, MUNI_AND_OFFICE, own = ["placing_municipality_code"], party = None, "Register a child; a second registration is flagged";
    GET "/v1/regions/{region}/children" "listChildren" => list_children(ListChildrenRequest) -> ListChildrenResponse,
        Query, MUNI_AND_OFFICE, own = ["municipality_code"], party = None, "Children of a municipality";
    GET "/v1/regions/{region}/children/{child_id}" "getChild" => get_child(GetChildRequest) -> Child,
        Query, CHILD_READERS, own = [], party = Some("child_id"), "A child's core record";
    PUT "/v1/regions/{region}/children/{child_id}/protection" "setChildProtection" => set_child_protection(SetChildProtectionRequest) -> Child,
        Body, MUNI_AND_OFFICE, own = [], party = None, "Set or clear protected identity";
    POST "/v1/regions/{region}/placements" "createPlacement" => create_placement(CreatePlacementRequest) -> CreatePlacementResponse,
        Body, MUNI_AND_OFFICE, own = [], party = None, "Place a child in a home or unit";
    GET "/v1/regions/{region}/placements" "listPlacements" => list_placements(ListPlacementsRequest) -> ListPlacementsResponse,
        Query, PLACEMENT_READERS, own = ["municipality_code"], party = None, "Placements the caller may see";
    GET "/v1/regions/{region}/placements/{placement_id}" "getPlacement" => get_placement(GetPlacementRequest) -> Placement,
        Query, PLACEMENT_READERS, own = [], party = None, "A placement";
    POST "/v1/regions/{region}/placements/{placement_id}/end" "endPlacement" => end_placement(EndPlacementRequest) -> Placement,
        Body, MUNI_AND_OFFICE, own = [], party = None, "End a placement (breakdowns with reason codes)";
    GET "/v1/regions/{region}/custody-transfer-due" "listCustodyTransferDue" => list_custody_transfer_due(ListCustodyTransferDueRequest) -> ListPlacementsResponse,
        Query, MUNI_AND_OFFICE, own = ["municipality_code"], party = None, "Placements due for the 2-year custody-transfer consideration";
    POST "/v1/regions/{region}/placements/{placement_id}/custody-considerations" "recordCustodyConsideration" => record_custody_consideration(RecordCustodyConsiderationRequest) -> Placement,
        Body, MUNI_AND_OFFICE, own = [], party = None, "The custody-transfer consideration made, with its outcome (the due list moves on)";
    GET "/v1/regions/{region}/long-jourhem-stays" "listLongJourhemStays" => list_long_jourhem_stays(ListLongJourhemStaysRequest) -> ListPlacementsResponse,
        Query, MUNI_AND_OFFICE, own = ["municipality_code"], party = None, "Children in an emergency home (jourhem) longer than the threshold";
    POST "/v1/regions/{region}/children/{child_id}/siblings" "setSiblingLink" => set_sibling_link(SetSiblingLinkRequest) -> Child,
        Body, MUNI_AND_OFFICE, own = [], party = None, "Link or unlink two children as siblings (a placement that splits them says so)";
    PUT "/v1/regions/{region}/placements/{placement_id}/closing-conversation" "recordPlacementClosingConversation" => record_closing_conversation(RecordClosingConversationRequest) -> Placement,
        Body, MUNI_AND_OFFICE, own = [], party = None, "The closing conversation with the home after a placement ended";
    GET "/v1/regions/{region}/statistics/placements" "getPlacementStatistics" => get_placement_statistics(GetPlacementStatisticsRequest) -> PlacementStatistics,
        Query, REPORT_READERS, own = ["municipality_code"], party = None, "A year's placements: network-placement share per municipality, breakdowns by provider kind and home type (small counts suppressed for aggregate roles)";
    POST "/v1/regions/{region}/unexecuted-decisions" "reportUnexecutedDecision" => report_unexecuted_decision(ReportUnexecutedDecisionRequest) -> UnexecutedDecision,
        Body, MUNI_AND_OFFICE, own = ["municipality_code"], party = None, "Report a decision not yet executed";
    GET "/v1/regions/{region}/unexecuted-decisions" "listUnexecutedDecisions" => list_unexecuted_decisions(ListUnexecutedDecisionsRequest) -> ListUnexecutedDecisionsResponse,
        Query, MUNI_AND_OFFICE, own = ["municipality_code"], party = None, "Unexecuted decisions";
    POST "/v1/regions/{region}/unexecuted-decisions/{decision_id}/execution" "markDecisionExecuted" => mark_decision_executed(MarkDecisionExecutedRequest) -> UnexecutedDecision,
        Body, MUNI_AND_OFFICE, own = [], party = None, "Record that a decision was executed";
    GET "/v1/regions/{region}/unexecuted-decisions/quarterly-report" "getQuarterlyReport" => get_quarterly_report(GetQuarterlyReportRequest) -> QuarterlyReport,
        Query, REPORT_READERS, own = ["municipality_code"], party = None, "Quarterly report by sex and reason";
    GET "/v1/regions/{region}/duplicate-flags" "listDuplicateFlags" => list_duplicate_flags(ListDuplicateFlagsRequest) -> ListDuplicateFlagsResponse,
        Query, OFFICE, own = [], party = None, "Possible duplicates flagged for review";
    POST "/v1/regions/{region}/duplicate-flags/{flag_id}/resolution" "resolveDuplicateFlag" => resolve_duplicate_flag(ResolveDuplicateFlagRequest) -> DuplicateFlag,
        Body, OFFICE, own = [], party = None, "Resolve a duplicate flag";
}

/// The national (fan-out) routes, answered below.
pub const NATIONAL_ROUTES: &[NationalRoute] = &[
    NationalRoute {
        answer: units_nationally,
        spec: RouteSpec {
            method: "GET",
            path: "/v1/units",
            operation_id: "listUnitsNationally",
            summary: "HVB and other units in every region, with target groups, contact details and vacancies; partial when a region did not answer in time",
            request: "samling.registry.v1.ListUnitsRequest",
            response: "samling.gateway.NationalUnitsResponse",
            carry: Carry::Query,
            roles: PROVIDER_READERS,
            own_municipality: &[],
            party_param: None,
            national: true,
            service: NAME,
        },
    },
    NationalRoute {
        answer: locate_nationally,
        spec: RouteSpec {
            method: "POST",
            path: "/v1/children/locate",
            operation_id: "locateChildNationally",
            summary: "Socialjouren's lookup of a child who ran away: where it is placed now and whom to call, in every region (personnummer in the body; reason audited)",
            request: "samling.registry.v1.LocateChildRequest",
            response: "samling.gateway.NationalLocateChildResponse",
            carry: Carry::Body,
            roles: LOCATORS,
            own_municipality: &[],
            party_param: None,
            national: true,
            service: NAME,
        },
    },
    NationalRoute {
        answer: search_nationally,
        spec: RouteSpec {
            method: "GET",
            path: "/v1/homes",
            operation_id: "searchHomesNationally",
            summary: "Search homes in every region (summaries); partial when a region did not answer in time",
            request: "samling.registry.v1.SearchHomesRequest",
            response: "samling.gateway.NationalSearchHomesResponse",
            carry: Carry::Query,
            roles: SEARCHERS,
            own_municipality: &[],
            party_param: None,
            national: true,
            service: NAME,
        },
    },
    NationalRoute {
        answer: quarterly_nationally,
        spec: RouteSpec {
            method: "GET",
            path: "/v1/statistics/unexecuted-decisions",
            operation_id: "nationalQuarterlyReport",
            summary: "The quarterly report of unexecuted decisions summed over every region",
            request: "samling.registry.v1.GetQuarterlyReportRequest",
            response: "samling.gateway.NationalQuarterlyReport",
            carry: Carry::Query,
            roles: REPORT_READERS,
            own_municipality: &["municipality_code"],
            party_param: None,
            national: true,
            service: NAME,
        },
    },
    NationalRoute {
        answer: placements_nationally,
        spec: RouteSpec {
            method: "GET",
            path: "/v1/placements",
            operation_id: "listPlacementsNationally",
            summary: "A municipality's placed children in every region's homes (each placement once); partial when a region did not answer in time",
            request: "samling.registry.v1.ListPlacementsRequest",
            response: "samling.gateway.NationalPlacementsResponse",
            carry: Carry::Query,
            roles: MUNI_AND_OFFICE,
            own_municipality: &["municipality_code"],
            party_param: None,
            national: true,
            service: NAME,
        },
    },
];

/// Operations whose answer the gateway never stores for `Idempotency-Key`
/// replays (the key is ignored): a protected address stays in the register.
/// Revealing twice is a read, audited each time.
const NEVER_STORED: &[&str] = &["revealProtectedAddress", "locateChildNationally"];

/// Operations whose answer always names a record others take in their path:
/// (operation, JSON pointer into its answer, the path parameter it fills).
/// (An import's ids and a new home's duplicate flags may be none: no link.)
/// The OpenAPI document links them, so clients (and Schemathesis' stateful
/// tests) can follow a new record to what can be done with it.
const CREATES: &[(&str, &str, &str)] = &[
    ("createHome", "/home/id", "home_id"),
    ("getHome", "/members/0/id", "member_id"),
    ("submitHomeRequest", "/id", "home_request_id"),
    ("createAgency", "/id", "agency_id"),
    ("createUnit", "/id", "unit_id"),
    ("registerChild", "/child/id", "child_id"),
    ("createPlacement", "/placement/id", "placement_id"),
    ("reportUnexecutedDecision", "/id", "decision_id"),
];

/// The schemas of the national answers.
fn components() -> Vec<(&'static str, Value)> {
    vec![
        (
            "gateway.NationalSearchHomesResponse",
            json!({
                "type": "object",
                "required": ["homes", "partial", "missing_regions"],
                "properties": {
                    "homes": {"type": "array", "items": {"$ref": "#/components/schemas/registry.v1.HomeSummary"}},
                    "next_page_token": {"type": "string"},
                    "partial": {"type": "boolean", "description": "True when a region did not answer in time"},
                    "missing_regions": {"type": "array", "items": {"type": "string"}}
                },
                "additionalProperties": false
            }),
        ),
        (
            "gateway.NationalPlacementsResponse",
            json!({
                "type": "object",
                "required": ["placements", "partial", "missing_regions"],
                "properties": {
                    "placements": {"type": "array", "items": {"$ref": "#/components/schemas/registry.v1.Placement"}},
                    "next_page_token": {"type": "string"},
                    "partial": {"type": "boolean", "description": "True when a region did not answer in time: placements it holds may be missing"},
                    "missing_regions": {"type": "array", "items": {"type": "string"}}
                },
                "additionalProperties": false
            }),
        ),
        (
            "gateway.NationalUnitsResponse",
            json!({
                "type": "object",
                "required": ["units", "partial", "missing_regions"],
                "properties": {
                    "units": {"type": "array", "items": {"$ref": "#/components/schemas/registry.v1.Unit"}},
                    "next_page_token": {"type": "string"},
                    "partial": {"type": "boolean", "description": "True when a region did not answer in time"},
                    "missing_regions": {"type": "array", "items": {"type": "string"}}
                },
                "additionalProperties": false
            }),
        ),
        (
            "gateway.NationalLocateChildResponse",
            json!({
                "type": "object",
                "required": ["children", "partial", "missing_regions"],
                "properties": {
                    "children": {"type": "array", "items": {"$ref": "#/components/schemas/registry.v1.ChildWhereabouts"}},
                    "partial": {"type": "boolean", "description": "True when a region did not answer in time: the child may be registered there"},
                    "missing_regions": {"type": "array", "items": {"type": "string"}}
                },
                "additionalProperties": false
            }),
        ),
        (
            "gateway.NationalQuarterlyReport",
            json!({
                "type": "object",
                "required": ["report", "partial", "missing_regions"],
                "properties": {
                    "report": {"$ref": "#/components/schemas/registry.v1.QuarterlyReport"},
                    "partial": {"type": "boolean"},
                    "missing_regions": {"type": "array", "items": {"type": "string"}}
                },
                "additionalProperties": false
            }),
        ),
    ]
}

fn search_nationally(
    gw: Arc<Gateway>,
    n: National,
) -> BoxFuture<'static, Result<Response, Problem>> {
    Box::pin(search(gw, n))
}

fn placements_nationally(
    gw: Arc<Gateway>,
    n: National,
) -> BoxFuture<'static, Result<Response, Problem>> {
    Box::pin(placements(gw, n))
}

fn units_nationally(
    gw: Arc<Gateway>,
    n: National,
) -> BoxFuture<'static, Result<Response, Problem>> {
    Box::pin(units(gw, n))
}

fn locate_nationally(
    gw: Arc<Gateway>,
    n: National,
) -> BoxFuture<'static, Result<Response, Problem>> {
    Box::pin(locate(gw, n))
}

fn quarterly_nationally(
    gw: Arc<Gateway>,
    n: National,
) -> BoxFuture<'static, Result<Response, Problem>> {
    Box::pin(quarterly(gw, n))
}

/// Homes of every region (summaries), a page of each; the page token is
/// the regions' own, carried as one.
async fn search(gw: Arc<Gateway>, mut n: National) -> Result<Response, Problem> {
    let q: SearchHomesRequest = n.decode(&gw)?;
    let (answers, missing, next) = national::paged_fan_out(
        &gw,
        &n,
        &q,
        |m| &mut m.page,
        |r: &SearchHomesResponse| r.page.as_ref().map(|p| p.next_page_token.clone()),
        |ch, r| async move { RegistryServiceClient::new(ch).search_homes(r).await },
    )
    .await?;
    let homes: Vec<_> = answers.into_iter().flat_map(|(_, r)| r.homes).collect();
    let homes = serde_json::to_value(&homes).unwrap_or(Value::Array(vec![]));
    Ok(national::list_response(&gw, &n, "homes", homes, next, missing).await)
}

/// Units of every region (issue 24 §8), a page of each; the page token is
/// the regions' own, carried as one.
async fn units(gw: Arc<Gateway>, mut n: National) -> Result<Response, Problem> {
    let q: ListUnitsRequest = n.decode(&gw)?;
    let (answers, missing, next) = national::paged_fan_out(
        &gw,
        &n,
        &q,
        |m| &mut m.page,
        |r: &ListUnitsResponse| r.page.as_ref().map(|p| p.next_page_token.clone()),
        |ch, r| async move { RegistryServiceClient::new(ch).list_units(r).await },
    )
    .await?;
    let units: Vec<_> = answers.into_iter().flat_map(|(_, r)| r.units).collect();
    let units = serde_json::to_value(&units).unwrap_or(Value::Array(vec![]));
    Ok(national::list_response(&gw, &n, "units", units, next, missing).await)
}

/// A child who ran away, looked up in every region (issue 24 §8): a child
/// is registered once, in its placing municipality's region (ADR 0021), so
/// the region that knows it answers; each region applies the caller's view
/// and audits the lookup. A region that did not answer: `partial`.
async fn locate(gw: Arc<Gateway>, mut n: National) -> Result<Response, Problem> {
    let q: LocateChildRequest = n.decode(&gw)?;
    let regions = national::regions_for(&gw, &n)?;
    let (answers, missing) = national::fan_out(
        &gw,
        &n,
        &n.caller,
        regions,
        |_| q.clone(),
        |ch, r| async move { RegistryServiceClient::new(ch).locate_child(r).await },
    )
    .await?;
    let children: Vec<_> = answers.into_iter().flat_map(|(_, r)| r.children).collect();
    Ok(national::json(&json!({
        "children": serde_json::to_value(&children).unwrap_or(Value::Array(vec![])),
        "partial": !missing.is_empty(),
        "missing_regions": missing,
    })))
}

/// A municipality's placements in every region (ADR 0021). A placement is
/// kept by the placing municipality's register, wherever the home is, so
/// each appears once; older ones made in another region's register (a child
/// registered there too) are found there. Each region answers as for the
/// caller (its scope: a municipality its own placements), a page of each;
/// the page token is the regions' own, carried as one.
async fn placements(gw: Arc<Gateway>, mut n: National) -> Result<Response, Problem> {
    let mut q: ListPlacementsRequest = n.decode(&gw)?;
    if n.caller.ctx.role.is_municipal() && q.municipality_code.is_empty() {
        q.municipality_code = n
            .caller
            .ctx
            .municipality
            .as_ref()
            .map(|m| m.as_str().to_string())
            .unwrap_or_default();
    }
    let (answers, missing, next) = national::paged_fan_out(
        &gw,
        &n,
        &q,
        |m| &mut m.page,
        |r: &ListPlacementsResponse| r.page.as_ref().map(|p| p.next_page_token.clone()),
        |ch, r| async move { RegistryServiceClient::new(ch).list_placements(r).await },
    )
    .await?;
    let mut seen = std::collections::BTreeSet::new();
    let placements: Vec<_> = answers
        .into_iter()
        .flat_map(|(_, r)| r.placements)
        .filter(|p| seen.insert(p.id.clone()))
        .collect();
    let placements = serde_json::to_value(&placements).unwrap_or(Value::Array(vec![]));
    Ok(national::list_response(&gw, &n, "placements", placements, next, missing).await)
}

/// The quarterly report summed over every region.
async fn quarterly(gw: Arc<Gateway>, mut n: National) -> Result<Response, Problem> {
    let q: GetQuarterlyReportRequest = n.decode(&gw)?;
    let caller = &n.caller;
    // The aggregate-only roles get no raw count below 5 from a region
    // (ADR 0017). Suppressing each region's figures before adding them
    // up would lose them, so the gateway asks the regions as itself
    // (the `service` role, raw counts; the caller's request was
    // authorized above) and suppresses the national sum. The caller's
    // own context never carries raw counts back.
    let aggregates_only = caller.ctx.role.aggregates_only();
    if aggregates_only && !q.municipality_code.is_empty() {
        // One municipality's figures beside its region's and the
        // nation's would be one more table to difference against.
        return Err(Problem::refused(
            samling_kit::error::Reason::ForbiddenRole,
            "municipality_code: the aggregate roles get national and regional figures only",
        ));
    }
    let asking: Arc<Caller> = if aggregates_only {
        let ctx =
            samling_kit::auth::AuthContext::new("gateway", Role::Service).with_purpose(format!(
                "national quarterly sum for a {} (suppressed after adding up)",
                caller.ctx.role.as_str()
            ));
        Arc::new(gw.caller(ctx))
    } else {
        caller.clone()
    };
    let (answers, missing) = national::fan_out(
        &gw,
        &n,
        &asking,
        national::regions_for(&gw, &n)?,
        |_| q.clone(),
        |ch, r| async move { RegistryServiceClient::new(ch).get_quarterly_report(r).await },
    )
    .await?;
    let regional: Vec<QuarterlyReport> = answers.into_iter().map(|(_, r)| r).collect();
    let mut rows: BTreeMap<(i32, i32), (u32, u32)> = BTreeMap::new();
    let mut quarter_end = None;
    for r in &regional {
        quarter_end = quarter_end.or(r.quarter_end);
        for row in &r.rows {
            let e = rows.entry((row.sex, row.reason)).or_default();
            e.0 += row.not_executed;
            e.1 += row.executed_late;
        }
    }
    let rows: Vec<QuarterlyReportRow> = rows
        .into_iter()
        .map(
            |((sex, reason), (not_executed, executed_late))| QuarterlyReportRow {
                sex,
                reason,
                not_executed,
                executed_late,
                ..Default::default()
            },
        )
        .collect();
    let mut report = QuarterlyReport {
        municipality_code: q.municipality_code.clone(),
        year: q.year,
        quarter: q.quarter,
        quarter_end,
        total_not_executed: rows.iter().map(|r| r.not_executed).sum(),
        total_executed_late: rows.iter().map(|r| r.executed_late).sum(),
        rows,
        // The running quarter in any region: provisional.
        provisional: regional.iter().any(|r| r.provisional),
        ..Default::default()
    };
    if aggregates_only {
        // Each region's own report is shown to these roles too: a
        // national figure is hidden wherever a region hides its part.
        samling_kit::disclosure::suppress_quarterly_report_over(&mut report, &regional);
    } else {
        samling_kit::disclosure::show_quarterly_report(&mut report);
    }
    Ok(national::json(&json!({
        "report": serde_json::to_value(&report).unwrap_or(Value::Null),
        "partial": !missing.is_empty(),
        "missing_regions": missing,
    })))
}
