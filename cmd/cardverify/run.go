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
		return c, usagef("run takes one INPUT file, got %d arguments", len(pos))
	}
	c.Input = pos[0]
	c.Secrets(a.getenv)
	return c, c.Check()
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
		Progress: func(total int) (func(pipeline.Stats), func()) {
			p := a.newProgress(c.Progress, total)
			return p.update, p.finish
		}}
	if c.DryRun {
		res, err := job.DryRun(ctx, c, env)
		if err != nil {
			return err
		}
		a.reportDryRun(res)
		return nil
	}
	res, err := job.Run(ctx, c, env)
	if res.Written {
		a.report(res.Status, res.Stats, res.Took, res.Out)
		reportPaid(a.stderr, c.Price, res.Stats)
	}
	return err
}

// report prints the end-of-run summary on stderr.
func (a *app) report(st store.Status, s pipeline.Stats, took time.Duration, out string) {
	w := a.stderr
	fmt.Fprintf(w, "\n%d rows: %d match, %d mismatch, %d invalid, %d rejected, %d deferred, %d failed, %d pending\n",
		st.Rows, st.Match, st.Mismatch, st.Invalid, st.Rejected, st.Deferred, st.Failed, st.Pending)
	if s.Rows == 0 {
		fmt.Fprintf(w, "this run: nothing to send, every row was final already; output written in %s\n", took.Round(time.Millisecond))
	} else {
		fmt.Fprintf(w, "this run: %d calls, %d billed, %d rows already done before, in %s\n",
			s.Calls, s.Billed, s.Skipped, took.Round(time.Millisecond))
	}
	if s.Reused > 0 {
		fmt.Fprintf(w, "this run: %d rows reused from the history (no call; the oldest verified on %s)\n",
			s.Reused, chinaTime(s.OldestReused))
	}
	fmt.Fprintf(w, "whole job: %d calls, %d billed", st.Calls, st.BilledCalls)
	if st.LostAnswers > 0 {
		fmt.Fprintf(w, ", %d answers lost in a crash (possibly billed)", st.LostAnswers)
	}
	fmt.Fprintf(w, "\noutput: %s\n", out)
	if st.Sandbox {
		fmt.Fprintln(w, "SANDBOX: simulated answers, not real verdicts")
	}
}

// reportDryRun prints what a dry run found on stdout.
func (a *app) reportDryRun(res job.DryResult) {
	w, stats, st := a.stdout, res.Stats, res.Status
	fmt.Fprintf(w, "dry run: %d data rows, %d valid, %d invalid, %d duplicates\n",
		stats.Rows, stats.Rows-stats.Invalid, stats.Invalid, stats.Duplicates)
	reasons := make([]string, 0, len(st.InvalidReasons))
	for r := range st.InvalidReasons {
		reasons = append(reasons, r)
	}
	sort.Slice(reasons, func(i, j int) bool { return st.InvalidReasons[reasons[i]] > st.InvalidReasons[reasons[j]] })
	for _, r := range reasons {
		fmt.Fprintf(w, "  %6d  %s\n", st.InvalidReasons[r], r)
	}
	reportCost(w, res.Cost, stats.OldestReused)
	fmt.Fprintf(w, "output: %s\n", res.Out)
}
