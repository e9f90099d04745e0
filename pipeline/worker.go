package pipeline

import (
	"context"
	"errors"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// handle makes the calls for one pair until it has a final outcome, the run
// stops dispatching (the pair then stays pending), or ctx ends. Calls run
// under ctx, waits under pause.
func (r *runner) handle(ctx, pause context.Context, j job) error {
	defer r.release(j.pair)
	var t tries
	defer func() {
		if !t.held { // a held row ends when it is decided (decideHeld)
			r.cfg.Tee.pairEnded(j.firstRow)
		}
	}()
	final := false
	defer r.count(func(s *Stats) {
		s.Done++
		if !final {
			s.Abandoned++
		}
	})
	// end records the call and, when o is not nil, the pair's final
	// outcome.
	end := func(ctx context.Context, id int64, c Call, o *Outcome) error {
		final = final || o != nil
		return r.end(ctx, id, c, o)
	}
	for attempt := 1; ; {
		if r.stopping(pause) {
			return nil
		}
		if err := r.limiter.wait(pause, r.longWait); err != nil {
			return nil
		}
		if !r.reserve() {
			r.halt(Reason(StopBudget, r.cfg.MaxBilled), ErrBudget)
			return nil
		}
		call := Call{FirstRow: j.firstRow, Pair: j.pair, CardKey: j.cardKey, Attempt: attempt + t.throttled + t.unreached, SentAt: r.cfg.Now()}
		id, err := r.ck.Begin(ctx, call, CardDailyLimit)
		if err != nil {
			r.settle(call, false)
			if errors.Is(err, ErrCardLimit) {
				return end(ctx, 0, call, r.outcome(j, Deferred, t.last, attempt-1, Reason(CardLimit)))
			}
			return err
		}
		a, err := r.v.Verify(ctx, j.name, j.card)
		if err != nil && ctx.Err() != nil {
			// Abandoned: the ledger keeps the call as sent with no answer
			// (possibly billed).
			return ctx.Err()
		}
		call.Duration = r.cfg.Now().Sub(call.SentAt)
		r.latency.add(call.Duration)
		call.HTTPStatus, call.Code, call.Answered, call.JobID = a.HTTPStatus, a.Code, a.Answered, a.JobID
		// The vendor bills every error_code 0 ("返回值为0才计费"), with a
		// verdict or not.
		call.Billed = a.Answered && a.Code == 0
		call.PossiblyBilled = !call.Billed && a.PossiblyBilled
		call.Simulated = a.Simulated || r.cfg.Simulated
		call.MayReachBank = mayReachBank(a)
		r.settle(call, true)
		t.last = a

		s, err := r.afterCall(ctx, pause, j, &t, sent{id: id, call: call, a: a, attempt: attempt}, end)
		if err != nil || s == stepDone {
			return err
		}
		if s == stepNext {
			attempt++
		}
	}
}

// tries counts the calls of one pair that were not attempts proper, and
// keeps the last answer.
type tries struct {
	throttled, unreached int
	last                 Answer
	held                 bool // the last answer was held (runner.suspect)
}

// sent is one call of a pair, recorded as begun (id), and its answer.
type sent struct {
	id      int64
	call    Call
	a       Answer
	attempt int
}

// endFunc records a call and, when o is not nil, the pair's final outcome.
type endFunc func(ctx context.Context, id int64, c Call, o *Outcome) error

// step is what follows a call of a pair.
type step int

const (
	stepDone  step = iota // the pair is done with, or the run stops: handle returns
	stepRetry             // call again, as the same attempt (unreachable, throttled)
	stepNext              // call again, as the next attempt (a transient failure)
)

// afterCall deals with the answer to a call that may not have reached the
// API, or may show the run's settings wrong, then with the others
// (answered).
func (r *runner) afterCall(ctx, pause context.Context, j job, t *tries, c sent, end endFunc) (step, error) {
	switch a := c.a; {
	case a.Class == Unreachable:
		// The request never left the machine: the row is not decided
		// by it and stays pending if the fault lasts.
		if err := end(ctx, c.id, c.call, nil); err != nil {
			return stepDone, err
		}
		t.unreached++
		if r.unreachable(a) || t.unreached >= r.cfg.MaxAttempts {
			return stepDone, nil
		}
		if !r.backoff(pause, r.cfg.Backoff(t.unreached)) {
			return stepDone, nil
		}
		return stepRetry, nil
	case a.Class == Unusable:
		r.halt(Reason(StopConfig), &ConfigError{Reason: a.Reason, Hint: a.Hint})
		return stepDone, end(ctx, c.id, c.call, nil)
	case a.Suspect && r.suspect(j, a, c.call, c.attempt):
		// Held: decided once the run shows whether its settings are
		// right (see runner.suspect).
		t.held = true
		return stepDone, end(ctx, c.id, c.call, nil)
	}
	r.reached(c.a)
	return r.answered(ctx, pause, j, t, c, end)
}

// answered records the outcome an answer gives the pair, or what to do
// next: slow down, or wait and try again.
func (r *runner) answered(ctx, pause context.Context, j job, t *tries, c sent, end endFunc) (step, error) {
	a, call, id, attempt := c.a, c.call, c.id, c.attempt
	switch {
	case call.Billed && a.Foreign:
		return stepDone, end(ctx, id, call, r.outcome(j, Failed, a, attempt, Reason(BilledForeign)))
	case call.Billed && a.Res != 1 && a.Res != 2:
		// Paid for, but no verdict: sending it again would pay twice.
		return stepDone, end(ctx, id, call, r.outcome(j, Failed, a, attempt, Reason(BilledNoVerdict)))
	case call.Billed:
		status := Match
		if a.Res == 2 {
			status = Mismatch
		}
		r.limiter.recover()
		reason := answerReason(a)
		if a.JobID == "" {
			reason = JoinReasons(reason, Reason(NoJobID))
		}
		o := r.outcome(j, status, a, attempt, reason)
		if err := end(ctx, id, call, o); err != nil {
			return stepDone, err
		}
		return stepDone, r.remember(ctx, j, o)
	case a.Class == Reject:
		r.limiter.recover()
		return stepDone, end(ctx, id, call, r.outcome(j, Rejected, a, attempt, answerReason(a)))
	case a.Class == Defer:
		r.limiter.recover()
		return stepDone, end(ctx, id, call, r.outcome(j, Deferred, a, attempt, answerReason(a)))
	case a.Class == Fatal:
		r.halt(Reason(StopAPI, a.Code), &APIError{Code: a.Code, Reason: a.Reason, Hint: a.Hint})
		return stepDone, end(ctx, id, call, nil)
	case a.Class == Throttle && t.throttled < throttleLimit:
		r.limiter.backOff(a.RetryAfter)
		t.throttled++
		r.count(func(s *Stats) { s.Throttled++ })
		return stepRetry, end(ctx, id, call, nil)
	case attempt >= r.cfg.MaxAttempts || a.Class == Throttle:
		return stepDone, end(ctx, id, call, r.outcome(j, Failed, a, attempt,
			JoinReasons(Reason(GaveUp, attempt+t.throttled), answerReason(a))))
	}
	// A transient failure: wait, then try again.
	if err := end(ctx, id, call, nil); err != nil {
		return stepDone, err
	}
	if !r.backoff(pause, r.cfg.Backoff(attempt)) {
		return stepDone, nil
	}
	return stepNext, nil
}

// Streaks that show a systemic fault. Before any call of a run reached the
// API, startStreak unreachable calls in a row stop it: a wrong --base-url
// stops within seconds, whatever the size of the list. Later, an outage
// must last: midStreak unreachable calls in a row over at least midSpan.
// startStreak suspect answers (218808 on the encrypted endpoint) before any
// verdict or other answer stop the run too.
const (
	startStreak = 3
	midStreak   = 32
	midSpan     = 10 * time.Second
)

// unreachable counts a call that never reached the API and stops the run
// when the streak shows a systemic fault. It reports whether it did.
func (r *runner) unreachable(a Answer) bool {
	r.mu.Lock()
	now := r.cfg.Now()
	if r.streak.n == 0 {
		r.streak.since = now
	}
	r.streak.n++
	stop := (!r.streak.reached && r.streak.n >= startStreak) ||
		(r.streak.n >= midStreak && now.Sub(r.streak.since) >= midSpan)
	n := r.streak.n
	r.mu.Unlock()
	if stop {
		r.halt(Reason(StopConfig), &ConfigError{Reason: JoinReasons(Reason(ConfigStreak, n), a.Reason), Hint: a.Hint})
	}
	return stop
}

// reached notes an answer from the API: it ends a streak of unreachable
// calls, and a verdict or a per-row code that is not suspect shows that
// the run's settings work, which decides the held suspect rows.
func (r *runner) reached(a Answer) {
	r.mu.Lock()
	r.streak.reached = true
	r.streak.n = 0
	trusted := !r.trusted && (a.Class == Billed || a.Class == Reject || a.Class == Defer)
	var held []heldRow
	if trusted {
		r.trusted = true
		held, r.held = r.held, nil
	}
	r.mu.Unlock()
	r.decideHeld(held)
}

// heldRow is a row answered with a suspect code before the run showed that
// its settings work.
type heldRow struct {
	j       job
	a       Answer
	call    Call
	attempt int
}

// suspect holds a row answered with a suspect code while no answer of the
// run has shown its settings right, and stops the run at startStreak such
// rows: they stay pending. It reports whether it held the row; once the
// settings are shown right, suspect codes are ordinary answers.
func (r *runner) suspect(j job, a Answer, c Call, attempt int) bool {
	r.mu.Lock()
	if r.trusted {
		r.mu.Unlock()
		return false
	}
	r.held = append(r.held, heldRow{j: j, a: a, call: c, attempt: attempt})
	r.suspects++
	n := r.suspects
	r.mu.Unlock()
	if n >= startStreak {
		r.halt(Reason(StopConfig), &ConfigError{Reason: Reason(ConfigFirst, n, a.Code), Hint: a.Hint})
	}
	return true
}

// decideHeld records the outcome of rows held by suspect, as the ordinary
// answers they turned out to be.
func (r *runner) decideHeld(held []heldRow) {
	for _, h := range held {
		o := r.outcome(h.j, Rejected, h.a, h.attempt, h.a.Reason)
		if err := r.end(context.Background(), 0, h.call, o); err != nil {
			r.halt(Reason(StopConfig), err)
		}
		r.cfg.Tee.pairEnded(h.j.firstRow)
	}
}

func (r *runner) end(ctx context.Context, id int64, c Call, o *Outcome) error {
	if o != nil {
		r.count(func(s *Stats) { s.Outcomes[o.Status]++ })
	}
	return r.ck.End(ctx, id, c, o)
}

// answerReason is the reason of answer a: the vendor's code and reason,
// verbatim, when it answered; the client's description otherwise.
func answerReason(a Answer) string {
	if !a.Answered {
		return a.Reason
	}
	if v := lastVendor.Load(); v != nil && v.code == a.Code && v.reason == a.Reason {
		return v.encoded
	}
	v := &vendorReason{code: a.Code, reason: a.Reason, encoded: Reason(Vendor, a.Code, a.Reason)}
	lastVendor.Store(v)
	return v.encoded
}

// vendorReason is a vendor's code and reason with their encoding.
type vendorReason struct {
	code            int
	reason, encoded string
}

// lastVendor is the vendor reason encoded last: nearly every answer of a
// run repeats it (0, 成功), and encoding it anew took more CPU than the
// rest of the outcome.
var lastVendor atomic.Pointer[vendorReason]

// outcome builds the final outcome of a pair from its last answer a.
func (r *runner) outcome(j job, s Status, a Answer, attempts int, reason string) *Outcome {
	return &Outcome{
		FirstRow:  j.firstRow,
		Status:    s,
		Res:       a.Res,
		JobID:     a.JobID,
		Code:      a.Code,
		Answered:  a.Answered,
		Reason:    reason,
		Attempts:  attempts,
		At:        r.cfg.Now(),
		Simulated: a.Simulated || r.cfg.Simulated,
	}
}

// mayReachBank reports whether the bank may have been asked during a call
// that ended with a: a system-level code (10xxx), an HTTP error status from
// the gateway, or a request that never left the machine proves it was not.
func mayReachBank(a Answer) bool {
	if a.Class == Unreachable {
		return false
	}
	if a.Answered {
		return a.Code == 0 || a.Code >= 100000
	}
	return a.HTTPStatus == 0 || a.HTTPStatus == 200
}

// reserve books a call that may be billed, unless that could exceed the
// budget: billed and possibly billed calls, and those in flight. A
// simulated run counts what the real API would have billed, so that it
// rehearses a real run's budget.
func (r *runner) reserve() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	spent := r.stats.Billed + r.stats.PossiblyBilled + r.reserved
	if r.cfg.Simulated {
		spent += r.stats.SimulatedBilled
	}
	if r.cfg.MaxBilled > 0 && spent >= r.cfg.MaxBilled {
		return false
	}
	r.reserved++
	return true
}

