package store

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/cardverify/cardverify/pipeline"
)

// resultsChunk is how many rows one query of Results reads: each chunk is
// its own short read transaction, so that none spans a whole export. A
// chunk's results are held at once (about 200 KB); starting a query costs
// little beside reading a thousand rows.
const resultsChunk = 1000

// Results iterates over the recorded outcome of every data row, in
// increasing row order; it implements pipeline.Results. It is not safe for
// concurrent use. It holds the context given to DB.Results and uses it for
// every query.
type Results struct {
	db     *DB
	ctx    context.Context
	after  int // the last row number read
	before int // the rows read are numbered below it
	buf    []pipeline.Result
	i      int
	eof    bool
	err    error
	row    *resultRow // what fill scans into
}

// Results returns an iterator over the outcomes of all data rows. On a DB
// opened with Open it first waits for the queued writes to be durable, so
// it sees every End before it. Rows are read in chunks as Next needs them;
// a row recorded by a later Plan may or may not be seen.
func (db *DB) Results(ctx context.Context) (*Results, error) {
	return db.results(ctx, 0, math.MaxInt64)
}

// ResultsBetween is Results for the rows numbered above after and below
// before (0: no bound): what the output written beside a run reads of the
// rows the run has settled (pipeline.Tee). It implements
// pipeline.ResultsReader.
func (db *DB) ResultsBetween(ctx context.Context, after, before int) (pipeline.Results, error) {
	if before <= 0 {
		before = math.MaxInt64
	}
	return db.results(ctx, after, before)
}

func (db *DB) results(ctx context.Context, after, before int) (*Results, error) {
	if err := db.flush(ctx); err != nil {
		return nil, err
	}
	return &Results{db: db, ctx: ctx, after: after, before: before}, nil
}

// Next returns the next row's result, or io.EOF after the last.
//
// A valid row carries its pair's outcome with Row set to its own number
// and DupOf to the pair's first row when that is another row; a row whose
// pair has no outcome yet is Pending. An invalid row is Invalid with its
// reason, and a zero Pair.
func (r *Results) Next() (pipeline.Result, error) {
	if r.i == len(r.buf) {
		if r.err != nil {
			return pipeline.Result{}, r.err
		}
		if r.eof {
			return pipeline.Result{}, io.EOF
		}
		if r.err = r.fill(); r.err != nil {
			return pipeline.Result{}, r.err
		}
		if len(r.buf) == 0 {
			r.eof = true
			return pipeline.Result{}, io.EOF
		}
	}
	res := r.buf[r.i]
	r.i++
	return res, nil
}

// Close releases the iterator. It never fails; it exists so that callers
// can treat Results like other streams.
func (r *Results) Close() error {
	r.buf, r.eof = nil, true
	return nil
}

// resultsQuery reads the rows after a row number with their pairs'
// outcomes, in row order. The outcome's columns are coalesced to their
// zero values, what a row whose pair has no outcome (pending) reads as, so
// that no column but invalid needs a Null type: scanning into an any or a
// string costs a copy, a Null type reflection.
const resultsQuery = `SELECT r.row_no, r.masked, r.invalid, r.fp, coalesce(r.first_row, 0), coalesce(o.status, ''),
		coalesce(o.res, 0), coalesce(o.jobid, ''), coalesce(o.code, 0), coalesce(o.answered, 0), coalesce(o.reason, ''),
		coalesce(o.attempts, 0), coalesce(o.at, ''), coalesce(o.simulated, 0)
	FROM rows r LEFT JOIN outcomes o ON o.first_row = r.first_row
	WHERE r.row_no > ? AND r.row_no < ? ORDER BY r.row_no LIMIT ?`

// resultRow receives one row of resultsQuery; dest points at its fields,
// made once for a whole export.
type resultRow struct {
	no, first, res, code, answered, attempts, simulated any // int64
	masked, status, jobid, reason, at                   string
	invalid                                             any // nil or a string
	fp                                                  sql.RawBytes
	dest                                                []any
}

func newResultRow() *resultRow {
	v := &resultRow{}
	v.dest = []any{&v.no, &v.masked, &v.invalid, &v.fp, &v.first, &v.status, &v.res, &v.jobid, &v.code, &v.answered,
		&v.reason, &v.attempts, &v.at, &v.simulated}
	return v
}

