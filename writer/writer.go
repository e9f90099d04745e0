// Package writer writes the annotated output of a cardverify run: the input
// rows, unchanged and in order, each data row followed by the six verify
// columns of DESIGN.md ("Output columns"), as an XLSX workbook with a
// Summary sheet or as a CSV or TSV file. It implements pipeline.Sink.
//
// The verify columns go after the widest row among the header and the first
// 100 data rows (rows above the header aside). A later row with more
// non-empty cells keeps them: they are written after the verify columns and
// its reason says so. In a sandbox output every reason starts with a
// SANDBOX mark, so that even a CSV shows the answers are simulated.
//
// XLSX: the annotated sheet comes first, with a bold header, a frozen header
// row, a filter over the header, column widths from the first rows, the
// status cell filled green (match), red (mismatch), amber (invalid,
// rejected, deferred, failed) or grey (pending), res and error_code as
// left-aligned numbers, the reason wrapped (its row made tall enough),
// verified_at as a date-time of China time shown with "+08:00", and a print
// setup one page wide with the header repeated. The Summary sheet (see
// Summary) follows; the workbook's properties name cardverify, its version
// and the time the file was written. Text cells are written as text, never as
// formulas ("=cmd|..." and "000123" stay what they were); numbers and dates
// keep their stored value and number format; formula cells are written as
// their cached value. Rows keep their sheet row numbers. Memory stays flat
// however many rows are written: the sheet's XML is deflated straight into
// the output's zip, with no temporary sheet file in $TMPDIR. A sheet holds
// at most 1,048,576 rows and 16,384 columns; past that Write fails and a
// .csv output is the way out.
//
// CSV and TSV: UTF-8 with a byte-order mark (Excel needs it to read Chinese)
// and CRLF line ends. Input cells are copied as the text they showed,
// unchanged, formula-like text included: a delimited file has no cell
// types, and whether "=..." becomes a live formula is the opening program's
// choice (open such lists through the XLSX output). The verify columns,
// written by cardverify, get a leading apostrophe when they start with
// = + - or @. There is no Summary in a delimited file: `cardverify status`
// and the XLSX output carry it.
//
// Output is atomic: everything is written to a hidden temporary file beside
// the target (".NAME.tmp-*"), synced, and renamed over the target only by
// Close; until then, and whatever goes wrong, an existing file at the target
// is left as it was. A new output gets the input's permission bits (or
// 0600), a replaced one keeps its own. The temporary file is created 0600:
// it holds names and cards. Temporary files left by a writer killed more
// than 6 hours ago are removed by the next successful Close;
// RemoveTemporaries removes them all, for a caller that knows no other
// writer of the same output is running.
package writer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/cardverify/cardverify/pipeline"
	"github.com/cardverify/cardverify/pipeline/msg"
)

// Options says how to write an output.
type Options struct {
	// Lang is "zh" (the default when empty) or "en": the language of the
	// appended headers, the status labels, local reasons and the Summary
	// sheet.
	Lang string
	// MaskCard makes the card column of data rows show only the first 6 and
	// last 4 digits. It needs CardCol.
	MaskCard bool
	// CardCol is the 0-based index of the card column in the input, -1 when
	// unknown. Create refuses MaskCard without it.
	CardCol int
	// Input is the input file's path. Create refuses an output that is the
	// same file (by path, through a symlink or a hard link). A new output
	// gets the input's permission bits, since it holds the same data.
	Input string
	// SheetName names the annotated sheet of an XLSX output: the input
	// sheet's name, or "Sheet1" when empty. Characters a sheet name cannot
	// hold are replaced.
	SheetName string
	// DryRun says the output is a dry run's: its pending rows say that no
	// call was made, rather than to run again.
	DryRun bool
	// Summary fills the Summary sheet of an XLSX output. The counts per
	// status are not in it: the writer counts the rows it writes.
	Summary Summary
	// Held keeps the output in memory until it passes HeldBytes, and
	// creates its temporary file only then or at Close: an output written
	// beside a run (which takes hours) is on disk unfinished only once it
	// is large. Create then does not check the directory: check it first.
	Held bool
}

// HeldBytes is how much of an output Options.Held keeps in memory.
const HeldBytes = 4 << 20

