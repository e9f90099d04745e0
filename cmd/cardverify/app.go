package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/cardverify/cardverify/cmd/internal/job"
)

// app is one invocation of the command: its streams, its environment and
// the channel that asks a run to stop gracefully. Tests build it directly.
type app struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	stop           <-chan struct{} // closed on the first SIGINT/SIGTERM
	now            func() time.Time
}

// usagef returns a usage error (exit code 2).
func usagef(format string, args ...any) error { return job.Usagef(format, args...) }

const usage = `cardverify verifies that each customer's name matches the bank card on file,
through Juhe's bank card two-element API, and annotates the list with the verdicts.

Usage:
  cardverify run INPUT [flags]        verify a list (CSV, TSV, TXT or XLSX); rerun to resume
  cardverify status --db PATH [--json]
  cardverify export INPUT --db PATH --out PATH [--lang zh|en] [--mask-card]
  cardverify audit OUTPUT --db PATH   check an annotated file against the checkpoint
  cardverify history [--history PATH] [--json] [--purge-older-than DUR] [--import DB]
  cardverify sandbox [--addr 127.0.0.1:8080]  serve a simulated Juhe API
  cardverify version

Secrets: JUHE_KEY and JUHE_OPENID (or --key, --openid). Run "cardverify run -h" for flags.
`

func (a *app) main(ctx context.Context, args []string) error {
	if a.now == nil {
		a.now = time.Now
	}
	if len(args) == 0 {
		fmt.Fprint(a.stderr, usage)
		return usagef("no command given")
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "run":
		return a.run(ctx, args)
	case "status":
		return a.status(ctx, args)
	case "export":
		return a.export(ctx, args)
	case "audit":
		return a.audit(ctx, args)
	case "sandbox":
		return a.sandbox(ctx, args)
	case "history":
		return a.history(ctx, args)
	case "version", "--version", "-version":
		fmt.Fprintln(a.stdout, "cardverify", version)
		return nil
	case "help", "-h", "--help", "-help":
		fmt.Fprint(a.stdout, usage)
		return nil
	}
	fmt.Fprint(a.stderr, usage)
	return usagef("unknown command %q", cmd)
}

// newFlags returns a flag set for a subcommand that reports to a.stderr and
// returns errors instead of exiting.
func (a *app) newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("cardverify "+name, flag.ContinueOnError)
	fs.SetOutput(a.stderr)
	return fs
}

// parse parses args with fs, accepting flags before and after the
// positional arguments ("run list.csv --qps 5"), and returns the positional
// ones.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				return nil, err
			}
			return nil, &job.UsageError{Msg: err.Error()}
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}
