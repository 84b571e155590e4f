//! The envelope on kit's own store, on every test backend (SQLite always,
//! PostgreSQL when `SAMLING_TEST_DATABASE_URL` is set): a small "widgets"
//! service built on the skeleton the way a real one is.

use futures::StreamExt;
use samling_kit::audit::{self, ChainKey};
use samling_kit::auth::{AuthContext, Role};
use samling_kit::db::{Backend, Migration, Store};
use samling_kit::error::KitError;
use samling_kit::reference::MunicipalityCode;
use samling_kit::service::*;
use samling_proto::common::v1::{Event, ListAuditRequest};
use samling_proto::common::v1::{PageRequest, WatchEventsRequest};
use samling_testkit::backend::{self as testkit, store_backends};
use serde_json::json;
use sqlx::Row;
use std::sync::{Arc, Mutex};
use tonic::{Code, Request, Status};

const WIDGETS: &[Migration] = &[Migration {
    name: "widgets/0001",
    sql: "CREATE TABLE widgets (id TEXT PRIMARY KEY, owner TEXT NOT NULL, protected BIGINT NOT NULL);",
}];

#[derive(Clone, PartialEq, prost::Message)]
struct Widget {
    #[prost(string, tag = "1")]
    id: String,
    /// The owning municipality.
    #[prost(string, tag = "2")]
    owner: String,
    /// Personal data: the owner and the office only, never when protected.
    #[prost(string, tag = "3")]
    secret: String,
    #[prost(bool, tag = "4")]
    protected: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
struct MakeWidget {
    #[prost(string, tag = "1")]
    request_id: String,
    #[prost(string, tag = "2")]
    secret: String,
}

#[derive(Clone, PartialEq, prost::Message)]
struct HandOver {
    #[prost(string, tag = "1")]
    request_id: String,
    #[prost(string, tag = "2")]
    widget_id: String,
    #[prost(string, tag = "3")]
    to: String,
}

#[derive(Clone)]
struct Widgets {
    core: Core,
    touched: Arc<Mutex<Vec<String>>>,
}

impl Service for Widgets {
    type Error = KitError;
    fn core(&self) -> &Core {
        &self.core
    }
    fn bind(&self, ctx: &AuthContext) -> Result<(), KitError> {
        if ctx.role == Role::Child {
            return Err(KitError::PermissionDenied("not this service".into()));
        }
        Ok(())
    }
    fn committed(&self, touched: &[String]) {
        self.touched.lock().unwrap().extend_from_slice(touched);
    }
    /// A protected widget's owner is left out of its events.
    async fn event_view(&self, mut e: Event) -> Result<Event, KitError> {
        if self.protected(&e.aggregate_id).await? {
            let mut v: serde_json::Value = serde_json::from_str(&e.payload_json).unwrap();
            v.as_object_mut().unwrap().remove("owner");
            e.payload_json = v.to_string();
        }
        Ok(e)
    }
}

impl Answer<Widgets> for Widget {
    fn record(&self) -> (&'static str, String) {
        ("widget", self.id.clone())
    }
    async fn view(mut self, svc: &Widgets, ctx: &AuthContext) -> Result<Self, KitError> {
        let office = ctx.role == Role::RegionalOfficer;
        let owner = ctx.municipality.is_some_and(|m| m.as_str() == self.owner);
        if (office || owner) && !self.protected {
            svc.core.audit_read(ctx, "widget", &[&self.id]).await?;
        } else {
            self.secret.clear();
        }
        Ok(self)
    }
    async fn current(mut self, svc: &Widgets) -> Result<Self, KitError> {
        self.protected = svc.protected(&self.id).await?;
        Ok(self)
    }
}

fn own(ctx: &AuthContext) -> Result<String, KitError> {
    match (ctx.role.is_municipal(), ctx.municipality) {
        (true, Some(m)) => Ok(m.as_str().to_string()),
        _ => Err(KitError::PermissionDenied("municipalities only".into())),
    }
}

impl Widgets {
    async fn protected(&self, id: &str) -> Result<bool, KitError> {
        let p: Option<i64> = sqlx::query_scalar("SELECT protected FROM widgets WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.core.store.read)
            .await?;
        Ok(p == Some(1))
    }

    async fn make(&self, ctx: &AuthContext, req: MakeWidget) -> Result<Widget, KitError> {
        let owner = own(ctx)?;
        let w = self
            .core
            .begin(ctx, "MakeWidget", &req.request_id, &req)
            .await?;
        let mut w = samling_kit::replay!(w, self, ctx);
        let widget = Widget {
            id: samling_kit::ids::new_id_string(),
            owner,
            secret: req.secret,
            protected: false,
        };
        sqlx::query("INSERT INTO widgets (id, owner, protected) VALUES ($1, $2, 0)")
            .bind(&widget.id)
            .bind(&widget.owner)
            .execute(w.conn())
            .await?;
        w.touch(widget.id.clone());
        let payload = json!({"widget_id": widget.id, "owner": widget.owner});
        self.core
            .record(&mut w, ctx, "widget_made", "widget", &widget.id, payload)
            .await?;
        w.finish(self, ctx, widget).await
    }

    /// Only the owner hands a widget over: checked on the record, read in
    /// the write's transaction, before any stored answer is replayed.
    async fn hand_over(&self, ctx: &AuthContext, req: HandOver) -> Result<Widget, KitError> {
        let me = own(ctx)?;
        let mut w = self
            .core
            .begin(ctx, "HandOver", &req.request_id, &req)
            .await?;
        let owner: String = sqlx::query_scalar("SELECT owner FROM widgets WHERE id = $1")
            .bind(&req.widget_id)
            .fetch_one(w.conn())
            .await?;
        if owner != me {
            return Err(KitError::PermissionDenied("not your widget".into()));
        }
        let mut w = samling_kit::replay!(w, self, ctx);
        sqlx::query("UPDATE widgets SET owner = $1 WHERE id = $2")
            .bind(&req.to)
            .bind(&req.widget_id)
            .execute(w.conn())
            .await?;
        let payload = json!({"widget_id": req.widget_id, "owner": req.to});
        self.core
            .record(
                &mut w,
                ctx,
                "widget_handed_over",
                "widget",
                &req.widget_id,
                payload,
            )
            .await?;
        let answer = Widget {
            id: req.widget_id,
            owner: req.to,
            ..Default::default()
        };
        w.finish(self, ctx, answer).await
    }
}

struct TestService {
    svc: Widgets,
    name: &'static str,
    _backend: testkit::Backend,
}

async fn services() -> Vec<TestService> {
    let mut out = Vec::new();
    for b in store_backends() {
        let (store, _) = b.store("kit_service", None, &[WIDGETS]).await;
        let store = audit::with_key(store, ChainKey::generate().unwrap(), None)
            .await
            .unwrap();
        let name = match store.backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        };
        out.push(TestService {
            svc: Widgets {
                core: Core::new("widgets", store),
                touched: Arc::default(),
            },
            name,
            _backend: b,
        });
    }
    out
}

fn caseworker(sub: &str, m: &str) -> AuthContext {
    AuthContext::new(sub, Role::MunicipalityCaseworker)
        .with_municipality(MunicipalityCode::parse(m).unwrap())
        .with_purpose("test")
}

fn office() -> AuthContext {
    AuthContext::new("office", Role::RegionalOfficer).with_region("stockholm")
}

async fn count(store: &Store, sql: &str, arg: &str) -> i64 {
    sqlx::query(sql)
        .bind(arg)
        .fetch_one(&store.read)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .try_get(0)
        .unwrap()
}

/// Audit entries with `action` about `record_id`, as (subject, municipality).
async fn audited(store: &Store, action: &str, record_id: &str) -> Vec<(String, String)> {
    sqlx::query(
        "SELECT subject, municipality FROM audit_log WHERE action = $1 AND record_id = $2 ORDER BY seq",
    )
    .bind(action)
    .bind(record_id)
    .fetch_all(&store.read)
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect()
}

fn make(request_id: &str) -> MakeWidget {
    MakeWidget {
        request_id: request_id.into(),
        secret: "s3cret".into(),
    }
}

#[tokio::test]
async fn a_fresh_write_commits_its_answer_audit_entry_and_event_together() {
    for b in services().await {
        let (svc, store) = (&b.svc, &b.svc.core.store);
        let cw = caseworker("anna", "0180");
        let w = svc.make(&cw, make("r1")).await.unwrap();
        assert_eq!(w.secret, "s3cret", "{}: the owner sees it", b.name);
        assert_eq!(
            audited(store, "widget_made", &w.id).await,
            vec![("anna".to_string(), "0180".to_string())],
            "{}",
            b.name
        );
        let events = count(
            store,
            "SELECT COUNT(*) FROM outbox WHERE event_type = $1",
            "widgets.widget_made",
        )
        .await;
        assert_eq!(
            events, 1,
            "{}: the event is named after the service",
            b.name
        );
        assert_eq!(
            count(
                store,
                "SELECT COUNT(*) FROM idempotency WHERE method = $1",
                "MakeWidget"
            )
            .await,
            1,
            "{}: the answer is stored for retries",
            b.name
        );
        assert_eq!(
            *svc.touched.lock().unwrap(),
            vec![w.id.clone()],
            "{}",
            b.name
        );
        // The answer was viewed for the caller: a read of personal data, audited.
        assert_eq!(audited(store, "read", &w.id).await.len(), 1, "{}", b.name);

        // A write that never finishes leaves nothing: no record, no audit
        // entry, no event, no stored answer.
        let req = make("r2");
        let mut e = svc
            .core
            .begin(&cw, "MakeWidget", &req.request_id, &req)
            .await
            .unwrap();
        svc.core
            .record(&mut e, &cw, "widget_made", "widget", "ghost", json!({}))
            .await
            .unwrap();
        drop(e);
        assert!(
            audited(store, "widget_made", "ghost").await.is_empty(),
            "{}",
            b.name
        );
        assert_eq!(
            count(
                store,
                "SELECT COUNT(*) FROM outbox WHERE aggregate_id = $1",
                "ghost"
            )
            .await,
            0,
            "{}",
            b.name
        );
    }
}

#[tokio::test]
async fn a_retry_gets_the_first_answer_audited_as_a_replay() {
    for b in services().await {
        let (svc, store) = (&b.svc, &b.svc.core.store);
        let cw = caseworker("anna", "0180");
        let first = svc.make(&cw, make("r1")).await.unwrap();
        let again = svc.make(&cw, make("r1")).await.unwrap();
        assert_eq!(again, first, "{}", b.name);
        assert_eq!(
            count(store, "SELECT COUNT(*) FROM widgets WHERE id <> $1", "").await,
            1,
            "{}: written once",
            b.name
        );
        assert_eq!(
            audited(store, "replay", &first.id).await,
            vec![("anna".to_string(), "0180".to_string())],
            "{}: the replay is audited",
            b.name
        );
        assert_eq!(
            count(
                store,
                "SELECT COUNT(*) FROM outbox WHERE event_type = $1",
                "widgets.widget_made"
            )
            .await,
            1,
            "{}: no second event",
            b.name
        );
        // The same id with another request is the client's error.
        let mut other = make("r1");
        other.secret = "different".into();
        match svc.make(&cw, other).await {
            Err(KitError::InvalidArgument(f)) => assert_eq!(f.field, "request_id"),
            other => panic!("{}: {other:?}", b.name),
        }
    }
}

#[tokio::test]
async fn a_stored_answer_is_shown_through_the_view_as_the_record_stands_now() {
    for b in services().await {
        let (svc, store) = (&b.svc, &b.svc.core.store);
        let cw = caseworker("anna", "0180");
        let first = svc.make(&cw, make("r1")).await.unwrap();
        assert_eq!(first.secret, "s3cret");
        // Protected since the first answer: the replay must not show it.
        let mut tx = store.begin_tx().await.unwrap();
        sqlx::query("UPDATE widgets SET protected = 1 WHERE id = $1")
            .bind(&first.id)
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let again = svc.make(&cw, make("r1")).await.unwrap();
        assert_eq!(again.id, first.id, "{}", b.name);
        assert!(again.protected, "{}: current() re-read the record", b.name);
        assert_eq!(again.secret, "", "{}: the view withheld it", b.name);
    }
}

#[tokio::test]
async fn access_is_checked_before_a_stored_answer_is_replayed() {
    for b in services().await {
        let (svc, store) = (&b.svc, &b.svc.core.store);
        let anna = caseworker("anna", "0180");
        let w = svc.make(&anna, make("r1")).await.unwrap();
        let hand = HandOver {
            request_id: "h1".into(),
            widget_id: w.id.clone(),
            to: "1480".into(),
        };
        let handed = svc.hand_over(&anna, hand.clone()).await.unwrap();
        assert_eq!(handed.owner, "1480");
        // Anna's retry: the widget is no longer hers, so she is refused, not
        // replayed the answer (and nothing is audited as a replay).
        match svc.hand_over(&anna, hand.clone()).await {
            Err(KitError::PermissionDenied(_)) => {}
            other => panic!("{}: {other:?}", b.name),
        }
        assert!(
            audited(store, "replay", &w.id).await.is_empty(),
            "{}",
            b.name
        );

        // Another caller sending the same request id and body never gets the
        // first answer: its key is its own.
        let other_sub = caseworker("bertil", "0180");
        let mine = svc.make(&other_sub, make("r1")).await.unwrap();
        assert_ne!(
            mine.id, w.id,
            "{}: a fresh write, not Anna's answer",
            b.name
        );
        let other_municipality = caseworker("anna", "1480");
        let theirs = svc.make(&other_municipality, make("r1")).await.unwrap();
        assert_ne!(theirs.id, w.id, "{}", b.name);
        assert_ne!(theirs.id, mine.id, "{}", b.name);
    }
}

#[tokio::test]
async fn audited_reads_are_durable_when_the_call_returns() {
    for b in services().await {
        let (svc, store) = (&b.svc, &b.svc.core.store);
        let cw = caseworker("anna", "0180");
        svc.core
            .audit_read(&cw, "widget", &["a", "b"])
            .await
            .unwrap();
        // Read through the read pool, right after: already committed.
        for id in ["a", "b"] {
            assert_eq!(
                audited(store, "read", id).await,
                vec![("anna".to_string(), "0180".to_string())],
                "{}",
                b.name
            );
        }
        svc.core
            .audit_each(&cw, "export", "widget", &["c"])
            .await
            .unwrap();
        assert_eq!(audited(store, "export", "c").await.len(), 1, "{}", b.name);
        assert!(audit::verify(store).await.unwrap().ok(), "{}", b.name);
    }
}

#[tokio::test]
async fn list_audit_is_for_the_office_and_pages_one_record() {
    for b in services().await {
        let svc = &b.svc;
        let cw = caseworker("anna", "0180");
        let w = svc.make(&cw, make("r1")).await.unwrap();
        svc.make(&cw, make("r1")).await.unwrap();
        svc.make(&cw, make("r2")).await.unwrap();
        let req = ListAuditRequest {
            record_id: w.id.clone(),
            page: Some(PageRequest {
                page_size: 2,
                page_token: String::new(),
            }),
        };
        match list_audit(svc, &cw, &req).await {
            Err(KitError::PermissionDenied(m)) => assert!(m.contains("audit log"), "{m}"),
            other => panic!("{}: {other:?}", b.name),
        }
        let first = list_audit(svc, &office(), &req).await.unwrap();
        let actions: Vec<&str> = first.entries.iter().map(|e| e.action.as_str()).collect();
        // widget_made, the read of the answer, the replay (and its read).
        assert_eq!(actions, ["widget_made", "read"], "{}", b.name);
        assert!(first.entries.iter().all(|e| e.record_id == w.id));
        let token = first.page.unwrap().next_page_token;
        assert!(!token.is_empty(), "{}: more entries follow", b.name);
        let next = ListAuditRequest {
            page: Some(PageRequest {
                page_size: 2,
                page_token: token,
            }),
            ..req.clone()
        };
        let second = list_audit(svc, &office(), &next).await.unwrap();
        let actions: Vec<&str> = second.entries.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["replay", "read"], "{}", b.name);
    }
}

