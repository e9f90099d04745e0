package job

import (
	"flag"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/cardverify/cardverify/pipeline"
	"github.com/cardverify/cardverify/pipeline/juhe"
	"github.com/cardverify/cardverify/reader"
)

// Config is everything a run of a job was asked to do: the flags of
// "cardverify run", or what the web console's New job page chose.
type Config struct {
	Input, Out, DB string
	Read           reader.Options
	Endpoint       string
	BaseURL        string
	Key, OpenID    string
	QPS            float64
	Workers        int
	Timeout        time.Duration
	MaxAttempts    int
	MaxBilled      int
	DryRun         bool
	RetryFailed    bool
	RetryDeferred  bool
	Sandbox        bool
	Lang           string
	MaskCard       bool
	MaxDuration    time.Duration
	StopAt         string
	Progress       string
	CPUProfile     string
	// History is --history (empty: the default path), ReuseWithin
	// --reuse-within (0: off), Price --price (0: not given).
	History     string
	ReuseWithin time.Duration
	Price       float64
}

// Defaults of the API flags, shared by run and serve.
const (
	DefaultQPS         = 10
	DefaultMaxAttempts = 4
)

// UsageError is a mistake in the flags or the request: exit code 2.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Usagef returns a *UsageError with a formatted message.
func Usagef(format string, args ...any) error {
	return &UsageError{fmt.Sprintf(format, args...)}
}

// ReaderFlags registers on fs the flags that say how to read an input.
func ReaderFlags(fs *flag.FlagSet, o *reader.Options) {
	fs.StringVar(&o.Sheet, "sheet", "", "sheet `NAME or N` of a workbook (default: the first visible)")
	fs.IntVar(&o.HeaderRow, "header-row", 0, "1-based header row `N` (default: detected)")
	fs.StringVar(&o.NameCol, "name-col", "", "name column: header text, letter or 1-based index")
	fs.StringVar(&o.CardCol, "card-col", "", "card column: header text, letter or 1-based index")
	fs.StringVar(&o.Encoding, "encoding", "", "text encoding of a CSV (utf-8, gbk, gb18030, utf-16le, utf-16be); default: guessed")
}

// APIFlags registers on fs the flags that say how to call the API, shared
// by run and serve.
func (c *Config) APIFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Endpoint, "endpoint", "plain", "API endpoint: plain or encrypted (AES)")
	fs.StringVar(&c.BaseURL, "base-url", juhe.DefaultBaseURL, "API base `URL`")
	fs.StringVar(&c.Key, "key", "", "API key (default $JUHE_KEY)")
	fs.StringVar(&c.OpenID, "openid", "", "openid for the encrypted endpoint (default $JUHE_OPENID)")
	fs.Float64Var(&c.QPS, "qps", DefaultQPS, "most calls per second")
	fs.IntVar(&c.Workers, "workers", 0, "concurrent calls (default: enough for --qps at the observed latency)")
	fs.DurationVar(&c.Timeout, "timeout", juhe.DefaultTimeout, "timeout of one call")
	fs.IntVar(&c.MaxAttempts, "max-attempts", DefaultMaxAttempts, "calls per row before a transient failure is final")
	fs.BoolVar(&c.Sandbox, "sandbox", false, "use the built-in simulated API (no key, no cost, not real verdicts)")
}

// Flags registers on fs every flag of "cardverify run".
func (c *Config) Flags(fs *flag.FlagSet) {
	fs.StringVar(&c.Out, "out", "", "output `path` (.xlsx, .csv or .tsv); default: INPUT's name + .verified")
	fs.StringVar(&c.DB, "db", "", "checkpoint `path`; default: INPUT's name + .cardverify.db")
	ReaderFlags(fs, &c.Read)
	c.APIFlags(fs)
	fs.IntVar(&c.MaxBilled, "max-billed", 0, "stop before billed answers exceed `N` over the whole job (0: no limit)")
	fs.BoolVar(&c.DryRun, "dry-run", false, "read and validate, write the output, make no call")
	fs.BoolVar(&c.RetryFailed, "retry-failed", false, "send rows that failed in an earlier run again")
	fs.BoolVar(&c.RetryDeferred, "retry-deferred", false, "send deferred rows again today")
	fs.StringVar(&c.Lang, "lang", "zh", "output language: zh or en")
	fs.BoolVar(&c.MaskCard, "mask-card", false, "show only the first 6 and last 4 digits of cards in the output")
	fs.DurationVar(&c.MaxDuration, "max-duration", 0, "stop cleanly after this long (e.g. 6h)")
	fs.StringVar(&c.StopAt, "stop-at", "", "stop cleanly at this local time, `HH:MM`")
	fs.StringVar(&c.Progress, "progress", "", "progress display: bar, plain or none (default: bar on a terminal, plain otherwise)")
	fs.StringVar(&c.CPUProfile, "cpuprofile", "", "write a CPU profile to `file`")
	c.historyFlags(fs)
}

// Secrets fills Key and OpenID from the environment when no flag gave them.
func (c *Config) Secrets(getenv func(string) string) {
	if c.Key == "" {
		c.Key = getenv("JUHE_KEY")
	}
	if c.OpenID == "" {
		c.OpenID = getenv("JUHE_OPENID")
	}
}

// OneOf checks that value is one of allowed, for flag name.
func OneOf(name, value string, allowed ...string) error {
	for _, v := range allowed {
		if value == v {
			return nil
		}
	}
	return Usagef("--%s must be one of %s, not %q", name, strings.Join(allowed, ", "), value)
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
	if c.QPS <= 0 || c.Workers < 0 || c.MaxAttempts < 1 || c.MaxBilled < 0 || c.Timeout <= 0 {
		return Usagef("--qps and --timeout must be positive, --max-attempts at least 1, --workers and --max-billed not negative")
	}
	if c.StopAt != "" {
		if _, err := pipeline.NextClock(time.Now(), c.StopAt); err != nil {
			return Usagef("--stop-at: %v", err)
		}
	}
	if err := c.checkHistory(); err != nil {
		return err
	}
	if c.Key == "" && !c.Sandbox && !c.DryRun {
		return Usagef("no API key: set JUHE_KEY (or pass --key) to verify for real, or add --sandbox to try the simulated API at no cost")
	}
	if c.Endpoint == "encrypted" && c.OpenID == "" && !c.Sandbox && !c.DryRun {
		return Usagef("the encrypted endpoint needs your openid: set JUHE_OPENID (or pass --openid)")
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
