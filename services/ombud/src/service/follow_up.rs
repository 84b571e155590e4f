//! The rights follow-up (issue 23 §6, docs/ombud.md "Rights follow-up",
//! ADR 0046): per placed child, the items the portfolio reports
//! (`portfolio.deadline`: health examinations, the six-monthly review, …)
//! and the ombud's own (`talks_with_child`, and a health examination the
//! portfolio has said nothing about shown as unknown). The ombud's
//! worklist, the talks recorded, alerts (`ombud.follow_up_overdue`, once
//! per change) and the region's counts (1–4 as "<5").

use super::access::{hidden, is_assigned_ombud, is_office, only, role_refused};
use super::{Ombuds, R};
use crate::domain::OmbudError;
use crate::domain::follow_up::{self as rules, State};
use crate::store::{self, PortfolioItem};
use chrono::NaiveDate;
use samling_kit::auth::{AuthContext, Role};
use samling_kit::dates;
use samling_kit::disclosure;
use samling_kit::ids::parse_id;
use samling_kit::paging::Page;
use samling_kit::service::{Answer, Service};
use samling_kit::tx::WriteTx;
use samling_proto::common::v1::Event;
use samling_proto::ombud::v1::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The portfolio's event the ombud follows.
pub const PORTFOLIO_DEADLINE: &str = "portfolio.deadline";

const OFFICE: &[Role] = &[Role::RegionalOfficer, Role::Service];

fn proto_state(s: State) -> FollowUpState {
    match s {
        State::Upcoming => FollowUpState::Upcoming,
        State::Due => FollowUpState::Due,
        State::Overdue => FollowUpState::Overdue,
        State::Met => FollowUpState::Met,
        State::Unknown => FollowUpState::Unknown,
    }
}

fn rank(state: i32) -> u8 {
    match FollowUpState::try_from(state).unwrap_or_default() {
        FollowUpState::Overdue => 0,
        FollowUpState::Due => 1,
        FollowUpState::Unknown => 2,
        FollowUpState::Upcoming => 3,
        FollowUpState::Met => 4,
        FollowUpState::Unspecified => 5,
    }
}

fn due_text(i: &FollowUpItem) -> String {
    i.due_on
        .as_ref()
        .and_then(|d| dates::opt_from_proto("due_on", Some(d)).ok().flatten())
        .map(dates::date_text)
        .unwrap_or_default()
}

/// The day the child's care started (the placement's start; for an
/// assignment stored before it was kept, the day the placement was
/// followed).
fn care_start(a: &Assignment) -> Option<NaiveDate> {
    dates::opt_from_proto("care_started_on", a.care_started_on.as_ref())
        .ok()
        .flatten()
        .or_else(|| {
            a.placed_at
                .get(..10)
                .and_then(|d| dates::parse_iso("placed_at", d).ok())
        })
}

/// The child's items as of `today`, overdue first, then by due date.
pub fn items_of(
    rules_cfg: &crate::config::OmbudConfig,
    a: &Assignment,
    reported: &[PortfolioItem],
    last_talk: Option<NaiveDate>,
    today: NaiveDate,
) -> Vec<FollowUpItem> {
    let mut items: Vec<FollowUpItem> = reported
        .iter()
        .map(|p| FollowUpItem {
            item: p.item.clone(),
            state: proto_state(State::parse(&p.state).unwrap_or(State::Unknown)) as i32,
            due_on: dates::parse_iso("due_on", &p.due_on)
                .ok()
                .map(dates::to_proto),
            source: FollowUpSource::Portfolio as i32,
        })
        .collect();
    let in_care = a.placement_ended_on.is_none();
    if let (true, Some(start)) = (in_care, care_start(a)) {
        let (s, due) = rules::talks_item(rules_cfg.talk_rule(), start, last_talk, today);
        items.push(FollowUpItem {
            item: rules::TALKS_WITH_CHILD.into(),
            state: proto_state(s) as i32,
            due_on: Some(dates::to_proto(due)),
            source: FollowUpSource::Ombud as i32,
        });
        for code in rules::HEALTH_EXAMINATIONS {
            if reported.iter().any(|p| p.item == *code) {
                continue;
            }
            let (s, due) = rules::unreported_item(rules_cfg.health_exam_data_days, start, today);
            items.push(FollowUpItem {
                item: (*code).into(),
                state: proto_state(s) as i32,
                due_on: Some(dates::to_proto(due)),
                source: FollowUpSource::Ombud as i32,
            });
        }
    }
    items.sort_by(|x, y| {
        (rank(x.state), due_text(x), &x.item).cmp(&(rank(y.state), due_text(y), &y.item))
    });
    items
}

