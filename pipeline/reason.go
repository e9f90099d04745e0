package pipeline

import (
	"fmt"
	"strings"
)

// Code names a message a person reads: a reason beside a row (an input
// problem, a warning, a failure), a run's stop, an error's text or hint.
// Code and its parameters travel as an encoded string (see Reason) through
// Record.Problems, Outcome.Reason, InputError and the checkpoint, so that
// whatever writes the message renders it later in the language it was asked
// for. The texts, zh and en, are in package pipeline/msg, one entry per code;
// a code without an entry there is a bug that msg's tests catch.
type Code string

// The codes pipeline and its implementations emit. Parameters, in order, are
// given after each code; the catalogue's texts use them as %[1]s, %[2]s...
const (
	// Problems of a row (it is invalid: never sent).
	CardEmpty    Code = "card-empty"
	CardChars    Code = "card-chars"
	CardENote    Code = "card-enote"
	CardNumber   Code = "card-number"
	CardFraction Code = "card-fraction"
	CardDigits   Code = "card-digits" // digits found, min, max
	NameEmpty    Code = "name-empty"
	NameDigits   Code = "name-digits"
	NameControl  Code = "name-control"
	NameEncoding Code = "name-encoding"
	NameLong     Code = "name-long" // runes, max
	NameBidi     Code = "name-bidi"
	NameNoLetter Code = "name-no-letter"
	NameFormula  Code = "name-formula" // its first character
	NameFormat   Code = "name-format"  // the character as U+XXXX
	Unsaved      Code = "unsaved"
	LineBreak    Code = "line-break"
	// Warnings of a row (it is still sent).
	WarnLuhn  Code = "warn-luhn"
	WarnZeros Code = "warn-zeros"
	// WarnLuhnInvalid is the Luhn warning of a row that is invalid anyway.
	WarnLuhnInvalid Code = "warn-luhn-invalid"

	// Reasons of outcomes.
	DupOf      Code = "dup-of"      // row
	NotYet     Code = "not-yet"     // a pending row of a run
	DryPending Code = "dry-pending" // a pending row of a dry run: no call made
	Vendor     Code = "vendor"      // error_code, the vendor's reason verbatim
	GaveUp     Code = "gave-up"     // attempts; followed by the last call's reason
	CardLimit  Code = "card-limit"  // the card had its daily calls
	// BilledNoVerdict: error_code 0 (billed) without res 1 or 2.
	BilledNoVerdict Code = "billed-no-verdict"
	Overflow        Code = "overflow" // cells past the header
	// BilledForeign: a billed answer about another card than the row's.
	BilledForeign Code = "billed-foreign"
	// NoJobID flags a verdict that came without a jobid.
	NoJobID Code = "no-jobid"
	// Reused marks a verdict taken from the history (--reuse-within):
	// when it was verified (China time), its jobid.
	Reused Code = "reused"
	// Reasons of calls without a vendor answer (package juhe).
	CallCancelled Code = "call-cancelled"
	CallTimeout   Code = "call-timeout"  // timeout
	CallHTTP      Code = "call-http"     // status
	CallRedirect  Code = "call-redirect" // status, where to (scheme://host)
	CallNotJSON   Code = "call-not-json"
	CallNoCode    Code = "call-no-code"    // the vendor's reason, if any
	CallNoVerdict Code = "call-no-verdict" // the vendor's reason, if any
	CallTooLong   Code = "call-too-long"   // limit in bytes
	CallClosed    Code = "call-closed"
	CallNet       Code = "call-net" // the system's error text, verbatim
	// Calls that never reached the API, and what to do (ConfigError).
	CallUnreachable  Code = "call-unreachable"   // base URL, the system's error text, verbatim
	ForeignCard      Code = "foreign-card"       // the answer's echoed card does not fit
	HintUnreachable  Code = "hint-unreachable"   // base URL
	HintUnknownHost  Code = "hint-unknown-host"  // base URL
	HintUntrustedTLS Code = "hint-untrusted-tls" // base URL
	HintNotTLS       Code = "hint-not-tls"       // base URL
	HintProxy        Code = "hint-proxy"
	HintRedirect     Code = "hint-redirect" // base URL
	HintOpenID       Code = "hint-openid"
	ConfigStreak     Code = "config-streak" // calls in a row; followed by the last call's reason
	ConfigFirst      Code = "config-first"  // calls, error_code

	// Why a run stopped early (Stats.StopReason).
	StopInterrupted Code = "stop-interrupted"
	// Why a run sends nothing for a while (Stats.WaitWhy); parameter: until
	// when, China time.
	WaitRetry    Code = "wait-retry"    // every call waits to retry after a failure
	WaitThrottle Code = "wait-throttle" // the rate, cut after the API throttled
	WaitQPS      Code = "wait-qps"      // --qps allows the next call only then
	StopTime     Code = "stop-time"
	StopBudget   Code = "stop-budget" // billed so far, the budget
	StopAPI      Code = "stop-api"    // error_code
	StopConfig   Code = "stop-config"

	// What audit finds (Discrepancy.Problem).
	AuditAdded       Code = "audit-added"
	AuditMissing     Code = "audit-missing"    // row
	AuditBadStatus   Code = "audit-bad-status" // the cell's text
	AuditCardChanged Code = "audit-card-changed"
	AuditNameChanged Code = "audit-name-changed"
	AuditStatus      Code = "audit-status" // the output's status, the checkpoint's (English names)
	AuditRes         Code = "audit-res"    // the output's res, the checkpoint's
	AuditJobID       Code = "audit-jobid"  // the output's jobid, the checkpoint's

	// Errors (InputError Msg and Hint).
	RowChanged        Code = "row-changed"
	RowChangedHint    Code = "row-changed-hint"
	ColBeyond         Code = "col-beyond" // flag, its value, header columns, the headers
	ColBeyondHint     Code = "col-beyond-hint"
	ErrEndpoint       Code = "err-endpoint" // name
	HintEndpoint      Code = "hint-endpoint"
	ErrTimeout        Code = "err-timeout" // duration
	HintTimeout       Code = "hint-timeout"
	ErrKeyDamaged     Code = "err-key-damaged"
	HintUseNewDB      Code = "hint-use-new-db"
	ErrKeyMove        Code = "err-key-move" // old key ID, key file, its key ID
	HintKeyMove       Code = "hint-key-move"
	ErrNoKeyID        Code = "err-no-key-i-d"
	HintNoKeyID       Code = "hint-no-key-i-d"
	ColSeveralName    Code = "col-several-name"
	ColSeveralCard    Code = "col-several-card"
	ColNoName         Code = "col-no-name" // spec
	ColNoCard         Code = "col-no-card" // spec
	ColNoNameCol      Code = "col-no-name-col"
	ColNoCardCol      Code = "col-no-card-col"
	ColSame           Code = "col-same"
	ColHeaders        Code = "col-headers"    // the headers
	HintColFlags      Code = "hint-col-flags" // flags
	ErrBOM8           Code = "err-b-o-m8"
	HintBOM8          Code = "hint-b-o-m8"
	ErrBOM16          Code = "err-b-o-m16"
	HintBOM16         Code = "hint-b-o-m16"
	ErrZipNotText     Code = "err-zip-not-text"
	ErrXLSNotText     Code = "err-xls-not-text"
	ErrBinary         Code = "err-binary"
	HintNotText       Code = "hint-not-text"
	ErrLongRecord     Code = "err-long-record" // MiB
	HintQuotes        Code = "hint-quotes"
	ErrRecord         Code = "err-record"
	HintRecord        Code = "hint-record"
	ErrWideRecord     Code = "err-wide-record" // fields, max
	HintWideRecord    Code = "hint-wide-record"
	ErrLongColumn     Code = "err-long-column" // column, max
	ErrNotXLSX        Code = "err-not-xlsx"
	HintSaveXLSX      Code = "hint-save-xlsx"
	ErrOldXLS         Code = "err-old-xls"
	HintOldXLS        Code = "hint-old-xls"
	ErrDamaged        Code = "err-damaged" // what (technical, verbatim)
	HintResave        Code = "hint-resave"
	ErrNoVisibleSheet Code = "err-no-visible-sheet" // the sheets
	ErrNoSheet        Code = "err-no-sheet"         // wanted, the sheets
	HintSheet         Code = "hint-sheet"
	ErrZipBomb        Code = "err-zip-bomb" // part, MiB, KiB
	HintZipBomb       Code = "hint-zip-bomb"
	ErrLongCell       Code = "err-long-cell"    // max
	ErrLongCellAt     Code = "err-long-cell-at" // cell, max
	HintLongCell      Code = "hint-long-cell"
	ErrMergedCols     Code = "err-merged-cols"
	HintUnmerge       Code = "hint-unmerge"
	ErrMerges         Code = "err-merges"    // max
	ErrWideXLSX       Code = "err-wide-xlsx" // column, max
	HintWideXLSX      Code = "hint-wide-xlsx"
	ErrFormat         Code = "err-format" // extension
	ErrFormatXLS      Code = "err-format-xls"
	ErrFormatODS      Code = "err-format-ods"
	ErrFormatNumbers  Code = "err-format-numbers"
	ErrFormatNoExt    Code = "err-format-no-ext"
	HintSaveAs        Code = "hint-save-as"
	ErrNotKey         Code = "err-not-key"
	HintNotKey        Code = "hint-not-key"
	ErrNotDBUntouched Code = "err-not-db-untouched"
	HintNotDB         Code = "hint-not-db"
	ErrDBHalfMade     Code = "err-db-half-made"
	HintRunAgain      Code = "hint-run-again"
	ErrDBReadOnlyWAL  Code = "err-db-read-only-wal"
	HintDBCopy        Code = "hint-db-copy"
	ErrDBOld          Code = "err-db-old" // version, latest
	HintDBUpgrade     Code = "hint-db-upgrade"
	ErrDBNew          Code = "err-db-new" // version, latest
	HintDBNewer       Code = "hint-db-newer"
	ErrNoKeyFile      Code = "err-no-key-file" // path, key ID
	HintKeyFile       Code = "hint-key-file"
	ErrOtherKey       Code = "err-other-key" // path, its key ID, the checkpoint's
	HintOtherKey      Code = "hint-other-key"
	ErrOpen           Code = "err-open"
	ErrEmpty          Code = "err-empty"
	HintRightFile     Code = "hint-right-file"
	ErrNoRows         Code = "err-no-rows"
	HintRightSheet    Code = "hint-right-sheet"
	ErrHeaderPast     Code = "err-header-past" // row
	HintHeaderRow     Code = "hint-header-row"
	ErrNoHeader       Code = "err-no-header" // rows
	HintColumns       Code = "hint-columns"
	ErrHeaderFar      Code = "err-header-far" // row, max
	HintHeaderFar     Code = "hint-header-far"
	ErrDecode         Code = "err-decode" // encoding
	HintEncoding      Code = "hint-encoding"
	ErrEncodingName   Code = "err-encoding-name" // label
	HintEncodings     Code = "hint-encodings"
	ErrOpenDB         Code = "err-open-db"
	HintDB            Code = "hint-db"
	ErrNotDB          Code = "err-not-db"
	ErrOtherInput     Code = "err-other-input" // sha, checkpoint, sha
	HintOtherInput    Code = "hint-other-input"
	ErrCreateDB       Code = "err-create-db"
	HintDBDir         Code = "hint-db-dir"
	ErrDBInUse        Code = "err-db-in-use" // path, pid
	HintDBInUse       Code = "hint-db-in-use"
	ErrInputChanged   Code = "err-input-changed"
	HintNewDB         Code = "hint-new-db"
	ErrOutExt         Code = "err-out-ext" // ext
	HintOutExt        Code = "hint-out-ext"
	ErrOutDir         Code = "err-out-dir"
	HintOutName       Code = "hint-out-name"
	ErrOutIsIn        Code = "err-out-is-in"
	HintOutIsIn       Code = "hint-out-is-in"
	ErrMaskNoCol      Code = "err-mask-no-col"
	HintCardCol       Code = "hint-card-col"
	ErrNoKey          Code = "err-no-key"
	HintNoKey         Code = "hint-no-key"
	ErrNoOpenID       Code = "err-no-openid"
	HintNoOpenID      Code = "hint-no-openid"
	ErrBaseURL        Code = "err-base-url"
	HintBaseURL       Code = "hint-base-url"     // example
	ErrTooManyRows    Code = "err-too-many-rows" // rows, max
	HintCSV           Code = "hint-csv"          // path
	ErrNoData         Code = "err-no-data"       // row
	HintNoData        Code = "hint-no-data"
	ErrNotSameInput   Code = "err-not-same-input"
	HintSameInput     Code = "hint-same-input" // path
)

