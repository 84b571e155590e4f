//! SQL for ombud (portable across SQLite and PostgreSQL via `sqlx::Any`):
//! records kept whole as `doc` (kit's [`samling_kit::docstore`]) with their
//! filter columns. Functions take any executor: the read pool, or a write
//! transaction's connection.

use crate::domain::OmbudError;
use samling_kit::docstore::{Docs, Filter, Value};
use samling_kit::error::KitError;
use samling_kit::paging::Page;
use samling_proto::common::v1::PageResponse;
use samling_proto::ombud::v1::{
    Assignment, AssignmentState, Case, IvoComplaint, Meeting, Ombud, ReviewRequest,
};
use sqlx::{Any, AnyConnection, Executor, Row};

type R<T> = Result<T, OmbudError>;

/// Store faults reach the caller as kit's database error.
impl From<sqlx::Error> for OmbudError {
    fn from(e: sqlx::Error) -> Self {
        OmbudError::Kit(KitError::Database(e))
    }
}

pub const OMBUDS: Docs<Ombud> = Docs::new("ombuds", "ombud");
pub const ASSIGNMENTS: Docs<Assignment> = Docs::new("assignments", "assignment");
pub const CASES: Docs<Case> = Docs::new("cases", "case");
pub const REVIEWS: Docs<ReviewRequest> = Docs::new("review_requests", "review request");
pub const COMPLAINTS: Docs<IvoComplaint> = Docs::new("complaints", "complaint");

/// One page of `docs` matching `f` (built on `SELECT doc, id FROM t WHERE …`),
/// in id order.
async fn page_of<'e, M, E>(
    e: E,
    docs: &Docs<M>,
    mut f: Filter,
    page: &Page,
) -> R<(Vec<M>, PageResponse)>
where
    M: prost::Message + Default,
    E: Executor<'e, Database = Any>,
{
    if let Some(after) = &page.after {
        f.and("id > ?", after);
    }
    f.raw(&format!(" ORDER BY id LIMIT {}", page.limit()));
    let rows = f.fetch_all(e).await?;
    let items = rows
        .iter()
        .map(|r| Ok((docs.from_row(r, 0)?, r.try_get::<String, _>(1)?)))
        .collect::<R<Vec<(M, String)>>>()?;
    let (items, resp) = page.finish(items, |(_, id)| id.clone());
    Ok((items.into_iter().map(|(m, _)| m).collect(), resp))
}

fn select(table: &str) -> Filter {
    Filter::new(&format!("SELECT doc, id FROM {table} WHERE 1 = 1"))
}

// ------------------------------------------------------------------ ombuds

pub async fn save_ombud(conn: &mut AnyConnection, o: &Ombud, is_new: bool) -> R<()> {
    let cols = [("registered_at", Value::from(o.registered_at.as_str()))];
    Ok(OMBUDS.save(conn, &o.subject, o, &cols, is_new).await?)
}

pub async fn all_ombuds<'e, E: Executor<'e, Database = Any>>(e: E) -> R<Vec<Ombud>> {
    let rows = sqlx::query("SELECT doc FROM ombuds ORDER BY registered_at, id")
        .fetch_all(e)
        .await?;
    Ok(OMBUDS.from_rows(&rows)?)
}

pub async fn list_ombuds<'e, E: Executor<'e, Database = Any>>(
    e: E,
    page: &Page,
) -> R<(Vec<Ombud>, PageResponse)> {
    page_of(e, &OMBUDS, select("ombuds"), page).await
}

/// Active children per ombud (assigned, placement not ended).
pub async fn workloads<'e, E: Executor<'e, Database = Any>>(e: E) -> R<Vec<(String, i64)>> {
    let rows = sqlx::query(
        "SELECT ombud_subject, COUNT(*) FROM assignments WHERE state = $1 AND active = 'yes' GROUP BY ombud_subject",
    )
    .bind(AssignmentState::Assigned.as_str_name())
    .fetch_all(e)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get::<String, _>(0)?, r.try_get::<i64, _>(1)?)))
        .collect()
}

// ------------------------------------------------------------- assignments

pub async fn save_assignment(conn: &mut AnyConnection, a: &Assignment, is_new: bool) -> R<()> {
    let state = AssignmentState::try_from(a.state).unwrap_or_default();
    let active = if a.placement_ended_on.is_none() {
        "yes"
    } else {
        ""
    };
    let cols = [
        ("state", Value::from(state.as_str_name())),
        ("ombud_subject", Value::from(a.ombud_subject.as_str())),
        ("active", Value::from(active)),
        ("placed_at", Value::from(a.placed_at.as_str())),
    ];
    Ok(ASSIGNMENTS
        .save(conn, &a.child_id, a, &cols, is_new)
        .await?)
}

pub async fn assignment<'e, E: Executor<'e, Database = Any>>(
    e: E,
    child_id: &str,
) -> R<Option<Assignment>> {
    Ok(ASSIGNMENTS.get(e, child_id).await?)
}

/// The children waiting for an ombud, the longest waiting first.
pub async fn waiting<'e, E: Executor<'e, Database = Any>>(e: E) -> R<Vec<Assignment>> {
    let rows = sqlx::query("SELECT doc FROM assignments WHERE state = $1 ORDER BY placed_at, id")
        .bind(AssignmentState::Waiting.as_str_name())
        .fetch_all(e)
        .await?;
    Ok(ASSIGNMENTS.from_rows(&rows)?)
}

