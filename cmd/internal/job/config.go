package job

import (
	"flag"
	"math"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/cardverify/cardverify/pipeline"
	"github.com/cardverify/cardverify/pipeline/juhe"
	"github.com/cardverify/cardverify/pipeline/msg"
	"github.com/cardverify/cardverify/reader"
	"github.com/cardverify/cardverify/store"
)

// Config is everything a run of a job was asked to do: the flags of
// "cardverify run", or what the web console's New job page chose.
type Config struct {
	// Input is the customer list's path. Out and DB are the output's and
	// the checkpoint's paths; empty, DefaultPaths derives them from Input.
	Input, Out, DB string
	// Read says how to read the input: sheet, header row, columns,
	// encoding (the zero Options detects them).
	Read     reader.Options
	Endpoint string // "plain" or "encrypted" (--endpoint)
	BaseURL  string // the API's base URL (--base-url); juhe.DefaultBaseURL by the flag
	// Key and OpenID are the API key and the account's openid (secrets:
	// never logged, never in an error).
	Key, OpenID string
	// KeyFrom and OpenIDFrom say where Key and OpenID came from: "--key"
	// or "JUHE_KEY", "--openid" or "JUHE_OPENID" (set by Secrets).
	KeyFrom, OpenIDFrom string
	// KeyFile is the fingerprint key file of the checkpoint; "" means
	// store.DefaultKeyPath.
	KeyFile     string
	QPS         float64       // most calls per second (--qps); 0: pipeline.DefaultQPS
	Workers     int           // concurrent calls (--workers); 0: sized from the latency
	Timeout     time.Duration // bound on one call (--timeout); 0: juhe.DefaultTimeout
	MaxAttempts int           // calls of a pair per run (--max-attempts); 0: pipeline.DefaultMaxAttempts
	// MaxBilled is the most billed and possibly billed calls over the
	// whole job, earlier runs included (--max-billed); 0: no limit.
	MaxBilled     int
	Price         float64 // yuan per billed call, for the Summary's cost; 0: not given
	DryRun        bool    // read, validate and write the output without a call (--dry-run)
	RetryFailed   bool    // send again the pairs that failed in an earlier run (--retry-failed)
	RetryDeferred bool    // send deferred pairs again even on the day they were deferred (--retry-deferred)
	// Sandbox verifies against the built-in simulated API: no key, no
	// bill, no real verdict (--sandbox).
	Sandbox  bool
	Lang     string // the output's and the messages' language: "zh" or "en" (--lang)
	MaskCard bool   // write cards masked (first 6, last 4 digits) in the output (--mask-card)
	// MaxDuration, when positive, stops the run cleanly that long after
	// it started (--max-duration).
	MaxDuration time.Duration
	// StopAt, when not empty, stops the run cleanly at the next HH:MM,
	// China time (--stop-at).
	StopAt string
	// Progress is the display of progress: "bar", "plain" or "none";
	// empty: a bar on a terminal, plain lines otherwise (--progress).
	Progress string
	// CPUProfile, when not empty, is the file a CPU profile of the run is
	// written to (--cpuprofile).
	CPUProfile string
	// History is --history: the path of the history of verdicts across
	// jobs (empty: the default path).
	History string
	// ReuseWithin is --reuse-within: reuse the history's verdict on a pair
	// verified within this long (0: off).
	ReuseWithin time.Duration
}

// UsageError is a mistake in the flags or the request: exit code 2. Its
// message is a code of the catalogue, said in the user's language.
type UsageError = msg.Usage

// Usagef returns a *UsageError of code c.
func Usagef(c pipeline.Code, args ...any) error { return msg.Usagef(c, args...) }

// ReaderFlags registers on fs the flags that say how to read an input.
func ReaderFlags(fs *flag.FlagSet, o *reader.Options) {
	fs.StringVar(&o.Sheet, "sheet", "", "sheet `NAME or N` of a workbook (default: the first visible)")
	fs.IntVar(&o.HeaderRow, "header-row", 0, "1-based header row `N` (default: detected)")
	fs.StringVar(&o.NameCol, "name-col", "", "name column: header text, letter or 1-based index")
	fs.StringVar(&o.CardCol, "card-col", "", "card column: header text, letter or 1-based index")
	fs.StringVar(&o.Encoding, "encoding", "", "text encoding of a CSV (utf-8, gbk, gb18030, utf-16le, utf-16be); default: guessed")
}

