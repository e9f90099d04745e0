package writer

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/cardverify/cardverify/pipeline"
	"github.com/cardverify/cardverify/pipeline/msg"
)

// summaryWidths are the column widths of the Summary sheet, A to H. The
// fields put their label in A and their value in B, merged up to H when it
// is long; the tables use as many columns as they have.
var summaryWidths = [...]float64{36, 27, 26, 11, 11, 13, 10, 24}

// summaryStyles are the cell styles of the Summary sheet.
type summaryStyles struct {
	title, banner, head, label, wrap, date, money, total, sign, signLabel int
}

func (x *xlsxFormat) newSummaryStyles() (summaryStyles, error) {
	var s summaryStyles
	top := &excelize.Alignment{WrapText: true}
	left := &excelize.Alignment{Horizontal: "left", WrapText: true}
	for _, st := range []struct {
		id    *int
		style excelize.Style
	}{
		{&s.title, excelize.Style{Font: font(true, 14, "")}},
		{&s.banner, excelize.Style{Font: font(true, 16, "FFFFFF"), Fill: solid("C00000"),
			Alignment: &excelize.Alignment{Vertical: "center", WrapText: true}}},
		{&s.head, excelize.Style{Font: font(true, 0, ""), Fill: solid("DDEBF7"), Alignment: top}},
		{&s.label, excelize.Style{Font: font(true, 0, ""), Alignment: top}},
		{&s.wrap, excelize.Style{Font: font(false, 0, ""), Alignment: left}},
		{&s.date, excelize.Style{Font: font(false, 0, ""), Alignment: left, CustomNumFmt: &dateTimeFmt}},
		{&s.money, excelize.Style{Font: font(false, 0, ""), Alignment: left, NumFmt: 2}},
		{&s.total, excelize.Style{Font: font(true, 0, ""), Alignment: left,
			Border: []excelize.Border{{Type: "top", Color: "000000", Style: 1}}}},
		{&s.signLabel, excelize.Style{Font: font(true, 0, "")}},
		{&s.sign, excelize.Style{Font: font(false, 0, ""),
			Border: []excelize.Border{{Type: "bottom", Color: "000000", Style: 1}}}},
	} {
		id, err := x.f.NewStyle(&st.style)
		if err != nil {
			return s, err
		}
		*st.id = id
	}
	return s, nil
}

// summarySheet writes the Summary sheet (汇总): what was checked, by whom,
// where, when, how and at what cost; every run; the billed calls per day;
// the rows per status as written, the reasons of invalid rows and a legend
// of the error codes seen; and a block for the sign-off.
func (x *xlsxFormat) summarySheet(st *stats) error {
	name := x.lang.summary
	if strings.EqualFold(name, x.sheet) {
		name += " (cardverify)"
	}
	if _, err := x.f.NewSheet(name); err != nil {
		return err
	}
	sty, err := x.newSummaryStyles()
	if err != nil {
		return err
	}
	p := &summaryPage{b: &sheetBuilder{f: x.f, sheet: name}, sty: sty, l: x.lang, sum: x.sum}
	p.b.line(sty.title, "A", p.l.title)
	if p.sum.Sandbox || p.sum.Simulated > 0 {
		p.b.line(sty.banner, "H", p.l.banner)
		p.b.merge("A", "H")
		p.b.height(2 * rowHeight)
	}
	p.b.line(0, "")
	p.fields(st)
	p.b.line(0, "")
	p.runs()
	p.b.line(0, "")
	p.days()
	p.b.line(0, "")
	p.statuses(&x.status, st)
	p.b.line(0, "")
	p.invalid()
	p.b.line(0, "")
	p.codes()
	p.b.line(0, "")
	p.signOff()
	if p.b.err != nil {
		return p.b.err
	}
	return summaryLayout(x.f, name)
}

// summaryPage writes the blocks of the Summary sheet, one method a block,
// each after the last; sheetBuilder keeps the first error.
type summaryPage struct {
	b   *sheetBuilder
	sty summaryStyles
	l   *lang
	sum *Summary
}

