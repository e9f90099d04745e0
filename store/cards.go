package store

import (
	"context"
	"database/sql/driver"
	"encoding/binary"
	"io"

	"github.com/cardverify/cardverify/pipeline"
)

// loadCardsQuery counts, for one China day, each card's calls that may have
// reached the bank, by the first 8 bytes of the card's fingerprint: every
// call that never ended (in flight, lost in a crash: the bank may have been
// asked), and every answer whose Call.MayReachBank was true.
const loadCardsQuery = `SELECT substr(calls.card, 1, 8), count(*) FROM calls LEFT JOIN answers ON answers.call = calls.id
	WHERE calls.day = ? AND (answers.call IS NULL OR answers.may_reach_bank) GROUP BY 1`

// cardCountBits is the width of a count: the index keeps the other 48 bits
// of a card's fingerprint prefix.
const (
	cardCountBits = 16
	maxCardCount  = 1<<cardCountBits - 1
)

// cardCounts is what the ledger answers to the pipeline's card daily limit
// (pipeline.CardCallAllowed): for one China day, how many calls that may
// have reached the bank each card had, by the first 8 bytes of its
// fingerprint, in a packedIndex (about 9 bytes a card called that day).
// Two cards sharing the 48 bits it keeps would share a count (about one
// chance in 10^9 for a million cards): a card could be refused early,
// never called too often. It is loaded from the ledger once
// per run, and again when a run passes midnight in China; only the
// committer uses it.
type cardCounts struct {
	day  string
	n    *packedIndex
	load *rawStmt
	row  [2]driver.Value
}

// count returns card's count on day, loading day's counts first if they
// are not the ones held.
func (cc *cardCounts) count(ctx context.Context, day string, card pipeline.Key) (int, error) {
	if cc.stale(day) {
		if err := cc.reload(ctx, day); err != nil {
			return 0, err
		}
	}
	return int(cc.n.get(prefix(card))), nil
}

// stale reports whether count must read the ledger to answer for day.
func (cc *cardCounts) stale(day string) bool { return cc.n == nil || day != cc.day }

// counted adds a call of card on the day held; Begin recorded it.
func (cc *cardCounts) counted(card pipeline.Key) {
	k := prefix(card)
	if v := cc.n.get(k); v < maxCardCount {
		cc.n.set(k, v+1)
	}
}

// uncount takes back a call whose answer proves the bank was not asked.
func (cc *cardCounts) uncount(c pipeline.Call) {
	if cc.n == nil || pipeline.ChinaDay(c.SentAt) != cc.day {
		return
	}
	k := prefix(c.CardKey)
	if v := cc.n.get(k); v > 0 {
		cc.n.set(k, v-1)
	}
}

// reload replaces the counts with those of day, read from the ledger.
func (cc *cardCounts) reload(ctx context.Context, day string) error {
	rs, err := cc.load.query(ctx, day)
	if err != nil {
		return err
	}
	defer rs.Close()
	n := newPackedIndex(cardCountBits)
	defer func() {
		if cc.n != n {
			n.free() // not loaded
		}
	}()
	for {
		if err := rs.Next(cc.row[:]); err == io.EOF {
			break
		} else if err != nil {
			return err
		}
		fp8, _ := cc.row[0].([]byte)
		calls, _ := cc.row[1].(int64)
		if len(fp8) == 8 {
			k := binary.LittleEndian.Uint64(fp8)
			n.set(k, min(n.get(k)+uint64(calls), maxCardCount))
		}
	}
	if cc.n != nil {
		cc.n.free()
	}
	cc.day, cc.n = day, n
	return nil
}

// free releases the counts' memory.
func (cc *cardCounts) free() {
	if cc.n != nil {
		cc.n.free()
		cc.n = nil
	}
}
