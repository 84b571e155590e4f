//! The ombud service's one error type. Validation errors name the request
//! field; a refused transition names the field whose value the state does
//! not allow. Mapped to gRPC codes through kit's [`ServiceError`].
use samling_kit::error::{ErrorCode, KitError, ServiceError};

#[derive(Debug, thiserror::Error)]
pub enum OmbudError {
    /// Bad input: `field` is the request field at fault.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// Not there, or not the caller's to know of (strangers are told the
    /// same).
    #[error("{0} not found")]
    NotFound(String),
    /// Optimistic-concurrency conflict (a stale `expected_version`).
    #[error("{0}")]
    Conflict(String),
    /// The record's state does not allow the change, because of `field`.
    #[error("{field}: {message}")]
    Precondition { field: String, message: String },
    #[error(transparent)]
    Kit(#[from] KitError),
}

impl OmbudError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        OmbudError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
    pub fn precondition(field: impl Into<String>, message: impl Into<String>) -> Self {
        OmbudError::Precondition {
            field: field.into(),
            message: message.into(),
        }
    }
    pub fn not_found(what: impl Into<String>) -> Self {
        OmbudError::NotFound(what.into())
    }
}

impl ServiceError for OmbudError {
    fn code(&self) -> ErrorCode {
        match self {
            OmbudError::Invalid { .. } => ErrorCode::InvalidArgument,
            OmbudError::NotFound(_) => ErrorCode::NotFound,
            OmbudError::Conflict(_) => ErrorCode::Aborted,
            OmbudError::Precondition { .. } => ErrorCode::FailedPrecondition,
            OmbudError::Kit(k) => k.code(),
        }
    }
    fn reason(&self) -> samling_kit::error::Reason {
        match self {
            OmbudError::Kit(k) => k.reason(),
            _ => samling_kit::error::Reason::for_code(self.code().grpc()),
        }
    }
    fn field(&self) -> Option<&str> {
        match self {
            OmbudError::Invalid { field, .. } | OmbudError::Precondition { field, .. } => {
                Some(field)
            }
            OmbudError::Kit(k) => k.field(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_their_field_and_map_to_codes() {
        let e = OmbudError::invalid("summary", "is empty");
        assert_eq!(e.field(), Some("summary"));
        assert_eq!(e.code(), ErrorCode::InvalidArgument);
        let e = OmbudError::precondition("to_state", "no");
        assert_eq!(e.code(), ErrorCode::FailedPrecondition);
        assert_eq!(e.field(), Some("to_state"));
        assert_eq!(OmbudError::not_found("case x").code(), ErrorCode::NotFound);
    }
}
