// Package store is cardverify's checkpoint: a SQLite database that records
// every data row (by keyed fingerprint, never in plaintext), the outcome of
// every distinct (name, card) pair, and a ledger of every HTTP call. It makes
// a run resumable after any interruption and every charge accountable. It
// persists and answers; the rules it applies (dedup, the card daily limit)
// are the pipeline's, which it calls or is told.
//
// A *DB implements pipeline.Checkpoint. Its pieces, one a file:
//
//   - store.go: DB, Open, OpenReadOnly and Close; Open starts the one
//     goroutine that writes, Close ends it.
//   - schema.go: the checks before opening, the connections' PRAGMAs, the
//     migrations (migrations/*.sql) and how times are stored.
//   - queue.go: the group-commit queue, which any goroutine sends writes
//     to, and its overlay of what is queued but not committed;
//     commit.go: the committer, the goroutine that commits the queue.
//   - plan.go: Plan, which records the rows and answers what the job knows
//     of each pair (resume), with the pair index of index.go.
//   - ledger.go: runs, and the calls of the ledger (Begin, End), with the
//     day's card counts of cards.go.
//   - status.go and results.go: what `status`, the output and `audit` read.
//   - history.go: the verdict history across jobs; key.go: the fingerprint
//     key and rule.
//
// The package uses github.com/mattn/go-sqlite3 with its default build tags:
// a plain `go build` with cgo enabled compiles the bundled SQLite (about a
// minute the first time, cached after). No extension or tag is needed: the
// schema uses only core SQL, WAL and PRAGMA user_version.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/mattn/go-sqlite3" // registers the "sqlite3" driver

	"github.com/cardverify/cardverify/pipeline"
)

// DB is an open checkpoint. Open one with Open (to run) or OpenReadOnly (to
// report); its methods are safe for concurrent use. Close it to make every
// End durable and release the lock.
type DB struct {
	path     string
	readOnly bool

	// Now returns the current time, for the times a caller leaves zero
	// (Call.SentAt, RunInfo.Started, EndRun's end). Open sets it to
	// time.Now; change it before the first write.
	Now func() time.Time

	rdb  *sql.DB  // readers: Plan's lookups, Status, Results
	wdb  *sql.DB  // the committer's pool of one connection; nil when read-only
	lock *os.File // the held lock file; nil when read-only

	key checkpointKey
	run atomic.Int64 // the current run's id, 0 before BeginRun

	q    *queue  // the group-commit queue; nil when read-only
	plan planner // Plan's state

	closeOnce sync.Once
}

// Open opens the checkpoint at path for a run, creating it (mode 0600) if it
// does not exist and migrating its schema to the current version. It takes
// an exclusive lock on path+"-lock" that lasts until Close: a second process
// gets an *pipeline.InputError saying which pid holds it. It starts the
// goroutine that commits the writes; Close ends it.
//
// keyFile is the fingerprint key file (DefaultKeyPath unless the user chose
// another). A new checkpoint uses the key there, creating the file if there
// is none, and records only the key's ID. An existing checkpoint is refused
// with an *pipeline.InputError naming keyFile when the file is missing or
// holds another key: a new key would silently verify every row again. A
// checkpoint of an older cardverify that kept its key inside is migrated:
// its key is written to keyFile if there is none there (and refused if
// keyFile holds another), then wiped from the checkpoint.
//
// An existing path that is not a checkpoint (another file, a symlink to
// one, a directory), or a checkpoint written by a newer cardverify, is an
// *pipeline.InputError, returned before anything at or beside path changes.
func Open(ctx context.Context, path, keyFile string) (*DB, error) {
	if keyFile == "" {
		return nil, fmt.Errorf("open checkpoint %s: no fingerprint key file given", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open checkpoint %s: %w", path, err)
	}
	if err := preflight(ctx, abs, path); err != nil {
		return nil, err
	}
	lock, err := lockFile(abs, path)
	if err != nil {
		return nil, err
	}
	if err := createPrivate(abs); err != nil {
		lock.Close()
		return nil, fmt.Errorf("open checkpoint: %w", err)
	}
	db := &DB{path: path, lock: lock, key: checkpointKey{file: keyFile}, Now: time.Now}
	if err := db.open(ctx, abs); err != nil {
		db.closeAll()
		return nil, err
	}
	return db, nil
}

// createPrivate creates the file at abs before SQLite does, so that its
// mode is 0600 whatever the umask (SQLite gives the -wal and -shm files the
// mode of the database file), and takes away what others may do with an
// existing one: a checkpoint holds fingerprints and masked cards.
func createPrivate(abs string) error {
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return f.Chmod(0o600)
	}
	return nil
}

// open migrates the checkpoint on the committer's connection, reads its
// key, and starts the committer.
func (db *DB) open(ctx context.Context, abs string) error {
	var err error
	if db.wdb, err = sql.Open("sqlite3", checkpointDSN(abs)); err != nil {
		return fmt.Errorf("open checkpoint %s: %w", db.path, err)
	}
	// One connection: the committer's. Migrations run on it before the
	// committer takes it.
	db.wdb.SetMaxOpenConns(1)
	if err := db.migrate(ctx); err != nil {
		return err
	}
	if err := db.loadKey(ctx, db.wdb); err != nil {
		return err
	}
	if err := db.plan.init(ctx, db.wdb); err != nil {
		return fmt.Errorf("open checkpoint %s: %w", db.path, err)
	}
	if err := db.openReaders(abs, false); err != nil {
		return err
	}
	conn, err := db.wdb.Conn(ctx)
	if err != nil {
		return fmt.Errorf("open checkpoint %s: %w", db.path, err)
	}
	db.q = newQueue()
	if err := startCommitter(ctx, db.q, conn, db.path); err != nil {
		conn.Close()
		db.q = nil
		return fmt.Errorf("open checkpoint %s: %w", db.path, err)
	}
	return nil
}

