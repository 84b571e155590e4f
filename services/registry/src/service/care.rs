//! Children, placements, unexecuted decisions and duplicate flags.

use super::{HomeChange, R, Registry, parse_pnr};
use crate::domain::access;
use crate::domain::home;
use crate::domain::{RegistryError, decisions, duplicates, over_time, placement};
use crate::store;
use samling_kit::auth::AuthContext;
use samling_kit::outbox::NewEvent;
use samling_kit::paging::Page;
use samling_kit::personnummer::LegalSex;
use samling_kit::reference::MunicipalityCode;
use samling_kit::{dates, disclosure, ids};
use samling_proto::registry::v1::*;
use serde_json::json;

fn municipality(field: &str, s: &str) -> R<MunicipalityCode> {
    MunicipalityCode::parse(s).map_err(|e| RegistryError::invalid(field, e.to_string()))
}

/// An event about a protected child's placement does not link the child to
/// where it lives: `keys` (the home, unit or municipality on the child's
/// events; the placement on a home's events) are left out.
pub(super) fn unlinked(
    protected_child: bool,
    keys: &[&str],
    mut v: serde_json::Value,
) -> serde_json::Value {
    if protected_child && let Some(o) = v.as_object_mut() {
        o.retain(|k, _| !keys.contains(&k.as_str()));
    }
    v
}

const CHILD_LINKS: &[&str] = &["home_id", "unit_id", "placing_municipality_code"];
pub(super) const HOME_LINKS: &[&str] = &["placement_id"];

impl Registry {
    async fn child_protected(&self, child_id: &str) -> R<bool> {
        if child_id.is_empty() {
            return Ok(false);
        }
        let c = store::children::get(&self.store.read, child_id).await?;
        Ok(c.is_some_and(|c| c.protected_identity))
    }

    pub(crate) async fn home_protected(&self, home_id: &str) -> R<bool> {
        if home_id.is_empty() {
            return Ok(false);
        }
        if let Some(h) = self.homes.get(home_id) {
            return Ok(h.protected_identity);
        }
        match store::homes::get(&self.store.read, home_id).await? {
            Some(h) => Ok(h.protected_identity),
            // Another region's home a placement here is in (ADR 0021): as
            // its register said when the place was reserved.
            None => Ok(store::regions::remote_home(&self.store.read, home_id)
                .await?
                .is_some_and(|(_, protected)| protected)),
        }
    }

    async fn placement_child(&self, placement_id: &str) -> R<String> {
        if placement_id.is_empty() {
            return Ok(String::new());
        }
        let p = store::placements::get(&self.store.read, placement_id).await?;
        Ok(p.map(|p| p.child_id).unwrap_or_default())
    }

    /// A duplicate flag as the homes stand now. Two homes at the same
    /// address, one of them protected: naming the open one would tell the
    /// office the protected address (the open home's is not secret) without
    /// the audited reveal, so the open side's id is withheld; the flag still
    /// says the protected home shares its address with another active home.
    pub(crate) async fn flag_for(&self, mut f: DuplicateFlag) -> R<DuplicateFlag> {
        if f.kind != DuplicateKind::SameAddressTwoHomes as i32 {
            return Ok(f);
        }
        let record = self.home_protected(&f.record_id).await?;
        let other = self.home_protected(&f.other_record_id).await?;
        match (record, other) {
            (true, false) => f.other_record_id.clear(),
            (false, true) => f.record_id.clear(),
            _ => {}
        }
        Ok(f)
    }

    /// An event of the feed as the records stand now: the payload was
    /// written when the event happened, but a home or child protected since
    /// is protected in it too (where a protected home is; what links a
    /// protected child to where it lives).
    pub async fn event_for(
        &self,
        mut e: samling_proto::common::v1::Event,
    ) -> R<samling_proto::common::v1::Event> {
        let Ok(serde_json::Value::Object(mut o)) =
            serde_json::from_str::<serde_json::Value>(&e.payload_json)
        else {
            return Ok(e);
        };
        let text = |o: &serde_json::Map<String, serde_json::Value>, k: &str| {
            o.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string()
        };
        let on_home = e.aggregate_type == "home";
        let home_id = if on_home {
            e.aggregate_id.clone()
        } else {
            text(&o, "home_id")
        };
        let mut child_id = if e.aggregate_type == "child" {
            e.aggregate_id.clone()
        } else {
            text(&o, "child_id")
        };
        if child_id.is_empty() {
            let placement = if e.aggregate_type == "placement" {
                e.aggregate_id.clone()
            } else {
                text(&o, "placement_id")
            };
            child_id = self.placement_child(&placement).await?;
        }
        let before = o.len();
        let home_protected = on_home && self.home_protected(&home_id).await?;
        if home_protected {
            o.retain(|k, _| !k.contains("municipality") && !k.contains("county"));
        }
        // A same-address flag between a protected and an open home names
        // neither to the other (see `flag_for`; such flags are home events).
        if e.event_type == "registry.duplicate_flagged"
            && text(&o, "kind") == DuplicateKind::SameAddressTwoHomes.as_str_name()
            && (home_protected || self.home_protected(&text(&o, "other_record_id")).await?)
        {
            o.remove("other_record_id");
        }
        if self.child_protected(&child_id).await? {
            let links: &[&str] = if on_home { HOME_LINKS } else { CHILD_LINKS };
            o.retain(|k, _| !links.contains(&k.as_str()));
        }
        if o.len() != before {
            e.payload_json = serde_json::Value::Object(o).to_string();
        }
        Ok(e)
    }
}

impl super::Answer<Registry> for Child {
    fn record(&self) -> (&'static str, String) {
        ("child", self.id.clone())
    }
    async fn view(self, reg: &Registry, ctx: &AuthContext) -> R<Self> {
        reg.child_for(ctx, self).await
    }
}

