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
func Export(ctx context.Context, src Source, res Results, fp Fingerprinter, sink Sink) error {
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
				if cur, err = res.Next(); errors.Is(err, EOF) {
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
