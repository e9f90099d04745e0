package reader

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/cardverify/cardverify/pipeline"
	"github.com/cardverify/cardverify/pipeline/msg"
)

const fixtures = "../testdata/reader"

// want is what a test expects of one record.
type want struct {
	row     int
	kind    pipeline.RowKind
	name    string
	card    string
	problem string // a substring of one problem; "" for none
	warning string // a substring of one warning; "" for none
}

// readAll returns every record of r, with copies of their cells.
func readAll(tb testing.TB, r *Reader) []pipeline.Record {
	tb.Helper()
	var recs []pipeline.Record
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return recs
		}
		if err != nil {
			tb.Fatalf("Next after %d records: %v", len(recs), err)
		}
		rec.Cells = append([]pipeline.Cell(nil), rec.Cells...)
		recs = append(recs, rec)
	}
}

func openAll(tb testing.TB, path string, opt Options) (Layout, []pipeline.Record) {
	tb.Helper()
	r, err := Open(path, opt)
	if err != nil {
		tb.Fatalf("Open(%s): %v", path, err)
	}
	defer r.Close()
	return r.Layout(), readAll(tb, r)
}

func checkRecords(tb testing.TB, recs []pipeline.Record, wants []want) {
	tb.Helper()
	if len(recs) != len(wants) {
		for _, r := range recs {
			tb.Logf("row %d kind %d name %q card %q problems %q", r.Row, r.Kind, r.Name, r.Card, r.Problems)
		}
		tb.Fatalf("got %d records, want %d", len(recs), len(wants))
	}
	for i, w := range wants {
		r := recs[i]
		if r.Row != w.row || r.Kind != w.kind || r.Name != w.name || r.Card != w.card {
			tb.Errorf("record %d = row %d kind %d name %q card %q; want row %d kind %d name %q card %q",
				i, r.Row, r.Kind, r.Name, r.Card, w.row, w.kind, w.name, w.card)
		}
		checkSubstr(tb, "row "+strconv.Itoa(w.row)+" problems", r.Problems, w.problem)
		checkSubstr(tb, "row "+strconv.Itoa(w.row)+" warnings", r.Warnings, w.warning)
		for _, m := range append(r.Problems, r.Warnings...) {
			if (r.Card != "" && strings.Contains(m, r.Card)) || (r.Name != "" && strings.Contains(m, r.Name)) {
				tb.Errorf("row %d: message %q quotes the name or the card", r.Row, m)
			}
		}
	}
}

const (
	cardA = "6222021234567890128"
	cardB = "6217001234567893"
	cardC = "621700123456789011"
	cardD = "622202123452"
	cardE = "6228480012345678903"
	cardF = "6222021234567890127" // fails Luhn
)

