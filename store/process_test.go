package store

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cardverify/cardverify/pipeline"
	"github.com/cardverify/cardverify/pipeline/msg"
)

// childEnv names the checkpoint a re-executed test binary works on.
const childEnv = "STORE_TEST_CHILD_DB"

func TestMain(m *testing.M) {
	if path := os.Getenv(childEnv); path != "" {
		if err := child(path); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// child is a run that dies: it opens the checkpoint, plans rows 2-6, begins
// calls for rows 2, 3 and 4, records the answer of row 2 only, makes it
// durable, says "ready" and waits to be killed.
func child(path string) error {
	ctx := context.Background()
	db, err := Open(ctx, path, testKeyFile(path))
	if err != nil {
		return err
	}
	if _, err := db.BeginRun(ctx, RunInfo{InputPath: "list.csv", InputSHA256: "aa", Endpoint: "plain", Started: base}); err != nil {
		return err
	}
	rows := people(5, 0, 9)
	known := make([]pipeline.Known, len(rows))
	if err := db.Plan(ctx, rows, known); err != nil {
		return err
	}
	var ids []int64
	for _, k := range known[:3] {
		id, err := db.Begin(ctx, pipeline.Call{FirstRow: k.FirstRow, Pair: k.Pair, CardKey: k.CardKey, Attempt: 1, SentAt: base}, pipeline.CardDailyLimit)
		if err != nil {
			return err
		}
		ids = append(ids, id)
	}
	o := outcome(2, pipeline.Match, base)
	c := pipeline.Call{FirstRow: 2, Pair: known[0].Pair, CardKey: known[0].CardKey, Answered: true, Billed: true, JobID: o.JobID, HTTPStatus: 200}
	if err := db.End(ctx, ids[0], c, &o); err != nil {
		return err
	}
	if err := db.flush(ctx); err != nil {
		return err
	}
	fmt.Println("ready")
	select {} // until killed
}

// startChild starts the crashing run on path and returns once it is ready.
func startChild(t *testing.T, path string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		ready <- line
	}()
	select {
	case line := <-ready:
		if strings.TrimSpace(line) != "ready" {
			t.Fatalf("child said %q", line)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("child not ready after 30s")
	}
	return cmd
}

// TestCrashedRun runs a child process that holds the checkpoint with calls
// in flight, then SIGKILLs it: while it lives a second Open is refused
// naming its pid and a report counts its calls as in flight; after the kill
// they are lost answers, and a resume sends their pairs again.
func TestCrashedRun(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "job.db")
	cmd := startChild(t, path)

	_, err := Open(ctx, path, testKeyFile(path))
	ie := wantInputError(t, err, 0)
	if want := "(pid " + strconv.Itoa(cmd.Process.Pid) + ")"; !strings.Contains(msg.Text("en", ie.Msg), want) {
		t.Errorf("error %q does not name %s", err, want)
	}

	status := func() Status {
		t.Helper()
		ro, err := OpenReadOnly(ctx, path, testKeyFile(path))
		if err != nil {
			t.Fatal(err)
		}
		defer ro.Close()
		st, err := ro.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	st := status()
	if !st.Running || st.InFlight != 2 || st.LostAnswers != 0 || st.Calls != 3 || st.BilledCalls != 1 || st.Match != 1 || st.Pending != 4 {
		t.Errorf("status while running = %+v", st)
	}

	cmd.Process.Kill()
	cmd.Wait()
	st = status()
	if st.Running || st.InFlight != 0 || st.LostAnswers != 2 || st.Calls != 3 || st.BilledCalls != 1 {
		t.Errorf("status after the kill = %+v", st)
	}

	// Resume: the lock died with the child.
	db := openT(t, path)
	run, err := db.BeginRun(ctx, RunInfo{InputPath: "list.csv", InputSHA256: "aa", Endpoint: "plain", Started: base.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	known := plan(t, db, people(5, 0, 9), 5)
	want := []pipeline.Status{pipeline.Match, pipeline.Pending, pipeline.Pending, pipeline.Pending, pipeline.Pending}
	for i, k := range known {
		if k.Prior.Status != want[i] {
			t.Errorf("row %d after the crash: %v, want %v", k.FirstRow, k.Prior.Status, want[i])
		}
	}
	for _, k := range known[1:] {
		answer(t, db, k, pipeline.Mismatch, base.Add(time.Hour))
	}
	if err := db.EndRun(ctx, run, base.Add(2*time.Hour), StopDone); err != nil {
		t.Fatal(err)
	}
	st, err = db.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The lost calls stay in the ledger: they may have been billed.
	if st.LostAnswers != 2 || st.InFlight != 0 || st.Calls != 7 || st.BilledCalls != 5 || st.Match != 1 || st.Mismatch != 4 || st.Runs != 2 {
		t.Errorf("status after the resume = %+v", st)
	}
}
