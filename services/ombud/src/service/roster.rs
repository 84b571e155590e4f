//! The roster and the assignments (docs/ombud.md "Assignment"): the office
//! registers the region's ombuds; every placed child is assigned the ombud
//! with the fewest active children (ties: registered first, then subject);
//! children placed before any ombud existed wait and are assigned when one
//! is registered.

use super::access::{hidden, only};
use super::{Ombuds, R};
use crate::domain::OmbudError;
use crate::domain::assign::{self, Load};
use crate::store;
use samling_kit::auth::{AuthContext, Role};
use samling_kit::ids::parse_id;
use samling_kit::paging::Page;
use samling_kit::service::{Answer, Service};
use samling_kit::tx::WriteTx;
use samling_proto::ombud::v1::*;
use serde_json::json;

const OFFICE: &[Role] = &[Role::RegionalOfficer, Role::Service];

/// A token subject: 1–128 characters, no control characters, and never a
/// personnummer (an ombud is named by a user id).
fn check_subject(s: &str) -> R<()> {
    if s.trim().is_empty() || s.len() > 128 || s.chars().any(char::is_control) {
        return Err(OmbudError::invalid(
            "subject",
            "must be a user id of 1 to 128 characters",
        ));
    }
    let digits = s.chars().filter(char::is_ascii_digit).count();
    if digits >= 10
        && s.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | '+'))
    {
        return Err(OmbudError::invalid(
            "subject",
            "must be a user id, never a personnummer",
        ));
    }
    Ok(())
}

impl Ombuds {
    /// The loads of every ombud, as the transaction sees them.
    pub(crate) async fn loads(&self, tx: &mut WriteTx) -> R<Vec<Load>> {
        let ombuds = store::all_ombuds(tx.conn()).await?;
        let counts = store::workloads(tx.conn()).await?;
        Ok(ombuds
            .into_iter()
            .map(|o| Load {
                active: counts
                    .iter()
                    .find(|(s, _)| *s == o.subject)
                    .map(|(_, n)| *n)
                    .unwrap_or(0),
                subject: o.subject,
                registered_at: o.registered_at,
            })
            .collect())
    }

    /// Assign `a` the least loaded ombud of `loads` (counting it there), or
    /// leave it waiting; audited and announced in `tx`.
    pub(crate) async fn assign(
        &self,
        tx: &mut WriteTx,
        ctx: &AuthContext,
        a: &mut Assignment,
        loads: &mut [Load],
    ) -> R<()> {
        let picked = assign::pick(loads).map(|l| l.subject.clone());
        match picked {
            Some(subject) => {
                if let Some(l) = loads.iter_mut().find(|l| l.subject == subject) {
                    l.active += 1;
                }
                a.state = AssignmentState::Assigned as i32;
                a.ombud_subject = subject.clone();
                a.assigned_at = self.now_text();
                self.core()
                    .record(
                        tx,
                        ctx,
                        "child_assigned",
                        "assignment",
                        &a.child_id,
                        json!({"child_id": a.child_id, "ombud_subject": subject, "placement_id": a.placement_id}),
                    )
                    .await?;
            }
            None => {
                a.state = AssignmentState::Waiting as i32;
                self.core()
                    .record(
                        tx,
                        ctx,
                        "child_waiting",
                        "assignment",
                        &a.child_id,
                        json!({"child_id": a.child_id, "placement_id": a.placement_id}),
                    )
                    .await?;
            }
        }
        Ok(())
    }

    /// Register an ombud of the region (the office); the children waiting
    /// are assigned in the same transaction. Asking again answers the
    /// ombud as registered.
    pub async fn register_ombud(&self, ctx: &AuthContext, req: RegisterOmbudRequest) -> R<Ombud> {
        self.enter(ctx)?;
        only(ctx, OFFICE, "register ombuds")?;
        let subject = req.subject.trim().to_string();
        check_subject(&subject)?;
        let w = self
            .core()
            .begin(ctx, "RegisterOmbud", &req.request_id, &req)
            .await?;
        let mut w = samling_kit::replay!(w, self, ctx);
        if let Some(existing) = store::OMBUDS.get(w.conn(), &subject).await? {
            drop(w);
            return existing.view(self, ctx).await;
        }
        let o = Ombud {
            subject: subject.clone(),
            registered_at: self.now_text(),
            active_children: 0,
        };
        store::save_ombud(w.conn(), &o, true).await?;
        self.core()
            .record(
                &mut w,
                ctx,
                "ombud_registered",
                "ombud",
                &subject,
                json!({"ombud_subject": subject}),
            )
            .await?;
        let mut loads = self.loads(&mut w).await?;
        for mut a in store::waiting(w.conn()).await? {
            self.assign(&mut w, ctx, &mut a, &mut loads).await?;
            store::save_assignment(w.conn(), &a, false).await?;
        }
        let o = Ombud {
            active_children: loads
                .iter()
                .find(|l| l.subject == subject)
                .map(|l| l.active)
                .unwrap_or(0),
            ..o
        };
        w.finish(self, ctx, o).await
    }

