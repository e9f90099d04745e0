package pipeline

import (
	"context"
	"fmt"
	"time"
)

// Status is the state of a row. The zero value is Pending.
type Status uint8

const (
	Pending  Status = iota // not yet done
	Match                  // error_code 0, res 1: billed
	Mismatch               // error_code 0, res 2: billed
	Invalid                // local validation failed: no call, no money
	Rejected               // the API refused the row itself (218804/5/6/8): one call, no retry
	Deferred               // 218866, or the card's daily call limit: retried on a later day
	Failed                 // transient errors outlived the attempts
)

var statusNames = [...]struct{ en, zh string }{
	Pending:  {"pending", "未完成"},
	Match:    {"match", "一致"},
	Mismatch: {"mismatch", "不一致"},
	Invalid:  {"invalid", "输入无效"},
	Rejected: {"rejected", "被拒绝"},
	Deferred: {"deferred", "次日重试"},
	Failed:   {"failed", "失败"},
}

// NumStatuses is the number of statuses: a Status is below it.
const NumStatuses = len(statusNames)

// Counts holds a count per status, indexed by Status: the one shape of
// per-status counts.
type Counts [NumStatuses]int

// Statuses lists every status in the order reports show them.
var Statuses = []Status{Match, Mismatch, Invalid, Rejected, Deferred, Failed, Pending}

// String returns the English name of s ("match", "pending", ...), as used in
// --lang en output, the checkpoint and JSON.
func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s].en
	}
	return fmt.Sprintf("Status(%d)", s)
}

// Label returns the name of s in lang: "zh" gives the Chinese label, anything
// else the English name.
func (s Status) Label(lang string) string {
	if lang == "zh" && int(s) < len(statusNames) {
		return statusNames[s].zh
	}
	return s.String()
}

// ParseStatus is the inverse of String and Label: it accepts the English name
// or the Chinese label.
func ParseStatus(text string) (Status, error) {
	for s, n := range statusNames {
		if text == n.en || text == n.zh {
			return Status(s), nil
		}
	}
	return Pending, fmt.Errorf("unknown status %q", text)
}

// Final reports whether a row in status s needs no more calls in a normal
// run. Failed and Deferred are final for a run but may be retried by a later
// one (--retry-failed, --retry-deferred, or a deferral from an earlier day).
func (s Status) Final() bool { return s != Pending }

// Billed reports whether s is one of the two answers the vendor charges for.
func (s Status) Billed() bool { return s == Match || s == Mismatch }

// Outcome is the verdict on a (name, card) pair, which the checkpoint
// records under the pair's first row; a Result gives it to each row of the
// pair, with the row's own number beside it (Result.Row).
type Outcome struct {
	// FirstRow is the pair's first row, the one that was sent: its
	// identity in the job (Known.FirstRow, Call.FirstRow). It is 0 in an
	// outcome that belongs to no pair (an invalid row), and may be 0 in a
	// Result whose pair has no recorded outcome yet.
	FirstRow int
	// DupOf is set on a row whose (name, card) pair appeared first in an
	// earlier row: the number of that row, whose verdict this row shares.
	DupOf int
	// Status is where the row stands; the zero Outcome is Pending.
	Status Status
	// Res is the API's res (1 match, 2 mismatch), 0 when there is none.
	Res int
	// JobID is the API's jobid (单号), empty when there is none.
	JobID string
	// Code is the API's error_code. It is meaningful only when Answered.
	Code int
	// Answered reports whether the API gave a JSON answer with an error_code
	// (so that Code, even 0, is the vendor's).
	Answered bool
	// Reason is the API's reason, or the local one (invalid input, duplicate
	// of row N, HTTP 502, ...).
	Reason string
	// Attempts is the number of calls made for the pair.
	Attempts int
	// Simulated reports an outcome given by a simulated API: a real run
	// treats the row as not done and verifies it for real.
	Simulated bool
	// At is when the outcome was reached.
	At time.Time
}

