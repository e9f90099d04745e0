package reader

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// builtinFormats are the format codes of Excel's built-in number formats,
// which a workbook refers to by number only. Locale-dependent dates (14, 22
// and the CJK ones) are given in ISO order, which reads the same everywhere.
var builtinFormats = map[int]string{
	1: "0", 2: "0.00", 3: "#,##0", 4: "#,##0.00",
	9: "0%", 10: "0.00%", 11: "0.00E+00", 12: "# ?/?", 13: "# ??/??",
	14: "yyyy-mm-dd", 15: "d-mmm-yy", 16: "d-mmm", 17: "mmm-yy",
	18: "h:mm AM/PM", 19: "h:mm:ss AM/PM", 20: "h:mm", 21: "h:mm:ss", 22: "yyyy-mm-dd h:mm",
	27: "yyyy\"年\"m\"月\"", 28: "m\"月\"d\"日\"", 29: "m\"月\"d\"日\"", 30: "m-d-yy", 31: "yyyy\"年\"m\"月\"d\"日\"",
	32: "h\"时\"mm\"分\"", 33: "h\"时\"mm\"分\"ss\"秒\"", 34: "上午/下午h\"时\"mm\"分\"", 35: "上午/下午h\"时\"mm\"分\"ss\"秒\"", 36: "yyyy\"年\"m\"月\"",
	37: "#,##0 ;(#,##0)", 38: "#,##0 ;[Red](#,##0)", 39: "#,##0.00;(#,##0.00)", 40: "#,##0.00;[Red](#,##0.00)",
	45: "mm:ss", 46: "[h]:mm:ss", 47: "mm:ss.0", 48: "##0.0E+0", 49: "@",
	50: "yyyy\"年\"m\"月\"", 51: "m\"月\"d\"日\"", 52: "yyyy\"年\"m\"月\"", 53: "m\"月\"d\"日\"", 54: "m\"月\"d\"日\"",
	55: "上午/下午h\"时\"mm\"分\"", 56: "上午/下午h\"时\"mm\"分\"ss\"秒\"", 57: "yyyy\"年\"m\"月\"", 58: "m\"月\"d\"日\"",
}

// isDateFormat reports whether a number format code shows a date or a
// time: whether, outside quoted text, escapes and brackets, it has a date or
// time letter.
func isDateFormat(code string) bool {
	if code == "" || strings.EqualFold(code, "General") {
		return false
	}
	for i := 0; i < len(code); i++ {
		switch c := code[i]; c {
		case '"':
			j := strings.IndexByte(code[i+1:], '"')
			if j < 0 {
				return false
			}
			i += j + 1
		case '\\', '_', '*':
			i++
		case '[':
			j := strings.IndexByte(code[i:], ']')
			if j < 0 {
				return false
			}
			inner := strings.ToLower(code[i+1 : i+j])
			if inner == "h" || inner == "hh" || inner == "m" || inner == "mm" || inner == "s" || inner == "ss" {
				return true
			}
			i += j
		case ';':
			return false // the first section decides
		case 'y', 'Y', 'm', 'M', 'd', 'D', 'h', 'H', 's', 'S':
			return true
		}
	}
	return false
}

// formatGeneral formats a number as Excel's General format does in the
// formula bar: integers up to 15 digits in full, anything else with 15
// significant digits ("6.20181590830166E+18").
func formatGeneral(v float64, raw string) string {
	if len(raw) <= 16 && isInteger(raw) {
		return strings.TrimLeft(raw, "+")
	}
	return strconv.FormatFloat(v, 'G', 15, 64)
}

func isInteger(s string) bool {
	if s != "" && (s[0] == '-' || s[0] == '+') {
		s = s[1:]
	}
	if s == "" || len(s) > 15 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s[0] != '0' || len(s) == 1
}

// formatNumber returns the text a spreadsheet shows for number v in format
// code. It knows digits, decimals, thousands separators, percent, E
// notation and literal text; other codes show like General.
func formatNumber(v float64, raw, code string) string {
	if code == "" || strings.EqualFold(code, "General") || code == "@" {
		return formatGeneral(v, raw)
	}
	if i := strings.IndexByte(code, ';'); i >= 0 {
		if v < 0 && i+1 < len(code) && code[i+1:] != "" {
			// The second section shows negatives without the sign.
			rest := code[i+1:]
			if j := strings.IndexByte(rest, ';'); j >= 0 {
				rest = rest[:j]
			}
			return formatSection(-v, rest)
		}
		code = code[:i]
	}
	return formatSection(v, code)
}

