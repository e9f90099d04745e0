package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cardverify/cardverify/pipeline/juhe"
)

const (
	testKey    = "the-key"
	testOpenID = "the-openid"
)

// answer is the JSON answer as a client reads it.
type answer struct {
	Reason string `json:"reason"`
	Result *struct {
		Realname string `json:"realname"`
		Bankcard string `json:"bankcard"`
		Res      int    `json:"res"`
		JobID    string `json:"jobid"`
	} `json:"result"`
	ErrorCode int `json:"error_code"`
}

// post sends form to h at path as a well-behaved client does and returns the
// recorded response.
func post(tb testing.TB, h http.Handler, path string, form url.Values) *httptest.ResponseRecorder {
	tb.Helper()
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func decode(tb testing.TB, w *httptest.ResponseRecorder) answer {
	tb.Helper()
	var a answer
	if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil {
		tb.Fatalf("answer %d %q: %v", w.Code, w.Body, err)
	}
	return a
}

func plainForm(name, card string) url.Values {
	return url.Values{"key": {testKey}, "realname": {name}, "bankcard": {card}, "jobid": {"1"}}
}

func encryptedForm(name, card string) url.Values {
	c := juhe.NewCipher(testOpenID)
	return url.Values{"key": {testKey}, "realname": {c.Encrypt(name)}, "bankcard": {c.Encrypt(card)}, "jobid": {"1"}}
}

func TestRule(t *testing.T) {
	tests := []struct {
		card      string
		code, res int
	}{
		{"6217003180000902693", 0, 1},
		{"6222021234567890120", 0, 2},
		{"6222021234567890121", 0, 2},
		{"622202123456", 0, 1},
		{"6222021234567890129", 0, 1},
		{"62220212345", 218804, 0},          // 11 digits
		{"62220212345678901234", 218804, 0}, // 20 digits
		{"6222 0212 3456 7890", 218804, 0},
		{"", 218804, 0},
		{"9999990000000000", 0, 2},    // special prefix, not a code: the verdict rule
		{"9999990000123452", 0, 1},    // idem
		{"8999990000218805", 0, 1},    // a code without the prefix
		{"9999990000010006", 0, 1},    // 10006 is not in the document
		{"999999000010011", 10011, 0}, // 15 digits
	}
	for _, c := range juhe.Codes[1:] {
		tests = append(tests, struct {
			card      string
			code, res int
		}{fmt.Sprintf("9999990000%06d", c.Code), c.Code, 0})
	}
	for _, tc := range tests {
		code, res := Rule(tc.card)
		if code != tc.code || res != tc.res {
			t.Errorf("Rule(%q) = %d, %d; want %d, %d", tc.card, code, res, tc.code, tc.res)
		}
	}
}

func TestEndpoints(t *testing.T) {
	const name, card = "董好", "6217003180000902693"
	tests := []struct {
		path string
		form url.Values
	}{
		{plainPath, plainForm(name, card)},
		{encryptedPath, encryptedForm(name, card)},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			h := NewHandler(Options{Key: testKey, OpenID: testOpenID, Seed: 7})
			w := post(t, h, tc.path, tc.form)
			if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
				t.Fatalf("status %d, type %q", w.Code, w.Header().Get("Content-Type"))
			}
			a := decode(t, w)
			if a.ErrorCode != 0 || a.Result == nil || a.Result.Res != 1 || a.Reason != "成功(模拟)" ||
				len(a.Result.JobID) != 23 || !strings.HasPrefix(a.Result.JobID, "SANDBOX") {
				t.Errorf("answer %s", w.Body)
			}
			if tc.path == plainPath && (a.Result.Realname != name || a.Result.Bankcard != "62170*****") {
				t.Errorf("plain answer does not echo the name and masked card: %s", w.Body)
			}
			if tc.path == encryptedPath && (a.Result.Realname != "" || a.Result.Bankcard != "") {
				t.Errorf("encrypted answer echoes the name or card: %s", w.Body)
			}
			reqs := h.Requests()
			if len(reqs) != 1 {
				t.Fatalf("log has %d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if r.Method != "POST" || r.Path != tc.path || r.Name != name || r.Card != card || !r.KeyPresent || r.KeyInQuery ||
				r.JobID != "1" || r.Form != tc.form.Encode() || r.Code != 0 || r.Res != 1 || r.AnswerJobID != a.Result.JobID || r.Status != 200 {
				t.Errorf("logged %+v", r)
			}
			if h.Calls() != 1 || h.Billed() != 1 || h.CallsFor(card) != 1 || h.BilledFor(card) != 1 || h.CallsFor("other") != 0 {
				t.Errorf("counters: calls %d billed %d for card %d/%d", h.Calls(), h.Billed(), h.CallsFor(card), h.BilledFor(card))
			}
		})
	}
}

