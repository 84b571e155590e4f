//! Claims (ADR 0032): submitted by the family home under its agreement,
//! decided by a caseworker of the placing municipality, read by finance,
//! the home and the municipality, paid once by the next run
//! (service/payments.rs). Access is checked before a replay: a request id
//! replayed under another caller's token is that caller's own request.

use super::access::{is_finance, refused};
use super::{Compensation, R};
use crate::domain::{CompensationError, claims};
use crate::store;
use samling_kit::auth::{AuthContext, Role};
use samling_kit::dates;
use samling_kit::error::Reason;
use samling_kit::ids::{new_id_string, parse_id};
use samling_kit::paging::Page;
use samling_kit::service::{Answer, Service};
use samling_proto::compensation::v1::*;
use serde_json::json;

/// May `ctx` see claim `c`? Finance, its home, its municipality's staff;
/// another home's or municipality's is "not found"; other roles refused.
pub(crate) fn see_claim(ctx: &AuthContext, c: &Claim) -> R<()> {
    let hidden = || CompensationError::not_found(format!("claim {}", c.id));
    match ctx.role {
        _ if is_finance(ctx) => Ok(()),
        Role::FamilyHome if ctx.is_party(&c.home_id) => Ok(()),
        Role::FamilyHome => Err(hidden()),
        r if r.is_municipal() => {
            if ctx.municipality.as_ref().map(|m| m.as_str()) == Some(c.municipality_code.as_str()) {
                Ok(())
            } else {
                Err(hidden())
            }
        }
        _ => Err(refused(
            Reason::ForbiddenRole,
            format!("a {} may not read claims", ctx.role.as_str()),
        )),
    }
}

impl Compensation {
    /// A family home claims under its own agreement.
    pub async fn submit_claim(&self, ctx: &AuthContext, req: SubmitClaimRequest) -> R<Claim> {
        if ctx.role != Role::FamilyHome || ctx.party.as_deref().unwrap_or("").is_empty() {
            return Err(refused(
                Reason::ForbiddenRole,
                format!(
                    "a {} may not submit claims: the family home does",
                    ctx.role.as_str()
                ),
            ));
        }
        let agreement_id = parse_id("agreement_id", &req.agreement_id)?.to_string();
        let (kind, note) = claims::check_claim(req.kind, req.amount_ore, &req.note)?;
        // K3: over its kind's ceiling is refused, naming the field.
        self.rules
            .claim_ceilings
            .within("amount_ore", kind, req.amount_ore)?;
        let occurred = dates::from_proto("occurred_on", req.occurred_on.as_ref())?;
        if occurred > self.clock.today() {
            return Err(CompensationError::invalid(
                "occurred_on",
                "must not be in the future",
            ));
        }
        // Access before the replay: another home's agreement is not found.
        let a = store::agreements::get(&self.store.read, &agreement_id)
            .await?
            .filter(|a| ctx.is_party(&a.home_id))
            .ok_or_else(|| CompensationError::not_found(format!("agreement {agreement_id}")))?;
        let w = self
            .core()
            .begin(ctx, "SubmitClaim", &req.request_id, &req)
            .await?;
        let mut w = samling_kit::replay!(w, self, ctx);
        let c = Claim {
            id: new_id_string(),
            agreement_id: a.id.clone(),
            placement_id: a.placement_id.clone(),
            home_id: a.home_id.clone(),
            municipality_code: a.municipality_code.clone(),
            kind: kind as i32,
            claimed_ore: req.amount_ore,
            occurred_on: Some(dates::to_proto(occurred)),
            note,
            status: ClaimStatus::Submitted as i32,
            taxable: claims::taxable(kind),
            submitted_at: self.now_text(),
            submitted_by: ctx.sub.clone(),
            version: 1,
            ..Default::default()
        };
        store::claims::save(w.conn(), &c, true).await?;
        // Ids, the kind and the amount: never the note.
        self.core()
            .record(
                &mut w,
                ctx,
                "claim_submitted",
                "claim",
                &c.id,
                json!({"claim_id": c.id, "agreement_id": c.agreement_id, "home_id": c.home_id,
                       "municipality_code": c.municipality_code, "kind": kind.as_str_name(),
                       "claimed_ore": c.claimed_ore}),
            )
            .await?;
        w.finish(self, ctx, c).await
    }

