//! Negative and protective decisions (ADR 0026): restrictions recorded and
//! lifted with reasons, the home's notices, the placing municipalities
//! told, and the IVO permits placements need.

use super::care::unlinked;
use super::{R, Registry};
use crate::domain::restriction::{self, ValidRestriction};
use crate::domain::{RegistryError, access};
use crate::store;
use samling_kit::auth::AuthContext;
use samling_kit::outbox::NewEvent;
use samling_kit::paging::Page;
use samling_kit::reference::MunicipalityCode;
use samling_kit::tx::WriteTx;
use samling_kit::{dates, ids};
use samling_proto::registry::v1::*;
use serde_json::json;

/// What the placing municipalities are told of (`cause` in the event).
pub(crate) const CAUSE_RESTRICTED: &str = "home_restricted";
pub(crate) const CAUSE_PERMIT_INVALID: &str = "agency_permit_invalid";

/// Keys of a notification event that link a protected child to a home.
const PROTECTED_CHILD_LINKS: &[&str] = &["home_id", "agency_id", "placing_municipality_code"];

impl Registry {
    pub async fn record_restriction(
        &self,
        ctx: &AuthContext,
        req: RecordRestrictionRequest,
    ) -> R<Home> {
        let m = MunicipalityCode::parse(&req.municipality_code)
            .map_err(|e| RegistryError::invalid("municipality_code", e.to_string()))?;
        // The role half: the office, or a manager for its own nämnd.
        access::record_approval(ctx, m.as_str())?;
        let decided = dates::from_proto("decision_date", req.decision_date.as_ref())?;
        let until = dates::opt_from_proto("suspended_until", req.suspended_until.as_ref())?;
        let v = restriction::validate(
            req.kind,
            decided,
            until,
            &req.decision_ref,
            &req.reasons,
            &req.how_to_appeal,
            self.clock.today(),
        )?;
        ids::parse_id("home_id", &req.home_id)?;
        let mut tx = self
            .core
            .begin(ctx, "RecordRestriction", &req.request_id, &req)
            .await?;
        let current = store::homes::must_get(tx.conn(), &req.home_id).await?;
        // A nämnd decides on a home it has a documented link to (the home's
        // municipality, its assessment, its approval), as for approvals.
        access::approval_link(ctx, &current, m.as_str())?;
        let mut tx = samling_kit::replay!(tx, self, ctx);
        let h = self
            .restrict(&mut tx, ctx, &req.home_id, m.as_str(), &v)
            .await?;
        tx.finish(self, ctx, h).await
    }

    async fn restrict(
        &self,
        tx: &mut WriteTx,
        ctx: &AuthContext,
        home_id: &str,
        municipality: &str,
        v: &ValidRestriction,
    ) -> R<Home> {
        let now = dates::instant_text(self.clock.now());
        let r = Restriction {
            id: ids::new_id_string(),
            kind: v.kind as i32,
            municipality_code: municipality.into(),
            decision_date: Some(dates::to_proto(v.decision_date)),
            decision_ref: v.decision_ref.clone(),
            reasons: v.reasons.clone(),
            suspended_until: dates::opt_to_proto(v.suspended_until),
            in_force: true,
            recorded_by: ctx.sub.clone(),
            notice_id: ids::new_id_string(),
            ..Default::default()
        };
        let reason = format!("nämnd decision {}", v.decision_ref);
        let rid = r.id.clone();
        let notice_id = r.notice_id.clone();
        let h = self
            .change_home(tx, ctx, home_id, "home_restricted", &reason, |h| {
                restriction::record(h, r)?;
                Ok(
                    json!({"restriction_id": rid, "restriction_kind": v.kind.as_str_name(),
                          "deciding_municipality": municipality, "notice_id": notice_id,
                          "placement_blocked": h.placement_blocked}),
                )
            })
            .await?;
        let notice = HomeNotice {
            id: notice_id,
            home_id: h.id.clone(),
            restriction_id: rid,
            kind: v.kind as i32,
            municipality_code: municipality.into(),
            decision_date: Some(dates::to_proto(v.decision_date)),
            decision_ref: v.decision_ref.clone(),
            reasons: v.reasons.clone(),
            how_to_appeal: v.how_to_appeal.clone(),
            appeal_by: Some(dates::to_proto(
                self.clock.today() + chrono::Days::new(restriction::APPEAL_DAYS),
            )),
            issued_at: now,
            issued_by: ctx.sub.clone(),
            event: "restriction_recorded".into(),
        };
        store::notices::insert(tx.conn(), &notice).await?;
        self.notify_placing(tx, &h, CAUSE_RESTRICTED, v.kind.as_str_name())
            .await?;
        Ok(h)
    }

