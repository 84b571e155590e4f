//! Support after approval: sessions (one row per home they were for),
//! relief arrangements, each home's own support settings, and the approved
//! homes (read from the approved cases).

use super::{Docs, Value};
use crate::domain::RecruitmentError;
use samling_kit::paging::Page;
use samling_proto::recruitment::v1::{
    Case, CaseStatus, ReliefArrangement, SupportPlan, SupportSession,
};
use sqlx::{Any, AnyConnection, Executor};

type R<T> = Result<T, RecruitmentError>;

pub const SESSIONS: Docs<SupportSession> = Docs::new("support_sessions", "support session");
pub const RELIEF: Docs<ReliefArrangement> = Docs::new("relief_arrangements", "relief arrangement");
/// A home's own settings, as a [`SupportPlan`] holding `home_id` and the
/// evening and weekend extension (`out_of_hours_support_until`) only.
pub const SETTINGS: Docs<SupportPlan> = Docs::new("support_plans", "support plan");

/// A new session and a row for each of its homes.
pub async fn insert_session(conn: &mut AnyConnection, s: &SupportSession) -> R<()> {
    let held = super::day_text(s.held_on.as_ref());
    SESSIONS
        .insert(conn, &s.id, s, &[("held_on", Value::Text(held.clone()))])
        .await?;
    for h in &s.home_ids {
        sqlx::query(
            "INSERT INTO support_session_homes (session_id, home_id, held_on) VALUES ($1, $2, $3)",
        )
        .bind(&s.id)
        .bind(h)
        .bind(&held)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// One page of `home_id`'s sessions held `from ..= to` ("" for open ends),
/// in id order.
pub async fn sessions_of<'e, E: Executor<'e, Database = Any>>(
    e: E,
    home_id: &str,
    from: &str,
    to: &str,
    page: &Page,
) -> R<Vec<SupportSession>> {
    let rows = sqlx::query(
        "SELECT s.doc FROM support_sessions s JOIN support_session_homes h ON h.session_id = s.id \
         WHERE h.home_id = $1 AND ($2 = '' OR h.held_on >= $2) AND ($3 = '' OR h.held_on <= $3) \
         AND s.id > $4 ORDER BY s.id LIMIT $5",
    )
    .bind(home_id)
    .bind(from)
    .bind(to)
    .bind(super::after(page))
    .bind(page.limit())
    .fetch_all(e)
    .await?;
    Ok(SESSIONS.from_rows(&rows)?)
}

/// Every session of `home_id` held on or after `from` (for a plan's figures).
pub async fn sessions_since<'e, E: Executor<'e, Database = Any>>(
    e: E,
    home_id: &str,
    from: &str,
) -> R<Vec<SupportSession>> {
    let rows = sqlx::query(
        "SELECT s.doc FROM support_sessions s JOIN support_session_homes h ON h.session_id = s.id \
         WHERE h.home_id = $1 AND h.held_on >= $2 ORDER BY s.id",
    )
    .bind(home_id)
    .bind(from)
    .fetch_all(e)
    .await?;
    Ok(SESSIONS.from_rows(&rows)?)
}

pub async fn insert_relief(conn: &mut AnyConnection, r: &ReliefArrangement) -> R<()> {
    Ok(RELIEF
        .insert(
            conn,
            &r.id,
            r,
            &[("home_id", Value::from(r.home_id.as_str()))],
        )
        .await?)
}

/// The home's relief arrangements, in id order.
pub async fn relief_of<'e, E: Executor<'e, Database = Any>>(
    e: E,
    home_id: &str,
) -> R<Vec<ReliefArrangement>> {
    let rows = sqlx::query("SELECT doc FROM relief_arrangements WHERE home_id = $1 ORDER BY id")
        .bind(home_id)
        .fetch_all(e)
        .await?;
    Ok(RELIEF.from_rows(&rows)?)
}

pub async fn settings<'e, E: Executor<'e, Database = Any>>(
    e: E,
    home_id: &str,
) -> R<Option<SupportPlan>> {
    Ok(SETTINGS.get(e, home_id).await?)
}

pub async fn save_settings(conn: &mut AnyConnection, s: &SupportPlan, is_new: bool) -> R<()> {
    Ok(SETTINGS.save(conn, &s.home_id, s, &[], is_new).await?)
}

/// The approved cases of `municipality` ("" for all), in id order: the
/// homes recruitment approved.
pub async fn approved_cases<'e, E: Executor<'e, Database = Any>>(
    e: E,
    municipality: &str,
) -> R<Vec<Case>> {
    let rows = sqlx::query(
        "SELECT doc FROM cases WHERE status = $1 AND ($2 = '' OR municipality_code = $2) ORDER BY id",
    )
    .bind(super::cases::status_name(CaseStatus::Approved))
    .bind(municipality)
    .fetch_all(e)
    .await?;
    Ok(super::cases::DOCS.from_rows(&rows)?)
}

/// The approved case of registry home `home_id`, if recruitment approved it.
pub async fn approved_case_of_home<'e, E: Executor<'e, Database = Any>>(
    e: E,
    home_id: &str,
) -> R<Option<Case>> {
    Ok(approved_cases(e, "").await?.into_iter().find(|c| {
        c.approval
            .as_ref()
            .is_some_and(|a| a.registry_home_id == home_id)
    }))
}
