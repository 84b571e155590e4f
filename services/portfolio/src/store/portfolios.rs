//! Portfolios, one per child (keyed by the registry's child id).

use super::{Docs, Value};
use crate::domain::PortfolioError;
use crate::domain::retention::Stage;
use samling_proto::portfolio::v1::Portfolio;
use sqlx::{Any, AnyConnection, Executor, Row};

type R<T> = Result<T, PortfolioError>;

pub const DOCS: Docs<Portfolio> = Docs::new("portfolios", "portfolio");

pub async fn get<'e, E: Executor<'e, Database = Any>>(
    e: E,
    child_id: &str,
) -> R<Option<Portfolio>> {
    Ok(DOCS.get(e, child_id).await?)
}

/// Insert (`is_new`) or replace a portfolio and its filter columns (the
/// placing municipality, the retention stage).
pub async fn save(conn: &mut AnyConnection, p: &Portfolio, is_new: bool) -> R<()> {
    let columns = [
        (
            "placing_municipality_code",
            Value::from(p.placing_municipality_code.as_str()),
        ),
        ("retention_stage", Value::from(Stage::of(p).as_str())),
    ];
    Ok(DOCS.save(conn, &p.child_id, p, &columns, is_new).await?)
}

/// Up to `limit` portfolios not archived, by child id after `after` (the
/// retention job's scan; archived is final).
pub async fn not_archived_after<'e, E: Executor<'e, Database = Any>>(
    e: E,
    after: &str,
    limit: i64,
) -> R<Vec<Portfolio>> {
    let rows = sqlx::query(
        "SELECT doc FROM portfolios WHERE retention_stage <> 'archived' AND id > $1 ORDER BY id LIMIT $2",
    )
    .bind(after)
    .bind(limit)
    .fetch_all(e)
    .await?;
    Ok(DOCS.from_rows(&rows)?)
}

/// How many portfolios are in each stage (as stored).
pub async fn count_by_stage<'e, E: Executor<'e, Database = Any>>(e: E) -> R<Vec<(Stage, i64)>> {
    let rows =
        sqlx::query("SELECT retention_stage, COUNT(*) FROM portfolios GROUP BY retention_stage")
            .fetch_all(e)
            .await?;
    let mut out = Vec::new();
    for r in rows {
        let stage: String = r.try_get(0)?;
        let n: i64 = r.try_get(1)?;
        out.push((Stage::parse(&stage).unwrap_or(Stage::Active), n));
    }
    Ok(out)
}

/// Replace the portfolio `p` (now in its new stage) only if its stored
/// stage is still `from`: of two runs of the job at once (replicas), one
/// changes it. Returns whether this one did.
pub async fn save_if_stage(conn: &mut AnyConnection, p: &Portfolio, from: Stage) -> R<bool> {
    let done = sqlx::query(
        "UPDATE portfolios SET doc = $2, placing_municipality_code = $3, retention_stage = $4 WHERE id = $1 AND retention_stage = $5",
    )
    .bind(&p.child_id)
    .bind(samling_kit::docstore::encode(p))
    .bind(&p.placing_municipality_code)
    .bind(Stage::of(p).as_str())
    .bind(from.as_str())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
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
