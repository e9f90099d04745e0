package pipeline

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

// memHistory is an in-memory History: it keeps what Record is given and
// returns the latest verdict per pair. It knows no rule of reuse.
type memHistory struct {
	mu       sync.Mutex
	verdicts map[string][]Verdict
	records  int
	lookups  int
}

func newHistory() *memHistory { return &memHistory{verdicts: map[string][]Verdict{}} }

func (h *memHistory) add(name, card string, v Verdict) {
	h.verdicts[name+"\x00"+card] = append(h.verdicts[name+"\x00"+card], v)
}

func (h *memHistory) Latest(ctx context.Context, rows []Row, found []Verdict) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, r := range rows {
		h.lookups++
		found[i] = Verdict{}
		for _, v := range h.verdicts[r.Name+"\x00"+r.Card] {
			if v.At.After(found[i].At) {
				found[i] = v
			}
		}
	}
	return nil
}

func (h *memHistory) Record(ctx context.Context, name, card string, o Outcome) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records++
	h.add(name, card, Verdict{Status: o.Status, Res: o.Res, JobID: o.JobID, At: o.At})
	return nil
}

func (h *memHistory) count(name, card string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.verdicts[name+"\x00"+card])
}

var historyNow = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func TestReuseWithinAndNotBeyond(t *testing.T) {
	const day = 24 * time.Hour
	h := newHistory()
	tenDays := historyNow.Add(-10 * day)
	h.add("张三", "6222000000000001", Verdict{Status: Mismatch, Res: 2, JobID: "OLD1", At: tenDays})
	h.add("李四", "6222000000000002", Verdict{Status: Match, Res: 1, JobID: "OLD2", At: historyNow.Add(-31 * day)})
	// Exactly at the limit: still within.
	h.add("王五", "6222000000000003", Verdict{Status: Match, Res: 1, JobID: "OLD3", At: historyNow.Add(-30 * day)})
	// The same pair with a newer card is another pair.
	h.add("赵六", "6222000000000099", Verdict{Status: Match, Res: 1, JobID: "OLD4", At: tenDays})

	api := newAPI()
	ck := newMem()
	cfg := fastConfig()
	cfg.History, cfg.ReuseWithin = h, 30*day
	cfg.Now = func() time.Time { return historyNow }
	src := rows(
		"张三", "6222000000000001",
		"李四", "6222000000000002",
		"王五", "6222000000000003",
		"赵六", "6222000000000004",
		"张三", "6222000000000001", // duplicate of row 2: shares the reused verdict
	)
	st := mustRun(t, src, ck, api, cfg)

	if got := api.callsFor("6222000000000001"); got != 0 {
		t.Errorf("calls for the pair verified 10 days ago = %d, want 0", got)
	}
	if got := api.callsFor("6222000000000003"); got != 0 {
		t.Errorf("calls for the pair verified exactly 30 days ago = %d, want 0", got)
	}
	if got := api.callsFor("6222000000000002"); got != 1 {
		t.Errorf("calls for the pair verified 31 days ago = %d, want 1", got)
	}
	if got := api.callsFor("6222000000000004"); got != 1 {
		t.Errorf("calls for the changed card = %d, want 1", got)
	}
	if st.Reused != 2 || st.Dispatched != 2 || st.Duplicates != 1 || st.Rows != 5 || st.Billed != 2 {
		t.Errorf("stats: reused %d dispatched %d duplicates %d rows %d billed %d, want 2 2 1 5 2",
			st.Reused, st.Dispatched, st.Duplicates, st.Rows, st.Billed)
	}
	if !st.OldestReused.Equal(historyNow.Add(-30 * day)) {
		t.Errorf("oldest reused = %v, want %v", st.OldestReused, historyNow.Add(-30*day))
	}

	o := ck.outcome(2)
	if o.Status != Mismatch || o.Res != 2 || o.JobID != "OLD1" || !o.At.Equal(tenDays) || o.Attempts != 0 {
		t.Errorf("reused row 2: got %v res %d jobid %q at %v attempts %d, want mismatch 2 OLD1 %v 0",
			o.Status, o.Res, o.JobID, o.At, o.Attempts, tenDays)
	}
	// 2026-11-21 10:00 UTC is 18:00 in China.
	if !strings.Contains(o.Reason, "reused") || !strings.Contains(o.Reason, "2026-11-21 18:00") || !strings.Contains(o.Reason, "OLD1") {
		t.Errorf("reused reason = %q, want it to say reused, 2026-11-21 18:00 and OLD1", o.Reason)
	}
	for _, r := range ck.results().res {
		if r.Row == 6 && (r.JobID != "OLD1" || r.DupOf != 2) {
			t.Errorf("duplicate row 6: jobid %q dup of %d, want OLD1 dup of 2", r.JobID, r.DupOf)
		}
	}
	if o := ck.outcome(3); o.JobID != "J6222000000000002" || !o.At.Equal(historyNow) {
		t.Errorf("row 3 (too old to reuse): jobid %q at %v, want a new call's J6222000000000002 at %v", o.JobID, o.At, historyNow)
	}
	// The two new verdicts are recorded, the reused ones are not again.
	if h.records != 2 || h.count("张三", "6222000000000001") != 1 || h.count("李四", "6222000000000002") != 2 {
		t.Errorf("history records = %d (张三 %d, 李四 %d), want 2 (1, 2)", h.records,
			h.count("张三", "6222000000000001"), h.count("李四", "6222000000000002"))
	}
}

