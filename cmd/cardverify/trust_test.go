package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cardverify/cardverify/pipeline/juhe/juhetest"
)

// The trust suite (issue 11) runs the binary against what is wrong
// systematically: a base URL where nothing answers, a redirect, a wrong
// openid, answers lost after sending. The fake counts what the real API
// would bill, and the tool's billed + possibly billed must never be fewer.

// TestTrustUnreachableStops points a run at base URLs that cannot work: the
// run stops at once with exit 3, the base URL, the real error and the fix,
// leaves every row pending, and a rerun with the right URL verifies every
// row (nothing deferred by the calls that never left the machine).
func TestTrustUnreachableStops(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + l.Addr().String()
	l.Close()
	badTLS := httptest.NewTLSServer(http.NotFoundHandler()) // a certificate nobody trusts
	defer badTLS.Close()
	srv := juhetest.NewServer(t, juhetest.Options{Key: testKey})
	moved := httptest.NewServer(http.RedirectHandler(srv.URL+"/verifybankcard/query", http.StatusFound))
	defer moved.Close()

	tests := []struct {
		name, base string
		says       []string // in the error printed
	}{
		{"refused", refused, []string{refused, "connection refused", "check --base-url"}},
		{"unknown host", "http://no-such-host.invalid", []string{"http://no-such-host.invalid", "no-such-host.invalid", "check --base-url"}},
		{"untrusted certificate", badTLS.URL, []string{badTLS.URL, "certificate", "TLS certificate is not trusted"}},
		{"redirect", moved.URL, []string{moved.URL, "a redirect to " + srv.URL, "check --base-url"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			const rowsN, workers = 300, 16
			dir := t.TempDir()
			in := writeCustomers(t, dir, "list.csv", customers(rowsN), 0)
			out, db := filepath.Join(dir, "out.csv"), filepath.Join(dir, "list.db")
			args := []string{"run", in, "--out", out, "--db", db, "--lang", "en", "--progress", "none",
				"--qps", "1000", "--workers", fmt.Sprint(workers), "--timeout", "3s"}
			before, charged := srv.Calls(), srv.Charged()
			r := run(t, time.Minute, secrets(), append(args, "--base-url", tc.base)...)
			assertNoPanic(t, r.result)
			if r.code != 3 {
				t.Fatalf("exit %d, want 3; stderr:\n%s", r.code, r.stderr)
			}
			for _, s := range tc.says {
				if !strings.Contains(r.stderr, s) {
					t.Errorf("stderr does not say %q:\n%s", s, r.stderr)
				}
			}
			if r.took > 10*time.Second {
				t.Errorf("took %s to stop, want seconds", r.took)
			}
			st := statusOf(t, db)
			if st.Pending != rowsN || st.BilledCalls != 0 || st.PossiblyBilled != 0 || st.Calls > 3+workers {
				t.Errorf("status %+v: want %d rows pending, nothing billed, a handful of calls", st, rowsN)
			}
			assertNoSecrets(t, dir, r.stdout, r.stderr)

			r = run(t, time.Minute, secrets(), append(args, "--base-url", srv.URL)...)
			if r.code != 0 {
				t.Fatalf("rerun with the right URL: exit %d, want 0; stderr:\n%s", r.code, r.stderr)
			}
			if st := statusOf(t, db); st.Match+st.Mismatch != rowsN {
				t.Errorf("rerun: status %+v, want every row verified", st)
			}
			if n := srv.Calls() - before; n != rowsN {
				t.Errorf("the right API got %d calls, want %d (one per row)", n, rowsN)
			}
			if st := statusOf(t, db); srv.Charged()-charged > st.BilledCalls+st.PossiblyBilled {
				t.Errorf("the vendor would bill %d for this job, which counts %d + %d", srv.Charged()-charged, st.BilledCalls, st.PossiblyBilled)
			}
		})
	}
}

