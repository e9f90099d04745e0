package writer

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/cardverify/cardverify/pipeline"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/writer")

const goldenDir = "../testdata/writer"

// at is a fixed verification time: 2026-11-27 10:30:00 China time.
var at = time.Date(2026, 11, 27, 2, 30, 0, 0, time.UTC)

func text(v string) pipeline.Cell { return pipeline.Cell{Value: v} }

func number(shown, raw, numFmt string) pipeline.Cell {
	return pipeline.Cell{Value: shown, Type: pipeline.Number, Raw: raw, NumFmt: numFmt}
}

// fixture is a small customer list with every kind of row, every cell type
// and every status: a title above the header, an empty sheet row, a blank
// row, duplicates, problems and warnings.
func fixture() []struct {
	rec pipeline.Record
	o   pipeline.Outcome
} {
	header := []pipeline.Cell{text("序号"), text("姓名"), text("银行卡号"), text("客户编号"),
		text("开户日期"), text("金额"), text("备注"), text("合计"), text("有效")}
	row := func(no int, seq, name, card, id string, extra ...pipeline.Cell) []pipeline.Cell {
		cells := []pipeline.Cell{number(seq, seq, ""), text(name), text(card), text(id)}
		return append(cells, extra...)
	}
	date := pipeline.Cell{Value: "2024-01-01", Type: pipeline.Date, Raw: "45292", NumFmt: "yyyy-mm-dd"}
	formula := pipeline.Cell{Value: "3", Type: pipeline.Formula, Raw: "3"}
	formulaText := pipeline.Cell{Value: "00042", Type: pipeline.Formula, Raw: "00042"}
	boolean := pipeline.Cell{Value: "TRUE", Type: pipeline.Bool, Raw: "1"}
	match := pipeline.Outcome{Status: pipeline.Match, Res: 1, JobID: "JH1881201222171529845853DG",
		Answered: true, Reason: pipeline.Reason(pipeline.Vendor, 0, "成功"), At: at}
	type pair = struct {
		rec pipeline.Record
		o   pipeline.Outcome
	}
	return []pair{
		{pipeline.Record{Row: 1, Kind: pipeline.Preamble, Cells: []pipeline.Cell{text("2026年11月客户名单")}}, pipeline.Outcome{}},
		// Sheet row 2 is empty: the reader gives no record for it.
		{pipeline.Record{Row: 3, Kind: pipeline.Header, Cells: header}, pipeline.Outcome{}},
		{pipeline.Record{Row: 4, Kind: pipeline.Data,
			Cells: row(4, "1", "张三", "6217003180000902693", "000123", date,
				number("1,234.50", "1234.5", "#,##0.00"), text("=cmd|' /C calc'!A0"), formula, boolean)},
			match},
		{pipeline.Record{Row: 5, Kind: pipeline.Data,
			Cells: row(5, "2", "李四", "6222 0212 3456 7890 128", "000124", date, number("0", "0", "#,##0.00"), text("+1 注意"), formulaText)},
			pipeline.Outcome{Status: pipeline.Mismatch, Res: 2, JobID: "JH1881201222171529845854DG", Answered: true, Reason: pipeline.Reason(pipeline.Vendor, 0, "成功"), At: at}},
		{pipeline.Record{Row: 6, Kind: pipeline.Blank, Cells: make([]pipeline.Cell, 9)}, pipeline.Outcome{}},
		{pipeline.Record{Row: 7, Kind: pipeline.Data, Cells: row(7, "3", "", "12345", "000125"),
			Problems: []string{pipeline.Reason(pipeline.NameEmpty), pipeline.Reason(pipeline.CardDigits, 5, 12, 19)}},
			pipeline.Outcome{Status: pipeline.Invalid}},
		{pipeline.Record{Row: 8, Kind: pipeline.Data, Cells: row(8, "4", "张三", "6217003180000902693", "000126")},
			func() pipeline.Outcome { o := match; o.DupOf = 4; return o }()},
		{pipeline.Record{Row: 9, Kind: pipeline.Data, Cells: row(9, "5", "王五", "6217003180000902694", "000127"),
			Warnings: []string{pipeline.Reason(pipeline.WarnLuhn)}},
			pipeline.Outcome{Status: pipeline.Rejected, Code: 218804, Answered: true, Reason: pipeline.Reason(pipeline.Vendor, 218804, "银行卡号不合法"), At: at}},
		{pipeline.Record{Row: 10, Kind: pipeline.Data, Cells: row(10, "6", "赵六", "6217003180000902695", "000128")},
			pipeline.Outcome{}},
		{pipeline.Record{Row: 11, Kind: pipeline.Data, Cells: row(11, "7", "钱七", "6217003180000902696", "000129")},
			pipeline.Outcome{Status: pipeline.Deferred, Code: 218866, Answered: true,
				Reason: pipeline.Reason(pipeline.Vendor, 218866, "认证失败,该卡当日连续多次认证不通过被限制校验,次日恢复"), At: at}},
		{pipeline.Record{Row: 12, Kind: pipeline.Data, Cells: row(12, "8", "孙八", "6.20181590830166E+18", "000130")},
			pipeline.Outcome{Status: pipeline.Failed, Reason: pipeline.JoinReasons(pipeline.Reason(pipeline.GaveUp, 5), pipeline.Reason(pipeline.CallHTTP, 502)), Attempts: 5, At: at}},
		{pipeline.Record{Row: 13, Kind: pipeline.Data, Cells: []pipeline.Cell{number("9", "9", ""), text("周九"),
			number("6.20182E+18", "6.20181590830166E+18", "")}},
			pipeline.Outcome{Status: pipeline.Failed, Reason: pipeline.JoinReasons(pipeline.Reason(pipeline.GaveUp, 4), pipeline.Reason(pipeline.CallTimeout, "10s")), At: at}},
	}
}

func summary() Summary {
	return Summary{
		Version: "v1.2.3", InputName: "customers.xlsx", InputSHA256: strings.Repeat("ab", 32),
		Sheet: "客户", OutputName: "customers.verified.xlsx", Endpoint: "encrypted",
		URLs: []string{"http://v.juhe.cn/verifybankcard/queryEncry"}, KeyIDs: []string{"sha256:0123456789ab"},
		Operators: []string{"alice@box1", "bob@box2"},
		Calls:     9, BilledCalls: 2, PossiblyBilled: 1, RealRows: 7,
		Start: at.Add(-26 * time.Hour), End: at,
		Runs: []Run{
			{Start: at.Add(-26 * time.Hour), End: at.Add(-25 * time.Hour), Stop: "interrupted", Calls: 3, Billed: 1, PossiblyBilled: 1,
				QPS: 5, Operator: "alice@box1", Command: "cardverify run customers.xlsx --key *** --qps 5"},
			{Start: at.Add(-2 * time.Hour), End: at.Add(-time.Hour), Stop: "budget", Calls: 2, Billed: 1, QPS: 10,
				Operator: "bob@box2", Command: "cardverify run customers.xlsx --max-billed 2"},
			{Start: at.Add(-time.Hour), Stop: "", Calls: 4, QPS: 10, Operator: "bob@box2", Command: "cardverify run customers.xlsx"},
		},
		Days:    []Day{{Day: "2026-11-26", Calls: 3, Billed: 1, PossiblyBilled: 1}, {Day: "2026-11-27", Calls: 6, Billed: 1}},
		Invalid: []ReasonCount{{"姓名为空; 卡号长度不对", 1}},
		Price:   0.35,
		Created: at.Add(time.Minute),
		Codes:   []CodeInfo{{218804, "银行卡号不合法 同一银行卡请求过于频繁", 1}, {218866, "认证失败,该卡当日连续多次认证不通过被限制校验,次日恢复", 1}},
	}
}

