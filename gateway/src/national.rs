//! National questions: the same call to every region at once, answered with
//! what arrived before the deadline, flagged `partial` with the missing
//! regions named. A region that is down (or whose circuit is open) costs
//! nothing: it is simply missing from the answer.

#![allow(clippy::result_large_err)] // Problem is the error response itself; it is built once per failed request.

use crate::dispatch::{self, authenticate, decode, limit_token, request_id};
use crate::problem::Problem;
use crate::routes::NATIONAL;
use crate::{Caller, Gateway};
use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use samling_proto::common::v1::PageRequest;
use samling_proto::registry::v1::registry_service_client::RegistryServiceClient;
use samling_proto::registry::v1::{
    GetQuarterlyReportRequest, QuarterlyReport, QuarterlyReportRow, SearchHomesRequest,
};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;
use tonic::transport::Channel;

pub fn router(gw: Arc<Gateway>) -> Router {
    let a = gw.clone();
    let b = gw;
    Router::new()
        .route(
            "/v1/homes",
            axum::routing::get(move |req: Request| search(a.clone(), req)),
        )
        .route(
            "/v1/statistics/unexecuted-decisions",
            axum::routing::get(move |req: Request| quarterly(b.clone(), req)),
        )
}

/// Common front half: authenticate, limit, authorize, parse the query.
async fn prepare<Req: serde::de::DeserializeOwned>(
    gw: &Gateway,
    index: usize,
    parts: &axum::http::request::Parts,
) -> Result<(Arc<Caller>, Req, Map<String, Value>), Problem> {
    let spec = &NATIONAL[index];
    let caller = authenticate(gw, &parts.headers, dispatch::peer_ip(&parts.extensions)).await?;
    let query = parts.uri.query();
    limit_token(gw, &caller).await?;
    let mut pairs: Vec<(String, String)> = match query {
        Some(q) => serde_urlencoded::from_str(q)
            .map_err(|_| Problem::invalid("query", "is not a valid query string"))?,
        None => vec![],
    };
    // The composite page token is ours, not a region's.
    let token = pairs
        .iter()
        .position(|(k, _)| k == "page.page_token")
        .map(|i| pairs.remove(i).1);
    let mut obj = Map::new();
    gw.schema.merge_query(spec.request, &mut obj, &pairs)?;
    dispatch::authorize(spec, &caller.ctx, &obj, &[])?;
    let mut extra = Map::new();
    if let Some(t) = token {
        extra.insert("token".into(), Value::String(t));
    }
    Ok((caller, decode(&gw.schema, spec.request, obj)?, extra))
}

/// The regions a national question goes to. A `regional_officer` works in
/// its own region's register (ADR 0017): the others would refuse it, so it
/// is asked of that region alone.
fn regions_for(gw: &Gateway, caller: &Caller) -> Result<Vec<String>, Problem> {
    let all = gw.regions.ids();
    if caller.ctx.role != samling_kit::auth::Role::RegionalOfficer {
        return Ok(all);
    }
    let own = caller.ctx.region.as_deref().unwrap_or("");
    if all.iter().any(|r| r == own) {
        Ok(vec![own.to_string()])
    } else {
        Err(Problem::refused(
            samling_kit::error::Reason::OutOfRegion,
            format!("your token is for region {own}, which is not served here"),
        ))
    }
}

/// Did the region fail to answer (rather than answer "no")?
fn region_absent(p: &Problem) -> bool {
    matches!(
        p.code.as_str(),
        "UNAVAILABLE"
            | "DEADLINE_EXCEEDED"
            | "CANCELLED"
            | "RESOURCE_EXHAUSTED"
            | "INTERNAL"
            | "UNKNOWN"
    )
}

fn json(v: &Value) -> Response {
    dispatch::json_response(StatusCode::OK, serde_json::to_vec(v).unwrap_or_default())
}

/// One call to each of `regions` at once, each within the fan-out deadline:
/// the answers that arrived and the regions that did not answer. A region's
/// refusal of the request itself (not its absence) is the whole answer.
async fn fan_out<Req, Resp, F, Fut>(
    gw: &Gateway,
    regions: Vec<String>,
    caller: &Caller,
    rid: &str,
    msg_for: impl Fn(&str) -> Req,
    call: F,
) -> Result<(Vec<(String, Resp)>, Vec<String>), Problem>
where
    F: Fn(Channel, tonic::Request<Req>) -> Fut + Clone,
    Fut: std::future::Future<Output = Result<tonic::Response<Resp>, tonic::Status>>,
{
    let deadline = gw.fanout_deadline().min(gw.call_timeout());
    let calls = regions.into_iter().map(|region| {
        let msg = msg_for(&region);
        let call = call.clone();
        async move {
            let out = dispatch::call_region(gw, &region, caller, rid, deadline, msg, call).await;
            (region, out)
        }
    });
    let mut answers = Vec::new();
    let mut missing = Vec::new();
    for (region, out) in futures::future::join_all(calls).await {
        match out {
            Ok(resp) => answers.push((region, resp)),
            Err(p) if !region_absent(&p) => return Err(p),
            Err(_) => missing.push(region),
        }
    }
    Ok((answers, missing))
}

