package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/cardverify/cardverify/pipeline"
)

//go:embed migrations/*.sql
var migrations embed.FS

// sqliteMagic begins every SQLite database file.
const sqliteMagic = "SQLite format 3\x00"

// preflight refuses an existing abs that is not a checkpoint, touching
// nothing: it reads the file's first bytes and, for a SQLite file, its
// schema through a read-only connection. A missing or empty file is a new
// checkpoint.
func preflight(ctx context.Context, abs, path string) error {
	notCheckpoint := &pipeline.InputError{Path: path, Msg: pipeline.Reason(pipeline.ErrNotDBUntouched),
		Hint: pipeline.Reason(pipeline.HintNotDB)}
	fi, err := os.Stat(abs) // follows a symlink: its target is judged
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return openError(path, err)
	}
	if !fi.Mode().IsRegular() {
		return notCheckpoint
	}
	if fi.Size() == 0 {
		return nil
	}
	f, err := os.Open(abs)
	if err != nil {
		return openError(path, err)
	}
	head := make([]byte, len(sqliteMagic))
	_, err = io.ReadFull(f, head)
	f.Close()
	if err != nil || string(head) != sqliteMagic {
		return notCheckpoint
	}
	// A SQLite file: a checkpoint has these four tables. Immutable, so
	// that even this look leaves nothing beside the file; it misses what
	// only a -wal holds, but a checkpoint's tables are all created by one
	// transaction, so a file that shows some tables and not these is none.
	q, err := sql.Open("sqlite3", readDSN(abs, true))
	if err != nil {
		return fmt.Errorf("open checkpoint %s: %w", path, err)
	}
	defer q.Close()
	// A file it cannot read so is not judged here: a checkpoint whose
	// file is only consistent with its -wal (a run killed during a WAL
	// checkpoint, a full disk) reads as malformed without it. Open judges
	// it with the -wal.
	var n, tables int
	err = q.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('meta', 'runs', 'rows', 'pairs')").Scan(&n)
	if err == nil {
		err = q.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master").Scan(&tables)
	}
	if err == nil && n != 4 && tables > 0 {
		return notCheckpoint
	}
	return nil
}

// openError is the error of a checkpoint file that cannot be opened.
func openError(path string, err error) error {
	return &pipeline.InputError{Path: path, Msg: pipeline.Reason(pipeline.ErrOpenDB), Hint: pipeline.Reason(pipeline.HintDB), Err: err}
}

// checkReadable refuses, for OpenReadOnly, a checkpoint that cannot be read
// as one: half made, unreadable in a directory that cannot be written, not
// a checkpoint, or of another schema version than this cardverify's.
func (db *DB) checkReadable(ctx context.Context, abs string) error {
	v, err := userVersion(ctx, db.rdb)
	switch {
	case (err != nil || v == 0) && exists(abs+"-journal"):
		// A run was killed while it created the checkpoint: its first
		// transaction never committed, so it holds nothing, and a
		// read-only connection cannot roll the journal back.
		return &pipeline.InputError{Path: db.path, Err: err,
			Msg:  pipeline.Reason(pipeline.ErrDBHalfMade),
			Hint: pipeline.Reason(pipeline.HintRunAgain)}
	case err != nil && !writable(filepath.Dir(abs)) && !notADatabase(err):
		return &pipeline.InputError{Path: db.path, Err: err,
			Msg:  pipeline.Reason(pipeline.ErrDBReadOnlyWAL),
			Hint: pipeline.Reason(pipeline.HintDBCopy)}
	case err != nil:
		return db.notCheckpoint(err)
	}
	latest, err := latestVersion()
	switch {
	case err != nil:
		return err
	case v == 0:
		return &pipeline.InputError{Path: db.path, Msg: pipeline.Reason(pipeline.ErrNotDB), Hint: pipeline.Reason(pipeline.HintDB)}
	case v > latest:
		return db.newerSchema(v, latest)
	case v < latest:
		return &pipeline.InputError{Path: db.path,
			Msg:  pipeline.Reason(pipeline.ErrDBOld, v, latest),
			Hint: pipeline.Reason(pipeline.HintDBUpgrade)}
	}
	return nil
}

// fileSize returns the size of the file at path, 0 if there is none.
func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// readDSN returns the data source name of a read-only connection to abs.
// immutable tells SQLite that nobody changes the file while it is open, so
// it takes no lock and creates no -shm: the only way to read a checkpoint in
// a directory or on a medium that cannot be written. It ignores a -wal
// file, so it is only for a checkpoint without one.
func readDSN(abs string, immutable bool) string {
	v := url.Values{}
	// busy_timeout: wait up to 5 s instead of failing with SQLITE_BUSY when
	// a run holds a lock for a moment (a WAL checkpoint, the recovery of a
	// WAL after a crash).
	v.Set("_busy_timeout", "5000")
	// mode=ro: open read-only, so a report can never change a checkpoint
	// (no migration, no journal mode change).
	v.Set("mode", "ro")
	// cache_size: 512 KiB a connection, a quarter of SQLite's default.
	// Most reads scan (Status and Results read every row once, in order,
	// where a cache saves nothing over the operating system's), and a
	// finished job's rerun runs two such scans at once beside its output.
	// Plan's lookups touch few pages a batch: the tree's upper pages, which
	// stay cached.
	v.Set("_cache_size", "-512")
	if immutable {
		v.Set("immutable", "1")
	}
	return fileDSN(abs, v)
}

