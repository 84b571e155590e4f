//! The registry's one error type, mapped once to gRPC codes and reasons
//! (docs/reason-codes.md); the conversions from sqlx and to tonic live with the
//! store and gRPC layers.
use samling_kit::error::{ErrorCode, FieldError, KitError, Reason, Refusal, ServiceError};

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// An invalid field (kit's one representation of it).
    #[error(transparent)]
    Invalid(FieldError),
    #[error("{0} not found")]
    NotFound(String),
    /// The record changed since it was read: `VERSION_CONFLICT`.
    #[error("{0}")]
    Conflict(String),
    /// The record's state does not allow it: `INVALID_STATE`.
    #[error("{0}")]
    Precondition(String),
    /// The caller's role may not: `FORBIDDEN_ROLE`.
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    Kit(#[from] KitError),
}

impl RegistryError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        RegistryError::Invalid(FieldError::new(field, message))
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        RegistryError::Forbidden(message.into())
    }
    pub fn precondition(message: impl Into<String>) -> Self {
        RegistryError::Precondition(message.into())
    }
    /// A refusal for a stated reason, sent with that reason's code
    /// (`refused(Reason::CapacityExceeded, …)` is `FAILED_PRECONDITION`).
    pub fn refused(reason: Reason, message: impl Into<String>) -> Self {
        RegistryError::Kit(KitError::Refused(Refusal::new(reason, message)))
    }
}

impl ServiceError for RegistryError {
    fn code(&self) -> ErrorCode {
        match self {
            RegistryError::Invalid(_) => ErrorCode::InvalidArgument,
            RegistryError::NotFound(_) => ErrorCode::NotFound,
            RegistryError::Conflict(_) => ErrorCode::Aborted,
            RegistryError::Precondition(_) => ErrorCode::FailedPrecondition,
            RegistryError::Forbidden(_) => ErrorCode::PermissionDenied,
            RegistryError::Kit(k) => k.code(),
        }
    }
    fn reason(&self) -> Reason {
        match self {
            RegistryError::Invalid(f) => f.reason,
            RegistryError::NotFound(_) => Reason::NotFound,
            RegistryError::Conflict(_) => Reason::VersionConflict,
            RegistryError::Precondition(_) => Reason::InvalidState,
            RegistryError::Forbidden(_) => Reason::ForbiddenRole,
            RegistryError::Kit(k) => k.reason(),
        }
    }
    fn invalid_field(&self) -> Option<&FieldError> {
        match self {
            RegistryError::Invalid(f) => Some(f),
            RegistryError::Kit(k) => k.invalid_field(),
            _ => None,
        }
    }
}
