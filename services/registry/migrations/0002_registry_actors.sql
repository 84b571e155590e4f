-- Who registered a child and who made a placement: a placement made by the
-- same caller who registered the child does not make a protected home the
-- placing municipality's business (issue 18, finding 2). Rows from before
-- are '' (unknown) and count as made by someone else.
ALTER TABLE children ADD COLUMN registered_by TEXT NOT NULL DEFAULT '';
ALTER TABLE placements ADD COLUMN created_by TEXT NOT NULL DEFAULT '';
