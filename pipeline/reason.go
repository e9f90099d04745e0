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
	CardChars    Code = "card-chars"     // the card has characters other than digits and separators
	CardENote    Code = "card-enote"     // the card is in E notation: its last digits are lost
	CardNumber   Code = "card-number"    // the card is stored as a number in the workbook: digits lost
	CardFraction Code = "card-fraction"  // the card is stored as a number with a fraction
	CardDigits   Code = "card-digits"    // digits found, min, max
	NameEmpty    Code = "name-empty"     // the name cell is empty
	NameDigits   Code = "name-digits"    // the name has digits: columns swapped?
	NameControl  Code = "name-control"   // the name has control characters
	NameEncoding Code = "name-encoding"  // the name has bytes that are not text in the file's encoding
	NameLong     Code = "name-long"      // runes, max
	NameBidi     Code = "name-bidi"      // the name has invisible text-direction characters
	NameNoLetter Code = "name-no-letter" // the name has no letter: only symbols, emoji or invisible characters
	NameFormula  Code = "name-formula"   // its first character
	NameFormat   Code = "name-format"    // the character as U+XXXX
	Unsaved      Code = "unsaved"        // a formula cell whose result was never saved
	LineBreak    Code = "line-break"     // the name or card cell holds a line break (an unclosed quote)
	// Warnings of a row (it is still sent).
	WarnLuhn  Code = "warn-luhn"
	WarnZeros Code = "warn-zeros" // the card ends in zeros past the 15th digit, as a rounded number does
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
	CallTimeout   Code = "call-timeout"    // timeout
	CallHTTP      Code = "call-http"       // status
	CallRedirect  Code = "call-redirect"   // status, where to (scheme://host)
	CallNotJSON   Code = "call-not-json"   // the body is not JSON
	CallNoCode    Code = "call-no-code"    // the vendor's reason, if any
	CallNoVerdict Code = "call-no-verdict" // the vendor's reason, if any
	CallTooLong   Code = "call-too-long"   // limit in bytes
	CallClosed    Code = "call-closed"     // the connection closed before a complete answer
	CallNet       Code = "call-net"        // the system's error text, verbatim
	// Calls that never reached the API, and what to do (ConfigError).
	CallUnreachable  Code = "call-unreachable"   // base URL, the system's error text, verbatim
	ForeignCard      Code = "foreign-card"       // the answer's echoed card does not fit
	HintUnreachable  Code = "hint-unreachable"   // base URL
	HintUnknownHost  Code = "hint-unknown-host"  // base URL
	HintUntrustedTLS Code = "hint-untrusted-tls" // base URL
	HintNotTLS       Code = "hint-not-tls"       // base URL
	HintProxy        Code = "hint-proxy"         // the proxy (HTTPS_PROXY, HTTP_PROXY) cannot be reached
	HintRedirect     Code = "hint-redirect"      // base URL
	HintOpenID       Code = "hint-openid"        // every first answer is 218808: check JUHE_OPENID
	ConfigStreak     Code = "config-streak"      // calls in a row; followed by the last call's reason
	ConfigFirst      Code = "config-first"       // calls, error_code

	// Why a run stopped early (Stats.StopReason).
	StopInterrupted Code = "stop-interrupted"
	// Why a run sends nothing for a while (Stats.WaitWhy); parameter: until
	// when, China time.
	WaitRetry    Code = "wait-retry"    // every call waits to retry after a failure
	WaitThrottle Code = "wait-throttle" // the rate, cut after the API throttled
	WaitQPS      Code = "wait-qps"      // --qps allows the next call only then
	StopTime     Code = "stop-time"     // --stop-at or --max-duration reached
	StopBudget   Code = "stop-budget"   // billed so far, the budget
	StopAPI      Code = "stop-api"      // error_code
	StopConfig   Code = "stop-config"   // the API cannot be used as configured (a *ConfigError)

	// What audit finds (Discrepancy.Problem).
	AuditAdded       Code = "audit-added"
	AuditMissing     Code = "audit-missing"      // row
	AuditBadStatus   Code = "audit-bad-status"   // the cell's text
	AuditCardChanged Code = "audit-card-changed" // the row's card differs from the one recorded
	AuditNameChanged Code = "audit-name-changed" // the row's name differs from the one recorded
	AuditStatus      Code = "audit-status"       // the output's status, the checkpoint's (English names)
	AuditRes         Code = "audit-res"          // the output's res, the checkpoint's
	AuditJobID       Code = "audit-jobid"        // the output's jobid, the checkpoint's

	// Errors (InputError Msg and Hint).
	RowChanged        Code = "row-changed"
	RowChangedHint    Code = "row-changed-hint"     // hint of RowChanged
	ColBeyond         Code = "col-beyond"           // flag, its value, header columns, the headers
	ColBeyondHint     Code = "col-beyond-hint"      // hint of ColBeyond
	ErrEndpoint       Code = "err-endpoint"         // name
	HintEndpoint      Code = "hint-endpoint"        // hint of ErrEndpoint
	ErrTimeout        Code = "err-timeout"          // duration
	HintTimeout       Code = "hint-timeout"         // hint of ErrTimeout
	ErrKeyDamaged     Code = "err-key-damaged"      // the checkpoint's fingerprint key is damaged
	HintUseNewDB      Code = "hint-use-new-db"      // hint of ErrKeyDamaged: a new --db
	ErrKeyMove        Code = "err-key-move"         // old key ID, key file, its key ID
	HintKeyMove       Code = "hint-key-move"        // hint of ErrKeyMove
	ErrNoKeyID        Code = "err-no-key-i-d"       // the checkpoint has no fingerprint key ID
	HintNoKeyID       Code = "hint-no-key-i-d"      // hint of ErrNoKeyID
	ColSeveralName    Code = "col-several-name"     // several columns look like the name column
	ColSeveralCard    Code = "col-several-card"     // several columns look like the card column
	ColNoName         Code = "col-no-name"          // spec
	ColNoCard         Code = "col-no-card"          // spec
	ColNoNameCol      Code = "col-no-name-col"      // no column looks like the name column
	ColNoCardCol      Code = "col-no-card-col"      // no column looks like the card column
	ColSame           Code = "col-same"             // the name and card columns are one column
	ColHeaders        Code = "col-headers"          // the headers
	HintColFlags      Code = "hint-col-flags"       // flags
	ErrBOM8           Code = "err-b-o-m8"           // a UTF-8 byte order mark followed by text that is not UTF-8
	HintBOM8          Code = "hint-b-o-m8"          // hint of ErrBOM8
	ErrBOM16          Code = "err-b-o-m16"          // a UTF-16 byte order mark followed by text that is not UTF-16
	HintBOM16         Code = "hint-b-o-m16"         // hint of ErrBOM16
	ErrZipNotText     Code = "err-zip-not-text"     // a text input that is a zip archive (an .xlsx?)
	ErrXLSNotText     Code = "err-xls-not-text"     // a text input that is an old .xls workbook
	ErrBinary         Code = "err-binary"           // a text input that is binary
	HintNotText       Code = "hint-not-text"        // hint of ErrZipNotText, ErrXLSNotText, ErrBinary
	ErrLongRecord     Code = "err-long-record"      // MiB
	HintQuotes        Code = "hint-quotes"          // hint of ErrLongRecord
	ErrRecord         Code = "err-record"           // a record of a text input cannot be parsed
	HintRecord        Code = "hint-record"          // hint of ErrRecord
	ErrWideRecord     Code = "err-wide-record"      // fields, max
	HintWideRecord    Code = "hint-wide-record"     // hint of ErrWideRecord
	ErrLongColumn     Code = "err-long-column"      // column, max
	ErrNotXLSX        Code = "err-not-xlsx"         // an .xlsx input that is not an XLSX workbook
	HintSaveXLSX      Code = "hint-save-xlsx"       // hint of ErrNotXLSX
	ErrOldXLS         Code = "err-old-xls"          // an .xlsx input that is an old or password-protected workbook
	HintOldXLS        Code = "hint-old-xls"         // hint of ErrOldXLS
	ErrDamaged        Code = "err-damaged"          // what (technical, verbatim)
	HintResave        Code = "hint-resave"          // hint of ErrDamaged
	ErrNoVisibleSheet Code = "err-no-visible-sheet" // the sheets
	ErrNoSheet        Code = "err-no-sheet"         // wanted, the sheets
	HintSheet         Code = "hint-sheet"           // hint of ErrNoSheet and ErrNoVisibleSheet
	ErrZipBomb        Code = "err-zip-bomb"         // part, MiB, KiB
	HintZipBomb       Code = "hint-zip-bomb"        // hint of ErrZipBomb
	ErrLongCell       Code = "err-long-cell"        // max
	ErrLongCellAt     Code = "err-long-cell-at"     // cell, max
	HintLongCell      Code = "hint-long-cell"       // hint of ErrLongCell and ErrLongCellAt
	ErrMergedCols     Code = "err-merged-cols"      // merged ranges cover too many columns
	HintUnmerge       Code = "hint-unmerge"         // hint of ErrMergedCols and ErrMerges
	ErrMerges         Code = "err-merges"           // max
	ErrWideXLSX       Code = "err-wide-xlsx"        // column, max
	HintWideXLSX      Code = "hint-wide-xlsx"       // hint of ErrWideXLSX
	ErrFormat         Code = "err-format"           // extension
	ErrFormatXLS      Code = "err-format-xls"       // an input named .xls
	ErrFormatODS      Code = "err-format-ods"       // an input named .ods
	ErrFormatNumbers  Code = "err-format-numbers"   // an input named .numbers
	ErrFormatNoExt    Code = "err-format-no-ext"    // an input without an extension
	HintSaveAs        Code = "hint-save-as"         // hint of the ErrFormat* codes
	ErrNotKey         Code = "err-not-key"          // the key file is not 64 hex digits
	HintNotKey        Code = "hint-not-key"         // hint of ErrNotKey
	ErrNotDBUntouched Code = "err-not-db-untouched" // --db is not a checkpoint, and was left unchanged
	HintNotDB         Code = "hint-not-db"          // hint of ErrNotDBUntouched
	ErrDBHalfMade     Code = "err-db-half-made"     // the checkpoint's creation was interrupted: it is empty
	HintRunAgain      Code = "hint-run-again"       // hint of ErrDBHalfMade
	ErrDBReadOnlyWAL  Code = "err-db-read-only-wal" // a read-only checkpoint whose -wal holds changes
	HintDBCopy        Code = "hint-db-copy"         // hint of ErrDBReadOnlyWAL
	ErrDBOld          Code = "err-db-old"           // version, latest
	HintDBUpgrade     Code = "hint-db-upgrade"      // hint of ErrDBOld
	ErrDBNew          Code = "err-db-new"           // version, latest
	HintDBNewer       Code = "hint-db-newer"        // hint of ErrDBNew
	ErrNoKeyFile      Code = "err-no-key-file"      // path, key ID
	HintKeyFile       Code = "hint-key-file"        // hint of ErrNoKeyFile
	ErrOtherKey       Code = "err-other-key"        // path, its key ID, the checkpoint's
	HintOtherKey      Code = "hint-other-key"       // hint of ErrOtherKey
	ErrOpen           Code = "err-open"             // the input cannot be opened
	ErrEmpty          Code = "err-empty"            // the input is empty
	HintRightFile     Code = "hint-right-file"      // hint of ErrEmpty
	ErrNoRows         Code = "err-no-rows"          // the sheet has no rows
	HintRightSheet    Code = "hint-right-sheet"     // hint of ErrNoRows
	ErrHeaderPast     Code = "err-header-past"      // row
	HintHeaderRow     Code = "hint-header-row"      // hint of ErrHeaderPast
	ErrNoHeader       Code = "err-no-header"        // rows
	HintColumns       Code = "hint-columns"         // hint of ErrNoHeader
	ErrHeaderFar      Code = "err-header-far"       // row, max
	HintHeaderFar     Code = "hint-header-far"      // hint of ErrHeaderFar
	ErrDecode         Code = "err-decode"           // encoding
	HintEncoding      Code = "hint-encoding"        // hint of ErrDecode
	ErrEncodingName   Code = "err-encoding-name"    // label
	HintEncodings     Code = "hint-encodings"       // hint of ErrEncodingName
	ErrOpenDB         Code = "err-open-db"          // the checkpoint cannot be opened
	HintDB            Code = "hint-db"              // hint of ErrOpenDB and ErrNotDB
	ErrNotDB          Code = "err-not-db"           // --db is not a cardverify checkpoint
	ErrOtherInput     Code = "err-other-input"      // sha, checkpoint, sha
	HintOtherInput    Code = "hint-other-input"     // hint of ErrOtherInput
	ErrCreateDB       Code = "err-create-db"        // the checkpoint cannot be created
	HintDBDir         Code = "hint-db-dir"          // hint of ErrCreateDB
	ErrDBInUse        Code = "err-db-in-use"        // path, pid
	HintDBInUse       Code = "hint-db-in-use"       // hint of ErrDBInUse
	ErrInputChanged   Code = "err-input-changed"    // the input changed since the checkpoint was written
	HintNewDB         Code = "hint-new-db"          // hint of ErrInputChanged
	ErrOutExt         Code = "err-out-ext"          // ext
	HintOutExt        Code = "hint-out-ext"         // hint of ErrOutExt
	ErrOutDir         Code = "err-out-dir"          // --out is a directory
	HintOutName       Code = "hint-out-name"        // hint of ErrOutDir
	ErrOutIsIn        Code = "err-out-is-in"        // --out is the input
	HintOutIsIn       Code = "hint-out-is-in"       // hint of ErrOutIsIn
	ErrMaskNoCol      Code = "err-mask-no-col"      // --mask-card without a known card column
	HintCardCol       Code = "hint-card-col"        // hint of ErrMaskNoCol
	ErrNoKey          Code = "err-no-key"           // no API key (JUHE_KEY, --key)
	HintNoKey         Code = "hint-no-key"          // hint of ErrNoKey
	ErrNoOpenID       Code = "err-no-openid"        // the encrypted endpoint without an openid
	HintNoOpenID      Code = "hint-no-openid"       // hint of ErrNoOpenID
	ErrBaseURL        Code = "err-base-url"         // --base-url is not an http(s) URL without query or user
	HintBaseURL       Code = "hint-base-url"        // example
	ErrTooManyRows    Code = "err-too-many-rows"    // rows, max
	HintCSV           Code = "hint-csv"             // path
	ErrNoData         Code = "err-no-data"          // row
	HintNoData        Code = "hint-no-data"         // hint of ErrNoData
	ErrNotSameInput   Code = "err-not-same-input"   // the input is not the file the checkpoint verified
	HintSameInput     Code = "hint-same-input"      // path
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
