package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cardverify/cardverify/cmd/internal/gen"
)

// benchRun is one run of the driver: its lists, its fakes and proxies, and
// the figures measured so far.
type benchRun struct {
	c     config
	dir   string
	lists map[string]string // format/size → path
	fast  *sandbox          // the instant fake
	px    *proxy            // in front of fast
	slow  *sandbox          // the fake with c.latency
	spx   *proxy            // in front of slow
	runOK bool              // false once a run failed

	thr       []measure
	floors    map[int]*measure
	reuse     []measure
	rerun     []measure
	first     []measure
	rates     []rateFig
	pace      measure
	paceFloor measure
}

// rateFig is one rate accuracy figure.
type rateFig struct {
	qps, achieved float64
	calls         int
	span          time.Duration
}

// bench runs every measure and prints them; ok is false when a target was
// missed or a run failed.
func bench(ctx context.Context, c config) (ok bool, err error) {
	b := &benchRun{c: c, lists: map[string]string{}, floors: map[int]*measure{}, runOK: true}
	if b.dir, err = os.MkdirTemp("", "benche2e-"); err != nil {
		return false, err
	}
	if c.keep {
		fmt.Printf("# keeping %s\n", b.dir)
	} else {
		defer os.RemoveAll(b.dir)
	}
	printMachine(c.bin)
	// The runs keep their history and fingerprint key here, not in the
	// user's data and config directories.
	os.Setenv("XDG_DATA_HOME", filepath.Join(b.dir, "data"))
	os.Setenv("XDG_CONFIG_HOME", filepath.Join(b.dir, "config"))
	defer b.close()
	if err := b.setup(ctx); err != nil {
		return false, err
	}
	for _, step := range []struct {
		name string
		run  func(context.Context) error
	}{
		{"throughput", b.profiles}, {"throughput", b.throughput}, {"rerun", b.rerunRuns}, {"reuse", b.reuseRuns},
		{"first", b.firstCalls}, {"rate", b.rateRuns}, {"pace", b.paceRuns},
	} {
		if !c.runs(step.name) {
			continue
		}
		if err := step.run(ctx); err != nil {
			return false, err
		}
	}
	b.printTables()
	return b.judge(), nil
}

// setup generates the lists and starts the fakes and their proxies.
func (b *benchRun) setup(ctx context.Context) error {
	for _, size := range b.c.sizes {
		for _, f := range b.c.formats {
			path := filepath.Join(b.dir, fmt.Sprintf("list-%d.%s", size, f))
			t := time.Now()
			if err := generate(ctx, genJob{out: path, format: f, o: gen.Options{Rows: size, Seed: b.c.seed}}); err != nil {
				return err
			}
			fmt.Printf("  (%s)\n", time.Since(t).Round(time.Millisecond))
			b.lists[key(f, size)] = path
		}
	}
	var err error
	if b.fast, err = startSandbox(ctx, 0); err != nil {
		return err
	}
	if b.px, err = startProxy(b.fast.url); err != nil {
		return err
	}
	if b.slow, err = startSandbox(ctx, b.c.latency); err != nil {
		return err
	}
	b.spx, err = startProxy(b.slow.url)
	return err
}

// close stops what setup started.
func (b *benchRun) close() {
	for _, p := range []*proxy{b.px, b.spx} {
		if p != nil {
			p.close()
		}
	}
	for _, s := range []*sandbox{b.fast, b.slow} {
		if s != nil {
			s.stop()
		}
	}
}

// fail notes a failed run.
func (b *benchRun) fail(what string, r result) {
	b.runOK = false
	fmt.Printf("  FAILED: %s (exit %d)\n%s\n", what, r.code, indent(r.stderr))
}

// expect notes a failed check of what a run left.
func (b *benchRun) expect(ok bool, what string) {
	if !ok {
		b.runOK = false
		fmt.Println("  FAILED: " + what)
	}
}

// runArgs is the command that runs list against base. Each list has its
// own checkpoint, LIST.db, and output, LIST.out.EXT, and, unless extra
// names one, its own verdict history, LIST.verdicts.db, which fresh
// removes with the checkpoint: every first run files its verdicts into an
// empty history, as on a fresh machine. (One history shared by the whole
// bench grew by every run's verdicts, so that each later run filed its own
// into a larger one: at 100k rows, a history of 2.4M verdicts made a run a
// quarter slower.)
func (b *benchRun) runArgs(list, base string, extra ...string) command {
	args := []string{"run", list, "--base-url", base, "--db", list + ".db", "--out", list + ".out" + filepath.Ext(list),
		"--qps", "1000000", "--progress", "none"}
	if !slices.Contains(extra, "--history") {
		args = append(args, "--history", list+".verdicts.db")
	}
	return command{bin: b.c.bin, args: append(args, extra...), env: []string{"JUHE_KEY=x"}}
}

