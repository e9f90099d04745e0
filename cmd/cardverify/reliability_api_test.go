package main

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cardverify/cardverify/pipeline"
	"github.com/cardverify/cardverify/pipeline/juhe"
	"github.com/cardverify/cardverify/pipeline/juhe/juhetest"
)

// TestReliabilityAnswerCodes sends a one-row list whose card the fake API
// answers with each error code of the vendor's document, and checks the
// exit code, the row's status, the number of calls and what stderr says.
func TestReliabilityAnswerCodes(t *testing.T) {
	type want struct {
		code     int    // exit code
		status   string // the row's status in `status --json`
		calls    int    // calls for the card
		attempts int    // --max-attempts; 0 for 2
		bug      string // a known bug: the case is skipped
	}
	wants := map[int]want{
		218804: {0, "rejected", 1, 0, ""}, 218805: {0, "rejected", 1, 0, ""}, 218806: {0, "rejected", 1, 0, ""}, 218808: {0, "rejected", 1, 0, ""},
		218866: {4, "deferred", 1, 0, ""},
		// Transient, and may reach the bank: after the card's 3 checks of
		// the day the row is deferred, not sent a fourth time.
		218801: {4, "deferred", 3, 10, ""},
		// Transient system codes: failed after --max-attempts.
		10014: {4, "failed", 2, 2, ""}, 10020: {4, "failed", 2, 2, ""},
		// ... also past 3 calls: they never reached the bank.
		-10020: {4, "failed", 4, 4, ""},
		// The QPS limit: slowed down, 20 throttled retries, then failed.
		10011: {4, "failed", 21, 2, ""},
	}
	// The fatal codes of DESIGN.md's table, a literal: not the classes of
	// juhe.Codes, the table under test.
	for _, code := range []int{10001, 10002, 10003, 10004, 10005, 10007, 10008, 10009, 10012, 10013, 10021} {
		wants[code] = want{3, "pending", 1, 0, ""}
	}
	for _, c := range juhe.Codes {
		if _, ok := wants[c.Code]; !ok && c.Code != 0 {
			t.Errorf("code %d of the document has no case here", c.Code)
		}
	}
	for key, w := range wants {
		c, _ := juhe.Lookup(max(key, -key))
		name := fmt.Sprint(c.Code)
		if key < 0 {
			name += fmt.Sprintf("-%d-attempts", w.attempts)
		}
		t.Run(name, func(t *testing.T) {
			if w.bug != "" {
				skipBug(t, w.bug)
			}
			t.Parallel()
			srv := juhetest.NewServer(t, juhetest.Options{Key: testKey})
			dir := t.TempDir()
			card := juhetest.CodeCard(c.Code)
			in := writeCustomers(t, dir, "one.csv", []customer{{"张三", card}}, 0)
			out, db := filepath.Join(dir, "out.csv"), filepath.Join(dir, "one.db")
			args := []string{"run", in, "--base-url", srv.URL, "--out", out, "--db", db, "--lang", "en",
				"--progress", "none", "--qps", "1000", "--max-attempts", fmt.Sprint(max(w.attempts, 2))}
			r := run(t, time.Minute, secrets(), args...)
			assertNoPanic(t, r.result)
			if r.code != w.code {
				t.Fatalf("exit %d, want %d; stderr:\n%s", r.code, w.code, r.stderr)
			}
			if n := srv.Handler.CallsFor(card); n != w.calls {
				t.Errorf("%d calls for the card, want %d", n, w.calls)
			}
			st := statusOf(t, db)
			got := map[string]int{"match": st.Match, "mismatch": st.Mismatch, "invalid": st.Invalid, "rejected": st.Rejected,
				"deferred": st.Deferred, "failed": st.Failed, "pending": st.Pending}
			if st.Rows != 1 || got[w.status] != 1 {
				t.Errorf("status %+v, want the row %s", st, w.status)
			}
			if c.Class == pipeline.Fatal {
				for _, s := range []string{fmt.Sprint(c.Code), c.Meaning, c.Hint} {
					if !strings.Contains(r.stderr, s) {
						t.Errorf("stderr does not say %q:\n%s", s, r.stderr)
					}
				}
			} else {
				col, rows := readCSV(t, out)
				if len(rows) != 1 || rows[0][col["verify_status"]] != w.status || rows[0][col["verify_error_code"]] != fmt.Sprint(c.Code) && c.Code != 218801 {
					t.Errorf("output %v, want the row %s with code %d", rows, w.status, c.Code)
				}
				if w.code == 4 && !strings.Contains(r.stderr, "run the same command") {
					t.Errorf("exit 4 without the resume hint:\n%s", r.stderr)
				}
			}
			// The same command again the same day sends nothing more:
			// fatal rows are pending but the API still refuses (one more
			// call), rejected rows are final, deferred ones wait a day.
			before := srv.Handler.CallsFor(card)
			again := run(t, time.Minute, secrets(), args...)
			if again.code != w.code {
				t.Errorf("second run: exit %d, want %d; stderr:\n%s", again.code, w.code, again.stderr)
			}
			extra := srv.Handler.CallsFor(card) - before
			if c.Class == pipeline.Fatal && extra != 1 || c.Class != pipeline.Fatal && w.status != "failed" && extra != 0 {
				t.Errorf("second run made %d calls for the card", extra)
			}
			assertNoSecrets(t, dir, r.stdout, r.stderr, again.stdout, again.stderr)
		})
	}
}

