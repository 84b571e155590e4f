-- Information meetings, courses, placement needs, support after approval,
-- mentor families and closing conversations (service/{training,network,
-- support,funnel}.rs). Each record is kept whole as `doc` (base64 protobuf
-- of its samling.recruitment.v1 message) beside the columns queries filter
-- on; ids are UUIDv7 text, dates ISO text (YYYY-MM-DD).
CREATE TABLE info_meetings (
    id TEXT PRIMARY KEY,
    doc TEXT NOT NULL,
    municipality_code TEXT NOT NULL,
    held_on TEXT NOT NULL
);
CREATE INDEX info_meetings_held ON info_meetings (held_on, id);

CREATE TABLE courses (
    id TEXT PRIMARY KEY,
    doc TEXT NOT NULL,
    kind TEXT NOT NULL,
    municipality_code TEXT NOT NULL
);
-- Who is enrolled in which course: a case (before approval) or a home.
CREATE TABLE course_members (
    course_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    PRIMARY KEY (member_id, course_id)
);

CREATE TABLE placement_needs (
    id TEXT PRIMARY KEY,
    doc TEXT NOT NULL,
    municipality_code TEXT NOT NULL,
    status TEXT NOT NULL
);
CREATE INDEX placement_needs_municipality ON placement_needs (municipality_code, id);

CREATE TABLE support_sessions (
    id TEXT PRIMARY KEY,
    doc TEXT NOT NULL,
    held_on TEXT NOT NULL
);
-- One row per home a session was for (a group session names several).
CREATE TABLE support_session_homes (
    session_id TEXT NOT NULL,
    home_id TEXT NOT NULL,
    held_on TEXT NOT NULL,
    PRIMARY KEY (home_id, session_id)
);

CREATE TABLE relief_arrangements (
    id TEXT PRIMARY KEY,
    doc TEXT NOT NULL,
    home_id TEXT NOT NULL
);
CREATE INDEX relief_arrangements_home ON relief_arrangements (home_id, id);

-- A home's own support settings (the evening and weekend extension); the
-- rest of its plan is derived from the approved case and the sessions.
CREATE TABLE support_plans (
    id TEXT PRIMARY KEY,
    doc TEXT NOT NULL
);

CREATE TABLE mentor_families (
    id TEXT PRIMARY KEY,
    doc TEXT NOT NULL,
    municipality_code TEXT NOT NULL,
    home_id TEXT NOT NULL UNIQUE,
    free_places BIGINT NOT NULL
);
-- Each assignment of a home to a mentor family; `active` 1 until ended. A
-- home has one active mentor family at a time.
CREATE TABLE mentor_assignments (
    id TEXT PRIMARY KEY,
    mentor_family_id TEXT NOT NULL,
    home_id TEXT NOT NULL,
    active BIGINT NOT NULL
);
CREATE INDEX mentor_assignments_home ON mentor_assignments (home_id, active);

-- One closing conversation per ended placement (the registry's event is
-- applied at least once: the placement id keeps it to one).
CREATE TABLE closing_conversations (
    id TEXT PRIMARY KEY,
    doc TEXT NOT NULL,
    home_id TEXT NOT NULL,
    placement_id TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    due_on TEXT NOT NULL
);
CREATE INDEX closing_conversations_home ON closing_conversations (home_id, id);
