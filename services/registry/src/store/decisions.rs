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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::decisions::is_open;
    use crate::store::testing::{ids, stores};

    #[tokio::test]
    async fn sql_and_domain_agree_on_open_decisions() {
        let decided = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        let all: Vec<UnexecutedDecision> = (0..8)
            .map(|i| UnexecutedDecision {
                id: format!("decision-{i}"),
                municipality_code: ["0180", "1480"][i % 2].into(),
                decision_date: Some(dates::to_proto(decided)),
                executed_on: (i % 3 == 0).then(|| dates::to_proto(decided)),
                ..Default::default()
            })
            .collect();
        for (b, store, _guard) in stores().await {
            let mut conn = store.write.acquire().await.unwrap();
            for d in &all {
                save(&mut conn, d, true).await.unwrap();
            }
            drop(conn);
            let page = Page::first(500);
            for (m, open_only) in [("", true), ("", false), ("0180", true)] {
                let found = list(&store.read, m, open_only, &page).await.unwrap();
                let want = ids(all
                    .iter()
                    .filter(|d| {
                        (!open_only || is_open(d)) && (m.is_empty() || d.municipality_code == m)
                    })
                    .map(|d| &d.id));
                assert_eq!(
                    ids(found.iter().map(|d| &d.id)),
                    want,
                    "{b}: {m:?} open_only={open_only}"
                );
            }
            store.close().await;
        }
    }
}