// TestTrustWrongOpenID runs the encrypted endpoint with a wrong openid: the
// fake cannot decrypt a row and answers 218808 to each. The run stops with
// exit 3 and says to check JUHE_OPENID, every row stays pending, and the
// right openid then verifies them all.
func TestTrustWrongOpenID(t *testing.T) {
	const rowsN = 200
	j := newListJob(t, rowsN, juhetest.Options{OpenID: testOpenID})
	db := j.db
	args := j.args("--endpoint", "encrypted", "--qps", "1000", "--workers", "8")
	r := run(t, time.Minute, []string{"JUHE_KEY=" + testKey, "JUHE_OPENID=not-the-openid"}, args...)
	assertNoPanic(t, r.result)
	if r.code != 3 || !strings.Contains(r.stderr, "218808") || !strings.Contains(r.stderr, "check JUHE_OPENID") {
		t.Fatalf("exit %d, want 3 with 218808 and the openid hint; stderr:\n%s", r.code, r.stderr)
	}
	if st := statusOf(t, db); st.Pending != rowsN || st.Rejected != 0 {
		t.Errorf("status %+v: want every row pending, none rejected", st)
	}
	r = run(t, time.Minute, secrets(), args...)
	st := statusOf(t, db)
	if r.code != 0 || st.Match+st.Mismatch != rowsN {
		t.Errorf("with the right openid: exit %d, status %+v; want 0 and every row verified\n%s", r.code, st, r.stderr)
	}
	if charged := j.srv.Charged(); charged > st.BilledCalls+st.PossiblyBilled {
		t.Errorf("the vendor would bill %d, the tool counts %d + %d", charged, st.BilledCalls, st.PossiblyBilled)
	}
}

// TestTrustPossiblyBilled loses answers after they were sent: late answers
// past --timeout, connections closed after the request was read, bodies
// cut after a success. The vendor bills each of them; the tool must count
// them as possibly billed, so that the vendor's count never exceeds billed
// + possibly billed, and --max-billed holds against the vendor's count.
func TestTrustPossiblyBilled(t *testing.T) {
	const rowsN = 40
	cs := customers(rowsN)
	srv := juhetest.NewServer(t, juhetest.Options{Key: testKey})
	for i, c := range cs {
		switch i % 4 {
		case 1:
			srv.Script(c.card, juhetest.Delay(2*time.Second)) // answered after the client gave up
		case 2:
			srv.Script(c.card, juhetest.Hangup())
		case 3:
			srv.Script(c.card, juhetest.Truncated())
		}
	}
	dir := t.TempDir()
	in := writeCustomers(t, dir, "list.csv", cs, 0)
	out, db := filepath.Join(dir, "out.csv"), filepath.Join(dir, "list.db")
	r := run(t, time.Minute, secrets(), "run", in, "--out", out, "--db", db, "--lang", "en", "--progress", "none",
		"--base-url", srv.URL, "--qps", "1000", "--workers", "8", "--timeout", "300ms")
	assertNoPanic(t, r.result)
	st := statusOf(t, db)
	if st.Match+st.Mismatch != rowsN {
		t.Errorf("status %+v: want every row verified after the retries", st)
	}
	lost := rowsN * 3 / 4
	if st.PossiblyBilled != lost || st.BilledCalls != rowsN {
		t.Errorf("billed %d, possibly billed %d; want %d and %d", st.BilledCalls, st.PossiblyBilled, rowsN, lost)
	}
	if charged := srv.Charged(); charged > st.BilledCalls+st.PossiblyBilled {
		t.Errorf("the vendor would bill %d calls, the tool counts %d billed + %d possibly billed", charged, st.BilledCalls, st.PossiblyBilled)
	}
	if !strings.Contains(r.stderr, fmt.Sprintf("%d possibly billed", lost)) {
		t.Errorf("the last lines do not show the possibly billed calls:\n%s", r.stderr)
	}
	s := cardverify(t, nil, "status", "--db", db, "--lang", "en")
	if !strings.Contains(s.stdout, fmt.Sprintf("possibly billed %d", lost)) {
		t.Errorf("status does not show the possibly billed calls:\n%s", s.stdout)
	}
}

// TestTrustPausedPastTimeout stops the process (SIGSTOP) for longer than
// --timeout while calls are in flight, then lets it go on: the fake answered
// and billed those calls during the pause, so whatever the client makes of
// them after, the vendor's count never exceeds billed + possibly billed.
func TestTrustPausedPastTimeout(t *testing.T) {
	const rowsN = 60
	srv := juhetest.NewServer(t, juhetest.Options{Key: testKey, Latency: 300 * time.Millisecond})
	dir := t.TempDir()
	in := writeCustomers(t, dir, "list.csv", customers(rowsN), 0)
	db := filepath.Join(dir, "list.db")
	p := startBinary(t, secrets(), "run", in, "--db", db, "--lang", "en", "--progress", "none", "--base-url", srv.URL,
		"--qps", "100", "--workers", "8", "--timeout", "1s")
	for deadline := time.Now().Add(20 * time.Second); srv.Calls() < 10 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	p.cmd.Process.Signal(syscall.SIGSTOP)
	time.Sleep(2 * time.Second) // the calls in flight are answered, and billed, meanwhile
	p.cmd.Process.Signal(syscall.SIGCONT)
	p.wait(t, time.Minute)
	st := statusOf(t, db)
	if charged := srv.Charged(); charged > st.BilledCalls+st.PossiblyBilled {
		t.Errorf("the vendor would bill %d calls, the tool counts %d billed + %d possibly billed\n%s", charged, st.BilledCalls, st.PossiblyBilled, p.stderr.String())
	}
	if st.Match+st.Mismatch != rowsN {
		t.Errorf("status %+v: want every row verified\n%s", st, p.stderr.String())
	}
}

