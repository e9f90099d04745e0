package reader

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cardverify/cardverify/pipeline"
)

// Limits on the parts of a workbook. The sheet and the shared strings are
// streamed, so their limits bound time and disk, not memory; the other parts
// are read whole. A part larger than a megabyte that inflates more than
// maxRatio times is a zip bomb.
const (
	maxSheetBytes = 8 << 30
	maxSSTBytes   = 2 << 30
	maxSmallPart  = 64 << 20
	maxRatio      = 250
	// maxTokenBytes bounds one XML token (an element with its attributes,
	// or a text), so that a hostile cell cannot take unbounded memory.
	maxTokenBytes = 1 << 20
	// maxMerges bounds the merged ranges of a sheet.
	maxMerges = 100000
)

var errTokenTooLong = errors.New("XML token too long")

// date1904Offset is the serial of 1904-01-01 in the 1900 date system.
const date1904Offset = 1462

// Relationship types, matched by suffix to accept both transitional and
// strict OOXML.
const (
	relOfficeDocument = "/officeDocument"
	relWorksheet      = "/worksheet"
	relSharedStrings  = "/sharedStrings"
	relStyles         = "/styles"
)

type xlsxRels struct {
	Rels []struct {
		ID     string `xml:"Id,attr"`
		Type   string `xml:"Type,attr"`
		Target string `xml:"Target,attr"`
	} `xml:"Relationship"`
}

type xlsxWorkbook struct {
	Pr struct {
		Date1904 string `xml:"date1904,attr"`
	} `xml:"workbookPr"`
	Sheets []struct {
		Name  string     `xml:"name,attr"`
		State string     `xml:"state,attr"`
		Attrs []xml.Attr `xml:",any,attr"`
	} `xml:"sheets>sheet"`
}

type xlsxStyles struct {
	NumFmts []struct {
		ID   int    `xml:"numFmtId,attr"`
		Code string `xml:"formatCode,attr"`
	} `xml:"numFmts>numFmt"`
	Xfs []struct {
		NumFmtID int `xml:"numFmtId,attr"`
	} `xml:"cellXfs>xf"`
}

// workbook is an open XLSX package.
type workbook struct {
	path     string
	zr       *zip.ReadCloser
	files    map[string]*zip.File // by lower-case name
	date1904 bool
	// fmtCode and fmtDate are the number format of each cell style.
	fmtCode []string
	fmtDate []bool
}

func notWorkbook(path string, err error) error {
	msg := pipeline.Reason(pipeline.ErrNotXLSX)
	hint := pipeline.Reason(pipeline.HintSaveXLSX)
	if f, ferr := os.Open(path); ferr == nil {
		head := make([]byte, 8)
		n, _ := io.ReadFull(f, head)
		f.Close()
		head = head[:n]
		switch {
		case n == 0:
			msg = pipeline.Reason(pipeline.ErrEmpty)
			hint = pipeline.Reason(pipeline.HintRightFile)
		case bytes.HasPrefix(head, []byte{0xD0, 0xCF, 0x11, 0xE0}):
			msg = pipeline.Reason(pipeline.ErrOldXLS)
			hint = pipeline.Reason(pipeline.HintOldXLS)
		}
	}
	return &pipeline.InputError{Path: path, Msg: msg, Hint: hint, Err: err}
}

func openXLSX(path string, opt Options) (*Reader, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return nil, &pipeline.InputError{Path: path, Msg: pipeline.Reason(pipeline.ErrOpen), Err: err}
		}
		return nil, notWorkbook(path, err)
	}
	wb := &workbook{path: path, zr: zr, files: make(map[string]*zip.File, len(zr.File))}
	r, err := wb.open(opt)
	if err != nil {
		zr.Close()
		return nil, err
	}
	return r, nil
}

func (wb *workbook) bad(what string, err error) error {
	return &pipeline.InputError{Path: wb.path, Msg: pipeline.Reason(pipeline.ErrDamaged, what), Err: err,
		Hint: pipeline.Reason(pipeline.HintResave)}
}

// packageParts are the paths of the parts of a workbook that the reader uses.
type packageParts struct {
	sheets              []sheetEntry
	sstPath, stylesPath string
}