// PriceFlag registers --price, shared by run and export.
func PriceFlag(fs *flag.FlagSet, p *float64) {
	fs.Float64Var(p, "price", 0, "price of one billed call in `YUAN`, for the cost in the Summary sheet")
}

// APIFlags registers on fs the flags that say how to call the API, shared
// by run and serve.
func (c *Config) APIFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Endpoint, "endpoint", "plain", "API endpoint: plain or encrypted (AES)")
	fs.StringVar(&c.BaseURL, "base-url", juhe.DefaultBaseURL, "API base `URL`")
	fs.StringVar(&c.Key, "key", "", "API key (default $JUHE_KEY)")
	fs.StringVar(&c.OpenID, "openid", "", "openid for the encrypted endpoint (default $JUHE_OPENID)")
	fs.Float64Var(&c.QPS, "qps", pipeline.DefaultQPS, "most calls per second")
	fs.IntVar(&c.Workers, "workers", 0, "concurrent calls (default: grown while more raise the rate, up to what --qps needs at the observed latency)")
	fs.DurationVar(&c.Timeout, "timeout", juhe.DefaultTimeout, "timeout of one call")
	fs.IntVar(&c.MaxAttempts, "max-attempts", pipeline.DefaultMaxAttempts, "calls per row before a transient failure is final")
	fs.BoolVar(&c.Sandbox, "sandbox", false, "use the built-in simulated API (no key, no cost, not real verdicts)")
}

// Flags registers on fs every flag of "cardverify run".
func (c *Config) Flags(fs *flag.FlagSet) {
	fs.StringVar(&c.Out, "out", "", "output `path` (.xlsx, .csv or .tsv); default: INPUT's name + .verified")
	fs.StringVar(&c.DB, "db", "", "checkpoint `path`; default: INPUT's name + .cardverify.db")
	ReaderFlags(fs, &c.Read)
	c.APIFlags(fs)
	fs.IntVar(&c.MaxBilled, "max-billed", 0, "stop before billed answers exceed `N` over the whole job (0: no limit)")
	PriceFlag(fs, &c.Price)
	fs.BoolVar(&c.DryRun, "dry-run", false, "read and validate, write the output, make no call")
	fs.BoolVar(&c.RetryFailed, "retry-failed", false, "send rows that failed in an earlier run again")
	fs.BoolVar(&c.RetryDeferred, "retry-deferred", false, "send deferred rows again today")
	fs.StringVar(&c.Lang, "lang", "zh", "output language: zh or en")
	fs.BoolVar(&c.MaskCard, "mask-card", false, "show only the first 6 and last 4 digits of cards in the output")
	fs.DurationVar(&c.MaxDuration, "max-duration", 0, "stop cleanly after this long (e.g. 6h)")
	fs.StringVar(&c.StopAt, "stop-at", "", "stop cleanly at this time of day in China time (Beijing), `HH:MM`")
	fs.StringVar(&c.Progress, "progress", "", "progress display: bar, plain or none (default: bar on a terminal, plain otherwise)")
	fs.StringVar(&c.CPUProfile, "cpuprofile", "", "write a CPU profile to `file`")
	KeyFileFlag(fs, &c.KeyFile)
	c.historyFlags(fs)
}

// KeyFileFlag registers --key-file on fs.
func KeyFileFlag(fs *flag.FlagSet, path *string) {
	fs.StringVar(path, "key-file", "", "fingerprint key `file` of the checkpoint (default: cardverify/fingerprint.key in the user's config directory)")
}

// KeyFile returns the fingerprint key file to use: path, or
// store.DefaultKeyPath when path is "".
func KeyFile(path string) (string, error) {
	if path != "" {
		return path, nil
	}
	return store.DefaultKeyPath()
}

// Secrets fills Key and OpenID from the environment when no flag gave them,
// and records where each came from.
func (c *Config) Secrets(getenv func(string) string) {
	c.KeyFrom, c.OpenIDFrom = "--key", "--openid"
	if c.Key == "" {
		c.Key, c.KeyFrom = getenv("JUHE_KEY"), "JUHE_KEY"
	}
	if c.OpenID == "" {
		c.OpenID, c.OpenIDFrom = getenv("JUHE_OPENID"), "JUHE_OPENID"
	}
}

