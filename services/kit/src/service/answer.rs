//! Answers: what a service returns to a caller, always through the one view
//! of its record for that caller, fresh or replayed.

use super::Service;
use crate::auth::AuthContext;
use std::future::Future;

/// An answer to a caller, built through the same view as a read of its
/// record by that caller (one function per record type), fresh or replayed.
/// Stored for replay as written (before the view), so a replay is viewed for
/// the caller as the record stands then.
pub trait Answer<S: Service>: prost::Message + Default + Sized + Send {
    /// The record the answer is about (type, id), for the replay's audit entry.
    fn record(&self) -> (&'static str, String);

    /// The answer as `ctx` may see it (redacted, audited as a read where it
    /// shows personal data).
    fn view(
        self,
        svc: &S,
        ctx: &AuthContext,
    ) -> impl Future<Output = Result<Self, S::Error>> + Send;

    /// A stored answer as its record stands now, where the view depends on
    /// more than the answer holds (a record protected since the first
    /// answer). By default the answer as stored.
    fn current(self, _svc: &S) -> impl Future<Output = Result<Self, S::Error>> + Send {
        async move { Ok(self) }
    }
}

/// Answers without personal data of others, shown to every caller as they
/// are: `plain_answer!(MyService; Agency => "agency", |a| a.id.clone(); ...)`.
#[macro_export]
macro_rules! plain_answer {
    ($svc:ty; $($t:ty => $kind:literal, |$a:ident| $id:expr;)*) => {$(
        impl $crate::service::Answer<$svc> for $t {
            fn record(&self) -> (&'static str, String) {
                let $a = self;
                ($kind, $id)
            }
            async fn view(
                self,
                _: &$svc,
                _: &$crate::auth::AuthContext,
            ) -> Result<Self, <$svc as $crate::service::Service>::Error> {
                Ok(self)
            }
        }
    )*};
}
