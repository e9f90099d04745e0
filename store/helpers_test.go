package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cardverify/cardverify/pipeline"
)

// base is the time tests start from: 10:00 in China on 2026-11-27.
var base = time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)

func openT(tb testing.TB, path string) *DB {
	tb.Helper()
	db, err := Open(context.Background(), path, testKeyFile(path))
	if err != nil {
		tb.Fatalf("Open(%s): %v", path, err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// testKeyFile is the fingerprint key file tests use for the checkpoint at
// path: beside it, so that each test has its own.
func testKeyFile(path string) string { return path + ".key" }

func tempDB(tb testing.TB) (*DB, string) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "job.cardverify.db")
	return openT(tb, path), path
}

// people returns n deterministic rows numbered from 2 (row 1 is the
// header) with Chinese names and card numbers of 16 to 19 digits. The
// digits a checkpoint may store (the first six and last four) are drawn
// from 0, 1, 2 and 6, the hidden ones from 3, 4, 5, 7, 8 and 9. So the
// middle six digits of a card, which hold at least five hidden ones, can
// occur in a database file only if they leak, never by chance next to a
// stored BIN, a stored time or a random fingerprint byte. Every
// dupEvery-th row (if > 0) repeats the pair of the row dupEvery/2 rows
// before it.
func people(n, dupEvery int, seed uint64) []pipeline.Row {
	r := rand.New(rand.NewPCG(seed, 1))
	family := []string{"王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴"}
	given := []string{"伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟"}
	bins := []string{"622202", "621200", "620010", "626012"}
	digits := func(card []byte, n int, from string) []byte {
		for range n {
			card = append(card, from[r.IntN(len(from))])
		}
		return card
	}
	rows := make([]pipeline.Row, n)
	for i := range rows {
		rows[i].Row = i + 2
		if dupEvery > 0 && i%dupEvery == dupEvery-1 && i >= dupEvery/2 {
			prev := rows[i-dupEvery/2]
			rows[i].Name, rows[i].Card = prev.Name, prev.Card
			continue
		}
		length := 16 + r.IntN(4)
		card := []byte(bins[r.IntN(len(bins))])
		card = digits(card, length-10, "345789")
		card = digits(card, 4, "0126")
		rows[i].Card = string(card)
		rows[i].Name = family[r.IntN(len(family))] + given[r.IntN(len(given))] + given[r.IntN(len(given))] + fmt.Sprint(i)
	}
	return rows
}

// plan plans rows in batches of size and returns what was known.
func plan(tb testing.TB, db *DB, rows []pipeline.Row, size int) []pipeline.Known {
	tb.Helper()
	known := make([]pipeline.Known, len(rows))
	for i := 0; i < len(rows); i += size {
		j := min(i+size, len(rows))
		if err := db.Plan(context.Background(), rows[i:j], known[i:j]); err != nil {
			tb.Fatalf("Plan rows %d-%d: %v", rows[i].Row, rows[j-1].Row, err)
		}
	}
	return known
}

// answer begins and ends a call for the pair k with outcome status s. It is
// safe to call from several goroutines.
func answer(tb testing.TB, db *DB, k pipeline.Known, s pipeline.Status, at time.Time) pipeline.Outcome {
	tb.Helper()
	ctx := context.Background()
	c := pipeline.Call{FirstRow: k.FirstRow, Pair: k.Pair, CardKey: k.CardKey, Attempt: 1, SentAt: at}
	id, err := db.Begin(ctx, c, pipeline.CardDailyLimit)
	if err != nil {
		tb.Errorf("Begin row %d: %v", k.FirstRow, err) // not Fatal: called from workers too
		return pipeline.Outcome{}
	}
	o := outcome(k.FirstRow, s, at)
	c.Duration, c.HTTPStatus, c.Answered, c.Code, c.JobID = 120*time.Millisecond, 200, o.Answered, o.Code, o.JobID
	c.Billed = s.Billed()
	if err := db.End(ctx, id, c, &o); err != nil {
		tb.Errorf("End row %d: %v", k.FirstRow, err)
	}
	return o
}

// outcome is what the fake API would answer for status s.
func outcome(row int, s pipeline.Status, at time.Time) pipeline.Outcome {
	o := pipeline.Outcome{FirstRow: row, Status: s, Attempts: 1, At: at}
	switch s {
	case pipeline.Match, pipeline.Mismatch:
		o.Answered, o.Res, o.JobID, o.Reason = true, int(s), fmt.Sprintf("JH-T-%c", 'a'+row%26), "成功"
	case pipeline.Rejected:
		o.Answered, o.Code, o.Reason = true, 218806, "认证失败"
	case pipeline.Deferred:
		o.Answered, o.Code, o.Reason = true, 218866, "该卡当日连续多次认证不通过被限制校验,次日恢复"
	case pipeline.Failed:
		o.Reason, o.Attempts = "HTTP 502", 3
	}
	return o
}

func wantInputError(tb testing.TB, err error, row int) *pipeline.InputError {
	tb.Helper()
	var ie *pipeline.InputError
	if !errors.As(err, &ie) {
		tb.Fatalf("got error %v, want an *pipeline.InputError", err)
	}
	if ie.Row != row {
		tb.Errorf("InputError.Row = %d, want %d (%v)", ie.Row, row, err)
	}
	if ie.Hint == "" {
		tb.Errorf("InputError %v has no hint", err)
	}
	return ie
}

// rawDB opens the database file with a connection of its own, as another
// process would.
func rawDB(tb testing.TB, path string) *sql.DB {
	tb.Helper()
	abs, _ := filepath.Abs(path)
	q, err := sql.Open("sqlite3", readDSN(abs, false))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { q.Close() })
	return q
}

