package job

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cardverify/cardverify/pipeline"
	"github.com/cardverify/cardverify/pipeline/juhe"
	"github.com/cardverify/cardverify/pipeline/msg"
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
	// Progress, if not nil, is called before the calls with the function
	// that tells the data rows expected (0 while not known: a first run
	// counts a text input's rows beside its first calls, an estimate may
	// become exact), and returns the function that receives the run's
	// counters (nil: none is wanted) and the one to call when the run
	// ends.
	Progress func(total func() int) (update func(pipeline.Stats), finish func())
	// ProgressEvery is how often update is called (default 200ms): a log
	// written every 10 s needs no snapshot five times a second.
	ProgressEvery time.Duration
	// Command is the command line (or the console's request) that started
	// the run, its secrets already replaced (see CommandLine), for the
	// checkpoint and the Summary.
	Command string
	// User and Host say who ran the job and where; empty means the OS user
	// and the host name of this process.
	User, Host string
	// Pace, if not nil, is called with the run's --qps before its calls
	// and returns the function to call after them: the command line runs
	// a slow job on one core (see cmd/cardverify's pace.go). The console,
	// which runs several jobs in one process, leaves it nil.
	Pace func(qps float64) (done func())
}

func (e *Env) defaults() {
	if e.Now == nil {
		e.Now = time.Now
	}
	if e.Notice == nil {
		e.Notice = io.Discard
	}
	if e.User == "" {
		e.User = osUser()
	}
	if e.Host == "" {
		e.Host, _ = os.Hostname()
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
	Took  time.Duration // from the start of the run to the output written
	Out   string        // the output's path
}

// xlsxMaxRows is the most rows a worksheet holds.
const xlsxMaxRows = 1 << 20

// Run verifies c.Input, resuming from the checkpoint c.DB, and writes the
// output c.Out. The error is nil when every row has a final status;
// pipeline.ErrIncomplete (wrapped, with what to do) when rows are left; an
// *pipeline.InputError, *UsageError or *pipeline.APIError as their kinds say.
func Run(ctx context.Context, c Config, env Env) (Result, error) {
	env.defaults()
	j := &jobRun{c: c, env: env, start: env.Now()}
	j.deadline = c.deadline(j.start)
	defer j.close()
	if err := j.openInput(ctx); err != nil {
		return Result{}, err
	}
	if err := j.openCheckpoint(ctx); err != nil {
		return Result{}, err
	}
	maxBilled, finished, st, err := j.prepare(ctx)
	if err != nil {
		return Result{}, err
	}
	var res Result
	var runErr error
	if !finished {
		res.Stats, runErr = j.verify(ctx, maxBilled)
	}
	return j.report(ctx, res, runErr, finished, st)
}

// jobRun is one run of Run: what it opened, in the order of its steps, and
// what closes them.
type jobRun struct {
	c               Config
	env             Env
	start, deadline time.Time
	sum             reader.Sum   // the input's digest
	count           reader.Count // the input's rows, when counted is true
	counted         bool
	pass            *besidePass    // nil: the first pass ended before the calls
	expected        atomic.Int64   // the data rows the first pass counted; 0 until it has
	in              *reader.Reader // the input, read by the pipeline
	layout          reader.Layout
	client          *juhe.Client
	db              *store.DB
	runID           int64
	hist            *store.History // nil: no history
	beside          *besideRun     // the output written beside the run, until it is finished
	closers         []func()       // run by close, last first
}

// besidePass is the first pass of a first run of a text input, which goes
// on beside the run's first calls (openInput) and whose figures
// recordBeside records as soon as it ends.
type besidePass struct {
	result   func() (reader.Sum, reader.Count, bool, error) // waits for the pass's end
	cancel   context.CancelFunc                             // gives the pass up
	recorded func() error                                   // waits until its figures are recorded (recordBeside)
}

// wait waits until the pass's figures are recorded and returns the error
// of recording them; nil for no pass.
func (p *besidePass) wait() error {
	if p == nil || p.recorded == nil {
		return nil
	}
	return p.recorded()
}

// close releases what the run opened, last opened first.
func (j *jobRun) close() {
	for i := len(j.closers) - 1; i >= 0; i-- {
		j.closers[i]()
	}
}

// openInput digests the input, opens it and checks, before anything is
// recorded, that its rows fit the output and that the output can be
// written.
func (j *jobRun) openInput(ctx context.Context) error {
	c := &j.c
	// A first pass for the fingerprint and the line count, which Open and
	// the output's reader reuse; on a first run of a text input the same
	// pass counts the rows, which status needs after a crash (countRows).
	// That run has no digest to compare yet: its pass goes on beside its
	// first calls (recordBeside), unless the output is a workbook, whose row
	// limit needs the count first.
	text := reader.IsText(c.Input)
	first := text && newJob(c.DB)
	xlsxOut := strings.EqualFold(filepath.Ext(c.Out), ".xlsx")
	beside := first && !xlsxOut && regularFile(c.Input)
	passCtx, cancel := context.WithCancel(ctx)
	j.closers = append(j.closers, cancel)
	pass := firstPass(passCtx, j.env.Stop, c.Input, c.Read, first)
	var err error
	if !text || beside {
		// A workbook's Open inflates its sheet for the merged cells: on
		// the other core while the pass digests the file's bytes. A text
		// file read beside its pass is not counted twice.
		if beside {
			c.Read.Lines = -1
		}
		err = j.open()
	}
	if beside {
		j.pass = &besidePass{result: pass, cancel: cancel}
	} else {
		var passErr error
		j.sum, j.count, j.counted, passErr = pass()
		if j.counted {
			j.expected.Store(int64(j.count.Rows))
		}
		err = cmp.Or(passErr, err)
		if err == nil && text {
			// The pass counted the lines, which Open would count again.
			c.Read.Lines = j.sum.Lines
			err = j.open()
		}
	}
	if err != nil {
		return err
	}
	// The later reads of a workbook (the count, the output) take its
	// merged cells from this one: each inflates the sheet once, not twice.
	c.Read.Merges = j.in.Merges()
	if err := stopped(j.env.Stop); err != nil {
		return err
	}
	j.layout = j.in.Layout()
	if j.layout.EstimatedRows > xlsxMaxRows && xlsxOut {
		return &pipeline.InputError{Path: c.Input, Msg: pipeline.Reason(pipeline.ErrTooManyRows, j.layout.EstimatedRows, xlsxMaxRows),
			Hint: pipeline.Reason(pipeline.HintCSV, strings.TrimSuffix(c.Out, filepath.Ext(c.Out))+".csv")}
	}
	// Fail now, not after a night of billed calls, if the output cannot
	// be written: a wrong extension, the input itself, a directory, no
	// permission.
	probe, err := writer.Create(c.Out, writer.Options{Lang: c.Lang, MaskCard: c.MaskCard, CardCol: j.layout.CardCol, Input: c.Input})
	if err != nil {
		return err
	}
	probe.Abort()
	return nil
}

// open opens the input for the run's read, closed with the run.
func (j *jobRun) open() error {
	in, err := openInput(j.c.Input, j.c.Read)
	if err != nil {
		return err
	}
	j.in = in
	j.closers = append(j.closers, func() { j.in.Close() })
	return nil
}

// regularFile reports whether path is a regular file: a pipe is read
// once, so its pass cannot go on beside the run's read.
func regularFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}

