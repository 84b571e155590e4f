//! Across regions (ADR 0021): the calls another region's register makes
//! here (reserve and release a place in one of this register's homes, match
//! keyed identities), and this register's side of them (a placement in
//! another region's home, a child or adult known in another region).

use super::care::{HOME_LINKS, unlinked};
use super::{HomeChange, R, Registry};
use crate::domain::{RegistryError, access, placement};
use crate::peers::from_peer;
use crate::store;
use crate::store::regions::Occupancy;
use samling_kit::auth::AuthContext;
use samling_kit::outbox::NewEvent;
use samling_kit::reference::MunicipalityCode;
use samling_kit::{dates, ids};
use samling_proto::registry::v1::*;
use serde_json::json;

samling_kit::plain_answer! { Registry;
    ReserveHomePlaceResponse => "home_place", |_r| String::new();
    ReleaseHomePlaceResponse => "home_place", |_r| String::new();
    MatchIdentitiesResponse => "identity_match", |_r| String::new();
}

const ACTIVE: &str = "PLACEMENT_STATUS_ACTIVE";
const ENDED: &str = "PLACEMENT_STATUS_ENDED";

/// What reserving a place in another region's home answered.
pub(crate) struct Reserved {
    pub placement_id: String,
    pub region: String,
    pub answer: ReserveHomePlaceResponse,
}

