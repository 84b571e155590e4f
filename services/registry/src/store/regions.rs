//! Across regions (ADR 0021): another region's placements in this
//! register's homes (occupancies, without the child's identity), the homes
//! of other regions this register's placements are in, and the keyed
//! hashes of personnummer other registers ask by.

use crate::domain::RegistryError;
use sqlx::{Any, AnyConnection, Executor, Row};

type R<T> = Result<T, RegistryError>;

/// Another region's placement in one of this register's homes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occupancy {
    pub placement_id: String,
    pub home_id: String,
    pub placing_region: String,
    pub placing_municipality: String,
    pub start_date: String,
    /// "PLACEMENT_STATUS_ACTIVE" or "PLACEMENT_STATUS_ENDED".
    pub status: String,
    pub protected_child: bool,
    pub vouched: bool,
}

fn occupancy(r: &sqlx::any::AnyRow) -> R<Occupancy> {
    Ok(Occupancy {
        placement_id: r.try_get(0)?,
        home_id: r.try_get(1)?,
        placing_region: r.try_get(2)?,
        placing_municipality: r.try_get(3)?,
        start_date: r.try_get(4)?,
        status: r.try_get(5)?,
        protected_child: r.try_get::<i64, _>(6)? != 0,
        vouched: r.try_get::<i64, _>(7)? != 0,
    })
}

const OCCUPANCY_COLUMNS: &str = "placement_id, home_id, placing_region, placing_municipality, start_date, status, protected_child, vouched";

pub async fn occupancy_of<'e, E: Executor<'e, Database = Any>>(
    e: E,
    placement_id: &str,
) -> R<Option<Occupancy>> {
    let row = sqlx::query(&format!(
        "SELECT {OCCUPANCY_COLUMNS} FROM home_occupancies WHERE placement_id = $1"
    ))
    .bind(placement_id)
    .fetch_optional(e)
    .await?;
    row.as_ref().map(occupancy).transpose()
}

/// A home's occupancies by start date (then placement id).
pub async fn occupancies<'e, E: Executor<'e, Database = Any>>(
    e: E,
    home_id: &str,
) -> R<Vec<Occupancy>> {
    let rows = sqlx::query(&format!(
        "SELECT {OCCUPANCY_COLUMNS} FROM home_occupancies WHERE home_id = $1 ORDER BY start_date, placement_id"
    ))
    .bind(home_id)
    .fetch_all(e)
    .await?;
    rows.iter().map(occupancy).collect()
}

