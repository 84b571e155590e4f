//! The dashboards' statistics (issue 25, ADR 0050):
//!
//! * `GET /v1/statistics?scope=national|<region>&county=&municipality=&from=&to=&tables=`
//!   — every statistics table of every service asked (JSON);
//! * `GET /v1/statistics/{table}.csv?…` — one table as CSV, cells as shown.
//!
//! The gateway asks each region's services as itself (`service`: raw
//! figures; the caller was authorized here first), adds the regions up
//! cell by cell (a ratio from its summed parts, never an average), and
//! only then applies disclosure control once, for the caller's role
//! (`samling_kit::disclosure`): a national figure is also hidden wherever a
//! region hides its part, since each region's table is shown to the same
//! roles. A (region, service) that does not answer within the fan-out
//! deadline is listed in `missing` and the answer is `partial`.

#![allow(clippy::result_large_err)] // Problem is the error response itself.

use crate::dispatch::{self, authenticate, limit_token};
use crate::problem::Problem;
use crate::{Caller, Gateway};
use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use samling_kit::auth::{AuthContext, Role};
use samling_kit::disclosure;
use samling_kit::error::Reason;
use samling_proto::statistics::v1::{GetStatisticsRequest, StatCell, StatTable, StatisticsReport};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use tonic::transport::Channel;

/// The services that answer `GetStatistics`, in the order their tables are
/// listed.
pub const SERVICES: &[&str] = &["registry", "recruitment"];

/// The statistics routes: (path, method, operation id), as the OpenAPI
/// document lists them.
pub const ROUTES: &[(&str, &str, &str)] = &[
    ("/v1/statistics", "GET", "getStatistics"),
    ("/v1/statistics/{file}", "GET", "getStatisticsCsv"),
];

/// The query parameters (anything else is refused, named).
const PARAMS: &[&str] = &["scope", "county", "municipality", "from", "to", "tables"];

/// The statistics routes (JSON and CSV).
pub fn router(gw: Arc<Gateway>) -> Router {
    let json_gw = gw.clone();
    Router::new()
        .route(
            "/v1/statistics",
            axum::routing::get(move |req: Request| handle(json_gw.clone(), None, req)),
        )
        .route(
            "/v1/statistics/{file}",
            axum::routing::get(
                move |axum::extract::Path(file): axum::extract::Path<String>, req: Request| {
                    handle(gw.clone(), Some(file), req)
                },
            ),
        )
        .route_layer(crate::envelope::EnvelopeLayer)
}

async fn handle(gw: Arc<Gateway>, csv: Option<String>, req: Request) -> Response {
    let (parts, _) = req.into_parts();
    let rid = crate::envelope::request_id_of(&parts.extensions, &parts.headers);
    let mut role = "-";
    let result = async {
        let caller =
            authenticate(&gw, &parts.headers, dispatch::peer_ip(&parts.extensions)).await?;
        role = caller.ctx.role.as_str();
        limit_token(&gw, &caller).await?;
        let table = match &csv {
            None => None,
            Some(file) => Some(
                file.strip_suffix(".csv")
                    .filter(|t| !t.is_empty())
                    .ok_or_else(|| {
                        Problem::new(tonic::Code::NotFound, "no such route: a table is <id>.csv")
                    })?
                    .to_string(),
            ),
        };
        let mut q = Params::parse(parts.uri.query())?;
        if let Some(t) = &table {
            q.tables = vec![t.clone()];
        }
        let answer = answer(&gw, &caller, &q, &rid).await?;
        let response = match table {
            None => {
                let body = serde_json::to_vec(&answer.to_json(&gw)).unwrap_or_default();
                dispatch::charge_answer(&gw, &caller, body.len()).await;
                dispatch::json_response(StatusCode::OK, body)
            }
            Some(id) => {
                let t = answer.tables.iter().find(|t| t.id == id).ok_or_else(|| {
                    if answer.missing.is_empty() {
                        // Every service answered and none has it: no such table.
                        Problem::new(tonic::Code::NotFound, format!("table: no table {id}"))
                    } else {
                        // Every region that holds it was missing.
                        Problem::new(
                            tonic::Code::Unavailable,
                            format!("no region answered for table {id}"),
                        )
                    }
                })?;
                let body = to_csv(t).into_bytes();
                dispatch::charge_answer(&gw, &caller, body.len()).await;
                let mut r = (StatusCode::OK, body).into_response();
                r.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/csv; charset=utf-8"),
                );
                if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{id}.csv\""))
                {
                    r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
                }
                r
            }
        };
        Ok(response)
    }
    .await;
    dispatch::answer(role, &rid, result)
}

