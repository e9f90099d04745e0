package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestRunVerdictsDedupInvalid(t *testing.T) {
	api := newAPI()
	api.script("6222000000000002", Answer{Class: Billed, HTTPStatus: 200, Answered: true, Res: 2, JobID: "J2"})
	ck := newMem()
	src := rows(
		"张三", "6222000000000001",
		"李四", "6222000000000002",
		"张三", "6222000000000001", // duplicate of row 2
		"", "6222000000000003", // invalid
	)
	st := mustRun(t, src, ck, api, fastConfig())

	if got := api.total(); got != 2 {
		t.Errorf("calls = %d, want 2 (the duplicate and the invalid row are not sent)", got)
	}
	if st.Rows != 4 || st.Invalid != 1 || st.Duplicates != 1 || st.Dispatched != 2 || st.Billed != 2 {
		t.Errorf("stats = %+v", st)
	}
	want := map[int]struct {
		s     Status
		jobid string
		dup   int
	}{2: {Match, "J6222000000000001", 0}, 3: {Mismatch, "J2", 0}, 4: {Match, "J6222000000000001", 2}}
	for _, r := range ck.results().res {
		w := want[r.Row]
		if r.Status != w.s || r.JobID != w.jobid || r.DupOf != w.dup {
			t.Errorf("row %d: got %v %q dup %d, want %v %q dup %d", r.Row, r.Status, r.JobID, r.DupOf, w.s, w.jobid, w.dup)
		}
	}
}

func TestRunClasses(t *testing.T) {
	const card = "6222000000000001"
	tests := []struct {
		name        string
		answers     []Answer
		maxAttempts int
		wantStatus  Status
		wantCalls   int
		wantErr     error
	}{
		{"match", nil, 4, Match, 1, nil},
		{"rejected 218804", []Answer{code(Reject, 218804)}, 4, Rejected, 1, nil},
		{"rejected 218805", []Answer{code(Reject, 218805)}, 4, Rejected, 1, nil},
		{"rejected 218806", []Answer{code(Reject, 218806)}, 4, Rejected, 1, nil},
		{"rejected 218808", []Answer{code(Reject, 218808)}, 4, Rejected, 1, nil},
		{"deferred 218866", []Answer{code(Defer, 218866)}, 4, Deferred, 1, nil},
		{"transient then match", []Answer{code(Transient, 10014), code(Transient, 10020)}, 4, Match, 3, nil},
		{"502s outlive attempts", []Answer{
			{Class: Transient, HTTPStatus: 502, Reason: "HTTP 502"},
			{Class: Transient, HTTPStatus: 502, Reason: "HTTP 502"},
			{Class: Transient, HTTPStatus: 502, Reason: "HTTP 502"},
			{Class: Transient, HTTPStatus: 502, Reason: "HTTP 502"},
		}, 4, Failed, 4, nil},
		{"218801 stops at the card limit", []Answer{
			code(Transient, 218801), code(Transient, 218801), code(Transient, 218801), code(Transient, 218801),
		}, 6, Deferred, 3, nil},
		{"timeouts stop at the card limit", []Answer{
			{Class: Transient, Reason: "timeout"}, {Class: Transient, Reason: "timeout"},
			{Class: Transient, Reason: "timeout"}, {Class: Transient, Reason: "timeout"},
		}, 6, Deferred, 3, nil},
		{"throttled then match", []Answer{code(Throttle, 10011), {Class: Throttle, HTTPStatus: 429, Reason: "HTTP 429"}}, 1, Match, 3, nil},
		{"fatal 10001", []Answer{code(Fatal, 10001)}, 4, Pending, 1, &APIError{}},
		{"fatal 10012", []Answer{code(Fatal, 10012)}, 4, Pending, 1, &APIError{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			api := newAPI()
			api.script(card, tc.answers...)
			ck := newMem()
			cfg := fastConfig()
			cfg.MaxAttempts = tc.maxAttempts
			_, err := Run(context.Background(), rows("张三", card), ck, api, cfg)
			var apiErr *APIError
			switch {
			case tc.wantErr == nil && err != nil:
				t.Fatalf("Run: %v", err)
			case tc.wantErr != nil && !errors.As(err, &apiErr):
				t.Fatalf("Run error = %v, want an *APIError", err)
			}
			if got := ck.outcome(2); got.Status != tc.wantStatus {
				t.Errorf("status = %v (%q), want %v", got.Status, got.Reason, tc.wantStatus)
			}
			if got := api.callsFor(card); got != tc.wantCalls {
				t.Errorf("calls = %d, want %d", got, tc.wantCalls)
			}
			if n := len(ck.calls); n != tc.wantCalls {
				t.Errorf("ledger has %d calls, want %d", n, tc.wantCalls)
			}
		})
	}
}

