//! The national matching standard's operations (issue 20; docs/matching.md,
//! docs/adr/0025-matching-service.md): needs profiles, ranking (own region,
//! or nationally by asking the other regions' recruitment services with a
//! deadline), socialjouren's night mode, follow-up, information packages,
//! and the in-memory read model of the registry's homes fed by its event
//! feed. Ranking reads the read model only, never the registry.
//!
//! Access ("Matching" in docs/recruitment.md): a profile, its proposals and
//! its stories are the placing municipality's (its caseworkers and
//! managers) and the regional office's; another municipality gets NotFound.
//! Aggregate roles see the outcome-by-rank report only, with counts below 5
//! suppressed. A family home sets its own story and reads the child's
//! package of a proposal it is in.

use super::{R, Recruitment};
use crate::domain::RecruitmentError;
use crate::matching::model::HomeFacts;
use crate::matching::profile as mprofile;
use crate::matching::rank::{RankOptions, Ranking, merge_night, merge_regional};
use crate::matching::{MatchingConfig, MatchingError, ReadModel, convert, followup, packages};
use chrono::NaiveDate;
use samling_kit::auth::{AuthContext, ContextSigner, Role};
use samling_kit::client::ServiceClient;
use samling_kit::consumer::{
    Consumer, ConsumerOptions, ConsumerStatus, EventSource, GrpcSource, MemoryHandler,
};
use samling_kit::dates;
use samling_kit::error::{KitError, Reason, ServiceError};
use samling_kit::paging::Page;
use samling_kit::service::{Answer, Core, Service};
use samling_kit::tls::Tls;
use samling_proto::common::v1::Event;
use samling_proto::recruitment::v1::matching_service_client::MatchingServiceClient;
use samling_proto::recruitment::v1::*;
use samling_proto::registry::v1::{Agency, Home};
use serde_json::json;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tonic::transport::Channel;

impl From<MatchingError> for RecruitmentError {
    fn from(e: MatchingError) -> Self {
        match e {
            MatchingError::Invalid { field, message } => {
                RecruitmentError::Invalid { field, message }
            }
            MatchingError::NotFound(w) => RecruitmentError::NotFound(w),
            MatchingError::Conflict(m) => RecruitmentError::Conflict(m),
            MatchingError::Precondition(m) => RecruitmentError::Precondition(m),
            MatchingError::Config(m) => RecruitmentError::Kit(KitError::Internal(m)),
        }
    }
}

/// A boxed future that may move between threads.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// Where the read model's records come from: the registry of the region,
/// read as the service (full record, members with their checks). Behind a
/// trait so the feed handling is tested without a registry process.
pub trait RegistrySource: Send + Sync {
    fn get_home(&self, id: String) -> BoxFuture<'static, R<Option<Home>>>;
    fn get_agency(&self, id: String) -> BoxFuture<'static, R<Option<Agency>>>;
    /// The registry's events after `after`, up to the end of its feed now.
    fn events_after(&self, after: u64) -> BoxFuture<'static, R<Vec<Event>>>;
    /// Every home and agency of the registry now (the startup catch-up).
    fn all(&self) -> BoxFuture<'static, R<(Vec<Home>, Vec<Agency>)>>;
}

/// The other regions' matching services, for a national ranking.
#[derive(Clone, Default)]
pub struct Peers {
    /// (region id, endpoint) of every other region.
    pub regions: Vec<(String, String)>,
    pub signer: Option<ContextSigner>,
    pub tls: Option<Tls>,
    /// How long a national ranking waits for the other regions.
    pub deadline: Duration,
}

/// The matching configuration, `[recruitment.matching]`.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MatchingSettings {
    /// A weights file replacing the built-in standard (`default.toml`).
    pub config_file: Option<std::path::PathBuf>,
    /// Deadline of a national ranking, milliseconds (default 2000).
    pub national_deadline_ms: Option<u64>,
}

/// One region's matching service.
#[derive(Clone)]
pub struct Matching {
    pub rec: Recruitment,
    pub model: Arc<RwLock<ReadModel>>,
    pub cfg: Arc<MatchingConfig>,
    pub registry: Arc<dyn RegistrySource>,
    pub peers: Arc<Peers>,
    /// The follower's consumer (kit's), once the startup read is done.
    feed_status: Arc<RwLock<Option<tokio::sync::watch::Receiver<ConsumerStatus>>>>,
}

const FEED_ALL: &str = "registry";

/// How long `GetReadModelStatus` waits for the registry's feed head.
const HEAD_DEADLINE: Duration = Duration::from_secs(1);

impl Matching {
    pub fn new(
        rec: Recruitment,
        cfg: MatchingConfig,
        registry: Arc<dyn RegistrySource>,
        peers: Peers,
    ) -> Self {
        let model = ReadModel::new(&rec.regions);
        Matching {
            rec,
            model: Arc::new(RwLock::new(model)),
            cfg: Arc::new(cfg),
            registry,
            peers: Arc::new(peers),
            feed_status: Arc::new(RwLock::new(None)),
        }
    }

    /// The follower's status (None before the startup read is done).
    pub fn feed_status(&self) -> Option<ConsumerStatus> {
        let g = self.feed_status.read().unwrap_or_else(|p| p.into_inner());
        g.as_ref().map(|rx| rx.borrow().clone())
    }

    /// The read model's name for this region's registry feed.
    pub fn feed(&self) -> String {
        self.rec
            .region
            .as_ref()
            .map_or(FEED_ALL.to_string(), |r| r.as_str().to_string())
    }

    fn own_region(&self) -> Option<String> {
        self.rec.region.as_ref().map(|r| r.as_str().to_string())
    }

