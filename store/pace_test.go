package store

import (
	"context"
	"testing"
	"time"

	"github.com/cardverify/cardverify/pipeline"
)

// TestPacedCallTransactions counts the committer's transactions for calls
// made one after the other, as a run at the API's pace makes them: each
// Begin waits for its commit, each End is queued and the next call comes a
// few milliseconds later. A call takes its Begin's transaction, durable
// before it is sent, and at most one more for its answer, which is durable
// before the next call's Begin returns; nothing else (the card counts, the
// overlay) adds one.
func TestPacedCallTransactions(t *testing.T) {
	const n = 20
	ctx := context.Background()
	db, path := tempDB(t)
	known := plan(t, db, people(n, 0, 3), n)
	if err := db.flush(ctx); err != nil {
		t.Fatal(err)
	}
	raw := rawDB(t, path)
	before := db.q.commits.Load()
	for i, k := range known {
		c := pipeline.Call{FirstRow: k.FirstRow, Pair: k.Pair, CardKey: k.CardKey, Attempt: 1, SentAt: base}
		id, err := db.Begin(ctx, c, pipeline.CardDailyLimit)
		if err != nil {
			t.Fatal(err)
		}
		if got := queryInt(t, raw, "SELECT count(*) FROM calls"); got != i+1 {
			t.Fatalf("Begin %d returned with %d calls durable, want %d", i, got, i+1)
		}
		o := outcome(k.FirstRow, pipeline.Match, base)
		c.HTTPStatus, c.Answered, c.Billed, c.JobID = 200, true, true, o.JobID
		if err := db.End(ctx, id, c, &o); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := db.flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := db.q.commits.Load() - before; got < n || got > 2*n+1 {
		t.Errorf("%d paced calls took %d transactions, want %d to %d (the Begins', at most one more a call, the flush's)", n, got, n, 2*n+1)
	}
}

// TestLoneAnswerDurable: an End with nothing queued after it is committed
// on its own, without waiting for another operation or for Close.
func TestLoneAnswerDurable(t *testing.T) {
	db, path := tempDB(t)
	answer(t, db, plan(t, db, people(1, 0, 4), 1)[0], pipeline.Match, base)
	raw := rawDB(t, path)
	for deadline := time.Now().Add(30 * time.Second); queryInt(t, raw, "SELECT count(*) FROM answers") != 1; {
		if time.Now().After(deadline) {
			t.Fatal("a lone answer is not durable 30 s after its End")
		}
		time.Sleep(time.Millisecond)
	}
}
