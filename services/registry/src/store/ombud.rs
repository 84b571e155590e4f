//! The ombud the ombud service's feed assigned to each child (ADR 0045).

use super::after;
use crate::domain::RegistryError;
use samling_kit::paging::Page;
use sqlx::{Any, AnyConnection, Executor, Row};

type R<T> = Result<T, RegistryError>;

/// The subject of the ombud assigned to `child_id`, if any.
pub async fn of_child<'e, E: Executor<'e, Database = Any>>(
    e: E,
    child_id: &str,
) -> R<Option<String>> {
    let row = sqlx::query("SELECT ombud_subject FROM ombud_assignments WHERE child_id = $1")
        .bind(child_id)
        .fetch_optional(e)
        .await?;
    Ok(row.map(|r| r.try_get(0)).transpose()?)
}

/// Every child assigned to `ombud_subject`, in id order.
pub async fn children_of<'e, E: Executor<'e, Database = Any>>(
    e: E,
    ombud_subject: &str,
) -> R<Vec<String>> {
    let rows = sqlx::query(
        "SELECT child_id FROM ombud_assignments WHERE ombud_subject = $1 ORDER BY child_id",
    )
    .bind(ombud_subject)
    .fetch_all(e)
    .await?;
    Ok(rows
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?)
}

/// One page of the child records assigned to `ombud_subject`, in id order.
pub async fn children_page<'e, E: Executor<'e, Database = Any>>(
    e: E,
    ombud_subject: &str,
    page: &Page,
) -> R<Vec<samling_proto::registry::v1::Child>> {
    let rows = sqlx::query(
        "SELECT c.doc FROM children c JOIN ombud_assignments a ON a.child_id = c.id \
         WHERE a.ombud_subject = $1 AND c.id > $2 ORDER BY c.id LIMIT $3",
    )
    .bind(ombud_subject)
    .bind(after(page))
    .bind(page.limit())
    .fetch_all(e)
    .await?;
    Ok(super::children::DOCS.from_rows(&rows)?)
}

/// Record an assignment; one from an earlier place in the feed than the one
/// stored (delivered again) changes nothing. Returns whether it was stored.
pub async fn assign(
    conn: &mut AnyConnection,
    child_id: &str,
    ombud_subject: &str,
    seq: i64,
) -> R<bool> {
    let known: Option<i64> =
        sqlx::query("SELECT event_seq FROM ombud_assignments WHERE child_id = $1")
            .bind(child_id)
            .fetch_optional(&mut *conn)
            .await?
            .map(|r| r.try_get(0))
            .transpose()?;
    let sql = match known {
        Some(s) if s >= seq => return Ok(false),
        Some(_) => {
            "UPDATE ombud_assignments SET ombud_subject = $2, event_seq = $3 WHERE child_id = $1"
        }
        None => {
            "INSERT INTO ombud_assignments (child_id, ombud_subject, event_seq) VALUES ($1, $2, $3)"
        }
    };
    sqlx::query(sql)
        .bind(child_id)
        .bind(ombud_subject)
        .bind(seq)
        .execute(&mut *conn)
        .await?;
    Ok(true)
}
