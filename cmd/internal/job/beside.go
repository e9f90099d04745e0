package job

import (
	"context"
	"errors"

	"github.com/cardverify/cardverify/pipeline"
	"github.com/cardverify/cardverify/store"
	"github.com/cardverify/cardverify/writer"
)

// teeLimit is the most records the output written beside a run holds read
// ahead of the settled rows (a few MiB): at the vendor's pace minutes of
// calls, at full speed the rows of the calls in flight many times over.
// A run that reads further ahead (one pair retried for long while the
// others go on) writes its output after the calls, from a read of its own.
const teeLimit = 16384

// besideRun is an output written while something else goes on: beside the
// run's calls, from their read of the input (pipeline.Tee): a run then
// reads its input twice, once to hash and count it and once for the calls
// and the output together; or, for a job that has read every row, beside
// the status that tells whether it is finished (then the output is all
// that is left to do, and the status's rows are read on the other core).
type besideRun struct {
	tee     *pipeline.Tee // nil: beside the status, no calls
	w       *writer.Writer
	cs      *countingSink
	sandbox bool   // the Summary's Sandbox the rows were written with
	sheet   string // the input's sheet, for the Summary
	done    chan error
	cancel  context.CancelFunc
}

// startBeside creates the output and starts writing it, beside the run's
// calls (calls true: Run must read j.in through the returned tee) or
// beside the status. It is j.beside until finished or aborted (by close,
// at the latest).
func (j *jobRun) startBeside(ctx context.Context, calls bool) (*besideRun, error) {
	c, layout := j.c, j.layout
	// Beside calls, the output is held in memory until it is large
	// (writer.HeldBytes) or the run ends (finish): a small job's is on disk
	// unfinished only while it is finished, as it was when written after
	// the run. openInput checked that the directory is writable.
	// A row's simulated mark depends on whether the job is a sandbox job,
	// which the status says at the end: the rows are written as this run
	// would make it, and finish checks.
	w, err := writer.Create(c.Out, writer.Options{
		Lang: c.Lang, MaskCard: c.MaskCard, CardCol: layout.CardCol, Input: c.Input, SheetName: layout.Sheet,
		Summary: writer.Summary{Sandbox: c.Sandbox}, Held: calls,
	})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	b := &besideRun{w: w, cs: &countingSink{Sink: w}, sandbox: c.Sandbox,
		sheet: layout.Sheet, done: make(chan error, 1), cancel: cancel}
	if calls {
		b.tee = pipeline.NewTee(j.in, teeLimit)
		go func() { b.done <- b.tee.Export(ctx, j.db, j.db, b.cs) }()
	} else {
		go func() { b.done <- exportAll(ctx, j.db, j.in, b.cs) }()
	}
	j.beside = b
	j.closers = append(j.closers, func() {
		if j.beside == b { // not finished: a refused input, a second Ctrl-C, an error
			b.abort()
		}
	})
	return b, nil
}

// exportAll writes every record of in to sink with the checkpoint's
// outcomes.
func exportAll(ctx context.Context, db *store.DB, in pipeline.Source, sink pipeline.Sink) error {
	res, err := db.Results(ctx)
	if err != nil {
		return err
	}
	defer res.Close()
	return pipeline.Export(ctx, in, res, db, sink)
}

// abort gives the output up: nothing of it is left behind.
func (b *besideRun) abort() {
	b.cancel() // first: the export must not go on reading the input
	if b.tee != nil {
		b.tee.Done()
	}
	<-b.done
	b.w.Abort()
}

// finish writes the rest of the output once the run returned and closes
// it, under the rules of runOutput (a stop ends the writing; see
// writeContext). st is the job's status: after calls, finish reads it
// anew and records the rows the output counted. It reports false, having
// written nothing, when the output must be written after the run instead:
// the tee gave up, or the rows were written with another simulated mark
// than the job's status gives them.
func (b *besideRun) finish(ctx context.Context, db *store.DB, runID int64, st *store.Status, c Config, env Env) (bool, error) {
	wctx, stopWriting := writeContext(ctx, env.Stop)
	defer stopWriting()
	defer context.AfterFunc(wctx, b.cancel)()
	calls := b.tee != nil
	if calls {
		b.tee.Done()
	}
	err := <-b.done
	if errors.Is(err, pipeline.ErrTeeFull) {
		b.w.Abort()
		return false, nil
	}
	if err == nil {
		err = b.w.Spill()
	}
	if err == nil && calls {
		*st, err = db.Status(ctx)
	}
	if err == nil && st.Sandbox != b.sandbox {
		b.w.Abort()
		return false, nil
	}
	var sum writer.Summary
	if err == nil {
		sum, err = summaryOf(ctx, db, *st, outputOf(c, env), b.sheet)
	}
	if err == nil {
		b.w.SetSummary(sum)
		err = b.w.CloseContext(wctx)
	}
	if err != nil {
		b.w.Abort()
		return true, notWritten(wctx, err, c)
	}
	b.cs.counted(st)
	if !calls {
		return true, nil
	}
	// The output counted every row of the input: status can too.
	return true, db.SetInputRows(ctx, runID, st.Rows, st.Invalid)
}
