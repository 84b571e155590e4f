//! The registry's one error type, mapped once to gRPC codes and reasons
//! (docs/reason-codes.md).
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

impl From<sqlx::Error> for RegistryError {
    fn from(e: sqlx::Error) -> Self {
        RegistryError::Kit(KitError::Database(e))
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

impl From<RegistryError> for tonic::Status {
    fn from(e: RegistryError) -> Self {
        samling_kit::error::to_status(&e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use samling_kit::error::{FIELD_METADATA_KEY, REASON_METADATA_KEY};

    fn sent(e: RegistryError) -> (tonic::Code, String, Option<String>) {
        let s = tonic::Status::from(e);
        let meta = |k: &str| {
            s.metadata()
                .get(k)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        (
            s.code(),
            meta(REASON_METADATA_KEY).unwrap_or_default(),
            meta(FIELD_METADATA_KEY),
        )
    }

    #[test]
    fn each_refusal_goes_out_with_its_code_reason_and_field() {
        use tonic::Code;
        let field = |f: &str| Some(f.to_string());
        for (e, want) in [
            (
                RegistryError::invalid("draft.capacity", "must be 1–10"),
                (
                    Code::InvalidArgument,
                    "INVALID_FIELD",
                    field("draft.capacity"),
                ),
            ),
            (
                KitError::invalid("home_id", "is not a UUID").into(),
                (Code::InvalidArgument, "INVALID_FIELD", field("home_id")),
            ),
            (
                RegistryError::NotFound("home x".into()),
                (Code::NotFound, "NOT_FOUND", None),
            ),
            (
                RegistryError::Conflict("read it again".into()),
                (Code::Aborted, "VERSION_CONFLICT", None),
            ),
            (
                RegistryError::precondition("already ended"),
                (Code::FailedPrecondition, "INVALID_STATE", None),
            ),
            (
                RegistryError::forbidden("your role may not"),
                (Code::PermissionDenied, "FORBIDDEN_ROLE", None),
            ),
            (
                RegistryError::refused(Reason::OutOfRegion, "another region"),
                (Code::PermissionDenied, "OUT_OF_REGION", None),
            ),
            (
                RegistryError::refused(Reason::AlreadyRecorded, "already"),
                (Code::Aborted, "ALREADY_RECORDED", None),
            ),
        ] {
            let want = (want.0, want.1.to_string(), want.2);
            assert_eq!(sent(e), want);
        }
    }
}
