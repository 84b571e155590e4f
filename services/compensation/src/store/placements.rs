//! Placements as the registry's feed shows them.

use crate::domain::CompensationError;
use crate::domain::payments::PlacementDays;
use samling_kit::dates;
use sqlx::{Any, AnyConnection, Executor, Row};
use std::collections::HashMap;

type R<T> = Result<T, CompensationError>;

/// Record a placement's start (`starts_on`) and/or end (`ends_on`); what
/// is already known is kept when the event does not say it (an event
/// delivered again, or the end before the start).
pub async fn upsert(
    conn: &mut AnyConnection,
    placement_id: &str,
    home_id: &str,
    starts_on: &str,
    ends_on: &str,
) -> R<()> {
    let existing =
        sqlx::query("SELECT home_id, starts_on, ends_on FROM placements WHERE placement_id = $1")
            .bind(placement_id)
            .fetch_optional(&mut *conn)
            .await?;
    match existing {
        None => {
            sqlx::query(
                "INSERT INTO placements (placement_id, home_id, starts_on, ends_on) VALUES ($1, $2, $3, $4)",
            )
            .bind(placement_id)
            .bind(home_id)
            .bind(starts_on)
            .bind(ends_on)
            .execute(&mut *conn)
            .await?;
        }
        Some(row) => {
            let keep = |new: &str, old: String| if new.is_empty() { old } else { new.to_string() };
            let home = keep(home_id, row.try_get(0)?);
            let start = keep(starts_on, row.try_get(1)?);
            let end = keep(ends_on, row.try_get(2)?);
            sqlx::query(
                "UPDATE placements SET home_id = $2, starts_on = $3, ends_on = $4 WHERE placement_id = $1",
            )
            .bind(placement_id)
            .bind(home)
            .bind(start)
            .bind(end)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

/// Every placement known, by id.
pub async fn all<'e, E: Executor<'e, Database = Any>>(e: E) -> R<HashMap<String, PlacementDays>> {
    let rows = sqlx::query("SELECT placement_id, starts_on, ends_on FROM placements")
        .fetch_all(e)
        .await?;
    let mut out = HashMap::with_capacity(rows.len());
    for r in rows {
        let day = |s: String| dates::parse_iso("", &s).ok();
        out.insert(
            r.try_get::<String, _>(0)?,
            PlacementDays {
                starts_on: day(r.try_get(1)?),
                ends_on: day(r.try_get(2)?),
            },
        );
    }
    Ok(out)
}
