//! HVB and other units.

use super::{Docs, Value, after, like_escape};
use crate::domain::RegistryError;
use samling_kit::paging::Page;
use samling_proto::registry::v1::Unit;
use sqlx::{Any, AnyConnection, Executor};

type R<T> = Result<T, RegistryError>;

pub const DOCS: Docs<Unit> = Docs::new("units", "unit");

pub async fn get<'e, E: Executor<'e, Database = Any>>(e: E, id: &str) -> R<Option<Unit>> {
    Ok(DOCS.get(e, id).await?)
}

/// The unit, or "unit <id> not found".
pub async fn must_get<'e, E: Executor<'e, Database = Any>>(e: E, id: &str) -> R<Unit> {
    Ok(DOCS.must_get(e, id).await?)
}

/// The `tags` column: `|<orientation>|…|`.
fn tags(u: &Unit) -> String {
    u.orientation
        .iter()
        .map(|o| format!("|{o}"))
        .collect::<String>()
        + "|"
}

pub async fn save(conn: &mut AnyConnection, u: &Unit, is_new: bool) -> R<()> {
    let columns = [
        (
            "municipality_code",
            Value::from(u.municipality_code.as_str()),
        ),
        ("vacancies", Value::Int(i64::from(u.vacancies))),
        ("tags", Value::Text(tags(u))),
    ];
    Ok(DOCS.save(conn, &u.id, u, &columns, is_new).await?)
}

/// One page of units in `municipality` ("" for all), with vacancies when
/// `with_vacancy_only`, of `orientation` (a normalised tag, "" for any), in
/// id order.
pub async fn list<'e, E: Executor<'e, Database = Any>>(
    e: E,
    municipality: &str,
    with_vacancy_only: bool,
    orientation: &str,
    page: &Page,
) -> R<Vec<Unit>> {
    let pattern = if orientation.is_empty() {
        String::new()
    } else {
        format!("%|{}|%", like_escape(orientation))
    };
    let rows = sqlx::query(
        "SELECT doc FROM units WHERE ($1 = '' OR municipality_code = $1) AND ($2 = 0 OR vacancies > 0) \
         AND ($3 = '' OR tags LIKE $3 ESCAPE '\\') AND id > $4 ORDER BY id LIMIT $5",
    )
    .bind(municipality)
    .bind(i64::from(with_vacancy_only))
    .bind(pattern)
    .bind(after(page))
    .bind(page.limit())
    .fetch_all(e)
    .await?;
    Ok(DOCS.from_rows(&rows)?)
}
