package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// handle makes the calls for one pair until it has a final outcome, the run
// stops dispatching (the pair then stays pending), or ctx ends. Calls run
// under ctx, waits under pause.
func (r *runner) handle(ctx, pause context.Context, j job) error {
	defer r.release(j.pair)
	defer r.count(func(s *Stats) { s.Done++ })
	throttled := 0
	var last Answer
	for attempt := 1; ; {
		if r.stopping(pause) {
			return nil
		}
		if err := r.limiter.wait(pause); err != nil {
			return nil
		}
		if !r.reserve() {
			r.halt("budget of billed calls reached", ErrBudget)
			return nil
		}
		call := Call{Row: j.row, Pair: j.pair, Card: j.cardKey, Attempt: attempt + throttled, SentAt: r.cfg.Now()}
		id, err := r.ck.Begin(ctx, call)
		if err != nil {
			r.settle(call, false)
			if errors.Is(err, ErrCardLimit) {
				return r.end(ctx, 0, call, r.outcome(j, Deferred, last, attempt-1,
					"card already had its daily checks (China time): retried on a later day so that the bank does not lock it"))
			}
			return err
		}
		a, err := r.v.Verify(ctx, j.name, j.card)
		if err != nil && ctx.Err() != nil {
			// Abandoned: the ledger keeps the call as sent with no answer.
			return ctx.Err()
		}
		call.Duration = r.cfg.Now().Sub(call.SentAt)
		r.latency.add(call.Duration)
		call.HTTPStatus, call.Code, call.Answered, call.JobID = a.HTTPStatus, a.Code, a.Answered, a.JobID
		// The vendor bills every error_code 0 ("返回值为0才计费"), with a
		// verdict or not.
		call.Billed = a.Answered && a.Code == 0
		call.MayReachBank = mayReachBank(a)
		r.settle(call, true)
		last = a

		switch {
		case call.Billed && a.Res != 1 && a.Res != 2:
			// Paid for, but no verdict: sending it again would pay twice.
			return r.end(ctx, id, call, r.outcome(j, Failed, a, attempt,
				"the API answered error_code 0 (billed) without a verdict (res 1 or 2); not sent again so as not to pay twice: ask Juhe about this call"))
		case call.Billed:
			status := Match
			if a.Res == 2 {
				status = Mismatch
			}
			r.limiter.recover()
			o := r.outcome(j, status, a, attempt, a.Reason)
			if err := r.end(ctx, id, call, o); err != nil {
				return err
			}
			return r.remember(ctx, j, o)
		case a.Class == Reject:
			r.limiter.recover()
			return r.end(ctx, id, call, r.outcome(j, Rejected, a, attempt, a.Reason))
		case a.Class == Defer:
			r.limiter.recover()
			return r.end(ctx, id, call, r.outcome(j, Deferred, a, attempt, a.Reason))
		case a.Class == Fatal:
			r.halt(fmt.Sprintf("API error %d", a.Code), &APIError{Code: a.Code, Reason: a.Reason, Hint: a.Hint})
			return r.end(ctx, id, call, nil)
		case a.Class == Throttle && throttled < throttleLimit:
			r.limiter.backOff(a.RetryAfter)
			throttled++
			if err := r.end(ctx, id, call, nil); err != nil {
				return err
			}
			continue
		case attempt >= r.cfg.MaxAttempts || a.Class == Throttle:
			return r.end(ctx, id, call, r.outcome(j, Failed, a, attempt,
				fmt.Sprintf("gave up after %d attempts: %s", attempt+throttled, a.Reason)))
		}
		// A transient failure: wait, then try again.
		if err := r.end(ctx, id, call, nil); err != nil {
			return err
		}
		if !sleep(pause, r.cfg.Backoff(attempt)) {
			return nil
		}
		attempt++
	}
}

func (r *runner) end(ctx context.Context, id int64, c Call, o *Outcome) error {
	if o != nil {
		r.count(func(s *Stats) { s.Outcomes[o.Status]++ })
	}
	return r.ck.End(ctx, id, c, o)
}

// outcome builds the final outcome of a pair from its last answer a.
func (r *runner) outcome(j job, s Status, a Answer, attempts int, reason string) *Outcome {
	return &Outcome{
		Row:      j.row,
		Status:   s,
		Res:      a.Res,
		JobID:    a.JobID,
		Code:     a.Code,
		Answered: a.Answered,
		Reason:   reason,
		Attempts: attempts,
		At:       r.cfg.Now(),
	}
}

