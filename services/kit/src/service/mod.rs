//! The service skeleton every Samling service shares: the request envelope
//! of a write, audited reads, the `ListAudit` and `WatchEvents` handlers and
//! the gRPC glue. A service implements [`Service`] (its [`Core`], its error
//! type, its region binding and access rules for the two feeds) and one
//! [`Answer`] per answer type (its views); the rest is here.
//!
//! A write, in the order every service follows:
//!
//! ```text
//! access::may_do_this(ctx)?;                      // the caller's code
//! validate(&req)?;
//! let w = self.core().begin(ctx, "DoThis", &req.request_id, &req).await?;
//! // further access checks that need the record (read in w's transaction)
//! let mut w = samling_kit::replay!(w, self, ctx);  // the first answer, re-viewed
//! ...change records through w.conn()...
//! self.core().record(&mut w, ctx, "this_done", "thing", &id, json!({...})).await?;
//! w.finish(self, ctx, answer).await                // commit + stored answer, then the view
//! ```
//!
//! * [`Core::begin`] keys the request on the whole caller
//!   ([`IdempotencyKey::for_caller`]) and opens the write transaction;
//! * access is checked by the service before [`Envelope::replay`]: a stored
//!   answer is never shown to a caller who may no longer see it;
//! * a replay is audited (`replay`) and shown through the same
//!   [`Answer::view`] as a fresh answer, of the record as it stands now
//!   ([`Answer::current`]);
//! * [`Envelope::finish`] commits the change, its stored answer, its audit
//!   entries and its events together, then shows the answer through its view.
//!
//! A new service's skeleton, all of it (its proto declares `ListAudit` and
//! `WatchEvents` with the `common.v1` messages; kit serves both):
//!
//! ```ignore
//! // service/mod.rs
//! #[derive(Clone)]
//! pub struct Ombud {
//!     core: Core,
//! }
//!
//! impl Ombud {
//!     pub fn new(store: Store) -> Self {
//!         Ombud { core: Core::new("ombud", store) }
//!     }
//! }
//!
//! impl Service for Ombud {
//!     type Error = OmbudError;
//!     fn core(&self) -> &Core {
//!         &self.core
//!     }
//!     fn bind(&self, ctx: &AuthContext) -> Result<(), OmbudError> {
//!         access::bound_to_region(ctx, &self.region)
//!     }
//! }
//!
//! // One per answer type: its view for the caller.
//! impl Answer<Ombud> for Case {
//!     fn record(&self) -> (&'static str, String) {
//!         ("case", self.id.clone())
//!     }
//!     async fn view(self, svc: &Ombud, ctx: &AuthContext) -> Result<Self, OmbudError> {
//!         svc.case_for(ctx, self).await
//!     }
//! }
//!
//! // grpc/mod.rs: one line per RPC.
//! pub struct OmbudGrpc(pub Ombud);
//!
//! samling_kit::grpc_service! {
//!     impl OmbudService for OmbudGrpc;
//!     open_case(OpenCaseRequest) -> Case => |s, c, r| s.open_case(&c, r);
//!     ;
//! }
//!
//! // Served behind kit's auth interceptor:
//! //   OmbudServiceServer::with_interceptor(OmbudGrpc(ombud), auth::interceptor(verifier))
//!
//! // A client, in any crate (see crate::client).
//! pub const OMBUD: Stub<OmbudServiceClient<Channel>> =
//!     samling_kit::stub!("ombud", OmbudServiceClient);
//! ```

mod answer;
mod envelope;
mod rpc;

pub use answer::Answer;
pub use envelope::{Envelope, Replay, replayed};
pub use rpc::{EventStream, split, watch_events};

#[doc(hidden)]
pub mod __private {
    pub use samling_proto;
    pub use tonic;
}

use crate::audit::{AuditRecord, AuditWriter};
use crate::auth::{AuthContext, Role};
use crate::db::Store;
use crate::error::KitError;
use crate::idempotency::IdempotencyKey;
use crate::outbox::{EventFeed, NewEvent};
use crate::paging::Page;
use crate::tx::WriteTx;
use samling_proto::common::v1::{Event, ListAuditRequest, ListAuditResponse};
use std::future::Future;

/// What every service holds: its store, its event feed, its read-audit
/// writer and its name (the prefix of its event types).
#[derive(Clone, Debug)]
pub struct Core {
    pub store: Store,
    pub feed: EventFeed,
    audit: AuditWriter,
    name: &'static str,
}

impl Core {
    /// The core of service `name` (`"registry"`) on `store`: starts its
    /// read-audit writer and its audit indexer.
    pub fn new(name: &'static str, store: Store) -> Self {
        let feed = EventFeed::new(store.clone());
        let audit = AuditWriter::spawn(store.clone());
        crate::audit::spawn_indexer(store.clone());
        Core {
            store,
            feed,
            audit,
            name,
        }
    }

