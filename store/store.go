// Package store is cardverify's checkpoint: a SQLite database that records
// every data row (by keyed fingerprint, never in plaintext), the outcome of
// every distinct (name, card) pair, and a ledger of every HTTP call. It makes
// a run resumable after any interruption and every charge accountable.
//
// A *DB implements pipeline.Checkpoint. Writes go through one goroutine that
// commits whatever has arrived as soon as its previous commit ends (group
// commit), so an answer is durable within milliseconds at the API's pace and
// batches grow only under load.
//
// The package uses github.com/mattn/go-sqlite3 with its default build tags:
// a plain `go build` with cgo enabled compiles the bundled SQLite (about a
// minute the first time, cached after). No extension or tag is needed: the
// schema uses only core SQL, WAL and PRAGMA user_version.
package store

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"embed"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/mattn/go-sqlite3" // registers the "sqlite3" driver

	"github.com/cardverify/cardverify/pipeline"
)

// DefaultCardDailyLimit is the number of calls a card may get in one China
// calendar day: UnionPay locks a card after 3 failed checks in a row.
const DefaultCardDailyLimit = 3

// timeFormat is how times are stored: UTC, fixed width, so that text order
// is time order.
const timeFormat = "2006-01-02T15:04:05.000000000Z07:00"

//go:embed migrations/*.sql
var migrations embed.FS

// DB is an open checkpoint. Open one with Open (to run) or OpenReadOnly (to
// report); its methods are safe for concurrent use. Close it to make every
// End durable and release the lock.
type DB struct {
	path     string
	readOnly bool

	// CardDailyLimit is the number of calls Begin allows for one card in
	// one China calendar day; 0 or less means no limit. Open sets it to
	// DefaultCardDailyLimit. Change it before the first Begin.
	CardDailyLimit int

	rdb  *sql.DB  // readers: Plan's lookups, Status, Results
	wdb  *sql.DB  // the writer's pool of one connection; nil when read-only
	lock *os.File // the held lock file; nil when read-only

	key     []byte    // the HMAC key of fingerprints
	hashers sync.Pool // of *hasher

	run atomic.Int64 // the current run's id, 0 before BeginRun

	planMu     sync.Mutex // serialises Plan
	maxPlanned int        // the highest row number recorded or planned; guarded by planMu
	// index maps the first 8 bytes of each pair's fingerprint to the
	// pair's first row: Plan's lookup of a pair, kept in memory (about 30
	// bytes a pair) because a B-tree index of random fingerprints on disk
	// made every commit rewrite pages all over it. Guarded by planMu.
	index     map[uint64]int32 // loaded by the first Plan
	indexOnce sync.Once
	indexErr  error

	ov overlay

	ops       chan op
	planSlots chan struct{} // a slot per Plan batch queued and not committed
	done      chan struct{} // closed when the writer goroutine has ended
	closeMu   sync.RWMutex  // held for reading by senders, for writing by Close
	closed    bool

	errMu sync.Mutex
	werr  error // the writer's first error, returned from then on
}

// Open opens the checkpoint at path for a run, creating it (mode 0600) if it
// does not exist and migrating its schema to the current version. It takes
// an exclusive lock on path+"-lock" that lasts until Close: a second process
// gets an *pipeline.InputError saying which pid holds it. A file that is not
// a checkpoint, or one written by a newer cardverify, is an
// *pipeline.InputError too.
func Open(ctx context.Context, path string) (*DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open checkpoint %s: %w", path, err)
	}
	lock, err := lockFile(abs, path)
	if err != nil {
		return nil, err
	}
	// Create the file before SQLite does, so that its mode is 0600 whatever
	// the umask; SQLite gives the -wal and -shm files the mode of the
	// database file.
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("open checkpoint: %w", err)
	}
	if fi, err := f.Stat(); err == nil && fi.Mode().Perm()&0o077 != 0 {
		// A checkpoint holds fingerprints and the key that makes them
		// testable: nobody else needs to read it.
		err = f.Chmod(0o600)
		if err != nil {
			f.Close()
			lock.Close()
			return nil, fmt.Errorf("open checkpoint: %w", err)
		}
	}
	f.Close()

	db := &DB{path: path, lock: lock, CardDailyLimit: DefaultCardDailyLimit}
	if err := db.open(ctx, abs); err != nil {
		db.closeAll()
		return nil, err
	}
	db.ops = make(chan op, queueSize)
	db.planSlots = make(chan struct{}, planAhead)
	db.done = make(chan struct{})
	conn, err := db.wdb.Conn(ctx)
	if err != nil {
		db.closeAll()
		return nil, fmt.Errorf("open checkpoint %s: %w", path, err)
	}
	w, err := newWriter(ctx, db, conn)
	if err != nil {
		conn.Close()
		db.closeAll()
		return nil, fmt.Errorf("open checkpoint %s: %w", path, err)
	}
	go w.loop()
	return db, nil
}

