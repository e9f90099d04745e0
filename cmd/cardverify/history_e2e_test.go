package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cardverify/cardverify/cmd/internal/gen"
	"github.com/cardverify/cardverify/pipeline"
	"github.com/cardverify/cardverify/pipeline/juhe/juhetest"
	"github.com/cardverify/cardverify/store"
)

// writeList writes a CSV list of rows under gen's header.
func writeList(tb testing.TB, path string, rows []gen.Row) {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := csv.NewWriter(f)
	w.Write(gen.Header)
	for _, r := range rows {
		w.Write(r.Fields())
	}
	w.Flush()
	if err := w.Error(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
}

// realFake is the fake API answering as the real one does: jobids without
// the SANDBOX mark, so that its verdicts count as real.
func realFake(tb testing.TB) *juhetest.Server {
	return juhetest.NewServer(tb, juhetest.Options{Key: testKey, OpenID: testOpenID, JobIDPrefix: "JH", MaxLog: -1})
}

func historyStats(tb testing.TB, path string) map[string]any {
	tb.Helper()
	r := cardverify(tb, nil, "history", "--history", path, "--json")
	if r.code != 0 {
		tb.Fatalf("history: exit %d\n%s", r.code, r.stderr)
	}
	var st map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		tb.Fatalf("history --json: %v\n%s", err, r.stdout)
	}
	return st
}

