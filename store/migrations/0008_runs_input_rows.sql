-- 0008: input_rows is the number of data rows of the run's input, counted
-- apart from the run (so that it is known long before the run has read
-- them all) and recorded once known; NULL until then. `status` counts the
-- rows no run has read yet as pending, so that its counts after a crash
-- cover every row of the input, as the output holds them.
ALTER TABLE runs ADD COLUMN input_rows INTEGER;
