package writer

import (
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/cardverify/cardverify/pipeline"
	"github.com/cardverify/cardverify/reader"
)

// TestAppendFloat checks numbers against what Excel stores: at most 15
// significant digits, the rest cut (ECMA-376 and Excel's specifications
// and limits: "Number precision: 15 digits").
func TestAppendFloat(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want string
	}{
		{0, "0"},
		{1234.5, "1234.5"},
		{-42, "-42"},
		{0.1 + 0.2, "0.3"},
		{45292, "45292"},
		{6201815908301661234, "6201815908301660000"},
		{123456789012345678, "123456789012345000"},
		{1.23456789012345678, "1.23456789012345"},
		{-0.000001234567890123456, "-0.00000123456789012345"},
		{1e21, "1000000000000000000000"},
		{1e-7, "0.0000001"},
		{100, "100"},
		{-1234567.891, "-1234567.891"},
		{0.000123, "0.000123"},
	} {
		if got := string(appendFloat([]byte("x"), tc.in)); got != "x"+tc.want {
			t.Errorf("appendFloat(%v) = %q, want %q", tc.in, got, "x"+tc.want)
		}
	}
}

// TestSheetText checks the XML of text cells: escaped as XML requires,
// newlines kept, _xHHHH_ escaped again (ECMA-376 Part 1, 22.9.2.19
// ST_Xstring), spaces at either end preserved.
func TestSheetText(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{"张三", `<c r="B7" t="inlineStr"><is><t>张三</t></is></c>`},
		{`<a href='x'>&"`, `<c r="B7" t="inlineStr"><is><t>&lt;a href=&#39;x&#39;&gt;&amp;&#34;</t></is></c>`},
		{"a\nb\r\tc", `<c r="B7" t="inlineStr"><is><t>a` + "\n" + `b&#xD;&#x9;c</t></is></c>`},
		{" lead", `<c r="B7" t="inlineStr"><is><t xml:space="preserve"> lead</t></is></c>`},
		{"_x0041_", `<c r="B7" t="inlineStr"><is><t>_x005F_x0041_</t></is></c>`},
		{"a_x0041_x004g_b", `<c r="B7" t="inlineStr"><is><t>a_x005F_x0041_x004g_b</t></is></c>`},
		{"_x005F_x0041_", `<c r="B7" t="inlineStr"><is><t>_x005F_x005F_x005F_x0041_</t></is></c>`},
		{"_x0041_x0042_", `<c r="B7" t="inlineStr"><is><t>_x005F_x0041_x005F_x0042_</t></is></c>`},
		{"_x12_ _X0041_", `<c r="B7" t="inlineStr"><is><t>_x12_ _X0041_</t></is></c>`},
		{"a\x01b", `<c r="B7" t="inlineStr"><is><t>a` + "\uFFFD" + `b</t></is></c>`},
	} {
		var s sheetStream
		s.text(2, 7, 0, tc.in)
		if got := string(s.buf); got != tc.want {
			t.Errorf("text(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
	var s sheetStream
	s.text(28, 1, 3, strings.Repeat("长", 40000))
	if got := strings.Count(string(s.buf), "长"); got != 32767 {
		t.Errorf("a text of 40000 characters keeps %d, want 32767 (a cell's limit)", got)
	}
	if !strings.HasPrefix(string(s.buf), `<c r="AB1" s="3" t="inlineStr">`) {
		t.Errorf("cell AB1 opens as %.40s", s.buf)
	}
}

// TestSerialOf checks date serials against Excel's: 1900-01-01 is 1,
// 1900-03-01 is 61 (after Excel's 29 February 1900), 2024-01-01 is 45292.
func TestSerialOf(t *testing.T) {
	for _, tc := range []struct {
		in   time.Time
		want float64
		ok   bool
	}{
		{time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC), 0, false},
		{time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), 1, true},
		{time.Date(1900, 2, 28, 0, 0, 0, 0, time.UTC), 59, true},
		{time.Date(1900, 3, 1, 0, 0, 0, 0, time.UTC), 61, true},
		{time.Date(2024, 1, 1, 18, 0, 0, 0, time.UTC), 45292.75, true},
		{time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), 2958465, true},
	} {
		got, ok := serialOf(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("serialOf(%v) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// TestXLSXReadsBack writes a list as cardverify does and reads it back with
// the project's reader and with excelize: every input cell shows the text
// it went in with, the verdicts follow, the header is frozen and the
// Summary sheet is there.
func TestXLSXReadsBack(t *testing.T) {
	const rows = 2000
	header, row := benchRecords(rows)
	path := filepath.Join(t.TempDir(), "out.xlsx")
	w, err := Create(path, Options{CardCol: 2, Summary: Summary{Version: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(header, pipeline.Outcome{}); err != nil {
		t.Fatal(err)
	}
	want := make([][]string, rows+1)
	for i := 1; i <= rows; i++ {
		rec, o := row(i)
		for _, c := range rec.Cells {
			want[i] = append(want[i], c.Value)
		}
		want[i] = append(want[i], map[pipeline.Status]string{pipeline.Match: "一致", pipeline.Mismatch: "不一致"}[o.Status])
		if err := w.Write(rec, o); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	r, err := reader.Open(path, reader.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if l := r.Layout(); l.HeaderRow != 1 || l.CardCol != 2 || l.NameCol != 1 {
		t.Errorf("reader found header row %d, name column %d, card column %d; want 1, 1, 2", l.HeaderRow, l.NameCol, l.CardCol)
	}
	n := 0
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec.Kind != pipeline.Data {
			continue
		}
		n++
		var got []string
		for _, c := range rec.Cells[:8] {
			got = append(got, c.Value)
		}
		if rec.Row > rows+1 || !slices.Equal(got, want[rec.Row-1]) {
			t.Fatalf("row %d reads back as %q, want %q", rec.Row, got, want[rec.Row-1])
		}
	}
	if n != rows {
		t.Errorf("reader read %d data rows, want %d", n, rows)
	}

	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.GetSheetList(); !slices.Equal(got, []string{"Sheet1", "汇总"}) {
		t.Errorf("sheets %q, want Sheet1 and 汇总", got)
	}
	got, err := f.GetRows("Sheet1")
	if err != nil || len(got) != rows+1 || got[rows][1] != "张三丰" {
		t.Errorf("excelize reads %d rows (%v), want %d", len(got), err, rows+1)
	}
	if p, err := f.GetPanes("Sheet1"); err != nil || !p.Freeze || p.YSplit != 1 {
		t.Errorf("panes %+v (%v), want the header row frozen", p, err)
	}
}
