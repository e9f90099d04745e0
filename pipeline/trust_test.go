package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// unreachable is what the client answers for a call that got no connection.
var unreachable = Answer{Class: Unreachable, Reason: "cannot reach http://127.0.0.1:1: connection refused", Hint: "check --base-url http://127.0.0.1:1"}

// alwaysAPI answers every call with a, counting the calls.
type alwaysAPI struct {
	fakeAPI
	a Answer
}

func (f *alwaysAPI) Verify(ctx context.Context, name, card string) (Answer, error) {
	f.mu.Lock()
	f.calls[card]++
	f.mu.Unlock()
	return f.a, errors.New(f.a.Reason)
}

func newAlways(a Answer) *alwaysAPI {
	return &alwaysAPI{fakeAPI: fakeAPI{scripts: map[string][]Answer{}, calls: map[string]int{}}, a: a}
}

// TestRunUnreachableStops checks that a base URL where nothing answers
// stops a big run after a few calls, with the real cause, leaving every row
// pending and every card's daily limit untouched: a rerun with the right
// URL verifies every row.
func TestRunUnreachableStops(t *testing.T) {
	pairs := manyPairs(2000)
	ck := newMem()
	down := newAlways(unreachable)
	_, err := Run(context.Background(), rows(pairs...), ck, down, fastConfig())
	var cfgErr *ConfigError
	if !errors.As(err, &cfgErr) || !strings.Contains(cfgErr.Reason, "connection refused") || cfgErr.Hint != unreachable.Hint {
		t.Fatalf("err = %v, want a ConfigError with the cause and the hint", err)
	}
	// startStreak calls stop it; workers already past the check add one each.
	if n := down.total(); n > startStreak+fastConfig().Workers {
		t.Errorf("%d calls before the stop, want at most %d", n, startStreak+fastConfig().Workers)
	}
	for _, r := range ck.results().res {
		if r.Status != Pending {
			t.Fatalf("row %d = %v (%s), want pending", r.Row, r.Status, r.Reason)
		}
	}
	for _, c := range ck.calls {
		if c.MayReachBank || c.PossiblyBilled || c.Billed {
			t.Errorf("call %+v: an unreachable call counts toward the card's limit or the bill", c)
		}
	}

	// The right URL, the same checkpoint.
	api := newAPI()
	cfg := fastConfig()
	cfg.MaxAttempts = 1
	st := mustRun(t, rows(pairs...), ck, api, cfg)
	if st.Outcomes[Match] != 2000 || api.total() != 2000 {
		t.Errorf("rerun: %d matches, %d calls; want 2000 and 2000", st.Outcomes[Match], api.total())
	}
}

// TestRunScatteredUnreachableGoesOn checks that unreachable calls amid
// answers neither stop the run nor decide a row.
func TestRunScatteredUnreachableGoesOn(t *testing.T) {
	pairs := manyPairs(200)
	api := newAPI()
	for i := 0; i < 200; i += 10 {
		api.script(pairs[2*i+1], unreachable)
	}
	ck := newMem()
	st := mustRun(t, rows(pairs...), ck, api, fastConfig())
	if st.Outcomes[Match] != 200 {
		t.Errorf("%d matches, want 200: %+v", st.Outcomes[Match], st)
	}
	if n := api.total(); n != 220 {
		t.Errorf("%d calls, want 220 (200 + 20 unreachable)", n)
	}
}

// TestRunRedirectStops checks that a redirect stops the run at its first
// call, rows pending.
func TestRunRedirectStops(t *testing.T) {
	moved := Answer{Class: Unusable, HTTPStatus: 302, Reason: "HTTP 302 redirect to https://example.com: check --base-url", Hint: "check --base-url"}
	ck := newMem()
	api := newAlways(moved)
	cfg := fastConfig()
	cfg.Workers = 1
	_, err := Run(context.Background(), rows(manyPairs(50)...), ck, api, cfg)
	var cfgErr *ConfigError
	if !errors.As(err, &cfgErr) || cfgErr.Reason != moved.Reason {
		t.Fatalf("err = %v, want the redirect as a ConfigError", err)
	}
	if n := api.total(); n != 1 {
		t.Errorf("%d calls, want 1", n)
	}
	for _, r := range ck.results().res {
		if r.Status != Pending {
			t.Errorf("row %d = %v, want pending", r.Row, r.Status)
		}
	}
}

