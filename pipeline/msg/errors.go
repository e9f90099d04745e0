package msg

import (
	"errors"
	"strings"

	"github.com/cardverify/cardverify/pipeline"
)

// Error is an error whose message is a reason of the catalogue (Text),
// wrapping Err, whose own text is not shown by Render: cmd/internal/job
// returns it for what a person reads at the end of a run ("interrupted: run
// the same command to resume"), with Err the sentinel callers branch on.
type Error struct {
	Reason string // the encoded reason (pipeline.Reason) that Error and Render show
	Err    error  // the cause callers test with errors.Is; its text is not shown
}

// Error is the message in English, for logs and tests.
func (e *Error) Error() string { return Text("en", e.Reason) }

// Unwrap returns the wrapped error, nil when there is none.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error of code c wrapping err.
func Errorf(err error, c pipeline.Code, args ...any) error {
	return &Error{Reason: pipeline.Reason(c, args...), Err: err}
}

// Usage is a mistake on the command line: exit code 2 (cmd/internal/job
// aliases it as UsageError).
type Usage struct {
	Reason string // the encoded reason (pipeline.Reason) of the mistake
}

// Error is the message in English.
func (e *Usage) Error() string { return Text("en", e.Reason) }

// Usagef returns a *Usage of code c.
func Usagef(c pipeline.Code, args ...any) error {
	return &Usage{Reason: pipeline.Reason(c, args...)}
}

// Render says err in lang, as cmd prints it: the message of the first
// *pipeline.InputError, *pipeline.APIError, *Usage or *Error in its chain,
// with its file, row and hint, and the underlying system error verbatim;
// any other error as its text.
func Render(lang Lang, err error) string {
	var (
		in  *pipeline.InputError
		api *pipeline.APIError
		cfg *pipeline.ConfigError
		use *Usage
		e   *Error
	)
	switch {
	case errors.As(err, &in):
		s := Text(lang, in.Msg)
		if in.Row > 0 {
			s = Say(lang, ErrRow, in.Row, s)
		}
		if in.Path != "" {
			s = Say(lang, ErrPath, in.Path, s)
		}
		if in.Err != nil {
			s = Say(lang, ErrCause, s, cause(lang, in.Err))
		}
		if in.Hint != "" {
			s = Say(lang, ErrHint, s, Text(lang, in.Hint))
		}
		return s
	case errors.As(err, &api):
		s := Say(lang, ErrAPI, api.Code, api.Reason)
		if api.Code == 0 {
			s = Say(lang, ErrAPIUnusable, Text(lang, api.Reason))
		} else if _, known := apiMeaning[api.Code]; known && lang == "en" {
			s = Say(lang, ErrAPI, api.Code, one(lang, pipeline.Reason(pipeline.Vendor, api.Code, api.Reason)))
		}
		hint := APIHint(lang, api.Code)
		if hint == "" {
			hint = Text(lang, api.Hint)
		}
		// cmd/internal/job's NameSecretSource rewrites the hint when the
		// secret came from a flag: name the flag in this language too.
		if strings.Contains(api.Hint, "given with --key") {
			hint = strings.ReplaceAll(hint, "JUHE_KEY", "--key")
		}
		if strings.Contains(api.Hint, "given with --openid") {
			hint = strings.ReplaceAll(hint, "JUHE_OPENID", "--openid")
		}
		if hint != "" {
			s = Say(lang, ErrHint, s, hint)
		}
		return s
	case errors.As(err, &cfg):
		s := Say(lang, ErrConfig, Text(lang, cfg.Reason))
		if cfg.Hint != "" {
			s = Say(lang, ErrHint, s, Text(lang, cfg.Hint))
		}
		return s
	case errors.As(err, &use):
		return Text(lang, use.Reason)
	case errors.As(err, &e):
		return Text(lang, e.Reason)
	}
	return err.Error()
}

// cause is the text of an underlying error: rendered if it is one of ours,
// verbatim (the system's words) otherwise.
func cause(lang Lang, err error) string {
	var in *pipeline.InputError
	var e *Error
	if errors.As(err, &in) || errors.As(err, &e) {
		return Render(lang, err)
	}
	return err.Error()
}
