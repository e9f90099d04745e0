package juhe

import (
	"crypto/sha256"
	"encoding/hex"
)

// KeyID identifies an API key without revealing it, for the Summary, the
// checkpoint and the history: "sha256:" and the first 12 hex digits of
// SHA-256("juhe key id" || key). A Juhe key is 32 random hex digits, so the
// short hash cannot be searched back to it. KeyID("") is "".
func KeyID(key string) string {
	if key == "" {
		return ""
	}
	h := sha256.Sum256([]byte("juhe key id\x00" + key))
	return "sha256:" + hex.EncodeToString(h[:6])
}
