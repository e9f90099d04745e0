package pipeline

// MaskCard hides a card number but for its first 6 and last 4 digits, one
// '*' per hidden digit: the one mask of the checkpoint, the history, the
// output's --mask-card and the web console. Only digits count: spaces,
// dashes and any other character are dropped, so a mask never tells how
// the value was written. Values too short to be a card keep less: 8 to 12
// digits keep the last 4, fewer keep none; a value without digits becomes
// "****", and "" stays "".
func MaskCard(s string) string {
	if s == "" {
		return ""
	}
	var buf [64]byte
	digits := buf[:0]
	for i := 0; i < len(s); i++ {
		if c := s[i]; '0' <= c && c <= '9' {
			digits = append(digits, c)
		}
	}
	n := len(digits)
	keepHead, keepTail := 0, 0
	switch {
	case n == 0:
		return "****"
	case n >= 13:
		keepHead, keepTail = 6, 4
	case n >= 8:
		keepTail = 4
	}
	out := make([]byte, n)
	for i := range out {
		if i < keepHead || i >= n-keepTail {
			out[i] = digits[i]
		} else {
			out[i] = '*'
		}
	}
	return string(out)
}
