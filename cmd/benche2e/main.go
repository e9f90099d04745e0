// Command benche2e measures cardverify end to end, as a user runs it, and
// checks the figures against the targets of issues 7, 15 and 17:
//
//	go run ./cmd/benche2e -bin bin/cardverify        (make bench-e2e, ~30 min)
//	go run ./cmd/benche2e -bin bin/cardverify -quick (make bench-e2e-quick: 100k rows, 1 rep)
//
// In a temporary directory it generates seeded lists (package
// cmd/internal/gen, as cmd/gendata does: about 1% duplicates and 0.5%
// invalid rows), starts an API fake that poses as the real API (server.go)
// in a child process, and then measures:
//
//   - throughput: "cardverify run" of each list, -reps times with a fresh
//     checkpoint and --qps 1000000 --progress none: median rows/s (data
//     rows ÷ the process's wall time), peak RSS (from wait4's rusage, so
//     /usr/bin/time is not needed; the lists are generated in child
//     processes so that the driver's own memory cannot inflate it), CPU
//     time, and the fake's CPU time meanwhile, apart;
//   - the floor: a minimal HTTP client (floor.go) making the same number of
//     calls on the same fake, -reps times per size in the same run; the
//     targets are cardverify's CPU per row as a ratio to the floor's, which
//     does not depend on the machine's speed;
//   - rerun: the same command again on the finished checkpoint of the
//     largest list (real verdicts, so a finished job): no call may be made,
//     the output is rewritten;
//   - first call: the time from starting the process to the first request
//     reaching a reverse proxy in this driver, in front of the fake (the
//     process is then killed);
//   - rate accuracy: calls per second achieved ÷ --qps, against a second
//     fake with -latency, over -rate-secs seconds of calls for each rate,
//     counted by the proxy between the first and the last call;
//   - CPU at the vendor's pace: 1,000 rows at --qps 50 against that slow
//     fake, CPU time ÷ wall time, and the floor client at the same pace.
//
// It prints every command it runs, then the tables (issue 17's table row
// by row with its target and whether it holds), and exits 1 if a target is
// missed (or a run failed). Throughput runs go straight to the fake; only
// the rerun, first-call and rate runs pass through the proxy.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cardverify/cardverify/cmd/internal/gen"
)

// config is what the flags ask for.
type config struct {
	bin      string
	sizes    []int
	formats  []string
	reps     int
	rates    []float64
	rateSecs float64
	latency  time.Duration
	profile  string // directory for CPU profiles of the largest lists, or ""
	seed     uint64
	keep     bool
	reuse    bool            // the reuse case of issue 15
	only     map[string]bool // the measures to run (see steps); empty: all
}

// internal are the driver's own modes, in which it runs as a child of
// itself: at most one is set.
type internal struct {
	gen     genJob
	floor   floorJob
	history string // -gen-history
	serve   serveJob
}

