package sandbox

import (
	"cmp"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/cardverify/cardverify/pipeline/juhe"
)

// Options configures a Handler. The zero Options is a fake that accepts any
// non-empty key, serves only the plain endpoint, answers at once by the
// default rule, and logs up to DefaultMaxLog requests.
type Options struct {
	// Key is the one key accepted; empty accepts any non-empty key.
	Key string
	// OpenID decrypts the encrypted endpoint's fields; without it that
	// endpoint answers 10004.
	OpenID string
	// Latency is waited before every answer.
	Latency time.Duration
	// FailCode is answered at FailRate (0 to 1) to requests that pass the
	// checks and have no script.
	FailCode int
	FailRate float64 // the fraction of such requests answered FailCode; 0 never
	// HTML502Rate and TruncatedRate are the rates of HTML 502 pages and of
	// truncated JSON answers.
	HTML502Rate, TruncatedRate float64
	// QPSLimit, when positive, is the most requests answered in any window
	// of ceil(QPSLimit)/QPSLimit seconds (one second for a whole number):
	// requests beyond it get 10011.
	QPSLimit float64
	// PoseAsReal leaves out the X-Cardverify-Sandbox header by which
	// every answer says it is simulated, so that a client takes the fake
	// for the real API: for tests only (juhetest.NewServer sets it);
	// `cardverify sandbox` and `run --sandbox` never do.
	PoseAsReal bool
	// Seed makes the random faults and the jobids reproducible: the same
	// seed and the same order of calls give the same answers.
	Seed int64
	// JobIDPrefix starts every jobid instead of "SANDBOX", the mark by
	// which cardverify knows a simulated verdict (and never records it in
	// its history). Only tests of what a run does with real verdicts set
	// it.
	JobIDPrefix string
	// MaxLog caps the request log (Requests); 0 means DefaultMaxLog. A
	// negative MaxLog keeps no log and no per-card counts (CallsFor and
	// BilledFor return 0), only Calls and Billed: for load tests.
	MaxLog int
}

// DefaultMaxLog is the request log's cap when Options.MaxLog is 0.
const DefaultMaxLog = 100_000

// Request is a request as the Handler received it, with the answer it got.
type Request struct {
	Time        time.Time // when the request arrived
	Method      string    // the HTTP method: POST for a well-behaved client
	Path        string    // the URL's path: "/verifybankcard/query" or ".../queryEncry"
	RawQuery    string    // the URL's query: empty for a well-behaved client
	ContentType string    // the request's Content-Type header, verbatim
	// Form is the raw form body (it holds the key).
	Form string
	// Name and Card are the realname and bankcard sent, decrypted on the
	// encrypted endpoint (empty when they did not decrypt).
	Name, Card string
	// KeyPresent reports whether a non-empty key was sent, KeyInQuery
	// whether it was sent in the URL.
	KeyPresent, KeyInQuery bool
	// JobID is the jobid parameter ("1" from a well-behaved client).
	JobID string

	// Status is the HTTP status answered: 0 for a hangup, or when the client
	// went away before the answer.
	Status int
	// Code and Res are the answered error_code and res, when the answer was
	// a JSON answer (even truncated).
	Code, Res int
	// AnswerJobID is the jobid answered, if any.
	AnswerJobID string
	// Fault names what decided the answer other than the checks and the
	// default rule: "script", "qps", "html502", "truncated", "fail"; empty
	// otherwise.
	Fault string
}

// Handler is the fake API as an http.Handler. Its setters change the fault
// switches while it serves; all its methods are safe for concurrent use.
type Handler struct {
	poseAsReal bool
	key        string
	cipher     *juhe.Cipher // nil without Options.OpenID
	seed       uint64
	prefix     string // of jobids
	maxLog     int
	now        func() time.Time
	done       chan struct{} // closed by Close: waits end at once
	once       sync.Once

	latency       atomic.Int64 // time.Duration
	failCode      atomic.Int64
	failRate      atomic.Uint64 // float64 bits
	html502Rate   atomic.Uint64
	truncatedRate atomic.Uint64

	qps    qpsWindow
	hidden atomic.Pointer[rate.Limiter] // nil: no hidden limit

	seq     atomic.Uint64 // numbers the calls, for random draws and jobids
	calls   atomic.Int64
	billed  atomic.Int64
	charged atomic.Int64

	scriptMu   sync.Mutex
	scripts    map[string][]Reply
	scriptLeft atomic.Int64 // replies not yet used, to skip the lock when 0

	logMu sync.Mutex
	log   []Request

	cards [cardShards]cardShard
}

