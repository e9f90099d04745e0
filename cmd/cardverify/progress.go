package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/cardverify/cardverify/pipeline"
)

// progress shows how a run is going: a bar on a terminal, a line every
// plainEvery in a log, or nothing. Its rates and ETA use this run's own work
// only, so rows skipped on resume do not make them look faster.
type progress struct {
	w     io.Writer
	bar   *progressbar.ProgressBar // nil unless mode is bar
	plain bool
	total int // data rows expected, 0 if unknown
	next  time.Time
	pause time.Time // the last pause logged
	last  pipeline.Stats
}

const plainEvery = 10 * time.Second

func (a *app) newProgress(mode string, total int) *progress {
	if mode == "" {
		mode = "plain"
		if isTerminal(a.stderr) {
			mode = "bar"
		}
	}
	p := &progress{w: a.stderr, total: max(total, 0)}
	switch mode {
	case "bar":
		p.bar = progressbar.NewOptions(p.barMax(),
			progressbar.OptionSetWriter(a.stderr),
			progressbar.OptionSetPredictTime(false), // ours leaves out skipped rows
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionShowDescriptionAtLineEnd(),
		)
	case "plain":
		p.plain = true
		p.next = time.Now().Add(plainEvery)
	}
	return p
}

func (p *progress) barMax() int {
	if p.total > 0 {
		return p.total
	}
	return -1 // a spinner
}

// line describes s: rows done, call rate, ETA, verdicts so far.
func (p *progress) line(s pipeline.Stats) string {
	done := s.Resolved()
	took := time.Since(s.Started).Seconds()
	text := fmt.Sprintf("%d", done)
	if p.total > 0 {
		text += fmt.Sprintf("/%d", p.total)
	}
	text += " rows"
	if took > 0 {
		text += fmt.Sprintf(" · %.1f calls/s", float64(s.Calls)/took)
	}
	if eta := s.ETA(p.total, time.Now()); eta > 0 && took > 1 {
		text += " · ETA " + eta.Round(time.Second).String()
	}
	if now := time.Now(); s.PausedUntil.Sub(now) > pauseShown {
		// A long silence must say why and until when; Ctrl-C ends it.
		text += " · paused by the API (Retry-After) until " + pipeline.ChinaClock(s.PausedUntil, now) + ", Ctrl-C to stop"
	}
	text += fmt.Sprintf(" · %d match %d mismatch · %d billed", s.Outcomes[pipeline.Match], s.Outcomes[pipeline.Mismatch], s.Billed)
	if s.PossiblyBilled > 0 {
		text += fmt.Sprintf(" + %d possibly", s.PossiblyBilled)
	}
	return text
}

// update is pipeline.Config.Progress.
func (p *progress) update(s pipeline.Stats) {
	p.last = s
	switch {
	case p.bar != nil:
		if p.total > 0 && s.Resolved() > p.total {
			p.total = s.Resolved()
			p.bar.ChangeMax(p.total)
		}
		p.bar.Describe(p.line(s))
		p.bar.Set(s.Resolved())
	case p.plain && (time.Now().After(p.next) || p.newPause(s)):
		p.next = time.Now().Add(plainEvery)
		fmt.Fprintf(p.w, "%s %s\n", pipeline.ChinaTime(time.Now()), p.line(s))
	}
}

// newPause reports a pause longer than pauseShown not logged yet, so that a
// log says at once why it falls silent.
func (p *progress) newPause(s pipeline.Stats) bool {
	if s.PausedUntil.Sub(time.Now()) <= pauseShown || s.PausedUntil.Equal(p.pause) {
		return false
	}
	p.pause = s.PausedUntil
	return true
}

func (p *progress) finish() {
	if p.bar != nil {
		p.bar.Finish()
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
