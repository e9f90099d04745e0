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

func formatSection(v float64, code string) string {
	var prefix, suffix strings.Builder
	intZeros, decimals, expDigits := 0, 0, -1
	comma, percent, inNumber, afterPoint, seenDigit := false, false, false, false, false
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
			if s := code[i+1 : i+j]; strings.HasPrefix(s, "$") {
				// [$¥-804]: a currency symbol and a locale.
				if k := strings.IndexByte(s, '-'); k > 0 {
					lit(s[1:k])
				} else {
					lit(s[1:])
				}
			}
			i += j
		case c == '0' || c == '#' || c == '?':
			seenDigit, inNumber = true, true
			switch {
			case expDigits >= 0:
				expDigits++
			case afterPoint:
				decimals++
			case c == '0':
				intZeros++
			}
		case c == '.' && inNumber || c == '.' && i+1 < len(code) && (code[i+1] == '0' || code[i+1] == '#'):
			seenDigit, inNumber, afterPoint = true, true, true
		case c == ',' && inNumber:
			comma = true
		case c == '%':
			percent = true
			lit("%")
		case (c == 'E' || c == 'e') && inNumber && i+1 < len(code) && (code[i+1] == '+' || code[i+1] == '-'):
			expDigits = 0
			i++
		default:
			inNumber = false
			lit(string(c))
		}
	}
	if percent {
		v *= 100
	}
	var num string
	if expDigits >= 0 {
		num = strconv.FormatFloat(v, 'E', decimals, 64)
		if expDigits > 2 {
			// Go writes at least two exponent digits; pad to the code's.
			k := strings.IndexAny(num, "+-")
			if k < 0 || k == 0 {
				k = strings.LastIndexAny(num, "+-")
			}
			for len(num)-k-1 < expDigits {
				num = num[:k+1] + "0" + num[k+1:]
			}
		}
	} else {
		num = fixedDigits(math.Abs(v), decimals)
		intPart, frac, _ := strings.Cut(num, ".")
		if intPart == "0" && intZeros == 0 {
			intPart = ""
		}
		for len(intPart) < intZeros {
			intPart = "0" + intPart
		}
		if comma && len(intPart) > 3 {
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
	}
	return prefix.String() + num + suffix.String()
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
	ampm := strings.Contains(lower, "am/pm") || strings.Contains(lower, "a/p") || strings.Contains(code, "上午/下午")
	var b strings.Builder
	lastHour := false // an m after h is minutes
	for i := 0; i < len(code); i++ {
		c := code[i]
		run := 1
		for i+run < len(code) && (code[i+run]|0x20) == (c|0x20) {
			run++
		}
		switch lc := c | 0x20; {
		case c == '"':
			j := strings.IndexByte(code[i+1:], '"')
			if j < 0 {
				j = len(code) - i - 1
			}
			b.WriteString(code[i+1 : i+1+j])
			i += j + 1
			continue
		case c == '\\' && i+1 < len(code):
			b.WriteByte(code[i+1])
			i++
			continue
		case c == '[':
			j := strings.IndexByte(code[i:], ']')
			if j < 0 {
				return formatGeneral(v, raw)
			}
			if inner := strings.ToLower(code[i+1 : i+j]); strings.Trim(inner, "h") == "" && inner != "" {
				b.WriteString(strconv.Itoa(int(v*24 + 1e-9)))
				lastHour = true
			}
			i += j
			continue
		case strings.HasPrefix(lower[i:], "am/pm"):
			if t.Hour() < 12 {
				b.WriteString("AM")
			} else {
				b.WriteString("PM")
			}
			i += 4
			continue
		case strings.HasPrefix(lower[i:], "a/p"):
			if t.Hour() < 12 {
				b.WriteString("A")
			} else {
				b.WriteString("P")
			}
			i += 2
			continue
		case strings.HasPrefix(code[i:], "上午/下午"):
			if t.Hour() < 12 {
				b.WriteString("上午")
			} else {
				b.WriteString("下午")
			}
			i += len("上午/下午") - 1
			continue
		case lc == 'y':
			if run <= 2 {
				b.WriteString(pad(t.Year()%100, 2))
			} else {
				b.WriteString(pad(t.Year(), 4))
			}
		case lc == 'm' && (lastHour || nextIsSeconds(lower[i+run:])) && run <= 2:
			b.WriteString(pad(t.Minute(), run))
			lastHour = false
		case lc == 'm':
			switch {
			case run <= 2:
				b.WriteString(pad(int(t.Month()), run))
			case run == 3:
				b.WriteString(monthNames[t.Month()-1][:3])
			case run == 5:
				b.WriteString(monthNames[t.Month()-1][:1])
			default:
				b.WriteString(monthNames[t.Month()-1])
			}
		case lc == 'd':
			switch {
			case run <= 2:
				b.WriteString(pad(t.Day(), run))
			case run == 3:
				b.WriteString(dayNames[t.Weekday()][:3])
			default:
				b.WriteString(dayNames[t.Weekday()])
			}
		case lc == 'h':
			h := t.Hour()
			if ampm {
				h %= 12
				if h == 0 {
					h = 12
				}
			}
			b.WriteString(pad(h, min(run, 2)))
			lastHour = true
		case lc == 's':
			b.WriteString(pad(t.Second(), min(run, 2)))
		case c == '.' && i+1 < len(code) && code[i+1] == '0':
			n := 1
			for i+n < len(code) && code[i+n] == '0' {
				n++
			}
			frac := strconv.Itoa(t.Nanosecond()/1e6 + 1000)[1:]
			b.WriteString("." + frac[:min(n-1, 3)])
			run = n
		case c == '_' || c == '*':
			run = 2
		default:
			b.WriteByte(c)
			run = 1
		}
		i += run - 1
	}
	return b.String()
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
