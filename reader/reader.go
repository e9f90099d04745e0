// Package reader streams the rows of a customer list — an XLSX workbook or a
// delimited text file in any encoding Excel writes — as pipeline.Records, in
// constant memory. It finds the header row and the name and card columns,
// normalises the name and the card number as they will be sent to the API,
// and marks the rows that must not be sent, before any money is spent.
package reader

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/cardverify/cardverify/pipeline"
)

// Limits that keep a hostile file from taking unbounded memory.
const (
	// maxColumns is the most columns a row may have (Excel allows 16,384;
	// a customer list has a few dozen).
	maxColumns = 1024
	// maxCellChars is the longest cell Excel can hold.
	maxCellChars = 32767
	// maxRows is the last row of an Excel sheet.
	maxRows = 1 << 20
	// maxHeaderRow is the lowest header row Options.HeaderRow may give.
	maxHeaderRow = 1000
)

// Reader is a pipeline.Source.
var _ pipeline.Source = (*Reader)(nil)

// Options say where the data is. The zero value detects everything.
type Options struct {
	// Sheet is a sheet name or a 1-based index among the visible sheets of a
	// workbook; "" is the first visible sheet. A hidden sheet is read only
	// when named. Ignored for text files.
	Sheet string
	// HeaderRow is the 1-based header row, at most 1000; 0 detects it
	// within the first 20 rows by the header synonyms of the name and card
	// columns.
	HeaderRow int
	// NameCol and CardCol are a header text, a column letter ("C") or a
	// 1-based index; "" detects the column by its header synonyms. A header
	// text wins over a letter.
	NameCol, CardCol string
	// Encoding is the encoding of a text file ("utf-8", "gbk", "gb18030",
	// "utf-16le", "utf-16be", "big5", or any WHATWG label); "" guesses it
	// from a byte order mark, else UTF-8 when the first 64 KiB are valid
	// UTF-8, else GB18030.
	Encoding string
	// Lines, when positive, is the text file's line count as Digest gave
	// it: Open then does not read the whole file once more to count them
	// (Layout.EstimatedRows). Negative: not counted, nor estimated (a pass
	// beside the reader counts them; Layout.EstimatedRows is 0). Ignored
	// for workbooks.
	Lines int
	// Merges, when not nil, are the merged cells of the workbook's sheet as
	// an earlier Open of the same file, with the same Sheet, found them
	// (Reader.Merges): Open then does not inflate the whole sheet once more
	// to find them before its first row. Ignored for text files.
	Merges *Merges
}

// Layout is what Open detected.
type Layout struct {
	Format    string // "csv" or "xlsx"
	Sheet     string // the sheet read; "" for text files
	Delimiter rune   // the field separator of a text file; 0 for workbooks
	// Encoding of a text file: "utf-8", "utf-8-bom", "utf-16le", "utf-16be",
	// "gb18030", or the label given in Options; "" for workbooks.
	Encoding  string
	HeaderRow int // 1-based
	// NameCol and CardCol are 0-based column indexes.
	NameCol, CardCol int
	// Header is the text of the header row's cells.
	Header []string
	// EstimatedRows is the number of rows in the sheet's dimension or a
	// fast count of the lines of a text file, header included, for a
	// progress bar; 0 if unknown. It may be wrong either way.
	EstimatedRows int
}

// rowSource is a format's stream of rows.
type rowSource interface {
	// next returns the 1-based number of the next row and its cells, which
	// are valid until the next call. Numbers increase but may skip empty
	// rows. It returns io.EOF after the last row.
	next() (int, []pipeline.Cell, error)
	close() error
}

// merger is implemented by sources whose cells may be merged.
type merger interface {
	// topLeft returns the top-left cell of the merged range holding the
	// cell at (row, col), if that cell is merged and not the top left.
	topLeft(row, col int) (pipeline.Cell, bool)
}

type bufferedRow struct {
	row   int
	cells []pipeline.Cell
}