func (db *DB) open(ctx context.Context, abs string) error {
	var err error
	db.wdb, err = sql.Open("sqlite3", dsn(abs, false))
	if err != nil {
		return fmt.Errorf("open checkpoint %s: %w", db.path, err)
	}
	// One connection: the writer's. Migrations run on it before the
	// writer goroutine takes it.
	db.wdb.SetMaxOpenConns(1)
	if err := db.migrate(ctx); err != nil {
		return err
	}
	if err := db.loadKey(ctx, true); err != nil {
		return err
	}
	if err := db.wdb.QueryRowContext(ctx, "SELECT coalesce(max(row_no), 0) FROM rows").Scan(&db.maxPlanned); err != nil {
		return fmt.Errorf("open checkpoint %s: %w", db.path, err)
	}
	return db.openReaders(abs)
}

// loadIndex fills the in-memory index of pair fingerprints. Plan calls it
// once, on the reader connections (the writer holds the only write
// connection): a run that never plans, such as the rewrite of a finished
// job's output, does not pay for it.
func (db *DB) loadIndex(ctx context.Context) error {
	var n int
	if err := db.rdb.QueryRowContext(ctx, "SELECT count(*) FROM pairs").Scan(&n); err != nil {
		return err
	}
	db.index = make(map[uint64]int32, n)
	rs, err := db.rdb.QueryContext(ctx, "SELECT first_row, substr(fp, 1, 8) FROM pairs ORDER BY first_row")
	if err != nil {
		return err
	}
	return scanEach(rs, func(rs *sql.Rows) error {
		var first int32
		var fp8 []byte
		if err := rs.Scan(&first, &fp8); err != nil {
			return err
		}
		if len(fp8) == 8 {
			if _, taken := db.index[binary.LittleEndian.Uint64(fp8)]; !taken {
				db.index[binary.LittleEndian.Uint64(fp8)] = first
			}
		}
		return nil
	})
}

// OpenReadOnly opens an existing checkpoint for reports (status, export,
// audit). It works while a run holds the checkpoint, never takes the lock,
// never migrates and never writes: Plan, Begin, End, BeginRun and EndRun
// fail. A missing file, a file that is not a checkpoint, or one whose schema
// is not the current one is an *pipeline.InputError.
func OpenReadOnly(ctx context.Context, path string) (*DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open checkpoint %s: %w", path, err)
	}
	if _, err := os.Stat(abs); err != nil {
		return nil, &pipeline.InputError{Path: path, Msg: "cannot open the checkpoint", Hint: "check --db", Err: err}
	}
	db := &DB{path: path, readOnly: true}
	if err := db.openReaders(abs); err != nil {
		return nil, err
	}
	v, err := userVersion(ctx, db.rdb)
	if (err != nil || v == 0) && exists(abs+"-journal") {
		// A run was killed while it created the checkpoint: its first
		// transaction never committed, so it holds nothing, and a
		// read-only connection cannot roll the journal back.
		db.closeAll()
		return nil, &pipeline.InputError{Path: path, Err: err,
			Msg:  "the checkpoint was being created when its process stopped: it holds no row and no call yet",
			Hint: "run the same `cardverify run` command again to start the job"}
	}
	if err != nil {
		db.closeAll()
		return nil, db.notCheckpoint(err)
	}
	latest, err := latestVersion()
	if err != nil {
		db.closeAll()
		return nil, err
	}
	switch {
	case v == 0:
		db.closeAll()
		return nil, &pipeline.InputError{Path: path, Msg: "not a cardverify checkpoint", Hint: "check --db"}
	case v > latest:
		db.closeAll()
		return nil, db.newerSchema(v, latest)
	case v < latest:
		db.closeAll()
		return nil, &pipeline.InputError{Path: path,
			Msg:  fmt.Sprintf("the checkpoint has schema version %d, this cardverify reads %d", v, latest),
			Hint: "run the same `cardverify run` command once to upgrade it"}
	}
	if err := db.loadKey(ctx, false); err != nil {
		db.closeAll()
		return nil, err
	}
	return db, nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func (db *DB) openReaders(abs string) error {
	var err error
	db.rdb, err = sql.Open("sqlite3", dsn(abs, true))
	if err != nil {
		return fmt.Errorf("open checkpoint %s: %w", db.path, err)
	}
	// Plan reads on one connection; Status and Results may read beside it.
	db.rdb.SetMaxOpenConns(4)
	db.rdb.SetMaxIdleConns(4)
	return nil
}

