-- Deadlines and alerts (ADR 0042): the state of each child's deadline item
-- last emitted as `portfolio.deadline`, so a run (or a restart) emits only
-- what changed; and the placement's legal basis (care under LVU 3 § ends at
-- 21, not 18).
CREATE TABLE deadline_states (
    child_id TEXT NOT NULL,
    item TEXT NOT NULL,
    state TEXT NOT NULL,
    due_on TEXT NOT NULL,
    emitted_at TEXT NOT NULL,
    PRIMARY KEY (child_id, item)
);

ALTER TABLE home_access ADD COLUMN legal_basis TEXT NOT NULL DEFAULT '';
