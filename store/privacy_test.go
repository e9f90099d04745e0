package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cardverify/cardverify/pipeline"
	"github.com/cardverify/cardverify/pipeline/msg"
	"github.com/cardverify/cardverify/store/storetest"
)

// copyCheckpoint copies the checkpoint files at path (the database, its
// -wal and -shm, whichever exist) into a new directory, as someone given
// only the checkpoint would get them, and returns the copy's path.
func copyCheckpoint(tb testing.TB, path string) string {
	tb.Helper()
	dst := filepath.Join(tb.TempDir(), filepath.Base(path))
	for _, suffix := range []string{"", "-wal", "-shm"} {
		b, err := os.ReadFile(path + suffix)
		if errors.Is(err, fs.ErrNotExist) && suffix != "" {
			continue
		}
		if err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(dst+suffix, b, 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	return dst
}

// attack plays someone who has the checkpoint files and knows how
// cardverify fingerprints cards: for each row it tries every value of the
// digits the mask hides (masked holds the card's first 6 and last 4) but
// the two that bins gives (8-digit BINs are public: the search is 10^4)
// under each key in keys and under every 32-byte value or 64-hex-digit text
// the checkpoint holds anywhere, and returns the cards it recovered by row.
func attack(tb testing.TB, path string, keys []Key, bins map[string]string) map[int]string {
	tb.Helper()
	q, err := sql.Open("sqlite3", path) // a plain connection: it reads the -wal too
	if err != nil {
		tb.Fatal(err)
	}
	defer q.Close()
	candidates := append([]Key{{}}, keys...)
	seen := map[Key]bool{}
	var tables []string
	rs, err := q.Query("SELECT name FROM sqlite_master WHERE type = 'table'")
	if err != nil {
		tb.Fatal(err)
	}
	for rs.Next() {
		var n string
		rs.Scan(&n)
		tables = append(tables, n)
	}
	rs.Close()
	for _, t := range tables {
		rs, err := q.Query("SELECT * FROM " + t)
		if err != nil {
			tb.Fatal(err)
		}
		cols, _ := rs.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rs.Next() {
			rs.Scan(ptrs...)
			for _, v := range vals {
				var k Key
				switch v := v.(type) {
				case []byte:
					if len(v) == KeySize {
						copy(k[:], v)
					} else if len(v) == 2*KeySize {
						hex.Decode(k[:], v)
					}
				case string:
					if len(v) == 2*KeySize {
						hex.Decode(k[:], []byte(v))
					}
				}
				if k != (Key{}) && !seen[k] {
					seen[k] = true
					candidates = append(candidates, k)
				}
			}
		}
		rs.Close()
	}

	found := map[int]string{}
	rs, err = q.Query("SELECT r.row_no, r.masked, p.card FROM rows r JOIN pairs p ON p.first_row = r.first_row")
	if err != nil {
		tb.Fatal(err)
	}
	defer rs.Close()
	for rs.Next() {
		var row int
		var masked string
		var fp []byte
		if err := rs.Scan(&row, &masked, &fp); err != nil {
			tb.Fatal(err)
		}
		head := bins[masked[:6]]
		hidden := strings.Count(masked, "*") - (len(head) - 6)
		if len(head) != 8 || hidden != 4 {
			tb.Fatalf("row %d: masked %q, BIN %q: want 8 known digits and 4 to search", row, masked, head)
		}
		tail := masked[len(masked)-4:]
		limit := 1
		for range hidden {
			limit *= 10
		}
		for _, k := range candidates {
			h := newHasher(k)
			for n := range limit {
				card := fmt.Sprintf("%s%0*d%s", head, hidden, n, tail)
				if got := h.sum("card", card); bytes.Equal(got[:], fp) {
					found[row] = card
					break
				}
			}
			if found[row] != "" {
				break
			}
		}
	}
	return found
}

// TestCheckpointAloneGivesNoCard is the attack of issue #12: the
// checkpoint files of a job whose cards hide 4 digits behind the mask give
// back no card, and the same search with the key file's key gives them all
// (so that a search that cannot succeed does not pass for privacy).
func TestCheckpointAloneGivesNoCard(t *testing.T) {
	ctx := context.Background()
	db, path := tempDB(t)
	// 16 digits: the mask shows the first 6 and the last 4; the attacker
	// knows 2 more from an 8-digit BIN, and searches the 4 left.
	rows := []pipeline.Row{
		{Row: 2, Name: "王伟", Card: "6222021234560126"},
		{Row: 3, Name: "李娜", Card: "6217009876540012"},
		{Row: 4, Name: "张秀英", Card: "6212005555550601"},
	}
	bins := map[string]string{"622202": "62220212", "621700": "62170098", "621200": "62120055"}
	known := plan(t, db, rows, 3)
	answer(t, db, known[0], pipeline.Match, base)
	if err := db.flush(ctx); err != nil {
		t.Fatal(err)
	}
	// The attack works on a checkpoint that keeps its key inside, as
	// cardverify's did before the key file.
	old := filepath.Join(t.TempDir(), "old.db")
	makeOldCheckpoint(t, old, Key{7, 7, 7}, rows[0].Name, rows[0].Card)
	if got := attack(t, old, nil, bins); got[2] != rows[0].Card {
		t.Fatalf("the attack on a checkpoint holding its key got %v, want row 2's card: the attack is broken", got)
	}

	live := copyCheckpoint(t, path) // while the run is on: the -wal holds the data
	db.Close()
	closed := copyCheckpoint(t, path)

	key, err := LoadKey(testKeyFile(path))
	if err != nil {
		t.Fatal(err)
	}
	needles := []string{string(key[:]), hex.EncodeToString(key[:])}
	for _, p := range []string{live, closed} {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			b, _ := os.ReadFile(p + suffix)
			if bytes.Contains(b, key[:]) || bytes.Contains(b, []byte(needles[1])) {
				t.Errorf("%s%s holds the fingerprint key", filepath.Base(p), suffix)
			}
		}
		if got := attack(t, p, nil, bins); len(got) != 0 {
			t.Errorf("from the checkpoint files alone the attack recovered %v", got)
		}
		got := attack(t, p, []Key{key}, bins)
		for _, r := range rows {
			if got[r.Row] != r.Card {
				t.Errorf("with the key the attack got %q for row %d, want %s: the test's search is broken", got[r.Row], r.Row, r.Card)
			}
		}
	}
}

// makeOldCheckpoint writes at path a checkpoint as cardverify wrote it
// before the key left the checkpoint (schema 4, the key in meta.hmac_key),
// holding one pair fingerprinted under key.
func makeOldCheckpoint(tb testing.TB, path string, key Key, name, card string) {
	tb.Helper()
	names, err := migrationNames()
	if err != nil {
		tb.Fatal(err)
	}
	q, err := sql.Open("sqlite3", path+"?_journal_mode=WAL")
	if err != nil {
		tb.Fatal(err)
	}
	defer q.Close()
	for i, n := range names[:keyOutVersion-1] {
		body, _ := migrations.ReadFile(n)
		if _, err := q.Exec(string(body) + fmt.Sprintf("\nPRAGMA user_version = %d;", i+1)); err != nil {
			tb.Fatal(err)
		}
	}
	fp, cfp := fingerprint(key, name, card), fingerprint(key, "card", card)
	if _, err := q.Exec(`INSERT INTO meta (id, hmac_key, created_at) VALUES (1, ?, '2026-11-01T00:00:00.000000000Z');
		INSERT INTO pairs (first_row, fp, card) VALUES (2, ?, ?);
		INSERT INTO rows (row_no, fp, masked, first_row) VALUES (2, ?, ?, 2);`,
		key[:], fp[:], cfp[:], fp[:], pipeline.MaskCard(card)); err != nil {
		tb.Fatal(err)
	}
}

// TestOldCheckpointKeyMovesOut: a checkpoint of an older cardverify gives
// its key to the key file when there is none, keeps its fingerprints
// valid, and holds no copy of the key afterwards; with another key already
// in the key file it is refused and left as it was.
func TestOldCheckpointKeyMovesOut(t *testing.T) {
	ctx := context.Background()
	var old Key
	for i := range old {
		old[i] = byte(0xa0 + i)
	}
	const name, card = "王伟", "6222021234560126"

	t.Run("no key file yet", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "old.db")
		makeOldCheckpoint(t, path, old, name, card)
		keyFile := filepath.Join(t.TempDir(), "cardverify", "fingerprint.key")
		db, err := Open(ctx, path, keyFile)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := LoadKey(keyFile); err != nil || got != old {
			t.Fatalf("key file after the migration: %x, %v; want the checkpoint's key", got, err)
		}
		if db.KeyID() != old.ID() {
			t.Errorf("KeyID %s, want %s", db.KeyID(), old.ID())
		}
		if got := db.Fingerprint(name, card); got != fingerprint(old, name, card) {
			t.Error("the migrated checkpoint's fingerprints changed")
		}
		if err := db.flush(ctx); err != nil {
			t.Fatal(err)
		}
		for _, suffix := range []string{"", "-wal", "-shm"} {
			if b, _ := os.ReadFile(path + suffix); bytes.Contains(b, old[:]) {
				t.Errorf("old.db%s still holds the key after the migration", suffix)
			}
		}
		db.Close()
		for _, suffix := range []string{"", "-wal"} {
			if b, _ := os.ReadFile(path + suffix); bytes.Contains(b, old[:]) {
				t.Errorf("old.db%s still holds the key after Close", suffix)
			}
		}
	})

	t.Run("another key in the key file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "old.db")
		makeOldCheckpoint(t, path, old, name, card)
		keyFile := filepath.Join(t.TempDir(), "fingerprint.key")
		if _, _, err := LoadOrCreateKey(keyFile); err != nil {
			t.Fatal(err)
		}
		_, err := Open(ctx, path, keyFile)
		ie := wantInputError(t, err, 0)
		if !strings.Contains(msg.Text("en", ie.Msg), keyFile) || !strings.Contains(msg.Text("en", ie.Hint), "--key-file") {
			t.Errorf("error %v: want the key file's path and --key-file", err)
		}
		if v := queryInt(t, rawDB(t, path), "PRAGMA user_version"); v != keyOutVersion-1 {
			t.Errorf("refused checkpoint has schema %d, want it left at %d", v, keyOutVersion-1)
		}
	})
}

