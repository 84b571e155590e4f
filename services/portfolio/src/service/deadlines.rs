//! Deadlines and alerts (issue 22 §6, ADR 0042): the run that emits
//! `portfolio.deadline` when a child's item changes state (or due date),
//! the periodic job that runs it, and the worklists — the caseworker's
//! (due and overdue items) and the exit coordinator's (aftercare to 25).
//! The rules are [`crate::domain::deadlines`]'s; the facts are the
//! portfolio's and the registry feed's placements.

use super::access::refused;
use super::{Portfolios, R};
use crate::domain::deadlines::{self as rules, Facts, Item, Placement, State};
use crate::domain::{PortfolioError, information};
use crate::store;
use chrono::NaiveDate;
use samling_kit::auth::{AuthContext, Role};
use samling_kit::dates;
use samling_kit::error::Reason;
use samling_kit::outbox::NewEvent;
use samling_kit::paging::Page;
use samling_kit::service::Service;
use samling_proto::common::v1::Date;
use samling_proto::portfolio::v1::*;
use serde_json::json;

/// The event of a changed item (the contract, docs/portfolio.md).
pub const DEADLINE_EVENT: &str = "portfolio.deadline";
/// Portfolios read at a time by the run and the worklists.
const BATCH: i64 = 200;

/// Aftercare contact: never told about the support after care.
pub const NOT_CONTACTED: &str = "not_contacted";
/// Told, but not (fully) understood or declined: tell again.
pub const FOLLOW_UP: &str = "follow_up";
/// Told and understood.
pub const INFORMED: &str = "informed";

/// What the portfolio knows of a child for its deadlines.
pub(crate) fn facts(p: &Portfolio, placements: &[store::home_access::HomePlacement]) -> Facts {
    let day = |s: &str| dates::parse_iso("", s).ok();
    let exam = p.health.as_ref().and_then(|h| h.examination.as_ref());
    let docs_of = |kind: DocumentKind| -> Vec<NaiveDate> {
        p.documents
            .iter()
            .flat_map(|d| d.documents.iter())
            .filter(|d| d.kind == kind as i32)
            .filter_map(|d| {
                dates::opt_from_proto("dated", d.dated.as_ref())
                    .ok()
                    .flatten()
            })
            .collect()
    };
    Facts {
        birth_date: dates::opt_from_proto("birth_date", p.birth_date.as_ref())
            .ok()
            .flatten(),
        placements: placements
            .iter()
            .filter_map(|r| {
                Some(Placement {
                    home_id: r.home_id.clone(),
                    starts_on: day(&r.starts_on)?,
                    ends_on: day(&r.ends_on),
                    legal_basis: r.legal_basis.clone(),
                })
            })
            .collect(),
        examined_on: exam.and_then(|e| {
            dates::opt_from_proto("examined_on", e.examined_on.as_ref())
                .ok()
                .flatten()
        }),
        physical: exam.is_some_and(|e| e.physical),
        psychological: exam.is_some_and(|e| e.psychological),
        oral: exam.is_some_and(|e| e.oral),
        reviews: docs_of(DocumentKind::CareReview),
        custody_considerations: docs_of(DocumentKind::CustodyConsideration),
        dental_last_visit: p.dental.as_ref().and_then(|d| {
            dates::opt_from_proto("last_visit_on", d.last_visit_on.as_ref())
                .ok()
                .flatten()
        }),
        bup_referrals: p
            .health
            .iter()
            .flat_map(|h| h.referrals.iter())
            .filter(|r| r.kind == ReferralKind::Bup as i32)
            .filter_map(|r| {
                let on = dates::opt_from_proto("referred_on", r.referred_on.as_ref()).ok()??;
                let first =
                    dates::opt_from_proto("first_appointment_on", r.first_appointment_on.as_ref())
                        .ok()
                        .flatten();
                Some((on, first))
            })
            .collect(),
        school_recorded_on: p
            .school
            .as_ref()
            .filter(|s| !s.school_unit_code.trim().is_empty())
            .and_then(|s| day(s.updated_at.get(..10).unwrap_or_default())),
        care_plans: docs_of(DocumentKind::CarePlan),
        implementation_plans: docs_of(DocumentKind::ImplementationPlan),
    }
}

