-- One row the writer updates to prove a commit reaches the store
-- (Store::probe_write: at open and every database.probe_interval_secs).
CREATE TABLE store_probe (
    id BIGINT PRIMARY KEY,
    probed_at TEXT NOT NULL
);
INSERT INTO store_probe (id, probed_at) VALUES (1, '');
