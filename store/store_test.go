package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cardverify/cardverify/pipeline"
	"github.com/cardverify/cardverify/pipeline/msg"
)

func TestMigrationsFromEmpty(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "job.db")
	db, err := Open(ctx, path, testKeyFile(path))
	if err != nil {
		t.Fatal(err)
	}
	fp := db.Fingerprint("王伟", "6222020000000001")
	latest, _ := latestVersion()
	if v, _ := userVersion(ctx, db.rdb); v != latest || latest < 1 {
		t.Errorf("user_version = %d, want %d", v, latest)
	}
	for _, suffix := range []string{"", "-wal", "-shm", "-lock"} {
		fi, err := os.Stat(path + suffix)
		if err != nil {
			t.Errorf("stat %s: %v", suffix, err)
			continue
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode = %v, want 0600", path+suffix, fi.Mode().Perm())
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	// Re-opening is a no-op: same version, same key.
	db = openT(t, path)
	if v, _ := userVersion(ctx, db.rdb); v != latest {
		t.Errorf("after re-open user_version = %d, want %d", v, latest)
	}
	if got := db.Fingerprint("王伟", "6222020000000001"); got != fp {
		t.Error("the fingerprint key changed on re-open")
	}
	if n := queryInt(t, rawDB(t, path), "SELECT count(*) FROM meta"); n != 1 {
		t.Errorf("meta has %d rows, want 1", n)
	}
}

func TestMigrationNames(t *testing.T) {
	if _, err := migrationNames(); err != nil {
		t.Fatal(err)
	}
}

func TestOpenRefuses(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()

	notDB := filepath.Join(dir, "notes.txt")
	os.WriteFile(notDB, bytes.Repeat([]byte("not a database\n"), 100), 0o644)
	link := filepath.Join(dir, "link.db")
	if err := os.Symlink(notDB, link); err != nil {
		t.Fatal(err)
	}
	otherDB := filepath.Join(dir, "other.sqlite")
	q, err := sql.Open("sqlite3", otherDB)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Exec("CREATE TABLE contacts (name TEXT); INSERT INTO contacts VALUES ('王伟')"); err != nil {
		t.Fatal(err)
	}
	q.Close()
	os.Chmod(otherDB, 0o644)
	newer := filepath.Join(dir, "newer.db")
	db := openT(t, newer)
	db.Close()
	q, err = sql.Open("sqlite3", newer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Exec("PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	q.Close()
	empty := filepath.Join(dir, "empty.db")
	os.WriteFile(empty, nil, 0o600)

	rw := func(ctx context.Context, p string) (*DB, error) { return Open(ctx, p, testKeyFile(p)) }
	ro := func(ctx context.Context, p string) (*DB, error) { return OpenReadOnly(ctx, p, testKeyFile(p)) }
	for _, tc := range []struct {
		name, path string
		open       func(context.Context, string) (*DB, error)
		untouched  bool // nothing at or beside path changes
	}{
		{"not a database", notDB, rw, true},
		{"symlink to a file that is not a database", link, rw, true},
		{"another program's SQLite database", otherDB, rw, true},
		{"a directory", t.TempDir(), rw, true},
		{"not a database read-only", notDB, ro, true},
		{"newer schema", newer, rw, false},
		{"newer schema read-only", newer, ro, false},
		{"empty file read-only", empty, ro, false},
		{"missing file read-only", filepath.Join(dir, "missing.db"), ro, false},
		{"missing directory", filepath.Join(dir, "no", "such", "dir", "job.db"), rw, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := listDir(t, filepath.Dir(tc.path))
			db, err := tc.open(ctx, tc.path)
			if err == nil {
				db.Close()
				t.Fatalf("opened %s", tc.path)
			}
			wantInputError(t, err, 0)
			if after := listDir(t, filepath.Dir(tc.path)); tc.untouched && after != before {
				t.Errorf("refusing %s changed its directory:\nbefore %s\nafter  %s", tc.path, before, after)
			}
		})
	}
}

// listDir describes every entry of dir with its mode, size and target.
func listDir(tb testing.TB, dir string) string {
	tb.Helper()
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return "no directory"
	}
	if err != nil {
		tb.Fatal(err)
	}
	var b strings.Builder
	for _, e := range ents {
		fi, err := os.Lstat(filepath.Join(dir, e.Name()))
		if err != nil {
			tb.Fatal(err)
		}
		target, _ := os.Readlink(filepath.Join(dir, e.Name()))
		fmt.Fprintf(&b, "%s %v %d %s; ", e.Name(), fi.Mode(), fi.Size(), target)
		if fi.Mode()&fs.ModeSymlink != 0 {
			if ti, err := os.Stat(filepath.Join(dir, e.Name())); err == nil {
				fmt.Fprintf(&b, "-> %v %d; ", ti.Mode(), ti.Size())
			}
		}
	}
	return b.String()
}

func TestPlan(t *testing.T) {
	ctx := context.Background()
	db, _ := tempDB(t)
	rows := []pipeline.Row{
		{Row: 2, Name: "王伟", Card: "6222021234567890123"},
		{Row: 3, Name: "李娜", Card: "6217001234567890"},
		{Row: 4, Name: "王伟", Card: "6222021234567890123"}, // duplicate of 2
		{Row: 5, Name: "", Card: "6217001234567890", Invalid: "name is empty"},
		{Row: 7, Name: "李娜", Card: "6217001234567890"}, // duplicate of 3
	}
	known := plan(t, db, rows, 2) // batches [2 3] [4 5] [7]: duplicates across batches
	wantFirst := []int{2, 3, 2, 0, 3}
	for i, k := range known {
		if k.FirstRow != wantFirst[i] {
			t.Errorf("row %d: FirstRow = %d, want %d", rows[i].Row, k.FirstRow, wantFirst[i])
		}
		if rows[i].Invalid != "" {
			if k != (pipeline.Known{}) {
				t.Errorf("invalid row %d: Known = %+v, want zero", rows[i].Row, k)
			}
			continue
		}
		if k.Pair != db.Fingerprint(rows[i].Name, rows[i].Card) || k.CardKey != db.CardFingerprint(rows[i].Card) {
			t.Errorf("row %d: fingerprints differ from Fingerprint/CardFingerprint", rows[i].Row)
		}
		if k.Prior.Status != pipeline.Pending || k.Prior.FirstRow != k.FirstRow {
			t.Errorf("row %d: Prior = %+v, want Pending of row %d", rows[i].Row, k.Prior, k.FirstRow)
		}
	}
	if known[1].CardKey != known[4].CardKey || known[0].CardKey == known[1].CardKey {
		t.Error("card fingerprints do not follow the card")
	}
	if known[0].Pair == db.CardFingerprint(rows[0].Card) {
		t.Error("pair and card fingerprints are not domain-separated")
	}

	got := results(t, db)
	want := []struct {
		row, dupOf int
		status     pipeline.Status
		masked     string
	}{
		{2, 0, pipeline.Pending, "622202*********0123"},
		{3, 0, pipeline.Pending, "621700******7890"},
		{4, 2, pipeline.Pending, "622202*********0123"},
		{5, 0, pipeline.Invalid, "621700******7890"},
		{7, 3, pipeline.Pending, "621700******7890"},
	}
	if len(got) != len(want) {
		t.Fatalf("Results gave %d rows, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Row != w.row || g.DupOf != w.dupOf || g.Status != w.status || g.Masked != w.masked {
			t.Errorf("result %d = row %d dupOf %d %v %q, want row %d dupOf %d %v %q",
				i, g.Row, g.DupOf, g.Status, g.Masked, w.row, w.dupOf, w.status, w.masked)
		}
	}
	if got[3].Reason != "name is empty" || got[3].Pair != (pipeline.Key{}) {
		t.Errorf("invalid row result = %+v", got[3])
	}

	// Planning the same rows again (a resume) gives the same answers.
	again := plan(t, db, rows, len(rows))
	for i := range known {
		if again[i] != known[i] {
			t.Errorf("row %d re-planned: %+v, want %+v", rows[i].Row, again[i], known[i])
		}
	}
	_ = ctx
}

// TestPlanSeesUncommitted stops the writer, so that nothing Plan or End
// queue is committed, and checks that Plan still sees it all.
func TestPlanSeesUncommitted(t *testing.T) {
	ctx := context.Background()
	db, path := tempDB(t)
	release := block(t, db)

	rows := people(6, 0, 1)
	known := plan(t, db, rows[:3], 3)
	o := outcome(known[0].FirstRow, pipeline.Match, base)
	c := pipeline.Call{FirstRow: known[0].FirstRow, Pair: known[0].Pair, CardKey: known[0].CardKey}
	if err := db.End(ctx, 0, c, &o); err != nil {
		t.Fatal(err)
	}
	// Rows 8 and 9 repeat the pairs of rows 2 and 3.
	next := append(rows[3:], pipeline.Row{Row: 8, Name: rows[0].Name, Card: rows[0].Card},
		pipeline.Row{Row: 9, Name: rows[1].Name, Card: rows[1].Card})
	k2 := plan(t, db, next, len(next))
	if k2[3].FirstRow != 2 || k2[4].FirstRow != 3 {
		t.Errorf("duplicates of uncommitted pairs: FirstRow %d, %d, want 2, 3", k2[3].FirstRow, k2[4].FirstRow)
	}
	if k2[3].Prior.Status != pipeline.Match || k2[3].Prior.JobID != o.JobID || !k2[3].Prior.At.Equal(base) {
		t.Errorf("uncommitted outcome: Prior = %+v, want %+v", k2[3].Prior, o)
	}
	if k2[4].Prior.Status != pipeline.Pending {
		t.Errorf("row 9: Prior = %v, want pending", k2[4].Prior.Status)
	}
	if n := queryInt(t, rawDB(t, path), "SELECT count(*) FROM rows"); n != 0 {
		t.Fatalf("%d rows committed while the writer was blocked", n)
	}

	release()
	if err := db.flush(ctx); err != nil {
		t.Fatal(err)
	}
	np, no := db.q.ov.size()
	if np != 0 || no != 0 {
		t.Errorf("after commit the overlay holds %d pairs, %d outcomes; want none", np, no)
	}
	k3 := plan(t, db, next[3:], 2)
	if k3[0].FirstRow != 2 || k3[0].Prior.Status != pipeline.Match {
		t.Errorf("after commit: %+v", k3[0])
	}
}

func TestPlanRefusesChangedRows(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "job.db")
	db := openT(t, path)
	rows := people(10, 0, 2)
	rows[4].Invalid = "card number is too short"
	plan(t, db, rows, 4)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		edit func(rows []pipeline.Row)
		row  int
	}{
		{"card edited", func(r []pipeline.Row) { r[6].Card = "6222020000000009" }, 8},
		{"name edited", func(r []pipeline.Row) { r[2].Name += "x" }, 4},
		{"invalid row now valid", func(r []pipeline.Row) { r[4].Invalid = "" }, 6},
		{"valid row now invalid", func(r []pipeline.Row) { r[1].Invalid = "name is empty" }, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := openT(t, path)
			edited := append([]pipeline.Row(nil), rows...)
			tc.edit(edited)
			err := db.Plan(ctx, edited, make([]pipeline.Known, len(edited)))
			ie := wantInputError(t, err, tc.row)
			if msg.Text("en", ie.Msg) != "the input changed since the checkpoint was written" || !strings.Contains(msg.Text("en", ie.Hint), "--db") {
				t.Errorf("error = %v", err)
			}
			db.Close()
		})
	}
}