// TestReliabilitySecretsBadKey runs a list with a key the API does not
// know: the run stops at once with exit 3, names the code, the vendor's
// reason and JUHE_KEY, leaves every row pending, and neither the key nor
// the openid appears in any output or file.
func TestReliabilitySecretsBadKey(t *testing.T) {
	for _, endpoint := range []string{"plain", "encrypted"} {
		t.Run(endpoint, func(t *testing.T) {
			t.Parallel()
			const rowsN, workers = 200, 4
			srv := juhetest.NewServer(t, juhetest.Options{Key: "the-key-the-api-knows", OpenID: testOpenID})
			dir := t.TempDir()
			cs := customers(rowsN)
			in := writeCustomers(t, dir, "list.csv", cs, 0)
			out, db := filepath.Join(dir, "out.xlsx"), filepath.Join(dir, "list.db")
			r := run(t, time.Minute, secrets(), "run", in, "--base-url", srv.URL, "--endpoint", endpoint,
				"--out", out, "--db", db, "--progress", "none", "--qps", "1000", "--workers", fmt.Sprint(workers))
			assertNoPanic(t, r.result)
			if r.code != 3 {
				t.Fatalf("exit %d, want 3; stderr:\n%s", r.code, r.stderr)
			}
			for _, s := range []string{"10001", "错误的请求KEY", "JUHE_KEY"} {
				if !strings.Contains(r.stderr, s) {
					t.Errorf("stderr does not say %q:\n%s", s, r.stderr)
				}
			}
			if n := srv.Handler.Calls(); n > workers {
				t.Errorf("%d calls after a bad key, want at most one per worker (%d)", n, workers)
			}
			if st := statusOf(t, db); st.Pending != rowsN {
				t.Errorf("status %+v: want all %d rows pending", st, rowsN)
			}
			assertNoSecrets(t, dir, r.stdout, r.stderr)
			assertNotInFiles(t, dir, "list.db", cs[0].card, cs[rowsN-1].card, "客户")
		})
	}
}

// TestReliabilitySecretsNetworkDown points the run at a closed port of
// 127.0.0.1: the run stops with exit 3 after a few calls (a systemic fault:
// see TestTrustUnreachableStops), every row stays pending, the error says
// what failed, and no secret is printed or written.
func TestReliabilitySecretsNetworkDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()

	for _, endpoint := range []string{"plain", "encrypted"} {
		t.Run(endpoint, func(t *testing.T) {
			t.Parallel()
			const rowsN = 20
			dir := t.TempDir()
			cs := customers(rowsN)
			in := writeCustomers(t, dir, "list.csv", cs, 0)
			out, db := filepath.Join(dir, "out.csv"), filepath.Join(dir, "list.db")
			r := run(t, time.Minute, secrets(), "run", in, "--base-url", closed, "--endpoint", endpoint, "--lang", "en",
				"--out", out, "--db", db, "--progress", "none", "--qps", "1000", "--workers", fmt.Sprint(rowsN),
				"--max-attempts", "2", "--timeout", "2s")
			assertNoPanic(t, r.result)
			if r.code != 3 || !strings.Contains(r.stderr, "refused") {
				t.Fatalf("exit %d, want 3 with the connection refused; stderr:\n%s", r.code, r.stderr)
			}
			st := statusOf(t, db)
			if st.Pending != rowsN || st.Calls > 2*rowsN || st.BilledCalls != 0 {
				t.Errorf("status %+v: want %d rows pending", st, rowsN)
			}
			col, rows := readCSV(t, out)
			for _, row := range rows {
				if row[col["verify_status"]] != "pending" {
					t.Errorf("row %v: want pending", row)
				}
			}
			assertNoSecrets(t, dir, r.stdout, r.stderr)
			assertNotInFiles(t, dir, "list.db", cs[0].card, cs[rowsN-1].card, "客户")
		})
	}
}