    fn read_model(&self) -> std::sync::RwLockReadGuard<'_, ReadModel> {
        self.model.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write_model(&self) -> std::sync::RwLockWriteGuard<'_, ReadModel> {
        self.model.write().unwrap_or_else(|p| p.into_inner())
    }

    fn today(&self) -> NaiveDate {
        self.rec.clock.today()
    }

    fn now_text(&self) -> String {
        dates::instant_text(self.rec.clock.now())
    }

    // --- The read model's feed ------------------------------------------------

    /// Apply one event of the registry's feed: a home or agency event names
    /// the record and its version; the record is read (as the service) only
    /// when the model has an older version, then applied by version (a
    /// redelivered event is a no-op). Other events only move the cursor.
    pub async fn apply_registry_event(&self, e: &Event) -> R<()> {
        let feed = self.feed();
        let payload: serde_json::Value =
            serde_json::from_str(&e.payload_json).unwrap_or(serde_json::Value::Null);
        let version = payload.get("version").and_then(|v| v.as_i64()).unwrap_or(0);
        match e.aggregate_type.as_str() {
            "home" => {
                let needed = self
                    .read_model()
                    .needs_fetch(&e.aggregate_id, version.max(1));
                if needed && let Some(h) = self.registry.get_home(e.aggregate_id.clone()).await? {
                    let mut m = self.write_model();
                    match m.apply_home(&feed, e.seq, &h) {
                        Ok(_) => {}
                        // A record matching cannot use is skipped, not fatal.
                        Err(err) => {
                            tracing::warn!(seq = e.seq, error = %err, "home skipped by the read model");
                            m.advance(&feed, e.seq);
                        }
                    }
                    return Ok(());
                }
            }
            "agency" => {
                if let Some(a) = self.registry.get_agency(e.aggregate_id.clone()).await? {
                    let mut m = self.write_model();
                    if let Err(err) = m.apply_agency(&feed, e.seq, &a) {
                        tracing::warn!(seq = e.seq, error = %err, "agency skipped by the read model");
                        m.advance(&feed, e.seq);
                    }
                    return Ok(());
                }
            }
            _ => {}
        }
        self.write_model().advance(&feed, e.seq);
        Ok(())
    }

    /// Read the registry's feed from the model's cursor to its end now.
    /// Returns the events applied.
    pub async fn sync(&self) -> R<usize> {
        let after = self.read_model().cursor(&self.feed());
        let events = self.registry.events_after(after).await?;
        for e in &events {
            self.apply_registry_event(e).await?;
        }
        Ok(events.len())
    }

    /// Startup: the feed's position first, then every home and agency as
    /// they are now (applied by version). The model's cursor is the noted
    /// position, so the events after it — also those naming a record read
    /// here — are applied afterwards, each once (a record already read at
    /// its version is not read again). Returns the homes read.
    pub async fn load(&self) -> R<usize> {
        let from = self.read_model().cursor(&self.feed());
        let head = self
            .registry
            .events_after(from)
            .await?
            .last()
            .map(|e| e.seq);
        let (homes, agencies) = self.registry.all().await?;
        let mut m = self.write_model();
        for a in &agencies {
            if let Ok(f) = crate::matching::model::AgencyFacts::from_agency(a) {
                let _ = m.apply_agency_facts(&f);
            }
        }
        for h in &homes {
            match HomeFacts::from_home(h) {
                Ok(f) => {
                    let _ = m.apply_home_facts(&f);
                }
                Err(err) => tracing::warn!(error = %err, "home skipped by the read model"),
            }
        }
        if let Some(seq) = head {
            m.advance(&self.feed(), seq);
        }
        Ok(homes.len())
    }

    /// [`Self::load`], then the feed from the noted position to its end now
    /// (tests and tools; the service follows the feed with [`Self::follow`]).
    pub async fn catch_up(&self) -> R<usize> {
        let n = self.load().await?;
        Ok(n + self.sync().await?)
    }

    /// Follow the registry's feed: the startup read ([`Self::load`], retried
    /// with `options`' backoff until the registry answers), then kit's
    /// consumer (ADR 0022) from the position noted before that read. The
    /// consumer reconnects by itself and hands each event to
    /// [`Self::apply_registry_event`] once, in feed order: an event at or
    /// below the cursor (a redelivery, a source resending from the start) is
    /// skipped, and a home is read only for a version newer than the
    /// model's. Runs until [`Follower::stop`] or its stopper.
    pub fn follow<S: EventSource>(&self, source: S, options: ConsumerOptions) -> Follower {
        let me = self.clone();
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(async move {
            let mut failures: u32 = 0;
            loop {
                if *stopped.borrow() {
                    return;
                }
                match me.load().await {
                    Ok(homes) => {
                        tracing::info!(
                            homes,
                            cursor = me.read_model().cursor(&me.feed()),
                            "the read model is loaded"
                        );
                        break;
                    }
                    Err(e) => {
                        failures = failures.saturating_add(1);
                        if failures == 1 {
                            tracing::warn!(error = %e, "reading the registry's homes failed; retrying");
                        }
                        let pause = samling_kit::consumer::backoff(&options, failures);
                        tokio::select! {
                            _ = tokio::time::sleep(pause) => {}
                            _ = stopped.changed() => return,
                        }
                    }
                }
            }
            let consumer = Consumer::new(format!("{}/registry#matching", me.feed()), source)
                .with_options(options)
                .spawn_in_memory(ReadModelFeed(me.clone()));
            let handle = match consumer {
                Ok(h) => h,
                Err(e) => {
                    tracing::error!(error = %e, "the read model's consumer did not start");
                    return;
                }
            };
            *me.feed_status.write().unwrap_or_else(|p| p.into_inner()) =
                Some(handle.watch_status());
            let _ = stopped.wait_for(|s| *s).await;
            handle.stop().await;
        });
        Follower {
            stop: Arc::new(stop),
            task: Some(task),
        }
    }

    /// Follow this region's registry over gRPC as the service
    /// (`GrpcSource`, connecting lazily: the registry may start later).
    pub fn follow_registry(
        &self,
        endpoint: &str,
        tls: Option<&Tls>,
        signer: ContextSigner,
    ) -> R<Follower> {
        let identity = AuthContext::new(crate::NAME, Role::Service).with_region(self.feed());
        let source = GrpcSource::lazy(
            crate::registry_feed::REGISTRY,
            endpoint,
            tls,
            signer,
            identity,
            samling_kit::watch_fn!(
                samling_proto::registry::v1::registry_service_client::RegistryServiceClient
            ),
        )?;
        Ok(self.follow(source, ConsumerOptions::default()))
    }

    // --- Access ------------------------------------------------------------------

    fn is_office(ctx: &AuthContext) -> bool {
        matches!(ctx.role, Role::RegionalOfficer | Role::Service)
    }

    fn is_municipal_worker(ctx: &AuthContext) -> bool {
        matches!(
            ctx.role,
            Role::MunicipalityCaseworker | Role::MunicipalityManager
        )
    }

    fn own_municipality(ctx: &AuthContext) -> Option<&str> {
        ctx.municipality.as_ref().map(|m| m.as_str())
    }

    /// The roles that work with profiles at all (before any record is read).
    fn may_match(ctx: &AuthContext, what: &str) -> R<()> {
        if Self::is_office(ctx) || Self::is_municipal_worker(ctx) {
            Ok(())
        } else {
            Err(RecruitmentError::Forbidden(format!(
                "your role may not {what}"
            )))
        }
    }

    /// A record of the placing municipality `muni`: its own caseworkers and
    /// managers and the office; another municipality's is NotFound.
    fn may_see(ctx: &AuthContext, muni: &str, what: &str, id: &str) -> R<()> {
        if Self::is_office(ctx) {
            return Ok(());
        }
        if Self::is_municipal_worker(ctx) && Self::own_municipality(ctx) == Some(muni) {
            return Ok(());
        }
        if Self::is_municipal_worker(ctx) {
            return Err(RecruitmentError::not_found(format!("{what} {id}")));
        }
        Err(RecruitmentError::Forbidden(format!(
            "your role may not read a {what}"
        )))
    }

    /// A municipality acts for itself only; the office for the region's.
    fn may_act_for(&self, ctx: &AuthContext, field: &str, muni: &str) -> R<()> {
        if Self::is_municipal_worker(ctx) && Self::own_municipality(ctx) != Some(muni) {
            return Err(RecruitmentError::Forbidden(format!(
                "{field}: you act for your own municipality only"
            )));
        }
        if let (Some(region), Ok(code)) = (
            &self.rec.region,
            samling_kit::reference::MunicipalityCode::parse(muni),
        ) && self.rec.regions.region_of(code) != region
        {
            return Err(RecruitmentError::invalid(
                field,
                format!("is not a municipality of region {region}"),
            ));
        }
        Ok(())
    }

    async fn must_profile(&self, ctx: &AuthContext, id: &str) -> R<NeedsProfile> {
        samling_kit::ids::parse_id("profile_id", id)?;
        let p = crate::store::matching::get_profile(&self.rec.store.read, id)
            .await?
            .ok_or_else(|| RecruitmentError::not_found(format!("needs profile {id}")))?;
        Self::may_see(ctx, &p.placing_municipality_code, "needs profile", id)?;
        Ok(p)
    }

    async fn must_proposal(&self, ctx: &AuthContext, id: &str) -> R<MatchProposal> {
        samling_kit::ids::parse_id("proposal_id", id)?;
        let p = crate::store::matching::get_proposal(&self.rec.store.read, id)
            .await?
            .ok_or_else(|| RecruitmentError::not_found(format!("proposal {id}")))?;
        Self::may_see(ctx, &p.placing_municipality_code, "proposal", id)?;
        Ok(p)
    }

    fn validate(&self, draft: Option<&NeedsProfileDraft>) -> R<mprofile::Profile> {
        let d = draft.ok_or_else(|| RecruitmentError::invalid("draft", "is required"))?;
        Ok(mprofile::validate_draft(d, self.today())?)
    }

    fn profile_event(p: &NeedsProfile) -> serde_json::Value {
        if p.protected_identity {
            json!({"profile_id": p.id, "version": p.version})
        } else {
            json!({"profile_id": p.id, "version": p.version, "placing_municipality_code": p.placing_municipality_code})
        }
    }

    // --- Needs profiles ------------------------------------------------------------

    pub async fn create_needs_profile(
        &self,
        ctx: &AuthContext,
        req: CreateNeedsProfileRequest,
    ) -> R<NeedsProfile> {
        Self::may_match(ctx, "enter a needs profile")?;
        self.validate(req.draft.as_ref())?;
        let d = req.draft.clone().unwrap_or_default();
        self.may_act_for(
            ctx,
            "draft.placing_municipality_code",
            d.placing_municipality_code.trim(),
        )?;
        let w = self
            .core()
            .begin(ctx, "CreateNeedsProfile", &req.request_id, &req)
            .await?;
        let mut w = samling_kit::replay!(w, self, ctx);
        let now = self.now_text();
        let p = NeedsProfile {
            id: samling_kit::ids::new_id_string(),
            version: 1,
            placing_municipality_code: d.placing_municipality_code.trim().to_string(),
            children: d.children,
            placement_kind: d.placement_kind,
            protected_identity: d.protected_identity,
            violence_exposure: d.violence_exposure,
            anchors: d.anchors,
            kinship_home_ids: d.kinship_home_ids,
            provider_must_deliver: d.provider_must_deliver,
            home_types: d.home_types,
            created_at: now.clone(),
            updated_at: now,
            created_by: ctx.sub.clone(),
        };
        crate::store::matching::save_profile(w.conn(), &p, true).await?;
        self.core()
            .record(
                &mut w,
                ctx,
                "needs_profile_created",
                "needs_profile",
                &p.id,
                Self::profile_event(&p),
            )
            .await?;
        w.finish(self, ctx, p).await
    }

    pub async fn get_needs_profile(
        &self,
        ctx: &AuthContext,
        req: GetNeedsProfileRequest,
    ) -> R<NeedsProfile> {
        Self::may_match(ctx, "read a needs profile")?;
        let p = self.must_profile(ctx, &req.profile_id).await?;
        p.view(self, ctx).await
    }

    pub async fn update_needs_profile(
        &self,
        ctx: &AuthContext,
        req: UpdateNeedsProfileRequest,
    ) -> R<NeedsProfile> {
        Self::may_match(ctx, "change a needs profile")?;
        samling_kit::ids::parse_id("profile_id", &req.profile_id)?;
        self.validate(req.draft.as_ref())?;
        let d = req.draft.clone().unwrap_or_default();
        let w = self
            .core()
            .begin(ctx, "UpdateNeedsProfile", &req.request_id, &req)
            .await?;
        let mut w = w;
        let mut p = crate::store::matching::get_profile(w.conn(), &req.profile_id)
            .await?
            .ok_or_else(|| {
                RecruitmentError::not_found(format!("needs profile {}", req.profile_id))
            })?;
        Self::may_see(ctx, &p.placing_municipality_code, "needs profile", &p.id)?;
        self.may_act_for(
            ctx,
            "draft.placing_municipality_code",
            d.placing_municipality_code.trim(),
        )?;
        let mut w = samling_kit::replay!(w, self, ctx);
        if req.expected_version != 0 && req.expected_version != p.version {
            return Err(RecruitmentError::Conflict(format!(
                "needs profile {} is at version {}, not {}",
                p.id, p.version, req.expected_version
            )));
        }
        p.version += 1;
        p.placing_municipality_code = d.placing_municipality_code.trim().to_string();
        p.children = d.children;
        p.placement_kind = d.placement_kind;
        p.protected_identity = d.protected_identity;
        p.violence_exposure = d.violence_exposure;
        p.anchors = d.anchors;
        p.kinship_home_ids = d.kinship_home_ids;
        p.provider_must_deliver = d.provider_must_deliver;
        p.home_types = d.home_types;
        p.updated_at = self.now_text();
        crate::store::matching::save_profile(w.conn(), &p, false).await?;
        self.core()
            .record(
                &mut w,
                ctx,
                "needs_profile_updated",
                "needs_profile",
                &p.id,
                Self::profile_event(&p),
            )
            .await?;
        w.finish(self, ctx, p).await
    }

    pub async fn list_needs_profiles(
        &self,
        ctx: &AuthContext,
        req: ListNeedsProfilesRequest,
    ) -> R<ListNeedsProfilesResponse> {
        Self::may_match(ctx, "list needs profiles")?;
        let muni = self.list_scope(ctx, &req.municipality_code)?;
        let page = Page::from_request(req.page.as_ref())?;
        let rows =
            crate::store::matching::list_profiles(&self.rec.store.read, muni.as_deref(), &page)
                .await?;
        let (rows, page) = page.finish(rows, |p| p.id.clone());
        let ids: Vec<&str> = rows.iter().map(|p| p.id.as_str()).collect();
        if !ids.is_empty() {
            self.core().audit_read(ctx, "needs_profile", &ids).await?;
        }
        Ok(ListNeedsProfilesResponse {
            profiles: rows,
            page: Some(page),
        })
    }

    /// The municipality a list is narrowed to: a municipality's own always.
    fn list_scope(&self, ctx: &AuthContext, asked: &str) -> R<Option<String>> {
        let asked = asked.trim();
        if Self::is_municipal_worker(ctx) {
            let own = Self::own_municipality(ctx).unwrap_or_default();
            if !asked.is_empty() && asked != own {
                return Err(RecruitmentError::Forbidden(
                    "municipality_code: you see your own municipality only".into(),
                ));
            }
            return Ok(Some(own.to_string()));
        }
        if asked.is_empty() {
            Ok(None)
        } else {
            samling_kit::reference::MunicipalityCode::parse(asked)
                .map_err(|e| RecruitmentError::invalid("municipality_code", e.to_string()))?;
            Ok(Some(asked.to_string()))
        }
    }

    // --- Ranking -----------------------------------------------------------------------

    fn rank_local(
        &self,
        p: &mprofile::Profile,
        limit: Option<u32>,
        as_of: NaiveDate,
        night: bool,
    ) -> R<Ranking> {
        let m = self.read_model();
        Ok(m.rank(
            &self.cfg,
            p,
            &RankOptions {
                region: self.own_region(),
                limit,
                as_of,
                night,
            },
        )?)
    }

    /// Ask every other region's matching service (as this service) with
    /// the deadline; a region that fails or does not answer in time is
    /// named missing.
    async fn ask_peers<T, F, Fut>(&self, purpose: &'static str, call: F) -> (Vec<T>, Vec<String>)
    where
        F: Fn(ServiceClient<MatchingServiceClient<Channel>>) -> Fut,
        Fut: std::future::Future<Output = Result<T, String>>,
    {
        let Some(signer) = self.peers.signer.clone() else {
            return (
                vec![],
                self.peers.regions.iter().map(|(r, _)| r.clone()).collect(),
            );
        };
        let deadline = self.peers.deadline;
        let sub = format!("recruitment/{}", self.feed());
        let calls = self.peers.regions.iter().map(|(region, endpoint)| {
            let ctx = AuthContext {
                sub: sub.clone(),
                role: Role::Service,
                municipality: None,
                region: None,
                party: None,
                purpose: purpose.into(),
                reason: String::new(),
                exp: 0,
            };
            let client = samling_kit::tls::endpoint(endpoint, self.peers.tls.as_ref())
                .map(|ep| samling_kit::tls::connect_lazy(&ep, self.peers.tls.as_ref()))
                .map(|ch| ServiceClient::from_channel(MATCHING_STUB, ch, signer.clone(), ctx))
                .map_err(|e| e.to_string());
            let answer = client.map(&call);
            async move {
                let result = match answer {
                    Ok(fut) => tokio::time::timeout(deadline, fut)
                        .await
                        .unwrap_or_else(|_| Err("no answer within the deadline".into())),
                    Err(e) => Err(e),
                };
                result.map_err(|e| {
                    tracing::warn!(region = %region, error = %e, purpose, "a region's part failed");
                    region.clone()
                })
            }
        });
        let mut parts = Vec::new();
        let mut missing = Vec::new();
        for r in futures::future::join_all(calls).await {
            match r {
                Ok(p) => parts.push(p),
                Err(region) => missing.push(region),
            }
        }
        missing.sort();
        (parts, missing)
    }

    /// The other regions' parts of a national ranking, each within the
    /// deadline; a region that does not answer in time is named missing.
    async fn rank_peers(
        &self,
        req: &RankHomesRequest,
        draft: &NeedsProfileDraft,
    ) -> (Vec<Ranking>, Vec<String>) {
        let part = RankHomesRequest {
            request_id: String::new(),
            regional_part: Some(draft.clone()),
            ..req.clone()
        };
        let deadline = self.peers.deadline;
        self.ask_peers("national matching", move |mut c| {
            let mut r = c.request(part.clone());
            r.set_timeout(deadline);
            async move {
                let answer = c
                    .raw()
                    .rank_homes(r)
                    .await
                    .map_err(|s| s.message().to_string())?
                    .into_inner();
                convert::ranking_from_pb(&answer).map_err(|e| e.to_string())
            }
        })
        .await
    }

    pub async fn rank_homes(
        &self,
        ctx: &AuthContext,
        req: RankHomesRequest,
    ) -> R<RankHomesResponse> {
        // Another region's part of a national ranking: services only, nothing recorded.
        if let Some(d) = &req.regional_part {
            if ctx.role != Role::Service {
                return Err(RecruitmentError::Forbidden(
                    "regional_part: only a region's recruitment service asks for a regional part"
                        .into(),
                ));
            }
            let p = mprofile::validate_draft(d, self.today())?;
            let params = convert::rank_request(&req, &self.cfg)?;
            let r = self.rank_local(
                &p,
                params.limit,
                params.as_of.unwrap_or_else(|| self.today()),
                false,
            )?;
            return Ok(convert::rank_response(&r, "", &req.profile_id));
        }
        Self::may_match(ctx, "rank homes")?;
        let params = convert::rank_request(&req, &self.cfg)?;
        let w = self
            .core()
            .begin(ctx, "RankHomes", &req.request_id, &req)
            .await?;
        let mut w = w;
        let stored = crate::store::matching::get_profile(w.conn(), &params.profile_id)
            .await?
            .ok_or_else(|| {
                RecruitmentError::not_found(format!("needs profile {}", params.profile_id))
            })?;
        Self::may_see(
            ctx,
            &stored.placing_municipality_code,
            "needs profile",
            &stored.id,
        )?;
        let mut w = samling_kit::replay!(w, self, ctx);
        let draft = mprofile::draft_of(&stored);
        let p = mprofile::validate_draft(&draft, self.today())?;
        let as_of = params.as_of.unwrap_or_else(|| self.today());
        let own = self.rank_local(&p, params.limit, as_of, false)?;
        let national = match params.scope {
            MatchScope::National => true,
            MatchScope::Auto => own.needs_national() && !self.peers.regions.is_empty(),
            _ => false,
        };
        let ranking = if national {
            drop(w);
            let (mut parts, missing) = self.rank_peers(&req, &draft).await;
            parts.insert(0, own);
            let merged = merge_regional(parts, missing, &self.cfg, params.limit)?;
            // The write resumes after the fan-out (no transaction held open
            // while other regions answer).
            let w2 = self
                .core()
                .begin(ctx, "RankHomes", &req.request_id, &req)
                .await?;
            w = samling_kit::replay!(w2, self, ctx);
            merged
        } else {
            own
        };
        let id = samling_kit::ids::new_id_string();
        let proposal = followup::new_proposal(
            id.clone(),
            stored.id.clone(),
            stored.placing_municipality_code.clone(),
            &ranking,
            ctx.sub.clone(),
            self.now_text(),
        );
        crate::store::matching::save_proposal(w.conn(), &proposal, true).await?;
        self.core()
            .record(
                &mut w,
                ctx,
                "proposal_made",
                "match_proposal",
                &id,
                json!({"proposal_id": id, "profile_id": stored.id, "config_version": ranking.config_version, "homes": proposal.homes.len(), "partial": ranking.partial}),
            )
            .await?;
        let answer = convert::rank_response(&ranking, &id, &stored.id);
        w.finish(self, ctx, answer).await
    }

    pub async fn find_free_emergency_homes(
        &self,
        ctx: &AuthContext,
        req: FindFreeEmergencyHomesRequest,
    ) -> R<FindFreeEmergencyHomesResponse> {
        Self::may_match(ctx, "search for emergency homes")?;
        let (night, scope, limit) = convert::night_request(&req, &self.cfg)?;
        // Another region's recruitment service asking for this region's part
        // of a national night search (scope REGION): the placing municipality
        // is of its region, not this one.
        let regional_part = ctx.role == Role::Service && scope == MatchScope::Region;
        if !regional_part {
            self.may_act_for(
                ctx,
                "placing_municipality_code",
                req.placing_municipality_code.trim(),
            )?;
        }
        let today = self.today();
        let own = {
            let m = self.read_model();
            m.night_mode(&self.cfg, &night, self.own_region(), limit, today)?
        };
        // Own region first; nationally when asked, or when the region has
        // fewer free jourhem than the minimum.
        let national = match scope {
            MatchScope::National => true,
            MatchScope::Auto => own.needs_national(),
            _ => false,
        } && !regional_part;
        if !national || self.peers.regions.is_empty() {
            return Ok(convert::night_response(&own));
        }
        let part = FindFreeEmergencyHomesRequest {
            scope: MatchScope::Region as i32,
            ..req.clone()
        };
        let deadline = self.peers.deadline;
        let (parts, missing) = self
            .ask_peers("national night search", move |mut c| {
                let mut r = c.request(part.clone());
                r.set_timeout(deadline);
                async move {
                    let answer = c
                        .raw()
                        .find_free_emergency_homes(r)
                        .await
                        .map_err(|s| s.message().to_string())?
                        .into_inner();
                    convert::night_from_pb(&answer).map_err(|e| e.to_string())
                }
            })
            .await;
        let merged = merge_night(own, parts, missing, &self.cfg, limit);
        Ok(convert::night_response(&merged))
    }

    pub async fn get_matching_config(
        &self,
        _ctx: &AuthContext,
        _req: GetMatchingConfigRequest,
    ) -> R<samling_proto::recruitment::v1::MatchingConfig> {
        Ok(convert::config(&self.cfg))
    }

    pub async fn get_read_model_status(
        &self,
        ctx: &AuthContext,
        _req: GetReadModelStatusRequest,
    ) -> R<ReadModelStatus> {
        Self::may_match(ctx, "read the read model's status")?;
        let (mut st, cursor) = {
            let m = self.read_model();
            (convert::status(&m, &self.cfg), m.cursor(&self.feed()))
        };
        if let Some(c) = self.feed_status() {
            st.following = !c.stopped;
            st.connected = c.connected;
            st.applied = c.applied;
            st.duplicates = c.duplicates;
            st.reconnects = c.reconnects;
            st.last_error = c.last_error.clone().unwrap_or_default();
            st.apply_lag_ms = c.lag.map_or(0, |d| d.as_millis() as u64);
            if let Some(at) = &c.last_event_at {
                st.last_event_at = at.clone();
                if let Ok(t) = chrono::DateTime::parse_from_rfc3339(at) {
                    let age = self.rec.clock.now() - t.with_timezone(&chrono::Utc);
                    st.last_event_age_ms = age.num_milliseconds().max(0) as u64;
                }
            }
        }
        // Lag in events: the registry's feed after the model's cursor, asked
        // now (ranking never asks the registry; this status may).
        if let Ok(Ok(events)) =
            tokio::time::timeout(HEAD_DEADLINE, self.registry.events_after(cursor)).await
        {
            st.feed_head_known = true;
            st.events_behind = events.len() as u64;
            st.feed_head = events.last().map_or(cursor, |e| e.seq.max(cursor));
        }
        Ok(st)
    }

    // --- Follow-up ------------------------------------------------------------------------

    pub async fn get_proposal(
        &self,
        ctx: &AuthContext,
        req: GetProposalRequest,
    ) -> R<MatchProposal> {
        Self::may_match(ctx, "read a proposal")?;
        let p = self.must_proposal(ctx, &req.proposal_id).await?;
        p.view(self, ctx).await
    }

    pub async fn list_proposals(
        &self,
        ctx: &AuthContext,
        req: ListProposalsRequest,
    ) -> R<ListProposalsResponse> {
        Self::may_match(ctx, "list proposals")?;
        let muni = self.list_scope(ctx, &req.municipality_code)?;
        let profile = req.profile_id.trim();
        if !profile.is_empty() {
            samling_kit::ids::parse_id("profile_id", profile)?;
        }
        let page = Page::from_request(req.page.as_ref())?;
        let rows = crate::store::matching::list_proposals(
            &self.rec.store.read,
            (!profile.is_empty()).then_some(profile),
            muni.as_deref(),
            &page,
        )
        .await?;
        let (rows, page) = page.finish(rows, |p| p.id.clone());
        Ok(ListProposalsResponse {
            proposals: rows,
            page: Some(page),
        })
    }

    pub async fn record_choice(
        &self,
        ctx: &AuthContext,
        req: RecordChoiceRequest,
    ) -> R<MatchProposal> {
        Self::may_match(ctx, "record a choice")?;
        samling_kit::ids::parse_id("proposal_id", &req.proposal_id)?;
        samling_kit::ids::parse_id("home_id", &req.home_id)?;
        let mut w = self
            .core()
            .begin(ctx, "RecordChoice", &req.request_id, &req)
            .await?;
        let mut p = crate::store::matching::get_proposal(w.conn(), &req.proposal_id)
            .await?
            .ok_or_else(|| RecruitmentError::not_found(format!("proposal {}", req.proposal_id)))?;
        Self::may_see(ctx, &p.placing_municipality_code, "proposal", &p.id)?;
        let mut w = samling_kit::replay!(w, self, ctx);
        let now = self.now_text();
        followup::record_choice(&mut p, &req.home_id, req.reason, &req.note, &ctx.sub, &now)?;
        crate::store::matching::save_proposal(w.conn(), &p, false).await?;
        let rank = p.choices.last().map_or(0, |c| c.rank);
        self.core()
            .record(
                &mut w,
                ctx,
                "home_chosen",
                "match_proposal",
                &p.id,
                json!({"proposal_id": p.id, "home_id": req.home_id, "rank": rank, "reason": MatchChoiceReason::try_from(req.reason).unwrap_or_default().as_str_name()}),
            )
            .await?;
        w.finish(self, ctx, p).await
    }

    pub async fn record_outcome(
        &self,
        ctx: &AuthContext,
        req: RecordOutcomeRequest,
    ) -> R<MatchProposal> {
        Self::may_match(ctx, "record an outcome")?;
        samling_kit::ids::parse_id("proposal_id", &req.proposal_id)?;
        let on = dates::from_proto("on", req.on.as_ref())?;
        let mut w = self
            .core()
            .begin(ctx, "RecordOutcome", &req.request_id, &req)
            .await?;
        let mut p = crate::store::matching::get_proposal(w.conn(), &req.proposal_id)
            .await?
            .ok_or_else(|| RecruitmentError::not_found(format!("proposal {}", req.proposal_id)))?;
        Self::may_see(ctx, &p.placing_municipality_code, "proposal", &p.id)?;
        let mut w = samling_kit::replay!(w, self, ctx);
        let now = self.now_text();
        followup::record_outcome(
            &mut p,
            req.outcome,
            on,
            &req.note,
            &ctx.sub,
            &now,
            self.today(),
        )?;
        crate::store::matching::save_proposal(w.conn(), &p, false).await?;
        self.core()
            .record(
                &mut w,
                ctx,
                "outcome_recorded",
                "match_proposal",
                &p.id,
                json!({"proposal_id": p.id, "outcome": MatchOutcome::try_from(req.outcome).unwrap_or_default().as_str_name()}),
            )
            .await?;
        w.finish(self, ctx, p).await
    }

    /// Outcome by rank: the office and services see every municipality's
    /// counts as they are; a caseworker its own municipality's; aggregate
    /// roles (national analyst, council member, a municipality's manager
    /// for its own) counts below 5 as "<5".
    pub async fn get_outcome_by_rank_report(
        &self,
        ctx: &AuthContext,
        req: GetOutcomeByRankReportRequest,
    ) -> R<OutcomeByRankReport> {
        let asked = req.municipality_code.trim();
        let (muni, suppress) = match ctx.role {
            Role::RegionalOfficer | Role::Service => (self.list_scope(ctx, asked)?, false),
            Role::NationalAnalyst | Role::CouncilMember => (self.list_scope(ctx, asked)?, true),
            Role::MunicipalityManager => (self.list_scope(ctx, asked)?, true),
            Role::MunicipalityCaseworker => (self.list_scope(ctx, asked)?, false),
            _ => {
                return Err(RecruitmentError::Forbidden(
                    "your role may not read the outcome report".into(),
                ));
            }
        };
        let from = dates::opt_from_proto("from", req.from.as_ref())?;
        let to = dates::opt_from_proto("to", req.to.as_ref())?;
        if let (Some(f), Some(t)) = (from, to)
            && t < f
        {
            return Err(RecruitmentError::invalid("to", "is before from"));
        }
        let from = from.map_or(String::new(), |d| {
            format!("{}T00:00:00Z", dates::date_text(d))
        });
        let to = to
            .and_then(|d| d.succ_opt())
            .map_or("9999".to_string(), |d| {
                format!("{}T00:00:00Z", dates::date_text(d))
            });
        let rows = crate::store::matching::proposals_between(
            &self.rec.store.read,
            muni.as_deref(),
            &from,
            &to,
        )
        .await?;
        Ok(followup::outcome_by_rank(&rows, suppress))
    }

    // --- Information packages ----------------------------------------------------------------

    pub async fn set_child_story(
        &self,
        ctx: &AuthContext,
        req: SetChildStoryRequest,
    ) -> R<ChildStory> {
        Self::may_match(ctx, "write a child's story")?;
        samling_kit::ids::parse_id("profile_id", &req.profile_id)?;
        let s = req
            .story
            .as_ref()
            .ok_or_else(|| RecruitmentError::invalid("story", "is required"))?;
        let mut w = self
            .core()
            .begin(ctx, "SetChildStory", &req.request_id, &req)
            .await?;
        let stored = crate::store::matching::get_profile(w.conn(), &req.profile_id)
            .await?
            .ok_or_else(|| {
                RecruitmentError::not_found(format!("needs profile {}", req.profile_id))
            })?;
        Self::may_see(
            ctx,
            &stored.placing_municipality_code,
            "needs profile",
            &stored.id,
        )?;
        let mut w = samling_kit::replay!(w, self, ctx);
        let profile = mprofile::validate_draft(&mprofile::draft_of(&stored), self.today())?;
        let mut story = packages::validate_child_story(&profile, s)?;
        story.profile_id = stored.id.clone();
        let previous = crate::store::matching::child_stories(w.conn(), &stored.id)
            .await?
            .into_iter()
            .find(|o| o.child_key == story.child_key);
        story.version = previous.map_or(1, |o| o.version + 1);
        crate::store::matching::save_child_story(w.conn(), &story).await?;
        self.core()
            .record(
                &mut w,
                ctx,
                "child_story_set",
                "needs_profile",
                &stored.id,
                json!({"profile_id": stored.id, "child_key": story.child_key, "version": story.version}),
            )
            .await?;
        w.finish(self, ctx, story).await
    }

    fn may_write_home_story(ctx: &AuthContext, home_id: &str) -> R<()> {
        match ctx.role {
            Role::RegionalOfficer | Role::Service => Ok(()),
            Role::FamilyHome if ctx.party.as_deref() == Some(home_id) => Ok(()),
            Role::FamilyHome => Err(RecruitmentError::not_found(format!("home {home_id}"))),
            _ => Err(RecruitmentError::Forbidden(
                "your role may not write a home's story".into(),
            )),
        }
    }

    pub async fn set_home_story(
        &self,
        ctx: &AuthContext,
        req: SetHomeStoryRequest,
    ) -> R<HomeStory> {
        samling_kit::ids::parse_id("home_id", &req.home_id)?;
        Self::may_write_home_story(ctx, &req.home_id)?;
        let s = req
            .story
            .as_ref()
            .ok_or_else(|| RecruitmentError::invalid("story", "is required"))?;
        let mut story = packages::validate_home_story(s)?;
        story.home_id = req.home_id.clone();
        let mut w = self
            .core()
            .begin(ctx, "SetHomeStory", &req.request_id, &req)
            .await?;
        let previous = crate::store::matching::get_home_story(w.conn(), &req.home_id).await?;
        let mut w = samling_kit::replay!(w, self, ctx);
        story.version = previous.as_ref().map_or(1, |o| o.version + 1);
        crate::store::matching::save_home_story(w.conn(), &story, previous.is_none()).await?;
        self.core()
            .record(
                &mut w,
                ctx,
                "home_story_set",
                "home_story",
                &story.home_id,
                json!({"home_id": story.home_id, "version": story.version}),
            )
            .await?;
        w.finish(self, ctx, story).await
    }

    /// The child's "CV" for a home of the proposal: the home itself (its
    /// family-home login), the placing municipality and the office.
    pub async fn get_child_package(
        &self,
        ctx: &AuthContext,
        req: GetChildPackageRequest,
    ) -> R<ChildPackage> {
        samling_kit::ids::parse_id("proposal_id", &req.proposal_id)?;
        samling_kit::ids::parse_id("home_id", &req.home_id)?;
        let p = crate::store::matching::get_proposal(&self.rec.store.read, &req.proposal_id)
            .await?
            .ok_or_else(|| RecruitmentError::not_found(format!("proposal {}", req.proposal_id)))?;
        let in_proposal = p.homes.iter().any(|h| h.home_id == req.home_id)
            || p.choices.iter().any(|c| c.home_id == req.home_id);
        match ctx.role {
            Role::FamilyHome => {
                if ctx.party.as_deref() != Some(req.home_id.as_str()) || !in_proposal {
                    return Err(RecruitmentError::not_found(format!("proposal {}", p.id)));
                }
            }
            _ => {
                Self::may_match(ctx, "read a child's package")?;
                Self::may_see(ctx, &p.placing_municipality_code, "proposal", &p.id)?;
                if !in_proposal {
                    return Err(RecruitmentError::invalid(
                        "home_id",
                        "is not a home of the proposal",
                    ));
                }
            }
        }
        let stored = crate::store::matching::get_profile(&self.rec.store.read, &p.profile_id)
            .await?
            .ok_or_else(|| {
                RecruitmentError::not_found(format!("needs profile {}", p.profile_id))
            })?;
        let profile = mprofile::validate_draft(&mprofile::draft_of(&stored), self.today())?;
        let stories =
            crate::store::matching::child_stories(&self.rec.store.read, &stored.id).await?;
        let pkg = packages::child_package(&profile, req.child_key.trim(), &stories, self.today())?;
        self.core()
            .audit_read(ctx, "needs_profile", &[&stored.id])
            .await?;
        Ok(pkg)
    }

    /// The home's presentation for the child: the placing municipality and
    /// the office (who show it to the child), and the child itself when it
    /// is a child of the profile (its registry id).
    pub async fn get_home_package(
        &self,
        ctx: &AuthContext,
        req: GetHomePackageRequest,
    ) -> R<HomePackage> {
        samling_kit::ids::parse_id("proposal_id", &req.proposal_id)?;
        samling_kit::ids::parse_id("home_id", &req.home_id)?;
        let p = crate::store::matching::get_proposal(&self.rec.store.read, &req.proposal_id)
            .await?
            .ok_or_else(|| RecruitmentError::not_found(format!("proposal {}", req.proposal_id)))?;
        if ctx.role == Role::Child {
            let stored = crate::store::matching::get_profile(&self.rec.store.read, &p.profile_id)
                .await?
                .ok_or_else(|| RecruitmentError::not_found(format!("proposal {}", p.id)))?;
            let mine = ctx.party.as_deref().is_some_and(|c| {
                stored
                    .children
                    .iter()
                    .any(|k| !k.child_id.is_empty() && k.child_id == c)
            });
            if !mine {
                return Err(RecruitmentError::not_found(format!("proposal {}", p.id)));
            }
        } else {
            Self::may_match(ctx, "read a home's package")?;
            Self::may_see(ctx, &p.placing_municipality_code, "proposal", &p.id)?;
        }
        if !p.homes.iter().any(|h| h.home_id == req.home_id)
            && !p.choices.iter().any(|c| c.home_id == req.home_id)
        {
            return Err(RecruitmentError::invalid(
                "home_id",
                "is not a home of the proposal",
            ));
        }
        let home = self
            .registry
            .get_home(req.home_id.clone())
            .await?
            .ok_or_else(|| RecruitmentError::not_found(format!("home {}", req.home_id)))?;
        let story =
            crate::store::matching::get_home_story(&self.rec.store.read, &req.home_id).await?;
        // The carers' given names are personal data: the read is audited.
        self.core().audit_read(ctx, "home", &[&req.home_id]).await?;
        Ok(packages::home_package(&home, story.as_ref(), self.today()))
    }
}

