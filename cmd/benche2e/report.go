package main

import (
	"fmt"
	"strings"
	"time"
)

// printTables prints the figures of every measure, medians first.
func (b *benchRun) printTables() {
	fmt.Printf("\n## results (reps %d, medians; machine: %s)\n\n", b.c.reps, machine())
	fmt.Println("| list | rows | rows/s | wall | peak RSS | CPU (user+sys) | CPU µs/row | ÷ floor | fake's CPU (apart) | rows/s of each run | load avg (1 min) before each run |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
	for _, size := range b.c.sizes {
		if b.floors[size] == nil {
			continue // throughput not measured (-only)
		}
		for _, m := range append([]measure{*b.floors[size]}, b.find(b.thr, "", size)...) {
			var each []string
			for _, r := range m.runs {
				each = append(each, fmt.Sprintf("%.0f", float64(m.size)/r.wall.Seconds()))
			}
			fmt.Printf("| %s | %d | %.0f | %s | %s | %s | %.1f | %.2f | %s | %s | %s |\n", m.format, m.size, float64(m.size)/m.wall().Seconds(),
				m.wall().Round(10*time.Millisecond), mib(m.rss()), m.cpu().Round(10*time.Millisecond), m.cpuPerRow(),
				m.cpuPerRow()/b.floors[m.size].cpuPerRow(), m.sandboxCPU().Round(10*time.Millisecond), strings.Join(each, ", "), strings.Join(m.load, ", "))
		}
	}
	fmt.Println()
	fmt.Println("| measure | list | median | each run |")
	fmt.Println("|---|---|---:|---|")
	for _, m := range b.reuse {
		fmt.Printf("| %d rows, 95%% in the history | %s %d | %s, %s peak RSS | %s |\n", m.size, m.format, m.size, m.wall().Round(10*time.Millisecond), mib(m.rss()), m.each())
	}
	for _, m := range b.rerun {
		fmt.Printf("| re-running a finished job | %s %d | %s, CPU %s, %s peak RSS | %s |\n", m.format, m.size, m.wall().Round(10*time.Millisecond),
			m.cpu().Round(10*time.Millisecond), mib(m.rss()), m.each())
	}
	for _, m := range b.first {
		fmt.Printf("| start to first API call | %s %d | %s | %s |\n", m.format, m.size, m.wall().Round(time.Millisecond), m.each())
	}
	for _, r := range b.rates {
		fmt.Printf("| achieved rate ÷ --qps %g (%s latency) | %d calls in %s | %.4f | |\n", r.qps, b.c.latency, r.calls, r.span.Round(time.Millisecond), r.achieved/r.qps)
	}
	if len(b.pace.runs) == 0 {
		return
	}
	fmt.Printf("| CPU at the vendor's pace (fake's CPU apart: %s) | %d rows, --qps %g | %.2f%% of a core | %s |\n",
		b.pace.sandboxCPU().Round(10*time.Millisecond), paceRows, paceQPS, 100*b.pace.median(share), b.pace.each())
	fmt.Printf("| CPU of the floor client at that pace | %d calls, %g/s | %.2f%% of a core | %s |\n", paceRows, paceQPS, 100*b.paceFloor.median(share), b.paceFloor.each())
}

// find returns the measures of ms for format f ("" for any) and size.
func (b *benchRun) find(ms []measure, f string, size int) []measure {
	var out []measure
	for _, m := range ms {
		if (f == "" || m.format == f) && m.size == size && len(m.runs) > 0 {
			out = append(out, m)
		}
	}
	return out
}

// one returns the measure of ms for format f and size, or nil.
func (b *benchRun) one(ms []measure, f string, size int) *measure {
	if found := b.find(ms, f, size); len(found) > 0 {
		return &found[0]
	}
	return nil
}

// judgement collects target rows and whether they all hold.
type judgement struct{ ok bool }

// row prints one target's row; pass is nil for a figure with no target.
func (j *judgement) row(measureText, measured, target string, pass *bool) {
	verdict := "—"
	if pass != nil {
		verdict = "holds"
		if !*pass {
			verdict, j.ok = "MISSED", false
		}
	}
	fmt.Printf("| %s | %s | %s | %s |\n", measureText, measured, target, verdict)
}

func holds(b bool) *bool { return &b }

// judge prints issue 17's table, then the targets of issues 7 and 15, and
// reports whether every target holds and every run succeeded.
func (b *benchRun) judge() bool {
	j := &judgement{ok: b.runOK}
	big := b.largest()
	fmt.Printf("\n## issue 17, row by row (%s rows; medians of %d; machine: %s)\n\n", label(big), b.c.reps, machine())
	if big != 1_000_000 {
		fmt.Printf("(the issue's rows are for 1M rows: these figures of %s rows are an indication only)\n\n", label(big))
	}
	fmt.Println("| measure | measured | target | |")
	fmt.Println("|---|---|---|---|")
	b.judgeCPU(j, big)
	b.judgeRSS(j, big)
	b.judgeRerun(j, big)
	b.judgePace(j)
	b.judgeOthers(j, big)
	if !b.runOK {
		fmt.Println("\nsome runs failed: see FAILED above")
	}
	fmt.Printf("\nmeasured by: %s\n", b.c.cmdLine())
	return j.ok
}

// judgePace prints the row of the CPU at the vendor's pace.
func (b *benchRun) judgePace(j *judgement) {
	text := fmt.Sprintf("CPU at the vendor's pace (%d rows, `--qps %g`, %s latency)", paceRows, paceQPS, b.c.latency)
	if len(b.pace.runs) == 0 {
		j.row(text, "not measured", "≤ 1.5% of a core", nil)
		return
	}
	paceShare, floorShare := b.pace.median(share), b.paceFloor.median(share)
	j.row(text, fmt.Sprintf("%.2f%% of a core (the floor client at that pace: %.2f%%, ratio %.2f; fake's CPU apart: %s)",
		100*paceShare, 100*floorShare, paceShare/floorShare, b.pace.sandboxCPU().Round(10*time.Millisecond)),
		"≤ 1.5% of a core", holds(paceShare <= 0.015))
}

// judgeCPU prints the rows of CPU per row and the floor's.
func (b *benchRun) judgeCPU(j *judgement, big int) {
	fl := b.floors[big]
	if fl == nil {
		j.row(label(big)+" CPU of cardverify per row", "not measured", "≤ 1.4 × floor (CSV), ≤ 2.0 × floor (XLSX)", nil)
		return
	}
	for _, t := range []struct {
		f, what string
		ratio   float64
	}{{"csv", "CSV → CSV", 1.4}, {"xlsx", "XLSX → XLSX", 2.0}} {
		text := fmt.Sprintf("%s %s, CPU of cardverify per row (user+sys)", label(big), t.what)
		target := fmt.Sprintf("≤ %.1f × floor", t.ratio)
		m := b.one(b.thr, t.f, big)
		if m == nil {
			j.row(text, "not measured", target, nil)
			continue
		}
		r := m.cpuPerRow() / fl.cpuPerRow()
		j.row(text, fmt.Sprintf("%.1f µs = %.2f × floor (%.0f rows/s; fake's CPU apart: %.1f µs/row)", m.cpuPerRow(), r,
			float64(big)/m.wall().Seconds(), float64(m.sandboxCPU().Microseconds())/float64(big)), target, holds(r <= t.ratio))
		if t.f == "csv" {
			j.row("the floor: a minimal Go client (32 workers, POST form, decode JSON, nothing else) on the same fake",
				fmt.Sprintf("%.1f µs (fake's CPU apart: %.1f µs/row)", fl.cpuPerRow(), float64(fl.sandboxCPU().Microseconds())/float64(big)), "—", nil)
		}
	}
}

// judgeRSS prints the rows of peak RSS, and its growth from a list a tenth
// of the size.
func (b *benchRun) judgeRSS(j *judgement, big int) {
	for _, t := range []struct {
		f      string
		target int64 // MiB
	}{{"csv", 120}, {"xlsx", 140}} {
		text := fmt.Sprintf("peak RSS, %s %s", label(big), strings.ToUpper(t.f))
		target := fmt.Sprintf("≤ %d MiB", t.target)
		if m := b.one(b.thr, t.f, big); m != nil {
			j.row(text, mib(m.rss()), target, holds(m.rss() <= t.target*1024))
		} else {
			j.row(text, "not measured", target, nil)
		}
	}
	text := fmt.Sprintf("peak RSS %s ÷ %s, CSV", label(big), label(big/10))
	m, s := b.one(b.thr, "csv", big), b.one(b.thr, "csv", big/10)
	if m == nil || s == nil {
		j.row(text, "not measured (needs a list a tenth of the largest: -sizes)", "≤ 1.3", nil)
		return
	}
	r := float64(m.rss()) / float64(s.rss())
	j.row(text, fmt.Sprintf("%.2f (%s vs %s)", r, mib(m.rss()), mib(s.rss())), "≤ 1.3", holds(r <= 1.3))
}

// judgeRerun prints the rows of the reruns of finished jobs.
func (b *benchRun) judgeRerun(j *judgement, big int) {
	for _, t := range []struct {
		f     string
		limit time.Duration
	}{{"csv", 3 * time.Second}, {"xlsx", 10 * time.Second}} {
		text := fmt.Sprintf("re-running a finished %s job, %s", label(big), strings.ToUpper(t.f))
		target := "≤ " + t.limit.String()
		m := b.one(b.rerun, t.f, big)
		if m == nil {
			j.row(text, "not measured", target, nil)
			continue
		}
		j.row(text, fmt.Sprintf("%s (CPU %s, peak RSS %s)", m.wall().Round(10*time.Millisecond), m.cpu().Round(10*time.Millisecond), mib(m.rss())),
			target, holds(m.wall() <= t.limit))
	}
}

// judgeOthers prints the targets of issues 7 and 15.
func (b *benchRun) judgeOthers(j *judgement, big int) {
	fmt.Printf("\n## issues 7 and 15\n\n")
	fmt.Println("| measure | measured | target | |")
	fmt.Println("|---|---|---|---|")
	if m, s := b.one(b.thr, "xlsx", big), b.one(b.thr, "xlsx", big/10); m != nil && s != nil {
		r := float64(m.rss()) / float64(s.rss())
		j.row(fmt.Sprintf("peak RSS %s ÷ %s, XLSX", label(big), label(big/10)), fmt.Sprintf("%.2f (%s vs %s)", r, mib(m.rss()), mib(s.rss())), "≤ 1.5", holds(r <= 1.5))
	}
	base := b.one(b.thr, "csv", big)
	for _, m := range b.reuse {
		if m.size != big {
			continue
		}
		got := float64(big) / m.wall().Seconds()
		if base != nil {
			want := float64(big) / base.wall().Seconds()
			j.row(fmt.Sprintf("%s CSV, 95%% in the history: rows/s", label(big)), fmt.Sprintf("%.0f", got), fmt.Sprintf("≥ the plain run's, %.0f", want), holds(got >= want))
		} else {
			j.row(fmt.Sprintf("%s CSV, 95%% in the history: rows/s", label(big)), fmt.Sprintf("%.0f", got), "≥ the plain run's (not measured)", nil)
		}
		j.row(fmt.Sprintf("%s CSV, 95%% in the history: peak RSS", label(big)), mib(m.rss()), "≤ 120 MiB", holds(m.rss() <= 120*1024))
	}
	for _, m := range b.first {
		if len(m.runs) > 0 {
			j.row(fmt.Sprintf("first API call (%s %s)", m.format, label(m.size)), m.wall().Round(time.Millisecond).String(), "≤ 1s", holds(m.wall() <= time.Second))
		}
	}
	for _, r := range b.rates {
		ratio := r.achieved / r.qps
		j.row(fmt.Sprintf("rate ÷ --qps %g", r.qps), fmt.Sprintf("%.4f", ratio), "in [0.98, 1.01]", holds(ratio >= 0.98 && ratio <= 1.01))
	}
}

// label names a list size as the issues do: 1M, 100k.
func label(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 1000 && n%1000 == 0:
		return fmt.Sprintf("%dk", n/1000)
	}
	return fmt.Sprint(n)
}
