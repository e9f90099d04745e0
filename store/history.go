package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cardverify/cardverify/pipeline"
)

//go:embed history/*.sql
var historyMigrations embed.FS

// historyFlushEvery is how long a recorded verdict may wait in memory before
// it is written: a crash loses at most this much of the history, and the
// checkpoint still holds what was lost (History.ImportUnended). At the
// vendor's pace that is one transaction for some fifty verdicts; a history
// with nothing waiting sets no timer and never wakes the process. A
// variable for the tests; each History keeps the value it was opened with.
var historyFlushEvery = time.Second

// historyBatch is how many waiting verdicts make the writer commit at once;
// at historyBacklog, Record writes them itself.
const (
	historyBatch   = 512
	historyBacklog = 8 * historyBatch
)

// History is the database of real billed verdicts across jobs (DESIGN.md,
// "History and reuse"). It holds no name and no card number: a pair is
// known by its fingerprint under the user's fingerprint key, which stays in
// the key file. Several processes may use one history at once (SQLite WAL;
// a writer waits for another's commit).
//
// A *History opened with a key implements pipeline.History. Its methods are
// safe for concurrent use. Close it to write what Record has queued.
type History struct {
	path  string
	db    *sql.DB
	keyID string         // of the key the history's fingerprints are made with
	fp    *fingerprinter // under the user's key; nil when opened for reports: no Latest, no Record

	// Endpoint and APIKeyID describe the verdicts Record is given (the
	// run's --endpoint and juhe.KeyID of its API key). Set them before
	// the first Record.
	Endpoint, APIKeyID string

	writeMu  sync.Mutex // held by the one write in progress
	insertMu sync.Mutex // held by the one insert on w in progress
	w        *historyWriter
	mu       sync.Mutex
	queue    []historyRec
	werr     error // the first write error, returned by Record and Close
	closed   bool
	kick     chan struct{} // a batch is full: write it now
	queued   chan struct{} // a verdict waits where none did: write it soon
	quit     chan struct{}
	every    time.Duration // historyFlushEvery
	wakes    atomic.Int64  // the writer's wake-ups, for the tests
	done     chan struct{}
	lookups  *sql.Stmt
}

type historyRec struct {
	fp       pipeline.Key
	at       time.Time
	jobid    string
	status   pipeline.Status
	res      int
	masked   string
	endpoint string
	apiKeyID string
}

// DefaultHistoryPath is where the history lives when no --history is given:
// cardverify/history.db in the user's data directory ($XDG_DATA_HOME, or
// ~/.local/share on Linux and other Unix systems; the directory of
// os.UserConfigDir on macOS and Windows).
func DefaultHistoryPath() (string, error) {
	if d := os.Getenv("XDG_DATA_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "cardverify", "history.db"), nil
	}
	if runtime.GOOS == "darwin" || runtime.GOOS == "windows" {
		d, err := os.UserConfigDir()
		if err != nil {
			return "", fmt.Errorf("find the user's data directory for the history: %w", err)
		}
		return filepath.Join(d, "cardverify", "history.db"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find the user's data directory for the history (set XDG_DATA_HOME or --history): %w", err)
	}
	return filepath.Join(home, ".local", "share", "cardverify", "history.db"), nil
}

// OpenHistory opens the history at path, creating it (mode 0600, its
// directory 0700) when k is not nil and there is none, and migrating its
// schema; verdicts left waiting to be filed (by a run that crashed, or one
// still going: see Close) are filed first. A history made with another
// fingerprint key than k is refused with
// an *pipeline.InputError. With a nil k the history is opened for reports,
// purges and imports only: a missing file is an *pipeline.InputError, and
// Latest and Record fail.
func OpenHistory(ctx context.Context, path string, k *Key) (*History, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open history %s: %w", path, err)
	}
	if _, err := os.Stat(abs); errors.Is(err, fs.ErrNotExist) {
		if k == nil {
			return nil, &pipeline.InputError{Path: path, Msg: "no history here yet",
				Hint: "a real `cardverify run` creates it; check --history"}
		}
		if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
			return nil, fmt.Errorf("create history: %w", err)
		}
		// Created before SQLite does, so that its mode is 0600 whatever
		// the umask; the -wal and -shm files take the same mode.
		f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("create history: %w", err)
		}
		f.Close()
	}
	h := &History{path: path, kick: make(chan struct{}, 1), queued: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{}),
		every: historyFlushEvery}
	if k != nil {
		h.fp = &fingerprinter{key: *k}
	}
	if h.db, err = sql.Open("sqlite3", historyDSN(abs)); err != nil {
		return nil, fmt.Errorf("open history %s: %w", path, err)
	}
	h.db.SetMaxOpenConns(4)
	if err := h.migrateRetrying(ctx); err != nil {
		h.db.Close()
		return nil, err
	}
	if err := h.checkKey(ctx); err != nil {
		h.db.Close()
		return nil, err
	}
	if h.w, err = openHistoryWriter(ctx, h.db); err == nil {
		// What a run that crashed, or one still going, left in incoming.
		if err = h.w.merge(ctx); err != nil {
			h.w.close()
		}
	}
	if err != nil {
		h.db.Close()
		return nil, fmt.Errorf("open history %s: %w", path, err)
	}
	if k != nil {
		h.lookups, err = h.db.PrepareContext(ctx, "SELECT fp, status, res, jobid, at FROM verdicts WHERE fp IN (?"+
			strings.Repeat(", ?", historyChunk-1)+")")
		if err != nil {
			h.w.close()
			h.db.Close()
			return nil, fmt.Errorf("open history %s: %w", path, err)
		}
	}
	go h.loop()
	return h, nil
}

