package store

import (
	"encoding/binary"
	"slices"

	"github.com/cardverify/cardverify/pipeline"
)

// prefix is the part of a fingerprint the in-memory indexes key on: its
// first 8 bytes.
func prefix(k pipeline.Key) uint64 { return binary.LittleEndian.Uint64(k[:8]) }

// indexBits is how many of a key's top bits choose its bucket.
const indexBits = 14

// packedIndex is a multimap from 64-bit keys (fingerprint prefixes) to
// values of valueBits bits, packed in about 11 bytes an entry: each entry is
// one uint64 in a sorted slice, one slice per bucket of the key's top
// indexBits bits. An entry holds the key's next 64-indexBits-valueBits bits
// above the value, so a key is kept whole when valueBits <= indexBits, and
// two keys that agree on the bits kept share entries' key part otherwise (a
// caller checks a candidate against the full fingerprint).
//
// It replaces Go maps that took 30 to 40 bytes an entry: with a million
// rows, the pair index and the day's card counts are what grows with the
// list. The zero value is unusable; make one with newPackedIndex. It is not
// safe for concurrent use.
type packedIndex struct {
	valueBits uint
	buckets   [][]uint64
	n         int
}

func newPackedIndex(valueBits uint) *packedIndex {
	return &packedIndex{valueBits: valueBits, buckets: make([][]uint64, 1<<indexBits)}
}

// valueMask covers an entry's value bits.
func (x *packedIndex) valueMask() uint64 { return 1<<x.valueBits - 1 }

// locate returns k's bucket number and the key part of its entries.
func (x *packedIndex) locate(k uint64) (int, uint64) {
	return int(k >> (64 - indexBits)), k << indexBits &^ x.valueMask()
}

// span returns k's bucket and the range [lo, hi) of its entries there.
func (x *packedIndex) span(k uint64) (b, lo, hi int, key uint64) {
	b, key = x.locate(k)
	s := x.buckets[b]
	lo, _ = slices.BinarySearch(s, key)
	hi = lo
	for hi < len(s) && s[hi]&^x.valueMask() == key {
		hi++
	}
	return b, lo, hi, key
}

// values appends the values stored under k (and under keys that agree with
// it on the bits kept) to dst, smallest first.
func (x *packedIndex) values(dst []uint64, k uint64) []uint64 {
	b, lo, hi, _ := x.span(k)
	for _, e := range x.buckets[b][lo:hi] {
		dst = append(dst, e&x.valueMask())
	}
	return dst
}

// add stores v under k, beside the values k already has. v must fit in
// valueBits bits.
func (x *packedIndex) add(k, v uint64) {
	b, key := x.locate(k)
	e := key | v&x.valueMask()
	i, _ := slices.BinarySearch(x.buckets[b], e)
	x.buckets[b] = slices.Insert(x.buckets[b], i, e)
	x.n++
}

// remove drops one entry of v under k, if there is one.
func (x *packedIndex) remove(k, v uint64) {
	b, key := x.locate(k)
	if i, ok := slices.BinarySearch(x.buckets[b], key|v&x.valueMask()); ok {
		x.buckets[b] = slices.Delete(x.buckets[b], i, i+1)
		x.n--
	}
}

// get returns the first value stored under k, 0 when there is none.
func (x *packedIndex) get(k uint64) uint64 {
	b, lo, hi, _ := x.span(k)
	if lo == hi {
		return 0
	}
	return x.buckets[b][lo] & x.valueMask()
}

// set makes v the only value under k; 0 removes k. For an index whose keys
// are kept whole (a counter per key).
func (x *packedIndex) set(k, v uint64) {
	b, lo, hi, key := x.span(k)
	switch {
	case v == 0:
		x.buckets[b] = slices.Delete(x.buckets[b], lo, hi)
		x.n -= hi - lo
	case lo == hi:
		x.buckets[b] = slices.Insert(x.buckets[b], lo, key|v&x.valueMask())
		x.n++
	default:
		x.buckets[b][lo] = key | v&x.valueMask()
		x.buckets[b] = slices.Delete(x.buckets[b], lo+1, hi)
		x.n -= hi - lo - 1
	}
}

// len returns the number of entries.
func (x *packedIndex) len() int { return x.n }

// bytes returns the memory the index holds: its entries' slices, spare
// capacity included, and their headers.
func (x *packedIndex) bytes() int {
	n := len(x.buckets) * 24 // a slice header
	for _, b := range x.buckets {
		n += cap(b) * 8
	}
	return n
}
