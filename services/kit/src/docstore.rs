//! The document store every service uses (ADR 0003): each row keeps its
//! record whole as `doc` (base64 protobuf) beside the columns queries filter
//! on, and `id` as the key.
//!
//! A service names its tables once as [`Docs`] constants (`Docs::<Home>::new
//! ("homes", "home")`) and writes its queries as named functions per
//! aggregate in its `store/`; those functions use the typed helpers here to
//! read one document by id, decode listed rows, and save a document with its
//! filter columns. Errors are [`KitError`]s naming the record: a missing one
//! is `NotFound` ("home 0191… not found"), an undecodable one `Internal`
//! ("stored home: …", never a value of the record).
//!
//! Functions take any executor: the read pool, or a write transaction's
//! connection.

use crate::error::KitError;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, Executor, Row};
use std::marker::PhantomData;

/// A record as the `doc` column holds it.
pub fn encode<M: prost::Message>(m: &M) -> String {
    STANDARD.encode(m.encode_to_vec())
}

/// The record of a `doc` column; `record` names it in the error.
pub fn decode<M: prost::Message + Default>(record: &str, doc: &str) -> Result<M, KitError> {
    let bytes = STANDARD
        .decode(doc)
        .map_err(|e| KitError::Internal(format!("stored {record}: {e}")))?;
    M::decode(bytes.as_slice()).map_err(|e| KitError::Internal(format!("stored {record}: {e}")))
}

/// Escape a value for `LIKE … ESCAPE '\'`.
pub fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// A filter column's value when a document is saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Text(String),
    Int(i64),
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Text(s)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(s.to_string())
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}

/// One table of documents of record type `M`: `id`, `doc`, filter columns.
/// `table` is a constant of the service, never a caller's text.
pub struct Docs<M> {
    table: &'static str,
    record: &'static str,
    _m: PhantomData<fn() -> M>,
}

impl<M> std::fmt::Debug for Docs<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Docs")
            .field("table", &self.table)
            .field("record", &self.record)
            .finish()
    }
}

impl<M> Docs<M> {
    /// `table` holds records called `record` in messages ("home", "unit").
    pub const fn new(table: &'static str, record: &'static str) -> Self {
        Docs {
            table,
            record,
            _m: PhantomData,
        }
    }

    pub fn table(&self) -> &'static str {
        self.table
    }

    pub fn record(&self) -> &'static str {
        self.record
    }

    /// The error for a missing record: `"<record> <id> not found"`.
    pub fn not_found(&self, id: &str) -> KitError {
        KitError::NotFound(format!("{} {id}", self.record))
    }
}

impl<M: prost::Message + Default> Docs<M> {
    pub fn decode(&self, doc: &str) -> Result<M, KitError> {
        decode(self.record, doc)
    }

    /// The record in `column` of `row` (a `doc` column).
    pub fn from_row(&self, row: &AnyRow, column: usize) -> Result<M, KitError> {
        self.decode(&row.try_get::<String, _>(column)?)
    }

    /// The records of rows whose first column is `doc`, in order.
    pub fn from_rows(&self, rows: &[AnyRow]) -> Result<Vec<M>, KitError> {
        rows.iter().map(|r| self.from_row(r, 0)).collect()
    }

    /// The record with `id`, if there is one.
    pub async fn get<'e, E>(&self, e: E, id: &str) -> Result<Option<M>, KitError>
    where
        E: Executor<'e, Database = Any>,
    {
        let sql = format!("SELECT doc FROM {} WHERE id = $1", self.table);
        let row = sqlx::query(&sql).bind(id).fetch_optional(e).await?;
        row.map(|r| self.from_row(&r, 0)).transpose()
    }

    /// The record with `id`, or `NotFound` naming it.
    pub async fn must_get<'e, E>(&self, e: E, id: &str) -> Result<M, KitError>
    where
        E: Executor<'e, Database = Any>,
    {
        self.get(e, id).await?.ok_or_else(|| self.not_found(id))
    }

