package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/cardverify/cardverify/cmd/internal/job"
	"github.com/cardverify/cardverify/pipeline/msg"
)

// export writes the annotated output of INPUT from a checkpoint, at any
// time, even while a run is going on.
func (a *app) export(ctx context.Context, args []string) error {
	c := job.ExportConfig{Notice: a.stderr}
	fs := a.newFlags("export")
	c.Flags(fs)
	var err error
	if c.Input, err = parseOptional(fs, args, "export", "INPUT"); err != nil {
		return err
	}
	if err := c.Check(); err != nil {
		return err
	}
	c.Now = a.now
	st, err := job.Export(ctx, c, version)
	if err != nil {
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
	var err error
	if c.Output, err = parseOptional(fs, args, "audit", "OUTPUT"); err != nil {
		return err
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

// parseOptional parses the args of subcommand cmd with fs and returns its
// one optional positional argument, named what in the usage error when
// there are more; "" when there is none.
func parseOptional(fs *flag.FlagSet, args []string, cmd, what string) (string, error) {
	pos, err := parse(fs, args)
	if err != nil {
		return "", err
	}
	switch len(pos) {
	case 0:
		return "", nil
	case 1:
		return pos[0], nil
	}
	return "", usagef(msg.UsageArgs, cmd, what, len(pos))
}