fn text(o: &serde_json::Map<String, Value>, k: &str) -> String {
    o.get(k).and_then(Value::as_str).unwrap_or("").to_string()
}

impl Ombuds {
    fn follow_up_identity(&self) -> AuthContext {
        AuthContext::new(crate::NAME, Role::Service).with_purpose("rights follow-up")
    }

    /// The child's follow-up as of `today` (read from `e`'s store).
    async fn follow_up_of(&self, a: &Assignment, today: NaiveDate) -> R<ChildFollowUp> {
        let reported = store::portfolio_items_of(&self.store.read, &a.child_id).await?;
        let last = store::last_talk_of(&self.store.read, &a.child_id)
            .await?
            .and_then(|d| dates::parse_iso("held_on", &d).ok());
        let items = items_of(&self.rules, a, &reported, last, today);
        let overdue = items
            .iter()
            .filter(|i| i.state == FollowUpState::Overdue as i32)
            .count() as i32;
        Ok(ChildFollowUp {
            child_id: a.child_id.clone(),
            items,
            overdue,
        })
    }

    /// Raise `ombud.follow_up_overdue` when the item became overdue (once
    /// per due date), or forget the alert when it no longer is. `true`:
    /// an alert was raised.
    async fn reconcile_alert(
        &self,
        tx: &mut WriteTx,
        ctx: &AuthContext,
        child_id: &str,
        item: &str,
        overdue: bool,
        due_on: &str,
    ) -> R<bool> {
        let raised = store::alert_of(tx.conn(), child_id, item).await?;
        if !overdue {
            if raised.is_some() {
                store::clear_alert(tx.conn(), child_id, item).await?;
            }
            return Ok(false);
        }
        if raised.as_deref() == Some(due_on) {
            return Ok(false);
        }
        store::set_alert(tx.conn(), child_id, item, due_on).await?;
        self.core()
            .record(
                tx,
                ctx,
                "follow_up_overdue",
                "child",
                child_id,
                json!({"child_id": child_id, "item": item, "due_on": due_on}),
            )
            .await?;
        Ok(true)
    }

    /// Apply one `portfolio.deadline` in the consumer's transaction: the
    /// latest state per (child, item) by the feed's sequence (an older or
    /// redelivered event changes nothing); an overdue item is alerted.
    pub async fn apply_portfolio_event(&self, tx: &mut WriteTx, e: &Event) -> R<()> {
        if e.event_type != PORTFOLIO_DEADLINE {
            return Ok(());
        }
        let Ok(Value::Object(o)) = serde_json::from_str::<Value>(&e.payload_json) else {
            return Err(OmbudError::invalid("payload_json", "is not a JSON object"));
        };
        let child_id = parse_id("child_id", &text(&o, "child_id"))?.to_string();
        let item = text(&o, "item");
        rules::check_item(&item)?;
        let state_text = text(&o, "state");
        let state = State::parse(&state_text)
            .ok_or_else(|| OmbudError::invalid("state", "must be upcoming, due, overdue or met"))?;
        let due_on = dates::parse_iso("due_on", &text(&o, "due_on"))?;
        if let Some(region) = o.get("region").and_then(Value::as_str)
            && self.region.as_ref().is_some_and(|r| r.as_str() != region)
        {
            return Err(OmbudError::invalid(
                "region",
                "the event is for another region",
            ));
        }
        let seq = i64::try_from(e.seq).unwrap_or(i64::MAX);
        let existing = store::portfolio_item_of(tx.conn(), &child_id, &item).await?;
        if existing.as_ref().is_some_and(|p| p.seq >= seq) {
            return Ok(());
        }
        let due = dates::date_text(due_on);
        let p = PortfolioItem {
            child_id: child_id.clone(),
            item: item.clone(),
            state: state.as_str().into(),
            due_on: due.clone(),
            seq,
        };
        store::save_portfolio_item(tx.conn(), &p, existing.is_none()).await?;
        let ctx = self.follow_up_identity();
        tx.audit(&ctx.audit("portfolio_deadline", "follow_up", &child_id))
            .await?;
        self.reconcile_alert(tx, &ctx, &child_id, &item, state == State::Overdue, &due)
            .await?;
        Ok(())
    }

