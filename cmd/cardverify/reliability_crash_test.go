package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/cardverify/cardverify/pipeline/juhe/juhetest"
)

// TestReliabilityKillAnywhere SIGKILLs a run at random moments from its
// start — while it reads and plans, while it calls, while it commits —
// at least three times, and checks after each kill that the checkpoint is
// sound and holds no secret and no plaintext card or name, then lets the
// job finish and checks that every row has the server's verdict and jobid
// and that calls sent twice are at most those in flight at the kills.
func TestReliabilityKillAnywhere(t *testing.T) {
	const (
		rowsN   = 3000
		workers = 8
		kills   = 3
	)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 8))

	srv := juhetest.NewServer(t, juhetest.Options{Key: testKey, OpenID: testOpenID, Latency: 2 * time.Millisecond})
	dir := t.TempDir()
	cs := customers(rowsN)
	in := writeCustomers(t, dir, "list.csv", cs, 0)
	out, db := filepath.Join(dir, "out.csv"), filepath.Join(dir, "list.db")
	args := []string{"run", in, "--base-url", srv.URL, "--endpoint", "encrypted", "--out", out, "--db", db,
		"--lang", "en", "--progress", "none", "--qps", "2000", "--workers", fmt.Sprint(workers)}
	// A sample of what must never be stored in plain text.
	plain := []string{testKey, testOpenID, "客户"}
	for i := 0; i < rowsN; i += 97 {
		plain = append(plain, cs[i].card)
	}

	inFlight := 0 // calls recorded with no answer at the kills
	for k := 0; k < kills; {
		// The first kill falls early (reading, planning, the first calls),
		// the others anywhere in the 400 ms after the run has sent twice
		// its workers' calls: by then the calls lost at the kill before
		// were sent again and answered. Killing three runs at their first
		// calls would leave the same few cards with 3 calls that may have
		// reached the bank, which the card daily limit rightly defers.
		delay := time.Duration(rng.IntN(60)) * time.Millisecond
		if k > 0 {
			delay = time.Duration(rng.IntN(400)) * time.Millisecond
		}
		lostBefore := 0
		if st, ok := tryStatus(t, db); ok {
			lostBefore = st.LostAnswers
		}
		callsBefore := srv.Handler.Calls()
		cmd, stderr := start(t, secrets(), args...)
		if k > 0 {
			waitFor(t, "the run's first calls", func() bool { return srv.Handler.Calls() >= callsBefore+2*workers })
		}
		time.Sleep(delay)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		if cmd.ProcessState.Exited() {
			t.Logf("run ended by itself (exit %d) before the kill at %s", cmd.ProcessState.ExitCode(), delay)
			if cmd.ProcessState.ExitCode() == 0 {
				t.Fatalf("the job finished before %d kills: make it longer", kills)
			}
			t.Fatalf("exit %d:\n%s", cmd.ProcessState.ExitCode(), stderr)
		}
		k++
		sent := srv.Handler.Calls() - callsBefore
		st, ok := tryStatus(t, db)
		if !ok {
			// Killed before the checkpoint was created, or while it was
			// (then status cannot read it yet: see
			// TestReliabilityKillWhileCreatingCheckpoint).
			t.Logf("kill %d at %s: no readable checkpoint yet (%d calls)", k, delay, sent)
			if sent != 0 {
				t.Errorf("%d calls sent before the checkpoint was readable", sent)
			}
			continue
		}
		if st.Running || st.InFlight != 0 {
			t.Errorf("after kill %d the checkpoint says a run is going on: %+v", k, st)
		}
		lost := st.LostAnswers - lostBefore
		inFlight += lost
		t.Logf("kill %d at %s: %d calls sent by this run, %d answers lost", k, delay, sent, lost)
		// A call is recorded before it is sent: a kill between the two
		// leaves a recorded call the server never saw (at most one per
		// worker).
		if lost > sent+workers {
			t.Errorf("kill %d: %d lost answers counted but only %d calls sent", k, lost, sent)
		}
		integrityCheck(t, db)
		assertNotInFiles(t, dir, "list.db", plain...)
		if _, err := os.Stat(out); err == nil {
			t.Errorf("kill %d: an output exists before any run finished", k)
		}
	}

	r := cardverify(t, secrets(), args...)
	if r.code != 0 {
		t.Fatalf("final run: exit %d\n%s", r.code, r.stderr)
	}
	assertNoSecrets(t, dir, r.stdout, r.stderr)

	last := map[string]juhetest.Request{}
	for _, req := range srv.Requests() {
		last[req.Card] = req
	}
	col, rows := readCSV(t, out)
	if len(rows) != rowsN {
		t.Fatalf("output has %d rows, want %d", len(rows), rowsN)
	}
	for i, row := range rows {
		req, ok := last[cs[i].card]
		want := map[int]string{1: "match", 2: "mismatch"}[req.Res]
		if !ok || row[col["银行卡号"]] != cs[i].card || row[col["verify_status"]] != want || row[col["verify_jobid"]] != req.AnswerJobID {
			t.Fatalf("row %d %v: the server's last answer was %q %q", i+2, row, want, req.AnswerJobID)
		}
	}

	resent := srv.Handler.Calls() - rowsN
	if resent > inFlight {
		t.Errorf("%d calls sent twice, but only %d were in flight at the kills", resent, inFlight)
	}
	billedTwice := 0
	for _, c := range cs {
		if n := srv.Handler.BilledFor(c.card); n == 0 {
			t.Errorf("card %s never billed", c.card)
		} else if n > 1 {
			billedTwice++
		}
	}
	if billedTwice > resent {
		t.Errorf("%d cards billed twice, more than the %d calls re-sent", billedTwice, resent)
	}
	st := statusOf(t, db)
	// The ledger holds every call the server saw, and perhaps a few it
	// never got; the answers lost at the kills are the calls that may have
	// been billed without the checkpoint knowing.
	billed, calls := srv.Handler.Billed(), srv.Handler.Calls()
	if st.Match+st.Mismatch != rowsN || st.Calls < calls || st.Calls-st.LostAnswers > calls || st.LostAnswers != inFlight ||
		billed < st.BilledCalls || billed > st.BilledCalls+st.LostAnswers {
		t.Errorf("status %+v; the server saw %d calls, %d billed, %d calls were in flight at the kills", st, srv.Handler.Calls(), billed, inFlight)
	}
	t.Logf("%d kills: %d calls in flight at the kills, %d sent twice, %d cards billed twice", kills, inFlight, resent, billedTwice)
	integrityCheck(t, db)
	assertNotInFiles(t, dir, "list.db", plain...)
}

