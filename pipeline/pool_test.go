package pipeline

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// callModel says how a pool of n workers makes calls: at what rate they
// end (calls per second, before the rate limit) and how long each takes.
type callModel func(n int) (rate float64, latency time.Duration)

// latencyBound is an API that answers after d, whatever the load.
func latencyBound(d time.Duration) callModel {
	return func(n int) (float64, time.Duration) { return float64(n) / d.Seconds(), d }
}

// cpuBound is an instant API on a busy machine: each call takes d of a CPU
// that makes at most most calls a second, so past most·d workers the rate
// stays flat and a call's latency grows with the pool (Little's law).
func cpuBound(d time.Duration, most float64) callModel {
	return func(n int) (float64, time.Duration) {
		rate := min(float64(n)/d.Seconds(), most)
		return rate, time.Duration(float64(n) / rate * float64(time.Second))
	}
}

// simulatePool runs the pool's sizing of a run at --qps qps for span on a
// simulated clock, against calls made as model says, limited to qps. The
// dispatcher's grow runs once per millisecond of the clock and every
// worker retires when the pool is asked to shrink, as the workers do after
// a pair. It returns the pool's size at each 100 ms and at the end, the
// calls made, and the sizes told to the verifier.
func simulatePool(qps float64, model callModel, span time.Duration) (sizes []int, calls float64, told []int) {
	clock := time.Date(2026, 12, 2, 2, 0, 0, 0, time.UTC)
	v := &sizedAPI{fakeAPI: newAPI()}
	r := &runner{cfg: Config{QPS: qps, Now: func() time.Time { return clock }}, v: v,
		limiter: newThrottle(qps), latency: newLatency(256)}
	r.spawn = func() { r.workers.Add(1) }
	r.startPool()
	const tick = time.Millisecond
	for i := 0; clock.Before(time.Date(2026, 12, 2, 2, 0, 0, 0, time.UTC).Add(span)); i++ {
		for r.retire() {
		}
		rate, lat := model(int(r.workers.Load()))
		ended := min(rate, qps) * tick.Seconds()
		before := int(calls)
		calls += ended
		for range min(int(calls)-before, 8) {
			r.latency.add(lat)
		}
		r.stats.Calls = int(calls)
		clock = clock.Add(tick)
		r.grow()
		if i%100 == 0 {
			sizes = append(sizes, int(r.workers.Load()))
		}
	}
	for r.retire() {
	}
	return append(sizes, int(r.workers.Load())), calls, v.told
}

// sizedAPI records what the pool tells it.
type sizedAPI struct {
	*fakeAPI
	told []int
}

func (s *sizedAPI) SetPoolSize(n int) { s.told = append(s.told, n) }

// TestPoolStaysWhenRateFlat is the CPU-bound run (an instant API at --qps
// 1000000): past the knee (10 or 40 workers) the rate is flat (10,000 or
// 40,000 calls a second at 1 ms a call), and each worker more only adds
// latency. The pool starts with 64 and goes no lower by itself; over the
// last 10 s of 20 it must stay at most one step (half more) above the
// larger of 64 and the knee, but for its probes (a step more, at most 15%
// of the time). Growing from the latency (the rule before: --qps × p95 ×
// 1.25) went straight to 512.
func TestPoolStaysWhenRateFlat(t *testing.T) {
	for _, tc := range []struct {
		most float64
		top  int // 1.5 × max(64, the knee)
	}{
		{10_000, 96},
		{80_000, 120},
	} {
		t.Run(fmt.Sprint(tc.most), func(t *testing.T) {
			sizes, _, told := simulatePool(1e6, cpuBound(time.Millisecond, tc.most), 20*time.Second)
			checkSettled(t, sizes[len(sizes)/2:], tc.top)
			if minOf(sizes) < 64 {
				t.Errorf("pool sizes %v: below the 64 it started with", sizes)
			}
			if len(told) == 0 || told[0] != 64 || told[len(told)-1] != sizes[len(sizes)-1] {
				t.Errorf("told the verifier %v, want 64 first and the last size %d last", told, sizes[len(sizes)-1])
			}
		})
	}
}

