//! How kit makes recruitment's generated clients (for the CLI, the gateway
//! and tests): `ServiceClient::connect(STUB, …)`. Other services need only
//! `samling-proto` and kit for the same client.

use samling_kit::client::Stub;
use samling_proto::recruitment::v1::recruitment_service_client::RecruitmentServiceClient;
use tonic::transport::Channel;

pub const STUB: Stub<RecruitmentServiceClient<Channel>> =
    samling_kit::stub!("recruitment", RecruitmentServiceClient);
