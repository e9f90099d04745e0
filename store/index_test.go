package store

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestPackedIndexValues(t *testing.T) {
	x := newPackedIndex(32)
	defer x.free()
	const a, b = 0x0123456789abcdef, 0xfedcba9876543210
	// c agrees with a on the 32 bits a 32-bit value leaves to the key, and
	// differs below: a collision.
	const c = a ^ 0x1
	x.add(a, 7)
	x.add(b, 3)
	x.add(a, 2)
	x.add(c, 9)
	for _, tc := range []struct {
		key  uint64
		want []uint64
	}{
		{a, []uint64{2, 7, 9}}, {c, []uint64{2, 7, 9}}, {b, []uint64{3}}, {0x42, nil},
	} {
		if got := x.values(nil, tc.key); !slices.Equal(got, tc.want) {
			t.Errorf("values(%#x) = %v, want %v", tc.key, got, tc.want)
		}
	}
	x.remove(a, 7)
	x.remove(a, 8) // not there: nothing happens
	if got, want := x.values(nil, a), []uint64{2, 9}; !slices.Equal(got, want) || x.len() != 3 {
		t.Errorf("after remove: values = %v (len %d), want %v (len 3)", got, x.len(), want)
	}
}

func TestPackedIndexCounts(t *testing.T) {
	x := newPackedIndex(cardCountBits)
	defer x.free()
	const a = 0x0123456789abcdef
	const b = a ^ 1<<40 // another key in the 48 bits kept
	x.set(a, 3)
	x.set(b, 1)
	x.set(a, 4)
	if x.get(a) != 4 || x.get(b) != 1 || x.get(0x99) != 0 || x.len() != 2 {
		t.Errorf("get = %d, %d, %d (len %d), want 4, 1, 0 (len 2)", x.get(a), x.get(b), x.get(0x99), x.len())
	}
	if x.get(a^1) != 4 {
		t.Errorf("a key that differs only in the bits not kept: get = %d, want a's 4", x.get(a^1))
	}
	x.set(a, 0)
	if x.get(a) != 0 || x.len() != 1 {
		t.Errorf("after set 0: get = %d, len %d; want 0, 1", x.get(a), x.len())
	}
}

// TestPackedIndexModel checks the index, through several merges of its
// recent part into its main part, against a map of the key bits it keeps:
// random keys, a third of them in one recent bucket so that it grows long.
func TestPackedIndexModel(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	x := newPackedIndex(32)
	defer x.free()
	keyOf := func(k uint64) uint64 { return k >> 32 }
	want := map[uint64][]uint64{}
	var keys []uint64
	for i := range 30000 {
		k := r.Uint64()
		if i%3 == 0 {
			k >>= recentBits
		}
		x.add(k, uint64(i))
		want[keyOf(k)] = append(want[keyOf(k)], uint64(i))
		keys = append(keys, k)
		if i%7 == 0 { // and take one back, from either part
			j := r.IntN(len(keys))
			v := slices.Index(want[keyOf(keys[j])], uint64(j))
			if v >= 0 {
				x.remove(keys[j], uint64(j))
				want[keyOf(keys[j])] = slices.Delete(want[keyOf(keys[j])], v, v+1)
			}
		}
	}
	if len(x.main) == 0 {
		t.Fatal("no merge happened")
	}
	for _, k := range keys {
		got := x.values(nil, k)
		slices.Sort(got)
		if !slices.Equal(got, want[keyOf(k)]) {
			t.Fatalf("values(%#x) = %v, want %v", k, got, want[keyOf(k)])
		}
	}
	if !slices.IsSorted(x.main) {
		t.Error("the main part is not sorted")
	}
	total := 0
	for _, vs := range want {
		total += len(vs)
	}
	if x.len() != total {
		t.Errorf("len = %d, want %d", x.len(), total)
	}
}

// TestPackedIndexCountsModel sets random counts, through merges, and reads
// them back.
func TestPackedIndexCountsModel(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	x := newPackedIndex(cardCountBits)
	defer x.free()
	want := map[uint64]uint64{}
	var keys []uint64
	for range 20000 {
		k := r.Uint64() &^ maxCardCount
		if len(keys) > 0 && r.IntN(3) == 0 {
			k = keys[r.IntN(len(keys))]
		} else {
			keys = append(keys, k)
		}
		v := uint64(r.IntN(4))
		x.set(k, v)
		want[k] = v
	}
	for k, v := range want {
		if got := x.get(k); got != v {
			t.Fatalf("get(%#x) = %d, want %d", k, got, v)
		}
	}
}