    /// A talk with the child: its ombud, or its placing municipality's
    /// caseworker (each records its own talks).
    pub async fn record_talk(&self, ctx: &AuthContext, req: RecordTalkRequest) -> R<Talk> {
        self.enter(ctx)?;
        only(
            ctx,
            &[Role::Ombud, Role::MunicipalityCaseworker],
            "record talks with a child",
        )?;
        let child_id = parse_id("child_id", &req.child_id)?.to_string();
        let with = match TalkWith::try_from(req.with) {
            Ok(TalkWith::Unspecified) | Err(_) => {
                return Err(OmbudError::invalid(
                    "with",
                    "is required (caseworker or ombud)",
                ));
            }
            Ok(w) => w,
        };
        let own = if ctx.role == Role::Ombud {
            TalkWith::Ombud
        } else {
            TalkWith::Caseworker
        };
        if with != own {
            return Err(OmbudError::invalid(
                "with",
                format!(
                    "a {} records its own talks ({})",
                    ctx.role.as_str(),
                    own.as_str_name()
                ),
            ));
        }
        let held_on = dates::from_proto("held_on", req.held_on.as_ref())?;
        if held_on > self.clock.today() {
            return Err(OmbudError::invalid("held_on", "is in the future"));
        }
        let a = self.assignment_of(&child_id).await?;
        let admitted = is_assigned_ombud(ctx, a.as_ref())
            || a.as_ref().is_some_and(|a| self.is_placing(ctx, a));
        if !admitted {
            return Err(hidden("child", &child_id));
        }
        let w = self
            .core()
            .begin(ctx, "RecordTalk", &req.request_id, &req)
            .await?;
        let mut w = samling_kit::replay!(w, self, ctx);
        let t = Talk {
            id: samling_kit::ids::new_id_string(),
            child_id: child_id.clone(),
            held_on: Some(dates::to_proto(held_on)),
            with: with as i32,
            recorded_at: self.now_text(),
        };
        store::insert_talk(w.conn(), &t, &dates::date_text(held_on)).await?;
        self.core()
            .record(
                &mut w,
                ctx,
                "talk_recorded",
                "talk",
                &t.id,
                json!({"talk_id": t.id, "child_id": child_id, "with": with.as_str_name(),
                       "held_on": dates::date_text(held_on)}),
            )
            .await?;
        // A talk that meets an overdue item clears its alert.
        if let Some(a) = a.as_ref().filter(|a| a.placement_ended_on.is_none())
            && let Some(start) = care_start(a)
        {
            let last = store::last_talk_of(w.conn(), &child_id)
                .await?
                .and_then(|d| dates::parse_iso("held_on", &d).ok());
            let (s, due) =
                rules::talks_item(self.rules.talk_rule(), start, last, self.clock.today());
            let service = self.follow_up_identity();
            self.reconcile_alert(
                &mut w,
                &service,
                &child_id,
                rules::TALKS_WITH_CHILD,
                s == State::Overdue,
                &dates::date_text(due),
            )
            .await?;
        }
        w.finish(self, ctx, t).await
    }