fn as_caller<T>(ctx: &AuthContext, msg: T) -> Request<T> {
    let mut req = Request::new(msg);
    req.extensions_mut().insert(ctx.clone());
    req
}

#[tokio::test]
async fn watch_events_is_bound_for_the_office_and_views_each_event_now() {
    for b in services().await {
        let svc = &b.svc;
        let cw = caseworker("anna", "0180");
        let open = svc.make(&cw, make("r1")).await.unwrap();
        let hidden = svc.make(&cw, make("r2")).await.unwrap();
        let mut tx = svc.core.store.begin_tx().await.unwrap();
        sqlx::query("UPDATE widgets SET protected = 1 WHERE id = $1")
            .bind(&hidden.id)
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let watch = WatchEventsRequest {
            after: 0,
            event_types: vec![],
            stop_at_end: true,
        };
        let code = |r: Result<_, Status>| r.err().map(|s| s.code());
        assert_eq!(
            code(watch_events(svc, as_caller(&cw, watch.clone()))),
            Some(Code::PermissionDenied),
            "{}: caseworkers do not follow the feed",
            b.name
        );
        let child = AuthContext::new("c", Role::Child);
        assert_eq!(
            code(watch_events(svc, as_caller(&child, watch.clone()))),
            Some(Code::PermissionDenied),
            "{}: bound first",
            b.name
        );
        assert_eq!(
            code(watch_events(svc, Request::new(watch.clone()))),
            Some(Code::Unauthenticated),
            "{}: no verified caller",
            b.name
        );
        let stream = watch_events(svc, as_caller(&office(), watch))
            .unwrap()
            .into_inner();
        let events: Vec<Event> = stream.map(|e| e.unwrap()).collect().await;
        assert_eq!(events.len(), 2, "{}", b.name);
        let payload =
            |e: &Event| serde_json::from_str::<serde_json::Value>(&e.payload_json).unwrap();
        assert_eq!(events[0].aggregate_id, open.id);
        assert_eq!(payload(&events[0])["owner"], "0180", "{}", b.name);
        assert_eq!(events[1].aggregate_id, hidden.id);
        assert!(
            payload(&events[1]).get("owner").is_none(),
            "{}: protected since: left out",
            b.name
        );
    }
}

async fn make_rpc(
    svc: &Widgets,
    request: Request<MakeWidget>,
) -> Result<tonic::Response<Widget>, Status> {
    samling_kit::unary!(svc, request, |s, c, r| s.make(&c, r))
}

#[tokio::test]
async fn a_unary_rpc_takes_the_verified_caller_and_binds_it_first() {
    for b in services().await {
        let (svc, store) = (&b.svc, &b.svc.core.store);
        let cw = caseworker("anna", "0180");
        let w = make_rpc(svc, as_caller(&cw, make("r1")))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(w.owner, "0180", "{}", b.name);
        let refused = make_rpc(
            svc,
            as_caller(&AuthContext::new("c", Role::Child), make("r9")),
        )
        .await
        .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied, "{}", b.name);
        let anonymous = make_rpc(svc, Request::new(make("r9"))).await.unwrap_err();
        assert_eq!(anonymous.code(), Code::Unauthenticated, "{}", b.name);
        assert_eq!(
            count(store, "SELECT COUNT(*) FROM widgets WHERE id <> $1", "").await,
            1,
            "{}: refused calls wrote nothing",
            b.name
        );
    }
}
