//! Following the registry's event feed (kit's consumer, ADR 0022): each
//! `registry.placement_ended` opens the home's closing conversation
//! ([`Recruitment::apply_registry_event`]) in the same transaction that
//! advances the feed's cursor, so a placement's end takes effect once.

use crate::Recruitment;
use crate::domain::RecruitmentError;
use crate::service::support::REGISTRY_PLACEMENT_ENDED;
use samling_kit::config::Config;
use samling_kit::consumer::{Consumer, ConsumerHandle, ConsumerOptions, GrpcSource, Handler};
use samling_kit::error::{KitError, Reason};
use samling_kit::reference::RegionMap;
use samling_kit::tx::WriteTx;
use samling_proto::common::v1::Event;
use samling_proto::registry::v1::registry_service_client::RegistryServiceClient;
use tonic::transport::Channel;

/// The registry's gRPC client (recruitment does not link the registry's crate).
pub const REGISTRY: samling_kit::client::Stub<RegistryServiceClient<Channel>> =
    samling_kit::stub!("registry", RegistryServiceClient);

/// The registry's events recruitment follows.
pub const EVENT_TYPES: &[&str] = &[REGISTRY_PLACEMENT_ENDED];

/// The feed's name (its stored cursor): `"<region>/registry"`.
pub fn feed_name(region: &str) -> String {
    format!("{region}/registry")
}

/// The consumer's handler: recruitment's effect of a registry event.
#[derive(Clone)]
pub struct RegistryFeed(pub Recruitment);

impl Handler for RegistryFeed {
    async fn apply(&self, tx: &mut WriteTx, event: &Event) -> Result<(), KitError> {
        self.0
            .apply_registry_event(tx, event)
            .await
            .map_err(into_kit)
    }
}

/// A store fault stays kit's (retried); a malformed event is refused as
/// invalid (retried a few times, then dead-lettered).
fn into_kit(e: RecruitmentError) -> KitError {
    match e {
        RecruitmentError::Kit(k) => k,
        RecruitmentError::Invalid { field, message } => KitError::invalid(field, message),
        other => KitError::refused(Reason::InvalidState, other.to_string()),
    }
}

/// The options of the registry feed's consumer: placement ends only.
pub fn options() -> ConsumerOptions {
    ConsumerOptions::for_types(EVENT_TYPES)
}

/// Start following `region`'s registry (reached as configured, connecting
/// lazily: the registry may start later) as recruitment's own identity.
pub fn follow(
    svc: &Recruitment,
    cfg: &Config,
    region: &str,
    regions: &RegionMap,
) -> Result<ConsumerHandle, KitError> {
    let source = GrpcSource::configured(
        REGISTRY,
        samling_kit::watch_fn!(RegistryServiceClient),
        cfg,
        regions,
        "registry",
        crate::NAME,
        region,
    )?;
    Consumer::new(feed_name(region), source)
        .with_options(options())
        .spawn_durable(
            svc.store.clone(),
            svc.feed.clone(),
            RegistryFeed(svc.clone()),
        )
}
