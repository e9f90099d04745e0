package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strings"
	"time"

	"github.com/cardverify/cardverify/pipeline"
	"github.com/cardverify/cardverify/pipeline/juhe"
	"github.com/cardverify/cardverify/pipeline/juhe/juhetest"
	"github.com/cardverify/cardverify/reader"
	"github.com/cardverify/cardverify/store"
	"github.com/cardverify/cardverify/writer"
)

// runConfig is everything "cardverify run" was asked to do.
type runConfig struct {
	Input, Out, DB string
	Read           reader.Options
	Endpoint       string
	BaseURL        string
	Key, OpenID    string
	QPS            float64
	Workers        int
	Timeout        time.Duration
	MaxAttempts    int
	MaxBilled      int
	DryRun         bool
	RetryFailed    bool
	RetryDeferred  bool
	Sandbox        bool
	Lang           string
	MaskCard       bool
	MaxDuration    time.Duration
	StopAt         string
	Progress       string
	CPUProfile     string
}

func (a *app) parseRun(args []string) (runConfig, error) {
	var c runConfig
	fs := a.newFlags("run")
	fs.StringVar(&c.Out, "out", "", "output `path` (.xlsx, .csv or .tsv); default: INPUT's name + .verified")
	fs.StringVar(&c.DB, "db", "", "checkpoint `path`; default: INPUT's name + .cardverify.db")
	readerFlags(fs, &c.Read)
	fs.StringVar(&c.Endpoint, "endpoint", "plain", "API endpoint: plain or encrypted (AES)")
	fs.StringVar(&c.BaseURL, "base-url", "http://v.juhe.cn", "API base `URL`")
	fs.StringVar(&c.Key, "key", "", "API key (default $JUHE_KEY)")
	fs.StringVar(&c.OpenID, "openid", "", "openid for the encrypted endpoint (default $JUHE_OPENID)")
	fs.Float64Var(&c.QPS, "qps", 10, "most calls per second")
	fs.IntVar(&c.Workers, "workers", 0, "concurrent calls (default: enough for --qps at the observed latency)")
	fs.DurationVar(&c.Timeout, "timeout", 10*time.Second, "timeout of one call")
	fs.IntVar(&c.MaxAttempts, "max-attempts", 4, "calls per row before a transient failure is final")
	fs.IntVar(&c.MaxBilled, "max-billed", 0, "stop before billed answers exceed `N` over the whole job (0: no limit)")
	fs.BoolVar(&c.DryRun, "dry-run", false, "read and validate, write the output, make no call")
	fs.BoolVar(&c.RetryFailed, "retry-failed", false, "send rows that failed in an earlier run again")
	fs.BoolVar(&c.RetryDeferred, "retry-deferred", false, "send deferred rows again today")
	fs.BoolVar(&c.Sandbox, "sandbox", false, "use the built-in simulated API (no key, no cost, not real verdicts)")
	fs.StringVar(&c.Lang, "lang", "zh", "output language: zh or en")
	fs.BoolVar(&c.MaskCard, "mask-card", false, "show only the first 6 and last 4 digits of cards in the output")
	fs.DurationVar(&c.MaxDuration, "max-duration", 0, "stop cleanly after this long (e.g. 6h)")
	fs.StringVar(&c.StopAt, "stop-at", "", "stop cleanly at this local time, `HH:MM`")
	fs.StringVar(&c.Progress, "progress", "", "progress display: bar, plain or none (default: bar on a terminal, plain otherwise)")
	fs.StringVar(&c.CPUProfile, "cpuprofile", "", "write a CPU profile to `file`")
	pos, err := parse(fs, args)
	if err != nil {
		return c, err
	}
	if len(pos) != 1 {
		return c, usagef("run takes one INPUT file, got %d arguments", len(pos))
	}
	c.Input = pos[0]
	if c.Key == "" {
		c.Key = a.getenv("JUHE_KEY")
	}
	if c.OpenID == "" {
		c.OpenID = a.getenv("JUHE_OPENID")
	}
	return c, c.check()
}

