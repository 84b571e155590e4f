//! Monthly payment runs: payee accounts, the run of a month (from the
//! agreements within their placements as the registry's feed shows them),
//! statements per home, a second person's approval and the pain.001 file.
//!
//! * **Never twice**: one run per month (`payment_runs.period` unique);
//!   starting a month that has a run answers that run.
//! * **Crash-safe**: a run and all its statements are written in one
//!   transaction (all or nothing); the file is made from stored values only
//!   and stored at approval, so every fetch (and a re-approval after a crash
//!   before commit) gives the same bytes.

use super::access::{finance, refused};
use super::{Compensation, R};
use crate::domain::payments::{self, Paid};
use crate::domain::{CompensationError, agreement, pain001};
use crate::registry_feed::{PLACEMENT_CREATED, PLACEMENT_ENDED};
use crate::store;
use samling_kit::auth::{AuthContext, Role};
use samling_kit::dates;
use samling_kit::error::Reason;
use samling_kit::ids::{new_id_string, parse_id};
use samling_kit::paging::Page;
use samling_kit::service::{Answer, Service};
use samling_kit::tx::WriteTx;
use samling_proto::common::v1::Event;
use samling_proto::compensation::v1::*;
use serde_json::json;
use std::collections::{BTreeMap, HashMap};

impl Compensation {
    pub async fn set_payee_account(
        &self,
        ctx: &AuthContext,
        req: SetPayeeAccountRequest,
    ) -> R<PayeeAccount> {
        finance(ctx, "set payee accounts")?;
        let home_id = parse_id("home_id", &req.home_id)?.to_string();
        let iban = payments::check_iban("iban", &req.iban)?;
        let w = self
            .core()
            .begin(ctx, "SetPayeeAccount", &req.request_id, &req)
            .await?;
        let mut w = samling_kit::replay!(w, self, ctx);
        let p = PayeeAccount {
            home_id,
            iban,
            updated_at: self.now_text(),
            updated_by: ctx.sub.clone(),
        };
        store::payments::save_payee(w.conn(), &p).await?;
        // The account itself is never in an event.
        self.core()
            .record(
                &mut w,
                ctx,
                "payee_account_set",
                "payee_account",
                &p.home_id,
                json!({"home_id": p.home_id}),
            )
            .await?;
        w.finish(self, ctx, p).await
    }

