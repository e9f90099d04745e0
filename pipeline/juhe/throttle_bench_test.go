package juhe_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cardverify/cardverify/pipeline"
	"github.com/cardverify/cardverify/pipeline/juhe"
	"github.com/cardverify/cardverify/pipeline/juhe/juhetest"
)

// BenchmarkHiddenLimit runs the pipeline with the real client against a
// fake whose hidden limit L is below --qps (10011 above it), for 10 s to
// settle and 10 s measured, and reports the answered rate over L (issue 11
// wants >= 0.95) and the share of throttled calls (<= 3%).
func BenchmarkHiddenLimit(b *testing.B) {
	for _, limit := range []float64{20, 50, 300} {
		for _, times := range []float64{2, 10} {
			b.Run(fmt.Sprintf("L=%g/qps=%g", limit, times*limit), func(b *testing.B) {
				ratio, throttled := hiddenLimitRun(b, limit, times*limit, 10*time.Second, 10*time.Second)
				b.ReportMetric(ratio, "throughput/L")
				b.ReportMetric(throttled*100, "%throttled")
			})
		}
	}
}

// hiddenLimitRun runs against a hidden limit for settle, then measures for
// measure, and returns the answered rate over limit and the throttled
// share of the calls measured.
func hiddenLimitRun(tb testing.TB, limit, qps float64, settle, measure time.Duration) (ratio, throttled float64) {
	srv := juhetest.NewServer(tb, juhetest.Options{Key: "k", MaxLog: -1, Latency: 20 * time.Millisecond})
	srv.SetHiddenLimit(limit)
	c, err := juhe.New(juhe.Config{BaseURL: srv.URL, Key: "k"})
	if err != nil {
		tb.Fatal(err)
	}
	n := int(qps*(settle+measure).Seconds()) + 1000
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := pipeline.Run(context.Background(), &cardSource{n: n}, &nullCheckpoint{}, c, pipeline.Config{QPS: qps, Stop: stop})
		done <- err
	}()
	time.Sleep(settle)
	calls0, billed0 := srv.Calls(), srv.Billed()
	time.Sleep(measure)
	calls, billed := srv.Calls()-calls0, srv.Billed()-billed0
	close(stop)
	<-done
	if calls == 0 {
		tb.Fatal("no call measured")
	}
	return float64(billed) / measure.Seconds() / limit, float64(calls-billed) / float64(calls)
}

// cardSource yields n rows whose cards the fake matches.
type cardSource struct{ i, n int }

func (s *cardSource) Next() (pipeline.Record, error) {
	if s.i == s.n {
		return pipeline.Record{}, pipeline.EOF
	}
	s.i++
	return pipeline.Record{Kind: pipeline.Data, Row: s.i + 1, Name: "张三", Card: juhetest.MatchCard(s.i)}, nil
}

// nullCheckpoint knows nothing and keeps nothing: every row is a new pair.
type nullCheckpoint struct{ id atomic.Int64 }

func (c *nullCheckpoint) Plan(ctx context.Context, rows []pipeline.Row, known []pipeline.Known) error {
	for i, r := range rows {
		known[i] = pipeline.Known{Pair: sha256.Sum256([]byte(r.Card)), CardKey: sha256.Sum256([]byte("c" + r.Card)), FirstRow: r.Row}
	}
	return nil
}

func (c *nullCheckpoint) Begin(context.Context, pipeline.Call, int) (int64, error) {
	return c.id.Add(1), nil
}

func (c *nullCheckpoint) End(context.Context, int64, pipeline.Call, *pipeline.Outcome) error {
	return nil
}
