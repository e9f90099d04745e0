package store

import (
	"context"
	"database/sql"
	"strings"
)

// historyBulk is how many verdicts one INSERT of the history writes: a
// statement's fixed cost (the calls through database/sql and cgo, reset,
// step) is shared by that many.
const historyBulk = 64

const (
	historyCols = "(fp, at, jobid, status, res, masked, endpoint, api_key_id)"
	historyVals = "(?, ?, ?, ?, ?, ?, ?, ?)"
	// fileIncoming files the verdicts of incoming below a rowid into
	// verdicts, in the order of verdicts' key, so that each of its pages
	// is written once.
	fileIncoming = "INSERT OR IGNORE INTO verdicts " + historyCols + " SELECT fp, at, jobid, status, res, masked, endpoint, api_key_id FROM incoming WHERE rowid < ? ORDER BY fp, at, jobid"
)

// The tables a historyWriter inserts into.
const (
	intoIncoming = iota // Record's verdicts, filed later (merge)
	intoVerdicts        // an import's, which counts the new ones
)

// historyWriter writes verdicts into the history: one connection of the
// pool kept for it, with its statements prepared once. A History's writes
// are one at a time (insertMu).
type historyWriter struct {
	conn  *sql.Conn
	stmts [2]struct{ one, bulk *sql.Stmt } // by table: intoIncoming, intoVerdicts
	args  []any
}

// openHistoryWriter takes a connection of db for the writer and prepares
// its statements.
func openHistoryWriter(ctx context.Context, db *sql.DB) (*historyWriter, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	w := &historyWriter{conn: conn, args: make([]any, 0, 8*historyBulk)}
	// wal_autocheckpoint=10000, as a checkpoint's committer: the WAL is
	// copied back into the file (where synchronous=NORMAL fsyncs) every
	// 40 MB rather than every 4 MB. journal_size_limit=64 MB: the filing
	// of a large run's verdicts (merge) is one transaction that may grow
	// the -wal file to the size of verdicts; it is truncated after.
	for _, pragma := range []string{"PRAGMA wal_autocheckpoint = 10000", "PRAGMA journal_size_limit = 67108864"} {
		if err == nil {
			_, err = conn.ExecContext(ctx, pragma)
		}
	}
	for i, into := range []string{"INSERT INTO incoming ", "INSERT OR IGNORE INTO verdicts "} {
		s := &w.stmts[i]
		if err == nil {
			s.one, err = conn.PrepareContext(ctx, into+historyCols+" VALUES "+historyVals)
		}
		if err == nil {
			s.bulk, err = conn.PrepareContext(ctx, into+historyCols+" VALUES "+historyVals+strings.Repeat(", "+historyVals, historyBulk-1))
		}
	}
	if err != nil {
		w.close()
		return nil, err
	}
	return w, nil
}

// insert writes recs into the table into in one transaction and returns
// how many were new.
func (w *historyWriter) insert(ctx context.Context, into int, recs []historyRec) (int, error) {
	var added int
	err := w.tx(ctx, func() (err error) {
		added, err = w.insertAll(ctx, into, recs)
		return err
	})
	return added, err
}

// tx runs fn in a transaction of the writer's connection.
func (w *historyWriter) tx(ctx context.Context, fn func() error) error {
	// IMMEDIATE: the write lock at once (another job's writer is waited
	// for, busy_timeout), so that the transaction never fails half-way.
	if _, err := w.conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	err := fn()
	if err == nil {
		_, err = w.conn.ExecContext(ctx, "COMMIT")
	}
	if err != nil {
		w.conn.ExecContext(context.Background(), "ROLLBACK")
	}
	return err
}

func (w *historyWriter) insertAll(ctx context.Context, into int, recs []historyRec) (int, error) {
	added := int64(0)
	exec := func(st *sql.Stmt, recs []historyRec) error {
		w.args = w.args[:0]
		for i := range recs {
			r := &recs[i]
			w.args = append(w.args, r.fp[:], formatTime(r.at), r.jobid, r.status.String(), r.res, r.masked, r.endpoint, r.apiKeyID)
		}
		res, err := st.ExecContext(ctx, w.args...)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		added += n
		return nil
	}
	s := &w.stmts[into]
	for ; len(recs) >= historyBulk; recs = recs[historyBulk:] {
		if err := exec(s.bulk, recs[:historyBulk]); err != nil {
			return 0, err
		}
	}
	for i := range recs {
		if err := exec(s.one, recs[i:i+1]); err != nil {
			return 0, err
		}
	}
	return int(added), nil
}

// historyMergeChunk is the most verdicts one transaction of merge files:
// it holds the history's write lock, which other jobs' writers wait for
// (busy_timeout, 30 s), for a few seconds at most.
var historyMergeChunk int64 = 500_000

// merge files every verdict of incoming into verdicts and empties
// incoming, historyMergeChunk verdicts (by arrival) a transaction. A
// history without any incoming verdict is not written.
func (w *historyWriter) merge(ctx context.Context) error {
	for {
		var lo sql.NullInt64
		if err := w.conn.QueryRowContext(ctx, "SELECT min(rowid) FROM incoming").Scan(&lo); err != nil || !lo.Valid {
			return err
		}
		hi := lo.Int64 + historyMergeChunk
		err := w.tx(ctx, func() error {
			if _, err := w.conn.ExecContext(ctx, fileIncoming, hi); err != nil {
				return err
			}
			_, err := w.conn.ExecContext(ctx, "DELETE FROM incoming WHERE rowid < ?", hi)
			return err
		})
		if err != nil {
			return err
		}
	}
}

// close closes the statements and gives the connection back.
func (w *historyWriter) close() {
	for _, s := range w.stmts {
		for _, st := range []*sql.Stmt{s.one, s.bulk} {
			if st != nil {
				st.Close()
			}
		}
	}
	w.conn.Close()
}
