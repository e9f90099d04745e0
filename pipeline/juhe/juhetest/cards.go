package juhetest

import (
	"fmt"
	"strconv"

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
	base := "622" + fmt.Sprintf("%011d", i)
	for x := byte('0'); x <= '9'; x++ {
		card := withCheckDigit(base + string(x))
		if _, r := Rule(card); r == res {
			return card
		}
	}
	panic("juhetest: no check digit gives the verdict") // unreachable: the check digit takes every value
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

// withCheckDigit appends the Luhn check digit to digits.
func withCheckDigit(digits string) string {
	for c := byte('0'); c <= '9'; c++ {
		if luhn(digits + string(c)) {
			return digits + string(c)
		}
	}
	panic("juhetest: no Luhn check digit") // unreachable
}

// luhn reports whether the digits pass the Luhn check.
func luhn(card string) bool {
	sum := 0
	for i := 0; i < len(card); i++ {
		d, err := strconv.Atoi(card[len(card)-1-i : len(card)-i])
		if err != nil {
			return false
		}
		if i%2 == 1 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}
