//! Retention (issue 22 §8, ADR 0043): the stage each portfolio is in as of
//! today, decided from its facts ([`crate::domain::retention`]) for every
//! request (the access view), and recorded by the job: the stage stored,
//! the archive form applied, the credentials revoked or deleted, each
//! change audited on the child's log and announced as `portfolio.retention`
//! (child id, region, stage). The service runs the job periodically
//! ([`RetentionJob`]); `RunRetention` runs it for a day (the office and
//! services), or lists what it would change (`dry_run`).

use super::{Portfolios, R};
use crate::domain::PortfolioError;
use crate::domain::access::age_on;
use crate::domain::retention::{self, Action, Facts, Placement, Plan, Stage};
use crate::store;
use crate::store::home_access::HomePlacement;
use chrono::NaiveDate;
use samling_kit::auth::{AuthContext, Role};
use samling_kit::dates;
use samling_kit::outbox::NewEvent;
use samling_kit::service::{Service, office_only};
use samling_kit::tx::WriteTx;
use samling_proto::portfolio::v1::*;
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// The job's page of portfolios.
const PAGE: i64 = 500;

/// The age from which guardians no longer read (custody ends at 18).
pub const ADULT_AGE: u32 = 18;

fn day(s: &str) -> Option<NaiveDate> {
    dates::parse_iso("", s).ok()
}

/// What the portfolio knows, for the domain's rules.
pub fn facts(p: &Portfolio, rows: &[HomePlacement]) -> Facts {
    Facts {
        birth_date: dates::opt_from_proto("birth_date", p.birth_date.as_ref())
            .ok()
            .flatten(),
        placements: rows
            .iter()
            .filter(|r| r.child_id == p.child_id)
            .map(|r| Placement {
                starts_on: day(&r.starts_on),
                ends_on: day(&r.ends_on),
            })
            .collect(),
        stage: Stage::of(p),
    }
}

/// The identity the periodic job acts as (on the child's log: a service).
pub fn job_identity() -> AuthContext {
    AuthContext::new(crate::NAME, Role::Service).with_purpose("retention (ADR 0043)")
}

/// One run's tally.
#[derive(Default)]
struct Tally {
    changes: Vec<RetentionChange>,
    revoked: i64,
    deleted: i64,
    undetermined: Vec<String>,
}

impl Portfolios {
    /// The stage of `p` today (decided from its facts: access never waits
    /// for the job) and whether the young person is 18 or over.
    pub(crate) async fn stage_now(&self, p: &Portfolio) -> R<(Stage, bool)> {
        let rows = store::home_access::of_child(&self.store.read, &p.child_id).await?;
        let today = self.clock.today();
        let f = facts(p, &rows);
        let adult = f.birth_date.is_some_and(|b| age_on(b, today) >= ADULT_AGE);
        Ok((retention::stage_on(&f, &self.retention, today), adult))
    }

    /// `RunRetention`: the office of the region and services only.
    pub async fn run_retention(
        &self,
        ctx: &AuthContext,
        req: RunRetentionRequest,
    ) -> R<RetentionRun> {
        self.enter(ctx)?;
        office_only(ctx, "run the portfolio retention job")?;
        let today = dates::opt_from_proto("today", req.today.as_ref())?
            .unwrap_or_else(|| self.clock.today());
        if !req.dry_run && today > self.clock.today() {
            return Err(PortfolioError::invalid(
                "today",
                "a run may not be for a day after today (archiving is irreversible); use dry_run to see what a later day would change",
            ));
        }
        if req.dry_run {
            let run = self.dry_run(today).await?;
            // The listing is logged (who asked for which day), not per child.
            self.core()
                .audit(vec![ctx.audit(
                    "retention_dry_run",
                    "retention_run",
                    &dates::date_text(today),
                )])
                .await?;
            return Ok(run);
        }
        let due = self.due(today).await?;
        let w = self
            .core()
            .begin(ctx, "RunRetention", &req.request_id, &req)
            .await?;
        let mut w = samling_kit::replay!(w, self, ctx);
        let mut tally = Tally {
            undetermined: due.undetermined,
            ..Default::default()
        };
        for child_id in &due.child_ids {
            self.apply_one(&mut w, ctx, child_id, today, &mut tally)
                .await?;
        }
        let counts = store::portfolios::count_by_stage(w.conn()).await?;
        w.audit(&ctx.audit("retention_run", "retention_run", &dates::date_text(today)))
            .await?;
        let run = answer(today, false, tally, counts);
        w.finish(self, ctx, run).await
    }

