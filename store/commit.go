package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/cardverify/cardverify/pipeline"
)

// committer is the one goroutine that writes the checkpoint: it takes the
// queue's operations and commits them in batches. It owns its connection,
// its statements and the day's card counts; nothing else touches them.
//
// The statements run on the driver's connection directly (sql.Conn.Raw),
// not through database/sql: that halves the cost of a statement, which is
// what bounds the answers per second one committer can commit.
type committer struct {
	q    *queue
	path string
	conn *sql.Conn
	// ctx is not a caller's: the committer must outlive a cancelled run to
	// commit its last answers. It ends when the queue is closed.
	// context.Background also keeps go-sqlite3 from starting a goroutine
	// per statement to watch for cancellation.
	ctx   context.Context
	stmts statements
	cards cardCounts

	batch   []op
	replies []result
	ends    []*op // the End operations of the Raw segment under way
	vals    []driver.Value
}

// bulkRows is how many answers, or outcomes, one INSERT writes: a
// statement's fixed cost (reset, step, the cgo calls around them) is then
// shared by that many rows.
const bulkRows = 32

// statements are the committer's prepared statements, used only inside
// its Raw callbacks.
type statements struct {
	begin, commit, rollback  rawStmt
	insRow, insPair, insCall rawStmt
	loadCards                rawStmt
	answer, outcome          rawStmt // one row of answers, of outcomes
	answers, outcomes        rawStmt // bulkRows rows
}

func (s *statements) all() []*rawStmt {
	return []*rawStmt{&s.begin, &s.commit, &s.rollback, &s.insRow, &s.insPair, &s.insCall, &s.loadCards,
		&s.answer, &s.outcome, &s.answers, &s.outcomes}
}

