package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"time"

	"github.com/cardverify/cardverify/pipeline"
	"github.com/cardverify/cardverify/store"
)

// statusConfig is what "cardverify status" was asked to do.
type statusConfig struct {
	DB   string
	JSON bool
}

func (c *statusConfig) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.DB, "db", "", "checkpoint `path`")
	fs.BoolVar(&c.JSON, "json", false, "print JSON")
}

func (a *app) status(ctx context.Context, args []string) error {
	var c statusConfig
	fs := a.newFlags("status")
	c.flags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if c.DB == "" || len(pos) > 0 {
		return usagef("usage: cardverify status --db PATH [--json]")
	}
	db, err := store.OpenReadOnly(ctx, c.DB)
	if err != nil {
		return err
	}
	defer db.Close()
	st, err := db.Status(ctx)
	if err != nil {
		return err
	}
	if c.JSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	w := a.stdout
	fmt.Fprintf(w, "checkpoint  %s\n", c.DB)
	fmt.Fprintf(w, "input       %s (%d bytes, sha256 %s)\n", st.InputPath, st.InputSize, st.InputSHA256)
	fmt.Fprintf(w, "endpoint    %s", st.Endpoint)
	if st.Sandbox {
		fmt.Fprint(w, "  SANDBOX: simulated answers")
	}
	fmt.Fprintf(w, "\nruns        %d, from %s to %s\n", st.Runs, st.FirstAt.Format(time.RFC3339), st.LastAt.Format(time.RFC3339))
	fmt.Fprintf(w, "rows        %d\n", st.Rows)
	for _, s := range pipeline.Statuses {
		fmt.Fprintf(w, "  %-9s %d\n", s, st.Count(s))
	}
	fmt.Fprintf(w, "calls       %d, billed %d", st.Calls, st.BilledCalls)
	if st.LostAnswers > 0 {
		fmt.Fprintf(w, ", %d sent with no answer recorded (a crash: possibly billed, re-sent on resume)", st.LostAnswers)
	}
	fmt.Fprintln(w)
	return nil
}
