-- 0002: calls whose answer proves the bank was never asked (a system-level
-- 10xxx code, an HTTP error status from the gateway) do not count toward a
-- card's daily limit. Answers recorded before this column existed count, as
-- every call did then.
ALTER TABLE answers ADD COLUMN may_reach_bank INTEGER NOT NULL DEFAULT 1;