    pub async fn start_payment_run(
        &self,
        ctx: &AuthContext,
        req: StartPaymentRunRequest,
    ) -> R<PaymentRun> {
        finance(ctx, "start payment runs")?;
        agreement::month_bounds(req.year, req.month)?;
        let execution = dates::from_proto("execution_date", req.execution_date.as_ref())?;
        let w = self
            .core()
            .begin(ctx, "StartPaymentRun", &req.request_id, &req)
            .await?;
        let mut w = samling_kit::replay!(w, self, ctx);
        // A month is paid once: its run, whoever asks again.
        if let Some(existing) = store::payments::run_of(w.conn(), req.year, req.month).await? {
            drop(w);
            return existing.view(self, ctx).await;
        }
        let agreements = store::agreements::all(w.conn()).await?;
        let placements = store::placements::all(w.conn()).await?;
        let accounts = store::payments::payees(w.conn()).await?;
        let mut versions: HashMap<String, Vec<FeeSchedule>> = HashMap::new();
        for a in &agreements {
            if !versions.contains_key(&a.schedule_code) {
                let v = store::schedules::all_versions(w.conn(), &a.schedule_code).await?;
                versions.insert(a.schedule_code.clone(), v);
            }
        }
        let mut lines = Vec::new();
        let mut without_placement = Vec::new();
        for a in &agreements {
            let owed = payments::month_owed(
                a,
                placements.get(&a.placement_id),
                &versions[&a.schedule_code],
                req.year,
                req.month,
            )?;
            let Some(owed) = owed else {
                without_placement.push(a.id.clone());
                continue;
            };
            for o in owed {
                lines.push(pay_line(a, o, ""));
            }
        }
        // C1: corrections of earlier months as explicit lines.
        let corrections = self
            .corrections(
                w.conn(),
                &agreements,
                &placements,
                &versions,
                req.year,
                req.month,
            )
            .await?;
        let corrections_n = corrections.len() as u32;
        lines.extend(corrections);
        // Decided claims, each paid once.
        let claims = store::claims::approved_unpaid(w.conn()).await?;
        let pension: HashMap<&str, bool> = agreements
            .iter()
            .map(|a| (a.id.as_str(), a.pension_eligible))
            .collect();
        for c in &claims {
            lines.push(Paid::claim_line(
                c,
                pension
                    .get(c.agreement_id.as_str())
                    .copied()
                    .unwrap_or(false),
            ));
        }
        // C2: negative nets of earlier runs, each carried once.
        let carried = store::payments::open_carries(w.conn()).await?;
        lines.extend(carried.iter().map(payments::carry_line));
        let run_id = new_id_string();
        let statements = payments::statements(
            &run_id,
            req.year,
            req.month,
            lines,
            &self.rules.tax_table,
            |h| accounts.contains_key(h),
        );
        let run = PaymentRun {
            id: run_id,
            year: req.year,
            month: req.month,
            status: RunStatus::Calculated as i32,
            execution_date: Some(dates::to_proto(execution)),
            statements: statements.len() as u32,
            transfers: statements.iter().filter(|s| s.paid_by_transfer).count() as u32,
            gross_ore: statements.iter().map(|s| s.gross_ore).sum(),
            tax_ore: statements.iter().map(|s| s.tax_ore).sum(),
            net_ore: statements.iter().map(|s| s.net_ore).sum(),
            homes_without_account: statements
                .iter()
                .filter(|s| s.net_ore > 0 && !s.paid_by_transfer)
                .map(|s| s.home_id.clone())
                .collect(),
            agreements_without_placement: without_placement,
            created_at: self.now_text(),
            created_by: ctx.sub.clone(),
            approved_at: String::new(),
            approved_by: String::new(),
            claims_paid: claims.len() as u32,
            corrections: corrections_n,
            homes_with_nothing_to_pay: statements
                .iter()
                .filter(|s| s.net_ore <= 0)
                .map(|s| s.home_id.clone())
                .collect(),
        };
        store::payments::insert_run(w.conn(), &run).await?;
        store::payments::insert_statements(w.conn(), &statements).await?;
        let claim_ids: Vec<String> = claims.into_iter().map(|c| c.id).collect();
        store::claims::mark_paid(w.conn(), &claim_ids, &run.id).await?;
        store::payments::mark_carried(w.conn(), &carried, &run.id).await?;
        store::payments::insert_carries(w.conn(), &payments::carries(&statements)).await?;
        self.core()
            .record(&mut w, ctx, "payment_run_calculated", "payment_run", &run.id,
                json!({"payment_run_id": run.id, "period": store::payments::period(run.year, run.month),
                       "statements": run.statements, "transfers": run.transfers,
                       "net_ore": run.net_ore, "claims_paid": run.claims_paid,
                       "carried_over": carried.len(),
                       "corrections": run.corrections}))
            .await?;
        w.finish(self, ctx, run).await
    }

