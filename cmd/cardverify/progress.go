package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/cardverify/cardverify/pipeline"
	"github.com/cardverify/cardverify/pipeline/msg"
)

// progress shows how a run is going: a bar on a terminal, a line every
// plainEvery in a log, or nothing. Every count it shows is this run's own,
// and the line says so ("this run"): the rows of the input this run has
// dealt with out of all of them (rows found already done in the checkpoint
// count as dealt with, and their number is shown apart), the call rate,
// the ETA at this run's own pace, the billed and possibly billed calls, the
// failed and invalid rows, and any throttling by the API or pause for its
// Retry-After. The end-of-run report gives the whole job's figures.
type progress struct {
	w     io.Writer
	bar   *progressbar.ProgressBar // nil unless mode is bar
	plain bool
	total int // data rows expected, 0 if unknown
	// expected tells total once it is known, or exact (a first run
	// counts a text input's rows beside its first calls); told is what it
	// told last.
	expected func() int
	told     int
	text     *progressText
	lang     string
	next     time.Time
	pause    time.Time // the last pause logged
	wait     time.Time // the last wait logged
	last     pipeline.Stats
	now      func() time.Time // the app's clock
}

const plainEvery = 10 * time.Second

// progressEvery is how often the run hands its counters to a progress of
// mode on w: a bar redraws five times a second, a log line needs them once
// a second (for a pause announced within a second).
func progressEvery(mode string, w io.Writer) time.Duration {
	if mode == "bar" || (mode == "" && isTerminal(w)) {
		return 200 * time.Millisecond
	}
	return time.Second
}

// progressText is the wording of the progress line in one language.
type progressText struct {
	prefix, rows, before, rate, eta, billed, possibly, simulated, failed, invalid, throttled, paused string
}

var progressTexts = map[string]*progressText{
	"zh": {prefix: "本次运行：", rows: "%s 行", before: "（其中 %d 行此前已完成）", rate: "%.1f 次/秒", eta: "预计剩余 %s",
		billed: "计费 %d", possibly: "可能计费 %d", simulated: "模拟调用 %d（不计费）", failed: "失败 %d", invalid: "无效 %d",
		throttled: "接口限流 %.1f/%.0f 次/秒", paused: "接口要求暂停（Retry-After）至 %s，按 Ctrl-C 停止"},
	"en": {prefix: "this run: ", rows: "%s rows", before: " (%d done before)", rate: "%.1f calls/s", eta: "ETA %s",
		billed: "billed %d", possibly: "possibly billed %d", simulated: "simulated %d (not billed)", failed: "failed %d", invalid: "invalid %d",
		throttled: "throttled %.1f/%.0f calls/s", paused: "paused by the API (Retry-After) until %s, Ctrl-C to stop"},
}

// newProgress returns the progress of a run in mode ("bar", "plain",
// "none"; "" for a bar on a terminal, plain lines elsewhere), whose total
// is what total tells at each update (0 while not known).
func (a *app) newProgress(mode, lang string, total func() int) *progress {
	if mode == "" {
		mode = "plain"
		if isTerminal(a.stderr) {
			mode = "bar"
		}
	}
	text := progressTexts[lang]
	if text == nil {
		text = progressTexts["zh"]
	}
	p := &progress{w: a.stderr, total: max(total(), 0), expected: total, text: text, lang: lang, now: a.now}
	p.told = p.total
	if p.now == nil {
		p.now = time.Now
	}
	switch mode {
	case "bar":
		p.bar = progressbar.NewOptions(p.barMax(),
			progressbar.OptionSetWriter(a.stderr),
			progressbar.OptionSetPredictTime(false), // ours leaves out skipped rows
			progressbar.OptionSetWidth(barWidth),
			progressbar.OptionShowDescriptionAtLineEnd(),
		)
	case "plain":
		p.plain = true
		p.next = p.now().Add(plainEvery)
	}
	return p
}

func (p *progress) barMax() int {
	if p.total > 0 {
		return p.total
	}
	return -1 // a spinner
}

