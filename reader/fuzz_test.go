package reader

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/cardverify/cardverify/pipeline"
)

// FuzzDelimited feeds arbitrary bytes to the delimited reader. It must
// never panic; it must refuse with an InputError or yield records in order;
// a valid data row must hold what the API accepts; and no problem or
// warning may quote the card. Seeds: testdata/fuzz/FuzzDelimited.
func FuzzDelimited(f *testing.F) {
	f.Add([]byte(sampleCSV), "")
	f.Add([]byte("姓名\t卡号\r\n张三\t6222021234567890128\r\n"), "")
	f.Add([]byte("\xff\xfe\"\x00"), "utf-16le")
	f.Add([]byte("name;card\n\"a\"\"b\";6.22E+18\n"), "gbk")
	f.Fuzz(func(t *testing.T, data []byte, enc string) {
		r, err := NewDelimited(bytes.NewReader(data), Options{Encoding: enc})
		if err != nil {
			var ie *pipeline.InputError
			if !errors.As(err, &ie) {
				t.Fatalf("NewDelimited: %T %v, want an InputError", err, err)
			}
			return
		}
		last := 0
		for i := 0; ; i++ {
			rec, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				var ie *pipeline.InputError
				if !errors.As(err, &ie) {
					t.Fatalf("Next: %T %v, want an InputError", err, err)
				}
				break
			}
			if rec.Row != last+1 {
				t.Fatalf("row %d after row %d", rec.Row, last)
			}
			last = rec.Row
			checkRecordInvariants(t, rec)
		}
	})
}

func checkRecordInvariants(tb testing.TB, rec pipeline.Record) {
	tb.Helper()
	if rec.Kind != pipeline.Data {
		if rec.Name != "" || rec.Card != "" || len(rec.Problems) > 0 || len(rec.Warnings) > 0 {
			tb.Fatalf("row %d of kind %d has data fields: %+v", rec.Row, rec.Kind, rec)
		}
		return
	}
	if len(rec.Problems) == 0 {
		if n := len(rec.Card); n < minCardDigits || n > maxCardDigits || strings.Trim(rec.Card, "0123456789") != "" {
			tb.Fatalf("row %d valid with card of %d bytes that are not all digits", rec.Row, n)
		}
		if rec.Name == "" || utf8.RuneCountInString(rec.Name) > maxNameRunes || !utf8.ValidString(rec.Name) {
			tb.Fatalf("row %d valid with name %q", rec.Row, rec.Name)
		}
	}
	for _, m := range append(rec.Problems, rec.Warnings...) {
		if len(rec.Card) >= 4 && strings.Contains(m, rec.Card) {
			tb.Fatalf("row %d: message %q quotes the card", rec.Row, m)
		}
		if len(rec.Name) >= 4 && strings.Contains(m, rec.Name) {
			tb.Fatalf("row %d: message %q quotes the name", rec.Row, m)
		}
	}
}

