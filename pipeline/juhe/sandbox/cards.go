package sandbox

import (
	"fmt"

	"github.com/cardverify/cardverify/pipeline/juhe"
)

// MatchCard returns a 16-digit card number that passes the Luhn check, is
// distinct for each i (0 ≤ i < 10^11), and that the default rule answers
// with a match (res 1).
func MatchCard(i int) string { return verdictCard(i, 1) }

// MismatchCard is like MatchCard for a mismatch (res 2).
func MismatchCard(i int) string { return verdictCard(i, 2) }

func verdictCard(i, res int) string {
	if i < 0 || i >= 1e11 {
		panic(fmt.Sprintf("juhetest: card index %d out of range", i))
	}
	// 622, i in 11 digits, a free digit x, the Luhn check digit. The check
	// digit, which decides the verdict, takes every value as x does.
	var b [16]byte
	copy(b[:], "622")
	for j, v := 13, i; j >= 3; j-- {
		b[j] = byte('0' + v%10)
		v /= 10
	}
	for x := byte('0'); x <= '9'; x++ {
		b[14] = x
		b[15] = checkDigit(b[:15])
		if last := b[15]; (last == '0' || last == '1') == (res == 2) {
			return string(b[:])
		}
	}
	panic("juhetest: no check digit gives the verdict") // unreachable
}

// CodeCard returns a 16-digit card number that passes the Luhn check and that
// the default rule answers with code, an error code of juhe.Codes other than
// 0. It returns "" for any other code.
func CodeCard(code int) string {
	if _, ok := juhe.Lookup(code); !ok || code == 0 {
		return ""
	}
	suffix := fmt.Sprintf("%06d", code)
	for m := 0; m < 10_000; m++ {
		card := "999999" + fmt.Sprintf("%04d", m) + suffix
		if luhn(card) {
			return card
		}
	}
	return "" // unreachable: the middle digits reach every check sum
}

// checkDigit returns the Luhn check digit for the ASCII digits.
func checkDigit(digits []byte) byte {
	sum := 0
	for i := range digits {
		d := int(digits[len(digits)-1-i] - '0')
		if i%2 == 0 { // doubled: the check digit will take position 0
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return byte('0' + (10-sum%10)%10)
}

// luhn reports whether the digits pass the Luhn check.
func luhn(card string) bool {
	if len(card) < 2 || !digits(card) {
		return false
	}
	return checkDigit([]byte(card[:len(card)-1])) == card[len(card)-1]
}