// withQPS returns c with --qps set to q.
func withQPS(c command, q float64) command {
	c.args = slices.Clone(c.args)
	c.args[slices.Index(c.args, "--qps")+1] = strconv.FormatFloat(q, 'f', -1, 64)
	return c
}

// fresh removes list's checkpoint and verdict history (see runArgs).
func fresh(list string) {
	for _, db := range []string{list + ".db", list + ".verdicts.db"} {
		for _, suffix := range []string{"", "-wal", "-shm", "-journal", "-lock"} {
			os.Remove(db + suffix)
		}
	}
}

func (b *benchRun) largest() int { return b.c.sizes[len(b.c.sizes)-1] }

// profiles runs the largest lists, and the rerun of their finished jobs,
// once with --cpuprofile.
func (b *benchRun) profiles(ctx context.Context) error {
	if b.c.profile == "" {
		return nil
	}
	fmt.Println("\n## CPU profiles of the largest lists (not timed; first, so that they are ready early)")
	if err := os.MkdirAll(b.c.profile, 0o755); err != nil {
		return err
	}
	for _, f := range b.c.formats {
		list := b.lists[key(f, b.largest())]
		fresh(list)
		for _, what := range []string{"cpu", "cpu-rerun"} {
			prof, err := filepath.Abs(filepath.Join(b.c.profile, fmt.Sprintf("%s-%s-%d.pprof", what, f, b.largest())))
			if err != nil {
				return err
			}
			r, err := b.runArgs(list, b.fast.url, "--cpuprofile", prof).run(ctx, nil)
			if err != nil {
				return err
			}
			fmt.Printf("  %s; see: go tool pprof -top -cum %s %s\n", r.wall.Round(time.Millisecond), b.c.bin, prof)
			if r.code != 0 {
				b.fail("profiled "+what, r)
			}
		}
	}
	return nil
}

// throughput runs the floor and each list of each size, with a fresh
// checkpoint each time.
func (b *benchRun) throughput(ctx context.Context) error {
	fmt.Println("\n## throughput, and the floor of an HTTP client on the same fake")
	for _, size := range b.c.sizes {
		fm, err := b.floorRuns(ctx, b.fast, size, 0)
		if err != nil {
			return err
		}
		b.floors[size] = &fm
		for _, f := range b.c.formats {
			list := b.lists[key(f, size)]
			m := measure{format: f, size: size}
			for range b.c.reps {
				fresh(list)
				r, err := b.measured(ctx, &m, b.fast, b.runArgs(list, b.fast.url))
				if err != nil {
					return err
				}
				fmt.Printf("  %s: %.0f rows/s, peak RSS %s, CPU %s (fake %s), load %s\n", r.wall.Round(time.Millisecond), float64(size)/r.wall.Seconds(),
					mib(r.rssKiB), r.cpu.Round(10*time.Millisecond), r.sandboxCPU.Round(10*time.Millisecond), m.load[len(m.load)-1])
				if r.code != 0 {
					b.fail("run", r)
				}
			}
			st, err := status(ctx, b.c.bin, list+".db")
			if err != nil {
				return err
			}
			m.note = fmt.Sprintf("%d rows, %d calls, %d match, %d mismatch, %d invalid, %d pending", st.Rows, st.Calls, st.Match, st.Mismatch, st.Invalid, st.Pending)
			fmt.Printf("  checkpoint: %s\n", m.note)
			b.expect(st.Rows == size && st.Pending == 0, "the checkpoint does not have every row final")
			b.thr = append(b.thr, m)
		}
	}
	return nil
}

// measured runs c, noting the load before it and the CPU time the fake sb
// spent meanwhile, and adds the run to m.
func (b *benchRun) measured(ctx context.Context, m *measure, sb *sandbox, c command) (result, error) {
	m.load = append(m.load, loadAvg())
	before := sb.cpu()
	r, err := c.run(ctx, nil)
	if err != nil {
		return r, err
	}
	r.sandboxCPU = sb.cpu() - before
	m.runs = append(m.runs, r)
	return r, nil
}

