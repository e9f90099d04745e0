//go:build linux && cgo

package main

// The process's timer slack: how late the kernel may end a sleep of one of
// its threads, so that it can group wake-ups (prctl PR_SET_TIMERSLACK; the
// default is 50 µs). At the vendor's pace the process sleeps between calls,
// and what it pays is its wake-ups, most of them the Go runtime's: the
// netpoller sleeps for a timer in whole milliseconds rounded down, so it
// wakes before the limiter's slot and sleeps once more; its monitor thread
// (sysmon) naps 20 µs at a time while any thread is busy, and each time the
// process wakes from idle, its first system call wakes sysmon too.
//
// With 10 ms of slack a limiter's slot that falls a few milliseconds before
// an answer is served by the answer's wake-up (the kernel ends the sleep
// at the first event after the slot), and sysmon naps up to 10 ms, during
// which the process's next wake-up does not wake it again. At --qps 50 the
// process makes some 40% fewer context switches than with 1 ms (README,
// "Performance"). Answers are not delayed (the network wakes the poller at
// once). A call may leave up to 10 ms after its slot, and the limiter paces
// by reservations, so the rate stays as it was; and calls whose slots fall
// within 10 ms of each other, which may then leave together, are never more
// than the limiter's burst allows (2% of a second's calls, at least one).
//
// It is set by a C constructor, before the Go runtime starts: each thread
// takes the slack of the thread that creates it, and the runtime's first
// threads exist before any Go code runs.

/*
#include <sys/prctl.h>

__attribute__((constructor)) void cardverify_timer_slack(void) {
	prctl(PR_SET_TIMERSLACK, 10000000UL, 0UL, 0UL, 0UL);
}
*/
import "C"
