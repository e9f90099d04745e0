package job

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/cardverify/cardverify/pipeline"
	"github.com/cardverify/cardverify/pipeline/juhe"
	"github.com/cardverify/cardverify/pipeline/msg"
	"github.com/cardverify/cardverify/store"
)

// ParseDuration parses a duration as the command line takes it: a Go
// duration ("36h", "90m") or a number of days, alone or followed by a Go
// duration ("30d", "1d12h"). It refuses negative durations.
func ParseDuration(s string) (time.Duration, error) {
	text := strings.TrimSpace(s)
	var d time.Duration
	if i := strings.IndexByte(text, 'd'); i > 0 {
		days, err := strconv.Atoi(text[:i])
		if err != nil || days < 0 || days > 100*365 {
			return 0, fmt.Errorf("want a duration such as 30d, 36h or 1d12h, got %q", s)
		}
		d, text = time.Duration(days)*24*time.Hour, text[i+1:]
		if text == "" {
			return d, nil
		}
	}
	rest, err := time.ParseDuration(text)
	if err != nil || rest < 0 {
		return 0, fmt.Errorf("want a duration such as 30d, 36h or 1d12h, got %q", s)
	}
	return d + rest, nil
}

// DurationValue is a flag.Value for durations that accept days (see
// ParseDuration).
type DurationValue struct {
	D *time.Duration // where the flag's value is stored; String of a nil D is ""
}

// String implements flag.Value: whole days as "90d", else as
// time.Duration writes it; "" for zero.
func (v DurationValue) String() string {
	if v.D == nil || *v.D == 0 {
		return ""
	}
	if *v.D%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", *v.D/(24*time.Hour))
	}
	return v.D.String()
}

// Set implements flag.Value with ParseDuration.
func (v DurationValue) Set(s string) error {
	d, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*v.D = d
	return nil
}

// historyFlags registers the flags of the verdict history and of cost.
func (c *Config) historyFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.History, "history", "", "verdict history `path`, shared by jobs (default: cardverify/history.db in the user's data directory)")
	fs.Var(DurationValue{&c.ReuseWithin}, "reuse-within", "reuse the history's verdict on a pair verified within `DUR` (e.g. 30d) instead of paying again (default: off)")
}

// checkHistory validates the history flags.
func (c *Config) checkHistory() error {
	if c.ReuseWithin < 0 || c.Price < 0 {
		return Usagef(msg.HistReuseNeg)
	}
	if c.Sandbox && (c.ReuseWithin > 0 || c.History != "") {
		return Usagef(msg.HistSandbox)
	}
	return nil
}

// HistoryPath is the history of c: --history, or the default in the user's
// data directory.
func (c *Config) HistoryPath() (string, error) {
	if c.History != "" {
		return c.History, nil
	}
	return store.DefaultHistoryPath()
}

// fingerprintKeyFile is the key file that the history's fingerprints are
// made with: the user's, as for checkpoints.
func fingerprintKeyFile(c Config) (string, error) {
	if c.KeyFile != "" {
		return c.KeyFile, nil
	}
	return store.DefaultKeyPath()
}

// openHistory opens the history a real run records into and reuses from;
// nil for a sandbox run. A history that cannot be opened stops the run when
// the user asked for it (--history, --reuse-within); otherwise the run goes
// on without it, saying so on notice.
func openHistory(ctx context.Context, c Config, notice io.Writer) (*store.History, error) {
	if c.Sandbox {
		return nil, nil
	}
	h, err := openHistoryFile(ctx, c, true)
	if err != nil {
		if c.History != "" || c.ReuseWithin > 0 {
			return nil, err
		}
		fmt.Fprintf(notice, "note: this run's verdicts are not recorded in the history: %v\n", err)
		return nil, nil
	}
	h.Endpoint, h.APIKeyID = c.Endpoint, juhe.KeyID(c.Key)
	return h, nil
}

// openHistoryFile opens the history of c with the user's fingerprint key,
// creating both when create is set. Without create, a missing history or
// key is (nil, nil): there is nothing to reuse.
func openHistoryFile(ctx context.Context, c Config, create bool) (*store.History, error) {
	path, err := c.HistoryPath()
	if err != nil {
		return nil, err
	}
	keyFile, err := fingerprintKeyFile(c)
	if err != nil {
		return nil, err
	}
	var key store.Key
	if create {
		key, _, err = store.LoadOrCreateKey(keyFile)
	} else {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		key, err = store.LoadKey(keyFile)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
	}
	if err != nil {
		return nil, err
	}
	return store.OpenHistory(ctx, path, &key)
}

// recoverHistory imports into h the verdicts of db's runs that never ended
// (a crash may have lost them before the history wrote them). A checkpoint
// made with another fingerprint key cannot be imported; its verdicts were
// recorded as they came, so it is left alone.
func recoverHistory(ctx context.Context, h *store.History, db *store.DB) error {
	if h == nil {
		return nil
	}
	_, err := h.ImportUnended(ctx, db)
	if errors.Is(err, store.ErrOtherKey) {
		return nil
	}
	return err
}

// Cost is what a list costs at a price per billed call.
type Cost struct {
	Price float64 // yuan per billed call; 0 when not given
	// Calls is the most billed calls left to pay for; Reused the rows
	// given a verdict from the history instead.
	Calls, Reused int
}

// Most is the most the calls can cost, in yuan.
func (c Cost) Most() float64 { return c.Price * float64(c.Calls) }

// Saved is what reuse saves, in yuan.
func (c Cost) Saved() float64 { return c.Price * float64(c.Reused) }

// historyOf is h as the pipeline's History: nil (no interface holding a nil
// pointer) when there is none.
func historyOf(h *store.History) pipeline.History {
	if h == nil {
		return nil
	}
	return h
}