// Summary is what a job tells the Summary sheet about itself: enough for
// an auditor to sign it off. The counts per status are not in it: the
// writer counts the rows it writes.
type Summary struct {
	Version     string // the tool's version
	InputName   string // the input file's name, as shown to the reader
	InputSHA256 string // hex
	Sheet       string // the input sheet that was read, empty for text files
	OutputName  string // the output file's name
	Endpoint    string // "plain" or "encrypted"
	// URLs are the API addresses called (base URL and endpoint path),
	// KeyIDs the identifiers of the API keys used (never the keys), and
	// Operators who ran the job ("user@host"), each listed once.
	URLs, KeyIDs, Operators []string
	Calls                   int // every HTTP call made for this input, over all runs
	BilledCalls             int // the calls the vendor charges for
	// PossiblyBilled counts the calls that may have been billed without an
	// intact answer: the bill lies between BilledCalls and
	// BilledCalls+PossiblyBilled.
	PossiblyBilled int
	// SimulatedCalls counts the calls a simulated API answered: billed by
	// nobody, so neither in BilledCalls nor in the cost.
	SimulatedCalls int
	// NoJobID counts the verdicts that came without a jobid.
	NoJobID int
	// Start is when the job's first run started, End the latest of its
	// last run's end and its last call; both zero before any run.
	Start, End time.Time
	// Sandbox marks the answers as simulated: the Summary sheet shows a
	// banner and every reason cell starts with a SANDBOX mark.
	Sandbox bool
	// RealRows and Simulated count the rows whose verdict came from the
	// real API and from the simulated one.
	RealRows, Simulated int
	// Runs lists every run of the job, oldest first.
	Runs []Run
	// Days splits the calls by China calendar day, oldest first.
	Days []Day
	// Invalid counts the invalid rows by reason, most frequent first.
	Invalid []ReasonCount
	// Price is the price of a billed call in yuan; 0 leaves the cost out.
	Price float64
	// Created is when the output is written, for the workbook's
	// properties; zero means now.
	Created time.Time
	// Codes lists each error code seen, for the legend.
	Codes []CodeInfo
	// Reused counts the rows whose verdict was reused from the history
	// (--reuse-within) instead of paid for; OldestReused is when the
	// oldest of them was verified.
	Reused int
	// OldestReused is when the oldest reused verdict was verified; zero
	// when Reused is 0.
	OldestReused time.Time
}

// Run is one run of a job, for the Summary's table of runs.
type Run struct {
	Start, End time.Time // End is zero when the run recorded no end
	// Stop is why the run ended: done, interrupted, deadline, budget, api
	// or error (store's Stop codes); empty when it recorded no end.
	Stop string
	// Calls, Billed and PossiblyBilled are the run's HTTP calls, those the
	// vendor charges for, and those that may have been billed without an
	// intact answer.
	Calls, Billed, PossiblyBilled int
	QPS                           float64 // the rate the run asked for (--qps), calls per second
	Operator                      string  // user@host
	// Command is the command line, its secrets replaced.
	Command string
}

// Day is the calls sent on one China calendar day.
type Day struct {
	Day string // 2006-01-02
	// Calls, Billed and PossiblyBilled are as in Run, for the calls sent
	// that day.
	Calls, Billed, PossiblyBilled int
}

// ReasonCount is how many invalid rows have one reason.
type ReasonCount struct {
	Reason string // the encoded reasons (pipeline.Reason, joined) as the rows' cell says them
	Count  int    // the invalid rows with it
}

// CodeInfo is one error code seen in a run, with the vendor's meaning.
type CodeInfo struct {
	Code    int    // the API's error_code
	Meaning string // the vendor's text for it (Chinese); empty for a code not in juhe.Codes
	Count   int    // the answered calls with this code, over all runs
}

// Writer writes one output file. It is not safe for concurrent use. Every
// Writer must end with Close (which publishes the file) or Abort (which
// does not); after a failed Write, Close fails too and publishes nothing.
type Writer struct {
	path string // the target
	opt  Options
	tmp  tempFile
	fmt  format
	lang *lang

	// The first records are held back until the layout (where the verdict
	// columns go, column widths, the frozen header) can be decided from
	// them. held is nil once the layout is fixed.
	held        []heldRecord
	sinceHeader int // records held after the header, -1 before it
	layout      layout

	stats  stats
	extra  []string        // reused for the verdict columns of each row
	out    outRow          // reused for each row: one allocation less a row
	masked []pipeline.Cell // reused for the cells of a masked row
	err    error           // sticky: the first error of Write
	done   bool            // Close or Abort was called
}