func TestBeginDurableAndCardLimit(t *testing.T) {
	ctx := context.Background()
	db, path := tempDB(t)
	known := plan(t, db, people(3, 0, 3), 3)
	raw := rawDB(t, path)
	k := known[0]

	call := func(at time.Time) (int64, error) {
		return db.Begin(ctx, pipeline.Call{FirstRow: k.FirstRow, Pair: k.Pair, CardKey: k.CardKey, Attempt: 1, SentAt: at}, pipeline.CardDailyLimit)
	}
	for i := range 3 {
		id, err := call(base.Add(time.Duration(i) * time.Hour))
		if err != nil {
			t.Fatalf("Begin %d: %v", i+1, err)
		}
		// Durable: another connection sees it the moment Begin returns.
		if n := queryInt(t, raw, "SELECT count(*) FROM calls WHERE id = ?", id); n != 1 {
			t.Fatalf("call %d is not committed when Begin returns", id)
		}
	}
	// 23:59 China time is still the same day; 00:00 the next is not.
	sameDay := time.Date(2026, 11, 27, 23, 59, 0, 0, time.FixedZone("CST", 8*3600))
	if _, err := call(sameDay); !errors.Is(err, pipeline.ErrCardLimit) {
		t.Fatalf("4th Begin of the day: err = %v, want ErrCardLimit", err)
	}
	if n := queryInt(t, raw, "SELECT count(*) FROM calls"); n != 3 {
		t.Errorf("the refused call was recorded: %d calls", n)
	}
	if _, err := call(sameDay.Add(time.Minute)); err != nil {
		t.Errorf("Begin on the next China day: %v", err)
	}
	// Another card is not limited by this one.
	if _, err := db.Begin(ctx, pipeline.Call{FirstRow: known[1].FirstRow, Pair: known[1].Pair, CardKey: known[1].CardKey, SentAt: base}, pipeline.CardDailyLimit); err != nil {
		t.Errorf("Begin of another card: %v", err)
	}
}

