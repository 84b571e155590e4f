//! Duplicate flags.

use super::{Docs, Value, after};
use crate::domain::RegistryError;
use samling_kit::paging::Page;
use samling_proto::registry::v1::{DuplicateFlag, DuplicateKind, DuplicateStatus};
use sqlx::{Any, AnyConnection, Executor};

type R<T> = Result<T, RegistryError>;

pub const DOCS: Docs<DuplicateFlag> = Docs::new("duplicate_flags", "duplicate flag");

/// The flag, or "duplicate flag <id> not found".
pub async fn must_get<'e, E: Executor<'e, Database = Any>>(e: E, id: &str) -> R<DuplicateFlag> {
    Ok(DOCS.must_get(e, id).await?)
}

pub async fn save(conn: &mut AnyConnection, f: &DuplicateFlag, is_new: bool) -> R<()> {
    let status = DuplicateStatus::try_from(f.status)
        .unwrap_or_default()
        .as_str_name();
    let kind = DuplicateKind::try_from(f.kind)
        .unwrap_or_default()
        .as_str_name();
    let columns = [
        ("status", Value::from(status)),
        ("kind", Value::from(kind)),
        ("record_id", Value::from(f.record_id.as_str())),
        ("other_record_id", Value::from(f.other_record_id.as_str())),
    ];
    Ok(DOCS.save(conn, &f.id, f, &columns, is_new).await?)
}

/// Every flag between `a` and `b`, either way round, any kind or status
/// (see [`crate::domain::duplicates::already_flagged`]).
pub async fn between<'e, E: Executor<'e, Database = Any>>(
    e: E,
    a: &str,
    b: &str,
) -> R<Vec<DuplicateFlag>> {
    let rows = sqlx::query(
        "SELECT doc FROM duplicate_flags \
         WHERE (record_id = $1 AND other_record_id = $2) OR (record_id = $2 AND other_record_id = $1)",
    )
    .bind(a)
    .bind(b)
    .fetch_all(e)
    .await?;
    Ok(DOCS.from_rows(&rows)?)
}

/// One page of flags (only open ones when `open_only`), in id order.
pub async fn list<'e, E: Executor<'e, Database = Any>>(
    e: E,
    open_only: bool,
    page: &Page,
) -> R<Vec<DuplicateFlag>> {
    let rows = sqlx::query(
        "SELECT doc FROM duplicate_flags WHERE ($1 = 0 OR status = $2) AND id > $3 ORDER BY id LIMIT $4",
    )
    .bind(i64::from(open_only))
    .bind(DuplicateStatus::Open.as_str_name())
    .bind(after(page))
    .bind(page.limit())
    .fetch_all(e)
    .await?;
    Ok(DOCS.from_rows(&rows)?)
}
