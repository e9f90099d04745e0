package writer

import (
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

// TestSummaryReused: the Summary counts the rows reused from the history
// apart, with the oldest reused verification in China time; without reuse
// it says nothing of it.
func TestSummaryReused(t *testing.T) {
	for _, tc := range []struct {
		lang, label, since, saved string
	}{
		{"en", "of which reused from the history", "the oldest verified on 2026-10-20T09:30:00+08:00", "Saved by reuse"},
		{"zh", "其中沿用历史核验结果的行", "最早核验于 2026-10-20T09:30:00+08:00", "沿用历史结果节省"},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			sum := summary()
			sum.Reused, sum.OldestReused = 7, time.Date(2026, 10, 20, 1, 30, 0, 0, time.UTC)
			f := openSummary(t, Options{Lang: tc.lang, CardCol: 2, Summary: sum})
			rows := summaryRows(t, f)
			found := false
			for _, r := range rows {
				if len(r) >= 3 && strings.HasPrefix(r[0], tc.label) {
					found = r[1] == "7" && r[2] == tc.since
					if !found {
						t.Errorf("reused line = %q, want 7 and %q", r, tc.since)
					}
				}
			}
			if !found {
				t.Errorf("no line starting %q in the Summary:\n%q", tc.label, rows)
			}
			// With a price of ¥0.25 the 7 reused rows saved ¥1.75.
			sum.Price = 0.25
			saved := ""
			for _, r := range summaryRows(t, openSummary(t, Options{Lang: tc.lang, CardCol: 2, Summary: sum})) {
				if len(r) >= 2 && strings.HasPrefix(r[0], tc.saved) {
					saved = r[1]
				}
			}
			if saved != "1.75" && saved != "¥1.75" {
				t.Errorf("saved by reuse = %q, want 1.75", saved)
			}
			f = openSummary(t, Options{Lang: tc.lang, CardCol: 2, Summary: summary()})
			for _, r := range summaryRows(t, f) {
				if len(r) > 0 && strings.HasPrefix(r[0], tc.label) {
					t.Errorf("a Summary without reuse has the line %q", r)
				}
			}
		})
	}
}

func openSummary(tb testing.TB, opt Options) *excelize.File {
	tb.Helper()
	f, err := excelize.OpenFile(writeFixture(tb, "out.xlsx", opt))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { f.Close() })
	return f
}

func summaryRows(tb testing.TB, f *excelize.File) [][]string {
	tb.Helper()
	sheets := f.GetSheetList()
	rows, err := f.GetRows(sheets[len(sheets)-1])
	if err != nil {
		tb.Fatal(err)
	}
	return rows
}
