package pipeline

import (
	"context"
	"errors"
	"math"
	"sync"
)

// ResultsReader reads the checkpoint's results while a run goes on.
// Implemented by store.DB.
type ResultsReader interface {
	// ResultsBetween returns the results of the rows numbered above after
	// and below before (0: no bound), in row order, as Results does, once
	// every Plan and End made before the call is durable.
	ResultsBetween(ctx context.Context, after, before int) (Results, error)
}

// ErrTeeFull is what a Tee's export returns when the run read further
// ahead of the settled rows than the Tee holds: the output is then written
// after the run, from a read of its own.
var ErrTeeFull = errors.New("the rows read ahead of the output outgrew the tee")

// Tee writes the output while a Run goes on, from the same read of the
// input: Run reads the input through the Tee (Config.Tee), which keeps a
// copy of each record until the rows up to it are settled, and Export
// writes each record once the checkpoint holds its row's final outcome for
// this run. So a run reads its input once for the calls and the output
// together.
//
// A row is settled when nothing this run does can change its outcome any
// more: it was decided without a call (invalid, a duplicate of a settled
// pair, answered by an earlier run, reused), or its pair's calls ended.
// Rows settle in order of their first row, not of the answers, so the Tee
// holds the rows read after the oldest pair still in flight; when they
// outgrow its limit (one pair retried for a long time while the others
// go on), it lets them go and Export returns ErrTeeFull.
//
// Next is for the Run's dispatcher alone; Export for one goroutine beside
// it; Done for the caller once Run returned. The Tee's bookkeeping is safe
// for concurrent use by the workers.
type Tee struct {
	src   Source
	limit int

	mu      sync.Mutex
	changed chan struct{} // closed, and replaced, when anything below changes
	recs    []Record      // copies of the records read and not yet exported, from head on
	head    int
	cells   []Cell // the block the copies' cells are cut from
	err     error  // ErrTeeFull, or why the export was given up
	done    bool   // Run returned: every row it read is settled, the rest is read from src

	// The settled frontier: rows numbered below it are settled.
	settled int
	open    []int            // first rows of the pairs dispatched and not ended, in increasing order
	ended   map[int]struct{} // of those, the ones that ended while an earlier one was open
	next    int              // the row after the last one decided
}

// NewTee returns a Tee over src that holds at most limit records read
// ahead of the settled rows.
func NewTee(src Source, limit int) *Tee {
	return &Tee{src: src, limit: limit, changed: make(chan struct{}), ended: map[int]struct{}{}}
}

// Next reads the next record of the source for Run, keeping a copy for the
// output.
func (t *Tee) Next() (Record, error) {
	rec, err := t.src.Next()
	if err != nil {
		return rec, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.err != nil {
		return rec, nil
	}
	if len(t.recs)-t.head >= t.limit {
		t.giveUp(ErrTeeFull)
		return rec, nil
	}
	if cap(t.cells)-len(t.cells) < len(rec.Cells) {
		t.cells = make([]Cell, 0, max(4096, len(rec.Cells)))
	}
	n := len(t.cells)
	t.cells = append(t.cells, rec.Cells...)
	kept := rec
	kept.Cells = t.cells[n:len(t.cells):len(t.cells)]
	if t.head > 1024 && t.head*2 > len(t.recs) {
		t.recs = t.recs[:copy(t.recs, t.recs[t.head:])]
		t.head = 0
	}
	t.recs = append(t.recs, kept)
	t.wake()
	return rec, nil
}

// Done says that Run returned: every row it read is settled, and the rest
// of the source is for Export.
func (t *Tee) Done() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.done = true
	t.wake()
}

// giveUp ends the export with err, and drops the copies. Called with mu
// held.
func (t *Tee) giveUp(err error) {
	if t.err == nil {
		t.err = err
	}
	t.recs, t.head, t.cells = nil, 0, nil
	t.wake()
}

// wake tells the waiters that something changed. Called with mu held.
func (t *Tee) wake() {
	close(t.changed)
	t.changed = make(chan struct{})
}

