//go:build linux || darwin

package store

import (
	"syscall"
	"unsafe"
)

// reserveWords returns room for n uint64s outside the Go heap: an anonymous
// private mapping whose pages take memory only once written, so that
// reserving much costs nothing until it is used, and the garbage
// collector's headroom (a heap may grow to twice what it holds) does not
// double it. It returns nil when the system refuses the mapping; free
// releases it.
func reserveWords(n int) []uint64 {
	b, err := syscall.Mmap(-1, 0, n*8, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE|syscall.MAP_NORESERVE)
	if err != nil {
		return nil
	}
	return unsafe.Slice((*uint64)(unsafe.Pointer(&b[0])), n)[:0]
}

// freeWords releases room that reserveWords returned.
func freeWords(w []uint64) {
	if cap(w) > 0 {
		syscall.Munmap(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(w[:1]))), cap(w)*8))
	}
}
