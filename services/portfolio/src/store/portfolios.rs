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