    /// The periodic job: each change in its own transaction. Returns how
    /// many portfolios changed stage.
    pub async fn run_retention_job(&self, today: NaiveDate) -> R<usize> {
        let ctx = job_identity();
        let due = self.due(today).await?;
        let mut tally = Tally::default();
        for child_id in &due.child_ids {
            let mut tx = self.store.begin_write().await?;
            self.apply_one(&mut tx, &ctx, child_id, today, &mut tally)
                .await?;
            let touched = tx.commit(&self.feed).await?;
            self.committed(&touched);
        }
        Ok(tally.changes.len())
    }

    /// What a run on `today` would change, changing nothing.
    async fn dry_run(&self, today: NaiveDate) -> R<RetentionRun> {
        let mut tally = Tally::default();
        let mut counts: BTreeMap<Stage, i64> = store::portfolios::count_by_stage(&self.store.read)
            .await?
            .into_iter()
            .collect();
        self.scan(
            today,
            |p, plan| {
                tally.changes.push(RetentionChange {
                    child_id: p.child_id.clone(),
                    from: plan.from.to_proto() as i32,
                    to: plan.to.to_proto() as i32,
                });
                *counts.entry(plan.from).or_default() -= 1;
                *counts.entry(plan.to).or_default() += 1;
            },
            &mut tally.undetermined,
        )
        .await?;
        for c in &tally.changes {
            let (all, live) =
                store::credentials::count_of_child(&self.store.read, &c.child_id).await?;
            if c.to == RetentionStage::Archived as i32 {
                tally.deleted += all;
            } else if c.to == RetentionStage::Restricted as i32 {
                tally.revoked += live;
            }
        }
        Ok(answer(today, true, tally, counts.into_iter().collect()))
    }

    /// The portfolios whose stage changes on `today` (read outside the
    /// write; each is decided again in it).
    async fn due(&self, today: NaiveDate) -> R<Due> {
        let mut child_ids = Vec::new();
        let mut undetermined = Vec::new();
        self.scan(
            today,
            |p, _| child_ids.push(p.child_id.clone()),
            &mut undetermined,
        )
        .await?;
        Ok(Due {
            child_ids,
            undetermined,
        })
    }

    /// Every portfolio not archived, a page at a time with its placements:
    /// `changed` for each whose stage changes on `today`; those without a
    /// birth date into `undetermined`.
    async fn scan(
        &self,
        today: NaiveDate,
        mut changed: impl FnMut(&Portfolio, &Plan),
        undetermined: &mut Vec<String>,
    ) -> R<()> {
        let mut after = String::new();
        loop {
            let page =
                store::portfolios::not_archived_after(&self.store.read, &after, PAGE).await?;
            let Some(last) = page.last() else {
                return Ok(());
            };
            after = last.child_id.clone();
            let ids: Vec<String> = page.iter().map(|p| p.child_id.clone()).collect();
            let mut rows: HashMap<String, Vec<HomePlacement>> = HashMap::new();
            for r in store::home_access::of_children(&self.store.read, &ids).await? {
                rows.entry(r.child_id.clone()).or_default().push(r);
            }
            for p in &page {
                let f = facts(p, rows.get(&p.child_id).map(Vec::as_slice).unwrap_or(&[]));
                if f.birth_date.is_none() {
                    undetermined.push(p.child_id.clone());
                }
                let plan = retention::plan(&f, &self.retention, today);
                if plan.changes() {
                    changed(p, &plan);
                }
            }
            if (page.len() as i64) < PAGE {
                return Ok(());
            }
        }
    }