// TestWrongOrMissingKeyRefused: a checkpoint opened with a key file that is
// missing or holds another key is refused with a message naming the file,
// by Open and OpenReadOnly alike; OpenReadOnly without a key file still
// gives the counts.
func TestWrongOrMissingKeyRefused(t *testing.T) {
	ctx := context.Background()
	db, path := tempDB(t)
	plan(t, db, people(3, 0, 4), 3)
	db.Close()
	other := filepath.Join(t.TempDir(), "other.key")
	if _, _, err := LoadOrCreateKey(other); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "missing.key")
	for _, tc := range []struct {
		name, keyFile, want string
	}{
		{"another key", other, "holds fingerprint key"},
		{"no key file", missing, "no fingerprint key file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Open(ctx, path, tc.keyFile)
			ie := wantInputError(t, err, 0)
			if !strings.Contains(msg.Text("en", ie.Msg), tc.want) || !strings.Contains(msg.Text("en", ie.Msg), tc.keyFile) {
				t.Errorf("Open: %v; want %q and the key file's path", err, tc.want)
			}
			_, err = OpenReadOnly(ctx, path, tc.keyFile)
			ie = wantInputError(t, err, 0)
			if !strings.Contains(msg.Text("en", ie.Msg), tc.keyFile) {
				t.Errorf("OpenReadOnly: %v; want the key file's path", err)
			}
		})
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("opening with a missing key file created one")
	}
	ro, err := OpenReadOnly(ctx, path, "")
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if st, err := ro.Status(ctx); err != nil || st.Rows != 3 {
		t.Errorf("status without the key: %d rows, %v; want 3", st.Rows, err)
	}
	if ro.Fingerprint("王伟", "6222021234560126") != (pipeline.Key{}) {
		t.Error("Fingerprint without the key is not the zero Key")
	}
}

// TestReadOnlyDirectory: a finished checkpoint in a directory or on a
// medium that cannot be written opens read-only, with its key, and gives
// its counts and fingerprints, without a -shm file.
func TestReadOnlyDirectory(t *testing.T) {
	ctx := context.Background()
	db, path := tempDB(t)
	rows := people(4, 0, 5)
	known := plan(t, db, rows, 4)
	answer(t, db, known[0], pipeline.Match, base)
	db.Close()
	ro := filepath.Join(storetest.ReadOnlyDir(t, filepath.Dir(path)), filepath.Base(path))
	rdb, err := OpenReadOnly(ctx, ro, testKeyFile(ro))
	if err != nil {
		t.Fatalf("OpenReadOnly in a read-only directory: %v", err)
	}
	defer rdb.Close()
	st, err := rdb.Status(ctx)
	if err != nil || st.Rows != 4 || st.Match != 1 {
		t.Errorf("status: %+v, %v; want 4 rows, 1 match", st, err)
	}
	if rdb.Fingerprint(rows[0].Name, rows[0].Card) != known[0].Pair {
		t.Error("Fingerprint in a read-only directory differs from the recorded one")
	}
}
