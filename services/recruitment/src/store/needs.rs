//! Placement needs (the network-home track's start) and the alternatives
//! looked into (kept on the need).

use super::{Docs, Value};
use crate::domain::RecruitmentError;
use samling_kit::paging::Page;
use samling_proto::recruitment::v1::{PlacementNeed, PlacementNeedStatus};
use sqlx::{Any, AnyConnection, Executor};

type R<T> = Result<T, RecruitmentError>;

pub const DOCS: Docs<PlacementNeed> = Docs::new("placement_needs", "placement need");

pub async fn get<'e, E: Executor<'e, Database = Any>>(e: E, id: &str) -> R<Option<PlacementNeed>> {
    Ok(DOCS.get(e, id).await?)
}

pub async fn save(conn: &mut AnyConnection, n: &PlacementNeed, is_new: bool) -> R<()> {
    let status = PlacementNeedStatus::try_from(n.status).unwrap_or_default();
    let columns = [
        (
            "municipality_code",
            Value::from(n.municipality_code.as_str()),
        ),
        ("status", Value::from(status.as_str_name())),
    ];
    Ok(DOCS.save(conn, &n.id, n, &columns, is_new).await?)
}

/// One page of needs of `municipality` ("" for all), open ones only when
/// `open_only`, in id order.
pub async fn list<'e, E: Executor<'e, Database = Any>>(
    e: E,
    municipality: &str,
    open_only: bool,
    page: &Page,
) -> R<Vec<PlacementNeed>> {
    let status = if open_only {
        PlacementNeedStatus::Open.as_str_name()
    } else {
        ""
    };
    let rows = sqlx::query(
        "SELECT doc FROM placement_needs WHERE ($1 = '' OR municipality_code = $1) \
         AND ($2 = '' OR status = $2) AND id > $3 ORDER BY id LIMIT $4",
    )
    .bind(municipality)
    .bind(status)
    .bind(super::after(page))
    .bind(page.limit())
    .fetch_all(e)
    .await?;
    Ok(DOCS.from_rows(&rows)?)
}