// TestTrustMaxBilledCountsPossiblyBilled runs a job whose every first call
// is lost after sending, in runs of --max-billed 10: the vendor's count
// must never exceed 10, and a later run must see the earlier runs' calls.
func TestTrustMaxBilledCountsPossiblyBilled(t *testing.T) {
	const rowsN, budget = 30, 10
	cs := customers(rowsN)
	srv := juhetest.NewServer(t, juhetest.Options{Key: testKey})
	for _, c := range cs {
		srv.Script(c.card, juhetest.Hangup())
	}
	dir := t.TempDir()
	in := writeCustomers(t, dir, "list.csv", cs, 0)
	out, db := filepath.Join(dir, "out.csv"), filepath.Join(dir, "list.db")
	for range 2 {
		r := run(t, time.Minute, secrets(), "run", in, "--out", out, "--db", db, "--lang", "en", "--progress", "none",
			"--base-url", srv.URL, "--qps", "1000", "--workers", "4", "--max-billed", fmt.Sprint(budget))
		assertNoPanic(t, r.result)
		if r.code != 4 {
			t.Errorf("exit %d, want 4 (budget reached)\n%s", r.code, r.stderr)
		}
	}
	assertBudgetHeld(t, srv, statusOf(t, db), budget)
}

// assertBudgetHeld checks that the vendor bills no more than budget calls
// and no more than the checkpoint counts as billed or possibly billed.
func assertBudgetHeld(t *testing.T, srv *juhetest.Server, st fullStatus, budget int) {
	t.Helper()
	if charged := srv.Charged(); charged > budget || charged > st.BilledCalls+st.PossiblyBilled {
		t.Errorf("the vendor would bill %d calls with --max-billed %d; the tool counts %d billed + %d possibly", charged, budget, st.BilledCalls, st.PossiblyBilled)
	}
}

// TestTrustSimulatedNeverReal runs a list in the sandbox, then for real on
// the same checkpoint: the real run verifies every row again, and its
// output carries no simulated mark. Answers of a sandbox reached through
// --base-url are recorded as simulated and marked row by row.
func TestTrustSimulatedNeverReal(t *testing.T) {
	const rowsN = 30
	dir := t.TempDir()
	in := writeCustomers(t, dir, "list.csv", customers(rowsN), 0)
	out, db := filepath.Join(dir, "out.csv"), filepath.Join(dir, "list.db")
	common := []string{"run", in, "--out", out, "--db", db, "--lang", "en", "--progress", "none", "--qps", "1000"}

	// Half the list in the sandbox (--max-billed stops it), then the real API.
	r := run(t, time.Minute, nil, append(common, "--sandbox", "--max-billed", "15", "--workers", "1")...)
	if r.code != 4 {
		t.Fatalf("sandbox run: exit %d, want 4 (budget)\n%s", r.code, r.stderr)
	}
	// Nobody bills a simulated call: neither billed nor possibly billed.
	if st := statusOf(t, db); st.Simulated != 15 || st.BilledCalls != 0 || st.PossiblyBilled != 0 || st.SimulatedCalls != st.Calls || st.Calls < 15 {
		t.Errorf("after the sandbox run: %d simulated rows, %d billed + %d possibly billed of %d calls, %d simulated; want 15 rows, 0 + 0, every call simulated",
			st.Simulated, st.BilledCalls, st.PossiblyBilled, st.Calls, st.SimulatedCalls)
	}
	if !strings.Contains(r.stderr, " 0 billed, 0 possibly billed") || !strings.Contains(r.stderr, " simulated (a simulated API: billed by nobody)") || !strings.Contains(r.stderr, "; of them ") {
		t.Errorf("the last lines do not say the simulated calls apart from the billed ones:\n%s", r.stderr)
	}
	col, rows := readCSV(t, out)
	for _, row := range rows {
		if v := row[col["verify_status"]]; (v == "match" || v == "mismatch") && !strings.HasPrefix(row[col["verify_reason"]], "[SANDBOX]") {
			t.Errorf("row %v: a simulated verdict without the SANDBOX mark", row)
		}
	}

	srv := juhetest.NewServer(t, juhetest.Options{Key: testKey})
	r = run(t, time.Minute, secrets(), append(common, "--base-url", srv.URL)...)
	if r.code != 0 {
		t.Fatalf("real run: exit %d, want 0\n%s", r.code, r.stderr)
	}
	if n := srv.Calls(); n != rowsN {
		t.Errorf("the real API got %d calls, want %d: every row verified for real", n, rowsN)
	}
	if st := statusOf(t, db); st.Simulated != 0 || st.Match+st.Mismatch != rowsN || st.BilledCalls != srv.Charged() {
		t.Errorf("status %+v: want every row real, billed as the fake bills (%d)", st, srv.Charged())
	}
	col, rows = readCSV(t, out)
	for _, row := range rows {
		if strings.Contains(row[col["verify_reason"]], "SANDBOX") {
			t.Errorf("row %v: a real verdict marked simulated", row)
		}
	}

	// A sandbox behind --base-url, with a real key: still simulated.
	sb := juhetest.NewSandbox(t, juhetest.Options{Key: testKey})
	out2, db2 := filepath.Join(dir, "out2.csv"), filepath.Join(dir, "list2.db")
	r = run(t, time.Minute, secrets(), "run", in, "--out", out2, "--db", db2, "--lang", "en", "--progress", "none", "--base-url", sb.URL)
	if st := statusOf(t, db2); st.Simulated != rowsN || !st.Sandbox || st.BilledCalls != 0 || st.SimulatedCalls != rowsN {
		t.Errorf("through --base-url: exit %d, status %+v; want every row and call simulated, none billed\n%s", r.code, st, r.stderr)
	}
	col, rows = readCSV(t, out2)
	for _, row := range rows {
		if !strings.HasPrefix(row[col["verify_reason"]], "[SANDBOX]") {
			t.Errorf("row %v: a simulated verdict without the SANDBOX mark", row)
		}
	}
}