// OpenReadOnly opens an existing checkpoint for reports (status, export,
// audit). It works while a run holds the checkpoint, never takes the lock,
// never migrates and never writes: Plan, Begin, End, BeginRun and EndRun
// fail. It also reads a checkpoint in a directory or on a medium that
// cannot be written (a read-only mount, an archive copy), where SQLite
// cannot create the -shm file it needs beside a WAL database.
//
// keyFile is the fingerprint key file; "" opens without the key, for
// counts only: Fingerprint then returns the zero Key, which matches no
// record. A missing key file or one with another key than the checkpoint
// was made with is an *pipeline.InputError naming keyFile, as is a missing
// file, a file that is not a checkpoint, or one whose schema is not the
// current one.
func OpenReadOnly(ctx context.Context, path, keyFile string) (*DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open checkpoint %s: %w", path, err)
	}
	if _, err := os.Stat(abs); err != nil {
		return nil, &pipeline.InputError{Path: path, Msg: pipeline.Reason(pipeline.ErrOpenDB), Hint: pipeline.Reason(pipeline.HintDB), Err: err}
	}
	// A directory that cannot be written cannot take the -shm file:
	// without a -wal to read (a checkpoint whose last run ended, or was
	// copied without it) the file is all there is, and immutable reads it
	// without one. With a -wal, only SQLite's read-only WAL mode can read
	// it, if the -shm is there too.
	immutable := !writable(filepath.Dir(abs)) && fileSize(abs+"-wal") == 0
	db := &DB{path: path, readOnly: true, key: checkpointKey{file: keyFile}, Now: time.Now}
	if err := db.openReaders(abs, immutable); err != nil {
		return nil, err
	}
	if err := db.checkReadable(ctx, abs); err != nil {
		db.closeAll()
		return nil, err
	}
	if err := db.loadKey(ctx, db.rdb); err != nil {
		db.closeAll()
		return nil, err
	}
	return db, nil
}

func (db *DB) openReaders(abs string, immutable bool) error {
	var err error
	db.rdb, err = sql.Open("sqlite3", readDSN(abs, immutable))
	if err != nil {
		return fmt.Errorf("open checkpoint %s: %w", db.path, err)
	}
	// Plan reads on one connection; Status and Results may read beside it.
	db.rdb.SetMaxOpenConns(4)
	db.rdb.SetMaxIdleConns(4)
	return nil
}

// KeyID returns the ID of the fingerprint key the checkpoint was made with
// (Key.ID); it never reveals the key.
func (db *DB) KeyID() string { return db.key.id }

// Close waits for the committer to commit everything queued, closes the
// database and releases the lock. It returns the committer's error, if it
// had one: then the last Ends may not be recorded. Close is idempotent.
func (db *DB) Close() error {
	var werr error
	if db.q != nil {
		werr = db.q.close()
	}
	if err := db.closeAll(); werr == nil {
		werr = err
	}
	return werr
}

// closeAll closes what is open, readers first so that the committer's
// connection is the last one and checkpoints the WAL into the database. A
// second call does nothing.
func (db *DB) closeAll() error {
	var errs []error
	db.closeOnce.Do(func() {
		db.plan.free()
		if db.rdb != nil {
			errs = append(errs, db.rdb.Close())
		}
		if db.wdb != nil {
			errs = append(errs, db.wdb.Close())
		}
		if db.lock != nil {
			errs = append(errs, db.lock.Close()) // closing releases the flock
		}
	})
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close checkpoint %s: %w", db.path, err)
	}
	return nil
}

// Fingerprint returns the fingerprint of a normalised (name, card) pair under
// this checkpoint's key: the Known.Pair that Plan gives and Result.Pair. It
// lets `audit` match an output row to its record.
func (db *DB) Fingerprint(name, card string) pipeline.Key {
	if db.key.fp.key == (Key{}) {
		return pipeline.Key{}
	}
	return db.key.fp.sum(name, card)
}

// CardFingerprint returns the fingerprint of a normalised card number alone
// (Known.CardKey), domain-separated from pair fingerprints.
func (db *DB) CardFingerprint(card string) pipeline.Key {
	if db.key.fp.key == (Key{}) {
		return pipeline.Key{}
	}
	return db.key.fp.sum("card", card)
}

// writes returns the queue for a write, or errReadOnly.
func (db *DB) writes() (*queue, error) {
	if db.q == nil {
		return nil, errReadOnly
	}
	return db.q, nil
}

// flush waits until everything queued so far is durable. It does nothing
// on a read-only DB.
func (db *DB) flush(ctx context.Context) error {
	if db.q == nil {
		return nil
	}
	return db.q.flush(ctx)
}

var (
	_ pipeline.Checkpoint = (*DB)(nil)
	_ pipeline.Results    = (*Results)(nil)
)
