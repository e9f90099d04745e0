package writer

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/cardverify/cardverify/pipeline"
)

// summarySheet writes the Summary sheet (汇总): what was checked, when, how
// and at what cost, the rows per status as written, and a legend of the
// statuses and of the error codes seen.
func (x *xlsxFormat) summarySheet(st *stats) error {
	name := x.lang.summary
	if strings.EqualFold(name, x.sheet) {
		name += " (cardverify)"
	}
	if _, err := x.f.NewSheet(name); err != nil {
		return err
	}
	f, l, sum := x.f, x.lang, x.sum
	title, err := f.NewStyle(&excelize.Style{Font: font(true, 14, "")})
	if err != nil {
		return err
	}
	banner, err := f.NewStyle(&excelize.Style{Font: font(true, 16, "FFFFFF"),
		Fill: solid("C00000"), Alignment: &excelize.Alignment{Vertical: "center"}})
	if err != nil {
		return err
	}
	head, err := f.NewStyle(&excelize.Style{Font: font(true, 0, ""), Fill: solid("DDEBF7")})
	if err != nil {
		return err
	}

	b := &sheetBuilder{f: f, sheet: name}
	b.line(title, "A", l.title)
	if sum.Sandbox {
		b.line(banner, "C", l.banner)
		b.do(func(r string) error { return f.MergeCell(name, "A"+r, "C"+r) })
		b.do(func(string) error { return f.SetRowHeight(name, b.row, 30) })
	}
	b.line(0, "")
	field := func(label string, v any) { b.line(x.bold, "A", label, v) }
	field(l.fields.version, orNone(l, sum.Version))
	field(l.fields.input, orNone(l, sum.InputName))
	field(l.fields.sha, orNone(l, sum.InputSHA256))
	field(l.fields.sheet, orNone(l, sum.Sheet))
	field(l.fields.rows, st.rows)
	field(l.fields.sandbox, map[bool]string{true: l.yes, false: l.no}[sum.Sandbox])
	field(l.fields.billed, sum.BilledCalls)
	field(l.fields.calls, sum.Calls)
	field(l.fields.endpoint, orNone(l, sum.Endpoint))
	field(l.fields.qps, sum.QPS)
	field(l.fields.start, timeText(l, sum.Start))
	field(l.fields.end, timeText(l, sum.End))

	b.line(0, "")
	b.line(head, "C", l.statusHead[0], l.statusHead[1], l.statusHead[2])
	for _, s := range pipeline.Statuses {
		b.line(x.status[s], "A", s.Label(l.code), st.status[s], l.statusMeaning[s])
	}
	b.line(0, "", l.duplicates, st.dups)
	if sum.Reused > 0 {
		b.line(0, "", l.reused, sum.Reused, fmt.Sprintf(l.reusedSince, timeText(l, sum.OldestReused)))
	}

	b.line(0, "")
	b.line(head, "C", l.codeHead[0], l.codeHead[1], l.codeHead[2])
	if len(sum.Codes) == 0 {
		b.line(0, "", l.noCodes)
	}
	for _, c := range sum.Codes {
		b.line(0, "", c.Code, c.Count, c.Meaning)
	}
	if b.err != nil {
		return b.err
	}
	fit, wide, tall := true, 1, 0
	if err := f.SetSheetProps(name, &excelize.SheetPropsOptions{FitToPage: &fit}); err != nil {
		return err
	}
	if err := f.SetPageLayout(name, &excelize.PageLayoutOptions{FitToWidth: &wide, FitToHeight: &tall}); err != nil {
		return err
	}
	if err := f.SetColWidth(name, "A", "A", 46); err != nil {
		return err
	}
	if err := f.SetColWidth(name, "B", "B", 16); err != nil {
		return err
	}
	return f.SetColWidth(name, "C", "C", 72)
}

func orNone(l *lang, s string) string {
	if s == "" {
		return l.none
	}
	return s
}

// timeText shows t in China time, as verified_at does.
func timeText(l *lang, t time.Time) string {
	if t.IsZero() {
		return l.none
	}
	return t.In(chinaZone).Format(time.RFC3339)
}

// sheetBuilder writes a small sheet line by line, keeping the first error.
type sheetBuilder struct {
	f     *excelize.File
	sheet string
	row   int
	err   error
}

// line writes cells on the next row and, when style is not 0, styles the
// row's cells from column A to column to.
func (b *sheetBuilder) line(style int, to string, cells ...any) {
	b.row++
	if b.err != nil {
		return
	}
	r := strconv.Itoa(b.row)
	if len(cells) > 0 {
		b.err = b.f.SetSheetRow(b.sheet, "A"+r, &cells)
	}
	if b.err == nil && style != 0 {
		b.err = b.f.SetCellStyle(b.sheet, "A"+r, to+r, style)
	}
}

// do runs fn on the current row, given as text.
func (b *sheetBuilder) do(fn func(row string) error) {
	if b.err == nil {
		b.err = fn(strconv.Itoa(b.row))
	}
}
