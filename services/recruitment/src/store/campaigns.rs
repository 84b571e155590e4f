//! Recruitment campaigns (the code printed in an advertisement).

use super::{Docs, Value};
use crate::domain::RecruitmentError;
use samling_kit::dates;
use samling_kit::paging::Page;
use samling_proto::recruitment::v1::Campaign;
use sqlx::{Any, AnyConnection, Executor, Row};

type R<T> = Result<T, RecruitmentError>;

pub const DOCS: Docs<Campaign> = Docs::new("campaigns", "campaign");

pub async fn get<'e, E: Executor<'e, Database = Any>>(e: E, id: &str) -> R<Option<Campaign>> {
    Ok(DOCS.get(e, id).await?)
}

pub async fn must_get<'e, E: Executor<'e, Database = Any>>(e: E, id: &str) -> R<Campaign> {
    Ok(DOCS.must_get(e, id).await?)
}

/// The campaign printed with `code` (upper-case), if any.
pub async fn by_code<'e, E: Executor<'e, Database = Any>>(e: E, code: &str) -> R<Option<Campaign>> {
    let row = sqlx::query("SELECT doc FROM campaigns WHERE code = $1")
        .bind(code)
        .fetch_optional(e)
        .await?;
    Ok(match row {
        Some(r) => Some(DOCS.decode(&r.try_get::<String, _>(0)?)?),
        None => None,
    })
}

fn date_col(d: Option<&samling_proto::common::v1::Date>) -> String {
    dates::opt_from_proto("", d)
        .ok()
        .flatten()
        .map(dates::date_text)
        .unwrap_or_default()
}

pub async fn insert(conn: &mut AnyConnection, c: &Campaign) -> R<()> {
    let columns = [
        ("code", Value::from(c.code.as_str())),
        (
            "starts_on",
            Value::from(date_col(c.starts_on.as_ref()).as_str()),
        ),
        (
            "ends_on",
            Value::from(date_col(c.ends_on.as_ref()).as_str()),
        ),
    ];
    Ok(DOCS.insert(conn, &c.id, c, &columns).await?)
}

/// One page of campaigns in id order; `active_on` (ISO day) keeps those
/// running that day.
pub async fn list<'e, E: Executor<'e, Database = Any>>(
    e: E,
    active_on: Option<&str>,
    page: &Page,
) -> R<Vec<Campaign>> {
    let mut q = super::Filter::new("SELECT doc FROM campaigns WHERE 1 = 1");
    if let Some(day) = active_on {
        q.and("starts_on <= ? AND (ends_on = '' OR ends_on >= ?)", day);
    }
    if let Some(after) = &page.after {
        q.and("id > ?", after);
    }
    q.raw(&format!(" ORDER BY id LIMIT {}", page.limit()));
    Ok(DOCS.from_rows(&q.fetch_all(e).await?)?)
}
