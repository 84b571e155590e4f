-- The evidence behind an approval (ADR 0028): when a home's register
-- extracts (registerutdrag) are next due (ISO date, '' for a household
-- without adults), for the overdue list. Homes written before this
-- migration get theirs on their next change.
ALTER TABLE homes ADD COLUMN record_checks_due TEXT NOT NULL DEFAULT '';
CREATE INDEX homes_record_checks_due ON homes (record_checks_due);
