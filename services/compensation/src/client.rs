//! How kit makes compensation's generated client (for the CLI, the gateway
//! and tests): `ServiceClient::connect(STUB, …)`. Other services need only
//! `samling-proto` and kit for the same client.

use samling_kit::client::Stub;
use samling_proto::compensation::v1::compensation_service_client::CompensationServiceClient;
use tonic::transport::Channel;

pub const STUB: Stub<CompensationServiceClient<Channel>> =
    samling_kit::stub!("compensation", CompensationServiceClient);

/// The costs service's client (the same endpoint).
pub const COSTS_STUB: Stub<samling_proto::compensation::v1::costs_client::CostsClient<Channel>> = samling_kit::stub!(
    "compensation",
    samling_proto::compensation::v1::costs_client::CostsClient
);