// heldRecord is a record whose Cells, Problems and Warnings were copied.
type heldRecord struct {
	rec pipeline.Record
	o   pipeline.Outcome
}

// sampleRows is how many records past the header are held to size columns.
const sampleRows = 100

// maxHeld bounds the held records when no header comes (a long preamble).
const maxHeld = 1000

// stats are the counts the Summary sheet shows.
type stats struct {
	rows    int // data rows
	status  pipeline.Counts
	dups    int
	lastRow int // the last sheet row written (XLSX)
}

// format is an output format: XLSX or delimited text.
type format interface {
	// start is given the file the output goes to, before begin; rows may
	// be written to it as they come.
	start(w io.Writer) error
	// begin fixes the layout; it is called once, before the first row.
	begin(l *layout) error
	// row writes one row. extra holds the verdict columns (nil for rows
	// that get none), overflow the cells that did not fit before them.
	row(r *outRow) error
	// finish completes the document and writes it to w.
	finish(w io.Writer, s *stats) error
	// discard releases what the format holds without finishing.
	discard()
}

// outRow is one row ready to be written.
type outRow struct {
	row      int // 1-based
	kind     pipeline.RowKind
	cells    []pipeline.Cell // the input's cells, up to the verdict columns
	extra    []string        // the verdict columns, nil for none
	status   pipeline.Status
	at       time.Time       // the outcome's time, for a date-time cell
	overflow []pipeline.Cell // input cells past the verdict columns
}

// layout is where things go, decided from the first records.
type layout struct {
	base      int       // 0-based column of the first verdict column
	headerRow int       // 1-based, 0 when there is no header
	widths    []float64 // of base+len(verdict columns) columns
}

// tempFile is the part of *os.File the writer uses; tests replace it to
// fake a full disk.
type tempFile interface {
	io.Writer
	Sync() error
	Close() error
	Name() string
}

func osCreateTemp(dir, pattern string) (tempFile, error) {
	return os.CreateTemp(dir, pattern)
}

// heldTemp is a temporary file created only once HeldBytes were written to
// it, or when it is synced; until then its bytes are in memory and its
// Name is "".
type heldTemp struct {
	dir, pattern string
	create       func(dir, pattern string) (tempFile, error)
	buf          []byte
	f            tempFile
}

func (h *heldTemp) Write(p []byte) (int, error) {
	if h.f == nil && len(h.buf)+len(p) <= HeldBytes {
		if h.buf == nil {
			h.buf = make([]byte, 0, HeldBytes) // once: no copies as it grows
		}
		h.buf = append(h.buf, p...)
		return len(p), nil
	}
	if err := h.open(); err != nil {
		return 0, err
	}
	return h.f.Write(p)
}

// open creates the file, if it is not yet, with the bytes held.
func (h *heldTemp) open() error {
	if h.f != nil {
		return nil
	}
	f, err := h.create(h.dir, h.pattern)
	if err != nil {
		return err
	}
	h.f = f
	_, err = f.Write(h.buf)
	h.buf = nil
	return err
}

func (h *heldTemp) Sync() error {
	if err := h.open(); err != nil {
		return err
	}
	return h.f.Sync()
}

func (h *heldTemp) Close() error {
	h.buf = nil
	if h.f == nil {
		return nil
	}
	return h.f.Close()
}

func (h *heldTemp) Name() string {
	if h.f == nil {
		return ""
	}
	return h.f.Name()
}

// Create starts writing the output at path, in the format its extension
// names: .xlsx, .csv (comma) or .tsv (tab). It creates the temporary file at
// once, so that an unwritable directory is reported before any work. An
// unknown extension, an output that is the input, MaskCard without CardCol
// or an unknown Lang are *pipeline.InputError.
func Create(path string, opt Options) (*Writer, error) {
	return create(path, opt, osCreateTemp)
}

