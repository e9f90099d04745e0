package main

import (
	"context"
	"fmt"

	"github.com/cardverify/cardverify/cmd/internal/job"
	"github.com/cardverify/cardverify/pipeline"
	"github.com/cardverify/cardverify/pipeline/msg"
)

// export writes the annotated output of INPUT from a checkpoint, at any
// time, even while a run is going on.
func (a *app) export(ctx context.Context, args []string) error {
	c := job.ExportConfig{Notice: a.stderr}
	fs := a.newFlags("export")
	c.Flags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 1 {
		c.Input = pos[0]
	} else if len(pos) > 1 {
		return usagef(msg.UsageArgs, "export", "INPUT", len(pos))
	}
	if err := c.Check(); err != nil {
		return err
	}
	c.Now = a.now
	// Nothing to finish for an export: the first Ctrl-C ends it at once,
	// leaving no partial output.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-a.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	st, err := job.Export(ctx, c, version)
	if err != nil {
		if ctx.Err() != nil {
			return msg.Errorf(pipeline.ErrIncomplete, msg.ExportStopped, c.Out)
		}
		return err
	}
	fmt.Fprintln(a.stderr, a.say(msg.ExportDone, st.Rows, st.Match, st.Mismatch, st.Pending, c.Out))
	return nil
}

// audit checks an annotated output against the checkpoint's records.
func (a *app) audit(ctx context.Context, args []string) error {
	c := job.AuditConfig{Notice: a.stderr}
	fs := a.newFlags("audit")
	c.Flags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 1 {
		c.Output = pos[0]
	} else if len(pos) > 1 {
		return usagef(msg.UsageArgs, "audit", "OUTPUT", len(pos))
	}
	if err := c.Check(); err != nil {
		return err
	}
	rep, err := job.Audit(ctx, c)
	if err != nil {
		return err
	}
	for _, d := range rep.Differences {
		fmt.Fprintln(a.stdout, a.say(msg.AuditRow, d.Row, msg.Text(a.lang, d.Problem)))
	}
	if err := rep.Err(); err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, a.say(msg.AuditOK, rep.Rows))
	return nil
}
