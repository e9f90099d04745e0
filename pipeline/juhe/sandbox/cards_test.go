package sandbox

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/cardverify/cardverify/pipeline/juhe"
)

func TestLuhn(t *testing.T) {
	for card, want := range map[string]bool{
		"6217003180000902693": true, // the vendor's example
		"4111111111111111":    true,
		"6212261202011584":    false,
		"79927398713":         true,
		"7992739871x":         false,
	} {
		if got := luhn(card); got != want {
			t.Errorf("luhn(%s) = %v, want %v", card, got, want)
		}
	}
}

func TestCards(t *testing.T) {
	seen := map[string]bool{}
	for _, i := range []int{0, 1, 2, 9, 10, 12345, 99_999_999_999} {
		for res, card := range map[int]string{1: MatchCard(i), 2: MismatchCard(i)} {
			if code, r := Rule(card); code != 0 || r != res || len(card) != 16 || !luhn(card) || seen[card] {
				t.Errorf("card %s for %d, res %d: rule %d %d, luhn %v, seen %v", card, i, res, code, r, luhn(card), seen[card])
			}
			seen[card] = true
		}
	}
	for _, c := range juhe.Codes {
		card := CodeCard(c.Code)
		if c.Code == 0 {
			if card != "" {
				t.Errorf("CodeCard(0) = %q, want empty", card)
			}
			continue
		}
		if code, _ := Rule(card); code != c.Code || len(card) != 16 || !luhn(card) {
			t.Errorf("CodeCard(%d) = %s: rule gives %d, luhn %v", c.Code, card, code, luhn(card))
		}
	}
	if CodeCard(12345) != "" {
		t.Error("CodeCard of an unknown code is not empty")
	}
}

// TestSandboxCardsFixture checks that testdata/juhe/sandbox-cards.csv and
// sandbox-cards-alone.csv still say what the default rule answers, and that
// together they hold every code of the vendor's document.
func TestSandboxCardsFixture(t *testing.T) {
	codes := map[int]bool{}
	for _, name := range []string{"sandbox-cards.csv", "sandbox-cards-alone.csv"} {
		f, err := os.Open(filepath.Join("..", "..", "..", "testdata", "juhe", name))
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(f).ReadAll()
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) < 2 || rows[0][0] != "姓名" || rows[0][1] != "银行卡号" {
			t.Fatalf("%s has %d rows, header %v", name, len(rows), rows[0])
		}
		for _, row := range rows[1:] {
			code, res := Rule(row[1])
			wantCode, _ := strconv.Atoi(row[2])
			wantRes, _ := strconv.Atoi(row[3])
			if code != wantCode || res != wantRes {
				t.Errorf("%s %v: the rule gives error_code %d res %d", name, row, code, res)
			}
			codes[code] = true
		}
	}
	for _, c := range juhe.Codes {
		if !codes[c.Code] {
			t.Errorf("no card gets error_code %d", c.Code)
		}
	}
}