func create(path string, opt Options, createTemp func(dir, pattern string) (tempFile, error)) (*Writer, error) {
	l, err := langFor(opt.Lang)
	if err != nil {
		return nil, &pipeline.InputError{Msg: pipeline.Reason(msg.UsageOneOf, "lang", "zh, en", opt.Lang)}
	}
	if opt.MaskCard && opt.CardCol < 0 {
		return nil, &pipeline.InputError{Path: opt.Input, Msg: pipeline.Reason(pipeline.ErrMaskNoCol),
			Hint: pipeline.Reason(pipeline.HintCardCol)}
	}
	var f format
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".xlsx":
		f = &xlsxFormat{lang: l, sheetName: opt.SheetName, sum: &opt.Summary}
	case ".csv":
		f = &csvFormat{comma: ','}
	case ".tsv":
		f = &csvFormat{comma: '\t'}
	default:
		return nil, &pipeline.InputError{Path: path, Msg: pipeline.Reason(pipeline.ErrOutExt, ext),
			Hint: pipeline.Reason(pipeline.HintOutExt)}
	}
	if err := checkTarget(path, opt.Input); err != nil {
		return nil, err
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	var tmp tempFile
	if opt.Held {
		tmp = &heldTemp{dir: dir, pattern: "." + base + ".tmp-*", create: createTemp}
	} else if tmp, err = createTemp(dir, "."+base+".tmp-*"); err != nil {
		return nil, ioError("create output", path, err)
	}
	w := &Writer{path: path, opt: opt, tmp: tmp, fmt: f, lang: l,
		held: make([]heldRecord, 0, 16), sinceHeader: -1}
	if x, ok := f.(*xlsxFormat); ok {
		x.sum = &w.opt.Summary // SetSummary may change it until Close
	}
	if err := f.start(tmp); err != nil {
		w.Abort()
		return nil, ioError("write output", path, err)
	}
	return w, nil
}

// checkTarget refuses an output that would overwrite the input, or that is
// a directory.
func checkTarget(out, in string) error {
	outInfo, err := os.Stat(out)
	if err == nil && outInfo.IsDir() {
		return &pipeline.InputError{Path: out, Msg: pipeline.Reason(pipeline.ErrOutDir), Hint: pipeline.Reason(pipeline.HintOutName)}
	}
	if in == "" {
		return nil
	}
	same := false
	if a, errA := filepath.Abs(out); errA == nil {
		if b, errB := filepath.Abs(in); errB == nil && a == b {
			same = true
		}
	}
	if err == nil && !same {
		if inInfo, err := os.Stat(in); err == nil && os.SameFile(outInfo, inInfo) {
			same = true
		}
	}
	if same {
		return &pipeline.InputError{Path: out, Msg: pipeline.Reason(pipeline.ErrOutIsIn),
			Hint: pipeline.Reason(pipeline.HintOutIsIn)}
	}
	return nil
}

// Write writes one record of the input with its outcome (the zero Outcome
// for rows other than Data). Records must come in input order. Preamble and
// blank rows are copied without verdict columns. The record's slices are
// copied when kept, so a Source may reuse them.
func (w *Writer) Write(rec pipeline.Record, o pipeline.Outcome) error {
	if w.done {
		return errors.New("write output: writer is closed")
	}
	if w.err != nil {
		return w.err
	}
	if w.held != nil {
		w.hold(rec, o)
		if w.sampled() {
			w.err = w.release()
		}
		return w.err
	}
	w.err = w.emit(&rec, o)
	return w.err
}

func (w *Writer) hold(rec pipeline.Record, o pipeline.Outcome) {
	rec.Cells = append([]pipeline.Cell(nil), rec.Cells...)
	rec.Problems = append([]string(nil), rec.Problems...)
	rec.Warnings = append([]string(nil), rec.Warnings...)
	w.held = append(w.held, heldRecord{rec, o})
}

// sampled reports whether enough records are held to fix the layout.
func (w *Writer) sampled() bool {
	last := w.held[len(w.held)-1].rec.Kind
	switch {
	case last == pipeline.Header && w.sinceHeader < 0:
		w.sinceHeader = 0
	case w.sinceHeader >= 0:
		w.sinceHeader++
	}
	return w.sinceHeader >= sampleRows || len(w.held) >= maxHeld
}

