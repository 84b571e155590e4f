//! One error-code enum, mapped once to gRPC status codes, and one list of
//! stable reasons (docs/reason-codes.md).
//!
//! Each service has its own error type (thiserror) implementing
//! [`ServiceError`]; [`to_status`] turns it into a `tonic::Status`. The
//! gateway maps the same codes to HTTP problem+json. Every refusal carries a
//! machine-readable [`Reason`] in the `samling-reason` metadata key (the
//! gateway's problem+json `reason`), so that clients need not parse the
//! English message. An invalid field is one type, [`FieldError`] (path,
//! message, reason): its path goes into the `samling-field` metadata key (the
//! problem's `field`) and prefixes the message (`"field: message"`).

use tonic::{Code, Status};

/// Metadata key naming the invalid field of an `INVALID_ARGUMENT` status.
pub const FIELD_METADATA_KEY: &str = "samling-field";

/// Metadata key carrying a refusal's [`Reason`] (`NOT_FOUND`, `OUT_OF_REGION`, …).
pub const REASON_METADATA_KEY: &str = "samling-reason";

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

    /// The service-side code of a gRPC code (the codes only the gateway
    /// answers with fold into the nearest one).
    pub fn of_grpc(code: Code) -> ErrorCode {
        match code {
            Code::InvalidArgument | Code::OutOfRange => ErrorCode::InvalidArgument,
            Code::NotFound => ErrorCode::NotFound,
            Code::AlreadyExists => ErrorCode::AlreadyExists,
            Code::FailedPrecondition => ErrorCode::FailedPrecondition,
            Code::Aborted => ErrorCode::Aborted,
            Code::PermissionDenied => ErrorCode::PermissionDenied,
            Code::Unauthenticated => ErrorCode::Unauthenticated,
            Code::ResourceExhausted => ErrorCode::ResourceExhausted,
            Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => ErrorCode::Unavailable,
            Code::Ok | Code::Unknown | Code::Internal | Code::DataLoss | Code::Unimplemented => {
                ErrorCode::Internal
            }
        }
    }
}

