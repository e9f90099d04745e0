package writer

import (
	"bytes"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
)

// sheetStream writes the annotated sheet's XML straight into its zip entry, a
// row at a time through a small buffer: memory stays the same whatever the
// row count, and the sheet is compressed once, as it is written. The cells
// are encoded as excelize's StreamWriter encodes them (inline strings, 15
// significant digits), so that what a reader sees does not change.
type sheetStream struct {
	w    io.Writer // the zip entry
	buf  []byte
	cols []string // column names: A, B, …
	err  error
}

// sheetFlushAt is the buffer size past which rows go to the zip entry.
const sheetFlushAt = 64 << 10

// sheetNS opens the worksheet element, with the namespaces it uses.
const sheetNS = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n" +
	`<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"` +
	` xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">`

// head writes what comes before the rows: fit to page (printSetup), the
// frozen header, the column widths.
func (s *sheetStream) head(l *layout) error {
	b := append(s.buf[:0], sheetNS...)
	b = append(b, `<sheetPr><pageSetUpPr fitToPage="true"></pageSetUpPr></sheetPr><dimension ref="A1"></dimension>`...)
	b = append(b, `<sheetViews><sheetView tabSelected="true" workbookViewId="0">`...)
	if h := l.headerRow; h > 0 && h < maxSheetRows {
		top := "A" + strconv.Itoa(h+1)
		b = append(b, `<pane activePane="bottomLeft" state="frozen" topLeftCell="`+top+`" ySplit="`...)
		b = strconv.AppendInt(b, int64(h), 10)
		b = append(b, `"></pane><selection activeCell="`+top+`" pane="bottomLeft" sqref="`+top+`"></selection>`...)
	}
	b = append(b, `</sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"></sheetFormatPr>`...)
	if len(l.widths) > 0 {
		b = append(b, "<cols>"...)
	}
	for i := 0; i < len(l.widths); {
		j := i
		for j+1 < len(l.widths) && l.widths[j+1] == l.widths[i] {
			j++
		}
		if l.widths[i] > excelize.MaxColumnWidth {
			return excelize.ErrColumnWidth
		}
		b = append(b, `<col min="`...)
		b = strconv.AppendInt(b, int64(i+1), 10)
		b = append(b, `" max="`...)
		b = strconv.AppendInt(b, int64(j+1), 10)
		b = append(b, `" width="`...)
		b = strconv.AppendFloat(b, l.widths[i], 'f', -1, 64)
		b = append(b, `" customWidth="1"/>`...)
		i = j + 1
	}
	if len(l.widths) > 0 {
		b = append(b, "</cols>"...)
	}
	s.buf = append(b, "<sheetData>"...)
	return s.flush()
}

// tail ends the sheet: the filter over the header and the rows (ref in
// A1:O9 form, empty for none) and the page setup of printSetup.
func (s *sheetStream) tail(filter string) error {
	s.buf = append(s.buf, `</sheetData>`...)
	if filter != "" {
		s.buf = append(s.buf, `<autoFilter ref="`...)
		s.buf = append(s.buf, filter...)
		s.buf = append(s.buf, `"></autoFilter>`...)
	}
	s.buf = append(s.buf, `<pageSetup fitToHeight="0" fitToWidth="1" orientation="landscape"></pageSetup></worksheet>`...)
	return s.flush()
}

// flush writes the buffer to the zip entry and keeps the first error.
func (s *sheetStream) flush() error {
	if s.err == nil && len(s.buf) > 0 {
		_, s.err = s.w.Write(s.buf)
	}
	s.buf = s.buf[:0]
	return s.err
}

// startRow opens row no, with a height in points when it is not 0.
func (s *sheetStream) startRow(no int, height float64) {
	s.buf = append(s.buf, `<row r="`...)
	s.buf = strconv.AppendInt(s.buf, int64(no), 10)
	s.buf = append(s.buf, '"')
	if height > 0 {
		s.buf = append(s.buf, ` ht="`...)
		s.buf = strconv.AppendFloat(s.buf, height, 'f', -1, 64)
		s.buf = append(s.buf, `" customHeight="1"`...)
	}
	s.buf = append(s.buf, '>')
}

