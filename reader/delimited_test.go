package reader

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"

	"github.com/cardverify/cardverify/pipeline"
	"github.com/cardverify/cardverify/pipeline/msg"
)

const sampleCSV = "客户名单\n" +
	"姓名,银行卡号,备注\n" +
	"张三,6222021234567890128,\"a, b\"\n" +
	",,\n" +
	"李四,6217-0012-3456-7893,\n" +
	",,x\n"

var sampleWants = []want{
	{row: 1, kind: pipeline.Preamble},
	{row: 2, kind: pipeline.Header},
	{row: 3, kind: pipeline.Data, name: "张三", card: cardA},
	{row: 4, kind: pipeline.Blank},
	{row: 5, kind: pipeline.Data, name: "李四", card: cardB},
	{row: 6, kind: pipeline.Data, problem: "card number is empty"},
}

func readDelimited(tb testing.TB, r io.Reader, opt Options) (Layout, []pipeline.Record) {
	tb.Helper()
	d, err := NewDelimited(r, opt)
	if err != nil {
		tb.Fatalf("NewDelimited: %v", err)
	}
	defer d.Close()
	return d.Layout(), readAll(tb, d)
}

// TestDelimitedReaders reads the same text through readers that return
// little at a time: the result must not depend on how reads are cut.
func TestDelimitedReaders(t *testing.T) {
	utf16 := func(s string) []byte {
		b, err := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().Bytes([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	gbk, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(sampleCSV))
	if err != nil {
		t.Fatal(err)
	}
	inputs := map[string][]byte{
		"utf-8":    []byte(sampleCSV),
		"utf-16le": utf16(strings.ReplaceAll(sampleCSV, ",", "\t")),
		"gbk":      gbk,
		"crlf":     []byte(strings.ReplaceAll(sampleCSV, "\n", "\r\n")),
	}
	wrappers := map[string]func(io.Reader) io.Reader{
		"plain":    func(r io.Reader) io.Reader { return r },
		"one byte": iotest.OneByteReader,
		"half":     iotest.HalfReader,
		"data+EOF": iotest.DataErrReader,
	}
	for in, data := range inputs {
		for wn, wrap := range wrappers {
			t.Run(in+"/"+wn, func(t *testing.T) {
				_, recs := readDelimited(t, wrap(bytes.NewReader(data)), Options{})
				checkRecords(t, recs, sampleWants)
			})
		}
	}
}

func TestDelimitedReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	// Failing at once: NewDelimited reports it.
	if _, err := NewDelimited(iotest.ErrReader(boom), Options{}); !errors.Is(err, boom) {
		t.Errorf("NewDelimited(ErrReader) = %v, want %v", err, boom)
	}
	// Failing after the header: Next reports it, and keeps reporting.
	long := sampleCSV + strings.Repeat("王五,6222021234567890128,\n", 10000)
	r, err := NewDelimited(io.MultiReader(strings.NewReader(long), iotest.ErrReader(boom)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	for {
		_, err = r.Next()
		if err != nil {
			break
		}
		n++
	}
	if !errors.Is(err, boom) {
		t.Errorf("Next after %d records = %v, want %v", n, err, boom)
	}
	if err := iotest.TestReader(strings.NewReader(sampleCSV), []byte(sampleCSV)); err != nil {
		t.Fatal(err) // the fixture itself is sound
	}
}

func TestDelimiterSniffing(t *testing.T) {
	tests := []struct {
		name, text string
		tsv        bool
		want       rune
	}{
		{"comma", "姓名,卡号\n张三,1\n", false, ','},
		{"semicolon", "姓名;卡号;备注\n张三;1;a,b\n", false, ';'},
		{"tab", "姓名\t卡号\n张三\t1\n", false, '\t'},
		{"pipe", "姓名|卡号\n张三|1\n", false, '|'},
		{"comma inside quotes", "姓名;卡号\n\"张,三\";1\n\"李,四\";2\n", false, ';'},
		{"one column, tsv", "姓名\n张三\n", true, '\t'},
		{"one column", "姓名\n张三\n", false, ','},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := sniffDelimiter([]byte(tc.text), tc.tsv); got != tc.want {
				t.Errorf("sniffDelimiter(%q) = %q, want %q", tc.text, got, tc.want)
			}
		})
	}
}

func TestEncodingGuess(t *testing.T) {
	gb, _ := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte("姓名,卡号\n"))
	tests := []struct {
		name  string
		data  []byte
		label string
		want  string
		bom   int
	}{
		{"utf-8", []byte("姓名,卡号\n"), "", "utf-8", 0},
		{"utf-8 bom", []byte("\xef\xbb\xbf姓名"), "", "utf-8-bom", 3},
		{"utf-16le bom", []byte{0xff, 0xfe, 'a', 0}, "", "utf-16le", 2},
		{"utf-16be bom", []byte{0xfe, 0xff, 0, 'a'}, "", "utf-16be", 2},
		{"gb18030", gb, "", "gb18030", 0},
		{"utf-8 cut at the end", []byte("姓名,卡号\n张")[:len("姓名,卡号\n张")-1], "", "utf-8", 0},
		{"label", gb, "GBK", "gbk", 0},
		{"label utf-8 with bom", []byte("\xef\xbb\xbfa"), "utf8", "utf-8", 3},
		{"label utf-16le with bom", []byte{0xff, 0xfe, 'a', 0}, "UTF-16LE", "utf-16le", 2},
		{"label utf-16be without bom", []byte{0, 'a'}, "utf-16be", "utf-16be", 0},
		{"label utf-16 with be bom", []byte{0xfe, 0xff, 0, 'a'}, "utf-16", "utf-16be", 2},
		{"label utf-16 without bom", []byte{'a', 0}, "UTF-16", "utf-16le", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name, _, bom, err := chooseEncoding("", tc.data, tc.label)
			if err != nil || name != tc.want || bom != tc.bom {
				t.Errorf("chooseEncoding = %q, bom %d, %v; want %q, bom %d", name, bom, err, tc.want, tc.bom)
			}
		})
	}
}