    /// The follow-up worklist (see the proto).
    pub async fn list_follow_up(
        &self,
        ctx: &AuthContext,
        req: ListFollowUpRequest,
    ) -> R<ListFollowUpResponse> {
        self.enter(ctx)?;
        only(
            ctx,
            &[
                Role::Ombud,
                Role::Child,
                Role::RegionalOfficer,
                Role::Service,
            ],
            "read the rights follow-up of a child",
        )?;
        let page = Page::from_request(req.page.as_ref())?;
        let today = self.clock.today();
        let children = if req.child_id.is_empty() {
            if ctx.role != Role::Ombud {
                return Err(OmbudError::invalid(
                    "child_id",
                    "is required (only an ombud lists its own children)",
                ));
            }
            store::all_of_ombud(&self.store.read, &ctx.sub).await?
        } else {
            let child_id = parse_id("child_id", &req.child_id)?.to_string();
            let a = self.assignment_of(&child_id).await?;
            let admitted = match ctx.role {
                Role::Ombud => is_assigned_ombud(ctx, a.as_ref()),
                Role::Child => ctx.is_party(&child_id),
                _ => is_office(ctx),
            };
            match a {
                Some(a) if admitted => vec![a],
                _ => return Err(hidden("child", &child_id)),
            }
        };
        let mut rows = Vec::with_capacity(children.len());
        for a in &children {
            let mut f = self.follow_up_of(a, today).await?;
            if req.overdue_only {
                f.items.retain(|i| i.state == FollowUpState::Overdue as i32);
                if f.items.is_empty() {
                    continue;
                }
            }
            rows.push(f);
        }
        let key =
            |f: &ChildFollowUp| format!("{}/{}", if f.overdue > 0 { 0 } else { 1 }, f.child_id);
        rows.sort_by_key(key);
        if let Some(after) = &page.after {
            rows.retain(|f| key(f).as_str() > after.as_str());
        }
        rows.truncate(page.limit() as usize);
        let (rows, resp) = page.finish(rows, key);
        let ids: Vec<&str> = rows.iter().map(|f| f.child_id.as_str()).collect();
        self.core().audit_read(ctx, "follow_up", &ids).await?;
        Ok(ListFollowUpResponse {
            children: rows,
            page: Some(resp),
        })
    }

    /// Evaluate the talks rule as of `as_of` for every child in care and
    /// alert what became overdue (the office; the periodic job).
    pub async fn run_follow_up(
        &self,
        ctx: &AuthContext,
        req: RunFollowUpRequest,
    ) -> R<RunFollowUpResponse> {
        self.enter(ctx)?;
        only(ctx, OFFICE, "run the rights follow-up")?;
        let as_of = dates::opt_from_proto("as_of", req.as_of.as_ref())?
            .unwrap_or_else(|| self.clock.today());
        let w = self
            .core()
            .begin(ctx, "RunFollowUp", &req.request_id, &req)
            .await?;
        let mut w = samling_kit::replay!(w, self, ctx);
        let service = self.follow_up_identity();
        let children = store::all_in_care(w.conn()).await?;
        let mut raised = 0;
        for a in &children {
            let Some(start) = care_start(a) else { continue };
            let last = store::last_talk_of(w.conn(), &a.child_id)
                .await?
                .and_then(|d| dates::parse_iso("held_on", &d).ok());
            let (s, due) = rules::talks_item(self.rules.talk_rule(), start, last, as_of);
            if self
                .reconcile_alert(
                    &mut w,
                    &service,
                    &a.child_id,
                    rules::TALKS_WITH_CHILD,
                    s == State::Overdue,
                    &dates::date_text(due),
                )
                .await?
            {
                raised += 1;
            }
        }
        w.audit(&ctx.audit("run", "follow_up", &dates::date_text(as_of)))
            .await?;
        let resp = RunFollowUpResponse {
            as_of: Some(dates::to_proto(as_of)),
            children: children.len() as i32,
            alerts_raised: raised,
        };
        w.finish(self, ctx, resp).await
    }

