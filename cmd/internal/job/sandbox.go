package job

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/cardverify/cardverify/pipeline/juhe/sandbox"
)

// The credentials "run --sandbox" uses with its in-process simulated API.
// They are not secrets: the sandbox accepts any key.
const (
	SandboxKey    = "sandbox-key"    // the API key sent to the sandbox
	SandboxOpenID = "sandbox-openid" // the openid the sandbox decrypts the encrypted endpoint with
)

// SandboxOptions are the simulated API's settings for "run --sandbox".
func SandboxOptions() sandbox.Options {
	return sandbox.Options{OpenID: SandboxOpenID}
}

// Sandbox is the simulated Juhe API served over HTTP on loopback.
type Sandbox struct {
	URL     string // the base URL, "http://127.0.0.1:PORT", for juhe.Config.BaseURL
	handler *sandbox.Handler
	srv     *http.Server
	done    chan error
}

// StartSandbox serves juhetest's simulated API on addr until Close.
func StartSandbox(addr string, opt sandbox.Options) (*Sandbox, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	if opt.MaxLog == 0 {
		opt.MaxLog = -1 // a long run needs no request log
	}
	h := sandbox.NewHandler(opt)
	s := &Sandbox{
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
func (s *Sandbox) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	s.handler.Close()
	if serr := <-s.done; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}
