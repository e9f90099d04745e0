package pipeline

import (
	"context"
	"errors"
)

// Fingerprinter computes the checkpoint's fingerprint of a normalised pair.
// Implemented by store.DB.
type Fingerprinter interface {
	// Fingerprint returns the Key of the normalised pair (name, card), the
	// one the checkpoint recorded it under (Known.Pair, Result.Pair).
	Fingerprint(name, card string) Key
}

// PendingReason is the reason written beside a row that has no answer yet.
const PendingReason = reasonMark + string(NotYet)

// Export writes every record of src to sink, in order, each data row with
// the outcome that res holds for it: invalid rows with their problems, rows
// the checkpoint has no final answer for as Pending. Both src and res must
// be in increasing row order.
//
// When fp is not nil, every valid row is checked against the fingerprint
// the checkpoint recorded for its row number, so that a verdict is never
// written beside a row that changed since it was verified: a difference is
// an *InputError naming the row.
//
// res is read ahead by a goroutine of its own, a few batches in front of
// the input, so that reading the checkpoint and reading the input and
// writing the output share the cores; it ends before Export returns, and
// res is never called from two goroutines at once. An error of res is
// returned when the rows reach it, as if res were read in step.
func Export(ctx context.Context, src Source, res Results, fp Fingerprinter, sink Sink) error {
	ahead := readAhead(res)
	defer ahead.stop()
	var cur Result
	more := true // res may have more results
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		rec, err := src.Next()
		if errors.Is(err, EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		var o Outcome
		if rec.Kind == Data {
			for more && cur.Row < rec.Row {
				if cur, err = ahead.next(); errors.Is(err, EOF) {
					more = false
				} else if err != nil {
					return err
				}
			}
			if o, err = rowOutcome(rec, cur, more && cur.Row == rec.Row, fp); err != nil {
				return err
			}
		}
		if err := sink.Write(rec, o); err != nil {
			return err
		}
	}
}

// aheadBatch is how many results go from the reading goroutine to Export
// at a time, and aheadBatches how many batches it reads in front.
const (
	aheadBatch   = 1024
	aheadBatches = 4
)

// batch is a run of results in row order; err, when not nil, is what
// the Results returned after them (EOF at the end).
type batch struct {
	rs  []Result
	err error
}

// resultsAhead yields the results that its goroutine reads in front of
// the consumer. Its methods are for one goroutine.
type resultsAhead struct {
	full  chan batch
	free  chan []Result
	done  chan struct{} // closed by stop: the goroutine stops reading
	ended chan struct{} // closed by the goroutine when it returns
	cur   batch
	i     int
}

// readAhead starts the goroutine that reads res in batches. It ends after
// the batch that holds res's error (EOF included), or once stop is called.
func readAhead(res Results) *resultsAhead {
	a := &resultsAhead{full: make(chan batch, aheadBatches), free: make(chan []Result, aheadBatches+1),
		done: make(chan struct{}), ended: make(chan struct{})}
	go func() {
		defer close(a.ended)
		for {
			var rs []Result
			select {
			case rs = <-a.free:
			default:
				rs = make([]Result, 0, aheadBatch)
			}
			b := batch{rs: rs[:0]}
			for len(b.rs) < aheadBatch && b.err == nil {
				var r Result
				if r, b.err = res.Next(); b.err == nil {
					b.rs = append(b.rs, r)
				}
			}
			select {
			case a.full <- b:
			case <-a.done:
				return
			}
			if b.err != nil {
				return
			}
		}
	}()
	return a
}

// next returns the next result, or the error res returned after the
// last one.
func (a *resultsAhead) next() (Result, error) {
	for a.i == len(a.cur.rs) {
		if a.cur.err != nil {
			return Result{}, a.cur.err
		}
		if a.cur.rs != nil {
			select {
			case a.free <- a.cur.rs:
			default:
			}
		}
		a.cur, a.i = <-a.full, 0
	}
	r := a.cur.rs[a.i]
	a.i++
	return r, nil
}

// stop ends the goroutine and waits for it: res is not read after stop
// returns.
func (a *resultsAhead) stop() {
	close(a.done)
	<-a.ended
}

// rowOutcome is the outcome to write beside data record rec, given the
// checkpoint's result r for its row when found.
func rowOutcome(rec Record, r Result, found bool, fp Fingerprinter) (Outcome, error) {
	switch {
	case len(rec.Problems) > 0:
		return Outcome{Status: Invalid, Reason: JoinReasons(rec.Problems...)}, nil
	case !found:
		return Outcome{Status: Pending, Reason: PendingReason}, nil
	case fp != nil && fp.Fingerprint(rec.Name, rec.Card) != r.Pair:
		return Outcome{}, &InputError{Row: rec.Row, Msg: Reason(RowChanged), Hint: Reason(RowChangedHint)}
	case r.Status == Pending:
		r.Reason = PendingReason
	}
	return r.Outcome, nil
}