// settle releases a call's reservation and counts it if it was sent. A
// simulated call is counted apart: nobody bills it.
func (r *runner) settle(c Call, sent bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reserved--
	switch {
	case !sent:
	case c.Simulated:
		r.stats.Calls++
		r.stats.Simulated++
		if c.Billed {
			r.stats.SimulatedBilled++
		}
	default:
		r.stats.Calls++
		if c.Billed {
			r.stats.Billed++
		}
		if c.PossiblyBilled {
			r.stats.PossiblyBilled++
		}
	}
}

// LongWait is the longest a worker waits unannounced: when every worker
// waits longer (Stats.WaitUntil), progress and the log say until when.
const LongWait = 5 * time.Second

// longWait is a worker's wait longer than LongWait: until when, and why.
type longWait struct {
	until time.Time
	why   Code
}

// longWait records that a worker waits for a call's slot until until; the
// returned func ends the record. Its reason is the rate: cut after the API
// throttled, or --qps.
func (r *runner) longWait(until time.Time) func() {
	why := WaitQPS
	if r.limiter.current() < r.cfg.QPS*0.99 {
		why = WaitThrottle
	}
	return r.waiting(until, why)
}

// waiting records a worker's wait until until, for why, until the returned
// func is called.
func (r *runner) waiting(until time.Time, why Code) func() {
	w := &longWait{until: until, why: why}
	r.count(func(*Stats) { r.longs[w] = struct{}{} })
	return func() { r.count(func(*Stats) { delete(r.longs, w) }) }
}

