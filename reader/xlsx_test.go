package reader

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cardverify/cardverify/pipeline"
	"github.com/cardverify/cardverify/pipeline/msg"
)

// part is one file of a generated workbook.
type part struct {
	name  string
	write func(w io.Writer) error
}

func text(name, s string) part {
	return part{name, func(w io.Writer) error { _, err := io.WriteString(w, s); return err }}
}

const (
	xmlHead     = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n"
	mainNS      = `xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"`
	relNS       = `xmlns="http://schemas.openxmlformats.org/package/2006/relationships"`
	relTypeBase = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
)

// bookParts returns the parts of a workbook with one sheet whose XML body
// (the children of <worksheet>) writeSheet writes, and shared strings
// written by writeSST when it is not nil.
func bookParts(writeSheet, writeSST func(w io.Writer) error) []part {
	rels := `<Relationship Id="rId1" Type="` + relTypeBase + `worksheet" Target="worksheets/sheet1.xml"/>` +
		`<Relationship Id="rId2" Type="` + relTypeBase + `styles" Target="styles.xml"/>`
	if writeSST != nil {
		rels += `<Relationship Id="rId3" Type="` + relTypeBase + `sharedStrings" Target="sharedStrings.xml"/>`
	}
	parts := []part{
		text("[Content_Types].xml", xmlHead+`<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>`),
		text("_rels/.rels", xmlHead+`<Relationships `+relNS+`><Relationship Id="rId1" Type="`+relTypeBase+`officeDocument" Target="xl/workbook.xml"/></Relationships>`),
		text("xl/workbook.xml", xmlHead+`<workbook `+mainNS+`><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>`),
		text("xl/_rels/workbook.xml.rels", xmlHead+`<Relationships `+relNS+`>`+rels+`</Relationships>`),
		text("xl/styles.xml", xmlHead+`<styleSheet `+mainNS+`><numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy/m/d"/></numFmts>`+
			`<cellXfs count="3"><xf numFmtId="0"/><xf numFmtId="49"/><xf numFmtId="164"/></cellXfs></styleSheet>`),
		{"xl/worksheets/sheet1.xml", func(w io.Writer) error {
			if _, err := io.WriteString(w, xmlHead+`<worksheet `+mainNS+`>`); err != nil {
				return err
			}
			if err := writeSheet(w); err != nil {
				return err
			}
			_, err := io.WriteString(w, `</worksheet>`)
			return err
		}},
	}
	if writeSST != nil {
		parts = append(parts, part{"xl/sharedStrings.xml", func(w io.Writer) error {
			if _, err := io.WriteString(w, xmlHead+`<sst `+mainNS+`>`); err != nil {
				return err
			}
			if err := writeSST(w); err != nil {
				return err
			}
			_, err := io.WriteString(w, `</sst>`)
			return err
		}})
	}
	return parts
}

func writeZip(tb testing.TB, path string, parts []part) {
	tb.Helper()
	writeZipMethod(tb, path, parts, zip.Deflate)
}

// writeZipMethod writes parts with the given method: zip.Store saves the
// time of compressing big incompressible parts under the race detector.
func writeZipMethod(tb testing.TB, path string, parts []part, method uint16) {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	zw := zip.NewWriter(f)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) { return flate.NewWriter(w, flate.BestSpeed) })
	for _, p := range parts {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: p.name, Method: method})
		if err != nil {
			tb.Fatal(err)
		}
		if err := p.write(w); err != nil {
			tb.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
}

// sheetBook writes a workbook whose sheetData holds rows and whose shared
// strings are sst (none when nil), and returns its path.
func sheetBook(tb testing.TB, rows string, sst []string) string {
	tb.Helper()
	return sheetBookMethod(tb, rows, sst, zip.Deflate)
}

func sheetBookMethod(tb testing.TB, rows string, sst []string, method uint16) string {
	tb.Helper()
	var writeSST func(io.Writer) error
	if sst != nil {
		writeSST = func(w io.Writer) error {
			for _, s := range sst {
				if _, err := fmt.Fprintf(w, "<si><t>%s</t></si>", s); err != nil {
					return err
				}
			}
			return nil
		}
	}
	path := filepath.Join(tb.TempDir(), "book.xlsx")
	writeZipMethod(tb, path, bookParts(func(w io.Writer) error {
		_, err := io.WriteString(w, "<sheetData>"+rows+"</sheetData>")
		return err
	}, writeSST), method)
	return path
}

