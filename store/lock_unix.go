//go:build unix

package store

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/cardverify/cardverify/pipeline"
)

// lockFile takes the exclusive lock of the checkpoint at abs: an flock on
// the sidecar file abs+"-lock", which then holds the owner's pid for the
// message of the next process that tries. The lock is released when the
// returned file is closed, or when the process dies however it dies. The
// file is left in place: removing it would let two processes lock two
// different files.
//
// A sidecar, not the database file: SQLite locks the database with fcntl
// locks, which some file systems (NFS) emulate with the same mechanism as
// flock, and it must not interfere with them.
func lockFile(abs, path string) (*os.File, error) {
	f, err := openLock(abs, path)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, &pipeline.InputError{
				Msg:  pipeline.Reason(pipeline.ErrDBInUse, path, lockOwner(f)),
				Hint: pipeline.Reason(pipeline.HintDBInUse),
			}
		}
		return nil, fmt.Errorf("lock checkpoint %s: %w", path, err)
	}
	if err := f.Truncate(0); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock checkpoint %s: %w", path, err)
	}
	if _, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock checkpoint %s: %w", path, err)
	}
	return f, nil
}

// lockOwner returns the pid written in a lock file, or "unknown".
func lockOwner(f *os.File) string {
	b, err := io.ReadAll(io.NewSectionReader(f, 0, 32))
	if pid := strings.TrimSpace(string(b)); err == nil && pid != "" {
		return pid
	}
	return "unknown"
}

// locked reports whether a process holds the lock of the checkpoint at abs,
// without taking it for longer than the test.
func locked(abs string) bool {
	f, err := os.Open(abs + "-lock")
	if err != nil {
		return false
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		return errors.Is(err, syscall.EWOULDBLOCK)
	}
	syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return false
}

// writable reports whether files can be created in dir: false on a
// read-only mount or a directory without write permission (for root, only
// the former).
func writable(dir string) bool {
	return syscall.Access(dir, 2) == nil // W_OK
}

// LockIfIdle takes the lock of the checkpoint at path for a moment's work
// that must not overlap a run of it (removing the temporary outputs a
// killed run left), without creating anything: idle is false while a run
// holds the checkpoint, and then unlock does nothing. A checkpoint without
// a lock file has never been run here; it is idle. Call unlock when done.
func LockIfIdle(path string) (unlock func(), idle bool) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return func() {}, false
	}
	f, err := os.Open(abs + "-lock") // read-only: works on read-only media
	if errors.Is(err, fs.ErrNotExist) {
		return func() {}, true
	}
	if err != nil {
		return func() {}, false
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return func() {}, false
	}
	return func() { f.Close() }, true
}
