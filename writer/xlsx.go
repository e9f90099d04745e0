package writer

import (
	"archive/zip"
	"cmp"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/cardverify/cardverify/pipeline"
)

// maxSheetRows is the row limit of an XLSX sheet.
const maxSheetRows = excelize.TotalRows

// xlsxFormat writes a workbook whose annotated sheet, the first, goes
// straight into the output's zip as its rows come (sheetStream), so that
// memory does not grow with the rows and the sheet is compressed once.
// excelize makes the rest: the styles, the workbook, the Summary sheet
// written after it.
//
// Text cells are written as inline strings, never as formulas, so text
// such as "=cmd|..." or "000123" stays the text it was. Number and date
// cells keep their stored value (rounded, like Excel, to 15 significant
// digits) and their number format. Formula cells are written as their
// cached value, as numbers when that value is a plain number and as text
// otherwise: cardverify does not recompute formulas.
type xlsxFormat struct {
	lang      *lang
	sheetName string
	sum       *Summary

	out    io.Writer // the temporary file, from start
	z      *zipOut
	sx     sheetStream
	last   int // the last row written
	f      *excelize.File
	sheet  string
	l      *layout
	styles map[styleKey]int
	status [pipeline.NumStatuses]int // style of the status cell, by status
	vhead  int                       // style of the verdict headers
	bold   int
	code   int // res and error_code: numbers, left-aligned like the text around them
	reason int // the reason: wrapped
	when   int // verified_at: a date-time with its offset
	time   int // a date-time cell whose number format is General
}

// styleKey identifies a cell style: a number format, bold or not.
type styleKey struct {
	numFmt string
	bold   bool
}

// statusColours are the fill and font colours of each status: Excel's
// "good", "bad" and "neutral" styles, grey for pending.
var statusColours = [pipeline.NumStatuses][2]string{
	pipeline.Pending:  {"E7E6E6", "3A3838"},
	pipeline.Match:    {"C6EFCE", "006100"},
	pipeline.Mismatch: {"FFC7CE", "9C0006"},
	pipeline.Invalid:  {"FFEB9C", "9C5700"},
	pipeline.Rejected: {"FFEB9C", "9C5700"},
	pipeline.Deferred: {"FFEB9C", "9C5700"},
	pipeline.Failed:   {"FFEB9C", "9C5700"},
}

func (x *xlsxFormat) begin(l *layout) error {
	x.l = l
	x.f = excelize.NewFile()
	x.sheet = sheetName(x.sheetName)
	if err := x.f.SetSheetName("Sheet1", x.sheet); err != nil {
		return fmt.Errorf("name sheet %q: %w", x.sheet, err)
	}
	x.styles = make(map[styleKey]int)
	var err error
	if x.bold, err = x.style(styleKey{bold: true}); err != nil {
		return err
	}
	if x.vhead, err = x.f.NewStyle(&excelize.Style{Font: font(true, 0, ""),
		Fill: solid("DDEBF7")}); err != nil {
		return err
	}
	for _, st := range []struct {
		id    *int
		style excelize.Style
	}{
		{&x.code, excelize.Style{Alignment: &excelize.Alignment{Horizontal: "left"}}},
		{&x.reason, excelize.Style{Alignment: &excelize.Alignment{WrapText: true}}},
		{&x.when, excelize.Style{Alignment: &excelize.Alignment{Horizontal: "left"}, CustomNumFmt: &dateTimeFmt}},
	} {
		if *st.id, err = x.f.NewStyle(&st.style); err != nil {
			return err
		}
	}
	for s, c := range statusColours {
		if x.status[s], err = x.f.NewStyle(&excelize.Style{Font: font(false, 0, c[1]),
			Fill: solid(c[0])}); err != nil {
			return err
		}
	}
	if n := len(l.widths); n > excelize.MaxColumns {
		return fmt.Errorf("%d columns with the verify columns: an XLSX sheet holds at most %d (write a .csv output)",
			n, excelize.MaxColumns)
	}
	if err := x.printSetup(); err != nil {
		return err
	}
	x.z = newZipOut(x.out)
	if x.sx.w, err = x.z.Create(sheetPath); err != nil {
		return err
	}
	return x.sx.head(l)
}

// sheetPath is the annotated sheet's part in the zip: excelize's first.
const sheetPath = "xl/worksheets/sheet1.xml"

// start is given the file the workbook goes to, before the first row.
func (x *xlsxFormat) start(w io.Writer) error {
	x.out = w
	return nil
}

// printSetup makes a printout readable to an auditor: landscape, as wide
// as one page, the header row repeated on every page. sheetStream writes the
// same page setup into the sheet; excelize keeps the print titles.
func (x *xlsxFormat) printSetup() error {
	if x.l.headerRow == 0 {
		return nil
	}
	h := strconv.Itoa(x.l.headerRow)
	return x.f.SetDefinedName(&excelize.DefinedName{Name: "_xlnm.Print_Titles", Scope: x.sheet,
		RefersTo: "'" + x.sheet + "'!$" + h + ":$" + h})
}

