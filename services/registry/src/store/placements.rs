//! Placements: the row, who made it, the municipalities placing in a home
//! and the scoped lists.

use super::{Docs, Filter};
use crate::domain::RegistryError;
use crate::domain::access::PlacementScope;
use crate::domain::placement::{self, Placing};
use chrono::NaiveDate;
use samling_kit::dates;
use samling_kit::paging::Page;
use samling_proto::registry::v1::{Placement, PlacementStatus};
use sqlx::{Any, AnyConnection, Executor, Row};

type R<T> = Result<T, RegistryError>;

pub const DOCS: Docs<Placement> = Docs::new("placements", "placement");

pub async fn get<'e, E: Executor<'e, Database = Any>>(e: E, id: &str) -> R<Option<Placement>> {
    Ok(DOCS.get(e, id).await?)
}

/// The placement, or "placement <id> not found".
pub async fn must_get<'e, E: Executor<'e, Database = Any>>(e: E, id: &str) -> R<Placement> {
    Ok(DOCS.must_get(e, id).await?)
}

pub async fn save(conn: &mut AnyConnection, p: &Placement, is_new: bool) -> R<()> {
    let status = PlacementStatus::try_from(p.status)
        .unwrap_or_default()
        .as_str_name();
    let start = dates::opt_from_proto("start_date", p.start_date.as_ref())?
        .map(dates::date_text)
        .unwrap_or_default();
    let custody = dates::opt_from_proto("custody", p.custody_transfer_consideration_on.as_ref())?
        .map(dates::date_text)
        .unwrap_or_default();
    let sql = if is_new {
        "INSERT INTO placements (id, child_id, home_id, unit_id, status, placing_municipality, receiving_municipality, \
         start_date, custody_due, doc) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    } else {
        "UPDATE placements SET child_id = $2, home_id = $3, unit_id = $4, status = $5, placing_municipality = $6, \
         receiving_municipality = $7, start_date = $8, custody_due = $9, doc = $10 WHERE id = $1"
    };
    sqlx::query(sql)
        .bind(&p.id)
        .bind(&p.child_id)
        .bind(&p.home_id)
        .bind(&p.unit_id)
        .bind(status)
        .bind(&p.placing_municipality_code)
        .bind(&p.receiving_municipality_code)
        .bind(start)
        .bind(custody)
        .bind(samling_kit::docstore::encode(p))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Note who made a placement (for [`vouched_placing`]).
pub async fn set_created_by(conn: &mut AnyConnection, placement_id: &str, subject: &str) -> R<()> {
    sqlx::query("UPDATE placements SET created_by = $1 WHERE id = $2")
        .bind(subject)
        .bind(placement_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The municipalities placing in a home ([`placement::placing`] over its
/// placements by start date).
pub async fn placing<'e, E: Executor<'e, Database = Any>>(e: E, home_id: &str) -> R<Placing> {
    let rows = sqlx::query(
        "SELECT placing_municipality, status FROM placements WHERE home_id = $1 ORDER BY start_date, id",
    )
    .bind(home_id)
    .fetch_all(e)
    .await?;
    let mut list = Vec::with_capacity(rows.len());
    for r in &rows {
        let m: String = r.try_get(0)?;
        let s: String = r.try_get(1)?;
        let status = PlacementStatus::from_str_name(&s).unwrap_or_default();
        list.push((m, status));
    }
    Ok(placement::placing(
        list.iter().map(|(m, s)| (m.as_str(), *s)),
    ))
}

/// Municipalities that placed a child in a home with a placement not made
/// by the same caller who registered the child: only these make a protected
/// home a municipality's business (a self-registered child placed by its
/// registrar proves nothing).
pub async fn vouched_placing<'e, E: Executor<'e, Database = Any>>(
    e: E,
    home_id: &str,
) -> R<Vec<String>> {
    let rows = sqlx::query(
        "SELECT DISTINCT p.placing_municipality FROM placements p LEFT JOIN children c ON c.id = p.child_id \
         WHERE p.home_id = $1 AND (p.created_by = '' OR c.registered_by IS NULL OR p.created_by <> c.registered_by)",
    )
    .bind(home_id)
    .fetch_all(e)
    .await?;
    rows.iter()
        .map(|r| r.try_get::<String, _>(0).map_err(RegistryError::from))
        .collect()
}

/// What a placement list asks, within the caller's scope.
#[derive(Debug, Clone)]
pub struct Query {
    pub scope: PlacementScope,
    pub child_id: String,
    pub home_id: String,
    /// The placing municipality ("" for any).
    pub municipality: String,
    pub active_only: bool,
    /// Only placements whose custody transfer is due by this date
    /// ([`placement::custody_transfer_due`]; active ones only).
    pub custody_due_by: Option<NaiveDate>,
}

impl Query {
    pub fn new(scope: PlacementScope) -> Self {
        Query {
            scope,
            child_id: String::new(),
            home_id: String::new(),
            municipality: String::new(),
            active_only: false,
            custody_due_by: None,
        }
    }
}

/// One page of placements matching `q`, in id order.
pub async fn list<'e, E: Executor<'e, Database = Any>>(
    e: E,
    q: &Query,
    page: &Page,
) -> R<Vec<Placement>> {
    let mut f = Filter::new("SELECT doc FROM placements WHERE 1 = 1");
    match &q.scope {
        PlacementScope::All => {}
        PlacementScope::Nothing => return Ok(Vec::new()),
        PlacementScope::Municipality(m) => {
            f.and(
                "(placing_municipality = ? OR receiving_municipality = ?)",
                m,
            );
        }
        PlacementScope::Home(h) => f.and("home_id = ?", h),
        PlacementScope::Child(c) => f.and("child_id = ?", c),
    }
    if !q.child_id.is_empty() {
        f.and("child_id = ?", &q.child_id);
    }
    if !q.home_id.is_empty() {
        f.and("home_id = ?", &q.home_id);
    }
    if !q.municipality.is_empty() {
        f.and("placing_municipality = ?", &q.municipality);
    }
    let active = PlacementStatus::Active.as_str_name();
    if q.active_only || q.custody_due_by.is_some() {
        f.and("status = ?", active);
    }
    if let Some(by) = q.custody_due_by {
        f.and(
            "custody_due <> '' AND custody_due <= ?",
            &dates::date_text(by),
        );
    }
    if let Some(after) = &page.after {
        f.and("id > ?", after);
    }
    f.raw(&format!(" ORDER BY id LIMIT {}", page.limit()));
    Ok(DOCS.from_rows(&f.fetch_all(e).await?)?)
}