// Reader yields the records of one input. It implements pipeline.Source.
// It is not safe for concurrent use; Close releases the file.
type Reader struct {
	path   string
	src    rowSource
	merges merger
	layout Layout

	buf  []bufferedRow // rows read while detecting the header
	last int           // number of the last row returned
	// held is the next row, read ahead while the rows of a gap in the row
	// numbers are returned.
	held    bufferedRow
	hasHeld bool
	empty   []pipeline.Cell // always nil: the cells of a skipped row
	err     error           // the source's first error other than io.EOF
}

// Open opens the customer list at path: an .xlsx or .xlsm workbook, or a
// .csv, .tsv or .txt file. It detects the layout and returns a
// *pipeline.InputError for anything the user must fix: an unsupported format
// (with how to convert it), a file that is not what its name says, an
// unknown sheet, a missing or ambiguous column.
func Open(path string, opt Options) (*Reader, error) {
	ext := strings.ToLower(filepath.Ext(path))
	switch {
	case ext == ".xlsx" || ext == ".xlsm":
		return openXLSX(path, opt)
	case IsText(path):
		return openText(path, opt)
	}
	msg := pipeline.Reason(pipeline.ErrFormat, ext)
	switch ext {
	case ".xls", ".et":
		msg = pipeline.Reason(pipeline.ErrFormatXLS)
	case ".ods":
		msg = pipeline.Reason(pipeline.ErrFormatODS)
	case ".numbers":
		msg = pipeline.Reason(pipeline.ErrFormatNumbers)
	case "":
		msg = pipeline.Reason(pipeline.ErrFormatNoExt)
	}
	return nil, &pipeline.InputError{Path: path, Msg: msg, Hint: pipeline.Reason(pipeline.HintSaveAs)}
}

// IsText reports whether Open reads path as a delimited text file (a .csv,
// .tsv or .txt file), which Tally hashes as it parses.
func IsText(path string) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv", ".tsv", ".txt":
		return true
	}
	return false
}

func openText(path string, opt Options) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &pipeline.InputError{Path: path, Msg: pipeline.Reason(pipeline.ErrOpen), Err: err}
	}
	estimate := max(opt.Lines, 0)
	if opt.Lines == 0 {
		estimate, err = countLines(f)
		if err == nil {
			_, err = f.Seek(0, io.SeekStart)
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
	}
	r, err := newText(path, f, opt)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.layout.EstimatedRows = estimate
	return r, nil
}

// newText reads the text file at path from in.
func newText(path string, in io.Reader, opt Options) (*Reader, error) {
	return newDelimited(path, in, opt, strings.EqualFold(filepath.Ext(path), ".tsv"))
}

// lineCounter counts the lines of what is written to it: its line feeds,
// or its carriage returns if there are more (lines ending in a lone CR).
type lineCounter struct {
	lf, cr int
	last   byte
	any    bool
}

func (c *lineCounter) Write(p []byte) (int, error) {
	if len(p) > 0 {
		c.lf += bytes.Count(p, []byte{'\n'})
		c.cr += bytes.Count(p, []byte{'\r'})
		c.last, c.any = p[len(p)-1], true
	}
	return len(p), nil
}

// lines is the count of lines written, a last one without an end of line
// included.
func (c *lineCounter) lines() int {
	n := max(c.lf, c.cr)
	if c.any && c.last != '\n' && c.last != '\r' && c.last != 0 {
		n++
	}
	return n
}

// countLines counts the lines of f, for a progress estimate (lineCounter).
func countLines(f io.Reader) (int, error) {
	var c lineCounter
	if _, err := io.CopyBuffer(&c, onlyReader{f}, make([]byte, 1<<20)); err != nil {
		return 0, err
	}
	return c.lines(), nil
}

// onlyReader hides every method of an io.Reader but Read, so that
// io.CopyBuffer uses the buffer it is given.
type onlyReader struct{ io.Reader }

