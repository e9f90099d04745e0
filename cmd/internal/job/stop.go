package job

import (
	"context"
	"errors"
	"time"

	"github.com/cardverify/cardverify/pipeline"
	"github.com/cardverify/cardverify/pipeline/msg"
)

// writeGrace is how long the output may still take to be written after a
// stop (Ctrl-C, SIGTERM, the console's Stop) that came before the writing
// began: enough for a small list, while a large one is left to `export` or
// the next run, so that a stop ends the process within a second plus the
// calls in flight (issue 11). A stop while the output is being written
// ends the writing at once.
const writeGrace = time.Second

// writeContext returns the context the output is written under: ctx, also
// cancelled when stop is closed while writing, or writeGrace after the
// writing began when stop was closed before. The returned func releases
// it.
func writeContext(ctx context.Context, stop <-chan struct{}) (context.Context, context.CancelFunc) {
	wctx, cancel := context.WithCancel(ctx)
	if stop == nil {
		return wctx, cancel
	}
	grace := time.Duration(0)
	select {
	case <-stop:
		grace = writeGrace
	default:
	}
	go func() {
		select {
		case <-stop:
		case <-wctx.Done():
			return
		}
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-t.C:
			cancel()
		case <-wctx.Done():
		}
	}()
	return wctx, cancel
}

// notWritten is the error of an output that was not written: err, or, when
// a stop ended the writing, pipeline.ErrIncomplete saying that the
// checkpoint holds everything and how to get the output.
func notWritten(wctx context.Context, err error, c Config) error {
	if wctx.Err() == nil || !errors.Is(err, context.Canceled) {
		return err
	}
	return msg.Errorf(pipeline.ErrIncomplete, msg.RunNoOutput, shellQuote(c.Out), shellQuote(c.Input), shellQuote(c.DB))
}

// stopped is pipeline.ErrIncomplete, saying nothing was sent, once stop is
// closed; nil before.
func stopped(stop <-chan struct{}) error {
	select {
	case <-stop:
		return msg.Errorf(pipeline.ErrIncomplete, msg.RunStoppedEarly)
	default:
		return nil
	}
}
