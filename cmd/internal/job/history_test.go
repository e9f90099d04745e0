package job

import (
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"30d", 720 * time.Hour, true},
		{"45d", 1080 * time.Hour, true},
		{"1d12h", 36 * time.Hour, true},
		{"36h", 36 * time.Hour, true},
		{"90m", 90 * time.Minute, true},
		{"0d", 0, true},
		{" 7d ", 168 * time.Hour, true},
		{"", 0, false},
		{"d", 0, false},
		{"-1d", 0, false},
		{"-3h", 0, false},
		{"1.5d", 0, false},
		{"30 days", 0, false},
		{"3x", 0, false},
		{"1d-2h", 0, false},
	} {
		got, err := ParseDuration(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestHistoryFlagsChecked(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    Config
		ok   bool
	}{
		{"reuse on a real run", Config{ReuseWithin: time.Hour, Key: "k"}, true},
		{"reuse in the sandbox", Config{ReuseWithin: time.Hour, Sandbox: true}, false},
		{"a history in the sandbox", Config{History: "h.db", Sandbox: true}, false},
		{"negative price", Config{Price: -1, Key: "k"}, false},
	} {
		if err := tc.c.checkHistory(); (err == nil) != tc.ok {
			t.Errorf("%s: checkHistory = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}