    /// Insert a new record with its filter columns.
    pub async fn insert(
        &self,
        conn: &mut AnyConnection,
        id: &str,
        doc: &M,
        columns: &[(&'static str, Value)],
    ) -> Result<(), KitError> {
        let sql = insert_sql(self.table, columns);
        bind_columns(sqlx::query(&sql).bind(id).bind(encode(doc)), columns)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    /// Replace a stored record and its filter columns; `NotFound` when no
    /// row has `id`.
    pub async fn update(
        &self,
        conn: &mut AnyConnection,
        id: &str,
        doc: &M,
        columns: &[(&'static str, Value)],
    ) -> Result<(), KitError> {
        let sql = update_sql(self.table, columns);
        let done = bind_columns(sqlx::query(&sql).bind(id).bind(encode(doc)), columns)
            .execute(&mut *conn)
            .await?;
        if done.rows_affected() == 0 {
            return Err(self.not_found(id));
        }
        Ok(())
    }

    /// [`Docs::insert`] when `is_new`, else [`Docs::update`].
    pub async fn save(
        &self,
        conn: &mut AnyConnection,
        id: &str,
        doc: &M,
        columns: &[(&'static str, Value)],
        is_new: bool,
    ) -> Result<(), KitError> {
        if is_new {
            self.insert(conn, id, doc, columns).await
        } else {
            self.update(conn, id, doc, columns).await
        }
    }
}

fn bind_columns<'q>(
    mut q: crate::db::AnyQuery<'q>,
    columns: &'q [(&'static str, Value)],
) -> crate::db::AnyQuery<'q> {
    for (_, v) in columns {
        q = match v {
            Value::Text(s) => q.bind(s.as_str()),
            Value::Int(i) => q.bind(*i),
        };
    }
    q
}

/// `INSERT INTO t (id, doc, a, b) VALUES ($1, $2, $3, $4)`.
fn insert_sql(table: &str, columns: &[(&'static str, Value)]) -> String {
    let mut names = String::from("id, doc");
    let mut params = String::from("$1, $2");
    for (i, (n, _)) in columns.iter().enumerate() {
        names.push_str(&format!(", {n}"));
        params.push_str(&format!(", ${}", i + 3));
    }
    format!("INSERT INTO {table} ({names}) VALUES ({params})")
}

/// `UPDATE t SET doc = $2, a = $3 WHERE id = $1`.
fn update_sql(table: &str, columns: &[(&'static str, Value)]) -> String {
    let sets: String = columns
        .iter()
        .enumerate()
        .map(|(i, (n, _))| format!(", {n} = ${}", i + 3))
        .collect();
    format!("UPDATE {table} SET doc = $2{sets} WHERE id = $1")
}

/// A SELECT built from optional filters: each clause's `?` becomes the next
/// `$n`, bound to the clause's value (text).
#[derive(Debug, Clone)]
pub struct Filter {
    sql: String,
    binds: Vec<String>,
}

impl Filter {
    /// `select` ends in a WHERE clause the filters extend (`… WHERE 1 = 1`).
    pub fn new(select: &str) -> Self {
        Filter {
            sql: select.to_string(),
            binds: Vec::new(),
        }
    }

    fn placeholder(&mut self, clause: &str, value: &str) -> String {
        self.binds.push(value.to_string());
        clause.replace('?', &format!("${}", self.binds.len()))
    }

    /// `AND clause`, every `?` in it standing for `value`.
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

    /// SQL text without values (constants of the service only).
    pub fn raw(&mut self, sql: &str) {
        self.sql.push_str(sql);
    }

    /// The statement and its values, in `$n` order.
    pub fn sql(&self) -> (&str, &[String]) {
        (&self.sql, &self.binds)
    }

    pub async fn fetch_all<'e, E: Executor<'e, Database = Any>>(
        &self,
        e: E,
    ) -> Result<Vec<AnyRow>, KitError> {
        let mut q = sqlx::query(&self.sql);
        for b in &self.binds {
            q = q.bind(b.as_str());
        }
        Ok(q.fetch_all(e).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use samling_proto::common::v1::Date;

    fn date(year: i32) -> Date {
        Date {
            year,
            month: 11,
            day: 30,
        }
    }

    #[test]
    fn a_record_round_trips_through_its_doc_column() {
        let d = date(2026);
        assert_eq!(decode::<Date>("date", &encode(&d)).unwrap(), d);
    }

    #[test]
    fn an_undecodable_doc_is_an_internal_error_naming_the_record() {
        let e = decode::<Date>("home", "not base64 !").unwrap_err();
        assert!(matches!(e, KitError::Internal(_)));
        assert!(e.to_string().starts_with("stored home: "), "{e}");
        // Valid base64, not a message: a tag with wire type 7 does not exist.
        let e = decode::<Date>("unit", &STANDARD.encode([0x0f_u8])).unwrap_err();
        assert!(e.to_string().starts_with("stored unit: "), "{e}");
    }

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(like_escape(r"50%_a\b"), r"50\%\_a\\b");
        assert_eq!(like_escape("plain"), "plain");
    }

    #[test]
    fn save_statements_number_their_columns_after_id_and_doc() {
        let cols = [("year", Value::Int(1)), ("label", Value::from("x"))];
        assert_eq!(
            insert_sql("dated", &cols),
            "INSERT INTO dated (id, doc, year, label) VALUES ($1, $2, $3, $4)"
        );
        assert_eq!(
            update_sql("dated", &cols),
            "UPDATE dated SET doc = $2, year = $3, label = $4 WHERE id = $1"
        );
        assert_eq!(
            insert_sql("dated", &[]),
            "INSERT INTO dated (id, doc) VALUES ($1, $2)"
        );
    }

    #[test]
    fn a_filter_numbers_its_values_in_order() {
        let mut f = Filter::new("SELECT doc FROM t WHERE 1 = 1");
        f.and("a = ?", "x");
        f.and("(c = ? OR d = ?)", "w");
        f.and_any("b = ?", &[]);
        f.and_any("b = ?", &["y".into(), "z".into()]);
        f.raw(" ORDER BY id");
        let (sql, binds) = f.sql();
        assert_eq!(
            sql,
            "SELECT doc FROM t WHERE 1 = 1 AND a = $1 AND (c = $2 OR d = $2) AND (b = $3 OR b = $4) ORDER BY id"
        );
        assert_eq!(binds, ["x", "w", "y", "z"]);
    }
}
