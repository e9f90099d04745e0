package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/cardverify/cardverify/pipeline"
)

func TestProgressLine(t *testing.T) {
	start := time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)
	now := start.Add(100 * time.Second)
	resumed := pipeline.Stats{Rows: 600, Skipped: 200, Dispatched: 300, Done: 290, Calls: 320, Billed: 280,
		PossiblyBilled: 2, Invalid: 7, QPS: 10, Limit: 10, Started: start}
	resumed.Outcomes[pipeline.Failed] = 3
	throttled := resumed
	throttled.Skipped, throttled.PossiblyBilled, throttled.Limit, throttled.PausedUntil = 0, 0, 2.5, now.Add(30*time.Second)
	waiting := resumed
	waiting.Skipped, waiting.PossiblyBilled, waiting.Limit, waiting.WaitUntil, waiting.WaitWhy = 0, 0, 10, now.Add(30*time.Second), pipeline.WaitRetry
	slowed := waiting
	slowed.Limit, slowed.WaitWhy = 0.1, pipeline.WaitThrottle
	simulated := resumed
	simulated.Skipped, simulated.Billed, simulated.PossiblyBilled, simulated.Simulated = 0, 0, 0, 320
	for _, tc := range []struct {
		name, lang string
		s          pipeline.Stats
		total      int
		width      int
		want       string
	}{
		// 590 rows dealt with, 390 of them by this run's own work in
		// 100s: 410 left take 105s.
		{"resumed zh", "zh", resumed, 1000, 0,
			"本次运行：590/1000 行（其中 200 行此前已完成） · 3.2 次/秒 · 预计剩余 1m45s · 计费 280 · 可能计费 2 · 失败 3 · 无效 7"},
		{"resumed en", "en", resumed, 1000, 0,
			"this run: 590/1000 rows (200 done before) · 3.2 calls/s · ETA 1m45s · billed 280 · possibly billed 2 · failed 3 · invalid 7"},
		{"throttled and paused en", "en", throttled, 0, 0,
			"this run: 590 rows · 3.2 calls/s · billed 280 · failed 3 · invalid 7 · throttled 2.5/10 calls/s · paused by the API (Retry-After) until 10:02:10 CST, Ctrl-C to stop"},
		{"throttled and paused zh", "zh", throttled, 0, 0,
			"本次运行：590 行 · 3.2 次/秒 · 计费 280 · 失败 3 · 无效 7 · 接口限流 2.5/10 次/秒 · 接口要求暂停（Retry-After）至 10:02:10 CST，按 Ctrl-C 停止"},
		{"waiting to retry en", "en", waiting, 0, 0,
			"this run: 590 rows · 3.2 calls/s · billed 280 · failed 3 · invalid 7 · every call waits to retry, the next at 10:02:10 CST, Ctrl-C to stop"},
		{"waiting to retry zh", "zh", waiting, 0, 0,
			"本次运行：590 行 · 3.2 次/秒 · 计费 280 · 失败 3 · 无效 7 · 所有调用都在等待重试，下一次在 10:02:10 CST，按 Ctrl-C 可停止"},
		{"slowed en", "en", slowed, 0, 0,
			"this run: 590 rows · 3.2 calls/s · billed 280 · failed 3 · invalid 7 · throttled 0.1/10 calls/s · slowed down after the API throttled, the next call at 10:02:10 CST, Ctrl-C to stop"},
		{"simulated en", "en", simulated, 0, 0,
			"this run: 590 rows · 3.2 calls/s · billed 0 · simulated 320 (not billed) · failed 3 · invalid 7"},
		{"simulated zh", "zh", simulated, 0, 0,
			"本次运行：590 行 · 3.2 次/秒 · 计费 0 · 模拟调用 320（不计费） · 失败 3 · 无效 7"},
		// A narrow terminal: the least needed parts go first.
		{"narrow en", "en", resumed, 1000, 80,
			"this run: 590/1000 rows · ETA 1m45s · billed 280 · possibly billed 2 · failed 3"},
		{"narrow zh", "zh", throttled, 1000, 78,
			"本次运行：590/1000 行 · 计费 280"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &app{stderr: &discard{}}
			p := a.newProgress("none", tc.lang, func() int { return tc.total })
			if got := p.line(tc.s, now, tc.width); got != tc.want {
				t.Errorf("line\n got  %s\n want %s", got, tc.want)
			}
		})
	}
}

type discard struct{}

func (*discard) Write(p []byte) (int, error) { return len(p), nil }

// TestProgressQuiet checks that a progress showing nothing asks the run
// for no counters, and that a log asks for them once a second, a bar five
// times a second.
func TestProgressQuiet(t *testing.T) {
	a := &app{stderr: &discard{}} // not a terminal
	for _, tc := range []struct {
		mode    string
		updates bool
		every   time.Duration
	}{
		{"none", false, time.Second},
		{"plain", true, time.Second},
		{"", true, time.Second}, // plain, off a terminal
		{"bar", true, 200 * time.Millisecond},
	} {
		p := a.newProgress(tc.mode, "en", func() int { return 10 })
		if got := p.updater() != nil; got != tc.updates {
			t.Errorf("mode %q: updater given %v, want %v", tc.mode, got, tc.updates)
		}
		if got := progressEvery(tc.mode, a.stderr); got != tc.every {
			t.Errorf("mode %q: every %s, want %s", tc.mode, got, tc.every)
		}
	}
}

// TestProgressLearnsTotal starts a bar without a total, as a first run does
// while its input is counted beside the first calls: once the count is
// known, the bar and its line show it.
func TestProgressLearnsTotal(t *testing.T) {
	var buf bytes.Buffer
	a := &app{stderr: &buf}
	total := 0
	p := a.newProgress("bar", "en", func() int { return total })
	s := pipeline.Stats{Rows: 40, Dispatched: 40, Done: 40, Started: time.Now()}
	p.update(s)
	if got := p.line(s, time.Now(), 0); strings.Contains(got, "40/") {
		t.Errorf("before the count: %q shows a total", got)
	}
	total = 1000
	p.update(s)
	if got := p.line(s, time.Now(), 0); !strings.Contains(got, "40/1000 rows") {
		t.Errorf("after the count: %q; want 40/1000 rows", got)
	}
	if max := p.bar.GetMax(); max != 1000 {
		t.Errorf("bar max %d, want 1000", max)
	}
}
