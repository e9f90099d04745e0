package store

import (
	"context"
	"database/sql"
	"fmt"
	"io"

	"github.com/cardverify/cardverify/pipeline"
)

// resultsChunk is how many rows one query of Results reads: each chunk is
// its own short read transaction, so that none spans a whole export.
const resultsChunk = 5000

// Results iterates over the recorded outcome of every data row, in
// increasing row order; it implements pipeline.Results. It is not safe for
// concurrent use. It holds the context given to DB.Results and uses it for
// every query.
type Results struct {
	db    *DB
	ctx   context.Context
	after int // the last row number read
	buf   []pipeline.Result
	i     int
	eof   bool
	err   error
}

// Results returns an iterator over the outcomes of all data rows. On a DB
// opened with Open it first waits for the queued writes to be durable, so
// it sees every End before it. Rows are read in chunks as Next needs them;
// a row recorded by a later Plan may or may not be seen.
func (db *DB) Results(ctx context.Context) (*Results, error) {
	if err := db.flush(ctx); err != nil {
		return nil, err
	}
	return &Results{db: db, ctx: ctx}, nil
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

func (r *Results) fill() error {
	rs, err := r.db.rdb.QueryContext(r.ctx, `SELECT r.row_no, r.masked, r.invalid, r.fp, r.first_row, o.status, o.res,
			o.jobid, o.code, o.answered, o.reason, o.attempts, o.at, o.simulated
		FROM rows r LEFT JOIN outcomes o ON o.first_row = r.first_row
		WHERE r.row_no > ? ORDER BY r.row_no LIMIT ?`, r.after, resultsChunk)
	if err != nil {
		return fmt.Errorf("read checkpoint %s results after row %d: %w", r.db.path, r.after, err)
	}
	r.buf, r.i = r.buf[:0], 0
	err = scanEach(rs, func(rs *sql.Rows) error {
		var (
			no      int
			masked  string
			invalid sql.NullString
			fp      []byte
			first   sql.NullInt64
			sp      scannedPair
		)
		dest := append([]any{&no, &masked, &invalid, &fp, &first}, sp.dest()[1:]...)
		if err := rs.Scan(dest...); err != nil {
			return err
		}
		res := pipeline.Result{Masked: masked}
		switch {
		case invalid.Valid:
			res.Outcome = pipeline.Outcome{Status: pipeline.Invalid, Reason: invalid.String}
		case first.Valid:
			sp.firstRow = int(first.Int64)
			res.Outcome = sp.outcome()
			res.Pair = pipeline.Key(fp)
			if sp.firstRow != no {
				res.DupOf = sp.firstRow
			}
		}
		res.Row = no
		r.buf = append(r.buf, res)
		r.after = no
		return nil
	})
	if err != nil {
		return fmt.Errorf("read checkpoint %s results after row %d: %w", r.db.path, r.after, err)
	}
	return nil
}
