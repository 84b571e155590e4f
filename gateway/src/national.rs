//! National questions: the same call to every region at once, answered with
//! what arrived before the deadline, flagged `partial` with the missing
//! regions named. A region that is down (or whose circuit is open) costs
//! nothing: it is simply missing from the answer.
//!
//! This module is the shared half: the route list (every service's
//! [`NationalRoute`]s, see `crate::routes`), the front half of each request
//! (authenticate, limit, parse the query, authorize), the fan-out and the
//! composite page token. What is asked and how the answers are added up is
//! the service's, in its route file.

#![allow(clippy::result_large_err)] // Problem is the error response itself; it is built once per failed request.

use crate::dispatch::{self, authenticate, decode, limit_token};
use crate::problem::Problem;
use crate::routes::RouteSpec;
use crate::{Caller, Gateway};
use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures::future::BoxFuture;
use samling_proto::common::v1::PageRequest;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use tonic::transport::Channel;

/// A national route: its spec and the service's answer.
#[derive(Debug, Clone, Copy)]
pub struct NationalRoute {
    pub spec: RouteSpec,
    pub answer: Answer,
}

/// A service's national answer to an authorized request.
pub type Answer = fn(Arc<Gateway>, National) -> BoxFuture<'static, Result<Response, Problem>>;

/// A national request that is authenticated, within its limits and
/// authorized, its query parsed.
pub struct National {
    pub spec: &'static RouteSpec,
    pub caller: Arc<Caller>,
    /// The query as the JSON object of `spec.request` (see [`Self::decode`]).
    pub query: Map<String, Value>,
    /// The composite page token the client sent back, if any.
    pub page_token: Option<String>,
    pub request_id: String,
}

impl National {
    /// The query as the route's request message, naming the field at fault.
    pub fn decode<Req: serde::de::DeserializeOwned>(
        &mut self,
        gw: &Gateway,
    ) -> Result<Req, Problem> {
        decode(
            &gw.schema,
            self.spec.request,
            std::mem::take(&mut self.query),
        )
    }
}

/// The national route of an operation id, whichever service's it is.
pub fn route(operation_id: &str) -> Option<&'static NationalRoute> {
    crate::routes::services()
        .flat_map(|s| s.national.iter())
        .find(|r| r.spec.operation_id == operation_id)
}

/// Every service's national routes.
pub fn router(gw: Arc<Gateway>) -> Router {
    let mut router = Router::new();
    for route in crate::routes::services().flat_map(|s| s.national.iter()) {
        let gw = gw.clone();
        router = router.route(
            route.spec.path,
            axum::routing::on(
                dispatch::method_filter(route.spec.method),
                move |req: Request| handle(gw.clone(), route, req),
            ),
        );
    }
    router.route_layer(crate::envelope::EnvelopeLayer)
}

/// Every national request: the shared front half, the service's answer
/// (the access log is the envelope's, `crate::envelope`).
async fn handle(gw: Arc<Gateway>, route: &'static NationalRoute, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let rid = crate::envelope::request_id_of(&parts.extensions, &parts.headers);
    let spec = &route.spec;
    let mut role = "-";
    let result = async {
        let n = prepare(&gw, spec, &parts, body, &rid).await?;
        role = n.caller.ctx.role.as_str();
        (route.answer)(gw.clone(), n).await
    }
    .await;
    dispatch::answer(role, &rid, result)
}

/// Common front half: authenticate, limit, parse the query (or, for a
/// route that carries its request in the body — a personnummer never goes
/// in a URL — the body), authorize.
async fn prepare(
    gw: &Gateway,
    spec: &'static RouteSpec,
    parts: &axum::http::request::Parts,
    body: axum::body::Body,
    rid: &str,
) -> Result<National, Problem> {
    let caller = authenticate(gw, &parts.headers, dispatch::peer_ip(&parts.extensions)).await?;
    let query = parts.uri.query();
    limit_token(gw, &caller).await?;
    if spec.carry == crate::routes::Carry::Body {
        if dispatch::content_length(&parts.headers)
            .is_some_and(|len| len > gw.cfg.body_limit_bytes as u64)
        {
            return Err(Problem::too_large(gw.cfg.body_limit_bytes));
        }
        let (obj, _) = dispatch::request_object(gw, spec, &[], parts, body).await?;
        dispatch::authorize(spec, &caller.ctx, &obj, &[])?;
        return Ok(National {
            spec,
            caller,
            query: obj,
            page_token: None,
            request_id: rid.to_string(),
        });
    }
    let mut pairs: Vec<(String, String)> = match query {
        Some(q) => serde_urlencoded::from_str(q)
            .map_err(|_| Problem::invalid("query", "is not a valid query string"))?,
        None => vec![],
    };
    // The composite page token is ours, not a region's.
    let page_token = pairs
        .iter()
        .position(|(k, _)| k == "page.page_token")
        .map(|i| pairs.remove(i).1);
    let mut obj = Map::new();
    gw.schema.merge_query(spec.request, &mut obj, &pairs)?;
    dispatch::authorize(spec, &caller.ctx, &obj, &[])?;
    Ok(National {
        spec,
        caller,
        query: obj,
        page_token,
        request_id: rid.to_string(),
    })
}