func TestConcurrentBeginsOneCard(t *testing.T) {
	ctx := context.Background()
	db, _ := tempDB(t)
	// Ten pairs with the same card (different names).
	var rows []pipeline.Row
	for i := range 10 {
		rows = append(rows, pipeline.Row{Row: i + 2, Name: string(rune('甲' + i)), Card: "6222021111111111"})
	}
	known := plan(t, db, rows, 10)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var ok, limited int
	for _, k := range known {
		wg.Go(func() {
			_, err := db.Begin(ctx, pipeline.Call{FirstRow: k.FirstRow, Pair: k.Pair, CardKey: k.CardKey, Attempt: 1, SentAt: base}, pipeline.CardDailyLimit)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, pipeline.ErrCardLimit):
				limited++
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if ok != 3 || limited != 7 {
		t.Errorf("%d Begins succeeded and %d hit the limit, want 3 and 7", ok, limited)
	}
}

// TestCardDailyLimitOption checks that Begin applies the limit it is given,
// whatever it is: the store has no limit of its own.
func TestCardDailyLimitOption(t *testing.T) {
	ctx := context.Background()
	db, _ := tempDB(t)
	known := plan(t, db, people(1, 0, 4), 1)
	k := known[0]
	for _, tc := range []struct {
		limit, want int
	}{{1, 1}, {0, 5}} { // 0: no limit
		t.Run("", func(t *testing.T) {
			day := base.AddDate(0, 0, tc.limit+10)
			got := 0
			for range 5 {
				if _, err := db.Begin(ctx, pipeline.Call{FirstRow: k.FirstRow, Pair: k.Pair, CardKey: k.CardKey, SentAt: day}, tc.limit); err == nil {
					got++
				}
			}
			if got != tc.want {
				t.Errorf("limit %d: %d of 5 Begins succeeded, want %d", tc.limit, got, tc.want)
			}
		})
	}
}

// TestManyEnds queues many answers from concurrent workers and checks that
// Close makes them all durable.
func TestManyEnds(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "job.db")
	db := openT(t, path)
	n := 3000
	if testing.Short() {
		n = 500
	}
	rows := people(n, 0, 5)
	known := plan(t, db, rows, 512)
	ids := make([]int64, n)
	for i, k := range known {
		id, err := db.Begin(ctx, pipeline.Call{FirstRow: k.FirstRow, Pair: k.Pair, CardKey: k.CardKey, Attempt: 1, SentAt: base}, pipeline.CardDailyLimit)
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id
	}
	statuses := []pipeline.Status{pipeline.Match, pipeline.Mismatch, pipeline.Rejected, pipeline.Deferred, pipeline.Failed}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < n; i += 8 {
				k := known[i]
				o := outcome(k.FirstRow, statuses[i%len(statuses)], base.Add(time.Duration(i)*time.Millisecond))
				c := pipeline.Call{FirstRow: k.FirstRow, Pair: k.Pair, CardKey: k.CardKey, Attempt: 1, SentAt: base,
					Duration: time.Second, HTTPStatus: 200, Code: o.Code, Answered: o.Answered, Billed: o.Status.Billed(), JobID: o.JobID}
				if err := db.End(ctx, ids[i], c, &o); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	ro, err := OpenReadOnly(ctx, path, testKeyFile(path))
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	got := results(t, ro)
	if len(got) != n {
		t.Fatalf("%d results, want %d", len(got), n)
	}
	for i, r := range got {
		want := outcome(known[i].FirstRow, statuses[i%len(statuses)], base.Add(time.Duration(i)*time.Millisecond))
		if r.Status != want.Status || r.JobID != want.JobID || r.Code != want.Code || !r.At.Equal(want.At) || r.Reason != want.Reason {
			t.Fatalf("row %d: got %+v, want %+v", r.Row, r.Outcome, want)
		}
	}
	st, err := ro.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	per := n / len(statuses)
	if st.Rows != n || st.Match != per || st.Failed != per || st.Calls != n || st.BilledCalls != 2*per || st.LostAnswers != 0 || st.Pending != 0 {
		t.Errorf("status = %+v", st)
	}
	if st.Codes[0] != 2*per || st.Codes[218866] != per || st.Codes[218806] != per {
		t.Errorf("codes = %v", st.Codes)
	}
}

// TestResume closes a checkpoint with outcomes of every kind, re-opens it
// and checks what a resumed run is told.
func TestResume(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "job.db")
	db := openT(t, path)
	rows := people(8, 4, 6) // row 5 repeats row 3, row 9 repeats row 7
	rows[5].Invalid = "card number is too short"
	known := plan(t, db, rows, 3)
	set := map[int]pipeline.Status{2: pipeline.Match, 3: pipeline.Deferred, 4: pipeline.Failed, 6: pipeline.Mismatch}
	for i, k := range known {
		if s, ok := set[rows[i].Row]; ok {
			answer(t, db, k, s, base)
		}
	}
	// A call sent again for row 4 that failed once more, in a later run:
	// the newest outcome replaces the older one.
	later := base.Add(24 * time.Hour)
	o4 := outcome(4, pipeline.Failed, later)
	o4.Attempts = 6
	if err := db.End(ctx, 0, pipeline.Call{FirstRow: 4, Pair: known[2].Pair, CardKey: known[2].CardKey}, &o4); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = openT(t, path)
	again := plan(t, db, rows, 5)
	want := map[int]struct {
		first  int
		status pipeline.Status
	}{
		2: {2, pipeline.Match}, 3: {3, pipeline.Deferred}, 4: {4, pipeline.Failed}, 5: {3, pipeline.Deferred},
		6: {6, pipeline.Mismatch}, 8: {8, pipeline.Pending},
		// Row 9 repeats the pair of row 7, which is invalid: it joins no
		// pair, so row 9 is the first of its own.
		9: {9, pipeline.Pending},
	}
	for i, k := range again {
		w, ok := want[rows[i].Row]
		if !ok {
			continue
		}
		if k.FirstRow != w.first || k.Prior.Status != w.status {
			t.Errorf("row %d: FirstRow %d Prior %v, want %d %v", rows[i].Row, k.FirstRow, k.Prior.Status, w.first, w.status)
		}
	}
	if p := again[2].Prior; p.Attempts != 6 || !p.At.Equal(later) || p.Reason != "HTTP 502" {
		t.Errorf("row 4 Prior = %+v, want the later failure", p)
	}
	if p := again[1].Prior; p.Code != 218866 || !p.Answered || !p.At.Equal(base) || p.FirstRow != 3 {
		t.Errorf("row 3 Prior = %+v", p)
	}
	if again[6].Prior.FirstRow != 8 || again[7].Prior.FirstRow != 9 {
		t.Errorf("pending rows: Prior.FirstRow = %d, %d, want 8, 9", again[6].Prior.FirstRow, again[7].Prior.FirstRow)
	}
	st, err := db.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Rows != 8 || st.Match != 1 || st.Mismatch != 1 || st.Deferred != 2 || st.Failed != 1 || st.Invalid != 1 || st.Pending != 2 {
		t.Errorf("status = %+v", st)
	}
	if st.InvalidReasons["card number is too short"] != 1 {
		t.Errorf("invalid reasons = %v", st.InvalidReasons)
	}
}

func TestBeginRunRefusesChangedInput(t *testing.T) {
	ctx := context.Background()
	db, _ := tempDB(t)
	ri := RunInfo{InputPath: "list.xlsx", InputSize: 100, InputSHA256: strings.Repeat("ab", 32), Endpoint: "plain",
		Version: "test", QPS: 5, Started: base}
	id1, err := db.BeginRun(ctx, ri)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.EndRun(ctx, id1, base.Add(time.Hour), StopDone); err != nil {
		t.Fatal(err)
	}
	ri.Started = base.Add(2 * time.Hour)
	id2, err := db.BeginRun(ctx, ri) // the same file: a resume
	if err != nil || id2 == id1 {
		t.Fatalf("resume: id %d, %v", id2, err)
	}
	edited := ri
	edited.InputSHA256 = strings.Repeat("cd", 32)
	_, err = db.BeginRun(ctx, edited)
	ie := wantInputError(t, err, 0)
	for _, s := range []string{"cdcdcdcdcdcd", "abababababab", "--db"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %s", ie, s)
		}
	}
	if strings.Contains(err.Error(), strings.Repeat("ab", 7)) {
		t.Errorf("error %q quotes more than 12 hex digits", err)
	}
	st, err := db.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Runs != 2 || !st.FirstAt.Equal(base) || !st.LastAt.Equal(base.Add(2*time.Hour)) || st.InputSHA256 != ri.InputSHA256 || st.Endpoint != "plain" {
		t.Errorf("status = %+v", st)
	}
}

