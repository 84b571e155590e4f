//! Network homes (nätverkshem): placement needs, the alternatives looked into, the network-home track.
//!
//! A municipality opens a placement need for its own child (the registry's
//! child id only, never a personnummer), records the network alternatives it
//! looked into (by relation and outcome, no names), and starts the
//! network-home track for one it pursues: a case with the shorter deadlines
//! and the other check order (`domain::pipeline`, `domain::network`). The
//! office does the same for any municipality of its region.

use super::office::{for_municipality, list_scope, see_municipal};
use super::{R, Recruitment};
use crate::domain::RecruitmentError;
use crate::domain::inquiry::{self, NewCase};
use crate::domain::network;
use crate::domain::text::id;
use crate::store;
use samling_kit::auth::{AuthContext, Role};
use samling_kit::dates;
use samling_kit::ids::new_id_string;
use samling_kit::paging::Page;
use samling_kit::service::Service;
use samling_proto::recruitment::v1::*;
use serde_json::json;

/// Placement needs are the office's and the municipalities' work only.
fn needs_role(ctx: &AuthContext, what: &str) -> R<()> {
    match ctx.role {
        Role::RegionalOfficer | Role::Service => Ok(()),
        r if r.is_municipal() => Ok(()),
        _ => Err(RecruitmentError::Kit(
            samling_kit::error::KitError::refused(
                samling_kit::error::Reason::ForbiddenRole,
                format!("a {} may not {what}", ctx.role.as_str()),
            ),
        )),
    }
}

impl Recruitment {
    pub async fn open_placement_need(
        &self,
        ctx: &AuthContext,
        req: OpenPlacementNeedRequest,
    ) -> R<PlacementNeed> {
        for_municipality(ctx, &req.municipality_code, "open placement needs")?;
        let municipality = self.in_region("municipality_code", &req.municipality_code)?;
        let needed_by = dates::opt_from_proto("needed_by", req.needed_by.as_ref())?;
        let need = network::open_need(
            &new_id_string(),
            municipality.as_str(),
            &req.child_id,
            needed_by,
            &self.region_id_of(municipality),
            self.today(),
            &self.now_text(),
        )?;
        let tx = self
            .core()
            .begin(ctx, "OpenPlacementNeed", &req.request_id, &req)
            .await?;
        let mut tx = samling_kit::replay!(tx, self, ctx);
        store::needs::save(tx.conn(), &need, true).await?;
        self.core()
            .record(
                &mut tx,
                ctx,
                "placement_need_opened",
                "placement_need",
                &need.id,
                json!({"placement_need_id": need.id, "municipality_code": need.municipality_code}),
            )
            .await?;
        tx.finish(self, ctx, need).await
    }

    pub async fn get_placement_need(
        &self,
        ctx: &AuthContext,
        req: GetPlacementNeedRequest,
    ) -> R<PlacementNeed> {
        needs_role(ctx, "read placement needs")?;
        let need_id = id("placement_need_id", &req.placement_need_id)?;
        let need = store::needs::get(&self.store.read, &need_id)
            .await?
            .ok_or_else(|| RecruitmentError::not_found(format!("placement need {need_id}")))?;
        see_municipal(ctx, &need.municipality_code, "placement need", &need.id)?;
        self.core()
            .audit_read(ctx, "placement_need", &[&need.id])
            .await?;
        Ok(need)
    }

    pub async fn list_placement_needs(
        &self,
        ctx: &AuthContext,
        req: ListPlacementNeedsRequest,
    ) -> R<ListPlacementNeedsResponse> {
        let municipality = list_scope(ctx, &req.municipality_code, "list placement needs")?;
        let page = Page::from_request(req.page.as_ref())?;
        let rows =
            store::needs::list(&self.store.read, &municipality, req.open_only, &page).await?;
        let (needs, page) = page.finish(rows, |n| n.id.clone());
        let ids: Vec<&str> = needs.iter().map(|n| n.id.as_str()).collect();
        self.core().audit_read(ctx, "placement_need", &ids).await?;
        Ok(ListPlacementNeedsResponse {
            needs,
            page: Some(page),
        })
    }

