-- The register's tables. Portable SQL (SQLite and PostgreSQL): ids, dates and
-- instants as TEXT, numbers and flags as BIGINT. Each record's full state is
-- `doc` (base64 protobuf); the other columns are what queries filter on.

CREATE TABLE homes (
    id TEXT PRIMARY KEY,
    version BIGINT NOT NULL,
    status TEXT NOT NULL,
    home_type TEXT NOT NULL,
    municipality_code TEXT NOT NULL,
    county_code TEXT NOT NULL,
    agency_id TEXT NOT NULL,
    capacity BIGINT NOT NULL,
    placed_count BIGINT NOT NULL,
    jour_available BIGINT NOT NULL,
    reconfirmation_due TEXT NOT NULL,
    address_key TEXT NOT NULL,
    -- "|l:svenska|c:npf|w:3|t:teen|": tags for LIKE filters.
    tags TEXT NOT NULL,
    doc TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX homes_municipality ON homes (municipality_code, id);
CREATE INDEX homes_county ON homes (county_code, id);
CREATE INDEX homes_status ON homes (status, id);
CREATE INDEX homes_address ON homes (address_key);
CREATE INDEX homes_due ON homes (reconfirmation_due);

CREATE TABLE home_members (
    home_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    personnummer TEXT NOT NULL,
    PRIMARY KEY (home_id, member_id)
);
CREATE INDEX home_members_personnummer ON home_members (personnummer);

-- Every version of every home: who changed it, when and why.
CREATE TABLE home_versions (
    home_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    at TEXT NOT NULL,
    actor_subject TEXT NOT NULL,
    actor_role TEXT NOT NULL,
    change TEXT NOT NULL,
    reason TEXT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (home_id, version)
);

CREATE TABLE home_requests (
    id TEXT PRIMARY KEY,
    home_id TEXT NOT NULL,
    status TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX home_requests_home ON home_requests (home_id, id);

CREATE TABLE agencies (
    id TEXT PRIMARY KEY,
    org_number TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX agencies_org ON agencies (org_number);

CREATE TABLE units (
    id TEXT PRIMARY KEY,
    municipality_code TEXT NOT NULL,
    vacancies BIGINT NOT NULL,
    tags TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX units_municipality ON units (municipality_code, id);

CREATE TABLE children (
    id TEXT PRIMARY KEY,
    personnummer TEXT NOT NULL,
    placing_municipality TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX children_personnummer ON children (personnummer);
CREATE INDEX children_municipality ON children (placing_municipality, id);

CREATE TABLE placements (
    id TEXT PRIMARY KEY,
    child_id TEXT NOT NULL,
    home_id TEXT NOT NULL,
    unit_id TEXT NOT NULL,
    status TEXT NOT NULL,
    placing_municipality TEXT NOT NULL,
    receiving_municipality TEXT NOT NULL,
    start_date TEXT NOT NULL,
    custody_due TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX placements_child ON placements (child_id, id);
CREATE INDEX placements_home ON placements (home_id, status);
CREATE INDEX placements_unit ON placements (unit_id, status);
CREATE INDEX placements_placing ON placements (placing_municipality, id);
CREATE INDEX placements_custody ON placements (status, custody_due);

CREATE TABLE unexecuted_decisions (
    id TEXT PRIMARY KEY,
    municipality_code TEXT NOT NULL,
    decision_date TEXT NOT NULL,
    executed_on TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX unexecuted_municipality ON unexecuted_decisions (municipality_code, id);

CREATE TABLE duplicate_flags (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    kind TEXT NOT NULL,
    record_id TEXT NOT NULL,
    other_record_id TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX duplicate_flags_status ON duplicate_flags (status, id);
