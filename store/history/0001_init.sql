-- 0001: the first schema of a cardverify history: the real billed verdicts
-- of every job, so that a later job may reuse a recent one instead of paying
-- for the same pair again (run --reuse-within).
--
-- No column holds a plaintext name or card number: a pair is known by its
-- keyed fingerprint (HMAC-SHA-256 under the user's fingerprint key, which
-- lives in a key file apart from this database: meta.key_id only names it),
-- and the card by its mask (first 6 and last 4 digits). Times are TEXT in
-- UTC with nine fractional digits, as in a checkpoint: ordered as text.

-- meta names the fingerprint key every fp below is made with. A history
-- opened with another key is refused: its lookups would all miss.
CREATE TABLE meta (
	id         INTEGER PRIMARY KEY CHECK (id = 1),
	key_id     TEXT NOT NULL, -- store.Key.ID() of the fingerprint key
	created_at TEXT NOT NULL
);

-- verdicts has one row per real billed verdict (match or mismatch), never a
-- simulated one. The primary key serves the lookup (the latest verdict of a
-- pair) and makes a second record of the same verdict (an import of a
-- checkpoint whose verdicts were recorded as they came) a no-op.
CREATE TABLE verdicts (
	fp         BLOB NOT NULL,    -- HMAC(key, name || 0x00 || card), as a checkpoint's pairs.fp
	at         TEXT NOT NULL,    -- when the API gave the verdict
	jobid      TEXT NOT NULL,    -- the API's jobid (单号)
	status     TEXT NOT NULL CHECK (status IN ('match', 'mismatch')),
	res        INTEGER NOT NULL, -- 1 match, 2 mismatch
	masked     TEXT NOT NULL,    -- the card's first 6 and last 4 digits
	endpoint   TEXT NOT NULL,    -- plain or encrypted; empty when unknown (an import)
	api_key_id TEXT NOT NULL,    -- juhe.KeyID of the API key; empty when unknown (an import)
	PRIMARY KEY (fp, at, jobid)
) WITHOUT ROWID;

-- recovered names the runs of checkpoints that never ended (a crash) whose
-- verdicts were imported (History.ImportUnended), so that every later
-- resume of the job does not read them again: the run's start, its input's
-- SHA-256 and its id in the checkpoint.
CREATE TABLE recovered (
	run TEXT PRIMARY KEY
) WITHOUT ROWID;
