//! The placements the registry's feed showed: each gives its home access
//! to the child's portfolio from `starts_on` until (not on) `ends_on`.

use crate::domain::PortfolioError;
use sqlx::{Any, AnyConnection, Executor, Row};

type R<T> = Result<T, PortfolioError>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HomePlacement {
    pub placement_id: String,
    pub child_id: String,
    pub home_id: String,
    pub starts_on: String,
    pub ends_on: String,
    /// The registry's legal basis (`LEGAL_BASIS_…`; "" when not told).
    pub legal_basis: String,
}

impl HomePlacement {
    /// Does the placement give its home access on `today` (ISO text)?
    pub fn active_on(&self, today: &str) -> bool {
        !self.home_id.is_empty()
            && !self.starts_on.is_empty()
            && self.starts_on.as_str() <= today
            && (self.ends_on.is_empty() || today < self.ends_on.as_str())
    }
}

pub async fn get<'e, E: Executor<'e, Database = Any>>(
    e: E,
    placement_id: &str,
) -> R<Option<HomePlacement>> {
    let row = sqlx::query(
        "SELECT placement_id, child_id, home_id, starts_on, ends_on, legal_basis FROM home_access WHERE placement_id = $1",
    )
    .bind(placement_id)
    .fetch_optional(e)
    .await?;
    row.map(|r| to_row(&r)).transpose()
}

fn to_row(r: &sqlx::any::AnyRow) -> R<HomePlacement> {
    Ok(HomePlacement {
        placement_id: r.try_get(0)?,
        child_id: r.try_get(1)?,
        home_id: r.try_get(2)?,
        starts_on: r.try_get(3)?,
        ends_on: r.try_get(4)?,
        legal_basis: r.try_get(5)?,
    })
}

/// Record a placement's start or end; what is known is kept where the
/// event does not say it (an event delivered again, or the end first).
pub async fn upsert(conn: &mut AnyConnection, new: &HomePlacement) -> R<()> {
    match get(&mut *conn, &new.placement_id).await? {
        None => {
            sqlx::query(
                "INSERT INTO home_access (placement_id, child_id, home_id, starts_on, ends_on, legal_basis) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&new.placement_id)
            .bind(&new.child_id)
            .bind(&new.home_id)
            .bind(&new.starts_on)
            .bind(&new.ends_on)
            .bind(&new.legal_basis)
            .execute(&mut *conn)
            .await?;
        }
        Some(old) => {
            let keep = |n: &str, o: String| if n.is_empty() { o } else { n.to_string() };
            sqlx::query(
                "UPDATE home_access SET child_id = $2, home_id = $3, starts_on = $4, ends_on = $5, legal_basis = $6 WHERE placement_id = $1",
            )
            .bind(&new.placement_id)
            .bind(keep(&new.child_id, old.child_id))
            .bind(keep(&new.home_id, old.home_id))
            .bind(keep(&new.starts_on, old.starts_on))
            .bind(keep(&new.ends_on, old.ends_on))
            .bind(keep(&new.legal_basis, old.legal_basis))
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

/// Every placement of `child_id`, oldest first.
pub async fn of_child<'e, E: Executor<'e, Database = Any>>(
    e: E,
    child_id: &str,
) -> R<Vec<HomePlacement>> {
    let rows = sqlx::query(
        "SELECT placement_id, child_id, home_id, starts_on, ends_on, legal_basis FROM home_access WHERE child_id = $1 ORDER BY starts_on, placement_id",
    )
    .bind(child_id)
    .fetch_all(e)
    .await?;
    rows.iter().map(to_row).collect()
}

/// Every placement of each of `child_ids` (the retention job's page).
pub async fn of_children<'e, E: Executor<'e, Database = Any>>(
    e: E,
    child_ids: &[String],
) -> R<Vec<HomePlacement>> {
    if child_ids.is_empty() {
        return Ok(Vec::new());
    }
    let params: Vec<String> = (1..=child_ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT placement_id, child_id, home_id, starts_on, ends_on, legal_basis FROM home_access WHERE child_id IN ({}) ORDER BY starts_on, placement_id",
        params.join(", ")
    );
    let mut q = sqlx::query(&sql);
    for id in child_ids {
        q = q.bind(id);
    }
    let rows = q.fetch_all(e).await?;
    rows.iter().map(to_row).collect()
}
