//! Payees, payment runs and their statements.

use super::Docs;
use crate::domain::CompensationError;
use samling_kit::paging::Page;
use samling_proto::compensation::v1::{PayeeAccount, PaymentRun, RunStatus, Statement};
use sqlx::{Any, AnyConnection, Executor, Row};
use std::collections::HashMap;

type R<T> = Result<T, CompensationError>;

pub const PAYEES: Docs<PayeeAccount> = Docs::new("payees", "payee account");
pub const RUNS: Docs<PaymentRun> = Docs::new("payment_runs", "payment run");
pub const STATEMENTS: Docs<Statement> = Docs::new("statements", "statement");

pub async fn save_payee(conn: &mut AnyConnection, p: &PayeeAccount) -> R<()> {
    let is_new = PAYEES.get(&mut *conn, &p.home_id).await?.is_none();
    Ok(PAYEES.save(conn, &p.home_id, p, &[], is_new).await?)
}

/// Every home's account, by home id.
pub async fn payees<'e, E: Executor<'e, Database = Any>>(e: E) -> R<HashMap<String, String>> {
    let rows = sqlx::query("SELECT doc FROM payees").fetch_all(e).await?;
    Ok(PAYEES
        .from_rows(&rows)?
        .into_iter()
        .map(|p| (p.home_id, p.iban))
        .collect())
}

pub fn period(year: i32, month: i32) -> String {
    format!("{year:04}-{month:02}")
}

/// The run of a month, if any.
pub async fn run_of<'e, E: Executor<'e, Database = Any>>(
    e: E,
    year: i32,
    month: i32,
) -> R<Option<PaymentRun>> {
    let row = sqlx::query("SELECT doc FROM payment_runs WHERE period = $1")
        .bind(period(year, month))
        .fetch_optional(e)
        .await?;
    Ok(row.map(|r| RUNS.from_row(&r, 0)).transpose()?)
}

pub async fn get_run<'e, E: Executor<'e, Database = Any>>(e: E, id: &str) -> R<Option<PaymentRun>> {
    Ok(RUNS.get(e, id).await?)
}

pub async fn insert_run(conn: &mut AnyConnection, r: &PaymentRun) -> R<()> {
    let columns = [
        ("period", super::Value::Text(period(r.year, r.month))),
        ("status", super::Value::from(r.status().as_str_name())),
    ];
    Ok(RUNS.insert(conn, &r.id, r, &columns).await?)
}

/// Approve: the run's new doc and its file, only while it is CALCULATED
/// (false when another approval came first).
pub async fn approve_run(conn: &mut AnyConnection, r: &PaymentRun, file: &str) -> R<bool> {
    let done = sqlx::query(
        "UPDATE payment_runs SET doc = $2, status = $3, file = $4 WHERE id = $1 AND status = $5",
    )
    .bind(&r.id)
    .bind(samling_kit::docstore::encode(r))
    .bind(RunStatus::Approved.as_str_name())
    .bind(file)
    .bind(RunStatus::Calculated.as_str_name())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The stored file of a run ("" before approval).
pub async fn file_of<'e, E: Executor<'e, Database = Any>>(e: E, id: &str) -> R<String> {
    let row = sqlx::query("SELECT file FROM payment_runs WHERE id = $1")
        .bind(id)
        .fetch_optional(e)
        .await?;
    Ok(match row {
        Some(r) => r.try_get(0)?,
        None => String::new(),
    })
}

pub async fn insert_statement(conn: &mut AnyConnection, s: &Statement) -> R<()> {
    let id = format!("{}/{}", s.run_id, s.home_id);
    let columns = [
        ("run_id", super::Value::from(s.run_id.as_str())),
        ("home_id", super::Value::from(s.home_id.as_str())),
    ];
    Ok(STATEMENTS.insert(conn, &id, s, &columns).await?)
}

pub async fn statement<'e, E: Executor<'e, Database = Any>>(
    e: E,
    run_id: &str,
    home_id: &str,
) -> R<Option<Statement>> {
    Ok(STATEMENTS.get(e, &format!("{run_id}/{home_id}")).await?)
}

/// Every statement of a run, in home order.
pub async fn statements_of<'e, E: Executor<'e, Database = Any>>(
    e: E,
    run_id: &str,
) -> R<Vec<Statement>> {
    let rows = sqlx::query("SELECT doc FROM statements WHERE run_id = $1 ORDER BY home_id")
        .bind(run_id)
        .fetch_all(e)
        .await?;
    Ok(STATEMENTS.from_rows(&rows)?)
}

/// One page of a run's statements, in home order.
pub async fn list_statements<'e, E: Executor<'e, Database = Any>>(
    e: E,
    run_id: &str,
    page: &Page,
) -> R<Vec<Statement>> {
    let rows = sqlx::query(
        "SELECT doc FROM statements WHERE run_id = $1 AND home_id > $2 ORDER BY home_id LIMIT $3",
    )
    .bind(run_id)
    .bind(super::after(page))
    .bind(page.limit())
    .fetch_all(e)
    .await?;
    Ok(STATEMENTS.from_rows(&rows)?)
}
