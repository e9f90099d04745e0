package juhe

import (
	"strings"
	"testing"
)

func TestKeyID(t *testing.T) {
	// Expected value from: printf 'juhe key id\0abc' | sha256sum | cut -c1-12
	if got, want := KeyID("abc"), "sha256:6fc0fc46bfe2"; got != want {
		t.Errorf("KeyID(abc) = %q, want %q", got, want)
	}
	if KeyID("") != "" {
		t.Errorf("KeyID of no key = %q, want empty", KeyID(""))
	}
	if id := KeyID("0123456789abcdef0123456789abcdef"); strings.Contains(id, "0123456789") {
		t.Errorf("KeyID %q shows the key", id)
	}
}
