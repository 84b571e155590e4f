//! Children: the row with its personnummer (duplicate lookups) and who
//! registered it.

use super::{Docs, after};
use crate::domain::RegistryError;
use samling_kit::paging::Page;
use samling_proto::registry::v1::Child;
use sqlx::{Any, AnyConnection, Executor};

type R<T> = Result<T, RegistryError>;

pub const DOCS: Docs<Child> = Docs::new("children", "child");

pub async fn get<'e, E: Executor<'e, Database = Any>>(e: E, id: &str) -> R<Option<Child>> {
    Ok(DOCS.get(e, id).await?)
}

/// The child, or "child <id> not found".
pub async fn must_get<'e, E: Executor<'e, Database = Any>>(e: E, id: &str) -> R<Child> {
    Ok(DOCS.must_get(e, id).await?)
}

/// Insert or update a child (`c.personnummer` is the canonical number).
pub async fn save(conn: &mut AnyConnection, c: &Child, is_new: bool) -> R<()> {
    let sql = if is_new {
        "INSERT INTO children (id, personnummer, placing_municipality, doc) VALUES ($1, $2, $3, $4)"
    } else {
        "UPDATE children SET personnummer = $2, placing_municipality = $3, doc = $4 WHERE id = $1"
    };
    sqlx::query(sql)
        .bind(&c.id)
        .bind(&c.personnummer)
        .bind(&c.placing_municipality_code)
        .bind(samling_kit::docstore::encode(c))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Note who registered a child (for [`super::placements::vouched_placing`]).
pub async fn set_registered_by(conn: &mut AnyConnection, child_id: &str, subject: &str) -> R<()> {
    sqlx::query("UPDATE children SET registered_by = $1 WHERE id = $2")
        .bind(subject)
        .bind(child_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Children registered with `personnummer` (canonical), any municipality:
/// the candidates of [`crate::domain::duplicates::same_child`].
pub async fn with_personnummer<'e, E: Executor<'e, Database = Any>>(
    e: E,
    personnummer: &str,
) -> R<Vec<Child>> {
    let rows = sqlx::query("SELECT doc FROM children WHERE personnummer = $1 ORDER BY id")
        .bind(personnummer)
        .fetch_all(e)
        .await?;
    Ok(DOCS.from_rows(&rows)?)
}

/// One page of children placed by `municipality` ("" for all), in id order.
pub async fn list<'e, E: Executor<'e, Database = Any>>(
    e: E,
    municipality: &str,
    page: &Page,
) -> R<Vec<Child>> {
    let rows = sqlx::query(
        "SELECT doc FROM children WHERE ($1 = '' OR placing_municipality = $1) AND id > $2 ORDER BY id LIMIT $3",
    )
    .bind(municipality)
    .bind(after(page))
    .bind(page.limit())
    .fetch_all(e)
    .await?;
    Ok(DOCS.from_rows(&rows)?)
}

/// Who registered a child ("" when unknown).
pub async fn registered_by<'e, E: Executor<'e, Database = Any>>(e: E, child_id: &str) -> R<String> {
    let row = sqlx::query("SELECT registered_by FROM children WHERE id = $1")
        .bind(child_id)
        .fetch_optional(e)
        .await?;
    Ok(match row {
        Some(r) => sqlx::Row::try_get(&r, 0)?,
        None => String::new(),
    })
}
