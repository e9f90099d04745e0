package juhe

import (
	"bufio"
	"maps"
	"os"
	"regexp"
	"strconv"
	"testing"

	"github.com/cardverify/cardverify/pipeline"
)

// designClasses is DESIGN.md's "Statuses and the error-code table", as a
// literal table: the class each code of the vendor's document leads to.
var designClasses = map[int]pipeline.Class{
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

// TestCodes checks every code of the vendor's document against the classes of
// DESIGN.md "Statuses and the error-code table", and that the table holds no
// other code.
func TestCodes(t *testing.T) {
	want := designClasses
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
	want := maps.Clone(designClasses)
	delete(want, 0)
	want[218899] = pipeline.Transient // unknown: retried, never a verdict
	for code, class := range want {
		body := `{"reason":"x","result":null,"error_code":` + strconv.Itoa(code) + `}`
		a, err := parseBody([]byte(body))
		if err != nil {
			t.Errorf("code %d: error %v", code, err)
		}
		if a.Class != class || a.Code != code || !a.Answered || (a.Hint != "") != (class == pipeline.Fatal) || a.Res != 0 {
			t.Errorf("code %d: got %+v, want class %v and a hint exactly for fatal codes", code, a, class)
		}
	}
}

// TestCodesMatchDocument reads the error-code tables of the vendor's document
// (testdata/juhe/vendor-doc.md, verbatim) and checks that Codes holds each
// code with the document's own text, and no code the document lacks.
func TestCodesMatchDocument(t *testing.T) {
	f, err := os.Open("../../testdata/juhe/vendor-doc.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	row := regexp.MustCompile(`^(\d{5,6})\t([^\t]+)`)
	doc := map[int]string{0: "成功"} // the document's example answer: "reason": "成功"
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := row.FindStringSubmatch(sc.Text()); m != nil {
			code, _ := strconv.Atoi(m[1])
			doc[code] = m[2]
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(doc) != 21 {
		t.Fatalf("read %d codes from the document, want 21 (20 error codes and 0)", len(doc))
	}
	for code, meaning := range doc {
		c, ok := Lookup(code)
		if !ok || c.Meaning != meaning {
			t.Errorf("code %d: table has %q (found %v), document says %q", code, c.Meaning, ok, meaning)
		}
	}
	for _, c := range Codes {
		if _, ok := doc[c.Code]; !ok {
			t.Errorf("code %d is in the table but not in the document", c.Code)
		}
	}
}