// TestReliabilitySecretsOnTheCommandLine passes the secrets as flags (as a
// script might) together with a mistake: the usage message must not echo
// them.
func TestReliabilitySecretsOnTheCommandLine(t *testing.T) {
	dir := t.TempDir()
	in := writeCustomers(t, dir, "list.csv", customers(2), 0)
	for _, args := range [][]string{
		{"run", in, "--key", testKey, "--openid", testOpenID, "--bogus"},
		{"run", in, "--key", testKey, "--openid", testOpenID, "--qps", "-1"},
		{"run", in, "--key", testKey, "--openid", testOpenID, "--endpoint", "secret"},
		{"run", "--key", testKey, "--openid", testOpenID},
	} {
		r := cardverify(t, []string{"JUHE_KEY=", "JUHE_OPENID="}, args...)
		if r.code != 2 {
			t.Errorf("%v: exit %d, want 2", args[3:], r.code)
		}
		assertNoSecrets(t, dir, r.stdout, r.stderr)
	}
}

// TestReliabilityOddAnswers scripts the first answer for a one-row list in
// each odd shape a real gateway sends, the default rule after it: the row
// must end with the verdict of a good answer, after the right number of
// calls, and never be billed twice.
func TestReliabilityOddAnswers(t *testing.T) {
	const jsonType = "application/json;charset=utf-8"
	tests := []struct {
		name   string
		reply  juhetest.Reply
		calls  int    // calls for the card
		jobid  string // the wanted jobid, when the odd answer is the verdict
		waited time.Duration
		bug    string
	}{
		{name: "hangup", reply: juhetest.Hangup(), calls: 2},
		{name: "HTTP 500 page", reply: juhetest.HTTPError(500), calls: 2},
		{name: "HTTP 429 with Retry-After", reply: juhetest.TooMany("2"), calls: 2, waited: 2 * time.Second},
		{name: "truncated JSON", reply: juhetest.Truncated(), calls: 2},
		{name: "timeout", reply: juhetest.Delay(3 * time.Second), calls: 2},
		{name: "HTML with status 200", reply: juhetest.Raw(200, "text/html", "<html><body>维护中</body></html>"), calls: 2},
		{name: "numbers as strings", reply: juhetest.Raw(200, jsonType,
			`{"reason":"成功","result":{"jobid":"JOB-AS-STRING","realname":"张三","bankcard":"x","res":"1","message":"一致"},"error_code":"0"}`),
			calls: 1, jobid: "JOB-AS-STRING"},
		{name: "byte order mark", reply: juhetest.Raw(200, jsonType,
			"\ufeff"+`{"reason":"成功","result":{"jobid":"JOB-BOM","res":1},"error_code":0}`), calls: 1, jobid: "JOB-BOM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := juhetest.NewServer(t, juhetest.Options{Key: testKey})
			dir := t.TempDir()
			card := juhetest.MatchCard(7)
			srv.Script(card, tt.reply)
			in := writeCustomers(t, dir, "one.csv", []customer{{"张三", card}}, 0)
			out := filepath.Join(dir, "out.csv")
			r := run(t, time.Minute, secrets(), "run", in, "--out", out, "--base-url", srv.URL, "--lang", "en",
				"--progress", "none", "--timeout", "1s")
			assertNoPanic(t, r.result)
			if r.code != 0 {
				t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
			}
			if n := srv.Handler.BilledFor(card); n > 1 {
				if tt.bug != "" {
					skipBug(t, tt.bug)
				}
				t.Errorf("the card was billed %d times", n)
			}
			reqs := srv.Requests()
			if len(reqs) != tt.calls {
				t.Fatalf("%d calls, want %d", len(reqs), tt.calls)
			}
			if tt.waited > 0 && reqs[1].Time.Sub(reqs[0].Time) < tt.waited-100*time.Millisecond {
				t.Errorf("the retry came %s after a Retry-After of %s", reqs[1].Time.Sub(reqs[0].Time), tt.waited)
			}
			jobid := tt.jobid
			if jobid == "" {
				jobid = reqs[len(reqs)-1].AnswerJobID
			}
			col, rows := readCSV(t, out)
			if len(rows) != 1 || rows[0][col["verify_status"]] != "match" || rows[0][col["verify_jobid"]] != jobid {
				t.Errorf("output %v, want a match with jobid %s", rows, jobid)
			}
		})
	}
}