// check validates what can be validated before reading anything.
func (c *runConfig) check() error {
	if err := oneOf("lang", c.Lang, "zh", "en"); err != nil {
		return err
	}
	if err := oneOf("endpoint", c.Endpoint, "plain", "encrypted"); err != nil {
		return err
	}
	if c.Progress != "" {
		if err := oneOf("progress", c.Progress, "bar", "plain", "none"); err != nil {
			return err
		}
	}
	if !(c.QPS > 0) || math.IsInf(c.QPS, 0) || c.Workers < 0 || c.MaxAttempts < 1 || c.MaxBilled < 0 || c.Timeout <= 0 || c.MaxDuration < 0 {
		return usagef("--qps must be a finite positive number, --timeout positive, --max-attempts at least 1, --workers, --max-billed and --max-duration not negative")
	}
	if c.StopAt != "" {
		if _, err := pipeline.NextClock(time.Now(), c.StopAt); err != nil {
			return usagef("--stop-at: %v", err)
		}
	}
	if c.Key == "" && !c.Sandbox && !c.DryRun {
		return usagef("no API key: set JUHE_KEY (or pass --key) to verify for real, or add --sandbox to try the simulated API at no cost")
	}
	if c.Endpoint == "encrypted" && c.OpenID == "" && !c.Sandbox && !c.DryRun {
		return usagef("the encrypted endpoint needs your openid: set JUHE_OPENID (or pass --openid)")
	}
	return nil
}

// defaultPaths fills --out and --db from the input's name.
func (c *runConfig) defaultPaths() {
	dir, base := filepath.Split(c.Input)
	ext := strings.ToLower(filepath.Ext(base))
	stem := strings.TrimSuffix(base, filepath.Ext(base))
	if c.Out == "" {
		switch ext {
		case ".xlsx", ".xlsm":
			ext = ".xlsx"
		case ".tsv":
		default:
			ext = ".csv"
		}
		// A dry run never overwrites the output of a real one.
		kind := ".verified"
		if c.DryRun {
			kind = ".dry-run"
		}
		c.Out = filepath.Join(dir, stem+kind+ext)
	}
	if c.DB == "" {
		c.DB = filepath.Join(dir, stem+".cardverify.db")
	}
}

func (a *app) run(ctx context.Context, args []string) error {
	c, err := a.parseRun(args)
	if err != nil {
		return err
	}
	c.defaultPaths()
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
	if c.DryRun {
		return a.dryRun(ctx, c)
	}
	return a.runJob(ctx, c)
}

// xlsxMaxRows is the most rows a worksheet holds.
const xlsxMaxRows = 1 << 20

// runJob verifies c.Input, resuming from the checkpoint, and writes the
// output.
func (a *app) runJob(ctx context.Context, c runConfig) error {
	start := a.now()
	deadline := c.deadline(start)
	in, err := reader.Open(c.Input, c.Read)
	if err != nil {
		return err
	}
	defer in.Close()
	layout := in.Layout()
	if layout.EstimatedRows > xlsxMaxRows && strings.EqualFold(filepath.Ext(c.Out), ".xlsx") {
		return &pipeline.InputError{Path: c.Input, Msg: fmt.Sprintf("about %d rows: more than an XLSX sheet holds (%d)", layout.EstimatedRows, xlsxMaxRows),
			Hint: "write a CSV instead: --out " + strings.TrimSuffix(c.Out, filepath.Ext(c.Out)) + ".csv"}
	}
	// Fail now, not after a night of billed calls, if the output cannot
	// be written: a wrong extension, the input itself, a directory, no
	// permission.
	probe, err := writer.Create(c.Out, writer.Options{Lang: c.Lang, MaskCard: c.MaskCard, CardCol: layout.CardCol, Input: c.Input})
	if err != nil {
		return err
	}
	probe.Abort()
	client, closeClient, err := a.newClient(c)
	if err != nil {
		return err
	}
	defer closeClient()
	sum, size, err := reader.Digest(c.Input)
	if err != nil {
		return err
	}
	db, err := store.Open(ctx, c.DB)
	if err != nil {
		return err
	}
	defer db.Close()
	runID, err := db.BeginRun(ctx, store.RunInfo{
		InputPath: c.Input, InputSize: size, InputSHA256: sum, Sheet: layout.Sheet,
		Endpoint: c.Endpoint, Sandbox: c.Sandbox, Version: version, QPS: c.QPS, Started: start,
	})
	if err != nil {
		return err
	}

	maxBilled := 0
	if c.MaxBilled > 0 {
		before, err := db.Status(ctx)
		if err != nil {
			return err
		}
		// Possibly billed calls (and answers lost in a crash) count: the
		// vendor's bill must never exceed --max-billed.
		spent := before.BilledCalls + before.PossiblyBilled
		if maxBilled = c.MaxBilled - spent; maxBilled <= 0 {
			return fmt.Errorf("%w: this job already has %d billed and %d possibly billed calls and --max-billed is %d (raise it to go on)",
				pipeline.ErrBudget, before.BilledCalls, before.PossiblyBilled, c.MaxBilled)
		}
	}
	finished, st, err := finishedJob(ctx, db)
	if err != nil {
		return err
	}
	var (
		stats  pipeline.Stats
		runErr error
	)
	if !finished {
		prog := a.newProgress(c.Progress, layout.EstimatedRows-layout.HeaderRow)
		stats, runErr = pipeline.Run(ctx, in, db, client, pipeline.Config{
			QPS: c.QPS, Workers: c.Workers, MaxAttempts: c.MaxAttempts, MaxBilled: maxBilled,
			RetryFailed: c.RetryFailed, RetryDeferred: c.RetryDeferred,
			Stop: a.stop, Deadline: deadline, Progress: prog.update, Now: a.now,
		})
		prog.finish()
		if runErr == nil { // Run read every row
			runErr = db.MarkReadAll(ctx, runID)
		}
	}
	in.Close()
	if err := db.EndRun(ctx, runID, a.now()); err != nil && runErr == nil {
		runErr = err
	}
	if ctx.Err() != nil {
		// A second Ctrl-C wants out now: no output.
		return fmt.Errorf("stopped at once; the calls in flight were abandoned (status counts them as lost answers) — run the same command to resume: %w", pipeline.ErrIncomplete)
	}
	var inputErr *pipeline.InputError
	if errors.As(runErr, &inputErr) {
		return runErr // a refused input gets no output
	}
	if runErr == nil && !finished && stats.Rows == 0 {
		return noData(c.Input, layout)
	}
	if !finished {
		if st, err = db.Status(ctx); err != nil {
			return errors.Join(runErr, err)
		}
	}
	if err := a.writeOutput(ctx, db, st, c.Input, c.Out, c.Read, c.Lang, c.MaskCard, c.QPS); err != nil {
		return errors.Join(runErr, err)
	}
	a.report(st, stats, a.now().Sub(start), c.Out)
	switch {
	case runErr != nil:
		if errors.Is(runErr, pipeline.ErrIncomplete) {
			return fmt.Errorf("%s — run the same command to resume: %w", stats.StopReason, runErr)
		}
		return runErr
	case st.Pending+st.Failed-st.NoVerdict+st.Deferred > 0:
		// Rows billed without a verdict are final: a hint to retry them
		// would pay twice.
		return fmt.Errorf("%d rows pending, %d failed, %d deferred — run the same command to resume (with --retry-failed for failed rows; deferred rows are retried on a later day): %w",
			st.Pending, st.Failed-st.NoVerdict, st.Deferred, pipeline.ErrIncomplete)
	}
	return nil
}

