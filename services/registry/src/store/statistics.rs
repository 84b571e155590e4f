//! What the dashboards' figures are counted from (ADR 0050): every home,
//! placement and unexecuted decision of the register, whole. The counting
//! is the service's (`service::statistics`); the area and period narrow it
//! there, so the SQL stays one plain read per table.

use super::{decisions, homes, placements};
use crate::domain::RegistryError;
use samling_proto::registry::v1::{Home, Placement, UnexecutedDecision};
use sqlx::{Any, Executor};

type R<T> = Result<T, RegistryError>;

pub async fn homes<'e, E: Executor<'e, Database = Any>>(e: E) -> R<Vec<Home>> {
    let rows = sqlx::query("SELECT doc FROM homes ORDER BY id")
        .fetch_all(e)
        .await?;
    Ok(homes::DOCS.from_rows(&rows)?)
}

pub async fn placements<'e, E: Executor<'e, Database = Any>>(e: E) -> R<Vec<Placement>> {
    let rows = sqlx::query("SELECT doc FROM placements ORDER BY id")
        .fetch_all(e)
        .await?;
    Ok(placements::DOCS.from_rows(&rows)?)
}

pub async fn decisions<'e, E: Executor<'e, Database = Any>>(e: E) -> R<Vec<UnexecutedDecision>> {
    let rows = sqlx::query("SELECT doc FROM unexecuted_decisions ORDER BY id")
        .fetch_all(e)
        .await?;
    Ok(decisions::DOCS.from_rows(&rows)?)
}
