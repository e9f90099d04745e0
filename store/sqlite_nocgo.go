//go:build !cgo

package store

// notADatabase reports false: without cgo, go-sqlite3 is a stub whose every
// Open fails with its own message ("requires cgo to work"), and the package
// still compiles so that `go vet ./...` works everywhere.
func notADatabase(err error) bool { return false }

func diskFull(err error) bool { return false }

func busy(err error) bool { return false }