// backoff waits d before a retry, or until ctx ends, recording a wait
// longer than LongWait; it reports whether it waited all of d.
func (r *runner) backoff(ctx context.Context, d time.Duration) bool {
	if d > LongWait {
		defer r.waiting(r.cfg.Now().Add(d), WaitRetry)()
	}
	return sleep(ctx, d)
}

// sleep waits for d or until ctx ends, and reports whether it waited all of
// d.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		// Below the rate (a fast run's every call): no timer.
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// throttle is the rate limiter, slowed down when the API says so. On a
// 10011 or HTTP 429 (at most once a second, since one burst over the API's
// limit answers many calls in flight at once) the rate is set just below
// the rate of good answers of the last second, which is the API's limit
// when it throttles, or halved when too little was seen to measure; a
// Retry-After pauses every call. Each good answer then raises the rate
// slowly (about 1% a second) toward the target, probing the limit again
// without a burst of throttled calls.
type throttle struct {
	lim    *rate.Limiter
	target float64
	now    func() time.Time // the clock; time.Now but in tests

	mu        sync.Mutex
	until     time.Time // no call before this (Retry-After)
	lastCut   time.Time
	lastRaise time.Time
	ceiling   float64  // the good rate measured at the last cut: the API's limit
	confirmed bool     // the cut before found the same ceiling (within 5%)
	hit       float64  // the rate at the last cut: throttled there
	good      goodRate // good answers
	bad       goodRate // throttled answers
}

