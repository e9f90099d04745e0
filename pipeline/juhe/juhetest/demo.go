package juhetest

import (
	"bufio"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// DemoStatuses returns the zh status that each data row of
// testdata/demo/customers.csv gets from the sandbox, by row number: the
// literal table testdata/demo/expected-zh.tsv.
func DemoStatuses(tb testing.TB) map[int]string {
	tb.Helper()
	_, here, _, _ := runtime.Caller(0)
	path := filepath.Join(filepath.Dir(here), "..", "..", "..", "testdata", "demo", "expected-zh.tsv")
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	want := map[int]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		no, status, ok := strings.Cut(line, "\t")
		n, err := strconv.Atoi(no)
		if !ok || err != nil {
			tb.Fatalf("%s: bad line %q", path, line)
		}
		want[n] = status
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return want
}