// historyDSN is the data source name of the history at abs: writeDSN with
// a 30 s busy timeout, since several jobs may share one history and a
// writer waits for another's commit (a few milliseconds each) instead of
// failing, and a 2 MiB page cache per connection: lookups of random
// fingerprints hit a page of their own each, so a larger cache holds
// leaves that are seldom wanted again, and they read from the OS cache
// beyond it. With 8 MiB a 1M-row run with 95% of its rows in the history
// peaked at 124–127 MiB RSS, with 2 MiB at 90–99 MiB, and ran no slower
// (issue 17; see the README's "Performance").
func historyDSN(abs string) string {
	return writeDSN(abs, 30*time.Second, historyCacheMiB)
}

// historyCacheMiB is the page cache of each connection to the history.
const historyCacheMiB = 2

// migrateRetrying is migrate, tried again a few times when another process
// that is creating the same history at this moment holds the lock in a way
// SQLite does not wait for (the switch of a new file to WAL).
func (h *History) migrateRetrying(ctx context.Context) error {
	for attempt := 1; ; attempt++ {
		err := h.migrate(ctx)
		if attempt == 5 || !busy(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt) * 50 * time.Millisecond):
		}
	}
}

// migrate brings the schema to the latest version. Each migration reads the
// version inside its write transaction, so that two processes creating the
// history at once apply it once.
func (h *History) migrate(ctx context.Context) error {
	names, err := fs.Glob(historyMigrations, "history/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for i, name := range names {
		if want := fmt.Sprintf("history/%04d_", i+1); !strings.HasPrefix(name, want) {
			return fmt.Errorf("history migration %s: want a name starting with %s", name, want)
		}
		body, err := historyMigrations.ReadFile(name)
		if err != nil {
			return err
		}
		err = h.tx(ctx, func(tx *sql.Tx) error {
			var v int
			if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
				return err
			}
			if v > len(names) {
				return &pipeline.InputError{Path: h.path,
					Msg:  fmt.Sprintf("the history has schema version %d, newer than this cardverify's %d", v, len(names)),
					Hint: "use a newer cardverify, or another --history"}
			}
			if v > i {
				return nil
			}
			_, err := tx.ExecContext(ctx, string(body)+fmt.Sprintf("\nPRAGMA user_version = %d;", i+1))
			return err
		})
		if err != nil {
			var ie *pipeline.InputError
			if errors.As(err, &ie) {
				return err
			}
			if notADatabase(err) {
				return &pipeline.InputError{Path: h.path, Msg: "not a cardverify history", Hint: "check --history", Err: err}
			}
			return fmt.Errorf("migrate history %s to version %d: %w", h.path, i+1, err)
		}
	}
	return nil
}

