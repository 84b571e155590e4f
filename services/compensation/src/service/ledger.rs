//! The state grant ledger (issue 21 §4 b–d, ADR 0048): imports of
//! historical tables, requisitions by the municipality, decisions, usage
//! reports, reclaims and the redistribution of leftovers by finance (the
//! national office), a municipality's history and the reconciled report.
//! Access is checked before a replay; the rules are `domain::ledger`.

use super::access::{is_finance, refused};
use super::{Compensation, R};
use crate::domain::{CompensationError, ledger};
use crate::store;
use samling_kit::auth::{AuthContext, Role};
use samling_kit::error::Reason;
use samling_kit::reference::MunicipalityCode;
use samling_kit::service::{Answer, Service};
use samling_proto::compensation::v1::*;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

fn forbidden(ctx: &AuthContext, what: &str) -> CompensationError {
    refused(
        Reason::ForbiddenRole,
        format!("a {} may not {what}", ctx.role.as_str()),
    )
}

/// Finance (the national office's work on the ledger).
fn office(ctx: &AuthContext, what: &str) -> R<()> {
    if is_finance(ctx) {
        Ok(())
    } else {
        Err(forbidden(ctx, what))
    }
}

fn municipality(field: &str, code: &str) -> R<MunicipalityCode> {
    MunicipalityCode::parse(code.trim())
        .map_err(|_| CompensationError::invalid(field, "is not a Swedish municipality code"))
}

/// The municipality's own manager or caseworker (another municipality's
/// staff: `NOT_OWN_MUNICIPALITY`).
fn own_staff(ctx: &AuthContext, m: MunicipalityCode, what: &str) -> R<()> {
    if !ctx.role.is_municipal() {
        return Err(forbidden(ctx, what));
    }
    if ctx.municipality.as_ref().map(|c| c.as_str()) != Some(m.as_str()) {
        return Err(refused(
            Reason::NotOwnMunicipality,
            "municipality_code: a municipality acts on its own grant only",
        ));
    }
    Ok(())
}

/// Who reads a municipality's grant history: finance, national analysts
/// and the municipality's own staff.
pub(crate) fn see_history(ctx: &AuthContext, code: &str) -> R<()> {
    match ctx.role {
        _ if is_finance(ctx) => Ok(()),
        Role::NationalAnalyst => Ok(()),
        r if r.is_municipal() => {
            if ctx.municipality.as_ref().map(|m| m.as_str()) == Some(code) {
                Ok(())
            } else {
                Err(refused(
                    Reason::NotOwnMunicipality,
                    "municipality_code: a municipality reads its own grant history only",
                ))
            }
        }
        _ => Err(forbidden(ctx, "read a municipality's grant history")),
    }
}

/// The row as answered: name, paid and flags laid over the stored values.
fn finish_entry(mut e: GrantLedgerEntry) -> GrantLedgerEntry {
    if let Ok(m) = MunicipalityCode::parse(&e.municipality_code) {
        e.municipality_name = m.name().to_string();
    }
    e.paid_kr = ledger::paid(&e);
    e.flags = ledger::entry_flags(&e);
    e
}

fn new_entry(year: i32, m: MunicipalityCode) -> GrantLedgerEntry {
    GrantLedgerEntry {
        year,
        municipality_code: m.as_str().to_string(),
        ..Default::default()
    }
}

fn check_version(e: &GrantLedgerEntry, expected: u64) -> R<()> {
    if expected != 0 && expected != e.version {
        return Err(CompensationError::Conflict(format!(
            "expected_version: the grant of {} {} is at version {}, not {expected}",
            e.municipality_code, e.year, e.version
        )));
    }
    Ok(())
}

