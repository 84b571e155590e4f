//! How kit makes ombud's generated client (for the gateway, the CLI and
//! tests): `ServiceClient::connect(STUB, …)`.

use samling_kit::client::Stub;
use samling_proto::ombud::v1::ombud_service_client::OmbudServiceClient;
use tonic::transport::Channel;

pub const STUB: Stub<OmbudServiceClient<Channel>> = samling_kit::stub!("ombud", OmbudServiceClient);