// TestTrustJobSettings checks the settings refused as usage errors (exit
// 2): an endpoint change within a job, and numbers that are not finite or
// negative durations.
func TestTrustJobSettings(t *testing.T) {
	srv := juhetest.NewServer(t, juhetest.Options{Key: testKey, OpenID: testOpenID})
	dir := t.TempDir()
	in := writeCustomers(t, dir, "list.csv", customers(5), 0)
	db := filepath.Join(dir, "list.db")
	common := []string{"run", in, "--db", db, "--lang", "en", "--progress", "none", "--base-url", srv.URL}
	if r := run(t, time.Minute, secrets(), append(common, "--endpoint", "plain")...); r.code != 0 {
		t.Fatalf("plain run: exit %d\n%s", r.code, r.stderr)
	}
	r := run(t, time.Minute, secrets(), append(common, "--endpoint", "encrypted", "--retry-failed")...)
	if r.code != 2 || !strings.Contains(r.stderr, "--endpoint plain") {
		t.Errorf("endpoint change: exit %d, want 2 naming the job's endpoint\n%s", r.code, r.stderr)
	}
	for _, bad := range [][]string{{"--qps", "NaN"}, {"--qps", "Inf"}, {"--qps", "-1"}, {"--max-duration", "-1h"}} {
		r := run(t, time.Minute, secrets(), append(common, bad...)...)
		if r.code != 2 || strings.Contains(r.stderr, "SQL") {
			t.Errorf("%v: exit %d, want 2 (usage)\n%s", bad, r.code, r.stderr)
		}
	}
}