// formatSection formats v in one section of a number format code.
func formatSection(v float64, code string) string {
	f := parseSection(code)
	if f.percent {
		v *= 100
	}
	var num string
	if f.expDigits >= 0 {
		num = f.scientific(v)
	} else {
		num = f.fixed(v)
	}
	return f.prefix + num + f.suffix
}

// numberSection is one section of a number format code, parsed.
type numberSection struct {
	prefix, suffix string // literal text before and after the digits
	intZeros       int    // 0s before the point: digits always shown
	decimals       int    // digits after the point
	expDigits      int    // digits of the exponent; -1 without E notation
	comma, percent bool   // thousands separators; times 100
}

// parseSection parses one section of a number format code.
func parseSection(code string) numberSection {
	f := numberSection{expDigits: -1}
	var prefix, suffix strings.Builder
	inNumber, afterPoint, seenDigit := false, false, false
	lit := func(s string) {
		if seenDigit {
			suffix.WriteString(s)
		} else {
			prefix.WriteString(s)
		}
	}
	for i := 0; i < len(code); i++ {
		c := code[i]
		switch {
		case c == '"':
			j := strings.IndexByte(code[i+1:], '"')
			if j < 0 {
				j = len(code) - i - 1
			}
			lit(code[i+1 : i+1+j])
			i += j + 1
		case c == '\\' && i+1 < len(code):
			lit(code[i+1 : i+2])
			i++
		case c == '_' || c == '*':
			i++ // padding: a space in Excel, nothing here
		case c == '[':
			j := strings.IndexByte(code[i:], ']')
			if j < 0 {
				j = len(code) - i
			}
			lit(currencySymbol(code[i+1 : i+j]))
			i += j
		case c == '0' || c == '#' || c == '?':
			seenDigit, inNumber = true, true
			switch {
			case f.expDigits >= 0:
				f.expDigits++
			case afterPoint:
				f.decimals++
			case c == '0':
				f.intZeros++
			}
		case c == '.' && inNumber || c == '.' && i+1 < len(code) && (code[i+1] == '0' || code[i+1] == '#'):
			seenDigit, inNumber, afterPoint = true, true, true
		case c == ',' && inNumber:
			f.comma = true
		case c == '%':
			f.percent = true
			lit("%")
		case (c == 'E' || c == 'e') && inNumber && i+1 < len(code) && (code[i+1] == '+' || code[i+1] == '-'):
			f.expDigits = 0
			i++
		default:
			inNumber = false
			lit(string(c))
		}
	}
	f.prefix, f.suffix = prefix.String(), suffix.String()
	return f
}

// currencySymbol returns the symbol of a bracket such as [$¥-804] (a
// currency symbol and a locale), and "" for other brackets, which show
// nothing.
func currencySymbol(inner string) string {
	if !strings.HasPrefix(inner, "$") {
		return ""
	}
	if k := strings.IndexByte(inner, '-'); k > 0 {
		return inner[1:k]
	}
	return inner[1:]
}

// scientific formats v in E notation.
func (f numberSection) scientific(v float64) string {
	num := strconv.FormatFloat(v, 'E', f.decimals, 64)
	if f.expDigits > 2 {
		// Go writes at least two exponent digits; pad to the code's.
		k := strings.IndexAny(num, "+-")
		if k < 0 || k == 0 {
			k = strings.LastIndexAny(num, "+-")
		}
		for len(num)-k-1 < f.expDigits {
			num = num[:k+1] + "0" + num[k+1:]
		}
	}
	return num
}

// fixed formats v with a decimal point, leading zeros and separators.
func (f numberSection) fixed(v float64) string {
	num := fixedDigits(math.Abs(v), f.decimals)
	intPart, frac, _ := strings.Cut(num, ".")
	if intPart == "0" && f.intZeros == 0 {
		intPart = ""
	}
	for len(intPart) < f.intZeros {
		intPart = "0" + intPart
	}
	if f.comma && len(intPart) > 3 {
		var b strings.Builder
		for i, d := range intPart {
			if i > 0 && (len(intPart)-i)%3 == 0 {
				b.WriteByte(',')
			}
			b.WriteRune(d)
		}
		intPart = b.String()
	}
	num = intPart
	if frac != "" {
		num += "." + frac
	}
	if v < 0 && strings.Trim(num, "0.,") != "" {
		num = "-" + num
	}
	return num
}