// NewHandler returns a fake configured by opt.
func NewHandler(opt Options) *Handler {
	h := &Handler{
		key:        opt.Key,
		poseAsReal: opt.PoseAsReal,
		seed:       uint64(opt.Seed),
		prefix:     cmp.Or(opt.JobIDPrefix, "SANDBOX"),
		maxLog:     opt.MaxLog,
		now:        time.Now,
		done:       make(chan struct{}),
		scripts:    make(map[string][]Reply),
	}
	if h.maxLog == 0 {
		h.maxLog = DefaultMaxLog
	}
	if opt.OpenID != "" {
		h.cipher = juhe.NewCipher(opt.OpenID)
	}
	h.SetLatency(opt.Latency)
	h.SetFail(opt.FailCode, opt.FailRate)
	h.SetHTML502Rate(opt.HTML502Rate)
	h.SetTruncatedRate(opt.TruncatedRate)
	h.SetQPSLimit(opt.QPSLimit)
	return h
}

// SetLatency sets the wait before every answer.
func (h *Handler) SetLatency(d time.Duration) { h.latency.Store(int64(d)) }

// SetFail answers code to a fraction rate (0 to 1) of the requests.
func (h *Handler) SetFail(code int, rate float64) {
	h.failCode.Store(int64(code))
	h.failRate.Store(math.Float64bits(rate))
}

// SetHTML502Rate sets the fraction of requests answered with an HTML 502 page.
func (h *Handler) SetHTML502Rate(rate float64) { h.html502Rate.Store(math.Float64bits(rate)) }

// SetTruncatedRate sets the fraction of requests answered with truncated JSON.
func (h *Handler) SetTruncatedRate(rate float64) { h.truncatedRate.Store(math.Float64bits(rate)) }

// SetHiddenLimit sets a limit of qps answers a second, as a token bucket
// holding a tenth of a second's answers: requests beyond it get 10011,
// like the real API's per-IP limit, which a client does not know. 0 removes
// it.
func (h *Handler) SetHiddenLimit(qps float64) {
	if qps <= 0 {
		h.hidden.Store(nil)
		return
	}
	h.hidden.Store(rate.NewLimiter(rate.Limit(qps), max(1, int(qps/10))))
}

// SetQPSLimit sets the QPS limit (see Options.QPSLimit); 0 removes it. The
// window starts afresh.
func (h *Handler) SetQPSLimit(qps float64) { h.qps.set(qps) }

// Script queues replies for the card (its plain digits, also on the
// encrypted endpoint): its next requests that pass the checks get them in
// order, then the default rule applies again. Scripts of several calls add
// up.
func (h *Handler) Script(card string, replies ...Reply) {
	h.scriptMu.Lock()
	h.scripts[card] = append(h.scripts[card], replies...)
	h.scriptMu.Unlock()
	h.scriptLeft.Add(int64(len(replies)))
}

// ScriptsLeft returns how many scripted replies have not been used yet.
func (h *Handler) ScriptsLeft() int { return int(h.scriptLeft.Load()) }

// Calls returns the number of requests to the two endpoints, whatever their
// answer.
func (h *Handler) Calls() int { return int(h.calls.Load()) }

// Billed returns the number of complete JSON answers with error_code 0: what
// the real API would charge for. Truncated and Raw answers are not counted.
func (h *Handler) Billed() int { return int(h.billed.Load()) }

// Charged returns the number of requests the real API would bill: every
// request answered error_code 0, counted when the answer is decided, before
// it is delivered, so also when it is cut short, when the connection is
// closed instead (Hangup), or when the client gave up waiting. A client's
// billed plus possibly billed calls must never be fewer.
func (h *Handler) Charged() int { return int(h.charged.Load()) }

// CallsFor returns the number of requests for card (plain digits), counted
// even beyond the log's cap; 0 when Options.MaxLog is negative.
func (h *Handler) CallsFor(card string) int {
	c, _ := h.cardCounts(card)
	return c
}

// BilledFor returns the number of billed answers (see Billed) for card.
func (h *Handler) BilledFor(card string) int {
	_, b := h.cardCounts(card)
	return b
}

