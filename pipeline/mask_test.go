package pipeline

import "testing"

func TestMaskCard(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"6217003180000902693", "621700*********2693"},
		{"6222 0212 3456 7890 128", "622202*********0128"},
		{"6222-0212-3456-7890", "622202******7890"},
		{"4111111111111", "411111***1111"}, // 13 digits: the shortest card
		{"411111111111", "********1111"},   // 12 digits: last 4 only
		{"12345678", "****5678"},
		{"1234567", "*******"},
		{"12345", "*****"},
		{"张三", "****"},
		{"card: 6217003180000902693 !", "621700*********2693"},
		{"", ""},
		// Once the store's own rule, now the same as the output's:
		{"621700123456", "********3456"},
		{"62220２abcdé", "*****"},
	} {
		if got := MaskCard(tc.in); got != tc.want {
			t.Errorf("MaskCard(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzMaskCard checks that a masked value holds only digits and stars, one per
// digit of the value, and shows at most its first 6 and last 4 digits (the
// last 4 only, below 13 digits).
func FuzzMaskCard(f *testing.F) {
	for _, s := range []string{"6217003180000902693", "6222 0212 3456 7890 128", "12345678", "abc", "", "１２３", "0000000000000", "123456789012"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := MaskCard(s)
		var digits []byte
		for i := 0; i < len(s); i++ {
			if '0' <= s[i] && s[i] <= '9' {
				digits = append(digits, s[i])
			}
		}
		shown := 0
		for i := 0; i < len(got); i++ {
			switch c := got[i]; {
			case c == '*':
			case '0' <= c && c <= '9':
				shown++
				if c != digits[i] {
					t.Fatalf("mask(%q) = %q: digit %d is not the value's", s, got, i)
				}
			default:
				t.Fatalf("mask(%q) = %q holds %q", s, got, c)
			}
		}
		switch {
		case s == "" && got != "":
			t.Fatalf("mask(\"\") = %q", got)
		case len(digits) > 0 && len(got) != len(digits):
			t.Fatalf("mask(%q) = %q: %d characters for %d digits", s, got, len(got), len(digits))
		case shown > 10 || len(digits) < 13 && shown > 4:
			t.Fatalf("mask(%q) = %q shows %d of %d digits", s, got, shown, len(digits))
		}
		if len(digits) > 0 {
			for i := 6; i < len(got)-4; i++ {
				if got[i] != '*' {
					t.Fatalf("mask(%q) = %q shows a middle digit", s, got)
				}
			}
		}
	})
}
