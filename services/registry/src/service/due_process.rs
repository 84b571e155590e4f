//! The family home's own requests and their due process (ADR 0026):
//! responses, structured corrections (applied on acceptance as a new
//! version), appeals and second opinions (decided by the national
//! reviewer, never the office that keeps the register), overdue requests.

use super::{R, Registry};
use crate::domain::home::HomeView;
use crate::domain::restriction::decision_text;
use crate::domain::{RegistryError, access, due_process};
use crate::store;
use samling_kit::auth::{AuthContext, Role};
use samling_kit::outbox::NewEvent;
use samling_kit::paging::Page;
use samling_kit::{dates, ids};
use samling_proto::registry::v1::*;
use serde_json::json;

impl Registry {
    pub async fn submit_home_request(
        &self,
        ctx: &AuthContext,
        req: SubmitHomeRequestRequest,
    ) -> R<HomeRequest> {
        access::act_for_home(ctx, &req.home_id)?;
        let kind = HomeRequestKind::try_from(req.kind)
            .ok()
            .filter(|k| *k != HomeRequestKind::Unspecified)
            .ok_or_else(|| RegistryError::invalid("kind", "is required"))?;
        let (field, proposed) = if kind == HomeRequestKind::Correction {
            let values = due_process::validate_correction(&req.field, &req.proposed_value)?;
            (req.field.trim().to_string(), values.join(", "))
        } else {
            (String::new(), String::new())
        };
        let message = decision_text("message", &req.message, 4000)?;
        if !req.restriction_id.is_empty() {
            ids::parse_id("restriction_id", &req.restriction_id)?;
            if kind != HomeRequestKind::Appeal {
                return Err(RegistryError::invalid(
                    "restriction_id",
                    "only an appeal names a restriction",
                ));
            }
        }
        let tx = self
            .core
            .begin(ctx, "SubmitHomeRequest", &req.request_id, &req)
            .await?;
        let mut tx = samling_kit::replay!(tx, self, ctx);
        ids::parse_id("home_id", &req.home_id)?;
        let home = store::homes::must_get(tx.conn(), &req.home_id).await?;
        if !req.restriction_id.is_empty()
            && !home
                .restrictions
                .iter()
                .any(|r| r.id == req.restriction_id && r.in_force)
        {
            return Err(RegistryError::invalid(
                "restriction_id",
                "names no decision in force on this home",
            ));
        }
        let today = self.clock.today();
        let respond_by = due_process::has_deadline(kind).then(|| {
            dates::to_proto(
                today + chrono::Days::new(u64::from(self.rules.home_request_response_days)),
            )
        });
        let hr = HomeRequest {
            id: ids::new_id_string(),
            home_id: req.home_id.clone(),
            kind: kind as i32,
            status: HomeRequestStatus::Open as i32,
            field,
            proposed_value: proposed,
            message,
            submitted_by: ctx.sub.clone(),
            submitted_at: dates::instant_text(self.clock.now()),
            respond_by,
            restriction_id: req.restriction_id.clone(),
            ..Default::default()
        };
        store::requests::save(tx.conn(), &hr, true).await?;
        self.core
            .record(
                &mut tx,
                ctx,
                "home_request_submitted",
                "home",
                &req.home_id,
                json!({"request_id": hr.id, "kind": kind.as_str_name()}),
            )
            .await?;
        tx.finish(self, ctx, hr).await
    }

