//go:build browser

package main

// The browser test: chromium, driven by chromedp, goes through the web
// console of the real binary as a person would. Run it with
// "make test-browser" (go test -tags browser -run TestBrowser). Without a
// chromium on the PATH it skips, unless CARDVERIFY_REQUIRE_BROWSER=1 (CI).
// CARDVERIFY_SCREENSHOTS=DIR keeps the screenshots of the pages in DIR
// (testdata/web to refresh the README's).

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/xuri/excelize/v2"

	"github.com/cardverify/cardverify/cmd/internal/gen"
	"github.com/cardverify/cardverify/pipeline/juhe/juhetest"
)

// chromium returns the path of a Chromium or Chrome, or skips the test.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no chromium found: install it (apt-get install -y chromium) to run the browser test"
	if os.Getenv("CARDVERIFY_REQUIRE_BROWSER") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func newBrowser(t *testing.T) (context.Context, string) {
	path := chromium(t)
	dl := t.TempDir()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1366, 900), chromedp.Flag("lang", "zh-CN"),
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, tcancel := context.WithTimeout(ctx, 4*time.Minute)
	t.Cleanup(func() { tcancel(); cancel(); acancel() })
	// Start the browser and open the tab with ctx itself: a tab opened
	// under a shorter context would close with it.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dl, EventsEnabled: new(true)}); err != nil {
		t.Fatal(err)
	}
	return ctx, dl
}

// shots saves screenshots of pages.
type shots struct {
	t   *testing.T
	dir string
}

func (s shots) take(ctx context.Context, name string) {
	s.t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		s.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(s.dir, name+".png"), png, 0o644); err != nil {
		s.t.Fatal(err)
	}
}

