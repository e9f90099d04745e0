package main

import (
	"context"
	"fmt"

	"github.com/cardverify/cardverify/cmd/internal/job"
)

// export writes the annotated output of INPUT from a checkpoint, at any
// time, even while a run is going on.
func (a *app) export(ctx context.Context, args []string) error {
	var c job.ExportConfig
	fs := a.newFlags("export")
	c.Flags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 1 {
		c.Input = pos[0]
	} else if len(pos) > 1 {
		return usagef("export takes one INPUT file, got %d arguments", len(pos))
	}
	if err := c.Check(); err != nil {
		return err
	}
	st, err := job.Export(ctx, c, version)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "%d rows (%d match, %d mismatch, %d pending) written to %s\n", st.Rows, st.Match, st.Mismatch, st.Pending, c.Out)
	return nil
}

// audit checks an annotated output against the checkpoint's records.
func (a *app) audit(ctx context.Context, args []string) error {
	var c job.AuditConfig
	fs := a.newFlags("audit")
	c.Flags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 1 {
		c.Output = pos[0]
	} else if len(pos) > 1 {
		return usagef("audit takes one OUTPUT file, got %d arguments", len(pos))
	}
	if err := c.Check(); err != nil {
		return err
	}
	rep, err := job.Audit(ctx, c)
	if err != nil {
		return err
	}
	for _, d := range rep.Differences {
		fmt.Fprintf(a.stdout, "row %d: %s\n", d.Row, d.Problem)
	}
	if err := rep.Err(); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "ok: all %d rows match the checkpoint\n", rep.Rows)
	return nil
}