/// A statistics request's query, checked for form (the services check
/// the values again and name the field).
#[derive(Debug, Clone, Default)]
pub struct Params {
    /// `None`: national.
    pub region: Option<String>,
    pub county: String,
    pub municipality: String,
    pub from: String,
    pub to: String,
    pub tables: Vec<String>,
}

impl Params {
    pub fn parse(query: Option<&str>) -> Result<Params, Problem> {
        let pairs: Vec<(String, String)> = match query {
            Some(q) => serde_urlencoded::from_str(q)
                .map_err(|_| Problem::invalid("query", "is not a valid query string"))?,
            None => vec![],
        };
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        for (k, v) in pairs {
            if !PARAMS.contains(&k.as_str()) {
                return Err(Problem::invalid(&k, "is not a parameter of this route"));
            }
            if seen.insert(k.clone(), v).is_some() {
                return Err(Problem::invalid(&k, "is given twice"));
            }
        }
        let take = |k: &str| {
            seen.get(k)
                .map(|v| v.trim().to_string())
                .unwrap_or_default()
        };
        let date = |k: &str| -> Result<String, Problem> {
            let v = take(k);
            if v.is_empty() {
                return Err(Problem::invalid(k, "is required (YYYY-MM-DD)"));
            }
            chrono::NaiveDate::parse_from_str(&v, "%Y-%m-%d")
                .map_err(|_| Problem::invalid(k, "is not a date (YYYY-MM-DD)"))?;
            Ok(v)
        };
        let scope = take("scope");
        let region = match scope.as_str() {
            "" | "national" => None,
            r => Some(r.to_string()),
        };
        let tables: Vec<String> = take("tables")
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(String::from)
            .collect();
        for t in &tables {
            let service = t.split('.').next().unwrap_or("");
            if t.split('.').count() != 2 || !SERVICES.contains(&service) {
                return Err(Problem::invalid(
                    "tables",
                    format!("{t:?} is not a statistics table (<service>.<name>)"),
                ));
            }
        }
        Ok(Params {
            region,
            county: take("county"),
            municipality: take("municipality"),
            from: date("from")?,
            to: date("to")?,
            tables,
        })
    }

    fn request(&self, service: &str) -> Result<GetStatisticsRequest, Problem> {
        let d = |k: &str, v: &str| {
            chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .map(samling_kit::dates::to_proto)
                .map_err(|_| Problem::invalid(k, "is not a date (YYYY-MM-DD)"))
        };
        Ok(GetStatisticsRequest {
            county: self.county.clone(),
            municipality: self.municipality.clone(),
            from: Some(d("from", &self.from)?),
            to: Some(d("to", &self.to)?),
            tables: self
                .tables
                .iter()
                .filter(|t| t.split('.').next() == Some(service))
                .cloned()
                .collect(),
        })
    }

    /// The services asked: those whose tables are named (none named: all).
    fn services(&self) -> Vec<&'static str> {
        SERVICES
            .iter()
            .copied()
            .filter(|s| {
                self.tables.is_empty()
                    || self.tables.iter().any(|t| t.split('.').next() == Some(*s))
            })
            .collect()
    }
}

/// The figures as the caller may see them.
pub struct Answer {
    pub scope: String,
    pub from: String,
    pub to: String,
    /// (region, service, reason) that did not answer.
    pub missing: Vec<(String, String, String)>,
    pub tables: Vec<StatTable>,
}

impl Answer {
    pub fn to_json(&self, gw: &Gateway) -> Value {
        json!({
            "scope": self.scope,
            "from": self.from,
            "to": self.to,
            "partial": !self.missing.is_empty(),
            "missing": self.missing.iter().map(|(r, s, why)| json!({"region": r, "service": s, "reason": why})).collect::<Vec<_>>(),
            "regions": gw.regions.ids().into_iter().map(|r| json!({"code": r, "name": r})).collect::<Vec<_>>(),
            "tables": self.tables.iter().map(table_json).collect::<Vec<_>>(),
        })
    }
}