    /// Rule C1: for each of the last [`CORRECTION_MONTHS`] months with a
    /// run before this one, what every agreement owes for it now minus what
    /// was paid for it (its run's lines and the corrections since), as
    /// correction lines. Claims are paid once and never corrected.
    async fn corrections(
        &self,
        conn: &mut sqlx::AnyConnection,
        agreements: &[Agreement],
        placements: &HashMap<String, payments::PlacementDays>,
        versions: &HashMap<String, Vec<FeeSchedule>>,
        year: i32,
        month: i32,
    ) -> R<Vec<payments::PayLine>> {
        let earlier =
            store::payments::runs_before(&mut *conn, year, month, CORRECTION_MONTHS).await?;
        if earlier.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = earlier.iter().map(|r| r.id.clone()).collect();
        let paid_statements = store::payments::statements_of_runs(&mut *conn, &ids).await?;
        let by_id: HashMap<&str, &Agreement> =
            agreements.iter().map(|a| (a.id.as_str(), a)).collect();
        let mut out = Vec::new();
        for r in &earlier {
            let period = store::payments::period(r.year, r.month);
            let mut paid: BTreeMap<(String, i32), i64> = BTreeMap::new();
            for st in &paid_statements {
                let own_run = st.run_id == r.id;
                for l in &st.lines {
                    // Claims and carried nets are paid once, never corrected.
                    let counts =
                        if matches!(l.component(), Component::Claim | Component::CarriedOver) {
                            false
                        } else if own_run {
                            l.corrects_period.is_empty()
                        } else {
                            l.corrects_period == period
                        };
                    if counts {
                        *paid
                            .entry((l.agreement_id.clone(), l.component))
                            .or_default() += l.amount_ore;
                    }
                }
            }
            let mut owed_now: BTreeMap<(String, i32), (i64, u32)> = BTreeMap::new();
            for a in agreements {
                let owed = payments::month_owed(
                    a,
                    placements.get(&a.placement_id),
                    &versions[&a.schedule_code],
                    r.year,
                    r.month,
                )?;
                for o in owed.unwrap_or_default() {
                    owed_now.insert(
                        (a.id.clone(), o.component as i32),
                        (o.amount_ore, o.paid_days),
                    );
                }
            }
            for ((agreement_id, component), diff, days) in payments::corrections(&owed_now, &paid) {
                let Some(a) = by_id.get(agreement_id.as_str()) else {
                    continue;
                };
                let component = Component::try_from(component).unwrap_or(Component::Arvode);
                let o = payments::Owed {
                    component,
                    paid_days: days,
                    amount_ore: diff,
                    taxable: component != Component::Omkostnad,
                };
                out.push(pay_line(a, o, &period));
            }
        }
        Ok(out)
    }

    pub async fn get_payment_run(
        &self,
        ctx: &AuthContext,
        req: GetPaymentRunRequest,
    ) -> R<PaymentRun> {
        finance(ctx, "read payment runs")?;
        let run = self.run(&req.run_id).await?;
        self.core()
            .audit_read(ctx, "payment_run", &[&run.id])
            .await?;
        Ok(run)
    }

    async fn run(&self, id: &str) -> R<PaymentRun> {
        let id = parse_id("run_id", id)?.to_string();
        store::payments::get_run(&self.store.read, &id)
            .await?
            .ok_or_else(|| CompensationError::not_found(format!("payment run {id}")))
    }

    /// A second person approves: not the one who started the run. The file
    /// is made and stored in the same transaction.
    pub async fn approve_payment_run(
        &self,
        ctx: &AuthContext,
        req: ApprovePaymentRunRequest,
    ) -> R<PaymentRun> {
        finance(ctx, "approve payment runs")?;
        let id = parse_id("run_id", &req.run_id)?.to_string();
        let w = self
            .core()
            .begin(ctx, "ApprovePaymentRun", &req.request_id, &req)
            .await?;
        let mut run = store::payments::get_run(&self.store.read, &id)
            .await?
            .ok_or_else(|| CompensationError::not_found(format!("payment run {id}")))?;
        if run.created_by == ctx.sub {
            return Err(refused(
                Reason::Forbidden,
                "a payment run is approved by a second person, not the one who started it",
            ));
        }
        let mut w = samling_kit::replay!(w, self, ctx);
        if run.status() != RunStatus::Calculated {
            return Err(CompensationError::precondition(format!(
                "payment run {id} is already approved"
            )));
        }
        let statements = store::payments::statements_of(w.conn(), &id).await?;
        let accounts = store::payments::payees(w.conn()).await?;
        let file = self.file_of(&run, &statements, &accounts)?;
        run.status = RunStatus::Approved as i32;
        run.approved_at = self.now_text();
        run.approved_by = ctx.sub.clone();
        if !store::payments::approve_run(w.conn(), &run, &file).await? {
            return Err(CompensationError::Conflict(format!(
                "payment run {id} was approved meanwhile"
            )));
        }
        self.core()
            .record(
                &mut w,
                ctx,
                "payment_run_approved",
                "payment_run",
                &run.id,
                json!({"payment_run_id": run.id, "sha256": sha256_hex(&file)}),
            )
            .await?;
        w.finish(self, ctx, run).await
    }

