-- Negative nets carried over (rule C2, ADR 0049): a statement whose net is
-- below 0 transfers nothing and leaves its net here; the next run of the
-- home's region takes every open one (`into_run_id` '') as an explicit line
-- and marks it with its own id, in the run's transaction: carried once,
-- never lost. Owned by service/payments.rs.
CREATE TABLE carry_overs (
    from_run_id TEXT NOT NULL,
    home_id TEXT NOT NULL,
    period TEXT NOT NULL,
    amount_ore BIGINT NOT NULL,
    into_run_id TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (from_run_id, home_id)
);
CREATE INDEX carry_overs_open ON carry_overs (into_run_id, home_id);
