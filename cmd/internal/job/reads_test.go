package job

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

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
		case reader.IsText(path) && opt.Lines == 0 && n != &p.tallies:
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

// fileSHA256 is the hex SHA-256 of the file at path and its size.
func fileSHA256(tb testing.TB, path string) (string, int64) {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), int64(len(b))
}

// TestFirstCallBeforeCount holds a first run's pass over its text input
// (hash and count) until the run has made a call: the calls do not wait
// for it (issue 7: the first call within a second, even of a million
// rows), and what it finds is recorded all the same.
func TestFirstCallBeforeCount(t *testing.T) {
	c := readsJob(t, "csv", 3000)
	called := make(chan struct{})
	var once sync.Once
	waited := false
	tally := tallyInput
	t.Cleanup(func() { tallyInput = tally })
	tallyInput = func(ctx context.Context, path string, opt reader.Options) (reader.Sum, reader.Count, error) {
		select {
		case <-called:
		case <-time.After(20 * time.Second):
			waited = true // the calls waited for the pass
		}
		return tally(ctx, path, opt)
	}
	var total func() int
	totalAtFirstCall := -1
	env := Env{ProgressEvery: 10 * time.Millisecond, Progress: func(f func() int) (func(pipeline.Stats), func()) {
		total = f
		return func(s pipeline.Stats) {
			if s.Calls > 0 {
				once.Do(func() { totalAtFirstCall = total(); close(called) })
			}
		}, func() {}
	}}
	if _, err := Run(context.Background(), c, env); err != nil && !errors.Is(err, pipeline.ErrIncomplete) {
		t.Fatal(err)
	}
	if waited {
		t.Error("the first run made no call before its input was counted")
	}
	// The progress's total: not known at the first call (the input is
	// neither counted nor estimated then), the count once the pass ended.
	if totalAtFirstCall != 0 {
		t.Errorf("progress total at the first call = %d, want 0 (not counted yet)", totalAtFirstCall)
	}
	if got := total(); got != 3000 {
		t.Errorf("progress total after the run = %d, want the 3000 rows counted", got)
	}
	st, err := statusOf(context.Background(), c.DB)
	if err != nil {
		t.Fatal(err)
	}
	sha, size := fileSHA256(t, c.Input)
	if st.InputSHA256 != sha || st.InputSize != size || st.Rows != 3000 {
		t.Errorf("checkpoint records input %s (%d bytes), %d rows; want %s (%d bytes), 3000 rows", st.InputSHA256, st.InputSize, st.Rows, sha, size)
	}
}

// TestStopBeforeCountRecordsDigest stops a first run whose pass over its
// input never ends (a huge file, slowly read): the run ends at once all
// the same, and records its input's digest from a read of the bytes alone,
// so that a resume against an edited input is refused.
func TestStopBeforeCountRecordsDigest(t *testing.T) {
	c := readsJob(t, "csv", 3000)
	tally := tallyInput
	t.Cleanup(func() { tallyInput = tally })
	tallyInput = func(ctx context.Context, path string, opt reader.Options) (reader.Sum, reader.Count, error) {
		<-ctx.Done()
		return reader.Sum{}, reader.Count{}, ctx.Err()
	}
	stop := make(chan struct{})
	var once sync.Once
	env := Env{Stop: stop, ProgressEvery: 10 * time.Millisecond, Progress: func(func() int) (func(pipeline.Stats), func()) {
		return func(s pipeline.Stats) {
			if s.Calls >= 3 {
				once.Do(func() { close(stop) })
			}
		}, func() {}
	}}
	if _, err := Run(context.Background(), c, env); !errors.Is(err, pipeline.ErrIncomplete) {
		t.Fatalf("stopped run: %v; want it incomplete", err)
	}
	st, err := statusOf(context.Background(), c.DB)
	if err != nil {
		t.Fatal(err)
	}
	if sha, size := fileSHA256(t, c.Input); st.InputSHA256 != sha || st.InputSize != size {
		t.Errorf("checkpoint records input %q (%d bytes); want %s (%d bytes)", st.InputSHA256, st.InputSize, sha, size)
	}
	f, err := os.OpenFile(c.Input, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(f, "张三,6222021234567890123")
	f.Close()
	var inputErr *pipeline.InputError
	if _, err := Run(context.Background(), c, Env{}); !errors.As(err, &inputErr) {
		t.Errorf("resume against an edited input: %v; want it refused", err)
	}
}