fn to_proto(i: &Item) -> DeadlineItem {
    DeadlineItem {
        item: i.code.to_string(),
        due_on: Some(dates::to_proto(i.due_on)),
        state: i.state.as_str().to_string(),
    }
}

/// The aftercare contact status from what the young person was told.
pub(crate) fn contact_status(p: &Portfolio) -> &'static str {
    let records = p
        .information
        .as_ref()
        .map(|i| i.records.as_slice())
        .unwrap_or_default();
    let (items, _) = information::checklist(records);
    match items.iter().find(|c| {
        c.phase == InformationPhase::After as i32
            && c.topic == InformationTopic::AftercareSupport as i32
    }) {
        Some(c) if c.told && !c.follow_up => INFORMED,
        Some(c) if c.told => FOLLOW_UP,
        _ => NOT_CONTACTED,
    }
}

/// One region's deadline job: runs the deadlines every `every` until stopped.
pub struct DeadlineJob {
    stop: tokio::sync::watch::Sender<bool>,
}

impl DeadlineJob {
    /// Run `svc`'s deadlines now and then every `every` (as of its clock).
    pub fn spawn(svc: Portfolios, every: std::time::Duration) -> DeadlineJob {
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every.max(std::time::Duration::from_secs(1)));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stopped.wait_for(|s| *s) => return,
                }
                if svc.store.write.is_closed() {
                    return;
                }
                match svc.run_deadlines_on(svc.clock.today()).await {
                    Ok(r) => tracing::info!(
                        children = r.children,
                        items = r.items,
                        emitted = r.emitted,
                        "portfolio deadlines run"
                    ),
                    Err(e) => {
                        tracing::warn!(error = %e, "portfolio deadlines run failed; retrying at the next tick")
                    }
                }
            }
        });
        DeadlineJob { stop }
    }

    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }
}

impl Portfolios {
    /// The region's code in events ("" when serving every region: tests).
    fn region_code(&self) -> String {
        self.region
            .as_ref()
            .map(|r| r.as_str().to_string())
            .unwrap_or_default()
    }

    /// `today` of a request: the service's today when empty; never after it.
    fn day_of(&self, field: &str, d: Option<&Date>) -> R<NaiveDate> {
        let today = self.clock.today();
        match dates::opt_from_proto(field, d)? {
            None => Ok(today),
            Some(d) if d > today => Err(PortfolioError::invalid(
                field,
                format!("must not be after the service's today ({today})"),
            )),
            Some(d) => Ok(d),
        }
    }

    /// A child's deadline items on `today`.
    pub async fn deadline_items(&self, p: &Portfolio, today: NaiveDate) -> R<(Facts, Vec<Item>)> {
        let placements = store::home_access::of_child(&self.store.read, &p.child_id).await?;
        let f = facts(p, &placements);
        let items = rules::items(&f, &self.deadlines, today);
        Ok((f, items))
    }

