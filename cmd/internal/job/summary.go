package job

import (
	"github.com/cardverify/cardverify/store"
	"github.com/cardverify/cardverify/writer"
)

// SummaryOf is what the output's Summary sheet says about the job of st,
// for a face that shows it elsewhere (the web console's Summary page).
func SummaryOf(st store.Status, o Output, sheet string) writer.Summary {
	return summary(st, o, sheet)
}