// sheetEntry is a worksheet listed in the workbook, in the workbook's order.
type sheetEntry struct {
	name, path string
	hidden     bool
}

func (wb *workbook) open(opt Options) (*Reader, error) {
	for _, f := range wb.zr.File {
		wb.files[strings.ToLower(strings.TrimPrefix(f.Name, "/"))] = f
	}
	parts, err := wb.readParts()
	if err != nil {
		return nil, err
	}
	chosen, err := wb.chooseSheet(parts.sheets, strings.TrimSpace(opt.Sheet))
	if err != nil {
		return nil, err
	}
	if parts.stylesPath != "" {
		if err := wb.readStyles(parts.stylesPath); err != nil {
			return nil, err
		}
	}
	sst := &sstStore{}
	if parts.sstPath != "" {
		if err := wb.readSST(parts.sstPath, sst); err != nil {
			sst.close()
			return nil, err
		}
	}
	src, err := wb.openSheet(chosen.path, sst)
	if err != nil {
		sst.close()
		return nil, err
	}
	r := &Reader{path: wb.path, src: src, merges: src}
	r.layout = Layout{Format: "xlsx", Sheet: chosen.name, EstimatedRows: src.dimRows}
	if err := r.start(opt); err != nil {
		src.close()
		return nil, err
	}
	return r, nil
}

// readParts follows the package's relationships from the root to the
// workbook, and from the workbook to its sheets, shared strings and styles.
// It sets wb.date1904.
func (wb *workbook) readParts() (packageParts, error) {
	var parts packageParts
	var root xlsxRels
	if err := wb.readXML("_rels/.rels", &root); err != nil {
		return parts, err
	}
	bookPath := "xl/workbook.xml"
	for _, r := range root.Rels {
		if strings.HasSuffix(r.Type, relOfficeDocument) {
			bookPath = strings.TrimPrefix(r.Target, "/")
		}
	}
	var book xlsxWorkbook
	if err := wb.readXML(bookPath, &book); err != nil {
		return parts, err
	}
	wb.date1904 = book.Pr.Date1904 == "1" || book.Pr.Date1904 == "true"
	dir := path.Dir(bookPath)
	var rels xlsxRels
	if err := wb.readXML(path.Join(dir, "_rels", path.Base(bookPath)+".rels"), &rels); err != nil {
		return parts, err
	}
	target := func(t string) string {
		if strings.HasPrefix(t, "/") {
			return t[1:]
		}
		return path.Join(dir, t)
	}
	sheetPaths := map[string]string{}
	for _, r := range rels.Rels {
		switch {
		case strings.HasSuffix(r.Type, relWorksheet):
			sheetPaths[r.ID] = target(r.Target)
		case strings.HasSuffix(r.Type, relSharedStrings):
			parts.sstPath = target(r.Target)
		case strings.HasSuffix(r.Type, relStyles):
			parts.stylesPath = target(r.Target)
		}
	}
	for _, s := range book.Sheets {
		for _, a := range s.Attrs {
			if a.Name.Local == "id" && sheetPaths[a.Value] != "" {
				parts.sheets = append(parts.sheets, sheetEntry{s.Name, sheetPaths[a.Value], s.State == "hidden" || s.State == "veryHidden"})
			}
		}
	}
	return parts, nil
}