    /// Compute every child's items on `today` and emit `portfolio.deadline`
    /// for each whose state or due date differs from the last emitted (in
    /// the transaction that records it: a restart or a second run emits
    /// nothing new).
    pub async fn run_deadlines_on(&self, today: NaiveDate) -> R<RunDeadlinesResponse> {
        let region = self.region_code();
        let service = AuthContext::new(crate::NAME, Role::Service).with_purpose("deadlines");
        let mut out = RunDeadlinesResponse::default();
        let mut after = String::new();
        loop {
            let batch = store::portfolios::page(&self.store.read, None, &after, BATCH).await?;
            for p in &batch {
                after = p.child_id.clone();
                let (_, items) = self.deadline_items(p, today).await?;
                out.children += 1;
                out.items += items.len() as i32;
                // Only a change opens a write (checked again in it).
                let known = store::deadlines::of_child(&self.store.read, &p.child_id).await?;
                let unchanged = |i: &Item| {
                    known.iter().any(|(item, state, due)| {
                        item == i.code
                            && state == i.state.as_str()
                            && *due == dates::date_text(i.due_on)
                    })
                };
                if items.iter().all(unchanged) {
                    continue;
                }
                let mut tx = self.store.begin_write().await?;
                let at = self.now_text();
                let mut changed = 0;
                for i in &items {
                    let due = dates::date_text(i.due_on);
                    if store::deadlines::record_change(
                        tx.conn(),
                        &p.child_id,
                        i.code,
                        i.state.as_str(),
                        &due,
                        &at,
                    )
                    .await?
                    {
                        changed += 1;
                        // Ids and codes only: never a name, an address or health detail.
                        tx.event(NewEvent::new(
                            DEADLINE_EVENT,
                            "portfolio",
                            p.child_id.clone(),
                            json!({"child_id": p.child_id, "region": region, "item": i.code,
                                   "state": i.state.as_str(), "due_on": due}),
                        ))
                        .await?;
                    }
                }
                if changed > 0 {
                    tx.audit(&service.audit(
                        "deadlines_changed",
                        "portfolio.deadlines",
                        &p.child_id,
                    ))
                    .await?;
                    tx.commit(&self.feed).await?;
                    out.emitted += changed;
                }
            }
            if (batch.len() as i64) < BATCH {
                break;
            }
        }
        Ok(out)
    }

    /// Run the deadlines now (the office of the region, services).
    pub async fn run_deadlines(
        &self,
        ctx: &AuthContext,
        req: RunDeadlinesRequest,
    ) -> R<RunDeadlinesResponse> {
        self.enter(ctx)?;
        if !matches!(ctx.role, Role::RegionalOfficer | Role::Service) {
            return Err(refused(
                Reason::ForbiddenRole,
                format!("a {} may not run the deadlines", ctx.role.as_str()),
            ));
        }
        let today = self.day_of("today", req.today.as_ref())?;
        self.core()
            .audit(vec![ctx.audit(
                "run",
                "portfolio.deadlines",
                &self.region_code(),
            )])
            .await?;
        self.run_deadlines_on(today).await
    }

    /// Whose children a worklist shows: the office and services all of the
    /// region's; a caseworker or manager its municipality's placed children.
    fn worklist_scope(&self, ctx: &AuthContext, what: &str) -> R<Option<String>> {
        match ctx.role {
            Role::RegionalOfficer | Role::Service => Ok(None),
            r if r.is_municipal() => match &ctx.municipality {
                Some(m) => Ok(Some(m.as_str().to_string())),
                None => Err(refused(
                    Reason::NotOwnMunicipality,
                    "a municipality's token must name its municipality",
                )),
            },
            r => Err(refused(
                Reason::ForbiddenRole,
                format!("a {} may not read {what}", r.as_str()),
            )),
        }
    }