pub async fn insert_occupancy(conn: &mut AnyConnection, o: &Occupancy, now: &str) -> R<()> {
    sqlx::query(
        "INSERT INTO home_occupancies (placement_id, home_id, placing_region, placing_municipality, start_date, \
         status, protected_child, vouched, created_at, released_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, '')",
    )
    .bind(&o.placement_id)
    .bind(&o.home_id)
    .bind(&o.placing_region)
    .bind(&o.placing_municipality)
    .bind(&o.start_date)
    .bind(&o.status)
    .bind(i64::from(o.protected_child))
    .bind(i64::from(o.vouched))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn release_occupancy(conn: &mut AnyConnection, placement_id: &str, now: &str) -> R<()> {
    sqlx::query(
        "UPDATE home_occupancies SET status = 'PLACEMENT_STATUS_ENDED', released_at = $2 WHERE placement_id = $1",
    )
    .bind(placement_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Where another region's home is and whether it is protected, as its
/// register last said.
pub async fn remember_home(
    conn: &mut AnyConnection,
    home_id: &str,
    region: &str,
    protected: bool,
    now: &str,
) -> R<()> {
    sqlx::query("DELETE FROM remote_homes WHERE home_id = $1")
        .bind(home_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO remote_homes (home_id, region, protected, updated_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(home_id)
    .bind(region)
    .bind(i64::from(protected))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// (region, protected) of another region's home this register placed in.
pub async fn remote_home<'e, E: Executor<'e, Database = Any>>(
    e: E,
    home_id: &str,
) -> R<Option<(String, bool)>> {
    let row = sqlx::query("SELECT region, protected FROM remote_homes WHERE home_id = $1")
        .bind(home_id)
        .fetch_optional(e)
        .await?;
    row.map(|r| Ok((r.try_get(0)?, r.try_get::<i64, _>(1)? != 0)))
        .transpose()
}

/// Index `record_type`/`record_id` under `hash` (once).
pub async fn index_identity(
    conn: &mut AnyConnection,
    hash: &str,
    record_type: &str,
    record_id: &str,
) -> R<()> {
    sqlx::query(
        "INSERT INTO identity_hashes (hash, record_type, record_id) VALUES ($1, $2, $3) \
         ON CONFLICT (hash, record_type, record_id) DO NOTHING",
    )
    .bind(hash)
    .bind(record_type)
    .bind(record_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The records of `record_type` indexed under `hash`, in id order.
pub async fn with_identity<'e, E: Executor<'e, Database = Any>>(
    e: E,
    hash: &str,
    record_type: &str,
) -> R<Vec<String>> {
    let rows = sqlx::query(
        "SELECT record_id FROM identity_hashes WHERE hash = $1 AND record_type = $2 ORDER BY record_id",
    )
    .bind(hash)
    .bind(record_type)
    .fetch_all(e)
    .await?;
    rows.iter()
        .map(|r| r.try_get::<String, _>(0).map_err(RegistryError::from))
        .collect()
}

/// (id, canonical personnummer) of children with no keyed hash yet.
pub async fn children_unindexed<'e, E: Executor<'e, Database = Any>>(
    e: E,
) -> R<Vec<(String, String)>> {
    let rows = sqlx::query(
        "SELECT id, personnummer FROM children WHERE id NOT IN \
         (SELECT record_id FROM identity_hashes WHERE record_type = 'child') ORDER BY id",
    )
    .fetch_all(e)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

/// Homes with no keyed hash yet (those without adults stay so).
pub async fn homes_unindexed<'e, E: Executor<'e, Database = Any>>(
    e: E,
) -> R<Vec<samling_proto::registry::v1::Home>> {
    let rows = sqlx::query(
        "SELECT doc FROM homes WHERE id NOT IN \
         (SELECT record_id FROM identity_hashes WHERE record_type = 'home') ORDER BY id",
    )
    .fetch_all(e)
    .await?;
    Ok(super::homes::DOCS.from_rows(&rows)?)
}

/// Ask `region` again about `record_type`/`record_id` (once).
pub async fn add_pending_check(
    conn: &mut AnyConnection,
    record_type: &str,
    record_id: &str,
    region: &str,
    now: &str,
) -> R<()> {
    sqlx::query(
        "INSERT INTO identity_checks_pending (record_type, record_id, region, created_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (record_type, record_id, region) DO NOTHING",
    )
    .bind(record_type)
    .bind(record_id)
    .bind(region)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn remove_pending_check(
    conn: &mut AnyConnection,
    record_type: &str,
    record_id: &str,
    region: &str,
) -> R<()> {
    sqlx::query(
        "DELETE FROM identity_checks_pending WHERE record_type = $1 AND record_id = $2 AND region = $3",
    )
    .bind(record_type)
    .bind(record_id)
    .bind(region)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Up to `limit` pending checks (record type, record id, region), oldest first.
pub async fn pending_checks<'e, E: Executor<'e, Database = Any>>(
    e: E,
    limit: i64,
) -> R<Vec<(String, String, String)>> {
    let rows = sqlx::query(
        "SELECT record_type, record_id, region FROM identity_checks_pending \
         ORDER BY created_at, record_id LIMIT $1",
    )
    .bind(limit)
    .fetch_all(e)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
        .collect()
}

/// The keyed hashes indexed for `record_type`/`record_id`.
pub async fn hashes_of<'e, E: Executor<'e, Database = Any>>(
    e: E,
    record_type: &str,
    record_id: &str,
) -> R<Vec<String>> {
    let rows = sqlx::query(
        "SELECT hash FROM identity_hashes WHERE record_type = $1 AND record_id = $2 ORDER BY hash",
    )
    .bind(record_type)
    .bind(record_id)
    .fetch_all(e)
    .await?;
    rows.iter()
        .map(|r| r.try_get::<String, _>(0).map_err(RegistryError::from))
        .collect()
}
