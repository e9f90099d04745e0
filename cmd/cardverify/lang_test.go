package main

import (
	"os"
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
			check("no such flag", cardverify(t, nil, append([]string{"run", in, "--bogus"}, l...)...), 2)
			check("history in a sandbox run", cardverify(t, nil, append([]string{"run", in, "--sandbox", "--history", filepath.Join(dir, "h.db")}, l...)...), 2)
			check("help", cardverify(t, nil, append([]string{"help"}, l...)...), 0)

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

// TestDryRunReport checks what a dry run says it did, in both languages:
// the file and the encoding it guessed or was given, that no call was
// made, and the name of its output, whose pending rows say no call was made.
func TestDryRunReport(t *testing.T) {
	dir := t.TempDir()
	in := copyFile(t, "../../testdata/juhe/sandbox-cards.csv", dir)
	r := cardverify(t, nil, "run", in, "--dry-run")
	for _, want := range []string{
		"试运行：读取并校验了 " + in + "（推测编码 utf-8）：数据 15 行，有效 14 行，输入无效 1 行，重复 0 行\n",
		"       1  卡号有 11 位数字；银行卡号为 12 到 19 位\n",
		"最多计费 14 次（每个不同的有效姓名与卡号组合一次）\n",
		"试运行：未调用接口，未计费\n",
		"试运行输出：" + filepath.Join(dir, "sandbox-cards.dry-run.csv") + "\n",
	} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("dry run: exit %d, stdout:\n%s\nwant %q", r.code, r.stdout, want)
		}
	}
	col, rows := readCSV(t, filepath.Join(dir, "sandbox-cards.dry-run.csv"))
	if got := rows[0][col["说明"]]; got != "试运行：未调用接口" {
		t.Errorf("a pending row of the dry run says %q", got)
	}
	r = cardverify(t, nil, "run", in, "--dry-run", "--lang", "en", "--encoding", "utf-8", "--out", filepath.Join(dir, "en.csv"))
	for _, want := range []string{
		"dry run: read and validated " + in + " (encoding utf-8, given with --encoding): 15 data rows, 14 valid, 1 invalid, 0 duplicates\n",
		"dry run: no call made, nothing billed\n",
	} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("dry run --lang en: exit %d, stdout:\n%s\nwant %q", r.code, r.stdout, want)
		}
	}
	col, rows = readCSV(t, filepath.Join(dir, "en.csv"))
	if got := rows[0][col["verify_reason"]]; got != "dry run: no call made" {
		t.Errorf("a pending row of the dry run says %q", got)
	}
}

// TestBudgetStop checks that --max-billed says once that the budget is
// reached, how many calls were billed, and to raise it: running the same
// command again would stop again.
func TestBudgetStop(t *testing.T) {
	dir := t.TempDir()
	b, err := os.ReadFile("../../testdata/juhe/sandbox-cards.csv")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	in := filepath.Join(dir, "matches.csv")
	if err := os.WriteFile(in, []byte(strings.Join(lines[:7], "")), 0o644); err != nil { // 6 billed rows
		t.Fatal(err)
	}
	want := "cardverify：已达到计费调用上限：本任务已计费及可能计费 3 次，--max-billed 为 3；要继续请调高 --max-billed 后再次运行\n"
	for run := 1; run <= 2; run++ {
		r := cardverify(t, nil, "run", in, "--sandbox", "--progress", "none", "--max-billed", "3")
		if r.code != 4 || !strings.HasSuffix(r.stderr, want) || strings.Count(r.stderr, "计费调用上限") != 1 {
			t.Errorf("run %d: exit %d, stderr:\n%s\nwant exit 4 ending with %q, said once", run, r.code, r.stderr, want)
		}
	}
	r := cardverify(t, nil, "run", in, "--sandbox", "--progress", "none", "--max-billed", "2", "--lang", "en")
	if want := "cardverify: budget of billed calls reached: this job has 3 billed and possibly billed calls and --max-billed is 2; raise --max-billed and run again to go on\n"; r.code != 4 || !strings.HasSuffix(r.stderr, want) {
		t.Errorf("en: exit %d, stderr:\n%s\nwant %q", r.code, r.stderr, want)
	}
}

// TestChinaTimeWhateverTheZone runs a job on machines set to UTC and to New
// York, and checks that every time a person reads is China time with its
// offset: status's runs and the output's 核验时间.
func TestChinaTimeWhateverTheZone(t *testing.T) {
	stamp := regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d([+-]\d\d:\d\d|Z)`)
	for _, tz := range []string{"UTC", "America/New_York"} {
		t.Run(tz, func(t *testing.T) {
			dir := t.TempDir()
			in := copyFile(t, "../../testdata/juhe/sandbox-cards.csv", dir)
			env := []string{"TZ=" + tz}
			cardverify(t, env, "run", in, "--sandbox", "--progress", "none")
			r := cardverify(t, env, "status", "--db", filepath.Join(dir, "sandbox-cards.cardverify.db"))
			times := stamp.FindAllStringSubmatch(r.stdout, -1)
			if len(times) != 2 {
				t.Fatalf("status shows %d times, want 2:\n%s", len(times), r.stdout)
			}
			col, rows := readCSV(t, filepath.Join(dir, "sandbox-cards.verified.csv"))
			for _, row := range rows {
				if at := row[col["核验时间"]]; at != "" {
					times = append(times, stamp.FindStringSubmatch(at))
				}
			}
			for _, m := range times {
				if m == nil || m[1] != "+08:00" {
					t.Errorf("TZ=%s: time %q is not China time", tz, m)
				}
			}
		})
	}
}

// TestFlagHelpOneLanguage asks every subcommand for its help (-h) in each
// language: it must list each flag once, in that language only, and every
// flag must have a Chinese text of its own (flagHelpZH), not fall back to
// the English one.
func TestFlagHelpOneLanguage(t *testing.T) {
	flagLine := regexp.MustCompile(`^  --([a-z-]+)`)
	for cmd := range (&app{}).subcommands() {
		var flags [2][]string
		for i, lang := range []string{"zh", "en"} {
			args := []string{cmd, "-h"}
			if lang == "en" {
				args = append(args, "--lang", "en")
			}
			r := cardverify(t, nil, args...)
			if r.code != 0 {
				t.Errorf("%s -h (%s): exit %d\n%s", cmd, lang, r.code, r.stderr)
			}
			checkLang(t, lang, cmd+" -h", r.stdout+r.stderr)
			for _, line := range strings.Split(r.stderr, "\n") {
				if m := flagLine.FindStringSubmatch(line); m != nil {
					flags[i] = append(flags[i], m[1])
				}
			}
		}
		if len(flags[0]) == 0 || strings.Join(flags[0], " ") != strings.Join(flags[1], " ") {
			t.Errorf("%s -h lists the flags %v in zh, %v in en", cmd, flags[0], flags[1])
		}
		for _, f := range flags[0] {
			if _, ok := zhUsage(cmd, f); !ok {
				t.Errorf("%s --%s has no Chinese help in flagHelpZH", cmd, f)
			}
		}
	}
}

// TestUsageListsEveryCommand checks that the help of each language names
// every subcommand.
func TestUsageListsEveryCommand(t *testing.T) {
	for _, lang := range []string{"zh", "en"} {
		text := (&app{lang: lang}).usage()
		for cmd := range (&app{}).subcommands() {
			if !strings.Contains(text, "cardverify "+cmd+" ") {
				t.Errorf("the %s help does not name %q:\n%s", lang, cmd, text)
			}
		}
	}
}
