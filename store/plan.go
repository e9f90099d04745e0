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

// overlay holds what was queued for the writer but is not committed yet and
// must be visible to Plan at once: new pairs (so that a duplicate in the next
// batch gets the right FirstRow) and new outcomes (so that a pair answered a
// moment ago is not sent again). The writer drops an entry when the commit
// that made it durable ends, unless a newer entry replaced it.
type overlay struct {
	mu       sync.Mutex
	seq      uint64
	pairs    map[pipeline.Key]pendingPair
	outcomes map[pipeline.Key]pendingOutcome
}

type pendingPair struct {
	firstRow int
	card     pipeline.Key
	seq      uint64
}

type pendingOutcome struct {
	o   pipeline.Outcome
	seq uint64
}

func (ov *overlay) putPairs(ps []pairRec) uint64 {
	ov.mu.Lock()
	defer ov.mu.Unlock()
	ov.seq++
	if ov.pairs == nil {
		ov.pairs = make(map[pipeline.Key]pendingPair)
	}
	for _, p := range ps {
		ov.pairs[p.fp] = pendingPair{firstRow: p.firstRow, card: p.card, seq: ov.seq}
	}
	return ov.seq
}

// committed drops the entries that the committed batch made durable.
func (ov *overlay) committed(batch []op) {
	ov.mu.Lock()
	defer ov.mu.Unlock()
	for i := range batch {
		o := &batch[i]
		switch {
		case o.kind == opPlan:
			for _, p := range o.pairs {
				if e, ok := ov.pairs[p.fp]; ok && e.seq == o.seq {
					delete(ov.pairs, p.fp)
				}
			}
		case o.kind == opEnd && o.has:
			if e, ok := ov.outcomes[o.call.Pair]; ok && e.seq == o.seq {
				delete(ov.outcomes, o.call.Pair)
			}
		}
	}
}

func (ov *overlay) putOutcome(fp pipeline.Key, o pipeline.Outcome) uint64 {
	ov.mu.Lock()
	defer ov.mu.Unlock()
	ov.seq++
	if ov.outcomes == nil {
		ov.outcomes = make(map[pipeline.Key]pendingOutcome)
	}
	ov.outcomes[fp] = pendingOutcome{o: o, seq: ov.seq}
	return ov.seq
}

// pairInfo is what Plan gathers about a pair.
type pairInfo struct {
	firstRow int // 0 while unknown
	card     pipeline.Key
	prior    pipeline.Outcome
	hasPrior bool // prior came from an End not yet committed
	cand     int  // the first row the index gives for the fingerprint's prefix
}

// prefix is the part of a fingerprint the in-memory indexes keep: of
// pairs (Plan) and of cards (the day's call counts).
func prefix(k pipeline.Key) uint64 { return binary.LittleEndian.Uint64(k[:8]) }

