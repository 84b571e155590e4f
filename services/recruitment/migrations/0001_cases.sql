-- Cases through the pipeline (one per prospective home), kept whole as
-- `doc` (base64 protobuf samling.recruitment.v1.Case) beside the columns
-- queries filter on. Owned by service/{intake,cases,investigation}.rs.
CREATE TABLE cases (
    id TEXT PRIMARY KEY,
    doc TEXT NOT NULL,
    municipality_code TEXT NOT NULL,
    track TEXT NOT NULL,
    stage TEXT NOT NULL,
    status TEXT NOT NULL,
    campaign_id TEXT NOT NULL,
    owner TEXT NOT NULL,
    received_on TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX cases_municipality ON cases (municipality_code, id);
CREATE INDEX cases_status ON cases (status, stage, id);
