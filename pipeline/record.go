package pipeline

import (
	"io"
	"time"
)

// RowKind says what part of the input a Record is.
type RowKind uint8

const (
	// Data is a customer row below the header: it is validated and verified.
	Data RowKind = iota
	// Preamble is a row above the header (a title, a note). It is copied to
	// the output unchanged and never verified.
	Preamble
	// Header is the header row.
	Header
	// Blank is a row below the header whose cells are all empty. It is kept
	// in the output but not counted or verified.
	Blank
)

// CellType is the type a spreadsheet gave a cell. The zero value is Text,
// which is what every cell of a delimited text file is.
type CellType uint8

// The types of a cell.
const (
	Text    CellType = iota // a text, or a cell of a delimited file
	Number                  // a number, shown in Value as its format shows it
	Bool                    // TRUE or FALSE in Value, the stored text in Raw
	Date                    // a date: shown in Value, its serial (or ISO text) in Raw
	Formula                 // a formula whose cached value is in Value (and Raw)
)

// Cell is one cell of the input as the reader found it.
//
// How package reader fills it, by Type (a writer can rely on this):
//   - Text: Value is the text; Raw and NumFmt are empty (also for a text
//     cell formatted "@", and for an error cell such as "#N/A").
//   - Number: Raw is the XML's stored number, to be parsed with
//     strconv.ParseFloat (LibreOffice writes "6.22202123456789E+018");
//     NumFmt is the cell's format code ("" for General, built-in formats
//     spelled out: "0", "#,##0.00", "@"); Value is the number as the format
//     shows it, with at most 15 significant digits as spreadsheets do
//     ("6.22202123456789E+18" in General, "6222021234567890000" in "0").
//   - Date: a number whose format shows a date or time. Raw is the serial
//     in the 1900 date system (converted from a 1904 workbook); NumFmt is
//     the format (built-in 14 and 22 are given as "yyyy-mm-dd" and
//     "yyyy-mm-dd h:mm"); Value is the date as that format shows it.
//   - Bool: Value is "TRUE" or "FALSE", Raw "1" or "0".
//   - Formula: Value is the cached result as shown. Raw is that result
//     when it is a number (then NumFmt is its format, as for Number) or a
//     boolean ("1"/"0"), and empty when it is text or an error, exactly as
//     for Text. The formula itself is not kept.
//
// A cell absent from the sheet, or covered by a merged range, is the zero
// Cell; a merged range's value stays in its top-left cell only.
type Cell struct {
	// Value is the text a spreadsheet shows for the cell.
	Value string
	// Type is the cell's type in the workbook; Text for delimited files.
	Type CellType
	// Raw is the stored value for non-text cells (for example "45292" for a
	// date, or "6.20181590830166E+18" for a long number typed as a number);
	// empty for text cells.
	Raw string
	// NumFmt is the number format code of a number or date cell ("0",
	// "yyyy-mm-dd", ...), empty for General or text.
	NumFmt string
}

// Record is one row of the input, in file order.
type Record struct {
	// Row is the 1-based row number: the sheet row in a workbook, the
	// record number (counting the header and rows above it) in a text file.
	Row int
	// Kind says whether the row is data, preamble, header or blank; only
	// data rows carry Name and Card and are verified.
	Kind RowKind
	// Cells are the row's original cells. A Source may reuse the slice on
	// the next call to Next: copy what must outlive it.
	Cells []Cell
	// Name and Card are the normalised values that would be sent to the API
	// (Data rows only).
	Name, Card string
	// Problems, when not empty, make the row invalid: it is never sent, and
	// each problem says what to fix.
	Problems []string
	// Warnings are reported in the output but do not stop the row from being
	// verified (for example a card number that fails the Luhn check).
	Warnings []string
}

// Source yields the records of an input in file order. Next returns io.EOF
// after the last record. A Source is not safe for concurrent use.
type Source interface {
	// Next returns the next record, or io.EOF (EOF) after the last.
	Next() (Record, error)
}

// EOF is io.EOF, re-exported so that implementations and callers of Source
// need not import io only for it.
var EOF = io.EOF

// chinaZone is China Standard Time. It is fixed (China has no daylight
// saving), so no time zone database is needed. It is the only zone of the
// module: every time a person reads is in it, whatever the machine's zone.
var chinaZone = time.FixedZone("CST", 8*60*60)

// China returns China Standard Time (UTC+08:00), the zone of every time
// a person reads: logs, progress, the output, status, audit, --stop-at.
func China() *time.Location { return chinaZone }

// ChinaTime formats t in China time as RFC 3339, with its +08:00 offset;
// "" for the zero time.
func ChinaTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(chinaZone).Format(time.RFC3339)
}

// ChinaClock returns t as a person in China reads a clock: "15:04:05 CST"
// on now's China day, with the date in front otherwise ("2006-01-02
// 15:04:05 CST").
func ChinaClock(t, now time.Time) string {
	if ChinaDay(t) == ChinaDay(now) {
		return t.In(chinaZone).Format("15:04:05 MST")
	}
	return t.In(chinaZone).Format("2006-01-02 15:04:05 MST")
}

// ChinaDay returns the calendar day of t in China, as "2006-01-02". The API's
// daily limits (a card is locked until the next day) count in China time.
func ChinaDay(t time.Time) string {
	return t.In(chinaZone).Format("2006-01-02")
}