// chooseSheet picks the sheet named by want: by its exact name, then by its
// name ignoring case and spaces, then by its number among the visible sheets.
// With want empty it picks the first visible sheet. When none fits, the
// error lists the sheets there are.
func (wb *workbook) chooseSheet(sheets []sheetEntry, want string) (*sheetEntry, error) {
	var chosen *sheetEntry
	var visible []*sheetEntry
	for i := range sheets {
		if !sheets[i].hidden {
			visible = append(visible, &sheets[i])
		}
	}
	switch {
	case want == "" && len(visible) > 0:
		chosen = visible[0]
	case want != "":
		for i := range sheets {
			if sheets[i].name == want {
				chosen = &sheets[i]
			}
		}
		if chosen == nil {
			for i := range sheets {
				if strings.EqualFold(strings.TrimSpace(sheets[i].name), want) {
					chosen = &sheets[i]
				}
			}
		}
		if n, err := strconv.Atoi(want); chosen == nil && err == nil && n >= 1 && n <= len(visible) {
			chosen = visible[n-1]
		}
	}
	if chosen != nil {
		return chosen, nil
	}
	var names []string
	for _, s := range sheets {
		n := strconv.Quote(s.name)
		if s.hidden {
			n += " (hidden)"
		}
		names = append(names, n)
	}
	if len(names) == 0 {
		return nil, wb.bad("it has no worksheet", nil)
	}
	msg := pipeline.Reason(pipeline.ErrNoVisibleSheet, strings.Join(names, ", "))
	if want != "" {
		msg = pipeline.Reason(pipeline.ErrNoSheet, want, strings.Join(names, ", "))
	}
	return nil, &pipeline.InputError{Path: wb.path, Msg: msg, Hint: pipeline.Reason(pipeline.HintSheet)}
}

// part opens a part of the package after checking its size against limit.
func (wb *workbook) part(name string, limit int64) (io.ReadCloser, *zip.File, error) {
	f := wb.files[strings.ToLower(name)]
	if f == nil {
		return nil, nil, wb.bad("missing "+name, nil)
	}
	size, packed := f.UncompressedSize64, f.CompressedSize64
	if size > uint64(limit) || size > 1<<20 && size/max(packed, 1) > maxRatio {
		return nil, nil, &pipeline.InputError{Path: wb.path,
			Msg:  pipeline.Reason(pipeline.ErrZipBomb, name, size>>20, packed>>10),
			Hint: pipeline.Reason(pipeline.HintZipBomb)}
	}
	rc, err := f.Open()
	if err != nil {
		return nil, nil, wb.bad("cannot open "+name, err)
	}
	return rc, f, nil
}

func (wb *workbook) readXML(name string, v any) error {
	rc, _, err := wb.part(name, maxSmallPart)
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := xml.NewDecoder(io.LimitReader(rc, maxSmallPart)).Decode(v); err != nil {
		return wb.bad("cannot parse "+name, err)
	}
	return nil
}

func (wb *workbook) readStyles(name string) error {
	var st xlsxStyles
	if err := wb.readXML(name, &st); err != nil {
		return err
	}
	custom := make(map[int]string, len(st.NumFmts))
	for _, f := range st.NumFmts {
		custom[f.ID] = f.Code
	}
	wb.fmtCode = make([]string, len(st.Xfs))
	wb.fmtDate = make([]bool, len(st.Xfs))
	for i, xf := range st.Xfs {
		code, ok := custom[xf.NumFmtID]
		if !ok {
			code = builtinFormats[xf.NumFmtID]
		}
		if strings.EqualFold(code, "General") {
			code = ""
		}
		wb.fmtCode[i] = code
		wb.fmtDate[i] = isDateFormat(code)
	}
	return nil
}

// readSST reads the shared strings into sst.
func (wb *workbook) readSST(name string, sst *sstStore) error {
	rc, _, err := wb.part(name, maxSSTBytes)
	if err != nil {
		return err
	}
	defer rc.Close()
	sc := newXMLScanner(rc)
	var text []byte
	inSI, inT, phonetic := false, false, 0
	for {
		err := sc.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return wb.tokenError(name, err)
		}
		switch sc.kind {
		case xmlStart:
			switch string(sc.name) {
			case "si":
				inSI, text = true, text[:0]
			case "t":
				inT = inSI && phonetic == 0
			case "rPh":
				phonetic++
			}
		case xmlEnd:
			switch string(sc.name) {
			case "si":
				if len(text) > maxCellChars && utf8.RuneCount(text) > maxCellChars {
					return wb.longCell(0, "")
				}
				if err := sst.add(text); err != nil {
					return fmt.Errorf("read %s: %w", wb.path, err)
				}
				inSI = false
			case "t":
				inT = false
			case "rPh":
				phonetic--
			}
		case xmlText:
			if inT {
				text = append(text, sc.text...)
			}
		}
	}
}