// writeFixture writes the fixture to a new file named name in a temporary
// directory and returns its path.
func writeFixture(tb testing.TB, name string, opt Options) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), name)
	w, err := Create(path, opt)
	if err != nil {
		tb.Fatalf("Create(%s): %v", name, err)
	}
	for _, r := range fixture() {
		if err := w.Write(r.rec, r.o); err != nil {
			tb.Fatalf("Write row %d: %v", r.rec.Row, err)
		}
	}
	if err := w.Close(); err != nil {
		tb.Fatalf("Close: %v", err)
	}
	return path
}

// golden compares got with the golden file name, or rewrites it with
// -update.
func golden(tb testing.TB, name string, got []byte) {
	tb.Helper()
	path := filepath.Join(goldenDir, name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (run go test ./writer -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		tb.Errorf("%s differs from the golden file (run go test ./writer -update after checking):\n%s",
			name, lineDiff(string(want), string(got)))
	}
}

// lineDiff shows the lines of want and got that differ.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)); i++ {
		var a, c string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			c = g[i]
		}
		if a != c {
			fmt.Fprintf(&b, "line %d:\n  want %q\n  got  %q\n", i+1, a, c)
		}
	}
	return b.String()
}

// dumpXLSX describes a workbook as text: each sheet's frozen panes, filter
// and column widths, then every cell with its type, stored value, shown
// value and the parts of its style that matter here.
func dumpXLSX(tb testing.TB, path string) []byte {
	tb.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var b bytes.Buffer
	props, err := f.GetDocProps()
	if err != nil {
		tb.Fatal(err)
	}
	app, err := f.GetAppProps()
	if err != nil {
		tb.Fatal(err)
	}
	fmt.Fprintf(&b, "properties: creator=%q version=%q description=%q title=%q created=%s modified=%s language=%s application=%q\n",
		props.Creator, props.Version, props.Description, props.Title, props.Created, props.Modified, props.Language, app.Application)
	fmt.Fprintf(&b, "active sheet: %d\n", f.GetActiveSheetIndex())
	for _, dn := range f.GetDefinedName() {
		fmt.Fprintf(&b, "defined name: %s scope=%s %s\n", dn.Name, dn.Scope, dn.RefersTo)
	}
	for i, sheet := range f.GetSheetList() {
		fmt.Fprintf(&b, "\n== sheet %q\n", sheet)
		if x, ok := f.Pkg.Load(fmt.Sprintf("xl/worksheets/sheet%d.xml", i+1)); ok {
			for _, m := range sheetTags.FindAllString(string(x.([]byte)), -1) {
				fmt.Fprintf(&b, "xml: %s\n", m)
			}
		}
		panes, err := f.GetPanes(sheet)
		if err != nil {
			tb.Fatal(err)
		}
		if panes.Freeze {
			fmt.Fprintf(&b, "frozen: ySplit=%d topLeft=%s\n", panes.YSplit, panes.TopLeftCell)
		}
		rows, err := f.GetRows(sheet)
		if err != nil {
			tb.Fatal(err)
		}
		width := 0
		for _, r := range rows {
			width = max(width, len(r))
		}
		var widths []string
		for c := 1; c <= width; c++ {
			name, _ := excelize.ColumnNumberToName(c)
			w, _ := f.GetColWidth(sheet, name)
			widths = append(widths, fmt.Sprintf("%s=%g", name, w))
		}
		fmt.Fprintf(&b, "widths: %s\n", strings.Join(widths, " "))
		merged, _ := f.GetMergeCells(sheet)
		for _, m := range merged {
			fmt.Fprintf(&b, "merged: %s:%s\n", m.GetStartAxis(), m.GetEndAxis())
		}
		var heights []string
		for r := range rows {
			if h, err := f.GetRowHeight(sheet, r+1); err == nil && h != 15 {
				heights = append(heights, fmt.Sprintf("%d=%g", r+1, h))
			}
		}
		if heights != nil {
			fmt.Fprintf(&b, "row heights: %s\n", strings.Join(heights, " "))
		}
		// A merged range's cells all read as its first: only that one is
		// shown.
		hidden := map[string]bool{}
		for _, m := range merged {
			c1, r1, _ := excelize.CellNameToCoordinates(m.GetStartAxis())
			c2, r2, _ := excelize.CellNameToCoordinates(m.GetEndAxis())
			for r := r1; r <= r2; r++ {
				for c := c1; c <= c2; c++ {
					if ref, _ := excelize.CoordinatesToCellName(c, r); ref != m.GetStartAxis() {
						hidden[ref] = true
					}
				}
			}
		}
		for r := range rows {
			for c := 1; c <= width; c++ {
				ref, _ := excelize.CoordinatesToCellName(c, r+1)
				if hidden[ref] {
					continue
				}
				if line := dumpCell(tb, f, sheet, ref); line != "" {
					fmt.Fprintf(&b, "%s %s\n", ref, line)
				}
			}
		}
	}
	return b.Bytes()
}

func dumpCell(tb testing.TB, f *excelize.File, sheet, ref string) string {
	raw, err := f.GetCellValue(sheet, ref, excelize.Options{RawCellValue: true})
	if err != nil {
		tb.Fatal(err)
	}
	shown, _ := f.GetCellValue(sheet, ref)
	formula, _ := f.GetCellFormula(sheet, ref)
	styleID, _ := f.GetCellStyle(sheet, ref)
	if raw == "" && formula == "" && styleID == 0 {
		return ""
	}
	typ, _ := f.GetCellType(sheet, ref)
	types := map[excelize.CellType]string{
		excelize.CellTypeUnset: "n", excelize.CellTypeBool: "b", excelize.CellTypeDate: "d",
		excelize.CellTypeError: "e", excelize.CellTypeFormula: "str", excelize.CellTypeInlineString: "inlineStr",
		excelize.CellTypeNumber: "n", excelize.CellTypeSharedString: "s",
	}
	line := fmt.Sprintf("%s %q", types[typ], raw)
	if shown != raw {
		line += fmt.Sprintf(" shown %q", shown)
	}
	if formula != "" {
		line += fmt.Sprintf(" FORMULA %q", formula)
	}
	if styleID != 0 {
		st, err := f.GetStyle(styleID)
		if err != nil {
			tb.Fatal(err)
		}
		var parts []string
		if st.Font != nil && st.Font.Bold {
			parts = append(parts, "bold")
		}
		if st.Font != nil && st.Font.Color != "" {
			parts = append(parts, "font="+st.Font.Color)
		}
		if len(st.Fill.Color) > 0 {
			parts = append(parts, "fill="+strings.Join(st.Fill.Color, ","))
		}
		if st.NumFmt != 0 {
			parts = append(parts, fmt.Sprintf("numfmt=%d", st.NumFmt))
		}
		if st.CustomNumFmt != nil {
			parts = append(parts, fmt.Sprintf("numfmt=%q", *st.CustomNumFmt))
		}
		if a := st.Alignment; a != nil {
			if a.Horizontal != "" {
				parts = append(parts, a.Horizontal)
			}
			if a.WrapText {
				parts = append(parts, "wrap")
			}
		}
		for _, bd := range st.Border {
			parts = append(parts, "border-"+bd.Type)
		}
		if len(parts) > 0 {
			line += " [" + strings.Join(parts, " ") + "]"
		}
	}
	return line
}

