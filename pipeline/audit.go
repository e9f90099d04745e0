package pipeline

import (
	"context"
	"errors"
	"strconv"
	"strings"
)

// AuditColumns are the 0-based positions of the appended verdict columns in
// an annotated output.
type AuditColumns struct {
	// Status, Res and JobID are the columns of the status label, the res
	// and the jobid.
	Status, Res, JobID int
}

// Discrepancy is a row of an annotated output that does not say what the
// checkpoint recorded, or a recorded row the output lacks.
type Discrepancy struct {
	Row int // the output's row; for a removed row, the checkpoint's
	// Problem is what differs, an encoded reason (Reason) with an Audit*
	// code such as AuditStatus or AuditMissing.
	Problem string
}

// auditWindow is how far ahead, on each side, Audit looks for a row that
// moved because rows were added or removed before it.
const auditWindow = 64

// auditRow is what Audit keeps of an output row while it looks ahead.
type auditRow struct {
	row                int
	card               string
	pair               Key
	whole              bool // the output holds the whole, valid pair: pair is its fingerprint
	status, res, jobid string
}

// Audit reads an annotated output back (out, whose data rows carry the
// appended columns at cols) and checks every row's status, res and jobid,
// and its card, against the checkpoint's results. It returns the rows that
// were edited, added or removed since the output was written, and the number
// of data rows checked.
//
// Rows are matched by their card (and, where the output holds the whole
// card, by the fingerprint of name and card). Where they stop matching,
// Audit looks up to 64 rows ahead on both sides for the nearest point where
// they match again, so that a deleted or inserted row is reported as such
// rather than as a change of every row after it. Cards are compared digit by
// digit where neither side is masked, so a --mask-card output can be audited
// too.
func Audit(ctx context.Context, out Source, res Results, fp Fingerprinter, cols AuditColumns) ([]Discrepancy, int, error) {
	var (
		found         []Discrepancy
		outs          []auditRow // output rows read, not yet settled
		ahead         []Result   // checkpoint rows read, not yet settled
		outMore, more = true, true
		checked       int
	)
	fill := func() error {
		for outMore && len(outs) < auditWindow {
			if err := ctx.Err(); err != nil {
				return err
			}
			rec, err := out.Next()
			if errors.Is(err, EOF) {
				outMore = false
				break
			}
			if err != nil {
				return err
			}
			if rec.Kind == Data {
				checked++
				outs = append(outs, newAuditRow(rec, fp, cols))
			}
		}
		for more && len(ahead) < auditWindow {
			r, err := res.Next()
			if errors.Is(err, EOF) {
				more = false
				break
			}
			if err != nil {
				return err
			}
			ahead = append(ahead, r)
		}
		return nil
	}
	for {
		if err := fill(); err != nil {
			return nil, checked, err
		}
		if len(outs) == 0 && len(ahead) == 0 {
			return found, checked, nil
		}
		i, j, ok := resync(outs, ahead)
		if i == j {
			// As many rows on each side before the point where they match
			// again: the same rows, edited in place.
			for k := range i {
				found = append(found, Discrepancy{outs[k].row, auditVerdict(outs[k], ahead[k])})
			}
		} else {
			for _, o := range outs[:i] {
				found = append(found, Discrepancy{o.row, Reason(AuditAdded)})
			}
			for _, r := range ahead[:j] {
				found = append(found, Discrepancy{r.Row, Reason(AuditMissing, r.Row)})
			}
		}
		if !ok {
			outs, ahead = outs[i:], ahead[j:]
			continue
		}
		if p := auditVerdict(outs[i], ahead[j]); p != "" {
			found = append(found, Discrepancy{outs[i].row, p})
		}
		outs, ahead = outs[i+1:], ahead[j+1:]
	}
}

// resync finds the nearest pair (fewest rows skipped on both sides) of an
// output row outs[i] and a checkpoint row ahead[j] that are the same row.
// When there is none, the rows at the head are paired if both exist (a row
// whose card was edited), or skipped.
func resync(outs []auditRow, ahead []Result) (i, j int, ok bool) {
	for d := 0; d < len(outs)+len(ahead); d++ {
		for i := max(0, d-len(ahead)+1); i <= d && i < len(outs); i++ {
			if outs[i].sameAs(ahead[d-i]) {
				return i, d - i, true
			}
		}
	}
	switch {
	case len(outs) == 0:
		return 0, len(ahead), false
	case len(ahead) == 0:
		return len(outs), 0, false
	}
	return 0, 0, true // the first rows of both: an edited card
}

func newAuditRow(rec Record, fp Fingerprinter, cols AuditColumns) auditRow {
	a := auditRow{row: rec.Row, card: rec.Card,
		status: cell(rec, cols.Status), res: cell(rec, cols.Res), jobid: cell(rec, cols.JobID)}
	if len(rec.Problems) == 0 && fp != nil {
		a.pair, a.whole = fp.Fingerprint(rec.Name, rec.Card), true
	}
	return a
}

// sameAs reports whether output row a is the row the checkpoint recorded as
// r: the same card where both show its digits, and the same fingerprint
// where the output holds the whole, valid pair.
func (a auditRow) sameAs(r Result) bool {
	if !compatible(a.card, r.Masked) {
		return false
	}
	return !a.whole || r.Status == Invalid || a.pair == r.Pair
}

func cell(rec Record, i int) string {
	if i < 0 || i >= len(rec.Cells) {
		return ""
	}
	return strings.TrimSpace(rec.Cells[i].Value)
}

// auditVerdict compares output row a with the checkpoint's row r.
func auditVerdict(a auditRow, r Result) string {
	want := r.Outcome
	got, err := ParseStatus(a.status)
	if err != nil {
		return Reason(AuditBadStatus, a.status)
	}
	var diffs []string
	switch {
	case a.sameAs(r):
	case compatible(a.card, r.Masked):
		// The card reads the same wherever both show it, so what changed
		// is the name (or a masked digit, which the output cannot show).
		diffs = append(diffs, Reason(AuditNameChanged))
	default:
		diffs = append(diffs, Reason(AuditCardChanged))
	}
	if got != want.Status {
		diffs = append(diffs, Reason(AuditStatus, got, want.Status))
	}
	wantRes := ""
	if want.Res != 0 {
		wantRes = strconv.Itoa(want.Res)
	}
	if a.res != wantRes {
		diffs = append(diffs, Reason(AuditRes, a.res, wantRes))
	}
	if a.jobid != want.JobID {
		diffs = append(diffs, Reason(AuditJobID, a.jobid, want.JobID))
	}
	return JoinReasons(diffs...)
}

// compatible reports whether two renderings of a card, either possibly
// masked with '*', can be the same card: the same number of digits and
// stars, equal wherever neither is masked. Other characters (spaces, dashes,
// a stray letter that a masked output leaves out) are ignored.
func compatible(a, b string) bool {
	da, db := cardSkeleton(a), cardSkeleton(b)
	if len(da) != len(db) {
		return false
	}
	for i := range da {
		if da[i] != db[i] && da[i] != '*' && db[i] != '*' {
			return false
		}
	}
	return true
}

// cardSkeleton keeps the digits and mask stars of s.
func cardSkeleton(s string) []byte {
	var d []byte
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '*' || c >= '0' && c <= '9' {
			d = append(d, c)
		}
	}
	return d
}