    /// A home's requests: the office (all), the home (its own), the
    /// national reviewer (appeals and second opinions), and a municipality
    /// that may see the home's personal data: the home's responses.
    pub async fn list_home_requests(
        &self,
        ctx: &AuthContext,
        req: &ListHomeRequestsRequest,
    ) -> R<ListHomeRequestsResponse> {
        let office = access::manage_register(ctx).is_ok();
        let reviewer = ctx.role == Role::NationalReviewer;
        // Which kinds this caller sees (empty: all).
        let mut kinds: Vec<HomeRequestKind> = Vec::new();
        if req.home_id.is_empty() {
            if reviewer {
                kinds = vec![HomeRequestKind::Appeal, HomeRequestKind::SecondOpinion];
            } else {
                access::manage_register(ctx)?;
            }
        } else {
            ids::parse_id("home_id", &req.home_id)?;
            let own_home = ctx.role == Role::FamilyHome && ctx.is_party(&req.home_id);
            if reviewer {
                kinds = vec![HomeRequestKind::Appeal, HomeRequestKind::SecondOpinion];
            } else if ctx.role.is_municipal() {
                let h = store::homes::must_get(&self.store.read, &req.home_id).await?;
                let inv = self.involvement_for(ctx, &req.home_id).await?;
                if access::home_view(ctx, &h, &inv)? == HomeView::NoPersonalData {
                    return Err(RegistryError::forbidden(
                        "your role may not read this home's requests: your municipality has no \
                         approval of or placement in it",
                    ));
                }
                kinds = vec![HomeRequestKind::Response];
            } else if !office && !own_home {
                access::act_for_home(ctx, &req.home_id)?;
            }
            // An unknown home is a 404, not an empty list.
            store::homes::must_get(&self.store.read, &req.home_id).await?;
        }
        let page = Page::from_request(req.page.as_ref())?;
        let mut requests = Vec::new();
        let mut cursor = page.clone();
        // Filtered by kind after the read: page on until the page is full.
        let next = loop {
            let list =
                store::requests::list(&self.store.read, &req.home_id, req.open_only, &cursor)
                    .await?;
            let full = list.len() as i64 >= cursor.limit();
            let last = list.last().map(|r| r.id.clone());
            for r in list {
                let k = HomeRequestKind::try_from(r.kind).unwrap_or_default();
                if (kinds.is_empty() || kinds.contains(&k))
                    && (requests.len() as i64) < page.limit()
                {
                    requests.push(r);
                }
            }
            match last {
                Some(l) if full && (requests.len() as i64) < page.limit() => {
                    cursor.after = Some(l);
                }
                Some(l) if full => break Some(l),
                _ => break None,
            }
        };
        let next = match (requests.last(), next) {
            (Some(r), Some(_)) if requests.len() as i64 >= page.limit() => r.id.clone(),
            _ => String::new(),
        };
        let ids: Vec<&str> = requests.iter().map(|r| r.id.as_str()).collect();
        self.core.audit_read(ctx, "home_request", &ids).await?;
        Ok(ListHomeRequestsResponse {
            requests,
            page: Some(samling_proto::common::v1::PageResponse {
                next_page_token: next,
            }),
        })
    }

    pub async fn decide_home_request(
        &self,
        ctx: &AuthContext,
        req: DecideHomeRequestRequest,
    ) -> R<HomeRequest> {
        // Only the office or the national reviewer decides anything.
        if access::manage_register(ctx).is_err() && ctx.role != Role::NationalReviewer {
            return Err(RegistryError::forbidden(
                "your role may not decide a home's request",
            ));
        }
        ids::parse_id("home_request_id", &req.home_request_id)?;
        let reason = decision_text("reason", &req.reason, 4000)?;
        let mut tx = self
            .core
            .begin(ctx, "DecideHomeRequest", &req.request_id, &req)
            .await?;
        let mut hr = store::requests::must_get(tx.conn(), &req.home_request_id).await?;
        let kind = HomeRequestKind::try_from(hr.kind).unwrap_or_default();
        access::decide_home_request(ctx, kind)?;
        let mut tx = samling_kit::replay!(tx, self, ctx);
        if hr.status != HomeRequestStatus::Open as i32 {
            return Err(RegistryError::precondition(
                "the request is already decided",
            ));
        }
        let further = if due_process::decided_nationally(kind) {
            decision_text("further_appeal", &req.further_appeal, 2000)?
        } else {
            String::new()
        };
        if req.accept {
            match kind {
                HomeRequestKind::Correction => {
                    let values = due_process::validate_correction(&hr.field, &hr.proposed_value)?;
                    let field = hr.field.clone();
                    let why = format!("correction {} accepted", hr.id);
                    let h = self
                        .change_home(&mut tx, ctx, &hr.home_id, "correction_applied", &why, |h| {
                            due_process::apply_correction(h, &field, values)?;
                            Ok(json!({"request_id": hr.id, "field": field}))
                        })
                        .await?;
                    hr.applied_version = h.version;
                }
                HomeRequestKind::Appeal if !hr.restriction_id.is_empty() => {
                    let why = format!("appeal {} upheld by the national reviewer: {reason}", hr.id);
                    let h = self
                        .lift_in(
                            &mut tx,
                            ctx,
                            &hr.home_id,
                            &hr.restriction_id,
                            &why,
                            &further,
                        )
                        .await?;
                    hr.applied_version = h.version;
                }
                _ => {}
            }
        }
        hr.status = if req.accept {
            HomeRequestStatus::Accepted
        } else {
            HomeRequestStatus::Rejected
        } as i32;
        hr.decided_by = ctx.sub.clone();
        hr.decided_at = dates::instant_text(self.clock.now());
        hr.decision_reason = reason;
        hr.further_appeal = further;
        let status = HomeRequestStatus::try_from(hr.status)
            .unwrap_or_default()
            .as_str_name();
        store::requests::save(tx.conn(), &hr, false).await?;
        self.core
            .record(
                &mut tx,
                ctx,
                "home_request_decided",
                "home",
                &hr.home_id,
                json!({"request_id": hr.id, "kind": kind.as_str_name(), "status": status,
                       "decided_by_role": ctx.role.as_str()}),
            )
            .await?;
        tx.finish(self, ctx, hr).await
    }

