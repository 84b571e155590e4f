//! Claims. `status` and `paid_run_id` columns are laid over the doc on
//! every read (a run marks claims paid by column only).

use super::{Docs, Filter, Value};
use crate::domain::CompensationError;
use samling_kit::paging::Page;
use samling_proto::compensation::v1::{Claim, ClaimStatus};
use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, Executor, Row};

type R<T> = Result<T, CompensationError>;

pub const DOCS: Docs<Claim> = Docs::new("claims", "claim");

const SELECT: &str = "SELECT doc, status, paid_run_id FROM claims";

fn from_row(r: &AnyRow) -> R<Claim> {
    let mut c = DOCS.from_row(r, 0)?;
    let status: String = r.try_get(1)?;
    if let Some(s) = ClaimStatus::from_str_name(&status) {
        c.status = s as i32;
    }
    c.paid_in_run_id = r.try_get(2)?;
    Ok(c)
}

pub async fn get<'e, E: Executor<'e, Database = Any>>(e: E, id: &str) -> R<Option<Claim>> {
    let row = sqlx::query(&format!("{SELECT} WHERE id = $1"))
        .bind(id)
        .fetch_optional(e)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Insert (`is_new`) or replace a claim (its doc, status and filters).
pub async fn save(conn: &mut AnyConnection, c: &Claim, is_new: bool) -> R<()> {
    let columns = [
        ("agreement_id", Value::from(c.agreement_id.as_str())),
        ("home_id", Value::from(c.home_id.as_str())),
        (
            "municipality_code",
            Value::from(c.municipality_code.as_str()),
        ),
        ("status", Value::from(c.status().as_str_name())),
    ];
    Ok(DOCS.save(conn, &c.id, c, &columns, is_new).await?)
}

/// One page of claims ("" / unspecified = any), in id order.
pub async fn list<'e, E: Executor<'e, Database = Any>>(
    e: E,
    home_id: &str,
    municipality_code: &str,
    status: ClaimStatus,
    page: &Page,
) -> R<Vec<Claim>> {
    let mut q = Filter::new(&format!("{SELECT} WHERE 1 = 1"));
    if !home_id.is_empty() {
        q.and("home_id = ?", home_id);
    }
    if !municipality_code.is_empty() {
        q.and("municipality_code = ?", municipality_code);
    }
    if status != ClaimStatus::Unspecified {
        q.and("status = ?", status.as_str_name());
    }
    if let Some(after) = &page.after {
        q.and("id > ?", after);
    }
    q.raw(&format!(" ORDER BY id LIMIT {}", page.limit()));
    q.fetch_all(e).await?.iter().map(from_row).collect()
}

/// Every approved claim not yet paid, in id order (the run).
pub async fn approved_unpaid<'e, E: Executor<'e, Database = Any>>(e: E) -> R<Vec<Claim>> {
    let rows = sqlx::query(&format!(
        "{SELECT} WHERE status = $1 AND paid_run_id = '' ORDER BY id"
    ))
    .bind(ClaimStatus::Approved.as_str_name())
    .fetch_all(e)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Mark `ids` paid by `run_id` (in the run's transaction), in batches.
pub async fn mark_paid(conn: &mut AnyConnection, ids: &[String], run_id: &str) -> R<()> {
    for chunk in ids.chunks(super::payments::STATEMENT_BATCH) {
        let params: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 4)).collect();
        let sql = format!(
            "UPDATE claims SET status = $1, paid_run_id = $2 WHERE status = $3 AND id IN ({})",
            params.join(", ")
        );
        let mut q = sqlx::query(&sql)
            .bind(ClaimStatus::Paid.as_str_name())
            .bind(run_id)
            .bind(ClaimStatus::Approved.as_str_name());
        for id in chunk {
            q = q.bind(id.as_str());
        }
        let done = q.execute(&mut *conn).await?;
        if done.rows_affected() != chunk.len() as u64 {
            return Err(CompensationError::Conflict(
                "a claim of the run changed meanwhile: start the run again".into(),
            ));
        }
    }
    Ok(())
}