func TestRunFatalStopsDispatching(t *testing.T) {
	api := newAPI()
	for _, c := range []string{"6222000000000001", "6222000000000002", "6222000000000003"} {
		api.script(c, code(Fatal, 10001))
	}
	ck := newMem()
	src := rows("a", "6222000000000001", "b", "6222000000000002", "c", "6222000000000003")
	cfg := fastConfig()
	cfg.Workers = 1
	_, err := Run(context.Background(), src, ck, api, cfg)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Code != 10001 {
		t.Fatalf("err = %v, want API error 10001", err)
	}
	if n := api.total(); n != 1 {
		t.Errorf("calls = %d, want 1: a fatal answer stops the run at once", n)
	}
	for no := 2; no <= 4; no++ {
		if _, ok := ck.rows[no]; ok && ck.outcome(no).Status != Pending {
			t.Errorf("row %d = %v, want pending", no, ck.outcome(no).Status)
		}
	}
}

func TestRunNeverAFourthCallPerCardPerDay(t *testing.T) {
	const card = "6222000000000001"
	api := newAPI()
	api.script(card, code(Transient, 218801), code(Transient, 218801), code(Transient, 218801), code(Transient, 218801))
	ck := newMem()
	cfg := fastConfig()
	cfg.MaxAttempts = 2
	cfg.RetryFailed = true
	// Three runs, each retrying: the card has had 2, then 1 more, then none.
	for range 3 {
		mustRun(t, rows("张三", card), ck, api, cfg)
	}
	// Another name on the same card is another pair, but the same card.
	mustRun(t, rows("张三", card, "李四", card), ck, api, cfg)
	if n := api.callsFor(card); n != 3 {
		t.Errorf("calls for the card = %d, want 3", n)
	}
}

func TestRunBudget(t *testing.T) {
	api := newAPI()
	ck := newMem()
	cfg := fastConfig()
	cfg.MaxBilled = 5
	st, err := Run(context.Background(), rows(manyPairs(20)...), ck, api, cfg)
	if !errors.Is(err, ErrBudget) || !errors.Is(err, ErrIncomplete) {
		t.Fatalf("err = %v, want ErrBudget", err)
	}
	if api.billed != 5 || st.Billed != 5 {
		t.Errorf("billed at the server = %d, counted = %d, want 5", api.billed, st.Billed)
	}
}

func TestRunResumeSendsNothingTwice(t *testing.T) {
	api := newAPI()
	api.script("6222000000000002", code(Defer, 218866))
	api.script("6222000000000003", code(Transient, 10014), code(Transient, 10014))
	ck := newMem()
	src := func() Source {
		return rows("a", "6222000000000001", "b", "6222000000000002", "c", "6222000000000003")
	}
	cfg := fastConfig()
	cfg.MaxAttempts = 2
	mustRun(t, src(), ck, api, cfg)
	first := api.total()

	st := mustRun(t, src(), ck, api, cfg)
	if api.total() != first || st.Skipped != 3 {
		t.Fatalf("second run made %d calls and skipped %d rows, want 0 and 3", api.total()-first, st.Skipped)
	}

	// --retry-failed sends the failed row only; a later day sends the deferred one.
	cfg.RetryFailed = true
	mustRun(t, src(), ck, api, cfg)
	if got := api.callsFor("6222000000000003"); got != 3 {
		t.Errorf("failed card calls = %d, want 3", got)
	}
	if got := api.callsFor("6222000000000002"); got != 1 {
		t.Errorf("deferred card called again on the same day: %d calls", got)
	}
	cfg.Now = func() time.Time { return time.Now().Add(24 * time.Hour) }
	mustRun(t, src(), ck, api, cfg)
	if got := ck.outcome(3).Status; got != Match {
		t.Errorf("deferred row on a later day = %v, want match", got)
	}
}

func TestRunChangedRowRefused(t *testing.T) {
	ck := newMem()
	mustRun(t, rows("a", "6222000000000001"), ck, newAPI(), fastConfig())
	_, err := Run(context.Background(), rows("b", "6222000000000001"), ck, newAPI(), fastConfig())
	var ie *InputError
	if !errors.As(err, &ie) || ie.Row != 2 {
		t.Fatalf("err = %v, want an InputError for row 2", err)
	}
}

