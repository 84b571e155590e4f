//! The REST routes: one table, from which the router, the OpenAPI document
//! and the authorization tests are all made. Each route is one gRPC call of
//! one region's service; `/v1/homes` and `/v1/statistics/*` fan out.

use samling_kit::auth::Role;

/// How a route's request is carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carry {
    /// JSON body (mutations).
    Body,
    /// Query string (reads).
    Query,
}

#[derive(Debug, Clone, Copy)]
pub struct RouteSpec {
    pub method: &'static str,
    pub path: &'static str,
    pub operation_id: &'static str,
    pub summary: &'static str,
    pub request: &'static str,
    pub response: &'static str,
    pub carry: Carry,
    pub roles: &'static [Role],
    /// Request fields a municipal caller may only set to their own municipality.
    pub own_municipality: &'static [&'static str],
    /// Path parameter a `family_home` or `child` caller must be (their party).
    pub party_param: Option<&'static str>,
    /// National: answered by fanning out to every region.
    pub national: bool,
}

impl RouteSpec {
    pub fn mutating(&self) -> bool {
        self.method != "GET"
    }

    /// A mutation whose answer is kept for `Idempotency-Key` replays (all
    /// but [`NEVER_STORED`]).
    pub fn keeps_answers(&self) -> bool {
        self.mutating() && !NEVER_STORED.contains(&self.operation_id)
    }

