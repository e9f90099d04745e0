-- 0001: the first schema of a cardverify checkpoint.
--
-- No column holds a plaintext name or card number: pairs and cards are known
-- by keyed fingerprints (HMAC-SHA-256 with the key of a key file apart since 0005; before, meta.hmac_key), and rows keep only
-- the masked card (first 6 and last 4 digits).
--
-- Times are TEXT in UTC, RFC 3339 with nine fractional digits
-- ("2026-11-27T15:53:15.000000000Z"): readable in the sqlite3 shell, accepted by
-- SQLite's date functions, and ordered as text.
--
-- Foreign keys are declared for the reader of this schema but not enforced
-- (the connection leaves PRAGMA foreign_keys off): the single writer keeps
-- them, and enforcing them would cost a lookup per insert on the hot path.

-- meta holds the checkpoint's secret, created with the database: the key of
-- every fingerprint. Without it a fingerprint cannot be tested against a
-- guessed (name, card).
CREATE TABLE meta (
	id         INTEGER PRIMARY KEY CHECK (id = 1),
	hmac_key   BLOB NOT NULL CHECK (length(hmac_key) = 32),
	created_at TEXT NOT NULL
);

-- runs has one row per `cardverify run` against this checkpoint.
CREATE TABLE runs (
	id           INTEGER PRIMARY KEY,
	input_path   TEXT NOT NULL,
	input_size   INTEGER NOT NULL,
	input_sha256 TEXT NOT NULL,    -- hex; a resume against another hash is refused
	sheet        TEXT NOT NULL,
	endpoint     TEXT NOT NULL,    -- plain or encrypted
	sandbox      INTEGER NOT NULL, -- 1 when verdicts came from the fake server
	version      TEXT NOT NULL,    -- of cardverify
	qps          REAL NOT NULL,
	started_at   TEXT NOT NULL,
	ended_at     TEXT              -- NULL while running, or after a crash
);

-- pairs has one row per distinct valid (name, card): the unit that is sent,
-- keyed by the first row that holds it. fp is unique but not indexed: the
-- writer of a run keeps an index of it in memory, loaded at open, because
-- a B-tree of random keys made each commit rewrite pages all over it.
CREATE TABLE pairs (
	first_row INTEGER PRIMARY KEY,
	fp        BLOB NOT NULL, -- HMAC(key, name || 0x00 || card)
	card      BLOB NOT NULL  -- HMAC(key, 'card' || 0x00 || card)
);

-- outcomes holds the latest outcome of each pair that has one; a pair
-- without a row here is pending. Kept apart from pairs so that recording
-- an outcome is an insert (at the end of the table, in row order) rather
-- than an update that grows a packed row and splits its page.
CREATE TABLE outcomes (
	first_row INTEGER PRIMARY KEY REFERENCES pairs (first_row),
	status    TEXT NOT NULL,    -- pipeline.Status.String()
	res       INTEGER NOT NULL, -- 1 match, 2 mismatch, 0 none
	jobid     TEXT NOT NULL,
	code      INTEGER,          -- the API's error_code; NULL unless answered
	answered  INTEGER NOT NULL,
	reason    TEXT NOT NULL,
	attempts  INTEGER NOT NULL,
	at        TEXT
);

-- rows has one row per data row of the input.
CREATE TABLE rows (
	row_no    INTEGER PRIMARY KEY,
	fp        BLOB NOT NULL,  -- as pairs.fp, kept for invalid rows too: an edited input is detected
	masked    TEXT NOT NULL,  -- the card's first 6 and last 4 digits
	invalid   TEXT,           -- why the row is not sent; NULL for a valid row
	first_row INTEGER REFERENCES pairs (first_row) -- NULL for an invalid row
);

-- calls is the ledger: one row per HTTP call, written (and committed) before
-- the call is sent.
CREATE TABLE calls (
	id          INTEGER PRIMARY KEY,
	run         INTEGER REFERENCES runs (id),
	row_no      INTEGER NOT NULL, -- the pair's first row
	pair        BLOB NOT NULL,
	card        BLOB NOT NULL,
	attempt     INTEGER NOT NULL,
	day         TEXT NOT NULL,    -- China calendar day of sent_at: the bank's daily limits count in it
	sent_at     TEXT NOT NULL
);

-- The per-card daily limit counts a card's calls on a day at each Begin.
CREATE INDEX calls_card_day ON calls (card, day);

-- answers completes the ledger: one row per call that ended, written when
-- it did. A call without an answer row after its run is a lost answer: sent,
-- possibly billed, never recorded.
CREATE TABLE answers (
	call        INTEGER PRIMARY KEY REFERENCES calls (id),
	duration_ms REAL NOT NULL,
	http_status INTEGER NOT NULL, -- 0 when there was no response
	code        INTEGER,          -- the API's error_code; NULL unless answered
	answered    INTEGER NOT NULL,
	billed      INTEGER NOT NULL, -- error_code 0 with res 1 or 2: what the vendor charges
	jobid       TEXT NOT NULL
);
