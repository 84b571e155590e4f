//! Placements over time (ADR 0030): custody-transfer considerations, long
//! stays in emergency homes, siblings, closing conversations and the year's
//! placement statistics. The settling-in itself is part of CreatePlacement
//! and EndPlacement (`care`).

use super::{R, Registry};
use crate::domain::access;
use crate::domain::{RegistryError, over_time};
use crate::store;
use samling_kit::auth::AuthContext;
use samling_kit::disclosure::{self, Shown};
use samling_kit::paging::Page;
use samling_kit::{dates, ids};
use samling_proto::registry::v1::*;
use serde_json::json;
use sqlx::AnyConnection;

impl Registry {
    /// The type of the home a placement is in: as recorded when it was
    /// made, else this register's home as it is now (older placements).
    pub(super) async fn placement_home_type(
        &self,
        conn: &mut AnyConnection,
        p: &Placement,
    ) -> R<HomeType> {
        if p.home_type != 0 {
            return Ok(HomeType::try_from(p.home_type).unwrap_or_default());
        }
        if p.home_id.is_empty() {
            return Ok(HomeType::Unspecified);
        }
        Ok(store::homes::get(&mut *conn, &p.home_id)
            .await?
            .map(|h| HomeType::try_from(h.home_type).unwrap_or_default())
            .unwrap_or_default())
    }

    /// How many of `child`'s siblings have an active placement somewhere
    /// other than where `p` places the child.
    pub(super) async fn siblings_placed_apart(
        &self,
        conn: &mut AnyConnection,
        child: &Child,
        p: &Placement,
    ) -> R<u32> {
        let mut apart = 0;
        for sid in &child.sibling_ids {
            let Some(s) = store::children::get(&mut *conn, sid).await? else {
                continue;
            };
            if s.active_placement_id.is_empty() {
                continue;
            }
            if let Some(sp) = store::placements::get(&mut *conn, &s.active_placement_id).await?
                && (sp.home_id != p.home_id || sp.unit_id != p.unit_id)
            {
                apart += 1;
            }
        }
        Ok(apart)
    }

    pub async fn record_custody_consideration(
        &self,
        ctx: &AuthContext,
        req: RecordCustodyConsiderationRequest,
    ) -> R<Placement> {
        ids::parse_id("placement_id", &req.placement_id)?;
        let on = dates::from_proto("considered_on", req.considered_on.as_ref())?;
        let outcome = over_time::custody_outcome(req.outcome)?;
        let decision_ref = over_time::text("decision_ref", &req.decision_ref, false)?;
        let mut tx = self
            .core
            .begin(ctx, "RecordCustodyConsideration", &req.request_id, &req)
            .await?;
        let mut p = store::placements::must_get(tx.conn(), &req.placement_id).await?;
        access::write_existing_child(ctx, "placement", &p.id, &p.placing_municipality_code)?;
        let mut tx = samling_kit::replay!(tx, self, ctx);
        over_time::check_consideration(&p, on, self.clock.today())?;
        let next =
            over_time::next_consideration(on, outcome, self.rules.custody_reconsideration_months);
        p.custody_considerations.push(CustodyConsideration {
            considered_on: Some(dates::to_proto(on)),
            outcome: outcome as i32,
            decision_ref,
            recorded_by: ctx.sub.clone(),
            next_due_on: dates::opt_to_proto(next),
        });
        // The due list reads this date: the next consideration, or none.
        p.custody_transfer_consideration_on = dates::opt_to_proto(next);
        p.version += 1;
        store::placements::save(tx.conn(), &p, false).await?;
        self.core
            .record(
                &mut tx,
                ctx,
                "custody_consideration_recorded",
                "placement",
                &p.id,
                json!({"placement_id": p.id, "child_id": p.child_id, "outcome": outcome.as_str_name(),
                       "considered_on": dates::date_text(on)}),
            )
            .await?;
        tx.finish(self, ctx, p).await
    }