    pub fn path_params(&self) -> Vec<&'static str> {
        self.path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .collect()
    }

    pub fn allows(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

use Role::*;

pub const OFFICE: &[Role] = &[RegionalOfficer, Service];
pub const MUNI_AND_OFFICE: &[Role] = &[
    RegionalOfficer,
    Service,
    MunicipalityCaseworker,
    MunicipalityManager,
];
/// Home search returns individual homes: not for the aggregate-only roles
/// (analysts and the council get figures, never single homes).
pub const SEARCHERS: &[Role] = &[
    RegionalOfficer,
    Service,
    MunicipalityCaseworker,
    MunicipalityManager,
];
pub const HOME_READERS: &[Role] = &[
    RegionalOfficer,
    Service,
    MunicipalityCaseworker,
    MunicipalityManager,
    FamilyHome,
    Ombud,
];
pub const HOME_SELF: &[Role] = &[RegionalOfficer, Service, FamilyHome];
pub const APPROVERS: &[Role] = &[RegionalOfficer, Service, MunicipalityManager];
pub const CHILD_READERS: &[Role] = &[
    RegionalOfficer,
    Service,
    MunicipalityCaseworker,
    MunicipalityManager,
    Child,
    Ombud,
];
pub const PLACEMENT_READERS: &[Role] = &[
    RegionalOfficer,
    Service,
    MunicipalityCaseworker,
    MunicipalityManager,
    Ombud,
    FamilyHome,
    Child,
];
pub const PROVIDER_READERS: &[Role] = &[
    RegionalOfficer,
    Service,
    MunicipalityCaseworker,
    MunicipalityManager,
    NationalAnalyst,
    CouncilMember,
    Ombud,
    FamilyHome,
];
pub const REPORT_READERS: &[Role] = &[
    RegionalOfficer,
    Service,
    MunicipalityCaseworker,
    MunicipalityManager,
    NationalAnalyst,
    CouncilMember,
];

/// Declares the route table and, for each route, the gRPC call it makes.
macro_rules! route_table {
    ($( $method:ident $path:literal $op:literal => $rpc:ident($req:ident) -> $resp:ident,
        $carry:ident, $roles:expr, own = [$($own:literal),*], party = $party:expr, $summary:literal; )*) => {
        /// Every region-scoped route.
        pub const ROUTES: &[RouteSpec] = &[
            $( RouteSpec {
                method: stringify!($method),
                path: $path,
                operation_id: $op,
                summary: $summary,
                request: concat!("samling.registry.v1.", stringify!($req)),
                response: concat!("samling.registry.v1.", stringify!($resp)),
                carry: Carry::$carry,
                roles: $roles,
                own_municipality: &[$($own),*],
                party_param: $party,
                national: false,
            }, )*
        ];

        /// The router of the region-scoped routes.
        pub fn region_router(state: std::sync::Arc<crate::Gateway>) -> axum::Router {
            use samling_proto::registry::v1::*;
            let mut router = axum::Router::new();
            let mut i = 0usize;
            $(
                {
                    let spec = ROUTES[i];
                    let st = state.clone();
                    let handler = move |path: Result<axum::extract::Path<Vec<(String, String)>>, axum::extract::rejection::PathRejection>, req: axum::extract::Request| {
                        let path = path.map(|p| p.0).map_err(|_| crate::problem::Problem::invalid(
                            "path",
                            "a path parameter is not valid UTF-8 after percent-decoding",
                        ));
                        let st = st.clone();
                        async move {
                            crate::dispatch::unary::<$req, $resp, _, _>(st, spec, path, req, |channel, r| async move {
                                samling_proto::registry::v1::registry_service_client::RegistryServiceClient::new(channel)
                                    .$rpc(r)
                                    .await
                            })
                            .await
                        }
                    };
                    router = router.route($path, axum::routing::on(crate::dispatch::method_filter(stringify!($method)), handler));
                    i += 1;
                }
            )*
            let _ = i;
            router
        }
    };
}

route_table! {
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
        Query, OFFICE, own = [], party = None, "Homes overdue for re-confirmation";
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
        Query, HOME_SELF, own = [], party = Some("home_id"), "A home's requests";
    GET "/v1/regions/{region}/home-requests" "listAllHomeRequests" => list_home_requests(ListHomeRequestsRequest) -> ListHomeRequestsResponse,
        Query, OFFICE, own = [], party = None, "All homes' requests";
    POST "/v1/regions/{region}/home-requests/{home_request_id}/decision" "decideHomeRequest" => decide_home_request(DecideHomeRequestRequest) -> HomeRequest,
        Body, OFFICE, own = [], party = None, "Decide a home's request";
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
        Body, OFFICE, own = [], party = None, "Report a unit's vacancies";
    POST "/v1/regions/{region}/units/{unit_id}/inspections" "recordInspection" => record_inspection(RecordInspectionRequest) -> Unit,
        Body, OFFICE, own = [], party = None, "Record an inspection";
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

/// The national (fan-out) routes, served by hand-written handlers.
pub const NATIONAL: &[RouteSpec] = &[
    RouteSpec {
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
    },
    RouteSpec {
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
    },
];

/// Operations whose answer the gateway never stores for `Idempotency-Key`
/// replays (the key is ignored): a protected address stays in the register.
/// Revealing twice is a read, audited each time.
pub const NEVER_STORED: &[&str] = &["revealProtectedAddress"];

/// Operations whose answer always names a record others take in their path:
/// (operation, JSON pointer into its answer, the path parameter it fills).
/// (An import's ids and a new home's duplicate flags may be none: no link.)
/// The OpenAPI document links them, so clients (and Schemathesis' stateful
/// tests) can follow a new record to what can be done with it.
pub const CREATES: &[(&str, &str, &str)] = &[
    ("createHome", "/home/id", "home_id"),
    ("getHome", "/members/0/id", "member_id"),
    ("submitHomeRequest", "/id", "home_request_id"),
    ("createAgency", "/id", "agency_id"),
    ("createUnit", "/id", "unit_id"),
    ("registerChild", "/child/id", "child_id"),
    ("createPlacement", "/placement/id", "placement_id"),
    ("reportUnexecutedDecision", "/id", "decision_id"),
];

/// Every route, region-scoped and national.
pub fn all() -> impl Iterator<Item = &'static RouteSpec> {
    ROUTES.iter().chain(NATIONAL.iter())
}
