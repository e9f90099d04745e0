package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
)

// Config tunes a Run. The zero value of each field takes the default given.
type Config struct {
	// QPS is the most calls per second sent to the API (default 10).
	QPS float64
	// Workers is the number of concurrent calls. 0 sizes the pool as the
	// run goes (see sizer): it grows while more workers raise the rate of
	// calls, and never past what QPS needs at the p95 latency.
	Workers int
	// MaxAttempts is the most calls for one pair in one run before it is
	// marked failed (default 4).
	MaxAttempts int
	// MaxBilled, when positive, is the most billed and possibly billed
	// calls this run may make. Calls in flight count as reserved, so it is
	// never exceeded.
	MaxBilled int
	// RetryFailed sends pairs that failed in an earlier run again.
	RetryFailed bool
	// RetryDeferred sends deferred pairs again even on the day they were
	// deferred. Without it they are retried only on a later day.
	RetryDeferred bool
	// Simulated says the run calls a simulated API (--sandbox): its
	// outcomes are simulated, and it takes the simulated outcomes of earlier
	// runs as done. A run that is not Simulated verifies those rows again,
	// for real.
	Simulated bool
	// DryRun records and counts every row but makes no call.
	DryRun bool
	// Stop, when closed, ends the run gracefully: nothing more is
	// dispatched, calls in flight finish, and Run returns ErrIncomplete
	// with StopReason. Cancelling Run's ctx instead abandons calls in
	// flight at once.
	Stop <-chan struct{}
	// StopReason says why Stop was closed ("interrupted"). It is read once
	// Stop is closed.
	StopReason func() string
	// Deadline, when not zero, stops the run gracefully at that time
	// (--max-duration, --stop-at).
	Deadline time.Time
	// Backoff returns the wait before retry number n (1 for the first
	// retry) of a transient failure. Default: capped exponential backoff
	// with jitter, from 1s to 30s.
	Backoff func(n int) time.Duration
	// Now returns the current time (default time.Now).
	Now func() time.Time
	// Progress, if not nil, receives a snapshot of the counters every
	// ProgressEvery (default 200ms) and once at the end. It is called from
	// one goroutine at a time.
	Progress func(Stats)
	// ProgressEvery is the interval between Progress calls (default
	// 200ms).
	ProgressEvery time.Duration
	// History, if not nil, receives every new billed verdict of the run
	// and, with ReuseWithin, gives the verdicts to reuse (see reuse.go).
	// A simulated run must not be given one.
	History History
	// Tee, when not nil, is the src given to Run: the run tells it which
	// rows are settled, so that the output is written beside the run.
	Tee *Tee
	// ReuseWithin, when positive, gives a row that would be sent the
	// history's verdict on its pair if it was verified within this long
	// before now (--reuse-within): no call, no bill.
	ReuseWithin time.Duration
}

const (
	batchSize     = 512 // rows per Checkpoint.Plan
	maxWorkers    = 512
	throttleLimit = 20 // throttled retries of one pair before it fails
)

