package main

import (
	"context"
	"fmt"

	"github.com/cardverify/cardverify/cmd/internal/job"
	"github.com/cardverify/cardverify/pipeline/juhe/sandbox"
	"github.com/cardverify/cardverify/pipeline/msg"
)

func (a *app) sandbox(ctx context.Context, args []string) error {
	var opt sandbox.Options
	fs := a.newFlags("sandbox")
	addr := fs.String("addr", "127.0.0.1:8080", "listen `address`")
	fs.StringVar(&opt.OpenID, "openid", job.SandboxOpenID, "openid that decrypts the encrypted endpoint")
	fs.StringVar(&opt.Key, "key", "", "the only key accepted (default: any)")
	fs.DurationVar(&opt.Latency, "latency", 0, "delay before each answer")
	fs.Float64Var(&opt.FailRate, "fail-rate", 0, "rate (0 to 1) of answers with --fail-code")
	fs.IntVar(&opt.FailCode, "fail-code", 218801, "error_code answered at --fail-rate")
	fs.Float64Var(&opt.QPSLimit, "qps-limit", 0, "answer 10011 above this many requests per second (0: no limit)")
	fs.Int64Var(&opt.Seed, "seed", 1, "seed of the random faults and jobids")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef(msg.UsageNoArgs, "sandbox", len(pos))
	}
	s, err := job.StartSandbox(*addr, opt)
	if err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, a.say(msg.SandboxServe, s.URL, opt.OpenID))
	fmt.Fprintln(a.stdout, a.say(msg.SandboxTry, opt.OpenID, s.URL))
	select {
	case <-ctx.Done():
	case <-a.stop:
	}
	return s.Close()
}
