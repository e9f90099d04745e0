-- 0004: read_all is 1 once a run has read and planned every row of its
-- input. Since a checkpoint refuses an input with another SHA-256, a later
-- run whose checkpoint has every row final can skip reading the input
-- against the checkpoint and only write the output.
ALTER TABLE runs ADD COLUMN read_all INTEGER NOT NULL DEFAULT 0;