// FuzzNormalize checks the normalisers and validators on arbitrary text:
// no panics, names normalised once stay so, valid cards are 12 to 19 ASCII
// digits, and messages never quote the value. Seeds:
// testdata/fuzz/FuzzNormalize.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"6222 0212-3456 7890 128", "'６２２２", "阿依古丽・买买提", "张 三", "John  Smith",
		"6.22202E+18", "张.三", "\u200b1\ufeff", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		name := NormalizeName(s)
		if again := NormalizeName(name); again != name {
			t.Fatalf("NormalizeName not stable: %q -> %q -> %q", s, name, again)
		}
		if utf8.ValidString(s) && !utf8.ValidString(name) {
			t.Fatalf("NormalizeName(%q) = %q, not UTF-8", s, name)
		}
		if strings.TrimSpace(name) != name {
			t.Fatalf("NormalizeName(%q) = %q, not trimmed", s, name)
		}
		if len(CheckName(name)) == 0 {
			// A name that is sent is made of what a person's name is.
			if i := strings.IndexFunc(name, func(r rune) bool { return unicode.Is(unicode.Cf, r) }); i >= 0 {
				t.Fatalf("CheckName accepted %q (from %q) with an invisible format character", name, s)
			}
			if strings.ContainsAny(name[:1], "=+-@") || !strings.ContainsFunc(name, unicode.IsLetter) {
				t.Fatalf("CheckName accepted %q (from %q)", name, s)
			}
		}
		for _, p := range CheckName(name) {
			if len(name) >= 4 && strings.Contains(p, name) {
				t.Fatalf("CheckName message %q quotes the name", p)
			}
		}
		card := NormalizeCard(s)
		probs, warns := CheckCard(card)
		if len(probs) == 0 {
			if n := len(card); n < minCardDigits || n > maxCardDigits || strings.Trim(card, "0123456789") != "" {
				t.Fatalf("CheckCard accepted %q (from %q)", card, s)
			}
			if Luhn(card) == containsLuhnWarning(warns) {
				t.Fatalf("Luhn(%q) = %v, warnings %q", card, Luhn(card), warns)
			}
		}
		for _, m := range append(probs, warns...) {
			if len(card) >= 4 && strings.Contains(m, card) {
				t.Fatalf("CheckCard message %q quotes the card", m)
			}
		}
		for _, r := range card {
			if r == ' ' || r == '-' || r == '\t' || (r >= '０' && r <= '９') {
				t.Fatalf("NormalizeCard(%q) = %q keeps %q", s, card, r)
			}
		}
	})
}

func containsLuhnWarning(warns []string) bool {
	for _, w := range warns {
		if w == warnLuhn {
			return true
		}
	}
	return false
}

// FuzzFormat checks that number formatting never panics on arbitrary
// format codes and values.
func FuzzFormat(f *testing.F) {
	for _, code := range []string{"0", "#,##0.00", "yyyy-mm-dd", `[$¥-804]#,##0.00;[Red](#,##0.00)`, `0"元"`, "[h]:mm:ss", "0.00E+00", `\`} {
		f.Add(45292.5, code)
	}
	f.Fuzz(func(t *testing.T, v float64, code string) {
		raw := "1"
		formatNumber(v, raw, code)
		formatDate(v, raw, code, false)
		isDateFormat(code)
	})
}

// FuzzSheet feeds arbitrary sheet XML, with a few shared strings and
// merged ranges, to the workbook reader: no panic, an InputError or records
// in order that keep the invariants of FuzzDelimited.
func FuzzSheet(f *testing.F) {
	f.Add(header + `<row r="2"><c r="A2" t="s"><v>0</v></c><c r="B2" t="s"><v>1</v></c></row>`)
	f.Add(header + `<row r="3"><c r="B3" t="inlineStr"><is><t>` + cardA + `</t></is></c></row></sheetData><mergeCells><mergeCell ref="A2:A3"/></mergeCells><sheetData>`)
	f.Add(header + `<row r="2"><c r="A2" t="b"><v>1</v></c><c r="B2" s="2"><v>45292</v></c><c r="C2" t="e"><v>#N/A</v></c></row>`)
	f.Fuzz(func(t *testing.T, rows string) {
		path := sheetBook(t, rows, []string{"张三", cardA})
		r, err := Open(path, Options{})
		if err != nil {
			var ie *pipeline.InputError
			if !errors.As(err, &ie) {
				t.Fatalf("Open: %T %v, want an InputError", err, err)
			}
			return
		}
		defer r.Close()
		last := 0
		for last < 10000 { // a mutated row number can make a million blank rows
			rec, err := r.Next()
			if err == io.EOF {
				return
			}
			if err != nil {
				var ie *pipeline.InputError
				if !errors.As(err, &ie) {
					t.Fatalf("Next: %T %v, want an InputError", err, err)
				}
				return
			}
			if rec.Row != last+1 {
				t.Fatalf("row %d after row %d", rec.Row, last)
			}
			last = rec.Row
			checkRecordInvariants(t, rec)
		}
	})
}
