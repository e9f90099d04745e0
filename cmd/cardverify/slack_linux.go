//go:build linux && cgo

package main

// The process's timer slack: how late the kernel may end a sleep of one of
// its threads, so that it can group wake-ups (prctl PR_SET_TIMERSLACK; the
// default is 50 µs). At the vendor's pace the process sleeps between calls,
// and two sleeps of the Go runtime cost it most of its wake-ups: the
// netpoller sleeps for a timer in whole milliseconds rounded down, so it
// wakes before the limiter's slot and sleeps once more; and its monitor
// thread (sysmon) polls every 20 µs while any thread is busy. With 1 ms of
// slack the first wake-up falls after the slot and the monitor polls every
// millisecond: a run at --qps 50 makes half the context switches. Answers
// are not delayed (the network wakes the poller at once), and the limiter
// paces by reservations, so a call sent a millisecond late leaves the rate
// as it was.
//
// It is set by a C constructor, before the Go runtime starts: each thread
// takes the slack of the thread that creates it, and the runtime's first
// threads exist before any Go code runs.

/*
#include <sys/prctl.h>

__attribute__((constructor)) void cardverify_timer_slack(void) {
	prctl(PR_SET_TIMERSLACK, 1000000UL, 0UL, 0UL, 0UL);
}
*/
import "C"
