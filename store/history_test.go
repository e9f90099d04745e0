package store

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cardverify/cardverify/pipeline"
)

func testKey(b byte) *Key {
	var k Key
	for i := range k {
		k[i] = b + byte(i)
	}
	return &k
}

func openHistoryT(tb testing.TB, path string, k *Key) *History {
	tb.Helper()
	h, err := OpenHistory(context.Background(), path, k)
	if err != nil {
		tb.Fatalf("OpenHistory(%s): %v", path, err)
	}
	tb.Cleanup(func() { h.Close() })
	return h
}

func verdict(s pipeline.Status, jobid string, at time.Time) pipeline.Outcome {
	return pipeline.Outcome{Status: s, Res: int(s), JobID: jobid, Answered: true, At: at, Attempts: 1}
}

func latest(tb testing.TB, h *History, rows ...pipeline.Row) []pipeline.Verdict {
	tb.Helper()
	found := make([]pipeline.Verdict, len(rows))
	if err := h.Latest(context.Background(), rows, found); err != nil {
		tb.Fatalf("Latest: %v", err)
	}
	return found
}

func record(tb testing.TB, h *History, name, card string, o pipeline.Outcome) {
	tb.Helper()
	if err := h.Record(context.Background(), name, card, o); err != nil {
		tb.Fatalf("Record: %v", err)
	}
}

func TestHistoryRecordAndLatest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "history.db")
	k := testKey(1)
	h := openHistoryT(t, path, k)
	h.Endpoint, h.APIKeyID = "plain", "abcd"
	a := pipeline.Row{Row: 2, Name: "张三", Card: "6222021234567890"}
	b := pipeline.Row{Row: 3, Name: "李四", Card: "6222021234567891"}
	c := pipeline.Row{Row: 4, Name: "王五", Card: "6222021234567892"}
	record(t, h, a.Name, a.Card, verdict(pipeline.Match, "J1", base))
	record(t, h, a.Name, a.Card, verdict(pipeline.Mismatch, "J2", base.Add(time.Hour))) // the latest
	record(t, h, a.Name, a.Card, verdict(pipeline.Match, "J0", base.Add(-time.Hour)))
	// Never recorded: a simulated answer, a refusal, a verdict without jobid.
	record(t, h, b.Name, b.Card, verdict(pipeline.Match, "SANDBOX00000000000001", base))
	record(t, h, c.Name, c.Card, pipeline.Outcome{Status: pipeline.Rejected, Code: 218806, Answered: true, At: base})
	record(t, h, c.Name, c.Card, verdict(pipeline.Match, "", base))
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("history file mode: %v %v, want 0600", fi.Mode(), err)
	}

	h = openHistoryT(t, path, k)
	got := latest(t, h, a, b, c, pipeline.Row{Row: 5, Name: "张三", Card: "6222021234567899"}, pipeline.Row{Row: 6, Name: a.Name, Card: a.Card, Invalid: "x"})
	if v := got[0]; v.Status != pipeline.Mismatch || v.Res != 2 || v.JobID != "J2" || !v.At.Equal(base.Add(time.Hour)) {
		t.Errorf("latest of 张三 = %+v, want mismatch 2 J2 at %v", v, base.Add(time.Hour))
	}
	for i, v := range got[1:] {
		if v != (pipeline.Verdict{}) {
			t.Errorf("row %d: latest = %+v, want none", i+3, v)
		}
	}
	st, err := h.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Verdicts != 3 || st.Match != 2 || st.Mismatch != 1 || st.Endpoints["plain"] != 3 ||
		!st.Oldest.Equal(base.Add(-time.Hour)) || !st.Newest.Equal(base.Add(time.Hour)) || st.KeyID != k.ID() {
		t.Errorf("stats = %+v", st)
	}
	var masked, apiKey string
	if err := h.db.QueryRow("SELECT masked, api_key_id FROM verdicts LIMIT 1").Scan(&masked, &apiKey); err != nil || masked != "622202******7890" || apiKey != "abcd" {
		t.Errorf("stored masked %q api key id %q (%v), want 622202******7890 abcd", masked, apiKey, err)
	}
}

func TestHistoryRefusesOtherKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	h := openHistoryT(t, path, testKey(1))
	record(t, h, "张三", "6222021234567890", verdict(pipeline.Match, "J1", base))
	h.Close()
	_, err := OpenHistory(context.Background(), path, testKey(2))
	if ie := wantInputError(t, err, 0); !strings.Contains(ie.Msg, "another fingerprint key") {
		t.Errorf("other key: %v", err)
	}
	// Without a key: reports work, lookups do not.
	h = openHistoryT(t, path, nil)
	if st, err := h.Stats(context.Background()); err != nil || st.Verdicts != 1 {
		t.Errorf("stats without the key: %+v %v", st, err)
	}
	if err := h.Latest(context.Background(), []pipeline.Row{{Row: 2}}, make([]pipeline.Verdict, 1)); err == nil {
		t.Error("Latest without the key succeeded")
	}
	_, err = OpenHistory(context.Background(), filepath.Join(t.TempDir(), "none.db"), nil)
	wantInputError(t, err, 0)
	notDB := filepath.Join(t.TempDir(), "x.db")
	os.WriteFile(notDB, []byte("this is not a database, not at all, no it is not....................................................."), 0o600)
	_, err = OpenHistory(context.Background(), notDB, testKey(1))
	wantInputError(t, err, 0)
}

func TestHistoryPurge(t *testing.T) {
	const day = 24 * time.Hour
	path := filepath.Join(t.TempDir(), "history.db")
	h := openHistoryT(t, path, testKey(1))
	now := base
	record(t, h, "张三", "6222021234567890", verdict(pipeline.Match, "OLD", now.Add(-40*day)))
	record(t, h, "张三", "6222021234567890", verdict(pipeline.Match, "NEW", now.Add(-10*day)))
	record(t, h, "李四", "6222021234567891", verdict(pipeline.Mismatch, "OLD2", now.Add(-31*day)))
	record(t, h, "王五", "6222021234567892", verdict(pipeline.Match, "EDGE", now.Add(-30*day)))
	h.Close()
	h = openHistoryT(t, path, testKey(1))
	n, err := h.Purge(context.Background(), now.Add(-30*day))
	if err != nil || n != 2 {
		t.Fatalf("Purge = %d, %v; want 2 (OLD and OLD2)", n, err)
	}
	got := latest(t, h, pipeline.Row{Row: 2, Name: "张三", Card: "6222021234567890"}, pipeline.Row{Row: 3, Name: "李四", Card: "6222021234567891"},
		pipeline.Row{Row: 4, Name: "王五", Card: "6222021234567892"})
	if got[0].JobID != "NEW" || got[1].JobID != "" || got[2].JobID != "EDGE" {
		t.Errorf("after the purge: %q %q %q, want NEW, none, EDGE", got[0].JobID, got[1].JobID, got[2].JobID)
	}
	if st, _ := h.Stats(context.Background()); st.Verdicts != 2 || !st.Oldest.Equal(now.Add(-30*day)) {
		t.Errorf("stats after the purge: %+v", st)
	}
	// The purged jobids are gone from the file's bytes, not only from the
	// table (VACUUM).
	h.Close()
	for _, suffix := range []string{"", "-wal"} {
		b, _ := os.ReadFile(path + suffix)
		if strings.Contains(string(b), "OLD2") {
			t.Errorf("%s still holds a purged jobid", filepath.Base(path+suffix))
		}
	}
}