func (h *History) tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := h.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// checkKey records the key's ID in a new history and refuses another key.
func (h *History) checkKey(ctx context.Context) error {
	err := h.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, "SELECT key_id FROM meta WHERE id = 1").Scan(&h.keyID)
		if errors.Is(err, sql.ErrNoRows) && h.fp != nil {
			h.keyID = h.fp.key.ID()
			_, err = tx.ExecContext(ctx, "INSERT INTO meta (id, key_id, created_at) VALUES (1, ?, ?)",
				h.keyID, formatTime(time.Now().Truncate(time.Second)))
		}
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return &pipeline.InputError{Path: h.path, Msg: "the history is empty: no verdict was ever recorded in it",
			Hint: "a real `cardverify run` records verdicts; check --history"}
	}
	if err != nil {
		return fmt.Errorf("read history %s: %w", h.path, err)
	}
	if h.fp != nil && h.fp.key.ID() != h.keyID {
		return &pipeline.InputError{Path: h.path,
			Msg:  fmt.Sprintf("the history was made with another fingerprint key (ID %s; this key's ID is %s): none of its verdicts could be found", h.keyID, h.fp.key.ID()),
			Hint: "use the key file it was made with (copy it from the machine that made the history), or another --history"}
	}
	return nil
}

// KeyID is the ID (Key.ID) of the fingerprint key the history is made with.
func (h *History) KeyID() string { return h.keyID }

// fingerprint is the pair's fingerprint under the history's key, by the one
// rule of checkpoints and the history.
func (h *History) fingerprint(name, card string) pipeline.Key {
	return h.fp.sum(name, card)
}

var errReportOnly = errors.New("the history was opened without the fingerprint key")

// historyChunk is how many fingerprints one lookup query takes: one
// statement per chunk rather than per row keeps the calls into SQLite few.
const historyChunk = 64

// Latest fills found[i] with the latest verdict recorded on the pair of
// rows[i], or the zero Verdict; invalid rows are not looked up. It
// implements pipeline.History.
func (h *History) Latest(ctx context.Context, rows []pipeline.Row, found []pipeline.Verdict) error {
	if h.fp == nil {
		return errReportOnly
	}
	var args [historyChunk]any
	var fps [historyChunk][32]byte
	at := make(map[pipeline.Key][]int, historyChunk) // fingerprint → indexes in rows
	n := 0
	query := func() error {
		if n == 0 {
			return nil
		}
		for i := n; i < historyChunk; i++ {
			args[i] = args[0] // pad: the same fingerprint again
		}
		rs, err := h.lookups.QueryContext(ctx, args[:]...)
		if err != nil {
			return err
		}
		err = scanEach(rs, func(rs *sql.Rows) error {
			var fp []byte
			var status string
			var v pipeline.Verdict
			var when sql.NullString
			if err := rs.Scan(&fp, &status, &v.Res, &v.JobID, &when); err != nil {
				return err
			}
			s, err := pipeline.ParseStatus(status)
			if err != nil || !s.Billed() || len(fp) != len(pipeline.Key{}) {
				return fmt.Errorf("a verdict of status %q, fingerprint of %d bytes: not written by cardverify", status, len(fp))
			}
			v.Status, v.At = s, parseTime(when)
			for _, i := range at[pipeline.Key(fp)] {
				if v.At.After(found[i].At) {
					found[i] = v
				}
			}
			return nil
		})
		clear(at)
		n = 0
		return err
	}
	for i, r := range rows {
		found[i] = pipeline.Verdict{}
		if r.Invalid != "" {
			continue
		}
		fp := h.fingerprint(r.Name, r.Card)
		if _, ok := at[fp]; !ok {
			fps[n] = fp
			args[n] = fps[n][:]
			n++
		}
		at[fp] = append(at[fp], i)
		if n == historyChunk {
			if err := query(); err != nil {
				return fmt.Errorf("read history %s: %w", h.path, err)
			}
		}
	}
	if err := query(); err != nil {
		return fmt.Errorf("read history %s: %w", h.path, err)
	}
	return nil
}

// Record queues o, a real billed verdict on (name, card), for the history's
// next commit (within historyFlushEvery, a second). Anything but a match or a
// mismatch with a jobid, and any answer of the simulated API (whose jobids
// start with SANDBOX), is ignored. It returns the error of an earlier write
// if one failed. It implements pipeline.History.
func (h *History) Record(ctx context.Context, name, card string, o pipeline.Outcome) error {
	if h.fp == nil {
		return errReportOnly
	}
	if !o.Status.Billed() || o.JobID == "" || strings.HasPrefix(o.JobID, "SANDBOX") || o.At.IsZero() {
		return nil
	}
	rec := historyRec{fp: h.fingerprint(name, card), at: o.At, jobid: o.JobID, status: o.Status, res: o.Res,
		masked: pipeline.MaskCard(card), endpoint: h.Endpoint, apiKeyID: h.APIKeyID}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.werr != nil {
		return h.werr
	}
	if h.closed {
		return errors.New("the history is closed")
	}
	h.queue = append(h.queue, rec)
	switch n := len(h.queue); {
	case n == 1:
		select {
		case h.queued <- struct{}{}:
		default:
		}
	case n >= historyBacklog:
		// The writer falls behind: write here, so that the queue's
		// memory stays bounded.
		h.mu.Unlock()
		h.write()
		h.mu.Lock()
	case n >= historyBatch:
		select {
		case h.kick <- struct{}{}:
		default:
		}
	}
	return h.werr
}

