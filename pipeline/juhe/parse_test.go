package juhe

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/cardverify/cardverify/pipeline"
)

func TestParseBody(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    pipeline.Answer
		wantErr bool
	}{
		{
			name: "document example, plain",
			body: `{"reason":"成功","result":{"realname":"董好","bankcard":"62222*****","res":1,"jobid":"JH1881201222171529845853DG"},"error_code":0}`,
			want: pipeline.Answer{Class: pipeline.Billed, Answered: true, Reason: "成功", Res: 1, JobID: "JH1881201222171529845853DG"},
		},
		{
			name: "mismatch, encrypted layout",
			body: `{"reason":"成功","result":{"res":2,"jobid":"JH2"},"error_code":0}`,
			want: pipeline.Answer{Class: pipeline.Billed, Answered: true, Reason: "成功", Res: 2, JobID: "JH2"},
		},
		{
			name: "strings for numbers",
			body: `{"reason":"成功","result":{"res":"2","jobid":"JH3"},"error_code":"0"}`,
			want: pipeline.Answer{Class: pipeline.Billed, Answered: true, Reason: "成功", Res: 2, JobID: "JH3"},
		},
		{
			name: "result as a JSON string",
			body: `{"reason":"成功","result":"{\"res\":1,\"jobid\":\"JH4\"}","error_code":0}`,
			want: pipeline.Answer{Class: pipeline.Billed, Answered: true, Reason: "成功", Res: 1, JobID: "JH4"},
		},
		{
			name: "numeric jobid, BOM, whitespace",
			body: "\xef\xbb\xbf \n{\"error_code\": 0, \"reason\": \"成功\", \"result\": {\"res\": 1, \"jobid\": 12345}}\n",
			want: pipeline.Answer{Class: pipeline.Billed, Answered: true, Reason: "成功", Res: 1, JobID: "12345"},
		},
		{
			name: "no jobid",
			body: `{"reason":"成功","result":{"res":1},"error_code":0}`,
			want: pipeline.Answer{Class: pipeline.Billed, Answered: true, Reason: "成功", Res: 1},
		},
		{
			name: "reject with result null",
			body: `{"reason":"姓名不合法","result":null,"error_code":218805}`,
			want: pipeline.Answer{Class: pipeline.Reject, Answered: true, Code: 218805, Reason: "姓名不合法"},
		},
		{
			name: "code as string, result empty string",
			body: `{"reason":"认证失败","result":"","error_code":"218806"}`,
			want: pipeline.Answer{Class: pipeline.Reject, Answered: true, Code: 218806, Reason: "认证失败"},
		},
		{
			name: "deferred, result empty array",
			body: `{"reason":"次日恢复","result":[],"error_code":218866}`,
			want: pipeline.Answer{Class: pipeline.Defer, Answered: true, Code: 218866, Reason: "次日恢复"},
		},
		{
			name: "fatal gets the hint, missing reason gets the meaning",
			body: `{"error_code":10001}`,
			want: pipeline.Answer{Class: pipeline.Fatal, Answered: true, Code: 10001, Reason: "错误的请求KEY", Hint: codeHint(10001)},
		},
		{
			name: "throttle",
			body: `{"reason":"当前IP请求超过限制","error_code":10011,"resultcode":"111"}`,
			want: pipeline.Answer{Class: pipeline.Throttle, Answered: true, Code: 10011, Reason: "当前IP请求超过限制"},
		},
		{
			name: "unknown code is transient",
			body: `{"reason":"新错误","result":null,"error_code":218899}`,
			want: pipeline.Answer{Class: pipeline.Transient, Answered: true, Code: 218899, Reason: "新错误"},
		},
		{
			name: "a code 0 result with a res a verdict can't have",
			body: `{"reason":"成功","result":{"res":3,"jobid":"JH5"},"error_code":0}`,
			want: pipeline.Answer{Class: pipeline.Transient, Answered: true, Reason: pipeline.Reason(pipeline.CallNoVerdict, "成功"), JobID: "JH5"}, wantErr: true,
		},
		{
			name: "code 0 with result null",
			body: `{"reason":"成功","result":null,"error_code":0}`,
			want: pipeline.Answer{Class: pipeline.Transient, Answered: true, Reason: pipeline.Reason(pipeline.CallNoVerdict, "成功")}, wantErr: true,
		},
		{
			name: "res as a float",
			body: `{"reason":"成功","result":{"res":1.0},"error_code":0}`,
			want: pipeline.Answer{Class: pipeline.Transient, Answered: true, Reason: pipeline.Reason(pipeline.CallNoVerdict, "成功")}, wantErr: true,
		},
		{
			name: "no error_code",
			body: `{"reason":"成功","result":{"res":1}}`,
			want: pipeline.Answer{Class: pipeline.Transient, Reason: pipeline.Reason(pipeline.CallNoCode, "成功")}, wantErr: true,
		},
		{
			name: "error_code null",
			body: `{"reason":"x","error_code":null}`,
			want: pipeline.Answer{Class: pipeline.Transient, Reason: pipeline.Reason(pipeline.CallNoCode, "x")}, wantErr: true,
		},
		{
			name: "escapes, unknown members of every type, duplicate keys",
			body: `{"reason":"\u6210\u529f\n","x":[1,-2.5e+3,true,false,null,{"a":[]}],"error_code":1,"error_code":0,"result":{"res":2,"res":1,"jobid":"J\"1","extra":{}},"resultcode":"200"}`,
			want: pipeline.Answer{Class: pipeline.Billed, Answered: true, Reason: "成功\n", Res: 1, JobID: `J"1`},
		},
		{
			name:    "trailing garbage",
			body:    `{"reason":"成功","result":{"res":1},"error_code":0}{}`,
			want:    pipeline.Answer{Class: pipeline.Transient, Reason: pipeline.Reason(pipeline.CallNotJSON)},
			wantErr: true,
		},
		{
			name:    "trailing comma",
			body:    `{"reason":"成功","result":{"res":1},"error_code":0,}`,
			want:    pipeline.Answer{Class: pipeline.Transient, Reason: pipeline.Reason(pipeline.CallNotJSON)},
			wantErr: true,
		},
		{
			name:    "single quotes",
			body:    `{'error_code':0}`,
			want:    pipeline.Answer{Class: pipeline.Transient, Reason: pipeline.Reason(pipeline.CallNotJSON)},
			wantErr: true,
		},
		{
			name: "result string that is not an object",
			body: `{"reason":"成功","result":"ok","error_code":0}`,
			want: pipeline.Answer{Class: pipeline.Transient, Answered: true, Reason: pipeline.Reason(pipeline.CallNoVerdict, "成功")}, wantErr: true,
		},
		{
			name:    "HTML",
			body:    "<html><head><title>502 Bad Gateway</title></head></html>",
			want:    pipeline.Answer{Class: pipeline.Transient, Reason: pipeline.Reason(pipeline.CallNotJSON)},
			wantErr: true,
		},
		{
			name:    "truncated",
			body:    `{"reason":"成功","result":{"res":1,"jo`,
			want:    pipeline.Answer{Class: pipeline.Transient, Reason: pipeline.Reason(pipeline.CallNotJSON)},
			wantErr: true,
		},
		{
			name:    "empty",
			body:    "",
			want:    pipeline.Answer{Class: pipeline.Transient, Reason: pipeline.Reason(pipeline.CallNotJSON)},
			wantErr: true,
		},
		{
			name:    "a JSON array",
			body:    `[{"error_code":0}]`,
			want:    pipeline.Answer{Class: pipeline.Transient, Reason: pipeline.Reason(pipeline.CallNotJSON)},
			wantErr: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseBody([]byte(tc.body))
			if (err != nil) != tc.wantErr {
				t.Errorf("parseBody(%s) error = %v, want error %v", tc.body, err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("parseBody(%s)\n got %+v\nwant %+v", tc.body, got, tc.want)
			}
		})
	}
}

