package store

import (
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestLoadOrCreateKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "fingerprint.key")
	if _, err := LoadKey(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("LoadKey of a missing file: %v, want fs.ErrNotExist", err)
	}
	k1, created, err := LoadOrCreateKey(path)
	if err != nil || !created {
		t.Fatalf("LoadOrCreateKey = created %v, %v; want a new key", created, err)
	}
	if k1 == (Key{}) {
		t.Fatal("new key is all zeros")
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	k2, created, err := LoadOrCreateKey(path)
	if err != nil || created || k2 != k1 {
		t.Fatalf("second LoadOrCreateKey = %x, created %v, %v; want the same key", k2, created, err)
	}
	if k1.ID() == (Key{}).ID() || len(k1.ID()) != 16 {
		t.Errorf("ID %q: want 16 hex digits that differ between keys", k1.ID())
	}
	if err := os.WriteFile(path, []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKey(path); err == nil {
		t.Error("LoadKey accepted a file that is not a key")
	}
}

func TestFingerprintIsHMAC(t *testing.T) {
	// The expected value comes from openssl, not from this package:
	//   printf 'Jefe\0x' | openssl dgst -sha256 -mac HMAC -macopt hexkey:$(printf '0b%.0s' $(seq 32))
	const want = "7cb83a0bed8744a2b495d6f09ab93df33b48153c603003c9d5a95b4e97097bd0"
	var k Key
	for i := range k {
		k[i] = 0x0b
	}
	if got := fingerprint(k, "Jefe", "x"); hex.EncodeToString(got[:]) != want {
		t.Errorf("fingerprint(0b*32, Jefe, x) = %x, want %s", got, want)
	}
	if fingerprint(k, "a", "b") == fingerprint(Key{1}, "a", "b") {
		t.Error("fingerprint does not depend on the key")
	}
}

// BenchmarkFingerprint is the cost of one pooled fingerprint, the unit
// Plan pays twice a row.
func BenchmarkFingerprint(b *testing.B) {
	f := fingerprinter{key: Key{1, 2, 3}}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			f.sum("阿依古丽·买买提", "6222021234567890128")
		}
	})
}
