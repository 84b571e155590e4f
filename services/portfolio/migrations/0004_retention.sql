-- Retention (ADR 0043): the stage each portfolio is in (`active`,
-- `restricted`, `archived`), beside the stage in the document, for the job's
-- scan and the counts; the child's credentials, for revoking and thinning
-- them.
ALTER TABLE portfolios ADD COLUMN retention_stage TEXT NOT NULL DEFAULT 'active';

CREATE INDEX portfolios_retention_stage ON portfolios (retention_stage, id);
CREATE INDEX credentials_child ON credentials (child_id);
