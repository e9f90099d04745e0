package pipeline

// The rules a Checkpoint applies for the pipeline. They live here, with
// their owner; the checkpoint (store.DB, and the pipeline's test fake)
// persists what they need and calls them, deciding nothing itself.

// CardDailyLimit is how many calls that may have reached the bank one card
// may get in one China calendar day (ChinaDay): UnionPay locks a card after
// 3 failed checks in a row. The pipeline passes it to Checkpoint.Begin; the
// output's legend and the reason of a card over it quote it.
const CardDailyLimit = 3

// CardCallAllowed is the card daily limit rule: a card that already had
// calls calls on the China day of a new one, counting those that may have
// reached the bank (every call not ended, and every ended call whose
// Call.MayReachBank is true), may get the new call while calls < limit. A
// limit of 0 or less is no limit.
func CardCallAllowed(calls, limit int) bool {
	return limit <= 0 || calls < limit
}

// FirstRows is the dedup rule, applied to one batch of planned rows given in
// increasing row order with known[i].Pair set for rows[i]: a pair is decided
// by its first valid row over the whole job, and every later row with the
// pair is a duplicate that takes that row's outcome.
//
// first returns the pair's first row when the job already has the pair (an
// earlier batch or run), 0 when it does not. FirstRows sets
// known[i].FirstRow of every valid row and returns, in order, the indexes of
// the rows that start a new pair; invalid rows are left as they are.
func FirstRows(rows []Row, known []Known, first func(Key) int) (started []int) {
	var batch map[Key]int // the pairs this batch starts
	for i, r := range rows {
		if r.Invalid != "" {
			continue
		}
		k := &known[i]
		if f := first(k.Pair); f != 0 {
			k.FirstRow = f
			continue
		}
		if f, ok := batch[k.Pair]; ok {
			k.FirstRow = f
			continue
		}
		if batch == nil {
			batch = make(map[Key]int)
		}
		batch[k.Pair] = r.Row
		k.FirstRow = r.Row
		started = append(started, i)
	}
	return started
}