func TestChecks(t *testing.T) {
	enc := juhe.NewCipher(testOpenID)
	other := juhe.NewCipher("someone else's openid")
	const card = "6217003180000902693"
	tests := []struct {
		name    string
		opt     Options
		path    string
		form    url.Values
		code    int
		logName string // the name the log must show
	}{
		{"wrong key", Options{Key: testKey}, plainPath, url.Values{"key": {"nope"}, "realname": {"张三"}, "bankcard": {card}}, 10001, "张三"},
		{"no key", Options{}, plainPath, url.Values{"realname": {"张三"}, "bankcard": {card}}, 10001, "张三"},
		{"empty key", Options{}, plainPath, url.Values{"key": {""}, "realname": {"张三"}, "bankcard": {card}}, 10001, "张三"},
		{"any key", Options{}, plainPath, url.Values{"key": {"whatever"}, "realname": {"张三"}, "bankcard": {card}}, 0, "张三"},
		{"no realname", Options{}, plainPath, url.Values{"key": {"k"}, "bankcard": {card}}, 218808, ""},
		{"no bankcard", Options{}, plainPath, url.Values{"key": {"k"}, "realname": {"张三"}}, 218808, "张三"},
		{"encrypted without openid", Options{}, encryptedPath, url.Values{"key": {"k"}, "realname": {enc.Encrypt("张三")}, "bankcard": {enc.Encrypt(card)}}, 10004, ""},
		{"encrypted, other openid", Options{OpenID: testOpenID}, encryptedPath, url.Values{"key": {"k"}, "realname": {other.Encrypt("张三")}, "bankcard": {other.Encrypt(card)}}, 218808, ""},
		{"encrypted, plain fields", Options{OpenID: testOpenID}, encryptedPath, url.Values{"key": {"k"}, "realname": {"张三"}, "bankcard": {card}}, 218808, ""},
		{"bad card", Options{}, plainPath, url.Values{"key": {"k"}, "realname": {"张三"}, "bankcard": {"1234"}}, 218804, "张三"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := NewHandler(tc.opt)
			a := decode(t, post(t, h, tc.path, tc.form))
			if a.ErrorCode != tc.code {
				t.Errorf("error_code %d, want %d", a.ErrorCode, tc.code)
			}
			if tc.code != 0 && (a.Result != nil || !strings.HasSuffix(a.Reason, "(模拟)")) {
				t.Errorf("error answer %+v: want result null and a simulated reason", a)
			}
			if r := h.Requests()[0]; r.Code != tc.code || r.Name != tc.logName {
				t.Errorf("logged code %d name %q, want %d %q", r.Code, r.Name, tc.code, tc.logName)
			}
			if wantBilled := tc.code == 0; (h.Billed() == 1) != wantBilled {
				t.Errorf("billed %d", h.Billed())
			}
		})
	}
}