func (c Config) withDefaults() Config {
	if c.QPS <= 0 {
		c.QPS = DefaultQPS
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.Backoff == nil {
		c.Backoff = DefaultBackoff
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.ProgressEvery <= 0 {
		c.ProgressEvery = 200 * time.Millisecond
	}
	if c.StopReason == nil {
		c.StopReason = func() string { return Reason(StopInterrupted) }
	}
	return c
}

// Stats are the counters of one run. Rows skipped because the checkpoint
// already had their answer are counted apart, so that rates and ETAs use this
// run's own work only.
type Stats struct {
	Rows       int // data rows read
	Invalid    int // rows that failed validation
	Duplicates int // rows whose pair appeared in an earlier row
	Skipped    int // rows whose pair was already final in the checkpoint
	Dispatched int // pairs handed to the workers (or, in a dry run, that would be)
	Done       int // dispatched pairs that ended, final or not
	Abandoned  int // of those, the pairs left pending: the run stopped before their final outcome
	Calls      int // HTTP calls made
	Billed     int // billed answers (error_code 0) of the real API
	// PossiblyBilled counts calls to the real API that may have reached the
	// vendor without an intact answer: the vendor may have charged for
	// them.
	PossiblyBilled int
	// Simulated counts the calls answered by a simulated API (or made by a
	// simulated run): nobody bills them, so Billed and PossiblyBilled leave
	// them out. SimulatedBilled counts those answered error_code 0, which
	// the real API would have billed.
	Simulated, SimulatedBilled int
	// Throttled counts the answers that asked to slow down (10011, HTTP
	// 429).
	Throttled int
	// Outcomes counts the final outcomes reached in this run, by status.
	Outcomes Counts
	// Workers is the number of workers running now: Config.Workers, or the
	// size the pool has climbed to.
	Workers int
	// Limit is the current rate limit: QPS, or less while the API throttles.
	Limit float64
	QPS   float64 // the rate asked for
	// PausedUntil, when not zero, is the end of a pause asked by the API
	// (Retry-After): no call is sent before it. Stop ends it at once.
	PausedUntil time.Time
	// WaitUntil, when not zero, is when the next call goes while every
	// worker waits longer than LongWait (to retry after a failure, for a
	// slot of a throttled or low rate), and WaitWhy says which (WaitRetry,
	// WaitThrottle, WaitQPS). Stop ends the wait at once.
	WaitUntil time.Time
	WaitWhy   Code // why: WaitRetry, WaitThrottle or WaitQPS; empty when WaitUntil is zero
	// Started is when the run started (Config.Now), from which rates and
	// ETAs are measured.
	Started time.Time
	// StopReason is why the run ended early, empty if it did not.
	StopReason string
	// Reused counts the rows given a verdict from the history instead of a
	// call; OldestReused is when the oldest of those was verified.
	Reused int
	// OldestReused is when the oldest reused verdict was verified; zero
	// when Reused is 0.
	OldestReused time.Time
}

// Resolved is the number of rows dealt with so far: read, and neither
// waiting for an answer nor left pending by a stop.
func (s Stats) Resolved() int { return s.Rows - (s.Dispatched - s.Done) - s.Abandoned }

// ETA estimates the time left to resolve total rows at this run's own pace:
// rows skipped because the checkpoint had them took no time, so they are
// left out of the rate. It is 0 when nothing can be said yet.
func (s Stats) ETA(total int, now time.Time) time.Duration {
	done := s.Resolved()
	own := done - s.Skipped - s.Reused
	took := now.Sub(s.Started)
	if total <= done || own <= 0 || took <= 0 {
		return 0
	}
	return time.Duration(float64(total-done) / float64(own) * float64(took))
}

// Run reads every record of src, records the data rows in ck, and sends
// each pair that needs an answer to v, through a rate limiter and a pool of
// workers, recording every call and outcome in ck.
//
// Run returns nil when every row was dealt with (rows may still be failed or
// deferred: see the checkpoint's counts), ErrIncomplete when it was stopped
// through Config.Stop or Config.Deadline, ErrBudget at MaxBilled, an *APIError
// when the API refused the run (a bad key, a quota), a *ConfigError when it
// cannot be used as configured (unreachable, a redirect, a wrong openid),
// and any error of src or ck. Run's goroutines have all ended when it returns.
func Run(ctx context.Context, src Source, ck Checkpoint, v Verifier, cfg Config) (Stats, error) {
	cfg = cfg.withDefaults()
	r := &runner{
		cfg:      cfg,
		ck:       ck,
		v:        v,
		inflight: make(map[Key]struct{}),
		longs:    make(map[*longWait]struct{}),
		halted:   make(chan struct{}),
		limiter:  newThrottle(cfg.QPS),
		latency:  newLatency(256),
	}
	r.stats.Started = cfg.Now()

	g, gctx := errgroup.WithContext(ctx)
	// pause is cancelled when the run must stop dispatching: a graceful
	// stop, the deadline, a fatal answer or the budget. Workers wait on
	// the limiter and sleep between retries under it; the calls themselves
	// run under gctx so that a graceful stop lets them finish.
	pause, stopPause := context.WithCancel(gctx)
	defer stopPause()
	go func() {
		select {
		case <-pause.Done():
		case <-r.halted:
		case <-orNever(cfg.Stop):
			r.halt(cfg.StopReason(), ErrIncomplete)
		case <-deadline(cfg.Deadline, cfg.Now):
			r.halt(Reason(StopTime), ErrIncomplete)
		}
		stopPause()
	}()

	progressDone := make(chan struct{})
	reporterDone := r.report(progressDone)

	jobs := make(chan job, 64)
	r.startWorkers(g, gctx, pause, jobs)
	// The dispatcher is the only sender on jobs and closes it when the
	// input is done or dispatching must stop.
	g.Go(func() error {
		defer close(jobs)
		return r.dispatch(gctx, pause, src, jobs)
	})
	err := g.Wait()
	if err == nil {
		r.decideLeftHeld()
	}
	close(progressDone)
	<-reporterDone // Progress is never called twice at once
	stats := r.snapshot()
	if cfg.Progress != nil {
		cfg.Progress(stats)
	}
	if err != nil {
		return stats, err
	}
	if ctx.Err() != nil {
		return stats, ctx.Err()
	}
	return stats, r.haltErr()
}

// report calls Config.Progress every ProgressEvery until progressDone is
// closed, from a goroutine that has ended when the returned channel is
// closed; without Progress there is no such goroutine.
func (r *runner) report(progressDone <-chan struct{}) <-chan struct{} {
	reporterDone := make(chan struct{})
	if r.cfg.Progress == nil {
		close(reporterDone)
		return reporterDone
	}
	// The reporter ends when progressDone is closed, after the
	// workers; Run then sends the last snapshot itself.
	tick := time.NewTicker(r.cfg.ProgressEvery)
	go func() {
		defer close(reporterDone)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				r.cfg.Progress(r.snapshot())
			case <-progressDone:
				return
			}
		}
	}()
	return reporterDone
}

