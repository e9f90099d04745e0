package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSandboxCards runs testdata/juhe/sandbox-cards.csv with run --sandbox,
// as its README tells a user to, and checks that every row gets the status
// and error code its 预期 column promises; then each row of
// sandbox-cards-alone.csv on its own: the fatal codes stop the run with
// exit 3 and the vendor's code. The 10011 row (about 100 s of throttled
// retries) runs only without -short.
func TestSandboxCards(t *testing.T) {
	dir := t.TempDir()
	in := copyFile(t, "../../testdata/juhe/sandbox-cards.csv", dir)
	r := cardverify(t, nil, "run", in, "--sandbox", "--progress", "none")
	// Failed and deferred rows are left: the run is incomplete.
	if r.code != 4 {
		t.Fatalf("exit %d, want 4\n%s", r.code, r.stderr)
	}
	col, rows := readCSV(t, filepath.Join(dir, "sandbox-cards.verified.csv"))
	if len(rows) != 15 {
		t.Fatalf("%d rows, want 15", len(rows))
	}
	seen := map[string]bool{}
	for _, row := range rows {
		want, _, _ := strings.Cut(row[col["预期"]], "（")
		seen[want] = true
		if got := row[col["核验状态"]]; got != want {
			t.Errorf("%s %s: status %s, the file promises %s", row[0], row[1], got, row[col["预期"]])
		}
		code := row[col["错误码"]]
		switch want {
		case "输入无效":
			code = "218804" // what the fake would answer; no call is made
		}
		if code != row[col["error_code"]] {
			t.Errorf("%s %s: error code %q, want %s", row[0], row[1], code, row[col["error_code"]])
		}
	}
	for _, s := range []string{"一致", "不一致", "输入无效", "被拒绝", "次日重试", "失败"} {
		if !seen[s] {
			t.Errorf("no row promises %s", s)
		}
	}

	b, err := os.ReadFile("../../testdata/juhe/sandbox-cards-alone.csv")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	for _, line := range lines[1:] {
		f := strings.Split(line, ",")
		code := f[2]
		if code == "10011" && testing.Short() {
			continue
		}
		t.Run(code, func(t *testing.T) {
			one := filepath.Join(t.TempDir(), "one.csv")
			if err := os.WriteFile(one, []byte(lines[0]+"\n"+line+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			r := cardverify(t, nil, "run", one, "--sandbox", "--progress", "none")
			want := 3
			if strings.HasPrefix(f[4], "失败") {
				want = 4
			}
			if r.code != want || !strings.Contains(r.stderr, code) {
				t.Errorf("exit %d, want %d and the code %s:\n%s", r.code, want, code, r.stderr)
			}
		})
	}
}
