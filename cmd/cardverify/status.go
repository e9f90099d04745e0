package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strings"

	"github.com/cardverify/cardverify/cmd/internal/job"
	"github.com/cardverify/cardverify/pipeline"
	"github.com/cardverify/cardverify/pipeline/msg"
	"github.com/cardverify/cardverify/store"
)

// statusConfig is what "cardverify status" was asked to do.
type statusConfig struct {
	DB   string
	JSON bool
	Lang string
}

func (c *statusConfig) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.DB, "db", "", "checkpoint `path`")
	fs.BoolVar(&c.JSON, "json", false, "print JSON")
	fs.StringVar(&c.Lang, "lang", "zh", "language of the report: zh or en")
}

func (a *app) parseStatus(args []string) (statusConfig, error) {
	var c statusConfig
	fs := a.newFlags("status")
	c.flags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return c, err
	}
	if c.DB == "" || len(pos) > 0 {
		return c, usagef(msg.UsageLine, "cardverify status --db PATH [--json] [--lang zh|en]")
	}
	if err := job.OneOf("lang", c.Lang, "zh", "en"); err != nil {
		return c, err
	}
	return c, nil
}

func (a *app) status(ctx context.Context, args []string) error {
	c, err := a.parseStatus(args)
	if err != nil {
		return err
	}
	// Without the key: status shows counts, which need no fingerprint, so
	// it works on any copy of the checkpoint (an auditor's, another
	// machine's).
	db, err := store.OpenReadOnly(ctx, c.DB, "")
	if err != nil {
		return err
	}
	defer db.Close()
	st, err := db.Status(ctx)
	if err != nil {
		return err
	}
	// The checkpoint keeps reasons as codes: say them in the language.
	reasons := make(map[string]int, len(st.InvalidReasons))
	for r, n := range st.InvalidReasons {
		reasons[msg.Text(c.Lang, r)] += n
	}
	st.InvalidReasons = reasons
	if c.JSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	a.printStatus(c.DB, db.KeyID(), st)
	return nil
}

// printStatus prints the status of the checkpoint at path on stdout.
func (a *app) printStatus(path, keyID string, st store.Status) {
	w := a.stdout
	fmt.Fprintln(w, a.say(msg.StatusDB, path))
	fmt.Fprintln(w, a.say(msg.StatusKey, keyID))
	fmt.Fprintln(w, a.say(msg.StatusInput, st.InputPath, st.InputSize, st.InputSHA256))
	endpoint := a.say(msg.StatusEndpoint, st.Endpoint)
	if st.Sandbox {
		endpoint += "  " + a.say(msg.StatusSandbox)
	}
	fmt.Fprintln(w, endpoint)
	fmt.Fprintln(w, a.say(msg.StatusRuns, st.Runs, pipeline.ChinaTime(st.FirstAt), pipeline.ChinaTime(st.LastAt)))
	fmt.Fprintln(w, a.say(msg.StatusRows, st.Rows))
	for _, s := range pipeline.Statuses {
		fmt.Fprintf(w, "  %s %d\n", pad(s.Label(a.lang), 9), st.Count(s))
	}
	fmt.Fprintln(w, a.withLost(a.say(msg.StatusCalls, st.Calls, st.BilledCalls, st.PossiblyBilled), msg.StatusLost, st))
}

// withLost is line followed, when there are any, by the calls whose answer
// was lost (said with code lost) and the billed answers without a verdict.
func (a *app) withLost(line string, lost pipeline.Code, st store.Status) string {
	if st.LostAnswers > 0 {
		line = msg.Join(a.lang, line, a.say(lost, st.LostAnswers))
	}
	if st.NoVerdict > 0 {
		line = msg.Join(a.lang, line, a.say(msg.RunNoVerdict, st.NoVerdict))
	}
	return line
}

// pad pads s with spaces to n columns, a Chinese character taking two.
func pad(s string, n int) string {
	w := 0
	for _, r := range s {
		w++
		if r >= 0x2e80 {
			w++
		}
	}
	if w >= n {
		return s
	}
	return s + strings.Repeat(" ", n-w)
}