macro_rules! reasons {
    ($($(#[$doc:meta])* $variant:ident = $name:literal, $code:ident;)+) => {
        /// Why a request was refused: a stable, machine-readable name from
        /// the documented list (docs/reason-codes.md; a test holds the two
        /// together). Each reason is sent with one gRPC code ([`Reason::code`]);
        /// a code has many reasons. New reasons may be added; a name never
        /// changes meaning.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Reason {
            $($(#[$doc])* $variant,)+
        }

        impl Reason {
            /// Every reason, in the documented order.
            pub const ALL: &'static [Reason] = &[$(Reason::$variant,)+];

            /// The reason's name as sent (`"OUT_OF_REGION"`).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Reason::$variant => $name,)+
                }
            }

            /// The gRPC code the reason is sent with.
            pub const fn code(self) -> Code {
                match self {
                    $(Reason::$variant => Code::$code,)+
                }
            }

            /// A reason by its name; `None` for a name not in the list.
            pub fn parse(name: &str) -> Option<Reason> {
                match name {
                    $($name => Some(Reason::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

reasons! {
    /// A field's value is refused; `field` names it.
    InvalidField = "INVALID_FIELD", InvalidArgument;
    /// The request is malformed as a whole (no single field to name).
    InvalidRequest = "INVALID_REQUEST", InvalidArgument;
    /// The body is over the size limit (HTTP 413).
    BodyTooLarge = "BODY_TOO_LARGE", InvalidArgument;
    /// The Idempotency-Key (or `request_id`) was used for a different request.
    IdempotencyKeyReused = "IDEMPOTENCY_KEY_REUSED", InvalidArgument;
    /// No valid credentials: token or auth context missing, malformed,
    /// expired or not trusted.
    Unauthenticated = "UNAUTHENTICATED", Unauthenticated;
    /// The caller's role may not do this.
    ForbiddenRole = "FORBIDDEN_ROLE", PermissionDenied;
    /// A regional officer's token is for another region (or names none).
    OutOfRegion = "OUT_OF_REGION", PermissionDenied;
    /// A municipal caller acts for another municipality.
    NotOwnMunicipality = "NOT_OWN_MUNICIPALITY", PermissionDenied;
    /// A family home or child reaches a record not its own.
    NotOwnRecord = "NOT_OWN_RECORD", PermissionDenied;
    /// The municipality has no documented link to the home for this decision.
    NoDocumentedLink = "NO_DOCUMENTED_LINK", PermissionDenied;
    /// Only the first placing municipality may object.
    NotFirstPlacing = "NOT_FIRST_PLACING", PermissionDenied;
    /// Permission denied for another reason (the detail says which).
    Forbidden = "FORBIDDEN", PermissionDenied;
    /// No such record, or one the caller may not know exists.
    NotFound = "NOT_FOUND", NotFound;
    /// The region in the path is not served here.
    UnknownRegion = "UNKNOWN_REGION", NotFound;
    /// The record changed since it was read (`expected_version`): read it again.
    VersionConflict = "VERSION_CONFLICT", Aborted;
    /// The same fact is already recorded.
    AlreadyRecorded = "ALREADY_RECORDED", Aborted;
    /// A request with this Idempotency-Key is still being processed.
    IdempotencyKeyInUse = "IDEMPOTENCY_KEY_IN_USE", Aborted;
    /// The store aborted the transaction (serialization, deadlock): retry now.
    TransactionConflict = "TRANSACTION_CONFLICT", Aborted;
    /// Conflict for another reason (the detail says which).
    Conflict = "CONFLICT", Aborted;
    /// The record's state does not allow this (already ended, decided,
    /// resolved; a status that cannot change so; …).
    InvalidState = "INVALID_STATE", FailedPrecondition;
    /// No free place: the home is at its approved capacity or the unit full.
    CapacityExceeded = "CAPACITY_EXCEEDED", FailedPrecondition;
    /// The home takes no such placement (status, consent withdrawn, no
    /// emergency placements, a contact family).
    NotAcceptingPlacements = "NOT_ACCEPTING_PLACEMENTS", FailedPrecondition;
    /// The first placing municipality objects to further placements in the home.
    PlacementObjected = "PLACEMENT_OBJECTED", FailedPrecondition;
    /// Over the rate limit: retry after `Retry-After` seconds.
    RateLimited = "RATE_LIMITED", ResourceExhausted;
    /// Some other resource is exhausted (the detail says which).
    ResourceExhausted = "RESOURCE_EXHAUSTED", ResourceExhausted;
    /// The service's store is unavailable: retry later.
    StoreUnavailable = "STORE_UNAVAILABLE", Unavailable;
    /// The region's service is unavailable (down, or shed by the circuit breaker).
    RegionUnavailable = "REGION_UNAVAILABLE", Unavailable;
    /// The idempotency store is down and the operation has no request id.
    IdempotencyStoreUnavailable = "IDEMPOTENCY_STORE_UNAVAILABLE", Unavailable;
    /// Unavailable for another reason (shutting down, …): retry later.
    Unavailable = "UNAVAILABLE", Unavailable;
    /// The region did not answer within the deadline.
    RegionTimeout = "REGION_TIMEOUT", DeadlineExceeded;
    /// The operation is not implemented.
    NotImplemented = "NOT_IMPLEMENTED", Unimplemented;
    /// The request was cancelled.
    Cancelled = "CANCELLED", Cancelled;
    /// An internal error; the detail is not given out.
    Internal = "INTERNAL", Internal;
}

impl Reason {
    /// The reason of a refusal that names none: the generic one of its code.
    pub fn for_code(code: Code) -> Reason {
        match code {
            Code::InvalidArgument | Code::OutOfRange => Reason::InvalidRequest,
            Code::Unauthenticated => Reason::Unauthenticated,
            Code::PermissionDenied => Reason::Forbidden,
            Code::NotFound => Reason::NotFound,
            Code::AlreadyExists | Code::Aborted => Reason::Conflict,
            Code::FailedPrecondition => Reason::InvalidState,
            Code::ResourceExhausted => Reason::ResourceExhausted,
            Code::Unavailable => Reason::Unavailable,
            Code::DeadlineExceeded => Reason::RegionTimeout,
            Code::Unimplemented => Reason::NotImplemented,
            Code::Cancelled => Reason::Cancelled,
            Code::Ok | Code::Unknown | Code::Internal | Code::DataLoss => Reason::Internal,
        }
    }

    /// The reason a status carries in its metadata, else its code's generic one.
    pub fn of_status(status: &Status) -> Reason {
        status
            .metadata()
            .get(REASON_METADATA_KEY)
            .and_then(|v| v.to_str().ok())
            .and_then(Reason::parse)
            .unwrap_or_else(|| Reason::for_code(status.code()))
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Reason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// The one representation of an invalid field, wherever it is refused:
/// its path in the request (`draft.capacity`, `children[2].personnummer`),
/// what is wrong, and why in the reason list (`INVALID_FIELD`, or e.g.
/// `IDEMPOTENCY_KEY_REUSED` for a reused `request_id`). Shown as
/// `"path: message"`; over gRPC the path is also the `samling-field`
/// metadata, in problem+json the `field` member.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
    pub reason: Reason,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
            reason: Reason::InvalidField,
        }
    }

    /// The same field refused for a more specific reason (of `INVALID_ARGUMENT`).
    pub fn because(mut self, reason: Reason) -> Self {
        self.reason = reason;
        self
    }
}

/// A refusal for a stated reason, sent with the reason's own code
/// (`Refusal::new(Reason::OutOfRegion, "…")` is `PERMISSION_DENIED`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Refusal {
    pub reason: Reason,
    pub message: String,
}

impl Refusal {
    pub fn new(reason: Reason, message: impl Into<String>) -> Self {
        Refusal {
            reason,
            message: message.into(),
        }
    }
}

/// A status for a refusal made outside a [`ServiceError`] (an interceptor,
/// a stream), with its reason in the metadata.
pub fn refusal_status(reason: Reason, message: impl Into<String>) -> Status {
    let mut status = Status::new(reason.code(), message.into());
    status.metadata_mut().insert(
        REASON_METADATA_KEY,
        tonic::metadata::MetadataValue::from_static(reason.as_str()),
    );
    status
}

/// Implemented by every service's error type.
pub trait ServiceError: std::error::Error {
    fn code(&self) -> ErrorCode;
    /// Why, from the documented list; by default the generic reason of the code.
    fn reason(&self) -> Reason {
        Reason::for_code(self.code().grpc())
    }
    /// The invalid field, for validation errors.
    fn invalid_field(&self) -> Option<&FieldError> {
        None
    }
    /// The request field at fault, for validation errors.
    fn field(&self) -> Option<&str> {
        self.invalid_field().map(|f| f.field.as_str())
    }
}

/// Map a service error to a gRPC status, its reason in `samling-reason` and
/// an invalid field's path in `samling-field`. Internal errors are logged
/// here and replaced by a generic message so no detail (or personal data)
/// leaks.
pub fn to_status<E: ServiceError>(err: &E) -> Status {
    let code = err.code();
    let reason = err.reason();
    if code == ErrorCode::Internal {
        tracing::error!(error = %err, "internal error");
        return refusal_status(Reason::Internal, "internal error");
    }
    if code == ErrorCode::Unavailable {
        // A store fault answered as "try again": the operator must see it.
        tracing::warn!(error = %err, "unavailable");
        let mut s = Status::unavailable("temporarily unavailable; retry later");
        s.metadata_mut().insert(
            REASON_METADATA_KEY,
            tonic::metadata::MetadataValue::from_static(reason.as_str()),
        );
        return s;
    }
    let mut status = Status::new(code.grpc(), err.to_string());
    status.metadata_mut().insert(
        REASON_METADATA_KEY,
        tonic::metadata::MetadataValue::from_static(reason.as_str()),
    );
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
    #[error(transparent)]
    InvalidArgument(#[from] FieldError),
    /// A refusal for a stated reason (`OUT_OF_REGION`, `CAPACITY_EXCEEDED`, …).
    #[error(transparent)]
    Refused(#[from] Refusal),
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
        KitError::InvalidArgument(FieldError::new(field, message))
    }

    pub fn refused(reason: Reason, message: impl Into<String>) -> Self {
        KitError::Refused(Refusal::new(reason, message))
    }
}

impl ServiceError for KitError {
    fn code(&self) -> ErrorCode {
        match self {
            KitError::InvalidArgument(_) => ErrorCode::InvalidArgument,
            KitError::Refused(r) => ErrorCode::of_grpc(r.reason.code()),
            KitError::Unauthenticated(_) => ErrorCode::Unauthenticated,
            KitError::PermissionDenied(_) => ErrorCode::PermissionDenied,
            KitError::FailedPrecondition(_) => ErrorCode::FailedPrecondition,
            KitError::NotFound(_) => ErrorCode::NotFound,
            KitError::Database(e) => db_error_code(e),
            KitError::Internal(_) => ErrorCode::Internal,
        }
    }
    fn reason(&self) -> Reason {
        match self {
            KitError::InvalidArgument(f) => f.reason,
            KitError::Refused(r) => r.reason,
            KitError::Database(e) => match db_error_code(e) {
                ErrorCode::Unavailable => Reason::StoreUnavailable,
                ErrorCode::Aborted => Reason::TransactionConflict,
                _ => Reason::Internal,
            },
            other => Reason::for_code(other.code().grpc()),
        }
    }
    fn invalid_field(&self) -> Option<&FieldError> {
        match self {
            KitError::InvalidArgument(f) => Some(f),
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
    note_storage_fault(e);
    tracing::error!(op, error = %describe_db_error(e), "store error");
}

/// When a store last refused a write for lack of room or I/O, in this process.
static LAST_STORAGE_FAULT: std::sync::Mutex<Option<std::time::Instant>> =
    std::sync::Mutex::new(None);

/// Note a write refused for lack of room or I/O (SQLite READONLY, IOERR,
/// FULL; PostgreSQL's disk_full): the store probe's one-row write can still
/// commit on a full disk (SQLite reuses the WAL's space after a checkpoint),
/// so health also turns on what real writes met (`storage_fault_within`).
pub fn note_storage_fault(e: &sqlx::Error) {
    let fault = match e {
        sqlx::Error::Database(db) => match store_code(db.as_ref()) {
            StoreCode::Sqlite(code) => matches!(code & 0xff, 8 | 10 | 13),
            StoreCode::Postgres(state) => state == "53100",
            StoreCode::Other => false,
        },
        _ => false,
    };
    if fault && let Ok(mut last) = LAST_STORAGE_FAULT.lock() {
        *last = Some(std::time::Instant::now());
    }
}

/// A write was refused for lack of room or I/O within `window`.
pub fn storage_fault_within(window: std::time::Duration) -> bool {
    LAST_STORAGE_FAULT
        .lock()
        .ok()
        .and_then(|l| *l)
        .is_some_and(|at| at.elapsed() < window)
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
        assert_eq!(Reason::of_status(&s), Reason::Internal);
    }

    fn reason_in(s: &Status) -> &str {
        s.metadata()
            .get(REASON_METADATA_KEY)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("(none)")
    }

    #[test]
    fn every_refusal_carries_its_reason_in_metadata() {
        let cases: Vec<(KitError, Code, &str)> = vec![
            (
                KitError::invalid("home.capacity", "must be 1–10"),
                Code::InvalidArgument,
                "INVALID_FIELD",
            ),
            (
                FieldError::new("request_id", "was already used for a different request")
                    .because(Reason::IdempotencyKeyReused)
                    .into(),
                Code::InvalidArgument,
                "IDEMPOTENCY_KEY_REUSED",
            ),
            (
                KitError::Unauthenticated("auth context expired".into()),
                Code::Unauthenticated,
                "UNAUTHENTICATED",
            ),
            (
                KitError::PermissionDenied("no".into()),
                Code::PermissionDenied,
                "FORBIDDEN",
            ),
            (
                KitError::FailedPrecondition("state".into()),
                Code::FailedPrecondition,
                "INVALID_STATE",
            ),
            (
                KitError::refused(Reason::OutOfRegion, "another region"),
                Code::PermissionDenied,
                "OUT_OF_REGION",
            ),
            (
                KitError::refused(Reason::CapacityExceeded, "full"),
                Code::FailedPrecondition,
                "CAPACITY_EXCEEDED",
            ),
            (
                KitError::Database(sqlx::Error::PoolTimedOut),
                Code::Unavailable,
                "STORE_UNAVAILABLE",
            ),
            (
                KitError::Database(sqlx::Error::RowNotFound),
                Code::Internal,
                "INTERNAL",
            ),
        ];
        for (err, code, reason) in cases {
            let s = to_status(&err);
            assert_eq!((s.code(), reason_in(&s)), (code, reason), "{err:?}");
            assert_eq!(Reason::of_status(&s).as_str(), reason);
        }
    }

    #[test]
    fn a_refusal_is_sent_with_its_reasons_code() {
        for &r in Reason::ALL {
            let e = KitError::refused(r, "x");
            let sent = to_status(&e);
            // Codes only the gateway answers with fold into a service code.
            assert_eq!(sent.code(), ErrorCode::of_grpc(r.code()).grpc(), "{r}");
            if ErrorCode::of_grpc(r.code()).grpc() == r.code() {
                assert_eq!(reason_in(&sent), r.as_str());
            }
            let s = refusal_status(r, "x");
            assert_eq!((s.code(), Reason::of_status(&s)), (r.code(), r));
        }
    }

    #[test]
    fn reasons_have_distinct_screaming_snake_names_that_parse_back() {
        let mut seen = std::collections::BTreeSet::new();
        for &r in Reason::ALL {
            let name = r.as_str();
            assert!(
                name.chars().all(|c| c.is_ascii_uppercase() || c == '_'),
                "{name}"
            );
            assert!(seen.insert(name), "{name} twice");
            assert_eq!(Reason::parse(name), Some(r));
        }
        assert_eq!(Reason::parse("not_found"), None);
        // A status without the metadata gets its code's generic reason,
        // and an unknown name is not taken as one.
        assert_eq!(Reason::of_status(&Status::not_found("x")), Reason::NotFound);
        let mut s = Status::permission_denied("x");
        s.metadata_mut()
            .insert(REASON_METADATA_KEY, "MADE_UP".parse().unwrap());
        assert_eq!(Reason::of_status(&s), Reason::Forbidden);
    }

    /// docs/reason-codes.md lists every reason (as a `### NAME` heading)
    /// and nothing else.
    #[test]
    fn every_reason_is_documented_and_every_documented_reason_exists() {
        let doc = include_str!("../../../docs/reason-codes.md");
        let documented: Vec<&str> = doc
            .lines()
            .filter_map(|l| l.strip_prefix("### "))
            .map(|h| h.trim().trim_matches('`'))
            .collect();
        let known: Vec<&str> = Reason::ALL.iter().map(|r| r.as_str()).collect();
        for name in &known {
            assert!(
                documented.contains(name),
                "{name} is not in docs/reason-codes.md"
            );
        }
        for name in &documented {
            assert!(
                known.contains(name),
                "docs/reason-codes.md lists {name}, which kit does not know"
            );
        }
        assert_eq!(
            documented, known,
            "the document lists the reasons in the enum's order"
        );
    }
}