// startWorkers sets up runner.spawn and starts the first workers (none in
// a dry run): Config.Workers, or the pool's first size (see sizer).
func (r *runner) startWorkers(g *errgroup.Group, gctx, pause context.Context, jobs <-chan job) {
	r.spawn = func() {
		r.workers.Add(1)
		r.count(func(*Stats) { r.alive++ })
		g.Go(func() error {
			defer r.count(func(*Stats) { r.alive-- })
			// A worker ends when jobs is closed and drained, at the
			// first error, or when the pool shrinks below it.
			for j := range jobs {
				if err := r.handle(gctx, pause, j); err != nil {
					return err
				}
				if r.retire() {
					return nil
				}
			}
			return nil
		})
	}
	if !r.cfg.DryRun {
		r.startPool()
	}
}

// startPool spawns the first workers: Config.Workers, or what QPS needs at
// 200 ms but at most startMost (see sizer).
func (r *runner) startPool() {
	n := r.cfg.Workers
	if n <= 0 {
		n = min(r.wantWorkers(time.Second/5), startMost)
	}
	n = min(n, maxWorkers)
	r.pool.start(r.cfg.Now(), n)
	r.resized(n)
	for range n {
		r.spawn()
	}
}

// decideLeftHeld decides the rows still held at the end of a run: suspect
// answers that no streak turned into a stop were the ordinary answers of
// their rows.
func (r *runner) decideLeftHeld() {
	var cfgErr *ConfigError
	if !errors.As(r.haltErr(), &cfgErr) {
		r.mu.Lock()
		held := r.held
		r.held = nil
		r.mu.Unlock()
		r.decideHeld(held)
	}
}

type job struct {
	firstRow      int
	name, card    string
	pair, cardKey Key
}

type runner struct {
	cfg     Config
	ck      Checkpoint
	v       Verifier
	limiter *throttle
	latency *latency
	spawn   func()
	workers atomic.Int32 // workers started and not retired
	pool    sizer

	mu       sync.Mutex
	inflight map[Key]struct{} // pairs dispatched and not yet ended
	stats    Stats
	alive    int                    // workers running
	longs    map[*longWait]struct{} // the waits of workers longer than LongWait
	reserved int                    // calls in flight that may yet be billed

	// streak counts unreachable calls in a row; reached is set by the
	// run's first answer from the API.
	streak struct {
		n       int
		since   time.Time
		reached bool
	}
	// trusted is set by the first answer that shows the run's settings
	// right; until then rows answered with a suspect code are held.
	trusted  bool
	held     []heldRow
	suspects int
	// The dispatcher's buffers for reuse, reused batch after batch.
	taken []bool
	ask   []Row
	askAt []int
	found []Verdict

	haltOnce sync.Once
	halted   chan struct{}
	haltWhy  string
	haltWith error
}

