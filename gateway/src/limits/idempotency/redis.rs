//! Idempotency records in Redis: one Lua script per step, each on one key.

use super::{
    Begin, StoredResponse, begin_from_existing, decode_record, encode_done, encode_in_flight,
};
use crate::limits::redis::RedisStore;
use crate::limits::{LimitError, ttl_millis};
use redis::Script;
use std::sync::LazyLock;
use std::time::Duration;

/// KEYS[1] = key; ARGV[1] = in-flight marker; ARGV[2] = TTL (ms).
/// Returns the existing record, or nil after reserving the key.
static BEGIN_SCRIPT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local v = redis.call('GET', KEYS[1])
if v then return v end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false
",
    )
});

/// KEYS[1] = key; ARGV[1] = our in-flight marker; ARGV[2] = record;
/// ARGV[3] = TTL (ms). Stores only over our own reservation or nothing.
static COMPLETE_SCRIPT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local v = redis.call('GET', KEYS[1])
if (not v) or v == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
",
    )
});

/// KEYS[1] = key. Deletes it only while it is an in-flight marker.
static ABANDON_SCRIPT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, 1) == 'I' then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
",
    )
});

impl RedisStore {
    pub(in crate::limits) async fn begin(
        &self,
        key: &str,
        hash: &str,
        ttl: Duration,
    ) -> Result<Begin, LimitError> {
        let mut conn = self.0.conn.clone();
        let full_key = format!("{}{key}", self.0.idem_ns);
        let marker = encode_in_flight(hash);
        let existing: Option<Vec<u8>> = self
            .run(async move {
                BEGIN_SCRIPT
                    .key(full_key)
                    .arg(marker)
                    .arg(ttl_millis(ttl))
                    .invoke_async(&mut conn)
                    .await
            })
            .await?;
        match existing {
            None => Ok(Begin::Fresh),
            Some(bytes) => decode_record(&bytes)
                .map(|record| begin_from_existing(record, hash))
                .ok_or_else(|| LimitError::Unavailable("corrupt idempotency record".to_owned())),
        }
    }

    pub(in crate::limits) async fn complete(
        &self,
        key: &str,
        hash: &str,
        response: &StoredResponse,
        ttl: Duration,
    ) -> Result<(), LimitError> {
        let mut conn = self.0.conn.clone();
        let full_key = format!("{}{key}", self.0.idem_ns);
        let marker = encode_in_flight(hash);
        let record = encode_done(hash, response)?;
        let stored: i64 = self
            .run(async move {
                COMPLETE_SCRIPT
                    .key(full_key)
                    .arg(marker)
                    .arg(record)
                    .arg(ttl_millis(ttl))
                    .invoke_async(&mut conn)
                    .await
            })
            .await?;
        if stored != 1 {
            tracing::debug!("idempotency key taken by another request; response not stored");
        }
        Ok(())
    }

    pub(in crate::limits) async fn abandon(&self, key: &str) -> Result<(), LimitError> {
        let mut conn = self.0.conn.clone();
        let full_key = format!("{}{key}", self.0.idem_ns);
        let _: i64 = self
            .run(async move { ABANDON_SCRIPT.key(full_key).invoke_async(&mut conn).await })
            .await?;
        Ok(())
    }
}
