//! Mentor families and their assignments (kept on the family; the
//! `mentor_assignments` rows answer "who mentors this home now").

use super::{Docs, Value};
use crate::domain::RecruitmentError;
use samling_kit::paging::Page;
use samling_proto::recruitment::v1::MentorFamily;
use sqlx::{Any, AnyConnection, Executor, Row};

type R<T> = Result<T, RecruitmentError>;

pub const DOCS: Docs<MentorFamily> = Docs::new("mentor_families", "mentor family");

pub async fn get<'e, E: Executor<'e, Database = Any>>(e: E, id: &str) -> R<Option<MentorFamily>> {
    Ok(DOCS.get(e, id).await?)
}

/// The family whose own home is `home_id`, if registered.
pub async fn of_own_home<'e, E: Executor<'e, Database = Any>>(
    e: E,
    home_id: &str,
) -> R<Option<MentorFamily>> {
    let row = sqlx::query("SELECT doc FROM mentor_families WHERE home_id = $1")
        .bind(home_id)
        .fetch_optional(e)
        .await?;
    Ok(row.map(|r| DOCS.from_row(&r, 0)).transpose()?)
}

/// Save a family (with its figures filled in) and its free places.
pub async fn save(conn: &mut AnyConnection, f: &MentorFamily, is_new: bool) -> R<()> {
    let free = i64::from(f.effective_cap.saturating_sub(f.active_assignments));
    let columns = [
        (
            "municipality_code",
            Value::from(f.municipality_code.as_str()),
        ),
        ("home_id", Value::from(f.home_id.as_str())),
        ("free_places", Value::Int(free)),
    ];
    Ok(DOCS.save(conn, &f.id, f, &columns, is_new).await?)
}

/// One page of families in `municipality` ("" for all), with a free place
/// only when `free_only`, in id order.
pub async fn list<'e, E: Executor<'e, Database = Any>>(
    e: E,
    municipality: &str,
    free_only: bool,
    page: &Page,
) -> R<Vec<MentorFamily>> {
    let rows = sqlx::query(
        "SELECT doc FROM mentor_families WHERE ($1 = '' OR municipality_code = $1) \
         AND ($2 = 0 OR free_places > 0) AND id > $3 ORDER BY id LIMIT $4",
    )
    .bind(municipality)
    .bind(i64::from(free_only))
    .bind(super::after(page))
    .bind(page.limit())
    .fetch_all(e)
    .await?;
    Ok(DOCS.from_rows(&rows)?)
}

/// The mentor family mentoring `home_id` now, if any.
pub async fn active_mentor_of<'e, E: Executor<'e, Database = Any>>(
    e: E,
    home_id: &str,
) -> R<Option<String>> {
    let row = sqlx::query(
        "SELECT mentor_family_id FROM mentor_assignments WHERE home_id = $1 AND active = 1",
    )
    .bind(home_id)
    .fetch_optional(e)
    .await?;
    Ok(row.map(|r| r.try_get::<String, _>(0)).transpose()?)
}

pub async fn insert_assignment(
    conn: &mut AnyConnection,
    id: &str,
    family_id: &str,
    home_id: &str,
) -> R<()> {
    sqlx::query(
        "INSERT INTO mentor_assignments (id, mentor_family_id, home_id, active) VALUES ($1, $2, $3, 1)",
    )
    .bind(id)
    .bind(family_id)
    .bind(home_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn end_assignment(conn: &mut AnyConnection, id: &str) -> R<()> {
    sqlx::query("UPDATE mentor_assignments SET active = 0 WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