    /// The service's name, the prefix of its event types.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Begin an idempotent write: the request's key (the whole caller, the
    /// method and the client's `request_id`; none when that is empty) and the
    /// write transaction. A malformed `request_id` is refused before the
    /// transaction starts.
    pub async fn begin<M: prost::Message>(
        &self,
        ctx: &AuthContext,
        method: &'static str,
        request_id: &str,
        request: &M,
    ) -> Result<Envelope, KitError> {
        let key = IdempotencyKey::for_caller(ctx, method, request_id, request)?;
        let tx = self.store.begin_write().await?;
        Ok(Envelope::from_parts(tx, key))
    }

    /// Audit `change` of a record and announce it as the event
    /// `<service>.<change>` of the same record, both in `tx`: they commit
    /// with the change or not at all. The payload holds ids and codes only.
    pub async fn record(
        &self,
        tx: &mut WriteTx,
        ctx: &AuthContext,
        change: &str,
        record_type: &str,
        record_id: &str,
        payload: serde_json::Value,
    ) -> Result<(), KitError> {
        tx.audit(&ctx.audit(change, record_type, record_id)).await?;
        let event_type = format!("{}.{change}", self.name);
        tx.event(NewEvent::new(&event_type, record_type, record_id, payload))
            .await?;
        Ok(())
    }

    /// Audit a read of `ids` (one entry each); returns once the entries are
    /// durable, so call it before answering.
    pub async fn audit_read(
        &self,
        ctx: &AuthContext,
        record_type: &str,
        ids: &[&str],
    ) -> Result<(), KitError> {
        self.audit_each(ctx, "read", record_type, ids).await
    }

    /// Audit `action` on each of `ids`, durably (see [`Core::audit_read`]).
    pub async fn audit_each(
        &self,
        ctx: &AuthContext,
        action: &str,
        record_type: &str,
        ids: &[&str],
    ) -> Result<(), KitError> {
        let entries = ids
            .iter()
            .map(|id| ctx.audit(action, record_type, id))
            .collect();
        self.audit(entries).await
    }

    /// Record audit entries outside a write (reads, replays, exports),
    /// durably: returns once they are committed.
    pub async fn audit(&self, entries: Vec<AuditRecord>) -> Result<(), KitError> {
        self.audit.record(entries).await
    }
}

/// A service served on the skeleton: its core, its error type, and the
/// access rules of what kit serves for it. Views of its records are
/// [`Answer`]s.
pub trait Service: Send + Sync + Sized {
    /// The service's one error type: kit's errors convert into it, and it
    /// maps to a gRPC status.
    type Error: From<KitError> + Into<tonic::Status> + Send + 'static;

    fn core(&self) -> &Core;

    /// Refuse a caller who may not call this service at all (an officer of
    /// another region), before anything is read. Every RPC calls it first.
    fn bind(&self, _ctx: &AuthContext) -> Result<(), Self::Error> {
        Ok(())
    }

    /// After a write committed: the keys it touched (`WriteTx::touch`), for
    /// caches to drop.
    fn committed(&self, _touched: &[String]) {}

    /// Who may list the audit log (`ListAudit`); by default the office and
    /// services ([`office_only`]).
    fn may_list_audit(&self, ctx: &AuthContext) -> Result<(), Self::Error> {
        Ok(office_only(ctx, "read the audit log")?)
    }

    /// Who may follow the event feed (`WatchEvents`); by default the office
    /// and services: events carry ids only, but the feed is for them.
    fn may_watch_events(&self, ctx: &AuthContext) -> Result<(), Self::Error> {
        Ok(office_only(ctx, "follow the event feed")?)
    }

    /// An event of the feed as the records stand now (a record protected
    /// since the event was written is redacted in it too). By default the
    /// event as written.
    fn event_view(&self, e: Event) -> impl Future<Output = Result<Event, Self::Error>> + Send {
        async move { Ok(e) }
    }
}

/// The office's rule: the regional office and other services only (not
/// the gateway's public caller, [`crate::auth::PUBLIC_SUBJECT`]).
pub fn office_only(ctx: &AuthContext, what: &str) -> Result<(), KitError> {
    if matches!(ctx.role, Role::RegionalOfficer | Role::Service) && !ctx.is_public() {
        Ok(())
    } else {
        Err(KitError::PermissionDenied(format!(
            "your role may not {what}"
        )))
    }
}

/// `ListAudit`: the entries about one record (or all), oldest first, to
/// callers [`Service::may_list_audit`] admits.
pub async fn list_audit<S: Service>(
    svc: &S,
    ctx: &AuthContext,
    req: &ListAuditRequest,
) -> Result<ListAuditResponse, S::Error> {
    svc.may_list_audit(ctx)?;
    let page = Page::from_request(req.page.as_ref())?;
    let (entries, page) = crate::audit::list(&svc.core().store, &req.record_id, &page).await?;
    Ok(ListAuditResponse {
        entries,
        page: Some(page),
    })
}
