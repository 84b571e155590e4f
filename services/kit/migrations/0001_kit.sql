-- Kit tables present in every service's store. Portable SQL (SQLite and PostgreSQL).

-- One row: the heads of the audit hash chain and of the event sequence.
-- Every change updates this row first, which serialises writers so audit and
-- event order equal commit order on both backends.
CREATE TABLE chain_head (
    id BIGINT PRIMARY KEY,
    audit_seq BIGINT NOT NULL,
    audit_hash TEXT NOT NULL,
    event_seq BIGINT NOT NULL,
    -- audit_index holds every entry up to here; later ones are scanned.
    indexed_seq BIGINT NOT NULL
);
INSERT INTO chain_head (id, audit_seq, audit_hash, event_seq, indexed_seq)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000', 0, 0);

-- Append-only, hash-chained audit log: who read or changed which record, why.
CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    id TEXT NOT NULL,
    at TEXT NOT NULL,
    subject TEXT NOT NULL,
    role TEXT NOT NULL,
    action TEXT NOT NULL,
    record_type TEXT NOT NULL,
    record_id TEXT NOT NULL,
    purpose TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
-- Entries by record ("who read this file"), filled in bulk by the audit
-- indexer a second behind the log: a random-key index maintained per entry
-- would cost a page write per read on SQLite.
CREATE TABLE audit_index (
    record_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    PRIMARY KEY (record_id, seq)
);

-- Transactional outbox, served by WatchEvents. Ids and codes only.
CREATE TABLE outbox (
    seq BIGINT PRIMARY KEY,
    id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    aggregate_type TEXT NOT NULL,
    aggregate_id TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    payload TEXT NOT NULL
);

-- First answers of mutating RPCs, keyed by caller and client request id.
CREATE TABLE idempotency (
    key TEXT PRIMARY KEY,
    method TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    response TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- Cursors of event consumers (this service reading another's feed).
CREATE TABLE consumer_cursors (
    feed TEXT PRIMARY KEY,
    after_seq BIGINT NOT NULL,
    updated_at TEXT NOT NULL
);
