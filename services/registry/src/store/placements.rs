//! Placements: the row, who made it, the municipalities placing in a home
//! and the scoped lists.

use super::{Docs, Filter};
use crate::domain::RegistryError;
use crate::domain::access::PlacementScope;
use crate::domain::placement::{self, Placing};
use chrono::NaiveDate;
use samling_kit::dates;
use samling_kit::paging::Page;
use samling_proto::registry::v1::{HomeType, Placement, PlacementStatus};
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
    let home_type = if p.home_type == 0 {
        ""
    } else {
        HomeType::try_from(p.home_type)
            .unwrap_or_default()
            .as_str_name()
    };
    let sql = if is_new {
        "INSERT INTO placements (id, child_id, home_id, unit_id, status, placing_municipality, receiving_municipality, \
         start_date, custody_due, doc, home_type) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    } else {
        "UPDATE placements SET child_id = $2, home_id = $3, unit_id = $4, status = $5, placing_municipality = $6, \
         receiving_municipality = $7, start_date = $8, custody_due = $9, doc = $10, home_type = $11 WHERE id = $1"
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
        .bind(home_type)
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
/// placements by start date, this register's and other regions' alike:
/// their occupancies, ADR 0021).
pub async fn placing<'e, E: Executor<'e, Database = Any>>(e: E, home_id: &str) -> R<Placing> {
    let rows = sqlx::query(
        "SELECT placing_municipality, status, start_date, id FROM placements WHERE home_id = $1 \
         UNION ALL SELECT placing_municipality, status, start_date, placement_id FROM home_occupancies WHERE home_id = $1 \
         ORDER BY 3, 4",
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
         WHERE p.home_id = $1 AND (p.created_by = '' OR c.registered_by IS NULL OR p.created_by <> c.registered_by) \
         UNION SELECT placing_municipality FROM home_occupancies WHERE home_id = $1 AND vouched = 1",
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
    /// Only placements in homes of these types (active ones only) that
    /// started on or before `started_by` (ADR 0030: long jourhem stays).
    pub home_types: Vec<HomeType>,
    pub started_by: Option<NaiveDate>,
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
            home_types: Vec::new(),
            started_by: None,
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
        // Never an empty OR (that would be no filter at all).
        PlacementScope::Children(cs) if cs.is_empty() => return Ok(Vec::new()),
        PlacementScope::Children(cs) => f.and_any("child_id = ?", cs),
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
    if !q.home_types.is_empty() {
        let types: Vec<String> = q
            .home_types
            .iter()
            .map(|t| t.as_str_name().to_string())
            .collect();
        f.and_any("home_type = ?", &types);
        f.and("status = ?", active);
    }
    if let Some(by) = q.started_by {
        f.and("start_date <= ?", &dates::date_text(by));
    }
    if let Some(after) = &page.after {
        f.and("id > ?", after);
    }
    f.raw(&format!(" ORDER BY id LIMIT {}", page.limit()));
    Ok(DOCS.from_rows(&f.fetch_all(e).await?)?)
}

/// A home's active placements in this register (ADR 0026: the placing
/// municipalities are told of a restriction).
pub async fn active_in_home<'e, E: Executor<'e, Database = Any>>(
    e: E,
    home_id: &str,
) -> R<Vec<Placement>> {
    let rows =
        sqlx::query("SELECT doc FROM placements WHERE home_id = $1 AND status = $2 ORDER BY id")
            .bind(home_id)
            .bind(PlacementStatus::Active.as_str_name())
            .fetch_all(e)
            .await?;
    Ok(DOCS.from_rows(&rows)?)
}

/// Every placement of a child, by start date (then id).
pub async fn of_child<'e, E: Executor<'e, Database = Any>>(
    e: E,
    child_id: &str,
) -> R<Vec<Placement>> {
    let rows =
        sqlx::query("SELECT doc FROM placements WHERE child_id = $1 ORDER BY start_date, id")
            .bind(child_id)
            .fetch_all(e)
            .await?;
    Ok(DOCS.from_rows(&rows)?)
}

/// The placements a year's statistics read: started on or before `to`, of
/// `municipality` (placing; "" for every one); the domain picks the year's.
pub async fn started_by<'e, E: Executor<'e, Database = Any>>(
    e: E,
    municipality: &str,
    to: NaiveDate,
) -> R<Vec<Placement>> {
    let mut f = Filter::new("SELECT doc FROM placements WHERE 1 = 1");
    f.and("start_date <= ?", &dates::date_text(to));
    if !municipality.is_empty() {
        f.and("placing_municipality = ?", municipality);
    }
    f.raw(" ORDER BY id");
    Ok(DOCS.from_rows(&f.fetch_all(e).await?)?)
}

#[cfg(test)]
mod tests {
    //! The placement lists' SQL and the domain's rules must agree.
    use super::*;
    use crate::store::testing::{ids, stores};

    fn as_of() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
    }

    /// Placement `i`: active or ended, no custody date or one before, on or
    /// after `as_of`, in a home or a unit, of two children, two placing and
    /// three receiving municipalities.
    fn placement(i: usize) -> Placement {
        let custody = match i % 4 {
            0 => None,
            1 => as_of().pred_opt(),
            2 => Some(as_of()),
            _ => as_of().succ_opt(),
        };
        let in_home = i % 3 != 2;
        Placement {
            id: format!("placement-{i:03}"),
            version: 1,
            child_id: format!("child-{}", i % 2),
            home_id: if in_home {
                format!("home-{}", i % 3)
            } else {
                String::new()
            },
            unit_id: if in_home {
                String::new()
            } else {
                "unit-1".into()
            },
            status: if (i / 4).is_multiple_of(2) {
                PlacementStatus::Active
            } else {
                PlacementStatus::Ended
            } as i32,
            placing_municipality_code: ["0180", "1480"][i % 2].into(),
            receiving_municipality_code: ["1480", "0114", "0180"][i % 3].into(),
            start_date: Some(dates::to_proto(
                NaiveDate::from_ymd_opt(2024, 1, 1).unwrap() + chrono::Days::new(i as u64),
            )),
            custody_transfer_consideration_on: custody.map(dates::to_proto),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn sql_and_domain_agree_on_scope_active_and_custody_transfer_due() {
        let all: Vec<Placement> = (0..24).map(placement).collect();
        for (b, store, _guard) in stores().await {
            let mut conn = store.write.acquire().await.unwrap();
            for p in &all {
                save(&mut conn, p, true).await.unwrap();
            }
            drop(conn);
            let page = Page::first(500);
            let want =
                |f: &dyn Fn(&Placement) -> bool| ids(all.iter().filter(|p| f(p)).map(|p| &p.id));
            let run = |q: Query| {
                let store = &store;
                let page = &page;
                async move {
                    let found = list(&store.read, &q, page).await.unwrap();
                    ids(found.iter().map(|p| &p.id))
                }
            };
            for scope in [
                PlacementScope::All,
                PlacementScope::Nothing,
                PlacementScope::Municipality("0180".into()),
                PlacementScope::Municipality("0114".into()),
                PlacementScope::Home("home-1".into()),
                PlacementScope::Child("child-0".into()),
                PlacementScope::Children(vec!["child-1".into(), "child-9".into()]),
                PlacementScope::Children(Vec::new()),
            ] {
                assert_eq!(
                    run(Query::new(scope.clone())).await,
                    want(&|p| scope.holds(p)),
                    "{b}: {scope:?}"
                );
                let mut active = Query::new(scope.clone());
                active.active_only = true;
                assert_eq!(
                    run(active).await,
                    want(&|p| scope.holds(p) && placement::is_active(p)),
                    "{b}: active in {scope:?}"
                );
                let mut due = Query::new(scope.clone());
                due.custody_due_by = Some(as_of());
                assert_eq!(
                    run(due).await,
                    want(&|p| scope.holds(p) && placement::custody_transfer_due(p, as_of())),
                    "{b}: custody transfer due in {scope:?}"
                );
            }
            let due = want(&|p| placement::custody_transfer_due(p, as_of()));
            assert!(!due.is_empty() && due.len() < all.len());

            let placing_1 = placing(&store.read, "home-1").await.unwrap();
            let mut in_home: Vec<&Placement> =
                all.iter().filter(|p| p.home_id == "home-1").collect();
            in_home.sort_by_key(|p| {
                (
                    dates::date_text(dates::from_proto("", p.start_date.as_ref()).unwrap()),
                    p.id.clone(),
                )
            });
            let domain = placement::placing(in_home.iter().map(|p| {
                (
                    p.placing_municipality_code.as_str(),
                    PlacementStatus::try_from(p.status).unwrap(),
                )
            }));
            assert_eq!(placing_1, domain, "{b}: placing municipalities");
            assert!(placing_1.first.is_some());
            store.close().await;
        }
    }
}