    /// Per item, the region's children in care overdue, due, met, upcoming
    /// and unknown as of today, suppressed (ADR 0017): the office and the
    /// aggregate roles (council members, analysts); never a child id.
    pub async fn follow_up_counts(
        &self,
        ctx: &AuthContext,
        _req: FollowUpCountsRequest,
    ) -> R<FollowUpCountsResponse> {
        if ctx.is_public() {
            return Err(role_refused(ctx, "read the follow-up counts"));
        }
        if !ctx.role.aggregates_only() {
            self.enter(ctx)?;
            only(ctx, OFFICE, "read the follow-up counts")?;
        }
        let today = self.clock.today();
        let children = store::all_in_care(&self.store.read).await?;
        // item → [overdue, due, met, upcoming, unknown]
        let mut tally: BTreeMap<String, [u32; 5]> = BTreeMap::new();
        for a in &children {
            for i in self.follow_up_of(a, today).await?.items {
                let cell = match FollowUpState::try_from(i.state).unwrap_or_default() {
                    FollowUpState::Overdue => 0,
                    FollowUpState::Due => 1,
                    FollowUpState::Met => 2,
                    FollowUpState::Upcoming => 3,
                    _ => 4,
                };
                tally.entry(i.item).or_default()[cell] += 1;
            }
        }
        self.core()
            .audit_each(ctx, "read", "follow_up_counts", &[&self.region_name()])
            .await?;
        let items = tally
            .into_iter()
            .map(|(item, cells)| {
                let total = cells.iter().sum();
                let (shown, total) = disclosure::suppress(&cells, total);
                FollowUpCount {
                    item,
                    overdue: shown[0].display(),
                    due: shown[1].display(),
                    met: shown[2].display(),
                    upcoming: shown[3].display(),
                    unknown: shown[4].display(),
                    children: total.display(),
                }
            })
            .collect();
        Ok(FollowUpCountsResponse {
            as_of: Some(dates::to_proto(today)),
            items,
        })
    }
}

/// A talk: the child's ombud, its placing municipality, the office.
impl Answer<Ombuds> for Talk {
    fn record(&self) -> (&'static str, String) {
        ("talk", self.id.clone())
    }

    async fn view(self, svc: &Ombuds, ctx: &AuthContext) -> R<Self> {
        let a = svc.assignment_of(&self.child_id).await?;
        let admitted = is_assigned_ombud(ctx, a.as_ref())
            || is_office(ctx)
            || a.as_ref().is_some_and(|a| svc.is_placing(ctx, a));
        if !admitted {
            return Err(hidden("talk", &self.id));
        }
        svc.core().audit_read(ctx, "talk", &[&self.id]).await?;
        Ok(self)
    }
}

samling_kit::plain_answer!(Ombuds;
    RunFollowUpResponse => "follow_up", |r| r.as_of.as_ref().map(|d| format!("{}-{}-{}", d.year, d.month, d.day)).unwrap_or_default();
);

/// The periodic evaluation of the talks rule (the module starts it; the
/// stop ends it): `RunFollowUp` as of today, as the service itself.
pub struct FollowUpJob(tokio::task::JoinHandle<()>);

impl FollowUpJob {
    pub fn spawn(svc: Ombuds, every: std::time::Duration) -> FollowUpJob {
        FollowUpJob(tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                let ctx = svc.follow_up_identity();
                if let Err(e) = svc.run_follow_up(&ctx, RunFollowUpRequest::default()).await {
                    tracing::warn!(error = %e, "the rights follow-up's run failed");
                }
            }
        }))
    }

    pub fn stop(&self) {
        self.0.abort();
    }
}