// line describes s at now, in at most width columns (0: no limit). A line
// too wide leaves out its least needed parts first (the rows done before,
// the invalid rows, the rate, the ETA, the failed rows), never the rows or
// the billed calls.
func (p *progress) line(s pipeline.Stats, now time.Time, width int) string {
	t := p.text
	type part struct {
		text string
		keep int // higher is kept longer
	}
	var parts []part
	add := func(keep int, format string, args ...any) {
		parts = append(parts, part{fmt.Sprintf(format, args...), keep})
	}
	took := now.Sub(s.Started).Seconds()
	rows := strconv.Itoa(s.Resolved())
	if p.total > 0 {
		rows += "/" + strconv.Itoa(p.total)
	}
	add(9, t.rows, rows)
	if s.Skipped > 0 {
		add(1, t.before, s.Skipped)
	}
	if took > 0 {
		add(3, " · "+t.rate, float64(s.Calls)/took)
	}
	if eta := s.ETA(p.total, now); eta > 0 && took > 1 {
		add(4, " · "+t.eta, eta.Round(time.Second))
	}
	add(9, " · "+t.billed, s.Billed)
	if s.PossiblyBilled > 0 {
		add(8, " · "+t.possibly, s.PossiblyBilled)
	}
	if s.Simulated > 0 {
		add(6, " · "+t.simulated, s.Simulated)
	}
	add(5, " · "+t.failed, s.Outcomes[pipeline.Failed])
	add(2, " · "+t.invalid, s.Invalid)
	if s.QPS > 0 && s.Limit < s.QPS*0.99 {
		add(7, " · "+t.throttled, s.Limit, s.QPS)
	}
	if wait := s.PausedUntil.Sub(now); wait >= time.Second {
		add(7, " · "+t.paused, pipeline.ChinaClock(s.PausedUntil, now))
	} else if wait := s.WaitUntil.Sub(now); wait >= time.Second && s.WaitWhy != "" {
		add(7, " · %s", msg.Say(p.lang, s.WaitWhy, pipeline.ChinaClock(s.WaitUntil, now)))
	}
	text := func() string {
		var b strings.Builder
		b.WriteString(t.prefix)
		for _, p := range parts {
			if p.keep > 0 {
				b.WriteString(p.text)
			}
		}
		return b.String()
	}
	for keep := 1; width > 0 && textWidth(text()) > width && keep < 9; keep++ {
		for i := range parts {
			if parts[i].keep == keep {
				parts[i].keep = 0
			}
		}
	}
	return text()
}

// textWidth is the width of s on a terminal: Chinese characters take two
// columns.
func textWidth(s string) int {
	n := 0
	for _, r := range s {
		switch {
		case r >= 0x1100 && (r <= 0x115f || (r >= 0x2e80 && r <= 0xa4cf) || (r >= 0xac00 && r <= 0xd7a3) ||
			(r >= 0xf900 && r <= 0xfaff) || (r >= 0xfe30 && r <= 0xfe4f) || (r >= 0xff00 && r <= 0xff60) || (r >= 0xffe0 && r <= 0xffe6)):
			n += 2
		default:
			n++
		}
	}
	return n
}

// barColumns is what the bar takes of a line besides its description:
// "100% |", the bar, "|  ".
const barColumns = 8 + barWidth + 3

const barWidth = 20

// updater returns p.update, or nil when p shows nothing (--progress none):
// the run then keeps no reporter waking up for it.
func (p *progress) updater() func(pipeline.Stats) {
	if p.bar == nil && !p.plain {
		return nil
	}
	return p.update
}

// learnTotal takes the total from p.expected when it tells a new one,
// and reports whether it did.
func (p *progress) learnTotal() bool {
	n := p.expected()
	if n <= 0 || n == p.told {
		return false
	}
	p.told, p.total = n, n
	return true
}

// update is pipeline.Config.Progress.
func (p *progress) update(s pipeline.Stats) {
	p.last = s
	now := p.now()
	learnt := p.learnTotal()
	switch {
	case p.bar != nil:
		if learnt {
			p.bar.ChangeMax(p.total)
		}
		if p.total > 0 && s.Resolved() > p.total {
			p.total = s.Resolved()
			p.bar.ChangeMax(p.total)
		}
		width := 0
		if cols := terminalWidth(p.w); cols > barColumns {
			width = cols - barColumns - 1
		}
		p.bar.Describe(p.line(s, now, width))
		p.bar.Set(s.Resolved())
	case p.plain && (now.After(p.next) || p.newPause(s, now)):
		p.next = now.Add(plainEvery)
		fmt.Fprintf(p.w, "%s %s\n", pipeline.ChinaTime(now), p.line(s, now, 0))
	}
}

// newPause reports a pause longer than pauseShown not logged yet (asked by
// the API, or every worker waiting: Stats.WaitUntil), so that a log says at
// once why it falls silent.
func (p *progress) newPause(s pipeline.Stats, now time.Time) bool {
	switch {
	case s.PausedUntil.Sub(now) > pauseShown && !s.PausedUntil.Equal(p.pause):
		p.pause = s.PausedUntil
		return true
	case s.WaitUntil.Sub(now) > pauseShown && s.WaitUntil.After(p.wait):
		p.wait = s.WaitUntil
		return true
	}
	return false
}

func (p *progress) finish() {
	if p.bar != nil {
		// A stopped run leaves the bar where it is: full only when
		// every row was dealt with.
		if p.total > 0 && p.last.Resolved() >= p.total {
			p.bar.Finish()
		} else {
			p.bar.Exit()
		}
		fmt.Fprintln(p.w)
	}
}

// isTerminal reports whether w is a character device such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// pauseShown is the shortest pause asked by the API that progress shows.
const pauseShown = 5 * time.Second
