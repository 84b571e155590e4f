//! What homes were told of decisions about them (ADR 0026).

use super::{Docs, Value, after};
use crate::domain::RegistryError;
use samling_kit::paging::Page;
use samling_proto::registry::v1::HomeNotice;
use sqlx::{Any, AnyConnection, Executor};

type R<T> = Result<T, RegistryError>;

pub const DOCS: Docs<HomeNotice> = Docs::new("home_notices", "home notice");

pub async fn insert(conn: &mut AnyConnection, n: &HomeNotice) -> R<()> {
    let columns = [
        ("home_id", Value::from(n.home_id.as_str())),
        (
            "municipality_code",
            Value::from(n.municipality_code.as_str()),
        ),
    ];
    Ok(DOCS.save(conn, &n.id, n, &columns, true).await?)
}

/// One page of a home's notices, those of `municipality` only when it is
/// not empty, in id order.
pub async fn list<'e, E: Executor<'e, Database = Any>>(
    e: E,
    home_id: &str,
    municipality: &str,
    page: &Page,
) -> R<Vec<HomeNotice>> {
    let rows = sqlx::query(
        "SELECT doc FROM home_notices WHERE home_id = $1 AND ($2 = '' OR municipality_code = $2) \
         AND id > $3 ORDER BY id LIMIT $4",
    )
    .bind(home_id)
    .bind(municipality)
    .bind(after(page))
    .bind(page.limit())
    .fetch_all(e)
    .await?;
    Ok(DOCS.from_rows(&rows)?)
}
