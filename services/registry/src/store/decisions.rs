//! Unexecuted decisions (ej verkställda beslut).

use super::{Docs, Value, after};
use crate::domain::RegistryError;
use chrono::NaiveDate;
use samling_kit::dates;
use samling_kit::paging::Page;
use samling_proto::registry::v1::UnexecutedDecision;
use sqlx::{Any, AnyConnection, Executor};

type R<T> = Result<T, RegistryError>;

pub const DOCS: Docs<UnexecutedDecision> = Docs::new("unexecuted_decisions", "decision");

/// The decision, or "decision <id> not found".
pub async fn must_get<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id: &str,
) -> R<UnexecutedDecision> {
    Ok(DOCS.must_get(e, id).await?)
}

/// Save a decision; `executed_on` is '' while it is open
/// ([`crate::domain::decisions::is_open`]).
pub async fn save(conn: &mut AnyConnection, d: &UnexecutedDecision, is_new: bool) -> R<()> {
    let executed = dates::opt_from_proto("executed_on", d.executed_on.as_ref())?
        .map(dates::date_text)
        .unwrap_or_default();
    let decided = dates::from_proto("decision_date", d.decision_date.as_ref())?;
    let columns = [
        (
            "municipality_code",
            Value::from(d.municipality_code.as_str()),
        ),
        ("decision_date", Value::Text(dates::date_text(decided))),
        ("executed_on", Value::Text(executed)),
    ];
    Ok(DOCS.save(conn, &d.id, d, &columns, is_new).await?)
}

/// One page of `municipality`'s decisions ("" for all), only open ones
/// when `open_only`, in id order.
pub async fn list<'e, E: Executor<'e, Database = Any>>(
    e: E,
    municipality: &str,
    open_only: bool,
    page: &Page,
) -> R<Vec<UnexecutedDecision>> {
    let rows = sqlx::query(
        "SELECT doc FROM unexecuted_decisions WHERE ($1 = '' OR municipality_code = $1) AND ($2 = 0 OR executed_on = '') \
         AND id > $3 ORDER BY id LIMIT $4",
    )
    .bind(municipality)
    .bind(i64::from(open_only))
    .bind(after(page))
    .bind(page.limit())
    .fetch_all(e)
    .await?;
    Ok(DOCS.from_rows(&rows)?)
}

/// Every decision of `municipality` ("" for all) made on or before `by`
/// (a quarterly report's candidates).
pub async fn decided_by<'e, E: Executor<'e, Database = Any>>(
    e: E,
    municipality: &str,
    by: NaiveDate,
) -> R<Vec<UnexecutedDecision>> {
    let rows = sqlx::query(
        "SELECT doc FROM unexecuted_decisions WHERE ($1 = '' OR municipality_code = $1) AND decision_date <= $2",
    )
    .bind(municipality)
    .bind(dates::date_text(by))
    .fetch_all(e)
    .await?;
    Ok(DOCS.from_rows(&rows)?)
}
