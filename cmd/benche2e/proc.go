package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// result is what one run of a command cost.
type result struct {
	wall   time.Duration
	rssKiB int64         // peak resident set size, 0 where wait4 does not report it
	cpu    time.Duration // user + system CPU time of the process
	// sandboxCPU is the CPU time the sandbox spent meanwhile, where
	// /proc tells it.
	sandboxCPU time.Duration
	code       int // exit code; -1 when killed by a signal
	started    time.Time
	stderr     string
}

// command is a cardverify command line, printed before it runs.
type command struct {
	bin  string
	args []string
	env  []string // added to the driver's environment
}

func (c command) String() string {
	var b strings.Builder
	for _, e := range c.env {
		b.WriteString(e + " ")
	}
	if self, err := os.Executable(); err == nil && self == c.bin {
		// This driver in one of its child modes: under go run its path
		// is a temporary file.
		b.WriteString("go run ./cmd/benche2e")
	} else {
		b.WriteString(c.bin)
	}
	for _, a := range c.args {
		if a == "" || strings.ContainsAny(a, " \t'\"$*?") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		b.WriteString(" " + a)
	}
	return b.String()
}

func (c command) cmd(ctx context.Context) *exec.Cmd {
	cmd := exec.CommandContext(ctx, c.bin, c.args...)
	cmd.Env = append(os.Environ(), c.env...)
	return cmd
}

// run prints c, runs it to its end and measures it. The peak RSS comes from
// the child's rusage (wait4), so /usr/bin/time is not needed. If kill is not
// nil, the child is killed with SIGKILL as soon as kill is closed.
func (c command) run(ctx context.Context, kill <-chan struct{}) (result, error) {
	fmt.Printf("$ %s\n", c)
	cmd := c.cmd(ctx)
	var stderr tailBuffer
	cmd.Stderr = &stderr
	r := result{started: time.Now()}
	if err := cmd.Start(); err != nil {
		return r, fmt.Errorf("start %s: %w", c.bin, err)
	}
	waited := make(chan struct{})
	if kill != nil {
		// This goroutine ends when the child has been waited for.
		go func() {
			select {
			case <-kill:
				cmd.Process.Kill()
			case <-waited:
			}
		}()
	}
	err := cmd.Wait()
	close(waited)
	r.wall = time.Since(r.started)
	r.stderr = stderr.String()
	if cmd.ProcessState == nil {
		return r, fmt.Errorf("%s: %w", c.bin, err)
	}
	r.code = cmd.ProcessState.ExitCode()
	r.rssKiB = maxRSS(cmd.ProcessState)
	r.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return r, fmt.Errorf("%s: %w", c.bin, err)
	}
	return r, ctx.Err()
}

// tailBuffer keeps the last 4 KiB written to it: enough to show why a run
// failed.
type tailBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if n := len(t.b) - 4096; n > 0 {
		t.b = append(t.b[:0], t.b[n:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

// sandbox is the API fake's process (server.go).
type sandbox struct {
	url  string
	cmd  *exec.Cmd
	done chan error
}

// startSandbox starts the driver itself as the fake (-serve) on a free
// loopback port with the given latency, and waits until it says it is
// listening.
func startSandbox(ctx context.Context, latency time.Duration) (*sandbox, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	c := command{bin: self, args: []string{"-serve", addr, "-serve-latency", latency.String()}}
	fmt.Printf("$ %s &   # an API fake posing as the real API (the sandbox package, PoseAsReal)\n", c)
	cmd := c.cmd(ctx)
	// Ctrl-C is how the sandbox is meant to stop; a kill if it hangs.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 5 * time.Second
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start sandbox: %w", err)
	}
	s := &sandbox{url: "http://" + addr, cmd: cmd, done: make(chan error, 1)}
	ready := make(chan bool, 1)
	// This goroutine reads the sandbox's stdout until it closes, so that
	// the sandbox never blocks on a full pipe.
	go func() {
		sc := bufio.NewScanner(out)
		said := false
		for sc.Scan() {
			// The banner names its URL.
			if !said && strings.Contains(sc.Text(), s.url) {
				said = true
				ready <- true
			}
		}
		if !said {
			ready <- false
		}
		s.done <- cmd.Wait()
	}()
	select {
	case ok := <-ready:
		if ok {
			return s, nil
		}
	case <-time.After(10 * time.Second):
	}
	s.stop()
	return nil, fmt.Errorf("sandbox on %s did not start", addr)
}

// stop interrupts the sandbox and waits for it to end.
func (s *sandbox) stop() {
	s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
}

// cpu returns the CPU time (user + system) the sandbox has used so far,
// from /proc/PID/stat; 0 where that file does not exist.
func (s *sandbox) cpu() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// The fields after the command name, which is in parentheses: utime
	// and stime are the 12th and 13th, in clock ticks (100 a second on
	// Linux whatever the kernel's HZ).
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b[i+1:]))
	if i < 0 || len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// proxy is a reverse proxy on loopback in front of a sandbox that counts
// the requests passing through and notes when the first and the last
// arrived. It never looks at a request's body, where the key is.
type proxy struct {
	url string
	srv *http.Server
	tr  *http.Transport

	mu          sync.Mutex
	n           int
	first, last time.Time
	firstSeen   chan struct{}
	resetAt     time.Time // requests on connections accepted before are not counted
}

// acceptedAt is the context key of the time a connection was accepted.
type acceptedAt struct{}

func startProxy(target string) (*proxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	// Keep connections to the sandbox open at a thousand calls a second.
	tr := &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: 30 * time.Second}
	rp.Transport = tr
	// A killed client cancels its request: not worth a log line.
	rp.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, _ error) { w.WriteHeader(http.StatusBadGateway) }
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &proxy{url: "http://" + ln.Addr().String(), tr: tr}
	p.reset()
	p.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		accepted, _ := r.Context().Value(acceptedAt{}).(time.Time)
		p.note(accepted, time.Now())
		rp.ServeHTTP(w, r)
	}), ConnContext: func(ctx context.Context, _ net.Conn) context.Context {
		return context.WithValue(ctx, acceptedAt{}, time.Now())
	}}
	// The serving goroutine ends when close shuts the server down.
	go p.srv.Serve(ln)
	return p, nil
}

// note counts a request that arrived at t on a connection accepted at
// accepted: not one of a process killed before the last reset, whose
// requests in flight may still be handled after it (they made a first
// call seem to come 1 ms after the start).
func (p *proxy) note(accepted, t time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if accepted.Before(p.resetAt) {
		return
	}
	p.n++
	if p.n == 1 {
		p.first = t
		close(p.firstSeen)
	}
	p.last = t
}

// reset forgets the requests counted so far.
func (p *proxy) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n, p.first, p.last = 0, time.Time{}, time.Time{}
	p.firstSeen = make(chan struct{})
	p.resetAt = time.Now()
}

// counts returns the requests counted since reset, and when the first and
// the last arrived.
func (p *proxy) counts() (n int, first, last time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n, p.first, p.last
}

// seen returns a channel closed at the first request after reset.
func (p *proxy) seen() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.firstSeen
}

// close stops the proxy and closes its connections to the sandbox, so that
// the sandbox can shut down at once.
func (p *proxy) close() {
	p.srv.Close()
	p.tr.CloseIdleConnections()
}