// recordBeside records, as soon as the first pass that a first run of a
// text input reads beside its calls (openInput) has them, the input's
// digest and row count: status then counts the rows not read yet even
// after a kill, and a later run compares its input with the digest. The
// run's end waits for it (besidePass.wait) before the run may be marked as
// having read every row. A stop gives the pass up; the digest is then read
// alone (a quick raw read of a regular file), so that even a run stopped
// in its first seconds records which input it verified.
func (j *jobRun) recordBeside(ctx context.Context) {
	done := make(chan error, 1)
	p := j.pass
	go func() {
		sum, n, ok, err := p.result()
		if ok {
			j.expected.Store(int64(n.Rows)) // the progress's total, at once
		}
		if err != nil {
			sum, err = digestInput(j.c.Input)
		}
		if err == nil {
			err = j.db.SetInputDigest(ctx, j.runID, sum.SHA256, sum.Size)
		}
		if err == nil && ok {
			err = j.db.SetInputRows(ctx, j.runID, n.Rows, n.Invalid)
		}
		done <- err
	}()
	p.recorded = sync.OnceValue(func() error { return <-done })
	// Before the checkpoint closes: a run that ends early gives the pass up.
	j.closers = append(j.closers, func() { p.cancel(); p.recorded() })
}

// expectedRows is the progress's total: the data rows the first pass
// counted, or the reader's estimate until then (0 when it has none).
func (j *jobRun) expectedRows() int {
	if n := j.expected.Load(); n > 0 {
		return int(n)
	}
	return max(j.layout.EstimatedRows-j.layout.HeaderRow, 0)
}