// start reads the first rows, detects the header and the columns, and
// fills r.layout from them.
func (r *Reader) start(opt Options) error {
	want := headerScan
	if opt.HeaderRow > maxHeaderRow || opt.HeaderRow < 0 {
		// The rows above the header are held in memory until it is found.
		return &pipeline.InputError{Path: r.path, Msg: pipeline.Reason(pipeline.ErrHeaderFar, opt.HeaderRow, maxHeaderRow),
			Hint: pipeline.Reason(pipeline.HintHeaderFar)}
	}
	if opt.HeaderRow > want {
		want = opt.HeaderRow
	}
	var rows [][]pipeline.Cell
	first := 1
	for {
		no, cells, err := r.src.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if no > want {
			r.buf = append(r.buf, bufferedRow{no, append([]pipeline.Cell(nil), cells...)})
			break
		}
		// Rows the source skipped are empty.
		for len(rows)+first < no {
			rows = append(rows, nil)
		}
		c := append([]pipeline.Cell(nil), cells...)
		rows = append(rows, c)
		r.buf = append(r.buf, bufferedRow{no, c})
		if no == want {
			break
		}
	}
	if len(r.buf) == 0 {
		return &pipeline.InputError{Path: r.path, Msg: pipeline.Reason(pipeline.ErrNoRows), Hint: pipeline.Reason(pipeline.HintRightSheet)}
	}
	hi, nameCol, cardCol, err := detectHeader(r.path, rows, first, opt)
	if err != nil {
		return err
	}
	r.layout.HeaderRow = first + hi
	r.layout.NameCol, r.layout.CardCol = nameCol, cardCol
	for _, c := range rows[hi] {
		r.layout.Header = append(r.layout.Header, c.Value)
	}
	return nil
}

// Layout returns what Open detected.
func (r *Reader) Layout() Layout { return r.layout }

// Close releases the input. It does not fail on a second call.
func (r *Reader) Close() error {
	if r.src == nil {
		return nil
	}
	err := r.src.close()
	r.src = nil
	return err
}

// row returns the next row in order, with an empty row for each number the
// source skipped.
func (r *Reader) row() (int, []pipeline.Cell, error) {
	if !r.hasHeld {
		switch {
		case len(r.buf) > 0:
			r.held = r.buf[0]
			r.buf[0] = bufferedRow{}
			r.buf = r.buf[1:]
		case r.src == nil:
			return 0, nil, errors.New("read from a closed reader")
		case r.err != nil:
			return 0, nil, r.err
		default:
			no, cells, err := r.src.next()
			if err != nil {
				// Keep failing: after a broken row, what follows cannot
				// be trusted.
				r.err = err
				return 0, nil, err
			}
			r.held = bufferedRow{no, cells}
		}
		r.hasHeld = true
	}
	if r.held.row > r.last+1 {
		r.last++
		return r.last, r.empty, nil
	}
	r.hasHeld = false
	r.last = r.held.row
	return r.held.row, r.held.cells, nil
}

// Next returns the next record of the input in file order, io.EOF after
// the last. The record's Cells are valid until the next call. A file that
// turns out to be broken past its first rows gives a *pipeline.InputError
// naming the row; Next then keeps returning it.
func (r *Reader) Next() (pipeline.Record, error) {
	no, cells, err := r.row()
	if err != nil {
		return pipeline.Record{}, err
	}
	rec := pipeline.Record{Row: no, Cells: cells}
	switch {
	case no < r.layout.HeaderRow:
		rec.Kind = pipeline.Preamble
	case no == r.layout.HeaderRow:
		rec.Kind = pipeline.Header
	case allEmpty(cells):
		rec.Kind = pipeline.Blank
	default:
		rec.Kind = pipeline.Data
		checkRow(&rec, r.cell(no, r.layout.NameCol, cells), r.cell(no, r.layout.CardCol, cells))
	}
	return rec, nil
}

// cell returns the cell of row no at col, taking a merged cell's value from
// its top-left cell.
func (r *Reader) cell(no, col int, cells []pipeline.Cell) pipeline.Cell {
	if r.merges != nil {
		if c, ok := r.merges.topLeft(no, col); ok {
			return c
		}
	}
	if col < len(cells) {
		return cells[col]
	}
	return pipeline.Cell{}
}

