//! One error-code enum, mapped once to gRPC status codes.
//!
//! Each service has its own error type (thiserror) implementing
//! [`ServiceError`]; [`to_status`] turns it into a `tonic::Status`. The
//! gateway maps the same codes to HTTP problem+json. Validation errors carry
//! the offending field name in the `x-samling-field` metadata key and as the
//! message prefix (`"field: message"`).

use tonic::{Code, Status};

/// Metadata key naming the invalid field of an `INVALID_ARGUMENT` status.
pub const FIELD_METADATA_KEY: &str = "x-samling-field";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidArgument,
    NotFound,
    AlreadyExists,
    FailedPrecondition,
    /// Optimistic-concurrency conflict: re-read and retry.
    Aborted,
    PermissionDenied,
    Unauthenticated,
    ResourceExhausted,
    Unavailable,
    Internal,
}

impl ErrorCode {
    pub fn grpc(self) -> Code {
        match self {
            ErrorCode::InvalidArgument => Code::InvalidArgument,
            ErrorCode::NotFound => Code::NotFound,
            ErrorCode::AlreadyExists => Code::AlreadyExists,
            ErrorCode::FailedPrecondition => Code::FailedPrecondition,
            ErrorCode::Aborted => Code::Aborted,
            ErrorCode::PermissionDenied => Code::PermissionDenied,
            ErrorCode::Unauthenticated => Code::Unauthenticated,
            ErrorCode::ResourceExhausted => Code::ResourceExhausted,
            ErrorCode::Unavailable => Code::Unavailable,
            ErrorCode::Internal => Code::Internal,
        }
    }
}

/// Implemented by every service's error type.
pub trait ServiceError: std::error::Error {
    fn code(&self) -> ErrorCode;
    /// The request field at fault, for validation errors.
    fn field(&self) -> Option<&str> {
        None
    }
}

/// Map a service error to a gRPC status. Internal errors are logged here and
/// replaced by a generic message so no detail (or personal data) leaks.
pub fn to_status<E: ServiceError>(err: &E) -> Status {
    let code = err.code();
    if code == ErrorCode::Internal {
        tracing::error!(error = %err, "internal error");
        return Status::internal("internal error");
    }
    let mut status = Status::new(code.grpc(), err.to_string());
    if let Some(field) = err.field()
        && let Ok(v) = field.parse()
    {
        status.metadata_mut().insert(FIELD_METADATA_KEY, v);
    }
    status
}

/// The errors kit itself produces (stores, auth, paging, parsing). Services
/// wrap it in their own error type with `#[from]`.
#[derive(Debug, thiserror::Error)]
pub enum KitError {
    #[error("{field}: {message}")]
    InvalidArgument { field: String, message: String },
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    PermissionDenied(String),
    #[error("{0}")]
    FailedPrecondition(String),
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error("{0}")]
    Internal(String),
}

impl KitError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        KitError::InvalidArgument {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl ServiceError for KitError {
    fn code(&self) -> ErrorCode {
        match self {
            KitError::InvalidArgument { .. } => ErrorCode::InvalidArgument,
            KitError::Unauthenticated(_) => ErrorCode::Unauthenticated,
            KitError::PermissionDenied(_) => ErrorCode::PermissionDenied,
            KitError::FailedPrecondition(_) => ErrorCode::FailedPrecondition,
            KitError::Database(e) => db_error_code(e),
            KitError::Internal(_) => ErrorCode::Internal,
        }
    }
    fn field(&self) -> Option<&str> {
        match self {
            KitError::InvalidArgument { field, .. } => Some(field),
            _ => None,
        }
    }
}

/// Pool exhaustion and closed pools are transient (`UNAVAILABLE`), the rest internal.
pub fn db_error_code(e: &sqlx::Error) -> ErrorCode {
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            ErrorCode::Unavailable
        }
        _ => ErrorCode::Internal,
    }
}

impl From<KitError> for Status {
    fn from(e: KitError) -> Self {
        to_status(&e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_validation_error_names_its_field_in_metadata_and_message() {
        let s = to_status(&KitError::invalid("home.capacity", "must be 1–10"));
        assert_eq!(s.code(), Code::InvalidArgument);
        assert_eq!(s.message(), "home.capacity: must be 1–10");
        assert_eq!(
            s.metadata().get(FIELD_METADATA_KEY).unwrap(),
            "home.capacity"
        );
    }

    #[test]
    fn internal_errors_do_not_leak_their_detail() {
        let s = to_status(&KitError::Internal("secret 19121212-1212".into()));
        assert_eq!(s.code(), Code::Internal);
        assert!(!s.message().contains("1212"));
    }
}
