package job

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/cardverify/cardverify/cmd/internal/gen"
	"github.com/cardverify/cardverify/pipeline"
	"github.com/cardverify/cardverify/pipeline/juhe"
	"github.com/cardverify/cardverify/reader"
)

// passes counts the passes a run makes over its input: raw reads of its
// bytes (digests, and the line counts of an Open not given them),
// reads that hash and count in one pass (tallies), reads of its rows for
// their count alone (counts), opens of its rows, and the inflations of a
// workbook's sheet these make: two for an Open or a count not given the
// sheet's merged cells (which follow the rows), one otherwise
// (reader.TestMergesGivenInflateOnce).
type passes struct{ digests, lineCounts, tallies, counts, opens, inflations int }

// countPasses replaces the input's pass functions by counting ones until
// the test ends, and returns the counts (read them once the run ended).
func countPasses(tb testing.TB) *passes {
	tb.Helper()
	var mu sync.Mutex
	p := &passes{}
	add := func(path string, opt reader.Options, n *int) {
		mu.Lock()
		defer mu.Unlock()
		*n++
		switch {
		case reader.IsText(path) && opt.Lines <= 0 && n != &p.tallies:
			p.lineCounts++
		case !reader.IsText(path) && n != &p.digests && opt.Merges == nil:
			p.inflations += 2
		case !reader.IsText(path) && n != &p.digests:
			p.inflations++
		}
	}
	digest, tally, count, open := digestInput, tallyInput, countInput, openInput
	tb.Cleanup(func() { digestInput, tallyInput, countInput, openInput = digest, tally, count, open })
	digestInput = func(path string) (reader.Sum, error) {
		add(path, reader.Options{Lines: 1}, &p.digests)
		return digest(path)
	}
	tallyInput = func(ctx context.Context, path string, opt reader.Options) (reader.Sum, reader.Count, error) {
		add(path, opt, &p.tallies)
		return tally(ctx, path, opt)
	}
	countInput = func(ctx context.Context, path string, opt reader.Options) (reader.Count, error) {
		add(path, opt, &p.counts)
		return count(ctx, path, opt)
	}
	openInput = func(path string, opt reader.Options) (*reader.Reader, error) {
		add(path, opt, &p.opens)
		return open(path, opt)
	}
	return p
}

// readsJob is a sandbox job on a generated list of rows in format.
func readsJob(tb testing.TB, format string, rows int) Config {
	tb.Helper()
	dir := tb.TempDir()
	in := filepath.Join(dir, "list."+format)
	if err := gen.Write(in, format, gen.Options{Rows: rows, Seed: 13}); err != nil {
		tb.Fatal(err)
	}
	c := Config{Input: in, Sandbox: true, Endpoint: "plain", Lang: "en", QPS: 2000, Timeout: juhe.DefaultTimeout, MaxAttempts: 2,
		KeyFile: filepath.Join(dir, "fingerprint.key")}
	if err := c.Check(); err != nil {
		tb.Fatal(err)
	}
	c.DefaultPaths()
	return c
}

// runPasses runs c and returns how many passes over the input it made, and
// how many calls.
func runPasses(tb testing.TB, c Config) (passes, int) {
	tb.Helper()
	p := countPasses(tb)
	res, err := Run(context.Background(), c, Env{})
	if err != nil && !errors.Is(err, pipeline.ErrIncomplete) && !errors.Is(err, pipeline.ErrBudget) {
		tb.Fatal(err)
	}
	if !res.Written {
		tb.Fatal("no output written")
	}
	return *p, res.Stats.Calls
}

// TestReadsPerRun counts the passes over the input of a first run, a run
// resumed after a stop, and the rerun of a finished job (issue 13: at most
// two where the design allows it: a workbook's first run counts its rows
// beside the calls, so as not to delay the first one).
func TestReadsPerRun(t *testing.T) {
	for _, tc := range []struct {
		format                   string
		first, resumed, finished passes
	}{
		// digests, line counts, tallies, counts, opens, inflations
		// The output is written beside the calls, from their read (pipeline.Tee).
		{"csv", passes{0, 0, 1, 0, 1, 0}, passes{1, 0, 0, 0, 1, 0}, passes{1, 0, 0, 0, 1, 0}},
		// A workbook's rows are counted beside the run (countRows).
		{"xlsx", passes{1, 0, 0, 1, 1, 3}, passes{1, 0, 0, 0, 1, 2}, passes{1, 0, 0, 0, 1, 2}},
	} {
		t.Run(tc.format, func(t *testing.T) {
			check := func(kind string, got passes, calls int, w passes) {
				t.Helper()
				if (kind == "finished") != (calls == 0) {
					t.Errorf("%s run of a %s input made %d calls", kind, tc.format, calls)
				}
				if got != w {
					t.Errorf("%s run of a %s input: %+v; want %+v", kind, tc.format, got, w)
				}
			}
			c := readsJob(t, tc.format, 200)
			p, calls := runPasses(t, c)
			check("first", p, calls, tc.first)
			p, calls = runPasses(t, c)
			check("finished", p, calls, tc.finished)

			c = readsJob(t, tc.format, 200)
			c.MaxBilled = 20 // the sandbox rehearses the budget: the run stops after 20 calls
			runPasses(t, c)
			c.MaxBilled = 0
			p, calls = runPasses(t, c)
			check("resumed", p, calls, tc.resumed)
		})
	}
}

// TestReadsDryRun counts the passes of a dry run: its read of the rows
// (which counts a text file's lines first), and the output's, which
// counts nothing again.
func TestReadsDryRun(t *testing.T) {
	for _, tc := range []struct {
		format string
		want   passes
	}{
		// digests, line counts, tallies, counts, opens, inflations
		{"csv", passes{0, 1, 0, 0, 2, 0}},
		{"xlsx", passes{0, 0, 0, 0, 2, 3}},
	} {
		t.Run(tc.format, func(t *testing.T) {
			c := readsJob(t, tc.format, 200)
			c.DryRun = true
			p := countPasses(t)
			res, err := DryRun(context.Background(), c, Env{})
			if err != nil || res.Out == "" {
				t.Fatalf("dry run: %v, output %q", err, res.Out)
			}
			if *p != tc.want {
				t.Errorf("dry run of a %s input: %+v; want %+v", tc.format, *p, tc.want)
			}
		})
	}
}

// TestFirstRunBrokenRowAsBefore gives a first run a text input broken at
// its last row (wider than the reader allows): the pass that hashes and
// counts it fails there, and the run goes on as without the count, verifying
// the rows before the broken one, then refusing the input at it.
func TestFirstRunBrokenRowAsBefore(t *testing.T) {
	c := readsJob(t, "csv", 3000)
	f, err := os.OpenFile(c.Input, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(f, strings.Repeat("x,", 2000))
	f.Close()
	res, err := Run(context.Background(), c, Env{})
	var inputErr *pipeline.InputError
	if !errors.As(err, &inputErr) || res.Stats.Calls == 0 {
		t.Errorf("first run of an input broken at its last row: %v after %d calls; want an input error after calls", err, res.Stats.Calls)
	}
}