// field writes a label and its value; a text value wraps over B to H.
func (p *summaryPage) field(label string, v any) {
	b, sty := p.b, p.sty
	if t, ok := v.(time.Time); ok {
		v = timeValue(p.l, t)
		if !t.IsZero() {
			b.line(sty.label, "A", label, v)
			b.style("B", "B", sty.date)
			return
		}
	}
	b.line(sty.label, "A", label, v)
	switch v := v.(type) {
	case string:
		b.style("B", "H", sty.wrap)
		b.merge("B", "H")
		b.fit(label, summaryWidths[0], v, mergedWidth(1, len(summaryWidths)))
	default:
		b.style("B", "B", sty.wrap)
		b.fit(label, summaryWidths[0], "", 0)
	}
}

// money writes a label and an amount in yuan.
func (p *summaryPage) money(label string, v float64) {
	p.b.line(p.sty.label, "A", label, v)
	p.b.style("B", "B", p.sty.money)
	p.b.fit(label, summaryWidths[0], "", 0)
}

// fields writes what was checked, by whom, where, when, how and at what
// cost.
func (p *summaryPage) fields(st *stats) {
	l, sum, field := p.l, p.sum, p.field
	field(l.fields.version, orNone(l, sum.Version))
	field(l.fields.input, orNone(l, sum.InputName))
	field(l.fields.sha, orNone(l, sum.InputSHA256))
	field(l.fields.sheet, orNone(l, sum.Sheet))
	field(l.fields.output, orNone(l, sum.OutputName))
	field(l.fields.rows, st.rows)
	field(l.fields.source, source(l, sum))
	field(l.fields.endpoint, orNone(l, sum.Endpoint))
	field(l.fields.url, list(l, sum.URLs))
	field(l.fields.keyID, list(l, sum.KeyIDs))
	field(l.fields.operator, list(l, sum.Operators))
	field(l.fields.runs, len(sum.Runs))
	field(l.fields.start, sum.Start)
	field(l.fields.end, sum.End)
	field(l.fields.calls, sum.Calls)
	field(l.fields.billed, sum.BilledCalls)
	field(l.fields.possibly, sum.PossiblyBilled)
	if sum.NoJobID > 0 {
		field(l.fields.noJobID, sum.NoJobID)
	}
	if sum.Price > 0 {
		p.money(l.fields.price, sum.Price)
		p.money(l.fields.cost, yuan(float64(sum.BilledCalls)*sum.Price))
		p.money(l.fields.costMax, yuan(float64(sum.BilledCalls+sum.PossiblyBilled)*sum.Price))
		if sum.Reused > 0 {
			p.money(l.fields.saved, yuan(float64(sum.Reused)*sum.Price))
		}
	}
}

// runs writes a line for every run, then the command of each.
func (p *summaryPage) runs() {
	b, sty, l, sum := p.b, p.sty, p.l, p.sum
	b.line(sty.title, "A", l.runsTitle)
	b.line(sty.head, "H", anys(l.runHead[:])...)
	b.fitColumns(l.runHead[:])
	for _, r := range sum.Runs {
		stop := l.noStop
		if r.Stop != "" {
			stop = cmpOr(l.stops[r.Stop], r.Stop)
		}
		b.line(sty.wrap, "H", timeValue(l, r.Start), timeValue(l, r.End), stop,
			r.Calls, r.Billed, r.PossiblyBilled, r.QPS, orNone(l, r.Operator))
		b.fit(stop, summaryWidths[2], r.Operator, summaryWidths[7])
		for i, t := range []time.Time{r.Start, r.End} {
			if !t.IsZero() {
				col := string(rune('A' + i))
				b.style(col, col, sty.date)
			}
		}
	}
	for i, r := range sum.Runs {
		label := fmt.Sprintf(l.commandFmt, i+1)
		b.line(sty.label, "A", label, orNone(l, r.Command))
		b.style("B", "H", sty.wrap)
		b.merge("B", "H")
		b.fit(label, summaryWidths[0], r.Command, mergedWidth(1, len(summaryWidths)))
	}
}

