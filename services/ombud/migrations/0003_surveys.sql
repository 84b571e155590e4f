-- User surveys (ADR 0044). Four tables; the invitations, the tokens and the
-- answers never reference each other:
--
-- * survey_rounds: a round of the region (kept whole as `doc`);
-- * survey_invitations: which child was invited to which round and whether
--   its token has been shown — no token, no hash, no variant;
-- * survey_tokens: the SHA-256 of each token shown, with its round and the
--   variant it answers — no child, no time;
-- * survey_answers: the answers (kept whole as `doc`) with the round, the
--   region, the variant and the day — no child, no token, no time of day.
--   The id is random (not time-ordered).
CREATE TABLE survey_rounds (
    id TEXT PRIMARY KEY,
    doc TEXT NOT NULL,
    period_start TEXT NOT NULL DEFAULT ''
);

CREATE TABLE survey_invitations (
    round_id TEXT NOT NULL,
    child_id TEXT NOT NULL,
    -- 'yes' once the child's token has been shown (it is shown once).
    token_shown TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (round_id, child_id)
);

CREATE INDEX survey_invitations_child ON survey_invitations (child_id);

CREATE TABLE survey_tokens (
    token_hash TEXT PRIMARY KEY,
    round_id TEXT NOT NULL,
    region TEXT NOT NULL DEFAULT '',
    age_band TEXT NOT NULL DEFAULT '',
    placement_form TEXT NOT NULL DEFAULT '',
    easy_read TEXT NOT NULL DEFAULT '',
    -- 'yes' once answered (single use).
    used TEXT NOT NULL DEFAULT ''
);

CREATE TABLE survey_answers (
    id TEXT PRIMARY KEY,
    doc TEXT NOT NULL,
    round_id TEXT NOT NULL DEFAULT '',
    region TEXT NOT NULL DEFAULT '',
    placement_form TEXT NOT NULL DEFAULT '',
    answered_on TEXT NOT NULL DEFAULT ''
);

CREATE INDEX survey_answers_round ON survey_answers (round_id);
