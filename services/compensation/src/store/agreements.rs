//! Agreements, one per placement.

use super::{Docs, Filter, Value};
use crate::domain::CompensationError;
use samling_kit::paging::Page;
use samling_proto::compensation::v1::Agreement;
use sqlx::{Any, AnyConnection, Executor};

type R<T> = Result<T, CompensationError>;

pub const DOCS: Docs<Agreement> = Docs::new("agreements", "agreement");

pub async fn get<'e, E: Executor<'e, Database = Any>>(e: E, id: &str) -> R<Option<Agreement>> {
    Ok(DOCS.get(e, id).await?)
}

/// The agreement of `placement_id`, if any.
pub async fn of_placement<'e, E: Executor<'e, Database = Any>>(
    e: E,
    placement_id: &str,
) -> R<Option<Agreement>> {
    let row = sqlx::query("SELECT doc FROM agreements WHERE placement_id = $1")
        .bind(placement_id)
        .fetch_optional(e)
        .await?;
    Ok(row.map(|r| DOCS.from_row(&r, 0)).transpose()?)
}

/// Insert (`is_new`) or replace an agreement and its filter columns.
pub async fn save(conn: &mut AnyConnection, a: &Agreement, is_new: bool) -> R<()> {
    let columns = [
        ("placement_id", Value::from(a.placement_id.as_str())),
        ("home_id", Value::from(a.home_id.as_str())),
        (
            "municipality_code",
            Value::from(a.municipality_code.as_str()),
        ),
        ("schedule_code", Value::from(a.schedule_code.as_str())),
    ];
    Ok(DOCS.save(conn, &a.id, a, &columns, is_new).await?)
}

/// One page of agreements of `home_id` and `municipality_code` ("" = any),
/// in id order.
pub async fn list<'e, E: Executor<'e, Database = Any>>(
    e: E,
    home_id: &str,
    municipality_code: &str,
    page: &Page,
) -> R<Vec<Agreement>> {
    let mut q = Filter::new("SELECT doc FROM agreements WHERE 1 = 1");
    if !home_id.is_empty() {
        q.and("home_id = ?", home_id);
    }
    if !municipality_code.is_empty() {
        q.and("municipality_code = ?", municipality_code);
    }
    if let Some(after) = &page.after {
        q.and("id > ?", after);
    }
    q.raw(&format!(" ORDER BY id LIMIT {}", page.limit()));
    Ok(DOCS.from_rows(&q.fetch_all(e).await?)?)
}

/// Every agreement, in id order (the payment run).
pub async fn all<'e, E: Executor<'e, Database = Any>>(e: E) -> R<Vec<Agreement>> {
    let rows = sqlx::query("SELECT doc FROM agreements ORDER BY id")
        .fetch_all(e)
        .await?;
    Ok(DOCS.from_rows(&rows)?)
}