// sheetTags are the XML elements of a sheet the golden files show.
var sheetTags = regexp.MustCompile(`<(autoFilter|pane|sheetView|pageSetup|pageSetUpPr)\b[^>]*>`)

// sheetXML returns the XML of the first worksheet of an XLSX file.
func sheetXML(tb testing.TB, path string) string {
	tb.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	b, ok := f.Pkg.Load("xl/worksheets/sheet1.xml")
	if !ok {
		tb.Fatal("no xl/worksheets/sheet1.xml")
	}
	return string(b.([]byte))
}

func TestGoldenXLSX(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  Options
	}{
		{"zh", Options{CardCol: 2, SheetName: "客户", Summary: summary()}},
		{"en", Options{Lang: "en", CardCol: 2, SheetName: "客户", Summary: summary()}},
		{"masked-sandbox", Options{Lang: "en", MaskCard: true, CardCol: 2, Summary: func() Summary {
			s := summary()
			s.Sandbox, s.RealRows, s.Simulated = true, 0, 7
			s.Codes = nil
			return s
		}()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFixture(t, "out.xlsx", tc.opt)
			golden(t, tc.name+".xlsx.txt", dumpXLSX(t, path))
		})
	}
}

func TestGoldenCSV(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		opt        Options
	}{
		{"zh", "zh.csv", Options{CardCol: 2}},
		{"en", "en.csv", Options{Lang: "en", CardCol: 2}},
		{"masked-sandbox", "masked-sandbox.tsv", Options{Lang: "en", MaskCard: true, CardCol: 2,
			Summary: Summary{Sandbox: true}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFixture(t, tc.file, tc.opt)
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tc.file, got)
		})
	}
}

// readCSV reads a delimited output back, checking and removing its BOM.
func readCSV(tb testing.TB, path string, comma rune) [][]string {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("\xEF\xBB\xBF")) {
		tb.Fatalf("%s does not start with a UTF-8 BOM: % x", path, b[:min(len(b), 8)])
	}
	r := csv.NewReader(bytes.NewReader(b[3:]))
	r.Comma = comma
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		tb.Fatal(err)
	}
	return recs
}

func TestCSVReadsBack(t *testing.T) {
	for _, tc := range []struct {
		file  string
		comma rune
	}{{"out.csv", ','}, {"out.tsv", '\t'}, {"OUT.CSV", ','}} {
		t.Run(tc.file, func(t *testing.T) {
			recs := readCSV(t, writeFixture(t, tc.file, Options{CardCol: 2}), tc.comma)
			var want [][]string
			for _, r := range fixture() {
				var cells []string
				for _, c := range r.rec.Cells {
					cells = append(cells, c.Value)
				}
				want = append(want, cells)
			}
			if len(recs) != len(want) {
				t.Fatalf("got %d records, want %d", len(recs), len(want))
			}
			for i := range want {
				got := recs[i][:min(len(recs[i]), len(want[i]))]
				if strings.Join(got, "|") != strings.Join(want[i], "|") {
					t.Errorf("record %d: got %q, want the input cells %q", i, got, want[i])
				}
			}
			if got, want := recs[1][9:], Headers("zh"); strings.Join(got, "|") != strings.Join(want, "|") {
				t.Errorf("header verdict columns = %q, want %q", got, want)
			}
		})
	}
}

func TestMaskedOutputHasNoCard(t *testing.T) {
	for _, file := range []string{"out.xlsx", "out.csv"} {
		t.Run(file, func(t *testing.T) {
			path := writeFixture(t, file, Options{MaskCard: true, CardCol: 2})
			var all string
			if strings.HasSuffix(file, ".xlsx") {
				all = sheetXML(t, path)
			} else {
				b, _ := os.ReadFile(path)
				all = string(b)
			}
			for _, card := range []string{"6217003180000902693", "3180000902", "6222 0212 3456 7890 128", "12345"} {
				if strings.Contains(all, card) {
					t.Errorf("masked output contains %q", card)
				}
			}
			if !strings.Contains(all, "621700*********2693") {
				t.Errorf("masked output lacks the masked card 621700*********2693")
			}
		})
	}
}

func TestXLSXFidelity(t *testing.T) {
	path := writeFixture(t, "out.xlsx", Options{CardCol: 2, SheetName: "客户"})
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.GetSheetList(); len(got) != 2 || got[0] != "客户" || got[1] != "汇总" {
		t.Errorf("sheets = %q, want [客户 汇总]", got)
	}
	for _, tc := range []struct {
		ref, raw string
		typ      excelize.CellType
		numFmt   string
	}{
		{"C4", "6217003180000902693", excelize.CellTypeInlineString, ""}, // long digits stay text
		{"D4", "000123", excelize.CellTypeInlineString, ""},              // leading zeros stay text
		{"G4", "=cmd|' /C calc'!A0", excelize.CellTypeInlineString, ""},  // formula text stays text
		{"G5", "+1 注意", excelize.CellTypeInlineString, ""},
		{"A4", "1", excelize.CellTypeUnset, ""}, // a number without t="" is a number
		{"E4", "45292", excelize.CellTypeUnset, "yyyy-mm-dd"},
		{"F4", "1234.5", excelize.CellTypeUnset, "#,##0.00"},
		{"H4", "3", excelize.CellTypeUnset, ""},            // formula: its cached number
		{"H5", "00042", excelize.CellTypeInlineString, ""}, // formula: its cached text
		{"I4", "1", excelize.CellTypeBool, boolFmt},
	} {
		raw, _ := f.GetCellValue("客户", tc.ref, excelize.Options{RawCellValue: true})
		typ, _ := f.GetCellType("客户", tc.ref)
		if raw != tc.raw || typ != tc.typ {
			t.Errorf("%s = %q type %d, want %q type %d", tc.ref, raw, typ, tc.raw, tc.typ)
		}
		if formula, _ := f.GetCellFormula("客户", tc.ref); formula != "" {
			t.Errorf("%s has formula %q, want none", tc.ref, formula)
		}
		id, _ := f.GetCellStyle("客户", tc.ref)
		st, _ := f.GetStyle(id)
		numFmt := ""
		if st.CustomNumFmt != nil {
			numFmt = *st.CustomNumFmt
		} else if st.NumFmt == 4 {
			numFmt = "#,##0.00"
		}
		if numFmt != tc.numFmt {
			t.Errorf("%s number format = %q, want %q", tc.ref, numFmt, tc.numFmt)
		}
	}
	x := sheetXML(t, path)
	if strings.Contains(x, "<f>") || strings.Contains(x, "<f ") {
		t.Errorf("the annotated sheet holds a formula:\n%s", x)
	}
	for _, want := range []string{`state="frozen"`, `ySplit="3"`, `<autoFilter ref=`} {
		if !strings.Contains(x, want) {
			t.Errorf("sheet XML lacks %s", want)
		}
	}
}

