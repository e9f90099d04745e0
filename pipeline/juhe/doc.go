// Package juhe is the client of Juhe's bank card two-element API
// (银行卡二元素检测): it builds the request for the plain or the encrypted
// endpoint, parses every shape of answer the API and the network in front of
// it can give, and classifies each answer with the error-code table of the
// vendor's document (Codes).
//
// A Client implements pipeline.Verifier. It knows nothing of rows or files:
// one call verifies one (name, card) pair.
//
// Requests are always POST application/x-www-form-urlencoded with jobid=1, and
// the key is sent in the body only, so that it never shows in a URL, a proxy
// log or an error. On the encrypted endpoint the name and the card are
// AES-128/ECB/PKCS5 encrypted with a key derived from the openid (Cipher).
package juhe