// floorRuns runs the floor client -reps times for rows calls on sb, at
// qps (0: as fast as it goes).
func (b *benchRun) floorRuns(ctx context.Context, sb *sandbox, rows int, qps float64) (measure, error) {
	m := measure{format: "floor", size: rows}
	for range b.c.reps {
		m.load = append(m.load, loadAvg())
		before := sb.cpu()
		r, err := floor(ctx, sb.url, rows, b.c.seed, qps)
		if err != nil {
			return m, err
		}
		r.sandboxCPU = sb.cpu() - before
		fmt.Printf("  floor: %s: %.0f calls/s, CPU %s (%.1f µs/call, %.2f%% of a core; fake %s)\n", r.wall.Round(time.Millisecond),
			float64(rows)/r.wall.Seconds(), r.cpu.Round(10*time.Millisecond), float64(r.cpu.Microseconds())/float64(rows),
			100*r.cpu.Seconds()/r.wall.Seconds(), r.sandboxCPU.Round(10*time.Millisecond))
		m.runs = append(m.runs, r)
	}
	return m, nil
}

// reuseRuns runs each CSV list with 95% of its rows in a history.
func (b *benchRun) reuseRuns(ctx context.Context) error {
	if !b.c.reuse {
		return nil
	}
	fmt.Println("\n## throughput with 95% of the rows in the history (--reuse-within 30d)")
	for _, size := range b.c.sizes {
		list, ok := b.lists[key("csv", size)]
		if !ok {
			continue
		}
		hist := list + ".history.db"
		t := time.Now()
		if err := seedHistory(ctx, seedJob{path: hist, o: gen.Options{Rows: size, Seed: b.c.seed}}); err != nil {
			return err
		}
		fmt.Printf("  (%s)\n", time.Since(t).Round(time.Millisecond))
		m := measure{format: "csv", size: size}
		for range b.c.reps {
			fresh(list)
			r, err := b.measured(ctx, &m, b.fast, b.runArgs(list, b.fast.url, "--reuse-within", "30d", "--history", hist))
			if err != nil {
				return err
			}
			fmt.Printf("  %s: %.0f rows/s, peak RSS %s, CPU %s, load %s\n", r.wall.Round(time.Millisecond), float64(size)/r.wall.Seconds(),
				mib(r.rssKiB), r.cpu.Round(10*time.Millisecond), m.load[len(m.load)-1])
			if r.code != 0 {
				b.fail("reuse run", r)
			}
		}
		st, err := status(ctx, b.c.bin, list+".db")
		if err != nil {
			return err
		}
		m.note = fmt.Sprintf("%d rows, %d calls", st.Rows, st.Calls)
		fmt.Printf("  checkpoint: %s\n", m.note)
		b.expect(st.Rows == size && st.Pending == 0 && st.Calls <= size/reuseEvery+size/50,
			"rows left, or more calls than the rows not in the history")
		b.reuse = append(b.reuse, m)
	}
	return nil
}

// rerunRuns runs the largest lists again on the finished checkpoints of
// their last throughput runs: their verdicts are real (the fake poses as
// the real API), so the job is finished and no call may be made.
func (b *benchRun) rerunRuns(ctx context.Context) error {
	fmt.Println("\n## re-running a finished job (through the proxy, which counts calls)")
	for _, f := range b.c.formats {
		list := b.lists[key(f, b.largest())]
		m := measure{format: f, size: b.largest()}
		for range b.c.reps {
			b.px.reset()
			r, err := b.measured(ctx, &m, b.fast, b.runArgs(list, b.px.url))
			if err != nil {
				return err
			}
			n, _, _ := b.px.counts()
			fmt.Printf("  %s, %d calls, peak RSS %s, CPU %s\n", r.wall.Round(time.Millisecond), n, mib(r.rssKiB), r.cpu.Round(10*time.Millisecond))
			if r.code != 0 {
				b.fail("rerun", r)
			}
			b.expect(n == 0, "a rerun of a finished job made calls")
		}
		b.rerun = append(b.rerun, m)
	}
	return nil
}

// firstCalls measures the time to the first call, each list with a fresh
// checkpoint.
func (b *benchRun) firstCalls(ctx context.Context) error {
	fmt.Println("\n## time from start to the first API call (killed at the first call)")
	for _, size := range b.c.sizes {
		for _, f := range b.c.formats {
			list := b.lists[key(f, size)]
			m := measure{format: f, size: size}
			for range b.c.reps {
				fresh(list)
				b.px.reset()
				m.load = append(m.load, loadAvg())
				r, err := b.runArgs(list, b.px.url).run(ctx, b.px.seen())
				if err != nil {
					return err
				}
				n, at, _ := b.px.counts()
				if n == 0 {
					b.fail("no call before the end", r)
					continue
				}
				r.wall = at.Sub(r.started)
				fmt.Printf("  first call after %s\n", r.wall.Round(time.Millisecond))
				m.runs = append(m.runs, r)
			}
			fresh(list)
			b.first = append(b.first, m)
		}
	}
	return nil
}

