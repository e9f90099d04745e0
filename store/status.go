package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/cardverify/cardverify/pipeline"
)

// Status summarises a checkpoint for `cardverify status`. Its JSON keys are
// part of the command line contract.
type Status struct {
	// Rows counts data rows; the seven counts below split it by status. A
	// duplicate row counts with its pair's status, a row whose pair has no
	// outcome yet as pending.
	Rows     int `json:"rows"`
	Match    int `json:"match"`
	Mismatch int `json:"mismatch"`
	Invalid  int `json:"invalid"`
	Rejected int `json:"rejected"`
	Deferred int `json:"deferred"`
	Failed   int `json:"failed"`
	Pending  int `json:"pending"`
	// Calls counts HTTP calls recorded in the ledger, BilledCalls those the
	// vendor charges for (error_code 0).
	Calls       int `json:"calls"`
	BilledCalls int `json:"billed_calls"`
	// PossiblyBilled counts the calls that may have reached the vendor
	// without an intact answer (a timeout or reset after sending, a cut
	// body) plus LostAnswers: the vendor may have charged for each. The
	// vendor's bill is at most BilledCalls + PossiblyBilled.
	PossiblyBilled int `json:"possibly_billed"`
	// NoVerdict counts the failed rows whose answer was error_code 0
	// without a verdict: billed, and never sent again by the tool.
	NoVerdict int `json:"billed_no_verdict"`
	// NoJobID counts the rows whose verdict came without a jobid (although
	// jobid=1 was sent): kept, and flagged in the reason.
	NoJobID int `json:"verdicts_without_jobid"`
	// LostAnswers counts calls recorded as sent whose answer was never
	// recorded: the process died while they were in flight. Each may have
	// been billed; its pair is sent again on resume.
	LostAnswers int `json:"lost_answers"`
	// Running reports whether a process holds the checkpoint now. Then the
	// unanswered calls of the latest run count as InFlight, not as lost.
	Running  bool `json:"running"`
	InFlight int  `json:"in_flight"`
	// The input and how it was verified, as the latest run recorded them.
	InputPath   string `json:"input_path"`
	InputSHA256 string `json:"input_sha256"`
	InputSize   int64  `json:"input_size"`
	Endpoint    string `json:"endpoint"`
	BaseURL     string `json:"base_url"`
	// Sandbox reports that the job's verdicts are simulated: every outcome
	// from a call is simulated, or, before any, the latest run was a
	// sandbox run. Simulated counts the rows whose outcome is simulated
	// (a job can mix them with real ones; the output marks each row).
	Sandbox   bool `json:"sandbox"`
	Simulated int  `json:"simulated"`
	// FirstAt is when the first run started; LastAt the latest of the last
	// run's start or end and the last call. Both are zero before any run.
	FirstAt time.Time `json:"first_at"`
	LastAt  time.Time `json:"last_at"`
	Runs    int       `json:"runs"`
	// InvalidReasons counts invalid rows by reason.
	InvalidReasons map[string]int `json:"invalid_reasons"`
	// Codes counts answered calls by the API's error_code.
	Codes map[int]int `json:"codes"`
}

// Count returns the number of rows in status s.
func (st *Status) Count(s pipeline.Status) int {
	if p := st.count(s); p != nil {
		return *p
	}
	return 0
}

func (st *Status) count(s pipeline.Status) *int {
	switch s {
	case pipeline.Match:
		return &st.Match
	case pipeline.Mismatch:
		return &st.Mismatch
	case pipeline.Invalid:
		return &st.Invalid
	case pipeline.Rejected:
		return &st.Rejected
	case pipeline.Deferred:
		return &st.Deferred
	case pipeline.Failed:
		return &st.Failed
	case pipeline.Pending:
		return &st.Pending
	}
	return nil
}

// Status reads the checkpoint's summary. On a DB opened with Open it first
// waits for the queued writes to be durable, so the counts include every End
// before it. It reads the whole rows table: about a second for a million rows.
func (db *DB) Status(ctx context.Context) (Status, error) {
	st := Status{InvalidReasons: map[string]int{}, Codes: map[int]int{}}
	if err := db.flush(ctx); err != nil {
		return st, err
	}
	// One read transaction, so that the figures agree with each other.
	tx, err := db.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return st, fmt.Errorf("read checkpoint %s: %w", db.path, err)
	}
	defer tx.Rollback()
	if err := db.readStatus(ctx, tx, &st); err != nil {
		return st, fmt.Errorf("read checkpoint %s status: %w", db.path, err)
	}
	return st, nil
}

