package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// reusingSource is a Source over records held in memory that, as a
// reader may, reuses one cell slice for every record it returns.
type reusingSource struct {
	recs  []Record
	i     int
	cells []Cell
}

func (s *reusingSource) Next() (Record, error) {
	if s.i == len(s.recs) {
		return Record{}, EOF
	}
	rec := s.recs[s.i]
	s.i++
	s.cells = append(s.cells[:0], rec.Cells...)
	rec.Cells = s.cells
	return rec, nil
}

// teeList is a list of n data rows whose pairs repeat (a duplicate often
// follows its first row while that row's call is in flight), with invalid
// rows among them; each row has a cell that names it.
func teeList(n int) []Record {
	recs := []Record{{Row: 1, Kind: Header, Cells: []Cell{{Value: "header"}}}}
	for i := range n {
		no := i + 2
		card := fmt.Sprintf("6222%012d", i%(n/3+1))
		rec := Record{Row: no, Kind: Data, Name: "n" + card[12:], Card: card, Cells: []Cell{{Value: fmt.Sprintf("row %d", no)}}}
		if i%17 == 5 {
			rec.Problems = []string{"bad"}
		}
		if i%29 == 7 {
			recs = append(recs, Record{Row: no, Kind: Blank, Cells: []Cell{{}}})
			continue
		}
		recs = append(recs, rec)
	}
	return recs
}

// slowAPI answers the cards in slow after a delay, and the others at once.
type slowAPI struct {
	*fakeAPI
	slow map[string]time.Duration
}

func (s slowAPI) Verify(ctx context.Context, name, card string) (Answer, error) {
	if d := s.slow[card]; d > 0 && !sleep(ctx, d) {
		return Answer{Class: Transient}, ctx.Err()
	}
	return s.fakeAPI.Verify(ctx, name, card)
}

// ResultsBetween implements ResultsReader for the in-memory checkpoint.
func (m *memCheckpoint) ResultsBetween(ctx context.Context, after, before int) (Results, error) {
	all := m.results()
	var in []Result
	for _, r := range all.res {
		if r.Row > after && (before <= 0 || r.Row < before) {
			in = append(in, r)
		}
	}
	return &sliceResults{res: in}, nil
}

// lines is a Sink that keeps each record written as a line of text.
type lines struct {
	mu  sync.Mutex
	out []string
}

func (l *lines) Write(rec Record, o Outcome) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var cells []string
	for _, c := range rec.Cells {
		cells = append(cells, c.Value)
	}
	l.out = append(l.out, fmt.Sprintf("%d %v %s | %v %d %s %q dup=%d", rec.Row, rec.Kind, strings.Join(cells, ","),
		o.Status, o.Res, o.JobID, o.Reason, o.DupOf))
	return nil
}

// runTeed runs the list through a Tee and returns what the Tee's export
// wrote and what Export writes from the checkpoint after the run.
func runTeed(t *testing.T, list []Record, api Verifier, cfg Config, limit int) (beside, after []string, exportErr error) {
	t.Helper()
	ck := newMem()
	tee := NewTee(&reusingSource{recs: list}, limit)
	var got lines
	done := make(chan error, 1)
	go func() { done <- tee.Export(context.Background(), ck, ck, &got) }()
	cfg.Tee = tee
	if _, err := Run(context.Background(), tee, ck, api, cfg); err != nil && !errors.Is(err, ErrIncomplete) {
		t.Fatalf("Run: %v", err)
	}
	tee.Done()
	exportErr = <-done
	var want lines
	if err := Export(context.Background(), &sliceSource{recs: list}, ck.results(), ck, &want); err != nil {
		t.Fatal(err)
	}
	return got.out, want.out, exportErr
}

func sameLines(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("the tee wrote %d records; Export after the run writes %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("record %d: the tee wrote\n\t%s\nExport after the run writes\n\t%s", i, got[i], want[i])
		}
	}
}