fn table_json(t: &StatTable) -> Value {
    json!({
        "id": t.id,
        "title": t.title,
        "unit": t.unit,
        "chart": t.chart,
        "counts": t.counts,
        "columns": t.columns.iter().map(|c| json!({"id": c.id, "label": c.label})).collect::<Vec<_>>(),
        "rows": t.rows.iter().map(|r| json!({
            "key": r.key,
            "label": r.label,
            "total": r.total,
            "cells": r.cells.iter().map(|c| json!({
                "display": c.display,
                "value": if c.suppressed { Value::Null } else { json!(c.value) },
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

/// A table as CSV: `;`-separated, the Swedish column labels as the header
/// (the first column the row labels, headed by the title), cells as shown.
pub fn to_csv(t: &StatTable) -> String {
    fn field(s: &str) -> String {
        if s.contains([';', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    }
    let mut out = String::new();
    let header: Vec<String> = std::iter::once(field(&t.title))
        .chain(t.columns.iter().map(|c| field(&c.label)))
        .collect();
    out.push_str(&header.join(";"));
    out.push_str("\r\n");
    for r in &t.rows {
        let line: Vec<String> = std::iter::once(field(&r.label))
            .chain(r.cells.iter().map(|c| field(&c.display)))
            .collect();
        out.push_str(&line.join(";"));
        out.push_str("\r\n");
    }
    out
}

/// How the caller sees figures: raw (`true`) or suppressed (`false`);
/// everyone else is refused here, before any region is asked.
fn raw_for(ctx: &AuthContext, q: &Params) -> Result<bool, Problem> {
    match ctx.role {
        Role::Service if ctx.is_public() => Err(Problem::refused(
            Reason::ForbiddenRole,
            "statistics are not public",
        )),
        Role::Service => Ok(true),
        Role::RegionalOfficer => {
            let own = ctx.region.as_deref().unwrap_or("");
            match q.region.as_deref() {
                Some(r) if r == own => Ok(true),
                _ => Err(Problem::refused(
                    Reason::OutOfRegion,
                    format!(
                        "scope: your token is for region {own}; the office reads its own region's figures"
                    ),
                )),
            }
        }
        r if r.aggregates_only() => {
            for (field, v) in [("municipality", &q.municipality), ("county", &q.county)] {
                if !v.is_empty() {
                    return Err(Problem::refused(
                        Reason::ForbiddenRole,
                        format!(
                            "{field}: the aggregate roles get regional and national figures only"
                        ),
                    ));
                }
            }
            Ok(false)
        }
        r => Err(Problem::refused(
            Reason::ForbiddenRole,
            format!(
                "statistics are for the office, analysts and councils, not a {}",
                r.as_str()
            ),
        )),
    }
}

/// Did the (region, service) fail to answer, rather than refuse?
fn absent(p: &Problem) -> bool {
    matches!(
        p.code.as_str(),
        "UNAVAILABLE"
            | "DEADLINE_EXCEEDED"
            | "CANCELLED"
            | "RESOURCE_EXHAUSTED"
            | "INTERNAL"
            | "UNKNOWN"
            | "UNIMPLEMENTED"
    )
}

/// Ask, add up and disclose.
pub async fn answer(
    gw: &Gateway,
    caller: &Caller,
    q: &Params,
    request_id: &str,
) -> Result<Answer, Problem> {
    let raw = raw_for(&caller.ctx, q)?;
    let regions: Vec<String> = match &q.region {
        Some(r) if gw.regions.serves(r) => vec![r.clone()],
        Some(r) => {
            return Err(Problem::invalid(
                "scope",
                format!("{r:?} is neither \"national\" nor a region served here"),
            ));
        }
        None => gw.regions.ids(),
    };
    let asking = gw.caller(
        AuthContext::new("gateway", Role::Service).with_purpose(format!(
            "statistics for a {} (disclosure control after adding up)",
            caller.ctx.role.as_str()
        )),
    );
    let deadline = gw.fanout_deadline().min(gw.call_timeout());
    let mut calls = Vec::new();
    for service in q.services() {
        let msg = q.request(service)?;
        for region in &regions {
            if gw.regions.get(region, service).is_none() {
                continue;
            }
            let (region, msg, asking) = (region.clone(), msg.clone(), &asking);
            calls.push(async move {
                let out = dispatch::call_region(
                    gw,
                    service,
                    &region,
                    asking,
                    request_id,
                    deadline,
                    msg,
                    |ch: Channel, r| call(service, ch, r),
                )
                .await;
                (region, service, out)
            });
        }
    }
    let mut reports: Vec<(String, StatisticsReport)> = Vec::new();
    let mut missing = Vec::new();
    for (region, service, out) in futures::future::join_all(calls).await {
        match out {
            Ok(r) => reports.push((region, r)),
            Err(p) if absent(&p) => missing.push((region, service.to_string(), p.code.clone())),
            Err(p) => return Err(p),
        }
    }
    let tables = disclose(add_up(&reports), &reports, raw, regions.len() > 1);
    Ok(Answer {
        scope: q.region.clone().unwrap_or_else(|| "national".into()),
        from: q.from.clone(),
        to: q.to.clone(),
        missing,
        tables,
    })
}

/// One service's `GetStatistics`.
async fn call(
    service: &str,
    ch: Channel,
    r: tonic::Request<GetStatisticsRequest>,
) -> Result<tonic::Response<StatisticsReport>, tonic::Status> {
    use samling_proto::recruitment::v1::recruitment_service_client::RecruitmentServiceClient;
    use samling_proto::registry::v1::registry_service_client::RegistryServiceClient;
    match service {
        "registry" => RegistryServiceClient::new(ch).get_statistics(r).await,
        "recruitment" => RecruitmentServiceClient::new(ch).get_statistics(r).await,
        other => Err(tonic::Status::unimplemented(format!(
            "{other} has no statistics"
        ))),
    }
}

/// The regions' tables added up, by table id, row key and column id (a
/// table's rows in the order first met, its total row last; ratio cells
/// recomputed from their summed parts).
pub fn add_up(reports: &[(String, StatisticsReport)]) -> Vec<StatTable> {
    let mut out: Vec<StatTable> = Vec::new();
    for (_, report) in reports {
        for t in &report.tables {
            match out.iter_mut().find(|o| o.id == t.id) {
                None => out.push(t.clone()),
                Some(o) => add_table(o, t),
            }
        }
    }
    for t in &mut out {
        if let Some(i) = t.rows.iter().position(|r| r.total) {
            let total = t.rows.remove(i);
            t.rows.push(total);
        }
        if !t.counts {
            let unit = t.unit.clone();
            for c in t.rows.iter_mut().flat_map(|r| r.cells.iter_mut()) {
                if c.denominator != 0 || unit == "procent" || unit == "dagar" {
                    c.value =
                        samling_kit::statistics::ratio_value(&unit, c.numerator, c.denominator);
                }
            }
        }
    }
    out
}

fn add_table(into: &mut StatTable, t: &StatTable) {
    // Columns by id (a series' months are the same in every region).
    for c in &t.columns {
        if !into.columns.iter().any(|o| o.id == c.id) {
            into.columns.push(c.clone());
            for r in &mut into.rows {
                r.cells.push(StatCell::default());
            }
        }
    }
    for row in &t.rows {
        let i = match into.rows.iter().position(|r| r.key == row.key) {
            Some(i) => i,
            None => {
                let mut r = row.clone();
                r.cells = vec![StatCell::default(); into.columns.len()];
                into.rows.push(r);
                into.rows.len() - 1
            }
        };
        for (c, cell) in t.columns.iter().zip(&row.cells) {
            if let Some(j) = into.columns.iter().position(|o| o.id == c.id) {
                let o = &mut into.rows[i].cells[j];
                o.value += cell.value;
                o.numerator += cell.numerator;
                o.denominator += cell.denominator;
            }
        }
    }
}

/// The added-up tables as the caller sees them: raw, or with disclosure
/// control (nationally over each region's own table).
fn disclose(
    mut tables: Vec<StatTable>,
    reports: &[(String, StatisticsReport)],
    raw: bool,
    national: bool,
) -> Vec<StatTable> {
    for t in &mut tables {
        if raw {
            disclosure::show_stat_table(t);
        } else {
            let parts: Vec<&StatTable> = if national {
                reports
                    .iter()
                    .flat_map(|(_, r)| r.tables.iter().filter(|p| p.id == t.id))
                    .collect()
            } else {
                vec![]
            };
            disclosure::suppress_stat_table(t, &parts);
        }
    }
    tables
}

/// The OpenAPI paths and schema of the statistics routes.
pub fn openapi(regions: &[String]) -> (Vec<(&'static str, Value)>, (&'static str, Value)) {
    let mut scopes: Vec<String> = vec!["national".into()];
    scopes.extend(regions.iter().cloned());
    let params = json!([
        {"name": "scope", "in": "query", "required": false, "description": "\"national\" (default) or a region", "schema": {"type": "string", "enum": scopes}},
        {"name": "county", "in": "query", "required": false, "description": "A county code (01–25); the office and services only", "schema": {"type": "string"}},
        {"name": "municipality", "in": "query", "required": false, "description": "A municipality code; the office and services only", "schema": {"type": "string"}},
        {"name": "from", "in": "query", "required": true, "description": "The period's first day", "schema": {"type": "string", "format": "date"}},
        {"name": "to", "in": "query", "required": true, "description": "The period's last day (at most 5 years after from)", "schema": {"type": "string", "format": "date"}},
        {"name": "tables", "in": "query", "required": false, "description": "Comma-separated table ids (<service>.<name>); none: every table", "schema": {"type": "string"}},
    ]);
    let errors = |extra: &[(&str, &str)]| {
        let mut m = serde_json::Map::new();
        for (code, why) in [
            ("400", "Invalid input; `field` names the offending field"),
            ("401", "Missing or invalid token"),
            ("403", "Not allowed for this role or region"),
            ("404", "No such table"),
            ("429", "Rate limit exceeded; see Retry-After"),
            ("503", "No region answered for the table"),
            ("504", "The region did not answer in time"),
        ]
        .iter()
        .chain(extra)
        {
            m.insert(
                (*code).into(),
                json!({"description": why, "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}),
            );
        }
        m
    };
    let roles = "Roles: service, regional_officer (its own region, raw), national_analyst and council_member (small counts suppressed: \"<5\", \"..\").";
    let mut json_responses = errors(&[]);
    json_responses.insert("200".into(), json!({"description": "OK", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/gateway.Statistics"}}}}));
    let mut csv_responses = errors(&[]);
    csv_responses.insert("200".into(), json!({"description": "The table as CSV (`;`, cells as shown)", "content": {"text/csv; charset=utf-8": {"schema": {"type": "string"}}}}));
    let mut csv_params = params.as_array().cloned().unwrap_or_default();
    csv_params.retain(|p| p["name"] != "tables");
    csv_params.insert(0, json!({"name": "file", "in": "path", "required": true, "description": "<table id>.csv", "schema": {"type": "string", "pattern": "^[a-z_]+\\.[a-z_]+\\.csv$"}}));
    let paths = vec![
        (
            ROUTES[0].0,
            json!({"get": {"operationId": ROUTES[0].2, "summary": "Statistics tables nationally or for a region (disclosure control for the aggregate roles); partial when a region did not answer in time", "description": roles, "parameters": params, "responses": json_responses, "security": [{"bearerAuth": []}]}}),
        ),
        (
            ROUTES[1].0,
            json!({"get": {"operationId": ROUTES[1].2, "summary": "One statistics table as CSV", "description": roles, "parameters": csv_params, "responses": csv_responses, "security": [{"bearerAuth": []}]}}),
        ),
    ];
    let cell = json!({"type": "object", "required": ["display", "value"], "properties": {"display": {"type": "string"}, "value": {"type": ["integer", "null"]}}});
    let schema = json!({
        "type": "object",
        "required": ["scope", "from", "to", "partial", "missing", "regions", "tables"],
        "properties": {
            "scope": {"type": "string"},
            "from": {"type": "string"},
            "to": {"type": "string"},
            "partial": {"type": "boolean"},
            "missing": {"type": "array", "items": {"type": "object", "properties": {"region": {"type": "string"}, "service": {"type": "string"}, "reason": {"type": "string"}}}},
            "regions": {"type": "array", "items": {"type": "object", "properties": {"code": {"type": "string"}, "name": {"type": "string"}}}},
            "tables": {"type": "array", "items": {"type": "object",
                "required": ["id", "title", "unit", "chart", "counts", "columns", "rows"],
                "properties": {
                    "id": {"type": "string"}, "title": {"type": "string"}, "unit": {"type": "string"},
                    "chart": {"type": "string"}, "counts": {"type": "boolean"},
                    "columns": {"type": "array", "items": {"type": "object", "properties": {"id": {"type": "string"}, "label": {"type": "string"}}}},
                    "rows": {"type": "array", "items": {"type": "object", "properties": {
                        "key": {"type": "string"}, "label": {"type": "string"}, "total": {"type": "boolean"},
                        "cells": {"type": "array", "items": cell}}}}
                }}}
        }
    });
    (paths, ("gateway.Statistics", schema))
}

#[cfg(test)]
mod tests {
    use super::*;
    use samling_kit::statistics::Table;

    fn report(region: &str, tables: Vec<StatTable>) -> (String, StatisticsReport) {
        (
            region.to_string(),
            StatisticsReport {
                region: region.into(),
                tables,
            },
        )
    }

    #[test]
    fn regions_add_up_cell_by_cell_and_ratios_from_their_parts() {
        let counts = |a: i64, b: i64, key: &str| {
            Table::counts("registry.x", "X", "bar")
                .columns([("a", "A"), ("total", "Totalt")])
                .row("r", "R", &[a])
                .row(key, key, &[b])
                .total_row("Totalt")
                .build()
        };
        let ratio = |n, d| {
            Table::ratios("registry.share", "S", "procent", "bar")
                .column("share", "Andel")
                .ratio_row("s", "S", &[(n, d)])
                .build()
        };
        let reports = vec![
            report("norr", vec![counts(10, 3, "only_norr"), ratio(1, 2)]),
            report("syd", vec![counts(20, 7, "only_syd"), ratio(9, 98)]),
        ];
        let t = add_up(&reports);
        let x = &t[0];
        let keys: Vec<&str> = x.rows.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(keys, ["r", "only_norr", "only_syd", "total"]);
        let vals: Vec<i64> = x.rows.iter().map(|r| r.cells[0].value).collect();
        assert_eq!(vals, [30, 3, 7, 40]);
        // 10 of 100 is 10 %, not the mean of 50 % and 9 %.
        assert_eq!(t[1].rows[0].cells[0].value, 10);
    }

    #[test]
    fn csv_has_swedish_labels_and_the_cells_as_shown() {
        let mut t = Table::counts("registry.x", "Hem; per typ", "bar")
            .columns([
                ("a", "Kommunal"),
                ("b", "Konsulentstödd"),
                ("total", "Totalt"),
            ])
            .row("r1", "Jourhem", &[1, 10])
            .row("r2", "Familjehem", &[12, 30])
            .total_row("Totalt")
            .build();
        disclosure::suppress_stat_table(&mut t, &[]);
        let csv = to_csv(&t);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "\"Hem; per typ\";Kommunal;Konsulentstödd;Totalt");
        assert!(lines[1].starts_with("Jourhem;<5;"), "{csv}");
        assert!(lines.iter().any(|l| l.contains("..")), "{csv}");
    }

    #[test]
    fn the_query_names_what_is_wrong() {
        let e = Params::parse(Some("from=2026-01-01")).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("to"));
        let e = Params::parse(Some("from=2026-13-01&to=2026-12-31")).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("from"));
        let e = Params::parse(Some("from=2026-01-01&to=2026-12-31&region=x")).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("region"));
        let e = Params::parse(Some("from=2026-01-01&to=2026-12-31&tables=nope")).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("tables"));
        let p = Params::parse(Some(
            "scope=norr&from=2026-01-01&to=2026-12-31&tables=registry.places,registry.shares",
        ))
        .unwrap();
        assert_eq!(p.region.as_deref(), Some("norr"));
        assert_eq!(p.services(), ["registry"]);
        assert_eq!(p.request("registry").unwrap().tables.len(), 2);
    }
}
