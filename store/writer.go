package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/cardverify/cardverify/pipeline"
)

const (
	// queueSize bounds the writer's queue: a sender blocks (back-pressure)
	// when this many operations wait, so memory stays flat.
	queueSize = 4096
	// maxBatch is the most operations one commit takes.
	maxBatch = 1000
)

type opKind uint8

const (
	opPlan  opKind = iota // record new rows and pairs
	opBegin               // record a call about to be sent; reply after commit
	opEnd                 // record a call's answer and its pair's outcome
	opExec                // run fn in the transaction; reply after commit
)

// op is one operation queued for the writer.
type op struct {
	kind  opKind
	seq   uint64 // overlay entries this op commits (opPlan, opEnd with an outcome)
	rows  []rowRec
	pairs []pairRec
	call  pipeline.Call
	run   int64
	id    int64
	out   pipeline.Outcome
	has   bool // out is set
	fn    func(ctx context.Context, tx *sql.Conn) (int64, error)
	reply chan result
}

type result struct {
	id  int64
	err error
}

type rowRec struct {
	no       int
	fp       pipeline.Key
	masked   string
	invalid  string
	firstRow int // 0 for an invalid row
}

type pairRec struct {
	firstRow int
	fp, card pipeline.Key
}

// writer is the single goroutine that writes the checkpoint. It owns its
// connection and statements.
type writer struct {
	db   *DB
	conn *sql.Conn
	// ctx is not a caller's: the writer must outlive a cancelled run to
	// commit its last answers. It ends when DB.Close closes the queue.
	ctx context.Context

	insRow, insPair, insCall, countCalls, endCall, setPair *sql.Stmt

	batch   []op
	replies []result
}

func newWriter(ctx context.Context, db *DB, conn *sql.Conn) (*writer, error) {
	w := &writer{db: db, conn: conn, ctx: context.Background(), batch: make([]op, 0, maxBatch)}
	stmts := []struct {
		s **sql.Stmt
		q string
	}{
		{&w.insRow, `INSERT INTO rows (row_no, fp, masked, invalid, first_row) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT DO NOTHING`},
		{&w.insPair, `INSERT INTO pairs (first_row, fp, card) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`},
		{&w.insCall, `INSERT INTO calls (run, row_no, pair, card, attempt, day, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?)`},
		{&w.countCalls, `SELECT count(*) FROM calls WHERE card = ? AND day = ?`},
		// A second End for one call (a bug of the caller) keeps the first
		// answer: it is what happened.
		{&w.endCall, `INSERT INTO answers (call, duration_ms, http_status, code, answered, billed, jobid) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT DO NOTHING`},
		{&w.setPair, `INSERT OR REPLACE INTO outcomes (first_row, status, res, jobid, code, answered, reason, attempts, at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`},
	}
	if _, err := conn.ExecContext(ctx, "PRAGMA wal_autocheckpoint = 0"); err != nil {
		return nil, err
	}
	for _, s := range stmts {
		st, err := conn.PrepareContext(ctx, s.q)
		if err != nil {
			w.closeStmts()
			return nil, fmt.Errorf("prepare %q: %w", s.q, err)
		}
		*s.s = st
	}
	return w, nil
}

func (w *writer) closeStmts() {
	for _, s := range []*sql.Stmt{w.insRow, w.insPair, w.insCall, w.countCalls, w.endCall, w.setPair} {
		if s != nil {
			s.Close()
		}
	}
}

// loop commits what has arrived, as soon as the previous commit ends, at
// most maxBatch operations a transaction. It ends when the queue is closed
// (by DB.Close) and drained, and then closes db.done.
func (w *writer) loop() {
	defer close(w.db.done)
	defer w.conn.Close()
	defer w.closeStmts()
	for first := range w.db.ops {
		w.batch = append(w.batch[:0], first)
	fill:
		for len(w.batch) < maxBatch {
			select {
			case o, ok := <-w.db.ops:
				if !ok {
					break fill
				}
				w.batch = append(w.batch, o)
			default:
				break fill
			}
		}
		dbgBatches.Add(1)
		dbgOps.Add(int64(len(w.batch)))
		t0 := time.Now()
		w.commit()
		dbgCommitNs.Add(int64(time.Since(t0)))
		clear(w.batch) // drop references to rows and outcomes
	}
}

// commit applies the batch in one transaction, then answers the operations
// that wait and drops the overlay entries the batch made durable. After an
// error nothing more is written: every later operation gets the error.
func (w *writer) commit() {
	w.replies = w.replies[:0]
	err := w.db.writerErr()
	if err == nil {
		err = w.apply()
		if err != nil {
			w.db.setWriterErr(err)
		}
	}
	n := 0
	for i := range w.batch {
		o := &w.batch[i]
		if o.reply != nil {
			r := result{err: err}
			if err == nil {
				r = w.replies[n]
			}
			n++
			o.reply <- r
		}
		if err == nil {
			switch {
			case o.kind == opPlan:
				w.db.ov.committedPairs(o.pairs, o.seq)
			case o.kind == opEnd && o.has:
				w.db.ov.committedOutcome(o.call.Pair, o.seq)
			}
		}
	}
}

func (w *writer) apply() error {
	if _, err := w.conn.ExecContext(w.ctx, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("write checkpoint: begin: %w", err)
	}
	for i := range w.batch {
		if err := w.applyOne(&w.batch[i]); err != nil {
			w.conn.ExecContext(w.ctx, "ROLLBACK")
			return fmt.Errorf("write checkpoint: %w", err)
		}
	}
	t1 := time.Now()
	defer func() { dbgCommitOnly.Add(int64(time.Since(t1))) }()
	if _, err := w.conn.ExecContext(w.ctx, "COMMIT"); err != nil {
		w.conn.ExecContext(w.ctx, "ROLLBACK")
		return fmt.Errorf("write checkpoint: commit: %w", err)
	}
	return nil
}