// days writes the calls of each day and their total.
func (p *summaryPage) days() {
	b, sty, l := p.b, p.sty, p.l
	b.line(sty.title, "A", l.daysTitle)
	b.line(sty.head, "D", anys(l.dayHead[:])...)
	b.fitColumns(l.dayHead[:])
	var days Day
	for _, d := range p.sum.Days {
		b.line(sty.wrap, "D", d.Day, d.Billed, d.PossiblyBilled, d.Calls)
		days.Billed += d.Billed
		days.PossiblyBilled += d.PossiblyBilled
		days.Calls += d.Calls
	}
	b.line(sty.total, "D", l.total, days.Billed, days.PossiblyBilled, days.Calls)
}

// statuses writes the rows per status as written, with the meaning of each
// status in its own style, then the duplicates and the reused answers.
func (p *summaryPage) statuses(style *[pipeline.NumStatuses]int, st *stats) {
	b, sty, l, sum := p.b, p.sty, p.l, p.sum
	b.line(sty.head, "H", l.statusHead[0], l.statusHead[1], l.statusHead[2])
	b.merge("C", "H")
	for _, s := range pipeline.Statuses {
		b.line(style[s], "A", s.Label(l.code), st.status[s], l.statusMeaning[s])
		b.style("B", "H", sty.wrap)
		b.merge("C", "H")
		b.fit("", 0, l.statusMeaning[s], mergedWidth(2, len(summaryWidths)))
	}
	b.line(sty.label, "A", l.duplicates, st.dups)
	b.style("B", "B", sty.wrap)
	b.fit(l.duplicates, summaryWidths[0], "", 0)
	if sum.Reused > 0 {
		b.line(sty.label, "A", l.reused, sum.Reused, fmt.Sprintf(l.reusedSince, pipeline.ChinaTime(sum.OldestReused)))
		b.style("B", "B", sty.wrap)
		b.fit(l.reused, summaryWidths[0], "", 0)
	}
}

// invalid writes the reasons of invalid rows and how many rows had each.
func (p *summaryPage) invalid() {
	b, sty, l := p.b, p.sty, p.l
	b.line(sty.title, "A", l.invalidTitle)
	b.line(sty.head, "B", l.invalidHead[0], l.invalidHead[1])
	if len(p.sum.Invalid) == 0 {
		b.line(sty.wrap, "A", l.noCodes)
	}
	for _, r := range p.sum.Invalid {
		reason := msg.Text(msg.Lang(l.code), r.Reason) // stored as codes
		b.line(sty.wrap, "B", reason, r.Count)
		b.fit(reason, summaryWidths[0], "", 0)
	}
}

// codes writes a legend of the API's codes seen, with their counts.
func (p *summaryPage) codes() {
	b, sty, l := p.b, p.sty, p.l
	b.line(sty.head, "H", l.codeHead[0], l.codeHead[1], l.codeHead[2])
	b.merge("C", "H")
	if len(p.sum.Codes) == 0 {
		b.line(sty.wrap, "A", l.noCodes)
	}
	for _, c := range p.sum.Codes {
		meaning, ok := msg.APIMeaning(l.code, c.Code)
		if !ok {
			meaning = c.Meaning
		}
		b.line(sty.wrap, "H", strconv.Itoa(c.Code), c.Count, meaning)
		b.merge("C", "H")
		b.fit("", 0, meaning, mergedWidth(2, len(summaryWidths)))
	}
}

// signOff writes a block with a line for each signature and its date.
func (p *summaryPage) signOff() {
	b, sty := p.b, p.sty
	b.line(sty.title, "A", p.l.signTitle)
	for _, who := range p.l.sign {
		b.line(sty.signLabel, "A", who, nil, nil, p.l.signDate)
		b.style("B", "C", sty.sign)
		b.merge("B", "C")
		b.style("D", "D", sty.signLabel)
		b.style("E", "G", sty.sign)
		b.merge("E", "G")
		b.height(2 * rowHeight)
	}
}

// summaryLayout fits the Summary sheet to a landscape page's width and
// sets its column widths.
func summaryLayout(f *excelize.File, name string) error {
	fit, wide, tall, landscape := true, 1, 0, "landscape"
	if err := f.SetSheetProps(name, &excelize.SheetPropsOptions{FitToPage: &fit}); err != nil {
		return err
	}
	if err := f.SetPageLayout(name, &excelize.PageLayoutOptions{Orientation: &landscape,
		FitToWidth: &wide, FitToHeight: &tall}); err != nil {
		return err
	}
	for i, w := range summaryWidths {
		col := string(rune('A' + i))
		if err := f.SetColWidth(name, col, col, w); err != nil {
			return err
		}
	}
	return nil
}

