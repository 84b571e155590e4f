-- The child's portfolio (one per child, kept whole as `doc`) and the
-- placements from the registry's feed that give a home access.
CREATE TABLE portfolios (
    id TEXT PRIMARY KEY,
    doc TEXT NOT NULL,
    placing_municipality_code TEXT NOT NULL DEFAULT ''
);

CREATE TABLE home_access (
    placement_id TEXT PRIMARY KEY,
    child_id TEXT NOT NULL,
    home_id TEXT NOT NULL DEFAULT '',
    starts_on TEXT NOT NULL DEFAULT '',
    ends_on TEXT NOT NULL DEFAULT ''
);

CREATE INDEX home_access_child ON home_access (child_id);
CREATE INDEX home_access_home ON home_access (home_id);
