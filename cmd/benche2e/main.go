// Command benche2e measures cardverify end to end, as a user runs it, and
// checks the figures against the targets of issues 7 and 17:
//
//	go run ./cmd/benche2e -bin bin/cardverify        (make bench-e2e)
//	go run ./cmd/benche2e -bin bin/cardverify -quick (a small try)
//
// In a temporary directory it generates seeded lists (package
// cmd/internal/gen, as cmd/gendata does: about 1% duplicates and 0.5%
// invalid rows), starts "cardverify sandbox" with no latency in another
// process, and then measures:
//
//   - throughput: "cardverify run" of each list, -reps times with a fresh
//     checkpoint and --qps 1000000 --progress none: median rows/s (data
//     rows ÷ the process's wall time), peak RSS (from wait4's rusage, so
//     /usr/bin/time is not needed; the lists are generated in child
//     processes so that the driver's own memory cannot inflate it), CPU
//     time, and the sandbox's CPU time meanwhile;
//   - resume: the same command again on the finished checkpoint of the
//     largest list: no call may be made, the output is rewritten;
//   - first call: the time from starting the process to the first request
//     reaching a reverse proxy in this driver, in front of the sandbox (the
//     process is then killed);
//   - the floor: a minimal HTTP client (floor.go) making the same number of
//     calls on the same sandbox, -reps times per size in the same run; the
//     targets are cardverify's CPU per row as a ratio to the floor's, which
//     does not depend on the machine's speed;
//   - rate accuracy: calls per second achieved ÷ --qps, against a second
//     sandbox with --latency 50ms, over -rate-secs seconds of calls for each
//     rate, counted by the proxy between the first and the last call;
//   - CPU at the vendor's pace: 1,000 rows at --qps 50 against that slow
//     sandbox, CPU time ÷ wall time.
//
// It prints every command it runs, then the tables, and exits 1 if a target
// is missed (or a run failed). Throughput runs go straight to the sandbox;
// only the resume, first-call and rate runs pass through the proxy.
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
	reuse    bool // the reuse case of issue 15
}

