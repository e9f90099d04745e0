package job

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/cardverify/cardverify/pipeline"
	"github.com/cardverify/cardverify/pipeline/msg"
	"github.com/cardverify/cardverify/reader"
	"github.com/cardverify/cardverify/store"
	"github.com/cardverify/cardverify/writer"
)

// ExportConfig is what "cardverify export" was asked to do: write the
// annotated output of Input from the checkpoint DB.
type ExportConfig struct {
	// Input, DB and Out are the paths of the customer list, its
	// checkpoint and the output to write (all three required).
	Input, DB, Out string
	Read           reader.Options // how to read Input, as the run read it
	Lang           string         // the output's language: "zh" or "en"
	MaskCard       bool           // write cards masked (first 6, last 4 digits)
	Price          float64        // yuan per billed call, for the Summary's cost; 0: not given
	// Now dates the workbook (default time.Now).
	Now     func() time.Time
	KeyFile string    // the fingerprint key file; "" means store.DefaultKeyPath
	Notice  io.Writer // gets the temporary outputs removed; nil discards
}

// Flags registers export's flags on fs.
func (c *ExportConfig) Flags(fs *flag.FlagSet) {
	fs.StringVar(&c.DB, "db", "", "checkpoint `path`")
	fs.StringVar(&c.Out, "out", "", "output `path` (.xlsx, .csv or .tsv)")
	fs.StringVar(&c.Lang, "lang", "zh", "output language: zh or en")
	fs.BoolVar(&c.MaskCard, "mask-card", false, "show only the first 6 and last 4 digits of cards")
	PriceFlag(fs, &c.Price)
	KeyFileFlag(fs, &c.KeyFile)
	ReaderFlags(fs, &c.Read)
}

// Check validates c before anything is opened.
func (c *ExportConfig) Check() error {
	if c.Input == "" || c.DB == "" || c.Out == "" {
		return Usagef(msg.UsageLine, "cardverify export INPUT --db PATH --out PATH [--lang zh|en] [--mask-card] [--price YUAN]")
	}
	if !(c.Price >= 0) {
		return Usagef(msg.UsageNums)
	}
	return OneOf("lang", c.Lang, "zh", "en")
}

// Export writes the annotated output of c.Input from the checkpoint, at
// any time, even while a run is going on, and returns the checkpoint's
// status.
func Export(ctx context.Context, c ExportConfig, version string) (store.Status, error) {
	db, err := openWithKey(ctx, c.DB, c.KeyFile)
	if err != nil {
		return store.Status{}, err
	}
	defer db.Close()
	removeTemporaries(c.DB, c.Out, c.Notice, c.Lang)
	st, err := SameInput(ctx, db, c.Input)
	if err != nil {
		return st, err
	}
	return st, WriteOutput(ctx, db, &st, Output{Input: c.Input, Path: c.Out, Read: c.Read, Lang: c.Lang, MaskCard: c.MaskCard,
		Price: c.Price, Version: version, Now: c.Now})
}

// AuditConfig is what "cardverify audit" was asked to do: check the
// annotated output Output against the checkpoint DB.
type AuditConfig struct {
	// Output is the annotated output to check and DB its checkpoint (both
	// required).
	Output, DB string
	Read       reader.Options // how to read Output (sheet, header row, columns)
	// Lang is the language of the report (zh or en); the output's own
	// language, whichever it is, is recognised.
	Lang    string
	KeyFile string    // the fingerprint key file; "" means store.DefaultKeyPath
	Notice  io.Writer // gets the temporary outputs removed; nil discards
}

// Flags registers audit's flags on fs.
func (c *AuditConfig) Flags(fs *flag.FlagSet) {
	fs.StringVar(&c.DB, "db", "", "checkpoint `path`")
	fs.StringVar(&c.Lang, "lang", "zh", "language of the report: zh or en")
	KeyFileFlag(fs, &c.KeyFile)
	ReaderFlags(fs, &c.Read)
}

// Check validates c before anything is opened.
func (c *AuditConfig) Check() error {
	if c.Output == "" || c.DB == "" {
		return Usagef(msg.UsageLine, "cardverify audit OUTPUT --db PATH [--lang zh|en]")
	}
	return OneOf("lang", c.Lang, "zh", "en")
}

// ErrAudit reports an output that does not match its checkpoint: exit 1.
var ErrAudit = errors.New("the output does not match the checkpoint")

// AuditReport is what an audit found.
type AuditReport struct {
	Differences []pipeline.Discrepancy // the rows that differ, in row order; none when it matches
	Rows        int                    // data rows of the output
}

// Err is nil when the output matches the checkpoint, and wraps ErrAudit
// with the count of differences otherwise.
func (r AuditReport) Err() error {
	if len(r.Differences) == 0 {
		return nil
	}
	return msg.Errorf(ErrAudit, msg.AuditDiffer, len(r.Differences), r.Rows)
}

// Audit checks an annotated output against the checkpoint's records.
func Audit(ctx context.Context, c AuditConfig) (AuditReport, error) {
	var rep AuditReport
	db, err := openWithKey(ctx, c.DB, c.KeyFile)
	if err != nil {
		return rep, err
	}
	defer db.Close()
	removeTemporaries(c.DB, c.Output, c.Notice, c.Lang)
	out, err := reader.Open(c.Output, c.Read)
	if err != nil {
		return rep, err
	}
	defer out.Close()
	cols, err := verdictColumns(out.Layout().Header)
	if err != nil {
		return rep, &pipeline.InputError{Path: c.Output, Msg: pipeline.Reason(msg.AuditNoCols, writer.Headers("zh")[0], writer.Headers("en")[0]),
			Hint: pipeline.Reason(msg.AuditNoColsHint)}
	}
	res, err := db.Results(ctx)
	if err != nil {
		return rep, err
	}
	defer res.Close()
	rep.Differences, rep.Rows, err = pipeline.Audit(ctx, out, res, db, cols)
	return rep, err
}

// openWithKey opens the checkpoint at path read-only with its fingerprint
// key (keyFile, or the default key file).
func openWithKey(ctx context.Context, path, keyFile string) (*store.DB, error) {
	keyFile, err := KeyFile(keyFile)
	if err != nil {
		return nil, err
	}
	return store.OpenReadOnly(ctx, path, keyFile)
}

// removeTemporaries removes the temporary files beside out that a run or
// export killed while writing it left, with names and cards in them, when
// no run holds the checkpoint at db (a running one may be writing out). It
// tells notice, if not nil, what it removed or could not.
func removeTemporaries(db, out string, notice io.Writer, lang string) {
	unlock, idle := store.LockIfIdle(db)
	defer unlock()
	if !idle {
		return
	}
	if notice == nil {
		notice = io.Discard
	}
	if n, err := writer.RemoveTemporaries(out); err != nil {
		fmt.Fprintln(notice, msg.Say(lang, msg.Warning, msg.Render(lang, err)))
	} else if n > 0 {
		fmt.Fprintln(notice, msg.Say(lang, msg.TempRemoved, n, out))
	}
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
	return pipeline.AuditColumns{}, errors.New("no status column in the header")
}