// TestRequestShapes checks that what a badly behaved client does shows in the
// log: GET, the key in the URL, no jobid, no content type.
func TestRequestShapes(t *testing.T) {
	h := NewHandler(Options{})
	const card = "6217003180000902693"

	r := httptest.NewRequest(http.MethodGet, plainPath+"?key=k&realname=%E8%91%A3%E5%A5%BD&bankcard="+card, nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	a := decode(t, w)
	if a.ErrorCode != 0 || a.Result.JobID != "" {
		t.Errorf("GET answer %s: want a verdict without jobid (no jobid=1)", w.Body)
	}

	r = httptest.NewRequest(http.MethodPost, plainPath+"?key=k", strings.NewReader("realname=x&bankcard="+card+"&jobid=1"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	h.ServeHTTP(httptest.NewRecorder(), r)

	r = httptest.NewRequest(http.MethodPost, plainPath, strings.NewReader("key=k&realname=x&bankcard="+card))
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r) // no Content-Type: the body is not read
	if a := decode(t, w); a.ErrorCode != 10001 {
		t.Errorf("POST without a form content type: error_code %d, want 10001 (no key read)", a.ErrorCode)
	}

	reqs := h.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests logged", len(reqs))
	}
	if g := reqs[0]; g.Method != "GET" || !g.KeyInQuery || g.RawQuery == "" || g.Name != "董好" || g.JobID != "" {
		t.Errorf("GET logged as %+v", g)
	}
	if p := reqs[1]; p.Method != "POST" || !p.KeyInQuery || !p.KeyPresent || p.RawQuery != "key=k" || p.JobID != "1" {
		t.Errorf("POST with the key in the URL logged as %+v", p)
	}
	if p := reqs[2]; p.ContentType != "" || p.KeyPresent {
		t.Errorf("POST without content type logged as %+v", p)
	}

	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"POST", "/verifybankcard/other", 404},
		{"POST", "/", 404},
		{"PUT", plainPath, 405},
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(tc.method, tc.path, nil))
		if w.Code != tc.status {
			t.Errorf("%s %s: status %d, want %d", tc.method, tc.path, w.Code, tc.status)
		}
	}
	if h.Calls() != 3 {
		t.Errorf("Calls() = %d, want 3 (404 and 405 are not calls)", h.Calls())
	}
}

func TestScript(t *testing.T) {
	const card, other = "6217003180000902693", "6222021234567890129"
	h := NewHandler(Options{OpenID: testOpenID, Latency: 0})
	h.Script(card, Code(218801), HTTPError(502), TooMany("3"), Truncated(), Mismatch(),
		Answer(218806, 0, "自定义"), Raw(200, "text/plain", "hello"))
	h.Script(card, Delay(time.Millisecond))
	if h.ScriptsLeft() != 8 {
		t.Fatalf("ScriptsLeft() = %d, want 8", h.ScriptsLeft())
	}
	check := func(step string, w *httptest.ResponseRecorder, status int, body string) {
		t.Helper()
		if w.Code != status || !strings.Contains(w.Body.String(), body) {
			t.Errorf("%s: status %d body %q; want %d containing %q", step, w.Code, w.Body, status, body)
		}
	}
	// Another card is not affected by the script.
	check("other card", post(t, h, plainPath, plainForm("张三", other)), 200, `"res":1`)
	// The script applies on both endpoints, in order.
	check("218801", post(t, h, encryptedPath, encryptedForm("张三", card)), 200, `"error_code":218801`)
	check("502", post(t, h, plainPath, plainForm("张三", card)), 502, "502 Bad Gateway")
	w := post(t, h, plainPath, plainForm("张三", card))
	check("429", w, 429, "Too Many Requests")
	if w.Header().Get("Retry-After") != "3" {
		t.Errorf("Retry-After %q, want 3", w.Header().Get("Retry-After"))
	}
	w = post(t, h, plainPath, plainForm("张三", card))
	if w.Code != 200 || json.Valid(w.Body.Bytes()) || !strings.HasPrefix(w.Body.String(), `{"reason":`) {
		t.Errorf("truncated: %d %q", w.Code, w.Body)
	}
	check("mismatch", post(t, h, plainPath, plainForm("张三", card)), 200, `"res":2`)
	check("custom", post(t, h, plainPath, plainForm("张三", card)), 200, `{"reason":"自定义","result":null,"error_code":218806}`)
	check("raw", post(t, h, plainPath, plainForm("张三", card)), 200, "hello")
	check("delay", post(t, h, plainPath, plainForm("张三", card)), 200, `"res":1`)
	check("rule again", post(t, h, plainPath, plainForm("张三", card)), 200, `"res":1`)
	if h.ScriptsLeft() != 0 {
		t.Errorf("ScriptsLeft() = %d, want 0", h.ScriptsLeft())
	}
	// Billed: the other card, mismatch, delay, rule again; not the truncated one.
	if h.Billed() != 4 || h.BilledFor(card) != 3 || h.CallsFor(card) != 9 {
		t.Errorf("billed %d, for card %d, calls for card %d; want 4, 3, 9", h.Billed(), h.BilledFor(card), h.CallsFor(card))
	}
	faults := []string{}
	for _, r := range h.Requests() {
		faults = append(faults, r.Fault)
	}
	if got, want := strings.Join(faults, ","), ",script,script,script,truncated,script,script,script,script,"; got != want {
		t.Errorf("faults %s, want %s", got, want)
	}
}

