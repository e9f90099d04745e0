package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/cardverify/cardverify/pipeline/juhe/juhetest"
)

// The credentials "run --sandbox" uses with its in-process simulated API.
// They are not secrets: the sandbox accepts any key.
const (
	sandboxKey    = "sandbox-key"
	sandboxOpenID = "sandbox-openid"
)

// sandboxServer is the simulated Juhe API served over HTTP on loopback.
type sandboxServer struct {
	URL     string
	handler *juhetest.Handler
	srv     *http.Server
	done    chan error
}

// startSandbox serves juhetest's simulated API on addr until Close.
func startSandbox(addr string, opt juhetest.Options) (*sandboxServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	if opt.MaxLog == 0 {
		opt.MaxLog = -1 // a long run needs no request log
	}
	h := juhetest.NewHandler(opt)
	s := &sandboxServer{
		URL:     "http://" + ln.Addr().String(),
		handler: h,
		srv:     &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second},
		done:    make(chan error, 1),
	}
	// The serving goroutine ends when Close shuts the server down.
	go func() { s.done <- s.srv.Serve(ln) }()
	return s, nil
}

// Close stops the server, waiting a moment for requests in flight.
func (s *sandboxServer) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	s.handler.Close()
	if serr := <-s.done; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

func (a *app) sandbox(ctx context.Context, args []string) error {
	var opt juhetest.Options
	fs := a.newFlags("sandbox")
	addr := fs.String("addr", "127.0.0.1:8080", "listen `address`")
	fs.StringVar(&opt.OpenID, "openid", sandboxOpenID, "openid that decrypts the encrypted endpoint")
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
		return usagef("sandbox takes no arguments, got %q", pos)
	}
	s, err := startSandbox(*addr, opt)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "simulated Juhe API on %s (any key; openid %q for --endpoint encrypted)\n", s.URL, opt.OpenID)
	fmt.Fprintf(a.stdout, "try: JUHE_KEY=test JUHE_OPENID=%s cardverify run LIST --base-url %s\n", opt.OpenID, s.URL)
	select {
	case <-ctx.Done():
	case <-a.stop:
	}
	return s.Close()
}
