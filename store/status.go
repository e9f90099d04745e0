package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/cardverify/cardverify/pipeline"
)

// Status summarises a checkpoint for `cardverify status`. Its JSON keys are
// part of the command line contract.
type Status struct {
	// Rows counts the data rows of the input; the seven counts below split
	// it by status. A duplicate row counts with its pair's status, a row
	// whose pair has no outcome yet as pending, and so do the Unread rows.
	Rows int `json:"rows"`
	// Match counts the rows whose pair the API answered error_code 0, res 1
	// (name and card agree): billed.
	Match int `json:"match"`
	// Mismatch counts the rows whose pair the API answered error_code 0,
	// res 2 (name and card disagree): billed.
	Mismatch int `json:"mismatch"`
	// Invalid counts the rows the reader found invalid (no call, no cost),
	// plus the Unread rows that the latest count of the input found
	// invalid; InvalidReasons splits the former by reason.
	Invalid int `json:"invalid"`
	// Rejected counts the rows whose pair the API refused as such
	// (218804/5/6/8): one call, never sent again.
	Rejected int `json:"rejected"`
	// Deferred counts the rows whose pair hit a daily limit (218866, or the
	// card's calls that day): sent again by a run on a later China day.
	Deferred int `json:"deferred"`
	// Failed counts the rows whose pair's transient errors outlasted the
	// attempts; a later run sends them again (NoVerdict is the exception).
	Failed int `json:"failed"`
	// Pending counts the rows with no final outcome yet: pairs not sent or
	// not answered, and the Unread rows not counted as Invalid.
	Pending int `json:"pending"`
	// Unread counts the rows of the input that no run has read yet (a run
	// stopped or killed early): they count as the output holds them,
	// invalid (without a reason in InvalidReasons) or pending. The input's
	// rows are counted beside the run that reads them; Uncounted says a run
	// ended before either, so Rows covers only the rows read so far.
	Unread int `json:"unread"`
	// Uncounted is true when some run has not read the whole input and no
	// run recorded the input's row count (SetInputRows): Rows and Pending
	// then miss the rows not read yet. False before any run.
	Uncounted bool `json:"uncounted"`
	// Calls counts HTTP calls recorded in the ledger, real and simulated,
	// answered or not, over every run.
	Calls int `json:"calls"`
	// BilledCalls counts the calls to the real API answered error_code 0,
	// those the vendor charges for; simulated calls are never in it.
	BilledCalls int `json:"billed_calls"`
	// PossiblyBilled counts the calls to the real API that may have reached
	// the vendor without an intact answer (a timeout or reset after
	// sending, a cut body) plus its LostAnswers: the vendor may have
	// charged for each. The vendor's bill is at most BilledCalls +
	// PossiblyBilled.
	PossiblyBilled int `json:"possibly_billed"`
	// SimulatedCalls counts the calls answered by a simulated API (or made
	// by a sandbox run), a part of Calls: nobody bills them, so they are in
	// neither count above.
	SimulatedCalls int `json:"simulated_calls"`
	// SimulatedBilled counts the SimulatedCalls answered error_code 0, what
	// the real API would have billed (a sandbox run's --max-billed counts
	// them, to rehearse a real run); nobody is charged for them.
	SimulatedBilled int `json:"simulated_billed"`
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
	Running bool `json:"running"`
	// InFlight counts the calls of the running run (Running) sent but not
	// answered yet: neither LostAnswers nor PossiblyBilled. Always 0 when
	// Running is false.
	InFlight int `json:"in_flight"`
	// InputPath is the input file's path as the latest run was given it;
	// "" before any run.
	InputPath string `json:"input_path"`
	// InputSHA256 is the SHA-256 of the input file's bytes, 64 lower-case
	// hex digits, as the latest run recorded it; every run of a checkpoint has the
	// same one (BeginRun). "" before any run.
	InputSHA256 string `json:"input_sha256"`
	// InputSize is the input file's size in bytes, as the latest run
	// recorded it; 0 before any run.
	InputSize int64 `json:"input_size"`
	// Endpoint is the API endpoint of the job, "plain" or "encrypted" as
	// --endpoint takes it; every run of a checkpoint has the same one. ""
	// before any run.
	Endpoint string `json:"endpoint"`
	// BaseURL is the API's base URL the latest run called (it holds no
	// secret); "" before any run.
	BaseURL string `json:"base_url"`
	// Sandbox reports that the job's verdicts are simulated: every outcome
	// from a call is simulated, or, before any, the latest run was a
	// sandbox run. Simulated counts the rows whose outcome is simulated
	// (a job can mix them with real ones; the output marks each row).
	Sandbox bool `json:"sandbox"`
	// Simulated counts the valid rows whose outcome (not pending) came from
	// a simulated API; Simulated + RealRows is every valid row with an
	// outcome other than pending.
	Simulated int `json:"simulated"`
	// FirstAt is when the first run started; zero before any run.
	FirstAt time.Time `json:"first_at"`
	// LastAt is the latest of any run's start or end and the last call's
	// sending; zero before any run. In JSON, as FirstAt, RFC 3339 with
	// nanoseconds; the zero time is "0001-01-01T00:00:00Z".
	LastAt time.Time `json:"last_at"`
	// Runs counts the runs recorded (len(RunLog)); 0 before any run.
	Runs int `json:"runs"`
	// RealRows counts the rows whose outcome is real (not Simulated).
	RealRows int `json:"real_rows"`
	// RunLog lists every run, oldest first.
	RunLog []RunRecord `json:"run_log"`
	// Days splits the calls by the China calendar day they were sent on,
	// oldest first; their billed calls add up to BilledCalls.
	Days []DayCount `json:"days"`
	// InvalidReasons counts invalid rows by reason.
	InvalidReasons map[string]int `json:"invalid_reasons"`
	// Codes counts answered calls by the API's error_code.
	Codes map[int]int `json:"codes"`
}