// Requests returns a copy of the request log, oldest first. It stops growing
// at Options.MaxLog requests.
func (h *Handler) Requests() []Request {
	h.logMu.Lock()
	defer h.logMu.Unlock()
	return append([]Request(nil), h.log...)
}

// Close ends every wait in progress (latency and scripted delays), so that a
// server can shut down at once. The Handler still answers afterwards, with
// no waits.
func (h *Handler) Close() {
	h.once.Do(func() { close(h.done) })
}

var sandboxMark = []string{"1"}

const (
	plainPath     = "/verifybankcard/query"
	encryptedPath = "/verifybankcard/queryEncry"
)

// ServeHTTP answers one request as the package documentation describes.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Every answer says it is simulated, so that a client reaching the
	// sandbox through any URL never takes it for a real verdict.
	if !h.poseAsReal {
		w.Header()[juhe.SandboxHeader] = sandboxMark
	}
	var encrypted bool
	switch r.URL.Path {
	case plainPath:
	case encryptedPath:
		encrypted = true
	default:
		writeHTML(w, http.StatusNotFound)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		writeHTML(w, http.StatusMethodNotAllowed)
		return
	}
	h.calls.Add(1)
	n := h.seq.Add(1)
	logging := h.maxLog > 0
	var at time.Time
	if logging {
		at = h.now()
	}

	var f form
	f.parse(r.URL.RawQuery)
	keyInQuery := f.key != ""
	ct := r.Header.Get("Content-Type")
	var body string
	buf := bufPool.Get().(*buffer)
	defer bufPool.Put(buf)
	if r.Method == http.MethodPost && strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		body = string(buf.readBody(r))
		f.parse(body)
	}

	x := exchange{n: n, status: http.StatusOK}
	if !encrypted {
		x.name, x.card = f.realname, f.bankcard
	} else if h.cipher != nil {
		x.name, x.card = h.decrypt(f.realname), h.decrypt(f.bankcard)
	}
	var code int
	checked := false
	switch {
	case f.key == "" || (h.key != "" && f.key != h.key):
		code = 10001
	case encrypted && h.cipher == nil:
		code = 10004
	case x.name == "" || x.card == "":
		code = 218808
	default:
		checked = true
	}

	reply := Reply{kind: kindAnswer, code: code}
	if checked {
		reply = h.choose(&x)
		if reply.charged(x.card) {
			h.charged.Add(1)
		}
	}
	if h.wait(r, time.Duration(h.latency.Load())+reply.delay) {
		h.answer(w, &x, reply, !encrypted, f.jobid == "1", buf)
	} else {
		x.status = 0 // the client left before the answer
	}

	if logging {
		h.count(x.card, x.billed)
		h.record(at, r, &x, &f, body, ct, keyInQuery)
	}
}

// exchange is what a request sent and got, as the handler works it out.
type exchange struct {
	n          uint64
	name, card string
	status     int
	code, res  int
	jobID      string
	fault      string
	billed     bool
}

// choose picks the reply to a request that passed the checks: script,
// faults, or the default rule.
func (h *Handler) choose(x *exchange) Reply {
	if h.scriptLeft.Load() > 0 {
		if r, ok := h.nextScripted(x.card); ok {
			x.fault = "script"
			return r
		}
	}
	if h.qps.enabled() && !h.qps.allow(h.now()) {
		x.fault = "qps"
		return Code(10011)
	}
	if lim := h.hidden.Load(); lim != nil && !lim.Allow() {
		x.fault = "qps"
		return Code(10011)
	}
	if rate := math.Float64frombits(h.html502Rate.Load()); rate > 0 && h.draw(x.n, 1) < rate {
		x.fault = "html502"
		return HTTPError(http.StatusBadGateway)
	}
	if rate := math.Float64frombits(h.truncatedRate.Load()); rate > 0 && h.draw(x.n, 2) < rate {
		x.fault = "truncated"
		return Truncated()
	}
	if rate := math.Float64frombits(h.failRate.Load()); rate > 0 && h.draw(x.n, 3) < rate {
		x.fault = "fail"
		return Code(int(h.failCode.Load()))
	}
	return Reply{}
}

