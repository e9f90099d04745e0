package main

import "runtime"

// onePQPS is the highest --qps at which a run makes its calls on one P
// (GOMAXPROCS 1). At the vendor's pace (tens of calls a second) the process
// sleeps between calls, and what it pays is the wake-ups: with a second P
// idle, each goroutine handed work wakes another thread that spins on it and
// goes back to sleep. One P does the same work with a third fewer context
// switches and a fifth less CPU (README, "Performance"); at 200 calls a
// second it stays a small share of a core.
const onePQPS = 200

// pace runs the calls of a slow run (--qps up to onePQPS) on one P, unless
// the user set GOMAXPROCS; the returned function puts the Ps back, for the
// output that follows. It is job.Env.Pace for the command line only: the
// console runs several jobs in one process.
func (a *app) pace(qps float64) (done func()) {
	if qps > onePQPS || a.getenv("GOMAXPROCS") != "" {
		return func() {}
	}
	before := runtime.GOMAXPROCS(1)
	return func() { runtime.GOMAXPROCS(before) }
}
