//! The rights follow-up's SQL (ADR 0046): the portfolio's latest state per
//! (child, item) with the feed's sequence number, talks with the child,
//! and the items an overdue alert was raised for.

use super::R;
use samling_kit::docstore::{Docs, Value};
use samling_proto::ombud::v1::{Assignment, AssignmentState, Talk};
use sqlx::{Any, AnyConnection, Executor, Row};

pub const TALKS: Docs<Talk> = Docs::new("talks", "talk");

/// What the portfolio last said of one item of one child.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortfolioItem {
    pub child_id: String,
    pub item: String,
    pub state: String,
    /// `YYYY-MM-DD`.
    pub due_on: String,
    pub seq: i64,
}

fn portfolio_item(r: &sqlx::any::AnyRow) -> R<PortfolioItem> {
    Ok(PortfolioItem {
        child_id: r.try_get(0)?,
        item: r.try_get(1)?,
        state: r.try_get(2)?,
        due_on: r.try_get(3)?,
        seq: r.try_get(4)?,
    })
}

pub async fn portfolio_item_of<'e, E: Executor<'e, Database = Any>>(
    e: E,
    child_id: &str,
    item: &str,
) -> R<Option<PortfolioItem>> {
    let row = sqlx::query(
        "SELECT child_id, item, state, due_on, seq FROM follow_up_portfolio WHERE child_id = $1 AND item = $2",
    )
    .bind(child_id)
    .bind(item)
    .fetch_optional(e)
    .await?;
    row.as_ref().map(portfolio_item).transpose()
}

/// Store the portfolio's state of an item (replacing an older one).
pub async fn save_portfolio_item(
    conn: &mut AnyConnection,
    p: &PortfolioItem,
    is_new: bool,
) -> R<()> {
    let sql = if is_new {
        "INSERT INTO follow_up_portfolio (state, due_on, seq, child_id, item) VALUES ($1, $2, $3, $4, $5)"
    } else {
        "UPDATE follow_up_portfolio SET state = $1, due_on = $2, seq = $3 WHERE child_id = $4 AND item = $5"
    };
    sqlx::query(sql)
        .bind(&p.state)
        .bind(&p.due_on)
        .bind(p.seq)
        .bind(&p.child_id)
        .bind(&p.item)
        .execute(conn)
        .await?;
    Ok(())
}

/// Every item the portfolio reported of `child_id`, by item.
pub async fn portfolio_items_of<'e, E: Executor<'e, Database = Any>>(
    e: E,
    child_id: &str,
) -> R<Vec<PortfolioItem>> {
    let rows = sqlx::query(
        "SELECT child_id, item, state, due_on, seq FROM follow_up_portfolio WHERE child_id = $1 ORDER BY item",
    )
    .bind(child_id)
    .fetch_all(e)
    .await?;
    rows.iter().map(portfolio_item).collect()
}

pub async fn insert_talk(conn: &mut AnyConnection, t: &Talk, held_on: &str) -> R<()> {
    let cols = [
        ("child_id", Value::from(t.child_id.as_str())),
        ("held_on", Value::from(held_on)),
    ];
    Ok(TALKS.insert(conn, &t.id, t, &cols).await?)
}

/// The day of the child's latest talk (`YYYY-MM-DD`), if any.
pub async fn last_talk_of<'e, E: Executor<'e, Database = Any>>(
    e: E,
    child_id: &str,
) -> R<Option<String>> {
    let row = sqlx::query("SELECT MAX(held_on) FROM talks WHERE child_id = $1")
        .bind(child_id)
        .fetch_one(e)
        .await?;
    Ok(row.try_get::<Option<String>, _>(0)?)
}

/// Was an overdue alert raised (and not cleared) for the item, and for
/// which due date?
pub async fn alert_of<'e, E: Executor<'e, Database = Any>>(
    e: E,
    child_id: &str,
    item: &str,
) -> R<Option<String>> {
    let row = sqlx::query("SELECT due_on FROM follow_up_alerts WHERE child_id = $1 AND item = $2")
        .bind(child_id)
        .bind(item)
        .fetch_optional(e)
        .await?;
    Ok(row.map(|r| r.try_get::<String, _>(0)).transpose()?)
}

/// Remember an alert raised for the item at `due_on` (replacing one for
/// an earlier date).
pub async fn set_alert(
    conn: &mut AnyConnection,
    child_id: &str,
    item: &str,
    due_on: &str,
) -> R<()> {
    clear_alert(&mut *conn, child_id, item).await?;
    sqlx::query("INSERT INTO follow_up_alerts (child_id, item, due_on) VALUES ($1, $2, $3)")
        .bind(child_id)
        .bind(item)
        .bind(due_on)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn clear_alert(conn: &mut AnyConnection, child_id: &str, item: &str) -> R<()> {
    sqlx::query("DELETE FROM follow_up_alerts WHERE child_id = $1 AND item = $2")
        .bind(child_id)
        .bind(item)
        .execute(conn)
        .await?;
    Ok(())
}

/// Every assigned child of `subject` (the worklist sorts them itself).
pub async fn all_of_ombud<'e, E: Executor<'e, Database = Any>>(
    e: E,
    subject: &str,
) -> R<Vec<Assignment>> {
    let rows = sqlx::query(
        "SELECT doc FROM assignments WHERE state = $1 AND ombud_subject = $2 ORDER BY id",
    )
    .bind(AssignmentState::Assigned.as_str_name())
    .bind(subject)
    .fetch_all(e)
    .await?;
    Ok(super::ASSIGNMENTS.from_rows(&rows)?)
}

/// The region's children whose placement has not ended (the follow-up
/// covers the care): assigned or waiting.
pub async fn all_in_care<'e, E: Executor<'e, Database = Any>>(e: E) -> R<Vec<Assignment>> {
    let rows = sqlx::query("SELECT doc FROM assignments WHERE active = 'yes' ORDER BY id")
        .fetch_all(e)
        .await?;
    Ok(super::ASSIGNMENTS.from_rows(&rows)?)
}
