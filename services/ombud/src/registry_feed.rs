//! Following the registry's event feed (kit's consumer, ADR 0022): each
//! `registry.placement_created` and `registry.placement_ended` is applied
//! by [`Ombuds::apply_registry_event`] in the same transaction that
//! advances the feed's cursor, so an event takes effect once (and a
//! restarted consumer resumes after it).

use crate::Ombuds;
use crate::domain::OmbudError;
use crate::service::lookup::REGISTRY;
use samling_kit::config::Config;
use samling_kit::consumer::{Consumer, ConsumerHandle, ConsumerOptions, GrpcSource, Handler};
use samling_kit::error::KitError;
use samling_kit::reference::RegionMap;
use samling_kit::tx::WriteTx;
use samling_proto::common::v1::Event;
use samling_proto::registry::v1::registry_service_client::RegistryServiceClient;

pub use crate::service::feed_events::{EVENT_TYPES, PLACEMENT_CREATED, PLACEMENT_ENDED};

/// The feed's name (its stored cursor): `"<region>/registry"`.
pub fn feed_name(region: &str) -> String {
    format!("{region}/registry")
}

/// The consumer's handler: ombud's effect of a registry event.
#[derive(Clone)]
pub struct RegistryFeed(pub Ombuds);

impl Handler for RegistryFeed {
    async fn apply(&self, tx: &mut WriteTx, event: &Event) -> Result<(), KitError> {
        self.0
            .apply_registry_event(tx, event)
            .await
            .map_err(into_kit)
    }
}

/// A store fault or an unreachable registry stays kit's (retried); a
/// malformed event is refused as invalid (retried, then dead-lettered).
fn into_kit(e: OmbudError) -> KitError {
    match e {
        OmbudError::Kit(k) => k,
        OmbudError::Invalid { field, message } => KitError::invalid(field, message),
        other => KitError::Internal(other.to_string()),
    }
}

/// The options of the registry feed's consumer: placements only.
pub fn options() -> ConsumerOptions {
    ConsumerOptions::for_types(EVENT_TYPES)
}

/// Start following `region`'s registry as ombud's own identity.
pub fn follow(
    svc: &Ombuds,
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