// TestPoolNoiseNoRatchet: a CPU-bound run (knee 80) on a machine shared
// with others, whose rate swings by up to a quarter every 300 ms (a seeded
// sequence). Over 2 minutes, spurious gains must not ratchet the pool up:
// over the last minute it spends at most 15% of the time more than a step
// above the knee, and never reaches 256.
func TestPoolNoiseNoRatchet(t *testing.T) {
	flat := cpuBound(time.Millisecond, 80_000)
	seed, steps := uint64(1), 0
	factor := 1.0
	model := func(n int) (float64, time.Duration) {
		if steps%300 == 0 {
			seed = seed*6364136223846793005 + 1442695040888963407
			factor = 0.75 + 0.5*float64(seed>>11)/float64(1<<53)
		}
		steps++
		rate, _ := flat(n)
		rate *= factor
		return rate, time.Duration(float64(n) / rate * float64(time.Second))
	}
	sizes, _, _ := simulatePool(1e6, model, 2*time.Minute)
	last := sizes[len(sizes)/2:]
	above := 0
	for _, n := range last {
		if n > 120 {
			above++
		}
	}
	if above > len(last)*15/100 || maxOf(last) >= 256 {
		t.Errorf("pool sizes %v: %d of %d above 120, up to %d; want at most 15%% and below 256", last, above, len(last), maxOf(last))
	}
}

// checkSettled fails unless sizes stay at most top but for probes: at
// most 15% of them above it, none above a step more.
func checkSettled(t *testing.T, sizes []int, top int) {
	t.Helper()
	above := 0
	for _, n := range sizes {
		if n > top {
			above++
		}
	}
	if most := maxOf(sizes); most > top*3/2 || above > len(sizes)*15/100 {
		t.Errorf("pool sizes %v: up to %d, %d of %d above %d; want at most %d, and at most 15%% above %d", sizes, most, above, len(sizes), top, top*3/2, top)
	}
}

// TestPoolGrowsWhenLatencyBound is the vendor's pace: each call takes 50 ms
// (or 200 ms), so --qps 1000 needs 50 (200) calls in flight, and each
// worker more raises the rate until the limit. The pool must reach the
// rate within 3 s and stay at most at what the rule of the latency allows
// (1000 × p95 × 1.25 + 1).
func TestPoolGrowsWhenLatencyBound(t *testing.T) {
	for _, tc := range []struct {
		qps     float64
		latency time.Duration
		most    int // qps × latency × 1.25 + 1
	}{
		{1000, 50 * time.Millisecond, 64},
		{1000, 200 * time.Millisecond, 251},
		{100, 50 * time.Millisecond, 8},
		{10, 50 * time.Millisecond, 2},
	} {
		t.Run(fmt.Sprintf("%g/%s", tc.qps, tc.latency), func(t *testing.T) {
			sizes, _, _ := simulatePool(tc.qps, latencyBound(tc.latency), 10*time.Second)
			need := int(tc.qps * tc.latency.Seconds())
			if at3 := sizes[30]; at3 < need {
				t.Errorf("pool sizes %v: %d workers after 3 s, want at least %d", sizes, at3, need)
			}
			if top := maxOf(sizes[30:]); top > tc.most {
				t.Errorf("pool sizes %v: up to %d workers, want at most %d", sizes, top, tc.most)
			}
		})
	}
}

// TestPoolShrinksWhenLatencyFalls: a vendor slow at first (200 ms) and then
// fast (20 ms) needs fewer workers; the pool gives back those the latency
// rule no longer allows (1000 × 20 ms × 1.25 + 1 = 26).
func TestPoolShrinksWhenLatencyFalls(t *testing.T) {
	steps := 0 // the model is asked once per simulated millisecond
	model := func(n int) (float64, time.Duration) {
		steps++
		if steps <= 5000 {
			return latencyBound(200 * time.Millisecond)(n)
		}
		return latencyBound(20 * time.Millisecond)(n)
	}
	sizes, _, _ := simulatePool(1000, model, 10*time.Second)
	if mid, end := sizes[49], sizes[len(sizes)-1]; mid < 200 || end > 26 {
		t.Errorf("pool sizes %v: %d at 5 s and %d at the end, want at least 200 and at most 26", sizes, mid, end)
	}
}

