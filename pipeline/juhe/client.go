package juhe

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cardverify/cardverify/pipeline"
)

// Endpoint is one of the API's two endpoints. The zero value is Plain.
type Endpoint int

const (
	// Plain is /verifybankcard/query: the name and card travel as they are
	// (inside TLS only if the base URL is https).
	Plain Endpoint = iota
	// Encrypted is /verifybankcard/queryEncry: the name and card travel
	// AES-encrypted with a key derived from the account's openid.
	Encrypted
)

// String returns "plain" or "encrypted", as --endpoint takes them.
func (e Endpoint) String() string {
	switch e {
	case Plain:
		return "plain"
	case Encrypted:
		return "encrypted"
	}
	return fmt.Sprintf("Endpoint(%d)", int(e))
}

// Path returns the endpoint's path under the base URL.
func (e Endpoint) Path() string {
	if e == Encrypted {
		return "/verifybankcard/queryEncry"
	}
	return "/verifybankcard/query"
}

// ParseEndpoint parses "plain" or "encrypted". Any other text is an
// *pipeline.InputError.
func ParseEndpoint(s string) (Endpoint, error) {
	switch s {
	case "plain":
		return Plain, nil
	case "encrypted":
		return Encrypted, nil
	}
	return Plain, &pipeline.InputError{
		Msg:  pipeline.Reason(pipeline.ErrEndpoint, s),
		Hint: pipeline.Reason(pipeline.HintEndpoint),
	}
}

// DefaultBaseURL is the API's address, used when Config.BaseURL is empty.
const DefaultBaseURL = "http://v.juhe.cn"

// SandboxHeader is the response header, set to "1", by which cardverify's
// simulated API (package sandbox) marks every answer (its jobids also start
// with "SANDBOX", for a person to see). An answer with it is
// Answer.Simulated.
const SandboxHeader = "X-Cardverify-Sandbox"

// DefaultTimeout bounds one call when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// maxBody caps the bytes read from a response. A real answer is a few hundred
// bytes; anything longer is an error page or worse.
const maxBody = 64 << 10

// Config configures a Client. Key is required, and OpenID for the Encrypted
// endpoint.
type Config struct {
	// BaseURL is scheme and host (and an optional path prefix) of the API;
	// DefaultBaseURL when empty. The endpoint's path is appended.
	BaseURL string
	// Key is the API key (JUHE_KEY). It is sent in the request body only.
	Key string
	// OpenID is the account's openid (JUHE_OPENID), from which the AES key of
	// the Encrypted endpoint derives. It is never sent.
	OpenID string
	// Endpoint is the API to call; the zero Endpoint is Plain.
	Endpoint Endpoint
	// Timeout bounds each call, reading the answer included; DefaultTimeout
	// when zero.
	Timeout time.Duration
	// HTTPClient sends the requests. When nil, the client uses its own, whose
	// transport keeps enough idle connections for 64+ concurrent calls and
	// which does not follow redirects.
	HTTPClient *http.Client
}

// Client calls the API. It implements pipeline.Verifier and is safe for
// concurrent use. It holds the key and openid and never shows them.
type Client struct {
	url      string // base URL + endpoint path; holds no secret
	base     string // the base URL, as errors name it
	endpoint Endpoint
	timeout  time.Duration
	hc       *http.Client
	cipher   *Cipher // nil for Plain
	// keyField is "key=<escaped key>&", the start of every body.
	keyField string
	// secrets are scrubbed from every error and Reason.
	secrets []string
	now     func() time.Time
	// tr is the client's own transport, nil when Config.HTTPClient was
	// given; peak is the largest pool size told (SetPoolSize) since its
	// idle connections were last closed.
	tr   *http.Transport
	peak int
	// tmpl is the request every call copies, without a body.
	tmpl *http.Request
}

// maxIdlePerHost keeps a connection per worker, up to the pipeline's most
// workers (512): net/http's default of 2, or any number below the pool's
// size, closes and redials connections all the time (at 512 workers and
// 128 idle connections, a third of the calls paid for a new connection).
const maxIdlePerHost = 512

