//! Network homes (nätverkshem): placement needs, the alternatives looked into, the network-home track.

use super::{R, Recruitment, pending};
use samling_kit::auth::AuthContext;
use samling_proto::recruitment::v1::*;

impl Recruitment {
    pub async fn open_placement_need(
        &self,
        _ctx: &AuthContext,
        _req: OpenPlacementNeedRequest,
    ) -> R<PlacementNeed> {
        Err(pending("OpenPlacementNeed"))
    }

    pub async fn get_placement_need(
        &self,
        _ctx: &AuthContext,
        _req: GetPlacementNeedRequest,
    ) -> R<PlacementNeed> {
        Err(pending("GetPlacementNeed"))
    }

    pub async fn list_placement_needs(
        &self,
        _ctx: &AuthContext,
        _req: ListPlacementNeedsRequest,
    ) -> R<ListPlacementNeedsResponse> {
        Err(pending("ListPlacementNeeds"))
    }

    pub async fn record_network_alternative(
        &self,
        _ctx: &AuthContext,
        _req: RecordNetworkAlternativeRequest,
    ) -> R<PlacementNeed> {
        Err(pending("RecordNetworkAlternative"))
    }

    pub async fn start_network_home_case(
        &self,
        _ctx: &AuthContext,
        _req: StartNetworkHomeCaseRequest,
    ) -> R<Case> {
        Err(pending("StartNetworkHomeCase"))
    }
}