func run1(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("read %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// waitText waits until the element sel's text satisfies ok.
func waitText(t *testing.T, ctx context.Context, sel string, ok func(string) bool) string {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		actx, cancel := context.WithTimeout(ctx, 2*time.Second)
		s, err := chromedp.Run(actx, chromedp.Text(chromedp.CSS(sel)))
		cancel()
		if err == nil && ok(strings.TrimSpace(s)) {
			return strings.TrimSpace(s)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s is %q after 90 s (err %v)", sel, s, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func is(want string) func(string) bool { return func(s string) bool { return s == want } }

func TestBrowser(t *testing.T) {
	ctx, dl := newBrowser(t)
	shotDir := os.Getenv("CARDVERIFY_SCREENSHOTS")
	if shotDir == "" {
		shotDir = t.TempDir()
	} else if err := os.MkdirAll(shotDir, 0o755); err != nil {
		t.Fatal(err)
	}
	shot := shots{t, shotDir}
	data := t.TempDir()
	srv := startServe(t, t.TempDir(), []string{"JUHE_KEY=" + testKey}, "--sandbox", "--addr", "127.0.0.1:0", "--data", data, "--qps", "20")
	demo, err := filepath.Abs("../../testdata/demo/customers.csv")
	if err != nil {
		t.Fatal(err)
	}

	// Upload the demo list and read the preview.
	run1(t, ctx, "open the console", chromedp.Navigate(srv.url), chromedp.WaitVisible(chromedp.ID("file")))
	shot.take(ctx, "new-job")
	run1(t, ctx, "upload", chromedp.SetUploadFiles(chromedp.ID("file"), []string{demo}),
		chromedp.Click(chromedp.ID("upload")), chromedp.WaitVisible(chromedp.ID("n-calls")))
	for sel, want := range map[string]string{"#n-rows": "30", "#n-invalid": "3", "#n-dups": "1", "#n-calls": "26"} {
		if got := text(t, ctx, sel); got != want {
			t.Errorf("preview %s = %q, want %q", sel, got, want)
		}
	}
	if got := text(t, ctx, "#sandbox-banner"); !strings.Contains(got, "模拟") {
		t.Errorf("no sandbox banner on the preview: %q", got)
	}
	// Change the card column to the phone column, then back.
	run1(t, ctx, "choose the phone as card", chromedp.SetValue(chromedp.ID("card-col"), "4"), chromedp.Click(chromedp.ID("repreview")))
	waitText(t, ctx, "#n-invalid", is("30"))
	if got := text(t, ctx, "#n-calls"); got != "0" {
		t.Errorf("with the phone as card: %s calls, want 0", got)
	}
	run1(t, ctx, "choose the card column", chromedp.SetValue(chromedp.ID("card-col"), "3"), chromedp.Click(chromedp.ID("repreview")))
	waitText(t, ctx, "#n-invalid", is("3"))
	shot.take(ctx, "preview")

	// Start: the button needs the confirmation ticked.
	run1(t, ctx, "start unconfirmed", chromedp.Click(chromedp.ID("start")))
	if got := text(t, ctx, "h1"); got != "核验预览" {
		t.Errorf("start without the confirmation left the preview for %q", got)
	}
	run1(t, ctx, "start", chromedp.Click(chromedp.ID("confirm")), chromedp.Click(chromedp.ID("start")))
	waitText(t, ctx, "#f-state", is("已完成"))
	if got := text(t, ctx, "#f-rows"); got != "30 / 30" {
		t.Errorf("done job rows %q, want 30 / 30", got)
	}
	shot.take(ctx, "job")
	jobURL, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}

	// Download the workbook and check its verdicts.
	dctx, dcancel := context.WithTimeout(ctx, 30*time.Second)
	progress := chromedp.BrowserEvents(dctx, browser.DownloadProgress)
	run1(t, ctx, "download", chromedp.Click(chromedp.ID("download-xlsx")))
	var xlsx string
	for ev, err := range progress {
		if err != nil {
			t.Fatalf("the download did not complete: %v", err)
		}
		if ev.State == browser.DownloadProgressStateCompleted {
			// Downloads are named by their GUID: give it its name back.
			xlsx = filepath.Join(dl, "customers.verified.xlsx")
			if err := os.Rename(filepath.Join(dl, ev.GUID), xlsx); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	dcancel()
	checkDemoVerdicts(t, xlsx)

	// The Summary, and an audit of the downloaded workbook.
	run1(t, ctx, "summary", chromedp.Click(chromedp.ID("summary-link")), chromedp.WaitVisible(chromedp.ID("summary")))
	if got := text(t, ctx, "#sum-rows"); got != "30" {
		t.Errorf("summary rows %q, want 30", got)
	}
	shot.take(ctx, "summary")
	run1(t, ctx, "audit", chromedp.Navigate(jobURL+"/audit"), chromedp.SetUploadFiles(chromedp.ID("file"), []string{xlsx}),
		chromedp.Click(chromedp.ID("audit")), chromedp.WaitVisible(chromedp.ID("audit-result")))
	if got := text(t, ctx, "#audit-result"); !strings.Contains(got, "30 行都与检查点记录相符") {
		t.Errorf("audit: %q", got)
	}
	shot.take(ctx, "audit")

	// A longer job: stop it in the middle, resume it.
	long := filepath.Join(t.TempDir(), "long-list.csv")
	if err := gen.Write(long, "csv", gen.Options{Rows: 200, Seed: 3, Clean: true}); err != nil {
		t.Fatal(err)
	}
	run1(t, ctx, "upload the long list", chromedp.Navigate(srv.url), chromedp.SetUploadFiles(chromedp.ID("file"), []string{long}),
		chromedp.Click(chromedp.ID("upload")), chromedp.WaitVisible(chromedp.ID("n-calls")))
	if got := text(t, ctx, "#n-calls"); got != "200" {
		t.Fatalf("long list: %s calls, want 200", got)
	}
	run1(t, ctx, "start the long job", chromedp.Click(chromedp.ID("confirm")), chromedp.Click(chromedp.ID("start")))
	waitText(t, ctx, "#f-rows", func(s string) bool {
		n, _ := strconv.Atoi(strings.Fields(s + " x")[0])
		return n >= 20
	})
	shot.take(ctx, "job-running")
	run1(t, ctx, "stop", chromedp.Click(chromedp.ID("stop")))
	waitText(t, ctx, "#f-state", is("已停止"))
	rows := text(t, ctx, "#f-rows")
	var done, total int
	fmt.Sscanf(rows, "%d / %d", &done, &total)
	if done == 0 || done >= 200 || total != 200 {
		t.Errorf("stopped job rows %q, want some of 200", rows)
	}
	run1(t, ctx, "resume", chromedp.Click(chromedp.ID("resume")))
	waitText(t, ctx, "#f-state", is("已完成"))
	if got := text(t, ctx, "#f-calls"); got != "200" {
		t.Errorf("after stop and resume: %s calls, want 200 (nothing sent twice)", got)
	}
	run1(t, ctx, "jobs", chromedp.Navigate(srv.url+"jobs"), chromedp.WaitVisible(chromedp.ID("jobs")))
	shot.take(ctx, "jobs")
	run1(t, ctx, "english", chromedp.Navigate(srv.url+"jobs?lang=en"), chromedp.WaitVisible(chromedp.ID("jobs")))
	if got := text(t, ctx, "h1"); got != "Jobs" {
		t.Errorf("?lang=en title %q, want Jobs", got)
	}
	run1(t, ctx, "chinese", chromedp.Navigate(srv.url+"?lang=zh"))

	// Bound to a non-loopback address: the login page first.
	addr := freeAddr(t, "0.0.0.0")
	_, port, _ := net.SplitHostPort(addr)
	pw := startServe(t, t.TempDir(), []string{"JUHE_KEY=" + testKey, "CV_TEST_PASSWORD=open sesame"}, "--sandbox", "--addr", "0.0.0.0:"+port,
		"--data", t.TempDir(), "--password-env", "CV_TEST_PASSWORD")
	base := "http://127.0.0.1:" + port + "/"
	run1(t, ctx, "open the guarded console", chromedp.Navigate(base+"jobs"), chromedp.WaitVisible(chromedp.ID("password")))
	shot.take(ctx, "login")
	run1(t, ctx, "wrong password", chromedp.SendKeys(chromedp.ID("password"), "guess"), chromedp.Click(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.ID("error")))
	run1(t, ctx, "log in", chromedp.SendKeys(chromedp.ID("password"), "open sesame"), chromedp.Click(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.ID("file")))
	pw.stop(t)
	srv.stop(t)
	for _, p := range []*serveProc{srv, pw} {
		if strings.Contains(p.errb.String(), testKey) {
			t.Errorf("serve's log holds the key")
		}
	}
}

// checkDemoVerdicts checks the demo's verdicts in a workbook by the
// sandbox's documented rule (juhetest): a card ending in 0 or 1 mismatches,
// 9999990000218805 is refused, any other valid card matches.
func checkDemoVerdicts(t *testing.T, path string) {
	t.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows(f.GetSheetName(0))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 31 || len(rows[0]) < 6 || rows[0][5] != "核验状态" {
		t.Fatalf("workbook: %d rows, header %q", len(rows), rows[0])
	}
	want := juhetest.DemoStatuses(t)
	for i, r := range rows[1:] {
		if n := i + 2; r[5] != want[n] {
			t.Errorf("row %d (card %s): status %q, want %q", n, r[2], r[5], want[n])
		}
	}
}
