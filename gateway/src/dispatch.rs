//! One REST call: authenticate, limit, authorize, build the protobuf request
//! from path, query and body, make the gRPC call to the region with a
//! deadline and the signed auth context, and answer JSON or problem+json.
//! Mutations honour `Idempotency-Key`.
//!
//! Every route runs the one non-generic [`unary`]; the route's only typed
//! step is its [`Prepare`] (JSON → its request message, bound to its gRPC
//! call, see [`prepare`]), so N routes are N small functions, not N copies
//! of the handler.

#![allow(clippy::result_large_err)] // Problem is the error response itself; it is built once per failed request.

use crate::limits::{Begin, StoredResponse};
use crate::problem::Problem;
use crate::routes::{Carry, Route, RouteSpec};
use crate::{Caller, Gateway};
use axum::body::Bytes;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodFilter;
use samling_kit::auth::{AuthContext, Role};
use samling_kit::error::Reason;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tonic::transport::Channel;

pub const REQUEST_ID: &str = "x-request-id";
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// Optional header: a reason the request states, audited beside the
/// token's purpose (never replacing it).
pub const PURPOSE: &str = "x-purpose";

pub fn method_filter(m: &str) -> MethodFilter {
    match m {
        "POST" => MethodFilter::POST,
        "PUT" => MethodFilter::PUT,
        "DELETE" => MethodFilter::DELETE,
        "PATCH" => MethodFilter::PATCH,
        _ => MethodFilter::GET,
    }
}

/// The request id: the caller's if it is sane, else a new one.
pub fn request_id(headers: &HeaderMap) -> String {
    headers
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
        .map(str::to_string)
        .unwrap_or_else(samling_kit::ids::new_id_string)
}

/// The TCP peer of a request (set by `serve`'s connect info).
pub fn peer_ip(ext: &axum::http::Extensions) -> Option<std::net::IpAddr> {
    ext.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip())
}

/// Authenticate the bearer token. A request that does not authenticate is
/// charged to its client address (`ip_rate_per_minute`): past the budget
/// the answer is 429, so tokens cannot be guessed at line rate.
pub async fn authenticate(
    gw: &Gateway,
    headers: &HeaderMap,
    peer: Option<std::net::IpAddr>,
) -> Result<Arc<Caller>, Problem> {
    match bearer_context(gw, headers).await {
        Ok(ctx) => Ok(ctx),
        Err(p) => {
            limit_ip(gw, peer, headers).await?;
            Err(p)
        }
    }
}

async fn bearer_context(gw: &Gateway, headers: &HeaderMap) -> Result<Arc<Caller>, Problem> {
    let unauthenticated =
        |e: crate::auth::AuthError| Problem::new(tonic::Code::Unauthenticated, e.to_string());
    let value = match headers.get(header::AUTHORIZATION) {
        None => None,
        Some(v) => Some(v.to_str().map_err(|_| {
            unauthenticated(crate::auth::AuthError::Malformed(
                "the Authorization header is not visible ASCII",
            ))
        })?),
    };
    let token = crate::auth::bearer_token(value).map_err(unauthenticated)?;
    let caller = gw.verified_token(token).await?;
    // The token's purpose stands: the header only adds a reason the request
    // states, audited beside it (it was accepted as the purpose itself).
    if let Some(p) = headers.get(PURPOSE).and_then(|v| v.to_str().ok()) {
        let reason: String = p.chars().take(200).collect();
        // (A token carries no reason of its own.)
        if !reason.is_empty() {
            let mut ctx = caller.ctx.clone();
            ctx.reason = reason;
            return Ok(Arc::new(gw.caller(ctx)));
        }
    }
    Ok(caller)
}

/// Per-client-address rate limit of unauthenticated requests and public
/// routes (`ip_rate_per_minute`; behind trusted proxies, per forwarded client).
pub async fn limit_ip(
    gw: &Gateway,
    peer: Option<std::net::IpAddr>,
    headers: &HeaderMap,
) -> Result<(), Problem> {
    let Some(peer) = peer else {
        return Ok(());
    };
    let ip = gw.proxies.client_ip(peer, headers);
    limit(
        gw,
        &crate::client_ip::limit_key(ip),
        gw.cfg.ip_rate_per_minute,
    )
    .await
}