// openCheckpoint starts the client and opens the checkpoint, removes the
// temporary outputs a killed run left, and records the run's start.
func (j *jobRun) openCheckpoint(ctx context.Context) error {
	c := j.c
	client, _, closeClient, err := newClient(c, j.env.Notice)
	if err != nil {
		return err
	}
	j.client = client
	j.closers = append(j.closers, closeClient)
	keyFile, err := KeyFile(c.KeyFile)
	if err != nil {
		return err
	}
	if j.db, err = store.Open(ctx, c.DB, keyFile); err != nil {
		return err
	}
	j.closers = append(j.closers, func() { j.db.Close() })
	// The checkpoint's lock is held: no other run of this job writes the
	// output now, so every temporary output beside it was left by a run
	// killed while writing, with names and cards in it.
	if n, err := writer.RemoveTemporaries(c.Out); err != nil {
		return err
	} else if n > 0 {
		fmt.Fprintln(j.env.Notice, msg.Say(c.Lang, msg.TempRemoved, n, c.Out))
	}
	j.runID, err = j.db.BeginRun(ctx, store.RunInfo{
		InputPath: c.Input, InputSize: j.sum.Size, InputSHA256: j.sum.SHA256, Sheet: j.layout.Sheet,
		Endpoint: c.Endpoint, BaseURL: client.BaseURL(), Sandbox: c.Sandbox, Version: j.env.Version, QPS: c.QPS, Started: j.start,
		User: j.env.User, Host: j.env.Host, Command: j.env.Command, Output: c.Out, KeyID: keyID(c),
	})
	if err != nil {
		return err
	}
	if j.pass != nil {
		j.recordBeside(ctx)
		return nil
	}
	if !j.counted {
		return nil
	}
	// Before any call: a run killed at any time leaves a checkpoint that
	// counts every row of the input.
	return j.db.SetInputRows(ctx, j.runID, j.count.Rows, j.count.Invalid)
}

// newJob reports whether the checkpoint db does not exist yet: a first run.
func newJob(db string) bool {
	_, err := os.Stat(db)
	return errors.Is(err, fs.ErrNotExist)
}

// prepare finds what is left of the budget and whether the job is finished
// already (with its status then), and opens the verdict history, importing
// what an earlier run left out of it.
func (j *jobRun) prepare(ctx context.Context) (maxBilled int, finished bool, st store.Status, err error) {
	// Both steps may need the status, which reads every row: once.
	status := sync.OnceValues(func() (store.Status, error) { return j.db.Status(ctx) })
	if err := j.maybeFinished(ctx); err != nil {
		return 0, false, st, err
	}
	if maxBilled, err = budgetLeft(status, j.c.MaxBilled, j.c.Sandbox); err != nil {
		return 0, false, st, err
	}
	if finished, st, err = finishedJob(ctx, j.db, status, j.c.Sandbox); err != nil {
		return 0, false, st, err
	}
	if b := j.beside; b != nil && !finished {
		if err := j.notFinished(b); err != nil {
			return 0, false, st, err
		}
	}
	if err := stopped(j.env.Stop); err != nil {
		return 0, false, st, errors.Join(err, j.db.EndRun(ctx, j.runID, j.env.Now(), store.StopInterrupted))
	}
	if j.hist, err = openHistory(ctx, j.c, j.env.Notice); err != nil || j.hist == nil {
		return maxBilled, finished, st, err
	}
	j.closers = append(j.closers, func() { j.hist.Close() })
	return maxBilled, finished, st, recoverHistory(ctx, j.hist, j.db)
}

// maybeFinished starts writing the output of a job that has read every
// row, which is most likely finished: then the output is all that is left
// to do, and it is written while the status, which reads every row too,
// tells (notFinished undoes it when not).
func (j *jobRun) maybeFinished(ctx context.Context) error {
	if all, err := j.db.ReadAll(ctx); err != nil || !all {
		return err
	}
	_, err := j.startBeside(ctx, false)
	return err
}

