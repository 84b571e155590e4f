//! Access moves with the placement: the registry's `placement_created`
//! gives the new home access from the start date (and opens the child's
//! portfolio when it has none); `placement_ended` ends the home's access on
//! the end date. A protected child's events do not link the child to the
//! home or the municipality: the registry is asked as the service.

use super::{Portfolios, R};
use crate::domain::PortfolioError;
use crate::service::lookup::{ChildFacts, PlacementFacts};
use crate::store;
use crate::store::home_access::HomePlacement;
use samling_kit::auth::{AuthContext, Role};
use samling_kit::error::{KitError, Reason};
use samling_kit::outbox::NewEvent;
use samling_kit::tx::WriteTx;
use samling_proto::common::v1::Event;
use samling_proto::portfolio::v1::{Portfolio, Relations};
use serde_json::{Value, json};

pub use super::feed_events::{PLACEMENT_CREATED, PLACEMENT_ENDED};

fn text(o: &serde_json::Map<String, Value>, k: &str) -> String {
    o.get(k).and_then(Value::as_str).unwrap_or("").to_string()
}

fn unavailable(what: &str) -> PortfolioError {
    PortfolioError::Kit(KitError::refused(
        Reason::RegionUnavailable,
        format!("{what}: the registry is not configured for portfolio"),
    ))
}

impl Portfolios {
    fn identity(&self) -> AuthContext {
        AuthContext::new(crate::NAME, Role::Service).with_purpose("access follows the placement")
    }

    async fn placement_facts(&self, id: &str) -> R<PlacementFacts> {
        let reg = self
            .registry
            .as_ref()
            .ok_or_else(|| unavailable("placement"))?;
        reg.placement(id.to_string()).await?.ok_or_else(|| {
            PortfolioError::invalid(
                "placement_id",
                format!("placement {id} is not in the registry"),
            )
        })
    }

    async fn child_facts(&self, id: &str) -> R<Option<ChildFacts>> {
        match &self.registry {
            Some(reg) => Ok(reg.child(id.to_string()).await?),
            None => Ok(None),
        }
    }

