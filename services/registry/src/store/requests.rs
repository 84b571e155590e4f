//! Home requests (a home's appeals, corrections and questions to the office).

use super::{Docs, Value, after};
use crate::domain::RegistryError;
use samling_kit::paging::Page;
use samling_proto::registry::v1::{HomeRequest, HomeRequestStatus};
use sqlx::{Any, AnyConnection, Executor};

type R<T> = Result<T, RegistryError>;

pub const DOCS: Docs<HomeRequest> = Docs::new("home_requests", "home request");

/// The request, or "home request <id> not found".
pub async fn must_get<'e, E: Executor<'e, Database = Any>>(e: E, id: &str) -> R<HomeRequest> {
    Ok(DOCS.must_get(e, id).await?)
}

fn status_name(r: &HomeRequest) -> &'static str {
    HomeRequestStatus::try_from(r.status)
        .unwrap_or_default()
        .as_str_name()
}

pub async fn save(conn: &mut AnyConnection, r: &HomeRequest, is_new: bool) -> R<()> {
    let respond_by = r
        .respond_by
        .as_ref()
        .and_then(|d| {
            samling_kit::dates::opt_from_proto("", Some(d))
                .ok()
                .flatten()
        })
        .map(samling_kit::dates::date_text)
        .unwrap_or_default();
    let columns = [
        ("home_id", Value::from(r.home_id.as_str())),
        ("status", Value::from(status_name(r))),
        ("respond_by", Value::from(respond_by)),
        (
            "escalated",
            Value::from(i64::from(r.escalated_on.is_some())),
        ),
    ];
    Ok(DOCS.save(conn, &r.id, r, &columns, is_new).await?)
}

/// One page of requests of `home_id` ("" for every home), only open ones
/// when `open_only`, in id order.
pub async fn list<'e, E: Executor<'e, Database = Any>>(
    e: E,
    home_id: &str,
    open_only: bool,
    page: &Page,
) -> R<Vec<HomeRequest>> {
    let rows = sqlx::query(
        "SELECT doc FROM home_requests WHERE ($1 = '' OR home_id = $1) AND ($2 = 0 OR status = $3) \
         AND id > $4 ORDER BY id LIMIT $5",
    )
    .bind(home_id)
    .bind(i64::from(open_only))
    .bind(HomeRequestStatus::Open.as_str_name())
    .bind(after(page))
    .bind(page.limit())
    .fetch_all(e)
    .await?;
    Ok(DOCS.from_rows(&rows)?)
}

/// Open requests whose respond_by is before `today`: those not yet
/// escalated when `unescalated_only`, else all, in id order.
pub async fn overdue<'e, E: Executor<'e, Database = Any>>(
    e: E,
    today: chrono::NaiveDate,
    unescalated_only: bool,
    page: &Page,
) -> R<Vec<HomeRequest>> {
    let rows = sqlx::query(
        "SELECT doc FROM home_requests WHERE status = $1 AND respond_by <> '' AND respond_by < $2 \
         AND ($3 = 0 OR escalated = 0) AND id > $4 ORDER BY id LIMIT $5",
    )
    .bind(HomeRequestStatus::Open.as_str_name())
    .bind(samling_kit::dates::date_text(today))
    .bind(i64::from(unescalated_only))
    .bind(after(page))
    .bind(page.limit())
    .fetch_all(e)
    .await?;
    Ok(DOCS.from_rows(&rows)?)
}
