//go:build !unix

package store

import "os"

// lockFile opens the sidecar lock file without locking it: flock exists on
// Unix systems only, the platforms cardverify is built for. Elsewhere two
// processes on one checkpoint are not detected.
func lockFile(abs, path string) (*os.File, error) { return openLock(abs, path) }

func locked(abs string) bool { return false }

// writable reports true: elsewhere than on Unix a read-only directory is
// found by the error of SQLite itself.
func writable(dir string) bool { return true }

// LockIfIdle reports idle: without flock a run is not detected.
func LockIfIdle(path string) (unlock func(), idle bool) { return func() {}, true }
