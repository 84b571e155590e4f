//! kit's document store on every backend (SQLite, and PostgreSQL when
//! `SAMLING_TEST_DATABASE_URL` is set).

use samling_kit::db::Migration;
use samling_kit::docstore::{Docs, Filter, Value};
use samling_kit::error::KitError;
use samling_proto::common::v1::Date;
use samling_testkit::backend::store_backends;

const DATES: Docs<Date> = Docs::new("dated", "date");

const MIGRATION: &[Migration] = &[Migration {
    name: "docstore_test/0001",
    sql: "CREATE TABLE dated (id TEXT PRIMARY KEY, doc TEXT NOT NULL, year BIGINT NOT NULL, label TEXT NOT NULL)",
}];

fn date(year: i32) -> Date {
    Date {
        year,
        month: 11,
        day: 30,
    }
}

#[tokio::test]
async fn documents_are_saved_read_and_listed_by_id_on_every_backend() {
    for backend in store_backends() {
        let (store, _) = backend.store("docstore", Some(2), &[MIGRATION]).await;
        let b = &backend.name;
        let mut conn = store.write.acquire().await.unwrap();
        for (id, y) in [("a", 2025), ("b", 2026)] {
            let cols = [("year", Value::Int(i64::from(y))), ("label", "l".into())];
            DATES.insert(&mut conn, id, &date(y), &cols).await.unwrap();
        }
        let cols = [("year", Value::Int(2027)), ("label", "m".into())];
        DATES
            .update(&mut conn, "b", &date(2027), &cols)
            .await
            .unwrap();
        let e = DATES
            .update(&mut conn, "zz", &date(1), &cols)
            .await
            .unwrap_err();
        assert_eq!(e.to_string(), "date zz not found", "{b}");
        drop(conn);

        assert_eq!(
            DATES.get(&store.read, "b").await.unwrap(),
            Some(date(2027)),
            "{b}"
        );
        assert_eq!(DATES.get(&store.read, "c").await.unwrap(), None, "{b}");
        let e = DATES.must_get(&store.read, "c").await.unwrap_err();
        assert!(matches!(e, KitError::NotFound(_)), "{b}: {e:?}");
        assert_eq!(e.to_string(), "date c not found", "{b}");

        let mut f = Filter::new("SELECT doc FROM dated WHERE 1 = 1");
        f.and("label = ?", "m");
        f.raw(" ORDER BY id");
        let rows = f.fetch_all(&store.read).await.unwrap();
        assert_eq!(DATES.from_rows(&rows).unwrap(), vec![date(2027)], "{b}");
        let rows = sqlx::query("SELECT doc FROM dated WHERE year >= $1 ORDER BY id")
            .bind(2025_i64)
            .fetch_all(&store.read)
            .await
            .unwrap();
        assert_eq!(
            DATES.from_rows(&rows).unwrap(),
            vec![date(2025), date(2027)],
            "{b}"
        );
        store.close().await;
    }
}
