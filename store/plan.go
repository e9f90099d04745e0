package store

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"strings"
	"sync"

	"github.com/cardverify/cardverify/pipeline"
)

// planner is Plan's state. Plan calls are serialised by mu, which guards
// the rest.
type planner struct {
	mu sync.Mutex
	// maxPlanned is the highest row number recorded or planned: a batch
	// beyond it (a fresh run) has no recorded rows to look up.
	maxPlanned int
	// index maps the first 8 bytes of each pair's fingerprint to the
	// pair's first row, a candidate checked against the full fingerprint:
	// Plan's lookup of a pair, kept in memory (a packedIndex, about 9
	// bytes a pair, most of them outside the Go heap) because a B-tree index of random fingerprints on disk
	// made every commit rewrite pages all over it. Loaded by the first
	// Plan: a run that never plans, such as the rewrite of a finished
	// job's output, does not pay for it.
	index *packedIndex
}

// init reads the highest row number recorded.
func (p *planner) init(ctx context.Context, q *sql.DB) error {
	return q.QueryRowContext(ctx, "SELECT coalesce(max(row_no), 0) FROM rows").Scan(&p.maxPlanned)
}

// loadIndex fills the pair index from the pairs table, on the reader
// connections (the committer holds the only write connection).
func (p *planner) loadIndex(ctx context.Context, rdb *sql.DB) error {
	rs, err := rdb.QueryContext(ctx, "SELECT first_row, substr(fp, 1, 8) FROM pairs")
	if err != nil {
		return err
	}
	x := newPackedIndex(32)
	err = scanEach(rs, func(rs *sql.Rows) error {
		var first int64
		var fp8 []byte
		if err := rs.Scan(&first, &fp8); err != nil {
			return err
		}
		if len(fp8) == 8 {
			x.add(binary.LittleEndian.Uint64(fp8), uint64(first))
		}
		return nil
	})
	if err != nil {
		x.free()
		return err
	}
	p.index = x
	return nil
}

// free releases the pair index.
func (p *planner) free() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.index != nil {
		p.index.free()
		p.index = nil
	}
}

// pairInfo is what Plan gathers about a pair.
type pairInfo struct {
	firstRow int // 0 while unknown
	card     pipeline.Key
	prior    pipeline.Outcome
	hasPrior bool // prior came from an End not yet committed
}

// Plan records a batch of data rows, given in increasing row order, and
// fills known[i] for rows[i]; see pipeline.Checkpoint. Invalid rows get a
// zero Known and join no pair. New rows are queued for the committer and
// visible to the next Plan at once. A row recorded earlier with another
// fingerprint or validity fails with an *pipeline.InputError naming it
// (the input was edited, or read with other columns).
//
// Plan runs a few batched queries per call, whatever the batch size; calls
// are serialised.
func (db *DB) Plan(ctx context.Context, rows []pipeline.Row, known []pipeline.Known) error {
	if len(known) != len(rows) {
		return fmt.Errorf("plan: %d rows but %d known", len(rows), len(known))
	}
	q, err := db.writes()
	if err != nil || len(rows) == 0 {
		return err
	}
	p := &db.plan
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.index == nil {
		if err := p.loadIndex(ctx, db.rdb); err != nil {
			return fmt.Errorf("open checkpoint %s: load the pair index: %w", db.path, err)
		}
	}
	db.fingerprints(rows, known)
	pairs, recorded, err := db.gather(ctx, q, rows, known)
	if err != nil {
		return err
	}
	if err := unchanged(rows, known, recorded); err != nil {
		return err
	}
	started := pipeline.FirstRows(rows, known, func(k pipeline.Key) int { return pairs[k].firstRow })
	newRows, newPairs := records(rows, known, recorded, pairs, started)
	p.maxPlanned = max(p.maxPlanned, rows[len(rows)-1].Row)
	if len(newRows) == 0 && len(newPairs) == 0 {
		return nil
	}
	for _, np := range newPairs {
		p.index.add(prefix(np.fp), uint64(np.firstRow))
	}
	if err := q.plan(ctx, newRows, newPairs); err != nil {
		for _, np := range newPairs {
			p.index.remove(prefix(np.fp), uint64(np.firstRow))
		}
		return fmt.Errorf("plan rows %d-%d: %w", rows[0].Row, rows[len(rows)-1].Row, err)
	}
	return nil
}

// fingerprints sets the Pair of every row's Known, and the Card of the
// valid ones.
func (db *DB) fingerprints(rows []pipeline.Row, known []pipeline.Known) {
	h := db.key.fp.get()
	defer db.key.fp.pool.Put(h)
	for i, r := range rows {
		known[i] = pipeline.Known{Pair: h.sum(r.Name, r.Card)}
		if r.Invalid == "" {
			known[i].CardKey = h.sum("card", r.Card)
		}
	}
}