// RunRecord is one run of the job, as the runs table and the ledger record
// it. Its JSON keys, in Status.RunLog, are part of the command line
// contract.
type RunRecord struct {
	// ID is the run's id in the runs table (BeginRun's result), positive
	// and increasing with each run of the checkpoint.
	ID int64 `json:"id"`
	// Started is when the run began (RunInfo.Started, or the time of
	// BeginRun), to the nanosecond; never zero for a recorded run.
	Started time.Time `json:"started_at"`
	// Ended is zero while the run goes on, or when its process died.
	Ended time.Time `json:"ended_at"`
	// Stop is why it ended: one of the Stop codes, empty when Ended is
	// zero.
	Stop string `json:"stop"`
	// Calls counts the HTTP calls the run recorded in the ledger, real and
	// simulated, answered or not.
	Calls int `json:"calls"`
	// Billed is the run's share of Status.BilledCalls: its calls to the
	// real API answered error_code 0.
	Billed int `json:"billed_calls"`
	// PossiblyBilled is the run's share of Status.PossiblyBilled: its real
	// calls that may have been billed without an intact answer, lost
	// answers included (but not the calls still in flight).
	PossiblyBilled int `json:"possibly_billed"`
	// SimulatedCalls is the run's share of Status.SimulatedCalls: its calls
	// answered by a simulated API or made in a sandbox run.
	SimulatedCalls int `json:"simulated_calls"`
	// SimulatedBilled is the run's share of Status.SimulatedBilled: its
	// simulated calls answered error_code 0.
	SimulatedBilled int `json:"simulated_billed"`
	// QPS is the most calls per second the run allowed itself (--qps).
	QPS float64 `json:"qps"`
	// Endpoint is the run's API endpoint, "plain" or "encrypted".
	Endpoint string `json:"endpoint"`
	// BaseURL is the API's base URL the run called (it holds no secret).
	BaseURL string `json:"base_url"`
	// KeyID identifies the run's API key without revealing it
	// (juhe.KeyID: "sha256:" and 12 hex digits); "" for a run recorded
	// before checkpoints kept it.
	KeyID string `json:"key_id"`
	// Sandbox is true for a run on the built-in simulated API (--sandbox):
	// its verdicts are not real and nothing it sent was billed.
	Sandbox bool `json:"sandbox"`
	// Version is the cardverify version that made the run, as stamped at
	// build time ("dev" for an unstamped build).
	Version string `json:"version"`
	// User is who ran it: the OS user unless the caller named another;
	// "" when unknown (or recorded before checkpoints kept it).
	User string `json:"user"`
	// Host is the host name of the machine it ran on; "" when unknown.
	Host string `json:"host"`
	// Command is the command line that started the run, each secret
	// flag's value (--key, --openid, --password) replaced by ***; "" for a
	// run started from the web console.
	Command string `json:"command"`
	// Output is the path of the output file the run writes (--out), as
	// given.
	Output string `json:"output"`
}