    /// A caseworker of the placing municipality decides a submitted claim.
    pub async fn decide_claim(&self, ctx: &AuthContext, req: DecideClaimRequest) -> R<Claim> {
        if ctx.role != Role::MunicipalityCaseworker {
            return Err(refused(
                Reason::ForbiddenRole,
                format!(
                    "a {} may not decide claims: a caseworker of the placing municipality does",
                    ctx.role.as_str()
                ),
            ));
        }
        let id = parse_id("claim_id", &req.claim_id)?.to_string();
        let hidden = || CompensationError::not_found(format!("claim {id}"));
        // Access before the replay: another municipality's claim is not found.
        let own = store::claims::get(&self.store.read, &id)
            .await?
            .ok_or_else(hidden)?;
        if ctx.municipality.as_ref().map(|m| m.as_str()) != Some(own.municipality_code.as_str()) {
            return Err(hidden());
        }
        let w = self
            .core()
            .begin(ctx, "DecideClaim", &req.request_id, &req)
            .await?;
        let mut w = samling_kit::replay!(w, self, ctx);
        let mut c = store::claims::get(w.conn(), &id)
            .await?
            .ok_or_else(hidden)?;
        if req.expected_version != 0 && req.expected_version != c.version {
            return Err(CompensationError::Conflict(format!(
                "expected_version: claim {id} is at version {}, not {}",
                c.version, req.expected_version
            )));
        }
        let (status, amount, note) = claims::decide(
            c.status(),
            c.claimed_ore,
            req.approve,
            req.approved_ore,
            &req.note,
        )?;
        // K3: a ceiling lowered since the claim was made binds the decision.
        if status == ClaimStatus::Approved {
            self.rules
                .claim_ceilings
                .within("approved_ore", c.kind(), amount)?;
        }
        c.status = status as i32;
        c.approved_ore = amount;
        c.decision_note = note;
        c.decided_by = ctx.sub.clone();
        c.decided_at = self.now_text();
        c.version += 1;
        store::claims::save(w.conn(), &c, false).await?;
        self.core()
            .record(
                &mut w,
                ctx,
                "claim_decided",
                "claim",
                &c.id,
                json!({"claim_id": c.id, "home_id": c.home_id, "status": status.as_str_name(),
                       "approved_ore": c.approved_ore}),
            )
            .await?;
        w.finish(self, ctx, c).await
    }

    pub async fn get_claim(&self, ctx: &AuthContext, req: GetClaimRequest) -> R<Claim> {
        let id = parse_id("claim_id", &req.claim_id)?.to_string();
        let c = store::claims::get(&self.store.read, &id)
            .await?
            .ok_or_else(|| CompensationError::not_found(format!("claim {id}")))?;
        see_claim(ctx, &c)?;
        self.core().audit_read(ctx, "claim", &[&c.id]).await?;
        c.view(self, ctx).await
    }

    pub async fn list_claims(
        &self,
        ctx: &AuthContext,
        req: ListClaimsRequest,
    ) -> R<ListClaimsResponse> {
        let (home_id, municipality) = match ctx.role {
            _ if is_finance(ctx) => (
                req.home_id.trim().to_string(),
                req.municipality_code.trim().to_string(),
            ),
            Role::FamilyHome => {
                let own = ctx.party.clone().unwrap_or_default();
                let asked = req.home_id.trim();
                if own.is_empty() || (!asked.is_empty() && asked != own) {
                    return Err(refused(
                        Reason::NotOwnRecord,
                        "home_id: a family home lists its own claims only",
                    ));
                }
                (own, req.municipality_code.trim().to_string())
            }
            r if r.is_municipal() => {
                let own = ctx
                    .municipality
                    .as_ref()
                    .map(|m| m.as_str().to_string())
                    .unwrap_or_default();
                let asked = req.municipality_code.trim();
                if own.is_empty() || (!asked.is_empty() && asked != own) {
                    return Err(refused(
                        Reason::NotOwnMunicipality,
                        "municipality_code: a municipality lists its own claims only",
                    ));
                }
                (req.home_id.trim().to_string(), own)
            }
            _ => {
                return Err(refused(
                    Reason::ForbiddenRole,
                    format!("a {} may not list claims", ctx.role.as_str()),
                ));
            }
        };
        let status = ClaimStatus::try_from(req.status)
            .map_err(|_| CompensationError::invalid("status", "is not a claim status"))?;
        let page = Page::from_request(req.page.as_ref())?;
        let rows =
            store::claims::list(&self.store.read, &home_id, &municipality, status, &page).await?;
        let (rows, page) = page.finish(rows, |c| c.id.clone());
        let mut claims = Vec::with_capacity(rows.len());
        for c in rows {
            claims.push(c.view(self, ctx).await?);
        }
        let ids: Vec<&str> = claims.iter().map(|c| c.id.as_str()).collect();
        self.core().audit_read(ctx, "claim", &ids).await?;
        Ok(ListClaimsResponse {
            claims,
            page: Some(page),
        })
    }
}

/// A claim: finance, its home, its municipality.
impl Answer<Compensation> for Claim {
    fn record(&self) -> (&'static str, String) {
        ("claim", self.id.clone())
    }

    async fn view(self, _svc: &Compensation, ctx: &AuthContext) -> R<Self> {
        see_claim(ctx, &self)?;
        Ok(self)
    }
}
