//! Ombud's operations: authorize by the caller's relation to the child or
//! the case, validate, apply, and write with the audit entry and event in
//! one transaction (kit's envelope: `Core::begin` → access → `replay!` →
//! change → `Core::record` → `finish`). Every answer goes through its view
//! for the caller (`access`), which audits the read.

pub mod access;
mod cases;
mod feed;
/// The rights follow-up (ADR 0046).
pub mod follow_up;
/// The registry's events ombud follows.
pub mod feed_events {
    pub const PLACEMENT_CREATED: &str = "registry.placement_created";
    pub const PLACEMENT_ENDED: &str = "registry.placement_ended";
    pub const EVENT_TYPES: &[&str] = &[PLACEMENT_CREATED, PLACEMENT_ENDED];
}
pub mod lookup;
mod meetings;
mod reviews;
mod roster;
pub mod surveys;

pub use lookup::{GrpcRegistry, PlacementFacts, RegistryLookup, SurveyProfile};

use crate::config::OmbudConfig;
use crate::domain::OmbudError;
use samling_kit::auth::{AuthContext, Role};
use samling_kit::dates::Clock;
use samling_kit::db::Store;
use samling_kit::error::{KitError, Reason};
use samling_kit::outbox::EventFeed;
use samling_kit::reference::RegionId;
use samling_kit::service::{Core, Service};
use std::sync::Arc;

pub(crate) type R<T> = Result<T, OmbudError>;

/// Everything one region's ombud service needs.
#[derive(Clone)]
pub struct Ombuds {
    pub store: Store,
    pub feed: EventFeed,
    core: Core,
    /// Deadlines (working days).
    pub rules: OmbudConfig,
    /// The region served; `None` serves every region (tests).
    pub region: Option<RegionId>,
    /// "Now" and "today" (settable in tests).
    pub clock: Clock,
    /// The registry asked what a protected child's placement events leave
    /// out (the placing municipality, the home); `None`: not asked.
    pub registry: Option<Arc<dyn RegistryLookup>>,
    /// The consumer following the registry's feed, when opened by the module.
    pub registry_feed: Option<Arc<samling_kit::consumer::ConsumerHandle>>,
    /// The consumer following the portfolio's feed (rights follow-up).
    pub portfolio_feed: Option<Arc<samling_kit::consumer::ConsumerHandle>>,
    /// The rights follow-up's periodic run.
    pub follow_up_job: Option<Arc<follow_up::FollowUpJob>>,
}

impl Ombuds {
    pub fn new(store: Store, rules: OmbudConfig, clock: Clock) -> Self {
        let core = Core::new(crate::NAME, store.clone());
        Ombuds {
            store,
            feed: core.feed.clone(),
            core,
            rules,
            region: None,
            clock,
            registry: None,
            registry_feed: None,
            portfolio_feed: None,
            follow_up_job: None,
        }
    }

    pub fn for_region(mut self, region: RegionId) -> Self {
        self.region = Some(region);
        self
    }

    pub fn with_registry(mut self, registry: Arc<dyn RegistryLookup>) -> Self {
        self.registry = Some(registry);
        self
    }

    pub(crate) fn now_text(&self) -> String {
        samling_kit::dates::instant_text(self.clock.now())
    }

    pub(crate) fn region_name(&self) -> String {
        self.region
            .as_ref()
            .map(|r| r.as_str().to_string())
            .unwrap_or_default()
    }
}

impl Service for Ombuds {
    type Error = OmbudError;

    fn core(&self) -> &Core {
        &self.core
    }

    /// A regional officer works in its own region's service only; a
    /// council member (the region's Brukarråd) whose token names a region,
    /// in that region's only. Refused before anything is read. The
    /// aggregate roles are refused every RPC but the survey results
    /// (`Ombuds::enter`).
    fn bind(&self, ctx: &AuthContext) -> R<()> {
        match (ctx.role, &self.region, ctx.region.as_deref()) {
            (Role::CouncilMember, Some(reg), Some(claim)) if claim != reg.as_str() => {
                Err(OmbudError::Kit(KitError::refused(
                    Reason::OutOfRegion,
                    format!(
                        "your token is for region {claim}; this is the service of region {reg}"
                    ),
                )))
            }
            (Role::RegionalOfficer, _, None) => Err(OmbudError::Kit(KitError::refused(
                Reason::OutOfRegion,
                "region: a regional_officer's token must name its region",
            ))),
            (Role::RegionalOfficer, Some(reg), Some(claim)) if claim != reg.as_str() => {
                Err(OmbudError::Kit(KitError::refused(
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