func main() {
	c, in, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "benche2e:", err)
		fmt.Fprintln(os.Stderr, "usage: benche2e -bin bin/cardverify [-sizes 100000,1000000] [-formats csv,xlsx] [-reps 3] [-quick] [-cpuprofile DIR] ...")
		os.Exit(2)
	}
	if done, err := runInternal(in); done {
		if err != nil {
			fmt.Fprintln(os.Stderr, "benche2e:", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ok, err := bench(ctx, c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benche2e:", err)
		os.Exit(1)
	}
	if !ok {
		os.Exit(1)
	}
}

// parseFlags reads the command line into a config and, for a child of the
// driver, its internal mode.
func parseFlags(args []string) (config, internal, error) {
	var c config
	var in internal
	fs := flag.NewFlagSet("benche2e", flag.ContinueOnError)
	sizes := fs.String("sizes", "100000,1000000", "comma-separated list sizes (data rows)")
	formats := fs.String("formats", "csv,xlsx", "comma-separated formats: csv, xlsx")
	rates := fs.String("rates", "10,100,1000", "comma-separated --qps values for the rate accuracy")
	fs.StringVar(&c.bin, "bin", "bin/cardverify", "the cardverify binary (make build)")
	fs.IntVar(&c.reps, "reps", 3, "runs of each measure; medians are reported")
	fs.Float64Var(&c.rateSecs, "rate-secs", 10, "seconds of calls for each rate accuracy figure")
	fs.DurationVar(&c.latency, "latency", 50*time.Millisecond, "the slow fake's latency, for the rate accuracy and the vendor's pace")
	fs.StringVar(&c.profile, "cpuprofile", "", "also run the largest lists once more with --cpuprofile, writing the profiles into `dir`")
	fs.Uint64Var(&c.seed, "seed", 1, "seed of the generated lists")
	fs.BoolVar(&c.keep, "keep", false, "keep the temporary directory (lists, checkpoints, outputs)")
	fs.BoolVar(&c.reuse, "reuse", true, "also run each CSV list with 95% of its rows in the history (--reuse-within)")
	only := fs.String("only", "", "comma-separated measures to run, of "+strings.Join(stepNames, ", ")+" (rerun implies throughput); default: all")
	quick := fs.Bool("quick", false, "a quick try: by default sizes 10000,100000, 1 rep, 3 s per rate (issue 17's 1M rows are judged on 100k, as an indication)")
	internalFlags(fs, &in)
	if err := fs.Parse(args); err != nil {
		return c, in, err
	}
	if *quick {
		// Smaller defaults; flags given explicitly still win.
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["sizes"] {
			*sizes = "10000,100000"
		}
		if !set["reps"] {
			c.reps = 1
		}
		if !set["rate-secs"] {
			c.rateSecs = 3
		}
	}
	var err error
	if c.sizes, err = parseList(*sizes, strconv.Atoi); err == nil {
		c.rates, err = parseList(*rates, func(s string) (float64, error) { return strconv.ParseFloat(s, 64) })
	}
	c.formats = strings.Split(*formats, ",")
	if err == nil {
		c.only, err = parseOnly(*only)
	}
	if err == nil && (c.reps < 1 || len(c.sizes) == 0 || fs.NArg() > 0) {
		err = errors.New("want -reps ≥ 1, at least one size and no argument")
	}
	slices.Sort(c.sizes)
	if err == nil {
		c.bin, err = filepath.Abs(c.bin)
	}
	return c, in, err
}

// stepNames are the measures -only may name, in the order they run.
var stepNames = []string{"throughput", "rerun", "reuse", "first", "rate", "pace"}

// parseOnly parses -only: an empty set means every measure.
func parseOnly(s string) (map[string]bool, error) {
	only := map[string]bool{}
	for _, name := range strings.Split(s, ",") {
		if name = strings.TrimSpace(name); name == "" {
			continue
		}
		if !slices.Contains(stepNames, name) {
			return nil, fmt.Errorf("-only %s: want some of %s", name, strings.Join(stepNames, ", "))
		}
		only[name] = true
	}
	if only["rerun"] {
		only["throughput"] = true // a rerun needs the finished checkpoints
	}
	return only, nil
}

// runs reports whether the measure named step is to run.
func (c config) runs(step string) bool { return len(c.only) == 0 || c.only[step] }

// internalFlags declares the flags of the driver's own child modes.
func internalFlags(fs *flag.FlagSet, in *internal) {
	fs.StringVar(&in.gen.out, "gen-out", "", "internal: write one list to `path` and exit (see generate)")
	fs.StringVar(&in.gen.format, "gen-format", "csv", "internal: format of -gen-out")
	fs.IntVar(&in.gen.o.Rows, "gen-rows", 0, "internal: rows of -gen-out")
	fs.Uint64Var(&in.gen.o.Seed, "gen-seed", 1, "internal: seed of -gen-out")
	fs.BoolVar(&in.gen.o.Clean, "gen-clean", false, "internal: -gen-out without duplicates and invalid rows")
	fs.StringVar(&in.floor.url, "floor-url", "", "internal: run the floor client against this fake's `URL` and exit (see floor.go)")
	fs.IntVar(&in.floor.rows, "floor-rows", 0, "internal: calls of the floor client")
	fs.Uint64Var(&in.floor.seed, "floor-seed", 1, "internal: seed of the floor client's rows")
	fs.Float64Var(&in.floor.qps, "floor-qps", 0, "internal: pace of the floor client (0: as fast as it goes)")
	fs.StringVar(&in.history, "gen-history", "", "internal: fill the history at `path` with 95% of the list's verdicts and exit")
	fs.StringVar(&in.serve.addr, "serve", "", "internal: serve a fake posing as the real API on `address` until interrupted (see server.go)")
	fs.DurationVar(&in.serve.latency, "serve-latency", 0, "internal: latency of -serve")
}

// runInternal runs the child mode in asks for; done is false when it asks
// for none.
func runInternal(in internal) (done bool, err error) {
	switch {
	case in.history != "":
		return true, writeHistory(seedJob{path: in.history, o: in.gen.o})
	case in.floor.url != "":
		return true, runFloor(in.floor)
	case in.gen.out != "":
		return true, gen.Write(in.gen.out, in.gen.format, in.gen.o)
	case in.serve.addr != "":
		return true, serve(in.serve)
	}
	return false, nil
}

func parseList[T any](s string, parse func(string) (T, error)) ([]T, error) {
	var out []T
	for _, f := range strings.Split(s, ",") {
		v, err := parse(strings.TrimSpace(f))
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// measure is one kind of figure for one list.
type measure struct {
	format string
	size   int
	runs   []result
	load   []string // load averages before each run
	note   string
}

// genJob is one list to generate.
type genJob struct {
	out, format string
	o           gen.Options
}

// generate writes a list in a child process: this driver's own memory must
// stay small, because on Linux a child's peak RSS as wait4 reports it
// includes the parent's RSS at the fork (Go starts children with
// CLONE_VM|CLONE_VFORK, and exec records the hiwater mark of the memory it
// replaces), and excelize takes well over 100 MiB to write a 1M-row
// workbook.
func generate(ctx context.Context, g genJob) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	args := []string{"-gen-out", g.out, "-gen-format", g.format, "-gen-rows", strconv.Itoa(g.o.Rows),
		"-gen-seed", strconv.FormatUint(g.o.Seed, 10)}
	if g.o.Clean {
		args = append(args, "-gen-clean")
	}
	c := command{bin: self, args: args}
	fmt.Printf("$ %s   # as go run ./cmd/gendata -rows %d -format %s -seed %d%s -out %s\n",
		c, g.o.Rows, g.format, g.o.Seed, map[bool]string{true: " -clean"}[g.o.Clean], g.out)
	cmd := c.cmd(ctx)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("generate %s: %w", g.out, err)
	}
	return nil
}

func key(format string, size int) string { return fmt.Sprintf("%s/%d", format, size) }

// duration returns the median of a duration figure of m's runs.
func (m measure) duration(fig func(result) time.Duration) time.Duration {
	return median(m.runs, func(r result) float64 { return float64(fig(r)) }, func(f float64) time.Duration { return time.Duration(f) })
}

// wall, cpu, sandboxCPU and rss are the medians of m's runs.
func (m measure) wall() time.Duration {
	return m.duration(func(r result) time.Duration { return r.wall })
}

func (m measure) cpu() time.Duration {
	return m.duration(func(r result) time.Duration { return r.cpu })
}

func (m measure) sandboxCPU() time.Duration {
	return m.duration(func(r result) time.Duration { return r.sandboxCPU })
}

func (m measure) rss() int64 {
	return median(m.runs, func(r result) float64 { return float64(r.rssKiB) }, func(f float64) int64 { return int64(f) })
}

// median returns the median of fig over m's runs.
func (m measure) median(fig func(result) float64) float64 {
	return median(m.runs, fig, func(f float64) float64 { return f })
}

// cpuPerRow is the median CPU time (user + system) per data row, in µs.
func (m measure) cpuPerRow() float64 { return float64(m.cpu().Microseconds()) / float64(m.size) }

func (m measure) each() string {
	var s []string
	for _, r := range m.runs {
		s = append(s, r.wall.Round(time.Millisecond).String())
	}
	return strings.Join(s, ", ")
}

// median returns the median of the runs' figures (the mean of the middle
// two for an even count).
func median[T any](runs []result, fig func(result) float64, to func(float64) T) T {
	if len(runs) == 0 {
		return to(0)
	}
	v := make([]float64, len(runs))
	for i, r := range runs {
		v[i] = fig(r)
	}
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return to(v[n/2])
	}
	return to((v[n/2-1] + v[n/2]) / 2)
}

func mib(kib int64) string { return fmt.Sprintf("%.1f MiB", float64(kib)/1024) }

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}

