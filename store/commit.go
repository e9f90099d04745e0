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
	// The operations of the Raw segment under way whose rows are written
	// in bulk at its end: nothing else in a batch reads them but the
	// card counts' reload, before which they are written (flush).
	calls  []pendingCall
	ends   []*op
	picked []*op
	vals   []driver.Value
}

// pendingCall is a Begin the card limit allowed, to be recorded; reply is
// the index of its result in replies, whose id is set once it is written.
type pendingCall struct {
	o     *op
	reply int
}

// bulkRows is how many rows one INSERT writes: a statement's fixed cost
// (reset, step, the cgo calls around them) is then shared by that many.
const bulkRows = 32

// statements are the committer's prepared statements, used only inside
// its Raw callbacks. Each insert comes twice: one row (one), and bulkRows
// rows (bulk).
type statements struct {
	begin, commit, rollback               rawStmt
	loadCards                             rawStmt
	rows, pairs, calls, answers, outcomes bulkStmt
}

// bulkStmt is an INSERT of one row and of bulkRows rows.
type bulkStmt struct{ one, bulk rawStmt }

func (s *statements) all() []*rawStmt {
	all := []*rawStmt{&s.begin, &s.commit, &s.rollback, &s.loadCards}
	for _, b := range []*bulkStmt{&s.rows, &s.pairs, &s.calls, &s.answers, &s.outcomes} {
		all = append(all, &b.one, &b.bulk)
	}
	return all
}

// insert returns the INSERT of n rows: head, the VALUES of n rows of
// len(cols) columns each, tail.
func insert(head string, cols []string, n int, tail string) string {
	vals := "(?" + strings.Repeat(", ?", len(cols)-1) + ")"
	return head + " (" + strings.Join(cols, ", ") + ") VALUES " + vals + strings.Repeat(", "+vals, n-1) + tail
}

// The inserts of the committer. Rows and pairs already recorded (a Plan
// after a crash between commit and reply) stay as they are. A second End
// for one call (a bug of the caller) keeps the first answer: it is what
// happened. An outcome replaces the pair's previous one; of two for one
// pair in a statement, the later wins.
var inserts = []struct {
	head string
	cols []string
	tail string
}{
	{"INSERT INTO rows", []string{"row_no", "fp", "masked", "invalid", "first_row"}, " ON CONFLICT DO NOTHING"},
	{"INSERT INTO pairs", []string{"first_row", "fp", "card"}, " ON CONFLICT DO NOTHING"},
	{"INSERT INTO calls", []string{"run", "row_no", "pair", "card", "attempt", "day", "sent_at"}, ""},
	{"INSERT INTO answers", []string{"call", "duration_ms", "http_status", "code", "answered", "billed", "jobid",
		"may_reach_bank", "possibly_billed", "simulated"}, " ON CONFLICT DO NOTHING"},
	{"INSERT OR REPLACE INTO outcomes", []string{"first_row", "status", "res", "jobid", "code", "answered", "reason",
		"attempts", "at", "simulated", "run"}, ""},
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
	c := &committer{q: q, path: path, conn: conn, ctx: context.Background()}
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
	type query struct {
		s *rawStmt
		q string
	}
	queries := []query{
		// IMMEDIATE: the write lock at once, so that a transaction never
		// fails half-way for want of it.
		{&s.begin, "BEGIN IMMEDIATE"}, {&s.commit, "COMMIT"}, {&s.rollback, "ROLLBACK"},
		{&s.loadCards, loadCardsQuery},
	}
	for i, b := range []*bulkStmt{&s.rows, &s.pairs, &s.calls, &s.answers, &s.outcomes} {
		in := inserts[i]
		queries = append(queries, query{&b.one, insert(in.head, in.cols, 1, in.tail)},
			query{&b.bulk, insert(in.head, in.cols, bulkRows, in.tail)})
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
			if err = c.commit(); err == nil {
				c.q.commits.Add(1)
			}
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
			return c.flush()
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
		return c.begin(o)
	case opEnd:
		if o.id != 0 && !o.call.MayReachBank {
			c.cards.uncount(o.call)
		}
		c.ends = append(c.ends, o)
	}
	return nil
}