impl super::Answer<Registry> for RegisterChildResponse {
    fn record(&self) -> (&'static str, String) {
        (
            "child",
            self.child
                .as_ref()
                .map(|c| c.id.clone())
                .unwrap_or_default(),
        )
    }
    async fn view(mut self, reg: &Registry, ctx: &AuthContext) -> R<Self> {
        if let Some(c) = self.child.take() {
            self.child = Some(reg.child_for(ctx, c).await?);
        }
        // A flag names another municipality's child with the same
        // personnummer: the office resolves flags, nobody else sees them.
        if access::manage_register(ctx).is_err() {
            self.duplicates.clear();
        }
        Ok(self)
    }
}

impl super::Answer<Registry> for Placement {
    fn record(&self) -> (&'static str, String) {
        ("placement", self.id.clone())
    }
    async fn view(self, reg: &Registry, ctx: &AuthContext) -> R<Self> {
        reg.placement_for(ctx, self).await
    }
}

impl super::Answer<Registry> for CreatePlacementResponse {
    fn record(&self) -> (&'static str, String) {
        (
            "placement",
            self.placement
                .as_ref()
                .map(|p| p.id.clone())
                .unwrap_or_default(),
        )
    }
    async fn view(mut self, reg: &Registry, ctx: &AuthContext) -> R<Self> {
        if let Some(p) = self.placement.take() {
            self.placement = Some(reg.placement_for(ctx, p).await?);
        }
        Ok(self)
    }
}

impl Registry {
    // ------------------------------------------------------------ children

    pub async fn register_child(
        &self,
        ctx: &AuthContext,
        req: RegisterChildRequest,
    ) -> R<RegisterChildResponse> {
        let m = municipality("placing_municipality_code", &req.placing_municipality_code)?;
        access::write_child(ctx, m.as_str())?;
        self.check_in_region("placing_municipality_code", m.as_str())?;
        let pnr = parse_pnr("personnummer", &req.personnummer)?;
        if pnr.age_on(dates::today()) >= 21 {
            return Err(RegistryError::invalid(
                "personnummer",
                "a child or young person in care is under 21",
            ));
        }
        for (f, v) in [
            ("given_name", &req.given_name),
            ("family_name", &req.family_name),
        ] {
            if v.trim().is_empty() || v.chars().count() > 200 {
                return Err(RegistryError::invalid(
                    f,
                    "is required (at most 200 characters)",
                ));
            }
            home::check_plain(f, v)?;
        }
        let tx = self
            .core
            .begin(ctx, "RegisterChild", &req.request_id, &req)
            .await?;
        let mut tx = samling_kit::replay!(tx, self, ctx);
        let c = Child {
            id: ids::new_id_string(),
            version: 1,
            personnummer: pnr.canonical().into(),
            given_name: req.given_name.trim().into(),
            family_name: req.family_name.trim().into(),
            birth_date: Some(dates::to_proto(pnr.birth_date())),
            sex: match pnr.legal_sex() {
                LegalSex::Female => Sex::Female,
                LegalSex::Male => Sex::Male,
            } as i32,
            protected_identity: req.protected_identity,
            placing_municipality_code: m.as_str().into(),
            active_placement_id: String::new(),
            created_at: dates::now_text(),
            personal_data_redacted: false,
            sibling_ids: Vec::new(),
        };
        let others = store::children::with_personnummer(tx.conn(), &c.personnummer).await?;
        store::children::save(tx.conn(), &c, true).await?;
        store::children::set_registered_by(tx.conn(), &c.id, &ctx.sub).await?;
        let found = others
            .into_iter()
            .filter(|o| duplicates::same_child(&c, o))
            .map(|o| (DuplicateKind::SameChildTwice, "child", o.id))
            .collect();
        let duplicates = self.write_flags(&mut tx, &c.id, found).await?;
        // Other regions' registers find the child by its keyed hash, never
        // the number (ADR 0021).
        let hashes: Vec<String> = self
            .peers
            .identity_hash(&c.personnummer)
            .into_iter()
            .collect();
        for h in &hashes {
            store::regions::index_identity(tx.conn(), h, "child", &c.id).await?;
        }
        self.core
            .record(
                &mut tx,
                ctx,
                "child_registered",
                "child",
                &c.id,
                json!({"child_id": c.id, "placing_municipality_code": c.placing_municipality_code}),
            )
            .await?;
        let child_id = c.id.clone();
        let mut resp = tx
            .finish(
                self,
                ctx,
                RegisterChildResponse {
                    child: Some(c),
                    duplicates,
                },
            )
            .await?;
        let flags = self
            .flags_from_other_regions(IdentityKind::Child, &child_id, hashes)
            .await;
        if access::manage_register(ctx).is_ok() {
            resp.duplicates.extend(flags);
        }
        Ok(resp)
    }

    /// The one view of a child for a caller (reads and answers), audited.
    pub(crate) async fn child_for(&self, ctx: &AuthContext, c: Child) -> R<Child> {
        let assigned = self.assigned_ombud(ctx, &c.id).await?;
        access::read_child(
            ctx,
            &c.id,
            &c.placing_municipality_code,
            assigned.as_deref(),
        )?;
        self.core.audit_read(ctx, "child", &[&c.id]).await?;
        Ok(c)
    }

    pub async fn get_child(&self, ctx: &AuthContext, id: &str) -> R<Child> {
        ids::parse_id("child_id", id)?;
        let c = store::children::must_get(&self.store.read, id).await?;
        self.child_for(ctx, c).await
    }