// notFinished gives up the output b started by maybeFinished, and opens
// the input anew for the calls: b read it.
func (j *jobRun) notFinished(b *besideRun) error {
	b.abort()
	j.beside = nil
	j.in.Close()
	in, err := openInput(j.c.Input, j.c.Read)
	if err != nil {
		return err
	}
	j.in = in
	return nil
}

// verify runs the pipeline over the input, beside the count of its rows,
// and records when it read every row.
func (j *jobRun) verify(ctx context.Context, maxBilled int) (pipeline.Stats, error) {
	c, env := j.c, j.env
	waitCount := func() {}
	if j.pass == nil { // else the first pass counts the rows
		waitCount = countRows(ctx, j.db, j.runID, c, env.Stop)
	}
	// A nil update asks for no progress: the run then keeps no reporter
	// waking up five times a second.
	var update func(pipeline.Stats)
	finish := func() {}
	if env.Progress != nil {
		update, finish = env.Progress(j.expectedRows)
	}
	paced := func() {}
	if env.Pace != nil {
		paced = env.Pace(c.QPS)
	}
	b, err := j.startBeside(ctx, true)
	if err != nil {
		return pipeline.Stats{}, err
	}
	stats, err := pipeline.Run(ctx, b.tee, j.db, j.client, pipeline.Config{
		QPS: c.QPS, Workers: c.Workers, MaxAttempts: c.MaxAttempts, MaxBilled: maxBilled,
		RetryFailed: c.RetryFailed, RetryDeferred: c.RetryDeferred, Simulated: c.Sandbox,
		Stop: env.Stop, Deadline: j.deadline, Progress: update, ProgressEvery: env.ProgressEvery, Now: env.Now,
		History: historyOf(j.hist), ReuseWithin: c.ReuseWithin, Tee: b.tee,
	})
	paced()
	finish()
	waitCount()
	if perr := j.pass.wait(); perr != nil {
		return stats, errors.Join(err, perr)
	}
	if err == nil { // Run read every row
		err = j.db.MarkReadAll(ctx, j.runID)
	}
	return stats, err
}

// report ends the run in the checkpoint, writes the output unless the run
// was abandoned or its input refused, and returns what the run did with
// the error that says what is left to do.
func (j *jobRun) report(ctx context.Context, res Result, runErr error, finished bool, st store.Status) (Result, error) {
	c := j.c
	histClosed := j.closeHistory(ctx)
	defer histClosed()
	ended := j.env.Now()
	if err := j.db.EndRun(ctx, j.runID, ended, stopCode(ctx, runErr, j.deadline, ended)); err != nil && runErr == nil {
		runErr = err
	}
	if ctx.Err() != nil {
		// A second Ctrl-C wants out now: no output.
		return res, msg.Errorf(pipeline.ErrIncomplete, msg.RunAbandoned)
	}
	var inputErr *pipeline.InputError
	if errors.As(runErr, &inputErr) {
		return res, runErr // a refused input gets no output
	}
	if runErr == nil && !finished && res.Stats.Rows == 0 {
		return res, noData(c.Input, j.layout)
	}
	if err := j.writeOutput(ctx, &st); err != nil {
		return res, errors.Join(runErr, err)
	}
	res.Written, res.Status, res.Took, res.Out = true, st, j.env.Now().Sub(j.start), c.Out
	return res, c.NameSecretSource(incomplete(runErr, res.Stats, st, c.MaxBilled, c.Sandbox))
}

// writeOutput finishes the output written beside the calls or the status
// (a finished job's, from the reader that found the layout: one pass for
// the rows), or, when it was given up, writes it with runOutput.
func (j *jobRun) writeOutput(ctx context.Context, st *store.Status) error {
	if b := j.beside; b != nil {
		j.beside = nil
		if written, err := b.finish(ctx, j.db, j.runID, st, j.c, j.env); written {
			return err
		}
	}
	return runOutput(ctx, j.db, j.runID, st, j.c, j.env)
}

