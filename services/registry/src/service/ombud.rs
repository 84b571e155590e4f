//! The child's assigned ombud reads the child's record and placements
//! (ADR 0045): the ombud service's `ombud.child_assigned` (its feed) names
//! the ombud; a later assignment replaces an earlier one.

use super::{R, Registry};
use crate::domain::RegistryError;
use crate::ombud_feed::CHILD_ASSIGNED;
use crate::store;
use samling_kit::auth::{AuthContext, Role};
use samling_kit::ids::parse_id;
use samling_kit::tx::WriteTx;
use samling_proto::common::v1::Event;
use serde_json::Value;

impl Registry {
    /// Apply one ombud event in the consumer's transaction (the cursor
    /// commits with it, so an event takes effect once). Audited under the
    /// feed's identity; the register announces nothing of it.
    pub async fn apply_ombud_event(&self, tx: &mut WriteTx, e: &Event) -> R<()> {
        if e.event_type != CHILD_ASSIGNED {
            return Ok(());
        }
        let Ok(Value::Object(o)) = serde_json::from_str::<Value>(&e.payload_json) else {
            return Err(RegistryError::invalid(
                "payload_json",
                "is not a JSON object",
            ));
        };
        let field = |k: &str| o.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let child_id = parse_id("child_id", &field("child_id"))?.to_string();
        let subject = field("ombud_subject");
        if subject.trim().is_empty() || subject.len() > 128 || subject.chars().any(char::is_control)
        {
            return Err(RegistryError::invalid(
                "ombud_subject",
                "must be an id of 1 to 128 characters",
            ));
        }
        let seq = i64::try_from(e.seq).unwrap_or(i64::MAX);
        if !store::ombud::assign(tx.conn(), &child_id, &subject, seq).await? {
            return Ok(());
        }
        let ctx = AuthContext::new(crate::NAME, Role::Service)
            .with_purpose("the assigned ombud reads the child's record");
        tx.audit(&ctx.audit("ombud_assigned", "child", &child_id))
            .await?;
        Ok(())
    }

    /// The subject of the ombud assigned to `child_id`, asked only when the
    /// caller is an ombud (no other role's answer depends on it).
    pub(crate) async fn assigned_ombud(
        &self,
        ctx: &AuthContext,
        child_id: &str,
    ) -> R<Option<String>> {
        if ctx.role != Role::Ombud {
            return Ok(None);
        }
        store::ombud::of_child(&self.store.read, child_id).await
    }

    /// The children assigned to the calling ombud (none for other roles).
    pub(crate) async fn assigned_children(&self, ctx: &AuthContext) -> R<Vec<String>> {
        if ctx.role != Role::Ombud || ctx.sub.is_empty() {
            return Ok(Vec::new());
        }
        store::ombud::children_of(&self.store.read, &ctx.sub).await
    }

    /// The placements `ctx` may list (an ombud's: their children's).
    pub(crate) async fn placement_scope(
        &self,
        ctx: &AuthContext,
    ) -> R<crate::domain::access::PlacementScope> {
        let assigned = self.assigned_children(ctx).await?;
        crate::domain::access::placement_scope(ctx, assigned)
    }
}
