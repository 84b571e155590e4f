//! Asking the registry about a placement or a child the feed does not link
//! (a protected child's events leave out the home and the municipality):
//! over gRPC as the service, which the registry admits to every placement
//! (it audits the read). Tests give their own [`RegistryLookup`].

use samling_kit::auth::{AuthContext, ContextSigner, Role};
use samling_kit::client::{ServiceClient, Stub};
use samling_kit::error::KitError;
use samling_kit::tls::Tls;
use samling_proto::registry::v1::registry_service_client::RegistryServiceClient;
use samling_proto::registry::v1::{GetChildRequest, GetPlacementRequest};
use std::future::Future;
use std::pin::Pin;
use tonic::transport::Channel;

pub type LookupFuture<T> = Pin<Box<dyn Future<Output = Result<T, KitError>> + Send>>;

/// What portfolio needs of a placement.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlacementFacts {
    pub child_id: String,
    /// Empty for a placement in a unit (HVB).
    pub home_id: String,
    pub placing_municipality_code: String,
    /// ISO dates ("" when unset).
    pub start_date: String,
    pub end_date: String,
}

/// What portfolio needs of a child.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChildFacts {
    /// ISO date ("" when unknown).
    pub birth_date: String,
    pub protected_identity: bool,
    pub placing_municipality_code: String,
}

pub trait RegistryLookup: Send + Sync + 'static {
    /// The placement, or `None` when the registry has none.
    fn placement(&self, placement_id: String) -> LookupFuture<Option<PlacementFacts>>;
    /// The child, or `None` when the registry has none.
    fn child(&self, child_id: String) -> LookupFuture<Option<ChildFacts>>;
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
            .with_purpose("portfolio access follows the placement");
        Ok(GrpcRegistry {
            client: ServiceClient::from_channel(REGISTRY, channel, signer, ctx),
        })
    }
}

fn date_text(d: Option<&samling_proto::common::v1::Date>) -> String {
    d.filter(|d| d.year != 0)
        .map(|d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day))
        .unwrap_or_default()
}

/// The registry's answer: `NOT_FOUND` is none; anything else may pass
/// (retried by the consumer).
fn answer<T>(r: Result<tonic::Response<T>, tonic::Status>) -> Result<Option<T>, KitError> {
    match r {
        Ok(r) => Ok(Some(r.into_inner())),
        Err(s) if s.code() == tonic::Code::NotFound => Ok(None),
        Err(s) => Err(KitError::refused(
            samling_kit::error::Reason::RegionUnavailable,
            format!("registry: {} ({:?})", s.message(), s.code()),
        )),
    }
}

impl RegistryLookup for GrpcRegistry {
    fn placement(&self, placement_id: String) -> LookupFuture<Option<PlacementFacts>> {
        let mut c = self.client.clone();
        Box::pin(async move {
            let req = c.request(GetPlacementRequest { placement_id });
            let p = answer(c.raw().get_placement(req).await)?;
            Ok(p.map(|p| PlacementFacts {
                child_id: p.child_id,
                home_id: p.home_id,
                placing_municipality_code: p.placing_municipality_code,
                start_date: date_text(p.start_date.as_ref()),
                end_date: date_text(p.end_date.as_ref()),
            }))
        })
    }

    fn child(&self, child_id: String) -> LookupFuture<Option<ChildFacts>> {
        let mut c = self.client.clone();
        Box::pin(async move {
            let req = c.request(GetChildRequest { child_id });
            let ch = answer(c.raw().get_child(req).await)?;
            Ok(ch.map(|ch| ChildFacts {
                birth_date: date_text(ch.birth_date.as_ref()),
                protected_identity: ch.protected_identity,
                placing_municipality_code: ch.placing_municipality_code,
            }))
        })
    }
}