/// The caller of a public route: a `service` context with the fixed
/// subject [`samling_kit::auth::PUBLIC_SUBJECT`], no municipality, region
/// or party; services admit it only to what they publish for the public.
pub fn public_context() -> AuthContext {
    AuthContext::new(samling_kit::auth::PUBLIC_SUBJECT, Role::Service).with_purpose("public form")
}

/// The strict per-address budget of a public route
/// (`public_form_rate_per_minute`, per operation: one form is a GET and a
/// POST); behind trusted proxies, per forwarded client.
pub async fn limit_public(
    gw: &Gateway,
    spec: &RouteSpec,
    peer: Option<std::net::IpAddr>,
    headers: &HeaderMap,
) -> Result<(), Problem> {
    let Some(peer) = peer else {
        return Ok(());
    };
    let ip = gw.proxies.client_ip(peer, headers);
    let key = format!(
        "pub:{}:{}",
        spec.operation_id,
        crate::client_ip::limit_key(ip)
    );
    limit(gw, &key, gw.cfg.public_form_rate_per_minute).await
}

/// Per-token rate limit.
pub async fn limit_token(gw: &Gateway, caller: &Caller) -> Result<(), Problem> {
    limit(gw, &caller.limit_key, gw.cfg.token_rate_per_minute).await
}

/// Charge a token for what its answer cost beyond one request: every
/// `rate_cost_bytes` of answer is one more request. A page of 500
/// placements reads and audits 500 records; charged as one request, one
/// token could write hundreds of thousands of audit rows a minute and slow
/// everyone (issue 17 §2). Charged to whichever limiter counted the request.
pub async fn charge_answer(gw: &Gateway, caller: &Caller, answer_bytes: usize) {
    let unit = gw.cfg.rate_cost_bytes.max(1);
    let Ok(units) = u32::try_from(answer_bytes / unit) else {
        return;
    };
    if units == 0 {
        return;
    }
    let per_minute = gw.cfg.token_rate_per_minute;
    if gw
        .limits
        .charge(&caller.limit_key, per_minute, units)
        .await
        .is_err()
    {
        let _ = gw
            .local_limits
            .charge(&caller.limit_key, per_minute, units)
            .await;
    }
}

/// One rate-limit check. While the shared store is unavailable the
/// replica's own in-process limiter decides: a Redis outage takes the API
/// neither down nor out of its limits (each replica then allows the limit on
/// its own). The store logs the outage once; nothing is logged per request.
async fn limit(gw: &Gateway, key: &str, per_minute: u32) -> Result<(), Problem> {
    let decision = match gw.limits.check(key, per_minute).await {
        Ok(d) => Ok(d),
        Err(_) => gw.local_limits.check(key, per_minute).await,
    };
    match decision {
        Ok(d) if !d.allowed => Err(Problem::too_many(d.retry_after_secs())),
        // The in-process limiter fails only when misconfigured: fail open.
        Ok(_) | Err(_) => Ok(()),
    }
}

/// Whether an answer is kept under its Idempotency-Key and replayed. Only a
/// success: it is the only answer the services keep too (under the request
/// id the gateway gives them), so a replay is always what the service would
/// answer once the gateway's record is gone (after a restart, a lapsed
/// record or a Redis outage). A refusal changed nothing and is not kept; a
/// retry is decided afresh. See ADR 0013.
pub fn is_final(status: StatusCode) -> bool {
    status.is_success()
}

/// Coarse authorization at the door; services check again precisely.
pub fn authorize(
    spec: &RouteSpec,
    ctx: &AuthContext,
    obj: &Map<String, Value>,
    path: &[(String, String)],
) -> Result<(), Problem> {
    if !spec.is_public() && !spec.allows(ctx.role) {
        return Err(Problem::refused(
            Reason::ForbiddenRole,
            format!(
                "the role {} may not {}",
                ctx.role.as_str(),
                spec.operation_id
            ),
        ));
    }
    if ctx.role.is_municipal() {
        let own = ctx.municipality.map(|m| m.as_str()).unwrap_or("");
        for field in spec.own_municipality {
            if let Some(Value::String(v)) = obj.get(*field)
                && !v.is_empty()
                && v != own
            {
                return Err(Problem::refused(
                    Reason::NotOwnMunicipality,
                    format!("{field}: a municipality acts only for itself"),
                ));
            }
        }
    }
    // A home, child or unit must be the path's party where the route names
    // one; elsewhere (placements, providers) the service scopes to their party.
    if matches!(ctx.role, Role::FamilyHome | Role::Child | Role::UnitStaff)
        && let Some(param) = spec.party_param
    {
        let value = path
            .iter()
            .find(|(k, _)| k == param)
            .map(|(_, v)| v.as_str());
        if value.is_none() || value != ctx.party.as_deref() {
            return Err(Problem::refused(Reason::NotOwnRecord, "not your record"));
        }
    }
    Ok(())
}