// TestHistoryConcurrentWriters: two handles on one file, as two jobs in two
// processes would have (each its own connections and locks), record at once
// from several goroutines each; nothing is lost and nothing fails busy.
func TestHistoryConcurrentWriters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	n := 3000
	if testing.Short() {
		n = 800
	}
	rows := people(2*n, 0, 3)
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for j := range 2 {
		wg.Go(func() {
			h, err := OpenHistory(context.Background(), path, testKey(1))
			if err != nil {
				errs <- err
				return
			}
			var inner sync.WaitGroup
			for w := range 4 {
				inner.Go(func() {
					for i := j*n + w; i < (j+1)*n; i += 4 {
						o := verdict(pipeline.Match, fmt.Sprintf("J%d", i), base.Add(time.Duration(i)*time.Second))
						if err := h.Record(context.Background(), rows[i].Name, rows[i].Card, o); err != nil {
							errs <- err
							return
						}
					}
				})
			}
			inner.Wait()
			errs <- h.Close()
		})
	}
	wg.Wait()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	h := openHistoryT(t, path, testKey(1))
	if st, err := h.Stats(context.Background()); err != nil || st.Verdicts != 2*n {
		t.Fatalf("verdicts = %d (%v), want %d", st.Verdicts, err, 2*n)
	}
	got := latest(t, h, rows[0], rows[2*n-1])
	if got[0].JobID != "J0" || got[1].JobID != fmt.Sprintf("J%d", 2*n-1) {
		t.Errorf("latest = %q %q", got[0].JobID, got[1].JobID)
	}
}

// TestHistoryNoPlaintext searches the history's files for every name, card
// and the middle six digits of every card (see TestNoPlaintext).
func TestHistoryNoPlaintext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	h := openHistoryT(t, path, testKey(1))
	h.Endpoint = "encrypted"
	rows := people(3000, 0, 11)
	for i, r := range rows {
		record(t, h, r.Name, r.Card, verdict(pipeline.Statuses[i%2], fmt.Sprintf("JH%d", i), base.Add(time.Duration(i)*time.Second)))
	}
	var needles []string
	for _, r := range rows {
		needles = append(needles, r.Name, r.Card, r.Card[(len(r.Card)-6)/2:][:6])
	}
	search := func(when string) {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			b, err := os.ReadFile(path + suffix)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			if found := findAll(b, needles); len(found) > 0 {
				t.Errorf("%s: %s holds plaintext: %q", when, filepath.Base(path+suffix), found[:min(5, len(found))])
			}
		}
	}
	h.write() // what the loop does within historyFlushEvery
	search("open")
	h.Close()
	search("closed")
}

// TestHistoryAttacker: an attacker holds the history file, the customer's
// name and every digit of the card but four hidden by the mask (from
// another leak). Without the fingerprint key, 10^4 guesses find nothing;
// with it, exactly the card.
func TestHistoryAttacker(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	k := testKey(7)
	h := openHistoryT(t, path, k)
	const name, card = "张伟", "6222020512345678"
	record(t, h, name, card, verdict(pipeline.Match, "J1", base))
	h.Close()

	raw := rawDB(t, path)
	var fp []byte
	var masked string
	if err := raw.QueryRow("SELECT fp, masked FROM verdicts").Scan(&fp, &masked); err != nil {
		t.Fatal(err)
	}
	if masked != "622202******5678" {
		t.Fatalf("masked = %q", masked)
	}
	// The attacker knows digits 7 and 8 ("05") besides the mask: four
	// hidden digits remain.
	guesses := func(test func(candidate string) bool) (hits []string) {
		for n := range 10000 {
			candidate := masked[:6] + "05" + fmt.Sprintf("%04d", n) + masked[12:]
			if test(candidate) {
				hits = append(hits, candidate)
			}
		}
		return hits
	}
	var keyID string
	raw.QueryRow("SELECT key_id FROM meta").Scan(&keyID)
	withoutKey := guesses(func(c string) bool {
		plain := sha256.Sum256([]byte(name + "\x00" + c))
		for _, guessKey := range [][]byte{nil, []byte(keyID), fp} {
			m := hmac.New(sha256.New, guessKey)
			m.Write([]byte(name + "\x00" + c))
			if hmac.Equal(m.Sum(nil), fp) {
				return true
			}
		}
		return hmac.Equal(plain[:], fp)
	})
	if len(withoutKey) != 0 {
		t.Errorf("without the key the attacker found %q", withoutKey)
	}
	withKey := guesses(func(c string) bool {
		f := fingerprint(*k, name, c)
		return hmac.Equal(f[:], fp)
	})
	if len(withKey) != 1 || withKey[0] != card {
		t.Errorf("with the key: %q, want exactly %s", withKey, card)
	}
}