    pub async fn list_ombuds(
        &self,
        ctx: &AuthContext,
        req: ListOmbudsRequest,
    ) -> R<ListOmbudsResponse> {
        self.enter(ctx)?;
        only(ctx, OFFICE, "list the ombuds")?;
        let page = Page::from_request(req.page.as_ref())?;
        let (mut ombuds, page) = store::list_ombuds(&self.store.read, &page).await?;
        let counts = store::workloads(&self.store.read).await?;
        for o in &mut ombuds {
            o.active_children = counts
                .iter()
                .find(|(s, _)| *s == o.subject)
                .map(|(_, n)| *n)
                .unwrap_or(0);
        }
        Ok(ListOmbudsResponse {
            ombuds,
            page: Some(page),
        })
    }

    pub async fn list_unassigned(
        &self,
        ctx: &AuthContext,
        req: ListUnassignedRequest,
    ) -> R<ListUnassignedResponse> {
        self.enter(ctx)?;
        only(ctx, OFFICE, "list the children waiting for an ombud")?;
        let page = Page::from_request(req.page.as_ref())?;
        let (children, page) = store::list_waiting(&self.store.read, &page).await?;
        let ids: Vec<&str> = children.iter().map(|a| a.child_id.as_str()).collect();
        self.core().audit_read(ctx, "assignment", &ids).await?;
        Ok(ListUnassignedResponse {
            children,
            page: Some(page),
        })
    }

    /// The calling ombud's children.
    pub async fn list_my_children(
        &self,
        ctx: &AuthContext,
        req: ListMyChildrenRequest,
    ) -> R<ListMyChildrenResponse> {
        self.enter(ctx)?;
        only(ctx, &[Role::Ombud], "list an ombud's children")?;
        let page = Page::from_request(req.page.as_ref())?;
        let (children, page) = store::list_of_ombud(&self.store.read, &ctx.sub, &page).await?;
        let ids: Vec<&str> = children.iter().map(|a| a.child_id.as_str()).collect();
        self.core().audit_read(ctx, "assignment", &ids).await?;
        let children = children
            .into_iter()
            .map(|a| super::access::assignment_view(ctx, a))
            .collect();
        Ok(ListMyChildrenResponse {
            children,
            page: Some(page),
        })
    }

    /// A child's ombud: the child, its ombud, the placing municipality, the
    /// office (others: not found).
    pub async fn get_assignment(
        &self,
        ctx: &AuthContext,
        req: GetAssignmentRequest,
    ) -> R<Assignment> {
        self.enter(ctx)?;
        only(
            ctx,
            &[
                Role::Child,
                Role::Ombud,
                Role::MunicipalityCaseworker,
                Role::MunicipalityManager,
                Role::RegionalOfficer,
                Role::Service,
            ],
            "read a child's ombud",
        )?;
        let child_id = parse_id("child_id", &req.child_id)?.to_string();
        let a = self
            .assignment_of(&child_id)
            .await?
            .ok_or_else(|| hidden("child", &child_id))?;
        a.view(self, ctx).await
    }
}

#[cfg(test)]
mod tests {
    use super::check_subject;

    #[test]
    fn a_subject_is_a_user_id_never_a_personnummer() {
        assert!(check_subject("ombud-anna").is_ok());
        assert!(check_subject("").is_err());
        assert!(check_subject("20120304-1234").is_err());
        assert!(check_subject("201203041234").is_err());
        assert!(check_subject(&"x".repeat(129)).is_err());
    }
}
