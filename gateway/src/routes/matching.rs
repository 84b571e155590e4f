//! The matching standard's REST API (issue 20, docs/matching.md): needs
//! profiles, rankings, socialjouren's night search, follow-up and the
//! information packages. Answered by the region's recruitment service (its
//! `MatchingService`, on the same port as `RecruitmentService`), so the
//! routes' backend service is "recruitment" in the region directory. A
//! national ranking is the recruitment service's own fan-out
//! (`scope: MATCH_SCOPE_NATIONAL`), not the gateway's.

#![allow(clippy::result_large_err)] // Problem is the error response itself, as in registry.rs.

use super::ServiceRoutes;
use samling_kit::auth::Role;
use samling_proto::recruitment::v1::matching_service_client::MatchingServiceClient;
use samling_proto::recruitment::v1::*;

/// The service's name in the module list and the region directory.
pub const NAME: &str = "recruitment";

/// The matching part of the REST API.
pub const SERVICE: ServiceRoutes = ServiceRoutes {
    service: NAME,
    routes: REGION_ROUTES,
    national: &[],
    never_stored: NEVER_STORED,
    creates: CREATES,
    public: &[],
    components: Vec::new,
};

/// Profiles, rankings and follow-up: the placing municipality and the office.
pub const MATCHERS: &[Role] = &[
    Role::RegionalOfficer,
    Role::Service,
    Role::MunicipalityCaseworker,
    Role::MunicipalityManager,
];
/// The weights in force: public rules, any signed-in role.
pub const EVERYONE: &[Role] = &Role::ALL;
/// Outcome by rank: also the aggregate-only roles (counts below 5 suppressed).
pub const REPORT_READERS: &[Role] = &[
    Role::RegionalOfficer,
    Role::Service,
    Role::MunicipalityCaseworker,
    Role::MunicipalityManager,
    Role::NationalAnalyst,
    Role::CouncilMember,
];
pub const HOME_SELF: &[Role] = &[Role::RegionalOfficer, Role::Service, Role::FamilyHome];
/// The child's CV: the proposed home too (the service checks it is in the proposal).
pub const CV_READERS: &[Role] = &[
    Role::RegionalOfficer,
    Role::Service,
    Role::MunicipalityCaseworker,
    Role::MunicipalityManager,
    Role::FamilyHome,
];
/// The home's presentation: also the child of the profile.
pub const HOME_PACKAGE_READERS: &[Role] = &[
    Role::RegionalOfficer,
    Role::Service,
    Role::MunicipalityCaseworker,
    Role::MunicipalityManager,
    Role::Child,
];

