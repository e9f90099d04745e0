package reader

import (
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/cardverify/cardverify/pipeline"
)

// Limits of the values the API accepts.
const (
	minCardDigits = 12
	maxCardDigits = 19
	maxNameRunes  = 50
)

// Problems and warnings, as codes of the message catalogue
// (pipeline/msg). They are stored in the checkpoint and shown in the output,
// so they never quote the name or the card number.
var (
	probCardEmpty    = pipeline.Reason(pipeline.CardEmpty)
	probCardChars    = pipeline.Reason(pipeline.CardChars)
	probCardENote    = pipeline.Reason(pipeline.CardENote)
	probCardNumber   = pipeline.Reason(pipeline.CardNumber)
	probCardFraction = pipeline.Reason(pipeline.CardFraction)
	probNameEmpty    = pipeline.Reason(pipeline.NameEmpty)
	probNameDigits   = pipeline.Reason(pipeline.NameDigits)
	probNameControl  = pipeline.Reason(pipeline.NameControl)
	probNameEncoding = pipeline.Reason(pipeline.NameEncoding)
	probNameBidi     = pipeline.Reason(pipeline.NameBidi)
	probNameNoLetter = pipeline.Reason(pipeline.NameNoLetter)
	probUnsaved      = pipeline.Reason(pipeline.Unsaved)
	probLineBreak    = pipeline.Reason(pipeline.LineBreak)
	warnLuhn         = pipeline.Reason(pipeline.WarnLuhn)
	warnLuhnInvalid  = pipeline.Reason(pipeline.WarnLuhnInvalid)
	warnZeros        = pipeline.Reason(pipeline.WarnZeros)
)

