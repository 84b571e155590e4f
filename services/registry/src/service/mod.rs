//! The register's operations: authorize, validate, apply the domain rules,
//! and write the change with its audit entry and events in one transaction.
//! The gRPC layer (`grpc`) only adapts requests to these calls.

use crate::domain::access::{self, Involvement};
use crate::domain::home::{self, HomeView};
use crate::domain::{RegistryError, Rules, duplicates, placement};
use crate::store;
use samling_kit::auth::AuthContext;
use samling_kit::db::Store;
use samling_kit::outbox::{EventFeed, NewEvent};
use samling_kit::paging::Page;
use samling_kit::personnummer::Personnummer;
use samling_kit::reference::{MunicipalityCode, RegionMap};
use samling_kit::service::{Answer, Core, Service};
use samling_kit::tx::WriteTx;
use samling_kit::{dates, ids};
use samling_proto::common::v1::{Event, ListAuditRequest, ListAuditResponse};
use samling_proto::registry::v1::*;
use serde_json::json;
use std::sync::Arc;

/// Everything one region's registry needs.
#[derive(Clone)]
pub struct Registry {
    pub store: Store,
    pub feed: EventFeed,
    /// The skeleton kit serves the registry on: envelope, audit, feeds.
    core: Core,
    pub rules: Rules,
    regions: Arc<RegionMap>,
    /// The region this register serves; `None` accepts every municipality.
    region: Option<samling_kit::reference::RegionId>,
    homes: Arc<crate::store::cache::HomeCache>,
    /// The other regions' registers (ADR 0021).
    peers: crate::peers::Peers,
    /// The time deadlines are read by (respond_by, overdue requests).
    pub clock: dates::Clock,
    /// Following the region's ombud service (ADR 0045), when served.
    pub ombud_feed: Option<Arc<samling_kit::consumer::ConsumerHandle>>,
}

impl Service for Registry {
    type Error = RegistryError;

    fn core(&self) -> &Core {
        &self.core
    }

    /// Refuse a caller bound to another region before anything is read.
    fn bind(&self, ctx: &AuthContext) -> R<()> {
        access::bound_to_register(ctx, self.region.as_ref().map(|r| r.as_str()))
    }

    fn committed(&self, touched: &[String]) {
        self.homes.invalidate(touched);
    }

    fn may_list_audit(&self, ctx: &AuthContext) -> R<()> {
        access::read_audit(ctx)
    }

    /// Events carry ids only, but the feed is for services and the office.
    fn may_watch_events(&self, ctx: &AuthContext) -> R<()> {
        access::manage_register(ctx)
    }

    /// Each event as the records stand now: a home or child protected
    /// since the event was written is redacted in it too.
    async fn event_view(&self, e: Event) -> R<Event> {
        self.event_for(e).await
    }
}

// Answers without personal data of others: shown as they are.
samling_kit::plain_answer! { Registry;
    Agency => "agency", |a| a.id.clone();
    Unit => "unit", |u| u.id.clone();
    HomeRequest => "home_request", |r| r.id.clone();
    ImportHomesResponse => "import", |_r| String::new();
    UnexecutedDecision => "unexecuted_decision", |d| d.id.clone();
}

impl Answer<Registry> for DuplicateFlag {
    fn record(&self) -> (&'static str, String) {
        ("duplicate_flag", self.id.clone())
    }
    async fn view(self, reg: &Registry, _: &AuthContext) -> R<Self> {
        reg.flag_for(self).await
    }
}

impl Answer<Registry> for Home {
    fn record(&self) -> (&'static str, String) {
        ("home", self.id.clone())
    }
    async fn view(self, reg: &Registry, ctx: &AuthContext) -> R<Self> {
        reg.home_for(ctx, self).await
    }
    async fn current(mut self, reg: &Registry) -> R<Self> {
        self.protected_identity |= reg.home_protected(&self.id).await?;
        Ok(self)
    }
}

impl Answer<Registry> for CreateHomeResponse {
    fn record(&self) -> (&'static str, String) {
        (
            "home",
            self.home.as_ref().map(|h| h.id.clone()).unwrap_or_default(),
        )
    }
    async fn view(mut self, reg: &Registry, ctx: &AuthContext) -> R<Self> {
        if let Some(h) = self.home.take() {
            self.home = Some(reg.home_for(ctx, h).await?);
        }
        if access::manage_register(ctx).is_err() {
            self.duplicates.clear();
        }
        let mut flags = Vec::with_capacity(self.duplicates.len());
        for f in std::mem::take(&mut self.duplicates) {
            flags.push(reg.flag_for(f).await?);
        }
        self.duplicates = flags;
        Ok(self)
    }
    async fn current(mut self, reg: &Registry) -> R<Self> {
        if let Some(h) = self.home.take() {
            self.home = Some(h.current(reg).await?);
        }
        Ok(self)
    }
}

type R<T> = Result<T, RegistryError>;

impl Registry {
    pub fn new(store: Store, rules: Rules, regions: Arc<RegionMap>) -> Self {
        let core = Core::new("registry", store.clone());
        // Only a single-process embedded store can cache: on PostgreSQL other
        // replicas write too.
        let cache_entries = if store.backend == samling_kit::db::Backend::Sqlite {
            100_000
        } else {
            0
        };
        Registry {
            store,
            feed: core.feed.clone(),
            core,
            rules,
            regions,
            region: None,
            homes: Arc::new(crate::store::cache::HomeCache::new(cache_entries)),
            peers: crate::peers::Peers::default(),
            clock: dates::Clock::system(),
            ombud_feed: None,
        }
    }