const header = `<row r="1"><c r="A1" t="inlineStr"><is><t>姓名</t></is></c><c r="B1" t="inlineStr"><is><t>卡号</t></is></c></row>`

func TestGeneratedWorkbook(t *testing.T) {
	rows := header +
		// Shared strings, with a phonetic run that is not part of the text.
		`<row r="2"><c r="A2" t="s"><v>0</v></c><c r="B2" t="s"><v>1</v></c></row>` +
		// No r attributes: the cells follow each other.
		`<row><c t="inlineStr"><is><r><t>李</t></r><r><t>四</t></r></is></c><c t="inlineStr"><is><t>` + cardB + `</t></is></c></row>` +
		// A boolean, an error, a date, a text-formatted number.
		`<row r="5"><c r="A5" t="b"><v>1</v></c><c r="B5" t="e"><v>#N/A</v></c><c r="C5" s="2"><v>45292.5</v></c><c r="D5" s="1"><v>12</v></c></row>` +
		// Absolute references and a prefixed namespace are fine too.
		`<row r="6"><c r="$A$6" t="inlineStr"><is><t>王五</t></is></c><c r="B6" t="str"><f>A1</f><v>` + cardC + `</v></c></row>`
	sst := []string{"张三<rPh><t>ZHANG</t></rPh>", cardA}
	_, recs := openAll(t, sheetBook(t, rows, sst), Options{})
	checkRecords(t, recs, []want{
		{row: 1, kind: pipeline.Header},
		{row: 2, kind: pipeline.Data, name: "张三", card: cardA},
		{row: 3, kind: pipeline.Data, name: "李四", card: cardB},
		{row: 4, kind: pipeline.Blank},
		{row: 5, kind: pipeline.Data, name: "TRUE", card: "#N/A", problem: "other than digits"},
		{row: 6, kind: pipeline.Data, name: "王五", card: cardC},
	})
	wantCells := []pipeline.Cell{
		{Value: "TRUE", Type: pipeline.Bool, Raw: "1"},
		{Value: "#N/A"},
		{Value: "2024/1/1", Type: pipeline.Date, Raw: "45292.5", NumFmt: "yyyy/m/d"},
		{Value: "12", Type: pipeline.Number, Raw: "12", NumFmt: "@"},
	}
	for i, w := range wantCells {
		if got := recs[4].Cells[i]; got != w {
			t.Errorf("row 5 cell %d = %+v, want %+v", i, got, w)
		}
	}
}

// TestSharedStringsOnDisk reads a workbook whose shared strings do not fit
// in memory, so that they go to a temporary file.
func TestSharedStringsOnDisk(t *testing.T) {
	defer func(m int64) { sstMemory = m }(sstMemory)
	sstMemory = 64 << 10
	const n = 20000
	names := func(i int) string { return fmt.Sprintf("客户%s号%s", strings.Repeat("甲", 20), numberName(i)) }
	path := filepath.Join(t.TempDir(), "big.xlsx")
	writeZip(t, path, bookParts(func(w io.Writer) error {
		io.WriteString(w, "<sheetData>"+header)
		// Rows refer to the strings backwards, to defeat the block cache.
		for i := 0; i < n; i++ {
			j := n - 1 - i
			fmt.Fprintf(w, `<row r="%d"><c t="s"><v>%d</v></c><c t="inlineStr"><is><t>%s</t></is></c></row>`, i+2, j, cardA)
		}
		_, err := io.WriteString(w, "</sheetData>")
		return err
	}, func(w io.Writer) error {
		for i := 0; i < n; i++ {
			fmt.Fprintf(w, "<si><t>%s</t></si>", names(i))
		}
		return nil
	}))
	r, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	src := r.src.(*sheetSource)
	if src.sst.file == nil {
		t.Fatalf("shared strings of %d bytes stayed in memory", src.sst.size)
	}
	for i := 0; ; i++ {
		rec, err := r.Next()
		if err == io.EOF {
			if i != n+1 {
				t.Fatalf("read %d records, want %d", i, n+1)
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			continue
		}
		if want := names(n - i); rec.Cells[0].Value != want {
			t.Fatalf("row %d name = %q, want %q", rec.Row, rec.Cells[0].Value, want)
		}
	}
}

// numberName spells i with Chinese digits, so that names have no digits.
func numberName(i int) string {
	const d = "零一二三四五六七八九"
	var b strings.Builder
	for _, c := range fmt.Sprint(i) {
		b.WriteString(string([]rune(d)[c-'0']))
	}
	return b.String()
}

// rawZip writes a zip whose single-part contents and sizes are given as is,
// to fake a zip bomb's headers.
func rawZip(tb testing.TB, path string, parts []part, raw string, data []byte, size uint64) {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for _, p := range parts {
		if p.name == raw {
			continue
		}
		w, _ := zw.Create(p.name)
		if err := p.write(w); err != nil {
			tb.Fatal(err)
		}
	}
	w, err := zw.CreateRaw(&zip.FileHeader{Name: raw, Method: zip.Deflate, CompressedSize64: uint64(len(data)),
		UncompressedSize64: size, CRC32: crc32.ChecksumIEEE(nil)})
	if err != nil {
		tb.Fatal(err)
	}
	w.Write(data)
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	f.Close()
}

func deflate(tb testing.TB, data []byte) []byte {
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.BestCompression)
	w.Write(data)
	w.Close()
	return b.Bytes()
}

