//! Compensation's REST API (`samling.compensation.v1.CompensationService`):
//! every RPC under `/v1/regions/{region}/compensation/…` (docs/compensation.md).
//!
//! The door's roles mirror the service's access rules (docs/compensation.md
//! "Access"); the service checks again, and scopes a home's or a
//! municipality's list of agreements to its own.

#![allow(clippy::result_large_err)] // Problem is the error response itself, as in registry.rs.

use super::ServiceRoutes;
use samling_kit::auth::Role;
use samling_proto::compensation::v1::compensation_service_client::CompensationServiceClient;
use samling_proto::compensation::v1::*;

/// The service's name in the module list and the region directory.
pub const NAME: &str = "compensation";

/// Compensation's part of the REST API.
pub const SERVICE: ServiceRoutes = ServiceRoutes {
    service: NAME,
    routes: REGION_ROUTES,
    national: &[],
    never_stored: NEVER_STORED,
    public: &[],
    creates: CREATES,
    components: Vec::new,
};

/// Regional finance staff (and other services).
pub const FINANCE: &[Role] = &[Role::RegionalOfficer, Role::Service];
/// Published rates: any signed-in role.
pub const EVERYONE: &[Role] = &Role::ALL;
/// An agreement and its months: finance, the home it pays, the placing
/// municipality.
pub const AGREEMENT_READERS: &[Role] = &[
    Role::RegionalOfficer,
    Role::Service,
    Role::FamilyHome,
    Role::MunicipalityCaseworker,
    Role::MunicipalityManager,
];
/// A home's statement: finance and the home itself (its id in the path).
pub const HOME_SELF: &[Role] = &[Role::RegionalOfficer, Role::Service, Role::FamilyHome];
/// A claim is submitted by the family home itself.
pub const HOME_ONLY: &[Role] = &[Role::FamilyHome];
/// A claim is decided by a caseworker (of the placing municipality: the
/// service checks).
pub const CASEWORKER: &[Role] = &[Role::MunicipalityCaseworker];
/// The state grants' key: finance and the national analyst.
pub const GRANT_READERS: &[Role] = &[Role::RegionalOfficer, Role::Service, Role::NationalAnalyst];

/// A municipality's own staff (its requisitions and usage reports).
pub const MUNICIPAL_STAFF: &[Role] = &[Role::MunicipalityCaseworker, Role::MunicipalityManager];
/// A municipality's grant history: finance, analysts, its own staff.
pub const HISTORY_READERS: &[Role] = &[
    Role::RegionalOfficer,
    Role::Service,
    Role::NationalAnalyst,
    Role::MunicipalityCaseworker,
    Role::MunicipalityManager,
];
/// The grant report: finance, analysts, council members.
pub const REPORT_READERS: &[Role] = &[
    Role::RegionalOfficer,
    Role::Service,
    Role::NationalAnalyst,
    Role::CouncilMember,
];

