// Package storetest holds helpers for tests of checkpoints on read-only
// media, shared by package store's tests and the command's. Production code
// never imports it.
package storetest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// ReadOnlyDir returns a path that shows dir's files and cannot be written:
// dir itself after chmod 0500, or, for a user that chmod does not stop
// (root), a read-only bind mount of dir. It skips the test when it can make
// neither.
func ReadOnlyDir(tb testing.TB, dir string) string {
	tb.Helper()
	if err := os.Chmod(dir, 0o500); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.Chmod(dir, 0o700) })
	if !canCreate(dir) {
		return dir
	}
	os.Chmod(dir, 0o700)
	mnt := tb.TempDir()
	if out, err := exec.Command("mount", "--bind", dir, mnt).CombinedOutput(); err != nil {
		tb.Skipf("chmod 0500 does not stop this user from writing, and no read-only bind mount (%v: %s)", err, out)
	}
	tb.Cleanup(func() { exec.Command("umount", mnt).Run() })
	if out, err := exec.Command("mount", "-o", "remount,bind,ro", mnt).CombinedOutput(); err != nil {
		tb.Skipf("chmod 0500 does not stop this user from writing, and no read-only bind mount (%v: %s)", err, out)
	}
	if canCreate(mnt) {
		tb.Skip("cannot make a directory that this user cannot write")
	}
	return mnt
}

func canCreate(dir string) bool {
	f, err := os.Create(filepath.Join(dir, "probe"))
	if err != nil {
		return false
	}
	f.Close()
	os.Remove(f.Name())
	return true
}