func (h *Handler) nextScripted(card string) (Reply, bool) {
	h.scriptMu.Lock()
	defer h.scriptMu.Unlock()
	q := h.scripts[card]
	if len(q) == 0 {
		return Reply{}, false
	}
	r := q[0]
	if len(q) == 1 {
		delete(h.scripts, card)
	} else {
		h.scripts[card] = q[1:]
	}
	h.scriptLeft.Add(-1)
	return r, true
}

// wait waits d, or less if the client goes away or the handler is closed.
// It reports whether the request should still be answered.
func (h *Handler) wait(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-h.done:
		return true
	case <-r.Context().Done():
		return false
	}
}

// Rule returns the default rule's answer for card: an error code, or 0 and
// res 1 or 2. It is what a request that passes the checks gets when no script
// or fault applies.
func Rule(card string) (code, res int) {
	if len(card) < 12 || len(card) > 19 || !digits(card) {
		return 218804, 0
	}
	if strings.HasPrefix(card, "999999") && len(card) >= 12 {
		c, _ := strconv.Atoi(card[len(card)-6:])
		if c != 0 {
			if _, ok := juhe.Lookup(c); ok {
				return c, 0
			}
		}
	}
	if last := card[len(card)-1]; last == '0' || last == '1' {
		return 0, 2
	}
	return 0, 1
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// decrypt returns the decrypted field, or "" when it does not decrypt.
func (h *Handler) decrypt(s string) string {
	if s == "" {
		return ""
	}
	p, err := h.cipher.Decrypt(s)
	if err != nil {
		return ""
	}
	return p
}

// draw returns a number in [0, 1) that depends only on the seed, the call
// number n and the purpose i.
func (h *Handler) draw(n, i uint64) float64 {
	return float64(mix(h.seed^(n*4+i))>>11) / (1 << 53)
}

// mix is SplitMix64's finaliser: a bijection, so distinct inputs give
// distinct outputs (unique jobids).
func mix(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func (h *Handler) record(at time.Time, r *http.Request, x *exchange, f *form, body, ct string, keyInQuery bool) {
	h.logMu.Lock()
	defer h.logMu.Unlock()
	if len(h.log) >= h.maxLog {
		return
	}
	h.log = append(h.log, Request{
		Time:        at,
		Method:      r.Method,
		Path:        r.URL.Path,
		RawQuery:    r.URL.RawQuery,
		ContentType: ct,
		Form:        body,
		Name:        x.name,
		Card:        x.card,
		KeyPresent:  f.key != "",
		KeyInQuery:  keyInQuery,
		JobID:       f.jobid,
		Status:      x.status,
		Code:        x.code,
		Res:         x.res,
		AnswerJobID: x.jobID,
		Fault:       x.fault,
	})
}

// form holds the fields the API reads. Later parses override earlier ones,
// so the body wins over the URL's query, as in PHP's $_REQUEST.
type form struct {
	key, realname, bankcard, jobid string
}

func (f *form) parse(s string) {
	for s != "" {
		var pair string
		pair, s, _ = strings.Cut(s, "&")
		name, value, _ := strings.Cut(pair, "=")
		var dst *string
		switch name {
		case "key":
			dst = &f.key
		case "realname":
			dst = &f.realname
		case "bankcard":
			dst = &f.bankcard
		case "jobid":
			dst = &f.jobid
		default:
			continue
		}
		if v, err := url.QueryUnescape(value); err == nil {
			*dst = v
		} else {
			*dst = ""
		}
	}
}

const cardShards = 16

type cardShard struct {
	mu sync.Mutex
	m  map[uint64][2]int32 // card hash → calls, billed
}

func cardHash(card string) uint64 {
	// FNV-1a: collisions between card numbers are negligible for counting.
	h := uint64(14695981039346656037)
	for i := 0; i < len(card); i++ {
		h ^= uint64(card[i])
		h *= 1099511628211
	}
	return h
}

func (h *Handler) count(card string, billed bool) {
	k := cardHash(card)
	s := &h.cards[k%cardShards]
	s.mu.Lock()
	if s.m == nil {
		s.m = make(map[uint64][2]int32)
	}
	c := s.m[k]
	c[0]++
	if billed {
		c[1]++
	}
	s.m[k] = c
	s.mu.Unlock()
}

func (h *Handler) cardCounts(card string) (calls, billed int) {
	k := cardHash(card)
	s := &h.cards[k%cardShards]
	s.mu.Lock()
	c := s.m[k]
	s.mu.Unlock()
	return int(c[0]), int(c[1])
}
