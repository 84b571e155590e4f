-- The region's ombuds (id = the subject of the ombud's token), the placed
-- children's assignments (id = the registry's child id), cases, review
-- requests to the municipalities and IVO complaints. Records are kept
-- whole as `doc`; the columns beside it are filters. Ids only: no
-- personnummer, no address.
CREATE TABLE ombuds (
    id TEXT PRIMARY KEY,
    doc TEXT NOT NULL,
    registered_at TEXT NOT NULL DEFAULT ''
);

CREATE TABLE assignments (
    id TEXT PRIMARY KEY,
    doc TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT '',
    ombud_subject TEXT NOT NULL DEFAULT '',
    -- 'yes' while the latest placement has not ended (the workload).
    active TEXT NOT NULL DEFAULT '',
    placed_at TEXT NOT NULL DEFAULT ''
);

CREATE INDEX assignments_ombud ON assignments (ombud_subject);
CREATE INDEX assignments_state ON assignments (state);

CREATE TABLE cases (
    id TEXT PRIMARY KEY,
    doc TEXT NOT NULL,
    child_id TEXT NOT NULL DEFAULT ''
);

CREATE INDEX cases_child ON cases (child_id);

CREATE TABLE review_requests (
    id TEXT PRIMARY KEY,
    doc TEXT NOT NULL,
    case_id TEXT NOT NULL DEFAULT '',
    municipality_code TEXT NOT NULL DEFAULT ''
);

CREATE INDEX review_requests_case ON review_requests (case_id);
CREATE INDEX review_requests_municipality ON review_requests (municipality_code);

CREATE TABLE complaints (
    id TEXT PRIMARY KEY,
    doc TEXT NOT NULL,
    review_request_id TEXT NOT NULL DEFAULT ''
);

CREATE INDEX complaints_request ON complaints (review_request_id);
