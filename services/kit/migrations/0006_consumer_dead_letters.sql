-- Events of another service's feed that this service's consumer could not
-- apply (its handler refused them on every attempt): recorded, and the
-- consumer's cursor moved past them (ADR 0022). Ids, type and the error
-- only; the payload stays in the source's outbox (read it again with
-- WatchEvents(after = seq - 1)).
CREATE TABLE consumer_dead_letters (
    feed TEXT NOT NULL,
    seq BIGINT NOT NULL,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    aggregate_type TEXT NOT NULL,
    aggregate_id TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    reason TEXT NOT NULL,
    error TEXT NOT NULL,
    dead_at TEXT NOT NULL,
    PRIMARY KEY (feed, seq)
);