// release fixes the layout from the held records and writes them.
func (w *Writer) release() error {
	held := w.held
	w.held = nil
	w.layout = w.planLayout(held)
	if err := w.fmt.begin(&w.layout); err != nil {
		return w.wrap(err)
	}
	for i := range held {
		if err := w.emit(&held[i].rec, held[i].o); err != nil {
			return err
		}
	}
	return nil
}

// planLayout puts the verdict columns after the widest row of the sample
// (preamble rows aside: a title should not push them away) and sizes the
// columns to the sample's text.
func (w *Writer) planLayout(held []heldRecord) layout {
	var l layout
	for _, h := range held {
		if h.rec.Kind == pipeline.Header && l.headerRow == 0 {
			l.headerRow = h.rec.Row
		}
		if h.rec.Kind == pipeline.Preamble {
			continue
		}
		if n := trimmedLen(h.rec.Cells); n > l.base {
			l.base = n
		}
	}
	l.widths = make([]float64, l.base+len(w.lang.headers))
	chars := make([]int, len(l.widths))
	for i, h := range w.lang.headers {
		chars[l.base+i] = max(textWidth(h), minVerdictWidth[i])
	}
	var extra []string
	for _, h := range held {
		if h.rec.Kind != pipeline.Header && h.rec.Kind != pipeline.Data {
			continue
		}
		for i, c := range h.rec.Cells[:min(len(h.rec.Cells), l.base)] {
			v := c.Value
			if h.rec.Kind == pipeline.Data && w.opt.MaskCard && i == w.opt.CardCol {
				v = pipeline.MaskCard(v)
			}
			chars[i] = max(chars[i], textWidth(v))
		}
		if h.rec.Kind == pipeline.Data {
			extra = w.verdict(extra[:0], &h.rec, h.o)
			for i, v := range extra {
				chars[l.base+i] = max(chars[l.base+i], textWidth(v))
			}
		}
	}
	for i, n := range chars {
		l.widths[i] = float64(min(max(n+2, 8), 60))
	}
	return l
}

// minVerdictWidth keeps the verdict columns readable when the sample holds
// only pending rows.
var minVerdictWidth = [...]int{8, 6, 26, 8, 30, 25}

// trimmedLen is the number of cells up to the last non-empty one.
func trimmedLen(cells []pipeline.Cell) int {
	n := len(cells)
	for n > 0 && cells[n-1].Value == "" {
		n--
	}
	return n
}

// emit writes one record once the layout is fixed.
func (w *Writer) emit(rec *pipeline.Record, o pipeline.Outcome) error {
	r := &w.out
	*r = outRow{row: rec.Row, kind: rec.Kind, cells: rec.Cells}
	if r.row <= w.stats.lastRow {
		// Rows must go down the sheet; a source that numbers rows
		// oddly still gets every row, in order.
		r.row = w.stats.lastRow + 1
	}
	if rec.Kind == pipeline.Header || rec.Kind == pipeline.Data {
		base := w.layout.base
		if len(r.cells) > base {
			r.cells = rec.Cells[:base]
			if trimmedLen(rec.Cells) > base {
				r.overflow = rec.Cells[base:]
			}
		}
		if rec.Kind == pipeline.Header {
			r.extra = w.lang.headers[:]
		} else {
			w.extra = w.verdict(w.extra[:0], rec, o)
			r.extra = w.extra
			if r.overflow != nil {
				r.extra[4] = msg.Join(w.lang.code, r.extra[4], msg.Say(w.lang.code, pipeline.Overflow, len(r.overflow)))
			}
			r.status, r.at = o.Status, o.At
			w.count(o)
			if w.opt.MaskCard {
				w.mask(r)
			}
		}
	}
	if err := w.fmt.row(r); err != nil {
		return w.wrap(fmt.Errorf("row %d: %w", rec.Row, err))
	}
	w.stats.lastRow = r.row
	return nil
}

func (w *Writer) count(o pipeline.Outcome) {
	w.stats.rows++
	if int(o.Status) < len(w.stats.status) {
		w.stats.status[o.Status]++
	}
	if o.DupOf != 0 {
		w.stats.dups++
	}
}

