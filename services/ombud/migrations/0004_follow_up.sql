-- Rights follow-up (ADR 0046). The latest state the portfolio reported per
-- (child, item), with the portfolio feed's sequence number of that event (an
-- older or redelivered event changes nothing); talks with the child; and
-- which items an `ombud.follow_up_overdue` alert was raised for (once per
-- change). Ids, codes and dates only.
CREATE TABLE follow_up_portfolio (
    child_id TEXT NOT NULL,
    item TEXT NOT NULL,
    state TEXT NOT NULL,
    due_on TEXT NOT NULL DEFAULT '',
    seq BIGINT NOT NULL,
    PRIMARY KEY (child_id, item)
);

CREATE TABLE talks (
    id TEXT PRIMARY KEY,
    doc TEXT NOT NULL,
    child_id TEXT NOT NULL DEFAULT '',
    held_on TEXT NOT NULL DEFAULT ''
);

CREATE INDEX talks_child ON talks (child_id);

CREATE TABLE follow_up_alerts (
    child_id TEXT NOT NULL,
    item TEXT NOT NULL,
    due_on TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (child_id, item)
);
