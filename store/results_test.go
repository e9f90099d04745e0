package store

import (
	"strings"
	"testing"
	"time"
)

// TestParseStoredTime reads stored times digit by digit where it can and
// through time.Parse otherwise: the same times either way, the zero time
// for none or for text that is no time. A time in UTC is in time.UTC, as
// time.Parse gives it.
func TestParseStoredTime(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{"2026-12-02T03:17:59.019707511Z", time.Date(2026, 12, 2, 3, 17, 59, 19707511, time.UTC)},
		{"2026-11-27T02:00:00.000000000Z", time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)},
		{"2024-02-29T23:59:59.999999999Z", time.Date(2024, 2, 29, 23, 59, 59, 999999999, time.UTC)}, // day 29: time.Parse
		{"2026-01-31T00:00:00.000000001Z", time.Date(2026, 1, 31, 0, 0, 0, 1, time.UTC)},
		{"2026-11-27T10:00:00.000000000+08:00", time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)}, // another zone: time.Parse
		{"2026-11-27T02:00:00Z", time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)},                // RFC 3339 fallback
		{"", time.Time{}},
		{"2026-13-27T02:00:00.000000000Z", time.Time{}}, // month 13
		{"2026-11-27T24:00:00.000000000Z", time.Time{}}, // hour 24
		{"2026-11-27T02:60:00.000000000Z", time.Time{}},
		{"2026-11-27T02:00:60.000000000Z", time.Time{}},
		{"2026-02-30T02:00:00.000000000Z", time.Time{}}, // no such day
		{"2026-11-2xT02:00:00.000000000Z", time.Time{}},
		{"2026-11-27T02:00:00.00000000xZ", time.Time{}},
	} {
		got := parseStoredTime(tc.in)
		if !got.Equal(tc.want) || (strings.HasSuffix(tc.in, "Z") && got.Location() != time.UTC) {
			t.Errorf("parseStoredTime(%q) = %v (%v), want %v", tc.in, got, got.Location(), tc.want)
		}
	}
}
