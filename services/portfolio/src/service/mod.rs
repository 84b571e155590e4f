//! Portfolio's operations: authorize by the caller's relation to the child,
//! validate, apply, and write with the audit entry and event in one
//! transaction (kit's envelope: `Core::begin` → access → `replay!` → change
//! → `Core::record` → `finish`). Every answer goes through the one view of
//! the portfolio for the caller (`access`), which logs each section it shows.

pub mod access;
pub mod credentials;
pub mod deadlines;
mod feed;
mod interop;
/// The registry's events portfolio follows.
pub mod feed_events {
    pub const PLACEMENT_CREATED: &str = "registry.placement_created";
    pub const PLACEMENT_ENDED: &str = "registry.placement_ended";
    pub const EVENT_TYPES: &[&str] = &[PLACEMENT_CREATED, PLACEMENT_ENDED];
}
pub mod lookup;
mod ombud_access;
mod portfolios;
pub mod retention;

pub use lookup::{ChildFacts, GrpcRegistry, PlacementFacts, RegistryLookup};

use crate::domain::PortfolioError;
use samling_kit::auth::{AuthContext, Role};
use samling_kit::dates::Clock;
use samling_kit::db::Store;
use samling_kit::error::{KitError, Reason};
use samling_kit::outbox::EventFeed;
use samling_kit::reference::RegionId;
use samling_kit::service::{Core, Service};
use std::sync::Arc;

pub(crate) type R<T> = Result<T, PortfolioError>;

/// Everything one region's portfolio service needs.
#[derive(Clone)]
pub struct Portfolios {
    pub store: Store,
    pub feed: EventFeed,
    core: Core,
    /// The default own-view age (a portfolio may set its own).
    pub own_view_age: u32,
    /// The region served; `None` serves every region (tests).
    pub region: Option<RegionId>,
    /// "Now" and "today" (settable in tests).
    pub clock: Clock,
    /// The registry asked about placements and children the feed does not
    /// link (protected children); `None`: not asked.
    pub registry: Option<Arc<dyn RegistryLookup>>,
    /// The key prescription credentials are signed with.
    pub credential_key: Arc<ed25519_dalek::SigningKey>,
    /// The consumer following the registry's feed, when opened by the module.
    pub registry_feed: Option<Arc<samling_kit::consumer::ConsumerHandle>>,
    /// The consumer following the ombud service's assignments, when opened
    /// by the module.
    pub ombud_feed: Option<Arc<samling_kit::consumer::ConsumerHandle>>,
    /// The retention policy's ages (ADR 0043).
    pub retention: crate::domain::retention::Policy,
    /// The periodic retention job, when opened by the module.
    pub retention_job: Option<retention::RetentionJobStopper>,
    /// The periods and lead times of the deadlines (ADR 0042).
    pub deadlines: crate::config::DeadlineConfig,
    /// The periodic deadline run, when opened by the module.
    pub deadline_job: Option<Arc<deadlines::DeadlineJob>>,
}

impl Portfolios {
    pub fn new(store: Store, own_view_age: u32, clock: Clock) -> Self {
        let core = Core::new(crate::NAME, store.clone());
        Portfolios {
            store,
            feed: core.feed.clone(),
            core,
            own_view_age,
            region: None,
            clock,
            registry: None,
            credential_key: Arc::new(credentials::generate_key()),
            registry_feed: None,
            ombud_feed: None,
            retention: crate::domain::retention::Policy::default(),
            retention_job: None,
            deadlines: crate::config::DeadlineConfig::default(),
            deadline_job: None,
        }
    }

    pub fn with_retention(mut self, policy: crate::domain::retention::Policy) -> Self {
        self.retention = policy;
        self
    }

    pub fn for_region(mut self, region: RegionId) -> Self {
        self.region = Some(region);
        self
    }

    pub fn with_credential_key(mut self, key: ed25519_dalek::SigningKey) -> Self {
        self.credential_key = Arc::new(key);
        self
    }

    pub fn with_deadlines(mut self, conf: crate::config::DeadlineConfig) -> Self {
        self.deadlines = conf;
        self
    }

    pub fn with_registry(mut self, registry: Arc<dyn RegistryLookup>) -> Self {
        self.registry = Some(registry);
        self
    }

    pub(crate) fn now_text(&self) -> String {
        samling_kit::dates::instant_text(self.clock.now())
    }

    pub(crate) fn today_text(&self) -> String {
        samling_kit::dates::date_text(self.clock.today())
    }
}

impl Service for Portfolios {
    type Error = PortfolioError;

    fn core(&self) -> &Core {
        &self.core
    }

    /// A regional officer works in its own region's service only; the
    /// aggregate roles and the gateway's public caller never read a
    /// portfolio. Refused before anything is read.
    fn bind(&self, ctx: &AuthContext) -> R<()> {
        if ctx.role.aggregates_only() {
            return Err(PortfolioError::Kit(KitError::refused(
                Reason::ForbiddenRole,
                format!("a {} may not read portfolios", ctx.role.as_str()),
            )));
        }
        match (ctx.role, &self.region, ctx.region.as_deref()) {
            (Role::RegionalOfficer, _, None) => Err(PortfolioError::Kit(KitError::refused(
                Reason::OutOfRegion,
                "region: a regional_officer's token must name its region",
            ))),
            (Role::RegionalOfficer, Some(reg), Some(claim)) if claim != reg.as_str() => {
                Err(PortfolioError::Kit(KitError::refused(
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
