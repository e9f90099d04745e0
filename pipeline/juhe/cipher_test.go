package juhe

import (
	"strings"
	"testing"
)

// The vectors were computed with openssl, independently of this package:
//
//	OPENID='JH1234567890abcdef'
//	K=$(printf '%s' "$OPENID" | md5sum | cut -c1-16)   # f420f00d94c7b96e
//	KHEX=$(printf '%s' "$K" | xxd -p)                  # the 16 ASCII bytes in hex
//	printf '%s' '董好' | openssl enc -aes-128-ecb -K $KHEX -nosalt | base64
//
// (OpenSSL 3.0.19; enc pads with PKCS#7, which is PKCS#5 for 16-byte blocks.)
var cipherVectors = []struct {
	name, plain, b64 string
}{
	{"chinese name", "董好", "DzDDd+fBK3/okbKI/L3mzg=="},
	{"19-digit card", "6217003180000902693", "bw6xKBXfL4gKWmHF9w3L2Nti6f1s0DR7+5cu9OPjaP0="},
	{"empty", "", "mLraxKp68teOZt8Elc+FMg=="},
	{"one whole block", "0123456789abcdef", "My2KSzGioTBdJR3yf2oeF5i62sSqevLXjmbfBJXPhTI="},
}

const vectorOpenID = "JH1234567890abcdef"

func TestCipherVectors(t *testing.T) {
	c := NewCipher(vectorOpenID)
	for _, tc := range cipherVectors {
		t.Run(tc.name, func(t *testing.T) {
			if got := c.Encrypt(tc.plain); got != tc.b64 {
				t.Errorf("Encrypt(%q) = %q, want %q", tc.plain, got, tc.b64)
			}
			got, err := c.Decrypt(tc.b64)
			if err != nil || got != tc.plain {
				t.Errorf("Decrypt(%q) = %q, %v; want %q", tc.b64, got, err, tc.plain)
			}
		})
	}
}

func TestCipherRoundTrip(t *testing.T) {
	c := NewCipher("some-openid")
	for _, s := range []string{"a", "张三", "欧阳娜娜·迪丽热巴", strings.Repeat("x", 15), strings.Repeat("y", 16), strings.Repeat("z", 17), "6222021234567890123"} {
		got, err := c.Decrypt(c.Encrypt(s))
		if err != nil || got != s {
			t.Errorf("round trip of %q = %q, %v", s, got, err)
		}
	}
}

func TestCipherDecryptErrors(t *testing.T) {
	c := NewCipher(vectorOpenID)
	other := NewCipher("another openid")
	tests := []struct{ name, in string }{
		{"empty", ""},
		{"not base64", "%%%"},
		{"not whole blocks", "AAAA"},
		{"url-safe alphabet", strings.NewReplacer("+", "-", "/", "_").Replace(cipherVectors[1].b64)},
		{"other openid", other.Encrypt("6217003180000902693")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.Decrypt(tc.in)
			if err == nil {
				t.Fatalf("Decrypt(%q) = %q, want an error", tc.in, got)
			}
			if tc.in != "" && strings.Contains(err.Error(), tc.in) {
				t.Errorf("error %q quotes the input", err)
			}
		})
	}
}
