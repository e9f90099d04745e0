package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"time"

	"github.com/cardverify/cardverify/cmd/internal/job"
	"github.com/cardverify/cardverify/pipeline"
	"github.com/cardverify/cardverify/pipeline/msg"
	"github.com/cardverify/cardverify/store"
)

// historyConfig is the flags of "cardverify history".
type historyConfig struct {
	Path        string
	JSON        bool
	PurgeBefore time.Duration // --purge-older-than; 0: no purge
	Import      []string      // checkpoints to import
}

func (c *historyConfig) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.Path, "history", "", "history `path` (default: cardverify/history.db in the user's data directory)")
	fs.BoolVar(&c.JSON, "json", false, "print JSON")
	// The messages' language is read before the flags (langOf).
	fs.String("lang", "zh", "language: zh or en")
	fs.Var(job.DurationValue{D: &c.PurgeBefore}, "purge-older-than", "delete the verdicts older than `DUR` (e.g. 90d)")
	fs.Func("import", "import the real verdicts of the checkpoint `DB` (repeatable)", func(s string) error {
		c.Import = append(c.Import, s)
		return nil
	})
}

func (a *app) parseHistory(args []string) (historyConfig, error) {
	var c historyConfig
	fs := a.newFlags("history")
	c.flags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return c, err
	}
	if len(pos) > 0 {
		return c, usagef(msg.UsageLine, "cardverify history [--history PATH] [--json] [--purge-older-than DUR] [--import DB] [--lang zh|en]")
	}
	if c.PurgeBefore < 0 {
		return c, usagef(msg.HistNegative)
	}
	return c, nil
}

func (a *app) history(ctx context.Context, args []string) error {
	c, err := a.parseHistory(args)
	if err != nil {
		return err
	}
	jc := job.Config{History: c.Path}
	path, err := jc.HistoryPath()
	if err != nil {
		return err
	}
	// Only an import needs the fingerprint key (a new history is made with
	// it); counts and purges read what is there.
	var key *store.Key
	if len(c.Import) > 0 {
		k, err := store.LoadOrCreateDefaultKey()
		if err != nil {
			return err
		}
		key = &k
	} else if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return a.printHistory(store.HistoryStats{Path: path, Endpoints: map[string]int{}}, c.JSON, a.say(msg.HistNone))
	}
	h, err := store.OpenHistory(ctx, path, key)
	if err != nil {
		return err
	}
	defer h.Close()
	var notes []string
	for _, db := range c.Import {
		n, err := importCheckpoint(ctx, h, db)
		if err != nil {
			return err
		}
		notes = append(notes, a.say(msg.HistImported, n, db))
	}
	if c.PurgeBefore > 0 {
		before := a.now().Add(-c.PurgeBefore)
		n, err := h.Purge(ctx, before)
		if err != nil {
			return err
		}
		notes = append(notes, a.say(msg.HistPurged, n, pipeline.ChinaTime(before)))
	}
	st, err := h.Stats(ctx)
	if err != nil {
		return err
	}
	if err := h.Close(); err != nil {
		return err
	}
	return a.printHistory(st, c.JSON, notes...)
}

func importCheckpoint(ctx context.Context, h *store.History, path string) (int, error) {
	keyFile, err := store.DefaultKeyPath()
	if err != nil {
		return 0, err
	}
	db, err := store.OpenReadOnly(ctx, path, keyFile)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	return h.Import(ctx, db)
}

// printHistory prints the counts of a history; notes go to stderr.
func (a *app) printHistory(st store.HistoryStats, asJSON bool, notes ...string) error {
	for _, n := range notes {
		fmt.Fprintln(a.stderr, n)
	}
	if asJSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	w := a.stdout
	fmt.Fprintln(w, a.say(msg.HistPath, st.Path))
	fmt.Fprintln(w, a.say(msg.HistVerdicts, st.Verdicts, st.Match, st.Mismatch))
	if st.Verdicts > 0 {
		fmt.Fprintln(w, a.say(msg.HistSpan, pipeline.ChinaTime(st.Oldest), pipeline.ChinaTime(st.Newest)))
	}
	endpoints := make([]string, 0, len(st.Endpoints))
	for e := range st.Endpoints {
		endpoints = append(endpoints, e)
	}
	sort.Strings(endpoints)
	for _, e := range endpoints {
		name := e
		if name == "" {
			name = a.say(msg.HistImportedEP)
		}
		fmt.Fprintf(w, "  %-10s %d\n", name, st.Endpoints[e])
	}
	return nil
}

// reportCost prints what a dry run found a list will cost: the rows
// reusable from the history, the calls left to pay for and, with --price,
// the most they can cost and what reuse saves.
func (a *app) reportCost(w io.Writer, c job.Cost, oldest time.Time) {
	if c.Reused > 0 {
		fmt.Fprintln(w, a.say(msg.DryReusable, c.Reused, pipeline.ChinaTime(oldest)))
		fmt.Fprintln(w, a.say(msg.DryToPay, c.Calls))
	} else {
		fmt.Fprintln(w, a.say(msg.DryMost, c.Calls))
	}
	if c.Price > 0 {
		line := a.say(msg.DryCost, fmt.Sprintf("%.2f", c.Most()), c.Price)
		if c.Reused > 0 {
			line = msg.Join(a.lang, line, a.say(msg.ReuseSaves, fmt.Sprintf("%.2f", c.Saved())))
		}
		fmt.Fprintln(w, line)
	}
}

// reportPaid prints, with --price, what this run's billed calls cost and
// what its reused rows saved.
func (a *app) reportPaid(w io.Writer, price float64, s pipeline.Stats) {
	if price <= 0 {
		return
	}
	line := a.say(msg.RunCost, price, fmt.Sprintf("%.2f", price*float64(s.Billed)))
	if s.Reused > 0 {
		line = msg.Join(a.lang, line, a.say(msg.ReuseSaved, fmt.Sprintf("%.2f", price*float64(s.Reused))))
	}
	fmt.Fprintln(w, line)
}
