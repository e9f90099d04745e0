package job

import (
	"context"

	"github.com/cardverify/cardverify/pipeline"
	"github.com/cardverify/cardverify/pipeline/msg"
	"github.com/cardverify/cardverify/reader"
	"github.com/cardverify/cardverify/store"
)

// The passes over the input, as variables so that a test can count them.
var (
	digestInput = reader.Digest    // a raw read: hash, size, lines
	tallyInput  = reader.Tally     // one read of a text file: hash, size, lines and the rows' count
	countInput  = reader.CountRows // a read of the rows, for their count
	openInput   = reader.Open      // a read of the rows (one per Open)
)

// firstPass reads the input: its digest, which BeginRun compares with the
// checkpoint's, and, when withCount, the count of its data rows too (ok
// then), in the same pass for a text file (reader.Tally). It starts the
// pass and returns the function that waits for it: a workbook is opened
// (its merged cells found, which inflates its sheet) while its bytes are
// digested, and a first run of a text file makes its first calls while it
// is counted (jobRun.recordBeside). The wait gives up at once when ctx ends
// or stop is closed (Ctrl-C while a huge or endless input is read).
func firstPass(ctx context.Context, stop <-chan struct{}, path string, opt reader.Options, withCount bool) (
	wait func() (sum reader.Sum, n reader.Count, ok bool, err error)) {
	type result struct {
		sum reader.Sum
		n   reader.Count
		ok  bool
		err error
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan result, 1)
	go func() {
		var r result
		if withCount {
			r.sum, r.n, r.err = tallyInput(ctx, path, opt)
			r.ok = r.err == nil
		}
		if !r.ok && ctx.Err() == nil {
			// An input the reader refuses, at its header or at a broken
			// row, goes on as without the count: the run finds the fault
			// where it always did.
			r.sum, r.err = digestInput(path)
		}
		done <- r
	}()
	return func() (reader.Sum, reader.Count, bool, error) {
		defer cancel() // a pass given up ends at its next check, or with the process
		select {
		case r := <-done:
			return r.sum, r.n, r.ok, r.err
		case <-ctx.Done():
		case <-stop:
		}
		return reader.Sum{}, reader.Count{}, false, msg.Errorf(pipeline.ErrIncomplete, msg.RunStoppedEarly)
	}
}

// countRows counts the data rows of c.Input beside the run, with the run's
// reader options, and records the count in the checkpoint: then status
// counts the rows the run has not read yet as pending, even after a crash
// (issue 11, "counts that hold"). The run itself reads the input at the
// API's pace, so without the count a killed run would leave a checkpoint
// that knows only the rows read so far. Nothing waits for the count: the
// first call is not delayed. A first run of a text input has its count
// from its first pass already (firstPass); a workbook's count would inflate
// its sheet before the first call, so it is counted here.
//
// It does nothing when the checkpoint has the count already, or a run has
// read every row. The returned func stops the count (if it is still going)
// and waits for it to end; call it before the checkpoint is closed.
func countRows(ctx context.Context, db *store.DB, runID int64, c Config, stop <-chan struct{}) (wait func()) {
	if _, ok, err := db.InputRows(ctx); ok || err != nil {
		return func() {}
	}
	if all, err := db.ReadAll(ctx); all || err != nil {
		return func() {}
	}
	ctx, cancel := withStop(ctx, stop)
	done := make(chan struct{})
	go func() {
		defer close(done)
		n, err := countInput(ctx, c.Input, c.Read)
		if err == nil {
			// An error here leaves the count out: status then says so.
			_ = db.SetInputRows(ctx, runID, n.Rows, n.Invalid)
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// withStop returns ctx, also cancelled when stop is closed (stop may be
// nil: never). Call the returned func to release it.
func withStop(ctx context.Context, stop <-chan struct{}) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-orNever(stop):
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// orNever is c, or a channel never closed when c is nil.
func orNever(c <-chan struct{}) <-chan struct{} {
	if c == nil {
		return make(chan struct{})
	}
	return c
}