// TestNoPlaintext writes a checkpoint with many rows, calls and answers,
// then searches the raw bytes of the database, -wal and -shm files for
// every name, every card number and the middle six digits of every card.
// Every time the test stores is in whole seconds, so that no run of digits
// in a time can match a card's by chance.
func TestNoPlaintext(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "job.db")
	db := openT(t, path)
	n := 12000 // more than two chunks of Results
	if testing.Short() {
		n = 2000
	}
	rows := people(n, 7, 7)
	for i := 10; i < len(rows); i += 97 {
		rows[i].Invalid = "card number fails validation"
	}
	known := plan(t, db, rows, 700)
	var wg sync.WaitGroup
	for w := range 8 { // concurrent workers, so that their Begins share commits
		wg.Go(func() {
			for i := w * 5; i < len(known); i += 8 * 5 {
				if k := known[i]; k.FirstRow == rows[i].Row {
					answer(t, db, k, pipeline.Statuses[i%len(pipeline.Statuses)], base.Add(time.Duration(i)*time.Second))
				}
			}
		})
	}
	wg.Wait()
	if err := db.flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := results(t, db); len(got) != n {
		t.Fatalf("%d results, want %d", len(got), n)
	}
	var needles []string
	for _, r := range rows {
		mid := r.Card[(len(r.Card)-6)/2:][:6]
		needles = append(needles, r.Name, r.Card, mid)
	}
	search := func(when string) {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			b, err := os.ReadFile(path + suffix)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			if len(b) == 0 && suffix == "-wal" && when == "open" {
				t.Fatal("no -wal file to search while open")
			}
			for i, s := range findAll(b, needles) {
				if i == 5 {
					break
				}
				at := bytes.Index(b, []byte(s))
				t.Errorf("%s: %s holds plaintext %q at %d: %q", when, filepath.Base(path+suffix), s, at, b[max(at-40, 0):min(at+40, len(b))])
			}
		}
	}
	search("open")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	search("closed")
}

