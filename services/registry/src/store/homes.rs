//! Homes: the row and its members, versions, searches and lists.

use super::{Docs, Filter, like_escape};
use crate::domain::home::{
    RECONFIRMED_STATUSES, address_key, effective_capacity, reconfirmation_due,
};
use crate::domain::{RegistryError, Rules, duplicates};
use chrono::NaiveDate;
use samling_kit::dates;
use samling_kit::paging::Page;
use samling_proto::registry::v1::{Home, HomeStatus, HomeType, HomeVersion, Willingness};
use sqlx::{Any, AnyConnection, Executor, Row};

type R<T> = Result<T, RegistryError>;

pub const DOCS: Docs<Home> = Docs::new("homes", "home");

pub async fn get<'e, E: Executor<'e, Database = Any>>(e: E, id: &str) -> R<Option<Home>> {
    Ok(DOCS.get(e, id).await?)
}

/// The home, or "home <id> not found".
pub async fn must_get<'e, E: Executor<'e, Database = Any>>(e: E, id: &str) -> R<Home> {
    Ok(DOCS.must_get(e, id).await?)
}

/// The `tags` column: `|l:<language>|c:<competence>|t:<target group>|w:<n>|protected|`.
pub fn home_tags(h: &Home) -> String {
    let mut s = String::from("|");
    for (p, list) in [
        ("l", &h.languages),
        ("c", &h.competences),
        ("t", &h.target_groups),
    ] {
        for v in list.iter() {
            s.push_str(p);
            s.push(':');
            s.push_str(v);
            s.push('|');
        }
    }
    for w in &h.willingness {
        s.push_str(&format!("w:{w}|"));
    }
    if h.protected_identity {
        s.push_str("protected|");
    }
    if h.placement_blocked {
        s.push_str("restricted|");
    }
    s
}

/// The homes (not ended) supported by `agency_id`, in id order.
pub async fn ids_with_agency<'e, E: Executor<'e, Database = Any>>(
    e: E,
    agency_id: &str,
) -> R<Vec<String>> {
    let rows =
        sqlx::query("SELECT id FROM homes WHERE agency_id = $1 AND status <> $2 ORDER BY id")
            .bind(agency_id)
            .bind(HomeStatus::Ended.as_str_name())
            .fetch_all(e)
            .await?;
    rows.iter()
        .map(|r| r.try_get::<String, _>(0).map_err(Into::into))
        .collect()
}

pub fn status_name(h: &Home) -> &'static str {
    HomeStatus::try_from(h.status)
        .unwrap_or(HomeStatus::Unspecified)
        .as_str_name()
}

