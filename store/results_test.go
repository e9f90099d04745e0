package store

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/cardverify/cardverify/pipeline"
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

// TestResultsDamaged: a checkpoint whose columns hold what the schema never
// writes (a fingerprint of the wrong length, a blob or a word for a number)
// gives an error that names the row, never a panic or a result made of it;
// the error stays: a later Next gives it again.
func TestResultsDamaged(t *testing.T) {
	for _, tc := range []struct {
		name, damage, want string
	}{
		{"short fingerprint", "UPDATE rows SET fp = x'00' WHERE row_no = 3", "row 3"},
		{"blob res", "UPDATE outcomes SET res = x'01' WHERE first_row = 3", "pair of row 3"},
		{"text attempts", "UPDATE outcomes SET attempts = 'one' WHERE first_row = 3", "pair of row 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			db, path := tempDB(t)
			for _, k := range plan(t, db, people(4, 0, 21), 4) {
				answer(t, db, k, pipeline.Match, base)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			raw, err := sql.Open("sqlite3", "file:"+path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := raw.Exec(tc.damage); err != nil {
				t.Fatal(err)
			}
			raw.Close()
			ro, err := OpenReadOnly(ctx, path, testKeyFile(path))
			if err != nil {
				t.Fatal(err)
			}
			defer ro.Close()
			rs, err := ro.Results(ctx)
			if err != nil {
				t.Fatal(err)
			}
			// A chunk is read whole: the error comes before any row of it.
			r, err := rs.Next()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Next = %+v, %v; want an error naming %q", r, err, tc.want)
			}
			if _, again := rs.Next(); again == nil || again.Error() != err.Error() {
				t.Errorf("Next after the error = %v, want the same error", again)
			}
		})
	}
}