// rateRuns measures the achieved rate at each of c.rates against the slow
// fake.
func (b *benchRun) rateRuns(ctx context.Context) error {
	fmt.Printf("\n## rate accuracy (fake latency %s)\n", b.c.latency)
	for _, q := range b.c.rates {
		rows := int(q*b.c.rateSecs) + 1 // n calls span n-1 intervals
		list := filepath.Join(b.dir, fmt.Sprintf("rate-%g.csv", q))
		if err := generate(ctx, genJob{out: list, format: "csv", o: gen.Options{Rows: rows, Seed: b.c.seed, Clean: true}}); err != nil {
			return err
		}
		b.spx.reset()
		r, err := withQPS(b.runArgs(list, b.spx.url), q).run(ctx, nil)
		if err != nil {
			return err
		}
		if r.code != 0 {
			b.fail("rate run", r)
		}
		n, t0, t1 := b.spx.counts()
		fig := rateFig{qps: q, calls: n, span: t1.Sub(t0)}
		if n > 1 {
			fig.achieved = float64(n-1) / fig.span.Seconds()
		}
		fmt.Printf("  %d calls in %s (first to last): %.3f calls/s, ratio %.4f\n", n, fig.span.Round(time.Millisecond), fig.achieved, fig.achieved/q)
		if n != rows {
			fmt.Printf("  note: %d calls for %d rows (retries?)\n", n, rows)
		}
		b.rates = append(b.rates, fig)
	}
	return nil
}

// The vendor's pace: 20 s of calls at a rate such APIs allow.
const (
	paceRows = 1000
	paceQPS  = 50.0
)

// paceRuns measures the CPU at the vendor's pace: a process that runs all
// night should sit near idle between calls. The floor client at the same
// pace shows what any client pays: on a virtual machine each wake-up costs
// far more than at full speed.
func (b *benchRun) paceRuns(ctx context.Context) error {
	fmt.Printf("\n## CPU at the vendor's pace (%d rows, --qps %g, fake latency %s)\n", paceRows, paceQPS, b.c.latency)
	list := filepath.Join(b.dir, "pace.csv")
	if err := generate(ctx, genJob{out: list, format: "csv", o: gen.Options{Rows: paceRows, Seed: b.c.seed, Clean: true}}); err != nil {
		return err
	}
	b.pace = measure{format: "csv", size: paceRows}
	for range b.c.reps {
		fresh(list)
		r, err := b.measured(ctx, &b.pace, b.slow, withQPS(b.runArgs(list, b.slow.url), paceQPS))
		if err != nil {
			return err
		}
		if r.code != 0 {
			b.fail("pace run", r)
		}
		fmt.Printf("  %s, CPU %s = %.2f%% of a core (fake %s)\n", r.wall.Round(time.Millisecond), r.cpu.Round(time.Millisecond),
			100*r.cpu.Seconds()/r.wall.Seconds(), r.sandboxCPU.Round(10*time.Millisecond))
	}
	var err error
	b.paceFloor, err = b.floorRuns(ctx, b.slow, paceRows, paceQPS)
	return err
}

// share is a run's CPU time as a share of one core over its wall time.
func share(r result) float64 { return r.cpu.Seconds() / r.wall.Seconds() }

// cmdLine is what to type to run this driver again with the same figures.
func (c config) cmdLine() string {
	join := func(v []int) string {
		s := make([]string, len(v))
		for i, n := range v {
			s[i] = strconv.Itoa(n)
		}
		return strings.Join(s, ",")
	}
	rates := make([]string, len(c.rates))
	for i, q := range c.rates {
		rates[i] = strconv.FormatFloat(q, 'f', -1, 64)
	}
	line := fmt.Sprintf("go run ./cmd/benche2e -bin %s -sizes %s -formats %s -reps %d -rates %s -rate-secs %g -latency %s -reuse=%t",
		c.bin, join(c.sizes), strings.Join(c.formats, ","), c.reps, strings.Join(rates, ","), c.rateSecs, c.latency, c.reuse)
	var only []string
	for _, name := range stepNames {
		if c.only[name] {
			only = append(only, name)
		}
	}
	if len(only) > 0 {
		line += " -only " + strings.Join(only, ",")
	}
	return line
}