    /// Socialjouren's lookup of a child who ran away (issue 24 §8): where
    /// each child registered here with this personnummer is placed now and
    /// whom to call, as [`access::locate_view`] allows; no name, number or
    /// address in the answer. Every lookup is audited with its reason (a
    /// number not registered here too: the answer "not here" is a fact).
    pub async fn locate_child(
        &self,
        ctx: &AuthContext,
        req: &LocateChildRequest,
    ) -> R<LocateChildResponse> {
        access::locate_child(ctx)?;
        let pnr = parse_pnr("personnummer", &req.personnummer)?;
        let reason = access::reveal_reason(&req.reason)?.to_string();
        let children =
            store::children::with_personnummer(&self.store.read, pnr.canonical()).await?;
        let mut out = Vec::with_capacity(children.len());
        let mut entries = Vec::new();
        for c in children {
            // A protected child: another municipality's socialjour learns
            // that it is registered and placed and whom to call, not which
            // record it is (nor where it lives).
            let knows = access::locate_view(
                ctx,
                &c.placing_municipality_code,
                c.protected_identity,
                false,
            )
            .show_home;
            let mut w = ChildWhereabouts {
                child_id: c.id.clone(),
                placing_municipality_code: c.placing_municipality_code.clone(),
                region_id: self
                    .region
                    .as_ref()
                    .map(|r| r.as_str().to_string())
                    .unwrap_or_default(),
                protected_identity: c.protected_identity,
                ..Default::default()
            };
            let active = if c.active_placement_id.is_empty() {
                None
            } else {
                store::placements::get(&self.store.read, &c.active_placement_id)
                    .await?
                    .filter(|p| p.status == PlacementStatus::Active as i32)
            };
            if let Some(p) = active {
                let home_protected = self.home_protected(&p.home_id).await?;
                let v = access::locate_view(
                    ctx,
                    &p.placing_municipality_code,
                    c.protected_identity,
                    home_protected,
                );
                w.placed = true;
                if knows {
                    w.placement_id = p.id.clone();
                }
                w.legal_basis = p.legal_basis;
                w.placed_since = p.start_date;
                if v.show_home {
                    w.home_id = p.home_id.clone();
                    w.home_region = p.home_region.clone();
                    w.home_type = p.home_type;
                    if !p.unit_id.is_empty()
                        && let Some(u) = store::units::get(&self.store.read, &p.unit_id).await?
                    {
                        w.unit_id = u.id;
                        w.unit_name = u.name;
                        w.unit_contact_phone = u.contact_phone;
                        w.unit_contact_email = u.contact_email;
                    }
                } else {
                    w.location_withheld = true;
                }
                if v.show_receiving {
                    w.receiving_municipality_code = p.receiving_municipality_code.clone();
                } else {
                    w.location_withheld = true;
                }
                let mut e = ctx.audit("locate_child", "placement", &p.id);
                e.reason = reason.clone();
                entries.push(e);
            }
            let mut e = ctx.audit("locate_child", "child", &c.id);
            e.reason = reason.clone();
            entries.push(e);
            if !knows {
                w.child_id.clear();
            }
            out.push(w);
        }
        if entries.is_empty() {
            let mut e = ctx.audit("locate_child", "child", "");
            e.reason = reason;
            entries.push(e);
        }
        self.core.audit(entries).await?;
        Ok(LocateChildResponse { children: out })
    }

    pub async fn list_children(
        &self,
        ctx: &AuthContext,
        req: &ListChildrenRequest,
    ) -> R<ListChildrenResponse> {
        let scope = access::municipal_scope(ctx, &req.municipality_code)?;
        let page = Page::from_request(req.page.as_ref())?;
        let list = if access::lists_assigned_only(ctx) {
            store::ombud::children_page(&self.store.read, &ctx.sub, &page).await?
        } else {
            store::children::list(&self.store.read, &scope.unwrap_or_default(), &page).await?
        };
        let (children, page) = page.finish(list, |c| c.id.clone());
        let ids: Vec<&str> = children.iter().map(|c| c.id.as_str()).collect();
        self.core.audit_read(ctx, "child", &ids).await?;
        Ok(ListChildrenResponse {
            children,
            page: Some(page),
        })
    }

    pub async fn set_child_protection(
        &self,
        ctx: &AuthContext,
        req: SetChildProtectionRequest,
    ) -> R<Child> {
        ids::parse_id("child_id", &req.child_id)?;
        let mut tx = self
            .core
            .begin(ctx, "SetChildProtection", &req.request_id, &req)
            .await?;
        let mut c = store::children::must_get(tx.conn(), &req.child_id).await?;
        access::write_existing_child(ctx, "child", &c.id, &c.placing_municipality_code)?;
        let mut tx = samling_kit::replay!(tx, self, ctx);
        c.protected_identity = req.protected_identity;
        c.version += 1;
        store::children::save(tx.conn(), &c, false).await?;
        self.core
            .record(
                &mut tx,
                ctx,
                "child_protection_changed",
                "child",
                &c.id,
                json!({"child_id": c.id, "protected_identity": c.protected_identity}),
            )
            .await?;
        tx.finish(self, ctx, c).await
    }

    // ---------------------------------------------------------- placements

    pub async fn create_placement(
        &self,
        ctx: &AuthContext,
        req: CreatePlacementRequest,
    ) -> R<CreatePlacementResponse> {
        ids::parse_id("child_id", &req.child_id)?;
        let basis = placement::legal_basis(req.legal_basis)?;
        let start = dates::from_proto("start_date", req.start_date.as_ref())?;
        let planned_end = dates::opt_from_proto("planned_end_date", req.planned_end_date.as_ref())?;
        placement::check_dates(start, planned_end, dates::today())?;
        match (req.home_id.is_empty(), req.unit_id.is_empty()) {
            (false, true) => {
                ids::parse_id("home_id", &req.home_id)?;
            }
            (true, false) => {
                ids::parse_id("unit_id", &req.unit_id)?;
            }
            _ => {
                return Err(RegistryError::invalid(
                    "home_id",
                    "give exactly one of home_id and unit_id",
                ));
            }
        }
        // A home of another region's register: its place is reserved there
        // first, while no write of this register is held (ADR 0021), and
        // released again when this write does not happen.
        let remote = self.reserve_for(ctx, &req).await?;
        let id = remote
            .as_ref()
            .map(|r| r.placement_id.clone())
            .unwrap_or_else(ids::new_id_string);
        let out = self
            .place_here(ctx, &req, id, remote.as_ref(), (basis, start, planned_end))
            .await;
        match (out, remote) {
            (Ok((resp, fresh)), r) => {
                if let (false, Some(r)) = (fresh, r) {
                    self.undo_reservation(&r).await;
                }
                Ok(resp)
            }
            (Err(e), Some(r)) => {
                self.undo_reservation(&r).await;
                Err(e)
            }
            (Err(e), None) => Err(e),
        }
    }