func TestSandboxBanner(t *testing.T) {
	for _, sandbox := range []bool{false, true} {
		t.Run(fmt.Sprint(sandbox), func(t *testing.T) {
			opt := Options{Lang: "en", CardCol: 2, Summary: Summary{Sandbox: sandbox}}
			path := writeFixture(t, "out.xlsx", opt)
			f, err := excelize.OpenFile(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			a2, _ := f.GetCellValue("Summary", "A2")
			if got := strings.Contains(a2, "SANDBOX"); got != sandbox {
				t.Errorf("Summary!A2 = %q: banner shown %v, want %v", a2, got, sandbox)
			}
			reason, _ := f.GetCellValue("Sheet1", "N4")
			if got := strings.HasPrefix(reason, "[SANDBOX]"); got != sandbox {
				t.Errorf("reason %q: marked %v, want %v", reason, got, sandbox)
			}
		})
	}
}

// faultyFile is a temporary file whose writes fail once budget bytes
// are written, like a disk that fills up.
type faultyFile struct {
	*os.File
	budget  int
	err     error
	syncErr error
}

func (f *faultyFile) Write(p []byte) (int, error) {
	if len(p) > f.budget {
		n, _ := f.File.Write(p[:f.budget])
		f.budget = 0
		return n, &fs.PathError{Op: "write", Path: f.Name(), Err: f.err}
	}
	f.budget -= len(p)
	return f.File.Write(p)
}

func (f *faultyFile) Sync() error {
	if f.syncErr != nil {
		return f.syncErr
	}
	return f.File.Sync()
}

func TestAtomicReplace(t *testing.T) {
	const old = "the previous output\n"
	for _, tc := range []struct {
		name    string
		file    string
		budget  int
		err     error
		syncErr error
		abort   bool
		more    int    // data rows written after the fixture's
		want    error  // errors.Is target, nil for success
		hint    string // in the message
	}{
		{name: "xlsx ok", file: "out.xlsx", budget: 1 << 30},
		{name: "csv ok", file: "out.csv", budget: 1 << 30},
		{name: "xlsx disk full", file: "out.xlsx", budget: 1000, err: syscall.ENOSPC, want: syscall.ENOSPC, hint: "disk is full"},
		{name: "csv disk full", file: "out.csv", budget: 10, err: syscall.ENOSPC, want: syscall.ENOSPC, hint: "disk is full"},
		{name: "csv disk full mid-run", file: "out.csv", budget: 300 << 10, err: syscall.ENOSPC, more: 20000,
			want: syscall.ENOSPC, hint: "disk is full"},
		{name: "csv bom fails", file: "out.csv", budget: 0, err: syscall.EDQUOT, want: syscall.EDQUOT, hint: "quota"},
		{name: "xlsx read-only", file: "out.xlsx", budget: 0, err: syscall.EROFS, want: syscall.EROFS, hint: "read-only"},
		{name: "sync fails", file: "out.xlsx", budget: 1 << 30, syncErr: syscall.EIO, want: syscall.EIO},
		{name: "abort", file: "out.csv", budget: 1 << 30, abort: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, tc.file)
			if err := os.WriteFile(path, []byte(old), 0o640); err != nil {
				t.Fatal(err)
			}
			createTemp := func(dir, pattern string) (tempFile, error) {
				f, err := os.CreateTemp(dir, pattern)
				if err != nil {
					return nil, err
				}
				return &faultyFile{File: f, budget: tc.budget, err: tc.err, syncErr: tc.syncErr}, nil
			}
			err := func() error {
				w, err := create(path, Options{CardCol: 2}, createTemp)
				if err != nil {
					return err
				}
				for _, r := range fixture() {
					if err := w.Write(r.rec, r.o); err != nil {
						w.Abort()
						return err
					}
				}
				_, row := benchRecords(tc.more)
				for i := 0; i < tc.more; i++ {
					rec, o := row(100 + i)
					if err := w.Write(rec, o); err != nil {
						if i == 0 {
							t.Errorf("the first extra row failed: the error should come once the buffer fills")
						}
						w.Abort()
						return err
					}
				}
				if tc.more > 0 {
					t.Errorf("%d rows written to a full disk without an error", tc.more)
				}
				if tc.abort {
					return w.Abort()
				}
				return w.Close()
			}()
			if !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if err != nil && (!strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.hint)) {
				t.Errorf("error %q should name %s and say %q", err, path, tc.hint)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 1 {
				var names []string
				for _, e := range entries {
					names = append(names, e.Name())
				}
				t.Errorf("directory holds %q, want only %s: the temporary file must go", names, tc.file)
			}
			got, _ := os.ReadFile(path)
			replaced := string(got) != old
			if wantReplaced := tc.want == nil && !tc.abort; replaced != wantReplaced {
				t.Errorf("output replaced = %v, want %v", replaced, wantReplaced)
			}
			if replaced {
				fi, _ := os.Stat(path)
				if fi.Mode().Perm() != 0o640 {
					t.Errorf("replaced output mode = %v, want the old file's 0640", fi.Mode().Perm())
				}
			}
		})
	}
}

func TestCreateErrors(t *testing.T) {
	dir := t.TempDir()
	input := filepath.Join(dir, "in.xlsx")
	if err := os.WriteFile(input, []byte("input"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.xlsx")
	if err := os.Symlink(input, link); err != nil {
		t.Fatal(err)
	}
	hard := filepath.Join(dir, "hard.xlsx")
	if err := os.Link(input, hard); err != nil {
		t.Fatal(err)
	}
	notDir := filepath.Join(dir, "file")
	os.WriteFile(notDir, nil, 0o644)
	t.Chdir(dir)
	for _, tc := range []struct {
		name, out string
		opt       Options
		input     bool   // an *pipeline.InputError
		msg       string // in the message
	}{
		{"same path", input, Options{Input: input, CardCol: -1}, true, "overwrite the input"},
		{"relative path", "in.xlsx", Options{Input: input, CardCol: -1}, true, "overwrite the input"},
		{"dot path", "./sub/../in.xlsx", Options{Input: "in.xlsx", CardCol: -1}, true, "overwrite the input"},
		{"symlink", link, Options{Input: input, CardCol: -1}, true, "overwrite the input"},
		{"hard link", hard, Options{Input: input, CardCol: -1}, true, "overwrite the input"},
		{"xls", "out.xls", Options{Input: input, CardCol: -1}, true, `cannot write ".xls"`},
		{"xlsm", "out.xlsm", Options{CardCol: -1}, true, `cannot write ".xlsm"`},
		{"no extension", "out", Options{CardCol: -1}, true, "cannot write"},
		{"mask without card column", "out.csv", Options{MaskCard: true, CardCol: -1}, true, "card column is unknown"},
		{"unknown language", "out.csv", Options{Lang: "fr", CardCol: -1}, true, `--lang must be one of zh, en, not "fr"`},
		{"directory", dir + "/sub.xlsx", Options{CardCol: -1}, true, "is a directory"},
		{"missing directory", filepath.Join(dir, "nope", "out.xlsx"), Options{CardCol: -1}, false, "does not exist"},
		{"parent is a file", filepath.Join(notDir, "out.csv"), Options{CardCol: -1}, false, "not a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "directory" {
				os.Mkdir(tc.out, 0o755)
			}
			w, err := Create(tc.out, tc.opt)
			if err == nil {
				w.Abort()
				t.Fatalf("Create(%q) succeeded, want an error saying %q", tc.out, tc.msg)
			}
			var ie *pipeline.InputError
			if errors.As(err, &ie) != tc.input || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("Create(%q) = %v (input error: %v), want input error %v saying %q",
					tc.out, err, errors.As(err, &ie), tc.input, tc.msg)
			}
		})
	}
	if b, _ := os.ReadFile(input); string(b) != "input" {
		t.Errorf("the input changed to %q", b)
	}
}

