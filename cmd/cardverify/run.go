package main

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"sort"
	"time"

	"github.com/cardverify/cardverify/cmd/internal/job"
	"github.com/cardverify/cardverify/pipeline"
	"github.com/cardverify/cardverify/pipeline/msg"
	"github.com/cardverify/cardverify/store"
)

func (a *app) parseRun(args []string) (job.Config, error) {
	var c job.Config
	fs := a.newFlags("run")
	c.Flags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return c, err
	}
	if len(pos) != 1 {
		return c, usagef(msg.UsageArgs, "run", "INPUT", len(pos))
	}
	c.Input = pos[0]
	c.Secrets(a.getenv)
	if err := c.Check(); err != nil {
		return c, err
	}
	for _, w := range c.Warnings() {
		fmt.Fprintln(a.stderr, a.say(msg.Warning, msg.Text(a.lang, w)))
	}
	return c, nil
}

func (a *app) run(ctx context.Context, args []string) error {
	c, err := a.parseRun(args)
	if err != nil {
		return err
	}
	c.DefaultPaths()
	if c.CPUProfile != "" {
		f, err := os.Create(c.CPUProfile)
		if err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	env := job.Env{Version: version, Stop: a.stop, Now: a.now, Notice: a.stderr,
		Command: job.CommandLine(append([]string{"cardverify", "run"}, args...)),
		Progress: func(total func() int) (func(pipeline.Stats), func()) {
			p := a.newProgress(c.Progress, c.Lang, total)
			return p.updater(), p.finish
		}, ProgressEvery: progressEvery(c.Progress, a.stderr), Pace: a.pace}
	if c.DryRun {
		res, err := job.DryRun(ctx, c, env)
		if err != nil {
			return err
		}
		a.reportDryRun(c.Input, res)
		return nil
	}
	res, err := job.Run(ctx, c, env)
	if res.Written {
		a.report(res.Status, res.Stats, res.Took, res.Out)
		a.reportPaid(a.stderr, c.Price, res.Stats)
	}
	return err
}

// report prints the end-of-run summary on stderr.
func (a *app) report(st store.Status, s pipeline.Stats, took time.Duration, out string) {
	w := a.stderr
	fmt.Fprintln(w)
	fmt.Fprintln(w, a.say(msg.RunRows, st.Rows, st.Match, st.Mismatch, st.Invalid, st.Rejected, st.Deferred, st.Failed, st.Pending))
	if s.Rows == 0 {
		fmt.Fprintln(w, a.say(msg.RunNothing, took.Round(time.Millisecond)))
	} else {
		this := a.say(msg.RunThis, s.Calls, s.Billed, s.Skipped, took.Round(time.Millisecond), s.PossiblyBilled)
		if s.Simulated > 0 {
			this = msg.Join(a.lang, this, a.say(msg.RunSimulated, s.Simulated))
		}
		fmt.Fprintln(w, this)
	}
	if s.Reused > 0 {
		fmt.Fprintln(w, a.say(msg.RunReused, s.Reused, pipeline.ChinaTime(s.OldestReused)))
	}
	fmt.Fprintln(w, a.withLost(a.say(msg.RunJob, st.Calls, st.BilledCalls, st.PossiblyBilled), msg.RunLost, st))
	fmt.Fprintln(w, a.say(msg.RunOutput, out))
	if st.Sandbox {
		fmt.Fprintln(w, a.say(msg.RunSandbox))
	}
}

// reportDryRun prints what a dry run did and found on stdout.
func (a *app) reportDryRun(input string, res job.DryResult) {
	w, stats, st := a.stdout, res.Stats, res.Status
	enc := a.say(msg.DryEncXLSX)
	switch {
	case res.Layout.Encoding != "" && res.Given:
		enc = a.say(msg.DryEncGiven, res.Layout.Encoding)
	case res.Layout.Encoding != "":
		enc = a.say(msg.DryEncoding, res.Layout.Encoding)
	}
	fmt.Fprintln(w, a.say(msg.DryDid, input, enc, stats.Rows, stats.Rows-stats.Invalid, stats.Invalid, stats.Duplicates))
	reasons := make([]string, 0, len(st.InvalidReasons))
	for r := range st.InvalidReasons {
		reasons = append(reasons, r)
	}
	sort.Slice(reasons, func(i, j int) bool {
		if ni, nj := st.InvalidReasons[reasons[i]], st.InvalidReasons[reasons[j]]; ni != nj {
			return ni > nj
		}
		return reasons[i] < reasons[j]
	})
	for _, r := range reasons {
		fmt.Fprintf(w, "  %6d  %s\n", st.InvalidReasons[r], msg.Text(a.lang, r))
	}
	a.reportCost(w, res.Cost, stats.OldestReused)
	fmt.Fprintln(w, a.say(msg.DryNoCall))
	fmt.Fprintln(w, a.say(msg.DryOutput, res.Out))
}