func allEmpty(cells []pipeline.Cell) bool {
	for _, c := range cells {
		if c.Value != "" || c.Raw != "" {
			return false
		}
	}
	return true
}

// Sum is what Digest found of a file.
type Sum struct {
	SHA256 string // hex: the input's fingerprint, compared on resume
	Size   int64  // the file's length in bytes
	// Lines is the count of line feeds (plus a last line without one):
	// for a text file, Options.Lines.
	Lines int
}

// Digest reads the file at path once and returns its SHA-256, its size and
// its line count. A file that cannot be opened is an *pipeline.InputError,
// as for Open.
func Digest(path string) (Sum, error) {
	f, err := os.Open(path)
	if err != nil {
		return Sum{}, &pipeline.InputError{Path: path, Msg: pipeline.Reason(pipeline.ErrOpen), Err: err}
	}
	defer f.Close()
	d := newDigester(f)
	// Not io.Discard itself: its ReadFrom would read 8 KiB at a time.
	if _, err := io.CopyBuffer(struct{ io.Writer }{io.Discard}, d, make([]byte, 1<<20)); err != nil {
		return Sum{}, fmt.Errorf("digest %s: %w", path, err)
	}
	return d.sum(), nil
}

// digester is a reader that digests what is read through it: SHA-256,
// size and lines.
type digester struct {
	countingReader
	h     hash.Hash
	lines lineCounter
}

func newDigester(r io.Reader) *digester {
	d := &digester{h: sha256.New()}
	d.countingReader.r = io.TeeReader(r, io.MultiWriter(d.h, &d.lines))
	return d
}

// sum is the Sum of what was read.
func (d *digester) sum() Sum {
	return Sum{SHA256: hex.EncodeToString(d.h.Sum(nil)), Size: d.n, Lines: d.lines.lines()}
}

// Count is the count of an input's data rows, as Next yields them.
type Count struct {
	Rows    int // data rows
	Invalid int // data rows with a problem: never sent
}

// CountRows counts the data rows of the input at path, read with opt as
// Open reads it, until ctx ends (then its error).
func CountRows(ctx context.Context, path string, opt Options) (Count, error) {
	r, err := Open(path, opt)
	if err != nil {
		return Count{}, err
	}
	defer r.Close()
	return r.count(ctx)
}

// Tally reads the input at path once, as Open with opt reads it, and
// returns both its Sum (as Digest) and its Count (as CountRows): a text
// file is hashed as it is parsed, one pass over its bytes. A workbook is a
// zip read out of order: it is digested first, then counted. Tally ends
// when ctx ends, with its error.
func Tally(ctx context.Context, path string, opt Options) (Sum, Count, error) {
	if !IsText(path) {
		sum, err := Digest(path)
		if err != nil {
			return sum, Count{}, err
		}
		n, err := CountRows(ctx, path, opt)
		return sum, n, err
	}
	f, err := os.Open(path)
	if err != nil {
		return Sum{}, Count{}, &pipeline.InputError{Path: path, Msg: pipeline.Reason(pipeline.ErrOpen), Err: err}
	}
	defer f.Close()
	d := newDigester(f)
	r, err := newText(path, d, opt)
	if err != nil {
		return Sum{}, Count{}, err
	}
	n, err := r.count(ctx)
	if err != nil {
		return Sum{}, n, err
	}
	// The parser reads to the end; what it left, if anything, is hashed
	// too.
	if _, err := io.Copy(io.Discard, d); err != nil {
		return Sum{}, n, fmt.Errorf("digest %s: %w", path, err)
	}
	return d.sum(), n, nil
}

// count counts the data rows left in r, checking ctx every 1024 rows.
func (r *Reader) count(ctx context.Context) (Count, error) {
	var n Count
	for i := 0; ; i++ {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return n, err
			}
		}
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		if rec.Kind == pipeline.Data {
			n.Rows++
			if len(rec.Problems) > 0 {
				n.Invalid++
			}
		}
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	c.n += int64(k)
	return k, err
}
