//! Fee schedule versions (inserted once, never updated).

use super::{Docs, Value};
use crate::domain::CompensationError;
use samling_kit::paging::Page;
use samling_proto::compensation::v1::FeeSchedule;
use sqlx::{Any, AnyConnection, Executor};

type R<T> = Result<T, CompensationError>;

pub const DOCS: Docs<FeeSchedule> = Docs::new("fee_schedules", "fee schedule");

/// The paging key of a version: code '/' zero-padded version.
pub fn sort_key(s: &FeeSchedule) -> String {
    format!("{}/{:010}", s.code, s.version)
}

pub async fn insert(conn: &mut AnyConnection, s: &FeeSchedule) -> R<()> {
    let columns = [
        ("code", Value::from(s.code.as_str())),
        ("version", Value::Int(i64::from(s.version))),
        (
            "effective_from",
            Value::Text(super::day_text(s.effective_from.as_ref())),
        ),
        ("sort_key", Value::Text(sort_key(s))),
    ];
    Ok(DOCS.insert(conn, &s.id, s, &columns).await?)
}

/// The newest version of `code`, if any.
pub async fn newest<'e, E: Executor<'e, Database = Any>>(
    e: E,
    code: &str,
) -> R<Option<FeeSchedule>> {
    let row =
        sqlx::query("SELECT doc FROM fee_schedules WHERE code = $1 ORDER BY version DESC LIMIT 1")
            .bind(code)
            .fetch_optional(e)
            .await?;
    Ok(row.map(|r| DOCS.from_row(&r, 0)).transpose()?)
}

/// Version `version` of `code`, if any.
pub async fn version<'e, E: Executor<'e, Database = Any>>(
    e: E,
    code: &str,
    version: u32,
) -> R<Option<FeeSchedule>> {
    let row = sqlx::query("SELECT doc FROM fee_schedules WHERE code = $1 AND version = $2")
        .bind(code)
        .bind(i64::from(version))
        .fetch_optional(e)
        .await?;
    Ok(row.map(|r| DOCS.from_row(&r, 0)).transpose()?)
}

/// The newest version of `code` effective on `day` (ISO text), if any.
pub async fn effective_on<'e, E: Executor<'e, Database = Any>>(
    e: E,
    code: &str,
    day: &str,
) -> R<Option<FeeSchedule>> {
    let row = sqlx::query(
        "SELECT doc FROM fee_schedules WHERE code = $1 AND effective_from <= $2 \
         ORDER BY version DESC LIMIT 1",
    )
    .bind(code)
    .bind(day)
    .fetch_optional(e)
    .await?;
    Ok(row.map(|r| DOCS.from_row(&r, 0)).transpose()?)
}

/// Every version of `code`, oldest first.
pub async fn all_versions<'e, E: Executor<'e, Database = Any>>(
    e: E,
    code: &str,
) -> R<Vec<FeeSchedule>> {
    let rows = sqlx::query("SELECT doc FROM fee_schedules WHERE code = $1 ORDER BY version")
        .bind(code)
        .fetch_all(e)
        .await?;
    Ok(DOCS.from_rows(&rows)?)
}

/// One page of versions (of `code`, "" for all) in code, version order.
pub async fn list<'e, E: Executor<'e, Database = Any>>(
    e: E,
    code: &str,
    page: &Page,
) -> R<Vec<FeeSchedule>> {
    let rows = sqlx::query(
        "SELECT doc FROM fee_schedules WHERE ($1 = '' OR code = $1) AND sort_key > $2 \
         ORDER BY sort_key LIMIT $3",
    )
    .bind(code)
    .bind(super::after(page))
    .bind(page.limit())
    .fetch_all(e)
    .await?;
    Ok(DOCS.from_rows(&rows)?)
}