pub(crate) fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// JSON of an answer, into a buffer sized for a typical record (growing
/// from empty cost several reallocations and copies per answer).
fn to_json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024);
    match serde_json::to_writer(&mut out, value) {
        Ok(()) => out,
        Err(_) => Vec::new(),
    }
}

/// Parse the query and body into the JSON object of `spec.request`, with
/// the path parameters (all but `region`) set last so they win.
pub(crate) async fn request_object(
    gw: &Gateway,
    spec: &RouteSpec,
    path: &[(String, String)],
    parts: &axum::http::request::Parts,
    body: axum::body::Body,
) -> Result<(Map<String, Value>, Bytes), Problem> {
    let body = axum::body::to_bytes(body, gw.cfg.body_limit_bytes)
        .await
        .map_err(|e| {
            // Over the limit without a Content-Length (chunked): 413 as with one.
            if over_limit(&e) {
                Problem::too_large(gw.cfg.body_limit_bytes)
            } else {
                Problem::invalid("body", "could not be read")
            }
        })?;
    let mut obj = match spec.carry {
        Carry::Body if !body.is_empty() => match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(o)) => o,
            Ok(_) => return Err(Problem::invalid("body", "must be a JSON object")),
            Err(e) => return Err(Problem::invalid("body", format!("is not valid JSON: {e}"))),
        },
        _ => Map::new(),
    };
    let query: Vec<(String, String)> = match parts.uri.query() {
        Some(q) => serde_urlencoded::from_str(q)
            .map_err(|_| Problem::invalid("query", "is not a valid query string"))?,
        None => vec![],
    };
    gw.schema.merge_query(spec.request, &mut obj, &query)?;
    // Path parameters win over the same names in the query or the body.
    let path_fields = || path.iter().filter(|(k, _)| k != "region");
    for (k, _) in path_fields() {
        obj.remove(k);
    }
    gw.schema
        .merge_query(spec.request, &mut obj, path_fields())?;
    Ok((obj, body))
}

/// The declared body length, if any.
pub(crate) fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// Did reading the body fail on the size limit?
fn over_limit(e: &axum::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if c.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        cause = c.source();
    }
    false
}

/// Decode JSON into the protobuf request, naming the field at fault.
pub fn decode<Req: serde::de::DeserializeOwned>(
    schema: &crate::schema::Schema,
    message: &str,
    mut obj: Map<String, Value>,
) -> Result<Req, Problem> {
    schema.plain_values(message, &mut obj, "")?;
    let value = Value::Object(obj);
    serde_path_to_error::deserialize::<_, Req>(value).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." || path.is_empty() {
            "body".to_string()
        } else {
            path
        };
        let message = e.inner().to_string();
        // pbjson reads a number field as "a number or a numeric string"; a
        // value that is neither (or out of the field's range) fails both
        // ways, and serde's words for that name no field type.
        if message.contains("untagged enum") {
            return Problem::invalid(
                &field,
                "must be a number of the field's type: a whole number within its range for integers",
            );
        }
        Problem::invalid(&field, message)
    })
}

/// Make one gRPC call to `service` of `region` with the caller's signed
/// context. Generic only where it must be (the message, the typed call);
/// the rest is [`start_call`] and [`call_failed`].
#[allow(clippy::too_many_arguments)]
pub async fn call_region<Req, Resp, F, Fut>(
    gw: &Gateway,
    service: &str,
    region: &str,
    caller: &Caller,
    request_id: &str,
    deadline: Duration,
    msg: Req,
    call: F,
) -> Result<Resp, Problem>
where
    F: FnOnce(Channel, tonic::Request<Req>) -> Fut,
    Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>>,
{
    let (r, metadata) = start_call(gw, service, region, caller, request_id, deadline)?;
    let req = tonic::Request::from_parts(metadata, Default::default(), msg);
    // The gRPC call's future is large (tonic's encoder, the channel's
    // service stack): boxed once here instead of being copied along with
    // every future that holds it.
    match tokio::time::timeout(deadline, Box::pin(call(r.channel(), req))).await {
        Ok(Ok(resp)) => {
            r.breaker.success();
            Ok(resp.into_inner())
        }
        Ok(Err(status)) => Err(call_failed(r, region, Some(status))),
        Err(_) => Err(call_failed(r, region, None)),
    }
}

