//! The state grant ledger: years' available sums, one row per year and
//! municipality (doc: `GrantLedgerEntry`, id `YYYY/code`) and unused
//! amounts over periods. Upserts set values (an import is idempotent).

use super::{Docs, Value};
use crate::domain::CompensationError;
use samling_proto::compensation::v1::{GrantLedgerEntry, UnusedPeriod};
use sqlx::{Any, AnyConnection, Executor, Row};
use std::collections::BTreeMap;

type R<T> = Result<T, CompensationError>;

pub const DOCS: Docs<GrantLedgerEntry> = Docs::new("grant_ledger", "grant ledger entry");

pub fn entry_id(year: i32, code: &str) -> String {
    format!("{year:04}/{code}")
}

pub async fn get<'e, E: Executor<'e, Database = Any>>(
    e: E,
    year: i32,
    code: &str,
) -> R<Option<GrantLedgerEntry>> {
    Ok(DOCS.get(e, &entry_id(year, code)).await?)
}

/// Insert (`is_new`) or replace a row.
pub async fn save(
    conn: &mut AnyConnection,
    e: &GrantLedgerEntry,
    county_code: &str,
    is_new: bool,
) -> R<()> {
    let columns = [
        ("year", Value::from(i64::from(e.year))),
        (
            "municipality_code",
            Value::from(e.municipality_code.as_str()),
        ),
        ("county_code", Value::from(county_code)),
    ];
    Ok(DOCS
        .save(
            conn,
            &entry_id(e.year, &e.municipality_code),
            e,
            &columns,
            is_new,
        )
        .await?)
}

/// Rows: one municipality's (by year), or one year's / every year's
/// (`year` 0), optionally of one county, by year then code.
pub async fn list<'e, E: Executor<'e, Database = Any>>(
    e: E,
    year: i32,
    municipality_code: &str,
    county_code: &str,
) -> R<Vec<GrantLedgerEntry>> {
    let mut q = super::Filter::new("SELECT doc FROM grant_ledger WHERE 1 = 1");
    if year != 0 {
        // A validated i32: no text to bind.
        q.raw(&format!(" AND year = {year}"));
    }
    if !municipality_code.is_empty() {
        q.and("municipality_code = ?", municipality_code);
    }
    if !county_code.is_empty() {
        q.and("county_code = ?", county_code);
    }
    q.raw(" ORDER BY year, municipality_code");
    let rows = q.fetch_all(e).await?;
    Ok(DOCS.from_rows(&rows)?)
}

/// A year's available sum (0 = none) and whether its leftovers were shared.
pub async fn year<'e, E: Executor<'e, Database = Any>>(e: E, year: i32) -> R<(i64, bool)> {
    let row = sqlx::query("SELECT available_kr, redistributed FROM grant_years WHERE year = $1")
        .bind(i64::from(year))
        .fetch_optional(e)
        .await?;
    Ok(match row {
        Some(r) => (r.try_get(0)?, r.try_get::<i64, _>(1)? != 0),
        None => (0, false),
    })
}

/// Every year's available sum.
pub async fn years<'e, E: Executor<'e, Database = Any>>(e: E) -> R<BTreeMap<i32, i64>> {
    let rows = sqlx::query("SELECT year, available_kr FROM grant_years ORDER BY year")
        .fetch_all(e)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get::<i64, _>(0)? as i32, r.try_get(1)?)))
        .collect()
}

/// Set a year's available sum; answers whether it changed.
pub async fn set_available(conn: &mut AnyConnection, year: i32, available_kr: i64) -> R<bool> {
    let (old, _) = self::year(&mut *conn, year).await?;
    let existed = sqlx::query("SELECT 1 FROM grant_years WHERE year = $1")
        .bind(i64::from(year))
        .fetch_optional(&mut *conn)
        .await?
        .is_some();
    if existed && old == available_kr {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO grant_years (year, available_kr) VALUES ($1, $2) \
         ON CONFLICT (year) DO UPDATE SET available_kr = excluded.available_kr",
    )
    .bind(i64::from(year))
    .bind(available_kr)
    .execute(&mut *conn)
    .await?;
    Ok(true)
}

/// Mark a year's leftovers shared; false when they already were (another
/// redistribution won).
pub async fn mark_redistributed(conn: &mut AnyConnection, year: i32) -> R<bool> {
    let done = sqlx::query(
        "UPDATE grant_years SET redistributed = 1 WHERE year = $1 AND redistributed = 0",
    )
    .bind(i64::from(year))
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Set an unused amount over a period; answers whether it changed.
pub async fn set_unused(conn: &mut AnyConnection, p: &UnusedPeriod, county_code: &str) -> R<bool> {
    let old: Option<i64> = sqlx::query(
        "SELECT unused_kr FROM grant_unused WHERE from_year = $1 AND to_year = $2 AND municipality_code = $3",
    )
    .bind(i64::from(p.from_year))
    .bind(i64::from(p.to_year))
    .bind(p.municipality_code.as_str())
    .fetch_optional(&mut *conn)
    .await?
    .map(|r| r.try_get(0))
    .transpose()?;
    if old == Some(p.unused_kr) {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO grant_unused (from_year, to_year, municipality_code, county_code, unused_kr) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (from_year, to_year, municipality_code) \
         DO UPDATE SET unused_kr = excluded.unused_kr",
    )
    .bind(i64::from(p.from_year))
    .bind(i64::from(p.to_year))
    .bind(p.municipality_code.as_str())
    .bind(county_code)
    .bind(p.unused_kr)
    .execute(&mut *conn)
    .await?;
    Ok(true)
}

/// Unused periods: one municipality's or (code "") all, optionally of a
/// county, by period then code.
pub async fn unused<'e, E: Executor<'e, Database = Any>>(
    e: E,
    municipality_code: &str,
    county_code: &str,
) -> R<Vec<UnusedPeriod>> {
    let mut q = super::Filter::new(
        "SELECT from_year, to_year, municipality_code, unused_kr FROM grant_unused WHERE 1 = 1",
    );
    if !municipality_code.is_empty() {
        q.and("municipality_code = ?", municipality_code);
    }
    if !county_code.is_empty() {
        q.and("county_code = ?", county_code);
    }
    q.raw(" ORDER BY from_year, to_year, municipality_code");
    q.fetch_all(e)
        .await?
        .iter()
        .map(|r| {
            Ok(UnusedPeriod {
                from_year: r.try_get::<i64, _>(0)? as i32,
                to_year: r.try_get::<i64, _>(1)? as i32,
                municipality_code: r.try_get(2)?,
                unused_kr: r.try_get(3)?,
            })
        })
        .collect()
}
