package job

import (
	"context"
	"fmt"
	"slices"

	"github.com/cardverify/cardverify/pipeline"
	"github.com/cardverify/cardverify/reader"
	"github.com/cardverify/cardverify/store"
	"github.com/cardverify/cardverify/writer"
)

// AuditResult is what an audit of an annotated output found.
type AuditResult struct {
	// Found lists the rows that differ from the checkpoint.
	Found []pipeline.Discrepancy
	// Rows is the number of data rows checked.
	Rows int
}

// Audit reads the annotated output at path (read as ro says) back and
// checks it against the checkpoint db. An output without cardverify's
// verdict columns is an *pipeline.InputError.
func Audit(ctx context.Context, db *store.DB, path string, ro reader.Options) (AuditResult, error) {
	var a AuditResult
	out, err := reader.Open(path, ro)
	if err != nil {
		return a, err
	}
	defer out.Close()
	cols, err := VerdictColumns(out.Layout().Header)
	if err != nil {
		return a, &pipeline.InputError{Path: path, Msg: err.Error(), Hint: "audit reads a file written by cardverify run or export"}
	}
	res, err := db.Results(ctx)
	if err != nil {
		return a, err
	}
	defer res.Close()
	a.Found, a.Rows, err = pipeline.Audit(ctx, out, res, db, cols)
	return a, err
}

// VerdictColumns finds the appended status, res and jobid columns in an
// output's header, in either language.
func VerdictColumns(header []string) (pipeline.AuditColumns, error) {
	for _, lang := range []string{"zh", "en"} {
		h := writer.Headers(lang)
		st := slices.Index(header, h[0])
		if st < 0 {
			continue
		}
		return pipeline.AuditColumns{Status: st, Res: slices.Index(header, h[1]), JobID: slices.Index(header, h[2])}, nil
	}
	return pipeline.AuditColumns{}, fmt.Errorf("no %q or %q column in the header", writer.Headers("zh")[0], writer.Headers("en")[0])
}

// SummaryOf is what the output's Summary sheet says about the job of st,
// for a face that shows it elsewhere (the web console's Summary page).
func SummaryOf(st store.Status, o Output, sheet string) writer.Summary {
	return summary(st, o, sheet)
}
