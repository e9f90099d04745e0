-- 0006: every call accounted, every verdict real.
--
-- possibly_billed marks a call that may have reached the vendor without an
-- intact answer (a timeout or a reset after sending, a cut body): the vendor
-- may have charged for it, so --max-billed counts it. simulated marks an
-- answer of a simulated API (--sandbox, or `cardverify sandbox`, which marks
-- its answers); a simulated outcome is not done for a real run. run records
-- which run reached an outcome, base_url which API that run called.
ALTER TABLE answers ADD COLUMN possibly_billed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE answers ADD COLUMN simulated INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outcomes ADD COLUMN simulated INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outcomes ADD COLUMN run INTEGER REFERENCES runs (id);
ALTER TABLE runs ADD COLUMN base_url TEXT NOT NULL DEFAULT '';
-- Before this column, which run gave an outcome was not recorded: if any
-- run of the checkpoint was simulated, none of its outcomes is trusted as
-- real (a real run verifies them again).
UPDATE outcomes SET simulated = 1 WHERE EXISTS (SELECT 1 FROM runs WHERE sandbox);
