package writer

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/cardverify/cardverify/pipeline"
)

// TestHeldOutput writes a Held output: no temporary file exists while it
// is smaller than HeldBytes, one does once it is larger, and either way
// Spill makes one; Close leaves exactly the output, byte for byte what an output written
// without Held is.
func TestHeldOutput(t *testing.T) {
	for _, rows := range []int{50, 150000} {
		t.Run(fmt.Sprint(rows), func(t *testing.T) {
			dir := t.TempDir()
			write := func(name string, held bool, during func(*Writer)) []byte {
				path := filepath.Join(dir, name)
				w, err := Create(path, Options{Lang: "en", CardCol: 1, Held: held})
				if err != nil {
					t.Fatal(err)
				}
				w.Write(pipeline.Record{Row: 1, Kind: pipeline.Header, Cells: []pipeline.Cell{{Value: "name"}, {Value: "card"}}}, pipeline.Outcome{})
				for i := range rows {
					rec := pipeline.Record{Row: i + 2, Kind: pipeline.Data, Name: "n", Card: fmt.Sprintf("6222%012d", i),
						Cells: []pipeline.Cell{{Value: "n"}, {Value: fmt.Sprintf("6222%012d", i)}}}
					if err := w.Write(rec, pipeline.Outcome{Status: pipeline.Match, Res: 1, JobID: fmt.Sprintf("J%d", i)}); err != nil {
						t.Fatal(err)
					}
				}
				during(w)
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				b, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				return b
			}
			temps := func() int {
				m, _ := filepath.Glob(filepath.Join(dir, ".held.csv.tmp-*"))
				return len(m)
			}
			plain := write("plain.csv", false, func(*Writer) {})
			if rows > 1000 && len(plain) <= HeldBytes {
				t.Fatalf("%d rows make %d bytes: not past HeldBytes", rows, len(plain))
			}
			held := write("held.csv", true, func(w *Writer) {
				n := temps()
				if large := len(plain) > HeldBytes; (n == 1) != large {
					t.Errorf("%d rows (%d bytes): %d temporary files while writing; want one only past %d bytes", rows, len(plain), n, HeldBytes)
				}
				if err := w.Spill(); err != nil {
					t.Fatal(err)
				}
				if n := temps(); n != 1 {
					t.Errorf("%d temporary files after Spill; want 1", n)
				}
			})
			if !bytes.Equal(held, plain) {
				t.Errorf("the held output differs from the plain one")
			}
			if n := temps(); n != 0 {
				t.Errorf("%d temporary files left", n)
			}
		})
	}
}