func (db *DB) readStatus(ctx context.Context, tx *sql.Tx, st *Status) error {
	rs, err := tx.QueryContext(ctx, `SELECT CASE WHEN r.invalid IS NOT NULL THEN 'invalid' ELSE coalesce(o.status, 'pending') END AS s,
			count(*)
		FROM rows r LEFT JOIN outcomes o ON o.first_row = r.first_row GROUP BY s`)
	if err != nil {
		return err
	}
	err = scanEach(rs, func(rs *sql.Rows) error {
		var name string
		var n int
		if err := rs.Scan(&name, &n); err != nil {
			return err
		}
		st.Rows += n
		*st.count(statusOf(name)) += n
		return nil
	})
	if err != nil {
		return err
	}

	rs, err = tx.QueryContext(ctx, "SELECT invalid, count(*) FROM rows WHERE invalid IS NOT NULL GROUP BY invalid")
	if err != nil {
		return err
	}
	err = scanEach(rs, func(rs *sql.Rows) error {
		var reason string
		var n int
		err := rs.Scan(&reason, &n)
		st.InvalidReasons[reason] = n
		return err
	})
	if err != nil {
		return err
	}

	rs, err = tx.QueryContext(ctx, "SELECT code, count(*) FROM answers WHERE answered = 1 GROUP BY code")
	if err != nil {
		return err
	}
	err = scanEach(rs, func(rs *sql.Rows) error {
		var code, n int
		err := rs.Scan(&code, &n)
		st.Codes[code] = n
		return err
	})
	if err != nil {
		return err
	}

	var latest int64
	var first, lastStart, lastEnd, lastCall sql.NullString
	err = tx.QueryRowContext(ctx, "SELECT count(*), coalesce(max(id), 0), min(started_at), max(started_at), max(ended_at) FROM runs").
		Scan(&st.Runs, &latest, &first, &lastStart, &lastEnd)
	if err != nil {
		return err
	}
	if latest != 0 {
		err = tx.QueryRowContext(ctx, "SELECT input_path, input_sha256, input_size, endpoint, base_url, sandbox FROM runs WHERE id = ?", latest).
			Scan(&st.InputPath, &st.InputSHA256, &st.InputSize, &st.Endpoint, &st.BaseURL, &st.Sandbox)
		if err != nil {
			return err
		}
	}
	var real int
	err = tx.QueryRowContext(ctx, `SELECT coalesce(sum(o.simulated), 0), coalesce(sum(NOT o.simulated), 0)
		FROM rows r JOIN outcomes o ON o.first_row = r.first_row WHERE r.invalid IS NULL AND o.status <> 'pending'`).Scan(&st.Simulated, &real)
	if err != nil {
		return err
	}
	if st.Simulated+real > 0 {
		st.Sandbox = real == 0
	}

	// The unanswered calls of the run under way are in flight, not lost:
	// this process's run, or the latest one when another process holds the
	// lock.
	var inFlightRun int64 = -1
	switch {
	case !db.readOnly:
		st.Running = true
		if r := db.run.Load(); r != 0 {
			inFlightRun = r
		}
	case locked(db.abs()):
		st.Running = true
		inFlightRun = latest
	}
	err = tx.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(a.billed), 0), coalesce(sum(a.possibly_billed), 0),
			coalesce(sum(a.call IS NULL AND coalesce(c.run, 0) <> ?), 0), coalesce(sum(a.call IS NULL AND coalesce(c.run, 0) = ?), 0)
		FROM calls c LEFT JOIN answers a ON a.call = c.id`, inFlightRun, inFlightRun).
		Scan(&st.Calls, &st.BilledCalls, &st.PossiblyBilled, &st.LostAnswers, &st.InFlight)
	if err != nil {
		return err
	}
	st.PossiblyBilled += st.LostAnswers
	err = tx.QueryRowContext(ctx, `SELECT count(*) FROM rows r JOIN outcomes o ON o.first_row = r.first_row
		WHERE r.invalid IS NULL AND o.status = 'failed' AND o.answered AND o.code = 0`).Scan(&st.NoVerdict)
	if err != nil {
		return err
	}
	err = tx.QueryRowContext(ctx, `SELECT count(*) FROM rows r JOIN outcomes o ON o.first_row = r.first_row
		WHERE r.invalid IS NULL AND o.status IN ('match', 'mismatch') AND o.jobid = ''`).Scan(&st.NoJobID)
	if err != nil {
		return err
	}
	err = tx.QueryRowContext(ctx, "SELECT sent_at FROM calls ORDER BY id DESC LIMIT 1").Scan(&lastCall)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	st.FirstAt = parseTime(first)
	for _, t := range []sql.NullString{lastStart, lastEnd, lastCall} {
		if tt := parseTime(t); tt.After(st.LastAt) {
			st.LastAt = tt
		}
	}
	return nil
}

func (db *DB) abs() string {
	abs, err := filepath.Abs(db.path)
	if err != nil {
		return db.path
	}
	return abs
}

// scanEach calls fn for each row of rs, then closes it.
func scanEach(rs *sql.Rows, fn func(*sql.Rows) error) error {
	defer rs.Close()
	for rs.Next() {
		if err := fn(rs); err != nil {
			return err
		}
	}
	return rs.Err()
}