func TestRunGracefulStop(t *testing.T) {
	api := newAPI()
	api.block = make(chan struct{})
	ck := newMem()
	stop := make(chan struct{})
	cfg := fastConfig()
	cfg.Stop = stop
	done := make(chan error)
	var st Stats
	go func() {
		var err error
		st, err = Run(context.Background(), rows(manyPairs(50)...), ck, api, cfg)
		done <- err
	}()
	// Let the workers start their calls, then stop: the calls in flight
	// must finish and be recorded.
	for limit := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		ck.mu.Lock()
		n := len(ck.calls)
		ck.mu.Unlock()
		if n == cfg.Workers {
			break
		}
		if time.Now().After(limit) {
			t.Fatalf("%d calls began, want %d: the workers did not start", n, cfg.Workers)
		}
	}
	close(stop)
	close(api.block)
	err := <-done
	if !errors.Is(err, ErrIncomplete) || st.StopReason != Reason(StopInterrupted) {
		t.Fatalf("err = %v, reason %q, want ErrIncomplete, interrupted", err, st.StopReason)
	}
	if st.Calls != api.total() || st.Calls > cfg.Workers {
		t.Errorf("calls counted %d, at the API %d, want equal and at most %d", st.Calls, api.total(), cfg.Workers)
	}
	for id := range len(ck.calls) {
		if !ck.ended[int64(id+1)] {
			t.Errorf("call %d was sent but its answer not recorded", id+1)
		}
	}
}

func TestRunDryRunMakesNoCall(t *testing.T) {
	api := newAPI()
	cfg := fastConfig()
	cfg.DryRun = true
	st := mustRun(t, rows("a", "6222000000000001", "a", "6222000000000001", "b", ""), newMem(), api, cfg)
	if api.total() != 0 || st.Dispatched != 1 || st.Invalid != 1 || st.Duplicates != 1 {
		t.Errorf("calls %d, stats %+v: want no call, 1 pair to send, 1 invalid, 1 duplicate", api.total(), st)
	}
}

func TestExport(t *testing.T) {
	ck := newMem()
	mustRun(t, rows("a", "6222000000000001", "a", "6222000000000001", "b", ""), ck, newAPI(), fastConfig())
	src := rows("a", "6222000000000001", "a", "6222000000000001", "b", "", "c", "6222000000000009")
	var got []Outcome
	sink := sinkFunc(func(rec Record, o Outcome) error {
		if rec.Kind == Data {
			got = append(got, o)
		}
		return nil
	})
	if err := Export(context.Background(), src, ck.results(), ck, sink); err != nil {
		t.Fatal(err)
	}
	want := []Status{Match, Match, Invalid, Pending}
	for i, o := range got {
		if o.Status != want[i] {
			t.Errorf("row %d: %v, want %v", i+2, o.Status, want[i])
		}
	}
	if got[1].DupOf != 2 || got[3].Reason != PendingReason {
		t.Errorf("dup of %d, pending reason %q", got[1].DupOf, got[3].Reason)
	}

	// An edited row is refused rather than given another row's verdict.
	edited := rows("z", "6222000000000001")
	err := Export(context.Background(), edited, ck.results(), ck, sinkFunc(func(Record, Outcome) error { return nil }))
	var ie *InputError
	if !errors.As(err, &ie) || ie.Row != 2 {
		t.Errorf("edited input: err = %v, want InputError row 2", err)
	}
}

// manyPairs returns n distinct (name, card) pairs.
func manyPairs(n int) []string {
	var p []string
	for i := range n {
		p = append(p, "n", fmt.Sprintf("62220000%08d", i))
	}
	return p
}

type sinkFunc func(Record, Outcome) error

func (f sinkFunc) Write(r Record, o Outcome) error { return f(r, o) }

func TestNextClock(t *testing.T) {
	// --stop-at is China time whatever the zone of now (the machine's):
	// the same instant, 2026-11-28 07:30 in Beijing, seen from three zones.
	cst := time.FixedZone("CST", 8*3600)
	instant := time.Date(2026, 11, 27, 23, 30, 0, 0, time.UTC)
	ny := time.FixedZone("EST", -5*3600)
	tests := []struct {
		in   string
		want time.Time
	}{
		{"07:30", time.Date(2026, 11, 28, 7, 30, 0, 0, cst)},  // now
		{"08:00", time.Date(2026, 11, 28, 8, 0, 0, 0, cst)},   // in half an hour
		{"15:30", time.Date(2026, 11, 28, 15, 30, 0, 0, cst)}, // not 15:30 UTC
		{"06:00", time.Date(2026, 11, 29, 6, 0, 0, 0, cst)},   // past today in China
		{"23:59", time.Date(2026, 11, 28, 23, 59, 0, 0, cst)},
	}
	for _, loc := range []*time.Location{time.UTC, ny, cst, time.FixedZone("X", 3600)} {
		now := instant.In(loc)
		for _, tc := range tests {
			got, err := NextClock(now, tc.in)
			if err != nil || !got.Equal(tc.want) {
				t.Errorf("NextClock(%v, %s) = %v, %v; want %v", now, tc.in, got, err, tc.want)
			}
		}
	}
	for _, bad := range []string{"6am", "25:00", ""} {
		if _, err := NextClock(instant, bad); err == nil {
			t.Errorf("NextClock(%q): no error", bad)
		}
	}
}

