//! Agencies (konsulentverksamheter).

use super::{Docs, Value, after};
use crate::domain::RegistryError;
use samling_kit::paging::Page;
use samling_proto::registry::v1::Agency;
use sqlx::{Any, AnyConnection, Executor};

type R<T> = Result<T, RegistryError>;

pub const DOCS: Docs<Agency> = Docs::new("agencies", "agency");

pub async fn get<'e, E: Executor<'e, Database = Any>>(e: E, id: &str) -> R<Option<Agency>> {
    Ok(DOCS.get(e, id).await?)
}

/// The agency, or "agency <id> not found".
pub async fn must_get<'e, E: Executor<'e, Database = Any>>(e: E, id: &str) -> R<Agency> {
    Ok(DOCS.must_get(e, id).await?)
}

pub async fn save(conn: &mut AnyConnection, a: &Agency, is_new: bool) -> R<()> {
    let columns = [("org_number", Value::from(a.org_number.as_str()))];
    Ok(DOCS.save(conn, &a.id, a, &columns, is_new).await?)
}

/// One page of agencies in id order.
pub async fn list<'e, E: Executor<'e, Database = Any>>(e: E, page: &Page) -> R<Vec<Agency>> {
    let rows = sqlx::query("SELECT doc FROM agencies WHERE id > $1 ORDER BY id LIMIT $2")
        .bind(after(page))
        .bind(page.limit())
        .fetch_all(e)
        .await?;
    Ok(DOCS.from_rows(&rows)?)
}
