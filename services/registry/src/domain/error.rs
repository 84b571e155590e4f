//! The registry's one error type, mapped once to gRPC codes (the
//! conversions from sqlx and to tonic live with the store and gRPC layers).
use samling_kit::error::{ErrorCode, KitError, ServiceError};

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Precondition(String),
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    Kit(#[from] KitError),
}

impl RegistryError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        RegistryError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        RegistryError::Forbidden(message.into())
    }
    pub fn precondition(message: impl Into<String>) -> Self {
        RegistryError::Precondition(message.into())
    }
}

impl ServiceError for RegistryError {
    fn code(&self) -> ErrorCode {
        match self {
            RegistryError::Invalid { .. } => ErrorCode::InvalidArgument,
            RegistryError::NotFound(_) => ErrorCode::NotFound,
            RegistryError::Conflict(_) => ErrorCode::Aborted,
            RegistryError::Precondition(_) => ErrorCode::FailedPrecondition,
            RegistryError::Forbidden(_) => ErrorCode::PermissionDenied,
            RegistryError::Kit(k) => k.code(),
        }
    }
    fn field(&self) -> Option<&str> {
        match self {
            RegistryError::Invalid { field, .. } => Some(field),
            RegistryError::Kit(k) => k.field(),
            _ => None,
        }
    }
}