// closeHistory closes the run's history, if it has one, beside the
// writing of the output: filing a large run's verdicts for lookups takes a
// few seconds. A stop (before or during) gives the filing up, so that the
// process ends within a second; the next run files what is left. The
// returned func waits for the close. Every verdict of the run is in the
// checkpoint already: a history that failed to record them says so, and
// the next run imports them.
func (j *jobRun) closeHistory(ctx context.Context) (wait func()) {
	if j.hist == nil {
		return func() {}
	}
	ctx, cancel := withStop(ctx, j.env.Stop)
	done := make(chan error, 1)
	go func() { done <- j.hist.CloseContext(ctx) }()
	return func() {
		err := <-done
		cancel()
		if err != nil {
			fmt.Fprintf(j.env.Notice, "note: %v (the next run imports what is missing)\n", err)
		}
	}
}

// runOutput writes a run's output from the checkpoint db after the run,
// from a read of the input of its own: when the output written beside the
// run was given up. It reads the status st anew first, and records the
// count of the input's rows the output found. A stop ends the writing (see
// writeContext): the error then says how to get the output.
func runOutput(ctx context.Context, db *store.DB, runID int64, st *store.Status, c Config, env Env) error {
	var err error
	if *st, err = db.Status(ctx); err != nil {
		return err
	}
	wctx, stopWriting := writeContext(ctx, env.Stop)
	defer stopWriting()
	if err := WriteOutput(wctx, db, st, outputOf(c, env)); err != nil {
		return notWritten(wctx, err, c)
	}
	// The output counted every row of the input: status can too.
	return db.SetInputRows(ctx, runID, st.Rows, st.Invalid)
}

// outputOf is the output of the job c.
func outputOf(c Config, env Env) Output {
	return Output{Input: c.Input, Path: c.Out, Read: c.Read, Lang: c.Lang, MaskCard: c.MaskCard,
		Price: c.Price, Version: env.Version, Now: env.Now}
}

// stopCode is why a run ended, as the checkpoint records it.
func stopCode(ctx context.Context, runErr error, deadline, ended time.Time) string {
	var apiErr *pipeline.APIError
	switch {
	case ctx.Err() != nil:
		return store.StopInterrupted
	case runErr == nil:
		return store.StopDone
	case errors.Is(runErr, pipeline.ErrBudget):
		return store.StopBudget
	case errors.As(runErr, &apiErr):
		return store.StopAPI
	case errors.Is(runErr, pipeline.ErrIncomplete):
		if !deadline.IsZero() && !ended.Before(deadline) {
			return store.StopDeadline
		}
		return store.StopInterrupted
	}
	return store.StopError
}

// keyID identifies the API key of c without revealing it.
func keyID(c Config) string {
	if c.Sandbox {
		return juhe.KeyID(SandboxKey)
	}
	return juhe.KeyID(c.Key)
}

// osUser is the name of the user running this process, or "".
func osUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return cmp.Or(os.Getenv("USER"), os.Getenv("USERNAME"))
}

// secretFlags are the flags whose values CommandLine hides.
var secretFlags = []string{"key", "openid", "password"}

// CommandLine is args as a shell would show them, each argument quoted
// when it needs it, with the value of every secret flag (--key, --openid,
// as "--key X" or "--key=X") replaced by ***.
func CommandLine(args []string) string {
	out := make([]string, 0, len(args))
	hideNext := false
	for _, a := range args {
		if hideNext {
			out = append(out, "***")
			hideNext = false
			continue
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && slices.Contains(secretFlags, name) {
			if hasValue {
				out = append(out, a[:strings.Index(a, "=")+1]+"***")
			} else {
				out = append(out, a)
				hideNext = true
			}
			continue
		}
		out = append(out, shellQuote(a))
	}
	return strings.Join(out, " ")
}

// shellQuote quotes s for a POSIX shell when it holds anything but plain
// characters.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '-' || r == '_' || r == '.' || r == '/' || r == '=' || r == ':' || r == ',' || r == '@' || r == '+' ||
			('0' <= r && r <= '9') || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || r > 0x7f)
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// budgetLeft is what remains of the job's --max-billed for this run: the
// limit less the billed and possibly billed calls of earlier runs (answers
// lost in a crash included), so that the vendor's bill never exceeds it. 0
// means no limit; a spent budget is pipeline.ErrBudget. status reads the
// job's status, only when there is a limit.
func budgetLeft(status func() (store.Status, error), maxBilled int, sandbox bool) (int, error) {
	if maxBilled <= 0 {
		return 0, nil
	}
	before, err := status()
	if err != nil {
		return 0, err
	}
	left := maxBilled - spent(before, sandbox)
	if left <= 0 {
		return 0, msg.Errorf(pipeline.ErrBudget, msg.RunBudget, spent(before, sandbox), maxBilled)
	}
	return left, nil
}