// dsn returns the go-sqlite3 data source name for the database at abs. Each
// "_" parameter is a PRAGMA go-sqlite3 runs on every new connection.
func dsn(abs string, readOnly bool) string {
	v := url.Values{}
	// busy_timeout: wait up to 5 s instead of failing with SQLITE_BUSY when
	// another connection holds a lock for a moment (a WAL checkpoint, the
	// recovery of a WAL after a crash, a `status` opening beside a run).
	v.Set("_busy_timeout", "5000")
	if readOnly {
		// mode=ro: open read-only, so a report can never change a
		// checkpoint (no migration, no journal mode change).
		v.Set("mode", "ro")
		return "file:" + (&url.URL{Path: abs}).EscapedPath() + "?" + v.Encode()
	}
	// journal_mode=WAL: readers (Plan's lookups, `status` in another
	// process) never block the writer nor it them, and a commit is one
	// sequential append to the -wal file. It is persistent: set once, kept
	// in the file.
	v.Set("_journal_mode", "WAL")
	// synchronous=NORMAL: in WAL mode a commit is not fsynced, only the
	// checkpoints of the WAL into the database are. A committed
	// transaction survives a crash of the process (SIGKILL, OOM killer),
	// which is the interruption this tool must survive, and the database
	// is never corrupted; a power loss or kernel crash may roll back the
	// last commits. FULL would cost an fsync per group commit.
	v.Set("_synchronous", "NORMAL")
	// cache_size=-16384: a 16 MiB page cache. Every table and index grows
	// at its end (row numbers, call ids, days), so the pages a commit
	// touches are few and recent; fingerprints are looked up in memory.
	v.Set("_cache_size", "-16384")
	// _txlock=immediate: BEGIN takes the write lock at once, so a
	// transaction never fails half-way for want of it.
	v.Set("_txlock", "immediate")
	// foreign_keys stays off (SQLite's default): see migrations/0001.
	return "file:" + (&url.URL{Path: abs}).EscapedPath() + "?" + v.Encode()
}

// migrate brings the schema to the latest version, one transaction per
// migration, each setting PRAGMA user_version to its number.
func (db *DB) migrate(ctx context.Context) error {
	names, err := migrationNames()
	if err != nil {
		return err
	}
	v, err := userVersion(ctx, db.wdb)
	if err != nil {
		return db.notCheckpoint(err)
	}
	if v > len(names) {
		return db.newerSchema(v, len(names))
	}
	for i := v; i < len(names); i++ {
		body, err := migrations.ReadFile(names[i])
		if err != nil {
			return fmt.Errorf("migrate checkpoint: %w", err)
		}
		if err := db.execTx(ctx, string(body)+fmt.Sprintf("\nPRAGMA user_version = %d;", i+1)); err != nil {
			return fmt.Errorf("migrate checkpoint %s to version %d: %w", db.path, i+1, err)
		}
	}
	return nil
}

func (db *DB) execTx(ctx context.Context, script string) error {
	tx, err := db.wdb.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, script); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// migrationNames lists the embedded migrations in order; the file of
// version n must be named "NNNN_*.sql" with NNNN = n.
func migrationNames() ([]string, error) {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	for i, n := range names {
		if want := fmt.Sprintf("migrations/%04d_", i+1); !strings.HasPrefix(n, want) {
			return nil, fmt.Errorf("migration %s: want a name starting with %s", n, want)
		}
	}
	return names, nil
}

func latestVersion() (int, error) {
	names, err := migrationNames()
	return len(names), err
}

func userVersion(ctx context.Context, q *sql.DB) (int, error) {
	var v int
	err := q.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v)
	return v, err
}

func (db *DB) notCheckpoint(err error) error {
	if notADatabase(err) {
		return &pipeline.InputError{Path: db.path, Msg: "not a cardverify checkpoint", Hint: "check --db", Err: err}
	}
	return fmt.Errorf("open checkpoint %s: %w", db.path, err)
}

func (db *DB) newerSchema(v, latest int) error {
	return &pipeline.InputError{Path: db.path,
		Msg:  fmt.Sprintf("the checkpoint has schema version %d, newer than this cardverify's %d", v, latest),
		Hint: "use the cardverify version that wrote it, or a newer one"}
}

// loadKey reads the HMAC key, creating it first if create is set and the
// checkpoint has none yet.
func (db *DB) loadKey(ctx context.Context, create bool) error {
	q := db.rdb
	if create {
		q = db.wdb
	}
	err := q.QueryRowContext(ctx, "SELECT hmac_key FROM meta WHERE id = 1").Scan(&db.key)
	if errors.Is(err, sql.ErrNoRows) && create {
		key := make([]byte, 32)
		rand.Read(key)
		_, err = db.wdb.ExecContext(ctx, "INSERT INTO meta (id, hmac_key, created_at) VALUES (1, ?, ?)",
			key, formatTime(time.Now().Truncate(time.Second)))
		db.key = key
	}
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return &pipeline.InputError{Path: db.path, Msg: "the checkpoint has no fingerprint key", Hint: "it was not written by cardverify; use a new --db"}
		}
		return fmt.Errorf("read checkpoint %s key: %w", db.path, err)
	}
	return nil
}