// TestHostileWorkbooks checks that workbooks built to exhaust memory or
// time, or simply broken, are refused with an InputError and no panic.
func TestHostileWorkbooks(t *testing.T) {
	dir := t.TempDir()
	sheetRows := func(rows string) func(io.Writer) error {
		return func(w io.Writer) error { _, err := io.WriteString(w, "<sheetData>"+rows+"</sheetData>"); return err }
	}
	// A sheet that inflates a thousand times: 8 MiB of spaces.
	bomb := filepath.Join(dir, "bomb.xlsx")
	writeZip(t, bomb, bookParts(func(w io.Writer) error {
		_, err := w.Write(bytes.Repeat([]byte(" "), 8<<20))
		return err
	}, nil))
	// A sheet whose header claims 16 GiB.
	liar := filepath.Join(dir, "liar.xlsx")
	rawZip(t, liar, bookParts(sheetRows(header), nil), "xl/worksheets/sheet1.xml", deflate(t, []byte("<worksheet/>")), 16<<30)
	// A sheet longer than its header says.
	short := filepath.Join(dir, "short.xlsx")
	long := xmlHead + `<worksheet ` + mainNS + `><sheetData>` + header + strings.Repeat(`<row><c t="inlineStr"><is><t>张三</t></is></c></row>`, 1000) + `</sheetData></worksheet>`
	rawZip(t, short, bookParts(sheetRows(header), nil), "xl/worksheets/sheet1.xml", deflate(t, []byte(long)), 300)

	big := noise(5 << 20) // incompressible, or it would be taken for a zip bomb
	wide := new(strings.Builder)
	for c := 0; c < 10000; c++ {
		fmt.Fprintf(wide, `<c r="%s2" t="inlineStr"><is><t>a</t></is></c>`, columnName(c))
	}
	styled := new(strings.Builder)
	for c := 0; c < 10000; c++ {
		fmt.Fprintf(styled, `<c r="%s2" s="1"/>`, columnName(c))
	}
	manyMerges := new(strings.Builder)
	manyMerges.WriteString("</sheetData><mergeCells>")
	for i := 0; i < maxMerges+1; i++ {
		fmt.Fprintf(manyMerges, `<mergeCell ref="A%d:B%d"/>`, i+3, i+3)
	}
	manyMerges.WriteString("</mergeCells><sheetData>")

	wideMerges := new(strings.Builder)
	wideMerges.WriteString("</sheetData><mergeCells>")
	for i := 0; i < 2000; i++ {
		fmt.Fprintf(wideMerges, `<mergeCell ref="A%d:AMJ%d"/>`, i+3, i+3)
	}
	wideMerges.WriteString("</mergeCells><sheetData>")

	tests := []struct {
		name, path, msg string
	}{
		{"zip bomb", bomb, "zip bomb"},
		{"merges across every column", sheetBook(t, header+wideMerges.String(), nil), "too many columns"},
		{"lying sizes", liar, "zip bomb"},
		{"data past the declared size", short, "damaged"},
		{"5 MB inline cell", sheetBookMethod(t, header+`<row r="2"><c t="inlineStr"><is><t>`+big+`</t></is></c></row>`, nil, zip.Store), "more than 32767 characters"},
		{"5 MB value", sheetBookMethod(t, header+`<row r="2"><c><v>`+big+`</v></c></row>`, nil, zip.Store), "more than 32767 characters"},
		{"5 MB shared string", sheetBookMethod(t, header, []string{big}, zip.Store), "more than 32767 characters"},
		{"40,000-character cell", sheetBook(t, header+`<row r="2"><c t="inlineStr"><is><t>`+strings.Repeat("y", 40000)+`</t></is></c></row>`, nil), "more than 32767 characters"},
		{"10,000 columns", sheetBook(t, header+`<row r="2">`+wide.String()+`</row>`, nil), "reads at most 1024 columns"},
		{"too many merges", sheetBook(t, header+manyMerges.String(), nil), "merged ranges"},
		{"rows out of order", sheetBook(t, header+`<row r="5"/><row r="3"/>`, nil), "row 3 comes after row 5"},
		{"row past Excel's last", sheetBook(t, header+`<row r="2000000"/>`, nil), "row number"},
		{"bad shared string", sheetBook(t, header+`<row r="2"><c t="s"><v>7</v></c></row>`, []string{"a"}), "shared string 7"},
		{"shared string index not a number", sheetBook(t, header+`<row r="2"><c t="s"><v>x</v></c></row>`, []string{"a"}), "shared string"},
		{"number that is not", sheetBook(t, header+`<row r="2"><c><v>12abc</v></c></row>`, nil), "not a number"},
		{"broken XML", sheetBook(t, header+`<row r="2"><c`, nil), "damaged"},
		{"no rows", sheetBook(t, "", nil), "no rows"},
		{"no header", sheetBook(t, `<row r="1"><c t="inlineStr"><is><t>x</t></is></c></row>`, nil), "no header row"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Open(tc.path, Options{})
			if err == nil {
				for err == nil {
					_, err = r.Next()
				}
				r.Close()
			}
			var ie *pipeline.InputError
			if !errors.As(err, &ie) || !strings.Contains(ie.Error(), tc.msg) {
				t.Fatalf("err = %v, want an InputError with %q", err, tc.msg)
			}
		})
	}

	// Styled empty cells to column NTP are no data: the row is blank.
	_, recs := openAll(t, sheetBook(t, header+`<row r="2">`+styled.String()+`</row>`, nil), Options{})
	checkRecords(t, recs, []want{{row: 1, kind: pipeline.Header}, {row: 2, kind: pipeline.Blank}})
}