func TestFaultSwitches(t *testing.T) {
	const card = "6217003180000902693"
	count := func(h *Handler, n int) map[string]int {
		got := map[string]int{}
		for range n {
			w := post(t, h, plainPath, plainForm("张三", card))
			switch {
			case w.Code == 502:
				got["html502"]++
			case !json.Valid(w.Body.Bytes()):
				got["truncated"]++
			default:
				got[fmt.Sprint(decode(t, w).ErrorCode)]++
			}
		}
		return got
	}
	tests := []struct {
		name string
		set  func(h *Handler)
		want map[string]int // expected counts out of 1000, ±60
	}{
		{"none", func(h *Handler) {}, map[string]int{"0": 1000}},
		{"all 502", func(h *Handler) { h.SetHTML502Rate(1) }, map[string]int{"html502": 1000}},
		{"all truncated", func(h *Handler) { h.SetTruncatedRate(1) }, map[string]int{"truncated": 1000}},
		{"all 218801", func(h *Handler) { h.SetFail(218801, 1) }, map[string]int{"218801": 1000}},
		{"30% 10020", func(h *Handler) { h.SetFail(10020, 0.3) }, map[string]int{"10020": 300, "0": 700}},
		{"mixed", func(h *Handler) { h.SetFail(218801, 0.05); h.SetHTML502Rate(0.2); h.SetTruncatedRate(0.1) },
			// 502 first, then truncated among the rest, then the code.
			map[string]int{"html502": 200, "truncated": 80, "218801": 36, "0": 684}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := NewHandler(Options{Seed: 42})
			tc.set(h)
			got := count(h, 1000)
			for k, want := range tc.want {
				if d := got[k] - want; d < -60 || d > 60 {
					t.Errorf("%s: %d of 1000, want about %d (all: %v)", k, got[k], want, got)
				}
			}
			for k := range got {
				if _, ok := tc.want[k]; !ok {
					t.Errorf("unexpected %s ×%d", k, got[k])
				}
			}
			// The same seed gives the same answers.
			h2 := NewHandler(Options{Seed: 42})
			tc.set(h2)
			if got2 := count(h2, 1000); fmt.Sprint(got2) != fmt.Sprint(got) {
				t.Errorf("same seed, different answers: %v and %v", got, got2)
			}
		})
	}

	// Switches set through Options are the same as the setters, and can be
	// turned off at run time.
	h := NewHandler(Options{FailCode: 10014, FailRate: 1})
	if got := count(h, 10); got["10014"] != 10 {
		t.Errorf("Options.FailRate 1: %v", got)
	}
	h.SetFail(0, 0)
	if got := count(h, 10); got["0"] != 10 {
		t.Errorf("after SetFail(0, 0): %v", got)
	}
}

