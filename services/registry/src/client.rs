//! A typed client for the registry, for regional offices' tools (the
//! `samling` CLI) and tests: kit's [`ServiceClient`] (signed auth context on
//! every request, a deadline on every call, mTLS) around the generated
//! client, with a few convenience calls. Other services need not link this
//! crate: `ServiceClient::connect(STUB, …)` with [`STUB`]'s one line is the
//! same client.

use samling_kit::auth::{AuthContext, ContextSigner};
use samling_kit::client::{ServiceClient, Stub};
use samling_kit::tls::Tls;
use samling_proto::registry::v1::registry_service_client::RegistryServiceClient;
use samling_proto::registry::v1::*;
use std::time::Duration;
use tonic::transport::Channel;
use tonic::{Request, Status};

pub use samling_kit::client::DEFAULT_TIMEOUT;

/// How kit makes the registry's generated client.
pub const STUB: Stub<RegistryServiceClient<Channel>> =
    samling_kit::stub!("registry", RegistryServiceClient);

#[derive(Clone)]
pub struct RegistryClient(ServiceClient<RegistryServiceClient<Channel>>);

impl RegistryClient {
    /// Connect to `endpoint` (e.g. `http://127.0.0.1:7051`) acting as `ctx`.
    pub async fn connect(
        endpoint: &str,
        signer: ContextSigner,
        ctx: AuthContext,
    ) -> Result<Self, Status> {
        Self::connect_with_tls(endpoint, None, signer, ctx).await
    }

    /// [`connect`](Self::connect) over mutual TLS when `tls` is given (an
    /// `http://` endpoint then speaks TLS).
    pub async fn connect_with_tls(
        endpoint: &str,
        tls: Option<&Tls>,
        signer: ContextSigner,
        ctx: AuthContext,
    ) -> Result<Self, Status> {
        ServiceClient::connect(STUB, endpoint, tls, signer, ctx)
            .await
            .map(RegistryClient)
    }

    pub fn from_channel(channel: Channel, signer: ContextSigner, ctx: AuthContext) -> Self {
        RegistryClient(ServiceClient::from_channel(STUB, channel, signer, ctx))
    }

    pub fn with_timeout(self, timeout: Duration) -> Self {
        RegistryClient(self.0.with_timeout(timeout))
    }

    /// Act as someone else (same connection).
    pub fn acting_as(&self, ctx: AuthContext) -> Self {
        RegistryClient(self.0.acting_as(ctx))
    }

    /// A request with the signed context and the deadline.
    pub fn request<T>(&self, msg: T) -> Request<T> {
        self.0.request(msg)
    }

    /// The generated client, for RPCs without a convenience method here.
    pub fn raw(&mut self) -> &mut RegistryServiceClient<Channel> {
        self.0.raw()
    }

    /// Kit's client underneath.
    pub fn into_inner(self) -> ServiceClient<RegistryServiceClient<Channel>> {
        self.0
    }

    pub async fn get_home(&mut self, home_id: &str) -> Result<Home, Status> {
        let r = self.request(GetHomeRequest {
            home_id: home_id.into(),
        });
        Ok(self.raw().get_home(r).await?.into_inner())
    }

    pub async fn search_homes(
        &mut self,
        q: SearchHomesRequest,
    ) -> Result<SearchHomesResponse, Status> {
        let r = self.request(q);
        Ok(self.raw().search_homes(r).await?.into_inner())
    }

    pub async fn create_home(
        &mut self,
        request_id: &str,
        draft: HomeDraft,
    ) -> Result<CreateHomeResponse, Status> {
        let r = self.request(CreateHomeRequest {
            request_id: request_id.into(),
            draft: Some(draft),
        });
        Ok(self.raw().create_home(r).await?.into_inner())
    }

    pub async fn record_approval(&mut self, req: RecordApprovalRequest) -> Result<Home, Status> {
        let r = self.request(req);
        Ok(self.raw().record_approval(r).await?.into_inner())
    }

    pub async fn assign_investigation(
        &mut self,
        req: AssignInvestigatingMunicipalityRequest,
    ) -> Result<Home, Status> {
        let r = self.request(req);
        Ok(self
            .raw()
            .assign_investigating_municipality(r)
            .await?
            .into_inner())
    }

    pub async fn reveal_protected_address(
        &mut self,
        req: RevealProtectedAddressRequest,
    ) -> Result<RevealProtectedAddressResponse, Status> {
        let r = self.request(req);
        Ok(self.raw().reveal_protected_address(r).await?.into_inner())
    }

    pub async fn reconfirm(&mut self, req: ReconfirmHomeRequest) -> Result<Home, Status> {
        let r = self.request(req);
        Ok(self.raw().reconfirm_home(r).await?.into_inner())
    }

    pub async fn list_overdue(
        &mut self,
        req: ListOverdueHomesRequest,
    ) -> Result<SearchHomesResponse, Status> {
        let r = self.request(req);
        Ok(self.raw().list_overdue_homes(r).await?.into_inner())
    }

    pub async fn import_homes(
        &mut self,
        req: ImportHomesRequest,
    ) -> Result<ImportHomesResponse, Status> {
        let r = self.request(req);
        Ok(self.raw().import_homes(r).await?.into_inner())
    }
}