    pub async fn lift_restriction(
        &self,
        ctx: &AuthContext,
        req: LiftRestrictionRequest,
    ) -> R<Home> {
        ids::parse_id("home_id", &req.home_id)?;
        ids::parse_id("restriction_id", &req.restriction_id)?;
        let reason = restriction::decision_text("reason", &req.reason, 2000)?;
        let mut tx = self
            .core
            .begin(ctx, "LiftRestriction", &req.request_id, &req)
            .await?;
        let current = store::homes::must_get(tx.conn(), &req.home_id).await?;
        let deciding = current
            .restrictions
            .iter()
            .find(|r| r.id == req.restriction_id)
            .map(|r| r.municipality_code.clone())
            .unwrap_or_default();
        access::lift_restriction(ctx, &deciding)?;
        let mut tx = samling_kit::replay!(tx, self, ctx);
        let h = self
            .lift_in(&mut tx, ctx, &req.home_id, &req.restriction_id, &reason, "")
            .await?;
        tx.finish(self, ctx, h).await
    }

    /// Lift a restriction inside a write (its own body's act, or an appeal
    /// upheld by the national reviewer: `how_to_appeal` then says how the
    /// reviewer's decision is appealed further), with a notice to the home.
    pub(crate) async fn lift_in(
        &self,
        tx: &mut WriteTx,
        ctx: &AuthContext,
        home_id: &str,
        restriction_id: &str,
        reason: &str,
        how_to_appeal: &str,
    ) -> R<Home> {
        let now = dates::instant_text(self.clock.now());
        let mut lifted = None;
        // The version's reason names the act; the stated reason stays in the
        // restriction (shown with personal data) and the home's notice.
        let why = format!("restriction {restriction_id} lifted");
        let h = self
            .change_home(tx, ctx, home_id, "home_restriction_lifted", &why, |h| {
                let r = restriction::lift(h, restriction_id, reason, &now)?;
                let kind = RestrictionKind::try_from(r.kind).unwrap_or_default();
                let extra = json!({"restriction_id": r.id, "restriction_kind": kind.as_str_name(),
                                   "placement_blocked": h.placement_blocked});
                lifted = Some(r);
                Ok(extra)
            })
            .await?;
        let r = lifted.unwrap_or_default();
        let notice = HomeNotice {
            id: ids::new_id_string(),
            home_id: h.id.clone(),
            restriction_id: r.id.clone(),
            kind: r.kind,
            municipality_code: r.municipality_code.clone(),
            decision_date: Some(dates::to_proto(self.clock.today())),
            decision_ref: r.decision_ref.clone(),
            reasons: reason.to_string(),
            how_to_appeal: how_to_appeal.to_string(),
            appeal_by: None,
            issued_at: now,
            issued_by: ctx.sub.clone(),
            event: "restriction_lifted".into(),
        };
        store::notices::insert(tx.conn(), &notice).await?;
        Ok(h)
    }

    pub async fn list_home_notices(
        &self,
        ctx: &AuthContext,
        req: &ListHomeNoticesRequest,
    ) -> R<ListHomeNoticesResponse> {
        let scope = access::read_notices(ctx, &req.home_id)?;
        ids::parse_id("home_id", &req.home_id)?;
        let home = store::homes::must_get(&self.store.read, &req.home_id).await?;
        let own = match &scope {
            access::NoticeScope::All => String::new(),
            access::NoticeScope::Municipality(m) => m.clone(),
        };
        let page = Page::from_request(req.page.as_ref())?;
        let list = store::notices::list(&self.store.read, &req.home_id, &own, &page).await?;
        if !own.is_empty() && list.is_empty() && page.after.is_none() {
            // A municipality reads the notices of its own nämnd's
            // decisions, nothing of another's.
            return Err(RegistryError::forbidden(
                "your role may not read this home's notices: none is of your municipality's decisions",
            ));
        }
        let (mut notices, page) = page.finish(list, |n| n.id.clone());
        // A protected home's deciding nämnd points at where it is: only the
        // office, the home and that nämnd itself see it.
        let sees_location = matches!(
            ctx.role,
            samling_kit::auth::Role::RegionalOfficer | samling_kit::auth::Role::Service
        ) || (ctx.role == samling_kit::auth::Role::FamilyHome
            && ctx.is_party(&home.id));
        if home.protected_identity && !sees_location {
            for n in &mut notices {
                if n.municipality_code != own {
                    n.municipality_code.clear();
                }
            }
        }
        let ids: Vec<&str> = notices.iter().map(|n| n.id.as_str()).collect();
        self.core.audit_read(ctx, "home_notice", &ids).await?;
        Ok(ListHomeNoticesResponse {
            notices,
            page: Some(page),
        })
    }

