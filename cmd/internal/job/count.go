package job

import (
	"context"
	"errors"
	"io"

	"github.com/cardverify/cardverify/pipeline"
	"github.com/cardverify/cardverify/reader"
	"github.com/cardverify/cardverify/store"
)

// countRows counts the data rows of c.Input beside the run, with the run's
// reader options, and records the count in the checkpoint: then status
// counts the rows the run has not read yet as pending, even after a crash
// (issue 11, "counts that hold"). The run itself reads the input at the
// API's pace, so without the count a killed run would leave a checkpoint
// that knows only the rows read so far. Nothing waits for the count: the
// first call is not delayed.
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
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		n, invalid, err := dataRows(ctx, stop, c.Input, c.Read)
		if err == nil {
			// An error here leaves the count out: status then says so.
			_ = db.SetInputRows(ctx, runID, n, invalid)
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// errCountStopped ends a count given up.
var errCountStopped = errors.New("count stopped")

// dataRows counts the data rows the reader yields for path with opt, and
// the invalid ones, as the output writes them, until ctx ends or stop is
// closed.
func dataRows(ctx context.Context, stop <-chan struct{}, path string, opt reader.Options) (n, invalid int, err error) {
	in, err := openInput(path, opt)
	if err != nil {
		return 0, 0, err
	}
	defer in.Close()
	for i := 0; ; i++ {
		if i%1024 == 0 {
			select {
			case <-ctx.Done():
				return n, invalid, errCountStopped
			case <-orNever(stop):
				return n, invalid, errCountStopped
			default:
			}
		}
		rec, err := in.Next()
		if errors.Is(err, io.EOF) {
			return n, invalid, nil
		}
		if err != nil {
			return n, invalid, err
		}
		if rec.Kind == pipeline.Data {
			n++
			if len(rec.Problems) > 0 {
				invalid++
			}
		}
	}
}

// orNever is c, or a channel never closed when c is nil.
func orNever(c <-chan struct{}) <-chan struct{} {
	if c == nil {
		return make(chan struct{})
	}
	return c
}
