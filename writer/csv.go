package writer

import (
	"bufio"
	"encoding/csv"
	"io"
)

// csvFormat writes delimited text in UTF-8 with a byte-order mark (so that
// Excel reads Chinese correctly) and CRLF line ends (RFC 4180).
//
// Every input cell is written as the text the input showed, unchanged. A
// cell such as "=cmd|..." is therefore written as it was: a delimited file
// has no cell types, and altering the customer's cells would break the
// promise that the input columns are exactly the input. Whether such text
// becomes a live formula is the opening program's choice (Excel's is to
// evaluate it). The verdict columns, which cardverify writes, are made
// safe: one starting with = + - @ or a control character gets a leading
// apostrophe. Open untrusted lists through the XLSX output, where every
// text cell is typed as text.
//
// A delimited file has no second sheet: the Summary is in the XLSX output
// and in `cardverify status`.
type csvFormat struct {
	comma rune
	base  int // the column of the first verdict column
	buf   *bufio.Writer
	w     *csv.Writer
	rec   []string
}

func (f *csvFormat) start(w io.Writer) error {
	f.buf = bufio.NewWriterSize(w, 256<<10)
	f.w = csv.NewWriter(f.buf)
	f.w.Comma = f.comma
	f.w.UseCRLF = true
	_, err := f.buf.WriteString("\uFEFF")
	return err
}

func (f *csvFormat) begin(l *layout) error {
	f.base = l.base
	return nil
}

func (f *csvFormat) row(r *outRow) error {
	rec := f.rec[:0]
	for _, c := range r.cells {
		rec = append(rec, c.Value)
	}
	if r.extra != nil {
		for len(rec) < f.base {
			rec = append(rec, "")
		}
		for _, v := range r.extra {
			rec = append(rec, defuse(v))
		}
		for _, c := range r.overflow {
			rec = append(rec, c.Value)
		}
	}
	f.rec = rec
	return f.w.Write(rec)
}

func (f *csvFormat) finish(w io.Writer, s *stats) error {
	f.w.Flush()
	if err := f.w.Error(); err != nil {
		return err
	}
	return f.buf.Flush()
}

func (f *csvFormat) discard() {}

// defuse keeps a verdict cell from being read as a formula by a
// spreadsheet program that opens the file.
func defuse(v string) string {
	if v == "" {
		return v
	}
	switch v[0] {
	case '=', '+', '-', '@', '\t', '\r', '\n':
		return "'" + v
	}
	return v
}