// spent is what --max-billed counts of the job st: its billed and possibly
// billed calls. Simulated calls are billed by nobody; a sandbox run counts
// those the real API would have billed too, to rehearse a real run.
func spent(st store.Status, sandbox bool) int {
	n := st.BilledCalls + st.PossiblyBilled
	if sandbox {
		n += st.SimulatedBilled
	}
	return n
}

// incomplete is the error of a run whose output was written: runErr, or
// pipeline.ErrIncomplete when rows are left to do, with what to do next.
func incomplete(runErr error, s pipeline.Stats, st store.Status, maxBilled int, sandbox bool) error {
	switch {
	case errors.Is(runErr, pipeline.ErrBudget):
		// Running again would stop again: say how to go on, once.
		return msg.Errorf(runErr, msg.RunBudget, spent(st, sandbox), maxBilled)
	case errors.Is(runErr, pipeline.ErrIncomplete):
		return &msg.Error{Reason: pipeline.Reason(msg.RunResume, s.StopReason), Err: runErr}
	case runErr != nil:
		return runErr
	case st.Pending+st.Failed-st.NoVerdict+st.Deferred > 0:
		// Rows billed without a verdict are final: a hint to retry them
		// would pay twice.
		return msg.Errorf(pipeline.ErrIncomplete, msg.RunLeft, st.Pending, st.Failed-st.NoVerdict, st.Deferred)
	}
	return nil
}

// finishedJob reports whether the job of db needs no call: a run has read
// every row of the input (the same input: BeginRun refuses another) and
// every row has a final status that no flag asks to retry. Such a run only
// rewrites the output, without reading the input against the checkpoint.
// Failed and deferred rows always go through the pipeline, which knows
// when they may be retried. The status of a finished job is returned with
// it, for the output, as status reads it. For a real run (not sandbox),
// rows with a simulated verdict are not done.
func finishedJob(ctx context.Context, db *store.DB, status func() (store.Status, error), sandbox bool) (bool, store.Status, error) {
	all, err := db.ReadAll(ctx)
	if err != nil || !all {
		return false, store.Status{}, err
	}
	st, err := status()
	return err == nil && st.Pending+st.Failed-st.NoVerdict+st.Deferred == 0 && (sandbox || st.Simulated == 0), st, err
}

// newClient returns the Juhe client of c: the real API, or the simulated
// one served on loopback for --sandbox (announced on notice). The returned
// func stops the sandbox.
func newClient(c Config, notice io.Writer) (*juhe.Client, string, func(), error) {
	jc := juhe.Config{BaseURL: cmp.Or(c.BaseURL, juhe.DefaultBaseURL), Key: c.Key, OpenID: c.OpenID, Timeout: c.Timeout}
	var err error
	if jc.Endpoint, err = juhe.ParseEndpoint(c.Endpoint); err != nil {
		return nil, "", nil, err
	}
	stop := func() {}
	if c.Sandbox {
		sb, err := StartSandbox("127.0.0.1:0", SandboxOptions())
		if err != nil {
			return nil, "", nil, err
		}
		stop = func() { sb.Close() }
		jc.BaseURL, jc.Key, jc.OpenID = sb.URL, SandboxKey, SandboxOpenID
		fmt.Fprintln(notice, msg.Say(c.Lang, msg.SandboxStart))
	}
	client, err := juhe.New(jc)
	if err != nil {
		stop()
		return nil, "", nil, err
	}
	return client, jc.BaseURL, stop, nil
}

// noData is the error for an input with a header and no data row under it.
func noData(input string, l reader.Layout) error {
	return &pipeline.InputError{Path: input, Msg: pipeline.Reason(pipeline.ErrNoData, l.HeaderRow),
		Hint: pipeline.Reason(pipeline.HintNoData)}
}

// Output says which annotated output to write, and how.
type Output struct {
	Input    string         // the job's input
	Path     string         // the output; its extension chooses the format
	Read     reader.Options // how to read Input, as the run read it
	Lang     string         // the output's language: "zh" or "en"
	MaskCard bool           // write cards masked (first 6, last 4 digits)
	DryRun   bool           // a dry run's output: pending rows say no call was made
	// Price is the price of a billed call in yuan, for the Summary's cost;
	// 0 leaves the cost out.
	Price   float64
	Version string // cardverify's version, written in the Summary
	// Now is the clock that dates the workbook (default time.Now).
	Now func() time.Time
}

