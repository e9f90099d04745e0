package main

import (
	"runtime"
	"testing"
)

func TestPaceOneP(t *testing.T) {
	was := runtime.GOMAXPROCS(0)
	for _, tc := range []struct {
		name   string
		qps    float64
		env    string // GOMAXPROCS
		during int    // 0: as before
	}{
		{"the vendor's pace", 50, "", 1},
		{"the limit", 200, "", 1},
		{"faster", 201, "", 0},
		{"full speed", 1e6, "", 0},
		{"the user's GOMAXPROCS", 50, "2", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &app{getenv: func(k string) string {
				if k == "GOMAXPROCS" {
					return tc.env
				}
				return ""
			}}
			done := a.pace(tc.qps)
			want := tc.during
			if want == 0 {
				want = was
			}
			if got := runtime.GOMAXPROCS(0); got != want {
				t.Errorf("during the calls at --qps %g (GOMAXPROCS=%q): %d Ps, want %d", tc.qps, tc.env, got, want)
			}
			done()
			if got := runtime.GOMAXPROCS(0); got != was {
				t.Errorf("after the calls: %d Ps, want %d as before", got, was)
			}
		})
	}
}