// noise returns n pseudo-random letters.
func noise(n int) string {
	b := make([]byte, n)
	x := uint32(1)
	for i := range b {
		x = x*1664525 + 1013904223
		b[i] = 'a' + byte(x>>24)%26
	}
	return string(b)
}

func TestMissingParts(t *testing.T) {
	all := bookParts(func(w io.Writer) error { _, err := io.WriteString(w, "<sheetData>"+header+"</sheetData>"); return err }, nil)
	for _, missing := range []string{"_rels/.rels", "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/worksheets/sheet1.xml"} {
		t.Run(missing, func(t *testing.T) {
			var parts []part
			for _, p := range all {
				if p.name != missing {
					parts = append(parts, p)
				}
			}
			path := filepath.Join(t.TempDir(), "book.xlsx")
			writeZip(t, path, parts)
			_, err := Open(path, Options{})
			var ie *pipeline.InputError
			if !errors.As(err, &ie) || !strings.Contains(msg.Text("en", ie.Msg), "damaged") {
				t.Fatalf("err = %v, want an InputError saying the workbook is damaged", err)
			}
		})
	}
}

func TestMergedCells(t *testing.T) {
	rows := header +
		`<row r="2"><c r="A2" t="inlineStr"><is><t>张三</t></is></c><c r="B2" t="inlineStr"><is><t>` + cardA + `</t></is></c></row>` +
		`<row r="3"><c r="B3" t="inlineStr"><is><t>` + cardB + `</t></is></c></row>` +
		`<row r="4"><c r="B4" t="inlineStr"><is><t>` + cardC + `</t></is></c></row>` +
		`<row r="5"><c r="A5" t="inlineStr"><is><t>李四</t></is></c></row>` +
		`<row r="7"><c r="A7" t="inlineStr"><is><t>王五</t></is></c><c r="B7" t="inlineStr"><is><t>` + cardD + `</t></is></c></row>` +
		`</sheetData><mergeCells count="3"><mergeCell ref="A2:A4"/><mergeCell ref="A5:B5"/><mergeCell ref="B7:B8"/></mergeCells><sheetData>`
	_, recs := openAll(t, sheetBook(t, rows, nil), Options{})
	checkRecords(t, recs, []want{
		{row: 1, kind: pipeline.Header},
		{row: 2, kind: pipeline.Data, name: "张三", card: cardA},
		{row: 3, kind: pipeline.Data, name: "张三", card: cardB},
		{row: 4, kind: pipeline.Data, name: "张三", card: cardC},
		{row: 5, kind: pipeline.Data, name: "李四", card: "李四", problem: "other than digits"}, // merged across both columns
		{row: 6, kind: pipeline.Blank},
		{row: 7, kind: pipeline.Data, name: "王五", card: cardD},
		// Row 8 is absent from the sheet, and only the merge reaches it:
		// the reader stops at the last row the sheet has.
	})
}