// checkpointDSN returns the data source name of the committer's connection
// to the checkpoint at abs: writeDSN with a 5 s busy timeout (a WAL
// checkpoint, the recovery of a WAL after a crash take a moment) and a
// 16 MiB page cache. Every table and index grows at its end (row numbers,
// call ids, days), so the pages a commit touches are few and recent;
// fingerprints are looked up in memory.
func checkpointDSN(abs string) string {
	return writeDSN(abs, 5*time.Second, 16)
}

// writeDSN returns the go-sqlite3 data source name of a connection that
// writes the database at abs: of a checkpoint or of the history. Each "_"
// parameter is a PRAGMA go-sqlite3 runs on every new connection.
func writeDSN(abs string, busy time.Duration, cacheMiB int) string {
	v := url.Values{}
	// busy_timeout: wait for another connection's lock instead of failing
	// with SQLITE_BUSY.
	v.Set("_busy_timeout", fmt.Sprint(busy.Milliseconds()))
	// journal_mode=WAL: readers (Plan's lookups, `status` in another
	// process, another job's history lookups) never block the writer nor
	// it them, and a commit is one sequential append to the -wal file. It
	// is persistent: set once, kept in the file.
	v.Set("_journal_mode", "WAL")
	// synchronous=NORMAL: in WAL mode a commit is not fsynced, only the
	// checkpoints of the WAL into the database are. A committed
	// transaction survives a crash of the process (SIGKILL, OOM killer),
	// which is the interruption this tool must survive, and the database
	// is never corrupted; a power loss or kernel crash may roll back the
	// last commits. FULL would cost an fsync per group commit.
	v.Set("_synchronous", "NORMAL")
	v.Set("_cache_size", fmt.Sprint(-cacheMiB*1024))
	// _txlock=immediate: a transaction of database/sql takes the write
	// lock at BEGIN, so that it never fails half-way for want of it.
	v.Set("_txlock", "immediate")
	// foreign_keys stays off (SQLite's default): see migrations/0001.
	return fileDSN(abs, v)
}

func fileDSN(abs string, v url.Values) string {
	return "file:" + (&url.URL{Path: abs}).EscapedPath() + "?" + v.Encode()
}

// keyOutVersion is the migration that takes the fingerprint key out of
// the checkpoint (migrations/0005_key_out.sql): meta keeps only its ID.
const keyOutVersion = 5

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
	var oldKeyID string
	if v > 0 && v < keyOutVersion {
		if oldKeyID, err = db.moveKeyOut(ctx); err != nil {
			return err
		}
	}
	for i := v; i < len(names); i++ {
		body, err := migrations.ReadFile(names[i])
		if err != nil {
			return fmt.Errorf("migrate checkpoint: %w", err)
		}
		script := string(body) + fmt.Sprintf("\nPRAGMA user_version = %d;", i+1)
		var args []any
		if i+1 == keyOutVersion && oldKeyID != "" {
			script += "\nUPDATE meta SET key_id = ?;"
			args = append(args, oldKeyID)
		}
		if err := db.execTx(ctx, script, args...); err != nil {
			return fmt.Errorf("migrate checkpoint %s to version %d: %w", db.path, i+1, err)
		}
	}
	if oldKeyID != "" {
		// The dropped meta page was zeroed (secure_delete); fold the WAL
		// into the file and empty it, so that no copy of the key is left
		// in either.
		if _, err := db.wdb.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
			return fmt.Errorf("migrate checkpoint %s: %w", db.path, err)
		}
	}
	return nil
}

func (db *DB) execTx(ctx context.Context, script string, args ...any) error {
	tx, err := db.wdb.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, script, args...); err != nil {
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
		return &pipeline.InputError{Path: db.path, Msg: pipeline.Reason(pipeline.ErrNotDB), Hint: pipeline.Reason(pipeline.HintDB), Err: err}
	}
	return fmt.Errorf("open checkpoint %s: %w", db.path, err)
}

func (db *DB) newerSchema(v, latest int) error {
	return &pipeline.InputError{Path: db.path,
		Msg:  pipeline.Reason(pipeline.ErrDBNew, v, latest),
		Hint: pipeline.Reason(pipeline.HintDBNewer)}
}

// timeFormat is how times are stored: UTC, fixed width, so that text order
// is time order.
const timeFormat = "2006-01-02T15:04:05.000000000Z07:00"

// formatTime returns t as stored (timeFormat), or nil for the zero time.
// It writes the digits itself: time.Format took an eighth of the
// committer's time per answer.
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
