// Package msg is cardverify's catalogue of messages a person reads, in
// Chinese (zh, the default) and English (en), and the functions that render
// them.
//
// The codes live where they are emitted: package pipeline declares the
// codes that pipeline, reader, store, writer and juhe emit (pipeline.Code,
// encoded with their parameters by pipeline.Reason into the strings that
// Record.Problems, Outcome.Reason, InputError and the checkpoint carry);
// this package declares the codes only the command line says (terminal
// lines, the dry-run report, status, audit, usage errors). Every code has
// exactly one entry in the table below, with both texts. msg imports only
// pipeline, so any package but pipeline may render a message.
//
// A text that is not an encoded reason (a vendor's reason, a checkpoint
// written before reasons were codes) is rendered as it is.
package msg

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/cardverify/cardverify/pipeline"
)

// Lang is a language of messages: "zh" or "en". Any other value, the empty
// one included, is zh.
type Lang = string

func init() {
	pipeline.English = func(s string) string { return Text("en", s) }
}

// entry holds the texts of one code. They are fmt formats whose verbs
// (%[1]s, %[2]s, ...) take the code's parameters as strings.
type entry struct{ zh, en string }

// Text renders the reasons joined in s (pipeline.JoinReasons) in lang,
// joined by the language's separator. Plain text is kept as it is.
func Text(lang Lang, s string) string {
	parts := pipeline.SplitReasons(s)
	switch len(parts) {
	case 0:
		return ""
	case 1:
		return one(lang, parts[0])
	}
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = one(lang, p)
	}
	return strings.Join(out, sep(lang))
}

// Join joins texts already rendered in lang with its separator.
func Join(lang Lang, texts ...string) string {
	var out []string
	for _, t := range texts {
		if t != "" {
			out = append(out, t)
		}
	}
	return strings.Join(out, sep(lang))
}

func sep(lang Lang) string {
	if lang == "en" {
		return "; "
	}
	return "；"
}

// Say renders code c with parameters args in lang.
func Say(lang Lang, c pipeline.Code, args ...any) string {
	return one(lang, pipeline.Reason(c, args...))
}

// one renders a single reason.
func one(lang Lang, s string) string {
	c, args, ok := pipeline.ParseReason(s)
	if !ok {
		return s
	}
	switch c {
	case pipeline.Vendor:
		return vendor(lang, args)
	case pipeline.AuditStatus:
		for i, a := range args {
			if st, err := pipeline.ParseStatus(a); err == nil {
				args[i] = st.Label(lang)
			}
		}
	}
	e, found := catalogue[c]
	if !found {
		// Not a code of this version: show what it holds rather than
		// nothing.
		return strings.Join(append([]string{string(c)}, args...), " ")
	}
	format := e.zh
	if lang == "en" {
		format = e.en
	}
	if len(args) == 0 {
		return format
	}
	a := make([]any, len(args))
	for i, v := range args {
		a[i] = v
	}
	return fmt.Sprintf(format, a...)
}

// vendor renders an answer of the API: its error_code (args[0]) and the
// vendor's reason (args[1]), which is kept verbatim in both languages.
func vendor(lang Lang, args []string) string {
	code, reason := "", ""
	if len(args) > 0 {
		code = args[0]
	}
	if len(args) > 1 {
		reason = args[1]
	}
	n, _ := strconv.Atoi(code)
	m, known := apiMeaning[n]
	if lang == "en" {
		switch {
		case known && reason != "":
			return fmt.Sprintf("%s (Juhe: %s)", m.en, reason)
		case known:
			return m.en
		case reason != "":
			return fmt.Sprintf("error_code %s (Juhe: %s)", code, reason)
		}
		return "error_code " + code
	}
	switch {
	case reason != "":
		return reason
	case known:
		return m.zh
	}
	return "错误码 " + code
}

// APIMeaning returns what error_code code means in lang: the vendor's own
// text in zh, a translation in en; ok is false for a code the vendor's
// document does not list.
func APIMeaning(lang Lang, code int) (string, bool) {
	m, ok := apiMeaning[code]
	if !ok {
		return "", false
	}
	if lang == "en" {
		return m.en, true
	}
	return m.zh, true
}

// APIHint returns what to do about fatal code code, in lang.
func APIHint(lang Lang, code int) string {
	h, ok := apiHint[code]
	if !ok {
		return ""
	}
	if lang == "en" {
		return h.en
	}
	return h.zh
}

// Codes returns every code of the catalogue, for tests.
func Codes() []pipeline.Code {
	out := make([]pipeline.Code, 0, len(catalogue))
	for c := range catalogue {
		out = append(out, c)
	}
	return out
}