// wait waits, with mu held, for the next change, or for ctx.
func (t *Tee) wait(ctx context.Context) error {
	ch := t.changed
	t.mu.Unlock()
	defer t.mu.Lock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// dispatched notes that the pair whose first row is row was handed to the
// workers. A nil Tee does nothing, as do the methods below.
func (t *Tee) dispatched(row int) {
	if t == nil {
		return
	}
	t.mu.Lock()
	t.open = append(t.open, row)
	t.mu.Unlock()
}

// decided notes that every row up to row was decided: settled, or its pair
// dispatched.
func (t *Tee) decided(row int) {
	if t == nil {
		return
	}
	t.mu.Lock()
	t.next = row + 1
	t.advance()
	t.mu.Unlock()
}

// pairEnded notes that the pair dispatched with first row row ended: its
// outcome, final or pending, was handed to the checkpoint.
func (t *Tee) pairEnded(row int) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.open) == 0 || t.open[0] != row {
		t.ended[row] = struct{}{}
		return
	}
	t.open = t.open[1:]
	for len(t.open) > 0 {
		if _, ok := t.ended[t.open[0]]; !ok {
			break
		}
		delete(t.ended, t.open[0])
		t.open = t.open[1:]
	}
	t.advance()
}

// advance moves the frontier to the oldest open pair, or past the last
// decided row. Called with mu held.
func (t *Tee) advance() {
	f := t.next
	if len(t.open) > 0 {
		f = min(f, t.open[0])
	}
	if f > t.settled {
		t.settled = f
		t.wake()
	}
}

// Export writes every record of the input to sink as Export does, with the
// outcomes res holds, each once its row is settled. It returns ErrTeeFull
// when the Tee gave up holding the records, and ctx's error when ctx ends.
func (t *Tee) Export(ctx context.Context, res ResultsReader, fp Fingerprinter, sink Sink) error {
	// The records are in memory already and the results are read a range
	// at a time: no read-ahead, which would only hold more of them.
	err := merge(ctx, teeSource{t, ctx}.Next, (&settledResults{t: t, ctx: ctx, res: res, from: 1}).Next, fp, sink)
	if err != nil { // a failed write too: the Tee drops its copies
		t.mu.Lock()
		t.giveUp(err)
		t.mu.Unlock()
	}
	return err
}

// teeSource yields the records the Tee kept, then, once Run is done, the
// rest of the source.
type teeSource struct {
	t   *Tee
	ctx context.Context
}

func (s teeSource) Next() (Record, error) {
	t := s.t
	t.mu.Lock()
	for {
		switch {
		case t.err != nil:
			err := t.err
			t.mu.Unlock()
			return Record{}, err
		case t.head < len(t.recs):
			rec := t.recs[t.head]
			t.recs[t.head] = Record{}
			t.head++
			t.mu.Unlock()
			return rec, nil
		case t.done:
			t.mu.Unlock()
			return t.src.Next()
		}
		if err := t.wait(s.ctx); err != nil {
			t.mu.Unlock()
			return Record{}, err
		}
	}
}

// settledStep is how many rows the frontier must move before the next
// read of the checkpoint: each read first commits what is queued.
const settledStep = 512

// settledResults yields the checkpoint's results of the settled rows, a
// range at a time, and after Run all the others.
type settledResults struct {
	t     *Tee
	ctx   context.Context
	res   ResultsReader
	cur   Results
	from  int  // the first row not read yet
	final bool // cur reads to the end
}

func (s *settledResults) Next() (Result, error) {
	for {
		if s.cur != nil {
			r, err := s.cur.Next()
			if !errors.Is(err, EOF) {
				return r, err
			}
			if s.final {
				return r, EOF
			}
			s.cur = nil
		}
		before, err := s.waitSettled()
		if err != nil {
			return Result{}, err
		}
		s.final = before == math.MaxInt
		bound := before
		if s.final {
			bound = 0
		}
		if s.cur, err = s.res.ResultsBetween(s.ctx, s.from-1, bound); err != nil {
			return Result{}, err
		}
		s.from = before
	}
}

// waitSettled waits until the frontier is settledStep rows past from, or
// Run is done (math.MaxInt then), and returns it.
func (s *settledResults) waitSettled() (int, error) {
	t := s.t
	t.mu.Lock()
	defer t.mu.Unlock()
	for {
		switch {
		case t.err != nil:
			return 0, t.err
		case t.done:
			return math.MaxInt, nil
		case t.settled >= s.from+settledStep:
			return t.settled, nil
		}
		if err := t.wait(s.ctx); err != nil {
			return 0, err
		}
	}
}