    /// Apply one registry event in the consumer's transaction (the cursor
    /// commits with it, so an event takes effect once).
    pub async fn apply_registry_event(&self, tx: &mut WriteTx, e: &Event) -> R<()> {
        if e.event_type != PLACEMENT_CREATED && e.event_type != PLACEMENT_ENDED {
            return Ok(());
        }
        let Ok(Value::Object(o)) = serde_json::from_str::<Value>(&e.payload_json) else {
            return Err(PortfolioError::invalid(
                "payload_json",
                "is not a JSON object",
            ));
        };
        let placement_id = match text(&o, "placement_id") {
            s if s.is_empty() => e.aggregate_id.clone(),
            s => s,
        };
        // A protected child's event leaves out where the child lives.
        let linked = o.contains_key("placing_municipality_code")
            || o.contains_key("home_id")
            || o.contains_key("unit_id");
        let known = store::home_access::get(tx.conn(), &placement_id).await?;
        let facts = if linked {
            PlacementFacts {
                child_id: text(&o, "child_id"),
                home_id: text(&o, "home_id"),
                placing_municipality_code: text(&o, "placing_municipality_code"),
                start_date: text(&o, "start_date"),
                end_date: text(&o, "end_date"),
            }
        } else if e.event_type == PLACEMENT_ENDED
            && known.as_ref().is_some_and(|k| !k.home_id.is_empty())
        {
            // The home is known from the start; only the end is new.
            PlacementFacts {
                child_id: text(&o, "child_id"),
                end_date: text(&o, "end_date"),
                ..Default::default()
            }
        } else {
            let mut f = self.placement_facts(&placement_id).await?;
            if e.event_type == PLACEMENT_ENDED && f.end_date.is_empty() {
                f.end_date = text(&o, "end_date");
            }
            f
        };
        let child_id = if facts.child_id.is_empty() {
            known
                .as_ref()
                .map(|k| k.child_id.clone())
                .unwrap_or_default()
        } else {
            facts.child_id.clone()
        };
        if child_id.is_empty() {
            return Err(PortfolioError::invalid(
                "child_id",
                "the event names no child",
            ));
        }
        let row = HomePlacement {
            placement_id: placement_id.clone(),
            child_id: child_id.clone(),
            home_id: facts.home_id.clone(),
            starts_on: if e.event_type == PLACEMENT_CREATED {
                facts.start_date.clone()
            } else {
                String::new()
            },
            ends_on: if e.event_type == PLACEMENT_ENDED {
                facts.end_date.clone()
            } else {
                String::new()
            },
            // Kept for the care's end (LVU 3 §: 21); a protected child's
            // event carries it too (it tells nothing of where the child is).
            legal_basis: text(&o, "legal_basis"),
        };
        store::home_access::upsert(tx.conn(), &row).await?;
        let home_id = store::home_access::get(tx.conn(), &placement_id)
            .await?
            .map(|r| r.home_id)
            .unwrap_or_default();
        let ctx = self.identity();
        let protected = !linked;
        if e.event_type == PLACEMENT_CREATED {
            self.portfolio_for_placement(tx, &ctx, &child_id, &facts, protected)
                .await?;
        } else if self.revoke_credentials(tx.conn(), &placement_id).await? > 0 {
            tx.audit(&ctx.audit("credentials_revoked", "portfolio.credential", &child_id))
                .await?;
        }
        if home_id.is_empty() {
            // A unit (HVB): no home gains or loses access.
            return Ok(());
        }
        let (change, day) = if e.event_type == PLACEMENT_CREATED {
            ("home_access_granted", row.starts_on.clone())
        } else {
            ("home_access_ended", row.ends_on.clone())
        };
        tx.audit(&ctx.audit(change, "portfolio.home_access", &child_id))
            .await?;
        let mut payload = json!({"child_id": child_id, "placement_id": placement_id, "home_id": home_id,
                                 if change == "home_access_granted" { "from" } else { "until" }: day});
        if protected && let Some(o) = payload.as_object_mut() {
            // Nothing links a protected child to its home in an event.
            o.remove("home_id");
        }
        tx.event(NewEvent::new(
            &format!("portfolio.{change}"),
            "portfolio",
            child_id.clone(),
            payload,
        ))
        .await?;
        Ok(())
    }

    /// Open the child's portfolio on its first placement; a later placement
    /// by another municipality moves the caseworkers' access there.
    async fn portfolio_for_placement(
        &self,
        tx: &mut WriteTx,
        ctx: &AuthContext,
        child_id: &str,
        facts: &PlacementFacts,
        protected: bool,
    ) -> R<()> {
        let now = self.now_text();
        match store::portfolios::get(tx.conn(), child_id).await? {
            Some(mut p) => {
                let moved = !facts.placing_municipality_code.is_empty()
                    && facts.placing_municipality_code != p.placing_municipality_code;
                if moved || (protected && !p.protected_identity) {
                    if moved {
                        p.placing_municipality_code = facts.placing_municipality_code.clone();
                    }
                    p.protected_identity |= protected;
                    p.version += 1;
                    p.updated_at = now;
                    store::portfolios::save(tx.conn(), &p, false).await?;
                }
            }
            None => {
                let child = self.child_facts(child_id).await?.unwrap_or_default();
                let placing = if facts.placing_municipality_code.is_empty() {
                    child.placing_municipality_code.clone()
                } else {
                    facts.placing_municipality_code.clone()
                };
                let birth_date = samling_kit::dates::parse_iso("", &child.birth_date)
                    .ok()
                    .map(samling_kit::dates::to_proto);
                let p = Portfolio {
                    child_id: child_id.to_string(),
                    version: 1,
                    placing_municipality_code: placing.clone(),
                    birth_date,
                    protected_identity: protected || child.protected_identity,
                    relations: Some(Relations::default()),
                    created_at: now.clone(),
                    updated_at: now,
                    ..Default::default()
                };
                store::portfolios::save(tx.conn(), &p, true).await?;
                tx.audit(&ctx.audit("opened", "portfolio", child_id))
                    .await?;
                tx.event(NewEvent::new(
                    "portfolio.opened",
                    "portfolio",
                    child_id.to_string(),
                    json!({"child_id": child_id}),
                ))
                .await?;
            }
        }
        Ok(())
    }
}