/// The read model as kit's consumer sees it: each registry event applied by
/// [`Matching::apply_registry_event`], the model starting after its own
/// cursor (the position noted before the startup read).
pub struct ReadModelFeed(pub Matching);

impl MemoryHandler for ReadModelFeed {
    async fn apply_in_memory(&self, event: &Event) -> Result<(), KitError> {
        // What fails here is reading the record from the registry (a record
        // the model cannot use is skipped inside): retried until it answers,
        // never skipped, so no event is missed.
        self.0
            .apply_registry_event(event)
            .await
            .map_err(|e| match e {
                RecruitmentError::Kit(k)
                    if k.code() == samling_kit::error::ErrorCode::Unavailable =>
                {
                    k
                }
                other => KitError::refused(Reason::Unavailable, other.to_string()),
            })
    }

    fn start_after(&self) -> u64 {
        self.0.read_model().cursor(&self.0.feed())
    }
}

/// The read model's follower ([`Matching::follow`]): runs until
/// [`Follower::stop`] or a [`FollowerStopper`] (the instance's synchronous
/// stop); dropping the handle leaves it running (the instance hands its
/// services to the router and keeps only the stopper).
pub struct Follower {
    stop: Arc<tokio::sync::watch::Sender<bool>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

/// Stops a [`Follower`] without owning it; cloneable.
#[derive(Clone)]
pub struct FollowerStopper(Arc<tokio::sync::watch::Sender<bool>>);

impl FollowerStopper {
    pub fn stop(&self) {
        self.0.send_replace(true);
    }
}

impl Follower {
    pub fn stopper(&self) -> FollowerStopper {
        FollowerStopper(self.stop.clone())
    }

