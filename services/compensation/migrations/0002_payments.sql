-- Placements as the registry's feed shows them (kit's consumer, ADR 0022):
-- the payment run pays an agreement only within its placement's days.
-- Dates are ISO text ('' = unknown / open-ended). Owned by registry_feed.rs.
CREATE TABLE placements (
    placement_id TEXT PRIMARY KEY,
    home_id TEXT NOT NULL,
    starts_on TEXT NOT NULL,
    ends_on TEXT NOT NULL
);

-- The account each home is paid to (doc: PayeeAccount; the IBAN is never in
-- an event). Owned by service/payments.rs.
CREATE TABLE payees (
    id TEXT PRIMARY KEY,
    doc TEXT NOT NULL
);

-- Payment runs: one per month (`period` YYYY-MM unique: a month is never
-- paid twice), written whole with their statements in one transaction.
-- `file` is the pain.001 document, made once at approval.
CREATE TABLE payment_runs (
    id TEXT PRIMARY KEY,
    doc TEXT NOT NULL,
    period TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    file TEXT NOT NULL DEFAULT ''
);

-- One statement per home and run.
CREATE TABLE statements (
    id TEXT PRIMARY KEY,
    doc TEXT NOT NULL,
    run_id TEXT NOT NULL,
    home_id TEXT NOT NULL,
    UNIQUE (run_id, home_id)
);