pub async fn list_waiting<'e, E: Executor<'e, Database = Any>>(
    e: E,
    page: &Page,
) -> R<(Vec<Assignment>, PageResponse)> {
    let mut f = select("assignments");
    f.and("state = ?", AssignmentState::Waiting.as_str_name());
    page_of(e, &ASSIGNMENTS, f, page).await
}

pub async fn list_of_ombud<'e, E: Executor<'e, Database = Any>>(
    e: E,
    subject: &str,
    page: &Page,
) -> R<(Vec<Assignment>, PageResponse)> {
    let mut f = select("assignments");
    f.and("state = ?", AssignmentState::Assigned.as_str_name());
    f.and("ombud_subject = ?", subject);
    page_of(e, &ASSIGNMENTS, f, page).await
}

// ------------------------------------------------------------------- cases

pub async fn save_case(conn: &mut AnyConnection, c: &Case, is_new: bool) -> R<()> {
    let cols = [("child_id", Value::from(c.child_id.as_str()))];
    Ok(CASES.save(conn, &c.id, c, &cols, is_new).await?)
}

pub async fn case<'e, E: Executor<'e, Database = Any>>(e: E, id: &str) -> R<Option<Case>> {
    Ok(CASES.get(e, id).await?)
}

pub async fn cases_of_child<'e, E: Executor<'e, Database = Any>>(
    e: E,
    child_id: &str,
    page: &Page,
) -> R<(Vec<Case>, PageResponse)> {
    let mut f = select("cases");
    f.and("child_id = ?", child_id);
    page_of(e, &CASES, f, page).await
}

/// The cases of the children assigned to `subject`.
pub async fn cases_of_ombud<'e, E: Executor<'e, Database = Any>>(
    e: E,
    subject: &str,
    page: &Page,
) -> R<(Vec<Case>, PageResponse)> {
    let mut f = select("cases");
    f.and(
        "child_id IN (SELECT id FROM assignments WHERE ombud_subject = ?)",
        subject,
    );
    page_of(e, &CASES, f, page).await
}

// --------------------------------------------------------- review requests

pub async fn save_review(conn: &mut AnyConnection, r: &ReviewRequest, is_new: bool) -> R<()> {
    let cols = [
        ("case_id", Value::from(r.case_id.as_str())),
        (
            "municipality_code",
            Value::from(r.municipality_code.as_str()),
        ),
    ];
    Ok(REVIEWS.save(conn, &r.id, r, &cols, is_new).await?)
}

pub async fn review<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id: &str,
) -> R<Option<ReviewRequest>> {
    Ok(REVIEWS.get(e, id).await?)
}

/// Review requests by case, municipality, or the cases of an ombud's
/// children ("" = any).
pub async fn list_reviews<'e, E: Executor<'e, Database = Any>>(
    e: E,
    case_id: &str,
    municipality_code: &str,
    ombud_subject: &str,
    page: &Page,
) -> R<(Vec<ReviewRequest>, PageResponse)> {
    let mut f = select("review_requests");
    if !case_id.is_empty() {
        f.and("case_id = ?", case_id);
    }
    if !municipality_code.is_empty() {
        f.and("municipality_code = ?", municipality_code);
    }
    if !ombud_subject.is_empty() {
        f.and(
            "case_id IN (SELECT c.id FROM cases c JOIN assignments a ON a.id = c.child_id WHERE a.ombud_subject = ?)",
            ombud_subject,
        );
    }
    page_of(e, &REVIEWS, f, page).await
}

/// Every review request of a case (for closing).
pub async fn reviews_of_case<'e, E: Executor<'e, Database = Any>>(
    e: E,
    case_id: &str,
) -> R<Vec<ReviewRequest>> {
    let rows = sqlx::query("SELECT doc FROM review_requests WHERE case_id = $1 ORDER BY id")
        .bind(case_id)
        .fetch_all(e)
        .await?;
    Ok(REVIEWS.from_rows(&rows)?)
}

// -------------------------------------------------------------- complaints

pub async fn insert_complaint(conn: &mut AnyConnection, c: &IvoComplaint) -> R<()> {
    let cols = [(
        "review_request_id",
        Value::from(c.review_request_id.as_str()),
    )];
    Ok(COMPLAINTS.insert(conn, &c.id, c, &cols).await?)
}

pub async fn complaint<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id: &str,
) -> R<Option<IvoComplaint>> {
    Ok(COMPLAINTS.get(e, id).await?)
}

// ---------------------------------------------------------------- meetings

pub const MEETINGS: Docs<Meeting> = Docs::new("meetings", "meeting");

pub async fn save_meeting(conn: &mut AnyConnection, m: &Meeting, is_new: bool) -> R<()> {
    let cols = [("child_id", Value::from(m.child_id.as_str()))];
    Ok(MEETINGS.save(conn, &m.id, m, &cols, is_new).await?)
}

pub async fn meeting<'e, E: Executor<'e, Database = Any>>(e: E, id: &str) -> R<Option<Meeting>> {
    Ok(MEETINGS.get(e, id).await?)
}

pub async fn meetings_of_child<'e, E: Executor<'e, Database = Any>>(
    e: E,
    child_id: &str,
    page: &Page,
) -> R<(Vec<Meeting>, PageResponse)> {
    let mut f = select("meetings");
    f.and("child_id = ?", child_id);
    page_of(e, &MEETINGS, f, page).await
}

// ------------------------------------------------------ rights follow-up

mod follow_up;
pub use follow_up::*;