route_table! {
    service = NAME,
    package = "samling.compensation.v1",
    client = CompensationServiceClient;
    // --- Fee schedules -----------------------------------------------------------
    POST "/v1/regions/{region}/compensation/fee-schedules" "createFeeSchedule" => create_fee_schedule(CreateFeeScheduleRequest) -> FeeSchedule,
        Body, FINANCE, own = [], party = None, "The next version of a fee schedule: every arvode level × household and omkostnad age band × zone, in öre a month";
    GET "/v1/regions/{region}/compensation/fee-schedules" "listFeeSchedules" => list_fee_schedules(ListFeeSchedulesRequest) -> ListFeeSchedulesResponse,
        Query, EVERYONE, own = [], party = None, "Fee schedule versions by code, then version";
    GET "/v1/regions/{region}/compensation/fee-schedules/{code}" "getFeeSchedule" => get_fee_schedule(GetFeeScheduleRequest) -> FeeSchedule,
        Query, EVERYONE, own = [], party = None, "A fee schedule's newest version (or `version`)";
    POST "/v1/regions/{region}/compensation/fee-schedules/{code}/indexation" "indexFeeSchedule" => index_fee_schedule(IndexFeeScheduleRequest) -> FeeSchedule,
        Body, FINANCE, own = [], party = None, "The yearly indexation: arvode raised by a percentage to whole kronor as a new version";
    // --- Agreements ----------------------------------------------------------------
    POST "/v1/regions/{region}/compensation/agreements" "createAgreement" => create_agreement(CreateAgreementRequest) -> Agreement,
        Body, FINANCE, own = [], party = None, "A placement's fee agreement on a schedule version";
    GET "/v1/regions/{region}/compensation/agreements" "listAgreements" => list_agreements(ListAgreementsRequest) -> ListAgreementsResponse,
        Query, AGREEMENT_READERS, own = ["municipality_code"], party = None, "Agreements (a home: its own; a municipality: those it pays)";
    GET "/v1/regions/{region}/compensation/agreements/{agreement_id}" "getAgreement" => get_agreement(GetAgreementRequest) -> Agreement,
        Query, AGREEMENT_READERS, own = [], party = None, "An agreement with its deviations (finance, its home, its paying municipality)";
    POST "/v1/regions/{region}/compensation/agreements/{agreement_id}/deviations" "addDeviation" => add_deviation(AddDeviationRequest) -> Agreement,
        Body, FINANCE, own = [], party = None, "A deviation from the schedule with its reason";
    GET "/v1/regions/{region}/compensation/agreements/{agreement_id}/quote" "quoteMonth" => quote_month(QuoteMonthRequest) -> MonthQuote,
        Query, AGREEMENT_READERS, own = [], party = None, "What an agreement pays for a month (`year`, `month`), prorated by calendar days";
    // --- Monthly payment runs ------------------------------------------------------------
    PUT "/v1/regions/{region}/compensation/homes/{home_id}/account" "setPayeeAccount" => set_payee_account(SetPayeeAccountRequest) -> PayeeAccount,
        Body, FINANCE, own = [], party = None, "The bank account (IBAN) a home is paid to";
    POST "/v1/regions/{region}/compensation/payment-runs" "startPaymentRun" => start_payment_run(StartPaymentRunRequest) -> PaymentRun,
        Body, FINANCE, own = [], party = None, "The month's payment run (one per month: asking again answers the same run)";
    GET "/v1/regions/{region}/compensation/payment-runs/{run_id}" "getPaymentRun" => get_payment_run(GetPaymentRunRequest) -> PaymentRun,
        Query, FINANCE, own = [], party = None, "A payment run with its totals";
    POST "/v1/regions/{region}/compensation/payment-runs/{run_id}/approval" "approvePaymentRun" => approve_payment_run(ApprovePaymentRunRequest) -> PaymentRun,
        Body, FINANCE, own = [], party = None, "Approval by a second person (not the one who started the run)";
    GET "/v1/regions/{region}/compensation/payment-runs/{run_id}/file" "getPaymentFile" => get_payment_file(GetPaymentFileRequest) -> PaymentFile,
        Query, FINANCE, own = [], party = None, "The approved run's ISO 20022 pain.001.001.09 file (the same bytes every time)";
    GET "/v1/regions/{region}/compensation/payment-runs/{run_id}/statements" "listStatements" => list_statements(ListStatementsRequest) -> ListStatementsResponse,
        Query, FINANCE, own = [], party = None, "A run's statements, one per home";
    GET "/v1/regions/{region}/compensation/payment-runs/{run_id}/statements/{home_id}" "getStatement" => get_statement(GetStatementRequest) -> Statement,
        Query, HOME_SELF, own = [], party = Some("home_id"), "A home's statement of a run (the home reads its own)";
    // --- Claims ------------------------------------------------------------------------
    POST "/v1/regions/{region}/compensation/claims" "submitClaim" => submit_claim(SubmitClaimRequest) -> Claim,
        Body, HOME_ONLY, own = [], party = None, "A family home's claim under its agreement (lost income, travel, training, recovery break, start grant, equipment)";
    GET "/v1/regions/{region}/compensation/claims" "listClaims" => list_claims(ListClaimsRequest) -> ListClaimsResponse,
        Query, AGREEMENT_READERS, own = ["municipality_code"], party = None, "Claims (a home: its own; a municipality: those it decides)";
    GET "/v1/regions/{region}/compensation/claims/{claim_id}" "getClaim" => get_claim(GetClaimRequest) -> Claim,
        Query, AGREEMENT_READERS, own = [], party = None, "A claim (finance, its home, the placing municipality)";
    POST "/v1/regions/{region}/compensation/claims/{claim_id}/decision" "decideClaim" => decide_claim(DecideClaimRequest) -> Claim,
        Body, CASEWORKER, own = [], party = None, "A caseworker of the placing municipality approves (up to the claimed amount) or rejects a claim";
    // --- State grants ------------------------------------------------------------------
    POST "/v1/regions/{region}/compensation/state-grants/distribution" "distributeStateGrant" => distribute_state_grant(DistributeStateGrantRequest) -> StateGrantDistribution,
        Body, GRANT_READERS, own = [], party = None, "The distribution key: whole kronor per municipality, summing exactly to the available sum (nothing stored)";
    // --- State grant ledger (ADR 0048) ---------------------------------------------------
    POST "/v1/regions/{region}/compensation/state-grants/imports" "importStateGrants" => import_state_grants(ImportStateGrantsRequest) -> ImportStateGrantsResponse,
        Body, FINANCE, own = [], party = None, "Set the grant ledger from historical tables: available sums, grants per year and municipality, unused amounts (idempotent)";
    POST "/v1/regions/{region}/compensation/state-grants/municipalities/{municipality_code}/requisitions" "requisitionStateGrant" => requisition_state_grant(RequisitionStateGrantRequest) -> GrantLedgerEntry,
        Body, MUNICIPAL_STAFF, own = ["municipality_code"], party = None, "The municipality asks for its year's grant (up to the amount granted) and may opt in to leftovers";
    POST "/v1/regions/{region}/compensation/state-grants/municipalities/{municipality_code}/requisitions/decision" "decideRequisition" => decide_requisition(DecideRequisitionRequest) -> GrantLedgerEntry,
        Body, FINANCE, own = [], party = None, "Finance approves or rejects a municipality's requisition of a year";
    POST "/v1/regions/{region}/compensation/state-grants/municipalities/{municipality_code}/usage" "reportGrantUsage" => report_grant_usage(ReportGrantUsageRequest) -> GrantLedgerEntry,
        Body, MUNICIPAL_STAFF, own = ["municipality_code"], party = None, "The municipality reports what it used of a year's grant";
    POST "/v1/regions/{region}/compensation/state-grants/municipalities/{municipality_code}/reclaims" "reclaimStateGrant" => reclaim_state_grant(ReclaimStateGrantRequest) -> GrantLedgerEntry,
        Body, FINANCE, own = [], party = None, "Finance reclaims (återkrav) unused grant of a year";
    POST "/v1/regions/{region}/compensation/state-grants/redistributions" "redistributeLeftovers" => redistribute_leftovers(RedistributeLeftoversRequest) -> Redistribution,
        Body, FINANCE, own = [], party = None, "A year's leftovers shared equally in whole kronor among the municipalities that opted in";
    GET "/v1/regions/{region}/compensation/state-grants/municipalities/{municipality_code}" "getGrantHistory" => get_grant_history(GetGrantHistoryRequest) -> GrantHistory,
        Query, HISTORY_READERS, own = ["municipality_code"], party = None, "A municipality's grant history (its own staff, finance, analysts)";
    GET "/v1/regions/{region}/compensation/state-grants/report" "getGrantReport" => get_grant_report(GetGrantReportRequest) -> GrantReport,
        Query, REPORT_READERS, own = [], party = None, "Yearly grant totals reconciled against the available sums (`year`, `county_code`, `municipalities`)";
}