func TestLayoutWorkbook(t *testing.T) {
	layout, recs := openAll(t, filepath.Join(fixtures, "layout.xlsx"), Options{})
	wantLayout := Layout{Format: "xlsx", Sheet: "客户", HeaderRow: 3, NameCol: 1, CardCol: 2,
		Header: []string{"序号", "姓名", "银行卡号", "开户日期", "金额"}, EstimatedRows: 15}
	if !reflect.DeepEqual(layout, wantLayout) {
		t.Errorf("Layout = %+v, want %+v (the hidden first sheet must be skipped)", layout, wantLayout)
	}
	checkRecords(t, recs, []want{
		{row: 1, kind: pipeline.Preamble},
		{row: 2, kind: pipeline.Preamble},
		{row: 3, kind: pipeline.Header},
		{row: 4, kind: pipeline.Data, name: "张三", card: cardA},
		{row: 5, kind: pipeline.Data, name: "李四", card: cardB},       // "李 四", dashes
		{row: 6, kind: pipeline.Data, name: "王五", card: cardC},       // top of a merged name
		{row: 7, kind: pipeline.Data, name: "王五", card: cardE},       // inside it
		{row: 8, kind: pipeline.Blank},                               // absent from the XML
		{row: 9, kind: pipeline.Data, name: "阿依古丽·买买提", card: cardA}, // bullet, full-width digits
		{row: 10, kind: pipeline.Data, name: "赵六", card: cardD},      // a string formula
		{row: 11, kind: pipeline.Data, name: "钱七", card: "12345", problem: "has 5 digits"},
		{row: 12, kind: pipeline.Data, card: cardA, problem: "name is empty"},
		{row: 13, kind: pipeline.Data, name: "孙八", card: cardB}, // leading apostrophe
		{row: 14, kind: pipeline.Data, name: "周九", card: cardF, warning: "Luhn"},
		{row: 15, kind: pipeline.Data, problem: "card number is empty"}, // only a 0 in column E
	})

	// Cell types, raw values and formats, as a writer needs them.
	cells := func(row int) []pipeline.Cell { return recs[row-1].Cells }
	checkCell := func(row, col int, want pipeline.Cell) {
		t.Helper()
		var got pipeline.Cell
		if c := cells(row); col < len(c) {
			got = c[col]
		}
		if got != want {
			t.Errorf("row %d column %s = %+v, want %+v", row, columnName(col), got, want)
		}
	}
	checkCell(1, 0, pipeline.Cell{Value: "2026年11月 客户银行卡核验名单"})
	checkCell(1, 1, pipeline.Cell{}) // covered by the merge: kept as it is
	checkCell(2, 4, pipeline.Cell{Value: "2026-11-27", Type: pipeline.Date, Raw: "46353", NumFmt: `yyyy\-mm\-dd`})
	checkCell(4, 0, pipeline.Cell{Value: "1", Type: pipeline.Formula, Raw: "1"})
	checkCell(4, 3, pipeline.Cell{Value: "2020-01-15", Type: pipeline.Date, Raw: "43845", NumFmt: `yyyy\-mm\-dd`})
	checkCell(4, 4, pipeline.Cell{Value: "1,234.50", Type: pipeline.Number, Raw: "1234.5", NumFmt: "#,##0.00"})
	checkCell(5, 1, pipeline.Cell{Value: "李 四"}) // the original text stays in the cell
	checkCell(7, 1, pipeline.Cell{})             // the merged name is not copied into the cell
	checkCell(10, 2, pipeline.Cell{Value: cardD, Type: pipeline.Formula})
	checkCell(13, 2, pipeline.Cell{Value: "'" + cardB})
}

func TestCardsTypedAsNumbers(t *testing.T) {
	lost := "Excel keeps only 15 digits"
	wants := []want{
		{row: 1, kind: pipeline.Header},
		{row: 2, kind: pipeline.Data, name: "张三", problem: lost},
		{row: 3, kind: pipeline.Data, name: "李四", card: cardD},
		{row: 4, kind: pipeline.Data, name: "王五", problem: lost}, // 16 digits
		{row: 5, kind: pipeline.Data, name: "赵六", card: cardE},   // typed as text
	}
	tests := []struct {
		file  string
		shown string // how a spreadsheet shows the 19-digit card
		fmt   string
	}{
		{"cards-general.xlsx", "6.22202123456789E+18", ""},
		{"cards-zero.xlsx", "6222021234567890000", "0"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			_, recs := openAll(t, filepath.Join(fixtures, tc.file), Options{})
			checkRecords(t, recs, wants)
			c := recs[1].Cells[1]
			if c.Type != pipeline.Number || c.Value != tc.shown || c.NumFmt != tc.fmt || !strings.Contains(strings.ToUpper(c.Raw), "E+") {
				t.Errorf("card cell = %+v, want a Number shown %q with format %q", c, tc.shown, tc.fmt)
			}
		})
	}
	// The same list saved as CSV keeps the E notation as text.
	_, recs := openAll(t, filepath.Join(fixtures, "cards-general.csv"), Options{})
	checkRecords(t, recs, []want{
		{row: 1, kind: pipeline.Header},
		{row: 2, kind: pipeline.Data, name: "张三", card: "6.22202123456789E+018", problem: "E notation"},
		{row: 3, kind: pipeline.Data, name: "李四", card: cardD},
		{row: 4, kind: pipeline.Data, name: "王五", card: cardB},
		{row: 5, kind: pipeline.Data, name: "赵六", card: cardE},
	})
}