func codeHint(code int) string {
	c, _ := Lookup(code)
	return c.Hint
}

func TestParseBodyLongReason(t *testing.T) {
	body := `{"reason":"` + strings.Repeat("长", 1000) + `","error_code":218806}`
	a, _ := parseBody([]byte(body))
	if len(a.Reason) > maxReason || !utf8.ValidString(a.Reason) {
		t.Errorf("reason of %d bytes (valid UTF-8: %v), want at most %d", len(a.Reason), utf8.ValidString(a.Reason), maxReason)
	}
}

func TestStatusAnswer(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		status     int
		retryAfter string
		want       pipeline.Answer
	}{
		{502, "", pipeline.Answer{Class: pipeline.Transient, HTTPStatus: 502, Reason: pipeline.Reason(pipeline.CallHTTP, 502)}},
		{503, "30", pipeline.Answer{Class: pipeline.Transient, HTTPStatus: 503, Reason: pipeline.Reason(pipeline.CallHTTP, 503)}},
		{404, "", pipeline.Answer{Class: pipeline.Transient, HTTPStatus: 404, Reason: pipeline.Reason(pipeline.CallHTTP, 404)}},
		{429, "", pipeline.Answer{Class: pipeline.Throttle, HTTPStatus: 429, Reason: pipeline.Reason(pipeline.CallHTTP, 429)}},
		{301, "", pipeline.Answer{Class: pipeline.Unusable, HTTPStatus: 301, Reason: pipeline.Reason(pipeline.CallHTTP, 301)}},
		{429, "7", pipeline.Answer{Class: pipeline.Throttle, HTTPStatus: 429, Reason: pipeline.Reason(pipeline.CallHTTP, 429), RetryAfter: 7 * time.Second}},
		{429, "Fri, 27 Nov 2026 12:01:30 GMT", pipeline.Answer{Class: pipeline.Throttle, HTTPStatus: 429, Reason: pipeline.Reason(pipeline.CallHTTP, 429), RetryAfter: 90 * time.Second}},
		{429, "Fri, 27 Nov 2026 11:00:00 GMT", pipeline.Answer{Class: pipeline.Throttle, HTTPStatus: 429, Reason: pipeline.Reason(pipeline.CallHTTP, 429)}},
		{429, "-5", pipeline.Answer{Class: pipeline.Throttle, HTTPStatus: 429, Reason: pipeline.Reason(pipeline.CallHTTP, 429)}},
		{429, "soon", pipeline.Answer{Class: pipeline.Throttle, HTTPStatus: 429, Reason: pipeline.Reason(pipeline.CallHTTP, 429)}},
		{429, "999999999999", pipeline.Answer{Class: pipeline.Throttle, HTTPStatus: 429, Reason: pipeline.Reason(pipeline.CallHTTP, 429), RetryAfter: maxRetryAfter}},
	}
	for _, tc := range tests {
		h := http.Header{}
		if tc.retryAfter != "" {
			h.Set("Retry-After", tc.retryAfter)
		}
		got, err := statusAnswer(tc.status, h, now)
		if err == nil {
			t.Errorf("status %d: no error", tc.status)
		}
		if got != tc.want {
			t.Errorf("status %d Retry-After %q:\n got %+v\nwant %+v", tc.status, tc.retryAfter, got, tc.want)
		}
	}
}