// finishedJob reports whether the job of db needs no call: a run has read
// every row of the input (the same input: BeginRun refuses another) and
// every row has a final status that no flag asks to retry. Such a run only
// rewrites the output, without reading the input against the checkpoint.
// Failed and deferred rows always go through the pipeline, which knows
// when they may be retried. The status of a finished job is returned with
// it, for the output.
func finishedJob(ctx context.Context, db *store.DB) (bool, store.Status, error) {
	all, err := db.ReadAll(ctx)
	if err != nil || !all {
		return false, store.Status{}, err
	}
	st, err := db.Status(ctx)
	return err == nil && st.Pending+st.Failed-st.NoVerdict+st.Deferred == 0, st, err
}

// deadline is when --max-duration or --stop-at, whichever comes first, ends
// a run that started at start; zero if neither is set.
func (c *runConfig) deadline(start time.Time) time.Time {
	var d time.Time
	if c.MaxDuration > 0 {
		d = start.Add(c.MaxDuration)
	}
	if c.StopAt != "" {
		at, _ := pipeline.NextClock(start, c.StopAt) // checked in parseRun
		if d.IsZero() || at.Before(d) {
			d = at
		}
	}
	return d
}

// newClient returns the Juhe client of c: the real API, or the simulated
// one served on loopback for --sandbox. The returned func stops the
// sandbox.
func (a *app) newClient(c runConfig) (*juhe.Client, func(), error) {
	jc := juhe.Config{BaseURL: c.BaseURL, Key: c.Key, OpenID: c.OpenID, Timeout: c.Timeout}
	var err error
	if jc.Endpoint, err = juhe.ParseEndpoint(c.Endpoint); err != nil {
		return nil, nil, err
	}
	stop := func() {}
	if c.Sandbox {
		sb, err := startSandbox("127.0.0.1:0", juhetest.Options{OpenID: sandboxOpenID})
		if err != nil {
			return nil, nil, err
		}
		stop = func() { sb.Close() }
		jc.BaseURL, jc.Key, jc.OpenID = sb.URL, sandboxKey, sandboxOpenID
		fmt.Fprintln(a.stderr, "SANDBOX: answers come from the built-in simulated API; they are not real verdicts")
	}
	client, err := juhe.New(jc)
	if err != nil {
		stop()
		return nil, nil, err
	}
	return client, stop, nil
}

// noData is the error for an input with a header and no data row under it.
func noData(input string, l reader.Layout) error {
	return &pipeline.InputError{Path: input, Msg: fmt.Sprintf("no data row under the header (row %d)", l.HeaderRow),
		Hint: "check that this is the right file and sheet (--sheet), and the header row (--header-row)"}
}

