package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// AuditColumns are the 0-based positions of the appended verdict columns in
// an annotated output.
type AuditColumns struct {
	Status, Res, JobID int
}

// Discrepancy is a row of an annotated output that does not say what the
// checkpoint recorded.
type Discrepancy struct {
	Row     int
	Problem string
}

// Audit reads an annotated output back (out, whose data rows carry the
// appended columns at cols) and checks every row's status, res and jobid,
// and its card, against the checkpoint's results. It returns the rows that
// were edited, added or removed since the output was written, and the number
// of data rows checked.
//
// A card is compared by its first 6 and last 4 digits, so a --mask-card
// output can be audited too; where the output holds the whole card, the
// fingerprint of the name and card must match as well.
func Audit(ctx context.Context, out Source, res Results, fp Fingerprinter, cols AuditColumns) ([]Discrepancy, int, error) {
	var (
		found []Discrepancy
		cur   Result
		more  = true
		rows  int
	)
	next := func() error {
		r, err := res.Next()
		if errors.Is(err, EOF) {
			more = false
			return nil
		}
		cur = r
		return err
	}
	if err := next(); err != nil {
		return nil, 0, err
	}
	for {
		if err := ctx.Err(); err != nil {
			return nil, rows, err
		}
		rec, err := out.Next()
		if errors.Is(err, EOF) {
			break
		}
		if err != nil {
			return nil, rows, err
		}
		if rec.Kind != Data {
			continue
		}
		rows++
		for more && cur.Row < rec.RowNo {
			found = append(found, Discrepancy{cur.Row, "row removed: the checkpoint has it, the output does not"})
			if err := next(); err != nil {
				return nil, rows, err
			}
		}
		var want Outcome
		switch {
		case more && cur.Row == rec.RowNo:
			want = cur.Outcome
			if p := auditCard(rec, cur, fp); p != "" {
				found = append(found, Discrepancy{rec.RowNo, p})
			}
			if err := next(); err != nil {
				return nil, rows, err
			}
		case len(rec.Problems) > 0:
			want = Outcome{Status: Invalid}
		}
		if p := auditVerdict(rec, want, cols); p != "" {
			found = append(found, Discrepancy{rec.RowNo, p})
		}
	}
	for ; more; _ = next() {
		found = append(found, Discrepancy{cur.Row, "row removed: the checkpoint has it, the output does not"})
	}
	return found, rows, nil
}

func cell(rec Record, i int) string {
	if i < 0 || i >= len(rec.Cells) {
		return ""
	}
	return strings.TrimSpace(rec.Cells[i].Value)
}

// auditVerdict compares the verdict columns of rec with want.
func auditVerdict(rec Record, want Outcome, cols AuditColumns) string {
	text := cell(rec, cols.Status)
	got, err := ParseStatus(text)
	if err != nil {
		return fmt.Sprintf("status %q is not one cardverify writes", text)
	}
	var diffs []string
	if got != want.Status {
		diffs = append(diffs, fmt.Sprintf("status %s, checkpoint says %s", got, want.Status))
	}
	wantRes := ""
	if want.Res != 0 {
		wantRes = strconv.Itoa(want.Res)
	}
	if res := cell(rec, cols.Res); res != wantRes {
		diffs = append(diffs, fmt.Sprintf("res %q, checkpoint says %q", res, wantRes))
	}
	if job := cell(rec, cols.JobID); job != want.JobID {
		diffs = append(diffs, fmt.Sprintf("jobid %q, checkpoint says %q", job, want.JobID))
	}
	return strings.Join(diffs, "; ")
}

// auditCard checks that rec holds the card (and name) the checkpoint
// recorded for its row.
func auditCard(rec Record, r Result, fp Fingerprinter) string {
	if r.Status == Invalid || r.Masked == "" {
		return ""
	}
	if maskDigits(rec.Card) != maskDigits(r.Masked) {
		return "card number differs from the one verified"
	}
	if len(rec.Problems) == 0 && fp != nil && fp.Fingerprint(rec.Name, rec.Card) != r.Pair {
		return "name or card differs from the one verified"
	}
	return ""
}

// maskDigits returns the first 6 and last 4 digits of s, the part of a card
// number that a masked output keeps.
func maskDigits(s string) string {
	var d []byte
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			d = append(d, s[i])
		}
	}
	if len(d) <= 10 {
		return string(d)
	}
	return string(d[:6]) + string(d[len(d)-4:])
}