impl Compensation {
    /// Set the ledger from historical tables (finance).
    pub async fn import_state_grants(
        &self,
        ctx: &AuthContext,
        req: ImportStateGrantsRequest,
    ) -> R<ImportStateGrantsResponse> {
        office(ctx, "import state grants")?;
        // Validate everything before anything is written.
        let mut available = BTreeMap::new();
        for (i, a) in req.available.iter().enumerate() {
            ledger::check_year(&format!("available[{i}].year"), a.year)?;
            ledger::check_kr(&format!("available[{i}].available_kr"), a.available_kr)?;
            if available.insert(a.year, a.available_kr).is_some() {
                return Err(CompensationError::invalid(
                    format!("available[{i}].year"),
                    "is given twice",
                ));
            }
        }
        let at = |line: u32, i: usize, kind: &str| {
            if line > 0 {
                format!("line {line}")
            } else {
                format!("{kind}[{i}]")
            }
        };
        let mut granted = Vec::with_capacity(req.granted.len());
        let mut seen = BTreeSet::new();
        for (i, g) in req.granted.iter().enumerate() {
            let place = at(g.line, i, "granted");
            let year = ledger::check_year(&format!("granted[{i}].year"), g.year)?;
            let m = municipality(
                &format!("granted[{i}].municipality_code"),
                &g.municipality_code,
            )?;
            ledger::check_kr(&format!("granted[{i}].granted_kr"), g.granted_kr)?;
            if !seen.insert((year, m)) {
                return Err(CompensationError::invalid(
                    format!("granted[{i}].municipality_code"),
                    format!("{place}: {} {year} is given twice", m.as_str()),
                ));
            }
            granted.push((year, m, g.granted_kr, place));
        }
        let mut unused = Vec::with_capacity(req.unused.len());
        let mut seen = BTreeSet::new();
        for (i, u) in req.unused.iter().enumerate() {
            let place = at(u.line, i, "unused");
            let from = ledger::check_year(&format!("unused[{i}].from_year"), u.from_year)?;
            let to = ledger::check_year(&format!("unused[{i}].to_year"), u.to_year)?;
            if to < from {
                return Err(CompensationError::invalid(
                    format!("unused[{i}].to_year"),
                    format!("{place}: is before from_year"),
                ));
            }
            let m = municipality(
                &format!("unused[{i}].municipality_code"),
                &u.municipality_code,
            )?;
            ledger::check_kr(&format!("unused[{i}].unused_kr"), u.unused_kr)?;
            if !seen.insert((from, to, m)) {
                return Err(CompensationError::invalid(
                    format!("unused[{i}].municipality_code"),
                    format!("{place}: {} {from}–{to} is given twice", m.as_str()),
                ));
            }
            unused.push((from, to, m, u.unused_kr));
        }
        if available.is_empty() && granted.is_empty() && unused.is_empty() {
            return Err(CompensationError::invalid("granted", "nothing to import"));
        }

        let w = self
            .core()
            .begin(ctx, "ImportStateGrants", &req.request_id, &req)
            .await?;
        let mut w = samling_kit::replay!(w, self, ctx);
        let (mut changed, mut unchanged) = (0u32, 0u32);
        for (year, kr) in &available {
            if store::ledger::set_available(w.conn(), *year, *kr).await? {
                changed += 1;
            } else {
                unchanged += 1;
            }
        }
        for (year, m, kr, place) in &granted {
            let old = store::ledger::get(w.conn(), *year, m.as_str()).await?;
            let is_new = old.is_none();
            let mut e = old.unwrap_or_else(|| new_entry(*year, *m));
            // A requisition made in the system is kept (only the grant changes).
            let live = e.source == "requisition";
            if live && e.requisitioned_kr > *kr {
                // A live requisition above the imported grant.
                return Err(CompensationError::invalid(
                    "granted",
                    format!(
                        "{place}: {} {year} has a requisition of {} kr, above {kr} kr",
                        m.as_str(),
                        e.requisitioned_kr
                    ),
                ));
            }
            let before = e.clone();
            e.granted_kr = *kr;
            if req.decisions_only {
                if e.source.is_empty() {
                    e.source = "decision".into();
                }
            } else if !live {
                // A historical table's amount was requisitioned and paid.
                e.source = "import".into();
                e.requisitioned_kr = *kr;
                e.requisition_status = RequisitionStatus::Approved as i32;
            }
            if e == before && !is_new {
                unchanged += 1;
                continue;
            }
            e.version += 1;
            store::ledger::save(w.conn(), &e, m.county().as_str(), is_new).await?;
            changed += 1;
        }
        for (from, to, m, kr) in &unused {
            let p = UnusedPeriod {
                from_year: *from,
                to_year: *to,
                municipality_code: m.as_str().to_string(),
                unused_kr: *kr,
            };
            if store::ledger::set_unused(w.conn(), &p, m.county().as_str()).await? {
                changed += 1;
            } else {
                unchanged += 1;
            }
        }
        // The stored totals of the years and periods named.
        let mut years = BTreeSet::new();
        years.extend(available.keys().copied());
        years.extend(granted.iter().map(|g| g.0));
        let mut answer = ImportStateGrantsResponse {
            changed,
            unchanged,
            ..Default::default()
        };
        for year in years {
            let rows = store::ledger::list(w.conn(), year, "", "").await?;
            let (available_kr, _) = store::ledger::year(w.conn(), year).await?;
            answer.years.push(GrantYearTotal {
                year,
                granted_kr: rows.iter().map(|e| e.granted_kr).sum(),
                municipalities: rows.iter().filter(|e| e.granted_kr > 0).count() as i32,
                available_kr,
            });
        }
        let periods: BTreeSet<(i32, i32)> = unused.iter().map(|u| (u.0, u.1)).collect();
        if !periods.is_empty() {
            let all = store::ledger::unused(w.conn(), "", "").await?;
            for (from, to) in periods {
                let rows: Vec<_> = all
                    .iter()
                    .filter(|p| p.from_year == from && p.to_year == to)
                    .collect();
                answer.periods.push(GrantPeriodTotal {
                    from_year: from,
                    to_year: to,
                    unused_kr: rows.iter().map(|p| p.unused_kr).sum(),
                    municipalities: rows.iter().filter(|p| p.unused_kr > 0).count() as i32,
                });
            }
        }
        self.core()
            .record(
                &mut w,
                ctx,
                "state_grants_imported",
                "grant_ledger",
                "import",
                json!({"changed": changed, "unchanged": unchanged,
                       "years": answer.years.iter().map(|y| json!({"year": y.year, "granted_kr": y.granted_kr})).collect::<Vec<_>>()}),
            )
            .await?;
        w.finish(self, ctx, answer).await
    }

