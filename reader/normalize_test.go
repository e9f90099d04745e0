package reader

import (
	"strings"
	"testing"

	"github.com/cardverify/cardverify/pipeline"
	"github.com/cardverify/cardverify/pipeline/msg"
)

func TestNormalizeCard(t *testing.T) {
	tests := []struct{ in, want string }{
		{"6222021234567890128", "6222021234567890128"},
		{" 6222 0212 3456 7890 128 ", "6222021234567890128"},
		{"6222\t0212\u00a03456\u30007890128", "6222021234567890128"},
		{"6222-0212-3456-7890-128", "6222021234567890128"},
		{"6222－0212—3456", "622202123456"},
		{"'6222021234567890128", "6222021234567890128"},
		{" '6222021234567890128", "6222021234567890128"},
		{"６２２２０２１２３４５６７８９０１２８", "6222021234567890128"},
		{"\u200b6222021234567890128\ufeff", "6222021234567890128"},
		{"6222O21234567890128", "6222O21234567890128"}, // a letter O is kept, to be refused
		{"6.22202E+18", "6.22202E+18"},
		{"", ""},
		{"''123", "'123"}, // only one leading apostrophe is Excel's mark
	}
	for _, tc := range tests {
		if got := NormalizeCard(tc.in); got != tc.want {
			t.Errorf("NormalizeCard(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestNormalizeName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"张三", "张三"},
		{"  张三\u3000", "张三"},
		{"张 三", "张三"},
		{"欧阳\u00a0娜娜", "欧阳娜娜"},
		{"阿依古丽·买买提", "阿依古丽·买买提"},
		{"阿依古丽\u30fb买买提", "阿依古丽·买买提"}, // U+30FB katakana middle dot
		{"阿依古丽\u2022买买提", "阿依古丽·买买提"}, // U+2022 bullet
		{"阿依古丽\u2027买买提", "阿依古丽·买买提"}, // U+2027 hyphenation point
		{"阿依古丽\uff65买买提", "阿依古丽·买买提"}, // U+FF65 half-width katakana middle dot
		{"阿依古丽\u0387买买提", "阿依古丽·买买提"}, // U+0387 Greek ano teleia
		{"阿依古丽.买买提", "阿依古丽·买买提"},      // full stop between CJK
		{"阿依古丽 . 买买提", "阿依古丽·买买提"},    // with spaces around
		{"John Smith", "John Smith"},
		{"John   Smith ", "John Smith"},
		{"John\tSmith", "John Smith"},
		{"J. Smith", "J. Smith"},     // a full stop in a Latin name stays
		{"阿依古丽．买买提", "阿依古丽·买买提"},     // full-width full stop between CJK
		{"阿依古丽。买买提", "阿依古丽·买买提"},     // ideographic full stop between CJK
		{"Ｊｏｈｎ　Ｓｍｉｔｈ", "John Smith"}, // full-width Latin and space
		{"ｗａｎｇ ｗｅｉ", "wang wei"},
		{"王\u200b伟", "王伟"},               // zero-width space: removed
		{"John\u200bSmith", "JohnSmith"}, // removed, not a space: it shows none
		{"Jo\u00adhn", "John"},           // soft hyphen
		{"\ufeff王伟\u2060", "王伟"},
		{"👨\u200d👩\u200d👧", "👨👩👧"}, // a ZWJ inside emoji: removed, never spaces
		{"王\u202e伟", "王\u202e伟"},   // a bidi override stays, for CheckName to refuse
		{"", ""},
		{"   ", ""},
	}
	for _, tc := range tests {
		if got := NormalizeName(tc.in); got != tc.want {
			t.Errorf("NormalizeName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCheckCard(t *testing.T) {
	tests := []struct {
		card           string
		problem, warns string // substrings; "" for none
	}{
		{"6222021234567890128", "", ""},
		{"622202123452", "", ""},
		{"6222021234567890127", "", "Luhn"},
		{"", "empty", ""},
		{"12345", "has 5 digits; a bank card has 12 to 19", ""},
		{"62220212345678901280", "has 20 digits", ""},
		{"6222O21234567890128", "other than digits", ""},
		{"6.22202E+18", "E notation", ""},
		{"6.22202123456789E+018", "E notation", ""},
		{"6222021234567890000", "", "past the 15th digit"},
	}
	for _, tc := range tests {
		probs, warns := CheckCard(tc.card)
		checkSubstr(t, "CheckCard("+tc.card+") problems", probs, tc.problem)
		checkSubstr(t, "CheckCard("+tc.card+") warnings", warns, tc.warns)
		for _, m := range append(probs, warns...) {
			if tc.card != "" && strings.Contains(m, tc.card) {
				t.Errorf("CheckCard(%q): message %q quotes the card", tc.card, m)
			}
		}
	}
}

// checkSubstr checks that msgs is empty when want is "", else that one of
// msgs contains want.
func checkSubstr(tb testing.TB, what string, msgs []string, want string) {
	tb.Helper()
	if want == "" {
		if len(msgs) > 0 {
			tb.Errorf("%s = %q, want none", what, msgs)
		}
		return
	}
	// The reader gives codes; their English text is what is checked.
	var texts []string
	for _, m := range msgs {
		texts = append(texts, msg.Text("en", m))
	}
	for _, m := range texts {
		if strings.Contains(m, want) {
			return
		}
	}
	tb.Errorf("%s = %q, want one containing %q", what, texts, want)
}

func TestCheckName(t *testing.T) {
	tests := []struct{ name, problem string }{
		{"张三", ""},
		{"阿依古丽·买买提", ""},
		{"John Smith", ""},
		{"", "empty"},
		{strings.Repeat("张", 50), ""},
		{strings.Repeat("张", 51), "51 characters"},
		{"张三1", "digits"},
		{"张三１", "digits"},
		{"张\x01三", "control"},
		{"张\ufffd三", "--encoding"},
		{"张\xff三", "--encoding"},
		{"王\u202e伟", "text-direction"},
		{"\u2067王伟\u2069", "text-direction"},
		{"\u200e\u200f", "no letter"},
		{"王伟\u200e", "text-direction"},
		{"王伟\U000e0041", "U+E0041"},
		{"😀😀", "no letter"},
		{"👨👩👧", "no letter"},
		{"···", "no letter"},
		{`=HYPERLINK("http://x","y")`, "starts with '='"},
		{"@马娟", "starts with '@'"},
		{"+王伟", "starts with '+'"},
		{"-王伟", "starts with '-'"},
		{"王-伟", ""},
		{"Mary-Jane O'Neil", ""},
		{"Zoë Saldaña", ""},
	}
	for _, tc := range tests {
		checkSubstr(t, "CheckName("+tc.name+")", CheckName(tc.name), tc.problem)
	}
}

func TestLuhn(t *testing.T) {
	tests := []struct {
		card string
		ok   bool
	}{
		{"6222021234567890128", true},
		{"6222021234567890127", false},
		{"4111111111111111", true},
		{"0", true},
		{"", false},
		{"41111x1111111111", false},
	}
	for _, tc := range tests {
		if got := Luhn(tc.card); got != tc.ok {
			t.Errorf("Luhn(%q) = %v, want %v", tc.card, got, tc.ok)
		}
	}
}

func TestCardFromCell(t *testing.T) {
	tests := []struct {
		name          string
		cell          pipeline.Cell
		card, problem string
	}{
		{"text", pipeline.Cell{Value: " 6222 0212 3456 7890 128"}, "6222021234567890128", ""},
		{"general number, E notation", pipeline.Cell{Value: "6.22202123456789E+18", Type: pipeline.Number, Raw: "6.22202123456789E+018"}, "", "15 digits"},
		{"zero format, 19 digits", pipeline.Cell{Value: "6222021234567890000", Type: pipeline.Number, Raw: "6.2220212345678899E+18", NumFmt: "0"}, "", "15 digits"},
		{"16 digits typed as a number", pipeline.Cell{Value: "6217001234567890", Type: pipeline.Number, Raw: "6217001234567890"}, "", "15 digits"},
		{"12 digits typed as a number", pipeline.Cell{Value: "622202123452", Type: pipeline.Number, Raw: "622202123452"}, "622202123452", ""},
		{"15 digits typed as a number", pipeline.Cell{Value: "621483012345678", Type: pipeline.Number, Raw: "621483012345678"}, "621483012345678", ""},
		{"fraction", pipeline.Cell{Value: "1234.5", Type: pipeline.Number, Raw: "1234.5"}, "", "fraction"},
		{"numeric formula", pipeline.Cell{Value: "622202123452", Type: pipeline.Formula, Raw: "622202123452"}, "622202123452", ""},
		{"text formula", pipeline.Cell{Value: "622202123452", Type: pipeline.Formula}, "622202123452", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			card, prob := CardFromCell(tc.cell)
			prob = msg.Text("en", prob)
			if card != tc.card || (tc.problem == "") != (prob == "") || !strings.Contains(prob, tc.problem) {
				t.Errorf("CardFromCell(%+v) = %q, %q; want %q, a problem containing %q", tc.cell, card, prob, tc.card, tc.problem)
			}
		})
	}
}

// TestWarningsOnInvalidRow: an invalid row is never sent, so no warning of
// it says "verified"; a valid row keeps the Luhn warning.
func TestWarningsOnInvalidRow(t *testing.T) {
	const badLuhn = "6222021234567890127"
	for _, tc := range []struct {
		name     string
		valid    bool
		wantWarn string
	}{
		{"王伟", true, "verified anyway"},
		{"@王伟", false, "would not stop the row"},
		{"😀", false, "would not stop the row"},
	} {
		var rec pipeline.Record
		checkRow(&rec, pipeline.Cell{Value: tc.name}, pipeline.Cell{Value: badLuhn})
		if (len(rec.Problems) == 0) != tc.valid {
			t.Errorf("%q: problems %q, want valid %v", tc.name, rec.Problems, tc.valid)
		}
		checkSubstr(t, tc.name+" warnings", rec.Warnings, tc.wantWarn)
		for _, w := range rec.Warnings {
			if !tc.valid && strings.Contains(w, "verified") {
				t.Errorf("%q: invalid row has warning %q", tc.name, w)
			}
		}
	}
}
