package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/cardverify/cardverify/cmd/internal/job"
	fake "github.com/cardverify/cardverify/pipeline/juhe/sandbox"
)

// The API fake of the measures poses as the real API: its answers carry
// neither the sandbox's header nor its jobid prefix, so a run records them
// as real verdicts, as it would against Juhe. That is what makes the second
// run of a finished job a finished-job rerun: by the trust rules a real run
// verifies simulated verdicts again. Only this driver's fake poses; the
// product itself is never told to trust a simulated answer, and
// "cardverify sandbox" and "run --sandbox" always mark theirs.
//
// The fake is served by a child process of the driver (the -serve mode),
// so that its CPU time is apart from the driver's and the runs', as
// "cardverify sandbox" was.

// serveJob is the -serve mode: a fake on addr until SIGINT or SIGTERM.
type serveJob struct {
	addr    string
	latency time.Duration
}

// realPrefix starts the fake's jobids in place of "SANDBOX": any other
// prefix reads as the real API's.
const realPrefix = "JH"

// serve runs the fake of s until the process is interrupted.
func serve(s serveJob) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opt := fake.Options{PoseAsReal: true, JobIDPrefix: realPrefix, Latency: s.latency, MaxLog: -1}
	sb, err := job.StartSandbox(s.addr, opt)
	if err != nil {
		return err
	}
	// The driver waits for this line, which names the URL.
	fmt.Printf("serving a fake posing as the real API on %s\n", sb.URL)
	<-ctx.Done()
	return sb.Close()
}