// Warnings returns, as catalogue codes, what the person starting the run should know before it
// starts: a secret given as a flag, which every user of the machine can read
// in the process list, and names and cards about to cross the network
// unencrypted (plain endpoint over plain HTTP to a host other than this
// machine).
func (c *Config) Warnings() []string {
	var ws []string
	if c.Key != "" && c.KeyFrom == "--key" {
		ws = append(ws, pipeline.Reason(msg.WarnFlagSecret, "--key", "JUHE_KEY"))
	}
	if c.OpenID != "" && c.OpenIDFrom == "--openid" {
		ws = append(ws, pipeline.Reason(msg.WarnFlagSecret, "--openid", "JUHE_OPENID"))
	}
	if !c.Sandbox && !c.DryRun && c.Endpoint == "plain" {
		u, err := url.Parse(c.BaseURL)
		if err == nil && u.Scheme == "http" && !loopback(u.Hostname()) {
			ws = append(ws, pipeline.Reason(msg.WarnPlainHTTP, c.BaseURL))
		}
	}
	return ws
}

// loopback reports whether host is this machine.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// NameSecretSource makes the hint of a run-level API error name where the
// key or openid came from, when it was a flag: the code table's hints say
// "check JUHE_KEY".
func (c *Config) NameSecretSource(err error) error {
	ae, ok := err.(*pipeline.APIError)
	if !ok {
		return err
	}
	hint := ae.Hint
	if c.KeyFrom == "--key" {
		hint = strings.ReplaceAll(hint, "JUHE_KEY", "the key given with --key")
	}
	if c.OpenIDFrom == "--openid" {
		hint = strings.ReplaceAll(hint, "JUHE_OPENID", "the openid given with --openid")
	}
	if hint == ae.Hint {
		return err
	}
	named := *ae
	named.Hint = hint
	return &named
}

// OneOf checks that value is one of allowed, for flag name.
func OneOf(name, value string, allowed ...string) error {
	for _, v := range allowed {
		if value == v {
			return nil
		}
	}
	return Usagef(msg.UsageOneOf, name, strings.Join(allowed, ", "), value)
}

// Check validates what can be validated before reading anything.
func (c *Config) Check() error {
	if err := OneOf("lang", c.Lang, "zh", "en"); err != nil {
		return err
	}
	if err := OneOf("endpoint", c.Endpoint, "plain", "encrypted"); err != nil {
		return err
	}
	if c.Progress != "" {
		if err := OneOf("progress", c.Progress, "bar", "plain", "none"); err != nil {
			return err
		}
	}
	if !(c.QPS > 0) || math.IsInf(c.QPS, 0) || c.Workers < 0 || c.MaxAttempts < 1 || c.MaxBilled < 0 || c.Timeout <= 0 || c.MaxDuration < 0 || !(c.Price >= 0) {
		return Usagef(msg.UsageNums)
	}
	if c.StopAt != "" {
		if _, err := pipeline.NextClock(time.Now(), c.StopAt); err != nil {
			return Usagef(msg.UsageStop, c.StopAt)
		}
	}
	if err := c.checkHistory(); err != nil {
		return err
	}
	if c.Key == "" && !c.Sandbox && !c.DryRun {
		return Usagef(msg.UsageKey)
	}
	if c.Endpoint == "encrypted" && c.OpenID == "" && !c.Sandbox && !c.DryRun {
		return Usagef(msg.UsageOpen)
	}
	return nil
}

// DefaultPaths fills Out and DB from the input's name.
func (c *Config) DefaultPaths() {
	dir, base := filepath.Split(c.Input)
	ext := strings.ToLower(filepath.Ext(base))
	stem := strings.TrimSuffix(base, filepath.Ext(base))
	if c.Out == "" {
		switch ext {
		case ".xlsx", ".xlsm":
			ext = ".xlsx"
		case ".tsv":
		default:
			ext = ".csv"
		}
		// A dry run never overwrites the output of a real one.
		kind := ".verified"
		if c.DryRun {
			kind = ".dry-run"
		}
		c.Out = filepath.Join(dir, stem+kind+ext)
	}
	if c.DB == "" {
		c.DB = filepath.Join(dir, stem+".cardverify.db")
	}
}

// deadline is when --max-duration or --stop-at, whichever comes first, ends
// a run that started at start; zero if neither is set.
func (c *Config) deadline(start time.Time) time.Time {
	var d time.Time
	if c.MaxDuration > 0 {
		d = start.Add(c.MaxDuration)
	}
	if c.StopAt != "" {
		at, _ := pipeline.NextClock(start, c.StopAt) // checked in Check
		if d.IsZero() || at.Before(d) {
			d = at
		}
	}
	return d
}