// halt stops dispatching for good; the first reason wins.
func (r *runner) halt(why string, err error) {
	r.haltOnce.Do(func() {
		r.mu.Lock()
		r.haltWhy, r.haltWith = why, err
		r.stats.StopReason = why
		r.mu.Unlock()
		close(r.halted)
	})
}

// stopping reports whether dispatching must stop. It looks at Config.Stop
// itself, so that no call starts after Stop is closed.
func (r *runner) stopping(pause context.Context) bool {
	select {
	case <-r.halted:
		return true
	case <-orNever(r.cfg.Stop):
		r.halt(r.cfg.StopReason(), ErrIncomplete)
		return true
	default:
		return pause.Err() != nil
	}
}

func (r *runner) haltErr() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.haltWith
}

func (r *runner) snapshot() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stats
	s.Workers = int(r.workers.Load())
	s.Limit = r.limiter.current()
	s.QPS = r.cfg.QPS
	s.PausedUntil = r.limiter.pausedUntil()
	if len(r.longs) > 0 && len(r.longs) >= r.alive {
		for w := range r.longs {
			if s.WaitUntil.IsZero() || w.until.Before(s.WaitUntil) {
				s.WaitUntil, s.WaitWhy = w.until, w.why
			}
		}
	}
	return s
}

func (r *runner) count(f func(s *Stats)) {
	r.mu.Lock()
	f(&r.stats)
	r.mu.Unlock()
}

// dispatch reads src in batches, records each batch in the checkpoint and
// sends the pairs that need a call to the workers.
func (r *runner) dispatch(ctx, pause context.Context, src Source, jobs chan<- job) error {
	rows := make([]Row, 0, batchSize)
	known := make([]Known, batchSize)
	flush := func() error {
		if len(rows) == 0 {
			return nil
		}
		k := known[:len(rows)]
		clear(k)
		if err := r.ck.Plan(ctx, rows, k); err != nil {
			return err
		}
		taken, err := r.reuse(ctx, rows, k)
		if err != nil {
			return err
		}
		for i, row := range rows {
			if taken[i] {
				continue
			}
			if err := r.decide(pause, row, k[i], jobs); err != nil {
				return err
			}
		}
		r.cfg.Tee.decided(rows[len(rows)-1].Row)
		rows = rows[:0]
		return nil
	}
	for {
		if r.stopping(pause) {
			return nil // what is left stays pending
		}
		rec, err := src.Next()
		if errors.Is(err, EOF) {
			return flush()
		}
		if err != nil {
			return err
		}
		if rec.Kind != Data {
			continue
		}
		row := Row{Row: rec.Row, Name: rec.Name, Card: rec.Card}
		if len(rec.Problems) > 0 {
			row.Invalid = JoinReasons(rec.Problems...)
		}
		rows = append(rows, row)
		if len(rows) == batchSize {
			if err := flush(); err != nil {
				return err
			}
		}
	}
}

// decide settles one planned row: invalid, a duplicate, already answered, or
// a pair to send.
func (r *runner) decide(pause context.Context, row Row, k Known, jobs chan<- job) error {
	r.mu.Lock()
	r.stats.Rows++
	switch {
	case row.Invalid != "":
		r.stats.Invalid++
		r.mu.Unlock()
		return nil
	case k.FirstRow != row.Row:
		r.stats.Duplicates++
		r.mu.Unlock()
		return nil
	case !r.eligible(k.Prior):
		r.stats.Skipped++
		r.mu.Unlock()
		return nil
	}
	if _, busy := r.inflight[k.Pair]; busy {
		r.stats.Duplicates++
		r.mu.Unlock()
		return nil
	}
	r.stats.Dispatched++
	if r.cfg.DryRun {
		r.mu.Unlock()
		return nil
	}
	r.inflight[k.Pair] = struct{}{}
	r.mu.Unlock()

	if r.cfg.Workers <= 0 {
		r.grow()
	}
	r.cfg.Tee.dispatched(row.Row)
	select {
	case jobs <- job{firstRow: row.Row, name: row.Name, card: row.Card, pair: k.Pair, cardKey: k.CardKey}:
		return nil
	case <-pause.Done():
		r.release(k.Pair)
		r.cfg.Tee.pairEnded(row.Row)
		return nil
	}
}

