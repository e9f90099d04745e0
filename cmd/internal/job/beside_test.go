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
	"github.com/cardverify/cardverify/pipeline/juhe/juhetest"
)

// TestBesideOutputAsExport checks the output written beside the calls
// against the one export writes afterwards from the same checkpoint, byte
// for byte: after a first run stopped by its budget part way (rows read
// and not, pending), and after the run that resumes and finishes the job.
// Both runs must have written their output beside the calls: one open of
// the input each.
func TestBesideOutputAsExport(t *testing.T) {
	for _, format := range []string{"csv", "xlsx"} {
		t.Run(format, func(t *testing.T) { besideAsExport(t, format) })
	}
}

func besideAsExport(t *testing.T, format string) {
	c := readsJob(t, format, 3000)
	c.Out = filepath.Join(filepath.Dir(c.Input), "out."+format)
	clock := func() time.Time { return time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC) }
	compare := func(kind string) {
		t.Helper()
		// Under the same name elsewhere: the Summary names the output.
		exported := filepath.Join(t.TempDir(), "out."+format)
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

// TestFinishedGuessWrong reruns a job that read every row but is not
// finished for a real run (its verdicts are simulated): the output started
// beside the status is given up, the input opened anew, every row verified
// for real, and the output is export's.
func TestFinishedGuessWrong(t *testing.T) {
	c := readsJob(t, "csv", 500)
	c.Out = filepath.Join(filepath.Dir(c.Input), "out.csv")
	if _, err := Run(context.Background(), c, Env{}); err != nil {
		t.Fatalf("sandbox run: %v", err)
	}
	srv := juhetest.NewServer(t, juhetest.Options{Key: "real-key"})
	c.Sandbox, c.Key, c.KeyFrom, c.BaseURL = false, "real-key", "JUHE_KEY", srv.URL
	p := countPasses(t)
	res, err := Run(context.Background(), c, Env{})
	if err != nil || res.Status.Simulated != 0 || res.Stats.Calls == 0 {
		t.Fatalf("real run after a sandbox one: %v, %d calls, %d simulated rows; want every row verified for real", err, res.Stats.Calls, res.Status.Simulated)
	}
	if p.opens != 2 {
		t.Errorf("%d opens of the input; want 2 (the output given up, the calls')", p.opens)
	}
	exported := filepath.Join(filepath.Dir(c.Input), "exported.csv")
	if _, err := Export(context.Background(), ExportConfig{Input: c.Input, DB: c.DB, Out: exported, Lang: c.Lang, KeyFile: c.KeyFile}, ""); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(c.Out)
	want, _ := os.ReadFile(exported)
	if !bytes.Equal(got, want) {
		t.Errorf("the output (%d bytes) is not export's (%d bytes)", len(got), len(want))
	}
	if i := bytes.Index(got, []byte("[SANDBOX]")); i >= 0 {
		t.Errorf("the output keeps a simulated mark: %q", got[max(0, i-200):i+20])
	}
}