// dateTimeFmt shows a date-time cell of China time with its offset, as
// verified_at is written in a CSV.
var dateTimeFmt = `yyyy-mm-dd hh:mm:ss\+\0\8\:\0\0`

// rowHeight is the height, in points, of one line of 11 pt text, Chinese
// included.
const rowHeight = 16

// mergedWidth is the width of the Summary's columns from..to-1 (0-based).
func mergedWidth(from, to int) float64 {
	w := 0.0
	for _, c := range summaryWidths[from:to] {
		w += c
	}
	return w
}

// source says where the verdicts came from: the real API, the simulated
// one, or how many rows came from each.
func source(l *lang, s *Summary) string {
	switch {
	case s.RealRows > 0 && s.Simulated > 0:
		return fmt.Sprintf(l.mixedFmt, s.RealRows, s.Simulated)
	case s.Simulated > 0 || (s.RealRows == 0 && s.Sandbox):
		return l.simulated
	case s.RealRows > 0:
		return l.real
	}
	return l.noSource
}

func list(l *lang, vs []string) string {
	return orNone(l, strings.Join(vs, "\n"))
}

func anys(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// yuan rounds v to the fen.
func yuan(v float64) float64 { return math.Round(v*100) / 100 }

func orNone(l *lang, s string) string {
	if s == "" {
		return l.none
	}
	return s
}

// timeValue is t as a date-time cell value (China time), or a dash.
func timeValue(l *lang, t time.Time) any {
	if t.IsZero() {
		return l.none
	}
	return excelTime(t)
}

// excelTime is the spreadsheet serial of t's China wall clock (days since
// 1899-12-30, to the second), so that a cell shows the China time whatever
// the zone of the machine that opens it.
func excelTime(t time.Time) float64 {
	w := t.In(pipeline.China())
	wall := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), 0, time.UTC)
	return float64(wall.Unix()-excelEpoch) / 86400
}

// excelEpoch is day 0 of the spreadsheet serials, in Unix seconds.
var excelEpoch = time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC).Unix()

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

// style styles the current row's cells from column from to column to.
func (b *sheetBuilder) style(from, to string, style int) {
	b.do(func(r string) error { return b.f.SetCellStyle(b.sheet, from+r, to+r, style) })
}

// merge merges the current row's cells from column from to column to.
func (b *sheetBuilder) merge(from, to string) {
	b.do(func(r string) error { return b.f.MergeCell(b.sheet, from+r, to+r) })
}

// height sets the current row's height in points.
func (b *sheetBuilder) height(h float64) {
	b.do(func(string) error { return b.f.SetRowHeight(b.sheet, b.row, h) })
}

// fit makes the current row tall enough for two wrapped texts, each in a
// cell of the given width: a spreadsheet does not grow a row for a merged
// cell by itself.
func (b *sheetBuilder) fit(a string, aw float64, c string, cw float64) {
	lines := max(wrappedLines(a, aw), wrappedLines(c, cw))
	if lines > 1 {
		b.height(float64(lines) * rowHeight)
	}
}

// fitColumns makes the current row tall enough for texts, one per column
// from A.
func (b *sheetBuilder) fitColumns(texts []string) {
	lines := 1
	for i, t := range texts {
		lines = max(lines, wrappedLines(t, summaryWidths[i]))
	}
	if lines > 1 {
		b.height(float64(lines) * rowHeight)
	}
}

// wrappedLines estimates the lines s takes in a cell w characters wide.
func wrappedLines(s string, w float64) int {
	if s == "" || w <= 0 {
		return 1
	}
	n := 0
	for _, line := range strings.Split(s, "\n") {
		n += max(1, int(math.Ceil(float64(textWidth(line))/(w-1))))
	}
	return n
}

// do runs fn on the current row, given as text.
func (b *sheetBuilder) do(fn func(row string) error) {
	if b.err == nil {
		b.err = fn(strconv.Itoa(b.row))
	}
}
