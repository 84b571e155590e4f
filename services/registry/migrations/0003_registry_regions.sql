-- Placements across regions (ADR 0021).
--
-- A home of this register taken by a placement another region's register
-- owns: the occupancy, without the child's identity.
CREATE TABLE home_occupancies (
    placement_id TEXT PRIMARY KEY,
    home_id TEXT NOT NULL,
    placing_region TEXT NOT NULL,
    placing_municipality TEXT NOT NULL,
    start_date TEXT NOT NULL,
    status TEXT NOT NULL,
    protected_child INTEGER NOT NULL,
    vouched INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    released_at TEXT NOT NULL
);
CREATE INDEX home_occupancies_home ON home_occupancies (home_id, start_date);

-- Another region's home a placement of this register is in: where it is
-- and whether it was protected when last told.
CREATE TABLE remote_homes (
    home_id TEXT PRIMARY KEY,
    region TEXT NOT NULL,
    protected INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);

-- Keyed hashes (HMAC-SHA-256 under the national identity key) of the
-- personnummer of this register's children and household adults: what
-- another region's register asks by, never the number itself.
CREATE TABLE identity_hashes (
    hash TEXT NOT NULL,
    record_type TEXT NOT NULL,
    record_id TEXT NOT NULL,
    PRIMARY KEY (hash, record_type, record_id)
);

-- Duplicate checks another region's register did not answer: asked again
-- (Registry::retry_identity_checks) until it does.
CREATE TABLE identity_checks_pending (
    record_type TEXT NOT NULL,
    record_id TEXT NOT NULL,
    region TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (record_type, record_id, region)
);
