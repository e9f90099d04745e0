-- 0008: input_rows is the number of data rows of the run's input, and
-- input_invalid how many of them are invalid, counted apart from the run (so
-- that they are known long before the run has read every row) and recorded
-- once known; NULL until then. `status` counts the rows no run has read yet
-- as the output holds them (invalid, or pending), so that its counts after
-- a crash cover every row of the input.
ALTER TABLE runs ADD COLUMN input_rows INTEGER;
ALTER TABLE runs ADD COLUMN input_invalid INTEGER;