func TestQPSLimit(t *testing.T) {
	const card = "6217003180000902693"
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		qps   float64
		at    []time.Duration // request times since t0
		codes []int
	}{
		{"10 a second", 10,
			[]time.Duration{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 999 * time.Millisecond, time.Second, time.Second, 1500 * time.Millisecond},
			[]int{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10011, 10011, 0, 0, 0}},
		{"spread", 2,
			[]time.Duration{0, 400 * time.Millisecond, 800 * time.Millisecond, 1000 * time.Millisecond, 1300 * time.Millisecond, 1400 * time.Millisecond},
			[]int{0, 0, 10011, 0, 10011, 0}},
		{"one every two seconds", 0.5,
			[]time.Duration{0, time.Second, 1999 * time.Millisecond, 2 * time.Second, 3 * time.Second},
			[]int{0, 10011, 10011, 0, 10011}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := NewHandler(Options{QPSLimit: tc.qps})
			var now time.Time
			h.now = func() time.Time { return now }
			for i, d := range tc.at {
				now = t0.Add(d)
				a := decode(t, post(t, h, plainPath, plainForm("张三", card)))
				if a.ErrorCode != tc.codes[i] {
					t.Errorf("request %d at %v: error_code %d, want %d", i, d, a.ErrorCode, tc.codes[i])
				}
			}
		})
	}

	h := NewHandler(Options{QPSLimit: 1})
	h.now = func() time.Time { return t0 }
	post(t, h, plainPath, plainForm("张三", card))
	if a := decode(t, post(t, h, plainPath, plainForm("张三", card))); a.ErrorCode != 10011 {
		t.Errorf("second request: %d, want 10011", a.ErrorCode)
	}
	h.SetQPSLimit(0)
	if a := decode(t, post(t, h, plainPath, plainForm("张三", card))); a.ErrorCode != 0 {
		t.Errorf("after removing the limit: %d, want 0", a.ErrorCode)
	}
}

func TestLog(t *testing.T) {
	const card = "6217003180000902693"
	h := NewHandler(Options{MaxLog: 3})
	for range 5 {
		post(t, h, plainPath, plainForm("张三", card))
	}
	if len(h.Requests()) != 3 || h.Calls() != 5 || h.CallsFor(card) != 5 || h.Billed() != 5 {
		t.Errorf("MaxLog 3 after 5 calls: log %d, calls %d, for card %d, billed %d", len(h.Requests()), h.Calls(), h.CallsFor(card), h.Billed())
	}
	h = NewHandler(Options{MaxLog: -1})
	for range 5 {
		post(t, h, plainPath, plainForm("张三", card))
	}
	if len(h.Requests()) != 0 || h.Calls() != 5 || h.CallsFor(card) != 0 || h.Billed() != 5 {
		t.Errorf("MaxLog -1 after 5 calls: log %d, calls %d, for card %d, billed %d", len(h.Requests()), h.Calls(), h.CallsFor(card), h.Billed())
	}
}

func TestJobIDs(t *testing.T) {
	seen := map[string]bool{}
	for n := uint64(1); n <= 100_000; n++ {
		id := jobID(3, n)
		if seen[id] {
			t.Fatalf("jobid %s repeated at call %d", id, n)
		}
		seen[id] = true
	}
	// The same seed and call give the same jobid; another seed another.
	if first, again := jobID(3, 1), jobID(3, 1); first != again || first == jobID(4, 1) {
		t.Error("jobids do not depend on the seed alone")
	}
}

