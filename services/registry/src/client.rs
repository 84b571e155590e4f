//! A typed client for the registry, for regional offices' tools (the
//! `samling` CLI), other services and tests. It signs the caller's auth
//! context into every request and puts a deadline on every call.

use samling_kit::auth::{AuthContext, CachedToken, ContextSigner};
use samling_kit::tls::Tls;
use samling_proto::registry::v1::registry_service_client::RegistryServiceClient;
use samling_proto::registry::v1::*;
use std::time::Duration;
use tonic::transport::Channel;
use tonic::{Request, Status};

/// Default deadline of one call.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct RegistryClient {
    inner: RegistryServiceClient<Channel>,
    signer: ContextSigner,
    token: CachedToken,
    timeout: Duration,
}

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
        let ep = samling_kit::tls::endpoint(endpoint, tls)
            .map_err(|e| Status::invalid_argument(e.to_string()))?
            .connect_timeout(Duration::from_secs(5))
            .tcp_nodelay(true);
        let channel = samling_kit::tls::connect(&ep, tls).await.map_err(|e| {
            Status::unavailable(format!(
                "cannot reach registry at {endpoint}: {}",
                samling_kit::tls::error_chain(&e)
            ))
        })?;
        Ok(Self::from_channel(channel, signer, ctx))
    }

    pub fn from_channel(channel: Channel, signer: ContextSigner, ctx: AuthContext) -> Self {
        RegistryClient {
            inner: RegistryServiceClient::new(channel).max_decoding_message_size(64 * 1024 * 1024),
            token: CachedToken::new(signer.clone(), ctx),
            signer,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Act as someone else (same connection).
    pub fn acting_as(&self, ctx: AuthContext) -> Self {
        RegistryClient {
            token: CachedToken::new(self.signer.clone(), ctx),
            ..self.clone()
        }
    }

    /// A request with the signed context and the deadline.
    pub fn request<T>(&self, msg: T) -> Request<T> {
        let mut req = Request::new(msg);
        req.set_timeout(self.timeout);
        // A signed token is always valid ASCII metadata.
        let _ = self.token.attach(&mut req);
        samling_kit::telemetry::inject_context(req.metadata_mut());
        req
    }

    /// The generated client, for RPCs without a convenience method here.
    pub fn raw(&mut self) -> &mut RegistryServiceClient<Channel> {
        &mut self.inner
    }

    pub async fn get_home(&mut self, home_id: &str) -> Result<Home, Status> {
        let r = self.request(GetHomeRequest {
            home_id: home_id.into(),
        });
        Ok(self.inner.get_home(r).await?.into_inner())
    }

    pub async fn search_homes(
        &mut self,
        q: SearchHomesRequest,
    ) -> Result<SearchHomesResponse, Status> {
        let r = self.request(q);
        Ok(self.inner.search_homes(r).await?.into_inner())
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
        Ok(self.inner.create_home(r).await?.into_inner())
    }

    pub async fn record_approval(&mut self, req: RecordApprovalRequest) -> Result<Home, Status> {
        let r = self.request(req);
        Ok(self.inner.record_approval(r).await?.into_inner())
    }

    pub async fn assign_investigation(
        &mut self,
        req: AssignInvestigatingMunicipalityRequest,
    ) -> Result<Home, Status> {
        let r = self.request(req);
        Ok(self
            .inner
            .assign_investigating_municipality(r)
            .await?
            .into_inner())
    }

    pub async fn reveal_protected_address(
        &mut self,
        req: RevealProtectedAddressRequest,
    ) -> Result<RevealProtectedAddressResponse, Status> {
        let r = self.request(req);
        Ok(self.inner.reveal_protected_address(r).await?.into_inner())
    }

    pub async fn reconfirm(&mut self, req: ReconfirmHomeRequest) -> Result<Home, Status> {
        let r = self.request(req);
        Ok(self.inner.reconfirm_home(r).await?.into_inner())
    }

    pub async fn list_overdue(
        &mut self,
        req: ListOverdueHomesRequest,
    ) -> Result<SearchHomesResponse, Status> {
        let r = self.request(req);
        Ok(self.inner.list_overdue_homes(r).await?.into_inner())
    }

    pub async fn import_homes(
        &mut self,
        req: ImportHomesRequest,
    ) -> Result<ImportHomesResponse, Status> {
        let r = self.request(req);
        Ok(self.inner.import_homes(r).await?.into_inner())
    }
}
