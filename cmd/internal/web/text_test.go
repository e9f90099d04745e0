package web

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestCatalogueComplete checks that every code the templates and handlers
// use has both texts, with the same number of parameters.
func TestCatalogueComplete(t *testing.T) {
	files, _ := filepath.Glob("templates/*.html")
	gofiles, _ := filepath.Glob("*.go")
	uses := regexp.MustCompile(`\.T "([a-z_]+)"|\(\$\.T "([a-z_]+)"|(?:fail|logf|tr)\([^"\n]*"([a-z_]+)"|"((?:err|log|note|state|title)_[a-z_]+)"`)
	seen := 0
	for _, f := range append(files, gofiles...) {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range uses.FindAllStringSubmatch(string(b), -1) {
			code := m[1] + m[2] + m[3] + m[4]
			if strings.HasSuffix(code, "_") || code == "state_code" {
				continue // a prefix completed at run time
			}
			seen++
			if _, ok := texts[code]; !ok {
				t.Errorf("%s uses %q, which the catalogue lacks", f, code)
			}
		}
	}
	if seen < 50 {
		t.Errorf("found only %d uses of codes: the pattern is wrong", seen)
	}
	verbs := regexp.MustCompile(`%(\[\d\])?[sdv]`)
	for code, tx := range texts {
		if tx[0] == "" || tx[1] == "" {
			t.Errorf("%s has an empty text: %q", code, tx)
		}
		if a, b := len(verbs.FindAllString(tx[0], -1)), len(verbs.FindAllString(tx[1], -1)); a != b {
			t.Errorf("%s: %d parameters in zh, %d in en", code, a, b)
		}
	}
	for _, st := range []string{Draft, Queued, Running, Stopped, Done, Failed} {
		if _, ok := texts["state_"+st]; !ok {
			t.Errorf("no text for state %s", st)
		}
	}
	for _, p := range pageNames {
		if _, ok := texts["title_"+p]; !ok {
			t.Errorf("no title for page %s", p)
		}
	}
}
