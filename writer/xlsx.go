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

// xlsxFormat writes a workbook through excelize's StreamWriter, whose memory
// use does not grow with the rows: it spills the sheet to a temporary file
// in os.TempDir ($TMPDIR) past 16 MB. The annotated sheet is the first; the
// Summary sheet is written after it.
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

	f      *excelize.File
	sw     *excelize.StreamWriter
	sheet  string
	l      *layout
	styles map[styleKey]int
	status [pipeline.NumStatuses]int // style of the status cell, by status
	vhead  int                       // style of the verdict headers
	bold   int
	code   int // res and error_code: numbers, left-aligned like the text around them
	reason int // the reason: wrapped
	when   int // verified_at: a date-time with its offset
	vals   []any
	cells  []excelize.Cell // backs the styled values of vals
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
	if x.sw, err = x.f.NewStreamWriter(x.sheet); err != nil {
		return err
	}
	for i := 0; i < len(l.widths); {
		j := i
		for j+1 < len(l.widths) && l.widths[j+1] == l.widths[i] {
			j++
		}
		if err := x.sw.SetColWidth(i+1, j+1, l.widths[i]); err != nil {
			return err
		}
		i = j + 1
	}
	if h := l.headerRow; h > 0 && h < maxSheetRows {
		top := "A" + strconv.Itoa(h+1)
		err := x.sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: h, TopLeftCell: top,
			ActivePane: "bottomLeft", Selection: []excelize.Selection{{SQRef: top, ActiveCell: top, Pane: "bottomLeft"}}})
		if err != nil {
			return err
		}
	}
	return nil
}

// printSetup makes a printout readable to an auditor: landscape, as wide
// as one page, the header row repeated on every page. The stream writer
// writes the sheet properties when it starts, so this comes first.
func (x *xlsxFormat) printSetup() error {
	fit, landscape, wide, tall := true, "landscape", 1, 0
	if err := x.f.SetSheetProps(x.sheet, &excelize.SheetPropsOptions{FitToPage: &fit}); err != nil {
		return err
	}
	err := x.f.SetPageLayout(x.sheet, &excelize.PageLayoutOptions{Orientation: &landscape,
		FitToWidth: &wide, FitToHeight: &tall})
	if err != nil || x.l.headerRow == 0 {
		return err
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
		s.CustomNumFmt = &k.numFmt
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
	n := len(r.cells)
	if r.extra != nil {
		n = x.l.base + len(r.extra) + len(r.overflow)
	}
	if n > excelize.MaxColumns {
		return fmt.Errorf("%d cells: an XLSX sheet holds at most %d columns (write a .csv output)", n, excelize.MaxColumns)
	}
	vals := x.vals[:0]
	cells := x.cells[:0]
	if cap(cells) < n {
		// vals point into cells: it must not move while the row is built.
		cells = make([]excelize.Cell, 0, n)
	}
	styled := func(style int, v any) any {
		cells = append(cells, excelize.Cell{StyleID: style, Value: v})
		return &cells[len(cells)-1]
	}
	header := r.kind == pipeline.Header
	for _, c := range r.cells {
		v, err := x.value(c, header, styled)
		if err != nil {
			return err
		}
		vals = append(vals, v)
	}
	var opts []excelize.RowOpts
	if r.extra != nil {
		for len(vals) < x.l.base {
			vals = append(vals, nil)
		}
		for i, e := range r.extra {
			switch {
			case header:
				vals = append(vals, styled(x.vhead, e))
			case i == 0:
				vals = append(vals, styled(x.status[r.status], e))
			case e == "":
				vals = append(vals, nil)
			case i == 1 || i == 3: // res and error_code are numbers
				if n, err := strconv.Atoi(e); err == nil {
					vals = append(vals, styled(x.code, n))
				} else {
					vals = append(vals, e)
				}
			case i == 4:
				vals = append(vals, styled(x.reason, e))
				// A spreadsheet keeps the height a row is given: one
				// line unless told.
				if n := wrappedLines(e, x.l.widths[x.l.base+4]); n > 1 {
					opts = append(opts, excelize.RowOpts{Height: float64(min(n, 10) * rowHeight)})
				}
			case i == 5 && !r.at.IsZero():
				vals = append(vals, styled(x.when, excelTime(r.at)))
			default:
				vals = append(vals, e)
			}
		}
		for _, c := range r.overflow {
			v, err := x.value(c, header, styled)
			if err != nil {
				return err
			}
			vals = append(vals, v)
		}
	}
	x.vals, x.cells = vals, cells
	if len(vals) == 0 {
		return nil // an empty row: the sheet has none to show
	}
	return x.sw.SetRow("A"+strconv.Itoa(r.row), vals, opts...)
}

// value is the excelize value of an input cell: nil for an empty cell, the
// text for a text cell, a styled number for a number or a date.
func (x *xlsxFormat) value(c pipeline.Cell, bold bool, styled func(int, any) any) (any, error) {
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
			return nil, nil
		}
		v = c.Value
	}
	if numFmt == "" && !bold {
		if _, isTime := v.(time.Time); !isTime {
			return v, nil
		}
	}
	id, err := x.style(styleKey{numFmt: numFmt, bold: bold})
	if err != nil {
		return nil, err
	}
	return styled(id, v), nil
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
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	if i == start || (s[start] == '0' && i-start > 1) {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		d := i
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		d := i
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	return i == len(s)
}

func (x *xlsxFormat) finish(w io.Writer, s *stats) error {
	defer x.discard()
	if h := x.l.headerRow; h > 0 {
		last, err := excelize.ColumnNumberToName(x.l.base + len(x.lang.headers))
		if err != nil {
			return err
		}
		ref := fmt.Sprintf("A%d:%s%d", h, last, max(h, s.lastRow))
		if err := x.f.AutoFilter(x.sheet, ref, nil); err != nil {
			return fmt.Errorf("add filter: %w", err)
		}
	}
	if err := x.sw.Flush(); err != nil {
		return err
	}
	if err := x.summarySheet(s); err != nil {
		return fmt.Errorf("write summary sheet: %w", err)
	}
	// The annotated sheet is the first and already the active one: asking
	// excelize to set it again would make it read back a sheet that is
	// still held in memory (up to some 40k rows) and write it anew.
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
	// excelize builds the whole zip in a bytes.Buffer, which would make
	// memory grow with the rows. Its zip writer is ours instead: it writes
	// to w as excelize goes, and the buffer stays empty.
	z := newZipOut(w)
	x.f.SetZipWriter(func(io.Writer) excelize.ZipWriter { return z })
	if err := x.f.Write(io.Discard); err != nil {
		return err
	}
	return z.err
}

// zipOut is the zip writer of a workbook: it streams the archive to a file,
// compressing for speed, and keeps the first write error (excelize drops
// some of them).
type zipOut struct {
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