// Plan records a batch of data rows, given in increasing row order, and
// fills known[i] for rows[i]; see pipeline.Checkpoint. Invalid rows get a
// zero Known and join no pair. New rows are queued for the writer and
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
	if db.readOnly {
		return errReadOnly
	}
	if len(rows) == 0 {
		return nil
	}
	db.planMu.Lock()
	defer db.planMu.Unlock()
	if db.indexOnce.Do(func() { db.indexErr = db.loadIndex(ctx) }); db.indexErr != nil {
		return fmt.Errorf("open checkpoint %s: load the pair index: %w", db.path, db.indexErr)
	}

	h := db.fp.get()
	for i, r := range rows {
		known[i] = pipeline.Known{Pair: h.sum(r.Name, r.Card)}
		if r.Invalid == "" {
			known[i].CardKey = h.sum("card", r.Card)
		}
	}
	db.fp.pool.Put(h)

	// The pairs of the batch: first what the overlay holds, read before the
	// database so that an entry committed and dropped in between is found
	// there.
	pairs := make(map[pipeline.Key]*pairInfo, len(rows))
	for i, r := range rows {
		if r.Invalid == "" {
			if _, ok := pairs[known[i].Pair]; !ok {
				pairs[known[i].Pair] = &pairInfo{}
			}
		}
	}
	db.ov.mu.Lock()
	for fp, p := range pairs {
		if e, ok := db.ov.pairs[fp]; ok {
			p.firstRow, p.card = e.firstRow, e.card
		}
		if e, ok := db.ov.outcomes[fp]; ok {
			p.prior, p.hasPrior = e.o, true
		}
	}
	db.ov.mu.Unlock()
	// Then the rows already recorded (a resume), with their pairs and
	// outcomes, and last the pairs of the other rows.
	recorded, err := db.recordedRows(ctx, rows)
	if err != nil {
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
	if err := db.lookupPairs(ctx, pairs); err != nil {
		return err
	}
	var added []uint64 // index entries this batch adds, undone if it fails

	var newRows []rowRec
	var newPairs []pairRec
	for i, r := range rows {
		k := &known[i]
		if rec, ok := recorded[r.Row]; ok {
			if rec.fp != k.Pair || rec.invalid != (r.Invalid != "") {
				return &pipeline.InputError{Row: r.Row, Msg: pipeline.Reason(pipeline.ErrInputChanged),
					Hint: pipeline.Reason(pipeline.HintNewDB)}
			}
		}
		if r.Invalid != "" {
			if _, ok := recorded[r.Row]; !ok {
				newRows = append(newRows, rowRec{no: r.Row, fp: k.Pair, masked: pipeline.MaskCard(r.Card), invalid: r.Invalid})
			}
			*k = pipeline.Known{}
			continue
		}
		p := pairs[k.Pair]
		if p.firstRow == 0 {
			p.firstRow, p.card = r.Row, k.CardKey
			newPairs = append(newPairs, pairRec{firstRow: r.Row, fp: k.Pair, card: k.CardKey})
			if _, taken := db.index[prefix(k.Pair)]; !taken {
				db.index[prefix(k.Pair)] = int32(r.Row)
				added = append(added, prefix(k.Pair))
			}
		}
		if _, ok := recorded[r.Row]; !ok {
			newRows = append(newRows, rowRec{no: r.Row, fp: k.Pair, masked: pipeline.MaskCard(r.Card), firstRow: p.firstRow})
		}
		k.FirstRow = p.firstRow
		k.Prior = p.prior
		if k.Prior.FirstRow == 0 {
			k.Prior.FirstRow = p.firstRow
		}
	}
	if last := rows[len(rows)-1].Row; last > db.maxPlanned {
		db.maxPlanned = last
	}
	if len(newRows) == 0 && len(newPairs) == 0 {
		return nil
	}
	if err := db.queuePlan(ctx, newRows, newPairs); err != nil {
		for _, x := range added {
			delete(db.index, x)
		}
		return fmt.Errorf("plan rows %d-%d: %w", rows[0].Row, rows[len(rows)-1].Row, err)
	}
	return nil
}

// queuePlan queues new rows and pairs for the writer, after waiting for
// one of the planAhead slots.
func (db *DB) queuePlan(ctx context.Context, newRows []rowRec, newPairs []pairRec) error {
	select {
	case db.planSlots <- struct{}{}: // released by the writer after the commit
	case <-ctx.Done():
		return ctx.Err()
	}
	o := op{kind: opPlan, rows: newRows, pairs: newPairs}
	if len(newPairs) > 0 {
		o.seq = db.ov.putPairs(newPairs)
	}
	if err := db.send(ctx, o); err != nil {
		db.ov.committed([]op{o}) // never queued: forget them
		<-db.planSlots
		return err
	}
	return nil
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
	if first > db.maxPlanned {
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
// know: their first row and committed outcome. The in-memory index maps a
// fingerprint's prefix to a candidate first row, checked against the
// pair's full fingerprint; a pair the index does not know is new. (Two
// pairs with one 64-bit prefix, about one chance in 10^7 for a million
// pairs, are told apart by a scan of the pairs table.)
func (db *DB) lookupPairs(ctx context.Context, pairs map[pipeline.Key]*pairInfo) error {
	var cands []any
	for fp, p := range pairs {
		if p.firstRow != 0 {
			continue // an uncommitted pair: no committed outcome either
		}
		if first, ok := db.index[prefix(fp)]; ok {
			p.cand = int(first)
			cands = append(cands, int64(first))
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
	for fp, p := range pairs {
		if p.cand != 0 && p.firstRow == 0 {
			// The prefix belongs to another pair.
			if err := db.scanPairs(ctx, pairs, pairQuery+"WHERE p.fp = ?", fp[:]); err != nil {
				return err
			}
		}
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