    /// Requests past respond_by: each escalated once (a new escalation is
    /// written with the event `registry.home_request_overdue`, for the
    /// national reviewer), then all overdue ones listed.
    pub async fn list_overdue_requests(
        &self,
        ctx: &AuthContext,
        req: &ListOverdueHomeRequestsRequest,
    ) -> R<ListHomeRequestsResponse> {
        access::overdue_requests(ctx)?;
        let page = Page::from_request(req.page.as_ref())?;
        self.escalate_overdue_requests(ctx).await?;
        let today = self.clock.today();
        let list = store::requests::overdue(&self.store.read, today, false, &page).await?;
        let (requests, page) = page.finish(list, |r| r.id.clone());
        let ids: Vec<&str> = requests.iter().map(|r| r.id.as_str()).collect();
        self.core.audit_read(ctx, "home_request", &ids).await?;
        Ok(ListHomeRequestsResponse {
            requests,
            page: Some(page),
        })
    }

    /// Escalate every open request whose respond_by has passed and that was
    /// not escalated yet; returns how many. Run by the overdue list (and
    /// callable by a scheduler).
    pub async fn escalate_overdue_requests(&self, ctx: &AuthContext) -> R<usize> {
        let today = self.clock.today();
        let first = Page::from_request(None)?;
        let due = store::requests::overdue(&self.store.read, today, true, &first).await?;
        if due.is_empty() {
            return Ok(0);
        }
        let mut tx = self.store.begin_write().await?;
        let mut n = 0;
        for mut r in due {
            // Read again inside the write: decided or escalated meanwhile.
            let current = store::requests::must_get(tx.conn(), &r.id).await?;
            if current.escalated_on.is_some() || !due_process::overdue(&current, today) {
                continue;
            }
            r = current;
            r.escalated_on = Some(dates::to_proto(today));
            store::requests::save(tx.conn(), &r, false).await?;
            let kind = HomeRequestKind::try_from(r.kind).unwrap_or_default();
            let respond_by = dates::opt_from_proto("", r.respond_by.as_ref())
                .ok()
                .flatten()
                .map(dates::date_text)
                .unwrap_or_default();
            tx.audit(&ctx.audit("home_request_escalated", "home", &r.home_id))
                .await?;
            tx.event(NewEvent::new(
                "registry.home_request_overdue",
                "home",
                r.home_id.clone(),
                json!({"request_id": r.id, "kind": kind.as_str_name(), "respond_by": respond_by,
                       "escalated_to": Role::NationalReviewer.as_str()}),
            ))
            .await?;
            n += 1;
        }
        tx.commit(&self.feed).await?;
        Ok(n)
    }
}
