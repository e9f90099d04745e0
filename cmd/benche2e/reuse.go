package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/cardverify/cardverify/cmd/internal/gen"
	"github.com/cardverify/cardverify/pipeline"
	"github.com/cardverify/cardverify/reader"
	"github.com/cardverify/cardverify/store"
)

// reuseEvery is how often a row of the reuse case's list is not in the
// history: every 20th, so 95% are (the month-over-month list of issue 15).
const reuseEvery = 20

// seedJob is a history to fill with the verdicts of a generated list.
type seedJob struct {
	path string
	o    gen.Options
}

// seedHistory fills a history, in a child process (see generate), with a
// real-looking verdict of a day ago for every row of the list but every
// reuseEvery-th, under the fingerprint key the runs will use (the driver's
// XDG_CONFIG_HOME).
func seedHistory(ctx context.Context, s seedJob) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	c := command{bin: self, args: []string{"-gen-history", s.path, "-gen-rows", strconv.Itoa(s.o.Rows),
		"-gen-seed", strconv.FormatUint(s.o.Seed, 10)}}
	fmt.Printf("$ %s   # the verdicts of 95%% of the list's rows, a day old\n", c)
	cmd := c.cmd(ctx)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("seed history %s: %w", s.path, err)
	}
	return nil
}

// writeHistory is the child's side of seedHistory.
func writeHistory(s seedJob) error {
	ctx := context.Background()
	k, err := store.LoadOrCreateDefaultKey()
	if err != nil {
		return err
	}
	h, err := store.OpenHistory(ctx, s.path, &k)
	if err != nil {
		return err
	}
	h.Endpoint = "plain"
	at := time.Now().Add(-24 * time.Hour).Truncate(time.Second)
	for i := range s.o.Rows {
		if i%reuseEvery == 0 {
			continue
		}
		r := s.o.Row(i)
		o := pipeline.Outcome{Status: pipeline.Match, Res: 1, JobID: fmt.Sprintf("JH%012d", i), Answered: true, At: at}
		if err := h.Record(ctx, reader.NormalizeName(r.Name), reader.NormalizeCard(r.Card), o); err != nil {
			h.Close()
			return err
		}
	}
	return h.Close()
}