// WriteOutput writes the annotated copy of o.Input to o.Path from the
// checkpoint, atomically; st is the checkpoint's status, for the Summary
// sheet. Once the output is written, st's row counts are set to what it
// holds: every data row of the input, those the checkpoint has not seen yet
// (a run stopped before reading them) as pending.
func WriteOutput(ctx context.Context, db *store.DB, st *store.Status, o Output) error {
	in, err := openInput(o.Input, o.Read)
	if err != nil {
		return err
	}
	defer in.Close()
	return writeFrom(ctx, db, st, o, in)
}

// writeFrom is WriteOutput reading the input from in, which has returned
// no record yet.
func writeFrom(ctx context.Context, db *store.DB, st *store.Status, o Output, in *reader.Reader) error {
	layout := in.Layout()
	sum, err := summaryOf(ctx, db, *st, o, layout.Sheet)
	if err != nil {
		return err
	}
	w, err := writer.Create(o.Path, writer.Options{
		Lang: o.Lang, MaskCard: o.MaskCard, CardCol: layout.CardCol, Input: o.Input, SheetName: layout.Sheet,
		DryRun: o.DryRun, Summary: sum,
	})
	if err != nil {
		return err
	}
	cs := &countingSink{Sink: w}
	if err := exportAll(ctx, db, in, cs); err != nil {
		w.Abort()
		return err
	}
	if err := w.CloseContext(ctx); err != nil {
		return err
	}
	cs.counted(st)
	return nil
}

// summaryOf is the Summary sheet of the output o of the job whose status
// is st, sheet being the input's sheet.
func summaryOf(ctx context.Context, db *store.DB, st store.Status, o Output, sheet string) (writer.Summary, error) {
	sum := summary(st, o, sheet, o.now())
	var err error
	sum.Reused, sum.OldestReused, err = db.Reused(ctx)
	return sum, err
}

// countingSink counts the data rows written, by status.
type countingSink struct {
	pipeline.Sink
	n pipeline.Counts
}

func (s *countingSink) Write(rec pipeline.Record, o pipeline.Outcome) error {
	if rec.Kind == pipeline.Data {
		s.n[o.Status]++
	}
	return s.Sink.Write(rec, o)
}

// counted sets st's row counts to the rows written: every data row of the
// input, those the checkpoint has not seen yet as pending.
func (s *countingSink) counted(st *store.Status) {
	st.Rows = 0
	for _, n := range s.n {
		st.Rows += n
	}
	st.Match, st.Mismatch, st.Invalid = s.n[pipeline.Match], s.n[pipeline.Mismatch], s.n[pipeline.Invalid]
	st.Rejected, st.Deferred, st.Failed, st.Pending = s.n[pipeline.Rejected], s.n[pipeline.Deferred], s.n[pipeline.Failed], s.n[pipeline.Pending]
}

func (o Output) now() time.Time {
	if o.Now == nil {
		return time.Now()
	}
	return o.Now()
}

