package writer

import (
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
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

// benchWrite writes b.N data rows to name and reports rows/s and the peak
// live heap seen between rows (sampled every 64k rows and at the end).
func benchWrite(b *testing.B, name string) {
	n := b.N
	if name == "out.xlsx" && n > maxSheetRows-1 {
		n = maxSheetRows - 1
	}
	header, row := benchRecords(n)
	path := filepath.Join(b.TempDir(), name)
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak uint64
	measure := func() {
		metrics.Read(sample)
		peak = max(peak, sample[0].Value.Uint64())
	}
	runtime.GC()
	b.ReportAllocs()
	b.ResetTimer()
	w, err := Create(path, Options{CardCol: 2, Summary: Summary{Version: "bench"}})
	if err != nil {
		b.Fatal(err)
	}
	if err := w.Write(header, pipeline.Outcome{}); err != nil {
		b.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		if err := w.Write(row(i)); err != nil {
			b.Fatal(err)
		}
		if i%(64<<10) == 0 {
			measure()
		}
	}
	measure()
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	measure()
	b.StopTimer()
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	if fi, err := os.Stat(path); err == nil {
		b.ReportMetric(float64(fi.Size())/(1<<20), "file-MB")
	}
}

// BenchmarkWriteXLSX writes b.N annotated rows to an XLSX file, Summary
// sheet and atomic rename included. Run with -benchtime=1000000x for the
// 1M-row figure.
func BenchmarkWriteXLSX(b *testing.B) { benchWrite(b, "out.xlsx") }

// BenchmarkWriteCSV is BenchmarkWriteXLSX for a CSV output.
func BenchmarkWriteCSV(b *testing.B) { benchWrite(b, "out.csv") }
