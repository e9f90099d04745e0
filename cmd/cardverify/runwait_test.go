package main

import (
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/cardverify/cardverify/pipeline/juhe/juhetest"
)

// listJob is the set-up the run-and-wait tests share: the fake API, a list
// of generated customers in a temporary directory, and the paths of the
// output and the checkpoint. A test may change out or db before args.
type listJob struct {
	srv         *juhetest.Server
	dir         string
	cs          []customer
	in, out, db string
}

// newListJob starts the fake API with opt, its Key testKey when empty, and
// writes customers(rowsN) as list.csv.
func newListJob(tb testing.TB, rowsN int, opt juhetest.Options) *listJob {
	tb.Helper()
	if opt.Key == "" {
		opt.Key = testKey
	}
	j := &listJob{srv: juhetest.NewServer(tb, opt), dir: tb.TempDir(), cs: customers(rowsN)}
	j.in = writeCustomers(tb, j.dir, "list.csv", j.cs, 0)
	j.out, j.db = filepath.Join(j.dir, "out.csv"), filepath.Join(j.dir, "list.db")
	return j
}

// args is the command line of a run of the job against the fake, in
// English without a progress display, followed by flags.
func (j *listJob) args(flags ...string) []string {
	return append([]string{"run", j.in, "--base-url", j.srv.URL, "--out", j.out, "--db", j.db, "--lang", "en",
		"--progress", "none"}, flags...)
}

// startRun starts the binary with args and the secrets and returns once
// the fake has had at least calls calls; it fails the test after 20 s
// without them.
func (j *listJob) startRun(tb testing.TB, calls int, args []string) (*exec.Cmd, *bytes.Buffer) {
	tb.Helper()
	cmd, stderr := start(tb, secrets(), args...)
	waitFor(tb, "calls", func() bool { return j.srv.Handler.Calls() >= calls })
	return cmd, stderr
}

// waitExit waits at most within for cmd, started, to end, and returns its
// exit code. Past within it kills the process and fails the test, showing
// its stderr: a run that does not stop must not hang the suite.
func waitExit(tb testing.TB, cmd *exec.Cmd, within time.Duration) int {
	tb.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(within):
		cmd.Process.Kill()
		<-done
		stderr := ""
		if s, ok := cmd.Stderr.(fmt.Stringer); ok {
			stderr = s.String()
		}
		tb.Fatalf("%v: still running after %s\nstderr:\n%s", cmd.Args, within, stderr)
	}
	return cmd.ProcessState.ExitCode()
}
