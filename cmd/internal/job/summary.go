package job

import (
	"time"

	"github.com/cardverify/cardverify/store"
	"github.com/cardverify/cardverify/writer"
)

// SummaryOf is what the output's Summary sheet says about the job of st,
// for a face that shows it elsewhere (the web console's Summary page).
// now is when it is shown.
func SummaryOf(st store.Status, o Output, sheet string, now time.Time) writer.Summary {
	return summary(st, o, sheet, now)
}
