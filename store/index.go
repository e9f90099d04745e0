package store

import (
	"encoding/binary"
	"slices"

	"github.com/cardverify/cardverify/pipeline"
)

// prefix is the part of a fingerprint the in-memory indexes key on: its
// first 8 bytes.
func prefix(k pipeline.Key) uint64 { return binary.LittleEndian.Uint64(k[:8]) }

const (
	// recentBits is how many of an entry's top bits choose its bucket in
	// the recent part of an index.
	recentBits = 12
	// minMerge is the fewest recent entries merged into the main part.
	minMerge = 4096
	// reserveEntries is the room an index reserves outside the Go heap
	// when its main part first needs room: 64 MiB of address space, of
	// which only the pages written take memory. An index that outgrows it
	// moves to room twice as big.
	reserveEntries = 1 << 23
)

// packedIndex is a multimap from 64-bit keys (fingerprint prefixes) to
// values of valueBits bits, in 8 bytes an entry and a little more: an entry
// is one uint64, the key's top 64-valueBits bits above the value, so two
// keys that agree on those bits share their entries (a caller checks a
// candidate against the full fingerprint, or accepts a shared count).
//
// Its main part is one sorted slice outside the Go heap (reserveWords),
// where the garbage collector's headroom does not double it; the entries
// added since the last merge wait in a recent part on the heap (sorted
// buckets by top bits, at most a sixteenth of the main part), merged into
// the main part in place. With a million rows, the pair index and the
// day's card counts are what grows with the list: about 9 bytes a row
// each, of which about 1 on the heap, where Go maps took 30 to 40.
//
// Make one with newPackedIndex and release it with free. It is not safe
// for concurrent use.
type packedIndex struct {
	valueBits uint
	main      []uint64 // sorted
	mapped    bool     // main is in reserveWords' room
	recent    [][]uint64
	nRecent   int
}

func newPackedIndex(valueBits uint) *packedIndex {
	return &packedIndex{valueBits: valueBits, recent: make([][]uint64, 1<<recentBits)}
}

func (x *packedIndex) mask() uint64 { return 1<<x.valueBits - 1 }

// entry packs value v under key k.
func (x *packedIndex) entry(k, v uint64) uint64 { return k&^x.mask() | v&x.mask() }

// bucket returns the recent bucket of key k.
func (x *packedIndex) bucket(k uint64) *[]uint64 { return &x.recent[k>>(64-recentBits)] }

// span returns the range [lo, hi) of the entries of s, sorted, that hold
// k's key bits.
func (x *packedIndex) span(s []uint64, k uint64) (lo, hi int) {
	key := k &^ x.mask()
	lo, _ = slices.BinarySearch(s, key)
	hi = lo
	for hi < len(s) && s[hi]&^x.mask() == key {
		hi++
	}
	return lo, hi
}

// values appends the values stored under k (and under keys that agree with
// it on the bits kept) to dst.
func (x *packedIndex) values(dst []uint64, k uint64) []uint64 {
	for _, s := range [2][]uint64{x.main, *x.bucket(k)} {
		lo, hi := x.span(s, k)
		for _, e := range s[lo:hi] {
			dst = append(dst, e&x.mask())
		}
	}
	return dst
}

// add stores v under k, beside the values k already has.
func (x *packedIndex) add(k, v uint64) {
	b := x.bucket(k)
	e := x.entry(k, v)
	i, _ := slices.BinarySearch(*b, e)
	*b = slices.Insert(*b, i, e)
	if x.nRecent++; x.nRecent >= max(minMerge, len(x.main)/16) {
		x.merge()
	}
}

// remove drops one entry of v under k, if there is one.
func (x *packedIndex) remove(k, v uint64) {
	e := x.entry(k, v)
	if b := x.bucket(k); len(*b) > 0 {
		if i, ok := slices.BinarySearch(*b, e); ok {
			*b = slices.Delete(*b, i, i+1)
			x.nRecent--
			return
		}
	}
	if i, ok := slices.BinarySearch(x.main, e); ok {
		x.main = slices.Delete(x.main, i, i+1)
	}
}

// get returns the first value stored under k, 0 when there is none.
func (x *packedIndex) get(k uint64) uint64 {
	for _, s := range [2][]uint64{x.main, *x.bucket(k)} {
		if lo, hi := x.span(s, k); lo < hi {
			return s[lo] & x.mask()
		}
	}
	return 0
}

// set makes v the value under k, for an index of one value a key (a
// counter per key); 0 is as good as none.
func (x *packedIndex) set(k, v uint64) {
	if lo, hi := x.span(x.main, k); lo < hi {
		x.main[lo] = x.entry(k, v)
		return
	}
	b := x.bucket(k)
	lo, hi := x.span(*b, k)
	switch {
	case lo < hi && v == 0:
		*b = slices.Delete(*b, lo, hi)
		x.nRecent -= hi - lo
	case lo < hi:
		(*b)[lo] = x.entry(k, v)
	case v != 0:
		x.add(k, v)
	}
}

// merge moves the recent entries into the main part, merging from the end
// so that no entry is copied twice and no second slice is needed.
func (x *packedIndex) merge() {
	n := len(x.main)
	x.grow(n + x.nRecent)
	x.main = x.main[:n+x.nRecent]
	i, k := n-1, len(x.main)-1
	for b := len(x.recent) - 1; b >= 0; b-- {
		s := x.recent[b]
		for j := len(s) - 1; j >= 0; j-- {
			for i >= 0 && x.main[i] > s[j] {
				x.main[k] = x.main[i]
				i, k = i-1, k-1
			}
			x.main[k] = s[j]
			k--
		}
		x.recent[b] = nil
	}
	x.nRecent = 0
}

// grow makes room for n entries in the main part: in reserved room outside
// the heap when the system gives it, on the heap otherwise.
func (x *packedIndex) grow(n int) {
	if cap(x.main) >= n {
		return
	}
	if w := reserveWords(max(reserveEntries, 2*n)); w != nil {
		w = append(w, x.main...)
		x.free()
		x.main, x.mapped = w, true
		return
	}
	x.main = slices.Grow(x.main, n-len(x.main))
}

// free releases the main part's reserved room; the index is empty after.
func (x *packedIndex) free() {
	if x.mapped {
		freeWords(x.main)
	}
	x.main, x.mapped = nil, false
}

// len returns the number of entries.
func (x *packedIndex) len() int { return len(x.main) + x.nRecent }

// bytes returns the memory the entries hold: the main part's (the pages
// written of its room), and the recent part's, spare capacity and slice
// headers included.
func (x *packedIndex) bytes() int {
	n := len(x.main)*8 + len(x.recent)*24
	for _, s := range x.recent {
		n += cap(s) * 8
	}
	return n
}