// mask replaces the card cell of r, wherever the layout put it, with a
// masked text cell. The caller's cells are not changed: r gets a copy.
func (w *Writer) mask(r *outRow) {
	col := w.opt.CardCol
	cells := &r.cells
	if col >= w.layout.base {
		cells, col = &r.overflow, col-w.layout.base
	}
	if col < 0 || col >= len(*cells) {
		return
	}
	w.masked = append(w.masked[:0], *cells...)
	w.masked[col] = pipeline.Cell{Value: pipeline.MaskCard((*cells)[col].Value)}
	*cells = w.masked
}

// verdict appends the six verdict columns of a data row to dst.
func (w *Writer) verdict(dst []string, rec *pipeline.Record, o pipeline.Outcome) []string {
	res, code, at := "", "", ""
	if o.Res != 0 {
		res = itoa(o.Res)
	}
	if o.Answered {
		code = itoa(o.Code)
	}
	if !o.At.IsZero() {
		at = pipeline.ChinaTime(o.At)
	}
	return append(dst, o.Status.Label(w.lang.code), res, o.JobID, code, w.reason(rec, o), at)
}

// reason is the reason cell: the duplicate note, the outcome's reason (or
// the row's problems when the caller gave none), then the row's warnings.
func (w *Writer) reason(rec *pipeline.Record, o pipeline.Outcome) string {
	lang := w.lang.code
	var s string
	if o.DupOf != 0 {
		s = msg.Say(lang, pipeline.DupOf, o.DupOf)
	}
	r := o.Reason
	switch {
	case o.Status == pipeline.Pending && (r == "" || r == pipeline.PendingReason || r == legacyPending):
		r = pipeline.PendingReason
		if w.opt.DryRun {
			r = pipeline.Reason(pipeline.DryPending)
		}
	case r == "" && o.Status == pipeline.Invalid:
		r = pipeline.JoinReasons(rec.Problems...)
	}
	r = msg.Text(lang, r)
	if !strings.Contains(r, s) {
		s = msg.Join(lang, s, r)
	} else {
		s = r
	}
	for _, warn := range rec.Warnings {
		s = msg.Join(lang, s, msg.Text(lang, warn))
	}
	if w.opt.Summary.Sandbox || o.Simulated {
		s = strings.TrimSpace(w.lang.sandboxMark + " " + s)
	}
	return s
}

// legacyPending is the reason of a pending row in checkpoints written
// before reasons were codes.
const legacyPending = "not verified yet: run the same command again to resume"

// Spill creates the temporary file of a Held output, if it is not yet,
// with what was held: from then on the output is on disk as it is written.
// An output written beside a run spills when the run ends, so that its
// file exists while it is finished, as any output's does.
func (w *Writer) Spill() error {
	if h, ok := w.tmp.(*heldTemp); ok {
		if err := h.open(); err != nil {
			return w.wrap(err)
		}
	}
	return nil
}

// SetSummary replaces the Summary given to Create, for an output written
// before its job's figures are known (while the run goes on). Its Sandbox
// must be the one the rows were written with: it marks them. Call it
// before Close.
func (w *Writer) SetSummary(s Summary) {
	s.Sandbox = w.opt.Summary.Sandbox
	w.opt.Summary = s
}

// Close writes what is still held, finishes the document (the Summary sheet
// of an XLSX output), syncs it and renames it over the target. On any error
// the temporary file is removed, the target is left as it was, and the error
// names the path; a full disk or a read-only directory is said so. Close
// after Close or Abort does nothing.
func (w *Writer) Close() error { return w.CloseContext(context.Background()) }