func TestTextFiles(t *testing.T) {
	wants := []want{
		{row: 1, kind: pipeline.Header},
		{row: 2, kind: pipeline.Data, name: "张三", card: cardA},
		{row: 3, kind: pipeline.Data, name: "阿依古丽·买买提", card: cardC},
		{row: 4, kind: pipeline.Data, name: "李四", card: "123", problem: "has 3 digits"},
		{row: 5, kind: pipeline.Data, name: "王五", card: cardF, warning: "Luhn"},
	}
	tests := []struct {
		file     string
		encoding string
		delim    rune
	}{
		{"list-utf8.csv", "utf-8", ','},
		{"list-utf8-bom.csv", "utf-8-bom", ','},
		{"list-gbk.csv", "gb18030", ','},
		{"list-utf16.txt", "utf-16le", '\t'},
		{"list-semicolon.csv", "utf-8", ';'},
		{"list-pipe.txt", "utf-8", '|'},
		{"list-cr.csv", "utf-8", ','}, // lone CR line ends
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			layout, recs := openAll(t, filepath.Join(fixtures, tc.file), Options{})
			if layout.Encoding != tc.encoding || layout.Delimiter != tc.delim || layout.Format != "csv" ||
				layout.HeaderRow != 1 || layout.NameCol != 0 || layout.CardCol != 1 || layout.EstimatedRows != 5 {
				t.Errorf("Layout = %+v, want encoding %s, delimiter %q, header 1, columns 0 and 1, 5 rows", layout, tc.encoding, tc.delim)
			}
			if got := strings.Join(layout.Header, "|"); got != "客户姓名|银行卡号|备注" {
				t.Errorf("Header = %q", got)
			}
			checkRecords(t, recs, wants)
			if got := recs[1].Cells[2].Value; got != "首次, 核验" {
				t.Errorf("quoted field with the delimiter = %q", got)
			}
			if got := recs[2].Cells[2].Value; got != `"VIP"` {
				t.Errorf("quoted field with quotes = %q", got)
			}
		})
	}
}

