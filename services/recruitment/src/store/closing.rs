//! Closing conversations, one per ended placement.

use super::{Docs, Value};
use crate::domain::RecruitmentError;
use samling_kit::paging::Page;
use samling_proto::recruitment::v1::{ClosingConversation, ClosingConversationStatus};
use sqlx::{Any, AnyConnection, Executor};

type R<T> = Result<T, RecruitmentError>;

pub const DOCS: Docs<ClosingConversation> =
    Docs::new("closing_conversations", "closing conversation");

pub async fn get<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id: &str,
) -> R<Option<ClosingConversation>> {
    Ok(DOCS.get(e, id).await?)
}

/// The conversation opened for `placement_id`, if any.
pub async fn of_placement<'e, E: Executor<'e, Database = Any>>(
    e: E,
    placement_id: &str,
) -> R<Option<ClosingConversation>> {
    let row = sqlx::query("SELECT doc FROM closing_conversations WHERE placement_id = $1")
        .bind(placement_id)
        .fetch_optional(e)
        .await?;
    Ok(row.map(|r| DOCS.from_row(&r, 0)).transpose()?)
}

pub async fn save(conn: &mut AnyConnection, c: &ClosingConversation, is_new: bool) -> R<()> {
    let status = ClosingConversationStatus::try_from(c.status).unwrap_or_default();
    let columns = [
        ("home_id", Value::from(c.home_id.as_str())),
        ("placement_id", Value::from(c.placement_id.as_str())),
        ("status", Value::from(status.as_str_name())),
        ("due_on", Value::Text(super::day_text(c.due_on.as_ref()))),
    ];
    Ok(DOCS.save(conn, &c.id, c, &columns, is_new).await?)
}

/// One page of conversations of `home_id` ("" for all) in `status`
/// (unspecified for any), due before `due_before` ("" for any: overdue
/// ones are those due before today), in id order.
pub async fn list<'e, E: Executor<'e, Database = Any>>(
    e: E,
    home_id: &str,
    status: ClosingConversationStatus,
    due_before: &str,
    page: &Page,
) -> R<Vec<ClosingConversation>> {
    let status = if status == ClosingConversationStatus::Unspecified {
        ""
    } else {
        status.as_str_name()
    };
    let rows = sqlx::query(
        "SELECT doc FROM closing_conversations WHERE ($1 = '' OR home_id = $1) \
         AND ($2 = '' OR status = $2) AND ($3 = '' OR due_on < $3) AND id > $4 \
         ORDER BY id LIMIT $5",
    )
    .bind(home_id)
    .bind(status)
    .bind(due_before)
    .bind(super::after(page))
    .bind(page.limit())
    .fetch_all(e)
    .await?;
    Ok(DOCS.from_rows(&rows)?)
}
