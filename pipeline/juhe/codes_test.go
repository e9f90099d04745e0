package juhe

import (
	"strconv"
	"testing"

	"github.com/cardverify/cardverify/pipeline"
)

// TestCodes checks every code of the vendor's document against the classes of
// DESIGN.md "Statuses and the error-code table", and that the table holds no
// other code.
func TestCodes(t *testing.T) {
	want := map[int]pipeline.Class{
		0:      pipeline.Billed,
		218801: pipeline.Transient,
		218804: pipeline.Reject,
		218805: pipeline.Reject,
		218806: pipeline.Reject,
		218808: pipeline.Reject,
		218866: pipeline.Defer,
		10001:  pipeline.Fatal,
		10002:  pipeline.Fatal,
		10003:  pipeline.Fatal,
		10004:  pipeline.Fatal,
		10005:  pipeline.Fatal,
		10007:  pipeline.Fatal,
		10008:  pipeline.Fatal,
		10009:  pipeline.Fatal,
		10011:  pipeline.Throttle,
		10012:  pipeline.Fatal,
		10013:  pipeline.Fatal,
		10014:  pipeline.Transient,
		10020:  pipeline.Transient,
		10021:  pipeline.Fatal,
	}
	if len(Codes) != len(want) {
		t.Errorf("Codes has %d entries, want %d", len(Codes), len(want))
	}
	seen := map[int]bool{}
	for _, c := range Codes {
		if seen[c.Code] {
			t.Errorf("code %d listed twice", c.Code)
		}
		seen[c.Code] = true
		if _, ok := want[c.Code]; !ok {
			t.Errorf("code %d is not in the vendor's document", c.Code)
		}
	}
	for code, class := range want {
		c, ok := Lookup(code)
		if !ok {
			t.Errorf("Lookup(%d): not found", code)
			continue
		}
		if c.Code != code || c.Class != class {
			t.Errorf("Lookup(%d) = code %d class %v, want class %v", code, c.Code, c.Class, class)
		}
		if c.Meaning == "" {
			t.Errorf("code %d has no meaning", code)
		}
		if (c.Hint != "") != (class == pipeline.Fatal) {
			t.Errorf("code %d (%v) hint %q: want a hint exactly for fatal codes", code, class, c.Hint)
		}
	}
}

func TestLookupUnknown(t *testing.T) {
	for _, code := range []int{-1, 1, 10006, 10010, 218800, 999999} {
		if c, ok := Lookup(code); ok {
			t.Errorf("Lookup(%d) = %+v, want not found", code, c)
		}
	}
}

// TestParseEveryCode parses an answer with each code of the table, and an
// unknown one, the way the API sends them.
func TestParseEveryCode(t *testing.T) {
	for _, c := range append(Codes[1:], Code{Code: 218899, Class: pipeline.Transient}) {
		body := `{"reason":"x","result":null,"error_code":` + strconv.Itoa(c.Code) + `}`
		a, err := parseBody([]byte(body))
		if err != nil {
			t.Errorf("code %d: error %v", c.Code, err)
		}
		if a.Class != c.Class || a.Code != c.Code || !a.Answered || a.Hint != c.Hint || a.Res != 0 {
			t.Errorf("code %d: got %+v, want class %v hint %q", c.Code, a, c.Class, c.Hint)
		}
	}
}
