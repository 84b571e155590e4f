-- Fee schedules, one row per version (never changed once written), kept
-- whole as `doc` (base64 protobuf samling.compensation.v1.FeeSchedule).
-- `sort_key` is code '/' zero-padded version: lists page in code, version
-- order. Owned by service/schedules.rs.
CREATE TABLE fee_schedules (
    id TEXT PRIMARY KEY,
    doc TEXT NOT NULL,
    code TEXT NOT NULL,
    version BIGINT NOT NULL,
    effective_from TEXT NOT NULL,
    sort_key TEXT NOT NULL UNIQUE,
    UNIQUE (code, version)
);

-- Agreements, one per placement. Owned by service/agreements.rs.
CREATE TABLE agreements (
    id TEXT PRIMARY KEY,
    doc TEXT NOT NULL,
    placement_id TEXT NOT NULL UNIQUE,
    home_id TEXT NOT NULL,
    municipality_code TEXT NOT NULL,
    schedule_code TEXT NOT NULL
);
CREATE INDEX agreements_home ON agreements (home_id, id);
CREATE INDEX agreements_municipality ON agreements (municipality_code, id);
