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
    Assignment, AssignmentState, Case, IvoComplaint, Meeting, Ombud, ReviewRequest, SurveyAgeBand,
    SurveyAnswerSet, SurveyPlacementForm, SurveyRound, SurveyVariant,
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

// ------------------------------------------------------------ user surveys
//
// ADR 0044: the invitations (child → round), the tokens (hash → round and
// variant) and the answers (round, variant, day) never reference each
// other.

pub const SURVEY_ROUNDS: Docs<SurveyRound> = Docs::new("survey_rounds", "survey round");
pub const SURVEY_ANSWERS: Docs<SurveyAnswerSet> = Docs::new("survey_answers", "survey answer");

pub async fn insert_survey_round(conn: &mut AnyConnection, r: &SurveyRound) -> R<()> {
    let start = r
        .period_start
        .as_ref()
        .map(|d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day))
        .unwrap_or_default();
    let cols = [("period_start", Value::from(start))];
    Ok(SURVEY_ROUNDS.insert(conn, &r.id, r, &cols).await?)
}

pub async fn survey_round<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id: &str,
) -> R<Option<SurveyRound>> {
    Ok(SURVEY_ROUNDS.get(e, id).await?)
}

/// The children placed now (their latest placement has not ended), to be
/// invited to a round.
pub async fn placed_children<'e, E: Executor<'e, Database = Any>>(e: E) -> R<Vec<String>> {
    let rows = sqlx::query("SELECT id FROM assignments WHERE active = 'yes' ORDER BY id")
        .fetch_all(e)
        .await?;
    rows.iter()
        .map(|r| Ok(r.try_get::<String, _>(0)?))
        .collect()
}