func (wb *workbook) tokenError(name string, err error) error {
	if errors.Is(err, errTokenTooLong) {
		return wb.longCell(0, "")
	}
	return wb.bad("cannot parse "+name, err)
}

func (wb *workbook) longCell(row int, ref string) error {
	msg := pipeline.Reason(pipeline.ErrLongCell, maxCellChars)
	if ref != "" {
		msg = pipeline.Reason(pipeline.ErrLongCellAt, ref, maxCellChars)
	}
	return &pipeline.InputError{Path: wb.path, Row: row, Msg: msg,
		Hint: pipeline.Reason(pipeline.HintLongCell)}
}

// mergeRange is a merged range of cells, 1-based rows and 0-based columns.
type mergeRange struct{ r0, c0, r1, c1 int }

// sheetSource streams the rows of a worksheet.
type sheetSource struct {
	wb      *workbook
	name    string
	rc      io.ReadCloser
	sc      *xmlScanner
	sst     *sstStore
	dimRows int
	inData  bool
	done    bool
	row     int
	cells   []pipeline.Cell
	cell    cellState
	// inRow and inCell say that next is inside a row, and inside a cell
	// of it.
	inRow, inCell bool

	merges   []mergeRange
	byCol    map[int][]int // merges (sorted by r0) covering each column
	nextTop  int           // first merge whose top row is not yet read
	topCells map[[2]int]pipeline.Cell
}

func (wb *workbook) openSheet(name string, sst *sstStore) (*sheetSource, error) {
	merges, err := wb.scanMerges(name)
	if err != nil {
		return nil, err
	}
	rc, _, err := wb.part(name, maxSheetBytes)
	if err != nil {
		return nil, err
	}
	s := &sheetSource{wb: wb, name: name, rc: rc, sc: newXMLScanner(rc), sst: sst, merges: merges}
	if len(merges) > 0 {
		sort.Slice(merges, func(i, j int) bool { return merges[i].r0 < merges[j].r0 })
		s.byCol = map[int][]int{}
		s.topCells = map[[2]int]pipeline.Cell{}
		entries := 0
		for i, m := range merges {
			for c := m.c0; c <= m.c1 && c < maxColumns; c++ {
				s.byCol[c] = append(s.byCol[c], i)
				if entries++; entries > 10*maxMerges {
					rc.Close()
					return nil, &pipeline.InputError{Path: wb.path, Msg: pipeline.Reason(pipeline.ErrMergedCols),
						Hint: pipeline.Reason(pipeline.HintUnmerge)}
				}
			}
		}
	}
	// Read up to sheetData, for the dimension.
	for !s.inData {
		err := s.sc.next()
		if err == io.EOF {
			s.done = true
			break
		}
		if err != nil {
			rc.Close()
			return nil, wb.tokenError(name, err)
		}
		if s.sc.kind != xmlStart {
			continue
		}
		switch string(s.sc.name) {
		case "dimension":
			s.sc.eachAttr(func(name, value []byte) {
				if string(name) != "ref" {
					return
				}
				end := value
				if i := bytes.IndexByte(value, ':'); i >= 0 {
					end = value[i+1:]
				}
				if r, _, ok := parseRefBytes(end); ok {
					s.dimRows = r
				}
			})
		case "sheetData":
			s.inData = !s.sc.empty
			if s.sc.empty {
				s.done = true
				return s, nil
			}
		}
	}
	return s, nil
}