    /// The caseworker's worklist: children with due or overdue items.
    pub async fn list_deadlines(
        &self,
        ctx: &AuthContext,
        req: ListDeadlinesRequest,
    ) -> R<ListDeadlinesResponse> {
        self.enter(ctx)?;
        let scope = self.worklist_scope(ctx, "the deadline worklist")?;
        let item = req.item.trim();
        if !item.is_empty() && !rules::ITEMS.contains(&item) {
            return Err(PortfolioError::invalid(
                "item",
                format!("must be one of {}", rules::ITEMS.join(", ")),
            ));
        }
        let states: Vec<State> = match req.state.trim() {
            "" => vec![State::Due, State::Overdue],
            s => match State::parse(s) {
                Some(st @ (State::Due | State::Overdue)) => vec![st],
                _ => {
                    return Err(PortfolioError::invalid("state", "must be due or overdue"));
                }
            },
        };
        let today = self.day_of("today", req.today.as_ref())?;
        let page = Page::from_request(req.page.as_ref())?;
        let mut rows = Vec::new();
        let mut after = page.after.clone().unwrap_or_default();
        'scan: loop {
            let batch =
                store::portfolios::page(&self.store.read, scope.as_deref(), &after, BATCH).await?;
            for p in &batch {
                after = p.child_id.clone();
                let (f, items) = self.deadline_items(p, today).await?;
                let shown: Vec<DeadlineItem> = items
                    .iter()
                    .filter(|i| states.contains(&i.state) && (item.is_empty() || i.code == item))
                    .map(to_proto)
                    .collect();
                if shown.is_empty() {
                    continue;
                }
                let care = rules::care_on(&f.placements, today);
                let redacted = p.protected_identity;
                rows.push(DeadlineRow {
                    child_id: p.child_id.clone(),
                    placing_municipality_code: if redacted {
                        String::new()
                    } else {
                        p.placing_municipality_code.clone()
                    },
                    home_id: match (&care, redacted) {
                        (Some(c), false) => {
                            c.home.as_ref().map(|h| h.0.clone()).unwrap_or_default()
                        }
                        _ => String::new(),
                    },
                    care_start: care.as_ref().map(|c| dates::to_proto(c.started_on)),
                    items: shown,
                    redacted,
                });
                if rows.len() > page.size as usize {
                    break 'scan;
                }
            }
            if (batch.len() as i64) < BATCH {
                break;
            }
        }
        let (rows, page) = page.finish(rows, |r| r.child_id.clone());
        // Each child listed is a read of its deadlines, logged before the answer.
        let ids: Vec<&str> = rows.iter().map(|r| r.child_id.as_str()).collect();
        self.core()
            .audit_read(ctx, "portfolio.deadlines", &ids)
            .await?;
        Ok(ListDeadlinesResponse {
            rows,
            page: Some(page),
        })
    }

    /// The exit coordinator's worklist: young people whose care ended, in
    /// aftercare until 25 (the regional office; services).
    pub async fn list_aftercare(
        &self,
        ctx: &AuthContext,
        req: ListAftercareRequest,
    ) -> R<ListAftercareResponse> {
        self.enter(ctx)?;
        if !matches!(ctx.role, Role::RegionalOfficer | Role::Service) {
            return Err(refused(
                Reason::ForbiddenRole,
                format!(
                    "a {} may not read the aftercare worklist (the regional office's exit coordinator)",
                    ctx.role.as_str()
                ),
            ));
        }
        let today = self.day_of("today", req.today.as_ref())?;
        let page = Page::from_request(req.page.as_ref())?;
        let mut rows = Vec::new();
        let mut after = page.after.clone().unwrap_or_default();
        'scan: loop {
            let batch = store::portfolios::page(&self.store.read, None, &after, BATCH).await?;
            for p in &batch {
                after = p.child_id.clone();
                let (f, items) = self.deadline_items(p, today).await?;
                let Some(aftercare) = items
                    .iter()
                    .find(|i| i.code == rules::AFTERCARE && i.state == State::Due)
                else {
                    continue;
                };
                let ended = rules::care_on(&f.placements, today).and_then(|c| c.ended_on);
                let redacted = p.protected_identity;
                rows.push(AftercareRow {
                    child_id: p.child_id.clone(),
                    placing_municipality_code: if redacted {
                        String::new()
                    } else {
                        p.placing_municipality_code.clone()
                    },
                    care_ended_on: ended.map(dates::to_proto),
                    aftercare_until: Some(dates::to_proto(aftercare.due_on)),
                    years_left: rules::years_left(today, aftercare.due_on) as i32,
                    contact_status: contact_status(p).to_string(),
                    redacted,
                });
                if rows.len() > page.size as usize {
                    break 'scan;
                }
            }
            if (batch.len() as i64) < BATCH {
                break;
            }
        }
        let (rows, page) = page.finish(rows, |r| r.child_id.clone());
        let ids: Vec<&str> = rows.iter().map(|r| r.child_id.as_str()).collect();
        self.core()
            .audit_read(ctx, "portfolio.aftercare", &ids)
            .await?;
        Ok(ListAftercareResponse {
            rows,
            page: Some(page),
        })
    }
}
