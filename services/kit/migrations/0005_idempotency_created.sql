-- Stored answers expire (database.idempotency_retention_days): the sweeper
-- finds the old ones by their creation instant.
CREATE INDEX idempotency_created ON idempotency (created_at);