func (c *committer) writePlan(o *op) error {
	err := c.execBulk(&c.stmts.pairs, len(o.pairs), func(vals []driver.Value, i int) []driver.Value {
		p := &o.pairs[i]
		return append(vals, int64(p.firstRow), p.fp[:], p.card[:])
	}, nil)
	if err != nil {
		return fmt.Errorf("record the pairs of rows %d to %d: %w", o.pairs[0].firstRow, o.pairs[len(o.pairs)-1].firstRow, err)
	}
	err = c.execBulk(&c.stmts.rows, len(o.rows), func(vals []driver.Value, i int) []driver.Value {
		r := &o.rows[i]
		var invalid, first driver.Value
		if r.invalid != "" {
			invalid = r.invalid
		} else {
			first = int64(r.firstRow)
		}
		return append(vals, int64(r.no), r.fp[:], r.masked, invalid, first)
	}, nil)
	if err != nil {
		return fmt.Errorf("record rows %d to %d: %w", o.rows[0].no, o.rows[len(o.rows)-1].no, err)
	}
	return nil
}

// begin decides call o.call: unless the pipeline's rule refuses its card
// another call today (a reply of id 0, pipeline.ErrCardLimit), it is
// counted and recorded at the segment's end (flush), which sets the reply's
// ledger id. The count includes calls decided before it in the same
// transaction.
func (c *committer) begin(o *op) error {
	call := &o.call
	day := pipeline.ChinaDay(call.SentAt)
	if c.cards.stale(day) {
		// The reload reads the ledger: what is pending goes in first.
		if err := c.flush(); err != nil {
			return err
		}
	}
	n, err := c.cards.count(c.ctx, day, call.CardKey)
	if err != nil {
		return fmt.Errorf("count the cards' calls of %s: %w", day, err)
	}
	if !pipeline.CardCallAllowed(n, o.limit) {
		c.replies = append(c.replies, result{err: pipeline.ErrCardLimit})
		return nil
	}
	c.cards.counted(call.CardKey)
	c.calls = append(c.calls, pendingCall{o: o, reply: len(c.replies)})
	c.replies = append(c.replies, result{})
	return nil
}

// flush writes the calls, answers and outcomes gathered, in their order,
// bulkRows to a statement.
func (c *committer) flush() error {
	defer func() {
		clear(c.calls)
		clear(c.ends)
		c.calls, c.ends = c.calls[:0], c.ends[:0]
	}()
	err := c.execBulk(&c.stmts.calls, len(c.calls), func(vals []driver.Value, i int) []driver.Value {
		o := c.calls[i].o
		call := &o.call
		return append(vals, nullIfZero(o.run), int64(call.FirstRow), call.Pair[:], call.CardKey[:], int64(call.Attempt),
			pipeline.ChinaDay(call.SentAt), formatTime(call.SentAt))
	}, func(res driver.Result, from, to int) error {
		// The ids of a statement's rows follow each other (a rowid
		// table written by this connection only): the last is known.
		last, err := res.LastInsertId()
		for i := from; i < to; i++ {
			c.replies[c.calls[i].reply].id = last - int64(to-1-i)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("record the calls for rows %d to %d: %w", c.calls[0].o.call.FirstRow, c.calls[len(c.calls)-1].o.call.FirstRow, err)
	}
	if err := c.writeEnds(func(o *op) bool { return o.id != 0 }, &c.stmts.answers, appendAnswer); err != nil {
		return fmt.Errorf("record answers: %w", err)
	}
	if err := c.writeEnds(func(o *op) bool { return o.has }, &c.stmts.outcomes, appendOutcome); err != nil {
		return fmt.Errorf("record outcomes: %w", err)
	}
	return nil
}

// writeEnds writes a row with st for each End gathered that want picks.
func (c *committer) writeEnds(want func(*op) bool, st *bulkStmt, appendVals func([]driver.Value, *op) []driver.Value) error {
	c.picked = c.picked[:0]
	for _, o := range c.ends {
		if want(o) {
			c.picked = append(c.picked, o)
		}
	}
	defer clear(c.picked)
	return c.execBulk(st, len(c.picked), func(vals []driver.Value, i int) []driver.Value {
		return appendVals(vals, c.picked[i])
	}, nil)
}

// execBulk writes n rows with st, bulkRows to a statement and the rest one
// by one; add appends the values of row i. done, if not nil, is given each
// statement's result and the rows it wrote, [from, to).
func (c *committer) execBulk(st *bulkStmt, n int, add func(vals []driver.Value, i int) []driver.Value,
	done func(res driver.Result, from, to int) error) error {
	for from := 0; from < n; {
		s, to := &st.one, from+1
		if n-from >= bulkRows {
			s, to = &st.bulk, from+bulkRows
		}
		c.vals = c.vals[:0]
		for i := from; i < to; i++ {
			c.vals = add(c.vals, i)
		}
		res, err := s.exec(c.ctx, c.vals...)
		if err == nil && done != nil {
			err = done(res, from, to)
		}
		if err != nil {
			return err
		}
		from = to
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
