//! The matching core's error type: every invalid input names its field.
use samling_kit::error::{ErrorCode, KitError, ServiceError};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MatchingError {
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Precondition(String),
    /// The matching configuration (file or built-in) is not usable.
    #[error("matching config: {0}")]
    Config(String),
}

impl MatchingError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        MatchingError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
    pub fn precondition(message: impl Into<String>) -> Self {
        MatchingError::Precondition(message.into())
    }
}

impl From<KitError> for MatchingError {
    fn from(e: KitError) -> Self {
        match e {
            KitError::InvalidArgument(f) => MatchingError::Invalid {
                field: f.field,
                message: f.message,
            },
            other => MatchingError::Precondition(other.to_string()),
        }
    }
}

impl ServiceError for MatchingError {
    fn code(&self) -> ErrorCode {
        match self {
            MatchingError::Invalid { .. } => ErrorCode::InvalidArgument,
            MatchingError::NotFound(_) => ErrorCode::NotFound,
            MatchingError::Conflict(_) => ErrorCode::Aborted,
            MatchingError::Precondition(_) => ErrorCode::FailedPrecondition,
            MatchingError::Config(_) => ErrorCode::Internal,
        }
    }
    fn field(&self) -> Option<&str> {
        match self {
            MatchingError::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }
}
