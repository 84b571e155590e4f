-- Placements over time (ADR 0030).
--
-- The home's type when the placement was made (HomeType name, '' for
-- another region's home): the long-jourhem-stay list filters on it. Rows
-- from before take their home's type now (a home's type rarely changes).
ALTER TABLE placements ADD COLUMN home_type TEXT NOT NULL DEFAULT '';
UPDATE placements SET home_type = COALESCE(
    (SELECT h.home_type FROM homes h WHERE h.id = placements.home_id), '')
    WHERE home_id <> '';
CREATE INDEX placements_home_type ON placements (status, home_type, start_date);
