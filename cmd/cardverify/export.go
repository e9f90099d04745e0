package main

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/cardverify/cardverify/cmd/internal/job"
	"github.com/cardverify/cardverify/pipeline"
	"github.com/cardverify/cardverify/reader"
	"github.com/cardverify/cardverify/store"
	"github.com/cardverify/cardverify/writer"
)

// export writes the annotated output of INPUT from a checkpoint, at any
// time, even while a run is going on.
func (a *app) export(ctx context.Context, args []string) error {
	var ro reader.Options
	fs := a.newFlags("export")
	dbPath := fs.String("db", "", "checkpoint `path`")
	out := fs.String("out", "", "output `path` (.xlsx, .csv or .tsv)")
	lang := fs.String("lang", "zh", "output language: zh or en")
	mask := fs.Bool("mask-card", false, "show only the first 6 and last 4 digits of cards")
	var price float64
	job.PriceFlag(fs, &price)
	job.ReaderFlags(fs, &ro)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *dbPath == "" || *out == "" {
		return usagef("usage: cardverify export INPUT --db PATH --out PATH [--lang zh|en] [--mask-card] [--price YUAN]")
	}
	if !(price >= 0) {
		return usagef("--price must not be negative")
	}
	if err := job.OneOf("lang", *lang, "zh", "en"); err != nil {
		return err
	}
	input := pos[0]
	db, err := store.OpenReadOnly(ctx, *dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	st, err := job.SameInput(ctx, db, input)
	if err != nil {
		return err
	}
	if err := job.WriteOutput(ctx, db, st, job.Output{Input: input, Path: *out, Read: ro, Lang: *lang, MaskCard: *mask,
		Price: price, Version: version, Now: a.now}); err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "%d rows (%d match, %d mismatch, %d pending) written to %s\n", st.Rows, st.Match, st.Mismatch, st.Pending, *out)
	return nil
}

// errAudit reports an output that does not match its checkpoint: exit 1.
var errAudit = errors.New("the output does not match the checkpoint")

// audit checks an annotated output against the checkpoint's records.
func (a *app) audit(ctx context.Context, args []string) error {
	var ro reader.Options
	fs := a.newFlags("audit")
	dbPath := fs.String("db", "", "checkpoint `path`")
	job.ReaderFlags(fs, &ro)
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
