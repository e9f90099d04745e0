package store

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/cardverify/cardverify/pipeline"
)

// KeySize is the length in bytes of a fingerprint key.
const KeySize = 32

// Key is the secret of the HMAC-SHA-256 fingerprints that checkpoints and the
// history hold instead of names and card numbers. It is kept in a key file
// apart from them (DESIGN.md, "privacy"): a checkpoint copied anywhere gives
// back nothing without it. The zero Key is not a valid key.
type Key [KeySize]byte

// ID identifies k without revealing it: the first 8 bytes of
// SHA-256("cardverify key id" || k), in hex. Checkpoints and the history
// record it so that a wrong key is refused instead of silently giving new
// fingerprints.
func (k Key) ID() string {
	h := sha256.New()
	h.Write([]byte("cardverify key id\x00"))
	h.Write(k[:])
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// DefaultKeyPath is where the fingerprint key of this user lives when no
// --key-file is given: cardverify/fingerprint.key in the user's config
// directory (os.UserConfigDir: $XDG_CONFIG_HOME or ~/.config on Linux).
func DefaultKeyPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("find the user's config directory for the fingerprint key: %w", err)
	}
	return filepath.Join(dir, "cardverify", "fingerprint.key"), nil
}

// LoadKey reads the fingerprint key at path. A missing file is
// fs.ErrNotExist (wrapped); a file of the wrong size is an
// *pipeline.InputError.
func LoadKey(path string) (Key, error) {
	var k Key
	b, err := os.ReadFile(path)
	if err != nil {
		return k, fmt.Errorf("read fingerprint key %s: %w", path, err)
	}
	if len(b) != 2*KeySize+1 && len(b) != 2*KeySize {
		return k, &pipeline.InputError{Path: path, Msg: pipeline.Reason(pipeline.ErrNotKey),
			Hint: pipeline.Reason(pipeline.HintNotKey)}
	}
	if _, err := hex.Decode(k[:], b[:2*KeySize]); err != nil {
		return k, &pipeline.InputError{Path: path, Msg: pipeline.Reason(pipeline.ErrNotKey),
			Hint: pipeline.Reason(pipeline.HintNotKey)}
	}
	return k, nil
}

// LoadOrCreateKey reads the fingerprint key at path, creating a new random
// one first (file mode 0600, directory 0700) if there is none. created says
// whether it did.
func LoadOrCreateKey(path string) (k Key, created bool, err error) {
	k, err = LoadKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return k, false, err
	}
	if _, err := rand.Read(k[:]); err != nil {
		return k, false, fmt.Errorf("create fingerprint key: %w", err)
	}
	err = writeKey(path, k)
	if errors.Is(err, fs.ErrExist) {
		// Two processes created the key at once: the loser reads the
		// winner's.
		k, err = LoadKey(path)
		return k, false, err
	}
	if err != nil {
		return Key{}, false, err
	}
	return k, true, nil
}

// LoadOrCreateDefaultKey is LoadOrCreateKey at DefaultKeyPath.
func LoadOrCreateDefaultKey() (Key, error) {
	path, err := DefaultKeyPath()
	if err != nil {
		return Key{}, err
	}
	k, _, err := LoadOrCreateKey(path)
	return k, err
}

// writeKey writes k to a new key file at path (mode 0600, its directory
// 0700 if created). It never replaces a file: one that exists is
// fs.ErrExist (wrapped).
func writeKey(path string, k Key) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create fingerprint key %s: %w", path, err)
	}
	// O_EXCL: two processes creating the key at once must not end with
	// different keys.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create fingerprint key %s: %w", path, err)
	}
	_, err = f.WriteString(hex.EncodeToString(k[:]) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("create fingerprint key %s: %w", path, err)
	}
	return nil
}

// fingerprinter computes fingerprints under one key, by the one rule of
// checkpoints and the history (hasher.sum), with pooled HMAC states: safe
// for concurrent use, an allocation-free call once warm. Its zero value is
// not usable; set key.
type fingerprinter struct {
	key  Key
	pool sync.Pool // of *hasher
}

func (f *fingerprinter) sum(parts ...string) pipeline.Key {
	h := f.get()
	k := h.sum(parts...)
	f.pool.Put(h)
	return k
}

func (f *fingerprinter) get() *hasher {
	if h, ok := f.pool.Get().(*hasher); ok {
		return h
	}
	return newHasher(f.key)
}

// hasher is one reusable HMAC state; not safe for concurrent use.
type hasher struct {
	mac   hash.Hash
	buf   []byte
	sum32 []byte
}

func newHasher(k Key) *hasher {
	return &hasher{mac: hmac.New(sha256.New, k[:]), buf: make([]byte, 0, 64), sum32: make([]byte, 0, sha256.Size)}
}

