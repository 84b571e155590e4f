//! Cases (one per prospective home) through the pipeline.

use super::{Docs, Filter, Value};
use crate::domain::RecruitmentError;
use crate::domain::pipeline::{stage_name, track_name};
use samling_kit::dates;
use samling_kit::paging::Page;
use samling_proto::common::v1::Date;
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
        (
            "first_response_due",
            Value::from(date_text(c.first_response_due_on.as_ref()).as_str()),
        ),
        (
            "first_responded_on",
            Value::from(date_text(c.first_responded_on.as_ref()).as_str()),
        ),
        (
            "stage_due",
            Value::from(date_text(c.stage_due_on.as_ref()).as_str()),
        ),
    ];
    Ok(DOCS.save(conn, &c.id, c, &columns, is_new).await?)
}

/// The `status` column's value.
pub fn status_name(s: CaseStatus) -> &'static str {
    s.as_str_name()
}

/// A date column's text ('' for none).
fn date_text(d: Option<&Date>) -> String {
    dates::opt_from_proto("", d)
        .ok()
        .flatten()
        .map(dates::date_text)
        .unwrap_or_default()
}

/// What a list of cases is filtered on (empty / unspecified = any).
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    /// Any of these municipalities (empty = all).
    pub municipalities: Vec<String>,
    pub track: Option<Track>,
    pub stage: Option<Stage>,
    pub status: Option<CaseStatus>,
    pub owner: String,
    pub campaign_id: String,
    /// Only open cases with the first response or the stage deadline
    /// before this day (ISO text), i.e. overdue on it.
    pub overdue_on: Option<String>,
    /// Only open cases whose first response is not given and was due before
    /// this day.
    pub first_response_overdue_on: Option<String>,
}

/// One page of cases matching `f`, in id order.
pub async fn list<'e, E: Executor<'e, Database = Any>>(
    e: E,
    f: &CaseFilter,
    page: &Page,
) -> R<Vec<Case>> {
    let mut q = Filter::new("SELECT doc FROM cases WHERE 1 = 1");
    q.and_any("municipality_code = ?", &f.municipalities);
    if let Some(t) = f.track {
        q.and("track = ?", track_name(t));
    }
    if let Some(s) = f.stage {
        q.and("stage = ?", stage_name(s));
    }
    if let Some(s) = f.status {
        q.and("status = ?", status_name(s));
    }
    if !f.owner.is_empty() {
        q.and("owner = ?", &f.owner);
    }
    if !f.campaign_id.is_empty() {
        q.and("campaign_id = ?", &f.campaign_id);
    }
    let open = status_name(CaseStatus::Open);
    if let Some(day) = &f.first_response_overdue_on {
        q.and("status = ?", open);
        q.raw(" AND first_responded_on = ''");
        q.and("first_response_due <> '' AND first_response_due < ?", day);
    }
    if let Some(day) = &f.overdue_on {
        q.and("status = ?", open);
        q.and(
            "((first_responded_on = '' AND first_response_due <> '' AND first_response_due < ?) \
             OR (stage_due <> '' AND stage_due < ? AND NOT (stage = 'inquiry' AND first_responded_on <> '')))",
            day,
        );
    }
    if let Some(after) = &page.after {
        q.and("id > ?", after);
    }
    q.raw(&format!(" ORDER BY id LIMIT {}", page.limit()));
    Ok(DOCS.from_rows(&q.fetch_all(e).await?)?)
}