func TestReuseOffByDefault(t *testing.T) {
	h := newHistory()
	h.add("张三", "6222000000000001", Verdict{Status: Match, Res: 1, JobID: "OLD1", At: historyNow.Add(-time.Hour)})
	api := newAPI()
	cfg := fastConfig()
	cfg.History = h
	cfg.Now = func() time.Time { return historyNow }
	st := mustRun(t, rows("张三", "6222000000000001"), newMem(), api, cfg)
	if api.total() != 1 || st.Reused != 0 || h.lookups != 0 {
		t.Errorf("without ReuseWithin: calls %d reused %d lookups %d, want 1 0 0", api.total(), st.Reused, h.lookups)
	}
	if h.records != 1 {
		t.Errorf("records = %d, want 1: a new verdict is recorded even without reuse", h.records)
	}
}

func TestHistoryRecordsOnlyBilledVerdicts(t *testing.T) {
	h := newHistory()
	api := newAPI()
	api.script("6222000000000002", code(Reject, 218804))
	api.script("6222000000000003", code(Defer, 218866))
	api.script("6222000000000004", Answer{Class: Billed, HTTPStatus: 200, Answered: true, Res: 0, JobID: "J4"}) // billed, no verdict
	cfg := fastConfig()
	cfg.History = h
	mustRun(t, rows(
		"张三", "6222000000000001",
		"李四", "6222000000000002",
		"王五", "6222000000000003",
		"赵六", "6222000000000004",
		"", "6222000000000005",
	), newMem(), api, cfg)
	if h.records != 1 || h.count("张三", "6222000000000001") != 1 {
		t.Errorf("records = %d, want only the match of row 2", h.records)
	}
}

func TestDryRunCountsReusableAndRecordsNothing(t *testing.T) {
	h := newHistory()
	h.add("张三", "6222000000000001", Verdict{Status: Match, Res: 1, JobID: "OLD1", At: historyNow.Add(-time.Hour)})
	ck := newMem()
	cfg := Config{DryRun: true, History: h, ReuseWithin: 24 * time.Hour, Now: func() time.Time { return historyNow }}
	st, err := Run(context.Background(), rows("张三", "6222000000000001", "李四", "6222000000000002", "", "x"), ck, nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if st.Reused != 1 || st.Dispatched != 1 || st.Invalid != 1 || st.Rows != 3 {
		t.Errorf("dry run: reused %d dispatched %d invalid %d rows %d, want 1 1 1 3", st.Reused, st.Dispatched, st.Invalid, st.Rows)
	}
	if o := ck.outcome(2); o.Status != Pending {
		t.Errorf("dry run recorded %v for the reusable row, want nothing (pending)", o.Status)
	}
	if h.records != 0 {
		t.Errorf("dry run recorded %d verdicts in the history", h.records)
	}
}

func TestReuseOnResumeKeepsCheckpointFinal(t *testing.T) {
	// A pair already final in the checkpoint is never looked up: resume
	// is unchanged by reuse.
	h := newHistory()
	h.add("张三", "6222000000000001", Verdict{Status: Mismatch, Res: 2, JobID: "OLD1", At: historyNow.Add(-time.Hour)})
	ck := newMem()
	api := newAPI()
	cfg := fastConfig()
	cfg.Now = func() time.Time { return historyNow }
	mustRun(t, rows("张三", "6222000000000001"), ck, api, cfg) // verified here first, no history
	cfg.History, cfg.ReuseWithin = h, 24*time.Hour
	st := mustRun(t, rows("张三", "6222000000000001"), ck, api, cfg)
	if st.Skipped != 1 || st.Reused != 0 || h.lookups != 0 {
		t.Errorf("resume: skipped %d reused %d lookups %d, want 1 0 0", st.Skipped, st.Reused, h.lookups)
	}
	if o := ck.outcome(2); o.JobID != "J6222000000000001" {
		t.Errorf("resume replaced the job's own verdict by the history's: jobid %q", o.JobID)
	}
}
