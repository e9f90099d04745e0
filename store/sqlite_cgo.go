//go:build cgo

package store

import (
	"errors"

	"github.com/mattn/go-sqlite3"
)

// notADatabase reports whether err says the file is not an SQLite database.
func notADatabase(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && (se.Code == sqlite3.ErrNotADB || se.Code == sqlite3.ErrCorrupt)
}

// diskFull reports whether err is SQLite's "database or disk is full".
func diskFull(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && se.Code == sqlite3.ErrFull
}

// busy reports whether err is SQLite's "database is locked" (busy).
func busy(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && (se.Code == sqlite3.ErrBusy || se.Code == sqlite3.ErrLocked)
}