    /// The municipality asks for its year's grant.
    pub async fn requisition_state_grant(
        &self,
        ctx: &AuthContext,
        req: RequisitionStateGrantRequest,
    ) -> R<GrantLedgerEntry> {
        let m = municipality("municipality_code", &req.municipality_code)?;
        own_staff(ctx, m, "requisition a state grant")?;
        let year = ledger::check_year("year", req.year)?;
        let w = self
            .core()
            .begin(ctx, "RequisitionStateGrant", &req.request_id, &req)
            .await?;
        let mut w = samling_kit::replay!(w, self, ctx);
        let old = store::ledger::get(w.conn(), year, m.as_str()).await?;
        let is_new = old.is_none();
        let mut e = old.unwrap_or_else(|| new_entry(year, m));
        if e.requisition_status() != RequisitionStatus::Unspecified {
            return Err(CompensationError::PreconditionOn {
                field: "year".into(),
                message: format!(
                    "the grant of {year} was already requisitioned ({})",
                    e.requisition_status().as_str_name()
                ),
            });
        }
        let amount = ledger::requisition_amount(e.granted_kr, req.amount_kr)?;
        e.requisitioned_kr = amount;
        e.requisition_status = RequisitionStatus::Requested as i32;
        e.opted_in_leftovers = req.opt_in_leftovers;
        e.source = "requisition".into();
        e.version += 1;
        store::ledger::save(w.conn(), &e, m.county().as_str(), is_new).await?;
        self.core()
            .record(
                &mut w,
                ctx,
                "grant_requisitioned",
                "grant_ledger",
                &store::ledger::entry_id(year, m.as_str()),
                json!({"year": year, "municipality_code": m.as_str(), "requisitioned_kr": amount,
                       "opted_in_leftovers": e.opted_in_leftovers}),
            )
            .await?;
        w.finish(self, ctx, finish_entry(e)).await
    }