// writeOutput writes the annotated copy of input to out from the checkpoint,
// atomically; st is the checkpoint's status, for the Summary sheet.
func (a *app) writeOutput(ctx context.Context, db *store.DB, st store.Status, input, out string, ro reader.Options, lang string, mask bool, qps float64) error {
	in, err := reader.Open(input, ro)
	if err != nil {
		return err
	}
	defer in.Close()
	layout := in.Layout()
	res, err := db.Results(ctx)
	if err != nil {
		return err
	}
	defer res.Close()
	w, err := writer.Create(out, writer.Options{
		Lang: lang, MaskCard: mask, CardCol: layout.CardCol, Input: input, SheetName: layout.Sheet,
		Summary: summary(st, input, layout.Sheet, qps),
	})
	if err != nil {
		return err
	}
	if err := pipeline.Export(ctx, in, res, db, w); err != nil {
		w.Abort()
		return err
	}
	return w.Close()
}

// summary is what the output's Summary sheet says about the job.
func summary(st store.Status, input, sheet string, qps float64) writer.Summary {
	s := writer.Summary{
		Version: version, InputName: filepath.Base(input), InputSHA256: st.InputSHA256, Sheet: sheet,
		Endpoint: st.Endpoint, QPS: qps, Calls: st.Calls, BilledCalls: st.BilledCalls,
		Start: st.FirstAt, End: st.LastAt, Sandbox: st.Sandbox,
	}
	for code, n := range st.Codes {
		info := writer.CodeInfo{Code: code, Count: n}
		if c, ok := juhe.Lookup(code); ok {
			info.Meaning = c.Meaning
		}
		s.Codes = append(s.Codes, info)
	}
	sort.Slice(s.Codes, func(i, j int) bool { return s.Codes[i].Code < s.Codes[j].Code })
	return s
}

// report prints the end-of-run summary on stderr.
func (a *app) report(st store.Status, s pipeline.Stats, took time.Duration, out string) {
	w := a.stderr
	fmt.Fprintf(w, "\n%d rows: %d match, %d mismatch, %d invalid, %d rejected, %d deferred, %d failed, %d pending\n",
		st.Rows, st.Match, st.Mismatch, st.Invalid, st.Rejected, st.Deferred, st.Failed, st.Pending)
	if s.Rows == 0 {
		fmt.Fprintf(w, "this run: nothing to send, every row was final already; output written in %s\n", took.Round(time.Millisecond))
	} else {
		fmt.Fprintf(w, "this run: %d calls, %d billed, %d possibly billed, %d rows already done before, in %s\n",
			s.Calls, s.Billed, s.PossiblyBilled, s.Skipped, took.Round(time.Millisecond))
	}
	fmt.Fprintf(w, "whole job: %d calls, %d billed, %d possibly billed", st.Calls, st.BilledCalls, st.PossiblyBilled)
	if st.LostAnswers > 0 {
		fmt.Fprintf(w, " (%d answers lost in a crash)", st.LostAnswers)
	}
	if st.NoVerdict > 0 {
		fmt.Fprintf(w, "\n%d failed rows were billed without a verdict: never sent again, ask Juhe about them", st.NoVerdict)
	}
	fmt.Fprintf(w, "\noutput: %s\n", out)
	if st.Sandbox {
		fmt.Fprintln(w, "SANDBOX: simulated answers, not real verdicts")
	}
}

// dryRun reads and validates the whole input against a throwaway
// checkpoint, writes the output with invalid and pending rows, and prints
// what a run would cost. It makes no call.
func (a *app) dryRun(ctx context.Context, c runConfig) error {
	tmp, err := os.MkdirTemp("", "cardverify-dry-run-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	in, err := reader.Open(c.Input, c.Read)
	if err != nil {
		return err
	}
	defer in.Close()
	db, err := store.Open(ctx, filepath.Join(tmp, "dry-run.db"))
	if err != nil {
		return err
	}
	defer db.Close()
	stats, err := pipeline.Run(ctx, in, db, nil, pipeline.Config{DryRun: true})
	if err != nil {
		return err
	}
	if stats.Rows == 0 {
		return noData(c.Input, in.Layout())
	}
	st, err := db.Status(ctx)
	if err != nil {
		return err
	}
	if err := a.writeOutput(ctx, db, st, c.Input, c.Out, c.Read, c.Lang, c.MaskCard, 0); err != nil {
		return err
	}
	w := a.stdout
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
	fmt.Fprintf(w, "at most %d billed calls (one per unique valid name and card pair)\n", stats.Dispatched)
	fmt.Fprintf(w, "output: %s\n", c.Out)
	return nil
}