// Class is how the pipeline treats an API answer.
type Class uint8

const (
	// Billed is error_code 0 with res 1 or 2: a verdict, charged.
	Billed Class = iota
	// Reject is a refusal of the row itself (218804, 218805, 218806,
	// 218808): final after one call, never retried.
	Reject
	// Defer is 218866: the card is locked until tomorrow.
	Defer
	// Transient failures are retried with backoff: 218801, 10014, 10020,
	// HTTP 5xx, timeouts, non-JSON or truncated bodies, unknown codes.
	Transient
	// Throttle asks the pipeline to slow down and retry: 10011, HTTP 429.
	Throttle
	// Fatal stops the whole run at once: bad key, no permission, quota
	// (10001–10005, 10007–10009, 10012, 10013, 10021).
	Fatal
	// Unreachable is a call that never reached the API: connection
	// refused, unknown host, TLS or proxy error. It never counts toward
	// the card's daily limit and never decides the row; a streak of them
	// stops the run with a *ConfigError.
	Unreachable
	// Unusable is an answer that shows the API cannot be used as
	// configured (a redirect): the run stops at once with a *ConfigError.
	Unusable
)

var classNames = [...]string{"billed", "reject", "defer", "transient", "throttle", "fatal", "unreachable", "unusable"}

// String is the class's name in lower case, as logs and tests show it.
func (c Class) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return fmt.Sprintf("Class(%d)", c)
}

// Answer is what one call to the API returned, already classified.
type Answer struct {
	// Class says how the pipeline treats the answer; the zero Class is
	// Billed, so a failed call must always set it.
	Class Class
	// HTTPStatus is the response's status code, 0 when there was no response.
	HTTPStatus int
	// Code is the answer's error_code; meaningful only when Answered.
	Code int
	// Answered reports whether the API gave a JSON answer with an
	// error_code, so that Code, even 0, is the vendor's.
	Answered bool
	// Reason is the vendor's reason, or a description of the failure
	// ("HTTP 502", "timeout after 10s", "body is not JSON"). It never holds a
	// secret.
	Reason string
	// Res is the answer's res (1 match, 2 mismatch), 0 when it gave none.
	Res int
	// JobID is the answer's jobid (单号), empty when it gave none.
	JobID string
	// Hint says what the user should do about a Fatal answer ("check
	// JUHE_KEY"), from the client's error-code table.
	Hint string
	// RetryAfter is the server's Retry-After, 0 when it gave none.
	RetryAfter time.Duration
	// PossiblyBilled reports a call that may have reached the vendor but
	// whose answer was not received intact (a timeout or a reset after the
	// request was sent, a cut body): the vendor may have charged for it.
	PossiblyBilled bool
	// Foreign reports a verdict whose echoed card does not fit the card
	// sent: billed, but no verdict on this row.
	Foreign bool
	// Simulated reports an answer of a simulated API (cardverify's sandbox
	// marks each of its answers): never a real verdict.
	Simulated bool
	// Suspect marks a per-row code that, when every call at the start of a
	// run gets it, can only mean a configuration error (218808 on the
	// encrypted endpoint: a wrong openid). Hint then says what to check.
	Suspect bool
}

// Verifier checks one (name, card) pair. Implemented by juhe.Client.
//
// Verify always describes the call in the Answer. It returns a non-nil error
// when no vendor answer was obtained (transport failure, timeout, non-JSON
// body); the Answer's Class then says how to treat it (Transient, or Throttle
// for HTTP 429). When ctx is cancelled the error wraps ctx.Err(). Errors never
// contain the key, the openid, the name or the card number. Verify is safe
// for concurrent use.
type Verifier interface {
	// Verify sends one call for the normalised pair (name, card); see the
	// type's doc for its Answer and error.
	Verify(ctx context.Context, name, card string) (Answer, error)
}
