//! Compensation's operations: authorize, validate, apply the domain rules,
//! and write the change with its audit entry and events in one transaction
//! (kit's envelope: `Core::begin` → access → `replay!` → change →
//! `Core::record` → `finish`). The gRPC layer (`grpc`) only adapts requests
//! to these calls. One file per aggregate; who may do what is in `access`.

pub mod access;
mod agreements;
mod claims;
mod costs;
mod grants;
mod ledger;
mod payments;
mod schedules;

use crate::domain::{CompensationError, Rules};
use samling_kit::auth::{AuthContext, Role};
use samling_kit::dates::Clock;
use samling_kit::db::Store;
use samling_kit::error::{KitError, Reason};
use samling_kit::outbox::EventFeed;
use samling_kit::reference::{RegionId, RegionMap};
use samling_kit::service::{Core, Service};
use std::sync::Arc;

pub(crate) type R<T> = Result<T, CompensationError>;

/// Everything one region's compensation service needs.
#[derive(Clone)]
pub struct Compensation {
    pub store: Store,
    pub feed: EventFeed,
    core: Core,
    pub rules: Arc<Rules>,
    pub regions: Arc<RegionMap>,
    /// The region this service pays for; `None` serves every region (tests,
    /// a single-region install).
    pub region: Option<RegionId>,
    /// "Now" and "today" (settable in tests).
    pub clock: Clock,
    /// The consumer following the registry's feed (placements), when
    /// opened by the module; stopped with the service.
    pub registry_feed: Option<Arc<samling_kit::consumer::ConsumerHandle>>,
}

impl Compensation {
    pub fn new(store: Store, rules: Rules, regions: Arc<RegionMap>, clock: Clock) -> Self {
        let core = Core::new(crate::NAME, store.clone());
        Compensation {
            store,
            feed: core.feed.clone(),
            core,
            rules: Arc::new(rules),
            regions,
            region: None,
            clock,
            registry_feed: None,
        }
    }

    /// Serve one region: its officers only.
    pub fn for_region(mut self, region: RegionId) -> Self {
        self.region = Some(region);
        self
    }

    pub(crate) fn now_text(&self) -> String {
        samling_kit::dates::instant_text(self.clock.now())
    }
}

impl Service for Compensation {
    type Error = CompensationError;

    fn core(&self) -> &Core {
        &self.core
    }

    /// A regional officer works in its own region's service only; refused
    /// before anything is read.
    fn bind(&self, ctx: &AuthContext) -> R<()> {
        match (ctx.role, &self.region, ctx.region.as_deref()) {
            (Role::RegionalOfficer, _, None) => Err(CompensationError::Kit(KitError::refused(
                Reason::OutOfRegion,
                "region: a regional_officer's token must name its region",
            ))),
            (Role::RegionalOfficer, Some(reg), Some(claim)) if claim != reg.as_str() => {
                Err(CompensationError::Kit(KitError::refused(
                    Reason::OutOfRegion,
                    format!(
                        "your token is for region {claim}; this is the service of region {reg}"
                    ),
                )))
            }
            _ => Ok(()),
        }
    }
}
