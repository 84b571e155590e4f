//! Training courses, their sessions, participants and attendance (kept on
//! the course), and who is enrolled where (`course_members`, for the
//! training requirements of a case).

use super::{Docs, Value};
use crate::domain::RecruitmentError;
use samling_kit::paging::Page;
use samling_proto::recruitment::v1::{Course, CourseKind};
use sqlx::{Any, AnyConnection, Executor};

type R<T> = Result<T, RecruitmentError>;

pub const DOCS: Docs<Course> = Docs::new("courses", "course");

pub async fn must_get<'e, E: Executor<'e, Database = Any>>(e: E, id: &str) -> R<Course> {
    Ok(DOCS.must_get(e, id).await?)
}

pub async fn save(conn: &mut AnyConnection, c: &Course, is_new: bool) -> R<()> {
    let kind = CourseKind::try_from(c.kind).unwrap_or_default();
    let columns = [
        ("kind", Value::from(kind.as_str_name())),
        (
            "municipality_code",
            Value::from(c.municipality_code.as_str()),
        ),
    ];
    Ok(DOCS.save(conn, &c.id, c, &columns, is_new).await?)
}

/// Notes that `member_id` (a case or a home) is enrolled in `course_id`.
pub async fn add_member(conn: &mut AnyConnection, course_id: &str, member_id: &str) -> R<()> {
    sqlx::query("INSERT INTO course_members (course_id, member_id) VALUES ($1, $2)")
        .bind(course_id)
        .bind(member_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The courses `member_id` is enrolled in, in id order.
pub async fn of_member<'e, E: Executor<'e, Database = Any>>(
    e: E,
    member_id: &str,
) -> R<Vec<Course>> {
    let rows = sqlx::query(
        "SELECT c.doc FROM courses c JOIN course_members m ON m.course_id = c.id \
         WHERE m.member_id = $1 ORDER BY c.id",
    )
    .bind(member_id)
    .fetch_all(e)
    .await?;
    Ok(DOCS.from_rows(&rows)?)
}

/// One page of courses of `kind` (unspecified for all) in `municipality`
/// ("" for all), in id order.
pub async fn list<'e, E: Executor<'e, Database = Any>>(
    e: E,
    kind: CourseKind,
    municipality: &str,
    page: &Page,
) -> R<Vec<Course>> {
    let kind = if kind == CourseKind::Unspecified {
        ""
    } else {
        kind.as_str_name()
    };
    let rows = sqlx::query(
        "SELECT doc FROM courses WHERE ($1 = '' OR kind = $1) \
         AND ($2 = '' OR municipality_code = $2) AND id > $3 ORDER BY id LIMIT $4",
    )
    .bind(kind)
    .bind(municipality)
    .bind(super::after(page))
    .bind(page.limit())
    .fetch_all(e)
    .await?;
    Ok(DOCS.from_rows(&rows)?)
}