/// The regions a national question goes to: those serving the route's
/// service. A `regional_officer` works in its own region's register (ADR
/// 0017): the others would refuse it, so it is asked of that region alone.
pub fn regions_for(gw: &Gateway, n: &National) -> Result<Vec<String>, Problem> {
    let all = gw.regions.regions_of(n.spec.service);
    if n.caller.ctx.role != samling_kit::auth::Role::RegionalOfficer {
        return Ok(all);
    }
    let own = n.caller.ctx.region.as_deref().unwrap_or("");
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

/// A JSON answer.
pub fn json(v: &Value) -> Response {
    dispatch::json_response(StatusCode::OK, serde_json::to_vec(v).unwrap_or_default())
}

/// One call to the route's service in each of `regions` at once, as
/// `asking`, each within the fan-out deadline: the answers that arrived and
/// the regions that did not answer. A region's refusal of the request
/// itself (not its absence) is the whole answer.
pub async fn fan_out<Req, Resp, F, Fut>(
    gw: &Gateway,
    n: &National,
    asking: &Caller,
    regions: Vec<String>,
    msg_for: impl Fn(&str) -> Req,
    call: F,
) -> Result<(Vec<(String, Resp)>, Vec<String>), Problem>
where
    F: Fn(Channel, tonic::Request<Req>) -> Fut + Clone,
    Fut: std::future::Future<Output = Result<tonic::Response<Resp>, tonic::Status>>,
{
    let deadline = gw.fanout_deadline().min(gw.call_timeout());
    let service = n.spec.service;
    let rid = n.request_id.as_str();
    let calls = regions.into_iter().map(|region| {
        let msg = msg_for(&region);
        let call = call.clone();
        async move {
            let out =
                dispatch::call_region(gw, service, &region, asking, rid, deadline, msg, call).await;
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

/// One page of a paged list from every region the caller may ask: on a
/// later page only the regions that had more, each sent its own token from
/// the composite one. Returns the answers, the regions missing from them and
/// the next composite page token (empty when no region has more).
pub async fn paged_fan_out<Req, Resp, F, Fut>(
    gw: &Gateway,
    n: &National,
    q: &Req,
    page_of: impl Fn(&mut Req) -> &mut Option<PageRequest>,
    next_of: impl Fn(&Resp) -> Option<String>,
    call: F,
) -> Result<(Vec<(String, Resp)>, Vec<String>, String), Problem>
where
    Req: Clone,
    F: Fn(Channel, tonic::Request<Req>) -> Fut + Clone,
    Fut: std::future::Future<Output = Result<tonic::Response<Resp>, tonic::Status>>,
{
    let tokens = decode_tokens(n.page_token.as_deref())?;
    let allowed = regions_for(gw, n)?;
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
        gw,
        n,
        &n.caller,
        regions,
        |region| {
            let mut msg = q.clone();
            if let Some(t) = tokens.get(region) {
                let page = page_of(&mut msg);
                let size = page.as_ref().map(|p| p.page_size).unwrap_or(0);
                *page = Some(PageRequest {
                    page_size: size,
                    page_token: t.clone(),
                });
            }
            msg
        },
        call,
    )
    .await?;
    let next: BTreeMap<&str, String> = answers
        .iter()
        .filter_map(|(region, resp)| {
            next_of(resp)
                .filter(|t| !t.is_empty())
                .map(|t| (region.as_str(), t))
        })
        .collect();
    let next_page_token = if next.is_empty() {
        String::new()
    } else {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&next).unwrap_or_default())
    };
    Ok((answers, missing, next_page_token))
}

/// A national list's answer: `{<key>: items, next_page_token, partial,
/// missing_regions}`, its size charged to the caller.
pub async fn list_response(
    gw: &Gateway,
    n: &National,
    key: &str,
    items: Value,
    next_page_token: String,
    missing: Vec<String>,
) -> Response {
    let mut body = Map::new();
    body.insert(key.to_string(), items);
    body.insert("next_page_token".into(), Value::String(next_page_token));
    body.insert("partial".into(), Value::Bool(!missing.is_empty()));
    body.insert(
        "missing_regions".into(),
        Value::Array(missing.into_iter().map(Value::String).collect()),
    );
    let body = serde_json::to_vec(&Value::Object(body)).unwrap_or_default();
    dispatch::charge_answer(gw, &n.caller, body.len()).await;
    dispatch::json_response(StatusCode::OK, body)
}

/// Per-region page tokens, carried as one opaque token.
pub fn decode_tokens(token: Option<&str>) -> Result<BTreeMap<String, String>, Problem> {
    let Some(t) = token else {
        return Ok(BTreeMap::new());
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(t)
        .map_err(|_| Problem::invalid("page.page_token", "is not a valid page token"))?;
    serde_json::from_slice(&bytes)
        .map_err(|_| Problem::invalid("page.page_token", "is not a valid page token"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn national_routes_are_found_by_operation_id() {
        for op in [
            "searchHomesNationally",
            "listPlacementsNationally",
            "nationalQuarterlyReport",
        ] {
            let r = route(op).expect("a national route");
            assert!(r.spec.national && r.spec.operation_id == op);
        }
        assert!(route("getHome").is_none(), "a region-scoped route");
    }

    #[test]
    fn page_tokens_round_trip_and_garbage_is_named() {
        let mut m = BTreeMap::new();
        m.insert("norr".to_string(), "t1".to_string());
        let token = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&m).unwrap());
        assert_eq!(decode_tokens(Some(&token)).unwrap(), m);
        assert!(decode_tokens(None).unwrap().is_empty());
        let e = decode_tokens(Some("%%%")).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("page.page_token"));
    }
}