    /// The pain.001 of a run from its stored statements (deterministic).
    fn file_of(
        &self,
        run: &PaymentRun,
        statements: &[Statement],
        accounts: &HashMap<String, String>,
    ) -> R<String> {
        let payer = self.rules.payer.as_ref().ok_or_else(|| {
            CompensationError::precondition(
                "no [compensation.rules.payer] account is configured: no file can be made",
            )
        })?;
        let transfers: Vec<pain001::Transfer> = statements
            .iter()
            .filter(|s| s.paid_by_transfer)
            .filter_map(|s| {
                accounts.get(&s.home_id).map(|iban| pain001::Transfer {
                    end_to_end_id: s.end_to_end_id.clone(),
                    amount_ore: s.net_ore,
                    iban: iban.clone(),
                    remittance: format!(
                        "Familjehemsersattning {:04}-{:02} {}",
                        s.year, s.month, s.end_to_end_id
                    ),
                })
            })
            .collect();
        let execution = dates::from_proto("execution_date", run.execution_date.as_ref())?;
        pain001::document(
            &message_id(run),
            &run.created_at,
            execution,
            payer,
            &transfers,
        )
    }

    pub async fn get_payment_file(
        &self,
        ctx: &AuthContext,
        req: GetPaymentFileRequest,
    ) -> R<PaymentFile> {
        finance(ctx, "fetch payment files")?;
        let run = self.run(&req.run_id).await?;
        if run.status() != RunStatus::Approved {
            return Err(CompensationError::precondition(format!(
                "payment run {} is not approved by a second person yet",
                run.id
            )));
        }
        let xml = store::payments::file_of(&self.store.read, &run.id).await?;
        self.core()
            .audit_each(ctx, "file_released", "payment_run", &[&run.id])
            .await?;
        Ok(PaymentFile {
            run_id: run.id.clone(),
            sha256: sha256_hex(&xml),
            message_id: message_id(&run),
            xml,
        })
    }

    pub async fn get_statement(&self, ctx: &AuthContext, req: GetStatementRequest) -> R<Statement> {
        let run_id = parse_id("run_id", &req.run_id)?.to_string();
        let home_id = parse_id("home_id", &req.home_id)?.to_string();
        let hidden = || CompensationError::not_found(format!("statement of home {home_id}"));
        match ctx.role {
            _ if super::access::is_finance(ctx) => {}
            Role::FamilyHome if ctx.is_party(&home_id) => {}
            Role::FamilyHome => return Err(hidden()),
            _ => {
                return Err(refused(
                    Reason::ForbiddenRole,
                    format!("a {} may not read statements", ctx.role.as_str()),
                ));
            }
        }
        let s = store::payments::statement(&self.store.read, &run_id, &home_id)
            .await?
            .ok_or_else(hidden)?;
        self.core()
            .audit_read(ctx, "statement", &[&format!("{run_id}/{home_id}")])
            .await?;
        s.view(self, ctx).await
    }

    pub async fn list_statements(
        &self,
        ctx: &AuthContext,
        req: ListStatementsRequest,
    ) -> R<ListStatementsResponse> {
        finance(ctx, "list statements")?;
        let run = self.run(&req.run_id).await?;
        let page = Page::from_request(req.page.as_ref())?;
        let rows = store::payments::list_statements(&self.store.read, &run.id, &page).await?;
        let (statements, page) = page.finish(rows, |s| s.home_id.clone());
        let ids: Vec<String> = statements
            .iter()
            .map(|s| format!("{}/{}", s.run_id, s.home_id))
            .collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        self.core().audit_read(ctx, "statement", &ids).await?;
        Ok(ListStatementsResponse {
            statements,
            page: Some(page),
        })
    }