    /// Stop, returning once the consumer has finished the event it was
    /// applying and ended.
    pub async fn stop(mut self) {
        self.stop.send_replace(true);
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

/// How kit makes the matching service's client (the national fan-out, the
/// CLI, tests).
pub const MATCHING_STUB: samling_kit::client::Stub<MatchingServiceClient<Channel>> =
    samling_kit::stub!("recruitment", MatchingServiceClient);

impl Service for Matching {
    type Error = RecruitmentError;

    fn core(&self) -> &Core {
        self.rec.core()
    }

    fn bind(&self, ctx: &AuthContext) -> R<()> {
        self.rec.bind(ctx)
    }
}

impl Answer<Matching> for NeedsProfile {
    fn record(&self) -> (&'static str, String) {
        ("needs_profile", self.id.clone())
    }
    async fn view(self, svc: &Matching, ctx: &AuthContext) -> R<Self> {
        Matching::may_see(
            ctx,
            &self.placing_municipality_code,
            "needs profile",
            &self.id,
        )?;
        svc.core()
            .audit_read(ctx, "needs_profile", &[&self.id])
            .await?;
        Ok(self)
    }
    async fn current(self, svc: &Matching) -> R<Self> {
        Ok(
            crate::store::matching::get_profile(&svc.rec.store.read, &self.id)
                .await?
                .unwrap_or(self),
        )
    }
}

impl Answer<Matching> for MatchProposal {
    fn record(&self) -> (&'static str, String) {
        ("match_proposal", self.id.clone())
    }
    async fn view(self, _svc: &Matching, ctx: &AuthContext) -> R<Self> {
        Matching::may_see(ctx, &self.placing_municipality_code, "proposal", &self.id)?;
        Ok(self)
    }
}

impl Answer<Matching> for ChildStory {
    fn record(&self) -> (&'static str, String) {
        ("needs_profile", self.profile_id.clone())
    }
    async fn view(self, svc: &Matching, ctx: &AuthContext) -> R<Self> {
        let p = crate::store::matching::get_profile(&svc.rec.store.read, &self.profile_id)
            .await?
            .ok_or_else(|| {
                RecruitmentError::not_found(format!("needs profile {}", self.profile_id))
            })?;
        Matching::may_see(ctx, &p.placing_municipality_code, "needs profile", &p.id)?;
        Ok(self)
    }
}

impl Answer<Matching> for HomeStory {
    fn record(&self) -> (&'static str, String) {
        ("home_story", self.home_id.clone())
    }
    async fn view(self, _svc: &Matching, ctx: &AuthContext) -> R<Self> {
        Matching::may_write_home_story(ctx, &self.home_id)?;
        Ok(self)
    }
}

// A ranking answer holds home ids, scores and descriptions built from the
// register without personal data; who may ask was checked before it.
samling_kit::plain_answer!(Matching;
    RankHomesResponse => "match_proposal", |r| r.proposal_id.clone();
);

/// The registry of a region over gRPC, read as the service.
pub struct GrpcRegistry {
    pub endpoint: String,
    pub tls: Option<Tls>,
    pub signer: ContextSigner,
    pub sub: String,
}

type RegistryClient = ServiceClient<
    samling_proto::registry::v1::registry_service_client::RegistryServiceClient<Channel>,
>;

const REGISTRY_STUB: samling_kit::client::Stub<
    samling_proto::registry::v1::registry_service_client::RegistryServiceClient<Channel>,
> = samling_kit::stub!(
    "registry",
    samling_proto::registry::v1::registry_service_client::RegistryServiceClient
);

impl GrpcRegistry {
    fn client(&self) -> R<RegistryClient> {
        let ep = samling_kit::tls::endpoint(&self.endpoint, self.tls.as_ref())?;
        let channel = samling_kit::tls::connect_lazy(&ep, self.tls.as_ref());
        let ctx = AuthContext {
            sub: self.sub.clone(),
            role: Role::Service,
            municipality: None,
            region: None,
            party: None,
            purpose: "matching read model".into(),
            reason: String::new(),
            exp: 0,
        };
        Ok(ServiceClient::from_channel(
            REGISTRY_STUB,
            channel,
            self.signer.clone(),
            ctx,
        ))
    }
}

fn status_error(s: tonic::Status) -> RecruitmentError {
    RecruitmentError::Kit(KitError::Internal(format!(
        "registry: {} ({:?})",
        s.message(),
        s.code()
    )))
}

/// The registry's answer for one record: `NOT_FOUND` is `None`, any other
/// refusal an error.
fn found<T>(answer: Result<tonic::Response<T>, tonic::Status>) -> R<Option<T>> {
    match answer {
        Ok(r) => Ok(Some(r.into_inner())),
        Err(s) if s.code() == tonic::Code::NotFound => Ok(None),
        Err(s) => Err(status_error(s)),
    }
}

impl RegistrySource for GrpcRegistry {
    fn get_home(&self, id: String) -> BoxFuture<'static, R<Option<Home>>> {
        let c = self.client();
        Box::pin(async move {
            let mut c = c?;
            let r = c.request(samling_proto::registry::v1::GetHomeRequest { home_id: id });
            found(c.raw().get_home(r).await)
        })
    }

    fn get_agency(&self, id: String) -> BoxFuture<'static, R<Option<Agency>>> {
        let c = self.client();
        Box::pin(async move {
            let mut c = c?;
            let r = c.request(samling_proto::registry::v1::GetAgencyRequest { agency_id: id });
            found(c.raw().get_agency(r).await)
        })
    }