// TestSecondOpenRefused: flock locks belong to an open file description, so
// a second Open in the same process conflicts too.
func TestSecondOpenRefused(t *testing.T) {
	ctx := context.Background()
	db, path := tempDB(t)
	_, err := Open(ctx, path, testKeyFile(path))
	ie := wantInputError(t, err, 0)
	if !strings.Contains(msg.Text("en", ie.Msg), "in use by another cardverify process") || !strings.Contains(msg.Text("en", ie.Msg), "pid "+itoa(os.Getpid())) {
		t.Errorf("error = %v", err)
	}
	// Reports still work beside the run.
	ro, err := OpenReadOnly(ctx, path, testKeyFile(path))
	if err != nil {
		t.Fatal(err)
	}
	st, err := ro.Status(ctx)
	if err != nil || !st.Running {
		t.Errorf("read-only status beside a run: %+v, %v", st, err)
	}
	ro.Close()
	db.Close()
	db2, err := Open(ctx, path, testKeyFile(path))
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	db2.Close()
}

func TestReadOnlyRefusesWrites(t *testing.T) {
	ctx := context.Background()
	db, path := tempDB(t)
	plan(t, db, people(3, 0, 8), 3)
	db.Close()
	ro, err := OpenReadOnly(ctx, path, testKeyFile(path))
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	rows := people(3, 0, 8)
	if err := ro.Plan(ctx, rows, make([]pipeline.Known, 3)); err == nil {
		t.Error("Plan on a read-only checkpoint succeeded")
	}
	if _, err := ro.Begin(ctx, pipeline.Call{FirstRow: 2, SentAt: base}, pipeline.CardDailyLimit); err == nil {
		t.Error("Begin on a read-only checkpoint succeeded")
	}
	if _, err := ro.BeginRun(ctx, RunInfo{}); err == nil {
		t.Error("BeginRun on a read-only checkpoint succeeded")
	}
	if ro.Fingerprint(rows[0].Name, rows[0].Card) != results(t, ro)[0].Pair {
		t.Error("read-only Fingerprint differs from the recorded one")
	}
}