    /// Read deadlines by `clock` (a fixed one in tests).
    pub fn with_clock(mut self, clock: dates::Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Serve one region: homes, units and decisions must be in its municipalities.
    pub fn for_region(mut self, region: samling_kit::reference::RegionId) -> Self {
        self.region = Some(region);
        self
    }

    /// The other regions' registers this one calls (ADR 0021); shared by
    /// every clone, filled once their addresses are known.
    pub fn peers(&self) -> &crate::peers::Peers {
        &self.peers
    }

    /// A draft that is present, valid and in this register's region.
    fn valid_draft(&self, draft: Option<&HomeDraft>, with_members: bool) -> R<home::ValidDraft> {
        let draft = draft.ok_or_else(|| RegistryError::invalid("draft", "is required"))?;
        let v = home::validate_draft(draft, with_members, Self::today())?;
        self.check_in_region("draft.municipality_code", &v.draft.municipality_code)?;
        Ok(v)
    }

    /// A municipality's data lives in its region (DESIGN.md §2).
    pub(crate) fn check_in_region(&self, field: &str, code: &str) -> R<()> {
        let (Some(region), Ok(m)) = (&self.region, MunicipalityCode::parse(code)) else {
            return Ok(());
        };
        let of = self.regions.region_of(m);
        if of != region {
            return Err(RegistryError::invalid(
                field,
                format!("belongs to region {of}; this is the register of region {region}"),
            ));
        }
        Ok(())
    }

    /// `ListAudit` (kit's handler, with the registry's access rule).
    pub async fn list_audit(
        &self,
        ctx: &AuthContext,
        req: &ListAuditRequest,
    ) -> R<ListAuditResponse> {
        samling_kit::service::list_audit(self, ctx, req).await
    }

    fn today() -> chrono::NaiveDate {
        dates::today()
    }

    // ------------------------------------------------------------------ homes

    /// Flag possible duplicates of `h`: the same adult in another active
    /// home, the same address on another active home. Never merged.
    async fn flag_home_duplicates(&self, tx: &mut WriteTx, h: &Home) -> R<Vec<DuplicateFlag>> {
        // Other regions' registers find this home's adults by their keyed
        // hashes (ADR 0021).
        for hash in self.adult_hashes(h) {
            store::regions::index_identity(tx.conn(), &hash, "home", &h.id).await?;
        }
        let candidates = store::homes::duplicate_candidates(tx.conn(), h).await?;
        let kinds: Vec<(&Home, Vec<DuplicateKind>)> = candidates
            .iter()
            .map(|o| (o, duplicates::home_duplicate_kinds(h, o)))
            .collect();
        let mut flags = Vec::new();
        for kind in [
            DuplicateKind::SameAdultInTwoHomes,
            DuplicateKind::SameAddressTwoHomes,
        ] {
            for (other, k) in &kinds {
                if k.contains(&kind) {
                    flags.push((kind, "home", other.id.clone()));
                }
            }
        }
        self.write_flags(tx, &h.id, flags).await
    }

    async fn write_flags(
        &self,
        tx: &mut WriteTx,
        record_id: &str,
        found: Vec<(DuplicateKind, &str, String)>,
    ) -> R<Vec<DuplicateFlag>> {
        self.write_flags_in(tx, record_id, found, "").await
    }

    /// [`Self::write_flags`] for records of `other_region`'s register ("" for this one).
    async fn write_flags_in(
        &self,
        tx: &mut WriteTx,
        record_id: &str,
        found: Vec<(DuplicateKind, &str, String)>,
        other_region: &str,
    ) -> R<Vec<DuplicateFlag>> {
        let mut out = Vec::new();
        for (kind, record_type, other) in found {
            // One flag per pair and kind: re-checking a home on every edit must
            // not raise a pair again (open, or already reviewed).
            let known = store::flags::between(tx.conn(), record_id, &other).await?;
            if duplicates::already_flagged(&known, kind, record_id, &other) {
                continue;
            }
            let f = DuplicateFlag {
                id: ids::new_id_string(),
                kind: kind as i32,
                record_type: record_type.into(),
                record_id: record_id.into(),
                other_record_id: other,
                status: DuplicateStatus::Open as i32,
                created_at: dates::now_text(),
                resolution_note: String::new(),
                other_region: other_region.into(),
            };
            store::flags::save(tx.conn(), &f, true).await?;
            let mut payload = json!({"flag_id": f.id, "kind": kind.as_str_name(), "other_record_id": f.other_record_id});
            if !other_region.is_empty() {
                payload["other_region"] = json!(other_region);
            }
            tx.event(NewEvent::new(
                "registry.duplicate_flagged",
                record_type,
                record_id,
                payload,
            ))
            .await?;
            out.push(f);
        }
        Ok(out)
    }

    /// Event payload for a home: ids and codes; no location for protected homes.
    fn home_event(h: &Home, extra: serde_json::Value) -> serde_json::Value {
        let mut v = json!({
            "home_id": h.id,
            "version": h.version,
            "status": store::homes::status_name(h),
            "home_type": HomeType::try_from(h.home_type).unwrap_or_default().as_str_name(),
        });
        if !h.protected_identity {
            v["municipality_code"] = json!(h.municipality_code);
        }
        if let (Some(obj), Some(more)) = (v.as_object_mut(), extra.as_object()) {
            for (k, val) in more {
                // A municipality acting on a protected home (approving,
                // objecting) points at where it is.
                if h.protected_identity && k.contains("municipality") {
                    continue;
                }
                obj.insert(k.clone(), val.clone());
            }
        }
        v
    }

    /// Persist a changed home: bump the version (unless new), save, record
    /// the version, audit and emit its event.
    async fn commit_home_change(
        &self,
        tx: &mut WriteTx,
        ctx: &AuthContext,
        h: &mut Home,
        change: HomeChange<'_>,
    ) -> R<()> {
        if !change.is_new {
            h.version += 1;
        }
        h.updated_at = dates::now_text();
        crate::domain::evidence::refresh(h, self.rules.record_check_renewal_months, Self::today());
        home::refresh_derived(h, Self::today());
        store::homes::save(tx.conn(), h, &self.rules, change.is_new).await?;
        store::homes::set_record_checks_due(tx.conn(), h).await?;
        tx.touch(h.id.clone());
        store::homes::insert_version(
            tx.conn(),
            h,
            &ctx.sub,
            ctx.role.as_str(),
            change.kind,
            change.reason,
        )
        .await?;
        let payload = Self::home_event(h, change.extra);
        self.core
            .record(tx, ctx, change.kind, "home", &h.id, payload)
            .await?;
        Ok(())
    }

    pub async fn create_home(
        &self,
        ctx: &AuthContext,
        req: CreateHomeRequest,
    ) -> R<CreateHomeResponse> {
        access::manage_register(ctx)?;
        let v = self.valid_draft(req.draft.as_ref(), true)?;
        let tx = self
            .core
            .begin(ctx, "CreateHome", &req.request_id, &req)
            .await?;
        let mut tx = samling_kit::replay!(tx, self, ctx);
        self.check_agency(&mut tx, &v.draft.agency_id).await?;
        let (home, duplicates) = self.insert_home(&mut tx, ctx, &v).await?;
        let resp = CreateHomeResponse {
            home: Some(home),
            duplicates,
        };
        let mut resp = tx.finish(self, ctx, resp).await?;
        self.cross_check_home(ctx, &mut resp).await?;
        Ok(resp)
    }

    /// After a home's write: its adults against the other regions'
    /// registers (ADR 0021); the flags found join the answer for the office.
    async fn cross_check_home(&self, ctx: &AuthContext, resp: &mut CreateHomeResponse) -> R<()> {
        let Some(h) = &resp.home else {
            return Ok(());
        };
        // The home's write has committed: a fault from here on is logged,
        // never the answer.
        let hashes = match store::homes::get(&self.store.read, &h.id).await {
            Ok(Some(stored)) => self.adult_hashes(&stored),
            Ok(None) => return Ok(()),
            Err(e) => {
                tracing::warn!(error = %e, "the duplicate check with other regions failed");
                return Ok(());
            }
        };
        let flags = self
            .flags_from_other_regions(IdentityKind::Adult, &h.id, hashes)
            .await;
        if access::manage_register(ctx).is_ok() {
            resp.duplicates.extend(flags);
        }
        Ok(())
    }

    async fn check_agency(&self, tx: &mut WriteTx, agency_id: &str) -> R<()> {
        if agency_id.is_empty() {
            return Ok(());
        }
        if store::agencies::get(tx.conn(), agency_id).await?.is_none() {
            return Err(RegistryError::invalid("draft.agency_id", "no such agency"));
        }
        Ok(())
    }

    async fn insert_home(
        &self,
        tx: &mut WriteTx,
        ctx: &AuthContext,
        v: &home::ValidDraft,
    ) -> R<(Home, Vec<DuplicateFlag>)> {
        let now = dates::now_text();
        let mut h = home::new_home(
            ids::new_id_string(),
            v,
            std::iter::repeat_with(ids::new_id_string),
            &self.regions,
            &now,
        );
        self.commit_home_change(tx, ctx, &mut h, HomeChange::created())
            .await?;
        let dups = self.flag_home_duplicates(tx, &h).await?;
        Ok((h, dups))
    }

    /// The one view of a home for a caller: every read and every answer to a
    /// write that carries a home goes through it. Audited as a read when it
    /// shows personal data.
    pub(crate) async fn home_for(&self, ctx: &AuthContext, mut h: Home) -> R<Home> {
        let inv = self.involvement_for(ctx, &h.id).await?;
        let view = access::home_view(ctx, &h, &inv)?;
        home::refresh_derived(&mut h, Self::today());
        home::redact_for(&mut h, view, Self::own_municipality(ctx));
        if view != HomeView::NoPersonalData {
            self.core.audit_read(ctx, "home", &[&h.id]).await?;
        }
        Ok(h)
    }

    fn own_municipality(ctx: &AuthContext) -> Option<&str> {
        ctx.municipality.as_ref().map(|m| m.as_str())
    }

    /// Only municipal callers' view depends on placements; skip the query for others.
    async fn involvement_for(&self, ctx: &AuthContext, home_id: &str) -> R<Involvement> {
        if !ctx.role.is_municipal() {
            return Ok(Involvement::default());
        }
        let placing = store::placements::placing(&self.store.read, home_id).await?;
        let vouched_placing = if placing.ever.is_empty() {
            Vec::new()
        } else {
            store::placements::vouched_placing(&self.store.read, home_id).await?
        };
        Ok(Involvement {
            active_placing: placing.active,
            ever_placing: placing.ever,
            vouched_placing,
        })
    }

    pub async fn get_home(&self, ctx: &AuthContext, home_id: &str) -> R<Home> {
        ids::parse_id("home_id", home_id)?;
        let h = match self.homes.get(home_id) {
            Some(h) => h,
            None => {
                let epoch = self.homes.epoch();
                let h = store::homes::must_get(&self.store.read, home_id).await?;
                self.homes.insert(epoch, h.clone());
                h
            }
        };
        self.home_for(ctx, h).await
    }

    pub async fn search_homes(
        &self,
        ctx: &AuthContext,
        req: &SearchHomesRequest,
    ) -> R<SearchHomesResponse> {
        access::search_homes(ctx)?;
        let page = Page::from_request(req.page.as_ref())?;
        let mut q = store::homes::Search::default();
        if !req.municipality_code.is_empty() {
            let m = MunicipalityCode::parse(&req.municipality_code)
                .map_err(|e| RegistryError::invalid("municipality_code", e.to_string()))?;
            q.municipality_code = Some(m.as_str().into());
        }
        if !req.county_code.is_empty() {
            let c = samling_kit::reference::CountyCode::parse(&req.county_code)
                .map_err(|e| RegistryError::invalid("county_code", e.to_string()))?;
            q.county_code = Some(c.as_str().into());
        }
        if !req.agency_id.is_empty() {
            ids::parse_id("agency_id", &req.agency_id)?;
            q.agency_id = Some(req.agency_id.clone());
        }
        for (i, t) in req.home_types.iter().enumerate() {
            let t = HomeType::try_from(*t)
                .ok()
                .filter(|t| *t != HomeType::Unspecified)
                .ok_or_else(|| {
                    RegistryError::invalid(format!("home_types[{i}]"), "is not a known value")
                })?;
            q.home_types.push(t);
        }
        for (i, t) in req.statuses.iter().enumerate() {
            let t = HomeStatus::try_from(*t)
                .ok()
                .filter(|t| *t != HomeStatus::Unspecified)
                .ok_or_else(|| {
                    RegistryError::invalid(format!("statuses[{i}]"), "is not a known value")
                })?;
            q.statuses.push(t);
        }
        q.competences = home::normalise_tags("competences", &req.competences)?;
        q.languages = home::normalise_tags("languages", &req.languages)?;
        if req.willingness != 0 {
            let w = Willingness::try_from(req.willingness)
                .ok()
                .filter(|w| *w != Willingness::Unspecified)
                .ok_or_else(|| RegistryError::invalid("willingness", "is not a known value"))?;
            q.willingness = Some(w);
        }
        // Homes that cannot take a placement are left out unless asked
        // for: by the flag, or by naming their status or type (ADR 0031).
        if !req.include_unplaceable {
            if q.statuses.is_empty() {
                q.statuses = vec![HomeStatus::Approved, HomeStatus::Active];
                // A restriction pauses a home: asked for, it is shown.
                if req.include_restricted {
                    q.statuses.push(HomeStatus::Paused);
                }
            }
            if q.home_types.is_empty() {
                q.home_types = home::placement_home_types();
            }
        }
        q.with_free_capacity = req.with_free_capacity;
        q.include_restricted = req.include_restricted;
        q.jour_available_only = req.jour_available_only;
        let today = Self::today();
        if !req.include_overdue {
            q.not_overdue_on = Some(today);
        }
        // Outside the office a protected home's location is never revealed,
        // so location-filtered searches leave protected homes out.
        let office = access::manage_register(ctx).is_ok();
        q.without_protected =
            !office && (!req.municipality_code.is_empty() || !req.county_code.is_empty());
        let found = store::homes::search(&self.store.read, &q, &page).await?;
        let mut homes = Vec::with_capacity(found.len());
        for mut h in found {
            home::refresh_derived(&mut h, today);
            if h.protected_identity && !office {
                home::withhold_location(&mut h);
            }
            homes.push(self.summary_for(ctx, &h));
        }
        let (mut homes, page) = page.finish(homes, |h| h.id.clone());
        self.flag_agency_permits(&mut homes).await?;
        Ok(SearchHomesResponse {
            homes,
            page: Some(page),
        })
    }

    /// Load a home inside a write, apply `f`, and commit the change.
    async fn change_home(
        &self,
        tx: &mut WriteTx,
        ctx: &AuthContext,
        home_id: &str,
        change: &str,
        reason: &str,
        f: impl FnOnce(&mut Home) -> R<serde_json::Value>,
    ) -> R<Home> {
        ids::parse_id("home_id", home_id)?;
        let mut h = store::homes::must_get(tx.conn(), home_id).await?;
        let extra = f(&mut h)?;
        self.commit_home_change(tx, ctx, &mut h, HomeChange::new(change, reason, extra))
            .await?;
        Ok(h)
    }

    pub async fn update_home_profile(
        &self,
        ctx: &AuthContext,
        req: UpdateHomeProfileRequest,
    ) -> R<Home> {
        access::manage_register(ctx)?;
        let v = self.valid_draft(req.draft.as_ref(), false)?;
        let tx = self
            .core
            .begin(ctx, "UpdateHomeProfile", &req.request_id, &req)
            .await?;
        let mut tx = samling_kit::replay!(tx, self, ctx);
        self.check_agency(&mut tx, &v.draft.agency_id).await?;
        let regions = self.regions.clone();
        let h = self
            .change_home(
                &mut tx,
                ctx,
                &req.home_id,
                "home_updated",
                &req.reason,
                |h| {
                    if req.expected_version != 0 && req.expected_version != h.version {
                        return Err(RegistryError::Conflict(format!(
                            "the home is at version {}, not {}; read it again",
                            h.version, req.expected_version
                        )));
                    }
                    home::apply_profile(h, &v, &regions);
                    Ok(json!({}))
                },
            )
            .await?;
        let dups = self.flag_home_duplicates(&mut tx, &h).await?;
        drop(dups);
        tx.finish(self, ctx, h).await
    }

    pub async fn transition_home(&self, ctx: &AuthContext, req: TransitionHomeRequest) -> R<Home> {
        access::manage_register(ctx)?;
        let to = HomeStatus::try_from(req.to_status)
            .ok()
            .filter(|s| *s != HomeStatus::Unspecified)
            .ok_or_else(|| RegistryError::invalid("to_status", "is required"))?;
        let tx = self
            .core
            .begin(ctx, "TransitionHome", &req.request_id, &req)
            .await?;
        let mut tx = samling_kit::replay!(tx, self, ctx);
        let h = self
            .change_home(
                &mut tx,
                ctx,
                &req.home_id,
                "home_status_changed",
                &req.reason,
                |h| {
                    let from = home::status(h);
                    home::check_transition(from, to, h.placed_count)?;
                    crate::domain::restriction::check_transition(h, to)?;
                    h.status = to as i32;
                    Ok(json!({"from": from.as_str_name()}))
                },
            )
            .await?;
        tx.finish(self, ctx, h).await
    }

    pub async fn record_approval(&self, ctx: &AuthContext, req: RecordApprovalRequest) -> R<Home> {
        let m = MunicipalityCode::parse(&req.municipality_code)
            .map_err(|e| RegistryError::invalid("municipality_code", e.to_string()))?;
        access::record_approval(ctx, m.as_str())?;
        let date = dates::from_proto("decision_date", req.decision_date.as_ref())?;
        if req.decision_ref.trim().is_empty() {
            return Err(RegistryError::invalid("decision_ref", "is required"));
        }
        let mut tx = self
            .core
            .begin(ctx, "RecordApproval", &req.request_id, &req)
            .await?;
        ids::parse_id("home_id", &req.home_id)?;
        let current = store::homes::must_get(tx.conn(), &req.home_id).await?;
        access::approval_link(ctx, &current, m.as_str())?;
        let mut tx = samling_kit::replay!(tx, self, ctx);
        // No approval over a decision in force, nor of a home whose agency
        // holds no valid IVO permit (ADR 0026).
        crate::domain::restriction::check_not_blocked(&current)?;
        if !self.agency_permit_ok(&mut tx, &current).await? {
            return Err(RegistryError::refused(
                samling_kit::error::Reason::NotAcceptingPlacements,
                "the home's agency holds no valid IVO permit: it is not approved through it",
            ));
        }
        let rules = self.rules;
        let restarts = access::approval_restarts_reconfirmation(ctx);
        let approval = Approval {
            municipality_code: m.as_str().into(),
            decision_date: Some(dates::to_proto(date)),
            decision_ref: req.decision_ref.trim().into(),
            recorded_by: ctx.sub.clone(),
            evidence: req.evidence.clone(),
        };
        let h = self
            .change_home(&mut tx, ctx, &req.home_id, "home_approved", "nämnd decision", |h| {
                home::record_approval(h, approval, date, Self::today(), &rules, restarts)?;
                crate::domain::evidence::check_approval(h, &rules)?;
                Ok(json!({"approving_municipality": m.as_str(), "decision_date": dates::date_text(date)}))
            })
            .await?;
        tx.finish(self, ctx, h).await
    }

    /// The office assigns a municipality to investigate a home: recorded on
    /// the home (a new version), audited, announced with codes only. Its
    /// manager may then record the approval ([`access::approval_link`]).
    pub async fn assign_investigation(
        &self,
        ctx: &AuthContext,
        req: AssignInvestigatingMunicipalityRequest,
    ) -> R<Home> {
        access::assign_investigation(ctx)?;
        let m = MunicipalityCode::parse(&req.municipality_code)
            .map_err(|e| RegistryError::invalid("municipality_code", e.to_string()))?;
        let tx = self
            .core
            .begin(
                ctx,
                "AssignInvestigatingMunicipality",
                &req.request_id,
                &req,
            )
            .await?;
        let mut tx = samling_kit::replay!(tx, self, ctx);
        let assignment = InvestigationAssignment {
            municipality_code: m.as_str().into(),
            assigned_on: Some(dates::to_proto(Self::today())),
            assigned_by: ctx.sub.clone(),
        };
        let h = self
            .change_home(
                &mut tx,
                ctx,
                &req.home_id,
                "investigation_assigned",
                &req.reason,
                |h| {
                    home::assign_investigation(h, assignment)?;
                    Ok(json!({"investigating_municipality": m.as_str()}))
                },
            )
            .await?;
        tx.finish(self, ctx, h).await
    }

    /// The office's explicit step to see a protected home's address, which
    /// every ordinary read withholds: a stated reason, audited as
    /// `reveal_protected_address` with that reason (ADR 0017).
    pub async fn reveal_protected_address(
        &self,
        ctx: &AuthContext,
        req: &RevealProtectedAddressRequest,
    ) -> R<RevealProtectedAddressResponse> {
        access::reveal_protected_address(ctx)?;
        ids::parse_id("home_id", &req.home_id)?;
        let reason = access::reveal_reason(&req.reason)?;
        let h = store::homes::must_get(&self.store.read, &req.home_id).await?;
        if !h.protected_identity {
            return Err(RegistryError::precondition(
                "the home has no protected identity: GetHome shows its address",
            ));
        }
        let mut entry = ctx.audit("reveal_protected_address", "home", &h.id);
        entry.reason = reason.to_string();
        self.core.audit(vec![entry]).await?;
        Ok(RevealProtectedAddressResponse {
            home_id: h.id,
            address: h.address,
        })
    }

    pub async fn reconfirm_home(&self, ctx: &AuthContext, req: ReconfirmHomeRequest) -> R<Home> {
        access::manage_register(ctx)?;
        let on = dates::opt_from_proto("confirmed_on", req.confirmed_on.as_ref())?
            .unwrap_or_else(Self::today);
        let tx = self
            .core
            .begin(ctx, "ReconfirmHome", &req.request_id, &req)
            .await?;
        let mut tx = samling_kit::replay!(tx, self, ctx);
        let rules = self.rules;
        let h = self
            .change_home(
                &mut tx,
                ctx,
                &req.home_id,
                "home_reconfirmed",
                &req.note,
                |h| {
                    home::reconfirm(h, on, Self::today(), &rules)?;
                    Ok(json!({"confirmed_on": dates::date_text(on)}))
                },
            )
            .await?;
        tx.finish(self, ctx, h).await
    }

    pub async fn list_overdue(
        &self,
        ctx: &AuthContext,
        req: &ListOverdueHomesRequest,
    ) -> R<SearchHomesResponse> {
        // The office: every overdue home. A municipality: the overdue homes
        // it has a child placed in (ADR 0031).
        let office = access::manage_register(ctx).is_ok();
        let used_by = if office {
            None
        } else {
            Some(access::overdue_homes_used_by(ctx, &req.municipality_code)?)
        };
        let as_of = dates::opt_from_proto("as_of", req.as_of.as_ref())?.unwrap_or_else(Self::today);
        let page = Page::from_request(req.page.as_ref())?;
        let in_municipality = if office {
            req.municipality_code.as_str()
        } else {
            ""
        };
        let found = store::homes::overdue(
            &self.store.read,
            as_of,
            in_municipality,
            used_by.as_deref(),
            &page,
        )
        .await?;
        let mut homes = Vec::with_capacity(found.len());
        for mut h in found {
            home::refresh_derived(&mut h, as_of);
            if h.protected_identity && !office {
                home::withhold_location(&mut h);
            }
            homes.push(self.summary_for(ctx, &h));
        }
        let (homes, page) = page.finish(homes, |h| h.id.clone());
        Ok(SearchHomesResponse {
            homes,
            page: Some(page),
        })
    }

    /// A home's summary for a caller: the capacity in force and free
    /// places; the household's register checks only for those who may see
    /// them (ADR 0031).
    fn summary_for(&self, ctx: &AuthContext, h: &Home) -> HomeSummary {
        let mut s = home::summary(h);
        let cap = i32::try_from(home::effective_capacity(h, &self.rules)).unwrap_or(0);
        s.effective_capacity = cap;
        s.free_places = (cap - h.placed_count).max(0);
        if access::see_record_check_status(ctx) {
            s.record_checks = home::record_check_status(h) as i32;
        }
        s
    }

    pub async fn home_history(
        &self,
        ctx: &AuthContext,
        req: &GetHomeHistoryRequest,
    ) -> R<GetHomeHistoryResponse> {
        ids::parse_id("home_id", &req.home_id)?;
        let current = store::homes::must_get(&self.store.read, &req.home_id).await?;
        let inv = self.involvement_for(ctx, &req.home_id).await?;
        let view = access::home_view(ctx, &current, &inv)?;
        let page = Page::from_request(req.page.as_ref())?;
        let after: i64 = page
            .after
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(|_| RegistryError::invalid("page.page_token", "is not valid"))?
            .unwrap_or(0);
        let mut versions =
            store::homes::versions(&self.store.read, &req.home_id, after, page.limit()).await?;
        let own = Self::own_municipality(ctx);
        for v in &mut versions {
            let Some(snap) = v.snapshot.as_mut() else {
                continue;
            };
            // The home's current state decides: a snapshot from before it
            // became protected is redacted as a protected home.
            snap.protected_identity |= current.protected_identity;
            let mut probe = current.clone();
            probe.protected_identity = snap.protected_identity;
            let snap_view = access::home_view(ctx, &probe, &inv)?;
            home::redact_for(snap, snap_view, own);
        }
        if view != HomeView::NoPersonalData {
            self.core
                .audit_read(ctx, "home_history", &[&req.home_id])
                .await?;
        }
        let (versions, page) = page.finish(versions, |v| v.version.to_string());
        Ok(GetHomeHistoryResponse {
            versions,
            page: Some(page),
        })
    }

    pub async fn add_member(
        &self,
        ctx: &AuthContext,
        req: AddHouseholdMemberRequest,
    ) -> R<CreateHomeResponse> {
        access::manage_register(ctx)?;
        let m = req
            .member
            .clone()
            .ok_or_else(|| RegistryError::invalid("member", "is required"))?;
        let vm = home::validate_member("member", &m, Self::today())?;
        let tx = self
            .core
            .begin(ctx, "AddHouseholdMember", &req.request_id, &req)
            .await?;
        let mut tx = samling_kit::replay!(tx, self, ctx);
        let h = self
            .change_home(
                &mut tx,
                ctx,
                &req.home_id,
                "home_member_added",
                &req.reason,
                |h| {
                    let id = ids::new_id_string();
                    home::add_member(h, id.clone(), &vm)?;
                    Ok(json!({"member_id": id}))
                },
            )
            .await?;
        let duplicates = self.flag_home_duplicates(&mut tx, &h).await?;
        let mut resp = tx
            .finish(
                self,
                ctx,
                CreateHomeResponse {
                    home: Some(h),
                    duplicates,
                },
            )
            .await?;
        self.cross_check_home(ctx, &mut resp).await?;
        Ok(resp)
    }

    pub async fn remove_member(
        &self,
        ctx: &AuthContext,
        req: RemoveHouseholdMemberRequest,
    ) -> R<Home> {
        access::manage_register(ctx)?;
        let tx = self
            .core
            .begin(ctx, "RemoveHouseholdMember", &req.request_id, &req)
            .await?;
        let mut tx = samling_kit::replay!(tx, self, ctx);
        let h = self
            .change_home(
                &mut tx,
                ctx,
                &req.home_id,
                "home_member_removed",
                &req.reason,
                |h| {
                    home::remove_member(h, &req.member_id)?;
                    Ok(json!({"member_id": req.member_id}))
                },
            )
            .await?;
        tx.finish(self, ctx, h).await
    }

    pub async fn record_check(&self, ctx: &AuthContext, req: RecordRecordCheckRequest) -> R<Home> {
        access::manage_register(ctx)?;
        let check = req
            .check
            .clone()
            .ok_or_else(|| RegistryError::invalid("check", "is required"))?;
        let on = dates::from_proto("check.checked_on", check.checked_on.as_ref())?;
        if on > Self::today() {
            return Err(RegistryError::invalid(
                "check.checked_on",
                "must not be in the future",
            ));
        }
        if check.register.trim().is_empty() {
            return Err(RegistryError::invalid("check.register", "is required"));
        }
        if RecordCheckOutcome::try_from(check.outcome)
            .ok()
            .filter(|o| *o != RecordCheckOutcome::Unspecified)
            .is_none()
        {
            return Err(RegistryError::invalid("check.outcome", "is required"));
        }
        let tx = self
            .core
            .begin(ctx, "RecordRecordCheck", &req.request_id, &req)
            .await?;
        let mut tx = samling_kit::replay!(tx, self, ctx);
        let h = self
            .change_home(
                &mut tx,
                ctx,
                &req.home_id,
                "record_check_recorded",
                "register check",
                |h| {
                    let m = h
                        .members
                        .iter_mut()
                        .find(|m| m.id == req.member_id)
                        .ok_or_else(|| {
                            RegistryError::NotFound(format!("member {}", req.member_id))
                        })?;
                    m.record_checks.push(check.clone());
                    Ok(json!({"member_id": req.member_id}))
                },
            )
            .await?;
        tx.finish(self, ctx, h).await
    }

    pub async fn record_incident(&self, ctx: &AuthContext, req: RecordIncidentRequest) -> R<Home> {
        access::manage_register(ctx)?;
        let on = dates::from_proto("occurred_on", req.occurred_on.as_ref())?;
        if req.category.trim().is_empty() {
            return Err(RegistryError::invalid("category", "is required"));
        }
        let tx = self
            .core
            .begin(ctx, "RecordIncident", &req.request_id, &req)
            .await?;
        let mut tx = samling_kit::replay!(tx, self, ctx);
        let h = self
            .change_home(
                &mut tx,
                ctx,
                &req.home_id,
                "incident_recorded",
                &req.category,
                |h| {
                    let id = ids::new_id_string();
                    h.incidents.push(Incident {
                        id: id.clone(),
                        occurred_on: Some(dates::to_proto(on)),
                        category: req.category.trim().into(),
                        description: req.description.clone(),
                    });
                    Ok(json!({"incident_id": id, "category": req.category.trim()}))
                },
            )
            .await?;
        tx.finish(self, ctx, h).await
    }

    pub async fn withdraw_consent(
        &self,
        ctx: &AuthContext,
        req: WithdrawConsentRequest,
    ) -> R<Home> {
        access::act_for_home(ctx, &req.home_id)?;
        let on = dates::opt_from_proto("withdrawn_on", req.withdrawn_on.as_ref())?
            .unwrap_or_else(Self::today);
        let tx = self
            .core
            .begin(ctx, "WithdrawConsent", &req.request_id, &req)
            .await?;
        let mut tx = samling_kit::replay!(tx, self, ctx);
        let h = self
            .change_home(
                &mut tx,
                ctx,
                &req.home_id,
                "consent_withdrawn",
                &req.reason,
                |h| {
                    home::withdraw_consent(h, on);
                    Ok(json!({}))
                },
            )
            .await?;
        tx.finish(self, ctx, h).await
    }

    pub async fn set_jour(&self, ctx: &AuthContext, req: SetJourAvailabilityRequest) -> R<Home> {
        access::act_for_home(ctx, &req.home_id)?;
        let tx = self
            .core
            .begin(ctx, "SetJourAvailability", &req.request_id, &req)
            .await?;
        let mut tx = samling_kit::replay!(tx, self, ctx);
        let h = self
            .change_home(
                &mut tx,
                ctx,
                &req.home_id,
                "jour_availability_changed",
                "",
                |h| {
                    home::set_jour(h, req.available, &dates::now_text())?;
                    Ok(json!({"available": req.available}))
                },
            )
            .await?;
        tx.finish(self, ctx, h).await
    }

    pub async fn object(
        &self,
        ctx: &AuthContext,
        req: ObjectToFurtherPlacementsRequest,
    ) -> R<Home> {
        let m = MunicipalityCode::parse(&req.municipality_code)
            .map_err(|e| RegistryError::invalid("municipality_code", e.to_string()))?;
        access::object(ctx, m.as_str())?;
        let tx = self
            .core
            .begin(ctx, "ObjectToFurtherPlacements", &req.request_id, &req)
            .await?;
        let mut tx = samling_kit::replay!(tx, self, ctx);
        let placing = store::placements::placing(tx.conn(), &req.home_id).await?;
        placement::check_may_object(placing.first.as_deref(), m.as_str())?;
        let h = self
            .change_home(
                &mut tx,
                ctx,
                &req.home_id,
                "objection_recorded",
                &req.reason,
                |h| {
                    home::record_objection(
                        h,
                        Objection {
                            municipality_code: m.as_str().into(),
                            reason: req.reason.clone(),
                            at: dates::now_text(),
                        },
                    )?;
                    Ok(json!({"objecting_municipality": m.as_str()}))
                },
            )
            .await?;
        tx.finish(self, ctx, h).await
    }

    pub async fn withdraw_objection(
        &self,
        ctx: &AuthContext,
        req: WithdrawObjectionRequest,
    ) -> R<Home> {
        let m = MunicipalityCode::parse(&req.municipality_code)
            .map_err(|e| RegistryError::invalid("municipality_code", e.to_string()))?;
        access::object(ctx, m.as_str())?;
        let tx = self
            .core
            .begin(ctx, "WithdrawObjection", &req.request_id, &req)
            .await?;
        let mut tx = samling_kit::replay!(tx, self, ctx);
        let h = self
            .change_home(&mut tx, ctx, &req.home_id, "objection_withdrawn", "", |h| {
                home::withdraw_objection(h, m.as_str())?;
                Ok(json!({"objecting_municipality": m.as_str()}))
            })
            .await?;
        tx.finish(self, ctx, h).await
    }

    /// Bulk import: every row validated; valid rows written (each row whole,
    /// in one transaction), invalid rows reported with line and field.
    pub async fn import_homes(
        &self,
        ctx: &AuthContext,
        req: ImportHomesRequest,
    ) -> R<ImportHomesResponse> {
        access::manage_register(ctx)?;
        if req.rows.len() > 5000 {
            return Err(RegistryError::invalid(
                "rows",
                "at most 5000 rows per call; send batches",
            ));
        }
        let mut errors = Vec::new();
        let mut valid = Vec::new();
        for row in &req.rows {
            match self.valid_draft(row.draft.as_ref(), true) {
                Ok(v) => valid.push((row.line, v)),
                Err(e) => errors.push(row_error(row.line, &e)),
            }
        }
        // The agencies the rows name that do not exist, one lookup per
        // distinct id (agencies are never deleted: the answer holds for the
        // write below).
        let mut missing_agencies = std::collections::HashSet::new();
        let mut looked_up = std::collections::HashSet::new();
        for (_, v) in &valid {
            let id = v.draft.agency_id.as_str();
            if !id.is_empty()
                && looked_up.insert(id)
                && store::agencies::get(&self.store.read, id).await?.is_none()
            {
                missing_agencies.insert(id.to_string());
            }
        }
        let (valid, unknown_agency): (Vec<_>, Vec<_>) = valid
            .into_iter()
            .partition(|(_, v)| !missing_agencies.contains(&v.draft.agency_id));
        for (line, _) in unknown_agency {
            errors.push(row_error(
                line,
                &RegistryError::invalid("draft.agency_id", "no such agency"),
            ));
        }
        if req.dry_run {
            errors.sort_by_key(|e| e.line);
            return Ok(ImportHomesResponse {
                created: 0,
                errors,
                duplicates: vec![],
                home_ids: vec![],
            });
        }
        let tx = self
            .core
            .begin(ctx, "ImportHomes", &req.request_id, &req)
            .await?;
        let mut tx = samling_kit::replay!(tx, self, ctx);
        let mut duplicates = Vec::new();
        let mut home_ids = Vec::new();
        for (_, v) in valid {
            let (h, d) = self.insert_home(&mut tx, ctx, &v).await?;
            home_ids.push(h.id);
            duplicates.extend(d);
        }
        errors.sort_by_key(|e| e.line);
        let resp = ImportHomesResponse {
            created: home_ids.len() as u32,
            errors,
            duplicates,
            home_ids,
        };
        tx.finish(self, ctx, resp).await
    }

    /// Every home the caller may see, redacted as for `GetHome`, in id order.
    pub async fn export_homes(
        &self,
        ctx: &AuthContext,
        municipality: &str,
        after: &str,
        limit: i64,
    ) -> R<Vec<Home>> {
        access::manage_register(ctx)?;
        let found =
            store::homes::page_in_municipality(&self.store.read, municipality, after, limit)
                .await?;
        let today = Self::today();
        let mut out = Vec::with_capacity(found.len());
        for mut h in found {
            home::refresh_derived(&mut h, today);
            // Exports leave the system: protected addresses never go with them.
            if h.protected_identity {
                home::redact(&mut h, HomeView::AddressWithheld);
            }
            out.push(h);
        }
        let ids: Vec<&str> = out.iter().map(|h| h.id.as_str()).collect();
        self.core.audit_each(ctx, "export", "home", &ids).await?;
        Ok(out)
    }
}

pub fn row_error(line: u32, e: &RegistryError) -> RowError {
    use samling_kit::ServiceError;
    let (field, message) = match e.invalid_field() {
        Some(f) => (f.field.clone(), f.message.clone()),
        None => (e.field().unwrap_or_default().to_string(), e.to_string()),
    };
    RowError {
        line,
        field,
        message,
    }
}

/// What a change to a home is: its event/audit name, the reason given, extra event fields.
pub(crate) struct HomeChange<'a> {
    kind: &'a str,
    reason: &'a str,
    extra: serde_json::Value,
    is_new: bool,
}

impl<'a> HomeChange<'a> {
    pub(crate) fn new(kind: &'a str, reason: &'a str, extra: serde_json::Value) -> Self {
        HomeChange {
            kind,
            reason,
            extra,
            is_new: false,
        }
    }

    fn created() -> Self {
        HomeChange {
            kind: "home_created",
            reason: "created",
            extra: json!({}),
            is_new: true,
        }
    }
}

pub(crate) fn parse_pnr(field: &str, s: &str) -> R<Personnummer> {
    Personnummer::parse(s).map_err(|e| RegistryError::invalid(field, e.to_string()))
}

mod care;
mod due_process;
mod evidence;
mod ivo;
mod ombud;
mod over_time;
mod providers;
mod regions;
mod restrictions;
pub mod statistics;
