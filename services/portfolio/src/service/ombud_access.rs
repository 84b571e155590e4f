//! The assigned ombud reads the child's portfolio: the ombud service's
//! `ombud.child_assigned` (its feed) names the ombud; a later assignment
//! replaces an earlier one. The caseworker's `relations.ombud_subjects`
//! still admits the ombud it names (set by hand before the service ran).

use super::{Portfolios, R};
use crate::domain::PortfolioError;
use crate::ombud_feed::CHILD_ASSIGNED;
use crate::store;
use samling_kit::auth::{AuthContext, Role};
use samling_kit::ids::parse_id;
use samling_kit::outbox::NewEvent;
use samling_kit::tx::WriteTx;
use samling_proto::common::v1::Event;
use serde_json::{Value, json};

impl Portfolios {
    /// Apply one ombud event in the consumer's transaction (the cursor
    /// commits with it, so an event takes effect once).
    pub async fn apply_ombud_event(&self, tx: &mut WriteTx, e: &Event) -> R<()> {
        if e.event_type != CHILD_ASSIGNED {
            return Ok(());
        }
        let Ok(Value::Object(o)) = serde_json::from_str::<Value>(&e.payload_json) else {
            return Err(PortfolioError::invalid(
                "payload_json",
                "is not a JSON object",
            ));
        };
        let field = |k: &str| o.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let child_id = parse_id("child_id", &field("child_id"))?.to_string();
        let subject = field("ombud_subject");
        if subject.trim().is_empty() || subject.len() > 128 || subject.chars().any(char::is_control)
        {
            return Err(PortfolioError::invalid(
                "ombud_subject",
                "must be an id of 1 to 128 characters",
            ));
        }
        let seq = i64::try_from(e.seq).unwrap_or(i64::MAX);
        let now = self.now_text();
        if !store::ombud_access::assign(tx.conn(), &child_id, &subject, &now, seq).await? {
            return Ok(());
        }
        // On the child's access log: an ombud was given access (who it is,
        // the log's subject column does not say: the feed's identity acts).
        let ctx = AuthContext::new(crate::NAME, Role::Service)
            .with_purpose("the assigned ombud reads the portfolio");
        tx.audit(&ctx.audit("ombud_access_granted", "portfolio.ombud", &child_id))
            .await?;
        tx.event(NewEvent::new(
            "portfolio.ombud_access_granted",
            "portfolio",
            child_id.clone(),
            json!({"child_id": child_id}),
        ))
        .await?;
        Ok(())
    }

    /// The ombud the ombud service assigned to the child, if any.
    pub(crate) async fn assigned_ombud(&self, child_id: &str) -> R<Option<String>> {
        store::ombud_access::of_child(&self.store.read, child_id).await
    }
}