// endRow closes the row, and writes the buffer out once it is large.
func (s *sheetStream) endRow() error {
	s.buf = append(s.buf, `</row>`...)
	if len(s.buf) >= sheetFlushAt {
		return s.flush()
	}
	return s.err
}

// cell opens cell (col, row), both 1-based, with its style (0: none) and
// type ("" for a number).
func (s *sheetStream) cell(col, row, style int, typ string) {
	for len(s.cols) < col {
		name, _ := excelize.ColumnNumberToName(len(s.cols) + 1)
		s.cols = append(s.cols, name)
	}
	s.buf = append(s.buf, `<c r="`...)
	s.buf = append(s.buf, s.cols[col-1]...)
	s.buf = strconv.AppendInt(s.buf, int64(row), 10)
	s.buf = append(s.buf, '"')
	if style != 0 {
		s.buf = append(s.buf, ` s="`...)
		s.buf = strconv.AppendInt(s.buf, int64(style), 10)
		s.buf = append(s.buf, '"')
	}
	if typ != "" {
		s.buf = append(s.buf, ` t="`...)
		s.buf = append(s.buf, typ...)
		s.buf = append(s.buf, '"')
	}
	s.buf = append(s.buf, '>')
}

// value writes a cell whose value is v as stored, type typ.
func (s *sheetStream) value(col, row, style int, typ, v string) {
	s.cell(col, row, style, typ)
	s.buf = append(s.buf, "<v>"...)
	s.buf = append(s.buf, v...)
	s.buf = append(s.buf, "</v></c>"...)
}

// number writes a number cell, rounded like Excel to 15 significant digits.
func (s *sheetStream) number(col, row, style int, f float64) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		s.text(col, row, style, strconv.FormatFloat(f, 'g', -1, 64))
		return
	}
	s.cell(col, row, style, "")
	s.buf = append(s.buf, "<v>"...)
	s.buf = appendFloat(s.buf, f)
	s.buf = append(s.buf, "</v></c>"...)
}

// integer writes an integer cell.
func (s *sheetStream) integer(col, row, style, n int) {
	s.cell(col, row, style, "")
	s.buf = append(s.buf, "<v>"...)
	s.buf = strconv.AppendInt(s.buf, int64(n), 10)
	s.buf = append(s.buf, "</v></c>"...)
}

// boolean writes a boolean cell.
func (s *sheetStream) boolean(col, row, style int, v bool) {
	s.value(col, row, style, "b", map[bool]string{true: "1", false: "0"}[v])
}

// text writes an inline string cell: at most 32,767 UTF-16 units, XML
// escaped, an existing _xHHHH_ escaped again so that it reads back as
// itself, and its spaces kept when it starts or ends with one.
func (s *sheetStream) text(col, row, style int, v string) {
	s.cell(col, row, style, "inlineStr")
	v = truncateUTF16(v, excelize.TotalCellChars)
	if v != "" && (isXMLSpace(v[0]) || isXMLSpace(v[len(v)-1])) {
		s.buf = append(s.buf, `<is><t xml:space="preserve">`...)
	} else {
		s.buf = append(s.buf, `<is><t>`...)
	}
	if strings.Contains(v, "_x") {
		s.buf = appendXstring(s.buf, string(escapeXML(nil, v)))
	} else {
		s.buf = escapeXML(s.buf, v)
	}
	s.buf = append(s.buf, `</t></is></c>`...)
}

func isXMLSpace(c byte) bool { return c == '\t' || c == '\n' || c == '\r' || c == ' ' }

