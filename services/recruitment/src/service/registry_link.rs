//! Recruitment's link to the registry of its region: the nämnd's approval
//! is recorded THERE, over gRPC (`samling.registry.v1.RecordApproval`),
//! acting as the caller's own context so the registry checks the caller's
//! rights itself; recruitment never touches the registry's tables.
//!
//! The connection is made on first use (the registry may start after
//! recruitment) and kept; every call has kit's deadline.

use samling_kit::auth::{AuthContext, ContextSigner};
use samling_kit::client::{ServiceClient, Stub};
use samling_kit::error::{FIELD_METADATA_KEY, KitError, Reason};
use samling_kit::tls::Tls;
use samling_proto::registry::v1::registry_service_client::RegistryServiceClient;
use samling_proto::registry::v1::{Home, RecordApprovalRequest};
use std::sync::Arc;
use tokio::sync::OnceCell;
use tonic::transport::Channel;

const REGISTRY: Stub<RegistryServiceClient<Channel>> =
    samling_kit::stub!("registry", RegistryServiceClient);

/// How to reach the region's registry and sign for the caller.
#[derive(Clone)]
pub struct RegistryLink {
    endpoint: String,
    tls: Option<Tls>,
    signer: Signer,
    channel: Arc<OnceCell<ServiceClient<RegistryServiceClient<Channel>>>>,
}

impl std::fmt::Debug for RegistryLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryLink")
            .field("endpoint", &self.endpoint)
            .finish()
    }
}

/// The key that signs the caller's context for the registry: given, or
/// the deployment's key file, read on first use (so `samling migrate` opens
/// recruitment before `serve` has created it).
#[derive(Clone)]
enum Signer {
    Key(ContextSigner),
    File(std::path::PathBuf),
}

impl RegistryLink {
    pub fn new(endpoint: impl Into<String>, tls: Option<Tls>, signer: ContextSigner) -> Self {
        RegistryLink {
            endpoint: endpoint.into(),
            tls,
            signer: Signer::Key(signer),
            channel: Arc::new(OnceCell::new()),
        }
    }

    /// Signing with the context key in `key_file` (`auth.context_key_file`).
    pub fn with_key_file(
        endpoint: impl Into<String>,
        tls: Option<Tls>,
        key_file: std::path::PathBuf,
    ) -> Self {
        RegistryLink {
            endpoint: endpoint.into(),
            tls,
            signer: Signer::File(key_file),
            channel: Arc::new(OnceCell::new()),
        }
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    async fn client(
        &self,
        ctx: &AuthContext,
    ) -> Result<ServiceClient<RegistryServiceClient<Channel>>, KitError> {
        let base = self
            .channel
            .get_or_try_init(|| async {
                let signer = match &self.signer {
                    Signer::Key(k) => k.clone(),
                    Signer::File(path) => ContextSigner::load(path)?,
                };
                ServiceClient::connect(
                    REGISTRY,
                    &self.endpoint,
                    self.tls.as_ref(),
                    signer,
                    ctx.clone(),
                )
                .await
                .map_err(|s| KitError::refused(Reason::Unavailable, s.message().to_string()))
            })
            .await?;
        Ok(base.acting_as(ctx.clone()))
    }

    /// `RecordApproval` in the registry, as `ctx`. The registry's refusal is
    /// passed on with its reason (and field), prefixed "registry: ".
    pub async fn record_approval(
        &self,
        ctx: &AuthContext,
        req: RecordApprovalRequest,
    ) -> Result<Home, KitError> {
        let mut c = self.client(ctx).await?;
        let request = c.request(req);
        c.raw()
            .record_approval(request)
            .await
            .map(tonic::Response::into_inner)
            .map_err(|s| refusal_of(&s))
    }
}

/// A registry status as recruitment's error: the same reason, the field
/// named when the registry named one.
pub fn refusal_of(s: &tonic::Status) -> KitError {
    let message = format!("registry: {}", s.message());
    if let Some(field) = s
        .metadata()
        .get(FIELD_METADATA_KEY)
        .and_then(|v| v.to_str().ok())
    {
        return KitError::invalid(field, message);
    }
    match s.code() {
        tonic::Code::Internal | tonic::Code::Unknown | tonic::Code::DataLoss => {
            KitError::refused(Reason::Unavailable, message)
        }
        _ => KitError::refused(Reason::of_status(s), message),
    }
}
