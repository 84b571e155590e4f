//! Recruitment's operations: authorize, validate, apply the domain rules,
//! and write the change with its audit entry and events in one transaction
//! (kit's envelope: `Core::begin` → access → `replay!` → change →
//! `Core::record` → `finish`). The gRPC layer (`grpc`) only adapts requests
//! to these calls. One file per part of the pipeline.

mod cases;
mod funnel;
pub mod intake;
mod investigation;
pub mod matching;
mod network;
mod office;
pub mod registry_link;
pub mod statistics;
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
    /// Signs and checks the public form's tokens (R1).
    pub form_tokens: Arc<crate::domain::form::FormTokens>,
    /// Where approvals are recorded: the registry of this region (R1);
    /// `None` refuses RecordApproval as unavailable.
    pub registry: Option<registry_link::RegistryLink>,
}

impl Recruitment {
    pub fn new(store: Store, rules: Rules, regions: Arc<RegionMap>, clock: Clock) -> Self {
        let core = Core::new(crate::NAME, store.clone());
        let rules_for_tokens = rules.clone();
        Recruitment {
            store,
            feed: core.feed.clone(),
            core,
            rules: Arc::new(rules),
            regions,
            region: None,
            clock,
            registry_feed: None,
            form_tokens: Arc::new(random_form_tokens(&rules_for_tokens)),
            registry: None,
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

/// Form tokens under a key of this process only (tests, and until `open`
/// sets the configured key): tokens it issues are good in this process.
fn random_form_tokens(rules: &Rules) -> crate::domain::form::FormTokens {
    let mut key = [0u8; 32];
    fill_random(&mut key);
    let mut rules = rules.clone();
    if rules.form_max_age_seconds <= rules.form_min_fill_seconds {
        // A bad configuration is refused by `open`; keep `new` infallible.
        rules.form_max_age_seconds = rules.form_min_fill_seconds + 1;
    }
    crate::domain::form::FormTokens::new(&key, &[], &rules)
        .unwrap_or_else(|_| unreachable!("a 32-byte key and a max age above the fill time"))
}

/// Random bytes from the operating system.
pub(crate) fn fill_random(buf: &mut [u8]) {
    // The OS generator failing is not recoverable; nothing may be issued
    // from predictable bytes.
    getrandom::fill(buf).unwrap_or_else(|e| panic!("the OS random generator failed: {e}"));
}

impl Recruitment {
    /// Sign form tokens with `tokens` (the configured key).
    pub fn with_form_tokens(mut self, tokens: crate::domain::form::FormTokens) -> Self {
        self.form_tokens = Arc::new(tokens);
        self
    }

    /// Record approvals in the registry through `link`.
    pub fn with_registry(mut self, link: registry_link::RegistryLink) -> Self {
        self.registry = Some(link);
        self
    }
}
