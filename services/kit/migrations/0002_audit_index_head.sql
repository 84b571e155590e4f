-- The audit indexer's own head: an indexer run locks this row instead of
-- chain_head, so on PostgreSQL writers (and the read audits every GetHome
-- waits for) are not held up while a batch is indexed.
CREATE TABLE audit_index_head (
    id BIGINT PRIMARY KEY,
    -- audit_index holds every entry up to here; later ones are scanned.
    indexed_seq BIGINT NOT NULL
);
INSERT INTO audit_index_head (id, indexed_seq)
SELECT id, indexed_seq FROM chain_head WHERE id = 1;
ALTER TABLE chain_head DROP COLUMN indexed_seq;