// TestReliabilitySuccessWithoutVerdict: the vendor bills every error_code
// 0, so an answer of 0 without res 1 or 2 is paid for. It must not be sent
// again (that would pay twice), not even with --retry-failed; the row is
// failed, the ledger counts the call as billed, and the run exits 0: the
// row is final, and no message advises a rerun that would pay again.
func TestReliabilitySuccessWithoutVerdict(t *testing.T) {
	srv := juhetest.NewServer(t, juhetest.Options{Key: testKey})
	dir := t.TempDir()
	card := juhetest.MatchCard(7)
	srv.Script(card, juhetest.Answer(0, 3, ""))
	in := writeCustomers(t, dir, "one.csv", []customer{{"张三", card}}, 0)
	out, db := filepath.Join(dir, "out.csv"), filepath.Join(dir, "one.db")
	r := run(t, time.Minute, secrets(), "run", in, "--out", out, "--db", db, "--base-url", srv.URL, "--lang", "en", "--progress", "none")
	assertNoPanic(t, r.result)
	if r.code != 0 || strings.Contains(r.stderr, "--retry-failed") {
		t.Fatalf("exit %d, want 0 and no advice to retry\n%s", r.code, r.stderr)
	}
	r = run(t, time.Minute, secrets(), "run", in, "--out", out, "--db", db, "--base-url", srv.URL, "--lang", "en", "--progress", "none", "--retry-failed")
	if n := srv.Handler.CallsFor(card); n != 1 {
		t.Errorf("%d calls for the card, want 1: a billed answer is never sent again", n)
	}
	col, rows := readCSV(t, out)
	if len(rows) != 1 || rows[0][col["verify_status"]] != "failed" || !strings.Contains(rows[0][col["verify_reason"]], "billed") {
		t.Errorf("output %v, want the row failed with a reason saying it was billed", rows)
	}
	if st := statusOf(t, db); st.BilledCalls != 1 {
		t.Errorf("status counts %d billed calls, want 1", st.BilledCalls)
	}
}

// TestReliabilityQuotaMidRun runs out of the key's quota (10012) in the
// middle of a list: the run stops at once with exit 3 and the hint, keeps
// every verdict it had, writes the output with the rest pending, and once
// the quota is bought the same command finishes, sending only the rows
// that had no verdict.
func TestReliabilityQuotaMidRun(t *testing.T) {
	const rowsN = 400
	j := newListJob(t, rowsN, juhetest.Options{})
	srv, cs, out, db := j.srv, j.cs, j.out, j.db
	srv.Script(cs[150].card, juhetest.Code(10012))
	args := j.args("--qps", "1000", "--workers", "4")

	r := run(t, time.Minute, secrets(), args...)
	assertNoPanic(t, r.result)
	hint, _ := juhe.Lookup(10012)
	if r.code != 3 || !strings.Contains(r.stderr, "10012") || !strings.Contains(r.stderr, hint.Hint) {
		t.Fatalf("exit %d, stderr:\n%s\nwant exit 3 with the code and its hint", r.code, r.stderr)
	}
	st := statusOf(t, db)
	calls := srv.Handler.Calls()
	if st.Match+st.Mismatch != calls-1 || st.Pending != rowsN-st.Match-st.Mismatch || st.Failed+st.Deferred != 0 {
		t.Errorf("status %+v after %d calls, one of them 10012: want every other call's verdict kept, the rest pending", st, calls)
	}
	col, rows := readCSV(t, out)
	verified := 0
	for _, row := range rows {
		switch row[col["verify_status"]] {
		case "match", "mismatch":
			verified++
		case "pending":
		default:
			t.Errorf("row %v: want a verdict or pending", row)
		}
	}
	if verified != st.Match+st.Mismatch {
		t.Errorf("the output has %d verdicts, the checkpoint %d", verified, st.Match+st.Mismatch)
	}

	if r := cardverify(t, secrets(), args...); r.code != 0 {
		t.Fatalf("resume: exit %d\n%s", r.code, r.stderr)
	}
	if n := srv.Handler.Calls(); n != rowsN+1 {
		t.Errorf("%d calls for %d rows and one 10012: something was sent twice", n, rowsN)
	}
	for _, c := range cs {
		if n := srv.Handler.BilledFor(c.card); n != 1 {
			t.Fatalf("card %s billed %d times", c.card, n)
		}
	}
}