route_table! {
    service = NAME,
    package = "samling.recruitment.v1",
    client = MatchingServiceClient;
    POST "/v1/regions/{region}/matching/profiles" "createNeedsProfile" => create_needs_profile(CreateNeedsProfileRequest) -> NeedsProfile,
        Body, MATCHERS, own = [], party = None, "Enter a child's or sibling group's needs profile (the placing municipality)";
    GET "/v1/regions/{region}/matching/profiles" "listNeedsProfiles" => list_needs_profiles(ListNeedsProfilesRequest) -> ListNeedsProfilesResponse,
        Query, MATCHERS, own = ["municipality_code"], party = None, "Needs profiles (a municipality sees its own)";
    GET "/v1/regions/{region}/matching/profiles/{profile_id}" "getNeedsProfile" => get_needs_profile(GetNeedsProfileRequest) -> NeedsProfile,
        Query, MATCHERS, own = [], party = None, "A needs profile";
    PUT "/v1/regions/{region}/matching/profiles/{profile_id}" "updateNeedsProfile" => update_needs_profile(UpdateNeedsProfileRequest) -> NeedsProfile,
        Body, MATCHERS, own = [], party = None, "Replace a needs profile (optimistic concurrency)";
    POST "/v1/regions/{region}/matching/profiles/{profile_id}/stories" "setChildStory" => set_child_story(SetChildStoryRequest) -> ChildStory,
        Body, MATCHERS, own = [], party = None, "A child's own words for a new family (the CV)";
    POST "/v1/regions/{region}/matching/rankings" "rankHomes" => rank_homes(RankHomesRequest) -> RankHomesResponse,
        Body, MATCHERS, own = [], party = None, "Ranked, explained homes for a profile (hard constraints first, kin first); recorded as a proposal";
    POST "/v1/regions/{region}/matching/emergency-searches" "findFreeEmergencyHomes" => find_free_emergency_homes(FindFreeEmergencyHomesRequest) -> FindFreeEmergencyHomesResponse,
        Body, MATCHERS, own = ["placing_municipality_code"], party = None, "Socialjouren at night: free jourhem now, with descriptions";
    GET "/v1/regions/{region}/matching/config" "getMatchingConfig" => get_matching_config(GetMatchingConfigRequest) -> MatchingConfig,
        Query, EVERYONE, own = [], party = None, "The weights and rules in force, with their version";
    GET "/v1/regions/{region}/matching/read-model" "getReadModelStatus" => get_read_model_status(GetReadModelStatusRequest) -> ReadModelStatus,
        Query, MATCHERS, own = [], party = None, "How current the read model of homes is, and its memory per home";
    GET "/v1/regions/{region}/matching/proposals" "listProposals" => list_proposals(ListProposalsRequest) -> ListProposalsResponse,
        Query, MATCHERS, own = ["municipality_code"], party = None, "Proposals made (follow-up)";
    GET "/v1/regions/{region}/matching/proposals/{proposal_id}" "getProposal" => get_proposal(GetProposalRequest) -> MatchProposal,
        Query, MATCHERS, own = [], party = None, "A proposal with its choices and outcomes";
    POST "/v1/regions/{region}/matching/proposals/{proposal_id}/choices" "recordChoice" => record_choice(RecordChoiceRequest) -> MatchProposal,
        Body, MATCHERS, own = [], party = None, "The home chosen, and why";
    POST "/v1/regions/{region}/matching/proposals/{proposal_id}/outcomes" "recordOutcome" => record_outcome(RecordOutcomeRequest) -> MatchProposal,
        Body, MATCHERS, own = [], party = None, "What became of the choice: started, declined, broke down";
    GET "/v1/regions/{region}/matching/outcome-by-rank" "getOutcomeByRankReport" => get_outcome_by_rank_report(GetOutcomeByRankReportRequest) -> OutcomeByRankReport,
        Query, REPORT_READERS, own = ["municipality_code"], party = None, "Outcome by rank of the chosen home (counts below 5 suppressed for aggregate roles)";
    PUT "/v1/regions/{region}/matching/homes/{home_id}/story" "setHomeStory" => set_home_story(SetHomeStoryRequest) -> HomeStory,
        Body, HOME_SELF, own = [], party = Some("home_id"), "A home's presentation of itself for a child";
    GET "/v1/regions/{region}/matching/proposals/{proposal_id}/homes/{home_id}/child-package" "getChildPackage" => get_child_package(GetChildPackageRequest) -> ChildPackage,
        Query, CV_READERS, own = [], party = Some("home_id"), "The child's CV for a proposed home";
    GET "/v1/regions/{region}/matching/proposals/{proposal_id}/homes/{home_id}/home-package" "getHomePackage" => get_home_package(GetHomePackageRequest) -> HomePackage,
        Query, HOME_PACKAGE_READERS, own = [], party = None, "A proposed home's presentation for the child";
}

/// A night search changes nothing: its answer is never stored for replays.
const NEVER_STORED: &[&str] = &["findFreeEmergencyHomes"];

const CREATES: &[(&str, &str, &str)] = &[
    ("createNeedsProfile", "/id", "profile_id"),
    ("rankHomes", "/proposal_id", "proposal_id"),
];