func TestDelimitedHeaders(t *testing.T) {
	tests := []struct {
		name, text string
		opt        Options
		header     int
		nameC      int
		cardC      int
		err        string // substring of the InputError; "" for none
		hint       string
	}{
		{"synonyms", "户名,银行账号\n张三,1\n", Options{}, 1, 0, 1, "", ""},
		{"english", "No.,Real Name,Card_No\n1,John,1\n", Options{}, 1, 1, 2, "", ""},
		{"full width and notes", "ＮＡＭＥ,银行卡号（必填）*\n张三,1\n", Options{}, 1, 0, 1, "", ""},
		{"card/account", "开户名,卡号/账号\n张三,1\n", Options{}, 1, 0, 1, "", ""},
		{"header after notes", "名单\n说明: 姓名 卡号\n\n持卡人,备注,卡号\n", Options{}, 3, 0, 2, "", ""},
		{"no card column", "姓名,电话\n张三,1\n", Options{}, 0, 0, 0, "no card column; headers found: A=\"姓名\", B=\"电话\"", "--card-col"},
		{"ambiguous name", "姓名,户名,卡号\n张三,张三,1\n", Options{}, 0, 0, 0, "several columns look like the name column", "--name-col"},
		{"ambiguous resolved", "姓名,户名,卡号\n张三,张三,1\n", Options{NameCol: "户名"}, 1, 1, 2, "", ""},
		{"nothing", "a,b\n1,2\n", Options{}, 0, 0, 0, "no header row with a name and a card column in the first 20 rows", "--header-row"},
		{"header past row 20", strings.Repeat("x\n", 20) + "姓名,卡号\n", Options{}, 0, 0, 0, "no header row", ""},
		{"header row given past 20", strings.Repeat("x\n", 20) + "姓名,卡号\n张三,1\n", Options{HeaderRow: 21}, 21, 0, 1, "", ""},
		{"letters without header", "x,y\n张三,1\n", Options{NameCol: "A", CardCol: "B"}, 0, 0, 0, "no header row", "--header-row"},
		{"letters with header row", "x,y\n张三,1\n", Options{NameCol: "A", CardCol: "B", HeaderRow: 1}, 1, 0, 1, "", ""},
		{"header named like a letter", "ID,AB,姓名\n1,6222021234567890128,张三\n", Options{CardCol: "AB"}, 1, 2, 1, "", ""},
		{"empty", "", Options{}, 0, 0, 0, "empty", ""},
		{"only blank records", ",\n,\n", Options{}, 0, 0, 0, "no header row", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewDelimited(strings.NewReader(tc.text), tc.opt)
			if tc.err != "" {
				var ie *pipeline.InputError
				if !errors.As(err, &ie) || !strings.Contains(msg.Text("en", ie.Msg), tc.err) || !strings.Contains(msg.Text("en", ie.Hint), tc.hint) {
					t.Fatalf("NewDelimited(%q) = %v; want an InputError with %q and hint %q", tc.text, err, tc.err, tc.hint)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewDelimited(%q): %v", tc.text, err)
			}
			l := r.Layout()
			if l.HeaderRow != tc.header || l.NameCol != tc.nameC || l.CardCol != tc.cardC {
				t.Errorf("layout = header %d name %d card %d; want %d %d %d", l.HeaderRow, l.NameCol, l.CardCol, tc.header, tc.nameC, tc.cardC)
			}
		})
	}
}

func TestHeaderOnly(t *testing.T) {
	_, recs := readDelimited(t, strings.NewReader("姓名,卡号\n"), Options{})
	checkRecords(t, recs, []want{{row: 1, kind: pipeline.Header}})
}

