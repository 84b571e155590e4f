//! The rate limiter in Redis: one Lua script per decision, on Redis' clock.

use super::RateDecision;
use super::decision;
use crate::limits::LimitError;
use crate::limits::redis::RedisStore;
use redis::Script;
use std::sync::LazyLock;

/// GCRA. KEYS[1] = key; ARGV[1] = interval (µs); ARGV[2] = window (µs).
/// Returns {allowed 0/1, remaining, retry_after µs}.
static RATE_SCRIPT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local tat = now
local stored = redis.call('GET', KEYS[1])
if stored then
  tat = tonumber(stored) or now
  if tat < now then tat = now end
end
local new_tat = tat + interval
local slack = now + window - new_tat
if slack < 0 then
  return {0, 0, -slack}
end
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000))
return {1, math.floor(slack / interval), 0}
",
    )
});

/// A debit after the fact. KEYS[1] = key; ARGV[1] = interval (µs);
/// ARGV[2] = window (µs); ARGV[3] = units. The debt stops at one window.
static CHARGE_SCRIPT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local tat = now
local stored = redis.call('GET', KEYS[1])
if stored then
  tat = tonumber(stored) or now
  if tat < now then tat = now end
end
local new_tat = tat + interval * tonumber(ARGV[3])
if new_tat > now + window then new_tat = now + window end
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.max(1, math.ceil((new_tat - now) / 1000)))
return 1
",
    )
});

impl RedisStore {
    pub(in crate::limits) async fn check(
        &self,
        key: &str,
        interval: u64,
        window: u64,
    ) -> Result<RateDecision, LimitError> {
        let mut conn = self.0.conn.clone();
        let full_key = format!("{}{key}", self.0.rate_ns);
        let (allowed, remaining, retry_us): (i64, i64, i64) = self
            .run(async move {
                RATE_SCRIPT
                    .key(full_key)
                    .arg(interval)
                    .arg(window)
                    .invoke_async(&mut conn)
                    .await
            })
            .await?;
        Ok(decision(
            allowed == 1,
            u64::try_from(remaining).unwrap_or(0),
            u64::try_from(retry_us).unwrap_or(0),
        ))
    }

    pub(in crate::limits) async fn charge(
        &self,
        key: &str,
        interval: u64,
        window: u64,
        units: u32,
    ) -> Result<(), LimitError> {
        let mut conn = self.0.conn.clone();
        let full_key = format!("{}{key}", self.0.rate_ns);
        let _: i64 = self
            .run(async move {
                CHARGE_SCRIPT
                    .key(full_key)
                    .arg(interval)
                    .arg(window)
                    .arg(units)
                    .invoke_async(&mut conn)
                    .await
            })
            .await?;
        Ok(())
    }
}
