package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cardverify/cardverify/pipeline"
)

// insertCalls records one unanswered call per known pair in a single
// transaction, as a setup shortcut for Begin (which waits for a commit per
// call).
func insertCalls(tb testing.TB, db *DB, known []pipeline.Known) []int64 {
	tb.Helper()
	ids := make([]int64, len(known))
	_, err := db.q.exec(context.Background(), func(ctx context.Context, tx *sql.Conn) (int64, error) {
		st, err := tx.PrepareContext(ctx, "INSERT INTO calls (row_no, pair, card, attempt, day, sent_at) VALUES (?, ?, ?, 1, ?, ?)")
		if err != nil {
			return 0, err
		}
		defer st.Close()
		for i, k := range known {
			res, err := st.ExecContext(ctx, k.FirstRow, k.Pair[:], k.CardKey[:], pipeline.ChinaDay(base), formatTime(base))
			if err != nil {
				return 0, err
			}
			ids[i], _ = res.LastInsertId()
		}
		return 0, nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return ids
}

// BenchmarkWriter measures answers per second through the group-commit
// writer: concurrent Ends, each completing a ledger row and setting its
// pair's outcome, until all are durable.
func BenchmarkWriter(b *testing.B) {
	db, _ := tempDB(b)
	known := plan(b, db, people(b.N, 0, 10), 1000)
	ids := insertCalls(b, db, known)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	concurrently(b, db, 8, len(known), func(ctx context.Context, i int) error {
		c, o := answeredCall(known[i])
		return db.End(ctx, ids[i], c, &o)
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "results/s")
	reportCPU(b, cpu)
}

// BenchmarkCall measures calls per second through the ledger under load:
// 32 concurrent workers, each recording a call (Begin, which waits for its
// commit) and then its answer and outcome (End), as a run against an API
// that answers at once does, until all are durable.
func BenchmarkCall(b *testing.B) {
	db, _ := tempDB(b)
	known := plan(b, db, people(max(b.N, 1), 0, 16), 1000)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	concurrently(b, db, 32, b.N, func(ctx context.Context, i int) error {
		c, o := answeredCall(known[i])
		id, err := db.Begin(ctx, pipeline.Call{FirstRow: c.FirstRow, Pair: c.Pair, CardKey: c.CardKey, Attempt: 1, SentAt: base},
			pipeline.CardDailyLimit)
		if err != nil {
			return err
		}
		return db.End(ctx, id, c, &o)
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
	reportCPU(b, cpu)
}

// answeredCall is a billed match of pair k, as its End records it.
func answeredCall(k pipeline.Known) (pipeline.Call, pipeline.Outcome) {
	o := pipeline.Outcome{FirstRow: k.FirstRow, Status: pipeline.Match, Res: 1, JobID: "JH-bench", Answered: true,
		Reason: "成功", Attempts: 1, At: base}
	c := pipeline.Call{FirstRow: k.FirstRow, Pair: k.Pair, CardKey: k.CardKey, Attempt: 1, SentAt: base,
		Duration: 80 * time.Millisecond, HTTPStatus: 200, Answered: true, Billed: true, JobID: o.JobID}
	return c, o
}

// concurrently calls fn for 0 to n-1 from workers goroutines, each taking
// every workers-th, then waits until everything written is durable.
func concurrently(b *testing.B, db *DB, workers, n int, fn func(ctx context.Context, i int) error) {
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				if err := fn(ctx, i); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := db.flush(ctx); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkPlan measures rows per second through Plan for a fresh run, in
// batches of 512, until the rows are durable.
func BenchmarkPlan(b *testing.B) {
	ctx := context.Background()
	db, _ := tempDB(b)
	rows := people(b.N, 10, 11) // a duplicate every 10 rows
	known := make([]pipeline.Known, len(rows))
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	for i := 0; i < len(rows); i += 512 {
		j := min(i+512, len(rows))
		if err := db.Plan(ctx, rows[i:j], known[i:j]); err != nil {
			b.Fatal(err)
		}
	}
	if err := db.flush(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	reportCPU(b, cpu)
	db.plan.mu.Lock()
	b.ReportMetric(float64(db.plan.index.bytes())/float64(b.N), "index-B/row")
	db.plan.mu.Unlock()
}

// BenchmarkCallPaced measures the checkpoint's CPU per call at the
// vendor's pace, where no two operations share a commit: Begin (which
// waits for its commit), End, then a pause in which End's commit is done,
// as 50 calls a second leave it. cpu-ns/op is the process's CPU per call,
// the cost that the group commit cannot share out at that pace.
func BenchmarkCallPaced(b *testing.B) {
	ctx := context.Background()
	db, _ := tempDB(b)
	known := plan(b, db, people(max(b.N, 1), 0, 15), 1000)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	for i := range b.N {
		k := known[i]
		c := pipeline.Call{FirstRow: k.FirstRow, Pair: k.Pair, CardKey: k.CardKey, Attempt: 1, SentAt: base}
		id, err := db.Begin(ctx, c, pipeline.CardDailyLimit)
		if err != nil {
			b.Fatal(err)
		}
		o := pipeline.Outcome{FirstRow: k.FirstRow, Status: pipeline.Match, Res: 1, JobID: "JH-bench", Answered: true,
			Reason: "成功", Attempts: 1, At: base}
		c.Duration, c.HTTPStatus, c.Answered, c.Billed, c.JobID, c.MayReachBank = 50*time.Millisecond, 200, true, true, o.JobID, true
		if err := db.End(ctx, id, c, &o); err != nil {
			b.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
	}
	b.StopTimer()
	reportCPU(b, cpu)
	if err := db.flush(ctx); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkResumeFinished measures a resume of a finished checkpoint: open
// it, Plan every row (nothing left to send) and read every Result, as a
// re-run followed by the output would. The 1M-row size is skipped with
// -short.
func BenchmarkResumeFinished(b *testing.B) {
	for _, n := range []int{10_000, 1_000_000} {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			if n > 100_000 && testing.Short() {
				b.Skip("-short")
			}
			benchmarkResumeFinished(b, n)
		})
	}
}

// finishedCheckpoint writes a checkpoint of n rows, every tenth a
// duplicate, each pair answered mismatch, and returns its path and rows.
func finishedCheckpoint(b *testing.B, n int) (string, []pipeline.Row) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "finished.db")
	db := openT(b, path)
	rows := people(n, 10, 12)
	known := plan(b, db, rows, 1024)
	for i, k := range known {
		if k.FirstRow != rows[i].Row {
			continue
		}
		o := pipeline.Outcome{FirstRow: k.FirstRow, Status: pipeline.Mismatch, Res: 2, JobID: "JH-bench", Answered: true,
			Reason: "成功", Attempts: 1, At: base}
		if err := db.End(ctx, 0, pipeline.Call{FirstRow: k.FirstRow, Pair: k.Pair, CardKey: k.CardKey}, &o); err != nil {
			b.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	return path, rows
}

// BenchmarkResults measures reading every row's result of a finished
// checkpoint, what the output of a finished job's rerun reads: ns/row.
func BenchmarkResults(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			if n > 100_000 && testing.Short() {
				b.Skip("-short")
			}
			ctx := context.Background()
			path, _ := finishedCheckpoint(b, n)
			db, err := OpenReadOnly(ctx, path, testKeyFile(path))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			b.ReportAllocs()
			b.ResetTimer()
			cpu := cpuTime()
			for range b.N {
				rs, err := db.Results(ctx)
				if err != nil {
					b.Fatal(err)
				}
				got := 0
				for {
					r, err := rs.Next()
					if errors.Is(err, pipeline.EOF) {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					if r.Status != pipeline.Mismatch || r.At.IsZero() {
						b.Fatalf("row %d: %+v, want mismatch at a time", r.Row, r)
					}
					got++
				}
				if got != n {
					b.Fatalf("%d results, want %d", got, n)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/row")
			b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N*n), "cpu-ns/row")
		})
	}
}

func benchmarkResumeFinished(b *testing.B, n int) {
	ctx := context.Background()
	path, rows := finishedCheckpoint(b, n)
	known := make([]pipeline.Known, len(rows))
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	for range b.N {
		db, err := Open(ctx, path, testKeyFile(path))
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < len(rows); i += 1024 {
			j := min(i+1024, len(rows))
			if err := db.Plan(ctx, rows[i:j], known[i:j]); err != nil {
				b.Fatal(err)
			}
		}
		if known[len(known)-1].Prior.Status != pipeline.Mismatch {
			b.Fatalf("last row not finished: %+v", known[len(known)-1])
		}
		rs, err := db.Results(ctx)
		if err != nil {
			b.Fatal(err)
		}
		got := 0
		for {
			_, err := rs.Next()
			if errors.Is(err, pipeline.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			got++
		}
		if got != n {
			b.Fatalf("%d results, want %d", got, n)
		}
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "rows/s")
	reportCPU(b, cpu)
}

// reportCPU reports the CPU time per op since start: on a shared machine
// it varies less than the wall time.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

// BenchmarkStatus measures Status on a checkpoint of 100,000 rows, each
// with one answered call, over 3 runs on 3 China days (one after the
// other, as calls are made): what every run reads at its end and the
// output's Summary shows.
func BenchmarkStatus(b *testing.B) {
	const n = 100_000
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "status.db")
	db := openT(b, path)
	for r := range 3 {
		if _, err := db.BeginRun(ctx, RunInfo{InputPath: "list.csv", InputSHA256: "aa", Endpoint: "plain",
			Started: base.Add(time.Duration(r) * 24 * time.Hour)}); err != nil {
			b.Fatal(err)
		}
	}
	known := plan(b, db, people(n, 0, 13), 1024)
	for _, k := range known {
		o := pipeline.Outcome{FirstRow: k.FirstRow, Status: pipeline.Match, Res: 1, JobID: "JH-bench", Answered: true, Attempts: 1, At: base}
		if err := db.End(ctx, 0, pipeline.Call{FirstRow: k.FirstRow, Pair: k.Pair, CardKey: k.CardKey}, &o); err != nil {
			b.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	q, err := sql.Open("sqlite3", checkpointDSN(path))
	if err != nil {
		b.Fatal(err)
	}
	_, err = q.Exec(`INSERT INTO calls (id, run, row_no, pair, card, attempt, day, sent_at)
			SELECT row_no, 1 + row_no * 3 / (? + 2), row_no, fp, fp, 1, '2026-11-2' || (7 + row_no * 3 / (? + 2)), '2026-11-27T02:00:00.000000000Z' FROM rows;
		INSERT INTO answers (call, duration_ms, http_status, code, answered, billed, jobid)
			SELECT id, 100, 200, 0, 1, 1, 'JH' FROM calls`, n, n)
	q.Close()
	if err != nil {
		b.Fatal(err)
	}
	ro, err := OpenReadOnly(ctx, path, "")
	if err != nil {
		b.Fatal(err)
	}
	defer ro.Close()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		st, err := ro.Status(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if runs := st.RunLog[0].Calls + st.RunLog[1].Calls + st.RunLog[2].Calls; st.Calls != n || st.BilledCalls != n || len(st.Days) != 3 || runs != n {
			b.Fatalf("calls %d, billed %d, %d days, %d calls in the runs; want %d, %d, 3, %d", st.Calls, st.BilledCalls, len(st.Days), runs, n, n, n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/row")
}
