// Command cardverify bulk-verifies (name, bank card) pairs of a customer list
// against Juhe's bank card two-element API and writes an annotated copy of the
// list with every row's verdict and jobid.
//
// Usage: see README.md, or run "cardverify help".
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/cardverify/cardverify/cmd/internal/job"
	"github.com/cardverify/cardverify/pipeline"
	"github.com/cardverify/cardverify/pipeline/msg"
)

// version is stamped by the Makefile with -ldflags "-X main.version=...".
var version = "dev"

// memoryLimit is the Go heap's soft limit, under the 200 MiB a run of
// a million rows may take in all (SQLite's cache and the binary are beside
// it).
const memoryLimit = 140 << 20

// Exit codes, a contract with scripts (DESIGN.md).
const (
	exitOK         = 0
	exitOther      = 1
	exitUsage      = 2 // usage or input error before any call
	exitFatalAPI   = 3 // the API refused the run (bad key, no permission, quota) or cannot be used as configured
	exitIncomplete = 4 // interrupted, budget reached, rows left failed or deferred
)

func main() {
	// A soft memory limit: the garbage collector works harder near it
	// rather than letting the heap double. GOMEMLIMIT overrides it.
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
	// The first SIGINT or SIGTERM stops the run gracefully: nothing more
	// is sent, calls in flight finish, the checkpoint and the output are
	// written. A second one cancels ctx and the process ends at once; the
	// checkpoint stays consistent (SQLite transactions).
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := make(chan struct{})
	a := &app{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, stop: stop, lang: langOf(os.Args[1:])}
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		fmt.Fprintln(os.Stderr, "\n"+a.say(msg.RunStopping))
		close(stop)
		<-sig
		cancel()
	}()

	err := a.main(ctx, os.Args[1:])
	code := exitCode(err)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, a.describe(err))
	}
	os.Exit(code)
}

// exitCode maps an error of app.main to the process exit code.
func exitCode(err error) int {
	var (
		inputErr *pipeline.InputError
		apiErr   *pipeline.APIError
		cfgErr   *pipeline.ConfigError
		usageErr *job.UsageError
	)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &usageErr), errors.As(err, &inputErr):
		return exitUsage
	case errors.As(err, &apiErr), errors.As(err, &cfgErr):
		return exitFatalAPI
	case errors.Is(err, pipeline.ErrIncomplete):
		return exitIncomplete
	}
	return exitOther
}