// fixedDigits formats v ≥ 0 with decimals digits after the point as
// spreadsheets do: from its 15 significant digits (6.22202123456789E+18
// shows as 6222021234567890000, not as the double's 6222021234567889920),
// rounding half away from zero (2.5 shows as 3).
func fixedDigits(v float64, decimals int) string {
	if v == 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return strconv.FormatFloat(v, 'f', decimals, 64)
	}
	mant, exp, _ := strings.Cut(strconv.FormatFloat(v, 'e', 14, 64), "e")
	n, _ := strconv.Atoi(exp)
	digits := []byte(strings.Replace(mant, ".", "", 1))
	point := n + 1 // digits before the decimal point; may be ≤ 0
	if keep := point + decimals; keep < len(digits) {
		up := keep >= 0 && digits[keep] >= '5'
		if keep < 0 {
			keep = 0
		}
		digits = digits[:keep]
		if up {
			i := len(digits) - 1
			for ; i >= 0 && digits[i] == '9'; i-- {
				digits[i] = '0'
			}
			if i >= 0 {
				digits[i]++
			} else {
				digits = append([]byte{'1'}, digits...)
				point++
			}
		}
	}
	for len(digits) < point+decimals {
		digits = append(digits, '0')
	}
	var intPart, frac string
	if point <= 0 {
		intPart = "0"
		frac = strings.Repeat("0", -point) + string(digits)
	} else {
		intPart, frac = string(digits[:point]), string(digits[point:])
	}
	if len(frac) > decimals {
		frac = frac[:decimals]
	}
	for len(frac) < decimals {
		frac += "0"
	}
	if decimals == 0 {
		return intPart
	}
	return intPart + "." + frac
}

// serialTime converts a spreadsheet serial date to a time (in UTC, as the
// serial has no zone). In the 1900 system serial 60 is the 29 February 1900
// that Lotus wrongly counted and Excel kept.
func serialTime(v float64, date1904 bool) (time.Time, bool) {
	if math.IsNaN(v) || v < 0 || v > 2958466 { // 9999-12-31
		return time.Time{}, false
	}
	base := time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)
	if date1904 {
		base = time.Date(1904, 1, 1, 0, 0, 0, 0, time.UTC)
	} else if v < 61 {
		base = base.AddDate(0, 0, 1)
	}
	days := math.Floor(v)
	ms := math.Round((v - days) * 86400000)
	return base.AddDate(0, 0, int(days)).Add(time.Duration(ms) * time.Millisecond), true
}

var (
	monthNames = []string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
	dayNames   = []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
)

// formatDate returns the text a spreadsheet shows for serial date v in
// date format code.
func formatDate(v float64, raw, code string, date1904 bool) string {
	t, ok := serialTime(v, date1904)
	if !ok {
		return formatGeneral(v, raw)
	}
	if i := strings.IndexByte(code, ';'); i >= 0 {
		code = code[:i]
	}
	lower := strings.ToLower(code)
	d := dateWriter{t: t, v: v,
		ampm: strings.Contains(lower, "am/pm") || strings.Contains(lower, "a/p") || strings.Contains(code, "上午/下午")}
	for i := 0; i < len(code); {
		n, ok := d.literal(code, lower, i)
		if !ok {
			return formatGeneral(v, raw)
		}
		if n == 0 {
			n = d.field(code, lower, i)
		}
		i += n
	}
	return d.b.String()
}

// dateWriter writes the text of one date in a date format code.
type dateWriter struct {
	b        strings.Builder
	t        time.Time
	v        float64 // the serial, for elapsed hours
	ampm     bool    // hours on a 12-hour clock
	lastHour bool    // an m after h is minutes
}

