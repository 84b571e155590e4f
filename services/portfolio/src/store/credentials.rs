//! The child's prescription credentials as retention changes them.

use crate::domain::PortfolioError;
use sqlx::AnyConnection;

type R<T> = Result<T, PortfolioError>;

/// Revoke the child's credentials not yet revoked (care ended); how many.
pub async fn revoke_of_child(conn: &mut AnyConnection, child_id: &str, now: &str) -> R<u64> {
    let done = sqlx::query(
        "UPDATE credentials SET revoked_at = $2 WHERE child_id = $1 AND revoked_at = ''",
    )
    .bind(child_id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Delete the child's credentials (thinned at archiving); how many.
pub async fn delete_of_child(conn: &mut AnyConnection, child_id: &str) -> R<u64> {
    let done = sqlx::query("DELETE FROM credentials WHERE child_id = $1")
        .bind(child_id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

/// How many credentials the child has (all, and not revoked).
pub async fn count_of_child<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    e: E,
    child_id: &str,
) -> R<(i64, i64)> {
    use sqlx::Row;
    let r = sqlx::query(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN revoked_at = '' THEN 1 ELSE 0 END), 0) FROM credentials WHERE child_id = $1",
    )
    .bind(child_id)
    .fetch_one(e)
    .await?;
    Ok((r.try_get(0)?, r.try_get(1)?))
}
