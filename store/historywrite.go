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

const historyInsert = `INSERT OR IGNORE INTO verdicts (fp, at, jobid, status, res, masked, endpoint, api_key_id) VALUES `
const historyVals = "(?, ?, ?, ?, ?, ?, ?, ?)"

// historyWriter writes verdicts into the history: one connection of the
// pool kept for it, with its statements prepared once. A History's inserts
// are one at a time (insertMu).
type historyWriter struct {
	conn      *sql.Conn
	one, bulk *sql.Stmt
	args      []any
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
	// 40 MB rather than every 4 MB. A verdict's fingerprint is random, so
	// each commit dirties pages all over the table; the fewer WAL
	// checkpoints, the fewer times a page is copied back.
	_, err = conn.ExecContext(ctx, "PRAGMA wal_autocheckpoint = 10000")
	if err == nil {
		w.one, err = conn.PrepareContext(ctx, historyInsert+historyVals)
	}
	if err == nil {
		w.bulk, err = conn.PrepareContext(ctx, historyInsert+historyVals+strings.Repeat(", "+historyVals, historyBulk-1))
	}
	if err != nil {
		w.close()
		return nil, err
	}
	return w, nil
}

// insert writes recs in one transaction and returns how many were new.
func (w *historyWriter) insert(ctx context.Context, recs []historyRec) (int, error) {
	// IMMEDIATE: the write lock at once (another job's writer is waited
	// for, busy_timeout), so that the transaction never fails half-way.
	if _, err := w.conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return 0, err
	}
	added, err := w.insertAll(ctx, recs)
	if err == nil {
		_, err = w.conn.ExecContext(ctx, "COMMIT")
	}
	if err != nil {
		w.conn.ExecContext(context.Background(), "ROLLBACK")
		return 0, err
	}
	return added, nil
}

func (w *historyWriter) insertAll(ctx context.Context, recs []historyRec) (int, error) {
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
	for ; len(recs) >= historyBulk; recs = recs[historyBulk:] {
		if err := exec(w.bulk, recs[:historyBulk]); err != nil {
			return 0, err
		}
	}
	for i := range recs {
		if err := exec(w.one, recs[i:i+1]); err != nil {
			return 0, err
		}
	}
	return int(added), nil
}

// close closes the statements and gives the connection back.
func (w *historyWriter) close() {
	for _, st := range []*sql.Stmt{w.one, w.bulk} {
		if st != nil {
			st.Close()
		}
	}
	w.conn.Close()
}