// loop writes the queued verdicts historyFlushEvery after the first of
// them was queued, or at once when a batch is full; it ends when Close
// closes quit, after a last write. Its timer runs only while verdicts wait.
func (h *History) loop() {
	defer close(h.done)
	t := time.NewTimer(h.every)
	t.Stop()
	for {
		select {
		case <-h.kick:
		case <-h.queued:
			t.Reset(h.every)
			select {
			case <-t.C:
			case <-h.kick:
				t.Stop()
			case <-h.quit:
				t.Stop()
				h.write()
				return
			}
		case <-h.quit:
			h.write()
			return
		}
		h.wakes.Add(1)
		h.write()
	}
}

func (h *History) write() {
	h.writeMu.Lock()
	defer h.writeMu.Unlock()
	h.mu.Lock()
	batch := h.queue
	h.queue = nil
	failed := h.werr != nil
	h.mu.Unlock()
	if len(batch) == 0 || failed {
		return
	}
	if _, err := h.insert(context.Background(), intoIncoming, batch); err != nil {
		h.mu.Lock()
		if h.werr == nil {
			h.werr = err
		}
		h.mu.Unlock()
	}
}

// insert writes recs into a table (intoIncoming, intoVerdicts) in one
// transaction and returns how many were new.
func (h *History) insert(ctx context.Context, into int, recs []historyRec) (int, error) {
	h.insertMu.Lock()
	defer h.insertMu.Unlock()
	n, err := h.w.insert(ctx, into, recs)
	if err != nil {
		return 0, fmt.Errorf("write history %s: %w", h.path, err)
	}
	return n, nil
}

// Close writes the verdicts Record queued, files every verdict of the run
// for lookups (Latest, here and in other processes: until then they wait
// apart; a few seconds for a million) and closes the history. It returns
// the first write error, if one failed: the verdicts are then still in
// their checkpoints (see ImportUnended). Close is idempotent.
func (h *History) Close() error { return h.CloseContext(context.Background()) }

// CloseContext is Close, giving up the filing when ctx ends (a stop that
// wants the process out within a second): the verdicts not filed yet stay
// where they were written, durable, and the next OpenHistory files them.
// That is not an error.
func (h *History) CloseContext(ctx context.Context) error {
	h.mu.Lock()
	if h.closed {
		err := h.werr
		h.mu.Unlock()
		return err
	}
	h.closed = true
	h.mu.Unlock()
	close(h.quit)
	<-h.done
	h.file(ctx)
	if h.lookups != nil {
		h.lookups.Close()
	}
	h.w.close()
	err := h.db.Close()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.werr != nil {
		return h.werr
	}
	if err != nil {
		return fmt.Errorf("close history %s: %w", h.path, err)
	}
	return nil
}

// file files the verdicts written into incoming for lookups, unless a
// write failed or ctx ends: the next open files what is left.
func (h *History) file(ctx context.Context) {
	h.mu.Lock()
	failed := h.werr != nil
	h.mu.Unlock()
	if failed {
		return
	}
	h.insertMu.Lock()
	defer h.insertMu.Unlock()
	if err := h.w.merge(ctx); err != nil && ctx.Err() == nil {
		h.mu.Lock()
		h.werr = fmt.Errorf("write history %s: %w", h.path, err)
		h.mu.Unlock()
	}
}

// HistoryStats is what `cardverify history` reports. Its JSON keys are part
// of the command line contract.
type HistoryStats struct {
	// Path is the history file's path, as it was opened.
	Path string `json:"path"`
	// KeyID identifies the fingerprint key the history is made with
	// (Key.ID), not the API key.
	KeyID string `json:"key_id"`
	// Verdicts counts the verdicts the history holds, one for each
	// (fingerprint, time, jobid): Match + Mismatch, as only billed
	// verdicts are kept.
	Verdicts int `json:"verdicts"`
	// Match counts the verdicts of status match (error_code 0, res 1).
	Match int `json:"match"`
	// Mismatch counts the verdicts of status mismatch (error_code 0, res
	// 2).
	Mismatch int `json:"mismatch"`
	// Oldest is when the API gave the oldest verdict; zero when there is
	// none.
	Oldest time.Time `json:"oldest"`
	// Newest is when the API gave the newest verdict; zero (JSON
	// "0001-01-01T00:00:00Z") when there is none.
	Newest time.Time `json:"newest"`
	// Endpoints counts verdicts by endpoint ("" for imported verdicts of
	// unknown endpoint).
	Endpoints map[string]int `json:"endpoints"`
}

