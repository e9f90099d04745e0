package pipeline

import (
	"errors"
	"fmt"
)

// Errors callers branch on. cmd/cardverify maps them to exit codes.
var (
	// ErrCardLimit is returned by Checkpoint.Begin when a card already had
	// the day's limit of calls: one more could get it locked by the bank.
	ErrCardLimit = errors.New("card reached its daily call limit")
	// ErrIncomplete ends a run that left rows to do: interrupted, stopped by
	// --max-duration or --stop-at, or rows left failed or deferred. Running
	// the same command again resumes.
	ErrIncomplete = errors.New("run incomplete")
	// ErrBudget ends a run that reached --max-billed. It wraps
	// ErrIncomplete.
	ErrBudget = fmt.Errorf("budget of billed calls reached: %w", ErrIncomplete)
)

// InputError is a problem with the user's input or flags, found before any
// call is made for it: a file that cannot be read, a missing column, an edited
// input. cmd maps it to exit code 2.
type InputError struct {
	Path string // the file, if any
	Row  int    // the 1-based row, 0 if the problem is not about a row
	Msg  string // what is wrong
	Hint string // what to do about it, if anything useful can be said
	Err  error  // the underlying error, if any
}

// Error describes e in plain words for logs and wrapping; a coded Msg or
// Hint shows as its code and parameters. What a person reads is rendered in
// their language by package pipeline/msg.
func (e *InputError) Error() string {
	s := plain(e.Msg)
	if e.Row > 0 {
		s = fmt.Sprintf("row %d: %s", e.Row, s)
	}
	if e.Path != "" {
		s = e.Path + ": " + s
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	if e.Hint != "" {
		s += " (" + plain(e.Hint) + ")"
	}
	return s
}

// Unwrap returns the underlying error, nil when there is none.
func (e *InputError) Unwrap() error { return e.Err }

// APIError is a run-level refusal by the API (a fatal code such as 10001
// "wrong key"): the run stops at once and cmd exits with code 3.
type APIError struct {
	Code   int    // the vendor's error_code; 0 when the API could not be used at all
	Reason string // the vendor's reason
	Hint   string // what the user should do
}

// Error is the message in English, with the hint in brackets.
func (e *APIError) Error() string {
	s := fmt.Sprintf("API error %d: %s", e.Code, plain(e.Reason))
	if e.Code == 0 {
		// No vendor code: the API could not be used at all (an untrusted
		// TLS certificate), and "API error 0" would read as success.
		s = "the API cannot be used: " + plain(e.Reason)
	}
	if e.Hint != "" {
		s += " (" + plain(e.Hint) + ")"
	}
	return s
}

// ConfigError stops a run whose API cannot be used as configured: nothing
// answers at the base URL (refused, unknown host, TLS, proxy), it redirects,
// or the first answers show a wrong setting (a wrong openid). The rows it
// concerns stay pending. cmd maps it to exit code 3.
type ConfigError struct {
	Reason string // what happened, with the underlying error
	Hint   string // the fix
}

// Error is the message with the hint in brackets.
func (e *ConfigError) Error() string {
	s := "the API cannot be used as configured: " + e.Reason
	if e.Hint != "" {
		s += " (" + e.Hint + ")"
	}
	return s
}
