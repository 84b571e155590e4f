//! Typed-client plumbing for calling a Samling service: connect (optionally
//! over mutual TLS), sign the caller's auth context into every request, put
//! a deadline on every call, and accept answers up to
//! [`MAX_DECODING_MESSAGE_SIZE`].
//!
//! Generic over the tonic-generated client, so a service calls another with
//! the proto crate alone, never linking the other service's crate:
//!
//! ```ignore
//! use samling_proto::registry::v1::registry_service_client::RegistryServiceClient;
//! const REGISTRY: Stub<RegistryServiceClient<Channel>> =
//!     samling_kit::stub!("registry", RegistryServiceClient);
//! let mut c = ServiceClient::connect(REGISTRY, endpoint, tls, signer, ctx).await?;
//! let home = c.raw().get_home(c.request(GetHomeRequest { .. })).await?;
//! ```

use crate::auth::{AuthContext, CachedToken, ContextSigner};
use crate::tls::Tls;
use std::time::Duration;
use tonic::transport::Channel;
use tonic::{Request, Status};

/// Default deadline of one call.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long connecting may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest answer a client accepts (a page of 500 homes, an export batch).
pub const MAX_DECODING_MESSAGE_SIZE: usize = 64 * 1024 * 1024;

/// How to make a service's generated client: its name (for errors) and the
/// generated constructor with kit's limits. Made by [`stub!`](crate::stub).
pub struct Stub<C> {
    pub service: &'static str,
    pub make: fn(Channel) -> C,
}

impl<C> Clone for Stub<C> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<C> Copy for Stub<C> {}

/// The [`Stub`] of a tonic-generated client type:
/// `samling_kit::stub!("registry", RegistryServiceClient)`.
#[macro_export]
macro_rules! stub {
    ($service:literal, $($client:ident)::+) => {
        $crate::client::Stub {
            service: $service,
            make: |channel| {
                $($client)::+::new(channel)
                    .max_decoding_message_size($crate::client::MAX_DECODING_MESSAGE_SIZE)
            },
        }
    };
}

/// A typed client acting as one caller: the generated client `C`, the
/// caller's signed context (re-signed before it expires) and the deadline.
#[derive(Clone)]
pub struct ServiceClient<C> {
    inner: C,
    signer: ContextSigner,
    token: CachedToken,
    timeout: Duration,
}

/// Connect to `endpoint` (e.g. `http://127.0.0.1:7051`) now, over mutual
/// TLS when `tls` is given (an `http://` endpoint then speaks TLS). A
/// failure names the service and the endpoint.
pub async fn channel(service: &str, endpoint: &str, tls: Option<&Tls>) -> Result<Channel, Status> {
    let ep = crate::tls::endpoint(endpoint, tls)
        .map_err(|e| Status::invalid_argument(e.to_string()))?
        .connect_timeout(CONNECT_TIMEOUT)
        .tcp_nodelay(true);
    crate::tls::connect(&ep, tls).await.map_err(|e| {
        Status::unavailable(format!(
            "cannot reach {service} at {endpoint}: {}",
            crate::tls::error_chain(&e)
        ))
    })
}

impl<C> ServiceClient<C> {
    /// Connect to `endpoint` acting as `ctx` (see [`channel`]).
    pub async fn connect(
        stub: Stub<C>,
        endpoint: &str,
        tls: Option<&Tls>,
        signer: ContextSigner,
        ctx: AuthContext,
    ) -> Result<Self, Status> {
        let channel = channel(stub.service, endpoint, tls).await?;
        Ok(Self::from_channel(stub, channel, signer, ctx))
    }