// tryStatus returns the status of the checkpoint db, and false if there is
// none or status cannot read it.
func tryStatus(tb testing.TB, db string) (fullStatus, bool) {
	tb.Helper()
	if _, err := os.Stat(db); err != nil {
		return fullStatus{}, false
	}
	r := cardverify(tb, nil, "status", "--db", db, "--json")
	if r.code != 0 {
		tb.Logf("status: exit %d: %s", r.code, r.stderr)
		return fullStatus{}, false
	}
	return statusOf(tb, db), true
}

// TestReliabilityKillWhileCreatingCheckpoint kills runs in their first
// milliseconds until one dies while it creates its checkpoint (a rollback
// journal is left beside it). Nothing was sent yet; status must still read
// the checkpoint (or say it is empty), and the same command must resume.
func TestReliabilityKillWhileCreatingCheckpoint(t *testing.T) {
	srv := juhetest.NewServer(t, juhetest.Options{Key: testKey})
	dir := t.TempDir()
	in := writeCustomers(t, dir, "list.csv", customers(500), 0)
	db := filepath.Join(dir, "list.db")
	args := []string{"run", in, "--base-url", srv.URL, "--db", db, "--progress", "none", "--qps", "2000"}
	caught := false
	for i := 0; i < 200 && !caught; i++ {
		for _, suffix := range []string{"", "-journal", "-wal", "-shm", "-lock"} {
			os.Remove(db + suffix)
		}
		cmd, _ := start(t, secrets(), args...)
		waitFor(t, "the checkpoint", func() bool {
			_, err := os.Stat(db)
			return err == nil
		})
		time.Sleep(time.Duration(i%5) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		_, err := os.Stat(db + "-journal")
		caught = err == nil && srv.Handler.Calls() == 0
	}
	if !caught {
		t.Skip("no kill fell while the checkpoint was being created")
	}
	// status says what happened and what to do (exit 2: there is no
	// checkpoint to report on yet).
	r := cardverify(t, nil, "status", "--db", db)
	if r.code != 2 || !strings.Contains(r.stderr, "检查点在创建时其进程停止了") || !strings.Contains(r.stderr, "再次运行同一个") {
		t.Errorf("status after a kill during the checkpoint's creation: exit %d\n%s", r.code, r.stderr)
	}
	if r := cardverify(t, secrets(), args...); r.code != 0 {
		t.Fatalf("resume: exit %d\n%s", r.code, r.stderr)
	}
	if n := srv.Handler.Calls(); n != 500 {
		t.Errorf("%d calls for 500 rows", n)
	}
}

// TestReliabilityKillDuringOutput SIGKILLs runs while they write a big XLSX
// output over an older one: the target must always be either the old file,
// byte for byte, or a complete new one — never half a file.
func TestReliabilityKillDuringOutput(t *testing.T) {
	rowsN, kills := 20000, 5
	if testing.Short() {
		rowsN, kills = 4000, 3
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 9))

	srv := juhetest.NewServer(t, juhetest.Options{Key: testKey})
	dir := t.TempDir()
	cs := customers(rowsN)
	in := writeCustomers(t, dir, "list.csv", cs, 60)
	out, db := filepath.Join(dir, "out.xlsx"), filepath.Join(dir, "list.db")
	args := func(lang string, more ...string) []string {
		return append([]string{"run", in, "--base-url", srv.URL, "--out", out, "--db", db, "--lang", lang,
			"--progress", "none", "--qps", "5000", "--workers", "16"}, more...)
	}

	// The old output: Chinese headers, 100 rows still pending.
	if r := cardverify(t, secrets(), args("zh", "--max-billed", fmt.Sprint(rowsN-100))...); r.code != 4 {
		t.Fatalf("first run: exit %d, want 4 (budget)\n%s", r.code, r.stderr)
	}
	old, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}

	// Each run writes an English output; the first also makes the last
	// 100 calls before it.
	tmpGlob := filepath.Join(dir, ".out.xlsx.tmp-*")
	for k := range kills {
		before, _ := filepath.Glob(tmpGlob)
		cmd, stderr := start(t, secrets(), args("en")...)
		// The writer builds the sheet first, its temporary output still
		// empty, then streams the zip into it and renames it: odd kills
		// fall anywhere in the first phase, even ones in the second.
		waitFor(t, "the output's temporary file", func() bool {
			return len(newTemps(tmpGlob, before, 0)) > 0
		})
		phase := "building the sheet"
		if k%2 == 0 {
			for deadline := time.Now().Add(20 * time.Second); len(newTemps(tmpGlob, before, 1)) == 0 && time.Now().Before(deadline); {
				time.Sleep(200 * time.Microsecond)
			}
			phase = "streaming the zip"
			time.Sleep(time.Duration(rng.IntN(5000)) * time.Microsecond)
		} else {
			time.Sleep(time.Duration(rng.IntN(500)) * time.Millisecond)
		}
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		got, err := os.ReadFile(out)
		if err != nil {
			t.Fatalf("kill %d: the output is gone: %v", k+1, err)
		}
		if cmd.ProcessState.Exited() {
			t.Logf("kill %d came after the run ended (exit %d)", k+1, cmd.ProcessState.ExitCode())
			if cmd.ProcessState.ExitCode() != 0 {
				t.Fatalf("exit %d:\n%s", cmd.ProcessState.ExitCode(), stderr)
			}
			assertCompleteXLSX(t, out, rowsN, "verify_status")
			old = got
			continue
		}
		written := newTemps(tmpGlob, before, 0)
		tmps, _ := filepath.Glob(tmpGlob)
		for _, p := range tmps {
			if fi, err := os.Stat(p); err == nil && fi.Mode().Perm() != 0o600 {
				t.Errorf("kill %d: temporary output %s has mode %v, want 0600: it holds names and cards", k+1, filepath.Base(p), fi.Mode().Perm())
			}
		}
		t.Logf("kill %d while %s: temporary output of %v bytes; the target is the old file: %v", k+1, phase, written, bytes.Equal(got, old))
		if !bytes.Equal(got, old) {
			assertCompleteXLSX(t, out, rowsN, "verify_status")
			old = got
		}
	}
	if n := srv.Handler.Calls(); n != rowsN {
		t.Errorf("the server got %d calls for %d rows", n, rowsN)
	}

	killed, _ := filepath.Glob(tmpGlob)
	r := cardverify(t, secrets(), args("en")...)
	if r.code != 0 {
		t.Fatalf("final run: exit %d\n%s", r.code, r.stderr)
	}
	assertCompleteXLSX(t, out, rowsN, "verify_status")
	if n := srv.Handler.Calls(); n != rowsN {
		t.Errorf("the final run sent %d calls again", n-rowsN)
	}
	// Nothing with a name or a card is left beside the output but the
	// output itself: the killed writers' temporaries are gone, however new.
	t.Logf("%d temporary outputs of killed writers before the final run", len(killed))
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		switch e.Name() {
		case "list.csv", "out.xlsx", "list.db", "list.db-lock", "list.db-wal", "list.db-shm":
		default:
			t.Errorf("left beside the output after the final run: %s", e.Name())
		}
	}
}