// writeRecords writes recs (with a matching outcome for data rows) to a
// new output and returns its path.
func writeRecords(tb testing.TB, name string, opt Options, recs []pipeline.Record) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), name)
	w, err := Create(path, opt)
	if err != nil {
		tb.Fatal(err)
	}
	for _, r := range recs {
		var o pipeline.Outcome
		if r.Kind == pipeline.Data {
			o = pipeline.Outcome{Status: pipeline.Match, Res: 1, JobID: "J" + itoa(r.Row), Answered: true, At: at}
		}
		if err := w.Write(r, o); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return path
}

func cellsOf(vals ...string) []pipeline.Cell {
	cells := make([]pipeline.Cell, len(vals))
	for i, v := range vals {
		cells[i] = text(v)
	}
	return cells
}

// TestLayout checks where the verify columns go: after the widest row of
// the first records, with later, wider rows' extra cells moved after them.
func TestLayout(t *testing.T) {
	recs := []pipeline.Record{
		{Row: 1, Kind: pipeline.Preamble, Cells: cellsOf("title", "", "", "", "", "", "a wide preamble is not a column")},
		{Row: 2, Kind: pipeline.Header, Cells: cellsOf("name", "card", "")},
		{Row: 3, Kind: pipeline.Data, Cells: cellsOf("a", "1", "", "")}, // trailing empties do not widen
	}
	for i := 0; i < sampleRows+5; i++ {
		recs = append(recs, pipeline.Record{Row: 4 + i, Kind: pipeline.Data, Cells: cellsOf("n", "c")})
	}
	wide := pipeline.Record{Row: recs[len(recs)-1].Row + 1, Kind: pipeline.Data, Cells: cellsOf("x", "y", "z1", "z2")}
	recs = append(recs, wide)
	for _, tc := range []struct{ file string }{{"out.csv"}, {"out.xlsx"}} {
		t.Run(tc.file, func(t *testing.T) {
			path := writeRecords(t, tc.file, Options{Lang: "en", CardCol: 1}, recs)
			var rows [][]string
			if strings.HasSuffix(tc.file, ".csv") {
				rows = readCSV(t, path, ',')
			} else {
				f, err := excelize.OpenFile(path)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				rows, _ = f.GetRows("Sheet1")
			}
			header := rows[1]
			if got := strings.Join(header, "|"); got != "name|card|verify_status|verify_res|verify_jobid|verify_error_code|verify_reason|verified_at" {
				t.Errorf("header = %s", got)
			}
			last := rows[len(rows)-1]
			if len(last) != 2+6+2 || last[0] != "x" || last[2] != "match" || last[8] != "z1" || last[9] != "z2" {
				t.Errorf("wide row = %q, want x y, the verify columns, then z1 z2", last)
			}
			if !strings.Contains(last[6], "2 cells past the header") {
				t.Errorf("wide row's reason %q does not say its cells moved", last[6])
			}
		})
	}
}

// TestNoHeader checks that a source without a header row still gets every
// row, once the records held back reach their limit.
func TestNoHeader(t *testing.T) {
	var recs []pipeline.Record
	for i := 1; i <= maxHeld+10; i++ {
		recs = append(recs, pipeline.Record{Row: i, Kind: pipeline.Preamble, Cells: cellsOf("p" + itoa(i))})
	}
	path := writeRecords(t, "out.xlsx", Options{CardCol: -1}, recs)
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, _ := f.GetRows("Sheet1")
	if len(rows) != maxHeld+10 || rows[maxHeld+9][0] != "p"+itoa(maxHeld+10) {
		t.Errorf("got %d rows, want %d", len(rows), maxHeld+10)
	}
	if x := sheetXML(t, path); strings.Contains(x, "<autoFilter") || strings.Contains(x, "<pane") {
		t.Errorf("a sheet without a header has a filter or a frozen pane")
	}
}

// TestRowNumbers checks that XLSX rows keep their input row numbers, and
// that a source numbering rows out of order still gets every row, in order.
func TestRowNumbers(t *testing.T) {
	recs := []pipeline.Record{
		{Row: 2, Kind: pipeline.Header, Cells: cellsOf("name", "card")},
		{Row: 5, Kind: pipeline.Data, Cells: cellsOf("a", "1")},
		{Row: 5, Kind: pipeline.Data, Cells: cellsOf("b", "2")},
		{Row: 0, Kind: pipeline.Data, Cells: cellsOf("c", "3")},
		{Row: 9, Kind: pipeline.Data, Cells: cellsOf("d", "4")},
	}
	path := writeRecords(t, "out.xlsx", Options{CardCol: 1}, recs)
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for ref, want := range map[string]string{"A2": "name", "A5": "a", "A6": "b", "A7": "c", "A9": "d", "A8": ""} {
		if got, _ := f.GetCellValue("Sheet1", ref); got != want {
			t.Errorf("%s = %q, want %q", ref, got, want)
		}
	}
}

