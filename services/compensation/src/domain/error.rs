//! The compensation service's one error type. Validation errors name the
//! request field. Mapped to gRPC codes through kit's [`ServiceError`].
use samling_kit::error::{ErrorCode, KitError, ServiceError};

#[derive(Debug, thiserror::Error)]
pub enum CompensationError {
    /// Bad input: `field` is the request field at fault (dotted or indexed
    /// for nested fields, e.g. `arvode[2].monthly_ore`).
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("{0} not found")]
    NotFound(String),
    /// Optimistic-concurrency conflict (a stale `expected_version`).
    #[error("{0}")]
    Conflict(String),
    /// The record's state does not allow the change.
    #[error("{0}")]
    Precondition(String),
    /// The state does not allow the change, because of `field` (e.g.
    /// another payment run of the same month in progress).
    #[error("{field}: {message}")]
    PreconditionOn { field: String, message: String },
    #[error(transparent)]
    Kit(#[from] KitError),
}

impl CompensationError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        CompensationError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
    pub fn precondition(message: impl Into<String>) -> Self {
        CompensationError::Precondition(message.into())
    }
    pub fn not_found(what: impl Into<String>) -> Self {
        CompensationError::NotFound(what.into())
    }
}

impl ServiceError for CompensationError {
    fn code(&self) -> ErrorCode {
        match self {
            CompensationError::Invalid { .. } => ErrorCode::InvalidArgument,
            CompensationError::NotFound(_) => ErrorCode::NotFound,
            CompensationError::Conflict(_) => ErrorCode::Aborted,
            CompensationError::Precondition(_) | CompensationError::PreconditionOn { .. } => {
                ErrorCode::FailedPrecondition
            }
            CompensationError::Kit(k) => k.code(),
        }
    }
    fn reason(&self) -> samling_kit::error::Reason {
        match self {
            CompensationError::Kit(k) => k.reason(),
            _ => samling_kit::error::Reason::for_code(self.code().grpc()),
        }
    }
    fn field(&self) -> Option<&str> {
        match self {
            CompensationError::Invalid { field, .. }
            | CompensationError::PreconditionOn { field, .. } => Some(field),
            CompensationError::Kit(k) => k.field(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_their_field_and_map_to_codes() {
        let e = CompensationError::invalid("arvode[2].monthly_ore", "is negative");
        assert_eq!(e.to_string(), "arvode[2].monthly_ore: is negative");
        assert_eq!(e.field(), Some("arvode[2].monthly_ore"));
        assert_eq!(e.code(), ErrorCode::InvalidArgument);
        assert_eq!(
            CompensationError::precondition("x").code(),
            ErrorCode::FailedPrecondition
        );
        let e = CompensationError::from(KitError::invalid("page.page_token", "bad"));
        assert_eq!(e.field(), Some("page.page_token"));
    }
}
