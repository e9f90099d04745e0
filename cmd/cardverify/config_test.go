package main

import (
	"io"
	"testing"
	"time"

	"github.com/cardverify/cardverify/cmd/internal/job"
	"github.com/cardverify/cardverify/pipeline/juhe/sandbox"
)

// TestSubcommandConfigs parses each subcommand's flags into its config
// struct, in process: the defaults are the values the libraries document
// (literals here, as the README and the flags' help give them), and flags
// land in their fields whether before or after the positional argument.
func TestSubcommandConfigs(t *testing.T) {
	a := &app{stderr: io.Discard, stdout: io.Discard, getenv: func(string) string { return "" }}

	c, err := a.parseRun([]string{"list.csv", "--sandbox"})
	if err != nil {
		t.Fatalf("parseRun: %v", err)
	}
	if c.Input != "list.csv" || c.QPS != 10 || c.MaxAttempts != 4 || c.Timeout != 10*time.Second ||
		c.BaseURL != "http://v.juhe.cn" || c.Endpoint != "plain" || c.Lang != "zh" {
		t.Errorf("run defaults: %+v", c)
	}

	st, err := a.parseStatus([]string{"--db", "x.db", "--json"})
	if err != nil || st != (statusConfig{DB: "x.db", JSON: true, Lang: "zh"}) {
		t.Errorf("parseStatus = %+v, %v", st, err)
	}
	if _, err := a.parseStatus(nil); err == nil {
		t.Error("parseStatus without --db: no error")
	}

	sb, err := a.parseSandbox([]string{"--seed", "7"})
	want := sandboxConfig{Addr: "127.0.0.1:8080", Options: sandbox.Options{OpenID: job.SandboxOpenID, FailCode: 218801, Seed: 7}}
	if err != nil || sb != want {
		t.Errorf("parseSandbox = %+v, %v; want %+v", sb, err, want)
	}
	if _, err := a.parseSandbox([]string{"extra"}); err == nil {
		t.Error("parseSandbox with an argument: no error")
	}

	h, err := a.parseHistory([]string{"--purge-older-than", "90d", "--import", "a.db", "--import", "b.db"})
	if err != nil || h.PurgeBefore != 90*24*time.Hour || len(h.Import) != 2 || h.Import[1] != "b.db" {
		t.Errorf("parseHistory = %+v, %v", h, err)
	}

	sv, err := a.parseServe([]string{"--data", t.TempDir(), "--sandbox"})
	if err != nil || sv.Addr != "127.0.0.1:8080" || sv.API.QPS != 10 || sv.MaxUploadMB != 200 {
		t.Errorf("parseServe = %+v, %v", sv, err)
	}
}
