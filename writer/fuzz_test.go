package writer

import (
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/cardverify/cardverify/pipeline"
)

// FuzzXLSXText checks that any text a customer list can hold comes back
// from the XLSX output as it went in: as text, unchanged.
func FuzzXLSXText(f *testing.F) {
	for _, s := range []string{
		"6217003180000902693", "000123", "=cmd|' /C calc'!A0", "+1", "-0", "@SUM(A1)", " lead", "trail ",
		"a\nb", "a\r\nb", "\t", "_x000D_", "_x0041_", "<b>&amp;</b>", "\"quoted\"", "张三", "1e5", "TRUE",
		"😀", strings.Repeat("长", 100),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) || s == "" || len(s) > 1000 || hasXMLInvalid(s) {
			t.Skip()
		}
		path := filepath.Join(t.TempDir(), "out.xlsx")
		w, err := Create(path, Options{CardCol: 1})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(pipeline.Record{RowNo: 1, Kind: pipeline.Header, Cells: cellsOf("name", "card")}, pipeline.Outcome{})
		w.Write(pipeline.Record{RowNo: 2, Kind: pipeline.Data, Cells: cellsOf(s, s)},
			pipeline.Outcome{Status: pipeline.Failed, Reason: s})
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		x, err := excelize.OpenFile(path)
		if err != nil {
			t.Fatal(err)
		}
		defer x.Close()
		for _, ref := range []string{"A2", "B2", "G2"} {
			got, err := x.GetCellValue("Sheet1", ref, excelize.Options{RawCellValue: true})
			if err != nil {
				t.Fatal(err)
			}
			if got != s {
				t.Errorf("%s = %q, want %q", ref, got, s)
			}
			if typ, _ := x.GetCellType("Sheet1", ref); typ != excelize.CellTypeInlineString {
				t.Errorf("%s has type %d, want text", ref, typ)
			}
		}
	})
}

// hasXMLInvalid reports whether s holds a character XML 1.0 cannot carry.
func hasXMLInvalid(s string) bool {
	for _, r := range s {
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0xFFFE || r == 0xFFFF {
			return true
		}
	}
	return false
}

// FuzzMask checks that a masked value holds only digits and stars, one per
// digit of the value, and shows at most its first 6 and last 4 digits (the
// last 4 only, below 13 digits).
func FuzzMask(f *testing.F) {
	for _, s := range []string{"6217003180000902693", "6222 0212 3456 7890 128", "12345678", "abc", "", "１２３", "0000000000000", "123456789012"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := mask(s)
		var digits []byte
		for i := 0; i < len(s); i++ {
			if '0' <= s[i] && s[i] <= '9' {
				digits = append(digits, s[i])
			}
		}
		shown := 0
		for i := 0; i < len(got); i++ {
			switch c := got[i]; {
			case c == '*':
			case '0' <= c && c <= '9':
				shown++
				if c != digits[i] {
					t.Fatalf("mask(%q) = %q: digit %d is not the value's", s, got, i)
				}
			default:
				t.Fatalf("mask(%q) = %q holds %q", s, got, c)
			}
		}
		switch {
		case s == "" && got != "":
			t.Fatalf("mask(\"\") = %q", got)
		case len(digits) > 0 && len(got) != len(digits):
			t.Fatalf("mask(%q) = %q: %d characters for %d digits", s, got, len(got), len(digits))
		case shown > 10 || len(digits) < 13 && shown > 4:
			t.Fatalf("mask(%q) = %q shows %d of %d digits", s, got, shown, len(digits))
		}
		if len(digits) > 0 {
			for i := 6; i < len(got)-4; i++ {
				if got[i] != '*' {
					t.Fatalf("mask(%q) = %q shows a middle digit", s, got)
				}
			}
		}
	})
}