// sum is the fingerprint rule: HMAC-SHA-256 of parts joined by NUL bytes.
func (h *hasher) sum(parts ...string) pipeline.Key {
	h.buf = h.buf[:0]
	for i, p := range parts {
		if i > 0 {
			h.buf = append(h.buf, 0)
		}
		h.buf = append(h.buf, p...)
	}
	h.mac.Reset()
	h.mac.Write(h.buf)
	h.sum32 = h.mac.Sum(h.sum32[:0])
	return pipeline.Key(h.sum32)
}

// checkpointKey is a checkpoint's fingerprint key: where it was read from,
// its ID as the checkpoint records it, and the fingerprinter under it.
type checkpointKey struct {
	file string        // "" when opened read-only without it
	id   string        // the ID of the key the checkpoint was made with
	fp   fingerprinter // under the checkpoint's key; zero key when opened without it
}

// loadKey reads the ID of the checkpoint's fingerprint key from meta and
// the key itself from db.key.file, refusing a key file that is missing or
// holds another key. A checkpoint without a meta row is new (q is then the
// committer's): it takes the key file's key, created if there is none, and
// records its ID. A read-only db without a key file reads the ID only.
func (db *DB) loadKey(ctx context.Context, q *sql.DB) error {
	ck := &db.key
	err := q.QueryRowContext(ctx, "SELECT key_id FROM meta WHERE id = 1").Scan(&ck.id)
	if errors.Is(err, sql.ErrNoRows) {
		if db.readOnly {
			return &pipeline.InputError{Path: db.path, Msg: pipeline.Reason(pipeline.ErrNoKeyID), Hint: pipeline.Reason(pipeline.HintNoKeyID)}
		}
		return db.newKey(ctx)
	}
	if err != nil {
		return fmt.Errorf("read checkpoint %s key ID: %w", db.path, err)
	}
	if ck.file == "" {
		return nil
	}
	k, err := LoadKey(ck.file)
	if errors.Is(err, fs.ErrNotExist) {
		return &pipeline.InputError{Path: db.path,
			Msg:  pipeline.Reason(pipeline.ErrNoKeyFile, ck.file, ck.id),
			Hint: pipeline.Reason(pipeline.HintKeyFile)}
	}
	if err != nil {
		return err
	}
	if k.ID() != ck.id {
		return &pipeline.InputError{Path: db.path,
			Msg:  pipeline.Reason(pipeline.ErrOtherKey, ck.file, k.ID(), ck.id),
			Hint: pipeline.Reason(pipeline.HintOtherKey)}
	}
	ck.fp.key = k
	return nil
}

// newKey gives a new checkpoint the key file's key, created if there is
// none, and records its ID in meta.
func (db *DB) newKey(ctx context.Context) error {
	k, _, err := LoadOrCreateKey(db.key.file)
	if err != nil {
		return err
	}
	db.key.id, db.key.fp.key = k.ID(), k
	_, err = db.wdb.ExecContext(ctx, "INSERT INTO meta (id, key_id, created_at) VALUES (1, ?, ?)",
		db.key.id, formatTime(db.Now().Truncate(time.Second)))
	if err != nil {
		return fmt.Errorf("write checkpoint %s key ID: %w", db.path, err)
	}
	return nil
}

// moveKeyOut prepares the migration of a checkpoint that keeps its key in
// meta: the key is written to the key file if there is no file there, and
// must be the one there otherwise. It returns the key's ID, or "" for a
// checkpoint that has no key yet (it gets the key file's at loadKey).
func (db *DB) moveKeyOut(ctx context.Context) (string, error) {
	var raw []byte
	err := db.wdb.QueryRowContext(ctx, "SELECT hmac_key FROM meta WHERE id = 1").Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read checkpoint %s key: %w", db.path, err)
	}
	if len(raw) != KeySize {
		return "", &pipeline.InputError{Path: db.path, Msg: pipeline.Reason(pipeline.ErrKeyDamaged), Hint: pipeline.Reason(pipeline.HintUseNewDB)}
	}
	old := Key(raw)
	err = writeKey(db.key.file, old)
	if errors.Is(err, fs.ErrExist) {
		have, lerr := LoadKey(db.key.file)
		if lerr != nil {
			return "", lerr
		}
		if have != old {
			return "", &pipeline.InputError{Path: db.path,
				Msg:  pipeline.Reason(pipeline.ErrKeyMove, old.ID(), db.key.file, have.ID()),
				Hint: pipeline.Reason(pipeline.HintKeyMove)}
		}
		err = nil
	}
	if err != nil {
		return "", err
	}
	// Zero the freed pages from now on: the dropped meta table must not
	// leave the key in the file.
	if _, err := db.wdb.ExecContext(ctx, "PRAGMA secure_delete = ON"); err != nil {
		return "", fmt.Errorf("migrate checkpoint %s: %w", db.path, err)
	}
	return old.ID(), nil
}
