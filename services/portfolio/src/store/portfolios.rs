//! Portfolios, one per child (keyed by the registry's child id).

use super::{Docs, Value};
use crate::domain::PortfolioError;
use samling_proto::portfolio::v1::Portfolio;
use sqlx::{Any, AnyConnection, Executor};

type R<T> = Result<T, PortfolioError>;

pub const DOCS: Docs<Portfolio> = Docs::new("portfolios", "portfolio");

pub async fn get<'e, E: Executor<'e, Database = Any>>(
    e: E,
    child_id: &str,
) -> R<Option<Portfolio>> {
    Ok(DOCS.get(e, child_id).await?)
}

/// Insert (`is_new`) or replace a portfolio and its filter column.
pub async fn save(conn: &mut AnyConnection, p: &Portfolio, is_new: bool) -> R<()> {
    let columns = [(
        "placing_municipality_code",
        Value::from(p.placing_municipality_code.as_str()),
    )];
    Ok(DOCS.save(conn, &p.child_id, p, &columns, is_new).await?)
}

/// Up to `limit` portfolios after the child id `after` (id order), of one
/// placing municipality when given: the deadline run and the worklists
/// walk the region's portfolios with it.
pub async fn page<'e, E: Executor<'e, Database = Any>>(
    e: E,
    municipality: Option<&str>,
    after: &str,
    limit: i64,
) -> R<Vec<Portfolio>> {
    let rows = match municipality {
        Some(m) => {
            sqlx::query(
                "SELECT doc FROM portfolios WHERE placing_municipality_code = $1 AND id > $2 ORDER BY id LIMIT $3",
            )
            .bind(m)
            .bind(after)
            .bind(limit)
            .fetch_all(e)
            .await?
        }
        None => {
            sqlx::query("SELECT doc FROM portfolios WHERE id > $1 ORDER BY id LIMIT $2")
                .bind(after)
                .bind(limit)
                .fetch_all(e)
                .await?
        }
    };
    Ok(DOCS.from_rows(&rows)?)
}