// Throttle tuning: below is the share of the measured good rate kept after
// a throttled answer, raise the rate's growth per raiseEvery up to the
// ceiling (the good rate at the last cut), probe its growth above it. Each
// probe past the API's limit costs a few throttled calls, so above the
// limit last seen the rate grows ten times slower: probes are rare, and a
// small limit (20 calls a second) sees few throttled calls. The ceiling
// counts only once two cuts in a row found it (a first cut, while the run
// starts, can measure too low a rate), and is forgotten ceilingFor after
// the last cut, in case the API's limit rose.
const (
	below      = 0.97
	raise      = 0.001
	probe      = 0.0001
	fast       = 0.005 // the growth per raiseEvery back to fastTo·hit after a cut
	fastTo     = 0.9
	raiseEvery = 100 * time.Millisecond
	ceilingFor = 30 * time.Second
)

// waitSlice is the longest a worker waits on one reservation of the
// limiter. A reservation made while the rate was cut keeps its slow slot
// even after the rate recovers; waiting in slices lets a recovered rate
// apply at once.
const waitSlice = 250 * time.Millisecond

func newThrottle(qps float64) *throttle {
	// A burst of 2% of a second's calls: no second sees more than ~2% over
	// the rate, and a pause of the workers is not made up at once.
	burst := max(1, int(qps*0.02))
	return &throttle{lim: rate.NewLimiter(rate.Limit(qps), burst), target: qps, now: time.Now}
}

// wait waits for a call's slot, or until ctx ends. When the next slot is
// more than LongWait away, long (if not nil) is told until when; the func
// it returns is called when the wait ends.
func (t *throttle) wait(ctx context.Context, long func(until time.Time) func()) error {
	var end func()
	defer func() {
		if end != nil {
			end()
		}
	}()
	for {
		now := t.now()
		d, res := t.take(now)
		if res == nil && end == nil && long != nil {
			if next := t.nextSlot(now); next > LongWait {
				end = long(now.Add(next))
			}
		}
		if !sleep(ctx, d) {
			if res != nil {
				res.Cancel()
			}
			return ctx.Err()
		}
		if res != nil {
			return nil
		}
	}
}

