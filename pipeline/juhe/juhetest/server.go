// Package juhetest is a fake of Juhe's bank card two-element API for tests,
// in the style of net/http/httptest: NewServer starts the simulated API of
// package sandbox on 127.0.0.1 and closes it when the test ends. The names
// below are sandbox's, so that tests need only this package; see sandbox for
// how a request is answered.
package juhetest

import (
	"net/http/httptest"
	"testing"

	"github.com/cardverify/cardverify/pipeline/juhe/sandbox"
)

// The simulated API's types and constructors, from package sandbox.
type (
	Options = sandbox.Options
	Handler = sandbox.Handler
	Request = sandbox.Request
	Reply   = sandbox.Reply
)

// DefaultMaxLog is sandbox.DefaultMaxLog.
const DefaultMaxLog = sandbox.DefaultMaxLog

// The simulated API's functions, from package sandbox.
var (
	NewHandler   = sandbox.NewHandler
	Rule         = sandbox.Rule
	MatchCard    = sandbox.MatchCard
	MismatchCard = sandbox.MismatchCard
	CodeCard     = sandbox.CodeCard
	Answer       = sandbox.Answer
	Match        = sandbox.Match
	Mismatch     = sandbox.Mismatch
	Code         = sandbox.Code
	HTTPError    = sandbox.HTTPError
	TooMany      = sandbox.TooMany
	Truncated    = sandbox.Truncated
	Raw          = sandbox.Raw
	Hangup       = sandbox.Hangup
	Delay        = sandbox.Delay
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
// closes it when the test ends (tb.Cleanup). It stands for the real API: its
// answers do not carry the sandbox's mark (Options.PoseAsReal), so a client
// records them as real. NewSandbox starts the marked one.
func NewServer(tb testing.TB, opt Options) *Server {
	tb.Helper()
	opt.PoseAsReal = true
	return start(tb, opt)
}

// NewSandbox is NewServer with the answers marked simulated, as
// `cardverify sandbox` serves them.
func NewSandbox(tb testing.TB, opt Options) *Server {
	tb.Helper()
	opt.PoseAsReal = false
	return start(tb, opt)
}

func start(tb testing.TB, opt Options) *Server {
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