// gather returns what the job knows of the batch's pairs, from the
// queue's overlay first and then from the database (the rows already
// recorded, a resume, and the pairs of the others), and the rows of the
// batch recorded earlier.
func (db *DB) gather(ctx context.Context, q *queue, rows []pipeline.Row, known []pipeline.Known) (map[pipeline.Key]*pairInfo, map[int]recordedRow, error) {
	pairs := make(map[pipeline.Key]*pairInfo, len(rows))
	for i, r := range rows {
		if _, ok := pairs[known[i].Pair]; !ok && r.Invalid == "" {
			pairs[known[i].Pair] = &pairInfo{}
		}
	}
	var recorded map[int]recordedRow
	err := q.pending(pairs, func() error {
		var err error
		if recorded, err = db.recordedRows(ctx, rows); err != nil {
			return err
		}
		for i, r := range rows {
			rec, ok := recorded[r.Row]
			if !ok || r.Invalid != "" || rec.firstRow == 0 || rec.fp != known[i].Pair {
				continue
			}
			if p := pairs[rec.fp]; p.firstRow == 0 {
				p.firstRow, p.card = rec.firstRow, rec.card
				if !p.hasPrior {
					p.prior = rec.prior
				}
			}
		}
		return db.lookupPairs(ctx, pairs)
	})
	return pairs, recorded, err
}

// unchanged refuses a batch whose rows were recorded earlier with another
// fingerprint or validity.
func unchanged(rows []pipeline.Row, known []pipeline.Known, recorded map[int]recordedRow) error {
	for i, r := range rows {
		if rec, ok := recorded[r.Row]; ok && (rec.fp != known[i].Pair || rec.invalid != (r.Invalid != "")) {
			return &pipeline.InputError{Row: r.Row, Msg: pipeline.Reason(pipeline.ErrInputChanged),
				Hint: pipeline.Reason(pipeline.HintNewDB)}
		}
	}
	return nil
}

// records completes the batch's Known from its pairs (the rows of started
// begin new ones) and returns the rows and pairs to record.
func records(rows []pipeline.Row, known []pipeline.Known, recorded map[int]recordedRow,
	pairs map[pipeline.Key]*pairInfo, started []int) ([]rowRec, []pairRec) {
	var newPairs []pairRec
	for _, i := range started {
		k := &known[i]
		pairs[k.Pair].firstRow, pairs[k.Pair].card = rows[i].Row, k.CardKey
		newPairs = append(newPairs, pairRec{firstRow: rows[i].Row, fp: k.Pair, card: k.CardKey})
	}
	var newRows []rowRec
	for i, r := range rows {
		k := &known[i]
		_, done := recorded[r.Row]
		if !done {
			rec := rowRec{no: r.Row, fp: k.Pair, masked: pipeline.MaskCard(r.Card), invalid: r.Invalid, firstRow: k.FirstRow}
			newRows = append(newRows, rec)
		}
		if r.Invalid != "" {
			*k = pipeline.Known{}
			continue
		}
		k.Prior = pairs[k.Pair].prior
		if k.Prior.FirstRow == 0 {
			k.Prior.FirstRow = k.FirstRow
		}
	}
	return newRows, newPairs
}

type recordedRow struct {
	fp       pipeline.Key
	invalid  bool
	firstRow int // the pair's, 0 for an invalid row
	card     pipeline.Key
	prior    pipeline.Outcome
}