func main() {
	var c config
	sizes := flag.String("sizes", "100000,1000000", "comma-separated list sizes (data rows)")
	formats := flag.String("formats", "csv,xlsx", "comma-separated formats: csv, xlsx")
	rates := flag.String("rates", "10,100,1000", "comma-separated --qps values for the rate accuracy")
	flag.StringVar(&c.bin, "bin", "bin/cardverify", "the cardverify binary (make build)")
	flag.IntVar(&c.reps, "reps", 3, "runs of each measure; medians are reported")
	flag.Float64Var(&c.rateSecs, "rate-secs", 10, "seconds of calls for each rate accuracy figure")
	flag.DurationVar(&c.latency, "latency", 50*time.Millisecond, "the sandbox's latency for the rate accuracy")
	flag.StringVar(&c.profile, "cpuprofile", "", "also run the largest lists once more with --cpuprofile, writing the profiles into `dir`")
	flag.Uint64Var(&c.seed, "seed", 1, "seed of the generated lists")
	flag.BoolVar(&c.keep, "keep", false, "keep the temporary directory (lists, checkpoints, outputs)")
	flag.BoolVar(&c.reuse, "reuse", true, "also run each CSV list with 95% of its rows in the history (--reuse-within)")
	quick := flag.Bool("quick", false, "a small try: by default 20000 rows, 1 rep, 3 s per rate (the 1M-row targets are then not judged)")
	var g genJob
	flag.StringVar(&g.out, "gen-out", "", "internal: write one list to `path` and exit (see generate)")
	flag.StringVar(&g.format, "gen-format", "csv", "internal: format of -gen-out")
	flag.IntVar(&g.o.Rows, "gen-rows", 0, "internal: rows of -gen-out")
	flag.Uint64Var(&g.o.Seed, "gen-seed", 1, "internal: seed of -gen-out")
	flag.BoolVar(&g.o.Clean, "gen-clean", false, "internal: -gen-out without duplicates and invalid rows")
	var fl floorJob
	flag.StringVar(&fl.url, "floor-url", "", "internal: run the floor client against this sandbox `URL` and exit (see floor.go)")
	flag.IntVar(&fl.rows, "floor-rows", 0, "internal: calls of the floor client")
	flag.Uint64Var(&fl.seed, "floor-seed", 1, "internal: seed of the floor client's rows")
	flag.Float64Var(&fl.qps, "floor-qps", 0, "internal: pace of the floor client (0: as fast as it goes)")
	seedTo := flag.String("gen-history", "", "internal: fill the history at `path` with 95% of the list's verdicts and exit")
	flag.Parse()
	if *seedTo != "" {
		if err := writeHistory(seedJob{path: *seedTo, o: g.o}); err != nil {
			fmt.Fprintln(os.Stderr, "benche2e:", err)
			os.Exit(1)
		}
		return
	}
	if fl.url != "" {
		if err := runFloor(fl); err != nil {
			fmt.Fprintln(os.Stderr, "benche2e floor:", err)
			os.Exit(1)
		}
		return
	}
	if g.out != "" {
		if err := gen.Write(g.out, g.format, g.o); err != nil {
			fmt.Fprintln(os.Stderr, "benche2e:", err)
			os.Exit(1)
		}
		return
	}
	if *quick {
		// Smaller defaults; flags given explicitly still win.
		set := map[string]bool{}
		flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["sizes"] {
			*sizes = "20000"
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
	if err != nil || c.reps < 1 || len(c.sizes) == 0 || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: benche2e -bin bin/cardverify [-sizes 100000,1000000] [-reps 3] [-quick] [-cpuprofile DIR] ...")
		os.Exit(2)
	}
	slices.Sort(c.sizes)
	if c.bin, err = filepath.Abs(c.bin); err != nil {
		fmt.Fprintln(os.Stderr, "benche2e:", err)
		os.Exit(2)
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

// bench runs every measure and prints them; ok is false when a target was
// missed or a run failed.
func bench(ctx context.Context, c config) (ok bool, err error) {
	dir, err := os.MkdirTemp("", "benche2e-")
	if err != nil {
		return false, err
	}
	if c.keep {
		fmt.Printf("# keeping %s\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	printMachine(c.bin)
	// The runs keep their history and fingerprint key here, not in the
	// user's data and config directories.
	os.Setenv("XDG_DATA_HOME", filepath.Join(dir, "data"))
	os.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))

	lists := map[string]string{} // format/size → path
	for _, size := range c.sizes {
		for _, f := range c.formats {
			path := filepath.Join(dir, fmt.Sprintf("list-%d.%s", size, f))
			t := time.Now()
			if err := generate(ctx, genJob{out: path, format: f, o: gen.Options{Rows: size, Seed: c.seed}}); err != nil {
				return false, err
			}
			fmt.Printf("  (%s)\n", time.Since(t).Round(time.Millisecond))
			lists[key(f, size)] = path
		}
	}

	sb, err := startSandbox(ctx, c.bin)
	if err != nil {
		return false, err
	}
	defer sb.stop()
	px, err := startProxy(sb.url)
	if err != nil {
		return false, err
	}
	defer px.close()

	runOK := true
	fail := func(what string, r result) {
		runOK = false
		fmt.Printf("  FAILED: %s (exit %d)\n%s\n", what, r.code, indent(r.stderr))
	}
	// Each list has its own checkpoint, LIST.db, and output, LIST.out.EXT.
	runArgs := func(list, base string, extra ...string) command {
		args := []string{"run", list, "--base-url", base, "--db", list + ".db", "--out", list + ".out" + filepath.Ext(list),
			"--qps", "1000000", "--progress", "none"}
		return command{bin: c.bin, args: append(args, extra...), env: []string{"JUHE_KEY=x"}}
	}
	fresh := func(list string) {
		for _, suffix := range []string{"", "-wal", "-shm", "-journal", "-lock"} {
			os.Remove(list + ".db" + suffix)
		}
	}

	largest := c.sizes[len(c.sizes)-1]
	if c.profile != "" {
		fmt.Println("\n## CPU profiles of the largest lists (not timed; first, so that they are ready early)")
		if err := os.MkdirAll(c.profile, 0o755); err != nil {
			return false, err
		}
		for _, f := range c.formats {
			list := lists[key(f, largest)]
			prof, err := filepath.Abs(filepath.Join(c.profile, fmt.Sprintf("cpu-%s-%d.pprof", f, largest)))
			if err != nil {
				return false, err
			}
			fresh(list)
			r, err := runArgs(list, sb.url, "--cpuprofile", prof).run(ctx, nil)
			if err != nil {
				return false, err
			}
			fmt.Printf("  %s; see: go tool pprof -top -cum %s %s\n", r.wall.Round(time.Millisecond), c.bin, prof)
			if r.code != 0 {
				fail("profiled run", r)
			}
			// And the resume of the job it finished.
			prof = strings.Replace(prof, "cpu-", "cpu-resume-", 1)
			r, err = runArgs(list, sb.url, "--cpuprofile", prof).run(ctx, nil)
			if err != nil {
				return false, err
			}
			fmt.Printf("  %s; see: go tool pprof -top -cum %s %s\n", r.wall.Round(time.Millisecond), c.bin, prof)
			if r.code != 0 {
				fail("profiled resume", r)
			}
		}
	}

	// Throughput, and the floor of an HTTP client on the same sandbox.
	fmt.Println("\n## throughput")
	var thr []measure
	floors := map[int]*measure{}
	for _, size := range c.sizes {
		fm := &measure{format: "floor", size: size}
		for range c.reps {
			fm.load = append(fm.load, loadAvg())
			sbCPU := sb.cpu()
			r, err := floor(ctx, sb.url, size, c.seed, 0)
			if err != nil {
				return false, err
			}
			r.sandboxCPU = sb.cpu() - sbCPU
			fmt.Printf("  floor: %s: %.0f calls/s, CPU %s (%.1f µs/call; sandbox %s)\n", r.wall.Round(time.Millisecond), float64(size)/r.wall.Seconds(),
				r.cpu.Round(10*time.Millisecond), float64(r.cpu.Microseconds())/float64(size), r.sandboxCPU.Round(10*time.Millisecond))
			fm.runs = append(fm.runs, r)
		}
		floors[size] = fm
		for _, f := range c.formats {
			list := lists[key(f, size)]
			m := measure{format: f, size: size}
			for range c.reps {
				fresh(list)
				m.load = append(m.load, loadAvg())
				sbCPU := sb.cpu()
				r, err := runArgs(list, sb.url).run(ctx, nil)
				if err != nil {
					return false, err
				}
				r.sandboxCPU = sb.cpu() - sbCPU
				fmt.Printf("  %s: %.0f rows/s, peak RSS %s, CPU %s (sandbox %s), load %s\n", r.wall.Round(time.Millisecond), float64(size)/r.wall.Seconds(),
					mib(r.rssKiB), r.cpu.Round(10*time.Millisecond), r.sandboxCPU.Round(10*time.Millisecond), m.load[len(m.load)-1])
				if r.code != 0 {
					fail("run", r)
				}
				m.runs = append(m.runs, r)
			}
			st, err := status(ctx, c.bin, list+".db")
			if err != nil {
				return false, err
			}
			m.note = fmt.Sprintf("%d rows, %d calls, %d match, %d mismatch, %d invalid, %d pending", st.Rows, st.Calls, st.Match, st.Mismatch, st.Invalid, st.Pending)
			fmt.Printf("  checkpoint: %s\n", m.note)
			if st.Rows != size || st.Pending != 0 {
				runOK = false
				fmt.Println("  FAILED: the checkpoint does not have every row final")
			}
			thr = append(thr, m)
		}
	}

	// Reuse: the same lists with 95% of their rows in the history.
	var reuse []measure
	if c.reuse {
		fmt.Println("\n## throughput with 95% of the rows in the history (--reuse-within 30d)")
		for _, size := range c.sizes {
			list, ok := lists[key("csv", size)]
			if !ok {
				continue
			}
			hist := list + ".history.db"
			t := time.Now()
			if err := seedHistory(ctx, seedJob{path: hist, o: gen.Options{Rows: size, Seed: c.seed}}); err != nil {
				return false, err
			}
			fmt.Printf("  (%s)\n", time.Since(t).Round(time.Millisecond))
			m := measure{format: "csv", size: size}
			for range c.reps {
				fresh(list)
				m.load = append(m.load, loadAvg())
				r, err := runArgs(list, sb.url, "--reuse-within", "30d", "--history", hist).run(ctx, nil)
				if err != nil {
					return false, err
				}
				fmt.Printf("  %s: %.0f rows/s, peak RSS %s, CPU %s, load %s\n", r.wall.Round(time.Millisecond), float64(size)/r.wall.Seconds(),
					mib(r.rssKiB), r.cpu.Round(10*time.Millisecond), m.load[len(m.load)-1])
				if r.code != 0 {
					fail("reuse run", r)
				}
				m.runs = append(m.runs, r)
			}
			st, err := status(ctx, c.bin, list+".db")
			if err != nil {
				return false, err
			}
			m.note = fmt.Sprintf("%d rows, %d calls", st.Rows, st.Calls)
			fmt.Printf("  checkpoint: %s\n", m.note)
			if st.Rows != size || st.Pending != 0 || st.Calls > size/reuseEvery+size/50 {
				runOK = false
				fmt.Println("  FAILED: rows left, or more calls than the rows not in the history")
			}
			reuse = append(reuse, m)
		}
	}

	// Resume: the checkpoint of the last run of the largest list is final.
	fmt.Println("\n## resume of a finished job (through the proxy, which counts calls)")
	var res []measure
	for _, f := range c.formats {
		list := lists[key(f, largest)]
		m := measure{format: f, size: largest}
		for range c.reps {
			px.reset()
			m.load = append(m.load, loadAvg())
			r, err := runArgs(list, px.url).run(ctx, nil)
			if err != nil {
				return false, err
			}
			n, _, _ := px.counts()
			fmt.Printf("  %s, %d calls, peak RSS %s\n", r.wall.Round(time.Millisecond), n, mib(r.rssKiB))
			if r.code != 0 {
				fail("resume", r)
			}
			if n != 0 {
				runOK = false
				fmt.Println("  FAILED: a resumed finished job made calls")
			}
			m.runs = append(m.runs, r)
		}
		res = append(res, m)
	}

	// Time to the first call, each list with a fresh checkpoint.
	fmt.Println("\n## time from start to the first API call (killed at the first call)")
	var first []measure
	for _, size := range c.sizes {
		for _, f := range c.formats {
			list := lists[key(f, size)]
			m := measure{format: f, size: size}
			for range c.reps {
				fresh(list)
				px.reset()
				m.load = append(m.load, loadAvg())
				r, err := runArgs(list, px.url).run(ctx, px.seen())
				if err != nil {
					return false, err
				}
				n, at, _ := px.counts()
				if n == 0 {
					fail("no call before the end", r)
					continue
				}
				r.wall = at.Sub(r.started)
				fmt.Printf("  first call after %s\n", r.wall.Round(time.Millisecond))
				m.runs = append(m.runs, r)
			}
			fresh(list)
			first = append(first, m)
		}
	}

	// Rate accuracy against a slow API.
	fmt.Printf("\n## rate accuracy (sandbox latency %s)\n", c.latency)
	slow, err := startSandbox(ctx, c.bin, "--latency", c.latency.String())
	if err != nil {
		return false, err
	}
	defer slow.stop()
	spx, err := startProxy(slow.url)
	if err != nil {
		return false, err
	}
	defer spx.close()
	type rateFig struct {
		qps, achieved float64
		calls         int
		span          time.Duration
	}
	var rates []rateFig
	for _, q := range c.rates {
		rows := int(q*c.rateSecs) + 1 // n calls span n-1 intervals
		list := filepath.Join(dir, fmt.Sprintf("rate-%g.csv", q))
		if err := generate(ctx, genJob{out: list, format: "csv", o: gen.Options{Rows: rows, Seed: c.seed, Clean: true}}); err != nil {
			return false, err
		}
		spx.reset()
		cmd := runArgs(list, spx.url)
		cmd.args[slices.Index(cmd.args, "--qps")+1] = strconv.FormatFloat(q, 'f', -1, 64)
		r, err := cmd.run(ctx, nil)
		if err != nil {
			return false, err
		}
		if r.code != 0 {
			fail("rate run", r)
		}
		n, t0, t1 := spx.counts()
		fig := rateFig{qps: q, calls: n, span: t1.Sub(t0)}
		if n > 1 {
			fig.achieved = float64(n-1) / fig.span.Seconds()
		}
		fmt.Printf("  %d calls in %s (first to last): %.3f calls/s, ratio %.4f\n", n, fig.span.Round(time.Millisecond), fig.achieved, fig.achieved/q)
		if n != rows {
			fmt.Printf("  note: %d calls for %d rows (retries?)\n", n, rows)
		}
		rates = append(rates, fig)
	}

	// CPU at the vendor's pace: a process that runs all night should sit
	// near idle between calls.
	fmt.Printf("\n## CPU at the vendor's pace (%d rows, --qps %g, sandbox latency %s)\n", paceRows, paceQPS, c.latency)
	paceList := filepath.Join(dir, "pace.csv")
	if err := generate(ctx, genJob{out: paceList, format: "csv", o: gen.Options{Rows: paceRows, Seed: c.seed, Clean: true}}); err != nil {
		return false, err
	}
	pace := measure{format: "csv", size: paceRows}
	for range c.reps {
		fresh(paceList)
		cmd := runArgs(paceList, slow.url)
		cmd.args[slices.Index(cmd.args, "--qps")+1] = strconv.FormatFloat(paceQPS, 'f', -1, 64)
		pace.load = append(pace.load, loadAvg())
		r, err := cmd.run(ctx, nil)
		if err != nil {
			return false, err
		}
		if r.code != 0 {
			fail("pace run", r)
		}
		fmt.Printf("  %s, CPU %s = %.2f%% of a core\n", r.wall.Round(time.Millisecond), r.cpu.Round(time.Millisecond), 100*r.cpu.Seconds()/r.wall.Seconds())
		pace.runs = append(pace.runs, r)
	}
	// The floor at the same pace: on a virtual machine each wake-up costs
	// far more than at full speed, whatever the client.
	paceFloor := measure{format: "floor", size: paceRows}
	for range c.reps {
		r, err := floor(ctx, slow.url, paceRows, c.seed, paceQPS)
		if err != nil {
			return false, err
		}
		fmt.Printf("  floor: %s, CPU %s = %.2f%% of a core\n", r.wall.Round(time.Millisecond), r.cpu.Round(time.Millisecond), 100*r.cpu.Seconds()/r.wall.Seconds())
		paceFloor.runs = append(paceFloor.runs, r)
	}
	share := func(r result) float64 { return r.cpu.Seconds() / r.wall.Seconds() }
	paceShare := median(pace.runs, share, func(f float64) float64 { return f })
	floorShare := median(paceFloor.runs, share, func(f float64) float64 { return f })

	// The tables.
	fmt.Printf("\n## results (reps %d, medians; machine: %s)\n\n", c.reps, machine())
	fmt.Println("| list | rows | rows/s | wall | peak RSS | CPU (user+sys) | CPU µs/row | ÷ floor | sandbox CPU | rows/s of each run | load avg (1 min) before each run |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
	var all []measure
	for _, size := range c.sizes {
		all = append(all, *floors[size])
		for _, m := range thr {
			if m.size == size {
				all = append(all, m)
			}
		}
	}
	for _, m := range all {
		var each []string
		for _, r := range m.runs {
			each = append(each, fmt.Sprintf("%.0f", float64(m.size)/r.wall.Seconds()))
		}
		cpu := median(m.runs, func(r result) float64 { return float64(r.cpu) }, func(f float64) time.Duration { return time.Duration(f) })
		sbCPU := median(m.runs, func(r result) float64 { return float64(r.sandboxCPU) }, func(f float64) time.Duration { return time.Duration(f) })
		fmt.Printf("| %s | %d | %.0f | %s | %s | %s | %.1f | %.2f | %s | %s | %s |\n", m.format, m.size, float64(m.size)/m.wall().Seconds(),
			m.wall().Round(10*time.Millisecond), mib(m.rss()), cpu.Round(10*time.Millisecond), m.cpuPerRow(),
			m.cpuPerRow()/floors[m.size].cpuPerRow(), sbCPU.Round(10*time.Millisecond), strings.Join(each, ", "), strings.Join(m.load, ", "))
	}
	fmt.Println()
	fmt.Println("| measure | list | median | each run |")
	fmt.Println("|---|---|---:|---|")
	for _, m := range reuse {
		fmt.Printf("| %d rows, 95%% in the history | %s %d | %s, %s peak RSS | %s |\n", m.size, m.format, m.size, m.wall().Round(10*time.Millisecond), mib(m.rss()), m.each())
	}
	for _, m := range res {
		fmt.Printf("| resume of a finished job | %s %d | %s | %s |\n", m.format, m.size, m.wall().Round(10*time.Millisecond), m.each())
	}
	for _, m := range first {
		fmt.Printf("| start to first API call | %s %d | %s | %s |\n", m.format, m.size, m.wall().Round(time.Millisecond), m.each())
	}
	for _, r := range rates {
		fmt.Printf("| achieved rate ÷ --qps %g (%s latency) | %d calls in %s | %.4f | |\n", r.qps, c.latency, r.calls, r.span.Round(time.Millisecond), r.achieved/r.qps)
	}

	fmt.Printf("| CPU at the vendor's pace | %d rows, --qps %g | %.2f%% of a core | %s |\n", paceRows, paceQPS, 100*paceShare, pace.each())
	fmt.Printf("| CPU of the floor client at that pace | %d calls, %g/s | %.2f%% of a core | %s |\n", paceRows, paceQPS, 100*floorShare, paceFloor.each())

	// The targets of issues 7 and 17.
	fmt.Println("\n## targets (issues 7 and 17)")
	fmt.Println()
	fmt.Println("| target | measured | |")
	fmt.Println("|---|---|---|")
	allOK := runOK
	judge := func(target, measured string, pass bool) {
		verdict := "ok"
		if !pass {
			verdict, allOK = "MISSED", false
		}
		fmt.Printf("| %s | %s | %s |\n", target, measured, verdict)
	}
	find := func(ms []measure, f string, size int) *measure {
		for i := range ms {
			if ms[i].format == f && ms[i].size == size && len(ms[i].runs) > 0 {
				return &ms[i]
			}
		}
		return nil
	}
	const M, K = 1_000_000, 100_000
	for _, t := range []struct {
		f        string
		cpuRatio float64 // CPU per row ÷ the floor's
		rssMiB   int64
		rssRatio float64 // peak RSS at 1M ÷ at 100k
		resume   time.Duration
	}{{"csv", 1.4, 120, 1.3, 3 * time.Second}, {"xlsx", 2.0, 140, 1.5, 10 * time.Second}} {
		m := find(thr, t.f, M)
		if m == nil {
			continue
		}
		fl := floors[M]
		ratio := m.cpuPerRow() / fl.cpuPerRow()
		judge(fmt.Sprintf("1M %s: CPU per row ≤ %.1f × the floor", t.f, t.cpuRatio),
			fmt.Sprintf("%.2f × (%.1f vs %.1f µs/row)", ratio, m.cpuPerRow(), fl.cpuPerRow()), ratio <= t.cpuRatio)
		judge(fmt.Sprintf("1M %s: peak RSS ≤ %d MiB", t.f, t.rssMiB), mib(m.rss()), m.rss() <= t.rssMiB*1024)
		if s := find(thr, t.f, K); s != nil {
			r := float64(m.rss()) / float64(s.rss())
			judge(fmt.Sprintf("%s: peak RSS at 1M ≤ %.1f × at 100k", t.f, t.rssRatio), fmt.Sprintf("%.2f × (%s vs %s)", r, mib(m.rss()), mib(s.rss())), r <= t.rssRatio)
		}
		if r := find(res, t.f, M); r != nil {
			judge(fmt.Sprintf("re-running a finished 1M %s job ≤ %s", t.f, t.resume), r.wall().Round(10*time.Millisecond).String(), r.wall() <= t.resume)
		}
	}
	for _, m := range reuse {
		base := find(thr, "csv", M)
		if m.size != M || base == nil {
			continue
		}
		got, want := M/m.wall().Seconds(), M/base.wall().Seconds()
		judge("1M csv, 95% in the history: rows/s ≥ the 1M csv run's (issue 15)", fmt.Sprintf("%.0f vs %.0f rows/s", got, want), got >= want)
		judge("1M csv, 95% in the history: peak RSS ≤ the 1M csv run's target, 120 MiB (issue 15)", mib(m.rss()), m.rss() <= 120*1024)
	}
	judge(fmt.Sprintf("CPU at the vendor's pace (%d rows, --qps %g, %s latency) ≤ 1.5%% of a core", paceRows, paceQPS, c.latency),
		fmt.Sprintf("%.2f%% (the floor client: %.2f%%, ratio %.2f)", 100*paceShare, 100*floorShare, paceShare/floorShare), paceShare <= 0.015)
	for _, m := range first {
		if len(m.runs) > 0 {
			judge(fmt.Sprintf("first API call ≤ 1s (%s %d)", m.format, m.size), m.wall().Round(time.Millisecond).String(), m.wall() <= time.Second)
		}
	}
	for _, r := range rates {
		ratio := r.achieved / r.qps
		judge(fmt.Sprintf("rate ÷ --qps %g in [0.98, 1.01]", r.qps), fmt.Sprintf("%.4f", ratio), ratio >= 0.98 && ratio <= 1.01)
	}
	if !runOK {
		fmt.Println("\nsome runs failed: see FAILED above")
	}
	return allOK, nil
}

// The vendor's pace: 20 s of calls at a rate such APIs allow.
const (
	paceRows = 1000
	paceQPS  = 50.0
)

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

// wall and rss are the medians of m's runs.
func (m measure) wall() time.Duration {
	return median(m.runs, func(r result) float64 { return float64(r.wall) }, func(f float64) time.Duration { return time.Duration(f) })
}

// cpuPerRow is the median CPU time (user + system) per data row, in µs.
func (m measure) cpuPerRow() float64 {
	cpu := median(m.runs, func(r result) float64 { return float64(r.cpu) }, func(f float64) time.Duration { return time.Duration(f) })
	return float64(cpu.Microseconds()) / float64(m.size)
}

func (m measure) rss() int64 {
	return median(m.runs, func(r result) float64 { return float64(r.rssKiB) }, func(f float64) int64 { return int64(f) })
}

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
