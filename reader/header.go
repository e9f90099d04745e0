package reader

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/width"

	"github.com/cardverify/cardverify/pipeline"
)

// headerScan is how many rows are searched for the header row.
const headerScan = 20

// Header synonyms, compared after headerKey.
var (
	nameSynonyms = keys(
		"姓名", "户名", "开户名", "开户人", "开户姓名", "持卡人", "持卡人姓名", "客户姓名", "客户名称", "客户名",
		"账户名称", "帐户名称", "账户名", "帐户名", "账户姓名", "收款人", "收款人姓名", "收款人名称", "真实姓名", "名字", "用户姓名",
		"realname", "real_name", "name", "fullname", "full_name", "accountname", "account_name", "cardholder",
		"holder", "holdername", "customername", "customer_name",
	)
	cardSynonyms = keys(
		"银行卡号", "卡号", "银行卡", "银行账号", "银行帐号", "账号", "帐号", "卡号/账号", "账号/卡号", "银行卡账号",
		"银行卡/账号", "借记卡号", "结算卡号", "收款账号", "收款卡号", "收款帐号", "银行账户", "账户号", "帐户号", "账户号码", "卡号码",
		"bankcard", "bank_card", "bankcardno", "bank_card_no", "card_no", "cardno", "cardnumber", "card_number",
		"card", "account", "accountno", "account_no", "accountnumber", "acctno", "bankaccount", "bank_account",
	)
)

func keys(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[headerKey(w)] = true
	}
	return m
}