func TestStatsETA(t *testing.T) {
	start := time.Date(2026, 11, 27, 22, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		s     Stats
		total int
		after time.Duration
		want  time.Duration
	}{
		{"half done in a minute", Stats{Rows: 500, Dispatched: 500, Done: 500}, 1000, time.Minute, time.Minute},
		{"skipped rows do not speed it up", Stats{Rows: 600, Skipped: 500, Dispatched: 100, Done: 100}, 1100, time.Minute, 5 * time.Minute},
		{"in flight is not done", Stats{Rows: 600, Dispatched: 600, Done: 300}, 900, time.Minute, 2 * time.Minute},
		{"only skipped so far", Stats{Rows: 500, Skipped: 500}, 1000, time.Minute, 0},
		{"finished", Stats{Rows: 10, Dispatched: 10, Done: 10}, 10, time.Minute, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.s.Started = start
			if got := tc.s.ETA(tc.total, start.Add(tc.after)); got != tc.want {
				t.Errorf("ETA(%+v, %d) = %v, want %v", tc.s, tc.total, got, tc.want)
			}
		})
	}
}

// TestRunCountsForProgress checks the counters progress shows besides the
// trust tests' possibly billed calls and pauses: throttled answers and the
// rate asked for.
func TestRunCountsForProgress(t *testing.T) {
	api := newAPI()
	api.script("6222000000000003", Answer{Class: Throttle, HTTPStatus: 429, Reason: "HTTP 429"}, code(Throttle, 10011))
	src := rows("张三", "6222000000000001", "王五", "6222000000000003")
	cfg := fastConfig()
	st := mustRun(t, src, newMem(), api, cfg)
	// Calls: card 1 once, card 3 three times (429, 10011, match).
	if st.Calls != 4 || st.Billed != 2 || st.Throttled != 2 || st.QPS != cfg.QPS {
		t.Errorf("calls %d, billed %d, throttled %d, QPS %v; want 4, 2, 2, %v", st.Calls, st.Billed, st.Throttled, st.QPS, cfg.QPS)
	}
}

// TestResolvedAfterStop checks that rows a stop leaves pending are not
// counted as dealt with, so that a stopped run's progress is not shown full.
func TestResolvedAfterStop(t *testing.T) {
	api := newAPI()
	api.delay = 20 * time.Millisecond
	ck := newMem()
	src := rows("张三", "6222000000000001", "李四", "6222000000000002", "王五", "6222000000000003",
		"赵六", "6222000000000004", "钱七", "6222000000000005")
	stop := make(chan struct{})
	cfg := fastConfig()
	cfg.Workers, cfg.Stop = 1, stop
	time.AfterFunc(30*time.Millisecond, func() { close(stop) })
	st, err := Run(context.Background(), src, ck, api, cfg)
	if !errors.Is(err, ErrIncomplete) {
		t.Fatalf("Run = %v, want ErrIncomplete", err)
	}
	final := 0
	for _, r := range ck.results().res {
		if r.Status != Pending {
			final++
		}
	}
	if st.Resolved() != final || final == 5 {
		t.Errorf("Resolved() = %d with %d of 5 rows final (stats %+v); want them equal and some rows pending", st.Resolved(), final, st)
	}
}

// countingSource yields n data rows whose one cell holds big, counting the
// rows it has handed out.
type countingSource struct {
	n     int64
	given atomic.Int64
	big   string
}

func (s *countingSource) Next() (Record, error) {
	i := s.given.Load()
	if i == s.n {
		return Record{}, EOF
	}
	s.given.Add(1)
	return Record{Row: int(i) + 2, Kind: Data, Cells: []Cell{{Value: s.big}}}, nil
}

type noResults struct{}

func (noResults) Next() (Result, error) { return Result{}, EOF }

// TestExportReadAheadBounded: the read-ahead of the input holds a bounded
// amount of cell text, not a bounded number of rows: of rows of 300,000
// characters each (what a reader lets through: 1,024 cells of up to
// 32,767), a few dozen at most are read in front of the writing, not
// thousands.
func TestExportReadAheadBounded(t *testing.T) {
	src := &countingSource{n: 5000, big: strings.Repeat("x", 300_000)}
	var written, most int64
	sink := sinkFunc(func(Record, Outcome) error {
		written++
		most = max(most, src.given.Load()-written)
		return nil
	})
	if err := Export(context.Background(), src, noResults{}, nil, sink); err != nil {
		t.Fatal(err)
	}
	if written != 5000 {
		t.Fatalf("%d rows written, want 5000", written)
	}
	// About 10 MB of text: a read-ahead of 512-row batches would hold
	// thousands of these rows, 300 KB each.
	if most > 32 {
		t.Errorf("%d rows read in front of the writing (%d MB of text), want at most 32", most, most*300_000>>20)
	}
}