// font is a font like the workbook's default (Calibri 11), which a style
// must name: without a family LibreOffice falls back to a serif font.
func font(bold bool, size float64, colour string) *excelize.Font {
	return &excelize.Font{Bold: bold, Family: "Calibri", Size: cmp.Or(size, 11), Color: colour}
}

func solid(colour string) excelize.Fill {
	return excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{colour}}
}

// sheetName makes name a valid sheet name: no : \ / ? * [ ], at most 31
// characters. An apostrophe, which a sheet name may hold, becomes ’ too:
// excelize does not quote it in the filter's defined name, and Excel would
// call the file damaged.
func sheetName(name string) string {
	name = strings.Map(func(r rune) rune {
		switch {
		case strings.ContainsRune(`:\/?*[]`, r):
			return '_'
		case r == '\'':
			return '’'
		}
		return r
	}, name)
	if utf8.RuneCountInString(name) > excelize.MaxSheetNameLength {
		name = string([]rune(name)[:excelize.MaxSheetNameLength])
	}
	if strings.TrimSpace(name) == "" {
		return "Sheet1"
	}
	return name
}

// boolFmt shows a boolean cell as TRUE or FALSE. Excel does so anyway;
// LibreOffice shows 1 or 0 without it.
const boolFmt = `"TRUE";"TRUE";"FALSE"`

// builtinNumFmts are the number formats every spreadsheet program knows by
// number; they are written by number so that they keep their locale
// behaviour (format 14 shows a date the reader's way).
var builtinNumFmts = map[string]int{
	"0": 1, "0.00": 2, "#,##0": 3, "#,##0.00": 4, "0%": 9, "0.00%": 10, "0.00E+00": 11,
	"# ?/?": 12, "# ??/??": 13, "mm-dd-yy": 14, "d-mmm-yy": 15, "d-mmm": 16, "mmm-yy": 17,
	"h:mm AM/PM": 18, "h:mm:ss AM/PM": 19, "h:mm": 20, "h:mm:ss": 21, "m/d/yy h:mm": 22,
	"mm:ss": 45, "[h]:mm:ss": 46, "mm:ss.0": 47, "##0.0E+0": 48, "@": 49,
}

// style returns the ID of a cell style, creating it on first use.
func (x *xlsxFormat) style(k styleKey) (int, error) {
	if id, ok := x.styles[k]; ok {
		return id, nil
	}
	s := &excelize.Style{}
	if k.bold {
		s.Font = font(true, 0, "")
	}
	if id, ok := builtinNumFmts[k.numFmt]; ok {
		s.NumFmt = id
	} else if k.numFmt != "" && !strings.EqualFold(k.numFmt, "General") {
		numFmt := k.numFmt // not &k.numFmt: k would go to the heap on every call
		s.CustomNumFmt = &numFmt
	}
	id, err := x.f.NewStyle(s)
	if err != nil {
		return 0, fmt.Errorf("number format %q: %w", k.numFmt, err)
	}
	x.styles[k] = id
	return id, nil
}

func (x *xlsxFormat) row(r *outRow) error {
	if r.row > maxSheetRows {
		return fmt.Errorf("past row %d, the last row of an XLSX sheet (write a .csv output)", maxSheetRows)
	}
	if r.row <= x.last {
		return fmt.Errorf("row %d after row %d: rows must come in order", r.row, x.last)
	}
	n := len(r.cells)
	if r.extra != nil {
		n = x.l.base + len(r.extra) + len(r.overflow)
	}
	if n > excelize.MaxColumns {
		return fmt.Errorf("%d cells: an XLSX sheet holds at most %d columns (write a .csv output)", n, excelize.MaxColumns)
	}
	if n == 0 {
		return nil // an empty row: the sheet has none to show
	}
	x.last = r.row
	header := r.kind == pipeline.Header
	// A spreadsheet keeps the height a row is given: one line unless told.
	height := 0.0
	if !header && len(r.extra) > 4 && r.extra[4] != "" {
		if n := wrappedLines(r.extra[4], x.l.widths[x.l.base+4]); n > 1 {
			height = float64(min(n, 10) * rowHeight)
		}
	}
	x.sx.startRow(r.row, height)
	for i, c := range r.cells {
		if err := x.value(i+1, r.row, c, header); err != nil {
			return err
		}
	}
	if r.extra != nil {
		x.verdicts(r, header)
		for i, c := range r.overflow {
			if err := x.value(x.l.base+len(r.extra)+i+1, r.row, c, header); err != nil {
				return err
			}
		}
	}
	return x.sx.endRow()
}

