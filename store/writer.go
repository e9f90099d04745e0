package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"syscall"
	"time"

	"github.com/cardverify/cardverify/pipeline"
)

const (
	// queueSize bounds the writer's queue: a sender blocks (back-pressure)
	// when this many operations wait, so memory stays flat.
	queueSize = 4096
	// maxBatch is the most operations one commit takes.
	maxBatch = 1000
	// planAhead is how many Plan batches may wait for the writer. Each
	// holds up to a thousand or so rows, so this bounds the memory of rows
	// planned but not committed; when Plan runs ahead, one commit takes
	// several batches.
	planAhead = 16
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
//
// The statements of the hot path (new rows, calls, answers, outcomes) run on
// the driver's connection directly (sql.Conn.Raw), not through database/sql:
// that halves the cost of a statement, which is what bounds the answers per
// second one writer can commit. They are used only inside Raw callbacks.
type writer struct {
	db   *DB
	conn *sql.Conn
	// ctx is not a caller's: the writer must outlive a cancelled run to
	// commit its last answers. It ends when DB.Close closes the queue.
	// context.Background also keeps go-sqlite3 from starting a goroutine
	// per statement to watch for cancellation.
	ctx context.Context

	insRow, insPair, insCall, loadCards rawStmt
	// One row, and bulkRows rows, of answers and of outcomes.
	answer, outcome, answers, outcomes rawStmt

	// cards counts, for the day cardDay (China time), each card's calls
	// that may have reached the bank, by the first 8 bytes of its
	// fingerprint. Two cards sharing them would share a count: a card could
	// be deferred early, never called too often.
	cardDay string
	cards   map[uint64]uint8

	batch   []op
	replies []result
	count   [2]driver.Value
	ends    []*op // the End operations of the Raw segment under way
	vals    []driver.Value
}

// bulkRows is how many answers, or outcomes, one INSERT writes: a
// statement's fixed cost (reset, step, the cgo calls around them) is then
// shared by that many rows.
const bulkRows = 32

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

func newWriter(ctx context.Context, db *DB, conn *sql.Conn) (*writer, error) {
	w := &writer{db: db, conn: conn, ctx: context.Background(), batch: make([]op, 0, maxBatch)}
	stmts := []struct {
		s *rawStmt
		q string
	}{
		{&w.insRow, `INSERT INTO rows (row_no, fp, masked, invalid, first_row) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT DO NOTHING`},
		{&w.insPair, `INSERT INTO pairs (first_row, fp, card) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`},
		{&w.insCall, `INSERT INTO calls (run, row_no, pair, card, attempt, day, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?)`},
		// Calls that never ended (in flight, lost in a crash) count: the
		// bank may have been asked.
		{&w.loadCards, `SELECT substr(calls.card, 1, 8), count(*) FROM calls LEFT JOIN answers ON answers.call = calls.id
			WHERE calls.day = ? AND (answers.call IS NULL OR answers.may_reach_bank) GROUP BY 1`},
		{&w.answer, insertAnswers(1)},
		{&w.outcome, insertOutcomes(1)},
		{&w.answers, insertAnswers(bulkRows)},
		{&w.outcomes, insertOutcomes(bulkRows)},
	}
	// wal_autocheckpoint=10000: copy the WAL back into the database every
	// 10000 pages (40 MB) rather than every 1000. A checkpoint is where
	// synchronous=NORMAL fsyncs; under load the default made the writer
	// wait on one every few commits. journal_size_limit=64 MB: the -wal
	// file, reused after each checkpoint, is truncated to that if it grew
	// beyond it.
	for _, pragma := range []string{"PRAGMA wal_autocheckpoint = 10000", "PRAGMA journal_size_limit = 67108864"} {
		if _, err := conn.ExecContext(ctx, pragma); err != nil {
			return nil, fmt.Errorf("%s: %w", pragma, err)
		}
	}
	err := conn.Raw(func(dc any) error {
		c := dc.(driver.Conn)
		for _, s := range stmts {
			st, err := c.Prepare(s.q)
			if err != nil {
				return fmt.Errorf("prepare %q: %w", s.q, err)
			}
			s.s.s = st
		}
		return nil
	})
	if err != nil {
		w.closeStmts()
		return nil, err
	}
	return w, nil
}

func (w *writer) closeStmts() {
	w.conn.Raw(func(any) error {
		for _, s := range []*rawStmt{&w.insRow, &w.insPair, &w.insCall, &w.loadCards, &w.answer, &w.outcome, &w.answers, &w.outcomes} {
			if s.s != nil {
				s.s.Close()
			}
		}
		return nil
	})
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
		w.commit()
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
	if err == nil {
		w.db.ov.committed(w.batch)
	}
	n := 0
	for i := range w.batch {
		if o := &w.batch[i]; o.reply != nil {
			r := result{err: err}
			if err == nil {
				r = w.replies[n]
			}
			n++
			o.reply <- r
		}
	}
	for i := range w.batch {
		if w.batch[i].kind == opPlan {
			<-w.db.planSlots
		}
	}
}

func (w *writer) apply() (err error) {
	defer func() {
		if diskFull(err) || errors.Is(err, syscall.ENOSPC) {
			err = fmt.Errorf("checkpoint %s: the disk is full (free some space, then run the same command to resume): %w", w.db.path, err)
		}
	}()
	if _, err := w.conn.ExecContext(w.ctx, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("write checkpoint: begin: %w", err)
	}
	if err := w.applyAll(); err != nil {
		w.conn.ExecContext(w.ctx, "ROLLBACK")
		return fmt.Errorf("write checkpoint: %w", err)
	}
	if _, err := w.conn.ExecContext(w.ctx, "COMMIT"); err != nil {
		w.conn.ExecContext(w.ctx, "ROLLBACK")
		return fmt.Errorf("write checkpoint: commit: %w", err)
	}
	return nil
}

// applyAll runs the batch's operations in order: each run of driver-level
// operations in one Raw callback, each opExec with the sql.Conn.
func (w *writer) applyAll() error {
	b := w.batch
	for i := 0; i < len(b); {
		if b[i].kind == opExec {
			var id int64
			if b[i].fn != nil {
				var err error
				if id, err = b[i].fn(w.ctx, w.conn); err != nil {
					return err
				}
			}
			w.replies = append(w.replies, result{id: id})
			i++
			continue
		}
		j := i
		for j < len(b) && b[j].kind != opExec {
			j++
		}
		err := w.conn.Raw(func(any) error {
			for k := i; k < j; k++ {
				if err := w.applyOne(&b[k]); err != nil {
					return err
				}
			}
			return w.writeEnds()
		})
		if err != nil {
			return err
		}
		i = j
	}
	return nil
}

func (w *writer) applyOne(o *op) error {
	ctx := w.ctx
	switch o.kind {
	case opPlan:
		for i := range o.pairs {
			p := &o.pairs[i]
			if _, err := w.insPair.exec(ctx, int64(p.firstRow), p.fp[:], p.card[:]); err != nil {
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
			if _, err := w.insRow.exec(ctx, int64(r.no), r.fp[:], r.masked, invalid, first); err != nil {
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
		if o.id != 0 && !o.call.MayReachBank && pipeline.ChinaDay(o.call.SentAt) == w.cardDay {
			if k := prefix(o.call.CardKey); w.cards[k] > 0 {
				w.cards[k]--
			}
		}
		// Written in bulk at the end of the segment: nothing else in a
		// batch reads answers or outcomes.
		w.ends = append(w.ends, o)
	}
	return nil
}

// writeEnds records the answers and outcomes of the End operations
// gathered, in their order, bulkRows to a statement.
func (w *writer) writeEnds() error {
	defer func() {
		clear(w.ends)
		w.ends = w.ends[:0]
	}()
	err := w.writeBulk(&w.answer, &w.answers, func(o *op) bool { return o.id != 0 }, w.appendAnswer)
	if err != nil {
		return fmt.Errorf("record answers: %w", err)
	}
	if err := w.writeBulk(&w.outcome, &w.outcomes, func(o *op) bool { return o.has }, w.appendOutcome); err != nil {
		return fmt.Errorf("record outcomes: %w", err)
	}
	return nil
}

func (w *writer) writeBulk(one, bulk *rawStmt, want func(*op) bool, appendVals func([]driver.Value, *op) []driver.Value) error {
	w.vals = w.vals[:0]
	n := 0
	for _, o := range w.ends {
		if !want(o) {
			continue
		}
		w.vals = appendVals(w.vals, o)
		if n++; n == bulkRows {
			if _, err := bulk.exec(w.ctx, w.vals...); err != nil {
				return err
			}
			w.vals, n = w.vals[:0], 0
		}
	}
	per := len(w.vals) / max(n, 1)
	for i := 0; i < n; i++ {
		if _, err := one.exec(w.ctx, w.vals[i*per:(i+1)*per]...); err != nil {
			return err
		}
	}
	return nil
}

func (w *writer) appendAnswer(vals []driver.Value, o *op) []driver.Value {
	c := &o.call
	var code driver.Value
	if c.Answered {
		code = int64(c.Code)
	}
	return append(vals, o.id, float64(c.Duration)/float64(time.Millisecond), int64(c.HTTPStatus), code,
		c.Answered, c.Billed, c.JobID, c.MayReachBank, c.PossiblyBilled, c.Simulated)
}

func (w *writer) appendOutcome(vals []driver.Value, o *op) []driver.Value {
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
		out.Answered, out.Reason, int64(out.Attempts), formatTime(out.At), out.Simulated, runValue(o.run))
}

// begin records call o.call unless its card reached the day's limit; it
// returns the new ledger id, or 0 at the limit. The count includes calls
// recorded before it in the same transaction.
func (w *writer) begin(o *op) (int64, error) {
	c := &o.call
	day := pipeline.ChinaDay(c.SentAt)
	limit := w.db.CardDailyLimit
	k := prefix(c.CardKey)
	if limit > 0 {
		if day != w.cardDay {
			if err := w.loadCardCounts(day); err != nil {
				return 0, fmt.Errorf("count the cards' calls of %s: %w", day, err)
			}
		}
		if int(w.cards[k]) >= limit {
			return 0, nil
		}
	}
	var run driver.Value
	if o.run != 0 {
		run = o.run
	}
	res, err := w.insCall.exec(w.ctx, run, int64(c.FirstRow), c.Pair[:], c.CardKey[:], int64(c.Attempt), day, formatTime(c.SentAt))
	if err != nil {
		return 0, fmt.Errorf("record a call for row %d: %w", c.FirstRow, err)
	}
	if limit > 0 && w.cards[k] < math.MaxUint8 {
		w.cards[k]++
	}
	return res.LastInsertId()
}

// loadCardCounts replaces the in-memory counts with those of day, read
// from the ledger: once per run, and again when a run passes midnight in
// China.
func (w *writer) loadCardCounts(day string) error {
	rs, err := w.loadCards.query(w.ctx, day)
	if err != nil {
		return err
	}
	defer rs.Close()
	cards := make(map[uint64]uint8)
	for {
		if err := rs.Next(w.count[:]); err == io.EOF {
			break
		} else if err != nil {
			return err
		}
		prefix, _ := w.count[0].([]byte)
		n, _ := w.count[1].(int64)
		if len(prefix) == 8 {
			cards[binary.LittleEndian.Uint64(prefix)] = uint8(min(n, math.MaxUint8))
		}
	}
	w.cardDay, w.cards = day, cards
	return nil
}

// nilIfID turns begin's "0 = at the limit" into ErrCardLimit.
func nilIfID(id int64) error {
	if id == 0 {
		return pipeline.ErrCardLimit
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

// runValue is the run an outcome is recorded under, NULL outside a run.
func runValue(run int64) driver.Value {
	if run == 0 {
		return nil
	}
	return run
}