pub async fn insert_survey_invitation(
    conn: &mut AnyConnection,
    round_id: &str,
    child_id: &str,
) -> R<()> {
    sqlx::query(
        "INSERT INTO survey_invitations (round_id, child_id, token_shown) VALUES ($1, $2, '')",
    )
    .bind(round_id)
    .bind(child_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// The child's invitation to a round: `Some(token_shown)` when invited.
pub async fn survey_invitation<'e, E: Executor<'e, Database = Any>>(
    e: E,
    round_id: &str,
    child_id: &str,
) -> R<Option<bool>> {
    let row = sqlx::query(
        "SELECT token_shown FROM survey_invitations WHERE round_id = $1 AND child_id = $2",
    )
    .bind(round_id)
    .bind(child_id)
    .fetch_optional(e)
    .await?;
    row.map(|r| Ok(r.try_get::<String, _>(0)? == "yes"))
        .transpose()
}

/// The rounds that invited the child, the latest first.
pub async fn survey_rounds_of_child<'e, E: Executor<'e, Database = Any>>(
    e: E,
    child_id: &str,
) -> R<Vec<SurveyRound>> {
    let rows = sqlx::query(
        "SELECT r.doc FROM survey_rounds r JOIN survey_invitations i ON i.round_id = r.id \
         WHERE i.child_id = $1 ORDER BY r.period_start DESC, r.id DESC",
    )
    .bind(child_id)
    .fetch_all(e)
    .await?;
    Ok(SURVEY_ROUNDS.from_rows(&rows)?)
}

/// Mark the child's token shown; false when it already was (a race lost).
pub async fn mark_survey_token_shown(
    conn: &mut AnyConnection,
    round_id: &str,
    child_id: &str,
) -> R<bool> {
    let done = sqlx::query(
        "UPDATE survey_invitations SET token_shown = 'yes' \
         WHERE round_id = $1 AND child_id = $2 AND token_shown = ''",
    )
    .bind(round_id)
    .bind(child_id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

fn band_name(v: &SurveyVariant) -> &'static str {
    SurveyAgeBand::try_from(v.age_band)
        .unwrap_or_default()
        .as_str_name()
}

fn form_name(v: &SurveyVariant) -> &'static str {
    SurveyPlacementForm::try_from(v.placement_form)
        .unwrap_or_default()
        .as_str_name()
}

/// Keep a token's hash with its round and variant (no child, no time).
pub async fn insert_survey_token(
    conn: &mut AnyConnection,
    token_hash: &str,
    round_id: &str,
    region: &str,
    v: &SurveyVariant,
) -> R<()> {
    sqlx::query(
        "INSERT INTO survey_tokens (token_hash, round_id, region, age_band, placement_form, easy_read, used) \
         VALUES ($1, $2, $3, $4, $5, $6, '')",
    )
    .bind(token_hash)
    .bind(round_id)
    .bind(region)
    .bind(band_name(v))
    .bind(form_name(v))
    .bind(if v.easy_read { "yes" } else { "" })
    .execute(conn)
    .await?;
    Ok(())
}

/// A token as kept: its round, region, variant and whether it was used.
#[derive(Debug, Clone, PartialEq)]
pub struct SurveyToken {
    pub round_id: String,
    pub region: String,
    pub variant: SurveyVariant,
    pub used: bool,
}

pub async fn survey_token<'e, E: Executor<'e, Database = Any>>(
    e: E,
    token_hash: &str,
) -> R<Option<SurveyToken>> {
    let row = sqlx::query(
        "SELECT round_id, region, age_band, placement_form, easy_read, used FROM survey_tokens WHERE token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(e)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let band: String = r.try_get(2)?;
    let form: String = r.try_get(3)?;
    Ok(Some(SurveyToken {
        round_id: r.try_get(0)?,
        region: r.try_get(1)?,
        variant: SurveyVariant {
            age_band: SurveyAgeBand::from_str_name(&band).unwrap_or_default() as i32,
            placement_form: SurveyPlacementForm::from_str_name(&form).unwrap_or_default() as i32,
            easy_read: r.try_get::<String, _>(4)? == "yes",
        },
        used: r.try_get::<String, _>(5)? == "yes",
    }))
}

/// Burn a token; false when it was already used (a race lost).
pub async fn use_survey_token(conn: &mut AnyConnection, token_hash: &str) -> R<bool> {
    let done =
        sqlx::query("UPDATE survey_tokens SET used = 'yes' WHERE token_hash = $1 AND used = ''")
            .bind(token_hash)
            .execute(conn)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// Keep an answer set (no child, no token, the day only).
pub async fn insert_survey_answers(conn: &mut AnyConnection, a: &SurveyAnswerSet) -> R<()> {
    let day = a
        .answered_on
        .as_ref()
        .map(|d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day))
        .unwrap_or_default();
    let v = a.variant.unwrap_or_default();
    let cols = [
        ("round_id", Value::from(a.round_id.as_str())),
        ("region", Value::from(a.region.as_str())),
        ("placement_form", Value::from(form_name(&v))),
        ("answered_on", Value::from(day)),
    ];
    Ok(SURVEY_ANSWERS.insert(conn, &a.id, a, &cols).await?)
}

/// Every answer set of a round (for the aggregates; never answered as such).
pub async fn survey_answers_of_round<'e, E: Executor<'e, Database = Any>>(
    e: E,
    round_id: &str,
) -> R<Vec<SurveyAnswerSet>> {
    let rows = sqlx::query("SELECT doc FROM survey_answers WHERE round_id = $1 ORDER BY id")
        .bind(round_id)
        .fetch_all(e)
        .await?;
    Ok(SURVEY_ANSWERS.from_rows(&rows)?)
}

/// How many children a round invited.
pub async fn survey_invited_count<'e, E: Executor<'e, Database = Any>>(
    e: E,
    round_id: &str,
) -> R<i64> {
    let row = sqlx::query("SELECT COUNT(*) FROM survey_invitations WHERE round_id = $1")
        .bind(round_id)
        .fetch_one(e)
        .await?;
    Ok(row.try_get::<i64, _>(0)?)
}

// ------------------------------------------------------ rights follow-up

mod follow_up;
pub use follow_up::*;
