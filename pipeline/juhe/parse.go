package juhe

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cardverify/cardverify/pipeline"
)

// maxReason caps the length of a vendor reason kept in an Answer, so that a
// hostile or broken server cannot fill the checkpoint and the output.
const maxReason = 512

// errNotJSON and errNoCode describe bodies from which no vendor answer can be
// read. They never quote the body.
var (
	errNotJSON = errors.New("body is not JSON")
	errNoCode  = errors.New("answer has no error_code")
)

// parseBody classifies the body of a 200 response. It returns a non-nil error
// when the body holds no usable vendor answer: not JSON, no error_code, or
// error_code 0 without res 1 or 2 (Transient, never a verdict). The Answer's
// HTTPStatus is left for the caller.
func parseBody(body []byte) (pipeline.Answer, error) {
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")) // a UTF-8 BOM
	// The raw members, kept as sent because the API and the proxies in front
	// of it are not consistent about types: error_code comes as a number or a
	// string, result as null, "", [], an object or a string holding one.
	var w struct{ reason, result, code []byte }
	ok := scanObject(body, func(name, v []byte) {
		switch string(name) {
		case `"reason"`:
			w.reason = v
		case `"result"`:
			w.result = v
		case `"error_code"`:
			w.code = v
		}
	})
	if !ok {
		return pipeline.Answer{Class: pipeline.Transient, Reason: pipeline.Reason(pipeline.CallNotJSON)}, errNotJSON
	}
	reason := clip(text(w.reason))
	code, ok := integer(w.code)
	if !ok {
		a := pipeline.Answer{Class: pipeline.Transient, Reason: pipeline.Reason(pipeline.CallNoCode, reason)}
		return a, errNoCode
	}
	a := pipeline.Answer{Code: code, Answered: true, Reason: reason}
	if code != 0 {
		a.Class = pipeline.Transient
		if c, ok := Lookup(code); ok {
			a.Class, a.Hint = c.Class, c.Hint
			if a.Reason == "" {
				a.Reason = c.Meaning
			}
		}
		return a, nil
	}
	res, jobID := result(w.result)
	a.JobID = clip(jobID)
	if res != 1 && res != 2 {
		// The vendor says error_code 0 is what it charges for, so the call
		// stays Answered with its Code; but there is no verdict to record.
		a.Class = pipeline.Transient
		err := fmt.Errorf("answer has error_code 0 but no res 1 or 2")
		a.Reason = pipeline.Reason(pipeline.CallNoVerdict, reason)
		return a, err
	}
	a.Class, a.Res = pipeline.Billed, res
	return a, nil
}

// result reads res and jobid from the answer's result, which may be absent,
// null, "", [], an object, or a JSON string holding an object.
func result(raw []byte) (res int, jobID string) {
	if len(raw) > 0 && raw[0] == '"' {
		s, ok := unquote(raw)
		if !ok {
			return 0, ""
		}
		raw = []byte(s)
	}
	var r struct{ res, jobID []byte }
	ok := scanObject(raw, func(name, v []byte) {
		switch string(name) {
		case `"res"`:
			r.res = v
		case `"jobid"`:
			r.jobID = v
		}
	})
	if !ok {
		return 0, ""
	}
	res, _ = integer(r.res)
	return res, text(r.jobID)
}

// integer reads a JSON integer given as a number or as a string of digits.
func integer(raw []byte) (int, bool) {
	if len(raw) == 0 {
		return 0, false
	}
	var s string
	if raw[0] == '"' {
		t, ok := unquote(raw)
		if !ok {
			return 0, false
		}
		s = strings.TrimSpace(t)
	} else {
		s = string(raw)
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, false
	}
	return n, true
}

// text reads a JSON string, or the literal text of a number; anything else
// (null, an object, an array) is empty.
func text(raw []byte) string {
	if len(raw) == 0 {
		return ""
	}
	switch c := raw[0]; {
	case c == '"':
		s, _ := unquote(raw)
		return s
	case c == '-' || c >= '0' && c <= '9':
		return string(raw)
	}
	return ""
}

// clip shortens s to at most maxReason bytes on a rune boundary and makes it
// valid UTF-8.
func clip(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if len(s) <= maxReason {
		return s
	}
	i := maxReason
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}

// statusAnswer describes a response whose status is not 200: Throttle for 429
// (with the server's Retry-After), Unusable for a redirect, Transient for any
// other.
func statusAnswer(status int, h http.Header, now time.Time) (pipeline.Answer, error) {
	err := fmt.Errorf("HTTP %d", status)
	a := pipeline.Answer{Class: pipeline.Transient, HTTPStatus: status, Reason: pipeline.Reason(pipeline.CallHTTP, status)}
	switch {
	case status == http.StatusTooManyRequests:
		a.Class = pipeline.Throttle
		a.RetryAfter = retryAfter(h.Get("Retry-After"), now)
	case status >= 300 && status < 400:
		// The API never redirects: the base URL is not the API's.
		a.Class = pipeline.Unusable
		// Say where to, without the path or query (which could hold
		// anything), so that the user can fix --base-url.
		if u, perr := url.Parse(h.Get("Location")); perr == nil && u.Host != "" {
			a.Reason = pipeline.Reason(pipeline.CallRedirect, status, u.Scheme+"://"+u.Host)
			err = fmt.Errorf("HTTP %d redirect to %s://%s: check --base-url", status, u.Scheme, u.Host)
		}
	}
	return a, err
}

// maxRetryAfter caps a server's Retry-After: an absurd value must not park
// the run for days.
const maxRetryAfter = time.Hour

// retryAfter parses a Retry-After value: seconds, or an HTTP date. It returns
// 0 when v is empty, unreadable or in the past.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		if n > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return max(0, min(d, maxRetryAfter))
}

// echoedCard returns the card the answer's result echoes (bankcard), as
// sent: the plain endpoint echoes it masked ("62220*****"). Empty when the
// answer echoes none.
func echoedCard(body []byte) string {
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))
	var raw []byte
	scanObject(body, func(name, v []byte) {
		if string(name) == `"result"` {
			raw = v
		}
	})
	if len(raw) > 0 && raw[0] == '"' {
		s, ok := unquote(raw)
		if !ok {
			return ""
		}
		raw = []byte(s)
	}
	var card []byte
	scanObject(raw, func(name, v []byte) {
		if string(name) == `"bankcard"` {
			card = v
		}
	})
	return text(card)
}

// fits reports whether echo, a card as an answer echoes it with '*' for
// hidden digits, can be card: its visible leading and trailing digits are
// card's. An empty echo, or one that is not digits and '*' (the encrypted
// endpoint's ciphertext), fits any card: there is nothing to compare.
func fits(echo, card string) bool {
	echo = strings.TrimSpace(echo)
	if echo == "" || strings.Trim(echo, "0123456789*") != "" {
		return true
	}
	first, last := strings.IndexByte(echo, '*'), strings.LastIndexByte(echo, '*')
	if first < 0 {
		return echo == card
	}
	lead, trail := echo[:first], echo[last+1:]
	return len(card) >= len(lead)+len(trail) && strings.HasPrefix(card, lead) && strings.HasSuffix(card, trail)
}