func TestStatusAnswerRedirect(t *testing.T) {
	h := http.Header{"Location": {"https://v.juhe.cn/verifybankcard/query?key=SECRET"}}
	a, err := statusAnswer(301, h, time.Time{})
	want := pipeline.Reason(pipeline.CallRedirect, 301, "https://v.juhe.cn")
	if a.Reason != want || err == nil || err.Error() != "HTTP 301 redirect to https://v.juhe.cn: check --base-url" || a.Class != pipeline.Unusable {
		t.Errorf("got %+v, %v; want reason %q", a, err, want)
	}
}

// FuzzParse checks that the parser never panics, never returns a verdict
// without res 1 or 2 and error_code 0, and always pairs an error with a
// non-billed class. The seeds are in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"reason":"成功","result":{"res":1,"jobid":"JH1"},"error_code":0}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		a, err := parseBody(body)
		if a.Class == pipeline.Billed {
			if err != nil || !a.Answered || a.Code != 0 || (a.Res != 1 && a.Res != 2) {
				t.Fatalf("billed answer %+v, err %v, from %q", a, err, body)
			}
		} else if a.Res != 0 {
			t.Fatalf("res %d on a %v answer from %q", a.Res, a.Class, body)
		}
		if err != nil && a.Class != pipeline.Transient {
			t.Fatalf("error %v with class %v from %q", err, a.Class, body)
		}
		if len(a.Reason) > maxReason+100 || len(a.JobID) > maxReason || !utf8.ValidString(a.Reason) {
			t.Fatalf("reason or jobid too long or invalid from %q", body)
		}
		// The hand-written scanner accepts what encoding/json accepts.
		trimmed := bytes.TrimLeft(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")), " \t\r\n")
		wantJSON := json.Valid(trimmed) && len(trimmed) > 0 && trimmed[0] == '{'
		if gotJSON := a.Reason != pipeline.Reason(pipeline.CallNotJSON); gotJSON != wantJSON {
			t.Fatalf("body %q: read as JSON %v, json.Valid says %v", body, gotJSON, wantJSON)
		}
		if a.Answered && a.Reason == "" && a.Code != 0 {
			if _, known := Lookup(a.Code); known {
				t.Fatalf("known code %d without a reason", a.Code)
			}
		}
	})
}

func BenchmarkParseBody(b *testing.B) {
	body := []byte(`{"reason":"成功","result":{"realname":"董好","bankcard":"62222*****","res":1,"jobid":"JH1881201222171529845853DG"},"error_code":0}`)
	b.ReportAllocs()
	for b.Loop() {
		if a, err := parseBody(body); err != nil || a.Res != 1 {
			b.Fatal(a, err)
		}
	}
}

func TestFits(t *testing.T) {
	const card = "6222021234567890123"
	tests := []struct {
		echo string
		want bool
	}{
		{"", true},
		{"62220*****", true},  // the plain endpoint's echo (vendor's example: 62222*****)
		{"62221*****", false}, // another card's first digits
		{"622202******0123", true},
		{"622202******0124", false},
		{card, true},
		{"6222021234567890124", false},
		{"6222021234567890123456*", false}, // longer than the card
		{"q83v9Rz+Pw==", true},             // ciphertext: nothing to compare
	}
	for _, tc := range tests {
		if got := fits(tc.echo, card); got != tc.want {
			t.Errorf("fits(%q, %q) = %v, want %v", tc.echo, card, got, tc.want)
		}
	}
}
