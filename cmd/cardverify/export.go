package main

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

// readerFlags registers the flags that say how to read an input.
func readerFlags(fs *flag.FlagSet, o *reader.Options) {
	fs.StringVar(&o.Sheet, "sheet", "", "sheet `NAME or N` of a workbook (default: the first visible)")
	fs.IntVar(&o.HeaderRow, "header-row", 0, "1-based header row `N` (default: detected)")
	fs.StringVar(&o.NameCol, "name-col", "", "name column: header text, letter or 1-based index")
	fs.StringVar(&o.CardCol, "card-col", "", "card column: header text, letter or 1-based index")
	fs.StringVar(&o.Encoding, "encoding", "", "text encoding of a CSV (utf-8, gbk, gb18030, utf-16le, utf-16be); default: guessed")
}

// export writes the annotated output of INPUT from a checkpoint, at any
// time, even while a run is going on.
func (a *app) export(ctx context.Context, args []string) error {
	var ro reader.Options
	fs := a.newFlags("export")
	dbPath := fs.String("db", "", "checkpoint `path`")
	out := fs.String("out", "", "output `path` (.xlsx, .csv or .tsv)")
	lang := fs.String("lang", "zh", "output language: zh or en")
	mask := fs.Bool("mask-card", false, "show only the first 6 and last 4 digits of cards")
	readerFlags(fs, &ro)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *dbPath == "" || *out == "" {
		return usagef("usage: cardverify export INPUT --db PATH --out PATH [--lang zh|en] [--mask-card]")
	}
	if err := oneOf("lang", *lang, "zh", "en"); err != nil {
		return err
	}
	input := pos[0]
	db, err := store.OpenReadOnly(ctx, *dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	st, err := sameInput(ctx, db, input)
	if err != nil {
		return err
	}
	if err := a.writeOutput(ctx, db, st, input, *out, ro, *lang, *mask, 0); err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "%d rows (%d match, %d mismatch, %d pending) written to %s\n", st.Rows, st.Match, st.Mismatch, st.Pending, *out)
	return nil
}

// sameInput refuses an input other than the one the checkpoint verified,
// and returns the checkpoint's status.
func sameInput(ctx context.Context, db *store.DB, input string) (store.Status, error) {
	st, err := db.Status(ctx)
	if err != nil {
		return st, err
	}
	sum, _, err := reader.Digest(input)
	if err != nil {
		return st, err
	}
	if st.InputSHA256 != "" && sum != st.InputSHA256 {
		return st, &pipeline.InputError{Path: input, Msg: "this is not the file the checkpoint verified (its SHA-256 differs)",
			Hint: "give the input of the run that wrote the checkpoint: " + st.InputPath}
	}
	return st, nil
}

// errAudit reports an output that does not match its checkpoint: exit 1.
var errAudit = errors.New("the output does not match the checkpoint")

// audit checks an annotated output against the checkpoint's records.
func (a *app) audit(ctx context.Context, args []string) error {
	var ro reader.Options
	fs := a.newFlags("audit")
	dbPath := fs.String("db", "", "checkpoint `path`")
	readerFlags(fs, &ro)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *dbPath == "" {
		return usagef("usage: cardverify audit OUTPUT --db PATH")
	}
	db, err := store.OpenReadOnly(ctx, *dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	out, err := reader.Open(pos[0], ro)
	if err != nil {
		return err
	}
	defer out.Close()
	cols, err := verdictColumns(out.Layout().Header)
	if err != nil {
		return &pipeline.InputError{Path: pos[0], Msg: err.Error(), Hint: "audit reads a file written by cardverify run or export"}
	}
	res, err := db.Results(ctx)
	if err != nil {
		return err
	}
	defer res.Close()
	found, rows, err := pipeline.Audit(ctx, out, res, db, cols)
	if err != nil {
		return err
	}
	for _, d := range found {
		fmt.Fprintf(a.stdout, "row %d: %s\n", d.Row, d.Problem)
	}
	if len(found) > 0 {
		return fmt.Errorf("%w: %d of %d rows differ", errAudit, len(found), rows)
	}
	fmt.Fprintf(a.stdout, "ok: all %d rows match the checkpoint\n", rows)
	return nil
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