// TestTrustAnswerChecks answers one row about another card and one without
// a jobid: the first is failed, billed and never sent again (not even with
// --retry-failed), the second is a verdict flagged in its reason and
// counted.
func TestTrustAnswerChecks(t *testing.T) {
	cs := customers(10)
	srv := juhetest.NewServer(t, juhetest.Options{Key: testKey})
	srv.Script(cs[1].card, juhetest.Match().Echo("99999"+cs[1].card[5:]))
	srv.Script(cs[2].card, juhetest.Match().WithoutJobID())
	dir := t.TempDir()
	in := writeCustomers(t, dir, "list.csv", cs, 0)
	out, db := filepath.Join(dir, "out.csv"), filepath.Join(dir, "list.db")
	args := []string{"run", in, "--out", out, "--db", db, "--lang", "en", "--progress", "none", "--base-url", srv.URL}
	r := run(t, time.Minute, secrets(), args...)
	assertNoPanic(t, r.result)
	if r.code != 0 || strings.Contains(r.stderr, "--retry-failed") {
		t.Errorf("exit %d, want 0 and no advice to pay again\n%s", r.code, r.stderr)
	}
	run(t, time.Minute, secrets(), append(args, "--retry-failed")...)
	if n := srv.CallsFor(cs[1].card); n != 1 {
		t.Errorf("the row answered about another card was sent %d times, want 1", n)
	}
	col, rows := readCSV(t, out)
	if s, reason := rows[1][col["verify_status"]], rows[1][col["verify_reason"]]; s != "failed" || !strings.Contains(reason, "another card") || rows[1][col["verify_res"]] != "" {
		t.Errorf("row about another card: %v, want failed with a reason that says why", rows[1])
	}
	if s, reason := rows[2][col["verify_status"]], rows[2][col["verify_reason"]]; s != "match" || !strings.Contains(reason, "no jobid") {
		t.Errorf("row without a jobid: %v, want match flagged in its reason", rows[2])
	}
	st := statusOf(t, db)
	if st.NoVerdict != 1 || st.NoJobID != 1 || st.BilledCalls != 10 {
		t.Errorf("status %+v: want 1 billed without a verdict, 1 verdict without a jobid, 10 billed", st)
	}
	if charged := srv.Charged(); charged > st.BilledCalls+st.PossiblyBilled {
		t.Errorf("the vendor would bill %d, the tool counts %d + %d", charged, st.BilledCalls, st.PossiblyBilled)
	}
}

// TestTrustRetryAfterAnnounced answers Retry-After: 3600: the log says at
// once that the API paused the run and until when (China time), and Ctrl-C
// ends the wait at once, rows left pending.
func TestTrustRetryAfterAnnounced(t *testing.T) {
	cs := customers(5)
	srv := juhetest.NewServer(t, juhetest.Options{Key: testKey})
	srv.Script(cs[0].card, juhetest.TooMany("3600"))
	dir := t.TempDir()
	in := writeCustomers(t, dir, "list.csv", cs, 0)
	p := startBinary(t, secrets(), "run", in, "--db", filepath.Join(dir, "list.db"), "--lang", "en", "--progress", "plain",
		"--base-url", srv.URL, "--workers", "1")
	p.waitSays(t, "paused by the API (Retry-After) until", 20*time.Second)
	if !strings.Contains(p.stderr.String(), "CST") {
		t.Errorf("the pause's end is not in China time:\n%s", p.stderr.String())
	}
	p.interrupt(t, 3*time.Second)
}

// TestTrustHiddenLimitConverges runs the binary against a fake whose hidden
// limit (50 calls a second, 10011 above it) is a fifth of --qps: after 10 s
// to settle, at least 0.95 of the limit is answered and at most 3% of the
// calls are throttled; no row fails, and the fake bills no more than the
// tool counts. It takes half a minute: not in -short (the throttle's own
// convergence test, on a simulated clock, is).
func TestTrustHiddenLimitConverges(t *testing.T) {
	if testing.Short() {
		t.Skip("half a minute against a hidden limit; TestThrottleConvergesHiddenLimit covers it in -short")
	}
	const limit, rowsN = 50, 50 * 25
	srv := juhetest.NewServer(t, juhetest.Options{Key: testKey, Latency: 20 * time.Millisecond})
	srv.SetHiddenLimit(limit)
	dir := t.TempDir()
	in := writeCustomers(t, dir, "list.csv", customers(rowsN), 0)
	db := filepath.Join(dir, "list.db")
	p := startBinary(t, secrets(), "run", in, "--db", db, "--lang", "en", "--progress", "none", "--base-url", srv.URL, "--qps", fmt.Sprint(5*limit))
	time.Sleep(10 * time.Second)
	calls0, billed0, from := srv.Calls(), srv.Billed(), time.Now()
	time.Sleep(10 * time.Second)
	calls, billed, took := srv.Calls()-calls0, srv.Billed()-billed0, time.Since(from)
	code := p.wait(t, time.Minute)
	ratio, throttled := float64(billed)/took.Seconds()/limit, float64(calls-billed)/float64(max(calls, 1))
	t.Logf("after 10 s: %.3f·L answered, %.2f%% throttled", ratio, throttled*100)
	if ratio < 0.95 || throttled > 0.03 {
		t.Errorf("after 10 s to settle: %.3f·L answered with %.2f%% throttled; want >= 0.95·L and <= 3%%", ratio, throttled*100)
	}
	st := statusOf(t, db)
	if code != 0 || st.Match+st.Mismatch != rowsN || st.Failed != 0 {
		t.Errorf("exit %d, status %+v; want 0 and every row verified\n%s", code, st, p.stderr.String())
	}
	if charged := srv.Charged(); charged > st.BilledCalls+st.PossiblyBilled {
		t.Errorf("the vendor would bill %d, the tool counts %d + %d", charged, st.BilledCalls, st.PossiblyBilled)
	}
}

