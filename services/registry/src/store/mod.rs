//! SQL for the register (portable across SQLite and PostgreSQL via `sqlx::Any`).
//!
//! Each record is kept whole as `doc` (base64 protobuf) next to the columns
//! queries filter on. Functions take any executor: the read pool, or the
//! connection of a [`samling_kit::tx::WriteTx`].

use crate::domain::RegistryError;
use crate::domain::Rules;
use crate::domain::home::{address_key, effective_capacity, reconfirmation_due};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use samling_proto::registry::v1::{
    Child, DuplicateFlag, Home, HomeStatus, Placement, PlacementStatus,
};
use sqlx::{Any, Executor, Row};

pub mod cache;

pub fn encode<M: prost::Message>(m: &M) -> String {
    STANDARD.encode(m.encode_to_vec())
}

pub fn decode<M: prost::Message + Default>(s: &str) -> Result<M, RegistryError> {
    let bytes = STANDARD.decode(s).map_err(|e| {
        RegistryError::Kit(samling_kit::error::KitError::Internal(format!(
            "stored record: {e}"
        )))
    })?;
    M::decode(bytes.as_slice()).map_err(|e| {
        RegistryError::Kit(samling_kit::error::KitError::Internal(format!(
            "stored record: {e}"
        )))
    })
}

/// Decode the `doc` column (first column) of every row.
pub fn decode_rows<M: prost::Message + Default>(
    rows: &[sqlx::any::AnyRow],
) -> Result<Vec<M>, RegistryError> {
    rows.iter()
        .map(|r| decode::<M>(&r.try_get::<String, _>(0)?))
        .collect()
}

/// Escape a value for `LIKE … ESCAPE '\'`.
pub fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

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
    s
}

pub fn status_name(h: &Home) -> &'static str {
    HomeStatus::try_from(h.status)
        .unwrap_or(HomeStatus::Unspecified)
        .as_str_name()
}

/// Load one document by id from `table`.
pub async fn load_doc<'e, M, E>(
    e: E,
    table: &'static str,
    id: &str,
) -> Result<Option<M>, RegistryError>
where
    M: prost::Message + Default,
    E: Executor<'e, Database = Any>,
{
    let sql = format!("SELECT doc FROM {table} WHERE id = $1");
    let row = sqlx::query(&sql).bind(id).fetch_optional(e).await?;
    match row {
        Some(r) => Ok(Some(decode(&r.try_get::<String, _>(0)?)?)),
        None => Ok(None),
    }
}

pub async fn must_load<'e, M, E>(
    e: E,
    table: &'static str,
    what: &str,
    id: &str,
) -> Result<M, RegistryError>
where
    M: prost::Message + Default,
    E: Executor<'e, Database = Any>,
{
    load_doc(e, table, id)
        .await?
        .ok_or_else(|| RegistryError::NotFound(format!("{what} {id}")))
}

