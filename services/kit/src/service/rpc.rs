//! The gRPC side of the skeleton: the verified caller of a request, a
//! unary RPC in one line, and the `WatchEvents` and `ListAudit` handlers
//! every service serves the same way.
//!
//! A service's `grpc/mod.rs` is its server type (a tuple struct around the
//! service) and one [`grpc_service!`](crate::grpc_service) listing its unary
//! RPCs; `ListAudit` and `WatchEvents` come with it.

use super::Service;
use crate::auth::{self, AuthContext};
use samling_proto::common::v1::{Event, WatchEventsRequest};
use std::pin::Pin;
use tonic::{Request, Response, Status};

/// The stream a `WatchEvents` RPC answers with.
pub type EventStream = Pin<Box<dyn futures::Stream<Item = Result<Event, Status>> + Send + 'static>>;

/// The verified caller (put there by [`auth::interceptor`]) and the message.
pub fn split<T>(req: Request<T>) -> Result<(AuthContext, T), Status> {
    let ctx = auth::context(&req)?;
    Ok((ctx, req.into_inner()))
}

/// `WatchEvents`: the service's event feed after the request's cursor, to
/// callers bound to the service ([`Service::bind`]) whom
/// [`Service::may_watch_events`] admits, each event through
/// [`Service::event_view`].
pub fn watch_events<S: Service + Clone + 'static>(
    svc: &S,
    request: Request<WatchEventsRequest>,
) -> Result<Response<EventStream>, Status> {
    let (ctx, r) = split(request)?;
    svc.bind(&ctx).map_err(Into::into)?;
    svc.may_watch_events(&ctx).map_err(Into::into)?;
    let s = svc.clone();
    let stream = futures::StreamExt::then(svc.core().feed.watch(r), move |e| {
        let s = s.clone();
        async move { s.event_view(e?).await.map_err(Into::into) }
    });
    Ok(Response::new(Box::pin(stream)))
}

/// One unary RPC: the verified caller, the service's [`Service::bind`],
/// then `$body` (a future of `Result<_, S::Error>`), answered as a
/// `Response`. Errors become statuses through the service's error type.
///
/// `samling_kit::unary!(&self.0, request, |svc, ctx, req| svc.get_thing(&ctx, &req.id))`
#[macro_export]
macro_rules! unary {
    ($svc:expr, $request:expr, |$s:ident, $ctx:ident, $r:ident| $body:expr) => {{
        let ($ctx, $r) = $crate::service::split($request)?;
        let $s = $svc;
        $crate::service::Service::bind($s, &$ctx)?;
        Ok($crate::service::__private::tonic::Response::new(
            $body.await?,
        ))
    }};
}

/// The tonic impl of a service: one line per unary RPC, `ListAudit` and
/// `WatchEvents` added (kit's handlers: [`super::list_audit`],
/// [`watch_events`]), then any other items (streaming RPCs) written out.
/// `$grpc` is a tuple struct whose `.0` is the [`Service`] (and `Clone`).
///
/// ```ignore
/// pub struct ThingGrpc(pub Things);
/// samling_kit::grpc_service! {
///     impl ThingService for ThingGrpc;
///     get_thing(GetThingRequest) -> Thing => |s, c, r| s.get_thing(&c, &r.thing_id);
///     ;
/// }
/// ```
#[macro_export]
macro_rules! grpc_service {
    (
        impl $trait:ident for $grpc:ident;
        $($name:ident($req:ty) -> $resp:ty => |$s:ident, $ctx:ident, $r:ident| $body:expr;)*
        ;
        $($rest:item)*
    ) => {
        #[$crate::service::__private::tonic::async_trait]
        impl $trait for $grpc {
            $(
                async fn $name(
                    &self,
                    request: $crate::service::__private::tonic::Request<$req>,
                ) -> Result<
                    $crate::service::__private::tonic::Response<$resp>,
                    $crate::service::__private::tonic::Status,
                > {
                    $crate::unary!(&self.0, request, |$s, $ctx, $r| $body)
                }
            )*

            async fn list_audit(
                &self,
                request: $crate::service::__private::tonic::Request<
                    $crate::service::__private::samling_proto::common::v1::ListAuditRequest,
                >,
            ) -> Result<
                $crate::service::__private::tonic::Response<
                    $crate::service::__private::samling_proto::common::v1::ListAuditResponse,
                >,
                $crate::service::__private::tonic::Status,
            > {
                $crate::unary!(&self.0, request, |s, c, r| $crate::service::list_audit(
                    s, &c, &r
                ))
            }

            type WatchEventsStream = $crate::service::EventStream;

            async fn watch_events(
                &self,
                request: $crate::service::__private::tonic::Request<
                    $crate::service::__private::samling_proto::common::v1::WatchEventsRequest,
                >,
            ) -> Result<
                $crate::service::__private::tonic::Response<Self::WatchEventsStream>,
                $crate::service::__private::tonic::Status,
            > {
                $crate::service::watch_events(&self.0, request)
            }

            $($rest)*
        }
    };
}