// TestTrustLowQPSWaitAnnounced runs with --qps 0.1: a call every 10 s. The
// log says at once when the next call goes (China time), and Ctrl-C ends
// the wait at once.
func TestTrustLowQPSWaitAnnounced(t *testing.T) {
	srv := juhetest.NewServer(t, juhetest.Options{Key: testKey})
	dir := t.TempDir()
	in := writeCustomers(t, dir, "list.csv", customers(3), 0)
	p := startBinary(t, secrets(), "run", in, "--db", filepath.Join(dir, "list.db"), "--lang", "en", "--progress", "plain",
		"--base-url", srv.URL, "--qps", "0.1")
	p.waitSays(t, "CST as --qps allows, Ctrl-C to stop", 8*time.Second)
	p.interrupt(t, 1500*time.Millisecond)
}

// started is the binary running in the background, as a user's terminal
// would run it.
type started struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan error // gets Wait's error when the process ends
}

// startBinary runs the binary with args, env added to the environment.
func startBinary(tb testing.TB, env []string, args ...string) *started {
	tb.Helper()
	p := &started{cmd: exec.Command(binPath, args...), stderr: &syncBuffer{}, done: make(chan error, 1)}
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	tb.Cleanup(func() { p.cmd.Process.Kill() })
	return p
}

// waitSays waits until stderr says s, for at most limit.
func (p *started) waitSays(tb testing.TB, s string, limit time.Duration) {
	tb.Helper()
	for deadline := time.Now().Add(limit); !strings.Contains(p.stderr.String(), s); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			tb.Fatalf("after %s stderr does not say %q:\n%s", limit, s, p.stderr.String())
		}
	}
}

// wait waits for the process to end, for at most limit (then kills it),
// and returns its exit code.
func (p *started) wait(tb testing.TB, limit time.Duration) int {
	tb.Helper()
	select {
	case <-p.done:
	case <-time.After(limit):
		p.cmd.Process.Kill()
		<-p.done
		tb.Errorf("still running after %s, killed:\n%s", limit, p.stderr.String())
	}
	return p.cmd.ProcessState.ExitCode()
}

