package job

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/cardverify/cardverify/pipeline"
	"github.com/cardverify/cardverify/pipeline/juhe"
	"github.com/cardverify/cardverify/reader"
	"github.com/cardverify/cardverify/store"
	"github.com/cardverify/cardverify/writer"
)

// Env is what a job needs from the face that runs it. The zero value of
// each field is usable: no notices, no progress, time.Now, never stopped.
type Env struct {
	// Version is the tool's version, recorded per run and in the Summary.
	Version string
	// Stop, when closed, stops the run gracefully (Ctrl-C, the console's
	// Stop button).
	Stop <-chan struct{}
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Notice receives messages for the person running the job that cannot
	// wait for the end (the sandbox banner). Default: discarded.
	Notice io.Writer
	// Progress, if not nil, is called once the input's size is known with
	// the estimated number of data rows, and returns the function that
	// receives the run's counters and the one to call when the run ends.
	Progress func(total int) (update func(pipeline.Stats), finish func())
}

func (e *Env) defaults() {
	if e.Now == nil {
		e.Now = time.Now
	}
	if e.Notice == nil {
		e.Notice = io.Discard
	}
}

// Result is what a run did, for the face to report.
type Result struct {
	// Written says whether the output was written; the other fields are
	// meaningful only then.
	Written bool
	// Status is the whole job's status in the checkpoint after the run.
	Status store.Status
	// Stats are this run's own counters (zero when the job was finished
	// already and only the output was rewritten).
	Stats pipeline.Stats
	Took  time.Duration
	Out   string
}

// xlsxMaxRows is the most rows a worksheet holds.
const xlsxMaxRows = 1 << 20

// Run verifies c.Input, resuming from the checkpoint c.DB, and writes the
// output c.Out. The error is nil when every row has a final status;
// pipeline.ErrIncomplete (wrapped, with what to do) when rows are left; an
// *pipeline.InputError, *UsageError or *pipeline.APIError as their kinds say.
func Run(ctx context.Context, c Config, env Env) (Result, error) {
	env.defaults()
	var res Result
	start := env.Now()
	// One pass for the fingerprint and the line count, one to plan, one
	// to write: Open and the output's reader reuse the count.
	sum, err := reader.Digest(c.Input)
	if err != nil {
		return res, err
	}
	c.Read.Lines = sum.Lines
	in, err := reader.Open(c.Input, c.Read)
	if err != nil {
		return res, err
	}
	defer in.Close()
	layout := in.Layout()
	if layout.EstimatedRows > xlsxMaxRows && strings.EqualFold(filepath.Ext(c.Out), ".xlsx") {
		return res, &pipeline.InputError{Path: c.Input, Msg: fmt.Sprintf("about %d rows: more than an XLSX sheet holds (%d)", layout.EstimatedRows, xlsxMaxRows),
			Hint: "write a CSV instead: --out " + strings.TrimSuffix(c.Out, filepath.Ext(c.Out)) + ".csv"}
	}
	// Fail now, not after a night of billed calls, if the output cannot
	// be written: a wrong extension, the input itself, a directory, no
	// permission.
	probe, err := writer.Create(c.Out, writer.Options{Lang: c.Lang, MaskCard: c.MaskCard, CardCol: layout.CardCol, Input: c.Input})
	if err != nil {
		return res, err
	}
	probe.Abort()
	client, closeClient, err := newClient(c, env.Notice)
	if err != nil {
		return res, err
	}
	defer closeClient()
	db, err := store.Open(ctx, c.DB)
	if err != nil {
		return res, err
	}
	defer db.Close()
	runID, err := db.BeginRun(ctx, store.RunInfo{
		InputPath: c.Input, InputSize: sum.Size, InputSHA256: sum.SHA256, Sheet: layout.Sheet,
		Endpoint: c.Endpoint, Sandbox: c.Sandbox, Version: env.Version, QPS: c.QPS, Started: start,
	})
	if err != nil {
		return res, err
	}
	maxBilled, err := budgetLeft(ctx, db, c.MaxBilled)
	if err != nil {
		return res, err
	}
	finished, st, err := finishedJob(ctx, db)
	if err != nil {
		return res, err
	}
	hist, err := openHistory(ctx, c, env.Notice)
	if err != nil {
		return res, err
	}
	if hist != nil {
		defer hist.Close()
		if err := recoverHistory(ctx, hist, db); err != nil {
			return res, err
		}
	}
	var runErr error
	if !finished {
		update, finish := func(pipeline.Stats) {}, func() {}
		if env.Progress != nil {
			update, finish = env.Progress(layout.EstimatedRows - layout.HeaderRow)
		}
		res.Stats, runErr = pipeline.Run(ctx, in, db, client, pipeline.Config{
			QPS: c.QPS, Workers: c.Workers, MaxAttempts: c.MaxAttempts, MaxBilled: maxBilled,
			RetryFailed: c.RetryFailed, RetryDeferred: c.RetryDeferred,
			Stop: env.Stop, Deadline: c.deadline(start), Progress: update, Now: env.Now,
			History: historyOf(hist), ReuseWithin: c.ReuseWithin,
		})
		finish()
		if runErr == nil { // Run read every row
			runErr = db.MarkReadAll(ctx, runID)
		}
	}
	in.Close()
	if hist != nil {
		// Every verdict of the run is in the checkpoint already: a
		// history that failed to record them says so, and the next run
		// imports them.
		if err := hist.Close(); err != nil {
			fmt.Fprintf(env.Notice, "note: %v (the next run imports what is missing)\n", err)
		}
	}
	if err := db.EndRun(ctx, runID, env.Now()); err != nil && runErr == nil {
		runErr = err
	}
	if ctx.Err() != nil {
		// A second Ctrl-C wants out now: no output.
		return res, fmt.Errorf("stopped at once; the calls in flight were abandoned (status counts them as lost answers) — run the same command to resume: %w", pipeline.ErrIncomplete)
	}
	var inputErr *pipeline.InputError
	if errors.As(runErr, &inputErr) {
		return res, runErr // a refused input gets no output
	}
	if runErr == nil && !finished && res.Stats.Rows == 0 {
		return res, noData(c.Input, layout)
	}
	if !finished {
		if st, err = db.Status(ctx); err != nil {
			return res, errors.Join(runErr, err)
		}
	}
	if err := WriteOutput(ctx, db, st, Output{Input: c.Input, Path: c.Out, Read: c.Read, Lang: c.Lang, MaskCard: c.MaskCard, QPS: c.QPS, Version: env.Version}); err != nil {
		return res, errors.Join(runErr, err)
	}
	res.Written, res.Status, res.Took, res.Out = true, st, env.Now().Sub(start), c.Out
	return res, incomplete(runErr, res.Stats, st)
}