// TestRunSuspectStreak checks the wrong-openid rule: 218808 on every first
// call stops the run with rows pending, while a 218808 among verdicts, or
// on a list too short for a streak, is an ordinary rejection.
func TestRunSuspectStreak(t *testing.T) {
	wrongOpenID := Answer{Class: Reject, HTTPStatus: 200, Answered: true, Code: 218808, Reason: "参数错误", Suspect: true, Hint: "check JUHE_OPENID"}
	t.Run("every row", func(t *testing.T) {
		ck := newMem()
		api := newAlways(wrongOpenID)
		_, err := Run(context.Background(), rows(manyPairs(500)...), ck, api, fastConfig())
		var cfgErr *ConfigError
		if !errors.As(err, &cfgErr) || cfgErr.Hint != "check JUHE_OPENID" || !strings.Contains(cfgErr.Reason, "218808") {
			t.Fatalf("err = %v, want a ConfigError about 218808 with the openid hint", err)
		}
		if n := api.total(); n > startStreak+fastConfig().Workers {
			t.Errorf("%d calls, want at most %d", n, startStreak+fastConfig().Workers)
		}
		for _, r := range ck.results().res {
			if r.Status != Pending {
				t.Errorf("row %d = %v, want pending", r.Row, r.Status)
			}
		}
	})
	for _, tc := range []struct {
		name    string
		n       int
		suspect []int // pairs answered 218808
	}{
		{"first row then verdicts", 20, []int{0}},
		{"two of two", 2, []int{0, 1}},
		{"among verdicts", 50, []int{10, 11, 12, 13, 20}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pairs := manyPairs(tc.n)
			api := newAPI()
			for _, i := range tc.suspect {
				api.script(pairs[2*i+1], wrongOpenID)
			}
			ck := newMem()
			cfg := fastConfig()
			cfg.Workers = 1
			st := mustRun(t, rows(pairs...), ck, api, cfg)
			if st.Outcomes[Rejected] != len(tc.suspect) || st.Outcomes[Match] != tc.n-len(tc.suspect) {
				t.Errorf("%d rejected, %d matches; want %d, %d", st.Outcomes[Rejected], st.Outcomes[Match], len(tc.suspect), tc.n-len(tc.suspect))
			}
			for _, i := range tc.suspect {
				if o := ck.outcome(i + 2); o.Status != Rejected || o.Code != 218808 {
					t.Errorf("row %d = %v %d, want rejected 218808", i+2, o.Status, o.Code)
				}
			}
		})
	}
}

// TestRunNoVerdictNeverResent checks that error_code 0 without a verdict is
// billed, failed with its own reason, and not sent again even with
// RetryFailed.
func TestRunNoVerdictNeverResent(t *testing.T) {
	const card = "6222000000000001"
	api := newAPI()
	api.script(card, Answer{Class: Transient, HTTPStatus: 200, Answered: true, Code: 0, Reason: "answer has error_code 0 but no res 1 or 2"})
	ck := newMem()
	st := mustRun(t, rows("张三", card), ck, api, fastConfig())
	o := ck.outcome(2)
	if o.Status != Failed || st.Billed != 1 || o.Reason != Reason(BilledNoVerdict) {
		t.Errorf("outcome %+v, billed %d; want failed, billed 1, a reason saying it is never sent again", o, st.Billed)
	}
	cfg := fastConfig()
	cfg.RetryFailed = true
	mustRun(t, rows("张三", card), ck, api, cfg)
	if n := api.callsFor(card); n != 1 {
		t.Errorf("%d calls, want 1: --retry-failed must not pay for it twice", n)
	}
}