func TestStatusJSONKeys(t *testing.T) {
	db, _ := tempDB(t)
	st, err := db.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	for _, k := range strings.Fields("rows match mismatch invalid rejected deferred failed pending calls billed_calls " +
		"lost_answers input_path input_sha256 input_size endpoint sandbox first_at last_at runs invalid_reasons codes") {
		if _, ok := m[k]; !ok {
			t.Errorf("status JSON lacks %q: %s", k, b)
		}
	}
	for _, s := range pipeline.Statuses {
		if _, ok := m[s.String()]; !ok {
			t.Errorf("status JSON lacks the count of %v", s)
		}
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestPlanPrefixCollision makes the in-memory index give a wrong candidate
// for a pair (as two fingerprints with one 64-bit prefix would) and checks
// that Plan still tells the pairs apart.
func TestPlanPrefixCollision(t *testing.T) {
	ctx := context.Background()
	db, _ := tempDB(t)
	rows := people(3, 0, 13)
	plan(t, db, rows[:1], 1) // row 2: pair A
	fpB := db.Fingerprint(rows[1].Name, rows[1].Card)
	db.plan.mu.Lock()
	db.plan.index.add(prefix(fpB), 2) // B's prefix now leads to A's row too
	db.plan.mu.Unlock()
	if err := db.flush(ctx); err != nil {
		t.Fatal(err)
	}
	b := []pipeline.Row{{Row: 3, Name: rows[1].Name, Card: rows[1].Card}}
	if k := plan(t, db, b, 1); k[0].FirstRow != 3 {
		t.Fatalf("pair B behind A's prefix: FirstRow %d, want 3 (a new pair)", k[0].FirstRow)
	}
	// Its duplicates find it, before and after it is committed.
	dup := []pipeline.Row{{Row: 4, Name: rows[1].Name, Card: rows[1].Card}}
	if k := plan(t, db, dup, 1); k[0].FirstRow != 3 {
		t.Errorf("duplicate of B before commit: FirstRow %d, want 3", k[0].FirstRow)
	}
	if err := db.flush(ctx); err != nil {
		t.Fatal(err)
	}
	dup[0].Row = 5
	if k := plan(t, db, dup, 1); k[0].FirstRow != 3 {
		t.Errorf("duplicate of B after commit: FirstRow %d, want 3", k[0].FirstRow)
	}
	a := []pipeline.Row{{Row: 6, Name: rows[0].Name, Card: rows[0].Card}}
	if k := plan(t, db, a, 1); k[0].FirstRow != 2 {
		t.Errorf("duplicate of A: FirstRow %d, want 2", k[0].FirstRow)
	}
}

// TestWriterErrorIsSticky fails one commit and checks that the error comes
// back from every later write and from Close.
func TestWriterErrorIsSticky(t *testing.T) {
	ctx := context.Background()
	db, _ := tempDB(t)
	known := plan(t, db, people(2, 0, 14), 2)
	boom := errors.New("disk full")
	_, err := db.q.exec(ctx, func(context.Context, *sql.Conn) (int64, error) { return 0, boom })
	if !errors.Is(err, boom) {
		t.Fatalf("exec: %v, want %v", err, boom)
	}
	k := known[0]
	c := pipeline.Call{FirstRow: k.FirstRow, Pair: k.Pair, CardKey: k.CardKey, SentAt: base}
	if _, err := db.Begin(ctx, c, pipeline.CardDailyLimit); !errors.Is(err, boom) {
		t.Errorf("Begin after a failed commit: %v", err)
	}
	o := outcome(k.FirstRow, pipeline.Match, base)
	if err := db.End(ctx, 1, c, &o); !errors.Is(err, boom) {
		t.Errorf("End after a failed commit: %v", err)
	}
	if err := db.Plan(ctx, people(3, 0, 14)[2:], make([]pipeline.Known, 1)); !errors.Is(err, boom) {
		t.Errorf("Plan after a failed commit: %v", err)
	}
	if err := db.Close(); !errors.Is(err, boom) {
		t.Errorf("Close after a failed commit: %v", err)
	}
}

func TestFormatTime(t *testing.T) {
	for _, tm := range []time.Time{
		base,
		time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("CST", 8*3600)),
		time.Date(1999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Now(),
	} {
		want := tm.UTC().Format(timeFormat)
		if got := formatTime(tm); got != want {
			t.Errorf("formatTime(%v) = %v, want %s", tm, got, want)
		}
		if back := parseTime(sql.NullString{String: want, Valid: true}); tm.Year() < 10000 && !back.Equal(tm) {
			t.Errorf("parseTime(%s) = %v, want %v", want, back, tm)
		}
	}
	if formatTime(time.Time{}) != nil {
		t.Error("formatTime(zero) is not nil")
	}
}

// TestCardLimitCountsOnlyCallsThatMayReachTheBank: a 10xxx answer or a
// gateway error proves the bank was not asked, so it does not use up one of
// the card's daily checks; a call that never ended does.
func TestCardLimitCountsOnlyCallsThatMayReachTheBank(t *testing.T) {
	ctx := context.Background()
	db, _ := tempDB(t)
	k := plan(t, db, people(1, 0, 5), 1)[0]
	call := pipeline.Call{FirstRow: k.FirstRow, Pair: k.Pair, CardKey: k.CardKey, Attempt: 1, SentAt: base}
	begin := func() error {
		_, err := db.Begin(ctx, call, pipeline.CardDailyLimit)
		return err
	}
	for i := range 5 { // gateway errors: never the bank
		id, err := db.Begin(ctx, call, pipeline.CardDailyLimit)
		if err != nil {
			t.Fatalf("Begin %d after %d gateway errors: %v", i+1, i, err)
		}
		c := call
		c.HTTPStatus, c.MayReachBank = 502, false
		if err := db.End(ctx, id, c, nil); err != nil {
			t.Fatal(err)
		}
	}
	// Two answered by the bank's side, one that never ends: the limit.
	for range 2 {
		id, err := db.Begin(ctx, call, pipeline.CardDailyLimit)
		if err != nil {
			t.Fatal(err)
		}
		c := call
		c.Answered, c.Code, c.MayReachBank = true, 218801, true
		if err := db.End(ctx, id, c, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := begin(); err != nil {
		t.Fatalf("3rd call that may reach the bank: %v", err)
	}
	if err := begin(); !errors.Is(err, pipeline.ErrCardLimit) {
		t.Errorf("4th call that may reach the bank: err = %v, want ErrCardLimit", err)
	}
}

func TestReadAll(t *testing.T) {
	ctx := context.Background()
	db, path := tempDB(t)
	ri := RunInfo{InputPath: "list.csv", InputSHA256: strings.Repeat("ab", 32), Endpoint: "plain", Version: "test", Started: base}
	id1, err := db.BeginRun(ctx, ri)
	if err != nil {
		t.Fatal(err)
	}
	if all, err := db.ReadAll(ctx); err != nil || all {
		t.Fatalf("ReadAll before any run read its input = %v, %v; want false", all, err)
	}
	if err := db.MarkReadAll(ctx, id1); err != nil {
		t.Fatal(err)
	}
	// A later run that stops early does not undo it; a re-open sees it.
	if _, err := db.BeginRun(ctx, ri); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openT(t, path)
	if all, err := db.ReadAll(ctx); err != nil || !all {
		t.Errorf("ReadAll after a run read its input = %v, %v; want true", all, err)
	}
}

// TestStatusRunLogAndDays records two runs, the second on the next China
// day with an answer of a simulated API (`cardverify sandbox` through
// --base-url), a lost answer and a timeout, and checks the run log, the
// calls per China day and the rows per source against literal counts: the
// simulated answer is billed by nobody.
func TestStatusRunLogAndDays(t *testing.T) {
	ctx := context.Background()
	db, path := tempDB(t)
	ri := RunInfo{InputPath: "list.csv", InputSHA256: strings.Repeat("ab", 32), Endpoint: "plain", Version: "v1",
		QPS: 5, Started: base, User: "alice", Host: "box1", Command: "cardverify run list.csv --key ***",
		Output: "list.verified.xlsx", BaseURL: "https://v.juhe.cn", KeyID: "sha256:0123456789ab"}
	id1, err := db.BeginRun(ctx, ri)
	if err != nil {
		t.Fatal(err)
	}
	rows := people(6, 0, 7)
	known := plan(t, db, rows, 10)
	// Run 1, on 2026-11-27 (China): 3 billed answers and a rejection.
	answer(t, db, known[0], pipeline.Match, base)
	answer(t, db, known[1], pipeline.Mismatch, base.Add(time.Minute))
	answer(t, db, known[2], pipeline.Match, base.Add(2*time.Minute))
	answer(t, db, known[3], pipeline.Rejected, base.Add(3*time.Minute))
	if err := db.EndRun(ctx, id1, base.Add(time.Hour), StopBudget); err != nil {
		t.Fatal(err)
	}
	// Run 2, at 00:30 China time on 2026-11-28 (16:30 UTC on the 27th):
	// one simulated answer of code 0, one timeout, one call whose answer
	// is never recorded.
	day2 := time.Date(2026, 11, 27, 16, 30, 0, 0, time.UTC)
	ri2 := ri
	ri2.Started, ri2.QPS, ri2.User, ri2.Host = day2, 20, "bob", "box2"
	id2, err := db.BeginRun(ctx, ri2)
	if err != nil {
		t.Fatal(err)
	}
	sim := pipeline.Call{FirstRow: known[4].FirstRow, Pair: known[4].Pair, CardKey: known[4].CardKey, Attempt: 1, SentAt: day2}
	sid, err := db.Begin(ctx, sim, pipeline.CardDailyLimit)
	if err != nil {
		t.Fatal(err)
	}
	so := outcome(known[4].FirstRow, pipeline.Match, day2)
	so.Simulated = true
	sim.Duration, sim.HTTPStatus, sim.Answered, sim.JobID, sim.Billed, sim.Simulated = time.Millisecond, 200, true, so.JobID, true, true
	if err := db.End(ctx, sid, sim, &so); err != nil {
		t.Fatal(err)
	}
	timeout := pipeline.Call{FirstRow: known[5].FirstRow, Pair: known[5].Pair, CardKey: known[5].CardKey, Attempt: 1, SentAt: day2.Add(time.Second)}
	tid, err := db.Begin(ctx, timeout, pipeline.CardDailyLimit)
	if err != nil {
		t.Fatal(err)
	}
	timeout.Duration, timeout.MayReachBank, timeout.PossiblyBilled = 10*time.Second, true, true
	if err := db.End(ctx, tid, timeout, nil); err != nil {
		t.Fatal(err)
	}
	lost := timeout
	lost.Attempt, lost.SentAt = 2, day2.Add(time.Minute)
	if _, err := db.Begin(ctx, lost, pipeline.CardDailyLimit); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil { // run 2 dies: no end recorded
		t.Fatal(err)
	}
	st := readOnlyStatus(t, path)
	if st.Calls != 7 || st.BilledCalls != 3 || st.PossiblyBilled != 2 || st.LostAnswers != 1 || st.SimulatedCalls != 1 || st.SimulatedBilled != 1 {
		t.Errorf("calls %d, billed %d, possibly billed %d, lost %d, simulated %d (%d of code 0); want 7, 3, 2, 1, 1 (1)",
			st.Calls, st.BilledCalls, st.PossiblyBilled, st.LostAnswers, st.SimulatedCalls, st.SimulatedBilled)
	}
	wantDays := []DayCount{{Day: "2026-11-27", Calls: 4, Billed: 3}, {Day: "2026-11-28", Calls: 3, Billed: 0, PossiblyBilled: 2}}
	if fmt.Sprint(st.Days) != fmt.Sprint(wantDays) {
		t.Errorf("days %+v, want %+v", st.Days, wantDays)
	}
	if len(st.RunLog) != 2 {
		t.Fatalf("run log has %d runs, want 2: %+v", len(st.RunLog), st.RunLog)
	}
	r1, r2 := st.RunLog[0], st.RunLog[1]
	want1 := RunRecord{ID: id1, Started: base, Ended: base.Add(time.Hour), Stop: StopBudget, Calls: 4, Billed: 3, QPS: 5,
		Endpoint: "plain", BaseURL: "https://v.juhe.cn", KeyID: "sha256:0123456789ab", Version: "v1",
		User: "alice", Host: "box1", Command: "cardverify run list.csv --key ***", Output: "list.verified.xlsx"}
	if fmt.Sprint(r1) != fmt.Sprint(want1) {
		t.Errorf("run 1\n got  %+v\n want %+v", r1, want1)
	}
	if r2.ID != id2 || !r2.Ended.IsZero() || r2.Stop != "" || r2.Calls != 3 || r2.Billed != 0 || r2.PossiblyBilled != 2 ||
		r2.QPS != 20 || r2.Sandbox || r2.User != "bob" || r2.Host != "box2" {
		t.Errorf("run 2 = %+v; want id %d, no end, 3 calls, 0 billed, 2 possibly billed, QPS 20, bob@box2", r2, id2)
	}
	// Rows 2-5 were answered by the real API, row 6 by the sandbox; row 7
	// has no outcome.
	if st.RealRows != 4 || st.Simulated != 1 {
		t.Errorf("real rows %d, simulated rows %d; want 4 and 1", st.RealRows, st.Simulated)
	}
	if !st.FirstAt.Equal(base) || !st.LastAt.Equal(day2.Add(time.Minute)) {
		t.Errorf("first %v, last %v; want %v, %v", st.FirstAt, st.LastAt, base, day2.Add(time.Minute))
	}
}

// TestStatusSandboxRunNotBilled records a sandbox run (its API is in the
// process) with a code-0 answer, a timeout and a call killed in flight:
// nobody bills any of them, so the job has no billed and no possibly
// billed call, and three simulated calls, one of code 0.
func TestStatusSandboxRunNotBilled(t *testing.T) {
	ctx := context.Background()
	db, path := tempDB(t)
	ri := RunInfo{InputPath: "list.csv", InputSHA256: strings.Repeat("ab", 32), Endpoint: "plain", Sandbox: true, Started: base}
	if _, err := db.BeginRun(ctx, ri); err != nil {
		t.Fatal(err)
	}
	known := plan(t, db, people(3, 0, 7), 10)
	c := pipeline.Call{FirstRow: known[0].FirstRow, Pair: known[0].Pair, CardKey: known[0].CardKey, Attempt: 1, SentAt: base}
	id, err := db.Begin(ctx, c, pipeline.CardDailyLimit)
	if err != nil {
		t.Fatal(err)
	}
	o := outcome(known[0].FirstRow, pipeline.Match, base)
	o.Simulated = true
	c.Duration, c.HTTPStatus, c.Answered, c.JobID, c.Billed, c.Simulated = time.Millisecond, 200, true, o.JobID, true, true
	if err := db.End(ctx, id, c, &o); err != nil {
		t.Fatal(err)
	}
	timeout := pipeline.Call{FirstRow: known[1].FirstRow, Pair: known[1].Pair, CardKey: known[1].CardKey, Attempt: 1, SentAt: base}
	if id, err = db.Begin(ctx, timeout, pipeline.CardDailyLimit); err != nil {
		t.Fatal(err)
	}
	timeout.Duration, timeout.MayReachBank, timeout.PossiblyBilled = 10*time.Second, true, true
	if err := db.End(ctx, id, timeout, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Begin(ctx, pipeline.Call{FirstRow: known[2].FirstRow, Pair: known[2].Pair, CardKey: known[2].CardKey, Attempt: 1, SentAt: base}, pipeline.CardDailyLimit); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil { // killed with a call in flight
		t.Fatal(err)
	}
	st := readOnlyStatus(t, path)
	if st.Calls != 3 || st.BilledCalls != 0 || st.PossiblyBilled != 0 || st.SimulatedCalls != 3 || st.SimulatedBilled != 1 || st.LostAnswers != 1 {
		t.Errorf("calls %d, billed %d, possibly billed %d, simulated %d (%d of code 0), lost %d; want 3, 0, 0, 3 (1), 1",
			st.Calls, st.BilledCalls, st.PossiblyBilled, st.SimulatedCalls, st.SimulatedBilled, st.LostAnswers)
	}
	if len(st.Days) != 1 || st.Days[0].Billed != 0 || st.Days[0].PossiblyBilled != 0 || len(st.RunLog) != 1 || st.RunLog[0].Billed != 0 {
		t.Errorf("days %+v, runs %+v: want nothing billed", st.Days, st.RunLog)
	}
}