/// The endpoint of `service` in `region` (if its circuit lets a call
/// through) and the call's metadata: deadline, signed context, request id,
/// trace context.
fn start_call<'g>(
    gw: &'g Gateway,
    service: &str,
    region: &str,
    caller: &Caller,
    request_id: &str,
    deadline: Duration,
) -> Result<(&'g crate::regions::Region, tonic::metadata::MetadataMap), Problem> {
    let r = gw.regions.get(region, service).ok_or_else(|| {
        let what = if gw.regions.serves(region) {
            format!("the {service} service of region {region:?} is not served here")
        } else {
            format!("region {region:?} is not served here")
        };
        Problem::refused(Reason::UnknownRegion, what)
    })?;
    if !r.breaker.allow() {
        return Err(Problem::refused(
            Reason::RegionUnavailable,
            format!("region {region} is unavailable; retry later"),
        ));
    }
    let mut req = tonic::Request::new(());
    req.set_timeout(deadline);
    caller
        .attach(&mut req)
        .map_err(|_| Problem::new(tonic::Code::Internal, "internal error"))?;
    if let Ok(v) = request_id.parse() {
        req.metadata_mut()
            .insert(REQUEST_ID, samling_kit::telemetry::per_request_value(v));
    }
    samling_kit::telemetry::inject_context(req.metadata_mut());
    Ok((r, req.into_parts().0))
}

/// A call that failed: `status`, or no answer within the deadline (`None`).
/// Feeds the endpoint's breaker and says what the client is told.
fn call_failed(r: &crate::regions::Region, region: &str, status: Option<tonic::Status>) -> Problem {
    match status {
        Some(status) if status.code() != tonic::Code::Cancelled => {
            if crate::regions::is_region_failure(status.code()) {
                r.breaker.failure();
            } else {
                r.breaker.success();
            }
            Problem::from_status(&status)
        }
        // Our deadline: a client-side timeout surfaces as CANCELLED
        // ("Timeout expired"), or the outer timeout fires first.
        _ => {
            r.breaker.failure();
            Problem::refused(
                Reason::RegionTimeout,
                format!("region {region} did not answer in time"),
            )
        }
    }
}

