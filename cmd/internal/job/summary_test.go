package job

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/cardverify/cardverify/pipeline"
	"github.com/cardverify/cardverify/store"
)

// summarySheet reads a workbook's Summary sheet: its rows as shown.
func summarySheet(tb testing.TB, path, sheet string) [][]string {
	tb.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows(sheet)
	if err != nil {
		tb.Fatal(err)
	}
	return rows
}

// fields maps the labels in column A to the value in column B, for the
// rows above the first table.
func fields(rows [][]string, until string) map[string]string {
	m := map[string]string{}
	for _, r := range rows {
		if len(r) > 0 && r[0] == until {
			break
		}
		if len(r) >= 2 {
			m[r[0]] = r[1]
		}
	}
	return m
}

// table returns the rows under the header that follows the row whose A cell
// is title, up to the next empty row.
func table(tb testing.TB, rows [][]string, title string) [][]string {
	tb.Helper()
	for i, r := range rows {
		if len(r) > 0 && r[0] == title {
			var out [][]string
			for _, t := range rows[i+2:] {
				if len(t) == 0 || t[0] == "" {
					break
				}
				out = append(out, t)
			}
			return out
		}
	}
	tb.Fatalf("no %q in the Summary sheet", title)
	return nil
}

// chinaText is how a date-time cell of the Summary shows t.
func chinaText(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(time.FixedZone("CST", 8*3600)).Format("2006-01-02 15:04:05") + "+08:00"
}

