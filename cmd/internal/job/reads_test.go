package job

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"github.com/cardverify/cardverify/cmd/internal/gen"
	"github.com/cardverify/cardverify/pipeline"
	"github.com/cardverify/cardverify/pipeline/juhe"
	"github.com/cardverify/cardverify/reader"
)

// passes counts the passes a run makes over its input: raw reads of its
// bytes (the digest), one-pass hash-and-count reads, and opens of its rows.
type passes struct {
	mu                      sync.Mutex
	digests, tallies, opens int
}

func (p *passes) total() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.digests + p.tallies + p.opens
}

// countPasses replaces the input's pass functions by counting ones until
// the test ends.
func countPasses(tb testing.TB) *passes {
	tb.Helper()
	p := &passes{}
	digest, open := digestInput, openInput
	tb.Cleanup(func() { digestInput, openInput = digest, open })
	digestInput = func(path string) (reader.Sum, error) {
		p.mu.Lock()
		p.digests++
		p.mu.Unlock()
		return digest(path)
	}
	openInput = func(path string, opt reader.Options) (*reader.Reader, error) {
		p.mu.Lock()
		p.opens++
		p.mu.Unlock()
		return open(path, opt)
	}
	return p
}

// readsJob is a sandbox job on a generated list of 200 rows in format.
func readsJob(tb testing.TB, format string) Config {
	tb.Helper()
	dir := tb.TempDir()
	in := filepath.Join(dir, "list."+format)
	if err := gen.Write(in, format, gen.Options{Rows: 200, Seed: 13}); err != nil {
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
	return passes{digests: p.digests, tallies: p.tallies, opens: p.opens}, res.Stats.Calls
}

// TestReadsPerRun counts the passes over the input of a first run, a run
// resumed after a stop, and the rerun of a finished job (issue 13: at most
// two where the design allows it).
func TestReadsPerRun(t *testing.T) {
	type want struct{ digests, tallies, opens int }
	for _, tc := range []struct {
		format                   string
		first, resumed, finished want
	}{
		{"csv", want{1, 0, 3}, want{1, 0, 2}, want{1, 0, 2}},
		{"xlsx", want{1, 0, 3}, want{1, 0, 2}, want{1, 0, 2}},
	} {
		t.Run(tc.format, func(t *testing.T) {
			check := func(kind string, got passes, calls int, w want) {
				t.Helper()
				if (kind == "finished") != (calls == 0) {
					t.Errorf("%s run of a %s input made %d calls", kind, tc.format, calls)
				}
				if got.digests != w.digests || got.tallies != w.tallies || got.opens != w.opens {
					t.Errorf("%s run of a %s input: %d digests, %d tallies, %d opens; want %d, %d, %d",
						kind, tc.format, got.digests, got.tallies, got.opens, w.digests, w.tallies, w.opens)
				}
			}
			c := readsJob(t, tc.format)
			p, calls := runPasses(t, c)
			check("first", p, calls, tc.first)
			p, calls = runPasses(t, c)
			check("finished", p, calls, tc.finished)

			c = readsJob(t, tc.format)
			c.MaxBilled = 20 // the sandbox rehearses the budget: the run stops after 20 calls
			runPasses(t, c)
			c.MaxBilled = 0
			p, calls = runPasses(t, c)
			check("resumed", p, calls, tc.resumed)
		})
	}
}
