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
    if code == ErrorCode::Unavailable {
        // A store fault answered as "try again": the operator must see it.
        tracing::warn!(error = %err, "unavailable");
        return Status::unavailable("temporarily unavailable; retry later");
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
    /// A record that does not exist, named with its id (`"home 0191… not found"`).
    #[error("{0} not found")]
    NotFound(String),
    /// Shown with the store's own error code and message (never a value:
    /// SQLite's and PostgreSQL's primary messages name tables and
    /// constraints, not data), so an operator can tell a full disk from a
    /// lock timeout.
    #[error("database error: {}", describe_db_error(.0))]
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
            KitError::NotFound(_) => ErrorCode::NotFound,
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

/// Faults of the store itself that a retry later may outlive (pool
/// exhaustion, a closed pool, I/O, a full disk, a busy or read-only file, a
/// lost PostgreSQL connection, an operator shutdown) are `UNAVAILABLE`;
/// serialization failures and deadlocks `ABORTED` (retry now); the rest
/// internal.
pub fn db_error_code(e: &sqlx::Error) -> ErrorCode {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::WorkerCrashed => ErrorCode::Unavailable,
        sqlx::Error::Database(db) => match store_code(db.as_ref()) {
            StoreCode::Sqlite(code) => match code & 0xff {
                // BUSY, LOCKED, READONLY, IOERR, FULL, CANTOPEN
                5 | 6 | 8 | 10 | 13 | 14 => ErrorCode::Unavailable,
                _ => ErrorCode::Internal,
            },
            StoreCode::Postgres(state) => match state.get(..2) {
                // connection exception, insufficient resources (disk full,
                // out of memory), operator intervention (shutdown)
                Some("08" | "53" | "57") => ErrorCode::Unavailable,
                Some("40") => ErrorCode::Aborted,
                _ if state == "25006" => ErrorCode::Unavailable, // read-only transaction
                _ => ErrorCode::Internal,
            },
            StoreCode::Other => ErrorCode::Internal,
        },
        _ => ErrorCode::Internal,
    }
}

enum StoreCode {
    /// SQLite's extended result code (`13` = SQLITE_FULL, `266` = SQLITE_IOERR_READ).
    Sqlite(i64),
    /// PostgreSQL's SQLSTATE.
    Postgres(String),
    Other,
}

fn store_code(db: &dyn sqlx::error::DatabaseError) -> StoreCode {
    let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
    if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        code.parse()
            .map(StoreCode::Sqlite)
            .unwrap_or(StoreCode::Other)
    } else if db
        .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
        .is_some()
    {
        StoreCode::Postgres(code)
    } else {
        StoreCode::Other
    }
}

/// A store error as an operator needs it: the backend's code and message
/// (`SQLITE_FULL`-style codes by number, PostgreSQL's SQLSTATE), or sqlx's
/// own description for pool and I/O faults.
pub fn describe_db_error(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => {
            let mut message: String = db.message().chars().take(200).collect();
            if message.is_empty() {
                message = "(no message)".into();
            }
            match store_code(db.as_ref()) {
                StoreCode::Sqlite(code) => format!("sqlite code {code}: {message}"),
                StoreCode::Postgres(state) => format!("postgres sqlstate {state}: {message}"),
                StoreCode::Other => message,
            }
        }
        sqlx::Error::Io(io) => format!("i/o: {io}"),
        sqlx::Error::PoolTimedOut => "timed out waiting for a connection".into(),
        sqlx::Error::PoolClosed => "the pool is closed".into(),
        sqlx::Error::WorkerCrashed => "the connection's worker stopped".into(),
        other => other.to_string().chars().take(200).collect(),
    }
}

/// Log a store fault where it happens (`op`: the statement or step), with
/// its code: `store error op=COMMIT error="sqlite code 13: database or disk
/// is full"`.
pub fn log_db_error(op: &str, e: &sqlx::Error) {
    tracing::error!(op, error = %describe_db_error(e), "store error");
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