// result is the pipeline.Result of the row scanned into v.
func (v *resultRow) result() (pipeline.Result, error) {
	no, err := intOf(v.no)
	if err != nil {
		return pipeline.Result{}, err
	}
	first, err := intOf(v.first)
	if err != nil {
		return pipeline.Result{}, err
	}
	res := pipeline.Result{Row: no, Masked: v.masked}
	switch reason, invalid := v.invalid.(string); {
	case invalid:
		res.Outcome = pipeline.Outcome{Status: pipeline.Invalid, Reason: reason}
	case v.invalid != nil:
		return res, fmt.Errorf("row %d: invalid is a %T", no, v.invalid)
	case first != 0:
		if res.Outcome, err = v.outcome(first); err != nil {
			return res, err
		}
		if len(v.fp) != len(res.Pair) {
			return res, fmt.Errorf("row %d: its fingerprint has %d bytes", no, len(v.fp))
		}
		res.Pair = pipeline.Key(v.fp)
		if first != no {
			res.DupOf = first
		}
	}
	return res, nil
}

// outcome is the outcome scanned into v of the pair whose first row is
// first; a pair without one scans as zero values, which read as pending.
func (v *resultRow) outcome(first int) (pipeline.Outcome, error) {
	var n [5]int
	for i, c := range []any{v.res, v.code, v.answered, v.attempts, v.simulated} {
		var err error
		if n[i], err = intOf(c); err != nil {
			return pipeline.Outcome{}, fmt.Errorf("pair of row %d: %w", first, err)
		}
	}
	return pipeline.Outcome{FirstRow: first, Status: statusOf(v.status), Res: n[0], JobID: v.jobid, Code: n[1],
		Answered: n[2] != 0, Reason: v.reason, Attempts: n[3], At: parseStoredTime(v.at), Simulated: n[4] != 0}, nil
}

// intOf is the integer a column scanned into an any holds.
func intOf(v any) (int, error) {
	n, ok := v.(int64)
	if !ok {
		return 0, fmt.Errorf("an integer column holds a %T", v)
	}
	return int(n), nil
}

// parseStoredTime is parseTime of a time stored in timeFormat, "" for
// none. A UTC time of the first 28 days of a month, what every checkpoint
// holds but 3 days in 31, is read digit by digit: time.Parse took a tenth
// of an export's reading of the checkpoint. Any other goes to parseTime.
func parseStoredTime(s string) time.Time {
	if len(s) != 30 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != '.' || s[29] != 'Z' {
		return parseTime(sql.NullString{String: s, Valid: s != ""})
	}
	ok := true
	num := func(at, width int) int {
		n := 0
		for _, c := range []byte(s[at : at+width]) {
			if c < '0' || c > '9' {
				ok = false
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	y, mo, d, h, mi, sec, ns := num(0, 4), num(5, 2), num(8, 2), num(11, 2), num(14, 2), num(17, 2), num(20, 9)
	if !ok || mo < 1 || mo > 12 || d < 1 || d > 28 || h > 23 || mi > 59 || sec > 59 {
		return parseTime(sql.NullString{String: s, Valid: true})
	}
	return time.Date(y, time.Month(mo), d, h, mi, sec, ns, time.UTC)
}

func (r *Results) fill() error {
	rs, err := r.db.rdb.QueryContext(r.ctx, resultsQuery, r.after, r.before, resultsChunk)
	if err != nil {
		return fmt.Errorf("read checkpoint %s results after row %d: %w", r.db.path, r.after, err)
	}
	if r.row == nil {
		r.row = newResultRow()
	}
	r.buf, r.i = r.buf[:0], 0
	err = scanEach(rs, func(rs *sql.Rows) error {
		if err := rs.Scan(r.row.dest...); err != nil {
			return err
		}
		res, err := r.row.result()
		if err != nil {
			return err
		}
		r.buf = append(r.buf, res)
		r.after = res.Row
		return nil
	})
	if err != nil {
		r.buf = r.buf[:0] // a chunk is read whole or not at all
		return fmt.Errorf("read checkpoint %s results after row %d: %w", r.db.path, r.after, err)
	}
	return nil
}
