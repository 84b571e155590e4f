//! Following the registry's placements (docs/ombud.md "Assignment"):
//! `placement_created` of a child new to ombud assigns an ombud (or leaves
//! the child waiting); a later placement of the same child keeps the ombud
//! (continuity: the child moves, its ombud stays); `placement_ended` marks
//! the latest placement ended — the assignment stays (open cases and
//! aftercare questions go on), but the child no longer counts in the
//! ombud's workload. An event delivered again changes nothing.

use super::{Ombuds, R};
use crate::domain::OmbudError;
use crate::service::lookup::PlacementFacts;
use crate::store;
use samling_kit::auth::{AuthContext, Role};
use samling_kit::tx::WriteTx;
use samling_proto::common::v1::Event;
use samling_proto::ombud::v1::{Assignment, AssignmentState};
use serde_json::Value;

pub use super::feed_events::{PLACEMENT_CREATED, PLACEMENT_ENDED};

fn text(o: &serde_json::Map<String, Value>, k: &str) -> String {
    o.get(k).and_then(Value::as_str).unwrap_or("").to_string()
}

impl Ombuds {
    fn identity(&self) -> AuthContext {
        AuthContext::new(crate::NAME, Role::Service).with_purpose("every placed child has an ombud")
    }

    /// What a protected child's event leaves out, asked of the registry
    /// (nothing when no registry is configured).
    async fn facts(&self, placement_id: &str) -> R<PlacementFacts> {
        match &self.registry {
            Some(reg) => Ok(reg
                .placement(placement_id.to_string())
                .await?
                .unwrap_or_default()),
            None => Ok(PlacementFacts::default()),
        }
    }

    /// Apply one registry event in the consumer's transaction (the cursor
    /// commits with it, so an event takes effect once).
    pub async fn apply_registry_event(&self, tx: &mut WriteTx, e: &Event) -> R<()> {
        if e.event_type != PLACEMENT_CREATED && e.event_type != PLACEMENT_ENDED {
            return Ok(());
        }
        let Ok(Value::Object(o)) = serde_json::from_str::<Value>(&e.payload_json) else {
            return Err(OmbudError::invalid("payload_json", "is not a JSON object"));
        };
        let placement_id = match text(&o, "placement_id") {
            s if s.is_empty() => e.aggregate_id.clone(),
            s => s,
        };
        let child_id = text(&o, "child_id");
        if child_id.is_empty() || placement_id.is_empty() {
            return Err(OmbudError::invalid(
                "child_id",
                "the event names no child or placement",
            ));
        }
        let existing = store::assignment(tx.conn(), &child_id).await?;
        let ctx = self.identity();
        if e.event_type == PLACEMENT_ENDED {
            let Some(mut a) = existing else {
                return Ok(());
            };
            if a.placement_id != placement_id || a.placement_ended_on.is_some() {
                // An older placement, or the end delivered again.
                return Ok(());
            }
            let end = samling_kit::dates::parse_iso("end_date", &text(&o, "end_date"))
                .unwrap_or_else(|_| self.clock.today());
            a.placement_ended_on = Some(samling_kit::dates::to_proto(end));
            store::save_assignment(tx.conn(), &a, false).await?;
            tx.audit(&ctx.audit("placement_ended", "assignment", &child_id))
                .await?;
            return Ok(());
        }
        // A protected child's event leaves out where the child lives.
        let linked = o.contains_key("placing_municipality_code");
        let facts = if linked {
            PlacementFacts {
                child_id: child_id.clone(),
                home_id: text(&o, "home_id"),
                placing_municipality_code: text(&o, "placing_municipality_code"),
            }
        } else {
            self.facts(&placement_id).await?
        };
        // The care's start (the rights follow-up counts from it).
        let start = samling_kit::dates::parse_iso("start_date", &text(&o, "start_date"))
            .unwrap_or_else(|_| self.clock.today());
        match existing {
            Some(a) if a.placement_id == placement_id => Ok(()),
            Some(mut a) => {
                // A new placement (a move): the ombud stays. The care
                // goes on (its start stays) unless the last one had ended.
                if a.placement_ended_on.is_some() || a.care_started_on.is_none() {
                    a.care_started_on = Some(samling_kit::dates::to_proto(start));
                }
                a.placement_id = placement_id;
                a.home_id = facts.home_id;
                a.placing_municipality_code = facts.placing_municipality_code;
                a.placed_at = e.occurred_at.clone();
                a.placement_ended_on = None;
                store::save_assignment(tx.conn(), &a, false).await?;
                tx.audit(&ctx.audit("placement_followed", "assignment", &child_id))
                    .await?;
                Ok(())
            }
            None => {
                let mut a = Assignment {
                    child_id: child_id.clone(),
                    state: AssignmentState::Waiting as i32,
                    placement_id,
                    placing_municipality_code: facts.placing_municipality_code,
                    home_id: facts.home_id,
                    care_started_on: Some(samling_kit::dates::to_proto(start)),
                    placed_at: if e.occurred_at.is_empty() {
                        self.now_text()
                    } else {
                        e.occurred_at.clone()
                    },
                    ..Default::default()
                };
                let mut loads = self.loads(tx).await?;
                self.assign(tx, &ctx, &mut a, &mut loads).await?;
                store::save_assignment(tx.conn(), &a, true).await?;
                Ok(())
            }
        }
    }
}