// scanMerges finds the merged ranges of a sheet. They follow the cells in
// the sheet XML, so the sheet is inflated once ahead of the rows and
// searched for mergeCell elements as bytes, which costs little next to
// parsing it.
func (wb *workbook) scanMerges(name string) ([]mergeRange, error) {
	rc, _, err := wb.part(name, maxSheetBytes)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	const overlap = 1024
	var merges []mergeRange
	buf := make([]byte, 0, 256<<10+overlap)
	chunk := make([]byte, 256<<10)
	needle := []byte("mergeCell")
	for {
		n, rerr := io.ReadFull(rc, chunk)
		buf = append(buf, chunk[:n]...)
		eof := rerr == io.EOF || rerr == io.ErrUnexpectedEOF
		if rerr != nil && !eof {
			return nil, wb.bad("cannot inflate "+name, rerr)
		}
		cut := len(buf) - overlap
		if eof {
			cut = len(buf)
		}
		for i := 0; i < cut; {
			j := bytes.Index(buf[i:], needle)
			if j < 0 || i+j >= cut {
				break
			}
			p := i + j + len(needle)
			i = p
			if p >= len(buf) || (buf[p] != ' ' && buf[p] != '\t' && buf[p] != '\n' && buf[p] != '\r') {
				continue // mergeCells, or text
			}
			end := bytes.IndexByte(buf[p:], '>')
			if end < 0 {
				continue
			}
			tag := buf[p : p+end]
			k := bytes.Index(tag, []byte(`ref="`))
			if k < 0 {
				continue
			}
			ref := tag[k+5:]
			if q := bytes.IndexByte(ref, '"'); q >= 0 {
				ref = ref[:q]
			}
			a, b, _ := strings.Cut(string(ref), ":")
			r0, c0, ok0 := parseRef(a)
			r1, c1, ok1 := parseRef(b)
			if !ok0 || !ok1 || r1 < r0 || c1 < c0 {
				continue
			}
			if len(merges) == maxMerges {
				return nil, &pipeline.InputError{Path: wb.path, Msg: pipeline.Reason(pipeline.ErrMerges, maxMerges),
					Hint: pipeline.Reason(pipeline.HintUnmerge)}
			}
			merges = append(merges, mergeRange{r0, c0, r1, c1})
		}
		if eof {
			return merges, nil
		}
		buf = append(buf[:0], buf[cut:]...)
	}
}

// topLeft implements merger.
func (s *sheetSource) topLeft(row, col int) (pipeline.Cell, bool) {
	list := s.byCol[col]
	if len(list) == 0 {
		return pipeline.Cell{}, false
	}
	// The last merge starting at or above row is the only one that can
	// hold the cell: merged ranges do not overlap.
	i := sort.Search(len(list), func(i int) bool { return s.merges[list[i]].r0 > row }) - 1
	if i < 0 {
		return pipeline.Cell{}, false
	}
	m := s.merges[list[i]]
	if row > m.r1 || (row == m.r0 && col == m.c0) {
		return pipeline.Cell{}, false
	}
	return s.topCells[[2]int{m.r0, m.c0}], true
}

// parseRef parses a cell reference such as "B12" into a 1-based row and a
// 0-based column. Absolute marks ("$B$12") are accepted.
func parseRef(ref string) (row, col int, ok bool) {
	ref = strings.ReplaceAll(ref, "$", "")
	i := 0
	for i < len(ref) && (ref[i]|0x20) >= 'a' && (ref[i]|0x20) <= 'z' {
		i++
	}
	c, okc := columnNumber(ref[:i])
	r, err := strconv.Atoi(ref[i:])
	if !okc || err != nil || r < 1 || r > maxRows {
		return 0, 0, false
	}
	return r, c - 1, true
}

// cellState is the cell being parsed.
type cellState struct {
	col       int
	typ       string
	style     int
	formula   bool
	hasValue  bool
	inline    bool
	collect   bool // collecting text of <v> or an inline <t>
	phonetic  int
	valueText []byte
}

// ref returns the reference of the cell in row, for messages.
func (c *cellState) ref(row int) string { return columnName(c.col) + strconv.Itoa(row) }

func (s *sheetSource) next() (int, []pipeline.Cell, error) {
	if s.done {
		return 0, nil, io.EOF
	}
	s.inRow, s.inCell = false, false
	for {
		err := s.sc.next()
		if err == io.EOF {
			// The sheet XML ends before </sheetData>: it was cut short.
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return 0, nil, s.scanError(err)
		}
		rowDone := false
		switch s.sc.kind {
		case xmlStart:
			err = s.startElement()
		case xmlEnd:
			rowDone, err = s.endElement()
		case xmlText:
			err = s.text()
		}
		if err != nil {
			return 0, nil, err
		}
		if rowDone {
			return s.row, s.cells, nil
		}
	}
}

