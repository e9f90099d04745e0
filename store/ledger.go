package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/cardverify/cardverify/pipeline"
)

// RunInfo describes a run for the runs table: what was verified, how, and by
// which version.
type RunInfo struct {
	// InputPath is the input file's path as given to the run; it appears in
	// errors and in Status.InputPath.
	InputPath string
	// InputSize is the input file's size in bytes.
	InputSize int64
	// InputSHA256 is the SHA-256 of the input file's bytes, 64 lower-case
	// hex digits. BeginRun refuses a run whose input differs from an
	// earlier run's.
	InputSHA256 string
	// Sheet is the name of the spreadsheet sheet read; "" for a text file.
	Sheet string
	// Endpoint is the API endpoint, "plain" or "encrypted" as --endpoint
	// takes it. BeginRun refuses one that differs from an earlier run's.
	Endpoint string
	BaseURL  string // the API's base URL (it holds no secret)
	// Sandbox is true for a run on the built-in simulated API (--sandbox):
	// its calls are neither real nor billed.
	Sandbox bool
	// Version is the cardverify version that makes the run, as stamped at
	// build time.
	Version string
	// QPS is the most calls per second the run allows itself (--qps).
	QPS float64
	// Started is when the run began; the zero time means now (db.Now at
	// BeginRun).
	Started time.Time
	// For the Summary an auditor signs: who ran it and where, the command
	// line with its secrets replaced, the output it writes and an
	// identifier of the API key that is not the key.
	User, Host string
	// Command is the command line that started the run, each secret
	// flag's value replaced by *** (job.CommandLine); "" when none did.
	Command string
	// Output is the path of the output file the run writes, as given.
	Output string
	// KeyID identifies the API key without revealing it (juhe.KeyID); ""
	// for no key.
	KeyID string
}

