package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// englishRun finds a run of three or more English words: what a Chinese
// text must not hold. Paths, flags, file names, codes and the tool's name
// are removed before looking (see prose).
var englishRun = regexp.MustCompile(`[A-Za-z]{2,}('[a-z]+)?([ ,:;]+[A-Za-z]{2,}('[a-z]+)?){2,}`)

// notProse matches what may stand in either language: paths and file
// names, flags, URLs, hex digests, the tool's name, placeholders (INPUT),
// the input's header cells as an error lists them (C="银行卡号"), and the
// system's own words, which a Chinese message quotes as （系统信息：…）.
var notProse = regexp.MustCompile(`（系统信息：[^）]*）|[A-Z]+="[^"]*"|\b[A-Z]{2,}\b|(?:https?://|/)[^\s，。：；（）“”]*|--?[a-z][a-z-]*|[\w.-]+\.(?:csv|tsv|xlsx|db)\b|\b[0-9a-f]{64}\b|cardverify|SANDBOX|JUHE_[A-Z]+|utf-8|error_code|res\b`)

// prose is text as the language test reads it: without what notProse
// matches and without the vendor's verbatim reasons, which an English
// text quotes as "(Juhe: ...)".
func prose(s string) string {
	s = stripQuoted(s, "(Juhe: ")
	return notProse.ReplaceAllString(s, " ")
}

// stripQuoted removes every "open...)" from s, nested parentheses included.
func stripQuoted(s, open string) string {
	for {
		i := strings.Index(s, open)
		if i < 0 {
			return s
		}
		depth, j := 0, i
		for ; j < len(s); j++ {
			if s[j] == '(' {
				depth++
			} else if s[j] == ')' {
				depth--
				if depth == 0 {
					break
				}
			}
		}
		s = s[:i] + s[min(j+1, len(s)):]
	}
}

func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

// checkLang fails when text, said in lang, holds the other language.
func checkLang(t *testing.T, lang, what, text string) {
	t.Helper()
	for _, line := range strings.Split(text, "\n") {
		p := prose(line)
		switch {
		case lang == "zh" && englishRun.MatchString(p):
			t.Errorf("zh %s has English %q:\n%s", what, englishRun.FindString(p), line)
		case lang == "en" && hasHan(p):
			t.Errorf("en %s has Chinese:\n%s", what, line)
		}
	}
}

// TestOneLanguage runs a job as a user would, in each language, and checks
// that the terminal, the dry-run report, status, audit, the errors and the
// appended columns of the output hold no sentence of the other language
// (the input's own cells and the vendor's verbatim reasons aside).
func TestOneLanguage(t *testing.T) {
	for _, lang := range []string{"zh", "en"} {
		t.Run(lang, func(t *testing.T) {
			dir := t.TempDir()
			in := copyFile(t, "../../testdata/juhe/sandbox-cards.csv", dir)
			db := filepath.Join(dir, "sandbox-cards.cardverify.db")
			out := filepath.Join(dir, "sandbox-cards.verified.csv")
			l := []string{"--lang", lang}
			if lang == "zh" {
				l = nil // the default
			}
			check := func(what string, r result, code int) {
				t.Helper()
				if r.code != code {
					t.Errorf("%s: exit %d, want %d\n%s%s", what, r.code, code, r.stdout, r.stderr)
				}
				checkLang(t, lang, what, r.stdout+r.stderr)
			}
			check("dry run", cardverify(t, nil, append([]string{"run", in, "--dry-run"}, l...)...), 0)
			check("run", cardverify(t, nil, append([]string{"run", in, "--sandbox", "--progress", "plain"}, l...)...), 4)
			check("status", cardverify(t, nil, append([]string{"status", "--db", db}, l...)...), 0)
			check("audit", cardverify(t, nil, append([]string{"audit", out, "--db", db}, l...)...), 0)
			check("export", cardverify(t, nil, append([]string{"export", in, "--db", db, "--out", filepath.Join(dir, "x.csv")}, l...)...), 0)
			check("no key", cardverify(t, nil, append([]string{"run", in}, l...)...), 2)
			check("column past the header", cardverify(t, nil, append([]string{"run", in, "--sandbox", "--card-col", "Z"}, l...)...), 2)
			check("no such file", cardverify(t, nil, append([]string{"run", filepath.Join(dir, "none.csv"), "--sandbox"}, l...)...), 2)
			check("no such command", cardverify(t, nil, append([]string{"verify"}, l...)...), 2)
			check("bad value", cardverify(t, nil, append([]string{"run", in, "--qps", "0"}, l...)...), 2)

			col, rows := readCSV(t, out)
			for _, row := range rows {
				for _, h := range []string{"核验状态", "说明", "verify_status", "verify_reason"} {
					if i, ok := col[h]; ok {
						checkLang(t, lang, "output "+h, row[i])
					}
				}
			}
		})
	}
}