    /// Finance approves or rejects a requisition.
    pub async fn decide_requisition(
        &self,
        ctx: &AuthContext,
        req: DecideRequisitionRequest,
    ) -> R<GrantLedgerEntry> {
        office(ctx, "decide requisitions")?;
        let m = municipality("municipality_code", &req.municipality_code)?;
        let year = ledger::check_year("year", req.year)?;
        let w = self
            .core()
            .begin(ctx, "DecideRequisition", &req.request_id, &req)
            .await?;
        let mut w = samling_kit::replay!(w, self, ctx);
        let mut e = store::ledger::get(w.conn(), year, m.as_str())
            .await?
            .filter(|e| e.requisition_status() != RequisitionStatus::Unspecified)
            .ok_or_else(|| {
                CompensationError::not_found(format!("requisition {year}/{}", m.as_str()))
            })?;
        check_version(&e, req.expected_version)?;
        if e.requisition_status() != RequisitionStatus::Requested {
            return Err(CompensationError::precondition(format!(
                "the requisition is {} already",
                e.requisition_status().as_str_name()
            )));
        }
        let status = if req.approve {
            RequisitionStatus::Approved
        } else {
            RequisitionStatus::Rejected
        };
        e.requisition_status = status as i32;
        e.version += 1;
        store::ledger::save(w.conn(), &e, m.county().as_str(), false).await?;
        self.core()
            .record(
                &mut w,
                ctx,
                "grant_requisition_decided",
                "grant_ledger",
                &store::ledger::entry_id(year, m.as_str()),
                json!({"year": year, "municipality_code": m.as_str(),
                       "status": status.as_str_name(), "requisitioned_kr": e.requisitioned_kr}),
            )
            .await?;
        w.finish(self, ctx, finish_entry(e)).await
    }

    /// The municipality reports what it used of the year's paid grant.
    pub async fn report_grant_usage(
        &self,
        ctx: &AuthContext,
        req: ReportGrantUsageRequest,
    ) -> R<GrantLedgerEntry> {
        let m = municipality("municipality_code", &req.municipality_code)?;
        own_staff(ctx, m, "report grant usage")?;
        let year = ledger::check_year("year", req.year)?;
        let w = self
            .core()
            .begin(ctx, "ReportGrantUsage", &req.request_id, &req)
            .await?;
        let mut w = samling_kit::replay!(w, self, ctx);
        let mut e = store::ledger::get(w.conn(), year, m.as_str())
            .await?
            .ok_or_else(|| CompensationError::not_found(format!("grant {year}/{}", m.as_str())))?;
        check_version(&e, req.expected_version)?;
        if e.reclaimed_kr > 0 {
            return Err(CompensationError::precondition(
                "part of the unused grant was reclaimed: the usage report is final",
            ));
        }
        let paid = ledger::paid(&e);
        e.unused_kr = ledger::unused_after_usage(paid, req.used_kr)?;
        e.used_kr = req.used_kr;
        e.usage_reported = true;
        e.version += 1;
        store::ledger::save(w.conn(), &e, m.county().as_str(), false).await?;
        self.core()
            .record(
                &mut w,
                ctx,
                "grant_usage_reported",
                "grant_ledger",
                &store::ledger::entry_id(year, m.as_str()),
                json!({"year": year, "municipality_code": m.as_str(), "used_kr": e.used_kr,
                       "unused_kr": e.unused_kr}),
            )
            .await?;
        w.finish(self, ctx, finish_entry(e)).await
    }

    /// Finance reclaims unused money (återkrav).
    pub async fn reclaim_state_grant(
        &self,
        ctx: &AuthContext,
        req: ReclaimStateGrantRequest,
    ) -> R<GrantLedgerEntry> {
        office(ctx, "reclaim state grants")?;
        let m = municipality("municipality_code", &req.municipality_code)?;
        let year = ledger::check_year("year", req.year)?;
        let w = self
            .core()
            .begin(ctx, "ReclaimStateGrant", &req.request_id, &req)
            .await?;
        let mut w = samling_kit::replay!(w, self, ctx);
        let mut e = store::ledger::get(w.conn(), year, m.as_str())
            .await?
            .ok_or_else(|| CompensationError::not_found(format!("grant {year}/{}", m.as_str())))?;
        check_version(&e, req.expected_version)?;
        if !e.usage_reported {
            return Err(CompensationError::PreconditionOn {
                field: "year".into(),
                message: "no usage is reported for the year yet".into(),
            });
        }
        let before = e.reclaimed_kr;
        e.reclaimed_kr = ledger::reclaim(e.unused_kr, e.reclaimed_kr, req.amount_kr)?;
        e.version += 1;
        store::ledger::save(w.conn(), &e, m.county().as_str(), false).await?;
        self.core()
            .record(
                &mut w,
                ctx,
                "grant_reclaimed",
                "grant_ledger",
                &store::ledger::entry_id(year, m.as_str()),
                json!({"year": year, "municipality_code": m.as_str(),
                       "reclaimed_kr": e.reclaimed_kr - before, "reclaimed_total_kr": e.reclaimed_kr}),
            )
            .await?;
        w.finish(self, ctx, finish_entry(e)).await
    }