// Encoding of a reason: reasonMark, the code, then reasonMark and each
// parameter. A text that does not start with reasonMark is plain text (a
// checkpoint written before codes, a vendor's reason) and is shown as it is.
// Several reasons of one cell are joined with partSep.
const (
	reasonMark = "\x1f"
	partSep    = "\x1e"
)

// Reason encodes c and its parameters. Each parameter is formatted with %v;
// the separators are removed from it, so a parameter cannot forge a code.
func Reason(c Code, args ...any) string {
	var b strings.Builder
	b.WriteString(reasonMark)
	b.WriteString(string(c))
	for _, a := range args {
		b.WriteString(reasonMark)
		s := fmt.Sprint(a)
		if strings.ContainsAny(s, reasonMark+partSep) {
			s = strings.NewReplacer(reasonMark, " ", partSep, " ").Replace(s)
		}
		b.WriteString(s)
	}
	return b.String()
}

// JoinReasons joins reasons (encoded or plain) into the text of one cell,
// skipping empty ones. SplitReasons undoes it.
func JoinReasons(parts ...string) string {
	s := ""
	for _, p := range parts {
		switch {
		case p == "":
		case s == "":
			s = p
		default:
			s += partSep + p
		}
	}
	return s
}

// SplitReasons returns the reasons JoinReasons joined. Plain text, from a
// checkpoint written before codes, is one reason.
func SplitReasons(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, partSep)
}

// ParseReason decodes one reason of SplitReasons. ok is false for plain
// text, which has no code.
func ParseReason(s string) (c Code, args []string, ok bool) {
	if !strings.HasPrefix(s, reasonMark) {
		return "", nil, false
	}
	f := strings.Split(s[len(reasonMark):], reasonMark)
	return Code(f[0]), f[1:], true
}

// IsCode reports whether the reason text s is, or starts with, code c.
func IsCode(s string, c Code) bool {
	first, _, _ := strings.Cut(s, partSep)
	code, _, ok := ParseReason(first)
	return ok && code == c
}

// English renders reasons in English for the texts of errors (Error
// methods, logs). Package msg sets it when it is linked in, which every
// program that prints messages does; without it an error shows its codes
// and parameters.
var English func(s string) string

// plain is s in English when package msg is linked in, else each code with
// its parameters.
func plain(s string) string {
	if English != nil {
		return English(s)
	}
	parts := SplitReasons(s)
	for i, p := range parts {
		if c, args, ok := ParseReason(p); ok {
			parts[i] = strings.Join(append([]string{string(c)}, args...), " ")
		}
	}
	return strings.Join(parts, "; ")
}