// DayCount is the calls sent on one China calendar day.
type DayCount struct {
	Day string `json:"day"` // 2006-01-02
	// Calls counts the calls sent that day (China time), real and
	// simulated, answered or not.
	Calls int `json:"calls"`
	// Billed counts that day's calls to the real API answered error_code
	// 0; summed over Status.Days it is Status.BilledCalls.
	Billed int `json:"billed_calls"`
	// PossiblyBilled counts that day's real calls that may have been billed
	// without an intact answer; summed over Status.Days it is
	// Status.PossiblyBilled.
	PossiblyBilled int `json:"possibly_billed"`
}

// Count returns the number of rows in status s.
func (st *Status) Count(s pipeline.Status) int {
	if p := st.count(s); p != nil {
		return *p
	}
	return 0
}

// count returns the field of st that counts the rows in status s, nil for
// no status.
func (st *Status) count(s pipeline.Status) *int {
	fields := [pipeline.NumStatuses]*int{pipeline.Match: &st.Match, pipeline.Mismatch: &st.Mismatch,
		pipeline.Invalid: &st.Invalid, pipeline.Rejected: &st.Rejected, pipeline.Deferred: &st.Deferred,
		pipeline.Failed: &st.Failed, pipeline.Pending: &st.Pending}
	if int(s) >= len(fields) {
		return nil
	}
	return fields[s]
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

// readStatus fills st from the checkpoint, in the read transaction tx.
func (db *DB) readStatus(ctx context.Context, tx *sql.Tx, st *Status) error {
	if err := readCounts(ctx, tx, st); err != nil {
		return err
	}
	if err := db.readRuns(ctx, tx, st); err != nil {
		return err
	}
	if err := readUnread(ctx, tx, st); err != nil {
		return err
	}
	latest, err := readLatestRun(ctx, tx, st)
	if err != nil {
		return err
	}
	// A job with outcomes is a sandbox job when none is real.
	if st.Simulated+st.RealRows > 0 {
		st.Sandbox = st.RealRows == 0
	}
	if err := db.readCalls(ctx, tx, st, db.inFlightRun(st, latest)); err != nil {
		return err
	}
	return readSpan(ctx, tx, st)
}

// rowCountsQuery counts, in one pass over the rows and their pairs'
// outcomes, the rows by status (an invalid row as invalid; a row whose
// pair has no outcome, or one this version does not know, as pending: the
// rest of count(*)), then NoVerdict, NoJobID, Simulated and RealRows. A
// GROUP BY would sort a million rows; sums of conditions do not. Each sum
// tests the columns themselves: a CASE giving a row's status, compared
// once for each status, cost a sixth more of Status (BenchmarkStatus).
var rowCountsQuery = func() string {
	var q strings.Builder
	q.WriteString("SELECT count(*)")
	for _, s := range pipeline.Statuses {
		switch s {
		case pipeline.Pending:
		case pipeline.Invalid:
			fmt.Fprintf(&q, ",\n\tcoalesce(sum(r.invalid IS NOT NULL OR o.status = '%s'), 0)", s)
		default:
			fmt.Fprintf(&q, ",\n\tcoalesce(sum(r.invalid IS NULL AND o.status = '%s'), 0)", s)
		}
	}
	q.WriteString(`,
	coalesce(sum(r.invalid IS NULL AND o.status = 'failed' AND o.answered AND o.code = 0), 0),
	coalesce(sum(r.invalid IS NULL AND o.status IN ('match', 'mismatch') AND o.jobid = ''), 0),
	coalesce(sum(CASE WHEN r.invalid IS NULL AND o.status <> 'pending' THEN o.simulated END), 0),
	coalesce(sum(CASE WHEN r.invalid IS NULL AND o.status <> 'pending' THEN NOT o.simulated END), 0)
FROM rows r LEFT JOIN outcomes o ON o.first_row = r.first_row`)
	return q.String()
}()

// readCounts counts the rows by status, with the other figures of
// rowCountsQuery, the invalid ones by reason, and the answered calls by
// error_code.
func readCounts(ctx context.Context, tx *sql.Tx, st *Status) error {
	dest := []any{&st.Rows}
	for _, s := range pipeline.Statuses {
		if s != pipeline.Pending {
			dest = append(dest, st.count(s))
		}
	}
	dest = append(dest, &st.NoVerdict, &st.NoJobID, &st.Simulated, &st.RealRows)
	if err := tx.QueryRowContext(ctx, rowCountsQuery).Scan(dest...); err != nil {
		return err
	}
	st.Pending = st.Rows
	for _, s := range pipeline.Statuses {
		if s != pipeline.Pending {
			st.Pending -= st.Count(s)
		}
	}
	err := countBy(ctx, tx, "SELECT invalid, count(*) FROM rows WHERE invalid IS NOT NULL GROUP BY invalid",
		func(reason string, n int) { st.InvalidReasons[reason] = n })
	if err != nil {
		return err
	}
	return countBy(ctx, tx, "SELECT code, count(*) FROM answers WHERE answered = 1 GROUP BY code",
		func(code int, n int) { st.Codes[code] = n })
}

// countBy runs query, whose rows are a key and a count, and gives each to
// add.
func countBy[K any](ctx context.Context, tx *sql.Tx, query string, add func(K, int)) error {
	rs, err := tx.QueryContext(ctx, query)
	if err != nil {
		return err
	}
	return scanEach(rs, func(rs *sql.Rows) error {
		var k K
		var n int
		if err := rs.Scan(&k, &n); err != nil {
			return err
		}
		add(k, n)
		return nil
	})
}

// readLatestRun sets what the latest run recorded of the input and the API,
// and returns its id (0 before any run). st.RunLog is read.
func readLatestRun(ctx context.Context, tx *sql.Tx, st *Status) (int64, error) {
	n := len(st.RunLog)
	if n == 0 {
		return 0, nil
	}
	r := st.RunLog[n-1]
	st.Runs = n
	st.Endpoint, st.Sandbox = r.Endpoint, r.Sandbox
	err := tx.QueryRowContext(ctx, "SELECT input_path, input_sha256, input_size, base_url FROM runs WHERE id = ?", r.ID).
		Scan(&st.InputPath, &st.InputSHA256, &st.InputSize, &st.BaseURL)
	return r.ID, err
}

// inFlightRun returns the run whose unanswered calls are in flight, not
// lost: this process's run, or the latest one when another process holds
// the lock; -1 when none runs. It sets st.Running.
func (db *DB) inFlightRun(st *Status, latest int64) int64 {
	switch {
	case !db.readOnly:
		st.Running = true
		if r := db.run.Load(); r != 0 {
			return r
		}
	case locked(db.abs()):
		st.Running = true
		return latest
	}
	return -1
}

// readSpan sets FirstAt and LastAt from the runs (st.RunLog) and the last
// call.
func readSpan(ctx context.Context, tx *sql.Tx, st *Status) error {
	var lastCall sql.NullString
	err := tx.QueryRowContext(ctx, "SELECT sent_at FROM calls ORDER BY id DESC LIMIT 1").Scan(&lastCall)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	for _, r := range st.RunLog {
		if st.FirstAt.IsZero() || r.Started.Before(st.FirstAt) {
			st.FirstAt = r.Started
		}
		for _, t := range []time.Time{r.Started, r.Ended} {
			if t.After(st.LastAt) {
				st.LastAt = t
			}
		}
	}
	if t := parseTime(lastCall); t.After(st.LastAt) {
		st.LastAt = t
	}
	return nil
}

// readRuns reads the runs table into st.RunLog, oldest first.
func (db *DB) readRuns(ctx context.Context, tx *sql.Tx, st *Status) error {
	rs, err := tx.QueryContext(ctx, `SELECT id, started_at, ended_at, stop, qps, endpoint, base_url, key_id, sandbox, version,
			os_user, host, command, output
		FROM runs ORDER BY id`)
	if err != nil {
		return err
	}
	return scanEach(rs, func(rs *sql.Rows) error {
		var r RunRecord
		var started, ended sql.NullString
		err := rs.Scan(&r.ID, &started, &ended, &r.Stop, &r.QPS, &r.Endpoint, &r.BaseURL, &r.KeyID, &r.Sandbox, &r.Version,
			&r.User, &r.Host, &r.Command, &r.Output)
		r.Started, r.Ended = parseTime(started), parseTime(ended)
		st.RunLog = append(st.RunLog, r)
		return err
	})
}

// readUnread counts the rows of the input that no run has read, as the
// output holds them: the latest count of the input's rows (and of its
// invalid rows) less the rows recorded. Once a run has read every row
// (read_all) there are none.
func readUnread(ctx context.Context, tx *sql.Tx, st *Status) error {
	var readAll bool
	var counted, invalid sql.NullInt64
	err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM runs WHERE read_all), r.input_rows, r.input_invalid
		FROM (SELECT 1) LEFT JOIN (SELECT input_rows, input_invalid FROM runs WHERE input_rows IS NOT NULL ORDER BY id DESC LIMIT 1) r`).
		Scan(&readAll, &counted, &invalid)
	switch {
	case err != nil:
		return err
	case readAll || len(st.RunLog) == 0:
	case !counted.Valid:
		st.Uncounted = true
	case int(counted.Int64) > st.Rows:
		st.Unread = int(counted.Int64) - st.Rows
		bad := min(max(int(invalid.Int64)-st.Invalid, 0), st.Unread)
		st.Rows += st.Unread
		st.Invalid += bad
		st.Pending += st.Unread - bad
	}
	return nil
}

// SetInputRows records that the input of run runID has n data rows, invalid
// of them invalid (as the reader yields them, with the run's options), so
// that Status counts the rows not read yet as the output holds them. It
// returns once the record is durable.
func (db *DB) SetInputRows(ctx context.Context, runID int64, n, invalid int) error {
	return db.updateRun(ctx, fmt.Sprintf("record the rows of run %d's input", runID),
		"UPDATE runs SET input_rows = ?, input_invalid = ? WHERE id = ?", n, invalid, runID)
}

// SetInputDigest records the SHA-256 (hex) and size of run runID's input,
// for a run that began without them (RunInfo.InputSHA256 empty): a first
// run, whose input is digested beside its first calls. Durable when it
// returns.
func (db *DB) SetInputDigest(ctx context.Context, runID int64, sha256 string, size int64) error {
	return db.updateRun(ctx, fmt.Sprintf("record the digest of run %d's input", runID),
		"UPDATE runs SET input_sha256 = ?, input_size = ? WHERE id = ?", sha256, size, runID)
}

// InputRows returns the latest recorded count of the input's data rows
// (SetInputRows), and whether there is one.
func (db *DB) InputRows(ctx context.Context) (int, bool, error) {
	var n sql.NullInt64
	err := db.rdb.QueryRowContext(ctx, "SELECT input_rows FROM runs WHERE input_rows IS NOT NULL ORDER BY id DESC LIMIT 1").Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("read checkpoint %s runs: %w", db.path, err)
	}
	return int(n.Int64), n.Valid, nil
}

// possiblyBilled is the SQL condition of a ledger call (c, with its answer
// a or none) that may have been billed without an intact answer: no answer
// recorded (a lost answer), or an answer that is not the vendor's after the
// call may have reached it.
const possiblyBilled = "(a.call IS NULL OR a.possibly_billed = 1)"

// simulatedCall is the SQL condition of a ledger call (c, with its answer a
// or none, and its run r) that no vendor bills: answered by a simulated API,
// or made by a sandbox run, whose API is in the process.
const simulatedCall = "(coalesce(a.simulated, 0) = 1 OR coalesce(r.sandbox, 0) = 1)"

// callFigures are the aggregates readCalls takes of a group of ledger
// calls (c, with its answer a or none, and its run r): calls, billed,
// lost, in flight, possibly billed, simulated and simulated billed, in
// that order. ?1 is the run whose unanswered calls are in flight.
const callFigures = `count(*), coalesce(sum(a.billed AND NOT ` + simulatedCall + `), 0),
	coalesce(sum(a.call IS NULL AND coalesce(c.run, 0) <> ?1), 0), coalesce(sum(a.call IS NULL AND coalesce(c.run, 0) = ?1), 0),
	coalesce(sum(` + possiblyBilled + ` AND NOT (a.call IS NULL AND coalesce(c.run, 0) = ?1) AND NOT ` + simulatedCall + `), 0),
	coalesce(sum(` + simulatedCall + `), 0), coalesce(sum(a.billed AND ` + simulatedCall + `), 0)`

// callGroup is callFigures of one run's calls on one China day.
type callGroup struct {
	run                                                           int64
	day                                                           string
	mixed                                                         bool // calls of several runs, to be grouped by run
	calls, billed, lost, inFlight, possibly, simulated, simBilled int
}

func (g *callGroup) figures() []any {
	return []any{&g.calls, &g.billed, &g.lost, &g.inFlight, &g.possibly, &g.simulated, &g.simBilled}
}

// readCalls counts the ledger's calls into st: in all, per run and per
// China day; billed and possibly billed count real calls only. Calls of
// run inFlightRun without an answer are in flight: neither lost nor
// possibly billed yet.
//
// One pass in day order (the calls_day index, no sort) takes each day's
// figures and the span of its runs' ids. A day whose calls are all of one
// run, as a day's calls are unless a run was resumed that day, is that
// run's group; only the other days' calls are grouped by run, which sorts
// them.
func (db *DB) readCalls(ctx context.Context, tx *sql.Tx, st *Status, inFlightRun int64) error {
	rs, err := tx.QueryContext(ctx, `SELECT c.day, min(coalesce(c.run, 0)), max(coalesce(c.run, 0)), `+callFigures+`
		FROM calls c LEFT JOIN answers a ON a.call = c.id LEFT JOIN runs r ON r.id = c.run
		GROUP BY c.day ORDER BY c.day`, inFlightRun)
	if err != nil {
		return err
	}
	var groups []callGroup
	var mixed []string // the days of several runs
	err = scanEach(rs, func(rs *sql.Rows) error {
		var g callGroup
		var last int64
		if err := rs.Scan(append([]any{&g.day, &g.run, &last}, g.figures()...)...); err != nil {
			return err
		}
		if g.mixed = g.run != last; g.mixed {
			mixed = append(mixed, g.day)
		}
		groups = append(groups, g)
		return nil
	})
	if err != nil {
		return err
	}
	if len(mixed) > 0 {
		if groups, err = readMixedDays(ctx, tx, groups, mixed, inFlightRun); err != nil {
			return err
		}
	}
	addCalls(st, groups)
	return nil
}

// readMixedDays replaces the groups of the days whose calls are of several
// runs (mixed) by the day's groups by run, in run order.
func readMixedDays(ctx context.Context, tx *sql.Tx, groups []callGroup, days []string, inFlightRun int64) ([]callGroup, error) {
	byDay := make(map[string][]callGroup, len(days))
	for _, day := range days {
		rs, err := tx.QueryContext(ctx, `SELECT coalesce(c.run, 0) AS run, `+callFigures+`
			FROM calls c LEFT JOIN answers a ON a.call = c.id LEFT JOIN runs r ON r.id = c.run
			WHERE c.day = ?2 GROUP BY run ORDER BY run`, inFlightRun, day)
		if err != nil {
			return nil, err
		}
		err = scanEach(rs, func(rs *sql.Rows) error {
			g := callGroup{day: day}
			if err := rs.Scan(append([]any{&g.run}, g.figures()...)...); err != nil {
				return err
			}
			byDay[day] = append(byDay[day], g)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	var out []callGroup
	for _, g := range groups {
		if g.mixed {
			out = append(out, byDay[g.day]...)
		} else {
			out = append(out, g)
		}
	}
	return out, nil
}

// addCalls adds the groups, in day order, to st's totals, runs and days.
func addCalls(st *Status, groups []callGroup) {
	runs := make(map[int64]*RunRecord, len(st.RunLog))
	for i := range st.RunLog {
		runs[st.RunLog[i].ID] = &st.RunLog[i]
	}
	for _, g := range groups {
		st.Calls += g.calls
		st.SimulatedCalls += g.simulated
		st.SimulatedBilled += g.simBilled
		st.BilledCalls += g.billed
		st.LostAnswers += g.lost
		st.InFlight += g.inFlight
		st.PossiblyBilled += g.possibly
		if r := runs[g.run]; r != nil {
			r.Calls += g.calls
			r.Billed += g.billed
			r.PossiblyBilled += g.possibly
			r.SimulatedCalls += g.simulated
			r.SimulatedBilled += g.simBilled
		}
		if n := len(st.Days); n == 0 || st.Days[n-1].Day != g.day {
			st.Days = append(st.Days, DayCount{Day: g.day})
		}
		d := &st.Days[len(st.Days)-1]
		d.Calls += g.calls
		d.Billed += g.billed
		d.PossiblyBilled += g.possibly
	}
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
