-- The state grant ledger (issue 21 §4 b–d, ADR 0048). Whole kronor.
-- Owned by service/ledger.rs.

-- The available sum of a year (the distribution key's input), set by
-- finance or an import; `redistributed` once the leftovers were shared.
CREATE TABLE grant_years (
    year BIGINT PRIMARY KEY,
    available_kr BIGINT NOT NULL,
    redistributed BIGINT NOT NULL DEFAULT 0
);

-- One municipality's year (doc: GrantLedgerEntry), id `YYYY/code`.
CREATE TABLE grant_ledger (
    id TEXT PRIMARY KEY,
    doc TEXT NOT NULL,
    year BIGINT NOT NULL,
    municipality_code TEXT NOT NULL,
    county_code TEXT NOT NULL
);
CREATE INDEX grant_ledger_municipality ON grant_ledger (municipality_code, year);
CREATE INDEX grant_ledger_year ON grant_ledger (year, municipality_code);

-- Unused amounts reported over a period (seed 002 appendix 1: 2021–2023).
CREATE TABLE grant_unused (
    from_year BIGINT NOT NULL,
    to_year BIGINT NOT NULL,
    municipality_code TEXT NOT NULL,
    county_code TEXT NOT NULL,
    unused_kr BIGINT NOT NULL,
    PRIMARY KEY (from_year, to_year, municipality_code)
);