    /// Move one portfolio to its stage on `today`, in `tx`: decided again
    /// from what the transaction reads; the stage stored only if no other
    /// run stored it first (then nothing else is done).
    async fn apply_one(
        &self,
        tx: &mut WriteTx,
        ctx: &AuthContext,
        child_id: &str,
        today: NaiveDate,
        tally: &mut Tally,
    ) -> R<()> {
        let Some(mut p) = store::portfolios::get(tx.conn(), child_id).await? else {
            return Ok(());
        };
        let rows = store::home_access::of_child(tx.conn(), child_id).await?;
        let plan = retention::plan(&facts(&p, &rows), &self.retention, today);
        if !plan.changes() {
            return Ok(());
        }
        let now = self.now_text();
        let mut revoke = false;
        let mut delete = false;
        for a in &plan.actions {
            match *a {
                Action::RevokeCredentials => revoke = true,
                Action::DeleteCredentials => delete = true,
                Action::Section(s, rule) => retention::apply_section_rule(&mut p, s, rule),
                Action::ClearWorkingRelations => {
                    if let Some(r) = p.relations.as_mut() {
                        r.ombud_subjects.clear();
                        r.health_units.clear();
                        r.school_units.clear();
                    }
                }
            }
        }
        p.retention_stage = plan.to.to_proto() as i32;
        if plan.to == Stage::Archived {
            p.archived_at = now.clone();
        }
        p.version += 1;
        p.updated_at = now.clone();
        if !store::portfolios::save_if_stage(tx.conn(), &p, plan.from).await? {
            return Ok(());
        }
        if revoke {
            let n = store::credentials::revoke_of_child(tx.conn(), child_id, &now).await?;
            if n > 0 {
                tx.audit(&ctx.audit("credentials_revoked", "portfolio.credential", child_id))
                    .await?;
                tally.revoked += n as i64;
            }
        }
        if delete {
            let n = store::credentials::delete_of_child(tx.conn(), child_id).await?;
            if n > 0 {
                tx.audit(&ctx.audit("credentials_deleted", "portfolio.credential", child_id))
                    .await?;
                tally.deleted += n as i64;
            }
        }
        // On the child's access log (section "retention"), and the event:
        // the child's id, the region and the stage only.
        let stage = plan.to.as_str();
        tx.audit(&ctx.audit(
            &format!("retention_{stage}"),
            "portfolio.retention",
            child_id,
        ))
        .await?;
        let region = self.region.as_ref().map(|r| r.as_str()).unwrap_or("");
        tx.event(NewEvent::new(
            "portfolio.retention",
            "portfolio",
            child_id.to_string(),
            json!({"child_id": child_id, "region": region, "stage": stage}),
        ))
        .await?;
        tally.changes.push(RetentionChange {
            child_id: child_id.to_string(),
            from: plan.from.to_proto() as i32,
            to: plan.to.to_proto() as i32,
        });
        Ok(())
    }

    /// Run the job every `every` (the first at once) until stopped.
    pub fn spawn_retention_job(&self, every: std::time::Duration) -> RetentionJob {
        let me = self.clone();
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(async move {
            // The first run a little after the start (the feeds catch up
            // first), then every `every`.
            let every = every.max(std::time::Duration::from_secs(1));
            let first = every.min(std::time::Duration::from_secs(60));
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + first, every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stopped.wait_for(|s| *s) => return,
                }
                if me.store.write.is_closed() {
                    return;
                }
                match me.run_retention_job(me.clock.today()).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(changed = n, "portfolio retention: stages changed"),
                    Err(e) => {
                        tracing::warn!(error = %e, "portfolio retention failed; retrying at the next tick")
                    }
                }
            }
        });
        RetentionJob {
            stop: Arc::new(stop),
            task: Some(task),
        }
    }
}

struct Due {
    child_ids: Vec<String>,
    undetermined: Vec<String>,
}

fn answer(today: NaiveDate, dry_run: bool, t: Tally, counts: Vec<(Stage, i64)>) -> RetentionRun {
    let mut by: BTreeMap<Stage, i64> = Stage::ALL.into_iter().map(|s| (s, 0)).collect();
    for (s, n) in counts {
        *by.entry(s).or_default() += n;
    }
    RetentionRun {
        today: Some(dates::to_proto(today)),
        dry_run,
        changes: t.changes,
        counts: by
            .into_iter()
            .map(|(s, n)| RetentionStageCount {
                stage: s.to_proto() as i32,
                portfolios: n,
            })
            .collect(),
        credentials_revoked: t.revoked,
        credentials_deleted: t.deleted,
        undetermined_child_ids: t.undetermined,
    }
}

samling_kit::plain_answer!(Portfolios;
    RetentionRun => "retention_run", |r| r.today.as_ref().map(|d| format!("{}-{:02}-{:02}", d.year, d.month, d.day)).unwrap_or_default();
);

/// The periodic retention job: runs until [`RetentionJob::stop`] or a
/// [`RetentionJobStopper`] (the instance's synchronous stop).
pub struct RetentionJob {
    stop: Arc<tokio::sync::watch::Sender<bool>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

/// Stops a [`RetentionJob`] without owning it; cloneable.
#[derive(Clone)]
pub struct RetentionJobStopper(Arc<tokio::sync::watch::Sender<bool>>);

impl RetentionJobStopper {
    pub fn stop(&self) {
        self.0.send_replace(true);
    }
}

impl RetentionJob {
    pub fn stopper(&self) -> RetentionJobStopper {
        RetentionJobStopper(self.stop.clone())
    }

    /// Stop, returning once a run under way has ended.
    pub async fn stop(mut self) {
        self.stop.send_replace(true);
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}
