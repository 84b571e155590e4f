//! The recruitment service's one error type. Validation errors name the
//! request field; a refused stage change lists what is missing. Mapped to
//! gRPC codes through kit's [`ServiceError`] (the `tonic::Status`
//! conversion lives with the gRPC layer, not here).
use samling_kit::error::{ErrorCode, KitError, ServiceError};

#[derive(Debug, thiserror::Error)]
pub enum RecruitmentError {
    /// Bad input: `field` is the request field at fault (dotted for nested
    /// fields, e.g. `inquiry.email`).
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
    /// The current stage's requirements are not met; `missing` names each
    /// (ids and codes, never personal data).
    #[error("{stage}: not complete: {}", .missing.join("; "))]
    RequirementsNotMet {
        stage: &'static str,
        missing: Vec<String>,
    },
    /// A mentor family already supports as many homes as its cap allows.
    #[error("mentor_family_id: the mentor family is at its cap of {cap} homes")]
    MentorAtCap { cap: u32 },
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    Kit(#[from] KitError),
}

impl RecruitmentError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        RecruitmentError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
    pub fn precondition(message: impl Into<String>) -> Self {
        RecruitmentError::Precondition(message.into())
    }
    pub fn not_found(what: impl Into<String>) -> Self {
        RecruitmentError::NotFound(what.into())
    }
}

impl ServiceError for RecruitmentError {
    fn code(&self) -> ErrorCode {
        match self {
            RecruitmentError::Invalid { .. } => ErrorCode::InvalidArgument,
            RecruitmentError::NotFound(_) => ErrorCode::NotFound,
            RecruitmentError::Conflict(_) => ErrorCode::Aborted,
            RecruitmentError::Precondition(_)
            | RecruitmentError::RequirementsNotMet { .. }
            | RecruitmentError::MentorAtCap { .. } => ErrorCode::FailedPrecondition,
            RecruitmentError::Forbidden(_) => ErrorCode::PermissionDenied,
            RecruitmentError::Kit(k) => k.code(),
        }
    }
    /// Kit's refusals keep their documented reason (`OUT_OF_REGION`, …).
    fn reason(&self) -> samling_kit::error::Reason {
        match self {
            RecruitmentError::Kit(k) => k.reason(),
            _ => samling_kit::error::Reason::for_code(self.code().grpc()),
        }
    }
    fn field(&self) -> Option<&str> {
        match self {
            RecruitmentError::Invalid { field, .. } => Some(field),
            RecruitmentError::MentorAtCap { .. } => Some("mentor_family_id"),
            RecruitmentError::Kit(k) => k.field(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_their_field_and_map_to_codes() {
        let e = RecruitmentError::invalid("inquiry.email", "is not an e-mail address");
        assert_eq!(e.to_string(), "inquiry.email: is not an e-mail address");
        assert_eq!(e.field(), Some("inquiry.email"));
        assert_eq!(e.code(), ErrorCode::InvalidArgument);

        let e = RecruitmentError::RequirementsNotMet {
            stage: "investigation",
            missing: vec!["bra_fam_screening".into(), "references (1 of 2)".into()],
        };
        assert_eq!(
            e.to_string(),
            "investigation: not complete: bra_fam_screening; references (1 of 2)"
        );
        assert_eq!(e.code(), ErrorCode::FailedPrecondition);
        assert_eq!(e.field(), None);

        let e = RecruitmentError::MentorAtCap { cap: 10 };
        assert_eq!(e.code(), ErrorCode::FailedPrecondition);
        assert_eq!(e.field(), Some("mentor_family_id"));
        assert!(e.to_string().contains("cap of 10"));

        let e = RecruitmentError::from(KitError::invalid("page.page_token", "bad"));
        assert_eq!(e.code(), ErrorCode::InvalidArgument);
        assert_eq!(e.field(), Some("page.page_token"));
    }
}
