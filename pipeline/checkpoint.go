package pipeline

import (
	"context"
	"time"
)

// Key is a keyed fingerprint (HMAC-SHA-256 with a secret kept in the
// checkpoint) of a normalised (name, card) pair or of a card alone. It lets
// the checkpoint recognise a pair without holding it.
type Key [32]byte

// Row is a data row as the pipeline hands it to the checkpoint.
type Row struct {
	// Row is the row's 1-based number in the input (Record.Row).
	Row int
	// Name and Card are normalised. The checkpoint fingerprints them and
	// must never store them.
	Name, Card string
	// Invalid, when not empty, is why the row will not be sent (the joined
	// Problems of the Record). It never quotes the name or the card.
	Invalid string
}

// Known is what a checkpoint knows of a row's pair.
type Known struct {
	Pair    Key // fingerprint of (name, card)
	CardKey Key // fingerprint of the card alone
	// FirstRow is the first valid row with this pair: the row whose call
	// decides the pair. A row with FirstRow != its own number is a
	// duplicate.
	FirstRow int
	// Prior is the pair's latest recorded outcome; Status is Pending when
	// there is none.
	Prior Outcome
}

// Call is one HTTP call, as the checkpoint's ledger records it.
type Call struct {
	FirstRow int // the pair's first row
	Pair     Key // fingerprint of the pair's (name, card) (Known.Pair)
	CardKey  Key // fingerprint of the card alone (Known.CardKey), for the daily limit
	Attempt  int // 1 for the first call of the pair in this run
	// SentAt is when the call was recorded as about to be sent; the card's
	// daily limit counts it on its China day.
	SentAt time.Time
	// The fields below are known only when the call ends.
	Duration time.Duration // from sending to the end of the answer
	// HTTPStatus is the response's status code, 0 when there was no
	// response (Answer.HTTPStatus).
	HTTPStatus int
	// Code is the answer's error_code, meaningful only when Answered.
	Code int
	// Answered reports a JSON answer with an error_code (Answer.Answered).
	Answered bool
	Billed   bool // error_code 0: what the vendor charges
	// PossiblyBilled is a call that may have reached the vendor without an
	// intact answer (Answer.PossiblyBilled).
	PossiblyBilled bool
	// Simulated is an answer of a simulated API (Answer.Simulated).
	Simulated bool
	// JobID is the answer's jobid (单号), empty when it gave none.
	JobID string
	// MayReachBank is false when the answer proves the bank was not asked
	// (a system-level code 10xxx, an HTTP error status from the gateway).
	// Such calls do not count toward the card's daily limit; calls that
	// never ended (in flight, or lost in a crash) do count.
	MayReachBank bool
}

// Checkpoint is the durable state of a job: which rows exist, what each pair
// got, and a ledger of every call. Implemented by store.DB. Its methods are
// safe for concurrent use.
type Checkpoint interface {
	// Plan records a batch of data rows, given in increasing row order, and
	// fills known[i] for rows[i] (len(known) == len(rows)), its FirstRow by
	// the rule of FirstRows. Invalid rows get a zero Known. A row recorded
	// earlier with a different fingerprint (the input was edited) fails
	// with an *InputError naming it. Plan sees every outcome passed to End
	// before it, committed yet or not.
	Plan(ctx context.Context, rows []Row, known []Known) error
	// Begin records that call c is about to be sent and returns once that
	// record is durable, so that a crash can never hide a call that was
	// sent. It returns ErrCardLimit, recording nothing, when
	// CardCallAllowed(n, limit) is false for the n calls that c.Card already
	// had on the China day of c.SentAt (see Call.MayReachBank); concurrent
	// Begins for one card are decided one at a time.
	Begin(ctx context.Context, c Call, limit int) (id int64, err error)
	// End records the answer of call id and, when o is not nil, the pair's
	// new outcome (id 0: no call was made, only o is recorded). It may
	// return before the record is durable; it is when the checkpoint is
	// closed.
	End(ctx context.Context, id int64, c Call, o *Outcome) error
}

// Result is a row's outcome as the checkpoint holds it, for the output.
type Result struct {
	// Row is the row's own number; Outcome.FirstRow is its pair's first
	// row, and DupOf is set when that is another row.
	Row int
	Outcome
	// Masked is the row's card number as recorded: first 6 and last 4
	// digits.
	Masked string
	// Pair is the fingerprint of the row's (name, card) (Known.Pair); the
	// zero Key for an invalid row, which has none.
	Pair Key
}

// Results yields the recorded outcome of every data row, in increasing row
// order; Next returns io.EOF after the last. Duplicate rows carry their
// pair's outcome with DupOf set.
type Results interface {
	// Next returns the next row's Result, or io.EOF after the last.
	Next() (Result, error)
}

// Sink receives every record of the input, in order, with the outcome of
// data rows (the zero Outcome for other kinds). Implemented by writer.
type Sink interface {
	// Write writes rec with its outcome o; an error stops the output.
	Write(rec Record, o Outcome) error
}