    /// Finance shares the year's leftovers among those who opted in (G5).
    pub async fn redistribute_leftovers(
        &self,
        ctx: &AuthContext,
        req: RedistributeLeftoversRequest,
    ) -> R<Redistribution> {
        office(ctx, "redistribute leftovers")?;
        let year = ledger::check_year("year", req.year)?;
        let w = self
            .core()
            .begin(ctx, "RedistributeLeftovers", &req.request_id, &req)
            .await?;
        let mut w = samling_kit::replay!(w, self, ctx);
        let (available, done) = store::ledger::year(w.conn(), year).await?;
        if available == 0 {
            return Err(CompensationError::PreconditionOn {
                field: "year".into(),
                message: "no available sum is recorded for the year".into(),
            });
        }
        if done {
            return Err(CompensationError::PreconditionOn {
                field: "year".into(),
                message: "the year's leftovers were redistributed already".into(),
            });
        }
        let rows = store::ledger::list(w.conn(), year, "", "").await?;
        if rows
            .iter()
            .any(|e| e.requisition_status() == RequisitionStatus::Requested)
        {
            return Err(CompensationError::PreconditionOn {
                field: "year".into(),
                message: "requisitions of the year are undecided: decide them first".into(),
            });
        }
        let requisitioned: i64 = rows.iter().map(ledger::paid).sum();
        let leftover = available - requisitioned;
        let opted: Vec<String> = rows
            .iter()
            .filter(|e| {
                e.opted_in_leftovers && e.requisition_status() == RequisitionStatus::Approved
            })
            .map(|e| e.municipality_code.clone())
            .collect();
        let shares = ledger::redistribute(leftover, &opted)?;
        if !store::ledger::mark_redistributed(w.conn(), year).await? {
            return Err(CompensationError::PreconditionOn {
                field: "year".into(),
                message: "the year's leftovers were redistributed already".into(),
            });
        }
        let mut by_code: BTreeMap<String, GrantLedgerEntry> = rows
            .into_iter()
            .map(|e| (e.municipality_code.clone(), e))
            .collect();
        let mut answer = Redistribution {
            year,
            available_kr: available,
            requisitioned_kr: requisitioned,
            leftover_kr: leftover,
            municipalities: shares.len() as i32,
            low_kr: shares.iter().map(|s| s.1).min().unwrap_or(0),
            high_kr: shares.iter().map(|s| s.1).max().unwrap_or(0),
            entries: Vec::with_capacity(shares.len()),
        };
        for (code, kr) in shares {
            let Some(mut e) = by_code.remove(&code) else {
                continue;
            };
            let m = municipality("municipality_code", &code)?;
            e.redistributed_kr += kr;
            e.version += 1;
            store::ledger::save(w.conn(), &e, m.county().as_str(), false).await?;
            answer.entries.push(finish_entry(e));
        }
        self.core()
            .record(
                &mut w,
                ctx,
                "grant_leftovers_redistributed",
                "grant_ledger",
                &year.to_string(),
                json!({"year": year, "leftover_kr": leftover, "municipalities": answer.municipalities,
                       "low_kr": answer.low_kr, "high_kr": answer.high_kr}),
            )
            .await?;
        w.finish(self, ctx, answer).await
    }