// recordedRows returns the rows of the batch that the checkpoint already
// holds, with their pairs' committed outcomes: one scan of a range of
// rows. A batch beyond every row recorded or planned so far (a fresh run)
// needs no query.
func (db *DB) recordedRows(ctx context.Context, rows []pipeline.Row) (map[int]recordedRow, error) {
	first, last := rows[0].Row, rows[len(rows)-1].Row
	if first > db.plan.maxPlanned {
		return nil, nil
	}
	rs, err := db.rdb.QueryContext(ctx, `SELECT r.row_no, r.fp, r.invalid IS NOT NULL, p.card, p.first_row, o.status, o.res, o.jobid,
			o.code, o.answered, o.reason, o.attempts, o.at, o.simulated
		FROM rows r LEFT JOIN pairs p ON p.first_row = r.first_row LEFT JOIN outcomes o ON o.first_row = r.first_row
		WHERE r.row_no BETWEEN ? AND ?`, first, last)
	if err != nil {
		return nil, fmt.Errorf("read checkpoint rows %d-%d: %w", first, last, err)
	}
	m := make(map[int]recordedRow, len(rows))
	var (
		no       int
		fp, card []byte
		invalid  bool
		pairRow  sql.NullInt64
		sp       scannedPair
	)
	dest := append([]any{&no, &fp, &invalid, &card, &pairRow}, sp.dest()[1:]...)
	err = scanEach(rs, func(rs *sql.Rows) error {
		if err := rs.Scan(dest...); err != nil {
			return err
		}
		rec := recordedRow{fp: pipeline.Key(fp), invalid: invalid}
		if pairRow.Valid {
			sp.firstRow = int(pairRow.Int64)
			rec.firstRow, rec.card, rec.prior = sp.firstRow, pipeline.Key(card), sp.outcome()
		}
		m[no] = rec
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read checkpoint rows %d-%d: %w", first, last, err)
	}
	return m, nil
}

// lookupChunk is the most pairs one query asks for.
const lookupChunk = 512

// lookupPairs completes from the database the pairs the overlay did not
// know: their first row and committed outcome. The pair index gives the
// candidate first rows of a fingerprint's prefix, each checked against the
// pair's full fingerprint; a pair none of whose candidates has it is new.
func (db *DB) lookupPairs(ctx context.Context, pairs map[pipeline.Key]*pairInfo) error {
	var cands []any
	var vals []uint64
	for fp, p := range pairs {
		if p.firstRow != 0 {
			continue // an uncommitted pair: no committed outcome either
		}
		vals = db.plan.index.values(vals[:0], prefix(fp))
		for _, v := range vals {
			cands = append(cands, int64(v))
		}
	}
	for len(cands) > 0 {
		n := min(len(cands), lookupChunk)
		q := pairQuery + "WHERE p.first_row IN (?" + strings.Repeat(", ?", n-1) + ")"
		if err := db.scanPairs(ctx, pairs, q, cands[:n]...); err != nil {
			return err
		}
		cands = cands[n:]
	}
	return nil
}

const pairQuery = `SELECT p.fp, p.card, p.first_row, o.status, o.res, o.jobid, o.code, o.answered, o.reason, o.attempts, o.at, o.simulated
	FROM pairs p LEFT JOIN outcomes o ON o.first_row = p.first_row `

// scanPairs runs a pairQuery and completes the pairs it finds.
func (db *DB) scanPairs(ctx context.Context, pairs map[pipeline.Key]*pairInfo, q string, args ...any) error {
	rs, err := db.rdb.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("read checkpoint pairs: %w", err)
	}
	defer rs.Close()
	var fp, card []byte
	for rs.Next() {
		var sp scannedPair
		if err := rs.Scan(append([]any{&fp, &card}, sp.dest()...)...); err != nil {
			return fmt.Errorf("read checkpoint pairs: %w", err)
		}
		p := pairs[pipeline.Key(fp)]
		if p == nil || p.firstRow != 0 {
			continue // another pair with the same prefix
		}
		p.firstRow, p.card = sp.firstRow, pipeline.Key(card)
		if !p.hasPrior {
			p.prior = sp.outcome()
		}
	}
	if err := rs.Err(); err != nil {
		return fmt.Errorf("read checkpoint pairs: %w", err)
	}
	return nil
}

// scannedPair receives a pair's first row and outcome from a query: the
// columns first_row, status, res, jobid, code, answered, reason, attempts,
// at, all but the first from a LEFT JOIN of outcomes.
type scannedPair struct {
	firstRow  int
	status    sql.NullString
	res       sql.NullInt64
	jobid     sql.NullString
	code      sql.NullInt64
	answered  sql.NullBool
	reason    sql.NullString
	attempts  sql.NullInt64
	at        sql.NullString
	simulated sql.NullBool
}

func (s *scannedPair) dest() []any {
	return []any{&s.firstRow, &s.status, &s.res, &s.jobid, &s.code, &s.answered, &s.reason, &s.attempts, &s.at, &s.simulated}
}

func (s *scannedPair) outcome() pipeline.Outcome {
	return pipeline.Outcome{
		FirstRow:  s.firstRow,
		Status:    statusOf(s.status.String),
		Res:       int(s.res.Int64),
		JobID:     s.jobid.String,
		Code:      int(s.code.Int64),
		Answered:  s.answered.Bool,
		Reason:    s.reason.String,
		Attempts:  int(s.attempts.Int64),
		At:        parseTime(s.at),
		Simulated: s.simulated.Bool,
	}
}

var statusByName = func() map[string]pipeline.Status {
	m := make(map[string]pipeline.Status)
	for _, s := range append([]pipeline.Status{pipeline.Pending}, pipeline.Statuses...) {
		m[s.String()] = s
	}
	return m
}()

// statusOf parses a stored status; an unknown one (from a newer version)
// reads as pending, so the pair is verified again rather than skipped.
func statusOf(name string) pipeline.Status {
	return statusByName[name]
}