    /// The placement's write in this register; `false` with a replayed
    /// first answer.
    async fn place_here(
        &self,
        ctx: &AuthContext,
        req: &CreatePlacementRequest,
        placement_id: String,
        remote: Option<&super::regions::Reserved>,
        (basis, start, planned_end): (LegalBasis, chrono::NaiveDate, Option<chrono::NaiveDate>),
    ) -> R<(CreatePlacementResponse, bool)> {
        let mut tx = self
            .core
            .begin(ctx, "CreatePlacement", &req.request_id, req)
            .await?;
        let mut child = store::children::must_get(tx.conn(), &req.child_id).await?;
        access::write_existing_child(ctx, "child", &child.id, &child.placing_municipality_code)?;
        let mut tx = match tx.replay(self, ctx).await? {
            samling_kit::service::Replay::Fresh(w) => *w,
            samling_kit::service::Replay::Answered(first) => return Ok((first, false)),
        };
        // A region's register holds its own municipalities' children; a
        // cross-region placement is not made by registering one here.
        self.check_in_region("child_id", &child.placing_municipality_code)?;
        if dates::opt_from_proto("birth_date", child.birth_date.as_ref())?
            .is_some_and(|born| start < born)
        {
            return Err(RegistryError::invalid(
                "start_date",
                "is before the child was born",
            ));
        }
        // One active placement per child, except a settling-in from an
        // emergency home (ADR 0030): the new one overlaps the old.
        let transition_from = if req.transition_from_placement_id.is_empty() {
            placement::check_no_active_placement(&child)?;
            None
        } else {
            ids::parse_id(
                "transition_from_placement_id",
                &req.transition_from_placement_id,
            )?;
            if child.active_placement_id != req.transition_from_placement_id {
                return Err(RegistryError::invalid(
                    "transition_from_placement_id",
                    "is not the child's active placement",
                ));
            }
            let from =
                store::placements::must_get(tx.conn(), &req.transition_from_placement_id).await?;
            if !from.transition_from_placement_id.is_empty() {
                return Err(RegistryError::precondition(
                    "the child is already in a settling-in; end the emergency placement first",
                ));
            }
            let from_type = self.placement_home_type(tx.conn(), &from).await?;
            Some((from, from_type))
        };
        let prior = store::placements::of_child(tx.conn(), &child.id).await?;
        let since = over_time::in_home_since(&prior, &req.home_id, start);
        let placing = child.placing_municipality_code.clone();
        let mut notices: Vec<String> = Vec::new();
        let mut p = Placement {
            id: placement_id,
            version: 1,
            child_id: child.id.clone(),
            home_id: req.home_id.clone(),
            unit_id: req.unit_id.clone(),
            legal_basis: basis as i32,
            placing_municipality_code: placing.clone(),
            start_date: Some(dates::to_proto(start)),
            planned_end_date: dates::opt_to_proto(planned_end),
            status: PlacementStatus::Active as i32,
            created_at: dates::now_text(),
            ..Default::default()
        };
        let mut ivo = None;
        let mut permit_exception: Option<String> = None;
        if let Some(r) = remote {
            // Counted in the home's own register; here what it answered.
            notices = r.answer.notices.clone();
            p.home_region = r.region.clone();
            p.receiving_municipality_code = r.answer.receiving_municipality_code.clone();
            p.custody_transfer_consideration_on = Some(dates::to_proto(
                placement::custody_transfer_consideration(since),
            ));
            store::regions::remember_home(
                tx.conn(),
                &req.home_id,
                &r.region,
                r.answer.home_protected,
                &dates::now_text(),
            )
            .await?;
        } else if !req.home_id.is_empty() {
            let first = store::placements::placing(tx.conn(), &req.home_id)
                .await?
                .first;
            let mut h = store::homes::must_get(tx.conn(), &req.home_id).await?;
            let placed = placement::place_in_home(
                &mut h,
                &placing,
                first.as_deref(),
                &self.rules,
                &req.capacity_exception_reason,
                dates::today(),
            )?;
            notices = placed.notices;
            // An agency without a valid IVO permit (ADR 0026): refused, or
            // under LVU 6 § with a stated reason, placed with a notice.
            let permit_ok = self.agency_permit_ok(&mut tx, &h).await?;
            if let Some(n) = crate::domain::restriction::check_agency_permit(
                permit_ok,
                basis,
                &req.permit_exception_reason,
            )? {
                notices.push(n.to_string());
                permit_exception = Some(h.agency_id.clone());
            }
            if placed.ivo_report {
                ivo = Some(h.placed_count);
            }
            p.receiving_municipality_code = h.municipality_code.clone();
            p.home_type = h.home_type;
            p.provider = h.provider;
            // The home is taken: its live jour flag clears itself (it sets
            // it again when it can take another child).
            if h.jour_available {
                h.jour_available = false;
                h.jour_available_updated_at = dates::now_text();
                notices.push(over_time::NOTICE_JOUR_FLAG_CLEARED.to_string());
            }
            p.custody_transfer_consideration_on = Some(dates::to_proto(
                placement::custody_transfer_consideration(since),
            ));
            let extra = unlinked(
                child.protected_identity,
                HOME_LINKS,
                json!({"placement_id": p.id, "placed_count": h.placed_count}),
            );
            self.commit_home_change(
                &mut tx,
                ctx,
                &mut h,
                HomeChange::new(
                    "home_placement_added",
                    &req.capacity_exception_reason,
                    extra,
                ),
            )
            .await?;
        } else {
            let mut u = store::units::must_get(tx.conn(), &req.unit_id).await?;
            crate::domain::restriction::check_unit_permit(&u, self.clock.today())?;
            placement::take_unit_place(&mut u)?;
            u.version += 1;
            p.receiving_municipality_code = u.municipality_code.clone();
            store::units::save(tx.conn(), &u, false).await?;
        }
        if !p.home_id.is_empty() {
            p.in_home_since = Some(dates::to_proto(since));
        }
        let known_type =
            (p.home_type != 0).then(|| HomeType::try_from(p.home_type).unwrap_or_default());
        if let Some((from, from_type)) = &transition_from {
            p.transition = Some(over_time::check_transition(
                from,
                *from_type,
                &p.home_id,
                known_type,
                start,
                req.transition.as_ref(),
            )?);
            p.transition_from_placement_id = from.id.clone();
        }
        let (na, na_notice) =
            over_time::check_network_alternative(known_type, req.network_alternative.as_ref())?;
        p.network_alternative = na;
        notices.extend(na_notice.map(str::to_string));
        let apart = self.siblings_placed_apart(tx.conn(), &child, &p).await?;
        if apart > 0 {
            p.splits_siblings = true;
            p.siblings_placed_elsewhere = apart;
            p.sibling_split_reason =
                over_time::text("sibling_split_reason", &req.sibling_split_reason, false)?;
            notices.push(over_time::NOTICE_SPLITS_SIBLINGS.to_string());
        }
        store::placements::save(tx.conn(), &p, true).await?;
        store::placements::set_created_by(tx.conn(), &p.id, &ctx.sub).await?;
        child.active_placement_id = p.id.clone();
        child.version += 1;
        store::children::save(tx.conn(), &child, false).await?;
        tx.audit(&ctx.audit("placement_created", "child", &child.id))
            .await?;
        tx.event(NewEvent::new(
            "registry.placement_created",
            "placement",
            p.id.clone(),
            unlinked(child.protected_identity, CHILD_LINKS, json!({"placement_id": p.id, "child_id": p.child_id, "home_id": p.home_id, "unit_id": p.unit_id,
                   "legal_basis": basis.as_str_name(), "placing_municipality_code": placing,
                   "start_date": dates::date_text(start), "transition_from_placement_id": p.transition_from_placement_id,
                   "splits_siblings": p.splits_siblings})),
        ))
        .await?;
        if let Some(agency_id) = permit_exception {
            // The stated reason goes to the audit log, never the event.
            let mut entry = ctx.audit("placement_permit_exception", "placement", &p.id);
            entry.reason = req.permit_exception_reason.trim().to_string();
            tx.audit(&entry).await?;
            tx.event(NewEvent::new(
                "registry.placement_permit_exception",
                "placement",
                p.id.clone(),
                unlinked(
                    child.protected_identity,
                    CHILD_LINKS,
                    json!({"placement_id": p.id, "home_id": p.home_id, "agency_id": agency_id,
                           "placing_municipality_code": placing, "legal_basis": basis.as_str_name()}),
                ),
            ))
            .await?;
        }
        if let Some(count) = ivo {
            tx.event(NewEvent::new(
                "registry.ivo_report_raised",
                "home",
                req.home_id.clone(),
                unlinked(
                    child.protected_identity,
                    HOME_LINKS,
                    json!({"home_id": req.home_id, "placed_count": count, "placement_id": p.id}),
                ),
            ))
            .await?;
        }
        let resp = tx
            .finish(
                self,
                ctx,
                CreatePlacementResponse {
                    placement: Some(p),
                    notices,
                },
            )
            .await?;
        Ok((resp, true))
    }