    fn events_after(&self, after: u64) -> BoxFuture<'static, R<Vec<Event>>> {
        let c = self.client();
        Box::pin(async move {
            let mut c = c?;
            let r = c.request(samling_proto::common::v1::WatchEventsRequest {
                after,
                event_types: vec![],
                stop_at_end: true,
            });
            let mut stream = c
                .raw()
                .watch_events(r)
                .await
                .map_err(status_error)?
                .into_inner();
            let mut out = Vec::new();
            while let Some(e) = stream.message().await.map_err(status_error)? {
                out.push(e);
            }
            Ok(out)
        })
    }

    fn all(&self) -> BoxFuture<'static, R<(Vec<Home>, Vec<Agency>)>> {
        let c = self.client();
        Box::pin(async move {
            let mut c = c?;
            let r = c.request(samling_proto::registry::v1::ExportHomesRequest::default());
            let mut stream = c
                .raw()
                .export_homes(r)
                .await
                .map_err(status_error)?
                .into_inner();
            let mut homes = Vec::new();
            while let Some(h) = stream.message().await.map_err(status_error)? {
                homes.push(h);
            }
            let mut agencies = Vec::new();
            let mut token = String::new();
            loop {
                let r = c.request(samling_proto::registry::v1::ListAgenciesRequest {
                    page: Some(samling_proto::common::v1::PageRequest {
                        page_size: 500,
                        page_token: token.clone(),
                    }),
                    permit_invalid_only: false,
                });
                let page = c
                    .raw()
                    .list_agencies(r)
                    .await
                    .map_err(status_error)?
                    .into_inner();
                agencies.extend(page.agencies);
                token = page.page.map(|p| p.next_page_token).unwrap_or_default();
                if token.is_empty() {
                    break;
                }
            }
            Ok((homes, agencies))
        })
    }
}