// checkpointStatus is the part of "cardverify status --json" the driver
// checks.
type checkpointStatus struct {
	Rows     int `json:"rows"`
	Match    int `json:"match"`
	Mismatch int `json:"mismatch"`
	Invalid  int `json:"invalid"`
	Pending  int `json:"pending"`
	Calls    int `json:"calls"`
}

func status(ctx context.Context, bin, db string) (checkpointStatus, error) {
	var st checkpointStatus
	c := command{bin: bin, args: []string{"status", "--db", db, "--json"}}
	fmt.Printf("$ %s\n", c)
	out, err := c.cmd(ctx).Output()
	if err != nil {
		return st, fmt.Errorf("%s: %w", c, err)
	}
	return st, json.Unmarshal(out, &st)
}

// loadAvg returns the 1-minute load average, or "?".
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return f[0]
	}
	return "?"
}

// machine describes the CPU the figures were taken on.
func machine() string {
	model := runtime.GOARCH
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%d CPUs, %s, %s/%s", runtime.NumCPU(), model, runtime.GOOS, runtime.GOARCH)
}

func printMachine(bin string) {
	fmt.Printf("# machine: %s\n", machine())
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Printf("# load average: %s", b)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		out = []byte(errors.Join(errors.New("cardverify version"), err).Error() + "\n")
	}
	fmt.Printf("# %s# %s (driver)\n", out, runtime.Version())
}
