package pipeline

import (
	"sync"
	"sync/atomic"
	"time"
)

// PoolSizer is implemented by a Verifier that keeps a resource for each
// concurrent call, as juhe.Client keeps an HTTP connection per worker. Run
// calls SetPoolSize with the number of workers when the pool starts and
// whenever its size changes, never twice at once, so that the verifier
// keeps no more than the pool uses.
type PoolSizer interface {
	SetPoolSize(n int)
}

// Sizing of the pool when Config.Workers is 0. The pool starts with what
// --qps needs at 200 ms, but at most startMost workers, and then climbs:
// at the end of every interval (at least sizeEvery and sizeLatencies p95
// latencies long, with sizeCalls calls per worker) it compares the rate of
// ended calls with the rate before its last step. A step up (half the pool
// more) that raised the rate by at least sizeHelps of what it would have
// if the calls were bound by their latency (less the first latency of the
// interval, in which the new workers had no answer yet) is kept and
// followed by the next; one that did not is undone, the pool holds for
// sizeHold intervals, and then tries a step down (a third less, to the
// first size at least), kept and followed by the next while the rate falls
// by less than sizeHelps of what a latency-bound pool loses; a step down
// undone is followed, after the hold, by a step up. So the pool settles
// where the rate stops growing, and noise (another process taking the CPU
// for a while) moves it both ways rather than ratcheting it up. It does
// not go below its first size that way: with few workers, fewer answers
// share each commit of the checkpoint, and on a busy machine, where the
// rate is flat whatever the pool, steps down took it to 3 workers and the
// CPU per row up by a fifth; 32 (the floor client's count) made 1M CSV
// rows a fifth slower than 512, and 64 is where --workers had cut a tenth
// of the CPU and a quarter of the RSS at the same wall time. It never
// grows past what --qps needs at the p95 latency with a quarter in reserve (wantWorkers), and shrinks
// to it when the latency falls; it takes no step while the calls reach
// the rate limit (sizeEnough of it). A latency-bound run (the vendor's
// 50 ms) thus grows as fast as each step pays, while a run whose calls are
// bound by the CPU (an instant API), where more workers only raise the
// latency and the CPU per call, stays near the fewest workers, from its
// first size up, that keep its rate.
const (
	startMost     = 64
	sizeEvery     = 100 * time.Millisecond
	sizeLongest   = 5 * time.Second // an interval ends by then, whatever the calls
	sizeLatencies = 2
	sizeCalls     = 2
	sizeHelps     = 0.5
	sizeHold      = 20
	sizeEnough    = 0.97
)

// sizer is the state of the pool's climb. Its methods other than wanted
// are called with mu held, by one goroutine at a time (the dispatcher).
type sizer struct {
	want atomic.Int32 // the size asked: workers above it retire
	next atomic.Int64 // UnixNano before which the interval under way lasts

	mu       sync.Mutex
	at       time.Time // start of the interval under way
	calls    int       // finished calls at at
	from     int       // the size before the step being measured; 0: none
	fromRate float64   // calls per second measured at from
	hold     int       // intervals left before the next step
	down     bool      // the next step is down: the last one up was undone
	least    int       // no step down goes below: the first size
}

// wanted is the size the pool is asked to have.
func (s *sizer) wanted() int { return int(s.want.Load()) }

// start sets the first size at now.
func (s *sizer) start(now time.Time, n int) {
	s.at, s.least = now, n
	s.want.Store(int32(n))
	s.next.Store(now.Add(sizeEvery).UnixNano())
}

// wait restarts the interval under way at now, with calls ended: the
// pool is not judged before its first call ended (the run's start, the
// reading of a first batch, is no measure of its workers).
func (s *sizer) wait(now time.Time, calls int) { s.at, s.calls = now, calls }

// due reports whether the interval under way is long enough at now to be
// judged, calls having finished since the run started and lat being the
// p95 latency.
func (s *sizer) due(now time.Time, calls int, lat time.Duration) bool {
	span := now.Sub(s.at)
	if span < max(sizeEvery, sizeLatencies*lat) {
		return false
	}
	return span >= sizeLongest || calls-s.calls >= sizeCalls*s.wanted()
}

// step ends the interval under way at now, with calls ended since the run
// started, need the most workers the rate needs at the latency lat seen
// and limit the rate limit (calls per second); it returns the pool's size
// for the next interval.
func (s *sizer) step(now time.Time, calls, need int, limit float64, lat time.Duration) int {
	span := now.Sub(s.at)
	rate := float64(calls-s.calls) / span.Seconds()
	s.at, s.calls = now, calls
	n := s.wanted()
	enough := rate >= sizeEnough*limit
	settled := 1 - min(1, lat.Seconds()/span.Seconds())
	switch {
	case n > need:
		n, s.from = need, 0
	case s.from > 0 && !enough && !paid(s.from, n, s.fromRate, rate, settled):
		// Undone; the next probe goes the other way.
		n, s.from, s.hold, s.down = s.from, 0, sizeHold, n > s.from
	case s.hold > 0:
		s.hold--
		s.from = 0
	case s.down && !enough && n > s.least:
		s.from, s.fromRate = n, rate
		n = max(s.least, n-max(1, n/3))
	case s.down || enough || n >= need:
		s.from, s.down = 0, false
	default:
		s.from, s.fromRate = n, rate
		n = min(need, n+max(1, n/2))
	}
	s.want.Store(int32(n))
	return n
}

// paid reports whether the step of the pool from a workers, which made
// calls at rate ra, to b, which made them at rb, paid: a step up that
// raised the rate, or a step down that did not lower it, by at least
// sizeHelps of what it does to a latency-bound pool in the settled share
// of the interval.
func paid(a, b int, ra, rb, settled float64) bool {
	share := float64(b-a) / float64(a) // below 0 for a step down
	if b < a {
		return ra-rb < sizeHelps*-share*settled*ra
	}
	return rb-ra >= sizeHelps*share*settled*ra
}