    /// One municipality's grant history.
    pub async fn get_grant_history(
        &self,
        ctx: &AuthContext,
        req: GetGrantHistoryRequest,
    ) -> R<GrantHistory> {
        let m = municipality("municipality_code", &req.municipality_code)?;
        see_history(ctx, m.as_str())?;
        let years: Vec<GrantLedgerEntry> = store::ledger::list(&self.store.read, 0, m.as_str(), "")
            .await?
            .into_iter()
            .map(finish_entry)
            .collect();
        let unused = store::ledger::unused(&self.store.read, m.as_str(), "").await?;
        let ids: Vec<String> = years
            .iter()
            .map(|e| store::ledger::entry_id(e.year, &e.municipality_code))
            .collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        self.core().audit_read(ctx, "grant_ledger", &ids).await?;
        Ok(GrantHistory {
            municipality_code: m.as_str().to_string(),
            municipality_name: m.name().to_string(),
            years,
            unused_periods: unused,
        })
    }

    /// The yearly report reconciled against the available sums, with the
    /// municipalities' rows when asked.
    pub async fn get_grant_report(
        &self,
        ctx: &AuthContext,
        req: GetGrantReportRequest,
    ) -> R<GrantReport> {
        match ctx.role {
            _ if is_finance(ctx) => {}
            Role::NationalAnalyst | Role::CouncilMember => {}
            _ => return Err(forbidden(ctx, "read the state grant report")),
        }
        if req.year != 0 {
            ledger::check_year("year", req.year)?;
        }
        let county = req.county_code.trim();
        if !county.is_empty() {
            samling_kit::reference::CountyCode::parse(county)
                .map_err(|_| CompensationError::invalid("county_code", "is not a county code"))?;
        }
        let rows: Vec<GrantLedgerEntry> =
            store::ledger::list(&self.store.read, req.year, "", county)
                .await?
                .into_iter()
                .map(finish_entry)
                .collect();
        let available = store::ledger::years(&self.store.read).await?;
        let mut years: BTreeSet<i32> = rows.iter().map(|e| e.year).collect();
        years.extend(
            available
                .keys()
                .copied()
                .filter(|y| req.year == 0 || *y == req.year),
        );
        let mut report = GrantReport::default();
        for y in years {
            let of_year: Vec<&GrantLedgerEntry> = rows.iter().filter(|e| e.year == y).collect();
            report.years.push(ledger::year_report(
                y,
                available.get(&y).copied().unwrap_or(0),
                &of_year,
                county.is_empty(),
            ));
        }
        let unused = store::ledger::unused(&self.store.read, "", county).await?;
        let mut periods: BTreeMap<(i32, i32), GrantPeriodTotal> = BTreeMap::new();
        for p in unused {
            let t = periods
                .entry((p.from_year, p.to_year))
                .or_insert_with(|| GrantPeriodTotal {
                    from_year: p.from_year,
                    to_year: p.to_year,
                    ..Default::default()
                });
            t.unused_kr += p.unused_kr;
            t.municipalities += i32::from(p.unused_kr > 0);
        }
        report.periods = periods.into_values().collect();
        if req.municipalities {
            report.municipalities = rows;
        }
        Ok(report)
    }
}

/// A ledger row: finance, analysts and the municipality's own staff.
impl Answer<Compensation> for GrantLedgerEntry {
    fn record(&self) -> (&'static str, String) {
        (
            "grant_ledger",
            store::ledger::entry_id(self.year, &self.municipality_code),
        )
    }

    async fn view(self, _svc: &Compensation, ctx: &AuthContext) -> R<Self> {
        see_history(ctx, &self.municipality_code)?;
        Ok(self)
    }
}

/// Finance's answers (imports and redistributions).
impl Answer<Compensation> for ImportStateGrantsResponse {
    fn record(&self) -> (&'static str, String) {
        ("grant_ledger", "import".into())
    }

    async fn view(self, _svc: &Compensation, ctx: &AuthContext) -> R<Self> {
        office(ctx, "import state grants")?;
        Ok(self)
    }
}

impl Answer<Compensation> for Redistribution {
    fn record(&self) -> (&'static str, String) {
        ("grant_ledger", self.year.to_string())
    }

    async fn view(self, _svc: &Compensation, ctx: &AuthContext) -> R<Self> {
        office(ctx, "redistribute leftovers")?;
        Ok(self)
    }
}
