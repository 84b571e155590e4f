-- Meetings about a child registered by the placing municipality and
-- recorded by the child's ombud (kept whole as `doc`).
CREATE TABLE meetings (
    id TEXT PRIMARY KEY,
    doc TEXT NOT NULL,
    child_id TEXT NOT NULL DEFAULT ''
);

CREATE INDEX meetings_child ON meetings (child_id);
