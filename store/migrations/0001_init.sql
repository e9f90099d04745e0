-- 0001: the first schema of a cardverify checkpoint.
--
-- No column holds a plaintext name or card number: pairs and cards are known
-- by keyed fingerprints (HMAC-SHA-256 with meta.hmac_key), and rows keep only
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
-- keyed by the first row that holds it. Its outcome is the latest one.
CREATE TABLE pairs (
	first_row INTEGER PRIMARY KEY,
	fp        BLOB NOT NULL UNIQUE, -- HMAC(key, name || 0x00 || card)
	card      BLOB NOT NULL,        -- HMAC(key, 'card' || 0x00 || card)
	status    TEXT NOT NULL DEFAULT 'pending', -- pipeline.Status.String()
	res       INTEGER NOT NULL DEFAULT 0,
	jobid     TEXT NOT NULL DEFAULT '',
	code      INTEGER,                         -- NULL unless answered
	answered  INTEGER NOT NULL DEFAULT 0,
	reason    TEXT NOT NULL DEFAULT '',
	attempts  INTEGER NOT NULL DEFAULT 0,
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

-- calls is the ledger: one row per HTTP call, written before it is sent and
-- completed when it ends. A row with ended = 0 after the run is a lost answer.
CREATE TABLE calls (
	id          INTEGER PRIMARY KEY,
	run         INTEGER REFERENCES runs (id),
	row_no      INTEGER NOT NULL, -- the pair's first row
	pair        BLOB NOT NULL,
	card        BLOB NOT NULL,
	attempt     INTEGER NOT NULL,
	day         TEXT NOT NULL,    -- China calendar day of sent_at: the bank's daily limits count in it
	sent_at     TEXT NOT NULL,
	ended       INTEGER NOT NULL DEFAULT 0,
	duration_ms REAL,
	http_status INTEGER,          -- 0 when there was no response
	code        INTEGER,          -- the API's error_code; NULL unless answered
	answered    INTEGER,
	billed      INTEGER,          -- error_code 0 with res 1 or 2: what the vendor charges
	jobid       TEXT
);

-- The per-card daily limit counts a card's calls on a day at each Begin.
CREATE INDEX calls_card_day ON calls (card, day);