/// Per-region page tokens, carried as one opaque token.
fn decode_tokens(token: Option<&Value>) -> Result<BTreeMap<String, String>, Problem> {
    let Some(Value::String(t)) = token else {
        return Ok(BTreeMap::new());
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(t)
        .map_err(|_| Problem::invalid("page.page_token", "is not a valid page token"))?;
    serde_json::from_slice(&bytes)
        .map_err(|_| Problem::invalid("page.page_token", "is not a valid page token"))
}

async fn search(gw: Arc<Gateway>, req: Request) -> Response {
    let started = Instant::now();
    let rid = request_id(req.headers());
    let (parts, _) = req.into_parts();
    let mut role = "-";
    let result = async {
        let (caller, q, extra): (Arc<Caller>, SearchHomesRequest, _) =
            prepare(&gw, 0, &parts).await?;
        role = caller.ctx.role.as_str();
        let tokens = decode_tokens(extra.get("token"))?;
        // On a later page, only regions that had more are asked.
        let allowed = regions_for(&gw, &caller)?;
        let regions: Vec<String> = if tokens.is_empty() {
            allowed
        } else {
            tokens
                .keys()
                .filter(|r| allowed.contains(r))
                .cloned()
                .collect()
        };
        let (answers, missing) = fan_out(
            &gw,
            regions,
            &caller,
            &rid,
            |region| {
                let mut msg = q.clone();
                if let Some(t) = tokens.get(region) {
                    let size = msg.page.as_ref().map(|p| p.page_size).unwrap_or(0);
                    msg.page = Some(PageRequest {
                        page_size: size,
                        page_token: t.clone(),
                    });
                }
                msg
            },
            |ch, r| async move { RegistryServiceClient::new(ch).search_homes(r).await },
        )
        .await?;
        let mut homes = Vec::new();
        let mut next = BTreeMap::new();
        for (region, resp) in answers {
            homes.extend(resp.homes);
            if let Some(t) = resp
                .page
                .map(|p| p.next_page_token)
                .filter(|t| !t.is_empty())
            {
                next.insert(region, t);
            }
        }
        let next_page_token = if next.is_empty() {
            String::new()
        } else {
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&next).unwrap_or_default())
        };
        let homes = serde_json::to_value(&homes).unwrap_or(Value::Array(vec![]));
        let body = serde_json::to_vec(&json!({
            "homes": homes,
            "next_page_token": next_page_token,
            "partial": !missing.is_empty(),
            "missing_regions": missing,
        }))
        .unwrap_or_default();
        dispatch::charge_answer(&gw, &caller, body.len()).await;
        Ok(dispatch::json_response(StatusCode::OK, body))
    }
    .await;
    dispatch::finish("GET", "/v1/homes", role, &rid, started, result)
}

async fn quarterly(gw: Arc<Gateway>, req: Request) -> Response {
    let started = Instant::now();
    let rid = request_id(req.headers());
    let (parts, _) = req.into_parts();
    let mut role = "-";
    let result = async {
        let (caller, q, _): (Arc<Caller>, GetQuarterlyReportRequest, _) =
            prepare(&gw, 1, &parts).await?;
        role = caller.ctx.role.as_str();
        // The aggregate-only roles get no raw count below 5 from a region
        // (ADR 0017). Suppressing each region's figures before adding them
        // up would lose them, so the gateway asks the regions as itself
        // (the `service` role, raw counts; the caller's request was
        // authorized above) and suppresses the national sum. The caller's
        // own context never carries raw counts back.
        let aggregates_only = caller.ctx.role.aggregates_only();
        if aggregates_only && !q.municipality_code.is_empty() {
            // One municipality's figures beside its region's and the
            // nation's would be one more table to difference against.
            return Err(Problem::refused(
                samling_kit::error::Reason::ForbiddenRole,
                "municipality_code: the aggregate roles get national and regional figures only",
            ));
        }
        let asking = if aggregates_only {
            let ctx =
                samling_kit::auth::AuthContext::new("gateway", samling_kit::auth::Role::Service)
                    .with_purpose(format!(
                        "national quarterly sum for a {} (suppressed after adding up)",
                        caller.ctx.role.as_str()
                    ));
            Arc::new(gw.caller(ctx))
        } else {
            caller.clone()
        };
        let (answers, missing) = fan_out(
            &gw,
            regions_for(&gw, &caller)?,
            &asking,
            &rid,
            |_| q.clone(),
            |ch, r| async move { RegistryServiceClient::new(ch).get_quarterly_report(r).await },
        )
        .await?;
        let regional: Vec<QuarterlyReport> = answers.into_iter().map(|(_, r)| r).collect();
        let mut rows: BTreeMap<(i32, i32), (u32, u32)> = BTreeMap::new();
        let mut quarter_end = None;
        for r in &regional {
            quarter_end = quarter_end.or(r.quarter_end);
            for row in &r.rows {
                let e = rows.entry((row.sex, row.reason)).or_default();
                e.0 += row.not_executed;
                e.1 += row.executed_late;
            }
        }
        let rows: Vec<QuarterlyReportRow> = rows
            .into_iter()
            .map(
                |((sex, reason), (not_executed, executed_late))| QuarterlyReportRow {
                    sex,
                    reason,
                    not_executed,
                    executed_late,
                    ..Default::default()
                },
            )
            .collect();
        let mut report = QuarterlyReport {
            municipality_code: q.municipality_code.clone(),
            year: q.year,
            quarter: q.quarter,
            quarter_end,
            total_not_executed: rows.iter().map(|r| r.not_executed).sum(),
            total_executed_late: rows.iter().map(|r| r.executed_late).sum(),
            rows,
            ..Default::default()
        };
        if aggregates_only {
            // Each region's own report is shown to these roles too: a
            // national figure is hidden wherever a region hides its part.
            samling_kit::disclosure::suppress_quarterly_report_over(&mut report, &regional);
        } else {
            samling_kit::disclosure::show_quarterly_report(&mut report);
        }
        Ok(json(&json!({
            "report": serde_json::to_value(&report).unwrap_or(Value::Null),
            "partial": !missing.is_empty(),
            "missing_regions": missing,
        })))
    }
    .await;
    dispatch::finish(
        "GET",
        "/v1/statistics/unexecuted-decisions",
        role,
        &rid,
        started,
        result,
    )
}
