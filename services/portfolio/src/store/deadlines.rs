//! The state of each child's deadline item last emitted (ADR 0042): a run
//! emits `portfolio.deadline` only where the state or the due date changed.

use crate::domain::PortfolioError;
use sqlx::AnyConnection;

type R<T> = Result<T, PortfolioError>;

/// Record `state` and `due_on` as emitted for the child's `item`; true when
/// they differ from what was recorded (the caller emits the event in the
/// same transaction). Conditional, so two runs at once emit once.
pub async fn record_change(
    conn: &mut AnyConnection,
    child_id: &str,
    item: &str,
    state: &str,
    due_on: &str,
    at: &str,
) -> R<bool> {
    let inserted = sqlx::query(
        "INSERT INTO deadline_states (child_id, item, state, due_on, emitted_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (child_id, item) DO NOTHING",
    )
    .bind(child_id)
    .bind(item)
    .bind(state)
    .bind(due_on)
    .bind(at)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(true);
    }
    let updated = sqlx::query(
        "UPDATE deadline_states SET state = $3, due_on = $4, emitted_at = $5 WHERE child_id = $1 AND item = $2 AND (state <> $3 OR due_on <> $4)",
    )
    .bind(child_id)
    .bind(item)
    .bind(state)
    .bind(due_on)
    .bind(at)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(updated == 1)
}

/// The states last emitted for `child_id`: (item, state, due_on).
pub async fn of_child<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    e: E,
    child_id: &str,
) -> R<Vec<(String, String, String)>> {
    use sqlx::Row;
    let rows = sqlx::query("SELECT item, state, due_on FROM deadline_states WHERE child_id = $1")
        .bind(child_id)
        .fetch_all(e)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
        .collect()
}
