//! Portfolio's REST API (`samling.portfolio.v1.PortfolioService`): the
//! child's portfolio under `/v1/regions/{region}/portfolio/children/{child_id}`
//! (docs/portfolio.md). The child's own routes (its access log) check the
//! child's party at the door; everything else about the caller's relation
//! to the child (the current home, the placing municipality, the assigned
//! ombud, the named units, the guardian) is the service's to decide, and a
//! stranger is told "not found".

#![allow(clippy::result_large_err)] // Problem is the error response itself, as in registry.rs.

use super::ServiceRoutes;
use samling_kit::auth::Role;
use samling_proto::portfolio::v1::portfolio_service_client::PortfolioServiceClient;
use samling_proto::portfolio::v1::*;

/// The service's name in the module list and the region directory.
pub const NAME: &str = "portfolio";

/// Portfolio's part of the REST API.
pub const SERVICE: ServiceRoutes = ServiceRoutes {
    service: NAME,
    routes: REGION_ROUTES,
    national: &[],
    never_stored: NEVER_STORED,
    public: PUBLIC,
    creates: &[],
    components: Vec::new,
};

/// Everyone who may have a relation to a child's portfolio (the service
/// decides the relation and the sections).
pub const READERS: &[Role] = &[
    Role::Child,
    Role::FamilyHome,
    Role::MunicipalityCaseworker,
    Role::MunicipalityManager,
    Role::RegionalOfficer,
    Role::Service,
    Role::Ombud,
    Role::HealthStaff,
    Role::SchoolStaff,
    Role::Guardian,
];
/// Those who write a section (which one is the service's rule).
pub const WRITERS: &[Role] = &[
    Role::Child,
    Role::FamilyHome,
    Role::MunicipalityCaseworker,
    Role::MunicipalityManager,
    Role::RegionalOfficer,
    Role::HealthStaff,
    Role::SchoolStaff,
];
/// The placing municipality and the office.
pub const CASEWORK: &[Role] = &[
    Role::MunicipalityCaseworker,
    Role::MunicipalityManager,
    Role::RegionalOfficer,
    Role::Service,
];
/// The access log: the child itself and casework.
pub const LOG_READERS: &[Role] = &[
    Role::Child,
    Role::MunicipalityCaseworker,
    Role::MunicipalityManager,
    Role::RegionalOfficer,
    Role::Service,
];

/// Those who record what the child was told (the service admits the
/// placing municipality, the office and the assigned ombud).
pub const INFORMERS: &[Role] = &[
    Role::MunicipalityCaseworker,
    Role::MunicipalityManager,
    Role::RegionalOfficer,
    Role::Ombud,
];

/// Those who may read the health section (the service refuses the rest
/// and a guardian when health is sealed; school staff never read it).
pub const HEALTH_READERS: &[Role] = &[
    Role::Child,
    Role::FamilyHome,
    Role::MunicipalityCaseworker,
    Role::MunicipalityManager,
    Role::RegionalOfficer,
    Role::Service,
    Role::Ombud,
    Role::HealthStaff,
    Role::Guardian,
];

/// Those who may write a school section: school staff, casework.
pub const SCHOOL_IMPORTERS: &[Role] = &[
    Role::SchoolStaff,
    Role::MunicipalityCaseworker,
    Role::MunicipalityManager,
    Role::RegionalOfficer,
];

/// The retention job (ADR 0043): the regional office and services (kit's
/// `office_only`).
pub const RETENTION_RUNNERS: &[Role] = &[Role::RegionalOfficer, Role::Service];

/// The deadline worklist: the region's office and the placing
/// municipalities (the service narrows a municipality to its own children).
pub const WORKLIST_READERS: &[Role] = &[
    Role::MunicipalityCaseworker,
    Role::MunicipalityManager,
    Role::RegionalOfficer,
    Role::Service,
];

/// The exit coordinator's aftercare worklist and the deadline run: the
/// regional office (no exit coordinator role exists; ADR 0042).
pub const REGIONAL_OFFICE: &[Role] = &[Role::RegionalOfficer, Role::Service];

/// No role: the pharmacy's check (anyone, as the public caller).
pub const NOBODY_NEEDED: &[Role] = &[];
/// The home's credential: the home, the placing municipality, the office.
pub const CREDENTIAL_ISSUERS: &[Role] = &[
    Role::FamilyHome,
    Role::MunicipalityCaseworker,
    Role::MunicipalityManager,
    Role::RegionalOfficer,
];

/// The public routes (no login).
const PUBLIC: &[&str] = &["verifyPrescriptionCredential"];

/// The verification is a check that must be a POST (the credential is a
/// body, never a URL): nothing is stored, so its answer is not kept for
/// `Idempotency-Key` replays and it has no `request_id`.
///
/// The deadline run is idempotent by itself (it emits only the items whose
/// state changed since the last run, ADR 0042): running it again is the
/// replay, so its answer (counts of that run) is not kept either.
const NEVER_STORED: &[&str] = &["verifyPrescriptionCredential", "runDeadlines"];