// New returns a Client for cfg. A missing key or openid, or a base URL that
// is not an http(s) URL, is an *pipeline.InputError.
func New(cfg Config) (*Client, error) {
	if cfg.Key == "" {
		return nil, &pipeline.InputError{Msg: pipeline.Reason(pipeline.ErrNoKey), Hint: pipeline.Reason(pipeline.HintNoKey)}
	}
	if cfg.Endpoint != Plain && cfg.Endpoint != Encrypted {
		return nil, &pipeline.InputError{Msg: pipeline.Reason(pipeline.ErrEndpoint, int(cfg.Endpoint)), Hint: pipeline.Reason(pipeline.HintEndpoint)}
	}
	if cfg.Endpoint == Encrypted && cfg.OpenID == "" {
		return nil, &pipeline.InputError{Msg: pipeline.Reason(pipeline.ErrNoOpenID), Hint: pipeline.Reason(pipeline.HintNoOpenID)}
	}
	if cfg.Timeout < 0 {
		return nil, &pipeline.InputError{Msg: pipeline.Reason(pipeline.ErrTimeout, cfg.Timeout), Hint: pipeline.Reason(pipeline.HintTimeout)}
	}
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.User != nil {
		return nil, &pipeline.InputError{Msg: pipeline.Reason(pipeline.ErrBaseURL), Hint: pipeline.Reason(pipeline.HintBaseURL, DefaultBaseURL)}
	}
	c := &Client{
		url:      strings.TrimRight(base, "/") + cfg.Endpoint.Path(),
		base:     strings.TrimRight(base, "/"),
		endpoint: cfg.Endpoint,
		timeout:  cfg.Timeout,
		hc:       cfg.HTTPClient,
		keyField: "key=" + url.QueryEscape(cfg.Key) + "&",
		secrets:  []string{cfg.Key},
		now:      time.Now,
	}
	if c.timeout == 0 {
		c.timeout = DefaultTimeout
	}
	if c.tmpl, err = http.NewRequest(http.MethodPost, c.url, nil); err != nil {
		return nil, &pipeline.InputError{Msg: pipeline.Reason(pipeline.ErrBaseURL), Hint: pipeline.Reason(pipeline.HintBaseURL, DefaultBaseURL)}
	}
	c.tmpl.Header = http.Header{"Content-Type": formType}
	if c.hc == nil {
		c.tr = newTransport()
		c.hc = &http.Client{
			Transport: c.tr,
			// A redirect would send the body, key included, to wherever
			// it points (307, 308) or drop it (301, 302): neither is what
			// the user asked for, so the 3xx is returned as it is.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if cfg.Endpoint == Encrypted {
		c.cipher = NewCipher(cfg.OpenID)
		c.secrets = append(c.secrets, cfg.OpenID)
	}
	return c, nil
}

func newTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 2 * maxIdlePerHost
	t.MaxIdleConnsPerHost = maxIdlePerHost
	return t
}

// SetPoolSize tells c how many workers call it (pipeline.PoolSizer). When
// the pool has shrunk to half the largest size told since the last time,
// c's own transport closes its idle connections: those of the workers that
// left would otherwise stay open until the idle timeout. The workers left
// dial again once; a pool that only swings by a step (its probes) closes
// nothing. With a Config.HTTPClient of the caller's, it does nothing. It
// is not safe for concurrent use.
func (c *Client) SetPoolSize(n int) {
	c.peak = max(c.peak, n)
	if c.tr != nil && 2*n <= c.peak {
		c.tr.CloseIdleConnections()
		c.peak = n
	}
}

// BaseURL returns the base URL c calls, without a trailing slash.
func (c *Client) BaseURL() string { return c.base }

// Endpoint returns the endpoint c calls.
func (c *Client) Endpoint() Endpoint { return c.endpoint }

// readBuf is where an answer is read: a buffer and the reader that
// limits it to maxBody+1 bytes, kept together so that neither is allocated
// for each call.
type readBuf struct {
	buf bytes.Buffer
	lim io.LimitedReader
}

var bufPool = sync.Pool{New: func() any { return new(readBuf) }}

// request returns the POST of body to the endpoint under ctx: a copy of
// c's template, whose URL (parsed once, in New) and header it shares;
// neither is written by net/http. It is what http.NewRequestWithContext
// builds for a strings.Reader body, without parsing the URL each time.
func (c *Client) request(ctx context.Context, body string) *http.Request {
	req := c.tmpl.WithContext(ctx)
	req.ContentLength = int64(len(body))
	req.Body = io.NopCloser(strings.NewReader(body))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(body)), nil }
	return req
}