func TestDate1904(t *testing.T) {
	parts := bookParts(func(w io.Writer) error {
		_, err := io.WriteString(w, "<sheetData>"+header+`<row r="2"><c t="inlineStr"><is><t>张三</t></is></c><c t="inlineStr"><is><t>`+cardA+`</t></is></c><c s="2"><v>43830</v></c></row></sheetData>`)
		return err
	}, nil)
	for i, p := range parts {
		if p.name == "xl/workbook.xml" {
			parts[i] = text(p.name, xmlHead+`<workbook `+mainNS+`><workbookPr date1904="1"/><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>`)
		}
	}
	path := filepath.Join(t.TempDir(), "mac.xlsx")
	writeZip(t, path, parts)
	_, recs := openAll(t, path, Options{})
	want := pipeline.Cell{Value: "2024/1/1", Type: pipeline.Date, Raw: "45292", NumFmt: "yyyy/m/d"}
	if got := recs[1].Cells[2]; got != want {
		t.Errorf("1904 date = %+v, want %+v", got, want)
	}
}

func TestSSTStore(t *testing.T) {
	for _, mem := range []int64{1 << 20, 256} {
		defer func(m int64) { sstMemory = m }(sstMemory)
		sstMemory = mem
		var s sstStore
		const n = 1000
		for i := 0; i < n; i++ {
			if err := s.add([]byte(numberName(i))); err != nil {
				t.Fatal(err)
			}
		}
		if (s.file != nil) != (mem == 256) {
			t.Fatalf("sstMemory %d: on disk = %v", mem, s.file != nil)
		}
		// In order, backwards, and jumping about.
		order := make([]int, 0, 4*n)
		for i := 0; i < n; i++ {
			order = append(order, i)
		}
		for i := 0; i < n; i++ {
			order = append(order, n-1-i, (i*7919)%n, i)
		}
		for _, i := range order {
			got, err := s.get(i)
			if err != nil || got != numberName(i) {
				t.Fatalf("sstMemory %d: get(%d) = %q, %v; want %q", mem, i, got, err, numberName(i))
			}
		}
		for _, i := range []int{-1, n, n + 100} {
			if _, err := s.get(i); err == nil {
				t.Errorf("get(%d) succeeded", i)
			}
		}
		if err := s.close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestUnsavedFormula(t *testing.T) {
	rows := header + `<row r="2"><c r="A2" t="inlineStr"><is><t>张三</t></is></c><c r="B2"><f>A1&amp;"1"</f></c></row>`
	_, recs := openAll(t, sheetBook(t, rows, nil), Options{})
	checkRecords(t, recs, []want{
		{row: 1, kind: pipeline.Header},
		{row: 2, kind: pipeline.Data, problem: "never saved"},
	})
	if c := recs[1].Cells[1]; c != (pipeline.Cell{Type: pipeline.Formula}) {
		t.Errorf("unsaved formula cell = %+v", c)
	}
}

func TestErrorsStick(t *testing.T) {
	rows := header + strings.Repeat(`<row><c t="inlineStr"><is><t>张三</t></is></c></row>`, 30) + `<row><c t="s"><v>9</v></c></row>` +
		`<row><c t="inlineStr"><is><t>李四</t></is></c></row>`
	r, err := Open(sheetBook(t, rows, []string{"a"}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for i := 0; i < 31; i++ {
		if _, err := r.Next(); err != nil {
			t.Fatalf("record %d: %v", i+1, err)
		}
	}
	var ie *pipeline.InputError
	for i := 0; i < 3; i++ {
		if _, err := r.Next(); !errors.As(err, &ie) || !strings.Contains(msg.Text("en", ie.Msg), "shared string 9") {
			t.Fatalf("call %d after the broken row: %v, want the same InputError", i+1, err)
		}
	}
}