// scanError describes an error of the XML scanner at the current row.
func (s *sheetSource) scanError(err error) error {
	if errors.Is(err, errTokenTooLong) {
		row := s.row // inside a row: that row; between rows: the next
		if !s.inRow {
			row++
		}
		return s.wb.longCell(row, "")
	}
	return s.wb.bad(fmt.Sprintf("cannot parse the sheet after row %d", s.row), err)
}

// startElement handles the start of an element of the sheet data.
func (s *sheetSource) startElement() error {
	c := &s.cell
	switch string(s.sc.name) {
	case "row":
		return s.startRow()
	case "c":
		if s.inRow {
			return s.startCell()
		}
	case "v":
		c.collect, c.hasValue = s.inCell && !c.inline, true
	case "f":
		c.formula = true
	case "is":
		c.inline, c.hasValue = true, true
	case "t":
		c.collect = c.inline && c.phonetic == 0
	case "rPh":
		c.phonetic++
	}
	return nil
}

// startRow begins a row at its r attribute, or after the last row when it
// has none. Rows must come in increasing order.
func (s *sheetSource) startRow() error {
	no := s.row + 1
	var bad []byte
	s.sc.eachAttr(func(name, value []byte) {
		if string(name) == "r" {
			n, ok := atoiBytes(value)
			if !ok || n < 1 || n > maxRows {
				bad = value
			}
			no = n
		}
	})
	if bad != nil {
		return s.wb.bad(fmt.Sprintf("row number %q", bad), nil)
	}
	if no <= s.row {
		return s.wb.bad(fmt.Sprintf("row %d comes after row %d", no, s.row), nil)
	}
	s.row, s.cells, s.inRow = no, s.cells[:0], true
	return nil
}

// startCell begins a cell at its r attribute, or after the last cell when
// it has none, and notes its type and style.
func (s *sheetSource) startCell() error {
	c := &s.cell
	*c = cellState{col: len(s.cells), valueText: c.valueText[:0]}
	err := s.sc.eachAttr(func(name, value []byte) {
		switch string(name) {
		case "r":
			if _, col, ok := parseRefBytes(value); ok {
				c.col = col
			}
		case "t":
			c.typ = cellTypeName(value)
		case "s":
			c.style, _ = atoiBytes(value)
		}
	})
	if err != nil {
		return s.wb.bad(fmt.Sprintf("row %d", s.row), err)
	}
	s.inCell = true
	return nil
}

// endElement handles the end of an element of the sheet data. rowDone
// reports that a row is complete in s.cells; io.EOF, that the sheet data
// ended between rows.
func (s *sheetSource) endElement() (rowDone bool, err error) {
	c := &s.cell
	switch string(s.sc.name) {
	case "v", "t":
		c.collect = false
	case "rPh":
		c.phonetic--
	case "c":
		if s.inCell {
			s.inCell = false
			return false, s.endCell(c)
		}
	case "row":
		if s.inRow {
			s.noteMergeTops()
			return true, nil
		}
	case "sheetData":
		s.done = true
		if s.inRow {
			return true, nil
		}
		return false, io.EOF
	}
	return false, nil
}

// text collects the text of a cell's value.
func (s *sheetSource) text() error {
	c := &s.cell
	if c.collect {
		c.valueText = append(c.valueText, s.sc.text...)
		if len(c.valueText) > 4*maxCellChars {
			return s.wb.longCell(s.row, c.ref(s.row))
		}
	}
	return nil
}

// cellTypeName returns the constant for a cell's t attribute, without
// allocating for the usual ones.
func cellTypeName(t []byte) string {
	switch string(t) {
	case "s":
		return "s"
	case "n":
		return "n"
	case "str":
		return "str"
	case "inlineStr":
		return "inlineStr"
	case "b":
		return "b"
	case "e":
		return "e"
	case "d":
		return "d"
	}
	return string(t)
}

// noteMergeTops keeps the top-left cells of the merged ranges that start
// in the row just read.
func (s *sheetSource) noteMergeTops() {
	for s.nextTop < len(s.merges) && s.merges[s.nextTop].r0 <= s.row {
		m := s.merges[s.nextTop]
		if m.r0 == s.row && m.c0 < len(s.cells) {
			s.topCells[[2]int{m.r0, m.c0}] = s.cells[m.c0]
		}
		s.nextTop++
	}
}

