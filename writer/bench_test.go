package writer

import (
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cardverify/cardverify/pipeline"
)

// benchRows makes a header and n data rows shaped like a customer list:
// a sequence number, a name, a card, an ID with leading zeros, a date, an
// amount and a note.
func benchRecords(n int) (header pipeline.Record, row func(i int) (pipeline.Record, pipeline.Outcome)) {
	header = pipeline.Record{Row: 1, Kind: pipeline.Header,
		Cells: cellsOf("序号", "姓名", "银行卡号", "客户编号", "开户日期", "金额", "备注")}
	cells := make([]pipeline.Cell, 7)
	at := time.Date(2026, 11, 27, 2, 30, 0, 0, time.UTC)
	row = func(i int) (pipeline.Record, pipeline.Outcome) {
		seq := itoa(i)
		cells[0] = pipeline.Cell{Value: seq, Type: pipeline.Number, Raw: seq}
		cells[1] = pipeline.Cell{Value: "张三丰"}
		cells[2] = pipeline.Cell{Value: "621700318000" + itoa(1000000+i)}
		cells[3] = pipeline.Cell{Value: "000" + seq}
		cells[4] = pipeline.Cell{Value: "2024-01-01", Type: pipeline.Date, Raw: "45292", NumFmt: "yyyy-mm-dd"}
		cells[5] = pipeline.Cell{Value: "1,234.50", Type: pipeline.Number, Raw: "1234.5", NumFmt: "#,##0.00"}
		cells[6] = pipeline.Cell{Value: "月度核验"}
		o := pipeline.Outcome{Status: pipeline.Match, Res: 1, JobID: "JH1881201222171529845853DG",
			Answered: true, Reason: "成功", At: at.Add(time.Duration(i) * time.Millisecond)}
		if i%10 == 0 {
			o = pipeline.Outcome{Status: pipeline.Mismatch, Res: 2, JobID: "JH1881201222171529845854DG",
				Answered: true, Reason: "成功", At: at}
		}
		return pipeline.Record{Row: i + 1, Kind: pipeline.Data, Cells: cells}, o
	}
	return header, row
}

// benchWrite writes rows data rows to name once per iteration and reports
// the time and allocations per row and the peak live heap, sampled every
// millisecond by a goroutine of its own (so a buffer that grows and goes
// within a few rows is seen too).
func benchWrite(b *testing.B, name string, rows int) {
	header, row := benchRecords(rows)
	dir := b.TempDir()
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		path := filepath.Join(dir, itoa(i)+"-"+name)
		writeBench(b, path, header, row, rows)
		if i == 0 {
			if fi, err := os.Stat(path); err == nil {
				b.ReportMetric(float64(fi.Size())/(1<<20), "file-MB")
			}
		}
		os.Remove(path)
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	close(stop)
	<-sampled
	n := float64(b.N) * float64(rows)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/row")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/n, "B/row")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/n, "allocs/row")
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
}

// writeBench writes one output of rows data rows at path.
func writeBench(b *testing.B, path string, header pipeline.Record,
	row func(int) (pipeline.Record, pipeline.Outcome), rows int) {
	w, err := Create(path, Options{CardCol: 2, Summary: Summary{Version: "bench"}})
	if err != nil {
		b.Fatal(err)
	}
	if err := w.Write(header, pipeline.Outcome{}); err != nil {
		b.Fatal(err)
	}
	for i := 1; i <= rows; i++ {
		if err := w.Write(row(i)); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
}

// benchSizes are the list sizes the write benchmarks run; the 1M case is
// left out with -short.
var benchSizes = []struct {
	name string
	rows int
}{{"100k", 100_000}, {"1M", 1_000_000}}

func benchFormat(b *testing.B, name string) {
	for _, sz := range benchSizes {
		b.Run(sz.name, func(b *testing.B) {
			if testing.Short() && sz.rows > 100_000 {
				b.Skip("1M rows: not with -short")
			}
			benchWrite(b, name, sz.rows)
		})
	}
}

// BenchmarkWriteXLSX writes 100k and 1M annotated rows to an XLSX file,
// Summary sheet and atomic rename included, and reports ns/row, B/row and
// the peak live heap. Compare runs with -count=5 and benchstat.
func BenchmarkWriteXLSX(b *testing.B) { benchFormat(b, "out.xlsx") }

// BenchmarkWriteCSV is BenchmarkWriteXLSX for a CSV output.
func BenchmarkWriteCSV(b *testing.B) { benchFormat(b, "out.csv") }
