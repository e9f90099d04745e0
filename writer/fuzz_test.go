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
		w.Write(pipeline.Record{Row: 1, Kind: pipeline.Header, Cells: cellsOf("name", "card")}, pipeline.Outcome{})
		w.Write(pipeline.Record{Row: 2, Kind: pipeline.Data, Cells: cellsOf(s, s)},
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
