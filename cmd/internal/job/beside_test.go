package job

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cardverify/cardverify/pipeline"
)

// TestBesideOutputAsExport checks the output written beside the calls
// against the one export writes afterwards from the same checkpoint, byte
// for byte: after a first run stopped by its budget part way (rows read
// and not, pending), and after the run that resumes and finishes the job.
// Both runs must have written their output beside the calls: one open of
// the input each.
func TestBesideOutputAsExport(t *testing.T) {
	c := readsJob(t, "csv", 3000)
	c.Out = filepath.Join(filepath.Dir(c.Input), "out.csv")
	clock := func() time.Time { return time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC) }
	compare := func(kind string) {
		t.Helper()
		exported := filepath.Join(filepath.Dir(c.Input), "exported.csv")
		if _, err := Export(context.Background(), ExportConfig{Input: c.Input, DB: c.DB, Out: exported, Lang: c.Lang, KeyFile: c.KeyFile, Now: clock}, ""); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(c.Out)
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(exported)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s run: the output written beside the calls (%d bytes) differs from export's (%d bytes)", kind, len(got), len(want))
		}
		if !bytes.Contains(want, []byte("J")) {
			t.Errorf("%s run: no jobid in the output: the test tests nothing", kind)
		}
	}
	c.MaxBilled = 400 // the sandbox rehearses the budget
	p := countPasses(t)
	res, err := Run(context.Background(), c, Env{Now: clock})
	if !errors.Is(err, pipeline.ErrBudget) || !res.Written || res.Status.Pending == 0 {
		t.Fatalf("first run: %v, written %v, %d pending; want the budget's stop with pending rows written", err, res.Written, res.Status.Pending)
	}
	if p.opens != 1 {
		t.Errorf("first run: %d opens of the input; want 1 (the output beside the calls)", p.opens)
	}
	compare("first")

	c.MaxBilled = 0
	p = countPasses(t)
	if res, err = Run(context.Background(), c, Env{Now: clock}); err != nil || res.Status.Pending != 0 {
		t.Fatalf("resumed run: %v, %d pending", err, res.Status.Pending)
	}
	if p.opens != 1 {
		t.Errorf("resumed run: %d opens of the input; want 1", p.opens)
	}
	compare("resumed")
}
