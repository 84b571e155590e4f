//! The ombud the ombud service's feed assigned to each child.

use crate::domain::PortfolioError;
use sqlx::{Any, AnyConnection, Executor, Row};

type R<T> = Result<T, PortfolioError>;

/// The subject of the ombud assigned to `child_id`, if any.
pub async fn of_child<'e, E: Executor<'e, Database = Any>>(
    e: E,
    child_id: &str,
) -> R<Option<String>> {
    let row = sqlx::query("SELECT ombud_subject FROM ombud_access WHERE child_id = $1")
        .bind(child_id)
        .fetch_optional(e)
        .await?;
    Ok(row.map(|r| r.try_get(0)).transpose()?)
}

/// Record an assignment; one from an earlier place in the feed than the one
/// stored (delivered again) changes nothing. Returns whether it was stored.
pub async fn assign(
    conn: &mut AnyConnection,
    child_id: &str,
    ombud_subject: &str,
    assigned_at: &str,
    seq: i64,
) -> R<bool> {
    let known: Option<i64> = sqlx::query("SELECT event_seq FROM ombud_access WHERE child_id = $1")
        .bind(child_id)
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| r.try_get(0))
        .transpose()?;
    match known {
        Some(s) if s >= seq => Ok(false),
        Some(_) => {
            sqlx::query(
                "UPDATE ombud_access SET ombud_subject = $2, assigned_at = $3, event_seq = $4 WHERE child_id = $1",
            )
            .bind(child_id)
            .bind(ombud_subject)
            .bind(assigned_at)
            .bind(seq)
            .execute(&mut *conn)
            .await?;
            Ok(true)
        }
        None => {
            sqlx::query(
                "INSERT INTO ombud_access (child_id, ombud_subject, assigned_at, event_seq) VALUES ($1, $2, $3, $4)",
            )
            .bind(child_id)
            .bind(ombud_subject)
            .bind(assigned_at)
            .bind(seq)
            .execute(&mut *conn)
            .await?;
            Ok(true)
        }
    }
}
