package juhetest

import (
	"net/http/httptest"
	"testing"
)

// Server is a fake Juhe API listening on 127.0.0.1, with the Handler's
// switches, scripts, log and counters.
type Server struct {
	*Handler
	// URL is the base URL, "http://127.0.0.1:PORT", to give to
	// juhe.Config.BaseURL.
	URL string
	ts  *httptest.Server
}

// NewServer starts a fake configured by opt on a free port of 127.0.0.1 and
// closes it when the test ends (tb.Cleanup).
func NewServer(tb testing.TB, opt Options) *Server {
	tb.Helper()
	h := NewHandler(opt)
	ts := httptest.NewServer(h)
	s := &Server{Handler: h, URL: ts.URL, ts: ts}
	tb.Cleanup(s.Close)
	return s
}

// Close ends the waits in progress and shuts the server down, waiting for
// the requests in progress. Calls after the first do nothing.
func (s *Server) Close() {
	s.Handler.Close()
	s.ts.Close()
}