// TestSummaryOfThreeRuns runs a job in three runs (interrupted, stopped by
// --max-billed, finished) and checks the Summary sheet field by field
// against the checkpoint, in both languages.
func TestSummaryOfThreeRuns(t *testing.T) {
	ctx := context.Background()
	c := Config{Input: copyDemo(t), Sandbox: true, Endpoint: "plain", Lang: "zh", QPS: 20,
		Timeout: 10 * time.Second, MaxAttempts: 2, Price: 0.35, KeyFile: filepath.Join(t.TempDir(), "fingerprint.key")}
	c.DefaultPaths()
	c.Out = strings.TrimSuffix(c.Out, ".csv") + ".xlsx"
	const secret = "0123456789abcdef0123456789abcdef"
	env := func(stop <-chan struct{}, args ...string) Env {
		return Env{Version: "v-test", Stop: stop, User: "auditee", Host: "box" + strconv.Itoa(len(args)),
			Command: CommandLine(append([]string{"cardverify", "run", c.Input, "--key", secret}, args...))}
	}

	// Run 1: stopped (as by Ctrl-C) once a few calls are made.
	stop := make(chan struct{})
	var once sync.Once
	e1 := env(stop)
	e1.Progress = func(func() int) (func(pipeline.Stats), func()) {
		return func(s pipeline.Stats) {
			if s.Calls >= 3 {
				once.Do(func() { close(stop) })
			}
		}, func() {}
	}
	if _, err := Run(ctx, c, e1); !errors.Is(err, pipeline.ErrIncomplete) {
		t.Fatalf("run 1: %v, want an interrupted run", err)
	}
	// Run 2: a budget of 5 more billed calls.
	st, err := statusOf(ctx, c.DB)
	if err != nil {
		t.Fatal(err)
	}
	c2 := c
	c2.MaxBilled = st.BilledCalls + st.PossiblyBilled + st.SimulatedBilled + 5 // a sandbox run counts what the real API would bill
	if _, err := Run(ctx, c2, env(nil, "--max-billed", strconv.Itoa(c2.MaxBilled))); !errors.Is(err, pipeline.ErrBudget) {
		t.Fatalf("run 2: %v, want the budget reached", err)
	}
	// Run 3: to the end.
	if _, err := Run(ctx, c, env(nil, "--qps", "20", "--price", "0.35")); err != nil {
		t.Fatalf("run 3: %v", err)
	}

	st, err = statusOf(ctx, c.DB)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.RunLog) != 3 {
		t.Fatalf("the checkpoint has %d runs, want 3", len(st.RunLog))
	}
	for i, want := range []string{store.StopInterrupted, store.StopBudget, store.StopDone} {
		if got := st.RunLog[i].Stop; got != want {
			t.Errorf("run %d stop = %q, want %q", i+1, got, want)
		}
	}
	if r := st.RunLog[1]; r.SimulatedBilled != 5 || r.Billed != 0 {
		t.Errorf("run 2 made %d simulated calls of code 0 and %d billed, want its budget of 5 and none billed: nobody bills the sandbox",
			r.SimulatedBilled, r.Billed)
	}
	days := 0
	for _, d := range st.Days {
		days += d.Billed
	}
	if days != 0 || st.BilledCalls != 0 || st.PossiblyBilled != 0 || st.SimulatedCalls != st.Calls || st.Calls == 0 {
		t.Errorf("billed calls per day add up to %d, the job billed %d + %d possibly of %d calls, %d simulated: want every call simulated, none billed",
			days, st.BilledCalls, st.PossiblyBilled, st.Calls, st.SimulatedCalls)
	}

	b, err := os.ReadFile(c.Out)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), secret) {
		t.Error("the workbook holds the API key")
	}

	for _, lang := range []struct {
		code, sheet                                   string
		version, output, rows, runs, calls, billed    string
		possibly, keyID, operator, url, price, cost   string
		costMax, runsTitle, daysTitle, total, source  string
		command, simulated                            string
		stops                                         [3]string
		signOff, preparedBy, reviewedBy, statusHeader string
	}{
		{"zh", "汇总", "工具版本", "输出文件", "数据行数", "运行次数", "调用总次数", "计费调用次数",
			"可能计费的调用次数（应答未完整收到）", "API 密钥标识（非密钥本身）", "操作人（系统用户@主机）", "接口地址",
			"单价（元/次计费调用）", "费用（计费调用 × 单价，元）", "费用上限（计费 + 可能计费 × 单价，元）",
			"各次运行", "每日计费调用（北京时间，与聚合数据账单核对）", "合计", "模拟接口（SANDBOX，不是真实核验结果）",
			"第 %d 次运行的命令行", "模拟调用次数（模拟接口，不计费）",
			[3]string{"被中断（Ctrl-C 或停止）", "达到计费上限（--max-billed）", "已完成"},
			"签核", "编制人", "复核人", "核验状态"},
		{"en", "Summary", "Tool version", "Output file", "Data rows", "Number of runs", "Total calls", "Billed calls",
			"Possibly billed calls (answer not received intact)", "API key identifier (not the key)", "Run by (OS user@host)", "API address",
			"Price (yuan per billed call)", "Cost (billed calls × price, yuan)", "Cost at most (billed + possibly billed × price, yuan)",
			"Runs", "Billed calls per day (China time, to match Juhe's bill)", "Total", "the simulated API (SANDBOX, not real verdicts)",
			"Command line of run %d", "Simulated calls (a simulated API: billed by nobody)",
			[3]string{"interrupted (Ctrl-C or Stop)", "billed budget reached (--max-billed)", "finished"},
			"Sign-off", "Prepared by", "Reviewed by", "Status"},
	} {
		t.Run(lang.code, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "export."+lang.code+".xlsx")
			err := WriteOutput(ctx, mustOpenRO(t, c.DB, c.KeyFile), &st, Output{Input: c.Input, Path: out, Lang: lang.code, Price: 0.35, Version: "v-test"})
			if err != nil {
				t.Fatal(err)
			}
			rows := summarySheet(t, out, lang.sheet)
			f := fields(rows, lang.runsTitle)
			for _, w := range []struct{ label, want string }{
				{lang.version, "v-test"},
				{lang.output, filepath.Base(out)},
				{lang.rows, strconv.Itoa(st.Rows)},
				{lang.runs, "3"},
				{lang.calls, strconv.Itoa(st.Calls)},
				{lang.billed, strconv.Itoa(st.BilledCalls)},
				{lang.possibly, strconv.Itoa(st.PossiblyBilled)},
				{lang.simulated, strconv.Itoa(st.Calls)}, // every call of a sandbox job, none billed
				{lang.operator, "auditee@box0\nauditee@box2\nauditee@box4"},
				{lang.source, ""},
				{lang.price, "0.35"},
				{lang.cost, fmt.Sprintf("%.2f", float64(st.BilledCalls)*0.35)},
				{lang.costMax, fmt.Sprintf("%.2f", float64(st.BilledCalls+st.PossiblyBilled)*0.35)},
			} {
				if w.label == lang.source {
					continue
				}
				if got, ok := f[w.label]; !ok || got != w.want {
					t.Errorf("%s = %q, want %q", w.label, got, w.want)
				}
			}
			if id := f[lang.keyID]; !strings.HasPrefix(id, "sha256:") || len(id) != len("sha256:")+12 {
				t.Errorf("%s = %q, want sha256: and 12 hex digits", lang.keyID, id)
			}
			if u := f[lang.url]; !strings.HasPrefix(u, "http://127.0.0.1:") || !strings.HasSuffix(u, "/verifybankcard/query") {
				t.Errorf("%s = %q, want the sandbox's loopback address and /verifybankcard/query", lang.url, u)
			}
			if !strings.Contains(strings.Join(flatten(rows), "\n"), lang.source) {
				t.Errorf("the Summary does not say %q", lang.source)
			}

			runs := table(t, rows, lang.runsTitle)
			if len(runs) < 6 {
				t.Fatalf("runs table %q: want 3 runs and 3 command lines", runs)
			}
			for i, r := range st.RunLog {
				got := runs[i]
				want := []string{chinaText(r.Started), chinaText(r.Ended), lang.stops[i], strconv.Itoa(r.Calls),
					strconv.Itoa(r.Billed), strconv.Itoa(r.PossiblyBilled), strconv.FormatFloat(r.QPS, 'f', -1, 64), r.User + "@" + r.Host}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("run %d\n got  %q\n want %q", i+1, got, want)
				}
				cmd := runs[3+i]
				if cmd[0] != fmt.Sprintf(lang.command, i+1) || !strings.Contains(cmd[1], "--key ***") || cmd[1] != r.Command {
					t.Errorf("command of run %d = %q, want label %q and %q with the key hidden", i+1, cmd, fmt.Sprintf(lang.command, i+1), r.Command)
				}
			}

			perDay := table(t, rows, lang.daysTitle)
			sum := 0
			for _, d := range perDay[:len(perDay)-1] {
				n, _ := strconv.Atoi(d[1])
				sum += n
			}
			last := perDay[len(perDay)-1]
			if len(perDay)-1 != len(st.Days) || last[0] != lang.total || last[1] != strconv.Itoa(st.BilledCalls) || sum != st.BilledCalls {
				t.Errorf("billed per day %q: want %d days adding up to %d, then a total", perDay, len(st.Days), st.BilledCalls)
			}
			for i, d := range st.Days {
				want := []string{d.Day, strconv.Itoa(d.Billed), strconv.Itoa(d.PossiblyBilled), strconv.Itoa(d.Calls)}
				if fmt.Sprint(perDay[i]) != fmt.Sprint(want) {
					t.Errorf("day %d: got %q, want %q", i+1, perDay[i], want)
				}
			}

			var sign []string
			for i, r := range rows {
				if len(r) > 0 && r[0] == lang.signOff {
					for _, s := range rows[i+1:] {
						if len(s) > 0 {
							sign = append(sign, s[0])
						}
					}
				}
			}
			if fmt.Sprint(sign) != fmt.Sprint([]string{lang.preparedBy, lang.reviewedBy}) {
				t.Errorf("sign-off block %q, want %q and %q", sign, lang.preparedBy, lang.reviewedBy)
			}
		})
	}
}

func flatten(rows [][]string) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r...)
	}
	return out
}

func statusOf(ctx context.Context, path string) (store.Status, error) {
	db, err := store.OpenReadOnly(ctx, path, "")
	if err != nil {
		return store.Status{}, err
	}
	defer db.Close()
	return db.Status(ctx)
}

func mustOpenRO(tb testing.TB, path, keyFile string) *store.DB {
	tb.Helper()
	db, err := store.OpenReadOnly(context.Background(), path, keyFile)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}
