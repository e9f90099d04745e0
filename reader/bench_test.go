package reader

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
)

// benchDir holds the generated benchmark inputs, shared by the runs of a
// benchmark (each b.N is a new run) and removed by TestMain.
var (
	benchDir     string
	benchDirOnce sync.Once
	benchFiles   sync.Map // name -> path
)

func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

// benchInput returns the path of a generated input, making it once.
func benchInput(b *testing.B, name string, make func(tb testing.TB, path string)) string {
	b.Helper()
	benchDirOnce.Do(func() {
		d, err := os.MkdirTemp("", "cardverify-reader-bench-")
		if err != nil {
			b.Fatal(err)
		}
		benchDir = d
	})
	if p, ok := benchFiles.Load(name); ok {
		return p.(string)
	}
	p := filepath.Join(benchDir, name)
	make(b, p)
	benchFiles.Store(name, p)
	return p
}

// benchCard returns a 19-digit card number for row i.
func benchCard(i int) string { return strconv.Itoa(6222020000000000000 + i*7919) }

// benchName returns a Chinese name for row i, without digits.
func benchName(i int) string { return "客户" + numberName(i) }

func writeBenchCSV(rows int) func(tb testing.TB, path string) {
	return func(tb testing.TB, path string) {
		f, err := os.Create(path)
		if err != nil {
			tb.Fatal(err)
		}
		w := bufio.NewWriterSize(f, 1<<20)
		w.WriteString("序号,姓名,银行卡号,开户日期,备注\n")
		for i := 1; i <= rows; i++ {
			fmt.Fprintf(w, "%d,%s,%s,2024-01-%02d,\n", i, benchName(i), benchCard(i), i%28+1)
		}
		if err := w.Flush(); err != nil {
			tb.Fatal(err)
		}
		f.Close()
	}
}

// writeBenchXLSX writes a workbook shaped like Excel's and LibreOffice's:
// names and cards in the shared strings, a number and a date per row.
func writeBenchXLSX(rows int) func(tb testing.TB, path string) {
	return func(tb testing.TB, path string) {
		writeZip(tb, path, bookParts(func(w io.Writer) error {
			bw := bufio.NewWriterSize(w, 1<<20)
			fmt.Fprintf(bw, `<dimension ref="A1:D%d"/><sheetData>`, rows+1)
			bw.WriteString(`<row r="1"><c r="A1" t="inlineStr"><is><t>序号</t></is></c><c r="B1" t="inlineStr"><is><t>姓名</t></is></c>` +
				`<c r="C1" t="inlineStr"><is><t>银行卡号</t></is></c><c r="D1" t="inlineStr"><is><t>开户日期</t></is></c></row>`)
			for i := 1; i <= rows; i++ {
				r := i + 1
				fmt.Fprintf(bw, `<row r="%d" spans="1:4"><c r="A%d"><v>%d</v></c><c r="B%d" t="s"><v>%d</v></c><c r="C%d" t="s"><v>%d</v></c><c r="D%d" s="2"><v>%d</v></c></row>`,
					r, r, i, r, 2*(i-1), r, 2*(i-1)+1, r, 45000+i%1000)
			}
			bw.WriteString(`</sheetData>`)
			return bw.Flush()
		}, func(w io.Writer) error {
			bw := bufio.NewWriterSize(w, 1<<20)
			for i := 1; i <= rows; i++ {
				fmt.Fprintf(bw, "<si><t>%s</t></si><si><t>%s</t></si>", benchName(i), benchCard(i))
			}
			return bw.Flush()
		}))
	}
}

// readBench reads path to the end b.N times and reports rows/s, the peak
// heap in use (garbage included) sampled every 20,000 rows, and the heap
// still live at the end of the first read.
func readBench(b *testing.B, path string) {
	b.Helper()
	var peak, live uint64
	var ms runtime.MemStats
	runtime.GC()
	b.ReportAllocs()
	b.ResetTimer()
	rows := 0
	for i := 0; i < b.N; i++ {
		r, err := Open(path, Options{})
		if err != nil {
			b.Fatal(err)
		}
		for {
			rec, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if len(rec.Problems) > 0 {
				b.Fatalf("row %d: %q", rec.Row, rec.Problems)
			}
			rows++
			if rows%20000 == 0 {
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
			}
		}
		if i == 0 {
			// What the reader keeps once it has read everything.
			b.StopTimer()
			runtime.GC()
			runtime.ReadMemStats(&ms)
			live = ms.HeapAlloc
			b.StartTimer()
		}
		r.Close()
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(live)/(1<<20), "live-heap-MB")
}

// BenchmarkReadCSV reads a generated CSV of 100k and 1M rows. Compare
// peak-heap-MB between the two: it must not grow with the rows.
func BenchmarkReadCSV(b *testing.B) {
	for _, n := range []int{100000, 1000000} {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			readBench(b, benchInput(b, fmt.Sprintf("%d.csv", n), writeBenchCSV(n)))
		})
	}
}

// BenchmarkReadXLSX reads a generated workbook of 100k and 1M rows.
// Compare peak-heap-MB between the two: the sheet is streamed, and the
// shared strings past 16 MB go to a temporary file.
func BenchmarkReadXLSX(b *testing.B) {
	for _, n := range []int{100000, 1000000} {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			readBench(b, benchInput(b, fmt.Sprintf("%d.xlsx", n), writeBenchXLSX(n)))
		})
	}
}
