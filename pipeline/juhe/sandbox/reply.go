package sandbox

import "time"

type replyKind uint8

const (
	kindRule      replyKind = iota // the default rule
	kindAnswer                     // a JSON answer with the given code and res
	kindStatus                     // an HTML error page with an HTTP status
	kindTruncated                  // the default rule's JSON answer cut short
	kindRaw                        // any status, content type and body
	kindHangup                     // close the connection without answering
)

// Reply is one scripted answer (see Server.Script). Build it with Answer,
// Match, Mismatch, Code, HTTPError, TooMany, Truncated, Raw, Hangup or Delay;
// After adds a wait before any of them. The zero Reply answers by the default
// rule at once.
type Reply struct {
	kind        replyKind
	delay       time.Duration
	code, res   int
	reason      string
	status      int
	retryAfter  string
	contentType string
	body        string
	echo        string // the card echoed instead of the one sent
	noJobID     bool
}

// Echo returns r answering, on the plain endpoint, as if for card: its
// first digits are echoed instead of the sent card's (an answer that
// belongs to another row).
func (r Reply) Echo(card string) Reply {
	r.echo = card
	return r
}

// WithoutJobID returns r answering without a jobid, although jobid=1 was
// sent.
func (r Reply) WithoutJobID() Reply {
	r.noJobID = true
	return r
}

// Answer is a JSON answer with error_code code and, for code 0, result.res
// res (any value, even one the API never sends). An empty reason gives the
// simulated vendor text of the code.
func Answer(code, res int, reason string) Reply {
	return Reply{kind: kindAnswer, code: code, res: res, reason: reason}
}

// Match is error_code 0 with res 1.
func Match() Reply { return Answer(0, 1, "") }

// Mismatch is error_code 0 with res 2.
func Mismatch() Reply { return Answer(0, 2, "") }

// Code is a JSON answer with error_code code and result null.
func Code(code int) Reply { return Answer(code, 0, "") }

// HTTPError is an HTML error page (like a gateway's) with HTTP status status.
func HTTPError(status int) Reply { return Reply{kind: kindStatus, status: status} }

// TooMany is HTTP 429 with the Retry-After header set to retryAfter (seconds
// or an HTTP date), or with none when retryAfter is empty.
func TooMany(retryAfter string) Reply {
	return Reply{kind: kindStatus, status: 429, retryAfter: retryAfter}
}

// Truncated is the default rule's JSON answer cut in the middle, with a
// Content-Length that matches the cut body, as a broken proxy would send it.
// It does not count as billed.
func Truncated() Reply { return Reply{kind: kindTruncated} }

// Raw answers with exactly this status, content type and body, for answer
// shapes the other Replies do not make (error_code as a string, result as
// "", a BOM, ...). It does not count as billed.
func Raw(status int, contentType, body string) Reply {
	return Reply{kind: kindRaw, status: status, contentType: contentType, body: body}
}

// Hangup closes the connection without writing an answer.
func Hangup() Reply { return Reply{kind: kindHangup} }

// Delay waits d, then answers by the default rule.
func Delay(d time.Duration) Reply { return Reply{kind: kindRule, delay: d} }

// After returns r preceded by a wait of d (on top of Options.Latency).
func (r Reply) After(d time.Duration) Reply {
	r.delay = d
	return r
}

// charged reports whether the real API would bill a request for card that
// gets r: its answer is error_code 0, delivered or not.
func (r Reply) charged(card string) bool {
	switch r.kind {
	case kindRule, kindTruncated, kindHangup:
		code, _ := Rule(card)
		return code == 0
	case kindAnswer:
		return r.code == 0
	}
	return false
}