route_table! {
    service = NAME,
    package = "samling.portfolio.v1",
    client = PortfolioServiceClient;
    POST "/v1/regions/{region}/portfolio/credentials/verification" "verifyPrescriptionCredential" => verify_prescription_credential(VerifyPrescriptionCredentialRequest) -> CredentialVerification,
        Body, NOBODY_NEEDED, own = [], party = None, "PUBLIC (no login): is a prescription collection credential valid? Only the validity, the holder's role and the expiry";
    POST "/v1/regions/{region}/portfolio/children/{child_id}/prescription-credential" "issuePrescriptionCredential" => issue_prescription_credential(IssuePrescriptionCredentialRequest) -> PrescriptionCredential,
        Body, CREDENTIAL_ISSUERS, own = [], party = None, "The current home's signed credential to collect the child's prescriptions (QR); revoked when the placement ends";
    GET "/v1/regions/{region}/portfolio/children/{child_id}" "getPortfolio" => get_portfolio(GetPortfolioRequest) -> Portfolio,
        Query, READERS, own = [], party = None, "The child's portfolio as the caller may see it: the sections its role and relation admit (the others named in hiddenSections); every section shown is logged";
    PUT "/v1/regions/{region}/portfolio/children/{child_id}" "openPortfolio" => open_portfolio(OpenPortfolioRequest) -> Portfolio,
        Body, CASEWORK, own = ["placing_municipality_code"], party = None, "Open a child's portfolio (the registry's placements open it too); asking again answers the existing one";
    PUT "/v1/regions/{region}/portfolio/children/{child_id}/section" "updateSection" => update_section(UpdateSectionRequest) -> Portfolio,
        Body, WRITERS, own = [], party = None, "Replace one section (about me: the child; health: health staff; school: school staff; leisure, contacts, dental: the home; all: the placing caseworker)";
    PUT "/v1/regions/{region}/portfolio/children/{child_id}/relations" "setRelations" => set_relations(SetRelationsRequest) -> Portfolio,
        Body, CASEWORK, own = [], party = None, "The assigned ombud, the health and school units, the sections sealed from guardians, the own-view age";
    POST "/v1/regions/{region}/portfolio/children/{child_id}/information" "recordInformation" => record_information(RecordInformationRequest) -> Portfolio,
        Body, INFORMERS, own = [], party = None, "Record what the child was told before, during or after the placement and what the child understood; the portfolio's information shows the standard checklist";
    GET "/v1/regions/{region}/portfolio/children/{child_id}/access-log" "listAccessLog" => list_access_log(ListAccessLogRequest) -> ListAccessLogResponse,
        Query, LOG_READERS, own = [], party = Some("child_id"), "Who read or wrote which section and when (the child reads its own from the own-view age)";
    GET "/v1/regions/{region}/portfolio/children/{child_id}/health/fhir" "exportHealthFhir" => export_health_fhir(ExportHealthFhirRequest) -> FhirDocument,
        Query, HEALTH_READERS, own = [], party = None, "The health section as an HL7 FHIR R4 IPS-style document Bundle (bundle_json, application/fhir+json): a Composition first, the patient named by the child id only; logged as a read";
    POST "/v1/regions/{region}/portfolio/school-import" "importSchoolData" => import_school_data(ImportSchoolDataRequest) -> ImportSchoolDataResponse,
        Body, SCHOOL_IMPORTERS, own = [], party = None, "School data in an SS 12000-style JSON document (document_json): each placed child's school unit and class written to its school section, all or nothing; a bad field is named by its JSON path";
    POST "/v1/regions/{region}/portfolio/retention/runs" "runRetention" => run_retention(RunRetentionRequest) -> RetentionRun,
        Body, RETENTION_RUNNERS, own = [], party = None, "Run the retention job for the region (ADR 0043): ACTIVE in care, RESTRICTED after care ends, ARCHIVED (thinned, read-only) at 25; dryRun lists what would change (child ids and counts per stage) and changes nothing";
    GET "/v1/regions/{region}/portfolio/children/{child_id}/home-access" "listHomeAccess" => list_home_access(ListHomeAccessRequest) -> ListHomeAccessResponse,
        Query, CASEWORK, own = [], party = None, "The placements that give homes access, from the start date until the end date";
    GET "/v1/regions/{region}/portfolio/deadlines" "listDeadlines" => list_deadlines(ListDeadlinesRequest) -> ListDeadlinesResponse,
        Query, WORKLIST_READERS, own = [], party = None, "The deadline worklist: children with due or overdue items (health examination, six-monthly review, custody consideration, care end, aftercare), filterable by item and state; a municipality sees its own placed children; protected children redacted";
    GET "/v1/regions/{region}/portfolio/aftercare" "listAftercare" => list_aftercare(ListAftercareRequest) -> ListAftercareResponse,
        Query, REGIONAL_OFFICE, own = [], party = None, "The exit coordinator's worklist: young people whose care ended, in aftercare until 25 (care end, years left, contact status)";
    POST "/v1/regions/{region}/portfolio/deadlines/run" "runDeadlines" => run_deadlines(RunDeadlinesRequest) -> RunDeadlinesResponse,
        Body, REGIONAL_OFFICE, own = [], party = None, "Run the deadlines now (the service runs them periodically): emits portfolio.deadline for each item whose state changed";
}