func TestShortRows(t *testing.T) {
	_, recs := readDelimited(t, strings.NewReader("姓名,备注,卡号\n张三\n李四,x\n"), Options{})
	checkRecords(t, recs, []want{
		{row: 1, kind: pipeline.Header},
		{row: 2, kind: pipeline.Data, name: "张三", problem: "card number is empty"},
		{row: 3, kind: pipeline.Data, name: "李四", problem: "card number is empty"},
	})
}

// TestHostileText checks that text files that would take unbounded memory
// or time are refused with an InputError, not a panic.
func TestHostileText(t *testing.T) {
	tests := []struct {
		name string
		text string
		err  string
	}{
		{"5 MB cell", "姓名,卡号\n张三,\"" + strings.Repeat("x", 5<<20) + "\"\n", "longer than 4 MiB"},
		{"5 MB line without quotes", "姓名,卡号\n" + strings.Repeat("y", 5<<20) + "\n", "longer than 4 MiB"},
		{"unbalanced quote", "姓名,卡号\n\"张三,1\n" + strings.Repeat("李四,2\n", 1<<20), "longer than 4 MiB"},
		{"40,000-character cell", "姓名,卡号\n张三," + strings.Repeat("z", 40000) + "\n", "more than 32767 characters"},
		{"10,000 columns", "姓名,卡号\n" + strings.Repeat("a,", 9999) + "a\n", "10000 fields"},
		{"10,000 columns in the header", "姓名,卡号" + strings.Repeat(",", 9998) + "\n", "10000 fields"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewDelimited(strings.NewReader(tc.text), Options{})
			if err == nil {
				for err == nil {
					_, err = r.Next()
				}
			}
			var ie *pipeline.InputError
			if !errors.As(err, &ie) || !strings.Contains(msg.Text("en", ie.Msg), tc.err) {
				t.Fatalf("err = %v, want an InputError with %q", err, tc.err)
			}
			if ie.Row == 0 {
				t.Errorf("err = %v: no row number", err)
			}
		})
	}
}

// TestFormulaText checks that text looking like a formula stays text.
func TestFormulaText(t *testing.T) {
	_, recs := readDelimited(t, strings.NewReader("姓名,卡号,备注\n=cmd|' /C calc'!A0,6222021234567890128,'; DROP TABLE x;--\n"), Options{})
	rec := recs[1]
	if rec.Cells[0].Type != pipeline.Text || rec.Cells[0].Value != "=cmd|' /C calc'!A0" {
		t.Errorf("formula text cell = %+v, want it as text", rec.Cells[0])
	}
	checkSubstr(t, "problems", rec.Problems, "name contains digits")
}

func TestOpenTextEstimate(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.tsv")
	if err := os.WriteFile(p, []byte("姓名\t卡号\n张三\t6222021234567890128"), 0o600); err != nil {
		t.Fatal(err)
	}
	layout, recs := openAll(t, p, Options{})
	if layout.EstimatedRows != 2 || layout.Delimiter != '\t' || len(recs) != 2 {
		t.Errorf("layout %+v, %d records; want 2 rows, tab", layout, len(recs))
	}
}

// TestHeaderErrorHidesCards checks that an error listing the cells of a
// data row taken for the header does not print card numbers.
func TestHeaderErrorHidesCards(t *testing.T) {
	_, err := NewDelimited(strings.NewReader("姓名,卡号\n张三,6222021234567890128\n"), Options{HeaderRow: 2})
	var ie *pipeline.InputError
	if !errors.As(err, &ie) {
		t.Fatalf("err = %v, want an InputError", err)
	}
	if strings.Contains(err.Error(), "6222021234567890128") || !strings.Contains(err.Error(), `B="(…)"`) {
		t.Errorf("err = %v: shows the card", err)
	}
}

// TestLoneCR: lines ending in a lone CR are rows, wherever the CR falls in
// the reads below the CSV parser; a CR LF stays one line end.
func TestLoneCR(t *testing.T) {
	var b strings.Builder
	b.WriteString("姓名,卡号\r")
	const rows = 3000
	for i := range rows {
		end := "\r"
		if i%7 == 0 {
			end = "\r\n"
		}
		fmt.Fprintf(&b, "%s,6222021234567890128%s", strings.Repeat("王", 1+i%5), end)
	}
	r, err := NewDelimited(iotest.HalfReader(strings.NewReader(b.String())), Options{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("after %d records: %v", n, err)
		}
		if rec.Kind == pipeline.Data && (len(rec.Problems) > 0 || rec.Card != "6222021234567890128") {
			t.Fatalf("row %d: card %q, problems %q", rec.Row, rec.Card, rec.Problems)
		}
		n++
	}
	if n != rows+1 {
		t.Errorf("%d records, want %d", n, rows+1)
	}
}