// Stats counts the history's verdicts.
func (h *History) Stats(ctx context.Context) (HistoryStats, error) {
	st := HistoryStats{Path: h.path, KeyID: h.keyID, Endpoints: map[string]int{}}
	rs, err := h.db.QueryContext(ctx, "SELECT endpoint, status, count(*), min(at), max(at) FROM verdicts GROUP BY endpoint, status")
	if err != nil {
		return st, fmt.Errorf("read history %s: %w", h.path, err)
	}
	err = scanEach(rs, func(rs *sql.Rows) error {
		var endpoint, status string
		var n int
		var lo, hi sql.NullString
		if err := rs.Scan(&endpoint, &status, &n, &lo, &hi); err != nil {
			return err
		}
		st.Verdicts += n
		st.Endpoints[endpoint] += n
		switch status {
		case "match":
			st.Match += n
		case "mismatch":
			st.Mismatch += n
		}
		if t := parseTime(lo); !t.IsZero() && (st.Oldest.IsZero() || t.Before(st.Oldest)) {
			st.Oldest = t
		}
		if t := parseTime(hi); t.After(st.Newest) {
			st.Newest = t
		}
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("read history %s: %w", h.path, err)
	}
	return st, nil
}

// Purge deletes every verdict given before the time before and returns how
// many it deleted (--purge-older-than). A run reusing within a shorter
// duration never notices.
func (h *History) Purge(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := h.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM verdicts WHERE at < ?", formatTime(before))
		if err == nil {
			n, err = res.RowsAffected()
		}
		if err != nil {
			return err
		}
		// And those of a job still going, not filed yet.
		if res, err = tx.ExecContext(ctx, "DELETE FROM incoming WHERE at < ?", formatTime(before)); err == nil {
			var in int64
			in, err = res.RowsAffected()
			n += in
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("purge history %s: %w", h.path, err)
	}
	// The deleted verdicts' pages are free but still hold their bytes
	// until reused: VACUUM rewrites the file without them.
	if _, err := h.db.ExecContext(ctx, "VACUUM"); err != nil {
		return int(n), fmt.Errorf("purge history %s: compact: %w", h.path, err)
	}
	return int(n), nil
}

// ErrOtherKey is returned (wrapped in an *pipeline.InputError) by Import when
// a checkpoint's fingerprints are made with another key than the history's.
var ErrOtherKey = errors.New("the checkpoint's fingerprint key is not the history's")

// Import copies the real billed verdicts of the checkpoint ck into the
// history and returns how many were new: every match and mismatch that a
// billed call of a run against the real API gave, with its jobid and time
// (not those the job itself reused from a history, nor any simulated one).
// Their endpoint is the run's; the API key's ID is unknown (empty).
//
// A fingerprint cannot be computed again without the name and card, which
// no checkpoint keeps: a checkpoint made with another fingerprint key than
// the history's is refused (an *pipeline.InputError wrapping ErrOtherKey).
func (h *History) Import(ctx context.Context, ck *DB) (int, error) {
	return h.importFrom(ctx, ck, "")
}

// ImportUnended imports, as Import does, the verdicts of the runs of ck that
// never ended (a crash), but the current one: those the history may have
// missed. Each such run is read once; a resume after it reads nothing. A
// checkpoint made with another key is ErrOtherKey (wrapped), which a run may
// ignore.
func (h *History) ImportUnended(ctx context.Context, ck *DB) (int, error) {
	if id := ck.fingerprintKeyID(); id != h.keyID {
		return 0, h.otherKey(ck, id)
	}
	rs, err := ck.rdb.QueryContext(ctx, "SELECT id, started_at || '/' || input_sha256 || '/' || id FROM runs WHERE ended_at IS NULL AND id <> ?", ck.run.Load())
	if err != nil {
		return 0, fmt.Errorf("import %s into the history: %w", ck.path, err)
	}
	var ids []string
	var names []any
	err = scanEach(rs, func(rs *sql.Rows) error {
		var id int64
		var name string
		if err := rs.Scan(&id, &name); err != nil {
			return err
		}
		var done bool
		if err := h.db.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM recovered WHERE run = ?)", name).Scan(&done); err != nil || done {
			return err
		}
		ids, names = append(ids, strconv.FormatInt(id, 10)), append(names, name)
		return nil
	})
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	n, err := h.importFrom(ctx, ck, "AND ru.id IN ("+strings.Join(ids, ", ")+")")
	if err != nil {
		return n, err
	}
	err = h.tx(ctx, func(tx *sql.Tx) error {
		for _, name := range names {
			if _, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO recovered (run) VALUES (?)", name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("write history %s: %w", h.path, err)
	}
	return n, nil
}

func (h *History) otherKey(ck *DB, id string) error {
	return &pipeline.InputError{Path: ck.path, Err: ErrOtherKey,
		Msg:  fmt.Sprintf("its fingerprints are made with another key (ID %s) than the history's (ID %s), and cannot be made again without the names and cards, which no checkpoint keeps", id, h.keyID),
		Hint: "import it into a history made with its key (--history and the key file of the machine that ran it), or verify its list again with --reuse-within"}
}

func (h *History) importFrom(ctx context.Context, ck *DB, cond string) (int, error) {
	if id := ck.fingerprintKeyID(); id != h.keyID {
		return 0, h.otherKey(ck, id)
	}
	// A billed answer of a call to the real API, whose jobid is the
	// pair's outcome: the verdict that call gave. Each lookup goes by a
	// primary key (the call, its row, its pair, its run).
	q := `SELECT p.fp, o.at, o.jobid, o.status, o.res, r.masked, ru.endpoint
		FROM answers a
		JOIN calls c ON c.id = a.call
		JOIN runs ru ON ru.id = c.run
		JOIN outcomes o ON o.first_row = c.row_no
		JOIN pairs p ON p.first_row = o.first_row
		JOIN rows r ON r.row_no = o.first_row
		WHERE a.billed = 1 AND a.jobid = o.jobid AND o.jobid <> '' AND o.status IN ('match', 'mismatch')
			AND ru.sandbox = 0 AND o.jobid NOT LIKE 'SANDBOX%' AND o.at IS NOT NULL ` + cond
	rs, err := ck.rdb.QueryContext(ctx, q)
	if err != nil {
		return 0, fmt.Errorf("import %s into the history: %w", ck.path, err)
	}
	var recs []historyRec
	added := 0
	err = scanEach(rs, func(rs *sql.Rows) error {
		var fp []byte
		var at sql.NullString
		var status string
		var r historyRec
		if err := rs.Scan(&fp, &at, &r.jobid, &status, &r.res, &r.masked, &r.endpoint); err != nil {
			return err
		}
		if len(fp) != len(r.fp) {
			return fmt.Errorf("a fingerprint of %d bytes", len(fp))
		}
		copy(r.fp[:], fp)
		r.at = parseTime(at)
		if r.status, err = pipeline.ParseStatus(status); err != nil {
			return err
		}
		recs = append(recs, r)
		if len(recs) == 10000 {
			n, err := h.insert(ctx, intoVerdicts, recs)
			added += n
			recs = recs[:0]
			return err
		}
		return nil
	})
	if err == nil && len(recs) > 0 {
		var n int
		n, err = h.insert(ctx, intoVerdicts, recs)
		added += n
	}
	if err != nil {
		return added, fmt.Errorf("import %s into the history: %w", ck.path, err)
	}
	return added, nil
}

// fingerprintKeyID is the ID of the key of the checkpoint's fingerprints.
func (db *DB) fingerprintKeyID() string { return db.key.id }

// Reused counts the rows of the checkpoint whose verdict was reused from a
// history (a match or mismatch that no call of this job gave) and returns
// when the oldest of them was verified, for the Summary.
func (db *DB) Reused(ctx context.Context) (rows int, oldest time.Time, err error) {
	if err := db.flush(ctx); err != nil {
		return 0, time.Time{}, err
	}
	var lo sql.NullString
	err = db.rdb.QueryRowContext(ctx, `SELECT count(*), min(o.at) FROM rows r JOIN outcomes o ON o.first_row = r.first_row
		WHERE o.attempts = 0 AND o.status IN ('match', 'mismatch')`).Scan(&rows, &lo)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("read checkpoint %s: %w", db.path, err)
	}
	return rows, parseTime(lo), nil
}

var _ pipeline.History = (*History)(nil)
