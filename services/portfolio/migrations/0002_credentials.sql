-- Prescription collection credentials: what a verification needs, server
-- side (the credential itself names neither the child nor the home).
CREATE TABLE credentials (
    id TEXT PRIMARY KEY,
    child_id TEXT NOT NULL,
    placement_id TEXT NOT NULL,
    home_id TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT NOT NULL DEFAULT ''
);

CREATE INDEX credentials_placement ON credentials (placement_id);
