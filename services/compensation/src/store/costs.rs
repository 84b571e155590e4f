//! Price splits (cost transparency) and the placement facts they rest on.

use super::{Docs, Value};
use crate::domain::CompensationError;
use crate::domain::costs::Price;
use samling_proto::compensation::v1::PriceSplitRecord;
use samling_proto::registry::v1::HomeType;
use sqlx::{Any, AnyConnection, Executor, Row};

type R<T> = Result<T, CompensationError>;

pub const DOCS: Docs<PriceSplitRecord> = Docs::new("price_splits", "price split");

pub async fn get<'e, E: Executor<'e, Database = Any>>(
    e: E,
    placement_id: &str,
) -> R<Option<PriceSplitRecord>> {
    Ok(DOCS.get(e, placement_id).await?)
}

/// Insert (`is_new`) or replace a placement's price split.
pub async fn save(conn: &mut AnyConnection, p: &PriceSplitRecord, is_new: bool) -> R<()> {
    let columns = [
        ("agency_id", Value::from(p.agency_id.as_str())),
        ("home_type", Value::from(p.home_type().as_str_name())),
        (
            "municipality_code",
            Value::from(p.municipality_code.as_str()),
        ),
    ];
    Ok(DOCS
        .save(conn, &p.placement_id, p, &columns, is_new)
        .await?)
}

/// Every recorded price (of one home type, or all), for the comparison.
pub async fn prices<'e, E: Executor<'e, Database = Any>>(
    e: E,
    home_type: HomeType,
) -> R<Vec<Price>> {
    let rows = if home_type == HomeType::Unspecified {
        sqlx::query("SELECT doc FROM price_splits ORDER BY id")
            .fetch_all(e)
            .await?
    } else {
        sqlx::query("SELECT doc FROM price_splits WHERE home_type = $1 ORDER BY id")
            .bind(home_type.as_str_name())
            .fetch_all(e)
            .await?
    };
    Ok(DOCS
        .from_rows(&rows)?
        .into_iter()
        .map(|p| Price {
            home_type: p.home_type(),
            agency_id: p.agency_id,
            split: p.split.unwrap_or_default(),
        })
        .collect())
}

/// A placement as compensation's read of the registry's feed knows it:
/// `Some(placing municipality code)` ('' when the event did not name it),
/// `None` when the feed has not shown it.
pub async fn placement_municipality<'e, E: Executor<'e, Database = Any>>(
    e: E,
    placement_id: &str,
) -> R<Option<String>> {
    let row = sqlx::query("SELECT municipality_code FROM placements WHERE placement_id = $1")
        .bind(placement_id)
        .fetch_optional(e)
        .await?;
    Ok(row.map(|r| r.try_get(0)).transpose()?)
}

/// Record the placing municipality the registry's event names.
pub async fn set_placement_municipality(
    conn: &mut AnyConnection,
    placement_id: &str,
    code: &str,
) -> R<()> {
    sqlx::query("UPDATE placements SET municipality_code = $2 WHERE placement_id = $1")
        .bind(placement_id)
        .bind(code)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
