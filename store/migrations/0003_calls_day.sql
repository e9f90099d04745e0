-- 0003: the per-card daily limit is counted in memory by the writer, loaded
-- once a day from the ledger; the index on (card, day), keyed by a random
-- fingerprint, dirtied a random page with every call and was most of the
-- cost of a commit. An index on the day alone grows at its end.
DROP INDEX calls_card_day;
CREATE INDEX calls_day ON calls (day);
