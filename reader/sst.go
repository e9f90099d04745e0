package reader

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// The shared strings of a workbook hold, in a customer list, every name and
// every card number: as many strings as rows. sstStore keeps them in blocks
// of sstBlock length-prefixed strings, in memory up to sstMemory bytes and in
// a temporary file beyond, with only each block's offset in memory. Cells
// refer to strings mostly in the order they were written, so a few cached
// blocks serve nearly every lookup.
const (
	sstBlock  = 64
	sstCached = 8
)

// sstMemory is how many bytes of strings are kept in memory; a variable
// for tests.
var sstMemory int64 = 4 << 20

type sstStore struct {
	n       int
	offsets []int64 // offsets[b] is where block b starts
	mem     []byte  // the strings while they fit in memory
	file    *os.File
	w       *bufio.Writer
	size    int64 // bytes written

	// The cache of blocks read back from the file.
	cache     [sstCached]sstCacheEntry
	cacheNext int
	lenBuf    [binary.MaxVarintLen64]byte

	// next is where string i starts in its block, after a lookup of i-1.
	next struct {
		i, block, off int // off is in the block of string i-1
		ok            bool
	}
}

type sstCacheEntry struct {
	block int
	data  []byte
}

func (s *sstStore) add(text []byte) error {
	if s.n%sstBlock == 0 {
		s.offsets = append(s.offsets, s.size)
	}
	k := binary.PutUvarint(s.lenBuf[:], uint64(len(text)))
	if s.file == nil && s.size+int64(k+len(text)) > sstMemory {
		if err := s.spill(); err != nil {
			return err
		}
	}
	if s.w != nil {
		if _, err := s.w.Write(s.lenBuf[:k]); err != nil {
			return fmt.Errorf("write shared strings: %w", err)
		}
		if _, err := s.w.Write(text); err != nil {
			return fmt.Errorf("write shared strings: %w", err)
		}
	} else {
		if need := len(s.mem) + k + len(text); need > cap(s.mem) {
			// Grow by doubling, but never past sstMemory, so that the
			// strings never hold more than that, garbage included.
			grown := make([]byte, len(s.mem), min(max(2*cap(s.mem), need, 64<<10), int(sstMemory)))
			copy(grown, s.mem)
			s.mem = grown
		}
		s.mem = append(s.mem, s.lenBuf[:k]...)
		s.mem = append(s.mem, text...)
	}
	s.size += int64(k + len(text))
	s.n++
	return nil
}

// spill moves the strings to a temporary file, which is removed at once so
// that nothing is left behind even if the process dies.
func (s *sstStore) spill() error {
	f, err := os.CreateTemp("", "cardverify-sst-*")
	if err != nil {
		return fmt.Errorf("keep shared strings on disk: %w", err)
	}
	os.Remove(f.Name()) // best effort: Windows refuses while the file is open
	s.file = f
	s.w = bufio.NewWriterSize(f, 256<<10)
	if _, err := s.w.Write(s.mem); err != nil {
		return fmt.Errorf("keep shared strings on disk: %w", err)
	}
	s.mem = nil
	for i := range s.cache {
		s.cache[i].block = -1
	}
	return nil
}

var errNoString = errors.New("no such shared string")

func (s *sstStore) get(i int) (string, error) {
	if i < 0 || i >= s.n {
		return "", errNoString
	}
	b := i / sstBlock
	data, err := s.block(b)
	if err != nil {
		return "", err
	}
	// Cells mostly ask for the string after the last one: start from
	// there rather than from the block's start.
	k, off := i%sstBlock, 0
	if s.next.ok && s.next.i == i && s.next.block == b {
		k, off = 0, s.next.off
	}
	for ; ; k-- {
		if off > len(data) {
			return "", errNoString
		}
		n, m := binary.Uvarint(data[off:])
		if m <= 0 || uint64(len(data)-off-m) < n {
			return "", errNoString
		}
		if k == 0 {
			end := off + m + int(n)
			s.next.i, s.next.block, s.next.off, s.next.ok = i+1, b, end, true
			return string(data[off+m : end]), nil
		}
		off += m + int(n)
	}
}

func (s *sstStore) block(b int) ([]byte, error) {
	start := s.offsets[b]
	end := s.size
	if b+1 < len(s.offsets) {
		end = s.offsets[b+1]
	}
	if s.file == nil {
		return s.mem[start:end], nil
	}
	if s.w.Buffered() > 0 {
		if err := s.w.Flush(); err != nil {
			return nil, fmt.Errorf("write shared strings: %w", err)
		}
	}
	for _, e := range s.cache {
		if e.block == b && e.data != nil {
			return e.data, nil
		}
	}
	e := &s.cache[s.cacheNext]
	s.cacheNext = (s.cacheNext + 1) % sstCached
	e.block = b
	e.data = append(e.data[:0], make([]byte, end-start)...)
	if _, err := s.file.ReadAt(e.data, start); err != nil && err != io.EOF {
		e.block = -1
		return nil, fmt.Errorf("read shared strings: %w", err)
	}
	return e.data, nil
}

func (s *sstStore) close() error {
	if s.file == nil {
		return nil
	}
	name := s.file.Name()
	err := s.file.Close()
	os.Remove(name)
	s.file = nil
	return err
}
