package pipeline

import (
	"slices"
	"testing"
)

func TestCardCallAllowed(t *testing.T) {
	for _, tc := range []struct {
		calls, limit int
		want         bool
	}{
		{0, 3, true}, {2, 3, true}, {3, 3, false}, {7, 3, false},
		{0, 1, true}, {1, 1, false},
		{100, 0, true}, {100, -1, true}, // no limit
	} {
		if got := CardCallAllowed(tc.calls, tc.limit); got != tc.want {
			t.Errorf("CardCallAllowed(%d, %d) = %v, want %v", tc.calls, tc.limit, got, tc.want)
		}
	}
	if CardDailyLimit != 3 {
		t.Errorf("CardDailyLimit = %d, want 3 (UnionPay locks a card after 3 failed checks)", CardDailyLimit)
	}
}

func TestFirstRows(t *testing.T) {
	a, b, c := Key{1}, Key{2}, Key{3}
	rows := []Row{{Row: 2}, {Row: 3}, {Row: 4, Invalid: "empty"}, {Row: 5}, {Row: 6}, {Row: 7}}
	known := []Known{{Pair: a}, {Pair: b}, {Pair: a}, {Pair: a}, {Pair: c}, {Pair: b}}
	// c was started by row 1 of an earlier batch.
	started := FirstRows(rows, known, func(k Key) int {
		if k == c {
			return 1
		}
		return 0
	})
	if want := []int{0, 1}; !slices.Equal(started, want) {
		t.Errorf("started = %v, want %v", started, want)
	}
	for i, want := range []int{2, 3, 0, 2, 1, 3} {
		if known[i].FirstRow != want {
			t.Errorf("row %d: FirstRow = %d, want %d", rows[i].Row, known[i].FirstRow, want)
		}
	}
}
