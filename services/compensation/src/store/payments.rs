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

/// Insert a new run. Another run of the month committed meanwhile (two
/// starts at the same moment): `FAILED_PRECONDITION` naming `month`.
pub async fn insert_run(conn: &mut AnyConnection, r: &PaymentRun) -> R<()> {
    let columns = [
        ("period", super::Value::Text(period(r.year, r.month))),
        ("status", super::Value::from(r.status().as_str_name())),
    ];
    match RUNS.insert(conn, &r.id, r, &columns).await {
        Ok(()) => Ok(()),
        Err(samling_kit::error::KitError::Database(sqlx::Error::Database(d)))
            if d.is_unique_violation() =>
        {
            Err(another_run(r.year, r.month))
        }
        Err(e) => Err(e.into()),
    }
}

/// The friendly refusal of a second run of a month made at the same moment.
pub fn another_run(year: i32, month: i32) -> CompensationError {
    CompensationError::PreconditionOn {
        field: "month".into(),
        message: format!(
            "another payment run of {} was started at the same moment and is being made; ask again for its answer",
            period(year, month)
        ),
    }
}

/// The runs of months before `year`-`month`, the newest `limit`, oldest
/// first.
pub async fn runs_before<'e, E: Executor<'e, Database = Any>>(
    e: E,
    year: i32,
    month: i32,
    limit: i64,
) -> R<Vec<PaymentRun>> {
    let rows =
        sqlx::query("SELECT doc FROM payment_runs WHERE period < $1 ORDER BY period DESC LIMIT $2")
            .bind(period(year, month))
            .bind(limit)
            .fetch_all(e)
            .await?;
    let mut runs = RUNS.from_rows(&rows)?;
    runs.reverse();
    Ok(runs)
}

/// Every statement of the runs `run_ids`.
pub async fn statements_of_runs<'e, E: Executor<'e, Database = Any>>(
    e: E,
    run_ids: &[String],
) -> R<Vec<Statement>> {
    if run_ids.is_empty() {
        return Ok(Vec::new());
    }
    let params: Vec<String> = (0..run_ids.len()).map(|i| format!("${}", i + 1)).collect();
    let sql = format!(
        "SELECT doc FROM statements WHERE run_id IN ({}) ORDER BY run_id, home_id",
        params.join(", ")
    );
    let mut q = sqlx::query(&sql);
    for id in run_ids {
        q = q.bind(id.as_str());
    }
    Ok(STATEMENTS.from_rows(&q.fetch_all(e).await?)?)
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
    insert_statements(conn, std::slice::from_ref(s)).await
}

/// Rows per multi-row INSERT of statements (4 parameters a row). Not more:
/// SQLite looks a `$n` parameter up by a linear scan of the statement's
/// parameters (`sqlite3VListNumToName`), so binding costs grow with the
/// square of a batch (1 000 rows: the run ≈ 0.6 s slower on SQLite);
/// 100 rows keep PostgreSQL's round trips at 200 for 20 000 statements.
pub const STATEMENT_BATCH: usize = 100;

/// Insert statements with multi-row INSERTs of [`STATEMENT_BATCH`] rows
/// (one round trip per batch instead of per statement).
pub async fn insert_statements(conn: &mut AnyConnection, all: &[Statement]) -> R<()> {
    for chunk in all.chunks(STATEMENT_BATCH) {
        let mut sql = String::with_capacity(80 + chunk.len() * 24);
        sql.push_str("INSERT INTO statements (id, doc, run_id, home_id) VALUES ");
        for i in 0..chunk.len() {
            if i > 0 {
                sql.push_str(", ");
            }
            let n = i * 4;
            sql.push_str(&format!("(${}, ${}, ${}, ${})", n + 1, n + 2, n + 3, n + 4));
        }
        let mut q = sqlx::query(&sql);
        for s in chunk {
            q = q
                .bind(format!("{}/{}", s.run_id, s.home_id))
                .bind(samling_kit::docstore::encode(s))
                .bind(s.run_id.clone())
                .bind(s.home_id.clone());
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
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

/// Rule C2: every negative net not yet carried into a run, by home and the
/// run it came from.
pub async fn open_carries<'e, E: Executor<'e, Database = Any>>(
    e: E,
) -> R<Vec<crate::domain::payments::Carry>> {
    let rows = sqlx::query(
        "SELECT from_run_id, home_id, period, amount_ore FROM carry_overs WHERE into_run_id = '' ORDER BY home_id, period, from_run_id",
    )
    .fetch_all(e)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(crate::domain::payments::Carry {
                from_run_id: r.try_get(0)?,
                home_id: r.try_get(1)?,
                period: r.try_get(2)?,
                amount_ore: r.try_get(3)?,
            })
        })
        .collect()
}

/// Keep a run's negative nets (rule C2) to be carried by a later run.
pub async fn insert_carries(
    conn: &mut AnyConnection,
    carries: &[crate::domain::payments::Carry],
) -> R<()> {
    for c in carries {
        sqlx::query(
            "INSERT INTO carry_overs (from_run_id, home_id, period, amount_ore) VALUES ($1, $2, $3, $4)",
        )
        .bind(c.from_run_id.as_str())
        .bind(c.home_id.as_str())
        .bind(c.period.as_str())
        .bind(c.amount_ore)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Mark carried negative nets as taken by `run_id`, each exactly once: one
/// already taken (a run made at the same moment) is a conflict, and the
/// transaction is not committed.
pub async fn mark_carried(
    conn: &mut AnyConnection,
    carries: &[crate::domain::payments::Carry],
    run_id: &str,
) -> R<()> {
    for c in carries {
        let done = sqlx::query(
            "UPDATE carry_overs SET into_run_id = $1 WHERE into_run_id = '' AND from_run_id = $2 AND home_id = $3",
        )
        .bind(run_id)
        .bind(c.from_run_id.as_str())
        .bind(c.home_id.as_str())
        .execute(&mut *conn)
        .await?;
        if done.rows_affected() != 1 {
            return Err(CompensationError::Conflict(
                "a carried-over net was taken by another run meanwhile: start the run again".into(),
            ));
        }
    }
    Ok(())
}