// TestTeeWritesWhatExportWrites runs a list whose first rows answer late,
// some after transient failures, with duplicates of pairs still in flight
// and a held suspect answer: what the tee writes beside the run must be
// what Export writes from the checkpoint after it, row for row. A tee that
// wrote a row before its pair ended writes it pending, or without its
// jobid.
func TestTeeWritesWhatExportWrites(t *testing.T) {
	list := teeList(3000)
	api := slowAPI{fakeAPI: newAPI(), slow: map[string]time.Duration{}}
	for i := range 10 {
		card := fmt.Sprintf("6222%012d", i*7)
		api.slow[card] = time.Duration(5+i*3) * time.Millisecond
		if i%3 == 0 {
			api.script(card, Answer{Class: Transient, Reason: "reset"}, Answer{Class: Transient, Reason: "reset"})
		}
	}
	api.script(fmt.Sprintf("6222%012d", 3), code(Reject, 210), code(Reject, 210))
	cfg := fastConfig()
	cfg.Workers = 8
	beside, after, err := runTeed(t, list, api, cfg, teeTestLimit)
	if err != nil {
		t.Fatalf("the tee's export: %v", err)
	}
	sameLines(t, beside, after)
	if !strings.Contains(strings.Join(after, "\n"), "dup=") || !strings.Contains(strings.Join(after, "\n"), " J6222") {
		t.Fatal("the list has no verdict or no duplicate: the test tests nothing")
	}
}

// pendingRows counts the data rows written pending.
func pendingRows(lines []string) int {
	n := 0
	for _, l := range lines {
		if strings.Contains(l, fmt.Sprintf(" %v row ", Data)) && strings.Contains(l, fmt.Sprintf("| %v ", Pending)) {
			n++
		}
	}
	return n
}

// TestTeeHeld answers the first row with a suspect code, then reads more
// than a range of invalid rows before any other answer: the held row is
// written with the outcome it gets once the run trusts its settings, not
// as pending.
func TestTeeHeld(t *testing.T) {
	list := []Record{{Row: 1, Kind: Header}, {Row: 2, Kind: Data, Name: "held", Card: "6222000000000001"}}
	for no := 3; no < 3+2*settledStep; no++ {
		list = append(list, Record{Row: no, Kind: Data, Problems: []string{"bad"}})
	}
	list = append(list, Record{Row: 3 + 2*settledStep, Kind: Data, Name: "later", Card: "6222000000000002"})
	api := slowAPI{fakeAPI: newAPI(), slow: map[string]time.Duration{"6222000000000002": 50 * time.Millisecond}}
	api.script("6222000000000001", Answer{Class: Reject, HTTPStatus: 200, Answered: true, Code: 218808, Reason: "参数错误", Suspect: true})
	cfg := fastConfig()
	beside, after, err := runTeed(t, list, api, cfg, teeTestLimit)
	if err != nil {
		t.Fatalf("the tee's export: %v", err)
	}
	sameLines(t, beside, after)
	if !strings.Contains(after[1], "rejected") {
		t.Fatalf("the held row: %s; want it rejected", after[1])
	}
}

// teeTestLimit is a limit no test list reaches.
const teeTestLimit = 1 << 20

// TestTeeStopped stops a run part way: the rows after the stop, read or
// not, are written as pending, as Export writes them after the run.
func TestTeeStopped(t *testing.T) {
	list := teeList(3000)
	api := slowAPI{fakeAPI: newAPI(), slow: map[string]time.Duration{}}
	stop := make(chan struct{})
	var once sync.Once
	cfg := fastConfig()
	cfg.Workers = 4
	cfg.Stop = stop
	cfg.Progress = func(s Stats) {
		if s.Calls >= 200 {
			once.Do(func() { close(stop) })
		}
	}
	cfg.ProgressEvery = time.Millisecond
	for i := range 1000 {
		api.slow[fmt.Sprintf("6222%012d", i)] = 200 * time.Microsecond
	}
	beside, after, err := runTeed(t, list, api, cfg, teeTestLimit)
	if err != nil {
		t.Fatalf("the tee's export: %v", err)
	}
	sameLines(t, beside, after)
	if pendingRows(after) == 0 {
		t.Fatal("the stop left no row pending: the test tests nothing")
	}
}

// TestTeeFull holds the first pair's call while thousands of rows behind
// it are read: the tee gives up (ErrTeeFull) instead of holding them all,
// and the run itself is not slowed or stopped.
func TestTeeFull(t *testing.T) {
	list := teeList(6000)
	api := slowAPI{fakeAPI: newAPI(), slow: map[string]time.Duration{list[1].Card: 300 * time.Millisecond}}
	cfg := fastConfig()
	cfg.Workers = 8
	_, after, err := runTeed(t, list, api, cfg, 100)
	if !errors.Is(err, ErrTeeFull) {
		t.Fatalf("the tee's export: %v; want ErrTeeFull", err)
	}
	if n := pendingRows(after); n > 0 {
		t.Fatalf("the run left %d rows pending: the tee held it back", n)
	}
}