    pub async fn long_jourhem_stays(
        &self,
        ctx: &AuthContext,
        req: &ListLongJourhemStaysRequest,
    ) -> R<ListPlacementsResponse> {
        let as_of = dates::opt_from_proto("as_of", req.as_of.as_ref())?
            .unwrap_or_else(|| self.clock.today());
        if req.min_days > 3650 {
            return Err(RegistryError::invalid("min_days", "is at most 3650"));
        }
        let min_days = if req.min_days == 0 {
            self.rules.jourhem_alert_days
        } else {
            req.min_days
        };
        if !req.municipality_code.is_empty() {
            samling_kit::reference::MunicipalityCode::parse(&req.municipality_code)
                .map_err(|e| RegistryError::invalid("municipality_code", e.to_string()))?;
        }
        let page = Page::from_request(req.page.as_ref())?;
        let mut q = store::placements::Query::new(self.placement_scope(ctx).await?);
        q.municipality = req.municipality_code.clone();
        q.active_only = true;
        q.home_types = vec![HomeType::EmergencyHome, HomeType::ContractedEmergencyHome];
        q.started_by = Some(as_of - chrono::Days::new(u64::from(min_days)));
        self.query_placements(ctx, &q, &page).await
    }

    pub async fn set_sibling_link(
        &self,
        ctx: &AuthContext,
        req: SetSiblingLinkRequest,
    ) -> R<Child> {
        ids::parse_id("child_id", &req.child_id)?;
        ids::parse_id("sibling_child_id", &req.sibling_child_id)?;
        if req.child_id == req.sibling_child_id {
            return Err(RegistryError::invalid(
                "sibling_child_id",
                "is the child itself",
            ));
        }
        let mut tx = self
            .core
            .begin(ctx, "SetSiblingLink", &req.request_id, &req)
            .await?;
        let mut c = store::children::must_get(tx.conn(), &req.child_id).await?;
        access::write_existing_child(ctx, "child", &c.id, &c.placing_municipality_code)?;
        let mut s = store::children::must_get(tx.conn(), &req.sibling_child_id).await?;
        access::write_existing_child(ctx, "child", &s.id, &s.placing_municipality_code)
            .map_err(|_| access::not_found("child", &req.sibling_child_id))?;
        let mut tx = samling_kit::replay!(tx, self, ctx);
        for (a, b) in [(&mut c, s.id.clone()), (&mut s, req.child_id.clone())] {
            let has = a.sibling_ids.contains(&b);
            if req.linked && !has {
                a.sibling_ids.push(b);
            } else if !req.linked && has {
                a.sibling_ids.retain(|x| *x != b);
            } else {
                continue;
            }
            a.version += 1;
            store::children::save(tx.conn(), a, false).await?;
        }
        self.core
            .record(
                &mut tx,
                ctx,
                if req.linked {
                    "siblings_linked"
                } else {
                    "siblings_unlinked"
                },
                "child",
                &c.id,
                json!({"child_id": c.id, "sibling_child_id": s.id}),
            )
            .await?;
        tx.finish(self, ctx, c).await
    }

    pub async fn record_closing_conversation(
        &self,
        ctx: &AuthContext,
        req: RecordClosingConversationRequest,
    ) -> R<Placement> {
        ids::parse_id("placement_id", &req.placement_id)?;
        let held_on = dates::from_proto("held_on", req.held_on.as_ref())?;
        let mut tx = self
            .core
            .begin(ctx, "RecordClosingConversation", &req.request_id, &req)
            .await?;
        let mut p = store::placements::must_get(tx.conn(), &req.placement_id).await?;
        access::write_existing_child(ctx, "placement", &p.id, &p.placing_municipality_code)?;
        let mut tx = samling_kit::replay!(tx, self, ctx);
        p.closing_conversation = Some(over_time::closing_conversation(
            &p,
            held_on,
            self.clock.today(),
            &req.participants,
            &req.note,
            &ctx.sub,
        )?);
        p.version += 1;
        store::placements::save(tx.conn(), &p, false).await?;
        // The note is the home's thoughts: never in the event.
        self.core
            .record(
                &mut tx,
                ctx,
                "closing_conversation_recorded",
                "placement",
                &p.id,
                json!({"placement_id": p.id, "child_id": p.child_id, "held_on": dates::date_text(held_on)}),
            )
            .await?;
        tx.finish(self, ctx, p).await
    }

