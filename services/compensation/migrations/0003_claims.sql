-- Claims of family homes (doc: Claim), decided by the placing
-- municipality, paid once by a run: `status` and `paid_run_id` are the
-- truth for payment (a run marks its claims paid in its transaction with
-- one UPDATE per batch; reads lay them over the doc). Owned by
-- service/claims.rs.
CREATE TABLE claims (
    id TEXT PRIMARY KEY,
    doc TEXT NOT NULL,
    agreement_id TEXT NOT NULL,
    home_id TEXT NOT NULL,
    municipality_code TEXT NOT NULL,
    status TEXT NOT NULL,
    paid_run_id TEXT NOT NULL DEFAULT ''
);
CREATE INDEX claims_home ON claims (home_id, id);
CREATE INDEX claims_municipality ON claims (municipality_code, id);
CREATE INDEX claims_status ON claims (status, id);