const (
	answerCols  = "(call, duration_ms, http_status, code, answered, billed, jobid, may_reach_bank, possibly_billed, simulated)"
	answerVals  = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	outcomeCols = "(first_row, status, res, jobid, code, answered, reason, attempts, at, simulated, run)"
	outcomeVals = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

// insertAnswers returns the statement that records n answers. A second End
// for one call (a bug of the caller) keeps the first answer: it is what
// happened.
func insertAnswers(n int) string {
	return "INSERT INTO answers " + answerCols + " VALUES " + answerVals + strings.Repeat(", "+answerVals, n-1) +
		" ON CONFLICT DO NOTHING"
}

// insertOutcomes returns the statement that records n outcomes, each
// replacing the pair's previous one; of two for one pair in a statement,
// the later wins.
func insertOutcomes(n int) string {
	return "INSERT OR REPLACE INTO outcomes " + outcomeCols + " VALUES " + outcomeVals + strings.Repeat(", "+outcomeVals, n-1)
}

// rawStmt is a statement prepared on the driver's connection, with a
// reusable argument buffer.
type rawStmt struct {
	s    driver.Stmt
	args []driver.NamedValue
}

func (r *rawStmt) exec(ctx context.Context, vals ...driver.Value) (driver.Result, error) {
	r.bind(vals)
	return r.s.(driver.StmtExecContext).ExecContext(ctx, r.args)
}

func (r *rawStmt) query(ctx context.Context, vals ...driver.Value) (driver.Rows, error) {
	r.bind(vals)
	return r.s.(driver.StmtQueryContext).QueryContext(ctx, r.args)
}

func (r *rawStmt) bind(vals []driver.Value) {
	r.args = r.args[:0]
	for i, v := range vals {
		r.args = append(r.args, driver.NamedValue{Ordinal: i + 1, Value: v})
	}
}

// startCommitter prepares the committer's statements on conn and starts
// its goroutine, which ends when q is closed and drained, closing conn.
func startCommitter(ctx context.Context, q *queue, conn *sql.Conn, path string) error {
	c := &committer{q: q, path: path, conn: conn, ctx: context.Background(), batch: make([]op, 0, maxBatch)}
	c.cards.load = &c.stmts.loadCards
	// wal_autocheckpoint=10000: copy the WAL back into the database every
	// 10000 pages (40 MB) rather than every 1000. A checkpoint is where
	// synchronous=NORMAL fsyncs; under load the default made the committer
	// wait on one every few commits. journal_size_limit=64 MB: the -wal
	// file, reused after each checkpoint, is truncated to that if it grew
	// beyond it.
	for _, pragma := range []string{"PRAGMA wal_autocheckpoint = 10000", "PRAGMA journal_size_limit = 67108864"} {
		if _, err := conn.ExecContext(ctx, pragma); err != nil {
			return fmt.Errorf("%s: %w", pragma, err)
		}
	}
	if err := c.prepare(); err != nil {
		c.closeStmts()
		return err
	}
	go c.loop()
	return nil
}

func (c *committer) prepare() error {
	s := &c.stmts
	queries := []struct {
		s *rawStmt
		q string
	}{
		// IMMEDIATE: the write lock at once, so that a transaction never
		// fails half-way for want of it.
		{&s.begin, "BEGIN IMMEDIATE"}, {&s.commit, "COMMIT"}, {&s.rollback, "ROLLBACK"},
		{&s.insRow, `INSERT INTO rows (row_no, fp, masked, invalid, first_row) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT DO NOTHING`},
		{&s.insPair, `INSERT INTO pairs (first_row, fp, card) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`},
		{&s.insCall, `INSERT INTO calls (run, row_no, pair, card, attempt, day, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?)`},
		{&s.loadCards, loadCardsQuery},
		{&s.answer, insertAnswers(1)},
		{&s.outcome, insertOutcomes(1)},
		{&s.answers, insertAnswers(bulkRows)},
		{&s.outcomes, insertOutcomes(bulkRows)},
	}
	return c.conn.Raw(func(dc any) error {
		for _, x := range queries {
			st, err := dc.(driver.Conn).Prepare(x.q)
			if err != nil {
				return fmt.Errorf("prepare %q: %w", x.q, err)
			}
			x.s.s = st
		}
		return nil
	})
}

func (c *committer) closeStmts() {
	c.conn.Raw(func(any) error {
		for _, s := range c.stmts.all() {
			if s.s != nil {
				s.s.Close()
			}
		}
		return nil
	})
}

// loop commits what has arrived, as soon as the previous commit ends, at
// most maxBatch operations a transaction. It ends when the queue is closed
// and drained, and then closes q.done.
func (c *committer) loop() {
	defer close(c.q.done)
	defer c.conn.Close()
	defer c.closeStmts()
	defer c.cards.free()
	for first := range c.q.ops {
		c.batch = append(c.batch[:0], first)
		yielded := false
	fill:
		for len(c.batch) < maxBatch {
			select {
			case o, ok := <-c.q.ops:
				if !ok {
					break fill
				}
				c.batch = append(c.batch, o)
			default:
				if yielded {
					break fill
				}
				// Once, let the goroutines that are ready run first: the
				// workers whose answers have just come send their Ends
				// and next Begins. Without it, under load most commits
				// took one to seven operations (a fake API that answers
				// at once, 100k rows: 6,500 commits; with it 650, and 14%
				// less CPU). No timer: when none is ready it returns at
				// once, so a lone answer waits for nothing.
				yielded = true
				runtime.Gosched()
			}
		}
		c.replies = c.replies[:0]
		err := c.q.failed()
		if err == nil {
			err = c.commit()
		}
		c.q.settle(c.batch, c.replies, err)
		clear(c.batch) // drop references to rows and outcomes
	}
}

// commit applies the batch in one transaction. After an error nothing more
// is written: settle makes every later operation get it.
func (c *committer) commit() (err error) {
	defer func() {
		if err != nil && (diskFull(err) || errors.Is(err, syscall.ENOSPC)) {
			err = fmt.Errorf("checkpoint %s: the disk is full (free some space, then run the same command to resume): %w", c.path, err)
		}
	}()
	if err := c.raw(func() error { return c.do(&c.stmts.begin) }); err != nil {
		return fmt.Errorf("write checkpoint: begin: %w", err)
	}
	if err := c.applyAll(); err != nil {
		c.raw(func() error { return c.do(&c.stmts.rollback) })
		return fmt.Errorf("write checkpoint: %w", err)
	}
	if err := c.raw(func() error { return c.do(&c.stmts.commit) }); err != nil {
		c.raw(func() error { return c.do(&c.stmts.rollback) })
		return fmt.Errorf("write checkpoint: commit: %w", err)
	}
	return nil
}

// raw runs fn on the driver's connection.
func (c *committer) raw(fn func() error) error {
	return c.conn.Raw(func(any) error { return fn() })
}

// do runs a statement without arguments.
func (c *committer) do(s *rawStmt) error {
	_, err := s.exec(c.ctx)
	return err
}

// applyAll runs the batch's operations in order: each run of driver-level
// operations in one Raw callback, each opExec with the sql.Conn.
func (c *committer) applyAll() error {
	b := c.batch
	for i := 0; i < len(b); {
		if b[i].kind == opExec {
			var id int64
			if b[i].fn != nil {
				var err error
				if id, err = b[i].fn(c.ctx, c.conn); err != nil {
					return err
				}
			}
			c.replies = append(c.replies, result{id: id})
			i++
			continue
		}
		j := i
		for j < len(b) && b[j].kind != opExec {
			j++
		}
		err := c.raw(func() error {
			for k := i; k < j; k++ {
				if err := c.applyOne(&b[k]); err != nil {
					return err
				}
			}
			return c.writeEnds()
		})
		if err != nil {
			return err
		}
		i = j
	}
	return nil
}

func (c *committer) applyOne(o *op) error {
	switch o.kind {
	case opPlan:
		return c.writePlan(o)
	case opBegin:
		id, err := c.begin(o)
		if err != nil {
			return err
		}
		r := result{id: id}
		if id == 0 {
			r.err = pipeline.ErrCardLimit
		}
		c.replies = append(c.replies, r)
	case opEnd:
		if o.id != 0 && !o.call.MayReachBank {
			c.cards.uncount(o.call)
		}
		// Written in bulk at the end of the segment: nothing else in a
		// batch reads answers or outcomes.
		c.ends = append(c.ends, o)
	}
	return nil
}

func (c *committer) writePlan(o *op) error {
	for i := range o.pairs {
		p := &o.pairs[i]
		if _, err := c.stmts.insPair.exec(c.ctx, int64(p.firstRow), p.fp[:], p.card[:]); err != nil {
			return fmt.Errorf("record pair of row %d: %w", p.firstRow, err)
		}
	}
	for i := range o.rows {
		r := &o.rows[i]
		var invalid, first driver.Value
		if r.invalid != "" {
			invalid = r.invalid
		} else {
			first = int64(r.firstRow)
		}
		if _, err := c.stmts.insRow.exec(c.ctx, int64(r.no), r.fp[:], r.masked, invalid, first); err != nil {
			return fmt.Errorf("record row %d: %w", r.no, err)
		}
	}
	return nil
}

// begin records call o.call unless the pipeline's rule refuses it another
// call of its card today; it returns the new ledger id, or 0 when refused.
// The count includes calls recorded before it in the same transaction.
func (c *committer) begin(o *op) (int64, error) {
	call := &o.call
	day := pipeline.ChinaDay(call.SentAt)
	n, err := c.cards.count(c.ctx, day, call.CardKey)
	if err != nil {
		return 0, fmt.Errorf("count the cards' calls of %s: %w", day, err)
	}
	if !pipeline.CardCallAllowed(n, o.limit) {
		return 0, nil
	}
	res, err := c.stmts.insCall.exec(c.ctx, nullIfZero(o.run), int64(call.FirstRow), call.Pair[:], call.CardKey[:], int64(call.Attempt), day, formatTime(call.SentAt))
	if err != nil {
		return 0, fmt.Errorf("record a call for row %d: %w", call.FirstRow, err)
	}
	c.cards.counted(call.CardKey)
	return res.LastInsertId()
}

// writeEnds records the answers and outcomes of the End operations
// gathered, in their order, bulkRows to a statement.
func (c *committer) writeEnds() error {
	defer func() {
		clear(c.ends)
		c.ends = c.ends[:0]
	}()
	err := c.writeBulk(&c.stmts.answer, &c.stmts.answers, func(o *op) bool { return o.id != 0 }, appendAnswer)
	if err != nil {
		return fmt.Errorf("record answers: %w", err)
	}
	if err := c.writeBulk(&c.stmts.outcome, &c.stmts.outcomes, func(o *op) bool { return o.has }, appendOutcome); err != nil {
		return fmt.Errorf("record outcomes: %w", err)
	}
	return nil
}

func (c *committer) writeBulk(one, bulk *rawStmt, want func(*op) bool, appendVals func([]driver.Value, *op) []driver.Value) error {
	c.vals = c.vals[:0]
	n := 0
	for _, o := range c.ends {
		if !want(o) {
			continue
		}
		c.vals = appendVals(c.vals, o)
		if n++; n == bulkRows {
			if _, err := bulk.exec(c.ctx, c.vals...); err != nil {
				return err
			}
			c.vals, n = c.vals[:0], 0
		}
	}
	per := len(c.vals) / max(n, 1)
	for i := 0; i < n; i++ {
		if _, err := one.exec(c.ctx, c.vals[i*per:(i+1)*per]...); err != nil {
			return err
		}
	}
	return nil
}

func appendAnswer(vals []driver.Value, o *op) []driver.Value {
	c := &o.call
	var code driver.Value
	if c.Answered {
		code = int64(c.Code)
	}
	return append(vals, o.id, float64(c.Duration)/float64(time.Millisecond), int64(c.HTTPStatus), code,
		c.Answered, c.Billed, c.JobID, c.MayReachBank, c.PossiblyBilled, c.Simulated)
}

func appendOutcome(vals []driver.Value, o *op) []driver.Value {
	c, out := &o.call, &o.out
	first := c.FirstRow
	if first == 0 {
		first = out.FirstRow
	}
	var code driver.Value
	if out.Answered {
		code = int64(out.Code)
	}
	return append(vals, int64(first), out.Status.String(), int64(out.Res), out.JobID, code,
		out.Answered, out.Reason, int64(out.Attempts), formatTime(out.At), out.Simulated, nullIfZero(o.run))
}

// nullIfZero is a run id as recorded: NULL outside a run.
func nullIfZero(run int64) driver.Value {
	if run == 0 {
		return nil
	}
	return run
}