// summary is what the output's Summary sheet says about the job: every
// figure comes from the checkpoint's status st.
func summary(st store.Status, o Output, sheet string, now time.Time) writer.Summary {
	s := writer.Summary{
		Version: o.Version, InputName: filepath.Base(o.Input), InputSHA256: st.InputSHA256, Sheet: sheet,
		OutputName: filepath.Base(o.Path), Endpoint: st.Endpoint,
		Calls: st.Calls, BilledCalls: st.BilledCalls, PossiblyBilled: st.PossiblyBilled, SimulatedCalls: st.SimulatedCalls, NoJobID: st.NoJobID,
		Start: st.FirstAt, End: st.LastAt, Sandbox: st.Sandbox,
		RealRows: st.RealRows, Simulated: st.Simulated, Price: o.Price, Created: now,
	}
	seen := map[string]bool{}
	once := func(list *[]string, v string) {
		if v != "" && !seen[v] {
			seen[v] = true
			*list = append(*list, v)
		}
	}
	for _, r := range st.RunLog {
		operator := r.User
		if r.Host != "" {
			operator += "@" + r.Host
		}
		if r.BaseURL != "" {
			if ep, err := juhe.ParseEndpoint(r.Endpoint); err == nil {
				once(&s.URLs, strings.TrimRight(r.BaseURL, "/")+ep.Path())
			}
		}
		once(&s.KeyIDs, r.KeyID)
		once(&s.Operators, operator)
		s.Runs = append(s.Runs, writer.Run{Start: r.Started, End: r.Ended, Stop: r.Stop,
			Calls: r.Calls, Billed: r.Billed, PossiblyBilled: r.PossiblyBilled, QPS: r.QPS,
			Operator: operator, Command: r.Command})
	}
	for _, d := range st.Days {
		s.Days = append(s.Days, writer.Day{Day: d.Day, Calls: d.Calls, Billed: d.Billed, PossiblyBilled: d.PossiblyBilled})
	}
	for reason, n := range st.InvalidReasons {
		s.Invalid = append(s.Invalid, writer.ReasonCount{Reason: reason, Count: n})
	}
	sort.Slice(s.Invalid, func(i, j int) bool {
		a, b := s.Invalid[i], s.Invalid[j]
		return a.Count > b.Count || (a.Count == b.Count && a.Reason < b.Reason)
	})
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
	Stats  pipeline.Stats // the dry run's counters
	Status store.Status   // the throwaway checkpoint's status after the dry run
	Out    string         // the output's path
	// Layout is what the reader found: the format, the encoding it
	// guessed (or was given), the header row and columns.
	Layout reader.Layout
	// Given says the encoding was given with --encoding, not guessed.
	Given bool
	// Cost is the most the calls left can cost, and what reuse saves.
	Cost Cost
}

// openThrowaway opens a new checkpoint NAME.db in dir under a new key, for
// a dry run, and removes the key's file at once: the checkpoint holds the
// key in memory, and a kill leaves in dir a checkpoint without its key,
// which gives back no card or name (the privacy rule), not one beside it.
func openThrowaway(ctx context.Context, dir, name string) (*store.DB, error) {
	key := filepath.Join(dir, name+".key")
	db, err := store.Open(ctx, filepath.Join(dir, name+".db"), key)
	if err != nil {
		return nil, err
	}
	if err := os.Remove(key); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
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
	in, err := openInput(c.Input, c.Read)
	if err != nil {
		return res, err
	}
	defer in.Close()
	// The output's read takes the line count and the merged cells from
	// this one: neither is read again.
	c.Read.Lines, c.Read.Merges = in.Layout().EstimatedRows, in.Merges()
	// A throwaway checkpoint with a throwaway key: a dry run leaves no
	// key file behind.
	db, err := openThrowaway(ctx, tmp, "dry-run")
	if err != nil {
		return res, err
	}
	defer db.Close()
	dry := pipeline.Config{DryRun: true, Now: env.Now, Stop: env.Stop}
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
	if err := stopped(env.Stop); err != nil {
		return res, err
	}
	res.Layout, res.Given = in.Layout(), c.Read.Encoding != ""
	res.Cost = Cost{Price: c.Price, Calls: res.Stats.Dispatched, Reused: res.Stats.Reused}
	if res.Stats.Rows == 0 {
		return res, noData(c.Input, in.Layout())
	}
	if res.Status, err = db.Status(ctx); err != nil {
		return res, err
	}
	wctx, stopWriting := writeContext(ctx, env.Stop)
	defer stopWriting()
	if err := WriteOutput(wctx, db, &res.Status, Output{Input: c.Input, Path: c.Out, Read: c.Read, Lang: c.Lang, MaskCard: c.MaskCard,
		DryRun: true, Price: c.Price, Version: env.Version, Now: env.Now}); err != nil {
		if wctx.Err() != nil && ctx.Err() == nil {
			return res, msg.Errorf(pipeline.ErrIncomplete, msg.RunStoppedEarly)
		}
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
	sum, err := digestInput(input)
	if err != nil {
		return st, err
	}
	if st.InputSHA256 != "" && sum.SHA256 != st.InputSHA256 {
		return st, &pipeline.InputError{Path: input, Msg: pipeline.Reason(pipeline.ErrNotSameInput),
			Hint: pipeline.Reason(pipeline.HintSameInput, st.InputPath)}
	}
	return st, nil
}
