package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/cardverify/cardverify/cmd/internal/job"
	"github.com/cardverify/cardverify/pipeline/juhe/sandbox"
	"github.com/cardverify/cardverify/pipeline/msg"
)

// sandboxConfig is what "cardverify sandbox" was asked to do.
type sandboxConfig struct {
	Addr string
	sandbox.Options
}

func (c *sandboxConfig) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.Addr, "addr", defaultAddr, "listen `address`")
	fs.StringVar(&c.OpenID, "openid", job.SandboxOpenID, "openid that decrypts the encrypted endpoint")
	fs.StringVar(&c.Key, "key", "", "the only key accepted (default: any)")
	fs.DurationVar(&c.Latency, "latency", 0, "delay before each answer")
	fs.Float64Var(&c.FailRate, "fail-rate", 0, "rate (0 to 1) of answers with --fail-code")
	fs.IntVar(&c.FailCode, "fail-code", 218801, "error_code answered at --fail-rate")
	fs.Float64Var(&c.QPSLimit, "qps-limit", 0, "answer 10011 above this many requests per second (0: no limit)")
	fs.Int64Var(&c.Seed, "seed", 1, "seed of the random faults and jobids")
}

func (a *app) parseSandbox(args []string) (sandboxConfig, error) {
	var c sandboxConfig
	fs := a.newFlags("sandbox")
	c.flags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return c, err
	}
	if len(pos) > 0 {
		return c, usagef(msg.UsageNoArgs, "sandbox", len(pos))
	}
	return c, nil
}

func (a *app) sandbox(ctx context.Context, args []string) error {
	c, err := a.parseSandbox(args)
	if err != nil {
		return err
	}
	s, err := job.StartSandbox(c.Addr, c.Options)
	if err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, a.say(msg.SandboxServe, s.URL, c.OpenID))
	fmt.Fprintln(a.stdout, a.say(msg.SandboxTry, c.OpenID, s.URL))
	select {
	case <-ctx.Done():
	case <-a.stop:
	}
	return s.Close()
}