// BeginRun records the start of a run and returns its id; the calls that
// follow are recorded under it. It refuses with an *pipeline.InputError
// when an earlier run of this checkpoint recorded another input SHA-256: the
// file was edited, and its rows cannot be matched with the recorded ones.
// An empty InputSHA256 is one not known yet (SetInputDigest records it),
// and compares with nothing.
// It also refuses, with an *pipeline.InputError, a run on another endpoint
// than the job's earlier runs: the Summary and the audit name one endpoint
// per job. The record is durable when BeginRun returns.
func (db *DB) BeginRun(ctx context.Context, ri RunInfo) (int64, error) {
	q, err := db.writes()
	if err != nil {
		return 0, err
	}
	var other string
	err = db.rdb.QueryRowContext(ctx, "SELECT input_sha256 FROM runs WHERE input_sha256 <> ? AND input_sha256 <> '' ORDER BY id DESC LIMIT 1",
		ri.InputSHA256).Scan(&other)
	switch {
	case err == nil:
		return 0, &pipeline.InputError{Path: ri.InputPath,
			Msg:  pipeline.Reason(pipeline.ErrOtherInput, short(ri.InputSHA256), db.path, short(other)),
			Hint: pipeline.Reason(pipeline.HintOtherInput)}
	case !errors.Is(err, sql.ErrNoRows):
		return 0, fmt.Errorf("read checkpoint %s runs: %w", db.path, err)
	}
	var endpoint string
	err = db.rdb.QueryRowContext(ctx, "SELECT endpoint FROM runs WHERE endpoint <> ? ORDER BY id DESC LIMIT 1", ri.Endpoint).Scan(&endpoint)
	switch {
	case err == nil:
		return 0, &pipeline.InputError{Path: ri.InputPath,
			Msg:  fmt.Sprintf("checkpoint %s was written with --endpoint %s, this run asks for --endpoint %s", db.path, endpoint, ri.Endpoint),
			Hint: "a job keeps one endpoint: run it again with --endpoint " + endpoint + ", or use a new --db to verify the file on the other endpoint"}
	case !errors.Is(err, sql.ErrNoRows):
		return 0, fmt.Errorf("read checkpoint %s runs: %w", db.path, err)
	}
	started := ri.Started
	if started.IsZero() {
		started = db.Now()
	}
	id, err := q.exec(ctx, func(ctx context.Context, tx *sql.Conn) (int64, error) {
		res, err := tx.ExecContext(ctx, `INSERT INTO runs (input_path, input_size, input_sha256, sheet, endpoint, sandbox, version, qps, started_at,
				os_user, host, command, output, base_url, key_id)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			ri.InputPath, ri.InputSize, ri.InputSHA256, ri.Sheet, ri.Endpoint, ri.Sandbox, ri.Version, ri.QPS, formatTime(started),
			ri.User, ri.Host, ri.Command, ri.Output, ri.BaseURL, ri.KeyID)
		if err != nil {
			return 0, fmt.Errorf("record run: %w", err)
		}
		return res.LastInsertId()
	})
	if err != nil {
		return 0, err
	}
	db.run.Store(id)
	return id, nil
}

func short(hex string) string {
	if len(hex) > 12 {
		return hex[:12]
	}
	return hex
}

// The stop reasons of a run, as EndRun records them (RunRecord.Stop). A run
// without one is still running, or its process died.
const (
	StopDone        = "done"        // every row was read and dealt with
	StopInterrupted = "interrupted" // Ctrl-C, SIGTERM, the console's Stop
	StopDeadline    = "deadline"    // --max-duration or --stop-at
	StopBudget      = "budget"      // --max-billed
	StopAPI         = "api"         // the API refused the run (bad key, quota, unreachable)
	StopError       = "error"       // any other error
)

// EndRun records when run runID ended and why (one of the Stop codes), and
// waits until that, and every operation queued before it, is durable. A
// zero ended is taken as now.
func (db *DB) EndRun(ctx context.Context, runID int64, ended time.Time, stop string) error {
	if ended.IsZero() {
		ended = db.Now()
	}
	return db.updateRun(ctx, fmt.Sprintf("record the end of run %d", runID), "UPDATE runs SET ended_at = ?, stop = ? WHERE id = ?",
		formatTime(ended), stop, runID)
}

// MarkReadAll records that run runID read and planned every row of its
// input.
func (db *DB) MarkReadAll(ctx context.Context, runID int64) error {
	return db.updateRun(ctx, fmt.Sprintf("record that run %d read its input", runID), "UPDATE runs SET read_all = 1 WHERE id = ?", runID)
}

// updateRun runs update in the committer's transaction and waits for its
// commit; what says what it does, for the error.
func (db *DB) updateRun(ctx context.Context, what, update string, args ...any) error {
	q, err := db.writes()
	if err != nil {
		return err
	}
	_, err = q.exec(ctx, func(ctx context.Context, tx *sql.Conn) (int64, error) {
		if _, err := tx.ExecContext(ctx, update, args...); err != nil {
			return 0, fmt.Errorf("%s: %w", what, err)
		}
		return 0, nil
	})
	return err
}

// ReadAll reports whether a run of this checkpoint read and planned every
// row of the input (which BeginRun keeps the same).
func (db *DB) ReadAll(ctx context.Context) (bool, error) {
	var all bool
	err := db.rdb.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM runs WHERE read_all)").Scan(&all)
	if err != nil {
		return false, fmt.Errorf("read checkpoint %s runs: %w", db.path, err)
	}
	return all, nil
}

// Begin records that call c is about to be sent, under the current run, and
// returns its ledger id once the record is committed (durable against a
// crash of the process). A zero c.SentAt is taken as now.
//
// It returns pipeline.ErrCardLimit, recording nothing, when the pipeline's
// rule, pipeline.CardCallAllowed(n, limit), refuses c.Card another call:
// n is the card's calls on the China calendar day of c.SentAt that may have
// reached the bank (every call not ended, and those whose answer says
// MayReachBank). Concurrent Begins for one card are decided one at a time
// by the committer, so the limit is exact.
//
// Once queued, Begin waits for the commit even if ctx is done, so that its
// answer says exactly whether the call is recorded. An error of the
// committer is returned here and by every later write.
func (db *DB) Begin(ctx context.Context, c pipeline.Call, limit int) (int64, error) {
	q, err := db.writes()
	if err != nil {
		return 0, err
	}
	if c.SentAt.IsZero() {
		c.SentAt = db.Now()
	}
	return q.call(ctx, op{kind: opBegin, call: c, limit: limit, run: db.run.Load()})
}

// End records the answer of call id (the fields of c known when a call
// ends: Duration, HTTPStatus, Code, Answered, Billed, JobID) and, when o is
// not nil, the new outcome of the pair c.Pair whose first row is c.Row. Id 0
// records only the outcome: for a pair decided without a call, such as a
// card over its daily limit.
//
// End queues the record and returns at once, blocking only while the
// queue is full (then until ctx is done). The record is durable at the
// committer's next commit, and at the latest when Close returns. Plan sees
// the outcome at once. An earlier error of the committer is returned.
func (db *DB) End(ctx context.Context, id int64, c pipeline.Call, o *pipeline.Outcome) error {
	q, err := db.writes()
	if err != nil {
		return err
	}
	e := op{kind: opEnd, id: id, call: c, run: db.run.Load()}
	if o != nil {
		if c.FirstRow == 0 && o.FirstRow == 0 {
			return errors.New("record an outcome: no row given")
		}
		e.out, e.has = *o, true
	}
	if err := q.end(ctx, e); err != nil {
		return fmt.Errorf("record the end of a call for row %d: %w", c.FirstRow, err)
	}
	return nil
}