func (w *writer) applyOne(o *op) error {
	ctx := w.ctx
	switch o.kind {
	case opPlan:
		for i := range o.pairs {
			p := &o.pairs[i]
			if _, err := w.insPair.ExecContext(ctx, p.firstRow, p.fp[:], p.card[:]); err != nil {
				return fmt.Errorf("record pair of row %d: %w", p.firstRow, err)
			}
		}
		for i := range o.rows {
			r := &o.rows[i]
			var invalid, first any
			if r.invalid != "" {
				invalid = r.invalid
			} else {
				first = r.firstRow
			}
			if _, err := w.insRow.ExecContext(ctx, r.no, r.fp[:], r.masked, invalid, first); err != nil {
				return fmt.Errorf("record row %d: %w", r.no, err)
			}
		}
	case opBegin:
		id, err := w.begin(o)
		if err != nil {
			return err
		}
		w.replies = append(w.replies, result{id: id, err: nilIfID(id)})
	case opEnd:
		if o.id != 0 {
			c := &o.call
			var code any
			if c.Answered {
				code = c.Code
			}
			if _, err := w.endCall.ExecContext(ctx, o.id, float64(c.Duration)/float64(time.Millisecond), c.HTTPStatus, code,
				c.Answered, c.Billed, c.JobID); err != nil {
				return fmt.Errorf("record the end of call %d: %w", o.id, err)
			}
		}
		if o.has {
			if err := w.setOutcome(o); err != nil {
				return err
			}
		}
	case opExec:
		var id int64
		if o.fn != nil {
			var err error
			if id, err = o.fn(ctx, w.conn); err != nil {
				return err
			}
		}
		w.replies = append(w.replies, result{id: id})
	}
	return nil
}

// begin records call o.call unless its card reached the day's limit; it
// returns the new ledger id, or 0 at the limit. The count includes calls
// queued before it in the same transaction.
func (w *writer) begin(o *op) (int64, error) {
	c := &o.call
	day := pipeline.ChinaDay(c.SentAt)
	if limit := w.db.CardDailyLimit; limit > 0 {
		var n int
		if err := w.countCalls.QueryRowContext(w.ctx, c.Card[:], day).Scan(&n); err != nil {
			return 0, fmt.Errorf("count the card's calls: %w", err)
		}
		if n >= limit {
			return 0, nil
		}
	}
	var run any
	if o.run != 0 {
		run = o.run
	}
	res, err := w.insCall.ExecContext(w.ctx, run, c.Row, c.Pair[:], c.Card[:], c.Attempt, day, formatTime(c.SentAt))
	if err != nil {
		return 0, fmt.Errorf("record a call for row %d: %w", c.Row, err)
	}
	return res.LastInsertId()
}

// nilIfID turns begin's "0 = at the limit" into ErrCardLimit.
func nilIfID(id int64) error {
	if id == 0 {
		return pipeline.ErrCardLimit
	}
	return nil
}

func (w *writer) setOutcome(o *op) error {
	c, out := &o.call, &o.out
	first := c.Row
	if first == 0 {
		first = out.Row
	}
	var code any
	if out.Answered {
		code = out.Code
	}
	_, err := w.setPair.ExecContext(w.ctx, first, out.Status.String(), out.Res, out.JobID, code,
		out.Answered, out.Reason, out.Attempts, formatTime(out.At))
	if err != nil {
		return fmt.Errorf("record the outcome of row %d: %w", first, err)
	}
	return nil
}

// send queues o for the writer. It blocks while the queue is full, until
// ctx is done; a free slot is taken even when ctx is already done, so that
// the answers of a cancelled run are still recorded.
func (db *DB) send(ctx context.Context, o op) error {
	if db.readOnly {
		return errReadOnly
	}
	db.closeMu.RLock()
	defer db.closeMu.RUnlock()
	if db.closed {
		return errClosed
	}
	if err := db.writerErr(); err != nil {
		return err
	}
	select {
	case db.ops <- o:
		return nil
	default:
	}
	select {
	case db.ops <- o:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("queue a checkpoint write: %w", ctx.Err())
	}
}

// exec runs fn in the writer's transaction and returns once it is
// committed. A nil fn only waits for everything queued before to be durable.
func (db *DB) exec(ctx context.Context, fn func(ctx context.Context, tx *sql.Conn) (int64, error)) (int64, error) {
	reply := make(chan result, 1)
	if err := db.send(ctx, op{kind: opExec, fn: fn, reply: reply}); err != nil {
		return 0, err
	}
	// The reply comes after one commit: waiting for it even when ctx is
	// done keeps the caller's view exact (what it asked for is, or is not,
	// recorded).
	r := <-reply
	return r.id, r.err
}

// flush waits until everything queued so far is durable. It does nothing
// on a read-only DB.
func (db *DB) flush(ctx context.Context) error {
	if db.readOnly {
		return nil
	}
	db.closeMu.RLock()
	closed := db.closed
	db.closeMu.RUnlock()
	if closed {
		return errClosed
	}
	_, err := db.exec(ctx, nil)
	return err
}

func (db *DB) writerErr() error {
	db.errMu.Lock()
	defer db.errMu.Unlock()
	return db.werr
}

func (db *DB) setWriterErr(err error) {
	db.errMu.Lock()
	defer db.errMu.Unlock()
	if db.werr == nil {
		db.werr = err
	}
}

var dbgBatches, dbgOps, dbgCommitNs, dbgCommitOnly atomic.Int64
