//go:build !(linux || darwin)

package store

// reserveWords returns nil: elsewhere the index grows on the Go heap.
func reserveWords(n int) []uint64 { return nil }

// freeWords does nothing.
func freeWords(w []uint64) {}
