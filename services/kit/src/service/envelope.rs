//! The request envelope of an idempotent write: begun by [`Core::begin`]
//! (super::Core::begin), then replayed or written afresh, then finished.

use super::{Answer, Service};
use crate::auth::AuthContext;
use crate::idempotency::IdempotencyKey;
use crate::tx::WriteTx;

/// A write in progress: its transaction and its idempotency key (none when
/// the client sent no request id). Derefs to the [`WriteTx`] for the
/// service's own statements, audit entries and events.
pub struct Envelope {
    tx: WriteTx,
    key: Option<IdempotencyKey>,
}

/// What [`Envelope::replay`] found.
pub enum Replay<T> {
    /// No stored answer: write afresh, then [`Envelope::finish`].
    Fresh(Box<Envelope>),
    /// The first answer to this request, audited and viewed: return it.
    Answered(T),
}

impl Envelope {
    pub fn from_parts(tx: WriteTx, key: Option<IdempotencyKey>) -> Self {
        Envelope { tx, key }
    }

    pub fn into_parts(self) -> (WriteTx, Option<IdempotencyKey>) {
        (self.tx, self.key)
    }

    pub fn key(&self) -> Option<&IdempotencyKey> {
        self.key.as_ref()
    }

    /// The first answer to a retried request, if there is one. Call it after
    /// the caller's access is checked and before the preconditions a retry
    /// would now fail. A stored answer ends the transaction (nothing was
    /// written) and is audited as a replay and shown through its view as the
    /// record stands now ([`replayed`]). The same request id with another
    /// request is refused, naming `request_id`.
    pub async fn replay<S: Service, T: Answer<S>>(
        mut self,
        svc: &S,
        ctx: &AuthContext,
    ) -> Result<Replay<T>, S::Error> {
        match self.tx.replay::<T>(self.key.as_ref()).await? {
            None => Ok(Replay::Fresh(Box::new(self))),
            Some(first) => {
                // The read-audit writer needs the writer: end this first.
                drop(self);
                Ok(Replay::Answered(replayed(svc, ctx, first).await?))
            }
        }
    }

    /// Commit the write with its stored answer (for retries), its audit
    /// entries and its events, all or nothing; then show the answer to the
    /// caller through its view.
    pub async fn finish<S: Service, T: Answer<S>>(
        self,
        svc: &S,
        ctx: &AuthContext,
        answer: T,
    ) -> Result<T, S::Error> {
        let Envelope { mut tx, key } = self;
        tx.remember(key.as_ref(), &answer).await?;
        let touched = tx.commit(&svc.core().feed).await?;
        svc.committed(&touched);
        answer.view(svc, ctx).await
    }
}

impl std::ops::Deref for Envelope {
    type Target = WriteTx;
    fn deref(&self) -> &WriteTx {
        &self.tx
    }
}

impl std::ops::DerefMut for Envelope {
    fn deref_mut(&mut self) -> &mut WriteTx {
        &mut self.tx
    }
}

/// The first answer to a retried request: audited as a `replay` of its
/// record (durably, before it is returned), then shown through the record's
/// view as it stands now.
pub async fn replayed<S: Service, T: Answer<S>>(
    svc: &S,
    ctx: &AuthContext,
    first: T,
) -> Result<T, S::Error> {
    let (record_type, record_id) = first.record();
    svc.core()
        .audit(vec![ctx.audit("replay", record_type, &record_id)])
        .await?;
    first.current(svc).await?.view(svc, ctx).await
}

/// Return the stored answer from the enclosing function, or go on with the
/// fresh write: `let mut w = samling_kit::replay!(w, self, ctx);` (see
/// [`Envelope::replay`]).
#[macro_export]
macro_rules! replay {
    ($envelope:expr, $svc:expr, $ctx:expr) => {
        match $envelope.replay($svc, $ctx).await? {
            $crate::service::Replay::Fresh(w) => *w,
            $crate::service::Replay::Answered(first) => return Ok(first),
        }
    };
}
