//! Asking the registry about a placement its event does not link (a
//! protected child's events leave out the home and the municipality): over
//! gRPC as the service, which the registry admits and audits. Tests give
//! their own [`RegistryLookup`].

use samling_kit::auth::{AuthContext, ContextSigner, Role};
use samling_kit::client::{ServiceClient, Stub};
use samling_kit::error::KitError;
use samling_kit::tls::Tls;
use samling_proto::registry::v1::GetPlacementRequest;
use samling_proto::registry::v1::registry_service_client::RegistryServiceClient;
use std::future::Future;
use std::pin::Pin;
use tonic::transport::Channel;

pub type LookupFuture<T> = Pin<Box<dyn Future<Output = Result<T, KitError>> + Send>>;

/// What ombud needs of a placement.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlacementFacts {
    pub child_id: String,
    /// Empty for a placement in a unit (HVB).
    pub home_id: String,
    pub placing_municipality_code: String,
}

pub trait RegistryLookup: Send + Sync + 'static {
    /// The placement, or `None` when the registry has none.
    fn placement(&self, placement_id: String) -> LookupFuture<Option<PlacementFacts>>;
}

pub const REGISTRY: Stub<RegistryServiceClient<Channel>> =
    samling_kit::stub!("registry", RegistryServiceClient);

/// The region's registry over gRPC, connecting lazily.
#[derive(Clone)]
pub struct GrpcRegistry {
    client: ServiceClient<RegistryServiceClient<Channel>>,
}

impl GrpcRegistry {
    pub fn new(
        endpoint: &str,
        tls: Option<&Tls>,
        signer: ContextSigner,
        region: &str,
    ) -> Result<Self, KitError> {
        let ep = samling_kit::tls::endpoint(endpoint, tls)?;
        let channel = samling_kit::tls::connect_lazy(&ep, tls);
        let ctx = AuthContext::new(crate::NAME, Role::Service)
            .with_region(region)
            .with_purpose("the child's ombud follows the placement");
        Ok(GrpcRegistry {
            client: ServiceClient::from_channel(REGISTRY, channel, signer, ctx),
        })
    }
}

impl RegistryLookup for GrpcRegistry {
    fn placement(&self, placement_id: String) -> LookupFuture<Option<PlacementFacts>> {
        let mut c = self.client.clone();
        Box::pin(async move {
            let req = c.request(GetPlacementRequest { placement_id });
            match c.raw().get_placement(req).await {
                Ok(p) => {
                    let p = p.into_inner();
                    Ok(Some(PlacementFacts {
                        child_id: p.child_id,
                        home_id: p.home_id,
                        placing_municipality_code: p.placing_municipality_code,
                    }))
                }
                Err(s) if s.code() == tonic::Code::NotFound => Ok(None),
                Err(s) => Err(KitError::refused(
                    samling_kit::error::Reason::RegionUnavailable,
                    format!("registry: {} ({:?})", s.message(), s.code()),
                )),
            }
        })
    }
}