    pub async fn end_placement(&self, ctx: &AuthContext, req: EndPlacementRequest) -> R<Placement> {
        ids::parse_id("placement_id", &req.placement_id)?;
        let end = dates::from_proto("end_date", req.end_date.as_ref())?;
        // In another region's home: its place is freed there first, while no
        // write of this register is held (ADR 0021). Releasing is
        // idempotent: a retry after a failed write here releases nothing twice.
        if let Some(p) = store::placements::get(&self.store.read, &req.placement_id).await? {
            access::write_existing_child(ctx, "placement", &p.id, &p.placing_municipality_code)?;
            let start = dates::from_proto("start_date", p.start_date.as_ref())?;
            if !p.home_region.is_empty()
                && placement::is_active(&p)
                && end <= dates::today()
                && let Ok(reason) =
                    placement::check_end(start, end, req.end_reason, req.breakdown.as_ref())
            {
                self.release_remote(&p.home_region, &p.id, reason).await?;
            }
        }
        let mut tx = self
            .core
            .begin(ctx, "EndPlacement", &req.request_id, &req)
            .await?;
        let mut p = store::placements::must_get(tx.conn(), &req.placement_id).await?;
        access::write_existing_child(ctx, "placement", &p.id, &p.placing_municipality_code)?;
        let mut tx = samling_kit::replay!(tx, self, ctx);
        let protected_child = store::children::get(tx.conn(), &p.child_id)
            .await?
            .is_some_and(|c| c.protected_identity);
        if !placement::is_active(&p) {
            return Err(RegistryError::precondition(
                "the placement has already ended",
            ));
        }
        let start = dates::from_proto("start_date", p.start_date.as_ref())?;
        if end > dates::today() {
            return Err(RegistryError::invalid(
                "end_date",
                "must not be in the future; end the placement when it ends",
            ));
        }
        let reason = placement::check_end(start, end, req.end_reason, req.breakdown.as_ref())?;
        p.status = PlacementStatus::Ended as i32;
        p.end_date = Some(dates::to_proto(end));
        p.end_reason = reason as i32;
        p.breakdown = req.breakdown.clone();
        p.version += 1;
        // The emergency placement of a settling-in ends: the overlap is
        // known, and a short one says why (ADR 0030).
        let child_now = store::children::must_get(tx.conn(), &p.child_id).await?;
        if child_now.active_placement_id != p.id && !child_now.active_placement_id.is_empty() {
            let mut next =
                store::placements::must_get(tx.conn(), &child_now.active_placement_id).await?;
            if next.transition_from_placement_id == p.id {
                let next_start = dates::from_proto("start_date", next.start_date.as_ref())?;
                let days = over_time::settling_in_days(next_start, end);
                let why = over_time::check_settling_in(
                    days,
                    self.rules.settling_in_min_days,
                    &req.short_settling_in_reason,
                )?;
                let t = next.transition.get_or_insert_with(Default::default);
                t.settling_in_days = days;
                t.short_settling_in_reason = why.unwrap_or_default();
                next.version += 1;
                store::placements::save(tx.conn(), &next, false).await?;
            }
        }
        store::placements::save(tx.conn(), &p, false).await?;
        if !p.home_region.is_empty() {
            // Freed in the home's own register above.
        } else if !p.home_id.is_empty() {
            let mut h = store::homes::must_get(tx.conn(), &p.home_id).await?;
            placement::leave_home(&mut h, &self.rules);
            let extra = unlinked(
                protected_child,
                HOME_LINKS,
                json!({"placement_id": p.id, "placed_count": h.placed_count}),
            );
            self.commit_home_change(
                &mut tx,
                ctx,
                &mut h,
                HomeChange::new("home_placement_ended", reason.as_str_name(), extra),
            )
            .await?;
        } else {
            let mut u = store::units::must_get(tx.conn(), &p.unit_id).await?;
            placement::release_unit_place(&mut u);
            u.version += 1;
            store::units::save(tx.conn(), &u, false).await?;
        }
        let mut child = store::children::must_get(tx.conn(), &p.child_id).await?;
        if child.active_placement_id == p.id {
            // A settling-in broken off: the child is still in the emergency home.
            let back =
                match store::placements::get(tx.conn(), &p.transition_from_placement_id).await? {
                    Some(from) if placement::is_active(&from) => from.id,
                    _ => String::new(),
                };
            child.active_placement_id = back;
            child.version += 1;
            store::children::save(tx.conn(), &child, false).await?;
        }
        tx.audit(&ctx.audit("placement_ended", "child", &p.child_id))
            .await?;
        tx.event(NewEvent::new("registry.placement_ended", "placement", p.id.clone(), unlinked(protected_child, CHILD_LINKS, json!({"placement_id": p.id, "child_id": p.child_id, "home_id": p.home_id, "unit_id": p.unit_id, "end_reason": reason.as_str_name(), "end_date": dates::date_text(end)})))).await?;
        if let Some(b) = &p.breakdown {
            let reasons: Vec<&str> = b
                .reasons
                .iter()
                .map(|r| {
                    BreakdownReason::try_from(*r)
                        .unwrap_or_default()
                        .as_str_name()
                })
                .collect();
            tx.event(NewEvent::new("registry.breakdown_recorded", "placement", p.id.clone(), unlinked(protected_child, CHILD_LINKS, json!({"placement_id": p.id, "home_id": p.home_id, "reasons": reasons, "initiated_by": BreakdownInitiator::try_from(b.initiated_by).unwrap_or_default().as_str_name()})))).await?;
        }
        tx.finish(self, ctx, p).await
    }