/// The distribution key is a computation that must be a POST (its factors
/// are a body): nothing is stored, so its answer is not kept for
/// `Idempotency-Key` replays and it has no `request_id`.
const NEVER_STORED: &[&str] = &["distributeStateGrant"];

/// Operations whose answer names a record others take in their path.
const CREATES: &[(&str, &str, &str)] = &[
    ("createAgreement", "/id", "agreement_id"),
    ("createFeeSchedule", "/code", "code"),
    ("startPaymentRun", "/id", "run_id"),
    ("submitClaim", "/id", "claim_id"),
];

// --- Costs (ADR 0049) --------------------------------------------------------------
/// `samling.compensation.v1.Costs` (served by the compensation service on
/// the same port): the cost calculator and cost transparency. Its own route
/// table (a module: one `REGION_ROUTES` per table), listed in `SERVICES`.
pub mod costs {
    use super::NAME;
    use crate::routes::ServiceRoutes;
    use samling_kit::auth::Role;
    use samling_proto::compensation::v1::costs_client::CostsClient;
    use samling_proto::compensation::v1::*;

    /// The cost calculator: staff (every role but a child, a guardian and a
    /// family home).
    pub const STAFF: &[Role] = &[
        Role::MunicipalityCaseworker,
        Role::MunicipalityManager,
        Role::RegionalOfficer,
        Role::NationalAnalyst,
        Role::Ombud,
        Role::CouncilMember,
        Role::Service,
        Role::NationalReviewer,
        Role::Ivo,
        Role::HealthStaff,
        Role::SchoolStaff,
    ];
    /// A placement's price: finance and the placing municipality (the
    /// service checks the municipality: another's is not found).
    pub const PRICE_KEEPERS: &[Role] = &[
        Role::RegionalOfficer,
        Role::Service,
        Role::MunicipalityCaseworker,
        Role::MunicipalityManager,
    ];
    /// The comparison: also the aggregate-only roles (counts below 5 "<5").
    pub const PRICE_READERS: &[Role] = &[
        Role::RegionalOfficer,
        Role::Service,
        Role::MunicipalityCaseworker,
        Role::MunicipalityManager,
        Role::NationalAnalyst,
        Role::CouncilMember,
    ];