// budgetLeft is what remains of the job's --max-billed for this run: the
// limit less the billed answers of earlier runs. 0 means no limit; a spent
// budget is pipeline.ErrBudget.
func budgetLeft(ctx context.Context, db *store.DB, maxBilled int) (int, error) {
	if maxBilled <= 0 {
		return 0, nil
	}
	before, err := db.Status(ctx)
	if err != nil {
		return 0, err
	}
	left := maxBilled - before.BilledCalls
	if left <= 0 {
		return 0, fmt.Errorf("%w: this job already has %d billed answers and --max-billed is %d (raise it to go on)",
			pipeline.ErrBudget, before.BilledCalls, maxBilled)
	}
	return left, nil
}

// incomplete is the error of a run whose output was written: runErr, or
// pipeline.ErrIncomplete when rows are left to do, with what to do next.
func incomplete(runErr error, s pipeline.Stats, st store.Status) error {
	switch {
	case runErr != nil:
		if errors.Is(runErr, pipeline.ErrIncomplete) {
			return fmt.Errorf("%s — run the same command to resume: %w", s.StopReason, runErr)
		}
		return runErr
	case st.Pending+st.Failed+st.Deferred > 0:
		return fmt.Errorf("%d rows pending, %d failed, %d deferred — run the same command to resume (with --retry-failed for failed rows; deferred rows are retried on a later day): %w",
			st.Pending, st.Failed, st.Deferred, pipeline.ErrIncomplete)
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
	return err == nil && st.Pending+st.Failed+st.Deferred == 0, st, err
}

// newClient returns the Juhe client of c: the real API, or the simulated
// one served on loopback for --sandbox (announced on notice). The returned
// func stops the sandbox.
func newClient(c Config, notice io.Writer) (*juhe.Client, func(), error) {
	jc := juhe.Config{BaseURL: c.BaseURL, Key: c.Key, OpenID: c.OpenID, Timeout: c.Timeout}
	var err error
	if jc.Endpoint, err = juhe.ParseEndpoint(c.Endpoint); err != nil {
		return nil, nil, err
	}
	stop := func() {}
	if c.Sandbox {
		sb, err := StartSandbox("127.0.0.1:0", SandboxOptions())
		if err != nil {
			return nil, nil, err
		}
		stop = func() { sb.Close() }
		jc.BaseURL, jc.Key, jc.OpenID = sb.URL, SandboxKey, SandboxOpenID
		fmt.Fprintln(notice, "SANDBOX: answers come from the built-in simulated API; they are not real verdicts")
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

// Output says which annotated output to write, and how.
type Output struct {
	Input    string // the job's input
	Path     string // the output; its extension chooses the format
	Read     reader.Options
	Lang     string
	MaskCard bool
	QPS      float64 // for the Summary; 0 when unknown (export)
	Version  string
}

// WriteOutput writes the annotated copy of o.Input to o.Path from the
// checkpoint, atomically; st is the checkpoint's status, for the Summary
// sheet.
func WriteOutput(ctx context.Context, db *store.DB, st store.Status, o Output) error {
	in, err := reader.Open(o.Input, o.Read)
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
	sum := summary(st, o, layout.Sheet)
	if sum.Reused, sum.OldestReused, err = db.Reused(ctx); err != nil {
		return err
	}
	w, err := writer.Create(o.Path, writer.Options{
		Lang: o.Lang, MaskCard: o.MaskCard, CardCol: layout.CardCol, Input: o.Input, SheetName: layout.Sheet,
		Summary: sum,
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
func summary(st store.Status, o Output, sheet string) writer.Summary {
	s := writer.Summary{
		Version: o.Version, InputName: filepath.Base(o.Input), InputSHA256: st.InputSHA256, Sheet: sheet,
		Endpoint: st.Endpoint, QPS: o.QPS, Calls: st.Calls, BilledCalls: st.BilledCalls,
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

// DryResult is what a dry run found.
type DryResult struct {
	Stats  pipeline.Stats
	Status store.Status
	Out    string
	// Cost is the most the calls left can cost, and what reuse saves.
	Cost Cost
}

// DryRun reads and validates the whole input against a throwaway
// checkpoint, writes the output with invalid and pending rows, and returns
// what a run would cost. It makes no call.
func DryRun(ctx context.Context, c Config, env Env) (DryResult, error) {
	env.defaults()
	var res DryResult
	tmp, err := os.MkdirTemp("", "cardverify-dry-run-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(tmp)
	in, err := reader.Open(c.Input, c.Read)
	if err != nil {
		return res, err
	}
	defer in.Close()
	db, err := store.Open(ctx, filepath.Join(tmp, "dry-run.db"))
	if err != nil {
		return res, err
	}
	defer db.Close()
	dry := pipeline.Config{DryRun: true, Now: env.Now}
	if c.ReuseWithin > 0 && !c.Sandbox {
		hist, err := openHistoryFile(ctx, c, false)
		if err != nil {
			return res, err
		}
		if hist != nil {
			defer hist.Close()
		}
		dry.History, dry.ReuseWithin = historyOf(hist), c.ReuseWithin
	}
	if res.Stats, err = pipeline.Run(ctx, in, db, nil, dry); err != nil {
		return res, err
	}
	res.Cost = Cost{Price: c.Price, Calls: res.Stats.Dispatched, Reused: res.Stats.Reused}
	if res.Stats.Rows == 0 {
		return res, noData(c.Input, in.Layout())
	}
	if res.Status, err = db.Status(ctx); err != nil {
		return res, err
	}
	if err := WriteOutput(ctx, db, res.Status, Output{Input: c.Input, Path: c.Out, Read: c.Read, Lang: c.Lang, MaskCard: c.MaskCard, Version: env.Version}); err != nil {
		return res, err
	}
	res.Out = c.Out
	return res, nil
}

// SameInput refuses an input other than the one the checkpoint verified,
// and returns the checkpoint's status.
func SameInput(ctx context.Context, db *store.DB, input string) (store.Status, error) {
	st, err := db.Status(ctx)
	if err != nil {
		return st, err
	}
	sum, err := reader.Digest(input)
	if err != nil {
		return st, err
	}
	if st.InputSHA256 != "" && sum.SHA256 != st.InputSHA256 {
		return st, &pipeline.InputError{Path: input, Msg: "this is not the file the checkpoint verified (its SHA-256 differs)",
			Hint: "give the input of the run that wrote the checkpoint: " + st.InputPath}
	}
	return st, nil
}