// verdicts writes the verdict columns of a row.
func (x *xlsxFormat) verdicts(r *outRow, header bool) {
	for i, e := range r.extra {
		col := x.l.base + i + 1
		switch {
		case header:
			x.sx.text(col, r.row, x.vhead, e)
		case i == 0:
			x.sx.text(col, r.row, x.status[r.status], e)
		case e == "":
		case i == 1 || i == 3: // res and error_code are numbers
			if n, err := strconv.Atoi(e); err == nil {
				x.sx.integer(col, r.row, x.code, n)
			} else {
				x.sx.text(col, r.row, 0, e)
			}
		case i == 4:
			x.sx.text(col, r.row, x.reason, e)
		case i == 5 && !r.at.IsZero():
			x.sx.number(col, r.row, x.when, excelTime(r.at))
		default:
			x.sx.text(col, r.row, 0, e)
		}
	}
}

// value writes an input cell at (col, row): nothing for an empty cell, the
// text for a text cell, a styled number for a number or a date.
func (x *xlsxFormat) value(col, row int, c pipeline.Cell, bold bool) error {
	var v any
	numFmt := ""
	switch c.Type {
	case pipeline.Number, pipeline.Date:
		if f, err := strconv.ParseFloat(c.Raw, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			v, numFmt = f, c.NumFmt
		} else if t, ok := isoTime(c.Raw); ok && c.Type == pipeline.Date {
			v, numFmt = t, c.NumFmt
		}
		if v != nil && numFmt == "" && c.Type == pipeline.Date {
			// A date without its format would show as a bare serial.
			numFmt = "yyyy-mm-dd"
		}
	case pipeline.Bool:
		switch raw := strings.ToUpper(c.Raw); raw {
		case "1", "TRUE":
			v, numFmt = true, boolFmt
		case "0", "FALSE":
			v, numFmt = false, boolFmt
		}
	case pipeline.Formula:
		// Raw holds a cached number; a cached text has none.
		switch {
		case (c.Raw == "1" || c.Raw == "0") && (c.Value == "TRUE" || c.Value == "FALSE"):
			v, numFmt = c.Raw == "1", boolFmt
		case plainNumber(c.Raw):
			if f, err := strconv.ParseFloat(c.Raw, 64); err == nil {
				v, numFmt = f, c.NumFmt
			}
		}
	}
	if v == nil {
		// Text, or a typed cell whose stored value could not be read:
		// its shown text is kept.
		if c.Value == "" {
			return nil
		}
		v = c.Value
	}
	style := 0
	if _, isTime := v.(time.Time); numFmt != "" || bold || isTime {
		var err error
		if style, err = x.style(styleKey{numFmt: numFmt, bold: bold}); err != nil {
			return err
		}
	}
	return x.write(col, row, style, v)
}

// write writes a cell of value v, a string, float64, bool or time.Time.
func (x *xlsxFormat) write(col, row, style int, v any) error {
	switch v := v.(type) {
	case string:
		x.sx.text(col, row, style, v)
	case float64:
		x.sx.number(col, row, style, v)
	case bool:
		x.sx.boolean(col, row, style, v)
	case time.Time:
		// As excelize stores a time: its wall clock as a serial, as text
		// before 1900, and with a date-time format when it has none.
		_, offset := v.Zone()
		wall := v.Add(time.Duration(offset) * time.Second).UTC()
		serial, ok := serialOf(wall)
		if !ok {
			x.sx.text(col, row, style, wall.Format(time.RFC3339Nano))
			return nil
		}
		if style == 0 {
			if x.time == 0 {
				var err error
				if x.time, err = x.f.NewStyle(&excelize.Style{NumFmt: 22}); err != nil {
					return err
				}
			}
			style = x.time
		}
		x.sx.value(col, row, style, "", strconv.FormatFloat(serial, 'f', -1, 64))
	}
	return nil
}

// serialOf is the spreadsheet serial of a wall-clock time (in UTC), with
// Excel's 29 February 1900; false before 1900.
func serialOf(t time.Time) (float64, bool) {
	epoch := time.Date(1899, time.December, 31, 0, 0, 0, 0, time.UTC)
	if !t.After(epoch) {
		return 0, false
	}
	secs := t.Unix() - epoch.Unix()
	rem := (secs%86400)*int64(time.Second) + int64(t.Nanosecond())
	serial := float64(secs/86400) + float64(rem)/float64(24*time.Hour)
	if t.After(time.Date(1900, time.March, 1, 0, 0, 0, 0, time.UTC).Add(-time.Nanosecond)) {
		serial++
	}
	return serial, true
}