// TestRunBudgetCountsPossiblyBilled checks that possibly billed calls count
// toward MaxBilled.
func TestRunBudgetCountsPossiblyBilled(t *testing.T) {
	pairs := manyPairs(20)
	api := newAPI()
	for i := range 20 {
		api.script(pairs[2*i+1], Answer{Class: Transient, Reason: "timeout after 10s", PossiblyBilled: true})
	}
	ck := newMem()
	cfg := fastConfig()
	cfg.MaxBilled = 6
	st, err := Run(context.Background(), rows(pairs...), ck, api, cfg)
	if !errors.Is(err, ErrBudget) {
		t.Fatalf("err = %v, want ErrBudget", err)
	}
	if st.Billed+st.PossiblyBilled != 6 || api.total() != 6 {
		t.Errorf("billed %d + possibly %d, %d calls; want 6 in all", st.Billed, st.PossiblyBilled, api.total())
	}
	var possibly int
	for _, c := range ck.calls {
		if c.PossiblyBilled {
			possibly++
		}
	}
	if possibly != st.PossiblyBilled {
		t.Errorf("ledger has %d possibly billed calls, stats %d", possibly, st.PossiblyBilled)
	}
}

func ExampleConfigError() {
	err := &ConfigError{Reason: "3 calls in a row never reached the API: cannot reach http://127.0.0.1:1: connection refused", Hint: "check --base-url"}
	fmt.Println(err)
	// Output: the API cannot be used as configured: 3 calls in a row never reached the API: cannot reach http://127.0.0.1:1: connection refused (check --base-url)
}

// TestRunAnswerChecks checks that an answer about another card fails its
// row, billed and never re-sent, and that a verdict without a jobid is kept
// with a flag in its reason.
func TestRunAnswerChecks(t *testing.T) {
	const foreign, noJobID = "6222000000000001", "6222000000000002"
	api := newAPI()
	api.script(foreign, Answer{Class: Transient, HTTPStatus: 200, Answered: true, Foreign: true, JobID: "J1", Reason: "the answer's card does not fit"})
	api.script(noJobID, Answer{Class: Billed, HTTPStatus: 200, Answered: true, Res: 1, Reason: "成功"})
	ck := newMem()
	cfg := fastConfig()
	cfg.RetryFailed = true
	for range 2 {
		mustRun(t, rows("张三", foreign, "李四", noJobID), ck, api, cfg)
	}
	if o := ck.outcome(2); o.Status != Failed || o.Res != 0 || o.Reason != Reason(BilledForeign) || api.callsFor(foreign) != 1 {
		t.Errorf("foreign answer: outcome %+v after %d calls; want failed, no res, one call", o, api.callsFor(foreign))
	}
	if o := ck.outcome(3); o.Status != Match || !strings.HasSuffix(o.Reason, Reason(NoJobID)) {
		t.Errorf("no jobid: outcome %+v; want a match flagged in its reason", o)
	}
}

// stampAPI answers every call at once and records when each came.
type stampAPI struct {
	mu    sync.Mutex
	times []time.Time
}

func (s *stampAPI) Verify(ctx context.Context, name, card string) (Answer, error) {
	s.mu.Lock()
	s.times = append(s.times, time.Now())
	s.mu.Unlock()
	return Answer{Class: Billed, HTTPStatus: 200, Answered: true, Res: 1, JobID: "J", Reason: "成功"}, nil
}

// TestRunNeverAboveQPS fails when the calls of any second after the first
// exceed QPS by more than 5%: a limiter doubled, or a burst made up after a
// pause, would. A slow machine only lowers the rate, so the test cannot
// fail for want of speed.
func TestRunNeverAboveQPS(t *testing.T) {
	const qps = 200
	api := &stampAPI{}
	stop := make(chan struct{})
	time.AfterFunc(2500*time.Millisecond, func() { close(stop) })
	cfg := Config{QPS: qps, Workers: 8, Stop: stop}
	if _, err := Run(context.Background(), rows(manyPairs(5000)...), newMem(), api, cfg); !errors.Is(err, ErrIncomplete) {
		t.Fatalf("err = %v, want ErrIncomplete", err)
	}
	ts := api.times
	if len(ts) < 2 {
		t.Fatal("no calls")
	}
	// Every window of one second, from each call on, after the first.
	for i, j := 0, 0; i < len(ts); i++ {
		if ts[i].Sub(ts[0]) < time.Second/2 {
			continue // the limiter's burst
		}
		for j < len(ts) && ts[j].Sub(ts[i]) < time.Second {
			j++
		}
		if n := j - i; float64(n) > qps*1.05+float64(max(1, qps/50)) {
			t.Fatalf("%d calls in the second from %s, want at most %d (--qps %d + 5%%)", n, ts[i].Sub(ts[0]), int(qps*1.05), qps)
		}
	}
}
