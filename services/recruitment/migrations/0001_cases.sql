-- Cases through the pipeline (one per prospective home), kept whole as
-- `doc` (base64 protobuf samling.recruitment.v1.Case) beside the columns
-- queries filter on. Owned by service/{intake,cases,investigation}.rs.
-- Dates are ISO text ('' = none), so they compare as text.
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
    updated_at TEXT NOT NULL,
    -- The first response's deadline and when it was given.
    first_response_due TEXT NOT NULL DEFAULT '',
    first_responded_on TEXT NOT NULL DEFAULT '',
    -- The current stage's deadline.
    stage_due TEXT NOT NULL DEFAULT ''
);
CREATE INDEX cases_municipality ON cases (municipality_code, id);
CREATE INDEX cases_status ON cases (status, stage, id);
CREATE INDEX cases_first_response ON cases (status, first_responded_on, first_response_due);

-- Recruitment campaigns (their code is printed in advertisements; unique).
CREATE TABLE campaigns (
    id TEXT PRIMARY KEY,
    doc TEXT NOT NULL,
    code TEXT NOT NULL UNIQUE,
    starts_on TEXT NOT NULL,
    ends_on TEXT NOT NULL
);

-- The public form's token nonces, each taken once; kept until the token
-- expires (then swept: an expired token is refused by its signature's time).
CREATE TABLE form_nonces (
    nonce TEXT PRIMARY KEY,
    expires_at TEXT NOT NULL
);
CREATE INDEX form_nonces_expiry ON form_nonces (expires_at);
