//! The portfolio service's one error type. Validation errors name the
//! request field. Mapped to gRPC codes through kit's [`ServiceError`].
use samling_kit::error::{ErrorCode, KitError, ServiceError};

#[derive(Debug, thiserror::Error)]
pub enum PortfolioError {
    /// Bad input: `field` is the request field at fault (dotted or indexed
    /// for nested fields, e.g. `health.referrals[1].referred_on`).
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("{0} not found")]
    NotFound(String),
    /// Optimistic-concurrency conflict (a stale `expected_version`).
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Kit(#[from] KitError),
}

impl PortfolioError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        PortfolioError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
    pub fn not_found(what: impl Into<String>) -> Self {
        PortfolioError::NotFound(what.into())
    }
}

impl ServiceError for PortfolioError {
    fn code(&self) -> ErrorCode {
        match self {
            PortfolioError::Invalid { .. } => ErrorCode::InvalidArgument,
            PortfolioError::NotFound(_) => ErrorCode::NotFound,
            PortfolioError::Conflict(_) => ErrorCode::Aborted,
            PortfolioError::Kit(k) => k.code(),
        }
    }
    fn reason(&self) -> samling_kit::error::Reason {
        match self {
            PortfolioError::Kit(k) => k.reason(),
            _ => samling_kit::error::Reason::for_code(self.code().grpc()),
        }
    }
    fn field(&self) -> Option<&str> {
        match self {
            PortfolioError::Invalid { field, .. } => Some(field),
            PortfolioError::Kit(k) => k.field(),
            _ => None,
        }
    }
}