// take reserves, at now, the slot of a call that may go after the returned
// delay; or, when no slot is due within waitSlice (or a Retry-After pause
// lasts), returns no reservation and how long to wait before trying again.
func (t *throttle) take(now time.Time) (time.Duration, *rate.Reservation) {
	t.mu.Lock()
	d := t.until.Sub(now)
	t.mu.Unlock()
	if d > 0 {
		return min(d, waitSlice), nil
	}
	res := t.lim.ReserveN(now, 1)
	if d := res.DelayFrom(now); d <= waitSlice {
		return d, res
	}
	res.CancelAt(now)
	return waitSlice, nil
}

// nextSlot is how long from now the limiter's next slot is, a Retry-After
// pause aside (announced on its own).
func (t *throttle) nextSlot(now time.Time) time.Duration {
	t.mu.Lock()
	paused := t.until.After(now)
	t.mu.Unlock()
	if paused {
		return 0
	}
	res := t.lim.ReserveN(now, 1)
	defer res.CancelAt(now)
	return res.DelayFrom(now)
}

func (t *throttle) backOff(retryAfter time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	t.bad.add(now)
	// A throttled answer or two among many good ones is the API's bucket
	// catching a burst, not a rate above its limit: cutting for it would
	// ratchet the rate down.
	bad := t.bad.lastSecond(now)
	good, measured := t.good.perSecond(now)
	if now.Sub(t.lastCut) >= time.Second && (!measured || float64(bad) >= max(2, good/100)) {
		t.lastCut, t.lastRaise = now, now
		cur := float64(t.lim.Limit())
		next := cur / 2
		if measured {
			next = min(cur, below*good)
			t.confirmed = math.Abs(good-t.ceiling) <= 0.05*t.ceiling
			t.ceiling, t.hit = good, cur
		}
		t.setRate(now, max(next, t.target/64))
	}
	if until := now.Add(retryAfter); retryAfter > 0 && until.After(t.until) {
		t.until = until
	}
}

// recover notes a good answer and raises the rate a little.
func (t *throttle) recover() {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	t.good.add(now)
	if now.Sub(t.lastRaise) < raiseEvery {
		return
	}
	t.lastRaise = now
	cur := float64(t.lim.Limit())
	next := cur*(1+raise) + 0.01
	switch {
	case cur < fastTo*t.hit:
		// Back quickly to just under the rate the API took until it
		// throttled: a cut measured in a bad second can go deep.
		next = min(cur*(1+fast), fastTo*t.hit)
	case t.confirmed && cur >= t.ceiling && now.Sub(t.lastCut) < ceilingFor:
		next = cur * (1 + probe)
	}
	if cur < t.target {
		t.setRate(now, min(t.target, next))
	}
}

// setRate sets the limiter's rate at now, its burst 2% of it: a rate cut
// for the API keeps no burst of the rate asked for.
func (t *throttle) setRate(now time.Time, r float64) {
	t.lim.SetLimitAt(now, rate.Limit(r))
	t.lim.SetBurstAt(now, max(1, int(r*0.02)))
}

// pausedUntil is the end of the Retry-After pause, zero when there is none.
func (t *throttle) pausedUntil() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.now().After(t.until) {
		return time.Time{}
	}
	return t.until
}

// goodRate counts good answers in slots of a tenth of a second over the last
// second.
type goodRate struct {
	slots [10]struct {
		at int64 // slot number: UnixNano / 100ms
		n  int
	}
	first time.Time
}

func (g *goodRate) add(now time.Time) {
	if g.first.IsZero() {
		g.first = now
	}
	k := now.UnixNano() / int64(raiseEvery)
	s := &g.slots[k%int64(len(g.slots))]
	if s.at != k {
		s.at, s.n = k, 0
	}
	s.n++
}

// perSecond returns the answers per second over the whole slots of the
// last second, or false when fewer than 200 ms were observed.
func (g *goodRate) perSecond(now time.Time) (float64, bool) {
	span := min(now.Sub(g.first)-raiseEvery, time.Second-raiseEvery)
	if g.first.IsZero() || span < 200*time.Millisecond {
		return 0, false
	}
	k := now.UnixNano() / int64(raiseEvery) // the slot under way, left out
	n := 0
	for _, s := range g.slots {
		if s.at >= k-int64(len(g.slots))+1 && s.at < k {
			n += s.n
		}
	}
	return float64(n) / span.Seconds(), n > 0
}

// lastSecond returns the answers counted over the last second, the slot
// under way included.
func (g *goodRate) lastSecond(now time.Time) int {
	k := now.UnixNano() / int64(raiseEvery)
	n := 0
	for _, s := range g.slots {
		if s.at > k-int64(len(g.slots)) && s.at <= k {
			n += s.n
		}
	}
	return n
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
