package job

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cardverify/cardverify/pipeline"
	"github.com/cardverify/cardverify/pipeline/juhe"
	"github.com/cardverify/cardverify/pipeline/msg"
)

// copyDemo copies the demo list into a new directory and returns its path.
func copyDemo(tb testing.TB) string {
	tb.Helper()
	b, err := os.ReadFile("../../../testdata/demo/customers.csv")
	if err != nil {
		tb.Fatal(err)
	}
	p := filepath.Join(tb.TempDir(), "customers.csv")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		tb.Fatal(err)
	}
	return p
}

func TestRunSandboxThenResume(t *testing.T) {
	c := Config{Input: copyDemo(t), Sandbox: true, Endpoint: "plain", Lang: "en", QPS: 200, Timeout: juhe.DefaultTimeout, MaxAttempts: 2,
		KeyFile: filepath.Join(t.TempDir(), "fingerprint.key")}
	if err := c.Check(); err != nil {
		t.Fatal(err)
	}
	c.DefaultPaths()
	if filepath.Base(c.Out) != "customers.verified.csv" || filepath.Base(c.DB) != "customers.cardverify.db" {
		t.Fatalf("default paths %s, %s", c.Out, c.DB)
	}
	res, err := Run(context.Background(), c, Env{})
	if err != nil && !errors.Is(err, pipeline.ErrIncomplete) {
		t.Fatal(err)
	}
	if !res.Written || res.Stats.Calls == 0 || res.Status.Rows != 30 || res.Status.Pending != 0 {
		t.Fatalf("first run: written %v, %d calls, %d rows, %d pending; want an output, calls, 30 rows, none pending",
			res.Written, res.Stats.Calls, res.Status.Rows, res.Status.Pending)
	}
	if _, err := os.Stat(c.Out); err != nil {
		t.Fatal(err)
	}
	again, err := Run(context.Background(), c, Env{})
	if err != nil && !errors.Is(err, pipeline.ErrIncomplete) {
		t.Fatal(err)
	}
	if again.Stats.Calls != 0 || again.Status.Calls != res.Status.Calls {
		t.Errorf("resume of a finished job made %d calls (job total %d, was %d); want none", again.Stats.Calls, again.Status.Calls, res.Status.Calls)
	}
}

func TestCheckRefusesNoKey(t *testing.T) {
	c := Config{Input: "x.csv", Endpoint: "plain", Lang: "zh", QPS: 1, Timeout: 1, MaxAttempts: 1}
	var ue *UsageError
	if err := c.Check(); !errors.As(err, &ue) {
		t.Fatalf("Check without key or sandbox = %v, want a *UsageError", err)
	}
}

func TestCommandLine(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"cardverify", "run", "list.csv", "--key", "0123abcd", "--qps", "5"}, "cardverify run list.csv --key *** --qps 5"},
		{[]string{"cardverify", "run", "--key=0123abcd", "-openid", "JHxyz", "list.csv"}, "cardverify run --key=*** -openid *** list.csv"},
		{[]string{"cardverify", "run", "--openid=JHxyz", "--out", "my list.xlsx"}, "cardverify run --openid=*** --out 'my list.xlsx'"},
		{[]string{"cardverify", "run", "客户 名单.csv", "--stop-at", "07:30"}, "cardverify run '客户 名单.csv' --stop-at 07:30"},
		{[]string{"cardverify", "run", "it's.csv", "--keyfile", "k"}, `cardverify run 'it'\''s.csv' --keyfile k`},
		{[]string{"cardverify", "run", "list.csv", "--key"}, "cardverify run list.csv --key"},
	} {
		if got := CommandLine(tc.args); got != tc.want {
			t.Errorf("CommandLine(%q)\n got  %s\n want %s", tc.args, got, tc.want)
		}
	}
}

func TestWarnings(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    Config
		want []string // substrings, one per warning
	}{
		{"secrets from the environment, encrypted", Config{Key: "k", KeyFrom: "JUHE_KEY", OpenID: "o", OpenIDFrom: "JUHE_OPENID", Endpoint: "encrypted", BaseURL: "http://v.juhe.cn"}, nil},
		{"key flag", Config{Key: "k", KeyFrom: "--key", Endpoint: "encrypted", BaseURL: "http://v.juhe.cn"}, []string{"--key is visible to every user"}},
		{"openid flag", Config{Key: "k", KeyFrom: "JUHE_KEY", OpenID: "o", OpenIDFrom: "--openid", Endpoint: "encrypted", BaseURL: "https://v.juhe.cn"}, []string{"--openid is visible"}},
		{"plain over http", Config{Key: "k", KeyFrom: "JUHE_KEY", Endpoint: "plain", BaseURL: "http://v.juhe.cn"}, []string{"unencrypted across the network; use --endpoint encrypted"}},
		{"plain over https", Config{Key: "k", KeyFrom: "JUHE_KEY", Endpoint: "plain", BaseURL: "https://v.juhe.cn"}, nil},
		{"plain over http to this machine", Config{Key: "k", KeyFrom: "JUHE_KEY", Endpoint: "plain", BaseURL: "http://127.0.0.1:8080"}, nil},
		{"plain over http, sandbox", Config{Endpoint: "plain", BaseURL: "http://v.juhe.cn", Sandbox: true}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.c.Warnings()
			if len(got) != len(tc.want) {
				t.Fatalf("warnings %q, want %d", got, len(tc.want))
			}
			for i, w := range tc.want {
				if en := msg.Text("en", got[i]); !strings.Contains(en, w) {
					t.Errorf("warning %q, want it to say %q", en, w)
				}
			}
		})
	}
}

func TestNameSecretSource(t *testing.T) {
	err := &pipeline.APIError{Code: 10001, Reason: "错误的请求KEY", Hint: "check JUHE_KEY: the API does not know this key"}
	flag := Config{KeyFrom: "--key"}
	var ae *pipeline.APIError
	if !errors.As(flag.NameSecretSource(err), &ae) || ae.Hint != "check the key given with --key: the API does not know this key" {
		t.Errorf("key from --key: hint %q", ae.Hint)
	}
	env := Config{KeyFrom: "JUHE_KEY"}
	if got := env.NameSecretSource(err); got != err {
		t.Errorf("key from JUHE_KEY: %v, want the error unchanged", got)
	}
}