// Close waits for the writer to commit everything queued, closes the
// database and releases the lock. It returns the writer's error, if it had
// one: then the last Ends may not be recorded. Close is idempotent.
func (db *DB) Close() error {
	if db.readOnly {
		db.closeMu.Lock()
		defer db.closeMu.Unlock()
		if db.closed {
			return nil
		}
		db.closed = true
		return db.closeAll()
	}
	db.closeMu.Lock()
	if db.closed {
		db.closeMu.Unlock()
		return db.writerErr()
	}
	db.closed = true
	close(db.ops)
	db.closeMu.Unlock()
	<-db.done
	werr := db.writerErr()
	if err := db.closeAll(); werr == nil {
		werr = err
	}
	return werr
}

// closeAll closes what is open, readers first so that the writer's
// connection is the last one and checkpoints the WAL into the database.
func (db *DB) closeAll() error {
	var errs []error
	if db.rdb != nil {
		errs = append(errs, db.rdb.Close())
	}
	if db.wdb != nil {
		errs = append(errs, db.wdb.Close())
	}
	if db.lock != nil {
		errs = append(errs, db.lock.Close()) // closing releases the flock
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close checkpoint %s: %w", db.path, err)
	}
	return nil
}

var errReadOnly = errors.New("the checkpoint is open read-only")

// errClosed is returned by methods called after Close.
var errClosed = errors.New("the checkpoint is closed")

// hasher computes fingerprints with a reusable HMAC state.
type hasher struct {
	mac hash.Hash
	buf []byte
	sum []byte
}

func (db *DB) getHasher() *hasher {
	if h, ok := db.hashers.Get().(*hasher); ok {
		return h
	}
	return &hasher{mac: hmac.New(sha256.New, db.key), buf: make([]byte, 0, 64), sum: make([]byte, 0, 32)}
}

func (h *hasher) key(parts ...string) pipeline.Key {
	h.buf = h.buf[:0]
	for i, p := range parts {
		if i > 0 {
			h.buf = append(h.buf, 0)
		}
		h.buf = append(h.buf, p...)
	}
	h.mac.Reset()
	h.mac.Write(h.buf)
	h.sum = h.mac.Sum(h.sum[:0])
	return pipeline.Key(h.sum)
}

// Fingerprint returns the fingerprint of a normalised (name, card) pair under
// this checkpoint's key: the Known.Pair that Plan gives and Result.Pair. It
// lets `audit` match an output row to its record.
func (db *DB) Fingerprint(name, card string) pipeline.Key {
	h := db.getHasher()
	k := h.key(name, card)
	db.hashers.Put(h)
	return k
}

// CardFingerprint returns the fingerprint of a normalised card number alone
// (Known.Card), domain-separated from pair fingerprints.
func (db *DB) CardFingerprint(card string) pipeline.Key {
	h := db.getHasher()
	k := h.key("card", card)
	db.hashers.Put(h)
	return k
}

// formatTime returns t as stored (timeFormat), or nil for the zero time.
// It writes the digits itself: time.Format took an eighth of the writer's
// time per answer.
func formatTime(t time.Time) driver.Value {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	y, mo, d := t.Date()
	if y < 0 || y > 9999 {
		return t.Format(timeFormat)
	}
	h, mi, sec := t.Clock()
	var b [30]byte // 2006-01-02T15:04:05.000000000Z
	digits := func(at, width, v int) {
		for i := at + width - 1; i >= at; i-- {
			b[i] = byte('0' + v%10)
			v /= 10
		}
	}
	digits(0, 4, y)
	b[4] = '-'
	digits(5, 2, int(mo))
	b[7] = '-'
	digits(8, 2, d)
	b[10] = 'T'
	digits(11, 2, h)
	b[13] = ':'
	digits(14, 2, mi)
	b[16] = ':'
	digits(17, 2, sec)
	b[19] = '.'
	digits(20, 9, t.Nanosecond())
	b[29] = 'Z'
	return string(b[:])
}

func parseTime(s sql.NullString) time.Time {
	if !s.Valid {
		return time.Time{}
	}
	t, err := time.Parse(timeFormat, s.String)
	if err != nil {
		// Written by us in timeFormat; RFC 3339 is the forgiving fallback.
		t, _ = time.Parse(time.RFC3339Nano, s.String)
	}
	return t
}

var (
	_ pipeline.Checkpoint = (*DB)(nil)
	_ pipeline.Results    = (*Results)(nil)
)
