package main

import (
	"bytes"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/cardverify/cardverify/pipeline/juhe/juhetest"
)

// writeList writes a CSV of n customers with distinct cards and returns its
// path. Card i ends in i, so the sandbox rule gives a mix of verdicts.
func writeList(tb testing.TB, dir string, n int) string {
	tb.Helper()
	var b strings.Builder
	b.WriteString("姓名,银行卡号\n")
	for i := range n {
		fmt.Fprintf(&b, "客户%s,622202%013d\n", stems(i), i)
	}
	path := filepath.Join(dir, "list.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// stems spells i with the ten heavenly stems, since a name holds no digits.
func stems(i int) string {
	const digits = "甲乙丙丁戊己庚辛壬癸"
	var b []rune
	for _, c := range fmt.Sprint(i) {
		b = append(b, []rune(digits)[c-'0'])
	}
	return string(b)
}

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

// TestE2ECrashResume SIGKILLs runs at random moments, then lets the job
// finish, and checks that nothing was lost and little was paid twice.
func TestE2ECrashResume(t *testing.T) {
	const (
		rowsN   = 3000
		workers = 8
		kills   = 3
	)
	srv := juhetest.NewServer(t, juhetest.Options{Key: testKey, Latency: 2 * time.Millisecond})
	dir := t.TempDir()
	in := writeList(t, dir, rowsN)
	out, db := filepath.Join(dir, "out.csv"), filepath.Join(dir, "list.db")
	args := []string{"run", in, "--base-url", srv.URL, "--out", out, "--db", db, "--lang", "en",
		"--progress", "none", "--qps", "3000", "--workers", fmt.Sprint(workers)}

	rng := rand.New(rand.NewPCG(1, 2))
	for k := range kills {
		before := srv.Handler.Calls()
		cmd, _ := start(t, secrets(), args...)
		// Kill once the run has made some calls, at a random point after.
		waitFor(t, "calls", func() bool { return srv.Handler.Calls() > before+50 })
		time.Sleep(time.Duration(rng.IntN(150)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		if srv.Handler.Calls() >= rowsN {
			t.Logf("kill %d came after the last call", k+1)
		}
	}
	lost := statusOf(t, db).LostAnswers

	if r := cardverify(t, secrets(), args...); r.code != 0 {
		t.Fatalf("final run: exit %d\n%s", r.code, r.stderr)
	}

	// Every row has the verdict and jobid the server gave its card last.
	last := map[string]juhetest.Request{}
	for _, req := range srv.Requests() {
		last[req.Card] = req
	}
	col, rows := readCSV(t, out)
	if len(rows) != rowsN {
		t.Fatalf("output has %d rows, want %d", len(rows), rowsN)
	}
	for _, row := range rows {
		req, ok := last[row[col["银行卡号"]]]
		want := map[int]string{1: "match", 2: "mismatch"}[req.Res]
		if !ok || row[col["verify_status"]] != want || row[col["verify_jobid"]] != req.AnswerJobID {
			t.Fatalf("row %v: server answered %q %q", row, want, req.AnswerJobID)
		}
	}

	// Calls sent twice are at most those in flight at each kill, plus the
	// answers of the commit under way.
	resent := srv.Handler.Calls() - rowsN
	if limit := kills * 2 * workers; resent > limit {
		t.Errorf("%d calls sent twice, want at most %d", resent, limit)
	}
	st := statusOf(t, db)
	if st.Match+st.Mismatch != rowsN || st.Pending != 0 {
		t.Errorf("status %+v, want %d rows verified", st, rowsN)
	}
	// The ledger holds every call the server saw (a call is recorded before
	// it is sent) and says how many answers were lost.
	if st.Calls < srv.Handler.Calls() || st.Calls-st.LostAnswers > srv.Handler.Calls() {
		t.Errorf("ledger has %d calls (%d lost answers), the server saw %d", st.Calls, st.LostAnswers, srv.Handler.Calls())
	}
	if lost < resent {
		t.Errorf("status counted %d lost answers before the final run, but %d calls were re-sent", lost, resent)
	}
	t.Logf("%d kills: %d calls re-sent, %d lost answers counted", kills, resent, lost)

	sqldb, err := sql.Open("sqlite3", "file:"+db+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer sqldb.Close()
	var check string
	if err := sqldb.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity_check = %q, %v", check, err)
	}
}

// TestE2EInterruptResume sends SIGINT in the middle of a run: the run stops
// cleanly with exit 4, writes the output, and the same command finishes the
// job without sending anything twice.
func TestE2EInterruptResume(t *testing.T) {
	const rowsN = 400
	srv := juhetest.NewServer(t, juhetest.Options{Key: testKey, Latency: 20 * time.Millisecond})
	dir := t.TempDir()
	in := writeList(t, dir, rowsN)
	out, db := filepath.Join(dir, "out.csv"), filepath.Join(dir, "list.db")
	args := []string{"run", in, "--base-url", srv.URL, "--out", out, "--db", db, "--lang", "en",
		"--progress", "none", "--qps", "200"}

	cmd, stderr := start(t, secrets(), args...)
	waitFor(t, "calls", func() bool { return srv.Handler.Calls() > 20 })
	cmd.Process.Signal(os.Interrupt)
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 4 || !strings.Contains(stderr.String(), "interrupted — run the same command to resume") {
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