    /// The registry's placement events: the placements the run pays within.
    /// An event applied again changes nothing; other events are passed over.
    /// A protected child's events leave the home out: the placement's days
    /// are still kept (the agreement names the home).
    pub async fn apply_registry_event(&self, tx: &mut WriteTx, e: &Event) -> R<()> {
        if e.event_type != PLACEMENT_CREATED && e.event_type != PLACEMENT_ENDED {
            return Ok(());
        }
        let payload: serde_json::Value = serde_json::from_str(&e.payload_json)
            .map_err(|_| CompensationError::invalid("payload_json", "is not a JSON object"))?;
        let text = |k: &str| {
            payload
                .get(k)
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string()
        };
        let placement_id = match text("placement_id") {
            p if p.is_empty() => e.aggregate_id.clone(),
            p => p,
        };
        parse_id("placement_id", &placement_id)?;
        let (start, end) = if e.event_type == PLACEMENT_CREATED {
            (dates::parse_iso("start_date", &text("start_date"))?, None)
        } else {
            let end = dates::parse_iso("end_date", &text("end_date"))?;
            (end, Some(end))
        };
        let starts = if end.is_none() {
            dates::date_text(start)
        } else {
            String::new()
        };
        let ends = end.map(dates::date_text).unwrap_or_default();
        store::placements::upsert(tx.conn(), &placement_id, &text("home_id"), &starts, &ends)
            .await?;
        // The placing municipality (who may record the agency's price, ADR 0049).
        let placing = text("placing_municipality_code");
        if !placing.is_empty() {
            store::costs::set_placement_municipality(tx.conn(), &placement_id, &placing).await?;
        }
        Ok(())
    }
}

/// How many earlier months with a run are corrected (rule C1).
pub const CORRECTION_MONTHS: i64 = 12;

/// A line an agreement owes (or a correction of `corrects_period`).
fn pay_line(a: &Agreement, o: payments::Owed, corrects_period: &str) -> payments::PayLine {
    payments::PayLine {
        home_id: a.home_id.clone(),
        pensionable: a.pension_eligible,
        line: StatementLine {
            agreement_id: a.id.clone(),
            placement_id: a.placement_id.clone(),
            component: o.component as i32,
            paid_days: o.paid_days,
            amount_ore: o.amount_ore,
            taxable: o.taxable,
            corrects_period: corrects_period.to_string(),
            ..Default::default()
        },
    }
}

/// The file's message id: the run id without hyphens (32 characters).
fn message_id(run: &PaymentRun) -> String {
    run.id.replace('-', "")
}

fn sha256_hex(s: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// A run: ids, dates and totals (finance only reads it).
impl Answer<Compensation> for PaymentRun {
    fn record(&self) -> (&'static str, String) {
        ("payment_run", self.id.clone())
    }

    async fn view(self, _svc: &Compensation, ctx: &AuthContext) -> R<Self> {
        finance(ctx, "read payment runs")?;
        Ok(self)
    }
}

/// A payee account: finance only.
impl Answer<Compensation> for PayeeAccount {
    fn record(&self) -> (&'static str, String) {
        ("payee_account", self.home_id.clone())
    }

    async fn view(self, _svc: &Compensation, ctx: &AuthContext) -> R<Self> {
        finance(ctx, "read payee accounts")?;
        Ok(self)
    }
}

/// A statement: finance, and the home it pays.
impl Answer<Compensation> for Statement {
    fn record(&self) -> (&'static str, String) {
        ("statement", format!("{}/{}", self.run_id, self.home_id))
    }

    async fn view(self, _svc: &Compensation, ctx: &AuthContext) -> R<Self> {
        match ctx.role {
            _ if super::access::is_finance(ctx) => Ok(self),
            Role::FamilyHome if ctx.is_party(&self.home_id) => Ok(self),
            _ => Err(CompensationError::not_found(format!(
                "statement of home {}",
                self.home_id
            ))),
        }
    }
}
