package job

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"

	"github.com/cardverify/cardverify/pipeline"
	"github.com/cardverify/cardverify/reader"
	"github.com/cardverify/cardverify/store"
	"github.com/cardverify/cardverify/writer"
)

// ExportConfig is what "cardverify export" was asked to do: write the
// annotated output of Input from the checkpoint DB.
type ExportConfig struct {
	Input, DB, Out string
	Read           reader.Options
	Lang           string
	MaskCard       bool
}

// Flags registers export's flags on fs.
func (c *ExportConfig) Flags(fs *flag.FlagSet) {
	fs.StringVar(&c.DB, "db", "", "checkpoint `path`")
	fs.StringVar(&c.Out, "out", "", "output `path` (.xlsx, .csv or .tsv)")
	fs.StringVar(&c.Lang, "lang", "zh", "output language: zh or en")
	fs.BoolVar(&c.MaskCard, "mask-card", false, "show only the first 6 and last 4 digits of cards")
	ReaderFlags(fs, &c.Read)
}

// Check validates c before anything is opened.
func (c *ExportConfig) Check() error {
	if c.Input == "" || c.DB == "" || c.Out == "" {
		return Usagef("usage: cardverify export INPUT --db PATH --out PATH [--lang zh|en] [--mask-card]")
	}
	return OneOf("lang", c.Lang, "zh", "en")
}

// Export writes the annotated output of c.Input from the checkpoint, at
// any time, even while a run is going on, and returns the checkpoint's
// status.
func Export(ctx context.Context, c ExportConfig, version string) (store.Status, error) {
	db, err := store.OpenReadOnly(ctx, c.DB)
	if err != nil {
		return store.Status{}, err
	}
	defer db.Close()
	st, err := SameInput(ctx, db, c.Input)
	if err != nil {
		return st, err
	}
	return st, WriteOutput(ctx, db, st, Output{Input: c.Input, Path: c.Out, Read: c.Read, Lang: c.Lang, MaskCard: c.MaskCard, Version: version})
}

// AuditConfig is what "cardverify audit" was asked to do: check the
// annotated output Output against the checkpoint DB.
type AuditConfig struct {
	Output, DB string
	Read       reader.Options
}

// Flags registers audit's flags on fs.
func (c *AuditConfig) Flags(fs *flag.FlagSet) {
	fs.StringVar(&c.DB, "db", "", "checkpoint `path`")
	ReaderFlags(fs, &c.Read)
}

// Check validates c before anything is opened.
func (c *AuditConfig) Check() error {
	if c.Output == "" || c.DB == "" {
		return Usagef("usage: cardverify audit OUTPUT --db PATH")
	}
	return nil
}

// ErrAudit reports an output that does not match its checkpoint: exit 1.
var ErrAudit = errors.New("the output does not match the checkpoint")

// AuditReport is what an audit found.
type AuditReport struct {
	Differences []pipeline.Discrepancy
	Rows        int // data rows of the output
}

// Err is nil when the output matches the checkpoint, and wraps ErrAudit
// with the count of differences otherwise.
func (r AuditReport) Err() error {
	if len(r.Differences) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %d of %d rows differ", ErrAudit, len(r.Differences), r.Rows)
}

// Audit checks an annotated output against the checkpoint's records.
func Audit(ctx context.Context, c AuditConfig) (AuditReport, error) {
	var rep AuditReport
	db, err := store.OpenReadOnly(ctx, c.DB)
	if err != nil {
		return rep, err
	}
	defer db.Close()
	out, err := reader.Open(c.Output, c.Read)
	if err != nil {
		return rep, err
	}
	defer out.Close()
	cols, err := verdictColumns(out.Layout().Header)
	if err != nil {
		return rep, &pipeline.InputError{Path: c.Output, Msg: err.Error(), Hint: "audit reads a file written by cardverify run or export"}
	}
	res, err := db.Results(ctx)
	if err != nil {
		return rep, err
	}
	defer res.Close()
	rep.Differences, rep.Rows, err = pipeline.Audit(ctx, out, res, db, cols)
	return rep, err
}

// verdictColumns finds the appended status, res and jobid columns in an
// output's header, in either language.
func verdictColumns(header []string) (pipeline.AuditColumns, error) {
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
