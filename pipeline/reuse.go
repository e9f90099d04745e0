package pipeline

import (
	"context"
	"fmt"
	"time"
)

// Verdict is a real billed verdict on a (name, card) pair, as the history of
// earlier jobs keeps it. The zero Verdict (Status Pending) is "none".
type Verdict struct {
	Status Status    // Match or Mismatch
	Res    int       // the API's res: 1 match, 2 mismatch
	JobID  string    // the API's jobid (单号) of the call that gave it
	At     time.Time // when the API gave it
}

// History is the record of real billed verdicts across jobs, which lets a
// run reuse a recent verdict instead of paying for the same pair again
// (--reuse-within). Implemented by store.History; safe for concurrent use.
//
// The rules stay here: which verdicts are recorded (real billed answers of
// this run, never in a dry run; the caller gives no History to a simulated
// run) and which are reused (the latest, if verified within
// Config.ReuseWithin).
type History interface {
	// Latest fills found[i] with the latest verdict recorded on the
	// normalised pair of rows[i], or the zero Verdict when there is none
	// (len(found) == len(rows)). Invalid rows are not looked up.
	Latest(ctx context.Context, rows []Row, found []Verdict) error
	// Record adds o, the new billed verdict of this run on (name, card).
	// It may return before the record is durable (a verdict lost in a
	// crash is still in the checkpoint, which can be imported); it returns
	// the error of an earlier write, if one failed.
	Record(ctx context.Context, name, card string, o Outcome) error
}

// reuse gives the rows of a planned batch that would be sent a verdict from
// the history, when one was verified within Config.ReuseWithin: the
// verdict, its jobid and time, and a reason that says so, recorded in the
// checkpoint as the pair's final outcome, with no call. It returns which
// rows it settled (counted as read and reused); the others are for decide.
func (r *runner) reuse(ctx context.Context, rows []Row, known []Known) ([]bool, error) {
	taken := r.taken[:0]
	for range rows {
		taken = append(taken, false)
	}
	r.taken = taken
	if r.cfg.History == nil || r.cfg.ReuseWithin <= 0 {
		return taken, nil
	}
	// Ask only about the rows that would be sent.
	ask, at := r.ask[:0], r.askAt[:0]
	r.mu.Lock()
	for i, row := range rows {
		k := known[i]
		if row.Invalid != "" || k.FirstRow != row.Row || !r.eligible(k.Prior) {
			continue
		}
		if _, busy := r.inflight[k.Pair]; busy {
			continue
		}
		ask, at = append(ask, row), append(at, i)
	}
	r.mu.Unlock()
	r.ask, r.askAt = ask, at
	if len(ask) == 0 {
		return taken, nil
	}
	found := r.found[:0]
	for range ask {
		found = append(found, Verdict{})
	}
	r.found = found
	if err := r.cfg.History.Latest(ctx, ask, found); err != nil {
		return taken, fmt.Errorf("look up the history: %w", err)
	}
	since := r.cfg.Now().Add(-r.cfg.ReuseWithin)
	for j, v := range found {
		// Only a real billed verdict is ever reused, and never one
		// older than --reuse-within (a purge keeps only younger ones).
		if !v.Status.Billed() || v.At.Before(since) {
			continue
		}
		i := at[j]
		row, k := rows[i], known[i]
		taken[i] = true
		r.count(func(s *Stats) {
			s.Rows++
			s.Reused++
			if s.OldestReused.IsZero() || v.At.Before(s.OldestReused) {
				s.OldestReused = v.At
			}
		})
		if r.cfg.DryRun {
			continue
		}
		o := reusedOutcome(row.Row, v)
		if err := r.ck.End(ctx, 0, Call{FirstRow: row.Row, Pair: k.Pair, CardKey: k.CardKey}, &o); err != nil {
			return taken, err
		}
	}
	return taken, nil
}

// reusedOutcome is the outcome of row no given verdict v from the history:
// the original verdict, res, jobid and time, and no call of this job. A
// billed status with zero Attempts is what marks a reused verdict in a
// checkpoint (store.DB.Reused counts them): every verdict of a call has one
// attempt at least.
func reusedOutcome(no int, v Verdict) Outcome {
	return Outcome{
		FirstRow: no,
		Status:   v.Status,
		Res:      v.Res,
		JobID:    v.JobID,
		Answered: true,
		Reason:   ReusedReason(v),
		At:       v.At,
	}
}

// ReusedReason is the reason of a row whose verdict was reused from the
// history: when it was verified (China time) and under which jobid.
func ReusedReason(v Verdict) string {
	return Reason(Reused, v.At.In(chinaZone).Format("2006-01-02 15:04"), v.JobID)
}

// remember records a new billed verdict of this run in the history.
func (r *runner) remember(ctx context.Context, j job, o *Outcome) error {
	if r.cfg.History == nil || r.cfg.DryRun || !o.Status.Billed() || o.Simulated {
		return nil
	}
	if err := r.cfg.History.Record(ctx, j.name, j.card, *o); err != nil {
		return fmt.Errorf("record row %d in the history: %w", j.firstRow, err)
	}
	return nil
}
