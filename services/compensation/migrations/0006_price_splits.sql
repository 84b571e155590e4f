-- Cost transparency (ADR 0049): an agency's price of one placement a day,
-- split into fee, expenses, administration and add-ons (doc:
-- PriceSplitRecord), one per registry placement, compared per home type.
-- Owned by service/costs.rs.
CREATE TABLE price_splits (
    id TEXT PRIMARY KEY,
    doc TEXT NOT NULL,
    agency_id TEXT NOT NULL,
    home_type TEXT NOT NULL,
    municipality_code TEXT NOT NULL
);
CREATE INDEX price_splits_type ON price_splits (home_type, id);

-- The placing municipality as the registry's placement_created event names
-- it ('' for placements read before this column): who may record a price.
ALTER TABLE placements ADD COLUMN municipality_code TEXT NOT NULL DEFAULT '';