// TestPoolWorkersHonoured: an explicit --workers is the pool, whatever the
// latency, and the verifier is told it.
func TestPoolWorkersHonoured(t *testing.T) {
	api, pairs := sizedRun(200, 5*time.Millisecond)
	cfg := fastConfig()
	cfg.Workers = 3
	var top atomic.Int64
	cfg.ProgressEvery = time.Millisecond
	cfg.Progress = func(s Stats) {
		if int64(s.Workers) > top.Load() {
			top.Store(int64(s.Workers))
		}
	}
	st, err := Run(context.Background(), rows(pairs...), newMem(), api, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if st.Workers != 3 || top.Load() != 3 || len(api.told) != 1 || api.told[0] != 3 {
		t.Errorf("workers %d (at most %d), told %v; want 3, 3, [3]", st.Workers, top.Load(), api.told)
	}
}

// sizedRun returns a sizedAPI answering after delay, and n pairs for it.
func sizedRun(n int, delay time.Duration) (*sizedAPI, []string) {
	api := &sizedAPI{fakeAPI: newAPI()}
	api.delay = delay
	var pairs []string
	for i := range n {
		pairs = append(pairs, "张三", fmt.Sprintf("62220000%08d", i))
	}
	return api, pairs
}

func minOf(s []int) int {
	m := s[0]
	for _, v := range s {
		m = min(m, v)
	}
	return m
}

func maxOf(s []int) int {
	m := 0
	for _, v := range s {
		m = max(m, v)
	}
	return m
}

// TestAnswerReasonRepeats: the reason of each answer is its own vendor code
// and text, however answers alternate (the last encoding is kept for the
// next answer that repeats it), and a local reason is kept as it is.
func TestAnswerReasonRepeats(t *testing.T) {
	for i, tc := range []struct {
		a    Answer
		want string
	}{
		{Answer{Answered: true, Code: 0, Reason: "成功"}, "\x1fvendor\x1f0\x1f成功"},
		{Answer{Answered: true, Code: 0, Reason: "成功"}, "\x1fvendor\x1f0\x1f成功"},
		{Answer{Answered: true, Code: 218804, Reason: "成功"}, "\x1fvendor\x1f218804\x1f成功"},
		{Answer{Answered: true, Code: 218804, Reason: "银行卡号格式错误"}, "\x1fvendor\x1f218804\x1f银行卡号格式错误"},
		{Answer{Answered: true, Code: 0, Reason: "a\x1fb"}, "\x1fvendor\x1f0\x1fa b"},
		{Answer{Reason: "timeout"}, "timeout"},
		{Answer{Answered: true, Code: 0, Reason: "成功"}, "\x1fvendor\x1f0\x1f成功"},
	} {
		if got := answerReason(tc.a); got != tc.want {
			t.Errorf("answer %d %+v: reason %q, want %q", i, tc.a, got, tc.want)
		}
	}
}

// TestPoolRun runs a sized pool for real: every pair is answered, and the
// pool starts with the 51 workers --qps 200 needs at 200 ms and never
// grows past them: at 2 ms a call, --qps 200 needs 2.
func TestPoolRun(t *testing.T) {
	api, pairs := sizedRun(300, 2*time.Millisecond)
	cfg := fastConfig()
	cfg.Workers, cfg.QPS = 0, 200
	ck := newMem()
	st, err := Run(context.Background(), rows(pairs...), ck, api, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if st.Outcomes[Match] != 300 || api.total() != 300 {
		t.Errorf("%d matches, %d calls; want 300 and 300", st.Outcomes[Match], api.total())
	}
	if len(api.told) == 0 || api.told[0] != 51 || maxOf(api.told) > 51 || st.Workers > 51 {
		t.Errorf("told the verifier %v, %d workers at the end; want 51 first and never more", api.told, st.Workers)
	}
}
