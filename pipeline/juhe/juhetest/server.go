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
	Options = sandbox.Options // a fake's settings; the zero Options answers by the default rule
	Handler = sandbox.Handler // the fake as an http.Handler, with its switches, log and counters
	Request = sandbox.Request // a request as the fake received it, with its answer
	Reply   = sandbox.Reply   // a scripted answer: make one with Match, Code, HTTPError...
)

// DefaultMaxLog is sandbox.DefaultMaxLog.
const DefaultMaxLog = sandbox.DefaultMaxLog

// The simulated API's functions, from package sandbox.
var (
	NewHandler   = sandbox.NewHandler   // a Handler configured by Options, not listening
	Rule         = sandbox.Rule         // the default rule's (code, res) for a card
	MatchCard    = sandbox.MatchCard    // the i-th Luhn-valid card the default rule matches (res 1)
	MismatchCard = sandbox.MismatchCard // the i-th Luhn-valid card the default rule mismatches (res 2)
	CodeCard     = sandbox.CodeCard     // a card the default rule answers with an error code
	Answer       = sandbox.Answer       // a Reply of error_code, res and reason
	Match        = sandbox.Match        // a Reply of error_code 0, res 1
	Mismatch     = sandbox.Mismatch     // a Reply of error_code 0, res 2
	Code         = sandbox.Code         // a Reply of an error_code with result null
	HTTPError    = sandbox.HTTPError    // a Reply of an HTML error page with an HTTP status
	TooMany      = sandbox.TooMany      // a Reply of HTTP 429 with a Retry-After
	Truncated    = sandbox.Truncated    // a Reply of a JSON answer cut in the middle, not billed
	Raw          = sandbox.Raw          // a Reply of exactly this status, content type and body
	Hangup       = sandbox.Hangup       // a Reply that closes the connection without answering
	Delay        = sandbox.Delay        // a Reply by the default rule after a wait
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