// TestSourceReusesCells checks that the records held back are copied: a
// Source may overwrite its cells after each Next.
func TestSourceReusesCells(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.csv")
	w, err := Create(path, Options{CardCol: 1})
	if err != nil {
		t.Fatal(err)
	}
	cells := cellsOf("name", "card")
	w.Write(pipeline.Record{Row: 1, Kind: pipeline.Header, Cells: cells}, pipeline.Outcome{})
	for i := 2; i < 6; i++ {
		cells[0].Value, cells[1].Value = "n"+itoa(i), "c"+itoa(i)
		if err := w.Write(pipeline.Record{Row: i, Kind: pipeline.Data, Cells: cells}, pipeline.Outcome{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	recs := readCSV(t, path, ',')
	for i, r := range recs[1:] {
		if want := "n" + itoa(i+2); r[0] != want {
			t.Errorf("row %d name = %q, want %q", i+2, r[0], want)
		}
	}
}

func TestWriteAfterClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.xlsx")
	w, err := Create(path, Options{CardCol: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close of an empty output: %v", err)
	}
	if err := w.Write(pipeline.Record{Row: 1}, pipeline.Outcome{}); err == nil {
		t.Error("Write after Close succeeded")
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	if err := w.Abort(); err != nil {
		t.Errorf("Abort after Close = %v, want nil", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("Abort after Close removed the output: %v", err)
	}
	if _, err := excelize.OpenFile(path); err != nil {
		t.Errorf("an empty output is not a workbook: %v", err)
	}
}

func TestSheetName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"客户", "客户"},
		{"", "Sheet1"},
		{"a/b:c?d*e[f]g\\h", "a_b_c_d_e_f_g_h"},
		{"'quoted'", "’quoted’"},
		{"O'Brien", "O’Brien"},
		{strings.Repeat("长", 40), strings.Repeat("长", 31)},
		{"  ", "Sheet1"},
	} {
		if got := sheetName(tc.in); got != tc.want {
			t.Errorf("sheetName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSummaryNameClash(t *testing.T) {
	path := writeFixture(t, "out.xlsx", Options{Lang: "en", CardCol: 2, SheetName: "summary"})
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.GetSheetList(); len(got) != 2 || got[0] != "summary" || got[1] != "Summary (cardverify)" {
		t.Errorf("sheets = %q", got)
	}
}

func TestPlainNumber(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"0", true}, {"3", true}, {"-12.5", true}, {"0.25", true}, {"6.20181590830166E+18", true}, {"1e-7", true},
		{"", false}, {"00042", false}, {"01", false}, {"1.", false}, {".5", false}, {"1e", false},
		{"+1", false}, {"1,000", false}, {"TRUE", false}, {"12a", false}, {"-", false},
	} {
		if got := plainNumber(tc.in); got != tc.want {
			t.Errorf("plainNumber(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// TestCellTypes checks the less common cells: formula results of each
// type, ISO dates, unreadable stored values.
func TestCellTypes(t *testing.T) {
	cells := []pipeline.Cell{
		{Value: "TRUE", Type: pipeline.Formula, Raw: "1"},
		{Value: "2024-01-02", Type: pipeline.Formula, Raw: "45293", NumFmt: "yyyy-mm-dd"},
		{Value: "123", Type: pipeline.Formula}, // a cached text that looks like a number
		{Value: "2024-03-04", Type: pipeline.Date, Raw: "2024-03-04"},
		{Value: "n/a", Type: pipeline.Number, Raw: "n/a"},
		{Value: "FALSE", Type: pipeline.Bool, Raw: "0"},
		{Value: "45292", Type: pipeline.Date, Raw: "45292"}, // a date without its format
	}
	recs := []pipeline.Record{
		{Row: 1, Kind: pipeline.Header, Cells: cellsOf("a", "b", "c", "d", "e", "f", "g")},
		{Row: 2, Kind: pipeline.Data, Cells: cells},
	}
	path := writeRecords(t, "out.xlsx", Options{CardCol: -1}, recs)
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, tc := range []struct {
		ref, shown string
		typ        excelize.CellType
	}{
		{"A2", "TRUE", excelize.CellTypeBool},
		{"B2", "2024-01-02", excelize.CellTypeUnset},
		{"C2", "123", excelize.CellTypeInlineString},
		{"D2", "2024-03-04", excelize.CellTypeUnset},
		{"E2", "n/a", excelize.CellTypeInlineString},
		{"F2", "FALSE", excelize.CellTypeBool},
		{"G2", "2024-01-01", excelize.CellTypeUnset},
	} {
		shown, _ := f.GetCellValue("Sheet1", tc.ref)
		typ, _ := f.GetCellType("Sheet1", tc.ref)
		if shown != tc.shown || typ != tc.typ {
			t.Errorf("%s shows %q type %d, want %q type %d", tc.ref, shown, typ, tc.shown, tc.typ)
		}
	}
}

func TestHeaders(t *testing.T) {
	if got := Headers(""); got[0] != "核验状态" || len(got) != 6 {
		t.Errorf("Headers(\"\") = %q", got)
	}
	if got := Headers("en"); got[5] != "verified_at" {
		t.Errorf("Headers(en) = %q", got)
	}
	if Headers("fr") != nil {
		t.Error("Headers(fr) is not nil")
	}
	Headers("en")[0] = "changed"
	if Headers("en")[0] != "verify_status" {
		t.Error("Headers returns the writer's own array")
	}
}

func TestNewOutputMode(t *testing.T) {
	dir := t.TempDir()
	input := filepath.Join(dir, "in.csv")
	os.WriteFile(input, []byte("x"), 0o640)
	for _, tc := range []struct {
		name, input string
		want        fs.FileMode
	}{{"from input", input, 0o640}, {"no input", "", 0o600}} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeRecords(t, "out.csv", Options{CardCol: -1, Input: tc.input}, nil)
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != tc.want {
				t.Errorf("mode = %v, want %v", fi.Mode().Perm(), tc.want)
			}
		})
	}
}

// TestCSVVerdictsDefused checks that the verify columns, which come from
// the API, cannot turn into formulas in a spreadsheet program, while the
// input's cells are copied unchanged.
func TestCSVVerdictsDefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.csv")
	w, err := Create(path, Options{Lang: "en", CardCol: 1})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(pipeline.Record{Row: 1, Kind: pipeline.Header, Cells: cellsOf("name", "card")}, pipeline.Outcome{})
	w.Write(pipeline.Record{Row: 2, Kind: pipeline.Data, Cells: cellsOf("=HYPERLINK(\"x\")", "1")},
		pipeline.Outcome{Status: pipeline.Rejected, JobID: "@SUM(1)", Reason: "=cmd|' /C calc'!A0", Answered: true, Code: 218808})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	row := readCSV(t, path, ',')[1]
	for i, want := range []string{`=HYPERLINK("x")`, "1", "rejected", "", "'@SUM(1)", "218808", "'=cmd|' /C calc'!A0", ""} {
		if row[i] != want {
			t.Errorf("column %d = %q, want %q", i, row[i], want)
		}
	}
}

func TestDefuse(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""}, {"match", "match"}, {"=1+1", "'=1+1"}, {"+1", "'+1"}, {"-1", "'-1"}, {"@x", "'@x"},
		{"\tx", "'\tx"}, {"a=b", "a=b"}, {"成功", "成功"},
	} {
		if got := defuse(tc.in); got != tc.want {
			t.Errorf("defuse(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestReason(t *testing.T) {
	for _, tc := range []struct {
		name    string
		lang    string
		sandbox bool
		dry     bool
		rec     pipeline.Record
		o       pipeline.Outcome
		want    string
	}{
		{name: "api reason", o: pipeline.Outcome{Status: pipeline.Match, Reason: "成功"}, want: "成功"},
		{name: "vendor zh", o: pipeline.Outcome{Status: pipeline.Rejected, Reason: pipeline.Reason(pipeline.Vendor, 218805, "姓名不合法")}, want: "姓名不合法"},
		{name: "vendor en", lang: "en", o: pipeline.Outcome{Status: pipeline.Rejected, Reason: pipeline.Reason(pipeline.Vendor, 218805, "姓名不合法")},
			want: "the name is not valid (Juhe: 姓名不合法)"},
		{name: "duplicate", lang: "en", o: pipeline.Outcome{Status: pipeline.Match, DupOf: 7, Reason: "成功"},
			want: "duplicate of row 7; 成功"},
		{name: "duplicate zh", o: pipeline.Outcome{Status: pipeline.Failed, DupOf: 2, Reason: pipeline.Reason(pipeline.CallHTTP, 502)},
			want: "与第 2 行重复；接口返回 HTTP 502"},
		{name: "failed zh", o: pipeline.Outcome{Status: pipeline.Failed,
			Reason: pipeline.JoinReasons(pipeline.Reason(pipeline.GaveUp, 4), pipeline.Reason(pipeline.CallTimeout, "10s"))},
			want: "4 次调用后放弃；调用超时（10s）"},
		{name: "failed en", lang: "en", o: pipeline.Outcome{Status: pipeline.Failed,
			Reason: pipeline.JoinReasons(pipeline.Reason(pipeline.GaveUp, 4), pipeline.Reason(pipeline.CallTimeout, "10s"))},
			want: "gave up after 4 attempts; timeout after 10s"},
		{name: "invalid without reason zh", rec: pipeline.Record{Problems: []string{pipeline.Reason(pipeline.CardDigits, 11, 12, 19), pipeline.Reason(pipeline.NameDigits)}},
			o: pipeline.Outcome{Status: pipeline.Invalid}, want: "卡号有 11 位数字；银行卡号为 12 到 19 位；姓名含有数字：请检查姓名列与卡号列是否颠倒"},
		{name: "invalid without reason en", lang: "en", rec: pipeline.Record{Problems: []string{pipeline.Reason(pipeline.CardDigits, 11, 12, 19)}},
			o: pipeline.Outcome{Status: pipeline.Invalid}, want: "card number has 11 digits; a bank card has 12 to 19"},
		{name: "legacy text reason kept", rec: pipeline.Record{Problems: []string{"a", "b"}},
			o: pipeline.Outcome{Status: pipeline.Invalid, Reason: "a; b (joined by the pipeline)"}, want: "a; b (joined by the pipeline)"},
		{name: "pending zh", o: pipeline.Outcome{Reason: pipeline.PendingReason}, want: "尚未核验：再次运行同一命令即可继续"},
		{name: "pending en", lang: "en", o: pipeline.Outcome{}, want: "not verified yet: run the same command again to resume"},
		{name: "legacy pending zh", o: pipeline.Outcome{Reason: "not verified yet: run the same command again to resume"}, want: "尚未核验：再次运行同一命令即可继续"},
		{name: "dry run zh", dry: true, o: pipeline.Outcome{Reason: pipeline.PendingReason}, want: "试运行：未调用接口"},
		{name: "dry run en", lang: "en", dry: true, o: pipeline.Outcome{}, want: "dry run: no call made"},
		{name: "warnings", rec: pipeline.Record{Warnings: []string{pipeline.Reason(pipeline.WarnLuhn)}},
			o: pipeline.Outcome{Status: pipeline.Rejected, Reason: "r"}, want: "r；卡号未通过 Luhn 校验；仍已核验，因为许多银联卡如此"},
		{name: "sandbox", lang: "en", sandbox: true, o: pipeline.Outcome{Status: pipeline.Match, Reason: "成功"},
			want: "[SANDBOX] 成功"},
		{name: "sandbox zh", sandbox: true, o: pipeline.Outcome{Status: pipeline.Match, Reason: "成功"},
			want: "[模拟数据 SANDBOX] 成功"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := langFor(tc.lang)
			if err != nil {
				t.Fatal(err)
			}
			w := &Writer{lang: l, opt: Options{DryRun: tc.dry, Summary: Summary{Sandbox: tc.sandbox}}}
			if got := w.reason(&tc.rec, tc.o); got != tc.want {
				t.Errorf("reason = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestStaleTempRemoved(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-7 * time.Hour)
	files := map[string]bool{ // name: kept
		".out.csv.tmp-123":   false, // left by a killed writer
		".out.csv.tmp-456":   true,  // recent: maybe another writer's
		".other.csv.tmp-789": true,  // another target's
		"out.csv.tmp-1":      true,  // not ours
	}
	for name, kept := range files {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte("half"), 0o600)
		if !kept || name != ".out.csv.tmp-456" {
			os.Chtimes(p, old, old)
		}
	}
	writeRecords(t, "x.csv", Options{CardCol: -1}, nil) // another directory: no effect
	path := filepath.Join(dir, "out.csv")
	w, err := Create(path, Options{CardCol: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for name, kept := range files {
		_, err := os.Stat(filepath.Join(dir, name))
		if (err == nil) != kept {
			t.Errorf("%s: kept = %v, want %v", name, err == nil, kept)
		}
	}
}

// TestMaskOverflow checks that a card past the verify columns (a row wider
// than the first rows) is masked too.
func TestMaskOverflow(t *testing.T) {
	recs := []pipeline.Record{{Row: 1, Kind: pipeline.Header, Cells: cellsOf("name", "id")}}
	for i := 0; i <= sampleRows; i++ {
		recs = append(recs, pipeline.Record{Row: 2 + i, Kind: pipeline.Data, Cells: cellsOf("n", "1")})
	}
	recs = append(recs, pipeline.Record{Row: 200, Kind: pipeline.Data,
		Cells: cellsOf("x", "2", "z", "6217003180000902693")})
	path := writeRecords(t, "out.csv", Options{MaskCard: true, CardCol: 3}, recs)
	last := readCSV(t, path, ',')
	got := last[len(last)-1]
	if len(got) != 10 || got[8] != "z" || got[9] != "621700*********2693" {
		t.Errorf("last row = %q, want the card masked after the verify columns", got)
	}
}

// TestVerdictCells checks the verdict cells of an XLSX: 核验时间 a date-time
// of China time shown with its offset, res and error_code left-aligned
// numbers, the reason wrapped in a row tall enough for it.
func TestVerdictCells(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.xlsx")
	w, err := Create(path, Options{CardCol: 1})
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("认证失败,该卡当日连续多次认证不通过被限制校验,次日恢复 ", 4)
	for _, r := range []struct {
		rec pipeline.Record
		o   pipeline.Outcome
	}{
		{pipeline.Record{Row: 1, Kind: pipeline.Header, Cells: []pipeline.Cell{text("姓名"), text("卡号")}}, pipeline.Outcome{}},
		{pipeline.Record{Row: 2, Kind: pipeline.Data, Cells: []pipeline.Cell{text("张三"), text("6217003180000902693")}},
			pipeline.Outcome{Status: pipeline.Deferred, Code: 218866, Answered: true, Reason: long, At: at}},
	} {
		if err := w.Write(r.rec, r.o); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	style := func(ref string) *excelize.Style {
		id, _ := f.GetCellStyle("Sheet1", ref)
		st, err := f.GetStyle(id)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	// at is 2026-11-27 02:30 UTC: 10:30 in China, serial 46353 + 10.5/24.
	raw, _ := f.GetCellValue("Sheet1", "H2", excelize.Options{RawCellValue: true})
	shown, _ := f.GetCellValue("Sheet1", "H2")
	typ, _ := f.GetCellType("Sheet1", "H2")
	if raw != "46353.4375" || typ != excelize.CellTypeUnset || shown != "2026-11-27 10:30:00+08:00" {
		t.Errorf("核验时间 = %q (type %d) shown %q; want the number 46353.4375 shown 2026-11-27 10:30:00+08:00", raw, typ, shown)
	}
	if code, _ := f.GetCellValue("Sheet1", "F2", excelize.Options{RawCellValue: true}); code != "218866" {
		t.Errorf("错误码 = %q, want 218866", code)
	}
	if a := style("F2").Alignment; a == nil || a.Horizontal != "left" {
		t.Errorf("错误码 alignment %+v, want left", a)
	}
	if a := style("G2").Alignment; a == nil || !a.WrapText {
		t.Errorf("说明 alignment %+v, want wrapped", a)
	}
	width, _ := f.GetColWidth("Sheet1", "G")
	height, _ := f.GetRowHeight("Sheet1", 2)
	if lines := float64(textWidth(long)) / width; width != 60 || height < 16*lines {
		t.Errorf("说明 column %g wide, row %g high, for a reason of %d columns; want 60 wide and %g lines high", width, height, textWidth(long), lines)
	}
}

// TestWorkbookProperties checks that the workbook says who made it, with
// which version, and when.
func TestWorkbookProperties(t *testing.T) {
	created := time.Date(2026, 12, 1, 13, 4, 5, 0, time.UTC)
	path := writeFixture(t, "out.xlsx", Options{CardCol: 2, Summary: Summary{Version: "v9.8.7", Created: created}})
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, err := f.GetDocProps()
	if err != nil {
		t.Fatal(err)
	}
	if p.Creator != "cardverify" || p.Version != "v9.8.7" || p.Created != "2026-12-01T13:04:05Z" || p.Modified != "2026-12-01T13:04:05Z" {
		t.Errorf("properties %+v; want creator cardverify, version v9.8.7, created and modified 2026-12-01T13:04:05Z", p)
	}
}

// TestSummaryLabels checks a few Summary cells in each language: the
// labels, the per-day total and the cost.
func TestSummaryLabels(t *testing.T) {
	for _, tc := range []struct {
		lang, sheet            string
		cells                  map[string]string
		costLabel, totalLabel  string
		stopLabel, signOffRows string
	}{
		{"zh", "汇总", map[string]string{"A3": "工具版本", "A8": "数据行数", "A9": "核验结果来源", "B9": "真实接口"},
			"费用（计费调用 × 单价，元）", "合计", "达到计费上限（--max-billed）", "编制人 复核人"},
		{"en", "Summary", map[string]string{"A3": "Tool version", "A8": "Data rows", "A9": "Verdicts from", "B9": "the real API"},
			"Cost (billed calls × price, yuan)", "Total", "billed budget reached (--max-billed)", "Prepared by Reviewed by"},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			path := writeFixture(t, "out.xlsx", Options{Lang: tc.lang, CardCol: 2, Summary: summary()})
			f, err := excelize.OpenFile(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			for ref, want := range tc.cells {
				if got, _ := f.GetCellValue(tc.sheet, ref); got != want {
					t.Errorf("%s = %q, want %q", ref, got, want)
				}
			}
			rows, err := f.GetRows(tc.sheet)
			if err != nil {
				t.Fatal(err)
			}
			find := func(label string) []string {
				for _, r := range rows {
					if len(r) > 0 && r[0] == label {
						return r
					}
				}
				t.Errorf("no row %q", label)
				return nil
			}
			// summary(): 2 billed calls at 0.35 yuan.
			if r := find(tc.costLabel); len(r) < 2 || r[1] != "0.70" {
				t.Errorf("cost row %q, want 0.70", r)
			}
			// Days 2026-11-26 and 2026-11-27: 1 + 1 billed, 1 possibly, 3 + 6 calls.
			if r := find(tc.totalLabel); fmt.Sprint(r) != "["+tc.totalLabel+" 2 1 9]" {
				t.Errorf("total row %q, want %s 2 1 9", r, tc.totalLabel)
			}
			stops := 0
			for _, r := range rows {
				if len(r) > 2 && r[2] == tc.stopLabel {
					stops++
				}
			}
			if stops != 1 {
				t.Errorf("%d runs stopped by the budget, want 1", stops)
			}
			var last []string
			for _, r := range rows[len(rows)-2:] {
				last = append(last, r[0])
			}
			if strings.Join(last, " ") != tc.signOffRows {
				t.Errorf("last rows %q, want %s", last, tc.signOffRows)
			}
		})
	}
}

func TestSource(t *testing.T) {
	for _, tc := range []struct {
		s      Summary
		zh, en string
	}{
		{Summary{RealRows: 5}, "真实接口", "the real API"},
		{Summary{Simulated: 5, Sandbox: true}, "模拟接口（SANDBOX，不是真实核验结果）", "the simulated API (SANDBOX, not real verdicts)"},
		{Summary{Sandbox: true}, "模拟接口（SANDBOX，不是真实核验结果）", "the simulated API (SANDBOX, not real verdicts)"},
		{Summary{RealRows: 3, Simulated: 2}, "混合：真实接口 3 行，模拟接口 2 行", "mixed: 3 rows from the real API, 2 rows from the simulated API"},
		{Summary{}, "尚无接口应答", "no API answer yet"},
	} {
		for lang, want := range map[string]string{"zh": tc.zh, "en": tc.en} {
			l, _ := langFor(lang)
			if got := source(l, &tc.s); got != want {
				t.Errorf("%s source(%+v) = %q, want %q", lang, tc.s, got, want)
			}
		}
	}
}

// TestTemporaryOutput: the temporary output is created 0600 whatever the
// umask and the input's mode (it holds names and cards before Close), and
// RemoveTemporaries removes every temporary of its output however new, and
// nothing else.
func TestTemporaryOutput(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "list.csv")
	os.WriteFile(in, []byte("x"), 0o644)
	out := filepath.Join(dir, "list.verified.csv")
	w, err := Create(out, Options{Lang: "en", CardCol: 1, Input: in})
	if err != nil {
		t.Fatal(err)
	}
	tmps, _ := filepath.Glob(filepath.Join(dir, ".list.verified.csv.tmp-*"))
	if len(tmps) != 1 {
		t.Fatalf("temporaries %v, want one", tmps)
	}
	if fi, err := os.Stat(tmps[0]); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("temporary output mode %v (%v), want 0600", fi.Mode().Perm(), err)
	}
	// w is a writer killed while writing: its file stays.
	_ = w
	keep := []string{"list.verified.csv", ".other.csv.tmp-1", "list.verified.csv.tmp-2"}
	for _, name := range append(keep, ".list.verified.csv.tmp-3") {
		os.WriteFile(filepath.Join(dir, name), []byte("王伟,6222021234567890"), 0o600)
	}
	n, err := RemoveTemporaries(out)
	if err != nil || n != 2 {
		t.Errorf("RemoveTemporaries = %d, %v; want 2 removed", n, err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".list.verified.csv.tmp-*"))
	if len(left) != 0 {
		t.Errorf("left %v", left)
	}
	for _, name := range keep {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("RemoveTemporaries removed %s", name)
		}
	}
}

// cancellingFile cancels its context at its first write: a stop that
// arrives while the output is being finished.
type cancellingFile struct {
	*os.File
	cancel context.CancelFunc
}

func (f *cancellingFile) Write(p []byte) (int, error) {
	f.cancel()
	return f.File.Write(p)
}

// TestCloseContextStops gives up finishing the output when its context
// ends, before Close or while the document is written: the error says so,
// the previous output is left as it was and no temporary file remains.
func TestCloseContextStops(t *testing.T) {
	const old = "the previous output\n"
	for _, file := range []string{"out.xlsx", "out.csv"} {
		for _, during := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/during=%v", file, during), func(t *testing.T) {
				dir := t.TempDir()
				path := filepath.Join(dir, file)
				if err := os.WriteFile(path, []byte(old), 0o640); err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				createTemp := func(dir, pattern string) (tempFile, error) {
					f, err := os.CreateTemp(dir, pattern)
					if err != nil || !during {
						return f, err
					}
					return &cancellingFile{File: f, cancel: cancel}, nil
				}
				w, err := create(path, Options{CardCol: 2}, createTemp)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range fixture() {
					if err := w.Write(r.rec, r.o); err != nil {
						t.Fatal(err)
					}
				}
				if !during {
					cancel()
				}
				if err := w.CloseContext(ctx); !errors.Is(err, context.Canceled) {
					t.Errorf("CloseContext after the context ended = %v, want context.Canceled", err)
				}
				if b, err := os.ReadFile(path); err != nil || string(b) != old {
					t.Errorf("the previous output is now %q (%v), want it as it was", b, err)
				}
				if m, _ := filepath.Glob(filepath.Join(dir, ".*.tmp-*")); len(m) > 0 {
					t.Errorf("temporary files left: %v", m)
				}
			})
		}
	}
}
