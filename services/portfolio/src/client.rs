//! How kit makes portfolio's generated client (for the gateway and tests):
//! `ServiceClient::connect(STUB, …)`. Other services need only
//! `samling-proto` and kit for the same client.

use samling_kit::client::Stub;
use samling_proto::portfolio::v1::portfolio_service_client::PortfolioServiceClient;
use tonic::transport::Channel;

pub const STUB: Stub<PortfolioServiceClient<Channel>> =
    samling_kit::stub!("portfolio", PortfolioServiceClient);