    pub async fn record_network_alternative(
        &self,
        ctx: &AuthContext,
        req: RecordNetworkAlternativeRequest,
    ) -> R<PlacementNeed> {
        needs_role(ctx, "record network alternatives")?;
        let need_id = id("placement_need_id", &req.placement_need_id)?;
        let mut tx = self
            .core()
            .begin(ctx, "RecordNetworkAlternative", &req.request_id, &req)
            .await?;
        let need = store::needs::get(tx.conn(), &need_id)
            .await?
            .ok_or_else(|| RecruitmentError::not_found(format!("placement need {need_id}")))?;
        see_municipal(ctx, &need.municipality_code, "placement need", &need.id)?;
        let mut tx = samling_kit::replay!(tx, self, ctx);
        let alt = NetworkAlternative {
            id: new_id_string(),
            relation: req.relation,
            outcome: req.outcome,
            considered_on: req.considered_on,
            document_ref: req.document_ref.clone(),
            case_id: String::new(),
        };
        let mut n = network::record_alternative(&need, alt, self.today())?;
        n.version += 1;
        store::needs::save(tx.conn(), &n, false).await?;
        let a = n.alternatives.last().cloned().unwrap_or_default();
        self.core()
            .record(
                &mut tx,
                ctx,
                "network_alternative_recorded",
                "placement_need",
                &n.id,
                json!({"placement_need_id": n.id, "alternative_id": a.id,
                       "relation": a.relation().as_str_name(), "outcome": a.outcome().as_str_name()}),
            )
            .await?;
        tx.finish(self, ctx, n).await
    }

    /// The network-home track for an alternative that is pursued: a case in
    /// the inquiry stage with the network track's first-response deadline,
    /// the alternative marked pursued by it.
    pub async fn start_network_home_case(
        &self,
        ctx: &AuthContext,
        req: StartNetworkHomeCaseRequest,
    ) -> R<Case> {
        needs_role(ctx, "start network-home cases")?;
        let need_id = id("placement_need_id", &req.placement_need_id)?;
        let alternative_id = id("alternative_id", &req.alternative_id)?;
        let draft = req
            .applicant
            .as_ref()
            .ok_or_else(|| RecruitmentError::invalid("applicant", "is required"))?;
        let valid = inquiry::validate("applicant", draft, IntakeRoute::PlacementNeed)?;
        self.in_region("applicant.municipality_code", &draft.municipality_code)?;
        let now = self.now_text();
        let consent = inquiry::consent(req.lawful_basis, "", false, &now).map_err(|e| match e {
            RecruitmentError::Invalid { field, .. } if field == "privacy_notice_version" => {
                RecruitmentError::invalid(
                    "lawful_basis",
                    "consent needs the privacy notice shown to the person: record a network-home \
                     case on public task or legal obligation",
                )
            }
            e => e,
        })?;
        let mut tx = self
            .core()
            .begin(ctx, "StartNetworkHomeCase", &req.request_id, &req)
            .await?;
        let need = store::needs::get(tx.conn(), &need_id)
            .await?
            .ok_or_else(|| RecruitmentError::not_found(format!("placement need {need_id}")))?;
        see_municipal(ctx, &need.municipality_code, "placement need", &need.id)?;
        let mut tx = samling_kit::replay!(tx, self, ctx);
        let case_id = new_id_string();
        let mut n = network::pursue(&need, &alternative_id, &case_id)?;
        n.version += 1;
        let random = uuid::Uuid::now_v7();
        let b = random.as_bytes();
        let office = matches!(ctx.role, Role::RegionalOfficer);
        let case = inquiry::open_case(
            valid,
            NewCase {
                id: case_id,
                reference: inquiry::reference_code([b[11], b[12], b[13], b[14], b[15]]),
                track: Track::NetworkHome,
                route: IntakeRoute::PlacementNeed,
                region_id: need.region_id.clone(),
                channel: Channel::Municipality,
                campaign_id: None,
                consent,
                received_on: self.today(),
                now_text: now,
                owner: if office {
                    ctx.sub.clone()
                } else {
                    String::new()
                },
                placement_need_id: Some(n.id.clone()),
                network_alternative_id: Some(alternative_id.clone()),
            },
            &self.rules,
        );
        store::cases::save(tx.conn(), &case, true).await?;
        store::needs::save(tx.conn(), &n, false).await?;
        self.core()
            .record(
                &mut tx,
                ctx,
                "network_case_started",
                "case",
                &case.id,
                json!({"case_id": case.id, "placement_need_id": n.id,
                       "alternative_id": alternative_id, "municipality_code": case.municipality_code}),
            )
            .await?;
        tx.finish(self, ctx, case).await
    }
}
