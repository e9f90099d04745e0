package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/cardverify/cardverify/pipeline"
)

const (
	// queueSize bounds the queue: a sender blocks (back-pressure) when
	// this many operations wait, so memory stays flat. A worker waits for
	// its Begin's commit, so each has at most its last End and its next
	// Begin queued, and Plan at most planAhead batches: 1024 operations
	// (400 KB) is room for the pool's most workers (pipeline's 512); past
	// that a sender waits a moment for the next commit.
	queueSize = 1024
	// maxBatch is the most operations one commit takes.
	maxBatch = 1000
	// planAhead is how many Plan batches may wait for a commit. Each holds
	// up to a thousand or so rows, so this bounds the memory of rows
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

// op is one operation queued for the committer.
type op struct {
	kind  opKind
	seq   uint64 // overlay entries this op commits (opPlan, opEnd with an outcome)
	rows  []rowRec
	pairs []pairRec
	call  pipeline.Call
	limit int // opBegin: the card daily limit the pipeline gave
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

// queue is the checkpoint's group-commit queue. Any goroutine sends it
// operations; one goroutine, the committer (commit.go), takes whatever has
// arrived and commits it in one transaction as soon as its previous commit
// ends, so an answer is durable within milliseconds at the API's pace and
// batches grow only under load.
//
// The queue also owns the overlay: what was queued but is not committed yet
// and must be visible to Plan at once. Its methods add to the overlay as
// they queue (plan, end), the committer prunes it when the commit that made
// an entry durable ends (settle), and Plan reads it through pending, before
// the database: an entry leaves the overlay only once a reader of the
// database sees it, so a reader that looks in that order misses nothing.
//
// Its methods are safe for concurrent use. After close, every method
// returns errClosed; after a failed commit, every write returns that
// commit's error.
type queue struct {
	ops       chan op
	planSlots chan struct{} // a slot per Plan batch queued and not committed
	done      chan struct{} // closed when the committer has ended

	closeMu sync.RWMutex // held for reading by senders, for writing by close
	closed  bool

	errMu sync.Mutex
	err   error // the committer's first error, returned from then on

	// commits counts the committer's transactions that succeeded.
	commits atomic.Int64

	ov overlay
}

func newQueue() *queue {
	return &queue{ops: make(chan op, queueSize), planSlots: make(chan struct{}, planAhead), done: make(chan struct{})}
}

// send queues o. It blocks while the queue is full, until ctx is done; a
// free slot is taken even when ctx is already done, so that the answers of
// a cancelled run are still recorded.
func (q *queue) send(ctx context.Context, o op) error {
	q.closeMu.RLock()
	defer q.closeMu.RUnlock()
	if q.closed {
		return errClosed
	}
	if err := q.failed(); err != nil {
		return err
	}
	select {
	case q.ops <- o:
		return nil
	default:
	}
	select {
	case q.ops <- o:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("queue a checkpoint write: %w", ctx.Err())
	}
}

// call queues o with a reply channel and waits for its commit. Once queued
// it waits even when ctx is done, so that its answer says exactly whether o
// is recorded.
func (q *queue) call(ctx context.Context, o op) (int64, error) {
	o.reply = make(chan result, 1)
	if err := q.send(ctx, o); err != nil {
		return 0, err
	}
	r := <-o.reply
	return r.id, r.err
}

// exec runs fn in the committer's transaction and returns once it is
// committed. A nil fn only waits for everything queued before to be durable.
func (q *queue) exec(ctx context.Context, fn func(ctx context.Context, tx *sql.Conn) (int64, error)) (int64, error) {
	return q.call(ctx, op{kind: opExec, fn: fn})
}

// plan queues new rows and pairs, after waiting for one of the planAhead
// slots; the pairs are in the overlay from now until their commit.
func (q *queue) plan(ctx context.Context, rows []rowRec, pairs []pairRec) error {
	select {
	case q.planSlots <- struct{}{}: // released by settle after the commit
	case <-ctx.Done():
		return ctx.Err()
	}
	o := op{kind: opPlan, rows: rows, pairs: pairs}
	if len(pairs) > 0 {
		o.seq = q.ov.putPairs(pairs)
	}
	if err := q.send(ctx, o); err != nil {
		q.ov.prune([]op{o}) // never queued: forget them
		<-q.planSlots
		return err
	}
	return nil
}

// end queues an End; its outcome, if it has one, is in the overlay from
// now until its commit.
func (q *queue) end(ctx context.Context, o op) error {
	if o.has {
		o.seq = q.ov.putOutcome(o.call.Pair, o.out)
	}
	if err := q.send(ctx, o); err != nil {
		q.ov.prune([]op{o}) // never queued: forget it
		return err
	}
	return nil
}

// pending fills the pairs of a Plan batch from the overlay, then calls
// fromDB to complete them from the database. The order is the invariant
// that makes the overlay safe to prune: an entry committed and dropped in
// between is in the database by the time fromDB reads it.
func (q *queue) pending(pairs map[pipeline.Key]*pairInfo, fromDB func() error) error {
	q.ov.fill(pairs)
	return fromDB()
}

// settle ends a commit of batch: it prunes what the commit made durable
// from the overlay (when err is nil), then answers the operations that wait,
// with replies in their order or err, and frees the Plan slots.
func (q *queue) settle(batch []op, replies []result, err error) {
	if err == nil {
		q.ov.prune(batch)
	} else {
		q.fail(err)
	}
	n := 0
	for i := range batch {
		if o := &batch[i]; o.reply != nil {
			r := result{err: err}
			if err == nil {
				r = replies[n]
			}
			n++
			o.reply <- r
		}
	}
	for i := range batch {
		if batch[i].kind == opPlan {
			<-q.planSlots
		}
	}
}

// flush waits until everything queued so far is durable.
func (q *queue) flush(ctx context.Context) error {
	q.closeMu.RLock()
	closed := q.closed
	q.closeMu.RUnlock()
	if closed {
		return errClosed
	}
	_, err := q.exec(ctx, nil)
	return err
}

// close closes the queue and waits for the committer to commit what it
// holds and end. It returns the committer's error, if it had one; a second
// close only returns it.
func (q *queue) close() error {
	q.closeMu.Lock()
	if q.closed {
		q.closeMu.Unlock()
		return q.failed()
	}
	q.closed = true
	close(q.ops)
	q.closeMu.Unlock()
	<-q.done
	return q.failed()
}

// failed returns the committer's first error.
func (q *queue) failed() error {
	q.errMu.Lock()
	defer q.errMu.Unlock()
	return q.err
}

// fail records the committer's error, if it is the first.
func (q *queue) fail(err error) {
	q.errMu.Lock()
	defer q.errMu.Unlock()
	if q.err == nil {
		q.err = err
	}
}

// overlay holds the pairs and outcomes queued and not committed yet; only
// the queue's methods touch it. A commit drops an entry unless a newer one
// replaced it (seq).
type overlay struct {
	mu       sync.Mutex
	seq      uint64
	pairs    map[pipeline.Key]pendingPair
	outcomes map[pipeline.Key]pendingOutcome
}

type pendingPair struct {
	firstRow int
	card     pipeline.Key
	seq      uint64
}

type pendingOutcome struct {
	o   pipeline.Outcome
	seq uint64
}

func (ov *overlay) putPairs(ps []pairRec) uint64 {
	ov.mu.Lock()
	defer ov.mu.Unlock()
	ov.seq++
	if ov.pairs == nil {
		ov.pairs = make(map[pipeline.Key]pendingPair)
	}
	for _, p := range ps {
		ov.pairs[p.fp] = pendingPair{firstRow: p.firstRow, card: p.card, seq: ov.seq}
	}
	return ov.seq
}

func (ov *overlay) putOutcome(fp pipeline.Key, o pipeline.Outcome) uint64 {
	ov.mu.Lock()
	defer ov.mu.Unlock()
	ov.seq++
	if ov.outcomes == nil {
		ov.outcomes = make(map[pipeline.Key]pendingOutcome)
	}
	ov.outcomes[fp] = pendingOutcome{o: o, seq: ov.seq}
	return ov.seq
}

// fill sets what the overlay knows of each pair.
func (ov *overlay) fill(pairs map[pipeline.Key]*pairInfo) {
	ov.mu.Lock()
	defer ov.mu.Unlock()
	for fp, p := range pairs {
		if e, ok := ov.pairs[fp]; ok {
			p.firstRow, p.card = e.firstRow, e.card
		}
		if e, ok := ov.outcomes[fp]; ok {
			p.prior, p.hasPrior = e.o, true
		}
	}
}

// prune drops the entries that batch made durable.
func (ov *overlay) prune(batch []op) {
	ov.mu.Lock()
	defer ov.mu.Unlock()
	for i := range batch {
		o := &batch[i]
		switch {
		case o.kind == opPlan:
			for _, p := range o.pairs {
				if e, ok := ov.pairs[p.fp]; ok && e.seq == o.seq {
					delete(ov.pairs, p.fp)
				}
			}
		case o.kind == opEnd && o.has:
			if e, ok := ov.outcomes[o.call.Pair]; ok && e.seq == o.seq {
				delete(ov.outcomes, o.call.Pair)
			}
		}
	}
}

// size returns how many pairs and outcomes wait in the overlay.
func (ov *overlay) size() (pairs, outcomes int) {
	ov.mu.Lock()
	defer ov.mu.Unlock()
	return len(ov.pairs), len(ov.outcomes)
}

// errReadOnly is returned by the writes of a DB opened read-only.
var errReadOnly = errors.New("the checkpoint is open read-only")

// errClosed is returned by methods called after Close.
var errClosed = errors.New("the checkpoint is closed")