/// Insert or update a home row (and its members), checking the version it
/// was read at so no concurrent change is lost.
pub async fn save_home(
    conn: &mut sqlx::AnyConnection,
    h: &Home,
    rules: &Rules,
    is_new: bool,
) -> Result<(), RegistryError> {
    let due = reconfirmation_due(h)
        .map(samling_kit::dates::date_text)
        .unwrap_or_default();
    let addr = h.address.as_ref().map(address_key).unwrap_or_default();
    let home_type = samling_proto::registry::v1::HomeType::try_from(h.home_type)
        .unwrap_or_default()
        .as_str_name();
    let cap = i64::from(effective_capacity(h, rules));
    let doc = encode(h);
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

pub async fn insert_version(
    conn: &mut sqlx::AnyConnection,
    h: &Home,
    subject: &str,
    role: &str,
    change: &str,
    reason: &str,
) -> Result<(), RegistryError> {
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
    .bind(encode(h))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Municipalities with active / any placements in a home, and the first
/// placing municipality (earliest active placement).
pub async fn involvement<'e, E>(
    e: E,
    home_id: &str,
) -> Result<(Vec<String>, Vec<String>, Option<String>), RegistryError>
where
    E: Executor<'e, Database = Any>,
{
    let rows = sqlx::query(
        "SELECT placing_municipality, status, start_date FROM placements WHERE home_id = $1 ORDER BY start_date, id",
    )
    .bind(home_id)
    .fetch_all(e)
    .await?;
    let mut active = Vec::new();
    let mut ever = Vec::new();
    let mut first = None;
    for r in rows {
        let m: String = r.try_get(0)?;
        let s: String = r.try_get(1)?;
        if s == PlacementStatus::Active.as_str_name() {
            if first.is_none() {
                first = Some(m.clone());
            }
            if !active.contains(&m) {
                active.push(m.clone());
            }
        }
        if !ever.contains(&m) {
            ever.push(m);
        }
    }
    Ok((active, ever, first))
}

/// Note who registered a child (for [`vouched_placing`]).
pub async fn set_registered_by(
    conn: &mut sqlx::AnyConnection,
    child_id: &str,
    subject: &str,
) -> Result<(), RegistryError> {
    sqlx::query("UPDATE children SET registered_by = $1 WHERE id = $2")
        .bind(subject)
        .bind(child_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Note who made a placement (for [`vouched_placing`]).
pub async fn set_created_by(
    conn: &mut sqlx::AnyConnection,
    placement_id: &str,
    subject: &str,
) -> Result<(), RegistryError> {
    sqlx::query("UPDATE placements SET created_by = $1 WHERE id = $2")
        .bind(subject)
        .bind(placement_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Municipalities that placed a child in a home with a placement not made
/// by the same caller who registered the child: only these make a protected
/// home a municipality's business (a self-registered child placed by its
/// registrar proves nothing).
pub async fn vouched_placing<'e, E>(e: E, home_id: &str) -> Result<Vec<String>, RegistryError>
where
    E: Executor<'e, Database = Any>,
{
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

pub async fn save_child(
    conn: &mut sqlx::AnyConnection,
    c: &Child,
    pnr: &str,
    is_new: bool,
) -> Result<(), RegistryError> {
    let sql = if is_new {
        "INSERT INTO children (id, personnummer, placing_municipality, doc) VALUES ($1, $2, $3, $4)"
    } else {
        "UPDATE children SET personnummer = $2, placing_municipality = $3, doc = $4 WHERE id = $1"
    };
    sqlx::query(sql)
        .bind(&c.id)
        .bind(pnr)
        .bind(&c.placing_municipality_code)
        .bind(encode(c))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn save_placement(
    conn: &mut sqlx::AnyConnection,
    p: &Placement,
    is_new: bool,
) -> Result<(), RegistryError> {
    let status = PlacementStatus::try_from(p.status)
        .unwrap_or_default()
        .as_str_name();
    let start = samling_kit::dates::opt_from_proto("start_date", p.start_date.as_ref())?
        .map(samling_kit::dates::date_text)
        .unwrap_or_default();
    let custody = samling_kit::dates::opt_from_proto(
        "custody",
        p.custody_transfer_consideration_on.as_ref(),
    )?
    .map(samling_kit::dates::date_text)
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
        .bind(encode(p))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn insert_flag(
    conn: &mut sqlx::AnyConnection,
    f: &DuplicateFlag,
) -> Result<(), RegistryError> {
    save_flag(conn, f, true).await
}

pub async fn save_flag(
    conn: &mut sqlx::AnyConnection,
    f: &DuplicateFlag,
    is_new: bool,
) -> Result<(), RegistryError> {
    let status = samling_proto::registry::v1::DuplicateStatus::try_from(f.status)
        .unwrap_or_default()
        .as_str_name();
    let kind = samling_proto::registry::v1::DuplicateKind::try_from(f.kind)
        .unwrap_or_default()
        .as_str_name();
    let sql = if is_new {
        "INSERT INTO duplicate_flags (id, status, kind, record_id, other_record_id, doc) VALUES ($1, $2, $3, $4, $5, $6)"
    } else {
        "UPDATE duplicate_flags SET status = $2, kind = $3, record_id = $4, other_record_id = $5, doc = $6 WHERE id = $1"
    };
    sqlx::query(sql)
        .bind(&f.id)
        .bind(status)
        .bind(kind)
        .bind(&f.record_id)
        .bind(&f.other_record_id)
        .bind(encode(f))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Save a document-only record (agencies, units, requests, decisions) with
/// its filter columns given as (name, value) pairs.
pub async fn save_simple<M: prost::Message>(
    conn: &mut sqlx::AnyConnection,
    table: &'static str,
    id: &str,
    columns: &[(&'static str, ColumnValue)],
    m: &M,
    is_new: bool,
) -> Result<(), RegistryError> {
    let sql = if is_new {
        let names: Vec<&str> = columns.iter().map(|(n, _)| *n).collect();
        let params: Vec<String> = (0..columns.len()).map(|i| format!("${}", i + 3)).collect();
        format!(
            "INSERT INTO {table} (id, doc{}{}) VALUES ($1, $2{}{})",
            if names.is_empty() { "" } else { ", " },
            names.join(", "),
            if params.is_empty() { "" } else { ", " },
            params.join(", ")
        )
    } else {
        let sets: Vec<String> = columns
            .iter()
            .enumerate()
            .map(|(i, (n, _))| format!(", {n} = ${}", i + 3))
            .collect();
        format!("UPDATE {table} SET doc = $2{} WHERE id = $1", sets.concat())
    };
    let mut q = sqlx::query(&sql).bind(id).bind(encode(m));
    for (_, v) in columns {
        q = match v {
            ColumnValue::Text(s) => q.bind(s.clone()),
            ColumnValue::Int(i) => q.bind(*i),
        };
    }
    q.execute(&mut *conn).await?;
    Ok(())
}

#[derive(Debug, Clone)]
pub enum ColumnValue {
    Text(String),
    Int(i64),
}

/// A SELECT built from optional filters: each `?` becomes the next `$n`.
#[derive(Debug)]
pub struct Filter {
    sql: String,
    binds: Vec<String>,
}

impl Filter {
    pub fn new(select: &str) -> Self {
        Filter {
            sql: select.to_string(),
            binds: Vec::new(),
        }
    }

    fn placeholder(&mut self, clause: &str, value: &str) -> String {
        self.binds.push(value.to_string());
        clause.replacen('?', &format!("${}", self.binds.len()), 1)
    }

    /// `AND clause`, with one `?` for `value`.
    pub fn and(&mut self, clause: &str, value: &str) {
        let c = self.placeholder(clause, value);
        self.sql.push_str(" AND ");
        self.sql.push_str(&c);
    }

    /// `AND (clause OR clause …)`, one per value; nothing when `values` is empty.
    pub fn and_any(&mut self, clause: &str, values: &[String]) {
        if values.is_empty() {
            return;
        }
        let parts: Vec<String> = values.iter().map(|v| self.placeholder(clause, v)).collect();
        self.sql.push_str(&format!(" AND ({})", parts.join(" OR ")));
    }

    pub fn raw(&mut self, sql: &str) {
        self.sql.push_str(sql);
    }

    pub async fn fetch_all<'e, E: Executor<'e, Database = Any>>(
        &self,
        e: E,
    ) -> Result<Vec<sqlx::any::AnyRow>, RegistryError> {
        let mut q = sqlx::query(&self.sql);
        for b in &self.binds {
            q = q.bind(b);
        }
        Ok(q.fetch_all(e).await?)
    }
}