func TestEncodingOverride(t *testing.T) {
	// GBK read as UTF-8 on purpose: the names come out wrong and are refused
	// rather than sent.
	r, err := Open(filepath.Join(fixtures, "list-gbk.csv"), Options{Encoding: "gbk", HeaderRow: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Layout().Encoding != "gbk" {
		t.Errorf("Encoding = %q, want gbk", r.Layout().Encoding)
	}
	_, err = Open(filepath.Join(fixtures, "list-gbk.csv"), Options{Encoding: "utf-8"})
	var ie *pipeline.InputError
	if !errors.As(err, &ie) {
		t.Errorf("GBK read as UTF-8: err = %v, want an InputError (no header found)", err)
	}
	_, err = Open(filepath.Join(fixtures, "list-utf8.csv"), Options{Encoding: "klingon"})
	if !errors.As(err, &ie) || !strings.Contains(msg.Text("en", ie.Msg), "unknown encoding") {
		t.Errorf("unknown encoding: err = %v", err)
	}
}

// TestBOMContradictsText: a UTF-8 byte order mark before GBK text is
// reported with the fix, and with --encoding gbk the mark is skipped: the
// first header is read right, not as mojibake.
func TestBOMContradictsText(t *testing.T) {
	path := filepath.Join(fixtures, "list-bom-gbk.csv")
	_, err := Open(path, Options{})
	var ie *pipeline.InputError
	if !errors.As(err, &ie) || !strings.Contains(msg.Text("en", ie.Msg), "byte order mark") || !strings.Contains(msg.Text("en", ie.Hint), "--encoding gbk") {
		t.Fatalf("UTF-8 BOM before GBK: err = %v; want an InputError about the mark naming --encoding gbk", err)
	}
	layout, recs := openAll(t, path, Options{Encoding: "gbk"})
	if got := strings.Join(layout.Header, "|"); got != "客户姓名|银行卡号|备注" {
		t.Errorf("Header with --encoding gbk = %q, want 客户姓名|银行卡号|备注", got)
	}
	if len(recs) != 5 || recs[1].Name != "张三" || recs[1].Card != cardA {
		t.Errorf("records with --encoding gbk: %d, row 2 %q %q", len(recs), recs[1].Name, recs[1].Card)
	}
	// A UTF-8 mark with --encoding utf-8 is skipped too.
	layout, _ = openAll(t, filepath.Join(fixtures, "list-utf8-bom.csv"), Options{Encoding: "utf-8"})
	if layout.Header[0] != "客户姓名" {
		t.Errorf("first header with --encoding utf-8 = %q", layout.Header[0])
	}
}

// TestNamesThatAreNotNames reads the names LibreOffice wrote (names.xlsx,
// names.csv): what no person is called is invalid, with the fix; look-
// alikes are normalised.
func TestNamesThatAreNotNames(t *testing.T) {
	wants := []want{
		{row: 1, kind: pipeline.Header},
		{row: 2, kind: pipeline.Data, name: "张三", card: cardA},
		{row: 3, kind: pipeline.Data, name: "王\u202e伟", card: cardA, problem: "text-direction"},
		{row: 4, kind: pipeline.Data, name: "\u200e\u200f", card: cardA, problem: "no letter"},
		{row: 5, kind: pipeline.Data, name: "\U0001f600\U0001f600", card: cardA, problem: "no letter"},
		{row: 6, kind: pipeline.Data, name: `=HYPERLINK("http://x","y")`, card: cardA, problem: "starts with '='"},
		{row: 7, kind: pipeline.Data, name: "@马娟", card: cardA, problem: "starts with '@'"},
		{row: 8, kind: pipeline.Data, name: "John Smith", card: cardA},
		{row: 9, kind: pipeline.Data, name: "阿依古丽·买买提", card: cardA},
		{row: 10, kind: pipeline.Data, name: "王·伟", card: cardA},
		{row: 11, kind: pipeline.Data, name: "\U0001f468\U0001f469\U0001f467", card: cardA, problem: "no letter"},
		{row: 12, kind: pipeline.Data, name: "李娜", card: cardA},
	}
	for _, file := range []string{"names.xlsx", "names.csv"} {
		t.Run(file, func(t *testing.T) {
			_, recs := openAll(t, filepath.Join(fixtures, file), Options{})
			checkRecords(t, recs, wants)
		})
	}
}

func TestRefusedFormats(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	xls, err := os.ReadFile(filepath.Join(fixtures, "list.xls"))
	if err != nil {
		t.Fatal(err)
	}
	garbage := make([]byte, 4096)
	for i := range garbage {
		garbage[i] = byte(i*7 + i/13)
	}
	tests := []struct {
		name, path, msg, hint string
	}{
		{"xls", filepath.Join(fixtures, "list.xls"), "old Excel format", "save it as .xlsx"},
		{"ods", filepath.Join(fixtures, "list.ods"), "OpenDocument", "save it as .xlsx"},
		{"numbers", write("list.numbers", []byte("x")), "Apple Numbers", "save it as .xlsx"},
		{"no extension", write("list", []byte("x")), "without an extension", "save it as .xlsx"},
		{"pdf", write("list.pdf", []byte("%PDF")), `".pdf"`, "save it as .xlsx"},
		{"xls named xlsx", write("old.xlsx", xls), "old Excel workbook (.xls) or a password-protected", "remove the password"},
		{"text named xlsx", write("fake.xlsx", []byte("姓名,卡号\n张三,6222021234567890128\n")), "not an XLSX workbook", "save it as .xlsx"},
		{"garbage named xlsx", write("garbage.xlsx", garbage), "not an XLSX workbook", "save it as .xlsx"},
		{"empty xlsx", write("empty.xlsx", nil), "empty", "right file"},
		{"empty csv", write("empty.csv", nil), "empty", "right file"},
		{"garbage named csv", write("garbage.csv", garbage), "binary", "save it as .xlsx"},
		{"xls named csv", write("old.csv", xls), "old Excel workbook", "save it as .xlsx"},
		{"xlsx named csv", write("book.csv", mustRead(t, filepath.Join(fixtures, "layout.xlsx"))), "zip archive", "save it as .xlsx"},
		{"missing file", filepath.Join(dir, "nope.csv"), "cannot open", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Open(tc.path, Options{})
			if err == nil {
				r.Close()
				t.Fatalf("Open(%s) succeeded", tc.path)
			}
			var ie *pipeline.InputError
			if !errors.As(err, &ie) {
				t.Fatalf("Open(%s) = %T %v, want an InputError", tc.path, err, err)
			}
			if !strings.Contains(msg.Text("en", ie.Msg), tc.msg) || !strings.Contains(msg.Text("en", ie.Hint), tc.hint) {
				t.Errorf("Open(%s) = %v; want message with %q and hint with %q", tc.path, err, tc.msg, tc.hint)
			}
		})
	}
}

func mustRead(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestSheetChoice(t *testing.T) {
	path := filepath.Join(fixtures, "layout.xlsx")
	tests := []struct {
		sheet, want, err string
	}{
		{"", "客户", ""},
		{"客户", "客户", ""},
		{"1", "客户", ""},  // the first visible sheet
		{"说明", "说明", ""}, // a hidden sheet, when named
		{"Sheet9", "", `no sheet "Sheet9"; the sheets are "说明" (hidden), "客户"`},
		{"2", "", `no sheet "2"`},
	}
	for _, tc := range tests {
		t.Run(tc.sheet, func(t *testing.T) {
			r, err := Open(path, Options{Sheet: tc.sheet})
			if tc.err != "" {
				var ie *pipeline.InputError
				if !errors.As(err, &ie) || !strings.Contains(msg.Text("en", ie.Msg), tc.err) || !strings.Contains(msg.Text("en", ie.Hint), "--sheet") {
					t.Fatalf("Open(sheet %q) = %v, want an InputError with %q", tc.sheet, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if got := r.Layout().Sheet; got != tc.want {
				t.Errorf("Sheet = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestColumnOptions(t *testing.T) {
	path := filepath.Join(fixtures, "layout.xlsx")
	tests := []struct {
		name         string
		opt          Options
		header       int
		nameC, cardC int
		err          string
	}{
		{"letters", Options{NameCol: "B", CardCol: "c"}, 3, 1, 2, ""},
		{"indexes", Options{NameCol: "2", CardCol: "3"}, 3, 1, 2, ""},
		{"header text", Options{NameCol: "姓名", CardCol: "银行卡号"}, 3, 1, 2, ""},
		{"header row", Options{HeaderRow: 3}, 3, 1, 2, ""},
		{"header row and letters", Options{HeaderRow: 3, NameCol: "B", CardCol: "C"}, 3, 1, 2, ""},
		{"wrong header row", Options{HeaderRow: 2}, 0, 0, 0, "no name column; no card column; headers found: A=\"制表：合规部\""},
		{"header row past the end", Options{HeaderRow: 500}, 0, 0, 0, "past the end"},
		{"header row too far", Options{HeaderRow: 5000}, 0, 0, 0, "not within the first 1000 rows"},
		{"unknown header", Options{CardCol: "卡"}, 0, 0, 0, `no column "卡" for the card`},
		{"same column", Options{NameCol: "C", CardCol: "C"}, 0, 0, 0, "same column"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Open(path, tc.opt)
			if tc.err != "" {
				var ie *pipeline.InputError
				if !errors.As(err, &ie) || !strings.Contains(msg.Text("en", ie.Msg), tc.err) {
					t.Fatalf("Open(%+v) = %v, want an InputError with %q", tc.opt, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			l := r.Layout()
			if l.HeaderRow != tc.header || l.NameCol != tc.nameC || l.CardCol != tc.cardC {
				t.Errorf("Layout = header %d name %d card %d, want %d %d %d", l.HeaderRow, l.NameCol, l.CardCol, tc.header, tc.nameC, tc.cardC)
			}
		})
	}
}

func TestDigest(t *testing.T) {
	p := filepath.Join(t.TempDir(), "a.csv")
	if err := os.WriteFile(p, []byte("abc"), 0o600); err != nil {
		t.Fatal(err)
	}
	// printf abc | sha256sum
	sum, err := Digest(p)
	if err != nil || sum.Size != 3 || sum.Lines != 1 || sum.SHA256 != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Errorf("Digest = %+v, %v; want 3 bytes, 1 line", sum, err)
	}
	// printf 'a,b\r\n1,2\n\n' | sha256sum
	if err := os.WriteFile(p, []byte("a,b\r\n1,2\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sum, err = Digest(p)
	if err != nil || sum.Size != 10 || sum.Lines != 3 || sum.SHA256 != "204e0abc9a2e2d141b66e2a245a8cf8b2b48d124d39a6e905ac6125ec3145d1e" {
		t.Errorf("Digest = %+v, %v; want 10 bytes, 3 lines", sum, err)
	}
	if _, err := Digest(p + ".missing"); err == nil {
		t.Error("Digest of a missing file succeeded")
	}
}