// TestServer runs the fake on a real port: latency, a hangup, and Close
// cutting a long wait short.
func TestServer(t *testing.T) {
	const card = "6217003180000902693"
	s := newTestServer(t, Options{Latency: 30 * time.Millisecond})
	if !strings.HasPrefix(s.URL, "http://127.0.0.1:") {
		t.Fatalf("URL %q", s.URL)
	}
	start := time.Now()
	resp, err := http.PostForm(s.URL+plainPath, plainForm("张三", card))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Errorf("answer after %v, want at least the 30ms latency", d)
	}

	s.SetLatency(0)
	s.Script(card, Delay(time.Minute))
	impatient := &http.Client{Timeout: 50 * time.Millisecond}
	if resp, err := impatient.PostForm(s.URL+plainPath, plainForm("张三", card)); err == nil {
		resp.Body.Close()
		t.Errorf("a client that gave up got an answer, status %d", resp.StatusCode)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(s.Requests()) < 2 && time.Now().Before(deadline) { // logged once the wait ends
		time.Sleep(time.Millisecond)
	}
	if reqs := s.Requests(); len(reqs) != 2 || reqs[1].Status != 0 || reqs[1].Fault != "script" {
		t.Errorf("the abandoned request is logged as %+v", reqs[len(reqs)-1])
	}
	if s.Billed() != 1 {
		t.Errorf("billed %d, want 1: the abandoned request is not billed", s.Billed())
	}

	s.Script(card, Hangup(), Delay(time.Hour))
	if resp, err := http.PostForm(s.URL+plainPath, plainForm("张三", card)); err == nil {
		resp.Body.Close()
		t.Errorf("hangup: got an answer, status %d", resp.StatusCode)
	}
	done := make(chan error, 1)
	go func() {
		resp, err := http.PostForm(s.URL+plainPath, plainForm("张三", card))
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	// Wait until the request is in its delay.
	for limit := time.Now().Add(5 * time.Second); s.ScriptsLeft() > 0; time.Sleep(time.Millisecond) {
		if time.Now().After(limit) {
			t.Fatal("the request never reached its scripted delay")
		}
	}
	s.Close()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end the hour-long delay")
	}
	s.Close() // a second Close does nothing
}

// TestConcurrent changes switches while many clients call, for the race
// detector.
func TestConcurrent(t *testing.T) {
	s := newTestServer(t, Options{OpenID: testOpenID, MaxLog: 100})
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 50 {
				card := fmt.Sprintf("62220200%03d%05d", w, i)
				s.Script(card, Code(218801))
				form := plainForm("张三", card)
				path := plainPath
				if i%2 == 1 {
					form, path = encryptedForm("张三", card), encryptedPath
				}
				resp, err := http.PostForm(s.URL+path, form)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
			}
		})
	}
	wg.Go(func() {
		for i := range 100 {
			s.SetFail(10020, float64(i%2)/10)
			s.SetQPSLimit(float64(i % 3 * 1000))
			s.SetHTML502Rate(0.01)
			s.SetTruncatedRate(0.01)
			s.SetLatency(time.Duration(i%2) * time.Millisecond)
			_ = s.Requests()
			time.Sleep(time.Millisecond)
		}
	})
	wg.Wait()
	if s.Calls() != 400 || len(s.Requests()) != 100 || s.ScriptsLeft() != 0 {
		t.Errorf("calls %d, log %d, scripts left %d", s.Calls(), len(s.Requests()), s.ScriptsLeft())
	}
}

// discard is a ResponseWriter that keeps nothing, to measure the handler
// alone.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

func BenchmarkHandler(b *testing.B) {
	for _, path := range []string{plainPath, encryptedPath} {
		b.Run(path, func(b *testing.B) {
			h := NewHandler(Options{OpenID: testOpenID, MaxLog: -1})
			form := plainForm("张三", "6222021234567890123").Encode()
			if path == encryptedPath {
				form = encryptedForm("张三", "6222021234567890123").Encode()
			}
			body := strings.NewReader(form)
			r := httptest.NewRequest(http.MethodPost, path, body)
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			w := &discard{h: http.Header{}}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				body.Seek(0, 0)
				h.ServeHTTP(w, r)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "requests/s")
		})
	}
}

// testServer is the handler on a real port of 127.0.0.1, for the tests of
// this package (juhetest.Server is the same for other packages' tests).
type testServer struct {
	*Handler
	URL string
}

func newTestServer(tb testing.TB, opt Options) *testServer {
	tb.Helper()
	h := NewHandler(opt)
	ts := httptest.NewServer(h)
	s := &testServer{Handler: h, URL: ts.URL}
	tb.Cleanup(func() { h.Close(); ts.Close() })
	return s
}

// Close ends the waits in progress; the server itself closes at cleanup.
func (s *testServer) Close() { s.Handler.Close() }