    pub async fn placement_statistics(
        &self,
        ctx: &AuthContext,
        req: &GetPlacementStatisticsRequest,
    ) -> R<PlacementStatistics> {
        if !req.municipality_code.is_empty() {
            samling_kit::reference::MunicipalityCode::parse(&req.municipality_code)
                .map_err(|e| RegistryError::invalid("municipality_code", e.to_string()))?;
        }
        if !(2000..=2100).contains(&req.year) {
            return Err(RegistryError::invalid("year", "is 2000–2100"));
        }
        // Who reads which figures: as the quarterly report (ADR 0017).
        access::quarterly_report(ctx, &req.municipality_code)?;
        let year_end = chrono::NaiveDate::from_ymd_opt(req.year, 12, 31)
            .ok_or_else(|| RegistryError::invalid("year", "is not a year"))?;
        let mut list =
            store::placements::started_by(&self.store.read, &req.municipality_code, year_end)
                .await?;
        // Older placements carry no home type or provider: the home's now.
        let mut conn = self.store.read.acquire().await?;
        for p in &mut list {
            if p.home_type == 0
                && !p.home_id.is_empty()
                && let Some(h) = store::homes::get(&mut *conn, &p.home_id).await?
            {
                p.home_type = h.home_type;
                p.provider = h.provider;
            }
        }
        drop(conn);
        let (network, ends) = over_time::statistics(&list, req.year);
        let suppress = access::suppress_small_counts(ctx);
        let show = |cells: &[u32]| -> Vec<Shown> {
            if suppress {
                disclosure::suppress(cells, cells.iter().sum()).0
            } else {
                cells.iter().map(|c| Shown::Count(*c)).collect()
            }
        };
        let shown = |s: Shown| ShownCount {
            count: s.number(),
            display: s.display(),
        };
        let col = |f: &dyn Fn(&over_time::NetworkCounts) -> u32| {
            show(&network.values().map(f).collect::<Vec<_>>())
        };
        let placed = col(&|n| n.placements);
        let net = col(&|n| n.network);
        let considered = col(&|n| n.considered);
        let rows = network
            .keys()
            .enumerate()
            .map(|(i, m)| NetworkShareRow {
                municipality_code: m.clone(),
                placements: Some(shown(placed[i])),
                network_placements: Some(shown(net[i])),
                network_share_permille: match (placed[i], net[i]) {
                    (Shown::Count(p), Shown::Count(n)) if p > 0 => {
                        i32::try_from(u64::from(n) * 1000 / u64::from(p)).unwrap_or(0)
                    }
                    _ => -1,
                },
                network_considered: Some(shown(considered[i])),
            })
            .collect();
        let ecol = |f: &dyn Fn(&over_time::EndCounts) -> u32| {
            show(&ends.values().map(f).collect::<Vec<_>>())
        };
        let ended = ecol(&|e| e.ended);
        let broke = ecol(&|e| e.breakdowns);
        let custody = ecol(&|e| e.custody_transferred);
        let breakdowns = ends
            .keys()
            .enumerate()
            .map(|(i, (provider, home_type))| BreakdownRow {
                provider: *provider,
                home_type: *home_type,
                ended: Some(shown(ended[i])),
                breakdowns: Some(shown(broke[i])),
                custody_transferred: Some(shown(custody[i])),
            })
            .collect();
        Ok(PlacementStatistics {
            municipality_code: req.municipality_code.clone(),
            year: req.year,
            network: rows,
            breakdowns,
            small_counts_suppressed: suppress,
            provisional: self.clock.today() <= year_end,
        })
    }
}
