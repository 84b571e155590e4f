//! Information meetings.

use super::{Docs, Value};
use crate::domain::RecruitmentError;
use samling_kit::paging::Page;
use samling_proto::recruitment::v1::InfoMeeting;
use sqlx::{Any, AnyConnection, Executor};

type R<T> = Result<T, RecruitmentError>;

pub const DOCS: Docs<InfoMeeting> = Docs::new("info_meetings", "info meeting");

pub async fn must_get<'e, E: Executor<'e, Database = Any>>(e: E, id: &str) -> R<InfoMeeting> {
    Ok(DOCS.must_get(e, id).await?)
}

pub async fn save(conn: &mut AnyConnection, m: &InfoMeeting, is_new: bool) -> R<()> {
    let columns = [
        (
            "municipality_code",
            Value::from(m.municipality_code.as_str()),
        ),
        ("held_on", Value::Text(super::day_text(m.held_on.as_ref()))),
    ];
    Ok(DOCS.save(conn, &m.id, m, &columns, is_new).await?)
}

/// One page of meetings in `municipality` ("" for all) held `from ..= to`
/// ("" for open ends), in id order.
pub async fn list<'e, E: Executor<'e, Database = Any>>(
    e: E,
    municipality: &str,
    from: &str,
    to: &str,
    page: &Page,
) -> R<Vec<InfoMeeting>> {
    let rows = sqlx::query(
        "SELECT doc FROM info_meetings WHERE ($1 = '' OR municipality_code = $1) \
         AND ($2 = '' OR held_on >= $2) AND ($3 = '' OR held_on <= $3) AND id > $4 \
         ORDER BY id LIMIT $5",
    )
    .bind(municipality)
    .bind(from)
    .bind(to)
    .bind(super::after(page))
    .bind(page.limit())
    .fetch_all(e)
    .await?;
    Ok(DOCS.from_rows(&rows)?)
}
