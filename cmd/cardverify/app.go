package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/cardverify/cardverify/cmd/internal/job"
	"github.com/cardverify/cardverify/pipeline"
	"github.com/cardverify/cardverify/pipeline/msg"
)

// app is one invocation of the command: its streams, its environment and
// the channel that asks a run to stop gracefully. Tests build it directly.
type app struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	stop           <-chan struct{} // closed on the first SIGINT/SIGTERM
	now            func() time.Time
	// lang is the language of every message: the --lang of the command
	// line, zh when none is given.
	lang string
	// help prints the help of the flags of the subcommand being run
	// (newFlags), on -h.
	help func()
}

// defaultAddr is where serve and sandbox listen by default: loopback only.
const defaultAddr = "127.0.0.1:8080"

// usagef returns a usage error (exit code 2).
func usagef(c pipeline.Code, args ...any) error { return job.Usagef(c, args...) }

// say renders a message in the app's language.
func (a *app) say(c pipeline.Code, args ...any) string { return msg.Say(a.lang, c, args...) }

// langOf returns the value of --lang in args ("--lang en", "-lang=en"), zh
// when absent: read before the flags are parsed, so that even a mistake on
// the command line is reported in the user's language.
func langOf(args []string) string {
	for i, s := range args {
		for _, p := range []string{"--lang", "-lang"} {
			if s == p && i+1 < len(args) && args[i+1] == "en" {
				return "en"
			}
			if s == p+"=en" {
				return "en"
			}
		}
	}
	return "zh"
}

const usageZH = `cardverify 通过聚合数据的银行卡二元素接口，逐行核验客户姓名与银行卡号是否一致，
并在名单上标注核验结果。

用法：
  cardverify run INPUT [参数]        核验名单（CSV、TSV、TXT 或 XLSX）；再次运行即可继续
  cardverify status --db PATH [--json] [--lang zh|en]
  cardverify export INPUT --db PATH --out PATH [--lang zh|en] [--mask-card] [--price 元]
  cardverify audit OUTPUT --db PATH [--lang zh|en]  对照检查点检查已标注的文件
  cardverify serve [--addr 127.0.0.1:8080] [--data DIR] [--sandbox]  网页控制台
  cardverify history [--history PATH] [--json] [--purge-older-than DUR] [--import DB] [--lang zh|en]
  cardverify sandbox [--addr 127.0.0.1:8080]  提供模拟的聚合数据接口
  cardverify version

密钥：JUHE_KEY 和 JUHE_OPENID（或 --key、--openid）。运行 "cardverify 命令 -h" 查看该命令的参数，例如 "cardverify run -h"。
`

const usage = `cardverify verifies that each customer's name matches the bank card on file,
through Juhe's bank card two-element API, and annotates the list with the verdicts.

Usage:
  cardverify run INPUT [flags]        verify a list (CSV, TSV, TXT or XLSX); rerun to resume
  cardverify status --db PATH [--json] [--lang zh|en]
  cardverify export INPUT --db PATH --out PATH [--lang zh|en] [--mask-card] [--price YUAN]
  cardverify audit OUTPUT --db PATH [--lang zh|en]  check an annotated file against the checkpoint
  cardverify serve [--addr 127.0.0.1:8080] [--data DIR] [--sandbox]  the web console
  cardverify history [--history PATH] [--json] [--purge-older-than DUR] [--import DB] [--lang zh|en]
  cardverify sandbox [--addr 127.0.0.1:8080]  serve a simulated Juhe API
  cardverify version

Secrets: JUHE_KEY and JUHE_OPENID (or --key, --openid). Run "cardverify COMMAND -h" for a command's flags, e.g. "cardverify run -h".
`

func (a *app) main(ctx context.Context, args []string) error {
	if a.now == nil {
		a.now = time.Now
	}
	if a.lang == "" {
		a.lang = langOf(args)
	}
	if len(args) == 0 {
		fmt.Fprint(a.stderr, a.usage())
		return usagef(msg.UsageNone)
	}
	cmd, args := args[0], args[1:]
	if sub, ok := a.subcommands()[cmd]; ok {
		err := sub(ctx, args)
		if errors.Is(err, flag.ErrHelp) && a.help != nil {
			a.help()
		}
		return err
	}
	switch cmd {
	case "version", "--version", "-version":
		fmt.Fprintln(a.stdout, "cardverify", version)
		return nil
	case "help", "-h", "--help", "-help":
		fmt.Fprint(a.stdout, a.usage())
		return nil
	}
	fmt.Fprint(a.stderr, a.usage())
	return usagef(msg.UsageCmd, cmd)
}

// subcommands are the commands with flags of their own, by name. Each
// parses its arguments into its config struct (parseRun, parseSandbox...)
// and then does its work.
func (a *app) subcommands() map[string]func(context.Context, []string) error {
	return map[string]func(context.Context, []string) error{
		"run":     a.run,
		"status":  a.status,
		"export":  a.export,
		"audit":   a.audit,
		"sandbox": a.sandbox,
		"serve":   a.serve,
		"history": a.history,
	}
}

func (a *app) usage() string {
	if a.lang == "en" {
		return usage
	}
	return usageZH
}

// describe is the line cmd prints for err, in the app's language.
func (a *app) describe(err error) string {
	return a.say(msg.ErrPrefix, msg.Render(a.lang, err))
}

// newFlags returns a flag set for a subcommand that reports to a.stderr and
// returns errors instead of exiting.
func (a *app) newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("cardverify "+name, flag.ContinueOnError)
	// The flag package's own words are English: its errors reach the user
	// in the app's language, through parse, and its help (-h) is printed
	// by main once the subcommand returned flag.ErrHelp.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	a.help = func() { printFlagHelp(a.stderr, a.lang, name, fs) }
	return fs
}

// parse parses args with fs, accepting flags before and after the
// positional arguments ("run list.csv --qps 5"), and returns the positional
// ones.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				return nil, err
			}
			return nil, msg.Usagef(msg.UsageFlags, err)
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}
