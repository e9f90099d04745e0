-- 0002: incoming receives the verdicts of a run as they arrive; the run
-- files them into verdicts when it closes the history (and a history opened
-- with some left, by a run that crashed or one still going, files them then).
--
-- A verdict's fingerprint is random, so inserting it into verdicts, a B-tree
-- keyed by fingerprint, dirtied a page of its own in every commit: about a
-- page written to the WAL, and copied back, per verdict once the history
-- outgrew a commit's few thousand verdicts. incoming grows at its end, and
-- filing its rows in fingerprint order writes each page of verdicts once.
-- Lookups read verdicts only: a run sees the verdicts another job recorded
-- once that job has closed the history. Same columns as verdicts, no
-- plaintext.
CREATE TABLE incoming (
	fp         BLOB NOT NULL,
	at         TEXT NOT NULL,
	jobid      TEXT NOT NULL,
	status     TEXT NOT NULL,
	res        INTEGER NOT NULL,
	masked     TEXT NOT NULL,
	endpoint   TEXT NOT NULL,
	api_key_id TEXT NOT NULL
);