    /// A placement as `ctx` may see it, or `None` when it may not (not
    /// audited: the caller audits what it answers). The child's and the
    /// home's current protection decide what is withheld.
    async fn placement_view(&self, ctx: &AuthContext, mut p: Placement) -> R<Option<Placement>> {
        let child_protected = self.child_protected(&p.child_id).await?;
        let home_protected = self.home_protected(&p.home_id).await?;
        let assigned = self.assigned_ombud(ctx, &p.child_id).await?;
        match access::read_placement(ctx, &p, home_protected, assigned.as_deref()) {
            Ok(()) => {}
            Err(RegistryError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        }
        let v = access::placement_view(ctx, &p, child_protected, home_protected);
        if !v.show_home {
            p.home_id.clear();
            p.unit_id.clear();
        }
        if !v.show_receiving {
            p.receiving_municipality_code.clear();
        }
        Ok(Some(p))
    }

    /// The one view of a placement for a caller (reads and answers), audited.
    pub(crate) async fn placement_for(&self, ctx: &AuthContext, p: Placement) -> R<Placement> {
        let id = p.id.clone();
        let p = self
            .placement_view(ctx, p)
            .await?
            .ok_or_else(|| access::not_found("placement", &id))?;
        self.core.audit_read(ctx, "placement", &[&p.id]).await?;
        Ok(p)
    }

    pub async fn get_placement(&self, ctx: &AuthContext, id: &str) -> R<Placement> {
        ids::parse_id("placement_id", id)?;
        let p = store::placements::must_get(&self.store.read, id).await?;
        self.placement_for(ctx, p).await
    }

    pub async fn list_placements(
        &self,
        ctx: &AuthContext,
        req: &ListPlacementsRequest,
    ) -> R<ListPlacementsResponse> {
        let page = Page::from_request(req.page.as_ref())?;
        let mut q = store::placements::Query::new(self.placement_scope(ctx).await?);
        q.child_id = req.child_id.clone();
        q.home_id = req.home_id.clone();
        q.municipality = req.municipality_code.clone();
        q.active_only = req.active_only;
        self.query_placements(ctx, &q, &page).await
    }

    /// One page of placements as the caller may see them, audited.
    pub(super) async fn query_placements(
        &self,
        ctx: &AuthContext,
        q: &store::placements::Query,
        page: &Page,
    ) -> R<ListPlacementsResponse> {
        let list = store::placements::list(&self.store.read, q, page).await?;
        let (list, page) = page.finish(list, |p| p.id.clone());
        let mut placements = Vec::with_capacity(list.len());
        for p in list {
            if let Some(p) = self.placement_view(ctx, p).await? {
                placements.push(p);
            }
        }
        let ids: Vec<&str> = placements.iter().map(|p| p.id.as_str()).collect();
        self.core.audit_read(ctx, "placement", &ids).await?;
        Ok(ListPlacementsResponse {
            placements,
            page: Some(page),
        })
    }

    pub async fn custody_transfer_due(
        &self,
        ctx: &AuthContext,
        req: &ListCustodyTransferDueRequest,
    ) -> R<ListPlacementsResponse> {
        let as_of =
            dates::opt_from_proto("as_of", req.as_of.as_ref())?.unwrap_or_else(dates::today);
        let page = Page::from_request(req.page.as_ref())?;
        let mut q = store::placements::Query::new(self.placement_scope(ctx).await?);
        q.municipality = req.municipality_code.clone();
        q.active_only = true;
        q.custody_due_by = Some(as_of);
        self.query_placements(ctx, &q, &page).await
    }

    // ------------------------------------------------- unexecuted decisions

    pub async fn report_decision(
        &self,
        ctx: &AuthContext,
        req: ReportUnexecutedDecisionRequest,
    ) -> R<UnexecutedDecision> {
        let m = municipality("municipality_code", &req.municipality_code)?;
        access::decisions(ctx, m.as_str())?;
        self.check_in_region("municipality_code", m.as_str())?;
        let typed_sex = Sex::try_from(req.sex)
            .ok()
            .filter(|s| *s != Sex::Unspecified);
        if req.child_id.is_empty() && typed_sex.is_none() {
            return Err(RegistryError::invalid(
                "sex",
                "is required when no child_id is given",
            ));
        }
        let kind = DecisionKind::try_from(req.decision_kind)
            .ok()
            .filter(|s| *s != DecisionKind::Unspecified)
            .ok_or_else(|| RegistryError::invalid("decision_kind", "is required"))?;
        let reason = UnexecutedReason::try_from(req.reason)
            .ok()
            .filter(|s| *s != UnexecutedReason::Unspecified)
            .ok_or_else(|| RegistryError::invalid("reason", "is required"))?;
        let decided = dates::from_proto("decision_date", req.decision_date.as_ref())?;
        if decided > dates::today() {
            return Err(RegistryError::invalid(
                "decision_date",
                "must not be in the future",
            ));
        }
        if !req.child_id.is_empty() {
            ids::parse_id("child_id", &req.child_id)?;
        }
        let tx = self
            .core
            .begin(ctx, "ReportUnexecutedDecision", &req.request_id, &req)
            .await?;
        let mut tx = samling_kit::replay!(tx, self, ctx);
        // Sex from the child record, never typed over it (issue 24 §7).
        let mut sex = typed_sex.unwrap_or_default();
        if !req.child_id.is_empty() {
            let c = store::children::must_get(tx.conn(), &req.child_id).await?;
            if c.placing_municipality_code != m.as_str() {
                return Err(RegistryError::invalid(
                    "child_id",
                    "the child belongs to another municipality",
                ));
            }
            let recorded = Sex::try_from(c.sex).unwrap_or_default();
            if typed_sex.is_some_and(|t| t != recorded) {
                return Err(RegistryError::invalid(
                    "sex",
                    "differs from the child record; leave it out to take the record's",
                ));
            }
            sex = recorded;
        }
        let d = UnexecutedDecision {
            id: ids::new_id_string(),
            municipality_code: m.as_str().into(),
            child_id: req.child_id.clone(),
            sex: sex as i32,
            decision_kind: kind as i32,
            decision_date: Some(dates::to_proto(decided)),
            reason: reason as i32,
            executed_on: None,
            reportable_from: Some(dates::to_proto(decisions::reportable_from(decided))),
            created_at: dates::now_text(),
        };
        self.save_decision(&mut tx, ctx, &d, true, "decision_reported")
            .await?;
        tx.finish(self, ctx, d).await
    }

    async fn save_decision(
        &self,
        tx: &mut samling_kit::tx::WriteTx,
        ctx: &AuthContext,
        d: &UnexecutedDecision,
        is_new: bool,
        change: &str,
    ) -> R<()> {
        let executed = dates::opt_from_proto("executed_on", d.executed_on.as_ref())?
            .map(dates::date_text)
            .unwrap_or_default();
        store::decisions::save(tx.conn(), d, is_new).await?;
        self.core.record(tx, ctx, change, "unexecuted_decision", &d.id, json!({"decision_id": d.id, "municipality_code": d.municipality_code, "executed_on": executed}))
            .await?;
        Ok(())
    }

    pub async fn mark_executed(
        &self,
        ctx: &AuthContext,
        req: MarkDecisionExecutedRequest,
    ) -> R<UnexecutedDecision> {
        ids::parse_id("decision_id", &req.decision_id)?;
        let on = dates::from_proto("executed_on", req.executed_on.as_ref())?;
        let mut tx = self
            .core
            .begin(ctx, "MarkDecisionExecuted", &req.request_id, &req)
            .await?;
        let mut d = store::decisions::must_get(tx.conn(), &req.decision_id).await?;
        access::existing_decision(ctx, &d.id, &d.municipality_code)?;
        let mut tx = samling_kit::replay!(tx, self, ctx);
        decisions::mark_executed(&mut d, on, dates::today())?;
        self.save_decision(&mut tx, ctx, &d, false, "decision_executed")
            .await?;
        tx.finish(self, ctx, d).await
    }

    pub async fn list_decisions(
        &self,
        ctx: &AuthContext,
        req: &ListUnexecutedDecisionsRequest,
    ) -> R<ListUnexecutedDecisionsResponse> {
        let scope = access::municipal_scope(ctx, &req.municipality_code)?;
        let page = Page::from_request(req.page.as_ref())?;
        if access::lists_assigned_only(ctx) {
            // A decision names a child: ombud see none until assigned.
            let (decisions, page) = page.finish(Vec::new(), |d: &UnexecutedDecision| d.id.clone());
            return Ok(ListUnexecutedDecisionsResponse {
                decisions,
                page: Some(page),
            });
        }
        let list = store::decisions::list(
            &self.store.read,
            &scope.unwrap_or_default(),
            req.open_only,
            &page,
        )
        .await?;
        let (decisions, page) = page.finish(list, |d| d.id.clone());
        // A decision names a child (id, sex, dates): its read is audited.
        let ids: Vec<&str> = decisions.iter().map(|d| d.id.as_str()).collect();
        self.core
            .audit_read(ctx, "unexecuted_decision", &ids)
            .await?;
        Ok(ListUnexecutedDecisionsResponse {
            decisions,
            page: Some(page),
        })
    }

    pub async fn quarterly_report(
        &self,
        ctx: &AuthContext,
        req: &GetQuarterlyReportRequest,
    ) -> R<QuarterlyReport> {
        if !req.municipality_code.is_empty() {
            municipality("municipality_code", &req.municipality_code)?;
        }
        access::quarterly_report(ctx, &req.municipality_code)?;
        let (start, end) = decisions::quarter_bounds(req.year, req.quarter)?;
        let found =
            store::decisions::decided_by(&self.store.read, &req.municipality_code, end).await?;
        let mut facts = Vec::with_capacity(found.len());
        for d in found {
            facts.push(decisions::DecisionFacts {
                sex: Sex::try_from(d.sex).unwrap_or_default(),
                kind: DecisionKind::try_from(d.decision_kind).unwrap_or_default(),
                reason: UnexecutedReason::try_from(d.reason).unwrap_or_default(),
                decision_date: dates::from_proto("decision_date", d.decision_date.as_ref())?,
                executed_on: dates::opt_from_proto("executed_on", d.executed_on.as_ref())?,
            });
        }
        let rows = decisions::quarterly_rows(&facts, start, end);
        // The form's comparison: the two quarters before, oldest first.
        let (y1, q1) = decisions::previous_quarter(req.year, req.quarter);
        let (y2, q2) = decisions::previous_quarter(y1, q1);
        let mut previous_quarters = Vec::new();
        for (y, q) in [(y2, q2), (y1, q1)] {
            let (_, e) = decisions::quarter_bounds(y, q)?;
            let n = decisions::total_not_executed(&facts, e);
            previous_quarters.push(QuarterTotal {
                year: y,
                quarter: q,
                quarter_end: Some(dates::to_proto(e)),
                total_not_executed: n,
                total_not_executed_display: n.to_string(),
            });
        }
        let mut kind_rows = decisions::kind_rows(&facts, end);
        let mut report = QuarterlyReport {
            municipality_code: req.municipality_code.clone(),
            year: req.year,
            quarter: req.quarter,
            quarter_end: Some(dates::to_proto(end)),
            total_not_executed: rows.iter().map(|r| r.not_executed).sum(),
            total_executed_late: rows.iter().map(|r| r.executed_late).sum(),
            rows,
            ..Default::default()
        };
        // The aggregate-only roles never get a raw count below 5 from a
        // region, whichever way they ask (ADR 0017); the gateway's national
        // sum asks as itself and suppresses after adding up.
        if access::suppress_small_counts(ctx) {
            disclosure::suppress_quarterly_report(&mut report);
            let cells: Vec<u32> = kind_rows.iter().map(|r| r.not_executed).collect();
            // The same total as the report's: hidden here where it is there.
            let total_hidden = report.total_not_executed_display == disclosure::HIDDEN;
            let (shown, _) = disclosure::suppress_with(
                &cells,
                cells.iter().sum(),
                &vec![false; cells.len()],
                total_hidden,
            );
            for (r, s) in kind_rows.iter_mut().zip(shown) {
                r.not_executed = s.number();
                r.not_executed_display = s.display();
            }
            for p in &mut previous_quarters {
                // One figure on its own: 1–4 is "<5".
                let n = p.total_not_executed;
                let s = if (1..disclosure::THRESHOLD).contains(&n) {
                    disclosure::Shown::Small
                } else {
                    disclosure::Shown::Count(n)
                };
                p.total_not_executed = s.number();
                p.total_not_executed_display = s.display();
            }
        } else {
            disclosure::show_quarterly_report(&mut report);
        }
        report.kind_rows = kind_rows;
        report.previous_quarters = previous_quarters;
        report.provisional = self.clock.today() <= end;
        Ok(report)
    }

    // ------------------------------------------------------------ duplicates

    pub async fn list_flags(
        &self,
        ctx: &AuthContext,
        req: &ListDuplicateFlagsRequest,
    ) -> R<ListDuplicateFlagsResponse> {
        access::manage_register(ctx)?;
        let page = Page::from_request(req.page.as_ref())?;
        let list = store::flags::list(&self.store.read, req.open_only, &page).await?;
        let (stored, page) = page.finish(list, |f| f.id.clone());
        let mut flags = Vec::with_capacity(stored.len());
        for f in stored {
            flags.push(self.flag_for(f).await?);
        }
        Ok(ListDuplicateFlagsResponse {
            flags,
            page: Some(page),
        })
    }

    pub async fn resolve_flag(
        &self,
        ctx: &AuthContext,
        req: ResolveDuplicateFlagRequest,
    ) -> R<DuplicateFlag> {
        access::manage_register(ctx)?;
        let resolution = DuplicateStatus::try_from(req.resolution)
            .ok()
            .filter(|s| {
                matches!(
                    s,
                    DuplicateStatus::ConfirmedDuplicate | DuplicateStatus::NotDuplicate
                )
            })
            .ok_or_else(|| {
                RegistryError::invalid("resolution", "must be CONFIRMED_DUPLICATE or NOT_DUPLICATE")
            })?;
        ids::parse_id("flag_id", &req.flag_id)?;
        let tx = self
            .core
            .begin(ctx, "ResolveDuplicateFlag", &req.request_id, &req)
            .await?;
        let mut tx = samling_kit::replay!(tx, self, ctx);
        let mut f = store::flags::must_get(tx.conn(), &req.flag_id).await?;
        if f.status != DuplicateStatus::Open as i32 {
            return Err(RegistryError::precondition("the flag is already resolved"));
        }
        f.status = resolution as i32;
        f.resolution_note = req.note.clone();
        store::flags::save(tx.conn(), &f, false).await?;
        self.core
            .record(
                &mut tx,
                ctx,
                "duplicate_resolved",
                &f.record_type,
                &f.record_id,
                json!({"flag_id": f.id, "status": resolution.as_str_name()}),
            )
            .await?;
        tx.finish(self, ctx, f).await
    }
}
