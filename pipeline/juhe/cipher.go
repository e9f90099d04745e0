package juhe

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
)

// Cipher encrypts and decrypts the fields of the encrypted endpoint
// (queryEncry) as the vendor's document specifies: AES-128 in ECB mode with
// PKCS#5 padding over the UTF-8 text, standard base64 with padding. The key is
// the first 16 characters of the lowercase hex MD5 of the openid, used as 16
// ASCII bytes (not decoded from hex).
//
// A Cipher is safe for concurrent use. It never exposes the openid or the key.
type Cipher struct {
	block cipher.Block
}

// NewCipher returns the Cipher for openid.
func NewCipher(openid string) *Cipher {
	sum := md5.Sum([]byte(openid))
	key := []byte(hex.EncodeToString(sum[:])[:16])
	block, err := aes.NewCipher(key)
	if err != nil {
		// A 16-byte key is always valid for AES-128.
		panic(fmt.Sprintf("juhe: aes key: %v", err))
	}
	return &Cipher{block: block}
}

// Encrypt returns the base64 text of plain encrypted. The result still needs
// URL encoding (+, / and =), which form encoding of the request body does.
func (c *Cipher) Encrypt(plain string) string {
	const bs = aes.BlockSize
	pad := bs - len(plain)%bs
	buf := make([]byte, len(plain)+pad)
	copy(buf, plain)
	for i := len(plain); i < len(buf); i++ {
		buf[i] = byte(pad)
	}
	for i := 0; i < len(buf); i += bs {
		c.block.Encrypt(buf[i:i+bs], buf[i:i+bs])
	}
	return base64.StdEncoding.EncodeToString(buf)
}

// errDecrypt is returned for every text that does not decrypt, whatever the
// cause, so that the error says nothing about the text or the key.
var errDecrypt = errors.New("text does not decrypt with this openid")

// Decrypt is the inverse of Encrypt. It fails when b64 is not standard base64
// of a whole number of blocks, or when the padding is wrong (usually: the
// text was encrypted with another openid). The error never quotes b64.
func (c *Cipher) Decrypt(b64 string) (string, error) {
	const bs = aes.BlockSize
	buf, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(buf) == 0 || len(buf)%bs != 0 {
		return "", errDecrypt
	}
	for i := 0; i < len(buf); i += bs {
		c.block.Decrypt(buf[i:i+bs], buf[i:i+bs])
	}
	pad := int(buf[len(buf)-1])
	if pad == 0 || pad > bs {
		return "", errDecrypt
	}
	for _, b := range buf[len(buf)-pad:] {
		if int(b) != pad {
			return "", errDecrypt
		}
	}
	return string(buf[:len(buf)-pad]), nil
}
