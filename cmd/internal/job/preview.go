package job

import (
	"context"
	"errors"
	"io"
	"os"
	"sort"

	"github.com/cardverify/cardverify/pipeline"
	"github.com/cardverify/cardverify/reader"
)

// PreviewRows is the most row numbers a Preview lists per invalid reason,
// and the most duplicates it lists; the counts are always whole.
const PreviewRows = 50

// Preview is what a dry run found, in the detail a person needs to decide
// whether to start: the layout detected, the invalid rows by reason with
// their row numbers, the duplicates, and the calls to pay for.
type Preview struct {
	Layout reader.Layout  // the format, encoding, header row and columns detected
	Stats  pipeline.Stats // the dry run's counters: rows, invalid, duplicates
	// Invalid lists the reasons of invalid rows, most frequent first.
	Invalid []InvalidReason
	// Duplicates lists the first PreviewRows rows whose pair appeared in
	// an earlier row; Stats.Duplicates counts them all.
	Duplicates []Duplicate
	// Calls is the most billed calls a run can make: one per unique valid
	// pair.
	Calls int
}

// InvalidReason is one reason rows are invalid, with how many and the
// numbers of the first PreviewRows of them.
type InvalidReason struct {
	Reason string // the encoded reason (pipeline.Reason), as the output writes it
	Count  int    // the rows invalid for this reason, all of them
	Rows   []int  // the row numbers of the first PreviewRows of them, increasing
}

// Duplicate is a row whose (name, card) pair appeared first in row Of.
type Duplicate struct {
	Row, Of int // the duplicate's row number and its pair's first row
}

// DryPreview reads and validates the whole input of c against a throwaway
// checkpoint, like DryRun, and returns what it found. It makes no call and
// writes no output.
func DryPreview(ctx context.Context, c Config) (Preview, error) {
	var p Preview
	tmp, err := os.MkdirTemp("", "cardverify-preview-")
	if err != nil {
		return p, err
	}
	defer os.RemoveAll(tmp)
	in, err := reader.Open(c.Input, c.Read)
	if err != nil {
		return p, err
	}
	defer in.Close()
	p.Layout = in.Layout()
	// A throwaway checkpoint with a throwaway key, as DryRun's.
	db, err := openThrowaway(ctx, tmp, "preview")
	if err != nil {
		return p, err
	}
	defer db.Close()
	if p.Stats, err = pipeline.Run(ctx, in, db, nil, pipeline.Config{DryRun: true}); err != nil {
		return p, err
	}
	if p.Stats.Rows == 0 {
		return p, noData(c.Input, p.Layout)
	}
	p.Calls = p.Stats.Dispatched
	res, err := db.Results(ctx)
	if err != nil {
		return p, err
	}
	defer res.Close()
	byReason := map[string]*InvalidReason{}
	for {
		r, err := res.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return p, err
		}
		switch {
		case r.Status == pipeline.Invalid:
			ir := byReason[r.Reason]
			if ir == nil {
				ir = &InvalidReason{Reason: r.Reason}
				byReason[r.Reason] = ir
			}
			ir.Count++
			if len(ir.Rows) < PreviewRows {
				ir.Rows = append(ir.Rows, r.Row)
			}
		case r.DupOf != 0 && len(p.Duplicates) < PreviewRows:
			p.Duplicates = append(p.Duplicates, Duplicate{Row: r.Row, Of: r.DupOf})
		}
	}
	for _, ir := range byReason {
		p.Invalid = append(p.Invalid, *ir)
	}
	sort.Slice(p.Invalid, func(i, j int) bool {
		if p.Invalid[i].Count != p.Invalid[j].Count {
			return p.Invalid[i].Count > p.Invalid[j].Count
		}
		return p.Invalid[i].Reason < p.Invalid[j].Reason
	})
	return p, nil
}