    /// Tell the municipalities with a child placed in `home` (this
    /// register's placements and other regions' occupancies) that it no
    /// longer takes placements: one `registry.placement_home_restricted`
    /// event per active placement, ids and codes only; nothing linking a
    /// protected child to the home.
    pub(crate) async fn notify_placing(
        &self,
        tx: &mut WriteTx,
        home: &Home,
        cause: &str,
        detail: &str,
    ) -> R<u32> {
        let mut n = 0;
        for p in store::placements::active_in_home(tx.conn(), &home.id).await? {
            let protected = store::children::get(tx.conn(), &p.child_id)
                .await?
                .is_some_and(|c| c.protected_identity);
            let payload = unlinked(
                protected,
                PROTECTED_CHILD_LINKS,
                json!({"placement_id": p.id, "home_id": home.id, "agency_id": home.agency_id,
                       "placing_municipality_code": p.placing_municipality_code,
                       "cause": cause, "detail": detail}),
            );
            tx.event(NewEvent::new(
                "registry.placement_home_restricted",
                "placement",
                p.id.clone(),
                payload,
            ))
            .await?;
            n += 1;
        }
        for o in store::regions::occupancies(tx.conn(), &home.id).await? {
            if o.status != PlacementStatus::Active.as_str_name() {
                continue;
            }
            let payload = unlinked(
                o.protected_child,
                PROTECTED_CHILD_LINKS,
                json!({"placement_id": o.placement_id, "home_id": home.id, "agency_id": home.agency_id,
                       "placing_region": o.placing_region,
                       "placing_municipality_code": o.placing_municipality,
                       "cause": cause, "detail": detail}),
            );
            tx.event(NewEvent::new(
                "registry.placement_home_restricted",
                "placement",
                o.placement_id.clone(),
                payload,
            ))
            .await?;
            n += 1;
        }
        Ok(n)
    }

    /// An agency's permit stopped being valid: every placement in its
    /// homes is notified (its placing municipality must act).
    pub(crate) async fn notify_agency_permit_invalid(
        &self,
        tx: &mut WriteTx,
        agency_id: &str,
    ) -> R<u32> {
        let mut n = 0;
        for id in store::homes::ids_with_agency(tx.conn(), agency_id).await? {
            let h = store::homes::must_get(tx.conn(), &id).await?;
            n += self
                .notify_placing(tx, &h, CAUSE_PERMIT_INVALID, "ivo_permit")
                .await?;
        }
        Ok(n)
    }

    /// Is the IVO permit of the agency supporting `home` in force today?
    /// True for a home without an agency.
    pub(crate) async fn agency_permit_ok(&self, tx: &mut WriteTx, home: &Home) -> R<bool> {
        if home.agency_id.is_empty() {
            return Ok(true);
        }
        let a = store::agencies::get(tx.conn(), &home.agency_id).await?;
        Ok(restriction::permit_in_force(
            a.as_ref().and_then(|a| a.permit.as_ref()),
            self.clock.today(),
        ))
    }

    /// Homes' summaries flagged where their agency's permit is not valid
    /// (one lookup per distinct agency).
    pub(crate) async fn flag_agency_permits(&self, homes: &mut [HomeSummary]) -> R<()> {
        // (permit in force, latest inspection found remarks) per agency.
        let mut known: std::collections::HashMap<String, (bool, bool)> = Default::default();
        let today = self.clock.today();
        for h in homes.iter_mut() {
            if h.agency_id.is_empty() {
                continue;
            }
            let (ok, remarks) = match known.get(&h.agency_id) {
                Some(k) => *k,
                None => {
                    let a = store::agencies::get(&self.store.read, &h.agency_id).await?;
                    let k = (
                        restriction::permit_in_force(
                            a.as_ref().and_then(|a| a.permit.as_ref()),
                            today,
                        ),
                        a.as_ref().is_some_and(|a| {
                            crate::domain::evidence::latest_remarks(&a.inspections)
                        }),
                    );
                    known.insert(h.agency_id.clone(), k);
                    k
                }
            };
            h.agency_permit_invalid = !ok;
            // IVO's remarks on the home's agency reach matching too (ADR 0029).
            h.inspection_remarks |= remarks;
        }
        Ok(())
    }
}
