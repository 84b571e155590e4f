//! Following the registry's event feed (kit's consumer, ADR 0022): each
//! `registry.placement_created` and `registry.placement_ended` moves a
//! home's access to the child's portfolio
//! ([`Portfolios::apply_registry_event`]), in the same transaction that
//! advances the feed's cursor, so an event takes effect once.

use crate::Portfolios;
use crate::domain::PortfolioError;
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

/// The consumer's handler: portfolio's effect of a registry event.
#[derive(Clone)]
pub struct RegistryFeed(pub Portfolios);

impl Handler for RegistryFeed {
    async fn apply(&self, tx: &mut WriteTx, event: &Event) -> Result<(), KitError> {
        self.0
            .apply_registry_event(tx, event)
            .await
            .map_err(into_kit)
    }
}

/// A store fault or an unreachable registry stays kit's (retried); a
/// malformed event is refused as invalid (retried a few times, then
/// dead-lettered).
fn into_kit(e: PortfolioError) -> KitError {
    match e {
        PortfolioError::Kit(k) => k,
        PortfolioError::Invalid { field, message } => KitError::invalid(field, message),
        other => KitError::Internal(other.to_string()),
    }
}

/// The options of the registry feed's consumer: placements only.
pub fn options() -> ConsumerOptions {
    ConsumerOptions::for_types(EVENT_TYPES)
}

/// Start following `region`'s registry (reached as configured, connecting
/// lazily) as portfolio's own identity.
pub fn follow(
    svc: &Portfolios,
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