    /// A client on a channel already made, acting as `ctx`.
    pub fn from_channel(
        stub: Stub<C>,
        channel: Channel,
        signer: ContextSigner,
        ctx: AuthContext,
    ) -> Self {
        ServiceClient {
            inner: (stub.make)(channel),
            token: CachedToken::new(signer.clone(), ctx),
            signer,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Another deadline for every call.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Who the calls are made as.
    pub fn context(&self) -> &AuthContext {
        self.token.context()
    }

    /// Act as someone else (same connection).
    pub fn acting_as(&self, ctx: AuthContext) -> Self
    where
        C: Clone,
    {
        ServiceClient {
            token: CachedToken::new(self.signer.clone(), ctx),
            ..self.clone()
        }
    }

    /// A request with the signed context, the deadline and the trace context.
    pub fn request<T>(&self, msg: T) -> Request<T> {
        let mut req = Request::new(msg);
        req.set_timeout(self.timeout);
        // A signed token is always valid ASCII metadata.
        let _ = self.token.attach(&mut req);
        crate::telemetry::inject_context(req.metadata_mut());
        req
    }

    /// The generated client, to call with [`request`](Self::request)s.
    pub fn raw(&mut self) -> &mut C {
        &mut self.inner
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;
    use crate::reference::MunicipalityCode;
    use tonic_health::pb::health_client::HealthClient;

    const HEALTH: Stub<HealthClient<Channel>> = crate::stub!("health", HealthClient);

    fn caseworker() -> AuthContext {
        AuthContext::new("cw", Role::MunicipalityCaseworker)
            .with_municipality(MunicipalityCode::parse("0180").unwrap())
    }

    #[tokio::test]
    async fn every_request_carries_the_signed_caller_and_the_deadline() {
        let signer = ContextSigner::generate().unwrap();
        let channel = Channel::from_static("http://127.0.0.1:9").connect_lazy();
        let c = ServiceClient::from_channel(HEALTH, channel, signer.clone(), caseworker())
            .with_timeout(Duration::from_millis(1500));
        let req = c.request(());
        let token = req
            .metadata()
            .get(crate::auth::AUTH_METADATA_KEY)
            .expect("auth context attached")
            .to_str()
            .unwrap();
        let got = signer.verifier().verify(token).unwrap();
        assert_eq!(
            (got.sub.as_str(), got.role),
            ("cw", Role::MunicipalityCaseworker)
        );
        assert_eq!(got.municipality.unwrap().as_str(), "0180");
        assert_eq!(
            req.metadata()
                .get("grpc-timeout")
                .unwrap()
                .to_str()
                .unwrap(),
            "1500000u",
            "the deadline travels as grpc-timeout"
        );

        // Acting as another caller signs the other caller, on the same client.
        let office = AuthContext::new("o", Role::RegionalOfficer);
        let other = c.acting_as(office.clone());
        assert_eq!(other.context(), &office);
        assert_eq!(other.timeout(), Duration::from_millis(1500));
        let token = other
            .request(())
            .metadata()
            .get(crate::auth::AUTH_METADATA_KEY)
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        assert_eq!(
            signer.verifier().verify(&token).unwrap().role,
            Role::RegionalOfficer
        );
    }

    #[tokio::test]
    async fn a_service_that_cannot_be_reached_is_named_with_its_endpoint() {
        // A port nobody listens on: bound, then released.
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let endpoint = format!("http://{addr}");
        let signer = ContextSigner::generate().unwrap();
        let err = match ServiceClient::connect(HEALTH, &endpoint, None, signer, caseworker()).await
        {
            Ok(_) => panic!("connected to a closed port"),
            Err(e) => e,
        };
        assert_eq!(err.code(), tonic::Code::Unavailable);
        assert!(
            err.message()
                .starts_with(&format!("cannot reach health at {endpoint}")),
            "{}",
            err.message()
        );
        let bad = ServiceClient::connect(
            HEALTH,
            "not a url",
            None,
            ContextSigner::generate().unwrap(),
            caseworker(),
        )
        .await;
        assert_eq!(bad.err().unwrap().code(), tonic::Code::InvalidArgument);
    }
}