// NormalizeCard returns card as it is sent to the API: without spaces, tabs,
// no-break and zero-width spaces, hyphens and a leading apostrophe (Excel's
// "keep as text" mark), with full-width digits turned into ASCII. It keeps
// every other character, so that CheckCard can refuse them.
func NormalizeCard(card string) string {
	card = strings.TrimLeft(card, " \t\u00a0\u3000")
	card = strings.TrimPrefix(card, "'")
	card = strings.TrimPrefix(card, "\uff07") // full-width apostrophe
	clean := true
	for i := 0; i < len(card); i++ {
		if c := card[i]; c < '0' || c > '9' {
			clean = false
			break
		}
	}
	if clean {
		return card
	}
	var b strings.Builder
	b.Grow(len(card))
	for _, r := range card {
		switch {
		case r >= '０' && r <= '９':
			b.WriteRune('0' + (r - '０'))
		case r == '-', r == '\u2010', r == '\u2011', r == '\u2012', r == '\u2013', r == '\u2014', r == '\uff0d', r == '\u2212':
		case unicode.IsSpace(r), r == '\u200b', r == '\u200c', r == '\u200d', r == '\ufeff', r == '\u2060':
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// CheckCard returns what is wrong with a normalised card number (problems:
// the row must not be sent) and what is doubtful (warnings: the row is sent
// anyway). A card that fails the Luhn check is only a warning, since many
// UnionPay cards do.
func CheckCard(card string) (problems, warnings []string) {
	if card == "" {
		return []string{probCardEmpty}, nil
	}
	for i := 0; i < len(card); i++ {
		if c := card[i]; c < '0' || c > '9' {
			if looksLikeENotation(card) {
				return []string{probCardENote}, nil
			}
			return []string{probCardChars}, nil
		}
	}
	if n := len(card); n < minCardDigits || n > maxCardDigits {
		return []string{pipeline.Reason(pipeline.CardDigits, n, minCardDigits, maxCardDigits)}, nil
	}
	if len(card) > 16 && strings.Trim(card[15:], "0") == "" {
		warnings = append(warnings, warnZeros)
	}
	if !Luhn(card) {
		warnings = append(warnings, warnLuhn)
	}
	return nil, warnings
}

// looksLikeENotation reports whether s is a number in E notation such as
// "6.20182E+18": how a spreadsheet shows a long number typed as a number.
func looksLikeENotation(s string) bool {
	i := strings.IndexAny(s, "eE")
	if i < 1 || i == len(s)-1 {
		return false
	}
	mant, exp := s[:i], strings.TrimPrefix(s[i+1:], "+")
	if _, err := strconv.ParseFloat(mant, 64); err != nil {
		return false
	}
	_, err := strconv.Atoi(exp)
	return err == nil
}

// Luhn reports whether the digit string card passes the Luhn (mod 10) check.
// It is false for anything but ASCII digits.
func Luhn(card string) bool {
	if card == "" {
		return false
	}
	sum := 0
	double := false
	for i := len(card) - 1; i >= 0; i-- {
		d := int(card[i] - '0')
		if d < 0 || d > 9 {
			return false
		}
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// middleDot is U+00B7, the separator the national rules prescribe inside
// minority and transliterated names (for example 阿依古丽·买买提).
const middleDot = '\u00b7'

// isDotLike reports whether r is one of the characters people type for the
// middle dot. A full stop is treated apart: it is a dot only between CJK
// characters.
func isDotLike(r rune) bool {
	switch r {
	case '\u00b7', '\u30fb', '\u2022', '\u2027', '\uff65', '\u0387', '\u2219', '\u22c5', '\u16eb':
		return true
	}
	return false
}

func isHan(r rune) bool { return unicode.Is(unicode.Han, r) }

// isNameSpace reports whether r is a space people leave in names: any
// Unicode space, including the no-break and ideographic spaces.
func isNameSpace(r rune) bool { return unicode.IsSpace(r) }

// isInvisible reports whether r is one of the invisible format characters
// that NormalizeName removes as harmless: the zero-width space, non-joiner
// and joiner, the word joiner, the byte order mark and the soft hyphen. They
// change nothing a person sees in a name (a zero-width joiner glues emoji
// together, which no name has), so the name sent is the one shown. Other
// format characters (Unicode category Cf), the text-direction ones first,
// make CheckName refuse the name.
func isInvisible(r rune) bool {
	switch r {
	case '\u200b', '\u200c', '\u200d', '\u2060', '\ufeff', '\u00ad':
		return true
	}
	return false
}

// isBidiControl reports whether r is a text-direction control: marks,
// embeddings, overrides and isolates, which can make the text shown differ
// from the characters stored (U+202E shows "王伟" stored as "伟王").
func isBidiControl(r rune) bool {
	switch {
	case r == '\u061c', r == '\u200e', r == '\u200f',
		r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069':
		return true
	}
	return false
}

// isFullWidthLatin reports whether r is a full-width Latin letter (U+FF21-
// U+FF3A, U+FF41-U+FF5A), which NormalizeName turns into ASCII.
func isFullWidthLatin(r rune) bool {
	return (r >= '\uff21' && r <= '\uff3a') || (r >= '\uff41' && r <= '\uff5a')
}

// NormalizeName returns name as it is sent to the API: trimmed; without the
// harmless invisible characters (isInvisible); with full-width Latin letters
// made ASCII; in a name with Chinese characters, without any space inside;
// in other names, with runs of spaces made one; with every middle-dot
// look-alike (U+30FB, U+2022, U+2027, U+FF65, U+0387, and a full stop, ASCII,
// full-width or ideographic, between Chinese characters) turned into U+00B7.
func NormalizeName(name string) string {
	name = strings.TrimFunc(name, func(r rune) bool { return isNameSpace(r) || isInvisible(r) })
	if name == "" {
		return name
	}
	if !needsNameWork(name) {
		return name
	}
	rs := make([]rune, 0, len(name))
	han := false
	for _, r := range name {
		switch {
		case isInvisible(r):
			continue
		case isFullWidthLatin(r):
			r -= '\uff21' - 'A'
		case isHan(r):
			han = true
		}
		rs = append(rs, r)
	}
	out := make([]rune, 0, len(rs))
	for i, r := range rs {
		switch {
		case isNameSpace(r):
			if han {
				continue
			}
			if len(out) > 0 && out[len(out)-1] == ' ' {
				continue
			}
			out = append(out, ' ')
		case isDotLike(r):
			out = append(out, middleDot)
		case (r == '.' || r == '\uff0e' || r == '\u3002') && han && cjkNeighbours(rs, i):
			out = append(out, middleDot)
		default:
			out = append(out, r)
		}
	}
	return string(out)
}

// needsNameWork reports whether NormalizeName would change the trimmed
// name: most names need nothing, and are returned without copying.
func needsNameWork(name string) bool {
	prevSpace, hasSpace := false, strings.IndexByte(name, ' ') >= 0
	for _, r := range name {
		switch {
		case r == ' ':
			if prevSpace {
				return true
			}
			prevSpace = true
			continue
		case isNameSpace(r), isInvisible(r), isFullWidthLatin(r),
			isDotLike(r) && r != middleDot, r == '.', r == '\uff0e', r == '\u3002':
			return true
		case hasSpace && isHan(r):
			return true
		}
		prevSpace = false
	}
	return false
}

// cjkNeighbours reports whether the nearest non-space runes on both sides of
// rs[i] are Han characters.
func cjkNeighbours(rs []rune, i int) bool {
	prev, next := rune(0), rune(0)
	for j := i - 1; j >= 0; j-- {
		if !isNameSpace(rs[j]) {
			prev = rs[j]
			break
		}
	}
	for j := i + 1; j < len(rs); j++ {
		if !isNameSpace(rs[j]) {
			next = rs[j]
			break
		}
	}
	return isHan(prev) && isHan(next)
}

// CheckName returns what is wrong with a normalised name: empty, longer than
// 50 characters, holding digits, control characters, text-direction
// controls or other invisible format characters, no letter at all (emoji,
// symbols), or starting with = + - or @ as a spreadsheet formula does. Any
// problem makes the row invalid: no person has such a name, and the call
// would be billed.
func CheckName(name string) (problems []string) {
	if name == "" {
		return []string{probNameEmpty}
	}
	if n := utf8.RuneCountInString(name); n > maxNameRunes {
		problems = append(problems, pipeline.Reason(pipeline.NameLong, n, maxNameRunes))
	}
	if strings.ContainsRune("=+-@", rune(name[0])) {
		problems = append(problems, pipeline.Reason(pipeline.NameFormula, name[:1]))
	}
	digits, control, undecodable, bidi, letter := false, false, false, false, false
	var format rune
	for _, r := range name {
		switch {
		case unicode.IsLetter(r):
			letter = true
		case unicode.IsDigit(r):
			digits = true
		case unicode.IsControl(r):
			control = true
		case r == utf8.RuneError:
			undecodable = true
		case isBidiControl(r):
			bidi = true
		case unicode.Is(unicode.Cf, r) && format == 0:
			format = r
		}
	}
	if digits {
		problems = append(problems, probNameDigits)
	}
	if control {
		problems = append(problems, probNameControl)
	}
	if undecodable {
		problems = append(problems, probNameEncoding)
	}
	if bidi {
		problems = append(problems, probNameBidi)
	}
	if format != 0 {
		problems = append(problems, pipeline.Reason(pipeline.NameFormat, "U+"+strings.ToUpper(strconv.FormatInt(int64(format), 16))))
	}
	if !letter && !digits && !undecodable {
		problems = append(problems, probNameNoLetter)
	}
	return problems
}

// CardFromCell returns the card number held by cell c, normalised, and the
// problem that makes it unusable, if any. A cell typed as a number in a
// workbook holds a double: its value is exact up to 15 digits, and lost from
// 16 (Excel keeps 15 significant digits), however the cell is formatted.
func CardFromCell(c pipeline.Cell) (card, problem string) {
	if c.Type == pipeline.Number || (c.Type == pipeline.Formula && c.Raw != "") || c.Type == pipeline.Date {
		f, err := strconv.ParseFloat(strings.TrimSpace(c.Raw), 64)
		if err != nil {
			return NormalizeCard(c.Value), ""
		}
		switch {
		case math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) >= 1e15:
			return "", probCardNumber
		case f != math.Trunc(f) || f < 0:
			return "", probCardFraction
		}
		return strconv.FormatFloat(f, 'f', 0, 64), ""
	}
	return NormalizeCard(c.Value), ""
}

// unsaved reports whether c is a formula whose result was never saved, as
// programs that write workbooks without calculating them leave it.
func unsaved(c pipeline.Cell) bool {
	return c.Type == pipeline.Formula && c.Value == "" && c.Raw == ""
}

// checkRow fills rec.Name, rec.Card, rec.Problems and rec.Warnings of a data
// row from its name and card cells.
func checkRow(rec *pipeline.Record, name, card pipeline.Cell) {
	if unsaved(name) || unsaved(card) {
		// Reading on would report an empty name or card, which is not
		// what the user sees in Excel.
		rec.Problems = append(rec.Problems, probUnsaved)
		return
	}
	rec.Name = NormalizeName(name.Value)
	c, prob := CardFromCell(card)
	rec.Card = c
	if strings.ContainsAny(name.Value, "\r\n") || strings.ContainsAny(card.Value, "\r\n") {
		// Whatever else is wrong follows from this.
		rec.Problems = append(rec.Problems, probLineBreak)
		return
	}
	if prob != "" {
		rec.Problems = append(rec.Problems, prob)
	} else {
		p, w := CheckCard(c)
		rec.Problems = append(rec.Problems, p...)
		rec.Warnings = append(rec.Warnings, w...)
	}
	rec.Problems = append(rec.Problems, CheckName(rec.Name)...)
	if len(rec.Problems) > 0 {
		// The row is not sent: no warning may say it was verified.
		for i, w := range rec.Warnings {
			if w == warnLuhn {
				rec.Warnings[i] = warnLuhnInvalid
			}
		}
	}
}
