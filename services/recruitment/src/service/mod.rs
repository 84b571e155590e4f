//! Recruitment's operations: authorize, validate, apply the domain rules,
//! and write the change with its audit entry and events in one transaction
//! (kit's envelope: `Core::begin` → access → `replay!` → change →
//! `Core::record` → `finish`). The gRPC layer (`grpc`) only adapts requests
//! to these calls. One file per part of the pipeline.

mod cases;
mod funnel;
mod intake;
mod investigation;
mod network;
mod office;
pub mod support;
mod training;

use crate::domain::{RecruitmentError, Rules};
use samling_kit::auth::{AuthContext, Role};
use samling_kit::dates::Clock;
use samling_kit::db::Store;
use samling_kit::error::Reason;
use samling_kit::outbox::EventFeed;
use samling_kit::reference::{RegionId, RegionMap};
use samling_kit::service::{Core, Service};
use std::sync::Arc;

pub(crate) type R<T> = Result<T, RecruitmentError>;

/// Everything one region's recruitment service needs.
#[derive(Clone)]
pub struct Recruitment {
    pub store: Store,
    pub feed: EventFeed,
    core: Core,
    pub rules: Arc<Rules>,
    pub regions: Arc<RegionMap>,
    /// The region this office serves; `None` serves every municipality
    /// (tests, a single-region install).
    pub region: Option<RegionId>,
    /// "Now" and "today" for deadlines and working days (settable in tests).
    pub clock: Clock,
    /// The consumer following the registry's feed (closing conversations),
    /// when opened by the module; stopped with the service.
    pub registry_feed: Option<Arc<samling_kit::consumer::ConsumerHandle>>,
}

impl Recruitment {
    pub fn new(store: Store, rules: Rules, regions: Arc<RegionMap>, clock: Clock) -> Self {
        let core = Core::new(crate::NAME, store.clone());
        Recruitment {
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

    /// Serve one region: cases, courses and needs must be in its municipalities.
    pub fn for_region(mut self, region: RegionId) -> Self {
        self.region = Some(region);
        self
    }
}

impl Service for Recruitment {
    type Error = RecruitmentError;

    fn core(&self) -> &Core {
        &self.core
    }

    /// A regional officer works in its own region's office only; refused
    /// before anything is read.
    fn bind(&self, ctx: &AuthContext) -> R<()> {
        match (ctx.role, &self.region, ctx.region.as_deref()) {
            (Role::RegionalOfficer, _, None) => Err(RecruitmentError::Kit(
                samling_kit::error::KitError::refused(
                    Reason::OutOfRegion,
                    "region: a regional_officer's token must name its region",
                ),
            )),
            (Role::RegionalOfficer, Some(reg), Some(claim)) if claim != reg.as_str() => Err(
                RecruitmentError::Kit(samling_kit::error::KitError::refused(
                    Reason::OutOfRegion,
                    format!("your token is for region {claim}; this is the office of region {reg}"),
                )),
            ),
            _ => Ok(()),
        }
    }
}

/// A part not built yet (the skeleton's placeholder; none may remain on main).
pub(crate) fn pending(rpc: &str) -> RecruitmentError {
    RecruitmentError::precondition(format!("{rpc}: PENDING (not built yet)"))
}