/// Insert or update a home row (and its members), checking the version it
/// was read at so no concurrent change is lost.
pub async fn save(conn: &mut AnyConnection, h: &Home, rules: &Rules, is_new: bool) -> R<()> {
    let due = reconfirmation_due(h)
        .map(dates::date_text)
        .unwrap_or_default();
    let addr = h.address.as_ref().map(address_key).unwrap_or_default();
    let home_type = HomeType::try_from(h.home_type)
        .unwrap_or_default()
        .as_str_name();
    let cap = i64::from(effective_capacity(h, rules));
    let doc = samling_kit::docstore::encode(h);
    if is_new {
        sqlx::query(
            "INSERT INTO homes (id, version, status, home_type, municipality_code, county_code, agency_id, \
             capacity, placed_count, jour_available, reconfirmation_due, address_key, tags, doc, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        )
        .bind(&h.id)
        .bind(h.version)
        .bind(status_name(h))
        .bind(home_type)
        .bind(&h.municipality_code)
        .bind(&h.county_code)
        .bind(&h.agency_id)
        .bind(cap)
        .bind(i64::from(h.placed_count))
        .bind(i64::from(h.jour_available))
        .bind(&due)
        .bind(&addr)
        .bind(home_tags(h))
        .bind(&doc)
        .bind(&h.created_at)
        .bind(&h.updated_at)
        .execute(&mut *conn)
        .await?;
    } else {
        let done = sqlx::query(
            "UPDATE homes SET version = $2, status = $3, home_type = $4, municipality_code = $5, county_code = $6, \
             agency_id = $7, capacity = $8, placed_count = $9, jour_available = $10, reconfirmation_due = $11, \
             address_key = $12, tags = $13, doc = $14, updated_at = $15 WHERE id = $1 AND version = $16",
        )
        .bind(&h.id)
        .bind(h.version)
        .bind(status_name(h))
        .bind(home_type)
        .bind(&h.municipality_code)
        .bind(&h.county_code)
        .bind(&h.agency_id)
        .bind(cap)
        .bind(i64::from(h.placed_count))
        .bind(i64::from(h.jour_available))
        .bind(&due)
        .bind(&addr)
        .bind(home_tags(h))
        .bind(&doc)
        .bind(&h.updated_at)
        .bind(h.version - 1)
        .execute(&mut *conn)
        .await?;
        if done.rows_affected() != 1 {
            return Err(RegistryError::Conflict(format!(
                "home {} was changed by someone else; read it again",
                h.id
            )));
        }
        sqlx::query("DELETE FROM home_members WHERE home_id = $1")
            .bind(&h.id)
            .execute(&mut *conn)
            .await?;
    }
    for m in &h.members {
        sqlx::query(
            "INSERT INTO home_members (home_id, member_id, personnummer) VALUES ($1, $2, $3)",
        )
        .bind(&h.id)
        .bind(&m.id)
        .bind(&m.personnummer)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Keep the home as it stands now as version `h.version`, with who changed
/// it, how and why.
pub async fn insert_version(
    conn: &mut AnyConnection,
    h: &Home,
    subject: &str,
    role: &str,
    change: &str,
    reason: &str,
) -> R<()> {
    sqlx::query(
        "INSERT INTO home_versions (home_id, version, at, actor_subject, actor_role, change, reason, doc) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&h.id)
    .bind(h.version)
    .bind(&h.updated_at)
    .bind(subject)
    .bind(role)
    .bind(change)
    .bind(reason)
    .bind(samling_kit::docstore::encode(h))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A home's versions after `after_version`, oldest first, at most `limit`.
pub async fn versions<'e, E: Executor<'e, Database = Any>>(
    e: E,
    home_id: &str,
    after_version: i64,
    limit: i64,
) -> R<Vec<HomeVersion>> {
    let rows = sqlx::query(
        "SELECT version, at, actor_subject, actor_role, change, reason, doc FROM home_versions \
         WHERE home_id = $1 AND version > $2 ORDER BY version LIMIT $3",
    )
    .bind(home_id)
    .bind(after_version)
    .bind(limit)
    .fetch_all(e)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(HomeVersion {
                version: r.try_get(0)?,
                at: r.try_get(1)?,
                actor_subject: r.try_get(2)?,
                actor_role: r.try_get(3)?,
                change: r.try_get(4)?,
                reason: r.try_get(5)?,
                snapshot: Some(DOCS.from_row(r, 6)?),
            })
        })
        .collect()
}

/// Homes in `municipality` ("" for all) after id `after`, in id order.
pub async fn page_in_municipality<'e, E: Executor<'e, Database = Any>>(
    e: E,
    municipality: &str,
    after: &str,
    limit: i64,
) -> R<Vec<Home>> {
    let rows = sqlx::query(
        "SELECT doc FROM homes WHERE ($1 = '' OR municipality_code = $1) AND id > $2 ORDER BY id LIMIT $3",
    )
    .bind(municipality)
    .bind(after)
    .bind(limit)
    .fetch_all(e)
    .await?;
    Ok(DOCS.from_rows(&rows)?)
}

/// The statuses of [`RECONFIRMED_STATUSES`] as an SQL list (enum names, constants).
fn reconfirmed_statuses_sql() -> String {
    RECONFIRMED_STATUSES
        .iter()
        .map(|s| format!("'{}'", s.as_str_name()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// [`crate::domain::home::reconfirmation_overdue`] as an SQL condition with
/// one `?` for the date.
fn overdue_sql() -> String {
    format!(
        "(reconfirmation_due <> '' AND reconfirmation_due < ? AND status IN ({}))",
        reconfirmed_statuses_sql()
    )
}

/// Its complement (not overdue on `?`), written out so each branch is plain.
fn not_overdue_sql() -> String {
    format!(
        "(reconfirmation_due = '' OR reconfirmation_due >= ? OR status NOT IN ({}))",
        reconfirmed_statuses_sql()
    )
}

/// Homes overdue for re-confirmation on `as_of` (`municipality` "" for
/// all), in id order, one page.
pub async fn overdue<'e, E: Executor<'e, Database = Any>>(
    e: E,
    as_of: NaiveDate,
    municipality: &str,
    used_by: Option<&str>,
    page: &Page,
) -> R<Vec<Home>> {
    let mut q = Filter::new("SELECT doc FROM homes WHERE 1 = 1");
    q.and(&overdue_sql(), &dates::date_text(as_of));
    if !municipality.is_empty() {
        q.and("municipality_code = ?", municipality);
    }
    if let Some(m) = used_by {
        q.and(
            "id IN (SELECT home_id FROM placements WHERE placing_municipality = ? \
             AND status = 'PLACEMENT_STATUS_ACTIVE' AND home_id <> '')",
            m,
        );
    }
    if let Some(after) = &page.after {
        q.and("id > ?", after);
    }
    q.raw(&format!(" ORDER BY id LIMIT {}", page.limit()));
    Ok(DOCS.from_rows(&q.fetch_all(e).await?)?)
}

/// What a home search asks (validated by the service).
#[derive(Debug, Clone, Default)]
pub struct Search {
    pub municipality_code: Option<String>,
    pub county_code: Option<String>,
    pub agency_id: Option<String>,
    /// Any of these types (none: all).
    pub home_types: Vec<HomeType>,
    /// Any of these statuses (none: all).
    pub statuses: Vec<HomeStatus>,
    /// Every one of these competences (normalised tags).
    pub competences: Vec<String>,
    /// Any of these languages (normalised tags).
    pub languages: Vec<String>,
    pub willingness: Option<Willingness>,
    /// Only homes with room within their capacity.
    pub with_free_capacity: bool,
    pub jour_available_only: bool,
    /// Leave out homes overdue for re-confirmation on this date.
    pub not_overdue_on: Option<NaiveDate>,
    /// Leave out protected homes.
    pub without_protected: bool,
    /// Keep homes under a restriction (ADR 0026); left out by default.
    pub include_restricted: bool,
}

/// One page of homes matching `s`, in id order.
pub async fn search<'e, E: Executor<'e, Database = Any>>(
    e: E,
    s: &Search,
    page: &Page,
) -> R<Vec<Home>> {
    let mut q = Filter::new("SELECT doc FROM homes WHERE 1 = 1");
    if let Some(m) = &s.municipality_code {
        q.and("municipality_code = ?", m);
    }
    if let Some(c) = &s.county_code {
        q.and("county_code = ?", c);
    }
    if let Some(a) = &s.agency_id {
        q.and("agency_id = ?", a);
    }
    let types: Vec<String> = s
        .home_types
        .iter()
        .map(|t| t.as_str_name().into())
        .collect();
    q.and_any("home_type = ?", &types);
    let statuses: Vec<String> = s.statuses.iter().map(|t| t.as_str_name().into()).collect();
    q.and_any("status = ?", &statuses);
    for c in &s.competences {
        q.and(
            "tags LIKE ? ESCAPE '\\'",
            &format!("%|c:{}|%", like_escape(c)),
        );
    }
    let langs: Vec<String> = s
        .languages
        .iter()
        .map(|l| format!("%|l:{}|%", like_escape(l)))
        .collect();
    q.and_any("tags LIKE ? ESCAPE '\\'", &langs);
    if let Some(w) = s.willingness {
        q.and("tags LIKE ?", &format!("%|w:{}|%", w as i32));
    }
    if s.with_free_capacity {
        // `capacity` holds the effective capacity (domain::home::has_free_place).
        q.raw(" AND placed_count < capacity");
    }
    if s.jour_available_only {
        q.raw(" AND jour_available = 1");
    }
    if let Some(on) = s.not_overdue_on {
        q.and(&not_overdue_sql(), &dates::date_text(on));
    }
    if s.without_protected {
        q.raw(" AND tags NOT LIKE '%|protected|%'");
    }
    if !s.include_restricted {
        q.raw(" AND tags NOT LIKE '%|restricted|%'");
    }
    if let Some(after) = &page.after {
        q.and("id > ?", after);
    }
    q.raw(&format!(" ORDER BY id LIMIT {}", page.limit()));
    Ok(DOCS.from_rows(&q.fetch_all(e).await?)?)
}

/// Homes that may duplicate `h` (see [`duplicates::home_duplicate_kinds`],
/// which decides): other homes not ended that share an adult's
/// personnummer, then those at the same address, each once, in id order.
pub async fn duplicate_candidates(conn: &mut AnyConnection, h: &Home) -> R<Vec<Home>> {
    let ended = HomeStatus::Ended.as_str_name();
    let mut out: Vec<Home> = Vec::new();
    let adults = duplicates::adult_personnummers(h);
    if !adults.is_empty() {
        let mut q = Filter::new("SELECT doc FROM homes WHERE 1 = 1");
        q.and("id <> ?", &h.id);
        q.and("status <> ?", ended);
        let params: Vec<String> = adults.iter().map(|p| p.to_string()).collect();
        q.and_any(
            "id IN (SELECT home_id FROM home_members WHERE personnummer = ?)",
            &params,
        );
        q.raw(" ORDER BY id");
        out = DOCS.from_rows(&q.fetch_all(&mut *conn).await?)?;
    }
    if let Some(key) = duplicates::home_address_key(h) {
        let rows = sqlx::query(
            "SELECT doc FROM homes WHERE address_key = $1 AND id <> $2 AND status <> $3 ORDER BY id",
        )
        .bind(key)
        .bind(&h.id)
        .bind(ended)
        .fetch_all(&mut *conn)
        .await?;
        for other in DOCS.from_rows(&rows)? {
            if !out.iter().any(|o| o.id == other.id) {
                out.push(other);
            }
        }
    }
    Ok(out)
}

/// How many homes of an agency have not ended.
pub async fn count_of_agency<'e, E: Executor<'e, Database = Any>>(e: E, agency_id: &str) -> R<i64> {
    let row = sqlx::query("SELECT COUNT(*) FROM homes WHERE agency_id = $1 AND status <> $2")
        .bind(agency_id)
        .bind(HomeStatus::Ended.as_str_name())
        .fetch_one(e)
        .await?;
    Ok(row.try_get::<i64, _>(0)?)
}

/// Keep the home's register-extract due date (ADR 0028) in its column,
/// for [`record_checks_overdue`]; written with every change of the home.
pub async fn set_record_checks_due(conn: &mut AnyConnection, h: &Home) -> R<()> {
    let due = dates::opt_from_proto("", h.record_checks_due_on.as_ref())
        .ok()
        .flatten()
        .map(dates::date_text)
        .unwrap_or_default();
    sqlx::query("UPDATE homes SET record_checks_due = $2 WHERE id = $1")
        .bind(&h.id)
        .bind(&due)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Approved homes whose register extracts were due before `as_of`
/// ([`crate::domain::evidence::record_checks_overdue`]), `municipality`
/// "" for all, in id order, one page.
pub async fn record_checks_overdue<'e, E: Executor<'e, Database = Any>>(
    e: E,
    as_of: NaiveDate,
    municipality: &str,
    page: &Page,
) -> R<Vec<Home>> {
    let mut q = Filter::new("SELECT doc FROM homes WHERE 1 = 1");
    q.and(
        &format!(
            "(record_checks_due <> '' AND record_checks_due < ? AND status IN ({}))",
            reconfirmed_statuses_sql()
        ),
        &dates::date_text(as_of),
    );
    if !municipality.is_empty() {
        q.and("municipality_code = ?", municipality);
    }
    if let Some(after) = &page.after {
        q.and("id > ?", after);
    }
    q.raw(&format!(" ORDER BY id LIMIT {}", page.limit()));
    Ok(DOCS.from_rows(&q.fetch_all(e).await?)?)
}

/// Homes with more than `above` children placed (the report to IVO,
/// [`crate::domain::placement::ivo_report_required`]), `municipality` ""
/// for all, in id order, one page.
pub async fn above_ivo_limit<'e, E: Executor<'e, Database = Any>>(
    e: E,
    above: u32,
    municipality: &str,
    page: &Page,
) -> R<Vec<Home>> {
    let mut q = Filter::new("SELECT doc FROM homes WHERE 1 = 1");
    q.raw(&format!(" AND placed_count > {above}"));
    if !municipality.is_empty() {
        q.and("municipality_code = ?", municipality);
    }
    if let Some(after) = &page.after {
        q.and("id > ?", after);
    }
    q.raw(&format!(" ORDER BY id LIMIT {}", page.limit()));
    Ok(DOCS.from_rows(&q.fetch_all(e).await?)?)
}

#[cfg(test)]
mod tests {
    //! The SQL filters here and the domain's rules must agree: every home of
    //! a grid of states is stored, and each query's answer is compared with
    //! the domain function over all of them.
    use super::*;
    use crate::domain::home::{has_free_place, reconfirmation_overdue};
    use crate::store::testing::{ids, stores};
    use samling_proto::registry::v1::{Address, HouseholdMember, MemberRole};

    const STATUSES: [HomeStatus; 7] = [
        HomeStatus::Applicant,
        HomeStatus::InTraining,
        HomeStatus::UnderAssessment,
        HomeStatus::Approved,
        HomeStatus::Active,
        HomeStatus::Paused,
        HomeStatus::Ended,
    ];
    /// Synthetic numbers: only equality matters to the store.
    const PNRS: [&str; 5] = [
        "p-adult-0",
        "p-adult-1",
        "p-adult-2",
        "p-adult-3",
        "p-adult-4",
    ];
    const STREETS: [&str; 4] = ["Storgatan 1", "storgatan  1", "Lillgatan 2", "Kyrkvägen 3"];

    fn as_of() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
    }

    /// Home `i` of the grid: every status with no due date and one before,
    /// on and after `as_of`; capacity, placed children, jour, protection,
    /// members and address varying with `i`.
    fn home(i: usize) -> Home {
        let status = STATUSES[i % 7];
        let due = match (i / 7) % 4 {
            0 => None,
            1 => as_of().pred_opt(),
            2 => Some(as_of()),
            _ => as_of().succ_opt(),
        };
        let mut members = vec![HouseholdMember {
            id: format!("m{i}"),
            personnummer: PNRS[i % 5].into(),
            role: MemberRole::Carer as i32,
            ..Default::default()
        }];
        if i.is_multiple_of(3) {
            // A child member sharing a number with other homes' adults.
            members.push(HouseholdMember {
                id: format!("c{i}"),
                personnummer: PNRS[(i + 2) % 5].into(),
                role: MemberRole::Child as i32,
                ..Default::default()
            });
        }
        Home {
            id: format!("home-{i:03}"),
            version: 1,
            status: status as i32,
            home_type: HomeType::FamilyHome as i32,
            municipality_code: if i.is_multiple_of(2) { "0180" } else { "1480" }.into(),
            capacity: [0, 2, 4, 10][i % 4],
            placed_count: (i % 5) as i32,
            jour_available: i % 3 == 1,
            protected_identity: i % 4 == 3,
            reconfirmation_due_on: due.map(dates::to_proto),
            address: (i % 9 != 8).then(|| Address {
                street: STREETS[i % 4].into(),
                postal_code: "111 22".into(),
                city: "Stockholm".into(),
            }),
            members,
            ..Default::default()
        }
    }

    fn grid() -> Vec<Home> {
        (0..56).map(home).collect()
    }

    fn all_pages() -> Page {
        Page::first(500)
    }

    #[tokio::test]
    async fn sql_and_domain_agree_on_overdue_free_capacity_jour_and_duplicates() {
        let rules = Rules::default();
        let homes = grid();
        for (b, store, _guard) in stores().await {
            let mut conn = store.write.acquire().await.unwrap();
            for h in &homes {
                save(&mut conn, h, &rules, true).await.unwrap();
            }
            drop(conn);
            let read = &store.read;
            let want =
                |f: &dyn Fn(&Home) -> bool| ids(homes.iter().filter(|h| f(h)).map(|h| &h.id));
            let got = |found: Vec<Home>| ids(found.iter().map(|h| &h.id));

            let overdue_sql = overdue(read, as_of(), "", None, &all_pages())
                .await
                .unwrap();
            let overdue_domain = want(&|h| reconfirmation_overdue(h, as_of()));
            assert!(!overdue_domain.is_empty(), "the grid has overdue homes");
            assert_eq!(got(overdue_sql), overdue_domain, "{b}: ListOverdueHomes");
            let in_1480 = overdue(read, as_of(), "1480", None, &all_pages())
                .await
                .unwrap();
            assert_eq!(
                got(in_1480),
                want(&|h| reconfirmation_overdue(h, as_of()) && h.municipality_code == "1480"),
                "{b}: ListOverdueHomes in one municipality"
            );

            let search_with =
                |s: Search| async move { search(read, &s, &all_pages()).await.unwrap() };
            let not_overdue = search_with(Search {
                not_overdue_on: Some(as_of()),
                ..Default::default()
            })
            .await;
            assert_eq!(
                got(not_overdue),
                want(&|h| !reconfirmation_overdue(h, as_of())),
                "{b}: SearchHomes leaves out exactly the overdue homes"
            );
            let free = search_with(Search {
                with_free_capacity: true,
                ..Default::default()
            })
            .await;
            let free_domain = want(&|h| has_free_place(h, &rules));
            assert!(!free_domain.is_empty() && free_domain.len() < homes.len());
            assert_eq!(got(free), free_domain, "{b}: with_free_capacity");
            let jour = search_with(Search {
                jour_available_only: true,
                ..Default::default()
            })
            .await;
            assert_eq!(
                got(jour),
                want(&|h| h.jour_available),
                "{b}: jour_available_only"
            );
            let open = search_with(Search {
                without_protected: true,
                ..Default::default()
            })
            .await;
            assert_eq!(
                got(open),
                want(&|h| !h.protected_identity),
                "{b}: without_protected"
            );

            let mut conn = store.write.acquire().await.unwrap();
            let mut flagged = 0;
            for h in &homes {
                let candidates = duplicate_candidates(&mut conn, h).await.unwrap();
                let domain = want(&|o| !duplicates::home_duplicate_kinds(h, o).is_empty());
                flagged += domain.len();
                assert_eq!(
                    got(candidates),
                    domain,
                    "{b}: duplicate candidates of {}",
                    h.id
                );
            }
            assert!(flagged > 0, "the grid has duplicates");
            drop(conn);
            store.close().await;
        }
    }

    #[tokio::test]
    async fn an_agency_counts_its_homes_that_have_not_ended() {
        let rules = Rules::default();
        for (b, store, _guard) in stores().await {
            let mut conn = store.write.acquire().await.unwrap();
            let mut want = 0;
            for (i, s) in STATUSES.iter().enumerate() {
                let mut h = home(i);
                h.status = *s as i32;
                h.agency_id = "agency-1".into();
                save(&mut conn, &h, &rules, true).await.unwrap();
                want += i64::from(!crate::domain::home::is_ended(&h));
            }
            drop(conn);
            assert_eq!(
                count_of_agency(&store.read, "agency-1").await.unwrap(),
                want,
                "{b}"
            );
            assert_eq!(
                count_of_agency(&store.read, "agency-2").await.unwrap(),
                0,
                "{b}"
            );
            store.close().await;
        }
    }
}