// TestHistoryImport imports the real billed verdicts of a checkpoint: not
// its refusals, not those it reused (no call), not a sandbox run's.
func TestHistoryImport(t *testing.T) {
	ctx := context.Background()
	db, _ := tempDB(t)
	if _, err := db.BeginRun(ctx, RunInfo{InputPath: "list.csv", InputSHA256: "aa", Endpoint: "encrypted", Started: base}); err != nil {
		t.Fatal(err)
	}
	rows := people(6, 0, 5)
	known := plan(t, db, rows, 10)
	answer(t, db, known[0], pipeline.Match, base)
	answer(t, db, known[1], pipeline.Mismatch, base.Add(time.Second))
	answer(t, db, known[2], pipeline.Rejected, base)
	// Reused from a history: an outcome with no call.
	reused := pipeline.Outcome{FirstRow: known[3].FirstRow, Status: pipeline.Match, Res: 1, JobID: "OLDJOB", Answered: true, At: base.Add(-time.Hour)}
	if err := db.End(ctx, 0, pipeline.Call{FirstRow: known[3].FirstRow, Pair: known[3].Pair, CardKey: known[3].CardKey}, &reused); err != nil {
		t.Fatal(err)
	}
	if n, oldest, err := db.Reused(ctx); err != nil || n != 1 || !oldest.Equal(base.Add(-time.Hour)) {
		t.Errorf("Reused = %d %v %v, want 1 %v", n, oldest, err, base.Add(-time.Hour))
	}

	ckKey := db.key.fp.key
	path := filepath.Join(t.TempDir(), "history.db")
	h := openHistoryT(t, path, &ckKey)
	n, err := h.Import(ctx, db)
	if err != nil || n != 2 {
		t.Fatalf("Import = %d, %v; want 2", n, err)
	}
	if n, err := h.Import(ctx, db); err != nil || n != 0 {
		t.Errorf("second Import = %d, %v; want 0 (already there)", n, err)
	}
	got := latest(t, h, rows[0], rows[1], rows[2], rows[3])
	if got[0].Status != pipeline.Match || !got[0].At.Equal(base) || got[1].Status != pipeline.Mismatch || got[2].Status != pipeline.Pending || got[3].Status != pipeline.Pending {
		t.Errorf("imported: %+v", got)
	}
	if st, _ := h.Stats(ctx); st.Endpoints["encrypted"] != 2 {
		t.Errorf("endpoints: %v, want encrypted: 2", st.Endpoints)
	}

	// The run never ended: ImportUnended takes its verdicts too.
	if n, err := h.ImportUnended(ctx, db); err != nil || n != 0 {
		t.Errorf("ImportUnended = %d, %v; want 0 new", n, err)
	}

	other := openHistoryT(t, filepath.Join(t.TempDir(), "other.db"), testKey(3))
	_, err = other.Import(ctx, db)
	if ie := wantInputError(t, err, 0); !errors.Is(ie, ErrOtherKey) {
		t.Errorf("import under another key: %v, want ErrOtherKey", err)
	}
}

func TestHistoryImportSkipsSandbox(t *testing.T) {
	ctx := context.Background()
	db, _ := tempDB(t)
	if _, err := db.BeginRun(ctx, RunInfo{InputPath: "list.csv", InputSHA256: "aa", Endpoint: "plain", Sandbox: true, Started: base}); err != nil {
		t.Fatal(err)
	}
	known := plan(t, db, people(3, 0, 5), 10)
	answer(t, db, known[0], pipeline.Match, base)
	ckKey := db.key.fp.key
	h := openHistoryT(t, filepath.Join(t.TempDir(), "history.db"), &ckKey)
	if n, err := h.Import(ctx, db); err != nil || n != 0 {
		t.Errorf("Import of a sandbox run = %d, %v; want 0", n, err)
	}
}

func TestDefaultHistoryPath(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", "/data/me")
	if p, err := DefaultHistoryPath(); err != nil || p != "/data/me/cardverify/history.db" {
		t.Errorf("with XDG_DATA_HOME: %q %v", p, err)
	}
	t.Setenv("XDG_DATA_HOME", "")
	t.Setenv("HOME", "/home/me")
	want := "/home/me/.local/share/cardverify/history.db"
	if p, err := DefaultHistoryPath(); runtime.GOOS == "linux" && (err != nil || p != want) {
		t.Errorf("default: %q %v, want %q", p, err, want)
	}
}

