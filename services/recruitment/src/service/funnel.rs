//! Funnel statistics, suppressed below 5 for aggregate roles.

use super::{R, Recruitment, pending};
use samling_kit::auth::AuthContext;
use samling_proto::recruitment::v1::*;

impl Recruitment {
    pub async fn get_funnel_statistics(
        &self,
        _ctx: &AuthContext,
        _req: GetFunnelStatisticsRequest,
    ) -> R<FunnelStatistics> {
        Err(pending("GetFunnelStatistics"))
    }
}
