-- Negative and protective decisions and the home's due process (ADR 0026).
--
-- What a home was told of a decision about it (a restriction recorded or
-- lifted): reasons and how to appeal. Read by the home, the office and the
-- deciding municipality.
CREATE TABLE home_notices (
    id TEXT PRIMARY KEY,
    home_id TEXT NOT NULL,
    municipality_code TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX home_notices_home ON home_notices (home_id, id);

-- A request's respond_by (ISO date, '' for none) and whether it was
-- escalated, for the overdue list.
ALTER TABLE home_requests ADD COLUMN respond_by TEXT NOT NULL DEFAULT '';
ALTER TABLE home_requests ADD COLUMN escalated BIGINT NOT NULL DEFAULT 0;
CREATE INDEX home_requests_due ON home_requests (status, respond_by);
