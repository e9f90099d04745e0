package pipeline

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// manyRecords returns a source of n distinct data rows.
func manyRecords(n int) *sliceSource {
	src := &sliceSource{recs: make([]Record, 0, n+1)}
	src.recs = append(src.recs, Record{Row: 1, Kind: Header})
	for i := range n {
		src.recs = append(src.recs, Record{Row: i + 2, Kind: Data, Name: "张三", Card: fmt.Sprintf("62220200%011d", i)})
	}
	return src
}

// timedAPI answers every call with a match after a fixed latency and
// records when the calls were made.
type timedAPI struct {
	latency time.Duration
	mu      sync.Mutex
	first   time.Time
	last    time.Time
	calls   int
	times   []time.Time
}

func (f *timedAPI) Verify(ctx context.Context, name, card string) (Answer, error) {
	now := time.Now()
	f.mu.Lock()
	if f.calls == 0 {
		f.first = now
	}
	f.last = now
	f.calls++
	f.times = append(f.times, now)
	f.mu.Unlock()
	if !sleep(ctx, f.latency) {
		return Answer{Class: Transient}, ctx.Err()
	}
	return Answer{Class: Billed, HTTPStatus: 200, Answered: true, Res: 1, JobID: "J"}, nil
}

// BenchmarkRate measures the achieved call rate against --qps with a 50 ms
// API, over about three seconds of calls per QPS. The target ratio is 0.98
// to 1.01. Workers are sized by the pipeline from the observed latency.
func BenchmarkRate(b *testing.B) {
	for _, qps := range []float64{10, 100, 1000} {
		b.Run(fmt.Sprintf("qps=%g", qps), func(b *testing.B) {
			var ratio, peak float64
			for b.Loop() {
				api := &timedAPI{latency: 50 * time.Millisecond}
				n := int(qps * 3)
				if _, err := Run(context.Background(), manyRecords(n), newMem(), api, Config{QPS: qps}); err != nil {
					b.Fatal(err)
				}
				// n calls span n-1 intervals; the burst's extra calls
				// come at the start, so measure from the first call.
				ratio = float64(api.calls-1) / api.last.Sub(api.first).Seconds() / qps
				peak = float64(busiestSecond(api.times)) / qps
			}
			b.ReportMetric(ratio, "achieved/qps")
			b.ReportMetric(peak, "busiest-second/qps")
		})
	}
}

// BenchmarkRun measures the pipeline's own cost per row: an instant API and
// an in-memory checkpoint, no rate limit to speak of.
func BenchmarkRun(b *testing.B) {
	const n = 100_000
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		src := manyRecords(n)
		b.StartTimer()
		if _, err := Run(context.Background(), src, newMem(), &timedAPI{}, Config{QPS: 1e9, Workers: 8}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "rows/s")
}

// busiestSecond returns the most calls in any one-second window of the
// sorted call times ts.
func busiestSecond(ts []time.Time) int {
	most, j := 0, 0
	for i := range ts {
		for ts[i].Sub(ts[j]) >= time.Second {
			j++
		}
		most = max(most, i-j+1)
	}
	return most
}