// Verify sends one (name, card) pair and classifies the answer, as
// pipeline.Verifier documents: the Answer always describes the call; the error
// is non-nil when no vendor answer was obtained (transport failure, timeout,
// a status other than 200, a body that is not JSON or has no error_code) and
// also for error_code 0 without res 1 or 2, which is Transient: the client
// never invents a verdict. A vendor error code is not an error: its class is
// in the Answer (Lookup; unknown codes are Transient), with the Hint of fatal
// codes. When ctx is cancelled the error wraps ctx.Err(). Neither the error
// nor the Reason ever holds the key, the openid, the name or the card.
func (c *Client) Verify(ctx context.Context, name, card string) (pipeline.Answer, error) {
	callCtx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	// What the call got to: a connection (the TLS handshake and any proxy
	// passed), then the whole request written. Without a connection the
	// vendor cannot have seen the call; once written, it may have billed it.
	tr := new(callTrace)
	req := c.request(httptrace.WithClientTrace(callCtx, tr.hooks()), c.body(name, card))
	resp, err := c.hc.Do(req)
	if err != nil {
		if !tr.got.Load() && ctx.Err() == nil {
			return c.unreachable(err)
		}
		a, err := c.failure(ctx, callCtx, 0, "", err, name, card)
		a.PossiblyBilled = tr.wrote.Load()
		return a, err
	}
	defer resp.Body.Close()

	rb := bufPool.Get().(*readBuf)
	rb.buf.Reset()
	rb.lim = io.LimitedReader{R: resp.Body, N: maxBody + 1}
	defer func() {
		rb.lim.R = nil // keeps no body alive in the pool
		bufPool.Put(rb)
	}()
	buf := &rb.buf
	_, err = buf.ReadFrom(&rb.lim)
	if err != nil {
		a, err := c.failure(ctx, callCtx, resp.StatusCode, "reading the answer", err, name, card)
		a.PossiblyBilled = resp.StatusCode == http.StatusOK
		return a, err
	}
	return c.answer(resp, buf.Bytes(), card)
}

// callTrace notes what a call got to; its hooks are called by the
// transport's goroutines, hence the atomics.
type callTrace struct {
	got, wrote atomic.Bool
	trace      httptrace.ClientTrace
}

func (t *callTrace) hooks() *httptrace.ClientTrace {
	t.trace.GotConn = func(httptrace.GotConnInfo) { t.got.Store(true) }
	t.trace.WroteRequest = func(w httptrace.WroteRequestInfo) { t.wrote.Store(w.Err == nil) }
	return &t.trace
}

// answer classifies a response whose body was read whole.
func (c *Client) answer(resp *http.Response, body []byte, card string) (pipeline.Answer, error) {
	if resp.StatusCode != http.StatusOK {
		a, err := statusAnswer(resp.StatusCode, resp.Header, c.now())
		if a.Class == pipeline.Unusable {
			a.Hint = pipeline.Reason(pipeline.HintRedirect, c.base)
		}
		return a, fmt.Errorf("verify: %w", err)
	}
	if len(body) > maxBody {
		err := fmt.Errorf("body is longer than %d bytes", maxBody)
		return pipeline.Answer{Class: pipeline.Transient, HTTPStatus: resp.StatusCode, Reason: pipeline.Reason(pipeline.CallTooLong, maxBody), PossiblyBilled: true}, fmt.Errorf("verify: %w", err)
	}
	a, err := parseBody(body)
	a.HTTPStatus = resp.StatusCode
	// cardverify's sandbox marks its answers.
	a.Simulated = resp.Header.Get(SandboxHeader) == "1"
	a.Reason = c.scrub(a.Reason, card)
	if !a.Answered {
		// A 200 whose body holds no answer (cut, garbled) may be a billed
		// answer that did not arrive intact.
		a.PossiblyBilled = true
	}
	if a.Class == pipeline.Billed && !fits(echoedCard(body), card) {
		// A verdict about another card is no verdict on this row (a
		// proxy or the vendor mixed answers up). It was billed.
		a.Class, a.Res, a.Foreign = pipeline.Transient, 0, true
		a.Reason = pipeline.Reason(pipeline.ForeignCard)
		return a, &callError{msg: "verify: the answer's card does not fit the card sent", err: errForeign}
	}
	if a.Answered && a.Code == 218808 && c.endpoint == Encrypted {
		// Every field is encrypted with the openid's key: a wrong openid
		// makes every row's parameters wrong.
		a.Suspect = true
		a.Hint = pipeline.Reason(pipeline.HintOpenID)
	}
	if err != nil {
		// The scrubbed vendor reason says more than err.
		msg := "verify: " + err.Error()
		if _, args, ok := pipeline.ParseReason(a.Reason); ok && len(args) > 0 && args[0] != "" {
			msg += ": " + args[0]
		}
		return a, &callError{msg: msg, err: err}
	}
	return a, nil
}

// unreachable describes a call that got no connection to the API: the
// request never left the machine.
func (c *Client) unreachable(err error) (pipeline.Answer, error) {
	inner := err
	var ue *url.Error
	if errors.As(err, &ue) {
		inner = ue.Err
	}
	var (
		dnsErr  *net.DNSError
		certErr *tls.CertificateVerificationError
		unknown x509.UnknownAuthorityError
		host    x509.HostnameError
		recErr  tls.RecordHeaderError
		opErr   *net.OpError
	)
	hint := pipeline.Reason(pipeline.HintUnreachable, c.base)
	switch {
	case errors.As(inner, &dnsErr):
		hint = pipeline.Reason(pipeline.HintUnknownHost, c.base)
	case errors.As(inner, &certErr), errors.As(inner, &unknown), errors.As(inner, &host):
		hint = pipeline.Reason(pipeline.HintUntrustedTLS, c.base)
	case errors.As(inner, &recErr):
		hint = pipeline.Reason(pipeline.HintNotTLS, c.base)
	case errors.As(inner, &opErr) && opErr.Op == "proxyconnect":
		hint = pipeline.Reason(pipeline.HintProxy)
	}
	a := pipeline.Answer{
		Class:  pipeline.Unreachable,
		Reason: pipeline.Reason(pipeline.CallUnreachable, c.base, clip(inner.Error())),
		Hint:   hint,
	}
	return a, &callError{msg: "verify: cannot reach " + c.base + ": " + clip(inner.Error()), err: err}
}