// appendFloat appends f in decimal notation with the digits it needs, at
// most 15 significant ones: Excel keeps 15 ("Number precision: 15 digits")
// and the digits past them are cut, not rounded, as the workbooks written
// before this writer had them.
func appendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return strconv.AppendFloat(b, f, 'f', -1, 64)
	}
	// The shortest digits that name f, and the power of ten of the first.
	var tmp [32]byte
	e := strconv.AppendFloat(tmp[:0], f, 'e', -1, 64)
	if e[0] == '-' {
		b = append(b, '-')
		e = e[1:]
	}
	mant, exp, _ := bytes.Cut(e, []byte("e"))
	pow, _ := strconv.Atoi(string(exp))
	var buf [24]byte
	digits := buf[:0]
	for _, c := range mant {
		if c != '.' {
			digits = append(digits, c)
		}
	}
	digits = bytes.TrimRight(digits[:min(len(digits), 15)], "0")
	if len(digits) == 0 {
		return append(b, '0')
	}
	// digits are d1 d2 d3 ... with the point after d(pow+1).
	point := pow + 1
	switch {
	case point <= 0:
		b = appendZeros(append(b, "0."...), -point)
		return append(b, digits...)
	case point >= len(digits):
		return appendZeros(append(b, digits...), point-len(digits))
	default:
		b = append(b, digits[:point]...)
		b = append(b, '.')
		return append(b, digits[point:]...)
	}
}

// appendZeros appends n zeros to b.
func appendZeros(b []byte, n int) []byte {
	for range n {
		b = append(b, '0')
	}
	return b
}

// truncateUTF16 cuts s to at most n UTF-16 code units.
func truncateUTF16(s string, n int) string {
	if len(s) <= n { // a UTF-16 unit takes at least one byte
		return s
	}
	cnt := 0
	for i, r := range s {
		if cnt += utf16.RuneLen(r); cnt > n {
			return s[:i]
		}
	}
	return s
}

// escapeXML appends s to b as XML character data, as encoding/xml's
// EscapeText escapes it except that a newline stays a newline; a character
// XML cannot carry becomes U+FFFD.
func escapeXML(b []byte, s string) []byte {
	last := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf && plainASCII[c] {
			i++ // most of a list: no need to decode or escape
			continue
		}
		r, width := utf8.DecodeRuneInString(s[i:])
		var esc string
		switch r {
		case '"':
			esc = "&#34;"
		case '\'':
			esc = "&#39;"
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '\t':
			esc = "&#x9;"
		case '\r':
			esc = "&#xD;"
		case '\n':
		default:
			if !xmlChar(r) || r == utf8.RuneError && width == 1 {
				esc = "\uFFFD"
			}
		}
		if esc != "" {
			b = append(append(b, s[last:i]...), esc...)
			last = i + width
		}
		i += width
	}
	return append(b, s[last:]...)
}

// plainASCII marks the ASCII bytes that escapeXML copies as they are.
var plainASCII = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = !strings.ContainsRune(`"'&<>`, rune(c))
	}
	t['\n'] = true
	return t
}()

// xmlChar reports whether XML 1.0 can carry r.
func xmlChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

// appendXstring appends s to b with every text that a reader would take
// for an escaped character, _xHHHH_ (ECMA-376 Part 1, 22.9.2.19
// ST_Xstring), escaped again: its underscore written _x005F_, so that the
// cell reads back as s. Each underscore is judged on s, overlapping
// candidates included ("_x0041_x0042_" has two).
func appendXstring(b []byte, s string) []byte {
	last := 0
	for i := strings.Index(s, "_x"); i >= 0; {
		if escapedChar(s[i:]) {
			b = append(append(b, s[last:i]...), "_x005F"...)
			last = i
		}
		next := strings.Index(s[i+1:], "_x")
		if next < 0 {
			break
		}
		i += 1 + next
	}
	return append(b, s[last:]...)
}

// escapedChar reports whether s starts with _xHHHH_, H a hex digit.
func escapedChar(s string) bool {
	if len(s) < 7 || s[0] != '_' || s[1] != 'x' || s[6] != '_' {
		return false
	}
	for _, c := range []byte(s[2:6]) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