// headerKey is how header texts are compared: full-width folded to ASCII,
// lower case, without spaces, underscores, hyphens, dots, asterisks (a
// "required" mark), colons or a bracketed note such as "（必填）".
func headerKey(s string) string {
	s = width.Fold.String(s)
	s = strings.ToLower(s)
	var b strings.Builder
	depth := 0
	for _, r := range s {
		switch {
		case r == '(' || r == '[' || r == '【' || r == '〔':
			depth++
		case r == ')' || r == ']' || r == '】' || r == '〕':
			if depth > 0 {
				depth--
			}
		case depth > 0:
		case unicode.IsSpace(r), r == '_', r == '-', r == '.', r == '*', r == ':', r == '\u200b', r == '\ufeff':
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// colSpec is a parsed --name-col or --card-col value.
type colSpec struct {
	raw   string
	text  string // header text, compared with headerKey
	index int    // 0-based column from a letter or a 1-based index; -1 if none
}

func parseColSpec(s string) colSpec {
	s = strings.TrimSpace(s)
	c := colSpec{raw: s, index: -1}
	if s == "" {
		return c
	}
	c.text = headerKey(s)
	if n, err := strconv.Atoi(s); err == nil && n >= 1 && n <= maxColumns {
		c.index = n - 1
	} else if n, ok := columnNumber(s); ok && len(s) <= 3 {
		c.index = n - 1
	}
	return c
}

// columnNumber converts a column name ("A", "ab") to its 1-based number.
func columnNumber(s string) (int, bool) {
	if s == "" || len(s) > 3 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if c < 'a' || c > 'z' {
			return 0, false
		}
		n = n*26 + int(c-'a'+1)
	}
	return n, n <= 16384
}

// columnName converts a 0-based column to its letters ("A", "AB").
func columnName(col int) string {
	col++
	var b []byte
	for col > 0 {
		col--
		b = append([]byte{byte('A' + col%26)}, b...)
		col /= 26
	}
	return string(b)
}

// findColumn returns the column of row that spec or, without a spec, the
// synonyms designate: -1 when none does, -2 when several synonyms do.
func findColumn(row []pipeline.Cell, spec colSpec, synonyms map[string]bool) int {
	if spec.raw != "" {
		// A header text wins over a letter: a column may be headed "ID".
		for i, c := range row {
			if c.Value != "" && headerKey(c.Value) == spec.text {
				return i
			}
		}
		return spec.index
	}
	found := -1
	for i, c := range row {
		if c.Value != "" && synonyms[headerKey(c.Value)] {
			if found >= 0 {
				return -2
			}
			found = i
		}
	}
	return found
}

// byText reports whether spec names a column by its header text rather
// than by a letter or an index.
func (c colSpec) byText() bool { return c.raw != "" && c.index < 0 }

// detectHeader detects the header row and the name and card columns among the
// first rows of the input (rows[i] is row first+i).
func detectHeader(path string, rows [][]pipeline.Cell, first int, opt Options) (headerIdx, nameCol, cardCol int, err error) {
	nameSpec, cardSpec := parseColSpec(opt.NameCol), parseColSpec(opt.CardCol)
	try := func(i int) (int, int) {
		return findColumn(rows[i], nameSpec, nameSynonyms), findColumn(rows[i], cardSpec, cardSynonyms)
	}
	if opt.HeaderRow > 0 {
		i := opt.HeaderRow - first
		if i < 0 || i >= len(rows) {
			return 0, 0, 0, &pipeline.InputError{Path: path, Msg: pipeline.Reason(pipeline.ErrHeaderPast, opt.HeaderRow),
				Hint: pipeline.Reason(pipeline.HintHeaderRow)}
		}
		n, c := try(i)
		if err := columnError(path, rows[i], opt.HeaderRow, n, c, nameSpec, cardSpec); err != nil {
			return 0, 0, 0, err
		}
		return i, n, c, nil
	}
	// The header is the first row where both columns are found by their
	// header text. Columns given as letters or indexes do not identify a
	// row, so such a row must hold the other column's title or a synonym.
	best, bestScore := -1, 0
	for i := range rows {
		n, c := try(i)
		score := 0
		if n >= 0 && (nameSpec.byText() || nameSpec.raw == "" || hasSynonym(rows[i], nameSynonyms)) {
			score++
		}
		if c >= 0 && (cardSpec.byText() || cardSpec.raw == "" || hasSynonym(rows[i], cardSynonyms)) {
			score++
		}
		if n == -2 || c == -2 {
			score = 1 // ambiguous: report it if no better row exists
		}
		if score == 2 {
			if err := columnError(path, rows[i], first+i, n, c, nameSpec, cardSpec); err != nil {
				return 0, 0, 0, err
			}
			return i, n, c, nil
		}
		if score > bestScore {
			best, bestScore = i, score
		}
	}
	if best < 0 {
		return 0, 0, 0, &pipeline.InputError{Path: path,
			Msg:  pipeline.Reason(pipeline.ErrNoHeader, headerScan),
			Hint: pipeline.Reason(pipeline.HintColumns)}
	}
	n, c := try(best)
	if err := columnError(path, rows[best], first+best, n, c, nameSpec, cardSpec); err != nil {
		return 0, 0, 0, err
	}
	return best, n, c, nil
}

func hasSynonym(row []pipeline.Cell, synonyms map[string]bool) bool {
	for _, c := range row {
		if c.Value != "" && synonyms[headerKey(c.Value)] {
			return true
		}
	}
	return false
}

// columnError explains a missing or ambiguous column of header row rowNo.
func columnError(path string, header []pipeline.Cell, rowNo, nameCol, cardCol int, nameSpec, cardSpec colSpec) error {
	// A letter or an index past the header's last column would make every
	// row "card number is empty": refuse it, listing the headers.
	width := len(header)
	for width > 0 && header[width-1].Value == "" {
		width--
	}
	for _, c := range []struct {
		flag string
		col  int
		spec colSpec
	}{{"--name-col", nameCol, nameSpec}, {"--card-col", cardCol, cardSpec}} {
		if c.spec.raw != "" && c.col >= width && !c.spec.byText() {
			return &pipeline.InputError{Path: path, Row: rowNo,
				Msg:  pipeline.Reason(pipeline.ColBeyond, c.flag, c.spec.raw, width, listHeaders(header)),
				Hint: pipeline.Reason(pipeline.ColBeyondHint)}
		}
	}
	problem := func(several, noSpec, none pipeline.Code, col int, spec colSpec) string {
		switch {
		case col == -2:
			return pipeline.Reason(several)
		case col < 0 && spec.raw != "":
			return pipeline.Reason(noSpec, spec.raw)
		case col < 0:
			return pipeline.Reason(none)
		}
		return ""
	}
	var msgs []string
	var flags []string
	if m := problem(pipeline.ColSeveralName, pipeline.ColNoName, pipeline.ColNoNameCol, nameCol, nameSpec); m != "" {
		msgs = append(msgs, m)
		flags = append(flags, "--name-col")
	}
	if m := problem(pipeline.ColSeveralCard, pipeline.ColNoCard, pipeline.ColNoCardCol, cardCol, cardSpec); m != "" {
		msgs = append(msgs, m)
		flags = append(flags, "--card-col")
	}
	if nameCol >= 0 && nameCol == cardCol {
		msgs = append(msgs, pipeline.Reason(pipeline.ColSame))
		flags = append(flags, "--name-col", "--card-col")
	}
	if len(msgs) == 0 {
		return nil
	}
	msgs = append(msgs, pipeline.Reason(pipeline.ColHeaders, listHeaders(header)))
	return &pipeline.InputError{Path: path, Row: rowNo,
		Msg:  pipeline.JoinReasons(msgs...),
		Hint: pipeline.Reason(pipeline.HintColFlags, strings.Join(flags, ", "))}
}

func dropDigit(r rune) rune {
	if unicode.IsDigit(r) {
		return -1
	}
	return r
}

func listHeaders(row []pipeline.Cell) string {
	var parts []string
	for i, c := range row {
		if c.Value == "" {
			continue
		}
		v := c.Value
		if r := []rune(v); len(r) > 40 {
			v = string(r[:40]) + "…"
		}
		if utf8.RuneCountInString(v)-utf8.RuneCountInString(strings.Map(dropDigit, v)) >= 6 {
			// Perhaps a card number, if the row is not the header.
			v = "(…)"
		}
		parts = append(parts, fmt.Sprintf("%s=%q", columnName(i), v))
		if len(parts) == 30 {
			parts = append(parts, "…")
			break
		}
	}
	if len(parts) == 0 {
		return "—"
	}
	return strings.Join(parts, ", ")
}
