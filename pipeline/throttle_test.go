package pipeline

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// simulateHiddenLimit drives the throttle on a simulated clock against an
// API whose hidden limit is a token bucket of limit calls a second (burst a
// tenth of it, as juhetest's SetHiddenLimit), answering 10011 above it,
// with calls answered latency after they are sent and as many workers as
// the limiter lets go. After settle it measures for measure and returns the
// good answers per second over limit and the share of throttled calls.
func simulateHiddenLimit(limit, qps float64, latency, settle, measure time.Duration) (ratio, throttled float64) {
	clock := time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)
	th := newThrottle(qps)
	th.now = func() time.Time { return clock }
	api := rate.NewLimiter(rate.Limit(limit), max(1, int(limit/10)))
	type answer struct {
		at   time.Time
		good bool
	}
	var queue []answer // in time order: every call takes latency
	start := clock
	from, end := start.Add(settle), start.Add(settle+measure)
	good, calls := 0, 0
	// deliver delivers the answers due by t, each at its own time.
	deliver := func(t time.Time) {
		for len(queue) > 0 && !queue[0].at.After(t) {
			a := queue[0]
			queue = queue[1:]
			clock = a.at
			if a.good {
				th.recover()
			} else {
				th.backOff(0)
			}
		}
		clock = t
	}
	for clock.Before(end) {
		d, res := th.take(clock)
		deliver(clock.Add(d))
		if res == nil {
			continue
		}
		ok := api.AllowN(clock, 1)
		queue = append(queue, answer{at: clock.Add(latency), good: ok})
		if !clock.Before(from) {
			calls++
			if ok {
				good++
			}
		}
	}
	return float64(good) / measure.Seconds() / limit, float64(calls-good) / float64(calls)
}

// TestThrottleConvergesHiddenLimit is issue 11's convergence rule: against
// a hidden limit L below --qps, after 10 s to settle the run answers at
// least 0.95·L rows per second with at most 3% of its calls throttled, for
// L = 20, 50 and 300 and --qps from 2·L to 10·L. The clock is simulated:
// the test takes milliseconds. (BenchmarkHiddenLimit in pipeline/juhe runs
// the same against the real client and fake server, in real time.)
func TestThrottleConvergesHiddenLimit(t *testing.T) {
	for _, limit := range []float64{20, 50, 300} {
		for _, times := range []float64{2, 5, 10} {
			t.Run(fmt.Sprintf("L=%g/qps=%g", limit, times*limit), func(t *testing.T) {
				ratio, throttled := simulateHiddenLimit(limit, times*limit, 20*time.Millisecond, 10*time.Second, 20*time.Second)
				t.Logf("throughput/L %.3f, throttled %.2f%%", ratio, throttled*100)
				if ratio < 0.95 || throttled > 0.03 {
					t.Errorf("throughput %.3f·L with %.2f%% of calls throttled; want >= 0.95·L and <= 3%%", ratio, throttled*100)
				}
			})
		}
	}
}

// TestThrottleKeepsQPS checks that without throttling by the API the
// limiter lets through no more than --qps (5% over at most), and nearly
// all of it.
func TestThrottleKeepsQPS(t *testing.T) {
	for _, qps := range []float64{0.5, 10, 100, 1000} {
		t.Run(fmt.Sprint(qps), func(t *testing.T) {
			ratio, throttled := simulateHiddenLimit(1e9, qps, 20*time.Millisecond, 0, 60*time.Second)
			rate := ratio * 1e9 / qps
			if rate > 1.05 || rate < 0.95 || throttled != 0 {
				t.Errorf("--qps %g sent %.3f× the rate asked, %.2f%% throttled; want 0.95–1.05× and none", qps, rate, throttled*100)
			}
		})
	}
}

// TestLongWaitsAnnounced runs into each wait longer than LongWait that
// leaves every worker idle: a low --qps, a retry's backoff. Progress then
// says until when and why, and Stop ends the wait at once.
func TestLongWaitsAnnounced(t *testing.T) {
	for _, tc := range []struct {
		name    string
		qps     float64
		backoff time.Duration
		answer  Answer
		want    Code
		wait    time.Duration // the wait announced
	}{
		{name: "qps", qps: 0.1, backoff: time.Millisecond, want: WaitQPS, wait: 10 * time.Second},
		{name: "retry", qps: 100, backoff: 30 * time.Second, answer: code(Transient, 218801), want: WaitRetry, wait: 30 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := newAPI()
			src := rows("张三", "6222000000000001", "李四", "6222000000000002")
			if tc.answer.Class != 0 {
				api.script("6222000000000001", tc.answer, tc.answer)
				api.script("6222000000000002", tc.answer, tc.answer)
			}
			stop := make(chan struct{})
			seen := make(chan Stats, 1)
			cfg := Config{QPS: tc.qps, Workers: 2, Stop: stop, ProgressEvery: 10 * time.Millisecond,
				Backoff: func(int) time.Duration { return tc.backoff }}
			cfg.Progress = func(s Stats) {
				if !s.WaitUntil.IsZero() {
					select {
					case seen <- s:
					default:
					}
				}
			}
			done := make(chan error, 1)
			go func() {
				_, err := Run(context.Background(), src, newMem(), api, cfg)
				done <- err
			}()
			var s Stats
			select {
			case s = <-seen:
			case <-time.After(5 * time.Second):
				close(stop)
				<-done
				t.Fatalf("no wait announced")
			}
			if until := time.Until(s.WaitUntil); s.WaitWhy != tc.want || until < tc.wait-2*time.Second || until > tc.wait {
				t.Errorf("announced %q until %s from now, want %q about %s", s.WaitWhy, until.Round(time.Second), tc.want, tc.wait)
			}
			stopped := time.Now()
			close(stop)
			select {
			case err := <-done:
				if !errors.Is(err, ErrIncomplete) {
					t.Errorf("Run = %v, want ErrIncomplete", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Stop did not end the wait")
			}
			if took := time.Since(stopped); took > time.Second {
				t.Errorf("Stop took %s to end the wait", took)
			}
		})
	}
}

// TestLongWaitThrottled cuts the rate after throttled answers until its
// next slot is far: the wait is announced as the throttle's.
func TestLongWaitThrottled(t *testing.T) {
	clock := time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)
	r := &runner{cfg: Config{QPS: 2}, limiter: newThrottle(2), longs: map[*longWait]struct{}{}}
	r.limiter.now = func() time.Time { return clock }
	for range 8 { // nothing answered well: the rate halves once a second
		r.limiter.backOff(0)
		clock = clock.Add(time.Second)
	}
	r.limiter.take(clock) // the burst's slot
	var until time.Time
	var why Code
	ctx, cancel := context.WithCancel(context.Background())
	err := r.limiter.wait(ctx, func(u time.Time) func() {
		until = u
		done := r.longWait(u)
		s := r.snapshot()
		why = s.WaitWhy
		cancel()
		return done
	})
	if err == nil || why != WaitThrottle || until.Sub(clock) < 5*time.Second {
		t.Errorf("wait = %v, announced %q until %s after now; want cancelled, %q beyond %s", err, why, until.Sub(clock), WaitThrottle, LongWait)
	}
	if len(r.longs) != 0 {
		t.Errorf("the wait is still recorded after it ended")
	}
}