// CloseContext is Close, given up when ctx ends: finishing a large XLSX
// output takes seconds, and a Ctrl-C must not wait for it. Given up, it
// removes the temporary file, leaves the target as it was and returns an
// error wrapping ctx's.
func (w *Writer) CloseContext(ctx context.Context) error {
	if w.done {
		return nil
	}
	if w.err == nil && w.held != nil {
		w.err = w.release()
	}
	if w.err == nil {
		w.err = ctx.Err()
	}
	if w.err != nil {
		w.Abort()
		return w.err
	}
	w.done = true
	err := w.fmt.finish(ctxWriter{ctx, w.tmp}, &w.stats)
	if err == nil {
		err = ctx.Err()
	}
	if err == nil {
		err = w.tmp.Sync()
	}
	if cerr := w.tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(w.tmp.Name())
		return w.wrap(err)
	}
	if err := os.Chmod(w.tmp.Name(), outputMode(w.path, w.opt.Input)); err != nil {
		os.Remove(w.tmp.Name())
		return ioError("write output", w.path, err)
	}
	if err := os.Rename(w.tmp.Name(), w.path); err != nil {
		os.Remove(w.tmp.Name())
		return ioError("replace output", w.path, err)
	}
	// The rename is durable only once the directory is synced. Some file
	// systems cannot sync a directory; the file itself is complete then.
	if d, err := os.Open(filepath.Dir(w.path)); err == nil {
		d.Sync()
		d.Close()
	}
	removeStale(w.path, time.Now().Add(-staleAfter))
	return nil
}

// ctxWriter writes to w until ctx ends, then fails every write with ctx's
// error.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

// staleAfter is the age past which a temporary output beside the target is
// taken as left by a process that was killed while writing: a writer writes
// its temporary file from Create to Close, which takes minutes at most
// after the calls, and an output written beside a run's calls is written
// to as their answers come (its age is its last write's).
const staleAfter = 6 * time.Hour

// RemoveTemporaries removes every temporary output of path (".NAME.tmp-*"
// beside it), whatever its age: the files a writer killed while writing
// left behind, which hold names and cards in plaintext. Call it only when
// no other writer of path can be running (cardverify holds the
// checkpoint's lock). It returns how many files it removed and the first
// error.
func RemoveTemporaries(path string) (int, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("remove temporary outputs of %s: %w", path, err)
	}
	n := 0
	var first error
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasPrefix(e.Name(), "."+base+".tmp-") {
			continue
		}
		err := os.Remove(filepath.Join(dir, e.Name()))
		switch {
		case err == nil:
			n++
		case !errors.Is(err, fs.ErrNotExist) && first == nil:
			first = fmt.Errorf("remove temporary output %s: %w", filepath.Join(dir, e.Name()), err)
		}
	}
	return n, first
}

// removeStale removes the temporary outputs of path last modified before
// cutoff. Errors are ignored: they are hidden files, and a later Close
// tries again.
func removeStale(path string, cutoff time.Time) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasPrefix(e.Name(), "."+base+".tmp-") {
			continue
		}
		if fi, err := e.Info(); err == nil && fi.ModTime().Before(cutoff) {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// Abort removes the temporary file and leaves the target as it was. It
// returns the error of removing the file, if any. Abort after Close or Abort
// does nothing.
func (w *Writer) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.fmt.discard()
	w.tmp.Close()
	if err := os.Remove(w.tmp.Name()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove temporary output %s: %w", w.tmp.Name(), err)
	}
	return nil
}

// outputMode is the permission of a new output: an existing output's, or
// the input's (the output holds the same data), or owner-only.
func outputMode(out, in string) fs.FileMode {
	if fi, err := os.Stat(out); err == nil {
		return fi.Mode().Perm()
	}
	if in != "" {
		if fi, err := os.Stat(in); err == nil {
			return fi.Mode().Perm() | 0o200
		}
	}
	return 0o600
}

// wrap names the output in an error, with a hint for the disk problems a
// user can fix.
func (w *Writer) wrap(err error) error {
	return ioError("write output", w.path, err)
}

func ioError(doing, path string, err error) error {
	var hint string
	switch {
	case errors.Is(err, syscall.ENOSPC):
		hint = "the disk is full: free some space or choose another --out"
	case errors.Is(err, syscall.EDQUOT):
		hint = "the disk quota is exhausted: free some space or choose another --out"
	case errors.Is(err, syscall.EROFS):
		hint = "the file system is read-only: choose another --out"
	case errors.Is(err, fs.ErrPermission):
		hint = "no permission to write there: choose another --out"
	case errors.Is(err, fs.ErrNotExist):
		hint = "the directory does not exist: create it or choose another --out"
	default:
		return fmt.Errorf("%s %s: %w", doing, path, err)
	}
	return fmt.Errorf("%s %s: %w (%s)", doing, path, err, hint)
}
