//! Following the ombud service's event feed (kit's consumer, ADR 0022):
//! each `ombud.child_assigned` makes that ombud the child's assigned ombud
//! in the register too ([`Registry::apply_ombud_event`]), in the same
//! transaction that advances the feed's cursor, so an assignment takes
//! effect once and a later one replaces it (ADR 0045).

use crate::Registry;
use crate::domain::RegistryError;
use samling_kit::client::Stub;
use samling_kit::config::Config;
use samling_kit::consumer::{Consumer, ConsumerHandle, ConsumerOptions, GrpcSource, Handler};
use samling_kit::error::KitError;
use samling_kit::reference::RegionMap;
use samling_kit::tx::WriteTx;
use samling_proto::common::v1::Event;
use samling_proto::ombud::v1::ombud_service_client::OmbudServiceClient;
use tonic::transport::Channel;

/// The one event the register follows.
pub const CHILD_ASSIGNED: &str = "ombud.child_assigned";

pub const OMBUD: Stub<OmbudServiceClient<Channel>> =
    samling_kit::stub!("ombud", OmbudServiceClient);

/// The feed's name (its stored cursor): `"<region>/ombud"`.
pub fn feed_name(region: &str) -> String {
    format!("{region}/ombud")
}

/// The consumer's handler: the register's effect of an ombud event.
#[derive(Clone)]
pub struct OmbudFeed(pub Registry);

impl Handler for OmbudFeed {
    async fn apply(&self, tx: &mut WriteTx, event: &Event) -> Result<(), KitError> {
        self.0
            .apply_ombud_event(tx, event)
            .await
            .map_err(|e| match e {
                RegistryError::Kit(k) => k,
                RegistryError::Invalid(f) => KitError::InvalidArgument(f),
                other => KitError::Internal(other.to_string()),
            })
    }
}

/// The options of the ombud feed's consumer: assignments only.
pub fn options() -> ConsumerOptions {
    ConsumerOptions::for_types(&[CHILD_ASSIGNED])
}

/// Start following `region`'s ombud service (reached as configured,
/// connecting lazily) as the register's own identity.
pub fn follow(
    registry: &Registry,
    cfg: &Config,
    region: &str,
    regions: &RegionMap,
) -> Result<ConsumerHandle, KitError> {
    let source = GrpcSource::configured(
        OMBUD,
        samling_kit::watch_fn!(OmbudServiceClient),
        cfg,
        regions,
        "ombud",
        crate::NAME,
        region,
    )?;
    Consumer::new(feed_name(region), source)
        .with_options(options())
        .spawn_durable(
            registry.store.clone(),
            registry.feed.clone(),
            OmbudFeed(registry.clone()),
        )
}
