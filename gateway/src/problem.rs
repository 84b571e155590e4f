//! RFC 9457 problem details, carrying the same code as the gRPC status, a
//! stable reason (docs/reason-codes.md) and, for validation errors, the
//! offending field.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use samling_kit::error::{FIELD_METADATA_KEY, Reason};
use serde::Serialize;
use tonic::Code;

pub const CONTENT_TYPE: &str = "application/problem+json";

const REASON_KEY: &str = samling_kit::error::REASON_METADATA_KEY;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The gRPC status code name, e.g. `INVALID_ARGUMENT`.
    pub code: String,
    /// Why, from the documented list (`OUT_OF_REGION`, `RATE_LIMITED`, …).
    pub reason: Reason,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The request id.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub instance: String,
    /// Seconds to wait, for 429.
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

/// The gRPC code's canonical name.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// One mapping from gRPC codes to HTTP statuses.
pub fn http_status(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        Code::InvalidArgument | Code::OutOfRange => StatusCode::BAD_REQUEST,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted | Code::FailedPrecondition => StatusCode::CONFLICT,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::Cancelled => StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::Unknown | Code::Internal | Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl Problem {
    pub fn new(code: Code, detail: impl Into<String>) -> Self {
        let status = http_status(code);
        Problem {
            type_uri: format!(
                "https://samling.example/problems/{}",
                code_name(code).to_lowercase().replace('_', "-")
            ),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail: detail.into(),
            code: code_name(code).to_string(),
            reason: Reason::for_code(code),
            field: None,
            instance: String::new(),
            retry_after: None,
        }
    }

    /// A refusal for a stated reason, answered with the reason's code.
    pub fn refused(reason: Reason, detail: impl Into<String>) -> Self {
        Problem::new(reason.code(), detail).with_reason(reason)
    }

    /// The same problem for a more specific reason (of the same code).
    pub fn with_reason(mut self, reason: Reason) -> Self {
        self.reason = reason;
        self
    }

    /// 400 `INVALID_FIELD`, naming the field.
    pub fn invalid(field: &str, detail: impl Into<String>) -> Self {
        let mut p = Problem::new(Code::InvalidArgument, format!("{field}: {}", detail.into()))
            .with_reason(Reason::InvalidField);
        p.field = Some(field.to_string());
        p
    }

    /// 422: the same Idempotency-Key with another request (not a gRPC code).
    pub fn unprocessable(detail: impl Into<String>) -> Self {
        let mut p =
            Problem::new(Code::InvalidArgument, detail).with_reason(Reason::IdempotencyKeyReused);
        p.status = 422;
        p.title = "Unprocessable Content".into();
        p.field = Some("Idempotency-Key".into());
        p
    }

    /// 413: a body whose Content-Length is over the gateway's limit (not a gRPC code).
    pub fn too_large(limit: usize) -> Self {
        let mut p = Problem::invalid("body", format!("must be at most {limit} bytes"))
            .with_reason(Reason::BodyTooLarge);
        p.status = 413;
        p.title = "Content Too Large".into();
        p
    }

    pub fn too_many(retry_after: u64) -> Self {
        let mut p = Problem::refused(Reason::RateLimited, "rate limit exceeded; retry later");
        p.retry_after = Some(retry_after.max(1));
        p
    }

    pub fn with_instance(mut self, request_id: &str) -> Self {
        self.instance = request_id.to_string();
        self
    }

    /// From a service's status: code, message, `samling-reason` (else the
    /// code's generic reason; a region's status without one is a transport
    /// failure: `REGION_UNAVAILABLE`) and `samling-field`.
    pub fn from_status(s: &tonic::Status) -> Self {
        let detail = match s.code() {
            // Internal details never leave the system.
            Code::Internal | Code::Unknown | Code::DataLoss => "internal error".to_string(),
            Code::Unavailable => "the service is unavailable; retry later".to_string(),
            _ => s.message().to_string(),
        };
        let mut p = Problem::new(s.code(), detail);
        p.reason = match Reason::of_status(s) {
            Reason::Unavailable if !s.metadata().contains_key(REASON_KEY) => {
                Reason::RegionUnavailable
            }
            r => r,
        };
        p.field = s
            .metadata()
            .get(FIELD_METADATA_KEY)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        p
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let retry = self.retry_after;
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut resp = (status, body).into_response();
        resp.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
        if let Some(secs) = retry
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_validation_status_keeps_code_reason_and_field() {
        let s = samling_kit::error::to_status(&samling_kit::error::KitError::invalid(
            "draft.capacity",
            "must be 1–10",
        ));
        let p = Problem::from_status(&s);
        assert_eq!(
            (p.status, p.code.as_str(), p.reason, p.field.as_deref()),
            (
                400,
                "INVALID_ARGUMENT",
                Reason::InvalidField,
                Some("draft.capacity")
            )
        );
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["reason"], "INVALID_FIELD");
        assert_eq!(json["field"], "draft.capacity");
    }

    #[test]
    fn a_services_reason_is_forwarded_and_a_missing_one_is_the_codes() {
        let s = samling_kit::error::refusal_status(Reason::OutOfRegion, "another region");
        let p = Problem::from_status(&s);
        assert_eq!((p.status, p.reason), (403, Reason::OutOfRegion));
        // A reason the gateway does not know is not passed on as one.
        let mut s = tonic::Status::permission_denied("no");
        s.metadata_mut()
            .insert(REASON_KEY, "SOMETHING_NEW".parse().unwrap());
        assert_eq!(Problem::from_status(&s).reason, Reason::Forbidden);
        // No reason at all: the transport's failure, or the code's generic one.
        let p = Problem::from_status(&tonic::Status::unavailable("connection refused"));
        assert_eq!((p.status, p.reason), (503, Reason::RegionUnavailable));
        let p = Problem::from_status(&samling_kit::error::refusal_status(
            Reason::StoreUnavailable,
            "x",
        ));
        assert_eq!(p.reason, Reason::StoreUnavailable);
        assert_eq!(
            Problem::from_status(&tonic::Status::not_found("x")).reason,
            Reason::NotFound
        );
    }

    #[test]
    fn the_gateways_own_refusals_carry_their_reasons() {
        assert_eq!(Problem::too_many(3).reason, Reason::RateLimited);
        assert_eq!(Problem::too_large(10).reason, Reason::BodyTooLarge);
        assert_eq!(
            Problem::unprocessable("x").reason,
            Reason::IdempotencyKeyReused
        );
        assert_eq!(Problem::invalid("body", "x").reason, Reason::InvalidField);
        let p = Problem::refused(Reason::UnknownRegion, "no");
        assert_eq!((p.status, p.code.as_str()), (404, "NOT_FOUND"));
    }

    #[test]
    fn internal_details_are_not_forwarded() {
        let p = Problem::from_status(&tonic::Status::internal("db password wrong"));
        assert_eq!(p.status, 500);
        assert!(!p.detail.contains("password"));
    }
}
