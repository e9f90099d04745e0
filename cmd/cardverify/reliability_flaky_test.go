package main

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/cardverify/cardverify/pipeline/juhe/juhetest"
)

// TestReliabilityFlakyAPI runs a list against an API that answers 5% of
// calls with 218801, 2% with an HTML 502 page and 1% with truncated JSON,
// with bursts of 10011 (a QPS limit switched on and off) and latency
// spikes. No row may be lost, every row must end with the server's billed
// verdict and jobid (or deferred, when its card really had its three daily
// checks), and no card may be billed twice.
func TestReliabilityFlakyAPI(t *testing.T) {
	rowsN := 10000
	if testing.Short() {
		rowsN = 2000
	}
	srv := juhetest.NewServer(t, juhetest.Options{
		Key: testKey, Latency: time.Millisecond, Seed: 8,
		FailCode: 218801, FailRate: 0.05, HTML502Rate: 0.02, TruncatedRate: 0.01,
	})
	dir := t.TempDir()
	cs := customers(rowsN)
	in := writeCustomers(t, dir, "list.csv", cs, 0)
	out, db := filepath.Join(dir, "out.csv"), filepath.Join(dir, "list.db")
	args := []string{"run", in, "--base-url", srv.URL, "--out", out, "--db", db, "--lang", "en",
		"--progress", "none", "--qps", "2000", "--workers", "256", "--max-attempts", "10"}

	// Every 100 ms: a QPS limit far below --qps for 300 ms of each second,
	// and 250 ms answers for 100 ms of it.
	stop := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for step := 0; ; step++ {
			select {
			case <-stop:
				srv.SetQPSLimit(0)
				srv.SetLatency(time.Millisecond)
				return
			case <-tick.C:
			}
			switch step % 10 {
			case 2:
				srv.SetQPSLimit(200)
			case 5:
				srv.SetQPSLimit(0)
			case 7:
				srv.SetLatency(250 * time.Millisecond)
			case 8:
				srv.SetLatency(time.Millisecond)
			}
		}
	}()
	r := run(t, 3*time.Minute, secrets(), args...)
	close(stop)
	<-stopped
	assertNoPanic(t, r.result)
	t.Logf("first run: exit %d in %s, %d calls", r.code, r.took.Round(time.Millisecond), srv.Handler.Calls())
	if r.code != 0 && r.code != 4 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if st := statusOf(t, db); st.Failed > 0 {
		// Rows that failed every attempt get another run, as a user would.
		r := run(t, time.Minute, secrets(), append(args, "--retry-failed")...)
		t.Logf("%d rows failed; --retry-failed: exit %d in %s", st.Failed, r.code, r.took.Round(time.Millisecond))
	}

	// What the server did to each card.
	billed := map[string]juhetest.Request{}
	faults := map[string]map[string]int{}
	bankChecks := map[string]int{} // calls whose answer does not prove the bank was not asked
	for _, req := range srv.Requests() {
		if faults[req.Card] == nil {
			faults[req.Card] = map[string]int{}
		}
		faults[req.Card][req.Fault]++
		switch {
		case req.Fault == "truncated" || req.Status == 0 || req.Code == 218801:
			bankChecks[req.Card]++
		case req.Status == 200 && req.Code == 0:
			bankChecks[req.Card]++
			billed[req.Card] = req
		}
	}
	col, rows := readCSV(t, out)
	if len(rows) != rowsN {
		t.Fatalf("output has %d rows, want %d", len(rows), rowsN)
	}
	counts := map[string]int{}
	wronglyDeferred := 0
	for i, row := range rows {
		c, status := cs[i], row[col["verify_status"]]
		counts[status]++
		if row[col["姓名"]] != c.name || row[col["银行卡号"]] != c.card {
			t.Fatalf("row %d is %v, want %v", i+2, row, c)
		}
		if n := srv.Handler.BilledFor(c.card); n > 1 {
			t.Errorf("card %s billed %d times", c.card, n)
		}
		switch status {
		case "match", "mismatch":
			req, ok := billed[c.card]
			want := map[int]string{1: "match", 2: "mismatch"}[req.Res]
			if !ok || status != want || row[col["verify_jobid"]] != req.AnswerJobID {
				t.Errorf("row %d %v: the server's billed answer was %q %q", i+2, row, want, req.AnswerJobID)
			}
		case "deferred":
			if bankChecks[c.card] < 3 {
				if wronglyDeferred++; wronglyDeferred <= 5 {
					t.Logf("row %d deferred after %d calls that may have reached the bank (answers by fault: %v)", i+2, bankChecks[c.card], faults[c.card])
				}
			}
			if _, ok := billed[c.card]; ok {
				t.Errorf("row %d deferred but the server billed a verdict for it", i+2)
			}
		default:
			t.Errorf("row %d %v: not final", i+2, row)
		}
	}
	total := map[string]int{}
	for _, f := range faults {
		for k, n := range f {
			total[k] += n
		}
	}
	t.Logf("%d rows: %v; %d calls, answers by fault: %v", rowsN, counts, srv.Handler.Calls(), total)
	if total["qps"] == 0 || total["html502"] == 0 || total["truncated"] == 0 || total["fail"] == 0 {
		t.Errorf("not every fault happened: %v", total)
	}
	assertNoSecrets(t, dir, r.stdout, r.stderr)
	if wronglyDeferred > 0 {
		t.Errorf("%d rows deferred before their card had 3 checks that may have reached the bank", wronglyDeferred)
	}
}

// TestReliabilityThrottleRecovers switches a QPS limit on for the first
// 300 ms of a run: the run slows down, then must be back at its rate soon
// after the limit is gone, not keep waiting at the slowest rate.
func TestReliabilityThrottleRecovers(t *testing.T) {
	const rowsN, qps = 1000, 1000
	srv := juhetest.NewServer(t, juhetest.Options{Key: testKey, QPSLimit: 100})
	dir := t.TempDir()
	in := writeCustomers(t, dir, "list.csv", customers(rowsN), 0)
	args := []string{"run", in, "--base-url", srv.URL, "--db", filepath.Join(dir, "list.db"), "--out", filepath.Join(dir, "out.csv"),
		"--progress", "none", "--qps", fmt.Sprint(qps), "--workers", "64"}
	cmd, stderr := start(t, secrets(), args...)
	began := time.Now()
	waitFor(t, "calls", func() bool { return srv.Handler.Calls() > 0 })
	time.Sleep(300 * time.Millisecond)
	srv.SetQPSLimit(0)
	lifted := time.Now()
	code := waitExit(t, cmd, 2*time.Minute)
	took := time.Since(lifted)
	if code != 0 && code != 4 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	throttled := 0
	for _, req := range srv.Requests() {
		if req.Fault == "qps" {
			throttled++
		}
	}
	// At full rate the rest takes at most a second; allow three times that
	// on a loaded machine.
	t.Logf("%d calls throttled; the run took %s, %s after the limit was lifted", throttled, time.Since(began).Round(time.Millisecond), took.Round(time.Millisecond))
	if throttled == 0 {
		t.Fatal("the QPS limit never answered 10011")
	}
	if limit := 3 * time.Duration(rowsN) * time.Second / qps; took > limit {
		t.Errorf("the run took %s after the QPS limit was lifted, want at most %s", took, limit)
	}
}
