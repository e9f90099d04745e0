package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/cardverify/cardverify/pipeline"
)

// lingerFor sets how long the committer of the checkpoints opened next holds
// a batch of Ends, until the test ends.
func lingerFor(tb testing.TB, d time.Duration) {
	tb.Helper()
	was := endLinger
	endLinger = d
	tb.Cleanup(func() { endLinger = was })
}

// paced begins and ends one call for each of known in turn, as a run at the
// API's pace does: each Begin waits for its commit, each End is queued and
// the next call comes a few milliseconds later (enough for a committer that
// did not hold the End to commit it alone). It returns the ledger ids.
func paced(tb testing.TB, db *DB, known []pipeline.Known, after func(i int)) []int64 {
	tb.Helper()
	ctx := context.Background()
	ids := make([]int64, len(known))
	for i, k := range known {
		c := pipeline.Call{FirstRow: k.FirstRow, Pair: k.Pair, CardKey: k.CardKey, Attempt: 1, SentAt: base}
		id, err := db.Begin(ctx, c, pipeline.CardDailyLimit)
		if err != nil {
			tb.Fatal(err)
		}
		ids[i] = id
		if after != nil {
			after(i)
		}
		o := outcome(k.FirstRow, pipeline.Match, base)
		c.HTTPStatus, c.Answered, c.Billed, c.JobID = 200, true, true, o.JobID
		if err := db.End(ctx, id, c, &o); err != nil {
			tb.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return ids
}

// TestOneTransactionPerPacedCall counts the committer's transactions for
// calls made one after the other: the answer of each rides in the next
// call's transaction, so n calls take n transactions, not 2n; and each
// Begin's commit has made the answer before it durable.
func TestOneTransactionPerPacedCall(t *testing.T) {
	lingerFor(t, time.Hour) // only another operation, never the timer, ends a wait
	const n = 20
	db, path := tempDB(t)
	known := plan(t, db, people(n, 0, 3), n)
	if err := db.flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	before := db.q.commits.Load()
	raw := rawDB(t, path)
	paced(t, db, known, func(i int) {
		// Call i is recorded; the answers of calls 0 to i-1 with it.
		if got := queryInt(t, raw, "SELECT count(*) FROM answers"); got != i {
			t.Fatalf("after Begin %d: %d answers durable, want %d", i, got, i)
		}
	})
	if got := db.q.commits.Load() - before; got != n {
		t.Errorf("%d calls took %d transactions, want %d", n, got, n)
	}
	if got := queryInt(t, raw, "SELECT count(*) FROM answers"); got != n-1 {
		t.Errorf("before any flush: %d answers durable, want %d (the last waits for the next operation)", got, n-1)
	}
}

// TestLingeringAnswersDurable checks that an answer held for the next call
// is durable once a flush returns (what Results and Status do before they
// read), once Close returns, and after endLinger without any other
// operation.
func TestLingeringAnswersDurable(t *testing.T) {
	ctx := context.Background()
	bounded := func(what string, fn func() error) {
		t.Helper()
		done := make(chan error, 1)
		go func() { done <- fn() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("%s waits for the held answers' timer", what)
		}
	}

	t.Run("flush", func(t *testing.T) {
		lingerFor(t, time.Hour)
		db, _ := tempDB(t)
		paced(t, db, plan(t, db, people(3, 0, 4), 3), nil)
		bounded("flush", func() error { return db.flush(ctx) })
		if got := results(t, db); len(got) != 3 || got[2].Status != pipeline.Match {
			t.Errorf("results after a flush: %+v, want 3 matches", got)
		}
	})
	t.Run("close", func(t *testing.T) {
		lingerFor(t, time.Hour)
		path := filepath.Join(t.TempDir(), "job.db")
		db := openT(t, path)
		paced(t, db, plan(t, db, people(3, 0, 4), 3), nil)
		bounded("Close", db.Close)
		raw := rawDB(t, path)
		if got := queryInt(t, raw, "SELECT count(*) FROM answers"); got != 3 {
			t.Errorf("after Close: %d answers, want 3", got)
		}
		if got := queryInt(t, raw, "SELECT count(*) FROM outcomes WHERE status = 'match'"); got != 3 {
			t.Errorf("after Close: %d outcomes, want 3", got)
		}
	})
	t.Run("timer", func(t *testing.T) {
		lingerFor(t, 10*time.Millisecond)
		db, path := tempDB(t)
		paced(t, db, plan(t, db, people(1, 0, 4), 1), nil)
		raw := rawDB(t, path)
		for deadline := time.Now().Add(30 * time.Second); queryInt(t, raw, "SELECT count(*) FROM answers") != 1; {
			if time.Now().After(deadline) {
				t.Fatal("a lone answer is not durable 30 s after its End")
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
}