// mayReachBank reports whether the bank may have been asked during a call
// that ended with a: a system-level code (10xxx) or an HTTP error status
// from the gateway proves it was not.
func mayReachBank(a Answer) bool {
	if a.Answered {
		return a.Code == 0 || a.Code >= 100000
	}
	return a.HTTPStatus == 0 || a.HTTPStatus == 200
}

// reserve books a call that may be billed, unless that could exceed the
// budget.
func (r *runner) reserve() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cfg.MaxBilled > 0 && r.stats.Billed+r.reserved >= r.cfg.MaxBilled {
		return false
	}
	r.reserved++
	return true
}

// settle releases a call's reservation and counts it if it was sent.
func (r *runner) settle(c Call, sent bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reserved--
	if sent {
		r.stats.Calls++
	}
	if c.Billed {
		r.stats.Billed++
	}
}

// sleep waits for d or until ctx ends, and reports whether it waited all of
// d.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// throttle is the rate limiter, slowed down when the API says so: halved on
// a 10011 or HTTP 429 (at most once a second, since one burst of the API's
// limit answers many calls in flight at once) and paused for its
// Retry-After, then raised again by a fiftieth of the target rate with each
// good answer.
type throttle struct {
	lim    *rate.Limiter
	target float64

	mu      sync.Mutex
	until   time.Time // no call before this (Retry-After)
	lastCut time.Time
}

// waitSlice is the longest a worker waits on one reservation of the
// limiter. A reservation made while the rate was cut keeps its slow slot
// even after the rate recovers; waiting in slices lets a recovered rate
// apply at once.
const waitSlice = 250 * time.Millisecond

func newThrottle(qps float64) *throttle {
	// A burst of 2% of a second's calls: no second sees more than ~2% over
	// the rate, and a pause of the workers is not made up at once.
	burst := max(1, int(qps*0.02))
	return &throttle{lim: rate.NewLimiter(rate.Limit(qps), burst), target: qps}
}

func (t *throttle) wait(ctx context.Context) error {
	for {
		t.mu.Lock()
		d := time.Until(t.until)
		t.mu.Unlock()
		if d > 0 && !sleep(ctx, min(d, waitSlice)) {
			return ctx.Err()
		}
		if d > waitSlice {
			continue
		}
		res := t.lim.Reserve()
		if d := res.Delay(); d <= waitSlice {
			if !sleep(ctx, d) {
				res.Cancel()
				return ctx.Err()
			}
			return nil
		}
		res.Cancel()
		if !sleep(ctx, waitSlice) {
			return ctx.Err()
		}
	}
}

func (t *throttle) backOff(retryAfter time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	if now.Sub(t.lastCut) >= time.Second {
		t.lastCut = now
		t.lim.SetLimit(max(t.lim.Limit()/2, rate.Limit(t.target/64)))
	}
	if until := now.Add(retryAfter); retryAfter > 0 && until.After(t.until) {
		t.until = until
	}
}

func (t *throttle) recover() {
	if cur := float64(t.lim.Limit()); cur < t.target {
		t.lim.SetLimit(rate.Limit(min(t.target, cur+t.target/50)))
	}
}

func (t *throttle) current() float64 { return float64(t.lim.Limit()) }

// latency keeps the last call durations to estimate the p95 latency, which
// sizes the worker pool.
type latency struct {
	mu     sync.Mutex
	ring   []time.Duration
	next   int
	fresh  int // samples since p95 was last computed
	cached time.Duration
}

func newLatency(n int) *latency { return &latency{ring: make([]time.Duration, 0, n)} }

func (l *latency) add(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.ring) < cap(l.ring) {
		l.ring = append(l.ring, d)
	} else {
		l.ring[l.next] = d
		l.next = (l.next + 1) % len(l.ring)
	}
	l.fresh++
}

// p95 returns the 95th percentile of the kept durations, recomputed at most
// once per 32 new samples.
func (l *latency) p95() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fresh >= 32 || (l.cached == 0 && len(l.ring) > 0) {
		s := slices.Clone(l.ring)
		slices.Sort(s)
		l.cached = s[len(s)*95/100]
		l.fresh = 0
	}
	return l.cached
}