// TestE2EMonthOverMonth is the new user: verify a list; next
// "month", the same list with new rows and changed cards. The dry run with
// --reuse-within says how many calls are left to pay for, the run pays
// exactly those (the fake's billed count), reused rows keep their original
// jobid and time, and audit passes.
func TestE2EMonthOverMonth(t *testing.T) {
	n, added, changed := 10000, 500, 300
	if testing.Short() {
		n, added, changed = 2000, 100, 60
	}
	srv := realFake(t)
	dir := t.TempDir()
	hist := filepath.Join(dir, "team", "history.db")
	opt := gen.Options{Rows: n + added, Seed: 15, Clean: true}
	month1 := make([]gen.Row, n)
	for i := range month1 {
		month1[i] = opt.Row(i)
	}
	list1 := filepath.Join(dir, "november.csv")
	writeList(t, list1, month1)
	common := []string{"--base-url", srv.URL, "--history", hist, "--progress", "none", "--qps", "100000", "--lang", "en"}

	r := cardverify(t, secrets(), append([]string{"run", list1}, common...)...)
	if r.code != 0 {
		t.Fatalf("month 1: exit %d\n%s", r.code, r.stderr)
	}
	if got := srv.Billed(); got != n {
		t.Fatalf("month 1 billed %d, want %d", got, n)
	}
	if st := historyStats(t, hist); st["verdicts"] != float64(n) || st["endpoints"].(map[string]any)["plain"] != float64(n) {
		t.Fatalf("history after month 1: %v, want %d plain verdicts", st, n)
	}
	col1, out1 := readCSV(t, filepath.Join(dir, "november.verified.csv"))

	// Month 2: every third of the changed rows is spread over the list.
	month2 := append([]gen.Row(nil), month1...)
	changedRows := map[int]bool{}
	for k := range changed {
		i := k * (n / changed)
		c := month2[i].Card
		month2[i].Card = c[:len(c)-2] + fmt.Sprintf("%02d", (int(c[len(c)-2]-'0')*10+int(c[len(c)-1]-'0')+37)%100)
		changedRows[i] = true
	}
	for i := n; i < n+added; i++ {
		month2 = append(month2, opt.Row(i))
	}
	list2 := filepath.Join(dir, "december.csv")
	writeList(t, list2, month2)
	toPay, reusable := added+changed, n-changed

	dry := cardverify(t, secrets(), append([]string{"run", list2, "--reuse-within", "45d", "--dry-run", "--price", "0.2"}, common...)...)
	if dry.code != 0 {
		t.Fatalf("dry run: exit %d\n%s", dry.code, dry.stderr)
	}
	for _, want := range []string{
		fmt.Sprintf("%d reusable from the history", reusable),
		fmt.Sprintf("at most %d billed calls to pay for", toPay),
		fmt.Sprintf("at most ¥%.2f at ¥0.2 a call; reuse saves ¥%.2f", 0.2*float64(toPay), 0.2*float64(reusable)),
	} {
		if !strings.Contains(dry.stdout, want) {
			t.Errorf("dry run does not say %q:\n%s", want, dry.stdout)
		}
	}
	if srv.Billed() != n {
		t.Fatalf("the dry run made calls")
	}

	r = cardverify(t, secrets(), append([]string{"run", list2, "--reuse-within", "45d", "--price", "0.2"}, common...)...)
	if r.code != 0 {
		t.Fatalf("month 2: exit %d\n%s", r.code, r.stderr)
	}
	if want := fmt.Sprintf("this run's billed calls cost ¥%.2f; reuse saved ¥%.2f", 0.2*float64(toPay), 0.2*float64(reusable)); !strings.Contains(r.stderr, want) {
		t.Errorf("the report does not say %q:\n%s", want, r.stderr)
	}
	if got := srv.Billed() - n; got != toPay {
		t.Errorf("month 2 paid %d calls, want %d", got, toPay)
	}
	if !strings.Contains(r.stderr, fmt.Sprintf("%d rows reused from the history", reusable)) {
		t.Errorf("the report does not count the reused rows:\n%s", r.stderr)
	}
	out2 := filepath.Join(dir, "december.verified.csv")
	col2, rows2 := readCSV(t, out2)
	if len(rows2) != n+added {
		t.Fatalf("%d output rows, want %d", len(rows2), n+added)
	}
	for i, row := range rows2 {
		jobid, at, reason := row[col2["verify_jobid"]], row[col2["verified_at"]], row[col2["verify_reason"]]
		if s := row[col2["verify_status"]]; s != "match" && s != "mismatch" {
			t.Fatalf("row %d: status %s", i+2, s)
		}
		reused := i < n && !changedRows[i]
		if reused {
			if was := out1[i]; jobid != was[col1["verify_jobid"]] || at != was[col1["verified_at"]] || !strings.Contains(reason, "reused") {
				t.Errorf("row %d: jobid %q at %q reason %q, want month 1's %q at %q and a reason that says reused",
					i+2, jobid, at, reason, was[col1["verify_jobid"]], was[col1["verified_at"]])
			}
		} else if strings.Contains(reason, "reused") || (i < n && jobid == out1[i][col1["verify_jobid"]]) {
			t.Errorf("row %d (new or changed) was reused: jobid %q reason %q", i+2, jobid, reason)
		}
	}
	if a := cardverify(t, nil, "audit", out2, "--db", filepath.Join(dir, "december.cardverify.db")); a.code != 0 {
		t.Errorf("audit of month 2: exit %d\n%s%s", a.code, a.stdout, a.stderr)
	}
	if st := historyStats(t, hist); st["verdicts"] != float64(n+toPay) {
		t.Errorf("history after month 2: %v verdicts, want %d (reused ones are not recorded again)", st["verdicts"], n+toPay)
	}

	// Resume is unchanged: the same command again pays nothing.
	r = cardverify(t, secrets(), append([]string{"run", list2, "--reuse-within", "45d"}, common...)...)
	if got := srv.Billed() - n - toPay; r.code != 0 || got != 0 {
		t.Errorf("month 2 again: exit %d, %d calls paid, want 0 and 0\n%s", r.code, got, r.stderr)
	}
	assertNoSecrets(t, dir, r.stdout, r.stderr, dry.stdout)
}

// TestE2EHistoryTwoJobsAtOnce: two runs in two processes record into one
// history at the same time; every verdict of both is there.
func TestE2EHistoryTwoJobsAtOnce(t *testing.T) {
	n := 3000
	if testing.Short() {
		n = 800
	}
	srv := realFake(t)
	dir := t.TempDir()
	hist := filepath.Join(dir, "history.db")
	var wg sync.WaitGroup
	codes := make([]result, 2)
	for j := range 2 {
		opt := gen.Options{Rows: n, Seed: uint64(100 + j), Clean: true}
		rows := make([]gen.Row, n)
		for i := range rows {
			rows[i] = opt.Row(i)
		}
		list := filepath.Join(dir, fmt.Sprintf("list%d.csv", j))
		writeList(t, list, rows)
		wg.Go(func() {
			codes[j] = cardverify(t, secrets(), "run", list, "--base-url", srv.URL, "--history", hist, "--progress", "none", "--qps", "100000")
		})
	}
	wg.Wait()
	for j, r := range codes {
		if r.code != 0 {
			t.Fatalf("job %d: exit %d\n%s", j, r.code, r.stderr)
		}
	}
	if st := historyStats(t, hist); st["verdicts"] != float64(2*n) || srv.Billed() != 2*n {
		t.Errorf("history: %v verdicts, fake billed %d, want %d each", st["verdicts"], srv.Billed(), 2*n)
	}
}