// isoTime reads a date stored as ISO 8601 text (strict OOXML).
func isoTime(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// plainNumber reports whether s is a number as a spreadsheet stores one:
// an optional minus, digits without a leading zero, an optional fraction and
// exponent. "00123" is not: it is text that happens to be digits.
func plainNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	start := i
	if i = skipDigits(s, i); i == start || (s[start] == '0' && i-start > 1) {
		return false
	}
	if i < len(s) && s[i] == '.' {
		if d := i + 1; d == skipDigits(s, d) {
			return false
		}
		i = skipDigits(s, i+1)
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i == skipDigits(s, i) {
			return false
		}
		i = skipDigits(s, i)
	}
	return i == len(s)
}

// skipDigits returns the index of the first byte at or after i in s that is
// not an ASCII digit.
func skipDigits(s string, i int) int {
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	return i
}

func (x *xlsxFormat) finish(w io.Writer, s *stats) error {
	defer x.discard()
	// From here on the zip goes through w, which stops when asked to.
	x.z.w.w = w
	filter := ""
	if h := x.l.headerRow; h > 0 {
		last, err := excelize.ColumnNumberToName(x.l.base + len(x.lang.headers))
		if err != nil {
			return err
		}
		ref := fmt.Sprintf("A%d:%s%d", h, last, max(h, s.lastRow))
		// excelize adds the filter's defined name to the workbook; the
		// filter itself is in the sheet we write.
		if err := x.f.AutoFilter(x.sheet, ref, nil); err != nil {
			return fmt.Errorf("add filter: %w", err)
		}
		filter = fmt.Sprintf("$A$%d:$%s$%d", h, last, max(h, s.lastRow))
	}
	if err := x.sx.tail(filter); err != nil {
		return err
	}
	if err := x.summarySheet(s); err != nil {
		return fmt.Errorf("write summary sheet: %w", err)
	}
	created := x.sum.Created
	if created.IsZero() {
		created = time.Now()
	}
	stamp := created.UTC().Format(time.RFC3339)
	props := &excelize.DocProperties{Creator: "cardverify", LastModifiedBy: "cardverify", Version: x.sum.Version,
		Description: "cardverify " + x.sum.Version, Title: x.lang.title, Created: stamp, Modified: stamp,
		Language: map[string]string{"zh": "zh-CN", "en": "en"}[x.lang.code]}
	if err := x.f.SetDocProps(props); err != nil {
		return err
	}
	if err := x.f.SetAppProps(&excelize.AppProperties{Application: "cardverify"}); err != nil {
		return err
	}
	// excelize builds the whole zip in a bytes.Buffer; its zip writer is
	// ours instead, which holds the sheet already and drops excelize's
	// empty copy of it.
	x.z.skip = sheetPath
	x.f.SetZipWriter(func(io.Writer) excelize.ZipWriter { return x.z })
	if err := x.f.Write(io.Discard); err != nil {
		return err
	}
	return x.z.err
}

// zipOut is the zip writer of a workbook: it streams the archive to a file,
// compressing for speed, and keeps the first write error (excelize drops
// some of them).
type zipOut struct {
	skip    string // a part not to write: the sheet written already
	zw      *zip.Writer
	w       *countingWriter
	entries []zipEntry
	err     error
}

type zipEntry struct {
	offset int64 // of the entry's local file header
	size   *countingWriter
}

func newZipOut(w io.Writer) *zipOut {
	cw := &countingWriter{w: w}
	zw := zip.NewWriter(cw)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(w, flate.BestSpeed)
	})
	return &zipOut{zw: zw, w: cw}
}

func (z *zipOut) Create(name string) (io.Writer, error) {
	if name == z.skip {
		return io.Discard, nil
	}
	if err := z.zw.Flush(); err != nil {
		return nil, err
	}
	e := zipEntry{offset: z.w.n}
	fw, err := z.zw.Create(name)
	if err != nil {
		return nil, err
	}
	e.size = &countingWriter{w: fw}
	z.entries = append(z.entries, e)
	return e.size, nil
}

func (z *zipOut) AddFS(fsys fs.FS) error { return z.zw.AddFS(fsys) }

// Close ends the archive. An entry past 4 GiB needs ZIP64, and Excel wants
// its local header to say version 4.5, which archive/zip does not write:
// the header is patched in place, as excelize does in its buffer.
func (z *zipOut) Close() error {
	err := z.zw.Close()
	for _, e := range z.entries {
		if err != nil || e.size.n <= math.MaxUint32 {
			continue
		}
		wa, ok := z.w.w.(io.WriterAt)
		if !ok {
			err = errors.New("sheet too large for an XLSX file")
			break
		}
		_, err = wa.WriteAt([]byte{45, 0}, e.offset+4)
	}
	if z.err == nil {
		z.err = cmp.Or(z.w.err, err)
	}
	return z.err
}

// countingWriter counts the bytes written through it and keeps the first
// error.
type countingWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
	return n, err
}

func (x *xlsxFormat) discard() {
	if x.f != nil {
		x.f.Close()
		x.f = nil
	}
}
