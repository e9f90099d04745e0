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
// src and res are each read ahead by a goroutine of their own, a few
// batches in front of the writing, so that reading the input, reading the
// checkpoint and writing the output share the cores. Both goroutines end
// before Export returns; neither src nor res is ever called from two
// goroutines at once. An error of either is returned when the rows reach
// it, as if they were read in step.
func Export(ctx context.Context, src Source, res Results, fp Fingerprinter, sink Sink) error {
	recs := readAhead(func(b *batch[Record]) error {
		rec, err := src.Next()
		if err == nil {
			// The source may reuse the cells on the next call: the
			// batch keeps a copy until the writing is past it.
			n := len(b.cells)
			b.cells = append(b.cells, rec.Cells...)
			rec.Cells = b.cells[n:len(b.cells):len(b.cells)]
			b.items = append(b.items, rec)
			for _, c := range rec.Cells {
				b.bytes += len(c.Value) + len(c.Raw)
			}
		}
		return err
	})
	defer recs.stop()
	results := readAhead(func(b *batch[Result]) error {
		r, err := res.Next()
		if err == nil {
			b.items = append(b.items, r)
		}
		return err
	})
	defer results.stop()
	return merge(ctx, recs.next, results.next, fp, sink)
}

// merge is Export reading the records and the results in step with the
// writing, from nextRec and nextRes.
func merge(ctx context.Context, nextRec func() (Record, error), nextRes func() (Result, error), fp Fingerprinter, sink Sink) error {
	var cur Result
	more := true // res may have more results
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		rec, err := nextRec()
		if errors.Is(err, EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		var o Outcome
		if rec.Kind == Data {
			for more && cur.Row < rec.Row {
				if cur, err = nextRes(); errors.Is(err, EOF) {
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

// aheadBatch is how many items a read-ahead hands over at a time, and
// aheadBatches how many full batches wait in front of the consumer. The
// reading of the input, of the checkpoint and the writing go at uneven
// speeds; with one batch in front each waited on the others. Measured on a
// finished job's rerun of 1M CSV rows (medians of 3, alternated, 2 cores):
// one in front 7.59 s and 33.7 MiB, two 6.74 s and 34.6 MiB, four 6.42 s
// and 36.9 MiB, eight about 6.1 s and 40 MiB; of 100k XLSX rows (of 5):
// one 2.07 s and 35.1 MiB, four 1.76 s and 37.6 MiB. Batches of 128 were
// slower than of 512 (0.99 against 0.84 s for 100k CSV rows).
//
// A batch also ends once its records' cells hold aheadBytes of text: rows
// of a few hundred bytes never reach it, but the widest and longest rows a
// reader lets through (1,024 cells of 32,767 characters) are held a few at
// a time, not 512.
const (
	aheadBatch   = 512
	aheadBatches = 4
	aheadBytes   = 1 << 20
)

// batch is a run of items in order; err, when not nil, is what the stream
// returned after them (EOF at the end). cells holds the copies of the
// records' cells, and bytes the length of their text.
type batch[T any] struct {
	items []T
	cells []Cell
	bytes int
	err   error
}

// ahead yields the items that its goroutine reads in front of the
// consumer. Its methods are for one goroutine.
type ahead[T any] struct {
	full  chan *batch[T]
	free  chan *batch[T]
	done  chan struct{} // closed by stop: the goroutine stops reading
	ended chan struct{} // closed by the goroutine when it returns
	cur   *batch[T]
	i     int
}

// readAhead starts a goroutine that fills batches with read, which
// appends one item to the batch or returns the stream's error. The
// goroutine ends after the batch that holds an error (EOF included), or
// once stop is called.
func readAhead[T any](read func(*batch[T]) error) *ahead[T] {
	a := &ahead[T]{full: make(chan *batch[T], aheadBatches), free: make(chan *batch[T], aheadBatches+2),
		done: make(chan struct{}), ended: make(chan struct{}), cur: &batch[T]{}}
	go func() {
		defer close(a.ended)
		for {
			var b *batch[T]
			select {
			case b = <-a.free:
				b.items, b.cells, b.bytes = b.items[:0], b.cells[:0], 0
			default:
				b = &batch[T]{items: make([]T, 0, aheadBatch)}
			}
			for len(b.items) < aheadBatch && b.bytes < aheadBytes && b.err == nil {
				b.err = read(b)
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

// next returns the next item, or the error the stream returned after the
// last one.
func (a *ahead[T]) next() (T, error) {
	for a.i == len(a.cur.items) {
		if a.cur.err != nil {
			var zero T
			return zero, a.cur.err
		}
		select {
		case a.free <- a.cur:
		default:
		}
		a.cur, a.i = <-a.full, 0
	}
	a.i++
	return a.cur.items[a.i-1], nil
}

// stop ends the goroutine and waits for it: the stream is not read after
// stop returns.
func (a *ahead[T]) stop() {
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