// TestE2EHistoryNeverSimulated: a sandbox run records nothing, and refuses
// --reuse-within.
func TestE2EHistoryNeverSimulated(t *testing.T) {
	dir := t.TempDir()
	in := copyFile(t, "../../testdata/demo/customers.csv", dir)
	hist := filepath.Join(dir, "history.db")
	if r := cardverify(t, []string{"JUHE_KEY="}, "run", in, "--sandbox", "--progress", "none"); r.code != 0 {
		t.Fatalf("sandbox run: exit %d\n%s", r.code, r.stderr)
	}
	r := cardverify(t, []string{"JUHE_KEY="}, "run", in, "--sandbox", "--reuse-within", "30d", "--history", hist)
	if r.code != 2 || !strings.Contains(r.stderr, "sandbox") {
		t.Errorf("sandbox with --reuse-within: exit %d, want 2\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(hist); err == nil {
		t.Error("a sandbox run created a history")
	}
	// A real run against the fake with its SANDBOX-marked jobids records
	// none of them either.
	srv := juhetest.NewServer(t, juhetest.Options{Key: testKey})
	if r := cardverify(t, secrets(), "run", in, "--base-url", srv.URL, "--history", hist, "--progress", "none", "--db", filepath.Join(dir, "2.db")); r.code != 0 {
		t.Fatalf("run against a simulated API: exit %d\n%s", r.code, r.stderr)
	}
	if st := historyStats(t, hist); st["verdicts"] != float64(0) {
		t.Errorf("simulated verdicts recorded: %v", st)
	}
}

func TestHistoryFlags(t *testing.T) {
	a := &app{getenv: func(string) string { return "" }}
	c, err := a.parseHistory([]string{"--history", "h.db", "--purge-older-than", "90d", "--json", "--import", "a.db", "--import", "b.db"})
	if err != nil || c.Path != "h.db" || c.PurgeBefore.Hours() != 90*24 || !c.JSON || strings.Join(c.Import, ",") != "a.db,b.db" {
		t.Errorf("parseHistory = %+v, %v", c, err)
	}
	for _, bad := range [][]string{{"--purge-older-than", "-3d"}, {"--purge-older-than", "soon"}, {"extra"}} {
		if _, err := a.parseHistory(bad); err == nil {
			t.Errorf("parseHistory(%q) accepted", bad)
		}
	}
}

// TestE2EHistoryPurge: --purge-older-than removes the verdicts verified
// before that long ago, and says how many.
func TestE2EHistoryPurge(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	kp, err := store.DefaultKeyPath() // the binary's: TestMain's XDG_CONFIG_HOME
	if err != nil {
		t.Fatal(err)
	}
	k, _, err := store.LoadOrCreateKey(kp)
	if err != nil {
		t.Fatal(err)
	}
	h, err := store.OpenHistory(context.Background(), path, &k)
	if err != nil {
		t.Fatal(err)
	}
	h.Endpoint = "encrypted"
	now := time.Now().Truncate(time.Second)
	for i, age := range []time.Duration{40, 31, 10, 1} {
		o := pipeline.Outcome{Status: pipeline.Match, Res: 1, JobID: fmt.Sprintf("JH%d", i), Answered: true, At: now.Add(-age * 24 * time.Hour)}
		if err := h.Record(context.Background(), fmt.Sprintf("客户%d", i), "622202123456789"+fmt.Sprint(i), o); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	r := cardverify(t, nil, "history", "--history", path, "--purge-older-than", "30d", "--lang", "en")
	if r.code != 0 || !strings.Contains(r.stderr, "purged 2 verdicts") || !strings.Contains(r.stdout, "verdicts    2 (2 match, 0 mismatch)") ||
		!strings.Contains(r.stdout, "encrypted  2") {
		t.Errorf("purge: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if st := historyStats(t, path); st["verdicts"] != float64(2) {
		t.Errorf("after the purge: %v", st)
	}
	if r := cardverify(t, nil, "history", "--history", filepath.Join(t.TempDir(), "none.db"), "--lang", "en"); r.code != 0 || !strings.Contains(r.stderr, "no history yet") {
		t.Errorf("no history: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
