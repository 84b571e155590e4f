//! Cases (one per prospective home) through the pipeline.

use super::{Docs, Value};
use crate::domain::RecruitmentError;
use crate::domain::pipeline::{stage_name, track_name};
use samling_proto::recruitment::v1::{Case, CaseStatus, Stage, Track};
use sqlx::{Any, AnyConnection, Executor};

type R<T> = Result<T, RecruitmentError>;

pub const DOCS: Docs<Case> = Docs::new("cases", "case");

pub async fn get<'e, E: Executor<'e, Database = Any>>(e: E, id: &str) -> R<Option<Case>> {
    Ok(DOCS.get(e, id).await?)
}

/// The case, or "case <id> not found".
pub async fn must_get<'e, E: Executor<'e, Database = Any>>(e: E, id: &str) -> R<Case> {
    Ok(DOCS.must_get(e, id).await?)
}

/// Insert (`is_new`) or replace a case and its filter columns.
pub async fn save(conn: &mut AnyConnection, c: &Case, is_new: bool) -> R<()> {
    let received = c
        .received_on
        .as_ref()
        .map(|d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day))
        .unwrap_or_default();
    let columns = [
        (
            "municipality_code",
            Value::from(c.municipality_code.as_str()),
        ),
        (
            "track",
            Value::from(track_name(Track::try_from(c.track).unwrap_or_default())),
        ),
        (
            "stage",
            Value::from(stage_name(Stage::try_from(c.stage).unwrap_or_default())),
        ),
        (
            "status",
            Value::from(status_name(
                CaseStatus::try_from(c.status).unwrap_or_default(),
            )),
        ),
        ("campaign_id", Value::from(c.campaign_id.as_str())),
        ("owner", Value::from(c.owner.as_str())),
        ("received_on", Value::from(received.as_str())),
        ("updated_at", Value::from(c.updated_at.as_str())),
    ];
    Ok(DOCS.save(conn, &c.id, c, &columns, is_new).await?)
}

/// The `status` column's value.
pub fn status_name(s: CaseStatus) -> &'static str {
    s.as_str_name()
}
