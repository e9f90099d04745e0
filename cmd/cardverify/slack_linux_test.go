//go:build linux && cgo

package main

import (
	"runtime"
	"syscall"
	"testing"
)

func TestTimerSlack(t *testing.T) {
	const prGetTimerSlack = 30 // PR_GET_TIMERSLACK, <linux/prctl.h>
	// A thread the Go runtime made, not the one the constructor ran on:
	// each takes the slack of the thread that made it.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	ns, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prGetTimerSlack, 0, 0)
	if errno != 0 {
		t.Fatal("prctl(PR_GET_TIMERSLACK):", errno)
	}
	if ns != 10000000 {
		t.Errorf("timer slack %d ns, want 10000000 (10 ms)", ns)
	}
}
