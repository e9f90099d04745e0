package juhe_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cardverify/cardverify/pipeline"
	"github.com/cardverify/cardverify/pipeline/juhe"
	"github.com/cardverify/cardverify/pipeline/juhe/juhetest"
	"github.com/cardverify/cardverify/pipeline/msg"
)

const (
	testKey    = "k3y-SECRET-0123456789abcdef"
	testOpenID = "JH-openid-SECRET-42"
)

// newClient returns a client of srv for endpoint, with a short timeout.
func newClient(tb testing.TB, srv *juhetest.Server, e juhe.Endpoint) *juhe.Client {
	tb.Helper()
	c, err := juhe.New(juhe.Config{BaseURL: srv.URL, Key: testKey, OpenID: testOpenID, Endpoint: e, Timeout: 2 * time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func TestVerifyEndpoints(t *testing.T) {
	cards := []struct {
		name, card string
		want       pipeline.Answer
	}{
		{"董好", "6217003180000902693", pipeline.Answer{Class: pipeline.Billed, Res: 1}},
		{"张三", "6222021234567890120", pipeline.Answer{Class: pipeline.Billed, Res: 2}},
		{"李四", "622202123456781", pipeline.Answer{Class: pipeline.Billed, Res: 2}},
		{"欧阳·娜娜 +&=%", "6212261202011584", pipeline.Answer{Class: pipeline.Billed, Res: 1}},
		{"王五", "12345", pipeline.Answer{Class: pipeline.Reject, Code: 218804}},
	}
	for _, e := range []juhe.Endpoint{juhe.Plain, juhe.Encrypted} {
		t.Run(e.String(), func(t *testing.T) {
			srv := juhetest.NewServer(t, juhetest.Options{Key: testKey, OpenID: testOpenID, Seed: 1})
			c := newClient(t, srv, e)
			for i, tc := range cards {
				got, err := c.Verify(context.Background(), tc.name, tc.card)
				if err != nil {
					t.Fatalf("Verify(%q, %q): %v", tc.name, tc.card, err)
				}
				if got.Class != tc.want.Class || got.Res != tc.want.Res || got.Code != tc.want.Code || !got.Answered || got.HTTPStatus != 200 {
					t.Errorf("Verify(%q, %q) = %+v, want %+v", tc.name, tc.card, got, tc.want)
				}
				if !strings.Contains(got.Reason, "(模拟)") {
					t.Errorf("reason %q is not marked as simulated", got.Reason)
				}
				req := srv.Requests()[i]
				if req.Method != http.MethodPost || req.Path != e.Path() || req.RawQuery != "" ||
					req.ContentType != "application/x-www-form-urlencoded" || !req.KeyPresent || req.KeyInQuery || req.JobID != "1" {
					t.Errorf("request %+v: want POST to %s, form-encoded, key in the body only, jobid=1", req, e.Path())
				}
				if req.Name != tc.name || req.Card != tc.card {
					t.Errorf("server read name %q card %q, want %q %q", req.Name, req.Card, tc.name, tc.card)
				}
				if e == juhe.Encrypted && (strings.Contains(req.Form, "bankcard="+url.QueryEscape(tc.card)) || strings.Contains(req.Form, "realname="+url.QueryEscape(tc.name))) {
					t.Errorf("encrypted form %q holds the plain name or card", req.Form)
				}
				if got.Class == pipeline.Billed && (got.JobID == "" || got.JobID != req.AnswerJobID || !strings.HasPrefix(got.JobID, "SANDBOX")) {
					t.Errorf("jobid %q, server answered %q", got.JobID, req.AnswerJobID)
				}
			}
			if srv.Calls() != len(cards) || srv.Billed() != len(cards)-1 {
				t.Errorf("server counted %d calls, %d billed; want %d, %d", srv.Calls(), srv.Billed(), len(cards), len(cards)-1)
			}
		})
	}
}

// TestVerifyEveryCode drives each code of the table through the fake's
// special cards and checks the class and hint the client gives it.
func TestVerifyEveryCode(t *testing.T) {
	srv := juhetest.NewServer(t, juhetest.Options{Key: testKey, OpenID: testOpenID})
	c := newClient(t, srv, juhe.Encrypted)
	// The classes expected are DESIGN.md's literal table; the meaning and
	// hint are the table's, which the fake and the client pass through.
	for wantCode, class := range juhe.DesignClasses {
		if wantCode == 0 {
			continue // a verdict, not a special card
		}
		code, ok := juhe.Lookup(wantCode)
		if !ok {
			t.Errorf("code %d of the document: not in the table", wantCode)
			continue
		}
		card := fmt.Sprintf("9999990000%06d", wantCode)
		got, err := c.Verify(context.Background(), "测试", card)
		if err != nil {
			t.Errorf("code %d: %v", wantCode, err)
			continue
		}
		want := pipeline.Answer{Class: class, HTTPStatus: 200, Code: wantCode, Answered: true, Reason: code.Meaning + "(模拟)", Hint: code.Hint}
		if wantCode == 218808 {
			// On the encrypted endpoint a wrong openid makes every row
			// 218808: a streak of it at the start stops the run.
			want.Suspect = true
			want.Hint = pipeline.Reason(pipeline.HintOpenID)
		}
		if got != want {
			t.Errorf("card %s:\n got %+v\nwant %+v", card, got, want)
		}
	}
}

func TestVerifyFailures(t *testing.T) {
	const card = "6217003180000902693"
	tests := []struct {
		name  string
		reply juhetest.Reply
		want  pipeline.Answer
	}{
		{"HTML 502", juhetest.HTTPError(502), pipeline.Answer{Class: pipeline.Transient, HTTPStatus: 502, Reason: pipeline.Reason(pipeline.CallHTTP, 502)}},
		{"HTTP 503 JSON", juhetest.Raw(503, "application/json", `{"error_code":0,"result":{"res":1}}`), pipeline.Answer{Class: pipeline.Transient, HTTPStatus: 503, Reason: pipeline.Reason(pipeline.CallHTTP, 503)}},
		{"429 Retry-After", juhetest.TooMany("7"), pipeline.Answer{Class: pipeline.Throttle, HTTPStatus: 429, Reason: pipeline.Reason(pipeline.CallHTTP, 429), RetryAfter: 7 * time.Second}},
		{"429 without Retry-After", juhetest.TooMany(""), pipeline.Answer{Class: pipeline.Throttle, HTTPStatus: 429, Reason: pipeline.Reason(pipeline.CallHTTP, 429)}},
		{"truncated", juhetest.Truncated(), pipeline.Answer{Class: pipeline.Transient, HTTPStatus: 200, Reason: pipeline.Reason(pipeline.CallNotJSON), PossiblyBilled: true}},
		{"HTML 200", juhetest.Raw(200, "text/html", "<html>维护中</html>"), pipeline.Answer{Class: pipeline.Transient, HTTPStatus: 200, Reason: pipeline.Reason(pipeline.CallNotJSON), PossiblyBilled: true}},
		{"huge body", juhetest.Raw(200, "application/json", `{"reason":"`+strings.Repeat("x", 70<<10)+`","error_code":0}`),
			pipeline.Answer{Class: pipeline.Transient, HTTPStatus: 200, Reason: pipeline.Reason(pipeline.CallTooLong, 65536), PossiblyBilled: true}},
		{"code 0 without result", juhetest.Raw(200, "application/json", `{"reason":"成功","result":null,"error_code":0}`),
			pipeline.Answer{Class: pipeline.Transient, HTTPStatus: 200, Answered: true, Reason: pipeline.Reason(pipeline.CallNoVerdict, "成功")}},
		// Sent, then no answer in time: the vendor may answer (and bill) later.
		{"timeout", juhetest.Delay(time.Second), pipeline.Answer{Class: pipeline.Transient, Reason: pipeline.Reason(pipeline.CallTimeout, "100ms"), PossiblyBilled: true}},
		{"hangup after reading", juhetest.Hangup(), pipeline.Answer{Class: pipeline.Transient, Reason: pipeline.Reason(pipeline.CallClosed), PossiblyBilled: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := juhetest.NewServer(t, juhetest.Options{})
			srv.Script(card, tc.reply)
			c, err := juhe.New(juhe.Config{BaseURL: srv.URL, Key: testKey, Timeout: 100 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Verify(context.Background(), "董好", card)
			if err == nil {
				t.Errorf("no error, answer %+v", got)
			}
			if got != tc.want {
				t.Errorf("\n got %+v\nwant %+v", got, tc.want)
			}
			// The error says what the reason says: its parameter, if any.
			if _, args, _ := pipeline.ParseReason(tc.want.Reason); err != nil && len(args) > 0 && !strings.Contains(err.Error(), args[len(args)-1]) {
				t.Errorf("error %q does not say %q", err, args[len(args)-1])
			}
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
				t.Errorf("error %v looks like the caller's context ended", err)
			}
		})
	}
}

// TestVerifyNoRedirect checks that a redirect is not followed: a 307 would
// send the key to wherever it points.
func TestVerifyNoRedirect(t *testing.T) {
	target := juhetest.NewServer(t, juhetest.Options{})
	redirect := httptest.NewServer(http.RedirectHandler(target.URL+juhe.Plain.Path(), http.StatusTemporaryRedirect))
	defer redirect.Close()
	c, err := juhe.New(juhe.Config{BaseURL: redirect.URL, Key: testKey})
	if err != nil {
		t.Fatal(err)
	}
	a, err := c.Verify(context.Background(), "董好", "6217003180000902693")
	want := pipeline.Reason(pipeline.CallRedirect, 307, target.URL)
	if err == nil || a.Reason != want || a.Class != pipeline.Unusable || a.Hint != pipeline.Reason(pipeline.HintRedirect, redirect.URL) {
		t.Errorf("got %+v, %v; want reason %q", a, err, want)
	}
	if target.Calls() != 0 {
		t.Errorf("the redirect was followed: %d calls", target.Calls())
	}
}

func TestVerifyCancelled(t *testing.T) {
	const card = "6217003180000902693"
	srv := juhetest.NewServer(t, juhetest.Options{})
	srv.Script(card, juhetest.Delay(time.Minute))
	c := newClient(t, srv, juhe.Plain)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	got, err := c.Verify(ctx, "董好", card)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want one that wraps context.Canceled", err)
	}
	if got.Class != pipeline.Transient || got.Answered {
		t.Errorf("answer %+v, want an unanswered Transient", got)
	}

	ctx, cancel = context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	<-ctx.Done()
	if _, err := c.Verify(ctx, "董好", card); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("expired context: error %v, want one that wraps context.DeadlineExceeded", err)
	}
}

// TestSecretsNeverLeak makes calls fail in every way and checks that neither
// the error nor the Reason holds the key, the openid, the name or the card.
func TestSecretsNeverLeak(t *testing.T) {
	const name, card = "董好", "6217003180000902693"
	secrets := []string{testKey, testOpenID, name, card}

	closed := juhetest.NewServer(t, juhetest.Options{})
	closed.Close() // its port now refuses connections

	srv := juhetest.NewServer(t, juhetest.Options{Key: testKey, OpenID: testOpenID})
	srv.Script(card, juhetest.Hangup(), juhetest.Delay(time.Second),
		juhetest.Raw(200, "application/json", `{"reason":"卡号`+card+`不合法 key `+testKey+` openid `+testOpenID+`","error_code":218804}`))
	wrongKey := juhetest.NewServer(t, juhetest.Options{Key: "another key", OpenID: testOpenID})

	// The cases run in order: each uses the next scripted reply.
	tests := []struct {
		name   string
		url    string
		reason string // what the Reason must say
	}{
		{"connection refused", closed.URL, "connection refused"},
		{"hangup", srv.URL, pipeline.Reason(pipeline.CallClosed)},
		{"timeout", srv.URL, pipeline.Reason(pipeline.CallTimeout, "100ms")},
		{"reason echoes secrets", srv.URL, "卡号***不合法 key *** openid ***"},
		{"wrong key (10001)", wrongKey.URL, "错误的请求KEY"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := juhe.New(juhe.Config{BaseURL: tc.url, Key: testKey, OpenID: testOpenID, Endpoint: juhe.Encrypted, Timeout: 100 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			a, err := c.Verify(context.Background(), name, card)
			if !strings.Contains(a.Reason, tc.reason) {
				t.Errorf("reason %q, want it to say %q", a.Reason, tc.reason)
			}
			texts := []string{a.Reason, a.Hint, a.JobID}
			if err != nil {
				texts = append(texts, err.Error(), fmt.Sprintf("%+v", err))
			}
			for _, text := range texts {
				for _, s := range secrets {
					if strings.Contains(text, s) {
						t.Errorf("%q holds the secret %q", text, s)
					}
				}
			}
			if err == nil && a.Code != 10001 && a.Code != 218804 {
				t.Errorf("answer %+v without error", a)
			}
			t.Logf("answer %+v, error %v", a, err)
		})
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name string
		cfg  juhe.Config
		hint string // "" when New must succeed
	}{
		{"defaults", juhe.Config{Key: "k"}, ""},
		{"encrypted", juhe.Config{Key: "k", OpenID: "o", Endpoint: juhe.Encrypted}, ""},
		{"no key", juhe.Config{}, "JUHE_KEY"},
		{"no openid", juhe.Config{Key: "k", Endpoint: juhe.Encrypted}, "JUHE_OPENID"},
		{"bad endpoint", juhe.Config{Key: "k", Endpoint: 7}, "--endpoint"},
		{"negative timeout", juhe.Config{Key: "k", Timeout: -time.Second}, "--timeout"},
		{"not a URL", juhe.Config{Key: "k", BaseURL: "v.juhe.cn"}, "--base-url"},
		{"ftp", juhe.Config{Key: "k", BaseURL: "ftp://v.juhe.cn"}, "--base-url"},
		{"query", juhe.Config{Key: "k", BaseURL: "http://v.juhe.cn/?key=k"}, "--base-url"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := juhe.New(tc.cfg)
			if tc.hint == "" {
				if err != nil || c == nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			var ie *pipeline.InputError
			if !errors.As(err, &ie) || !strings.Contains(msg.Text("en", ie.Hint), tc.hint) {
				t.Fatalf("New = %v, want an InputError whose hint names %s", err, tc.hint)
			}
			if tc.cfg.Key != "" && strings.Contains(err.Error(), "key=k") {
				t.Errorf("error %q holds the key", err)
			}
		})
	}
}

func TestEndpoint(t *testing.T) {
	for _, e := range []juhe.Endpoint{juhe.Plain, juhe.Encrypted} {
		got, err := juhe.ParseEndpoint(e.String())
		if err != nil || got != e {
			t.Errorf("ParseEndpoint(%q) = %v, %v", e.String(), got, err)
		}
	}
	var ie *pipeline.InputError
	if _, err := juhe.ParseEndpoint("aes"); !errors.As(err, &ie) {
		t.Errorf("ParseEndpoint(aes) = %v, want an InputError", err)
	}
	if juhe.Plain.Path() != "/verifybankcard/query" || juhe.Encrypted.Path() != "/verifybankcard/queryEncry" {
		t.Errorf("paths %q %q", juhe.Plain.Path(), juhe.Encrypted.Path())
	}
}

// TestVerifyConcurrent runs many workers against one client, as the pipeline
// does, and checks that every answer belongs to its own call.
func TestVerifyConcurrent(t *testing.T) {
	srv := juhetest.NewServer(t, juhetest.Options{OpenID: testOpenID})
	c := newClient(t, srv, juhe.Encrypted)
	const workers, each = 64, 20
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				card := fmt.Sprintf("62220200%03d%05d", w, i)
				a, err := c.Verify(context.Background(), "张三", card)
				_, wantRes := juhetest.Rule(card)
				if err != nil || a.Res != wantRes {
					errs <- fmt.Errorf("card %s: %+v, %v; want res %d", card, a, err, wantRes)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if srv.Calls() != workers*each {
		t.Errorf("server saw %d calls, want %d", srv.Calls(), workers*each)
	}
}

// BenchmarkVerify measures the client against the in-process fake with no
// latency, 64 concurrent callers, both endpoints. The figure includes the
// fake's own work on the same cores.
func BenchmarkVerify(b *testing.B) {
	for _, e := range []juhe.Endpoint{juhe.Plain, juhe.Encrypted} {
		b.Run(e.String(), func(b *testing.B) {
			srv := juhetest.NewServer(b, juhetest.Options{OpenID: testOpenID, MaxLog: -1})
			c := newClient(b, srv, e)
			b.SetParallelism(32) // 64 goroutines on 2 cores
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := c.Verify(context.Background(), "张三", "6222021234567890123"); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
		})
	}
}

// TestVerifyUnreachable checks that calls that never reached the API are
// Unreachable, with the base URL, the underlying error and the fix, and
// never possibly billed.
func TestVerifyUnreachable(t *testing.T) {
	// A port that was just free: nothing listens there.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + l.Addr().String()
	l.Close()
	tlsSrv := httptest.NewTLSServer(http.NotFoundHandler()) // a certificate this machine does not trust
	defer tlsSrv.Close()
	plainSrv := juhetest.NewServer(t, juhetest.Options{})

	tests := []struct {
		name, base string
		reason     string // in the Reason, after the base URL
		hint       pipeline.Code
	}{
		{"refused", refused, "connection refused", pipeline.HintUnreachable},
		{"unknown host", "http://no-such-host.invalid", "no-such-host.invalid", pipeline.HintUnknownHost},
		{"untrusted certificate", tlsSrv.URL, "certificate", pipeline.HintUntrustedTLS},
		{"https to a plain server", "https" + strings.TrimPrefix(plainSrv.URL, "http"), "HTTP response to HTTPS client", pipeline.HintUnreachable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := juhe.New(juhe.Config{BaseURL: tc.base, Key: testKey, Timeout: 2 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			a, err := c.Verify(context.Background(), "董好", "6217003180000902693")
			if err == nil || a.Class != pipeline.Unreachable || a.PossiblyBilled {
				t.Fatalf("got %+v, %v; want Unreachable, not possibly billed", a, err)
			}
			code, args, _ := pipeline.ParseReason(a.Reason)
			if code != pipeline.CallUnreachable || len(args) != 2 || args[0] != tc.base || !strings.Contains(args[1], tc.reason) {
				t.Errorf("reason %q: want %s with the base URL %s and %q", a.Reason, pipeline.CallUnreachable, tc.base, tc.reason)
			}
			if hint, args, _ := pipeline.ParseReason(a.Hint); hint != tc.hint || (hint != pipeline.HintProxy && (len(args) != 1 || args[0] != tc.base)) {
				t.Errorf("hint %q: want %s with the base URL", a.Hint, tc.hint)
			}
			if strings.Contains(a.Reason+a.Hint+err.Error(), testKey) {
				t.Errorf("the key shows in %q / %q / %v", a.Reason, a.Hint, err)
			}
		})
	}
	if plainSrv.Calls() != 0 {
		t.Errorf("the plain server counted %d calls for a TLS handshake", plainSrv.Calls())
	}
}

// TestVerifyAnswerChecks checks that a verdict echoing another card is not a
// verdict (but was billed), and that one without a jobid stays a verdict.
func TestVerifyAnswerChecks(t *testing.T) {
	card := juhetest.MatchCard(3)
	srv := juhetest.NewServer(t, juhetest.Options{Key: testKey})
	srv.Script(card, juhetest.Match().Echo("99999"+card[5:]), juhetest.Match().WithoutJobID())
	c, err := juhe.New(juhe.Config{BaseURL: srv.URL, Key: testKey})
	if err != nil {
		t.Fatal(err)
	}
	a, err := c.Verify(context.Background(), "董好", card)
	if err == nil || !a.Foreign || a.Class != pipeline.Transient || a.Res != 0 || !a.Answered || a.Code != 0 {
		t.Errorf("echo of another card: got %+v, %v; want a billed answer that is no verdict", a, err)
	}
	a, err = c.Verify(context.Background(), "董好", card)
	if err != nil || a.Class != pipeline.Billed || a.Res != 1 || a.JobID != "" {
		t.Errorf("no jobid: got %+v, %v; want a match without a jobid", a, err)
	}
}

// TestVerifyHTTPS: an https base URL works when its certificate is
// trusted; an untrusted certificate is Unreachable (every call would fail
// alike: a streak stops the run) with the certificate's error and the fix,
// and nothing reaches the server.
func TestVerifyHTTPS(t *testing.T) {
	h := juhetest.NewHandler(juhetest.Options{Key: testKey})
	defer h.Close()
	srv := httptest.NewTLSServer(h) // on 127.0.0.1
	defer srv.Close()

	trusted, err := juhe.New(juhe.Config{BaseURL: srv.URL, Key: testKey, Timeout: 2 * time.Second, HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	a, err := trusted.Verify(context.Background(), "董好", "6217003180000902693")
	if err != nil || !a.Answered || a.Code != 0 {
		t.Fatalf("https with a trusted certificate: %+v, %v; want an answer", a, err)
	}
	calls := h.Calls()

	untrusted, err := juhe.New(juhe.Config{BaseURL: srv.URL, Key: testKey, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	a, err = untrusted.Verify(context.Background(), "董好", "6217003180000902693")
	if hint, _, _ := pipeline.ParseReason(a.Hint); err == nil || a.Class != pipeline.Unreachable || !strings.Contains(a.Reason, "x509") || hint != pipeline.HintUntrustedTLS {
		t.Errorf("untrusted certificate: %+v, %v; want an Unreachable answer naming the certificate, and the TLS hint", a, err)
	}
	if h.Calls() != calls {
		t.Errorf("the call with an untrusted certificate reached the server")
	}
}

// TestPoolSizeClosesIdle: after 8 concurrent calls the client keeps 8
// connections open; told that the pool shrank to half its largest size,
// it closes the idle ones, so that the workers that left keep none, and a
// call after that dials again. Told that the pool grew, or took a step
// down by less than half, it closes nothing.
func TestPoolSizeClosesIdle(t *testing.T) {
	const workers = 8
	var mu sync.Mutex
	opened, closed := 0, 0
	arrived := make(chan struct{}, workers)
	release := make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.FormValue("bankcard") != "6222020000000000" {
			arrived <- struct{}{}
			<-release
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"reason":"成功","result":{"res":1,"jobid":"JH1"},"error_code":0}`)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		mu.Lock()
		defer mu.Unlock()
		switch s {
		case http.StateNew:
			opened++
		case http.StateClosed:
			closed++
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	counts := func() (int, int) {
		mu.Lock()
		defer mu.Unlock()
		return opened, closed
	}
	c, err := juhe.New(juhe.Config{BaseURL: srv.URL, Key: testKey, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	c.SetPoolSize(workers)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			if _, err := c.Verify(context.Background(), "张三", fmt.Sprintf("62220200000000%02d", i+1)); err != nil {
				t.Error(err)
			}
		})
	}
	for range workers { // each call in flight holds a connection of its own
		<-arrived
	}
	close(release)
	wg.Wait()
	c.SetPoolSize(2 * workers)
	c.SetPoolSize(2*workers - workers/2) // a step down from the largest: not half
	if _, err := c.Verify(context.Background(), "张三", "6222020000000000"); err != nil {
		t.Fatal(err)
	}
	if o, cl := counts(); o != workers || cl != 0 {
		t.Fatalf("after the calls, a pool grown and a step down: %d connections opened, %d closed; want %d, 0", o, cl, workers)
	}
	c.SetPoolSize(1)
	deadline := time.Now().Add(5 * time.Second)
	for _, cl := counts(); cl < workers && time.Now().Before(deadline); _, cl = counts() {
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := c.Verify(context.Background(), "张三", "6222020000000000"); err != nil {
		t.Fatal(err)
	}
	if o, cl := counts(); o != workers+1 || cl != workers {
		t.Errorf("after the pool shrank: %d connections opened, %d closed; want %d, %d", o, cl, workers+1, workers)
	}
}
