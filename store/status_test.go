package store

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cardverify/cardverify/pipeline"
)

// TestStatusCountsUnreadRows records a run that read 4 rows of a 10-row
// input and dies: before the input's rows are counted, status says its
// count is incomplete; once counted, the 6 rows not read are pending and
// the rows add up to 10, as the output holds them; once a run has read
// every row, the rows table is the whole input.
func TestStatusCountsUnreadRows(t *testing.T) {
	ctx := context.Background()
	db, path := tempDB(t)
	id, err := db.BeginRun(ctx, RunInfo{InputPath: "list.csv", InputSHA256: strings.Repeat("ab", 32), Endpoint: "plain", Started: base})
	if err != nil {
		t.Fatal(err)
	}
	rows := people(10, 0, 3)
	known := plan(t, db, rows[:4], 10)
	answer(t, db, known[0], pipeline.Match, base)
	status := func() Status {
		t.Helper()
		st, err := db.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	if st := status(); st.Rows != 4 || st.Pending != 3 || !st.Uncounted || st.Unread != 0 {
		t.Errorf("before the count: rows %d, pending %d, unread %d, uncounted %v; want 4, 3, 0, true", st.Rows, st.Pending, st.Unread, st.Uncounted)
	}
	if err := db.SetInputRows(ctx, id, 10, 2); err != nil { // 2 invalid rows among the 6 not read
		t.Fatal(err)
	}
	if n, ok, err := db.InputRows(ctx); n != 10 || !ok || err != nil {
		t.Errorf("InputRows = %d, %v, %v; want 10, true", n, ok, err)
	}
	if err := db.Close(); err != nil { // the run dies
		t.Fatal(err)
	}
	st := readOnlyStatus(t, path)
	if st.Rows != 10 || st.Match != 1 || st.Invalid != 2 || st.Pending != 7 || st.Unread != 6 || st.Uncounted {
		t.Errorf("after the count: rows %d, match %d, invalid %d, pending %d, unread %d, uncounted %v; want 10, 1, 2, 7, 6, false",
			st.Rows, st.Match, st.Invalid, st.Pending, st.Unread, st.Uncounted)
	}

	db = openT(t, path)
	id2, err := db.BeginRun(ctx, RunInfo{InputPath: "list.csv", InputSHA256: strings.Repeat("ab", 32), Endpoint: "plain", Started: base})
	if err != nil {
		t.Fatal(err)
	}
	plan(t, db, rows, 10)
	if err := db.MarkReadAll(ctx, id2); err != nil {
		t.Fatal(err)
	}
	if st := status(); st.Rows != 10 || st.Pending != 9 || st.Unread != 0 || st.Uncounted {
		t.Errorf("after a run read every row: rows %d, pending %d, unread %d, uncounted %v; want 10, 9, 0, false", st.Rows, st.Pending, st.Unread, st.Uncounted)
	}
}

// readOnlyStatus is the status of the checkpoint at path as `cardverify
// status` reads it: read-only, without the key.
func readOnlyStatus(tb testing.TB, path string) Status {
	tb.Helper()
	ro, err := OpenReadOnly(context.Background(), path, "")
	if err != nil {
		tb.Fatal(err)
	}
	defer ro.Close()
	st, err := ro.Status(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return st
}

// TestStatusDaySharedByRuns records three runs: the first two on the same
// China day (a run resumed the same day), the third on the next, and
// checks the calls per run and per day against literal counts: a day's
// calls are split between the runs that made them.
func TestStatusDaySharedByRuns(t *testing.T) {
	ctx := context.Background()
	db, path := tempDB(t)
	ri := RunInfo{InputPath: "list.csv", InputSHA256: strings.Repeat("ab", 32), Endpoint: "plain", Started: base}
	id1, err := db.BeginRun(ctx, ri)
	if err != nil {
		t.Fatal(err)
	}
	known := plan(t, db, people(6, 0, 9), 10)
	answer(t, db, known[0], pipeline.Match, base)
	answer(t, db, known[1], pipeline.Rejected, base.Add(time.Minute))
	if err := db.EndRun(ctx, id1, base.Add(time.Hour), StopInterrupted); err != nil {
		t.Fatal(err)
	}
	ri.Started = base.Add(2 * time.Hour) // 12:00 China time, the same day
	id2, err := db.BeginRun(ctx, ri)
	if err != nil {
		t.Fatal(err)
	}
	answer(t, db, known[2], pipeline.Mismatch, ri.Started)
	answer(t, db, known[3], pipeline.Match, ri.Started.Add(time.Minute))
	answer(t, db, known[4], pipeline.Match, ri.Started.Add(2*time.Minute))
	if err := db.EndRun(ctx, id2, ri.Started.Add(time.Hour), StopInterrupted); err != nil {
		t.Fatal(err)
	}
	ri.Started = base.Add(24 * time.Hour)
	id3, err := db.BeginRun(ctx, ri)
	if err != nil {
		t.Fatal(err)
	}
	answer(t, db, known[5], pipeline.Mismatch, ri.Started)
	if err := db.EndRun(ctx, id3, ri.Started.Add(time.Hour), StopDone); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	st := readOnlyStatus(t, path)
	wantDays := []DayCount{{Day: "2026-11-27", Calls: 5, Billed: 4}, {Day: "2026-11-28", Calls: 1, Billed: 1}}
	if fmt.Sprint(st.Days) != fmt.Sprint(wantDays) {
		t.Errorf("days %+v, want %+v", st.Days, wantDays)
	}
	want := [][2]int{{2, 1}, {3, 3}, {1, 1}} // calls, billed
	if len(st.RunLog) != len(want) {
		t.Fatalf("%d runs, want %d: %+v", len(st.RunLog), len(want), st.RunLog)
	}
	for i, w := range want {
		if r := st.RunLog[i]; r.Calls != w[0] || r.Billed != w[1] {
			t.Errorf("run %d: %d calls, %d billed; want %d, %d", r.ID, r.Calls, r.Billed, w[0], w[1])
		}
	}
	if st.Calls != 6 || st.BilledCalls != 5 {
		t.Errorf("calls %d, billed %d; want 6, 5", st.Calls, st.BilledCalls)
	}
}
