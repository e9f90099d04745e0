package store

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestPackedIndexValues(t *testing.T) {
	x := newPackedIndex(32)
	const a, b = 0x0123456789abcdef, 0xfedcba9876543210
	// c agrees with a on the 46 bits a 32-bit value leaves to the key (its
	// bucket and the next 32 bits) and differs below: a collision.
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
	const a, b = 0x0123456789abcdef, 0x0123456789abcdee // one bit apart: kept whole, two keys
	x.set(a, 3)
	x.set(b, 1)
	x.set(a, 4)
	if x.get(a) != 4 || x.get(b) != 1 || x.get(0x99) != 0 || x.len() != 2 {
		t.Errorf("get = %d, %d, %d (len %d), want 4, 1, 0 (len 2)", x.get(a), x.get(b), x.get(0x99), x.len())
	}
	x.set(a, 0)
	if x.get(a) != 0 || x.len() != 1 {
		t.Errorf("after set 0: get = %d, len %d; want 0, 1", x.get(a), x.len())
	}
}

// TestPackedIndexRandom checks the index against a map on random keys,
// most of them in few buckets so that buckets grow long.
func TestPackedIndexRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	x := newPackedIndex(32)
	want := map[uint64][]uint64{}
	for i := range 20000 {
		k := r.Uint64()
		if i%2 == 0 {
			k &= 0x0003ffffffffffff // bucket 0
		}
		x.add(k, uint64(i))
		want[k] = append(want[k], uint64(i))
	}
	for k, vs := range want {
		if got := x.values(nil, k); !slices.Equal(got, vs) {
			t.Fatalf("values(%#x) = %v, want %v", k, got, vs)
		}
	}
}