// endCell turns the parsed cell into a pipeline.Cell in s.cells.
func (s *sheetSource) endCell(c *cellState) error {
	if !c.hasValue && !c.formula || c.col < 0 {
		return nil // an empty, perhaps styled, cell
	}
	if c.col >= maxColumns {
		return &pipeline.InputError{Path: s.wb.path, Row: s.row,
			Msg:  pipeline.Reason(pipeline.ErrWideXLSX, columnName(c.col), maxColumns),
			Hint: pipeline.Reason(pipeline.HintWideXLSX)}
	}
	if c.col < len(s.cells) && (s.cells[c.col] != pipeline.Cell{}) {
		return s.wb.bad(fmt.Sprintf("row %d has two cells in column %s", s.row, columnName(c.col)), nil)
	}
	var cell pipeline.Cell
	text := c.valueText
	if len(text) > maxCellChars && utf8.RuneCount(text) > maxCellChars {
		return s.wb.longCell(s.row, c.ref(s.row))
	}
	switch c.typ {
	case "s":
		i, ok := atoiBytes(text)
		if !ok {
			return s.wb.bad(fmt.Sprintf("cell %s refers to shared string %q", c.ref(s.row), text), nil)
		}
		v, err := s.sst.get(i)
		if err != nil {
			return s.wb.bad(fmt.Sprintf("cell %s refers to shared string %d", c.ref(s.row), i), err)
		}
		cell.Value = v
	case "inlineStr", "str":
		cell.Value = string(text)
	case "e":
		cell.Value = string(text)
	case "b":
		cell.Type = pipeline.Bool
		cell.Raw = strings.TrimSpace(string(text))
		cell.Value = "FALSE"
		if cell.Raw == "1" || strings.EqualFold(cell.Raw, "true") {
			cell.Value = "TRUE"
		}
	case "d":
		// An ISO 8601 date (strict OOXML): kept as text, shown as stored.
		cell.Type = pipeline.Date
		cell.Value = string(text)
		cell.Raw = cell.Value
	default: // "n" or none: a number
		var err error
		if cell, err = s.numberCell(c, text); err != nil {
			return err
		}
	}
	if c.formula {
		cell.Type = pipeline.Formula
	}
	for len(s.cells) <= c.col {
		s.cells = append(s.cells, pipeline.Cell{})
	}
	s.cells[c.col] = cell
	return nil
}

// numberCell reads the text of a number cell, shown in its style's number
// format. An empty text is an empty cell.
func (s *sheetSource) numberCell(c *cellState, text []byte) (pipeline.Cell, error) {
	var cell pipeline.Cell
	raw := strings.TrimSpace(string(text))
	if raw == "" {
		return cell, nil
	}
	v, err := strconv.ParseFloat(raw, 64)
	if err != nil {
		return cell, s.wb.bad(fmt.Sprintf("cell %s holds %q, not a number", c.ref(s.row), raw), nil)
	}
	code, date := "", false
	if c.style >= 0 && c.style < len(s.wb.fmtCode) {
		code, date = s.wb.fmtCode[c.style], s.wb.fmtDate[c.style]
	}
	cell.Raw, cell.NumFmt, cell.Type = raw, code, pipeline.Number
	if !date {
		cell.Value = formatNumber(v, raw, code)
		return cell, nil
	}
	cell.Type = pipeline.Date
	cell.Value = formatDate(v, raw, code, s.wb.date1904)
	if s.wb.date1904 {
		// Raw dates are 1900-system serials whatever the workbook, so
		// that a writer keeps the same day.
		cell.Raw = strconv.FormatFloat(v+date1904Offset, 'f', -1, 64)
	}
	return cell, nil
}

func (s *sheetSource) close() error {
	err := s.rc.Close()
	if e := s.sst.close(); err == nil {
		err = e
	}
	if e := s.wb.zr.Close(); err == nil {
		err = e
	}
	return err
}