func queryInt(tb testing.TB, q *sql.DB, query string, args ...any) int {
	tb.Helper()
	var n int
	if err := q.QueryRow(query, args...).Scan(&n); err != nil {
		tb.Fatalf("%s: %v", query, err)
	}
	return n
}

// results reads every result of db.
func results(tb testing.TB, db *DB) []pipeline.Result {
	tb.Helper()
	rs, err := db.Results(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	defer rs.Close()
	var out []pipeline.Result
	for {
		r, err := rs.Next()
		if errors.Is(err, pipeline.EOF) {
			return out
		}
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, r)
	}
}

// block stops the writer until the returned func is called, so that a
// test can look at what is queued but not committed.
func block(tb testing.TB, db *DB) (release func()) {
	tb.Helper()
	gate := make(chan struct{})
	entered := make(chan struct{})
	err := db.q.send(context.Background(), op{kind: opExec, reply: make(chan result, 1),
		fn: func(context.Context, *sql.Conn) (int64, error) {
			close(entered)
			<-gate
			return 0, nil
		}})
	if err != nil {
		tb.Fatal(err)
	}
	<-entered
	var released bool
	release = func() {
		if !released {
			released = true
			close(gate)
		}
	}
	tb.Cleanup(release)
	return release
}

// findAll returns the needles (each at least 6 bytes long) that occur in b.
// For each byte a needle starts with, it jumps from one occurrence of that
// byte to the next (bytes.IndexByte, fast even under -race) and looks the 6
// bytes there up in a map of the needles' prefixes.
func findAll(b []byte, needles []string) []string {
	byPrefix := make(map[[6]byte][]string)
	var firsts []byte
	for _, n := range needles {
		if len(n) < 6 {
			panic("findAll: needle " + n + " is shorter than 6 bytes")
		}
		p := [6]byte([]byte(n[:6]))
		byPrefix[p] = append(byPrefix[p], n)
		if bytes.IndexByte(firsts, n[0]) < 0 {
			firsts = append(firsts, n[0])
		}
	}
	seen := make(map[string]bool)
	var found []string
	for _, c := range firsts {
		for i := 0; ; i++ {
			j := bytes.IndexByte(b[i:], c)
			if j < 0 {
				break
			}
			i += j
			if i+6 > len(b) {
				break
			}
			for _, n := range byPrefix[[6]byte(b[i:i+6])] {
				if !seen[n] && bytes.HasPrefix(b[i:], []byte(n)) {
					seen[n] = true
					found = append(found, n)
				}
			}
		}
	}
	sort.Strings(found)
	return found
}

func TestFindAll(t *testing.T) {
	b := []byte("xx622202123456789yy王伟伟12zz")
	got := findAll(b, []string{"621700111", "2021234", "王伟伟12", "123456789", "王伟伟13"})
	if strings.Join(got, ",") != "123456789,2021234,王伟伟12" {
		t.Errorf("findAll = %q", got)
	}
}

// fingerprint is a pair's (or a card's) fingerprint under k, by the rule
// of checkpoints and the history (hasher.sum), for the tests to compare
// with what was stored.
func fingerprint(k Key, parts ...string) pipeline.Key {
	return newHasher(k).sum(parts...)
}
