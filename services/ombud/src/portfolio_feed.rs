//! Following the portfolio's event feed (kit's consumer, ADR 0022; the
//! rights follow-up, ADR 0046): each `portfolio.deadline` is applied by
//! [`Ombuds::apply_portfolio_event`] in the same transaction that advances
//! the feed's cursor, so an event takes effect once (and a restarted
//! consumer resumes after it). A malformed event (an unknown state, a bad
//! date or item code) is refused naming the field, and dead-lettered.

use crate::Ombuds;
use crate::domain::OmbudError;
use samling_kit::client::Stub;
use samling_kit::config::Config;
use samling_kit::consumer::{Consumer, ConsumerHandle, ConsumerOptions, GrpcSource, Handler};
use samling_kit::error::KitError;
use samling_kit::reference::RegionMap;
use samling_kit::tx::WriteTx;
use samling_proto::common::v1::Event;
use samling_proto::portfolio::v1::portfolio_service_client::PortfolioServiceClient;
use tonic::transport::Channel;

pub use crate::service::follow_up::PORTFOLIO_DEADLINE;

pub const PORTFOLIO: Stub<PortfolioServiceClient<Channel>> =
    samling_kit::stub!("portfolio", PortfolioServiceClient);

/// The feed's name (its stored cursor): `"<region>/portfolio"`.
pub fn feed_name(region: &str) -> String {
    format!("{region}/portfolio")
}

/// The consumer's handler: ombud's effect of a portfolio event.
#[derive(Clone)]
pub struct PortfolioFeed(pub Ombuds);

impl Handler for PortfolioFeed {
    async fn apply(&self, tx: &mut WriteTx, event: &Event) -> Result<(), KitError> {
        self.0
            .apply_portfolio_event(tx, event)
            .await
            .map_err(|e| match e {
                OmbudError::Kit(k) => k,
                OmbudError::Invalid { field, message } => KitError::invalid(field, message),
                other => KitError::Internal(other.to_string()),
            })
    }
}

/// The options of the portfolio feed's consumer: deadlines only.
pub fn options() -> ConsumerOptions {
    ConsumerOptions::for_types(&[PORTFOLIO_DEADLINE])
}

/// Start following `region`'s portfolio (reached as configured, connecting
/// lazily) as ombud's own identity.
pub fn follow(
    svc: &Ombuds,
    cfg: &Config,
    region: &str,
    regions: &RegionMap,
) -> Result<ConsumerHandle, KitError> {
    let source = GrpcSource::configured(
        PORTFOLIO,
        samling_kit::watch_fn!(PortfolioServiceClient),
        cfg,
        regions,
        "portfolio",
        crate::NAME,
        region,
    )?;
    Consumer::new(feed_name(region), source)
        .with_options(options())
        .spawn_durable(
            svc.store.clone(),
            svc.feed.clone(),
            PortfolioFeed(svc.clone()),
        )
}