    route_table! {
        service = NAME,
        package = "samling.compensation.v1",
        client = CostsClient;
        POST "/v1/regions/{region}/compensation/cost-calculations" "calculateCosts" => calculate_costs(CalculateCostsRequest) -> CostCalculation,
            Body, STAFF, own = [], party = None, "A cost calculation: per-day cost × 30.5 × months × persons for prevented and shortened placements, the team's cost, the savings, alternatives compared (nothing stored)";
        PUT "/v1/regions/{region}/compensation/placements/{placement_id}/price-split" "recordPriceSplit" => record_price_split(RecordPriceSplitRequest) -> PriceSplitRecord,
            Body, PRICE_KEEPERS, own = [], party = None, "An agency's price of a placement a day, split into fee, expenses, administration and add-ons";
        GET "/v1/regions/{region}/compensation/placements/{placement_id}/price-split" "getPriceSplit" => get_price_split(GetPriceSplitRequest) -> PriceSplitRecord,
            Query, PRICE_KEEPERS, own = [], party = None, "A placement's recorded price split (finance, the placing municipality)";
        GET "/v1/regions/{region}/compensation/price-comparison" "comparePrices" => compare_prices(ComparePricesRequest) -> PriceComparison,
            Query, PRICE_READERS, own = [], party = None, "The region's agency prices per home type (counts below 5 \"<5\" for the aggregate roles; averages of fewer than 5 placements hidden)";
    }

    /// The calculator is a computation that must be a POST: nothing is
    /// stored, its answer is not kept for `Idempotency-Key` replays.
    const NEVER_STORED: &[&str] = &["calculateCosts"];

    pub const SERVICE: ServiceRoutes = ServiceRoutes {
        service: NAME,
        routes: REGION_ROUTES,
        national: &[],
        never_stored: NEVER_STORED,
        public: &[],
        creates: &[],
        components: Vec::new,
    };
}