// newTemps returns the sizes of the files matching glob that are not in
// before and hold at least min bytes.
func newTemps(glob string, before []string, min int64) []int64 {
	now, _ := filepath.Glob(glob)
	var sizes []int64
	for _, path := range now {
		if slices.Contains(before, path) {
			continue
		}
		if fi, err := os.Stat(path); err == nil && fi.Size() >= min {
			sizes = append(sizes, fi.Size())
		}
	}
	return sizes
}

// assertCompleteXLSX fails unless path is a workbook whose first sheet has
// a header holding header and rowsN data rows, the last one verified.
func assertCompleteXLSX(tb testing.TB, path string, rowsN int, header string) {
	tb.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		tb.Fatalf("%s is not a complete workbook: %v", path, err)
	}
	defer f.Close()
	rows, err := f.GetRows(f.GetSheetName(0))
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	if len(rows) != rowsN+1 {
		tb.Fatalf("%s has %d rows, want %d", path, len(rows), rowsN+1)
	}
	col := -1
	for i, h := range rows[0] {
		if h == header {
			col = i
		}
	}
	if col < 0 {
		tb.Fatalf("%s: no %s column in %v", path, header, rows[0])
	}
	if s := rows[rowsN][col]; s != "match" && s != "mismatch" {
		tb.Errorf("%s: the last row is %q", path, s)
	}
}

