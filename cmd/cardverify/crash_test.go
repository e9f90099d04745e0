package main

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/cardverify/cardverify/pipeline/juhe/juhetest"
)

// start starts the binary without waiting for it.
func start(tb testing.TB, env []string, args ...string) (*exec.Cmd, *bytes.Buffer) {
	tb.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Env = append(os.Environ(), env...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	return cmd, &errb
}

// waitFor polls cond every 5 ms for at most 20 s.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestE2EInterruptResume sends SIGINT in the middle of a run: the run stops
// cleanly with exit 4, writes the output, and the same command finishes the
// job without sending anything twice.
func TestE2EInterruptResume(t *testing.T) {
	const rowsN = 400
	j := newListJob(t, rowsN, juhetest.Options{Latency: 20 * time.Millisecond})
	srv, out, db := j.srv, j.out, j.db
	args := j.args("--qps", "200")

	cmd, stderr := j.startRun(t, 21, args)
	cmd.Process.Signal(os.Interrupt)
	if code := waitExit(t, cmd, time.Minute); code != 4 || !strings.Contains(stderr.String(), "interrupted: run the same command to resume") {
		t.Fatalf("exit %d, stderr:\n%s\nwant exit 4 and the resume hint", code, stderr)
	}
	col, rows := readCSV(t, out)
	pending := 0
	for _, row := range rows {
		if row[col["verify_status"]] == "pending" {
			pending++
		}
	}
	if pending == 0 || pending == rowsN {
		t.Errorf("%d of %d rows pending after the interrupt, want some", pending, rowsN)
	}
	st := statusOf(t, db)
	if st.LostAnswers != 0 {
		t.Errorf("a graceful stop lost %d answers", st.LostAnswers)
	}

	if r := cardverify(t, secrets(), args...); r.code != 0 {
		t.Fatalf("resume: exit %d\n%s", r.code, r.stderr)
	}
	if n := srv.Handler.Calls(); n != rowsN {
		t.Errorf("server got %d calls for %d rows: something was sent twice", n, rowsN)
	}
}
