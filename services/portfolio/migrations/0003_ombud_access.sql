-- The child-rights ombud the ombud service assigned to each child (its
-- feed's `ombud.child_assigned`): that ombud reads the child's portfolio.
-- The latest assignment (by the ombud feed's sequence) holds.
CREATE TABLE ombud_access (
    child_id TEXT PRIMARY KEY,
    ombud_subject TEXT NOT NULL,
    assigned_at TEXT NOT NULL,
    event_seq BIGINT NOT NULL
);