var formType = []string{"application/x-www-form-urlencoded"}

// body returns the form-encoded request body.
func (c *Client) body(name, card string) string {
	if c.cipher != nil {
		name, card = c.cipher.Encrypt(name), c.cipher.Encrypt(card)
	}
	var b strings.Builder
	b.Grow(len(c.keyField) + 3*len(name) + 3*len(card) + 40)
	b.WriteString(c.keyField)
	b.WriteString("realname=")
	b.WriteString(url.QueryEscape(name))
	b.WriteString("&bankcard=")
	b.WriteString(url.QueryEscape(card))
	b.WriteString("&jobid=1")
	return b.String()
}

// failure describes a call that got no usable answer because of err. ctx is
// the caller's context, callCtx the one bounded by the timeout.
func (c *Client) failure(ctx, callCtx context.Context, status int, doing string, err error, name, card string) (pipeline.Answer, error) {
	a := pipeline.Answer{Class: pipeline.Transient, HTTPStatus: status}
	switch {
	case ctx.Err() != nil:
		a.Reason = pipeline.Reason(pipeline.CallCancelled)
		return a, &callError{msg: "verify: cancelled", err: ctx.Err()}
	case callCtx.Err() != nil || isTimeout(err):
		a.Reason = pipeline.Reason(pipeline.CallTimeout, c.timeout)
		return a, &callError{msg: "verify: timeout after " + c.timeout.String(), err: errTimeout}
	}
	if cert := certificateError(err); cert != "" {
		// Nothing was sent: the handshake failed. Every call would fail
		// the same way, so the run stops rather than marking rows.
		a.Class = pipeline.Fatal
		a.Reason = c.scrub(clip("TLS: the server's certificate is not trusted: "+cert), card, name)
		a.Hint = "check --base-url (is it the API's host?); if a proxy on this network re-signs HTTPS, add its CA certificate to this machine's trust store"
		return a, &callError{msg: "verify: " + a.Reason, err: err}
	}
	// url.Error holds the URL, which holds no secret; it is dropped anyway
	// so that the message reads the same whatever the base URL.
	inner := err
	var ue *url.Error
	if errors.As(err, &ue) {
		inner = ue.Err
	}
	msg := c.scrub(clip(inner.Error()), card, name)
	a.Reason = pipeline.Reason(pipeline.CallNet, msg)
	if errors.Is(inner, io.EOF) || errors.Is(inner, io.ErrUnexpectedEOF) {
		msg = "connection closed without a complete answer"
		a.Reason = pipeline.Reason(pipeline.CallClosed)
	}
	if doing != "" {
		msg = doing + ": " + msg
	}
	return a, &callError{msg: "verify: " + msg, err: err}
}

// certificateError describes err if it is the failure to verify the
// server's TLS certificate, and is "" otherwise.
func certificateError(err error) string {
	var (
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		verify   *tls.CertificateVerificationError
	)
	switch {
	case errors.As(err, &unknown):
		return unknown.Error()
	case errors.As(err, &hostname):
		return hostname.Error()
	case errors.As(err, &invalid):
		return invalid.Error()
	case errors.As(err, &verify):
		return verify.Err.Error()
	}
	return ""
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// errForeign is wrapped by the error of an answer about another card.
var errForeign = errors.New("answer about another card")

// errTimeout is wrapped by the error of a call that outlived Config.Timeout.
// It is deliberately not context.DeadlineExceeded: the caller's context did
// not end.
var errTimeout = errors.New("call timed out")

// scrub replaces any secret, and the given texts (card, name), with ***.
func (c *Client) scrub(s string, texts ...string) string {
	for _, list := range [][]string{c.secrets, texts} {
		for _, t := range list {
			if t != "" && strings.Contains(s, t) {
				s = strings.ReplaceAll(s, t, "***")
			}
		}
	}
	return s
}

// callError is an error whose message has been scrubbed of secrets but which
// still unwraps to its cause, so that errors.Is(err, context.Canceled) works.
type callError struct {
	msg string
	err error
}

func (e *callError) Error() string { return e.msg }
func (e *callError) Unwrap() error { return e.err }
