//! Following the registry's event feed (kit's consumer, ADR 0022): each
//! `registry.placement_created` and `registry.placement_ended` updates the
//! placements the payment run pays within
//! ([`Compensation::apply_registry_event`]), in the same transaction that
//! advances the feed's cursor, so an event takes effect once.

use crate::Compensation;
use crate::domain::CompensationError;
use samling_kit::config::Config;
use samling_kit::consumer::{Consumer, ConsumerHandle, ConsumerOptions, GrpcSource, Handler};
use samling_kit::error::{KitError, Reason};
use samling_kit::reference::RegionMap;
use samling_kit::tx::WriteTx;
use samling_proto::common::v1::Event;
use samling_proto::registry::v1::registry_service_client::RegistryServiceClient;
use tonic::transport::Channel;

/// The registry's gRPC client (compensation does not link the registry's crate).
pub const REGISTRY: samling_kit::client::Stub<RegistryServiceClient<Channel>> =
    samling_kit::stub!("registry", RegistryServiceClient);

pub const PLACEMENT_CREATED: &str = "registry.placement_created";
pub const PLACEMENT_ENDED: &str = "registry.placement_ended";

/// The registry's events compensation follows.
pub const EVENT_TYPES: &[&str] = &[PLACEMENT_CREATED, PLACEMENT_ENDED];

/// The feed's name (its stored cursor): `"<region>/registry"`.
pub fn feed_name(region: &str) -> String {
    format!("{region}/registry")
}

/// The consumer's handler: compensation's effect of a registry event.
#[derive(Clone)]
pub struct RegistryFeed(pub Compensation);

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
fn into_kit(e: CompensationError) -> KitError {
    match e {
        CompensationError::Kit(k) => k,
        CompensationError::Invalid { field, message } => KitError::invalid(field, message),
        other => KitError::refused(Reason::InvalidState, other.to_string()),
    }
}

/// The options of the registry feed's consumer: placements only.
pub fn options() -> ConsumerOptions {
    ConsumerOptions::for_types(EVENT_TYPES)
}

/// Start following `region`'s registry (reached as configured, connecting
/// lazily: the registry may start later) as compensation's own identity.
pub fn follow(
    svc: &Compensation,
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