// TestReliabilityDoubleInterrupt presses Ctrl-C twice while calls are in
// flight on a slow API: the process must end at once, leave a sound
// checkpoint that counts the abandoned calls, say how to resume with exit
// 4, and the same command must then finish the job.
func TestReliabilityDoubleInterrupt(t *testing.T) {
	const rowsN = 200
	j := newListJob(t, rowsN, juhetest.Options{Latency: 5 * time.Second})
	srv, db := j.srv, j.db
	args := j.args("--qps", "50", "--workers", "8")

	cmd, stderr := j.startRun(t, 8, args) // calls in flight
	cmd.Process.Signal(syscall.SIGINT)
	time.Sleep(100 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGINT)
	pressed := time.Now()
	code := waitExit(t, cmd, time.Minute)
	if took := time.Since(pressed); took > 2*time.Second {
		t.Errorf("the second Ctrl-C took %s to end the process", took)
	}
	assertNoPanic(t, result{code: code, stderr: stderr.String()})

	st := statusOf(t, db)
	if st.Running || st.LostAnswers != st.Calls || st.Calls < 8 || st.Pending != rowsN {
		t.Errorf("status %+v: want every call sent counted as a lost answer, every row pending", st)
	}
	integrityCheck(t, db)
	srv.SetLatency(0)
	args[len(args)-3] = "1000" // --qps: the resume need not be slow
	if r := cardverify(t, secrets(), args...); r.code != 0 {
		t.Fatalf("resume: exit %d\n%s", r.code, r.stderr)
	}
	if n := srv.Handler.Calls() - rowsN; n > st.LostAnswers {
		t.Errorf("%d calls sent twice, %d were abandoned", n, st.LostAnswers)
	}
	if code != 4 || !strings.Contains(stderr.String(), "run the same command") {
		t.Logf("exit %d, stderr: %q", code, stderr)
		t.Errorf("exit %d after a second Ctrl-C, want 4 and the resume hint", code)
	}
}
