-- The keyed audit chain (ADR 0015): who acted for which municipality and
-- party, a reason the request stated (kept apart from the token's purpose),
-- and the key each entry's hash was made with. Rows written before this
-- keep '' everywhere: their hash is the original, unkeyed one.
ALTER TABLE audit_log ADD COLUMN municipality TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN party TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN reason TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN key_id TEXT NOT NULL DEFAULT '';