fn valid_hash(h: &str) -> bool {
    h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Registry {
    fn own_region(&self) -> Option<&str> {
        self.region.as_ref().map(|r| r.as_str())
    }

    // ------------------------------------------- answered for other registers

    /// Another region's register places a child of its own in one of this
    /// register's homes: the home's rules (placeable, objection, capacity,
    /// IVO) are checked here, the place counted, and the occupancy kept
    /// without the child's identity.
    pub async fn reserve_home_place(
        &self,
        ctx: &AuthContext,
        req: ReserveHomePlaceRequest,
    ) -> R<ReserveHomePlaceResponse> {
        let from = access::peer_register(ctx, self.own_region())?.to_string();
        ids::parse_id("placement_id", &req.placement_id)?;
        ids::parse_id("home_id", &req.home_id)?;
        let placing = MunicipalityCode::parse(&req.placing_municipality_code)
            .map_err(|e| RegistryError::invalid("placing_municipality_code", e.to_string()))?;
        let start = dates::from_proto("start_date", req.start_date.as_ref())?;
        let tx = self
            .core
            .begin(ctx, "ReserveHomePlace", &req.request_id, &req)
            .await?;
        let mut tx = samling_kit::replay!(tx, self, ctx);
        if let Some(o) = store::regions::occupancy_of(tx.conn(), &req.placement_id).await? {
            // The same reservation again (a retry after a lost answer).
            if o.home_id != req.home_id || o.placing_region != from {
                return Err(RegistryError::invalid(
                    "placement_id",
                    "is already reserved for another home or region",
                ));
            }
            let h = store::homes::must_get(tx.conn(), &o.home_id).await?;
            let answer = ReserveHomePlaceResponse {
                receiving_municipality_code: h.municipality_code.clone(),
                home_protected: h.protected_identity,
                notices: Vec::new(),
                placed_count: h.placed_count,
            };
            return tx.finish(self, ctx, answer).await;
        }
        let first = store::placements::placing(tx.conn(), &req.home_id)
            .await?
            .first;
        let mut h = store::homes::must_get(tx.conn(), &req.home_id).await?;
        let placed = placement::place_in_home(
            &mut h,
            placing.as_str(),
            first.as_deref(),
            &self.rules,
            &req.capacity_exception_reason,
            dates::today(),
        )?;
        // The home's agency's IVO permit is checked where the home is (ADR 0026).
        let permit_ok = self.agency_permit_ok(&mut tx, &h).await?;
        let basis = LegalBasis::try_from(req.legal_basis).unwrap_or_default();
        let mut placed = placed;
        if let Some(n) = crate::domain::restriction::check_agency_permit(
            permit_ok,
            basis,
            &req.permit_exception_reason,
        )? {
            placed.notices.push(n.to_string());
        }
        let now = dates::now_text();
        store::regions::insert_occupancy(
            tx.conn(),
            &Occupancy {
                placement_id: req.placement_id.clone(),
                home_id: h.id.clone(),
                placing_region: from.clone(),
                placing_municipality: placing.as_str().to_string(),
                start_date: dates::date_text(start),
                status: ACTIVE.into(),
                protected_child: req.protected_child,
                vouched: req.vouched,
            },
            &now,
        )
        .await?;
        let extra = unlinked(
            req.protected_child,
            HOME_LINKS,
            json!({"placement_id": req.placement_id, "placed_count": h.placed_count, "placing_region": from}),
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
        if placed.ivo_report {
            tx.event(NewEvent::new(
                "registry.ivo_report_raised",
                "home",
                h.id.clone(),
                unlinked(
                    req.protected_child,
                    HOME_LINKS,
                    json!({"home_id": h.id, "placed_count": h.placed_count, "placement_id": req.placement_id}),
                ),
            ))
            .await?;
        }
        let answer = ReserveHomePlaceResponse {
            receiving_municipality_code: h.municipality_code.clone(),
            home_protected: h.protected_identity,
            notices: placed.notices,
            placed_count: h.placed_count,
        };
        tx.finish(self, ctx, answer).await
    }

    /// The placing register ended its placement (or never committed it):
    /// the place is free again. Releasing twice, or a place never reserved
    /// here, answers `already_released`.
    pub async fn release_home_place(
        &self,
        ctx: &AuthContext,
        req: ReleaseHomePlaceRequest,
    ) -> R<ReleaseHomePlaceResponse> {
        let from = access::peer_register(ctx, self.own_region())?.to_string();
        ids::parse_id("placement_id", &req.placement_id)?;
        let reason = EndReason::try_from(req.end_reason).unwrap_or_default();
        let tx = self
            .core
            .begin(ctx, "ReleaseHomePlace", &req.request_id, &req)
            .await?;
        let mut tx = samling_kit::replay!(tx, self, ctx);
        let o = store::regions::occupancy_of(tx.conn(), &req.placement_id)
            .await?
            .filter(|o| o.placing_region == from);
        let Some(o) = o else {
            let answer = ReleaseHomePlaceResponse {
                placed_count: 0,
                already_released: true,
            };
            return tx.finish(self, ctx, answer).await;
        };
        let mut h = store::homes::must_get(tx.conn(), &o.home_id).await?;
        if o.status == ENDED {
            let answer = ReleaseHomePlaceResponse {
                placed_count: h.placed_count,
                already_released: true,
            };
            return tx.finish(self, ctx, answer).await;
        }
        placement::leave_home(&mut h, &self.rules);
        store::regions::release_occupancy(tx.conn(), &o.placement_id, &dates::now_text()).await?;
        let extra = unlinked(
            o.protected_child,
            HOME_LINKS,
            json!({"placement_id": o.placement_id, "placed_count": h.placed_count, "placing_region": from}),
        );
        self.commit_home_change(
            &mut tx,
            ctx,
            &mut h,
            HomeChange::new("home_placement_ended", reason.as_str_name(), extra),
        )
        .await?;
        let answer = ReleaseHomePlaceResponse {
            placed_count: h.placed_count,
            already_released: false,
        };
        tx.finish(self, ctx, answer).await
    }

    /// Which of this register's children (or adults of homes not ended)
    /// have one of the keyed hashes; each match is flagged here as well,
    /// naming the asking region's record.
    pub async fn match_identities(
        &self,
        ctx: &AuthContext,
        req: MatchIdentitiesRequest,
    ) -> R<MatchIdentitiesResponse> {
        let from = access::peer_register(ctx, self.own_region())?.to_string();
        let kind = IdentityKind::try_from(req.kind)
            .ok()
            .filter(|k| *k != IdentityKind::Unspecified)
            .ok_or_else(|| RegistryError::invalid("kind", "is required"))?;
        ids::parse_id("record_id", &req.record_id)?;
        if req.identity_hashes.is_empty() || req.identity_hashes.len() > 50 {
            return Err(RegistryError::invalid(
                "identity_hashes",
                "give 1–50 hashes",
            ));
        }
        if !req.identity_hashes.iter().all(|h| valid_hash(h)) {
            return Err(RegistryError::invalid(
                "identity_hashes",
                "each is 64 hexadecimal characters (HMAC-SHA-256)",
            ));
        }
        let tx = self
            .core
            .begin(ctx, "MatchIdentities", &req.request_id, &req)
            .await?;
        let mut tx = samling_kit::replay!(tx, self, ctx);
        let (record_type, dup) = match kind {
            IdentityKind::Child => ("child", DuplicateKind::SameChildTwice),
            _ => ("home", DuplicateKind::SameAdultInTwoHomes),
        };
        let mut found: Vec<String> = Vec::new();
        for hash in &req.identity_hashes {
            for id in store::regions::with_identity(tx.conn(), hash, record_type).await? {
                if found.contains(&id) {
                    continue;
                }
                if kind == IdentityKind::Adult && !self.home_has_adult(tx.conn(), &id, hash).await?
                {
                    continue;
                }
                found.push(id);
            }
        }
        let mut matches = Vec::with_capacity(found.len());
        for id in found {
            self.write_flags_in(
                &mut tx,
                &id,
                vec![(dup, record_type, req.record_id.clone())],
                &from,
            )
            .await?;
            matches.push(IdentityMatch {
                record_type: record_type.into(),
                record_id: id,
            });
        }
        tx.finish(self, ctx, MatchIdentitiesResponse { matches })
            .await
    }

    /// The home has not ended and an adult in it has `hash` (a member
    /// removed since it was indexed does not count).
    async fn home_has_adult(
        &self,
        conn: &mut sqlx::AnyConnection,
        home_id: &str,
        hash: &str,
    ) -> R<bool> {
        let Some(h) = store::homes::get(&mut *conn, home_id).await? else {
            return Ok(false);
        };
        if h.status == HomeStatus::Ended as i32 {
            return Ok(false);
        }
        Ok(adult_pnrs(&h)
            .iter()
            .any(|p| self.peers.identity_hash(p).as_deref() == Some(hash)))
    }

    // --------------------------------------------------- this register's side

    /// A placement's place in another region's home, reserved there before
    /// this register writes the placement; `None` for this register's home
    /// or unit (or when no other register is known: then the home is
    /// simply not found here).
    pub(crate) async fn reserve_for(
        &self,
        ctx: &AuthContext,
        req: &CreatePlacementRequest,
    ) -> R<Option<Reserved>> {
        if req.home_id.is_empty() {
            return Ok(None);
        }
        if !req.home_region.is_empty() {
            self.regions
                .parse_region(&req.home_region)
                .map_err(|e| RegistryError::invalid("home_region", e.to_string()))?;
            if self.own_region() == Some(req.home_region.as_str()) {
                return Ok(None);
            }
        } else if self.peers.regions().is_empty()
            || store::homes::get(&self.store.read, &req.home_id)
                .await?
                .is_some()
        {
            return Ok(None);
        }
        // The child as the write checks it again: nobody reserves a place
        // for a child they may not place (the same 404 as the write's).
        let child = store::children::must_get(&self.store.read, &req.child_id).await?;
        access::write_existing_child(ctx, "child", &child.id, &child.placing_municipality_code)?;
        self.check_in_region("child_id", &child.placing_municipality_code)?;
        let registered_by = store::children::registered_by(&self.store.read, &child.id).await?;
        let placement_id = ids::new_id_string();
        let reserve = ReserveHomePlaceRequest {
            request_id: format!("reserve-{placement_id}"),
            placement_id,
            home_id: req.home_id.clone(),
            placing_municipality_code: child.placing_municipality_code.clone(),
            start_date: req.start_date,
            protected_child: child.protected_identity,
            capacity_exception_reason: req.capacity_exception_reason.clone(),
            vouched: registered_by.is_empty() || registered_by != ctx.sub,
            legal_basis: req.legal_basis,
            permit_exception_reason: req.permit_exception_reason.clone(),
        };
        self.reserve_remote(&req.home_region, reserve)
            .await
            .map(Some)
    }

    /// Release a reservation this register did not write a placement for
    /// (its write failed, or the request was a replay). Best effort: a
    /// failure is logged with the region and placement id only.
    pub(crate) async fn undo_reservation(&self, r: &Reserved) {
        if let Err(e) = self
            .release_remote(&r.region, &r.placement_id, EndReason::Unspecified)
            .await
        {
            tracing::warn!(region = %r.region, placement_id = %r.placement_id, error = %e,
                "a reserved place in another region's home was not released");
        }
    }

    /// Reserve a place in another region's home `home_id` for placement
    /// `placement_id`: in `hint`'s register when given, else in the first
    /// other register that has the home.
    pub(crate) async fn reserve_remote(
        &self,
        hint: &str,
        req: ReserveHomePlaceRequest,
    ) -> R<Reserved> {
        let own = self.own_region().unwrap_or_default().to_string();
        let regions: Vec<String> = if hint.is_empty() {
            self.peers.regions()
        } else {
            if !self.peers.knows(hint) {
                return Err(RegistryError::invalid(
                    "home_region",
                    format!("no register of region {hint} is known here"),
                ));
            }
            vec![hint.to_string()]
        };
        let mut unreachable = None;
        for region in regions {
            let mut c = match self.peers.client(&region, &own).await {
                Ok(c) => c,
                Err(e) => {
                    unreachable = Some(e);
                    continue;
                }
            };
            let r = c.request(req.clone());
            match c.raw().reserve_home_place(r).await {
                Ok(answer) => {
                    return Ok(Reserved {
                        placement_id: req.placement_id.clone(),
                        region,
                        answer: answer.into_inner(),
                    });
                }
                Err(s) if s.code() == tonic::Code::NotFound => continue,
                Err(s) => {
                    let e = from_peer(&region, s);
                    if matches!(
                        samling_kit::error::ServiceError::code(&e),
                        samling_kit::error::ErrorCode::Unavailable
                    ) {
                        unreachable = Some(e);
                        continue;
                    }
                    return Err(e);
                }
            }
        }
        Err(unreachable.unwrap_or_else(|| access::not_found("home", &req.home_id)))
    }

    /// Free the place of `placement_id` in `region`'s home.
    pub(crate) async fn release_remote(
        &self,
        region: &str,
        placement_id: &str,
        reason: EndReason,
    ) -> R<ReleaseHomePlaceResponse> {
        let own = self.own_region().unwrap_or_default().to_string();
        let mut c = self.peers.client(region, &own).await?;
        let r = c.request(ReleaseHomePlaceRequest {
            // No request id: releasing is idempotent by the occupancy itself, and a
            // retried end may state another reason.
            request_id: String::new(),
            placement_id: placement_id.into(),
            end_reason: reason as i32,
        });
        c.raw()
            .release_home_place(r)
            .await
            .map(tonic::Response::into_inner)
            .map_err(|s| from_peer(region, s))
    }

    /// After the write that registered `record_id` committed (no write of
    /// this register is held while others are asked): ask every other
    /// register for its keyed identities and flag what they know, in a
    /// write of its own; they flag it on their side. A register that does
    /// not answer is named in the log (its region, no identity) and
    /// skipped: registration does not wait for it.
    pub(crate) async fn check_other_regions(
        &self,
        kind: IdentityKind,
        record_id: &str,
        hashes: Vec<String>,
    ) -> R<Vec<DuplicateFlag>> {
        let regions = self.peers.regions();
        if hashes.is_empty() || regions.is_empty() {
            return Ok(Vec::new());
        }
        // Checks a register missed before, now that one is being made.
        if let Err(e) = self.retry_identity_checks(10).await {
            tracing::warn!(error = %e, "the missed duplicate checks were not asked again");
        }
        Ok(self
            .ask_regions(kind, record_id, &hashes, regions, false)
            .await?
            .0)
    }

    /// [`Self::check_other_regions`] after a write that has committed: its
    /// failure (a store fault writing the flags) is logged, never the
    /// answer to a write that happened.
    pub(crate) async fn flags_from_other_regions(
        &self,
        kind: IdentityKind,
        record_id: &str,
        hashes: Vec<String>,
    ) -> Vec<DuplicateFlag> {
        match self.check_other_regions(kind, record_id, hashes).await {
            Ok(flags) => flags,
            Err(e) => {
                tracing::warn!(error = %e, "the duplicate check with other regions failed");
                Vec::new()
            }
        }
    }

    /// Ask the other registers again about records they did not answer
    /// for (up to `limit`), flagging what they know now. Returns how many
    /// checks were answered.
    pub async fn retry_identity_checks(&self, limit: i64) -> R<usize> {
        let pending = store::regions::pending_checks(&self.store.read, limit).await?;
        let mut answered = 0;
        for (record_type, record_id, region) in pending {
            let kind = if record_type == "child" {
                IdentityKind::Child
            } else {
                IdentityKind::Adult
            };
            let hashes =
                store::regions::hashes_of(&self.store.read, &record_type, &record_id).await?;
            let (_, n) = self
                .ask_regions(kind, &record_id, &hashes, vec![region], true)
                .await?;
            answered += n;
        }
        Ok(answered)
    }

    /// Ask `regions` about `record_id`'s keyed identities; flag what they
    /// know; note the ones that did not answer, to ask again (and, when
    /// `retrying`, forget the ones that did). The flags and how many answered.
    async fn ask_regions(
        &self,
        kind: IdentityKind,
        record_id: &str,
        hashes: &[String],
        regions: Vec<String>,
        retrying: bool,
    ) -> R<(Vec<DuplicateFlag>, usize)> {
        let (record_type, dup) = match kind {
            IdentityKind::Child => ("child", DuplicateKind::SameChildTwice),
            _ => ("home", DuplicateKind::SameAdultInTwoHomes),
        };
        let own = self.own_region().unwrap_or_default().to_string();
        let asks = regions.into_iter().map(|region| {
            let req = MatchIdentitiesRequest {
                request_id: String::new(),
                kind: kind as i32,
                record_id: record_id.into(),
                identity_hashes: hashes.to_vec(),
            };
            let own = own.clone();
            async move {
                let out = async {
                    let mut c = self.peers.client(&region, &own).await?;
                    let r = c.request(req);
                    c.raw()
                        .match_identities(r)
                        .await
                        .map(tonic::Response::into_inner)
                        .map_err(|s| from_peer(&region, s))
                }
                .await;
                (region, out)
            }
        });
        let mut found = Vec::new();
        let mut answered = Vec::new();
        let mut missed = Vec::new();
        for (region, out) in futures::future::join_all(asks).await {
            match out {
                Ok(answer) => {
                    found.extend(
                        answer
                            .matches
                            .into_iter()
                            .filter(|m| m.record_type == record_type)
                            .map(|m| (region.clone(), m.record_id)),
                    );
                    answered.push(region);
                }
                Err(e) => {
                    tracing::warn!(%region, error = %e, "a register did not answer the duplicate check; it is asked again later");
                    self.peers.mark_down(&region);
                    missed.push(region);
                }
            }
        }
        if found.is_empty() && missed.is_empty() && !retrying {
            return Ok((Vec::new(), answered.len()));
        }
        let mut tx = self.store.begin_write().await?;
        let mut flags = Vec::new();
        for (region, other) in found {
            flags.extend(
                self.write_flags_in(&mut tx, record_id, vec![(dup, record_type, other)], &region)
                    .await?,
            );
        }
        let now = dates::now_text();
        for region in &missed {
            store::regions::add_pending_check(tx.conn(), record_type, record_id, region, &now)
                .await?;
        }
        if retrying {
            for region in &answered {
                store::regions::remove_pending_check(tx.conn(), record_type, record_id, region)
                    .await?;
            }
        }
        tx.commit(&self.feed).await?;
        Ok((flags, answered.len()))
    }

    /// Index the keyed hashes of the children and homes written before
    /// there was a national identity key (or before ADR 0021), so other
    /// regions find them. Run when the register opens; nothing to do once
    /// done. Returns how many records were indexed.
    pub async fn index_identities(&self) -> R<usize> {
        if self.peers.identity_hash("").is_none() {
            return Ok(0);
        }
        let children = store::regions::children_unindexed(&self.store.read).await?;
        let homes = store::regions::homes_unindexed(&self.store.read).await?;
        let mut rows: Vec<(String, &str, String)> = Vec::new();
        for (id, pnr) in children {
            if let Some(h) = self.peers.identity_hash(&pnr) {
                rows.push((h, "child", id));
            }
        }
        for home in &homes {
            for h in self.adult_hashes(home) {
                rows.push((h, "home", home.id.clone()));
            }
        }
        if rows.is_empty() {
            return Ok(0);
        }
        let mut tx = self.store.begin_write().await?;
        let mut records = std::collections::BTreeSet::new();
        for (hash, record_type, id) in &rows {
            store::regions::index_identity(tx.conn(), hash, record_type, id).await?;
            records.insert(id.as_str());
        }
        tx.commit(&self.feed).await?;
        Ok(records.len())
    }

    /// The keyed hashes of a home's adults (none without a national key).
    pub(crate) fn adult_hashes(&self, h: &Home) -> Vec<String> {
        let mut out: Vec<String> = adult_pnrs(h)
            .iter()
            .filter_map(|p| self.peers.identity_hash(p))
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

/// The canonical personnummer of a home's adults.
fn adult_pnrs(h: &Home) -> Vec<String> {
    h.members
        .iter()
        .filter(|m| m.role == MemberRole::Carer as i32 || m.role == MemberRole::OtherAdult as i32)
        .filter(|m| !m.personnummer.is_empty())
        .filter_map(|m| samling_kit::personnummer::Personnummer::parse(&m.personnummer).ok())
        .map(|p| p.canonical().to_string())
        .collect()
}
