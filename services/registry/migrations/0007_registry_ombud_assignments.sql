-- The child-rights ombud the ombud service assigned to each child (its
-- feed's `ombud.child_assigned`, ADR 0045): that ombud reads the child's
-- record and placements. The latest assignment (by the ombud feed's
-- sequence) holds.
CREATE TABLE ombud_assignments (
    child_id TEXT PRIMARY KEY,
    ombud_subject TEXT NOT NULL,
    event_seq BIGINT NOT NULL
);
CREATE INDEX ombud_assignments_subject ON ombud_assignments (ombud_subject, child_id);
