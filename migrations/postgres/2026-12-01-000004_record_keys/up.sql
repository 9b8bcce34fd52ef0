-- Cell-key method: every response carries a random record key (0..2^32); the
-- aggregates keep the sum of their respondents' keys, and a public cell's
-- perturbation is looked up from that sum. Responses stored before get a key
-- now, and every survey's aggregates are rebuilt at the next start.
ALTER TABLE responses ADD COLUMN record_key BIGINT NOT NULL DEFAULT 0;
UPDATE responses SET record_key = floor(random() * 4294967296)::bigint;
UPDATE surveys SET aggregates_ok = false;
-- Bumped only by changes to what the public sees (responses on completed days,
-- bulk loads, targets): the public data version moves when public figures do.
ALTER TABLE surveys ADD COLUMN public_changes BIGINT NOT NULL DEFAULT 0;