// literal writes what stands at code[i] when it is not a date field: quoted
// text, an escaped character, a bracket or a morning/afternoon marker. It
// returns how many bytes of code it used, 0 when a field stands there; ok is
// false when a bracket has no end.
func (d *dateWriter) literal(code, lower string, i int) (n int, ok bool) {
	switch c := code[i]; {
	case c == '"':
		j := strings.IndexByte(code[i+1:], '"')
		if j < 0 {
			j = len(code) - i - 1
		}
		d.b.WriteString(code[i+1 : i+1+j])
		return j + 2, true
	case c == '\\' && i+1 < len(code):
		d.b.WriteByte(code[i+1])
		return 2, true
	case c == '[':
		j := strings.IndexByte(code[i:], ']')
		if j < 0 {
			return 0, false
		}
		if inner := strings.ToLower(code[i+1 : i+j]); strings.Trim(inner, "h") == "" && inner != "" {
			d.b.WriteString(strconv.Itoa(int(d.v*24 + 1e-9)))
			d.lastHour = true
		}
		return j + 1, true
	case strings.HasPrefix(lower[i:], "am/pm"):
		d.b.WriteString(d.half("AM", "PM"))
		return len("am/pm"), true
	case strings.HasPrefix(lower[i:], "a/p"):
		d.b.WriteString(d.half("A", "P"))
		return len("a/p"), true
	case strings.HasPrefix(code[i:], "上午/下午"):
		d.b.WriteString(d.half("上午", "下午"))
		return len("上午/下午"), true
	}
	return 0, true
}

// half returns am before noon and pm after.
func (d *dateWriter) half(am, pm string) string {
	if d.t.Hour() < 12 {
		return am
	}
	return pm
}

// field writes the date field that starts at code[i], or the character
// there, and returns how many bytes of code it used.
func (d *dateWriter) field(code, lower string, i int) int {
	t := d.t
	c := code[i]
	run := 1 // the letter repeated, in either case
	for i+run < len(code) && (code[i+run]|0x20) == (c|0x20) {
		run++
	}
	switch lc := c | 0x20; {
	case lc == 'y':
		if run <= 2 {
			d.b.WriteString(pad(t.Year()%100, 2))
		} else {
			d.b.WriteString(pad(t.Year(), 4))
		}
	case lc == 'm' && (d.lastHour || nextIsSeconds(lower[i+run:])) && run <= 2:
		d.b.WriteString(pad(t.Minute(), run))
		d.lastHour = false
	case lc == 'm':
		switch month := monthNames[t.Month()-1]; {
		case run <= 2:
			d.b.WriteString(pad(int(t.Month()), run))
		case run == 3:
			d.b.WriteString(month[:3])
		case run == 5:
			d.b.WriteString(month[:1])
		default:
			d.b.WriteString(month)
		}
	case lc == 'd':
		switch day := dayNames[t.Weekday()]; {
		case run <= 2:
			d.b.WriteString(pad(t.Day(), run))
		case run == 3:
			d.b.WriteString(day[:3])
		default:
			d.b.WriteString(day)
		}
	case lc == 'h':
		h := t.Hour()
		if d.ampm {
			h %= 12
			if h == 0 {
				h = 12
			}
		}
		d.b.WriteString(pad(h, min(run, 2)))
		d.lastHour = true
	case lc == 's':
		d.b.WriteString(pad(t.Second(), min(run, 2)))
	case c == '.' && i+1 < len(code) && code[i+1] == '0':
		n := 1
		for i+n < len(code) && code[i+n] == '0' {
			n++
		}
		frac := strconv.Itoa(t.Nanosecond()/1e6 + 1000)[1:]
		d.b.WriteString("." + frac[:min(n-1, 3)])
		return n
	case c == '_' || c == '*':
		return 2 // padding and its character
	default:
		d.b.WriteByte(c)
		return 1
	}
	return run
}

// nextIsSeconds reports whether the next date token of rest is seconds, which
// makes a preceding m minutes.
func nextIsSeconds(rest string) bool {
	for i := 0; i < len(rest); i++ {
		switch rest[i] {
		case 's':
			return true
		case 'y', 'm', 'd', 'h':
			return false
		case '"':
			j := strings.IndexByte(rest[i+1:], '"')
			if j < 0 {
				return false
			}
			i += j + 1
		}
	}
	return false
}

func pad(n, width int) string {
	s := strconv.Itoa(n)
	for len(s) < width {
		s = "0" + s
	}
	return s
}