// eligible reports whether a pair whose latest outcome is o needs a call.
func (r *runner) eligible(o Outcome) bool {
	if o.Simulated && !r.cfg.Simulated && o.Status != Invalid {
		return true // a simulated verdict is no verdict for a real run
	}
	switch o.Status {
	case Pending:
		return true
	case Failed:
		// error_code 0 without a verdict was billed: never sent again.
		return r.cfg.RetryFailed && !(o.Answered && o.Code == 0)
	case Deferred:
		return r.cfg.RetryDeferred || ChinaDay(o.At) < ChinaDay(r.cfg.Now())
	}
	return false
}

func (r *runner) release(pair Key) {
	r.mu.Lock()
	delete(r.inflight, pair)
	r.mu.Unlock()
}

// grow resizes the pool (Config.Workers 0) at the end of each of its
// intervals; between them it only reads the clock. It is called by the
// dispatcher, before each pair it sends: the only goroutine that spawns
// workers while the group runs.
func (r *runner) grow() {
	now := r.cfg.Now()
	if now.UnixNano() < r.pool.next.Load() {
		return
	}
	r.pool.mu.Lock()
	defer r.pool.mu.Unlock()
	r.mu.Lock()
	calls := r.stats.Calls
	r.mu.Unlock()
	lat := r.latency.p95()
	if lat == 0 {
		r.pool.wait(now, calls)
	}
	if lat == 0 || !r.pool.due(now, calls, lat) {
		// No call has ended yet, or too few since the last step.
		r.pool.next.Store(now.Add(sizeEvery / 8).UnixNano())
		return
	}
	r.pool.next.Store(now.Add(max(sizeEvery, sizeLatencies*lat)).UnixNano())
	old := r.pool.wanted()
	n := r.pool.step(now, calls, min(r.wantWorkers(lat), maxWorkers), r.limiter.current(), lat)
	if n != old {
		r.resized(n)
	}
	for int(r.workers.Load()) < n {
		r.spawn()
	}
}

// retire reports whether the worker calling it leaves the pool, which is
// then larger than asked; it is counted out at once.
func (r *runner) retire() bool {
	for {
		n := r.workers.Load()
		if int(n) <= r.pool.wanted() {
			return false
		}
		if r.workers.CompareAndSwap(n, n-1) {
			return true
		}
	}
}

// resized tells the verifier, if it keeps a resource per worker, the
// pool's new size.
func (r *runner) resized(n int) {
	if ps, ok := r.v.(PoolSizer); ok {
		ps.SetPoolSize(n)
	}
}

// wantWorkers is the pool size that keeps QPS busy at latency d, with a
// quarter in reserve for jitter: the most the pool grows to.
func (r *runner) wantWorkers(d time.Duration) int {
	return int(math.Ceil(r.cfg.QPS*d.Seconds()*1.25)) + 1
}

func orNever(c <-chan struct{}) <-chan struct{} {
	if c == nil {
		return make(chan struct{}) // never closed
	}
	return c
}

// deadline returns a channel closed at t, or never if t is zero. Its timer
// is not stopped: it fires at most once and is collected after.
func deadline(t time.Time, now func() time.Time) <-chan time.Time {
	if t.IsZero() {
		return nil
	}
	d := t.Sub(now())
	if d < 0 {
		d = 0
	}
	return time.After(d)
}

// DefaultBackoff is the wait before retry n of a transient failure: 1s,
// 2s, 4s, ... capped at 30s, each with up to half of it taken off at random
// (jitter), so that retries of many rows do not arrive together.
func DefaultBackoff(n int) time.Duration {
	d := time.Second << min(n-1, 5)
	d = min(d, 30*time.Second)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// NextClock returns the next time, at or after now, that a clock in China
// shows hhmm ("06:30"), whatever now's location and the machine's zone. It
// is how --stop-at becomes a deadline.
func NextClock(now time.Time, hhmm string) (time.Time, error) {
	t, err := time.Parse("15:04", hhmm)
	if err != nil {
		return time.Time{}, fmt.Errorf("want a time of day as HH:MM, got %q", hhmm)
	}
	now = now.In(chinaZone)
	at := time.Date(now.Year(), now.Month(), now.Day(), t.Hour(), t.Minute(), 0, 0, chinaZone)
	if at.Before(now) {
		at = at.AddDate(0, 0, 1)
	}
	return at, nil
}