// BenchmarkHistoryLatest looks up batches of 512 rows, 95% of them in a
// history of 100k verdicts.
func BenchmarkHistoryLatest(b *testing.B) {
	path := filepath.Join(b.TempDir(), "history.db")
	h := openHistoryT(b, path, testKey(1))
	rows := people(100_000, 0, 5)
	for i, r := range rows {
		if i%20 != 0 {
			if err := h.Record(context.Background(), r.Name, r.Card, verdict(pipeline.Match, fmt.Sprintf("J%d", i), base)); err != nil {
				b.Fatal(err)
			}
		}
	}
	h.Close()
	h = openHistoryT(b, path, testKey(1))
	found := make([]pipeline.Verdict, 512)
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		at := (n * 512) % (len(rows) - 512)
		if err := h.Latest(context.Background(), rows[at:at+512], found); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n*512)/b.Elapsed().Seconds(), "rows/s")
}

// TestHistoryImportUnended: after a crash, the verdicts of the run that
// never ended are imported; those of a run that ended (recorded as they
// came) are not read again.
func TestHistoryImportUnended(t *testing.T) {
	ctx := context.Background()
	db, _ := tempDB(t)
	rows := people(4, 0, 8)
	known := plan(t, db, rows, 10)
	run1, err := db.BeginRun(ctx, RunInfo{InputPath: "list.csv", InputSHA256: "aa", Endpoint: "plain", Started: base})
	if err != nil {
		t.Fatal(err)
	}
	answer(t, db, known[0], pipeline.Match, base)
	if err := db.EndRun(ctx, run1, base.Add(time.Minute), StopDone); err != nil {
		t.Fatal(err)
	}
	if _, err := db.BeginRun(ctx, RunInfo{InputPath: "list.csv", InputSHA256: "aa", Endpoint: "plain", Started: base.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	answer(t, db, known[1], pipeline.Mismatch, base.Add(time.Hour)) // then the process died
	// The next run begins.
	if _, err := db.BeginRun(ctx, RunInfo{InputPath: "list.csv", InputSHA256: "aa", Endpoint: "plain", Started: base.Add(2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	ckKey := db.key.fp.key
	h := openHistoryT(t, filepath.Join(t.TempDir(), "history.db"), &ckKey)
	if n, err := h.ImportUnended(ctx, db); err != nil || n != 1 {
		t.Fatalf("ImportUnended = %d, %v; want 1", n, err)
	}
	got := latest(t, h, rows[0], rows[1])
	if got[0].Status != pipeline.Pending || got[1].Status != pipeline.Mismatch || !got[1].At.Equal(base.Add(time.Hour)) {
		t.Errorf("after ImportUnended: %+v", got)
	}
}

func TestHistoryImportUnendedOnce(t *testing.T) {
	ctx := context.Background()
	db, _ := tempDB(t)
	known := plan(t, db, people(3, 0, 8), 10)
	if _, err := db.BeginRun(ctx, RunInfo{InputPath: "list.csv", InputSHA256: "aa", Endpoint: "plain", Started: base}); err != nil {
		t.Fatal(err)
	}
	answer(t, db, known[0], pipeline.Match, base)
	db.flush(ctx)
	ckKey := db.key.fp.key
	h := openHistoryT(t, filepath.Join(t.TempDir(), "history.db"), &ckKey)
	// The current run is not a crashed one.
	if n, err := h.ImportUnended(ctx, db); err != nil || n != 0 {
		t.Fatalf("ImportUnended of the current run = %d, %v; want 0", n, err)
	}
	// The next run finds the first one unended: imported once.
	if _, err := db.BeginRun(ctx, RunInfo{InputPath: "list.csv", InputSHA256: "aa", Endpoint: "plain", Started: base.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if n, err := h.ImportUnended(ctx, db); err != nil || n != 1 {
		t.Fatalf("ImportUnended after the crash = %d, %v; want 1", n, err)
	}
	raw := rawDB(t, h.path)
	if got := queryInt(t, raw, "SELECT count(*) FROM recovered"); got != 1 {
		t.Errorf("recovered runs = %d, want 1", got)
	}
	// Deleting the verdict shows the run is not read again.
	if _, err := h.db.Exec("DELETE FROM verdicts"); err != nil {
		t.Fatal(err)
	}
	if n, err := h.ImportUnended(ctx, db); err != nil || n != 0 {
		t.Errorf("ImportUnended a second time = %d, %v; want 0", n, err)
	}
}

// BenchmarkHistoryRecord measures the CPU per verdict Record writes into a
// history (fresh, or already holding 300k verdicts), at a run's pace of
// about 10k verdicts a second, until Close has written them all.
func BenchmarkHistoryRecord(b *testing.B) {
	for _, held := range []int{0, 300_000} {
		b.Run(fmt.Sprintf("held=%d", held), func(b *testing.B) {
			ctx := context.Background()
			path := filepath.Join(b.TempDir(), "history.db")
			if held > 0 {
				h := openHistoryT(b, path, testKey(1))
				for i, r := range people(held, 0, 6) {
					if err := h.Record(ctx, r.Name, r.Card, verdict(pipeline.Match, fmt.Sprintf("J%d", i), base)); err != nil {
						b.Fatal(err)
					}
				}
				if err := h.Close(); err != nil {
					b.Fatal(err)
				}
			}
			rows := people(b.N, 0, 7)
			outs := make([]pipeline.Outcome, len(rows))
			for i := range outs {
				outs[i] = verdict(pipeline.Mismatch, fmt.Sprintf("K%d", i), base.Add(time.Duration(i)*time.Millisecond))
			}
			h := openHistoryT(b, path, testKey(1))
			b.ReportAllocs()
			b.ResetTimer()
			cpu := cpuTime()
			for i, r := range rows {
				if err := h.Record(ctx, r.Name, r.Card, outs[i]); err != nil {
					b.Fatal(err)
				}
				if i%10 == 9 {
					time.Sleep(time.Millisecond)
				}
			}
			if err := h.Close(); err != nil {
				b.Fatal(err)
			}
			reportCPU(b, cpu)
		})
	}
}

// TestHistoryIncoming: Record's verdicts wait in incoming until the
// history is closed, which files them into verdicts; a history opened while
// some wait (a run that crashed, or one still going) files them first, so
// that its lookups find them.
func TestHistoryIncoming(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	h := openHistoryT(t, path, testKey(1))
	rows := people(200, 0, 12)
	for i, r := range rows {
		record(t, h, r.Name, r.Card, verdict(pipeline.Match, fmt.Sprintf("J%d", i), base.Add(time.Duration(i)*time.Second)))
	}
	h.write() // what the loop does within historyFlushEvery
	raw := rawDB(t, path)
	if in, filed := queryInt(t, raw, "SELECT count(*) FROM incoming"), queryInt(t, raw, "SELECT count(*) FROM verdicts"); in != 200 || filed != 0 {
		t.Fatalf("before Close: incoming %d, verdicts %d; want 200, 0", in, filed)
	}
	// Another process opens the history meanwhile, or the next run after
	// a crash of this one.
	other := openHistoryT(t, path, testKey(1))
	got := latest(t, other, rows[0], rows[199])
	if got[0].JobID != "J0" || got[1].JobID != "J199" {
		t.Errorf("latest, opened while 200 wait in incoming: %q %q, want J0 J199", got[0].JobID, got[1].JobID)
	}
	record(t, h, rows[0].Name, rows[0].Card, verdict(pipeline.Mismatch, "J200", base.Add(time.Hour)))
	for i, r := range rows[1:] { // the filing takes several transactions
		record(t, h, r.Name, r.Card, verdict(pipeline.Mismatch, fmt.Sprintf("K%d", i), base.Add(time.Hour)))
	}
	defer func(n int64) { historyMergeChunk = n }(historyMergeChunk)
	historyMergeChunk = 30
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if in, filed := queryInt(t, raw, "SELECT count(*) FROM incoming"), queryInt(t, raw, "SELECT count(*) FROM verdicts"); in != 0 || filed != 400 {
		t.Errorf("after Close: incoming %d, verdicts %d; want 0, 400", in, filed)
	}
	if got := latest(t, other, rows[0]); got[0].JobID != "J200" || got[0].Status != pipeline.Mismatch {
		t.Errorf("latest after the other's Close: %+v, want mismatch J200", got[0])
	}
}

// TestHistoryPurgeIncoming: a purge also deletes the old verdicts of a job
// still going, which wait in incoming.
func TestHistoryPurgeIncoming(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	h := openHistoryT(t, path, testKey(1))
	purger := openHistoryT(t, path, nil)
	record(t, h, "张三", "6222021234567890", verdict(pipeline.Match, "J1", base.Add(-100*24*time.Hour)))
	record(t, h, "李四", "6222021234567891", verdict(pipeline.Match, "J2", base))
	h.write()
	if n, err := purger.Purge(context.Background(), base.Add(-90*24*time.Hour)); err != nil || n != 1 {
		t.Fatalf("Purge = %d, %v; want 1", n, err)
	}
	h.Close()
	if st, err := purger.Stats(context.Background()); err != nil || st.Verdicts != 1 || !st.Oldest.Equal(base) {
		t.Errorf("after the purge and Close: %+v %v, want the one verdict of %v", st, err, base)
	}
}

// TestHistoryCloseStopped: a Close whose context has ended (a stop that
// wants the process out at once) files nothing and reports no error; the
// verdicts wait, durable, and the next open files them.
func TestHistoryCloseStopped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	h := openHistoryT(t, path, testKey(1))
	rows := people(50, 0, 12)
	for i, r := range rows {
		record(t, h, r.Name, r.Card, verdict(pipeline.Match, fmt.Sprintf("J%d", i), base.Add(time.Duration(i)*time.Second)))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := h.CloseContext(ctx); err != nil {
		t.Fatalf("CloseContext after a stop: %v, want nil", err)
	}
	raw := rawDB(t, path)
	if in, filed := queryInt(t, raw, "SELECT count(*) FROM incoming"), queryInt(t, raw, "SELECT count(*) FROM verdicts"); in != 50 || filed != 0 {
		t.Fatalf("after a stopped Close: incoming %d, verdicts %d; want 50 waiting, 0 filed", in, filed)
	}
	next := openHistoryT(t, path, testKey(1))
	if got := latest(t, next, rows[49]); got[0].JobID != "J49" {
		t.Errorf("the next open's latest: %+v, want J49", got[0])
	}
	if in := queryInt(t, raw, "SELECT count(*) FROM incoming"); in != 0 {
		t.Errorf("after the next open: %d verdicts still waiting, want 0", in)
	}
}

// TestHistoryWriterWakes counts the writer's wake-ups: none while no
// verdict waits (a run at the vendor's pace, or between jobs, sleeps), and
// one that writes what waits, historyFlushEvery after the first verdict.
func TestHistoryWriterWakes(t *testing.T) {
	defer func(d time.Duration) { historyFlushEvery = d }(historyFlushEvery)
	historyFlushEvery = 5 * time.Millisecond
	path := filepath.Join(t.TempDir(), "history.db")
	h := openHistoryT(t, path, testKey(1))
	raw := rawDB(t, path)
	idle := func(when string) {
		t.Helper()
		before := h.wakes.Load()
		time.Sleep(20 * historyFlushEvery)
		if n := h.wakes.Load() - before; n != 0 {
			t.Errorf("%s, with no verdict waiting: the writer woke %d times in %s", when, n, 20*historyFlushEvery)
		}
	}
	idle("just opened")
	rows := people(3, 0, 13)
	for i, r := range rows {
		record(t, h, r.Name, r.Card, verdict(pipeline.Match, fmt.Sprintf("J%d", i), base))
	}
	for deadline := time.Now().Add(30 * time.Second); queryInt(t, raw, "SELECT count(*) FROM incoming") != len(rows); {
		if time.Now().After(deadline) {
			t.Fatal("the verdicts are not written 30 s after Record, without Close")
		}
		time.Sleep(time.Millisecond)
	}
	if n := h.wakes.Load(); n < 1 || n > int64(len(rows)) {
		t.Errorf("the writer woke %d times for %d verdicts, want 1 to %d", n, len(rows), len(rows))
	}
	idle("once they are written")
}
