-- The national matching standard (docs/matching.md), kept whole as `doc`
-- (base64 protobuf samling.recruitment.v1.*) beside the columns queries
-- filter on. Owned by service/matching.rs.
CREATE TABLE match_profiles (
    id TEXT PRIMARY KEY,
    doc TEXT NOT NULL,
    municipality_code TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX match_profiles_municipality ON match_profiles (municipality_code, id);
CREATE TABLE match_proposals (
    id TEXT PRIMARY KEY,
    doc TEXT NOT NULL,
    profile_id TEXT NOT NULL,
    municipality_code TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX match_proposals_profile ON match_proposals (profile_id, id);
CREATE INDEX match_proposals_municipality ON match_proposals (municipality_code, id);
-- A child's story: id = "<profile id>/<child key>".
CREATE TABLE match_child_stories (
    id TEXT PRIMARY KEY,
    doc TEXT NOT NULL,
    profile_id TEXT NOT NULL
);
CREATE INDEX match_child_stories_profile ON match_child_stories (profile_id, id);
-- A home's story: id = the registry's home id.
CREATE TABLE match_home_stories (
    id TEXT PRIMARY KEY,
    doc TEXT NOT NULL
);