/// A route's typed step: decode the request's JSON object (named by its
/// message, `spec.request`) into the route's protobuf request and bind it to
/// the route's gRPC call. Route files make one per route with [`prepare`].
pub type Prepare =
    fn(&crate::schema::Schema, &'static str, Map<String, Value>) -> Result<Prepared, Problem>;

/// A decoded request bound to its gRPC call: given where it goes, it makes
/// the call and answers the response as JSON.
pub type Prepared =
    Box<dyn FnOnce(CallTo) -> futures::future::BoxFuture<'static, Result<Vec<u8>, Problem>> + Send>;

/// Where a prepared call goes, and as whom.
pub struct CallTo {
    pub gw: Arc<Gateway>,
    pub service: &'static str,
    pub region: String,
    pub caller: Arc<Caller>,
    pub request_id: String,
    pub deadline: Duration,
}

/// The body of every route's [`Prepare`]: `Req` from JSON (naming the field
/// at fault), then `call` (the typed client's method) with it.
pub fn prepare<Req, Resp, F, Fut>(
    schema: &crate::schema::Schema,
    message: &'static str,
    obj: Map<String, Value>,
    call: F,
) -> Result<Prepared, Problem>
where
    Req: serde::de::DeserializeOwned + Send + 'static,
    Resp: serde::Serialize + Send + 'static,
    F: FnOnce(Channel, tonic::Request<Req>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>> + Send + 'static,
{
    let msg: Req = decode(schema, message, obj)?;
    Ok(Box::new(move |to: CallTo| {
        Box::pin(async move {
            let resp = call_region(
                &to.gw,
                to.service,
                &to.region,
                &to.caller,
                &to.request_id,
                to.deadline,
                msg,
                call,
            )
            .await?;
            Ok(to_json(&resp))
        })
    }))
}

/// The handler of every region-scoped route (one function for all of them:
/// the route's typed step is `route.prepare`).
pub async fn unary(
    gw: Arc<Gateway>,
    route: &'static Route,
    path: Result<Vec<(String, String)>, Problem>,
    req: Request,
) -> Response {
    let spec = &route.spec;
    let (parts, body) = req.into_parts();
    let headers = &parts.headers;
    let peer = peer_ip(&parts.extensions);
    let rid = crate::envelope::request_id_of(&parts.extensions, headers);
    let span = samling_kit::telemetry::http_server_span(spec.method, spec.path, headers);
    let mut role = "-";
    // Boxed: the request's whole state (auth, the gRPC call) lives on the
    // heap once; the handler future axum moves around stays small.
    let work = Box::pin(async {
        let caller = if spec.is_public() {
            // No login: the fixed public caller, on the strict budget of
            // the client's address (a token, if sent, gives nothing more).
            limit_public(&gw, spec, peer, headers).await?;
            Arc::new(gw.caller(public_context()))
        } else {
            let caller = authenticate(&gw, headers, peer).await?;
            limit_token(&gw, &caller).await?;
            caller
        };
        // After the caller is known (headers only, the body unread): a
        // request without a token is told 401 whatever its size.
        if let Some(len) = content_length(headers)
            && len > gw.cfg.body_limit_bytes as u64
        {
            return Err(Problem::too_large(gw.cfg.body_limit_bytes));
        }
        let ctx = &caller.ctx;
        role = if spec.is_public() {
            "public"
        } else {
            ctx.role.as_str()
        };
        let path = path?;
        let region = path
            .iter()
            .find(|(k, _)| k == "region")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let (mut obj, body) = request_object(&gw, spec, &path, &parts, body).await?;
        authorize(spec, ctx, &obj, &path)?;
        // Idempotency: the key is also the service's request id.
        let idem = match headers.get(IDEMPOTENCY_KEY).map(|v| v.to_str()) {
            _ if !spec.keeps_answers() => None,
            Some(Ok(k))
                if !k.is_empty() && k.len() <= 128 && k.chars().all(|c| c.is_ascii_graphic()) =>
            {
                let hash = hex::encode(
                    Sha256::new()
                        .chain_update(spec.operation_id.as_bytes())
                        .chain_update(b"\n")
                        .chain_update(region.as_bytes())
                        .chain_update(b"\n")
                        .chain_update(serde_json::to_string(&obj).unwrap_or_default())
                        .chain_update(b"\n")
                        .chain_update(&body)
                        .finalize(),
                );
                // The service deduplicates on `request_id`: the key is
                // given as that unless the body names its own.
                let service_dedup = gw.schema.has_field(spec.request, "request_id");
                let keyed_request_id = service_dedup && !obj.contains_key("request_id");
                if keyed_request_id {
                    obj.insert("request_id".into(), Value::String(k.to_string()));
                }
                Some(Idem {
                    key: caller.idempotency_key(&region, k),
                    hash,
                    service_dedup,
                    keyed_request_id,
                })
            }
            Some(_) => {
                return Err(Problem::invalid(
                    "Idempotency-Key",
                    "must be 1–128 visible ASCII characters",
                ));
            }
            _ => None,
        };
        // A request the gateway can refuse on its own is refused before a
        // reservation is taken.
        let call = (route.prepare)(&gw.schema, spec.request, obj)?;
        let mut reservation = None;
        if let Some(i) = &idem {
            match gw.limits.begin(&i.key, &i.hash, gw.reservation_ttl()).await {
                Ok(Begin::Fresh) => reservation = Some(Reservation::held(&gw.limits, &i.key)),
                Ok(Begin::Replay(stored)) => return Ok(replay(stored)),
                Ok(Begin::Mismatch) => {
                    return Err(Problem::unprocessable(
                        "this Idempotency-Key was used with a different request",
                    ));
                }
                Ok(Begin::InFlight) => {
                    return Err(Problem::refused(
                        Reason::IdempotencyKeyInUse,
                        "a request with this Idempotency-Key is still being processed",
                    ));
                }
                // The store is down (logged once by it): the service
                // deduplicates on the request id, so the request goes on
                // without a reservation. A route without one would run
                // twice on a retry: refused instead.
                Err(_) if i.service_dedup => {}
                Err(_) => {
                    return Err(Problem::refused(
                        Reason::IdempotencyStoreUnavailable,
                        "idempotency store unavailable and this operation has no request id; retry later",
                    ));
                }
            }
        }
        let outcome = call(CallTo {
            gw: gw.clone(),
            service: spec.service,
            region,
            caller: caller.clone(),
            request_id: rid.clone(),
            deadline: gw.call_timeout(),
        })
        .await;
        let response = match outcome {
            Ok(body) => {
                charge_answer(&gw, &caller, body.len()).await;
                json_response(StatusCode::OK, body)
            }
            // The service's own record says the key was used for another
            // request: the same 422 the gateway's record would give.
            Err(p)
                if idem.as_ref().is_some_and(|i| i.keyed_request_id)
                    && p.reason == Reason::IdempotencyKeyReused
                    && p.field.as_deref() == Some("request_id") =>
            {
                Problem::unprocessable("this Idempotency-Key was used with a different request")
                    .with_instance(&rid)
                    .into_response()
            }
            Err(p) => p.with_instance(&rid).into_response(),
        };
        let Some(i) = &idem else {
            return Ok(response);
        };
        let status = response.status();
        if !is_final(status) {
            if let Some(r) = reservation {
                r.release().await;
            }
            return Ok(response);
        }
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX)
            .await
            .unwrap_or_default();
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/json")
            .to_string();
        let stored = StoredResponse {
            status: status.as_u16(),
            content_type,
            body: bytes.to_vec(),
        };
        // Stored even without a reservation (the store may be back); if it
        // fails the reservation lapses in seconds and a retry reaches the
        // service, which answers the same. Failures are the store's to log.
        let _ = gw
            .limits
            .complete(&i.key, &i.hash, &stored, gw.idempotency_ttl())
            .await;
        if let Some(r) = reservation {
            r.disarm();
        }
        Ok(replay(stored))
    });
    // Without span export the span is disabled: no wrapper to enter per poll.
    let result = if span.is_disabled() {
        work.await
    } else {
        tracing::Instrument::instrument(work, span).await
    };
    answer(role, &rid, result)
}

/// One request's Idempotency-Key as the gateway tracks it.
struct Idem {
    /// The store's key: the whole caller, the route's region and the key.
    key: String,
    /// The request's digest (operation, region, fields, body).
    hash: String,
    /// Whether the service deduplicates the operation on `request_id`.
    service_dedup: bool,
    /// Whether the key was given to the service as its `request_id`.
    keyed_request_id: bool,
}

/// A reservation this request holds. Dropped while still held — the client
/// hung up and axum dropped the handler mid-call — it is released in the
/// background: a cancelled request keeps nothing, so its retry need not
/// wait for the reservation to lapse.
struct Reservation {
    limits: crate::limits::Limits,
    key: String,
    held: bool,
}

impl Reservation {
    fn held(limits: &crate::limits::Limits, key: &str) -> Self {
        Reservation {
            limits: limits.clone(),
            key: key.to_string(),
            held: true,
        }
    }

    /// Drops the reservation (the answer is not kept).
    async fn release(mut self) {
        self.held = false;
        let _ = self.limits.abandon(&self.key).await;
    }

    /// The answer replaced the reservation.
    fn disarm(mut self) {
        self.held = false;
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if !self.held {
            return;
        }
        let (limits, key) = (self.limits.clone(), std::mem::take(&mut self.key));
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = limits.abandon(&key).await;
            });
        }
    }
}

/// The end of every API request: a problem carries the request id as its
/// instance, and the role served is told to the envelope, which logs the
/// request and sets `X-Request-Id` (`crate::envelope`).
pub(crate) fn answer(role: &'static str, rid: &str, result: Result<Response, Problem>) -> Response {
    let mut response = match result {
        Ok(r) => r,
        Err(p) => p.with_instance(rid).into_response(),
    };
    response
        .extensions_mut()
        .insert(crate::envelope::Served { role });
    response
}

fn replay(stored: StoredResponse) -> Response {
    let mut r = (
        StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK),
        stored.body,
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&stored.content_type) {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    r
}

/// The access log: route template (ids only ever appear in templates as
/// `{placeholders}`), role, status, latency in microseconds. Never bodies or
/// query strings. Also records `http.server.request.duration` (route
/// template, method, status).
pub fn access_log(method: &str, route: &str, role: &str, status: StatusCode, started: Instant) {
    samling_kit::metrics::record_http(method, route, status.as_u16(), started);
    samling_kit::accesslog::record(samling_kit::accesslog::Access {
        method,
        route,
        role,
        status: status.as_u16(),
        us: started.elapsed().as_micros() as u64,
    });
}