// interrupt sends SIGINT and checks that the process ends within limit
// with exit 4 (interrupted).
func (p *started) interrupt(tb testing.TB, limit time.Duration) {
	tb.Helper()
	sent := time.Now()
	p.cmd.Process.Signal(os.Interrupt)
	code := p.wait(tb, 20*time.Second)
	if took := time.Since(sent); took > limit || code != 4 {
		tb.Errorf("SIGINT ended it in %s with exit %d, want within %s and 4:\n%s", took.Round(time.Millisecond), code, limit, p.stderr.String())
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestTrustMaxBilledAcrossKills SIGKILLs runs of --max-billed 60 while
// calls are in flight, then lets a last run finish: calls lost in the kills
// count as possibly billed, so the vendor never bills more than 60.
func TestTrustMaxBilledAcrossKills(t *testing.T) {
	const rowsN, budget = 200, 60
	j := newListJob(t, rowsN, juhetest.Options{Latency: 100 * time.Millisecond})
	srv, db := j.srv, j.db
	args := j.args("--qps", "100", "--workers", "8", "--max-billed", fmt.Sprint(budget))
	for kill := range 3 {
		before := srv.Calls()
		cmd, _ := j.startRun(t, before+10, args)
		cmd.Process.Kill()
		cmd.Wait()
		t.Logf("kill %d after %d calls", kill+1, srv.Calls()-before)
	}
	r := run(t, time.Minute, secrets(), args...)
	assertNoPanic(t, r.result)
	if r.code != 4 {
		t.Errorf("last run: exit %d, want 4 (budget)\n%s", r.code, r.stderr)
	}
	st := statusOf(t, db)
	assertBudgetHeld(t, srv, st, budget)
	if st.BilledCalls+st.PossiblyBilled > budget || st.PossiblyBilled == 0 {
		t.Errorf("status %+v: want billed + possibly billed within %d, some possibly billed from the kills", st, budget)
	}
}

// TestTrustCountsAfterStop interrupts a run early: the last lines count
// every row of the input (rows not read yet as pending), as the output
// holds them.
func TestTrustCountsAfterStop(t *testing.T) {
	const rowsN = 3000
	srv := juhetest.NewServer(t, juhetest.Options{Key: testKey})
	dir := t.TempDir()
	in := writeCustomers(t, dir, "list.csv", customers(rowsN), 0)
	out := filepath.Join(dir, "out.csv")
	cmd := exec.Command(binPath, "run", in, "--out", out, "--db", filepath.Join(dir, "list.db"), "--lang", "en",
		"--progress", "none", "--base-url", srv.URL, "--qps", "100")
	cmd.Env = append(os.Environ(), secrets()...)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "20 calls", func() bool { return srv.Calls() >= 20 })
	cmd.Process.Signal(os.Interrupt)
	if code := waitExit(t, cmd, time.Minute); code != 4 {
		t.Fatalf("exit %d, want 4\n%s", code, stderr.String())
	}
	col, rows := readCSV(t, out)
	pending := 0
	for _, row := range rows {
		if row[col["verify_status"]] == "pending" {
			pending++
		}
	}
	if len(rows) != rowsN || pending == 0 {
		t.Fatalf("output has %d rows, %d pending; want %d rows, some pending", len(rows), pending, rowsN)
	}
	var n, match, mismatch, invalid, rejected, deferred, failed, pend int
	line := stderr.String()[strings.Index(stderr.String(), fmt.Sprintf("\n%d rows:", rowsN))+1:]
	if _, err := fmt.Sscanf(line, "%d rows: %d match, %d mismatch, %d invalid, %d rejected, %d deferred, %d failed, %d pending",
		&n, &match, &mismatch, &invalid, &rejected, &deferred, &failed, &pend); err != nil || n != rowsN || pend != pending {
		t.Errorf("last lines %q (%v): want %d rows, %d pending as in the output", line, err, rowsN, pending)
	}
}

// TestTrustCountsAfterKill SIGKILLs a run early: `status` counts every row
// of the input (those not read yet as pending), and `export`, during the run
// and after the kill, writes every row with the counts status gives.
func TestTrustCountsAfterKill(t *testing.T) {
	const rowsN, invalidN = 3000, 5
	srv := juhetest.NewServer(t, juhetest.Options{Key: testKey, Latency: 20 * time.Millisecond})
	dir := t.TempDir()
	in := writeCustomers(t, dir, "list.csv", customers(rowsN-invalidN), 0)
	// Invalid rows at the end, where the killed run never reads: the
	// output holds them as invalid, and so must status.
	f, err := os.OpenFile(in, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	for range invalidN {
		fmt.Fprintln(f, "客户末,12345")
	}
	f.Close()
	db := filepath.Join(dir, "list.db")
	p := startBinary(t, secrets(), "run", in, "--db", db, "--lang", "en", "--progress", "none", "--base-url", srv.URL, "--qps", "100")
	for deadline := time.Now().Add(20 * time.Second); srv.Calls() < 20 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	export := func(name string) (rows, pending, invalid int) {
		t.Helper()
		out := filepath.Join(dir, name)
		if r := cardverify(t, nil, "export", in, "--db", db, "--out", out, "--lang", "en"); r.code != 0 {
			t.Fatalf("export: exit %d\n%s", r.code, r.stderr)
		}
		col, rs := readCSV(t, out)
		for _, row := range rs {
			switch row[col["verify_status"]] {
			case "pending":
				pending++
			case "invalid":
				invalid++
			}
		}
		return len(rs), pending, invalid
	}
	if n, _, _ := export("during.csv"); n != rowsN {
		t.Errorf("export during the run wrote %d rows, want %d", n, rowsN)
	}
	p.cmd.Process.Kill()
	<-p.done
	st := statusOf(t, db)
	n, pending, invalid := export("after.csv")
	if st.Rows != rowsN || st.Pending != pending || st.Invalid != invalid || n != rowsN || st.Pending == 0 || invalid != invalidN {
		t.Errorf("after a SIGKILL: status counts %d rows, %d pending, %d invalid; the export holds %d rows, %d pending, %d invalid; want %d rows, the same counts",
			st.Rows, st.Pending, st.Invalid, n, pending, invalid, rowsN)
	}
	if sum := st.Match + st.Mismatch + st.Invalid + st.Rejected + st.Deferred + st.Failed + st.Pending; sum != st.Rows {
		t.Errorf("status counts add up to %d, not its %d rows", sum, st.Rows)
	}
	if charged := srv.Charged(); charged > st.BilledCalls+st.PossiblyBilled {
		t.Errorf("the vendor would bill %d, the tool counts %d + %d after the kill", charged, st.BilledCalls, st.PossiblyBilled)
	}
	text := cardverify(t, nil, "status", "--db", db, "--lang", "en")
	if !strings.Contains(text.stdout, fmt.Sprintf("rows        %d (", rowsN)) || !strings.Contains(text.stdout, "not read yet, counted as pending") {
		t.Errorf("status does not count the rows not read yet:\n%s", text.stdout)
	}
}

// TestTrustStopWhileWriting sends SIGINT while a run writes a large output
// (one pair on 60,000 rows: a single call, then seconds of writing): the
// run ends at once with exit 4, leaves no output and no temporary file, and
// says how to get the output; the same command then writes it whole. An
// export stopped the same way leaves nothing either.
func TestTrustStopWhileWriting(t *testing.T) {
	const rowsN = 60000
	dir := t.TempDir()
	in := filepath.Join(dir, "list.csv")
	var b strings.Builder
	b.WriteString("姓名,银行卡号,备注\n")
	card := juhetest.MatchCard(1)
	for i := range rowsN {
		fmt.Fprintf(&b, "张三,%s,n%d\n", card, i)
	}
	if err := os.WriteFile(in, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	out, db := filepath.Join(dir, "out.xlsx"), filepath.Join(dir, "list.db")
	args := []string{"run", in, "--sandbox", "--out", out, "--db", db, "--lang", "en", "--progress", "none"}
	interruptWriting(t, out, args...)

	r := run(t, time.Minute, nil, args...)
	if r.code != 0 || !strings.Contains(r.stderr, fmt.Sprintf("\n%d rows: %d match", rowsN, rowsN)) {
		t.Fatalf("the same command again: exit %d, want 0 and every row written\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(out); err != nil {
		t.Fatalf("no output after the rerun: %v", err)
	}
	interruptWriting(t, filepath.Join(dir, "export.xlsx"), "export", in, "--db", db, "--out", filepath.Join(dir, "export.xlsx"), "--lang", "en")
}

// interruptWriting runs the binary with args, sends SIGINT once the output
// out is being written (its temporary file lasts), and checks that the
// process ends within a second and a half with exit 4, leaving neither out
// nor a temporary file beside it.
func interruptWriting(t *testing.T, out string, args ...string) {
	t.Helper()
	p := startBinary(t, nil, args...)
	temps := func() []string {
		m, _ := filepath.Glob(filepath.Join(filepath.Dir(out), "."+filepath.Base(out)+".tmp-*"))
		return m
	}
	// The run's first check of the output makes a temporary file and
	// removes it at once: the writing's lasts.
	var seen string
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		if m := temps(); len(m) == 1 && m[0] == seen {
			break
		} else if len(m) == 1 {
			seen = m[0]
		}
		if p.cmd.ProcessState != nil || time.Now().After(deadline) {
			t.Fatalf("%v: the output was never seen being written\n%s", args[:1], p.stderr.String())
		}
	}
	p.interrupt(t, 1500*time.Millisecond)
	if _, err := os.Stat(out); err == nil {
		t.Errorf("%v: an output was left after SIGINT while writing", args[:1])
	}
	if m := temps(); len(m) > 0 {
		t.Errorf("%v: temporary outputs left: %v", args[:1], m)
	}
	if !strings.Contains(p.stderr.String(), "was not written") {
		t.Errorf("%v: the last lines do not say that the output was not written:\n%s", args[:1], p.stderr.String())
	}
}

// TestTrustCtrlCWhileReading interrupts a run whose input never ends (a
// pipe kept open): Ctrl-C ends it within a second, exit 4.
func TestTrustCtrlCWhileReading(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "endless.csv")
	if err := syscall.Mkfifo(in, 0o600); err != nil {
		t.Skipf("no named pipe here: %v", err)
	}
	feed := make(chan struct{})
	go func() {
		f, err := os.OpenFile(in, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		defer f.Close()
		f.WriteString("姓名,银行卡号\n")
		<-feed // kept open, never ending
	}()
	defer close(feed)
	cmd := exec.Command(binPath, "run", in, "--db", filepath.Join(dir, "e.db"), "--out", filepath.Join(dir, "e.out.csv"), "--progress", "none", "--lang", "en")
	cmd.Env = append(os.Environ(), secrets()...)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	sent := time.Now()
	cmd.Process.Signal(os.Interrupt)
	waitExit(t, cmd, 10*time.Second) // Ctrl-C must not be ignored while the input is read
	if took := time.Since(sent); took > time.Second || cmd.ProcessState.ExitCode() != 4 {
		t.Errorf("ended in %s with exit %d, want within 1 s and 4\n%s", took, cmd.ProcessState.ExitCode(), stderr.String())
	}
}
