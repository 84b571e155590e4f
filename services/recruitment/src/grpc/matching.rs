//! The tonic service `samling.recruitment.v1.MatchingService` adapted to
//! [`Matching`] (one line per RPC through kit's `unary!`: the verified
//! caller, the region binding, then the operation). It has no feed or audit
//! RPCs of its own: recruitment's `ListAudit` and `WatchEvents` cover both.

use crate::service::matching::Matching;
use samling_kit::auth;
use samling_proto::recruitment::v1::matching_service_server::{
    MatchingService, MatchingServiceServer,
};
use samling_proto::recruitment::v1::*;
use tonic::{Request, Response, Status};

pub struct MatchingGrpc(pub Matching);

macro_rules! rpcs {
    ($($name:ident($req:ty) -> $resp:ty;)*) => {
        #[tonic::async_trait]
        impl MatchingService for MatchingGrpc {
            $(
                async fn $name(&self, request: Request<$req>) -> Result<Response<$resp>, Status> {
                    samling_kit::unary!(&self.0, request, |s, c, r| s.$name(&c, r))
                }
            )*
        }
    };
}

rpcs! {
    create_needs_profile(CreateNeedsProfileRequest) -> NeedsProfile;
    get_needs_profile(GetNeedsProfileRequest) -> NeedsProfile;
    update_needs_profile(UpdateNeedsProfileRequest) -> NeedsProfile;
    list_needs_profiles(ListNeedsProfilesRequest) -> ListNeedsProfilesResponse;
    rank_homes(RankHomesRequest) -> RankHomesResponse;
    find_free_emergency_homes(FindFreeEmergencyHomesRequest) -> FindFreeEmergencyHomesResponse;
    get_matching_config(GetMatchingConfigRequest) -> MatchingConfig;
    get_read_model_status(GetReadModelStatusRequest) -> ReadModelStatus;
    get_proposal(GetProposalRequest) -> MatchProposal;
    list_proposals(ListProposalsRequest) -> ListProposalsResponse;
    record_choice(RecordChoiceRequest) -> MatchProposal;
    record_outcome(RecordOutcomeRequest) -> MatchProposal;
    get_outcome_by_rank_report(GetOutcomeByRankReportRequest) -> OutcomeByRankReport;
    set_child_story(SetChildStoryRequest) -> ChildStory;
    set_home_story(SetHomeStoryRequest) -> HomeStory;
    get_child_package(GetChildPackageRequest) -> ChildPackage;
    get_home_package(GetHomePackageRequest) -> HomePackage;
}

/// The matching service behind kit's auth interceptor.
pub fn server(
    svc: Matching,
    verifier: auth::ContextVerifier,
) -> tonic::service::interceptor::InterceptedService<
    MatchingServiceServer<MatchingGrpc>,
    impl tonic::service::Interceptor + Clone,
> {
    MatchingServiceServer::with_interceptor(MatchingGrpc(svc), auth::interceptor(verifier))
}
