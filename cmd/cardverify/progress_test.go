package main

import (
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
		// A narrow terminal: the least needed parts go first.
		{"narrow en", "en", resumed, 1000, 80,
			"this run: 590/1000 rows · ETA 1m45s · billed 280 · possibly billed 2 · failed 3"},
		{"narrow zh", "zh", throttled, 1000, 78,
			"本次运行：590/1000 行 · 计费 280"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &app{stderr: &discard{}}
			p := a.newProgress("none", tc.lang, tc.total)
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
		p := a.newProgress(tc.mode, "en", 10)
		if got := p.updater() != nil; got != tc.updates {
			t.Errorf("mode %q: updater given %v, want %v", tc.mode, got, tc.updates)
		}
		if got := progressEvery(tc.mode, a.stderr); got != tc.every {
			t.Errorf("mode %q: every %s, want %s", tc.mode, got, tc.every)
		}
	}
}
