package pipeline

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// sliceSource is a Source over records held in memory.
type sliceSource struct {
	recs []Record
	i    int
}

func (s *sliceSource) Next() (Record, error) {
	if s.i == len(s.recs) {
		return Record{}, EOF
	}
	s.i++
	return s.recs[s.i-1], nil
}

// rows builds a source with a header and one data row per (name, card).
func rows(pairs ...string) *sliceSource {
	src := &sliceSource{recs: []Record{{Row: 1, Kind: Header}}}
	for i := 0; i+1 < len(pairs); i += 2 {
		rec := Record{Row: i/2 + 2, Kind: Data, Name: pairs[i], Card: pairs[i+1]}
		if pairs[i] == "" || pairs[i+1] == "" {
			rec.Problems = []string{"empty name or card"}
		}
		src.recs = append(src.recs, rec)
	}
	return src
}

// memCheckpoint is an in-memory Checkpoint that persists what store.DB
// does (rows, pairs with their first row and outcome, a ledger, the calls of
// each card per China day) and, as store.DB does, leaves the rules to the
// pipeline: FirstRows for dedup, CardCallAllowed for the card daily limit.
type memCheckpoint struct {
	mu     sync.Mutex
	rows   map[int]Key
	masked map[int]string
	pairs  map[Key]*memPair
	calls  []Call // index = id-1
	ended  map[int64]bool
	byCard map[cardDay]int // calls that may reach the bank
}

type memPair struct {
	first int
	out   Outcome
}

type cardDay struct {
	card Key
	day  string
}

func newMem() *memCheckpoint {
	return &memCheckpoint{rows: map[int]Key{}, masked: map[int]string{}, pairs: map[Key]*memPair{}, ended: map[int64]bool{}, byCard: map[cardDay]int{}}
}

func (m *memCheckpoint) Fingerprint(name, card string) Key {
	return sha256.Sum256([]byte(name + "\x00" + card))
}

func (m *memCheckpoint) Plan(ctx context.Context, rows []Row, known []Known) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, r := range rows {
		if r.Invalid != "" {
			continue
		}
		k := m.Fingerprint(r.Name, r.Card)
		if old, ok := m.rows[r.Row]; ok && old != k {
			return &InputError{Row: r.Row, Msg: "changed"}
		}
		known[i] = Known{Pair: k, CardKey: sha256.Sum256([]byte(r.Card))}
	}
	started := FirstRows(rows, known, func(k Key) int {
		if p := m.pairs[k]; p != nil {
			return p.first
		}
		return 0
	})
	for _, i := range started {
		m.pairs[known[i].Pair] = &memPair{first: rows[i].Row}
	}
	for i, r := range rows {
		if r.Invalid != "" {
			continue
		}
		m.rows[r.Row] = known[i].Pair
		m.masked[r.Row] = r.Card[:6] + strings.Repeat("*", len(r.Card)-10) + r.Card[len(r.Card)-4:]
		known[i].Prior = m.pairs[known[i].Pair].out
	}
	return nil
}

func (m *memCheckpoint) Begin(ctx context.Context, c Call, limit int) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cd := cardDay{c.CardKey, ChinaDay(c.SentAt)}
	if !CardCallAllowed(m.byCard[cd], limit) {
		return 0, ErrCardLimit
	}
	m.byCard[cd]++ // counted until End says otherwise
	m.calls = append(m.calls, c)
	return int64(len(m.calls)), nil
}

func (m *memCheckpoint) End(ctx context.Context, id int64, c Call, o *Outcome) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if id > 0 {
		if m.ended[id] {
			return fmt.Errorf("call %d ended twice", id)
		}
		m.ended[id] = true
		m.calls[id-1] = c
		if !c.MayReachBank {
			m.byCard[cardDay{c.CardKey, ChinaDay(c.SentAt)}]--
		}
	}
	if o != nil {
		m.pairs[c.Pair].out = *o
	}
	return nil
}

// results returns what Results would yield, in row order.
func (m *memCheckpoint) results() *sliceResults {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Result
	for no, k := range m.rows {
		p := m.pairs[k]
		o := p.out
		if p.first != no {
			o.DupOf = p.first
		}
		out = append(out, Result{Row: no, Outcome: o, Pair: k, Masked: m.masked[no]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Row < out[j].Row })
	return &sliceResults{res: out}
}

// outcome returns the outcome recorded for the pair of row no.
func (m *memCheckpoint) outcome(no int) Outcome {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.pairs[m.rows[no]].out
}

type sliceResults struct {
	res []Result
	i   int
}

func (s *sliceResults) Next() (Result, error) {
	if s.i == len(s.res) {
		return Result{}, EOF
	}
	s.i++
	return s.res[s.i-1], nil
}

// fakeAPI is a Verifier with scripted answers per card; a card with no
// script left gets a match with jobid "J"+card.
type fakeAPI struct {
	mu      sync.Mutex
	scripts map[string][]Answer
	calls   map[string]int
	billed  int
	delay   time.Duration
	block   chan struct{} // if not nil, every call waits for it
}

func newAPI() *fakeAPI {
	return &fakeAPI{scripts: map[string][]Answer{}, calls: map[string]int{}}
}

func (f *fakeAPI) script(card string, answers ...Answer) { f.scripts[card] = answers }

func (f *fakeAPI) Verify(ctx context.Context, name, card string) (Answer, error) {
	if f.block != nil {
		select {
		case <-f.block:
		case <-ctx.Done():
			return Answer{Class: Transient}, ctx.Err()
		}
	}
	if f.delay > 0 && !sleep(ctx, f.delay) {
		return Answer{Class: Transient}, ctx.Err()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[card]++
	a := Answer{Class: Billed, HTTPStatus: 200, Answered: true, Res: 1, JobID: "J" + card, Reason: "成功"}
	if s := f.scripts[card]; len(s) > 0 {
		a, f.scripts[card] = s[0], s[1:]
	}
	if a.Class == Billed {
		f.billed++
	}
	if !a.Answered && a.Class == Transient {
		return a, fmt.Errorf("%s", a.Reason)
	}
	return a, nil
}

func (f *fakeAPI) total() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		n += c
	}
	return n
}

func (f *fakeAPI) callsFor(card string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[card]
}

// fastConfig retries without real waits.
func fastConfig() Config {
	return Config{QPS: 10000, Workers: 4, Backoff: func(int) time.Duration { return time.Millisecond }}
}

func code(class Class, c int) Answer {
	return Answer{Class: class, HTTPStatus: 200, Answered: true, Code: c, Reason: fmt.Sprintf("code %d", c)}
}

func mustRun(tb testing.TB, src Source, ck Checkpoint, v Verifier, cfg Config) Stats {
	tb.Helper()
	st, err := Run(context.Background(), src, ck, v, cfg)
	if err != nil {
		tb.Fatalf("Run: %v", err)
	}
	return st
}
