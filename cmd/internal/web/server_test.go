package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/cardverify/cardverify/cmd/internal/gen"
	"github.com/cardverify/cardverify/cmd/internal/job"
	"github.com/cardverify/cardverify/pipeline/juhe/juhetest"
)

// testKey is the API key the tests give serve: no response may hold it.
const testKey = "k3y0123456789abcdef0123456789ab"

const demo = "../../../testdata/demo/customers.csv"

// console is a Server under test over httptest, with a client that keeps
// cookies and checks that no response holds the key.
type console struct {
	t    testing.TB
	srv  *httptest.Server
	jobs *Jobs
	c    *http.Client
	data string
}

type consoleOpt struct {
	addr, password string
	maxUpload      int64
	qps            float64
	data           string
}

func newConsole(t testing.TB, o consoleOpt) *console {
	t.Helper()
	if o.addr == "" {
		o.addr = "127.0.0.1:8080"
	}
	if o.qps == 0 {
		o.qps = 1000
	}
	if o.data == "" {
		o.data = t.TempDir()
	}
	api := job.Config{Endpoint: "plain", Key: testKey, QPS: o.qps, Timeout: 5 * time.Second, MaxAttempts: 2, Sandbox: true, Lang: "zh"}
	jobs, err := OpenJobs(o.data, api, "test", time.Now)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	jobs.Start(ctx)
	s, err := New(jobs, Options{Addr: o.addr, Password: o.password, MaxUpload: o.maxUpload, Sandbox: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(func() {
		srv.Close()
		cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer ccancel()
		if err := jobs.Close(cctx); err != nil {
			t.Errorf("close jobs: %v", err)
		}
		cancel()
	})
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &console{t: t, srv: srv, jobs: jobs, c: c, data: o.data}
}

// do sends req and returns the response with its body read.
func (cs *console) do(req *http.Request) (*http.Response, string) {
	cs.t.Helper()
	resp, err := cs.c.Do(req)
	if err != nil {
		cs.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		cs.t.Fatal(err)
	}
	if bytes.Contains(b, []byte(testKey)) {
		cs.t.Fatalf("%s %s: the response holds the API key", req.Method, req.URL.Path)
	}
	return resp, string(b)
}

func (cs *console) get(path string) (*http.Response, string) {
	cs.t.Helper()
	req, _ := http.NewRequest("GET", cs.srv.URL+path, nil)
	return cs.do(req)
}

// csrf returns the CSRF token the console's pages carry for this client.
func (cs *console) csrf() string {
	cs.t.Helper()
	resp, body := cs.get("/login")
	if resp.StatusCode == http.StatusSeeOther { // logged in already
		_, body = cs.get("/")
	}
	m := regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`).FindStringSubmatch(body)
	if m == nil {
		cs.t.Fatalf("no CSRF token in the login page:\n%s", body)
	}
	return m[1]
}

// waitPreview waits until the preview of job id is made.
func (cs *console) waitPreview(id string) {
	cs.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if r, _ := cs.jobs.Get(id); !r.Previewing {
			return
		}
		if time.Now().After(deadline) {
			cs.t.Fatalf("the preview of job %s did not end", id)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (cs *console) post(path string, form url.Values) (*http.Response, string) {
	cs.t.Helper()
	req, _ := http.NewRequest("POST", cs.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return cs.do(req)
}

// upload posts the file at path (named name) to action with the CSRF token.
func (cs *console) upload(action, name string, content []byte, token string) (*http.Response, string) {
	cs.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("csrf", token)
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write(content)
	mw.Close()
	req, _ := http.NewRequest("POST", cs.srv.URL+action, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return cs.do(req)
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// uploadJob uploads a list and returns the new job's id.
func (cs *console) uploadJob(name string, content []byte, token string) string {
	cs.t.Helper()
	return cs.created(cs.upload("/jobs", name, content, token))
}

// created waits for the preview of the job an upload's response
// redirects to, and returns the job's id.
func (cs *console) created(resp *http.Response, body string) string {
	cs.t.Helper()
	m := regexp.MustCompile(`^/jobs/([0-9a-f]{16})$`).FindStringSubmatch(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || m == nil {
		cs.t.Fatalf("got %d to %q, want a redirect to a job:\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	cs.waitPreview(m[1])
	return m[1]
}

// waitState waits until job id is in state want.
func (cs *console) waitState(id, want string) Record {
	cs.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		r, _ := cs.jobs.Get(id)
		if r.State == want {
			return r
		}
		if time.Now().After(deadline) {
			cs.t.Fatalf("job %s is %s (%s), want %s", id, r.State, r.Message, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// figure returns the text of the element with id in a page.
func figure(t testing.TB, body, id string) string {
	t.Helper()
	m := regexp.MustCompile(`id="` + regexp.QuoteMeta(id) + `"[^>]*>([^<]*)<`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no element %q in the page:\n%s", id, body)
	}
	return m[1]
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8080": true, "[::1]:8080": true, "localhost:80": true,
		"0.0.0.0:8080": false, ":8080": false, "127.0.0.2:8080": false, "192.168.1.5:8080": false, "bad": false,
	} {
		if got := IsLoopback(addr); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", addr, got, want)
		}
	}
}

func TestNonLoopbackNeedsPassword(t *testing.T) {
	jobs, err := OpenJobs(t.TempDir(), job.Config{Sandbox: true}, "test", time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(jobs, Options{Addr: "0.0.0.0:8080"}); err == nil || !strings.Contains(err.Error(), "--password-env") {
		t.Errorf("New on 0.0.0.0 without a password: err = %v, want a refusal naming --password-env", err)
	}
	if _, err := New(jobs, Options{Addr: "0.0.0.0:8080", Password: "pw"}); err != nil {
		t.Errorf("New on 0.0.0.0 with a password: %v", err)
	}
}

// TestWholeFlow uploads the demo list, changes the card column and back,
// starts, downloads both formats and audits the workbook.
func TestWholeFlow(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	cs := newConsole(t, consoleOpt{})
	resp, body := cs.get("/")
	if resp.StatusCode != 200 || !strings.Contains(body, "最大 200 MiB") || !strings.Contains(body, "模拟模式") {
		t.Fatalf("new job page: %d, want the limit and the sandbox mark:\n%s", resp.StatusCode, body)
	}
	for _, h := range []string{"Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"} {
		if resp.Header.Get(h) == "" {
			t.Errorf("no %s header", h)
		}
	}
	token := cs.csrf()
	id := cs.uploadJob("customers.csv", readFile(t, demo), token)

	// The demo list: 30 rows; row 14 (11 digits), 17 (no name) and 23 (a
	// letter in the card) invalid; row 11 repeats row 5; 26 pairs to send.
	_, body = cs.get("/jobs/" + id)
	for id, want := range map[string]string{"n-rows": "30", "n-invalid": "3", "n-dups": "1", "n-calls": "26"} {
		if got := figure(t, body, id); got != want {
			t.Errorf("preview %s = %q, want %q", id, got, want)
		}
	}
	for _, want := range []string{"<td class=\"rows\">14</td>", "<td class=\"rows\">17</td>", "<td class=\"rows\">23</td>", "第 11 行与第 5 行相同", "卡号含有数字以外的字符：只保留数字", `<option value="3" selected>C · 银行卡号</option>`} {
		if !strings.Contains(body, want) {
			t.Errorf("preview lacks %q", want)
		}
	}
	if _, body := cs.get("/jobs/" + id + "?lang=en"); !strings.Contains(body, "card number has characters other than digits") {
		t.Errorf("the English preview does not give the reasons in English")
	}
	cs.get("/?lang=zh")
	// The phone column as the card column: every phone has 11 digits.
	resp, body = cs.post("/jobs/"+id+"/preview", url.Values{"csrf": {token}, "name_col": {"2"}, "card_col": {"4"}, "header_row": {"1"}})
	cs.waitPreview(id)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("preview again: %d\n%s", resp.StatusCode, body)
	}
	_, body = cs.get("/jobs/" + id)
	if got := figure(t, body, "n-invalid"); got != "30" {
		t.Errorf("with the phone as card: %s invalid, want 30", got)
	}
	if got := figure(t, body, "n-calls"); got != "0" {
		t.Errorf("with the phone as card: %s calls, want 0", got)
	}
	cs.post("/jobs/"+id+"/preview", url.Values{"csrf": {token}, "name_col": {"2"}, "card_col": {"3"}})
	cs.waitPreview(id)

	// A draft has no Summary, no audit and no download yet.
	for _, p := range []string{"/summary", "/download/csv"} {
		if resp, _ := cs.get("/jobs/" + id + p); resp.StatusCode != http.StatusConflict {
			t.Errorf("GET %s of a draft: %d, want 409", p, resp.StatusCode)
		}
	}
	if resp, _ := cs.upload("/jobs/"+id+"/audit", "x.csv", []byte("a\n"), token); resp.StatusCode != http.StatusConflict {
		t.Errorf("audit of a draft: %d, want 409", resp.StatusCode)
	}

	// Start needs the confirmation of the preview's figure.
	if resp, _ := cs.post("/jobs/"+id+"/start", url.Values{"csrf": {token}, "calls": {"26"}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("start without confirmation: %d, want 400", resp.StatusCode)
	}
	if resp, _ := cs.post("/jobs/"+id+"/start", url.Values{"csrf": {token}, "calls": {"0"}, "confirm": {"yes"}}); resp.StatusCode != http.StatusConflict {
		t.Errorf("start confirming another figure: %d, want 409", resp.StatusCode)
	}
	if resp, body := cs.post("/jobs/"+id+"/start", url.Values{"csrf": {token}, "calls": {"26"}, "confirm": {"yes"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("start: %d\n%s", resp.StatusCode, body)
	}
	rec := cs.waitState(id, Done)
	if rec.Status == nil || rec.Status.Calls != 26 || rec.Status.Invalid != 3 {
		t.Errorf("done job status = %+v, want 26 calls and 3 invalid rows", rec.Status)
	}
	_, body = cs.get("/jobs/" + id)
	if got := figure(t, body, "f-state"); got != "已完成" {
		t.Errorf("job page state %q, want 已完成", got)
	}
	if got := figure(t, body, "f-rows"); got != "30 / 30" {
		t.Errorf("job page rows %q, want 30 / 30", got)
	}
	for _, want := range []string{"已上传 customers.csv", "已排队：确认最多付费调用 26 次", "模拟模式：结果来自内置的模拟接口"} {
		if !strings.Contains(body, want) {
			t.Errorf("the job's log lacks %q:\n%s", want, body)
		}
	}
	if _, body := cs.get("/jobs/" + id + "?lang=en"); !strings.Contains(body, "uploaded customers.csv") || strings.Contains(body, "已上传") {
		t.Errorf("the job's log is not English with ?lang=en")
	}
	cs.get("/?lang=zh")
	_, body = cs.get("/jobs")
	if !strings.Contains(body, `data-job="`+id+`"`) || !strings.Contains(body, "已完成") {
		t.Errorf("jobs page lacks the done job:\n%s", body)
	}
	_, body = cs.get("/jobs/" + id + "/summary")
	if got := figure(t, body, "sum-rows"); got != "30" {
		t.Errorf("summary rows %q, want 30", got)
	}

	resp, xlsx := cs.get("/jobs/" + id + "/download/xlsx")
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Disposition"), "customers.verified.xlsx") {
		t.Fatalf("download: %d %q", resp.StatusCode, resp.Header.Get("Content-Disposition"))
	}
	checkVerdicts(t, []byte(xlsx))
	resp, csv := cs.get("/jobs/" + id + "/download/csv")
	if resp.StatusCode != 200 || !strings.Contains(csv, "核验状态") {
		t.Errorf("CSV download: %d, no status column", resp.StatusCode)
	}

	// No file serve keeps holds the key, nor job.json a card number.
	filepath.Walk(cs.data, func(path string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() && bytes.Contains(readFile(t, path), []byte(testKey)) {
			t.Errorf("%s holds the API key", path)
		}
		return nil
	})
	if b := readFile(t, filepath.Join(jobDir(cs.data, id), "job.json")); bytes.Contains(b, []byte("6228488159083016614")) || bytes.Contains(b, []byte("陈杰")) {
		t.Errorf("job.json holds a card number or a name")
	}

	// Audit: the workbook as downloaded is fine; an edited one is not.
	if resp, body := cs.get("/jobs/" + id + "/audit"); resp.StatusCode != 200 || !strings.Contains(body, `enctype="multipart/form-data"`) {
		t.Errorf("audit page: %d, want the upload form", resp.StatusCode)
	}
	_, body = cs.upload("/jobs/"+id+"/audit", "back.xlsx", []byte(xlsx), token)
	if !strings.Contains(body, "一致：30 行都与检查点记录相符") {
		t.Errorf("audit of the downloaded workbook:\n%s", body)
	}
	edited := strings.Replace(csv, "不一致", "一致", 1)
	_, body = cs.upload("/jobs/"+id+"/audit", "back.csv", []byte(edited), token)
	if !strings.Contains(body, `id="diffs"`) {
		t.Errorf("audit of an edited CSV shows no difference:\n%s", body)
	}
}

// checkVerdicts checks the demo's verdicts in a downloaded workbook by the
// sandbox's documented rule (juhetest): a card ending in 0 or 1 mismatches,
// 9999990000218805 is refused (218805), any other valid card matches.
func checkVerdicts(t testing.TB, b []byte) {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows(f.GetSheetName(0))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 31 || rows[0][5] != "核验状态" {
		t.Fatalf("workbook: %d rows, header %q", len(rows), rows[0])
	}
	want := juhetest.DemoStatuses(t)
	for i, r := range rows[1:] {
		if n := i + 2; r[5] != want[n] {
			t.Errorf("row %d (card %s): status %q, want %q", n, r[2], r[5], want[n])
		}
	}
}

func TestSecurity(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	cs := newConsole(t, consoleOpt{addr: "0.0.0.0:8080", password: "correct horse", maxUpload: 1 << 20})

	// No session: every page sends to the login page, every action is refused.
	for _, p := range []string{"/", "/jobs", "/jobs/0123456789abcdef", "/jobs/0123456789abcdef/download/xlsx"} {
		resp, _ := cs.get(p)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
			t.Errorf("GET %s without login: %d to %q, want 303 to /login", p, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	token := cs.csrf()
	if resp, _ := cs.upload("/jobs", "a.csv", []byte("姓名,银行卡号\n张三,6228480000000000\n"), token); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("upload without login: %d, want 401", resp.StatusCode)
	}

	// The login: a wrong password, then the right one.
	if resp, _ := cs.post("/login", url.Values{"csrf": {token}, "password": {"wrong"}}); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong password: %d, want 401", resp.StatusCode)
	}
	if resp, _ := cs.post("/login", url.Values{"csrf": {"bad"}, "password": {"correct horse"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("login with a bad CSRF token: %d, want 403", resp.StatusCode)
	}
	resp, _ := cs.post("/login", url.Values{"csrf": {token}, "password": {"correct horse"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("login: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode {
		t.Errorf("session cookie %+v, want HttpOnly and SameSite=Strict", cookie)
	}
	if resp, body := cs.get("/"); resp.StatusCode != 200 || !strings.Contains(body, "退出登录") {
		t.Errorf("after login: %d, want the page with a log out button", resp.StatusCode)
	}
	token = cs.csrf() // a new session at login: a new token

	// A bad CSRF token, and none.
	for _, tok := range []string{"", "00" + token[2:]} {
		if resp, body := cs.upload("/jobs", "a.csv", []byte("姓名,银行卡号\n张三,6228480000000000\n"), tok); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "CSRF") {
			t.Errorf("upload with CSRF token %q: %d, want 403 naming CSRF", tok, resp.StatusCode)
		}
	}
	// A cross-site request is refused before anything else.
	req, _ := http.NewRequest("POST", cs.srv.URL+"/jobs/0123456789abcdef/stop", strings.NewReader("csrf="+token))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Origin", "https://evil.example")
	if resp, _ := cs.do(req); resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site POST: %d, want 403", resp.StatusCode)
	}

	// An upload over the limit, of the wrong type, with lying content.
	big := bytes.Repeat([]byte("张三,6228480000000000\n"), (2<<20)/24)
	if resp, body := cs.upload("/jobs", "big.csv", big, token); resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(body, "最大 1 MiB") {
		t.Errorf("oversized upload: %d, want 413 stating the limit:\n%s", resp.StatusCode, body)
	}
	if resp, body := cs.upload("/jobs", "list.xls", []byte("\xD0\xCF\x11\xE0old"), token); resp.StatusCode != http.StatusUnsupportedMediaType || !strings.Contains(body, ".xlsx") {
		t.Errorf(".xls upload: %d, want 415 saying what is accepted", resp.StatusCode)
	}
	if resp, _ := cs.upload("/jobs", "list.xlsx", []byte("姓名,银行卡号\n"), token); resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("a CSV named .xlsx: %d, want 415", resp.StatusCode)
	}
	if resp, _ := cs.upload("/jobs", "list.csv", []byte("PK\x03\x04zip"), token); resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("a zip named .csv: %d, want 415", resp.StatusCode)
	}

	// Path tricks in ids.
	id := cs.uploadJob("../../etc/passwd.csv", readFile(t, demo), token)
	for _, p := range []string{"/jobs/../../etc/passwd", "/jobs/%2e%2e%2f%2e%2e%2fetc", "/jobs/" + strings.ToUpper(id),
		"/jobs/" + id + "x", "/jobs/0123456789abcdef", "/jobs/" + id + "/download/..%2fjob.json", "/jobs/" + id + "/download/json",
		"/jobs/..%2f" + id + "/summary", "/static/../jobs"} {
		if resp, _ := cs.get(p); resp.StatusCode != http.StatusNotFound && !(resp.StatusCode/100 == 3 && !strings.Contains(resp.Header.Get("Location"), "..")) {
			t.Errorf("GET %s: %d (to %q), want 404", p, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	if rec, _ := cs.jobs.Get(id); rec.Name != "passwd.csv" {
		t.Errorf("uploaded name kept as %q, want its base passwd.csv", rec.Name)
	}

	// Rate-limited login attempts: 5 per address at once, then 429.
	cs2 := &console{t: t, srv: cs.srv, jobs: cs.jobs, c: &http.Client{CheckRedirect: cs.c.CheckRedirect}}
	jar, _ := cookiejar.New(nil)
	cs2.c.Jar = jar
	tok2 := cs2.csrf()
	var codes []int
	for range 7 {
		resp, _ := cs2.post("/login", url.Values{"csrf": {tok2}, "password": {"guess"}})
		codes = append(codes, resp.StatusCode)
	}
	if codes[len(codes)-1] != http.StatusTooManyRequests {
		t.Errorf("7 quick wrong logins: %v, want the last refused with 429", codes)
	}
	if resp, _ := cs2.post("/login", url.Values{"csrf": {tok2}, "password": {"correct horse"}}); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("the right password while limited: %d, want 429", resp.StatusCode)
	}

	// Logging out ends the session.
	cs.post("/logout", url.Values{"csrf": {token}})
	if resp, _ := cs.get("/jobs"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after logout: %d, want a redirect to the login page", resp.StatusCode)
	}
}

// TestStopResume stops a longer job in the middle, resumes it, and checks
// that no pair was sent twice.
func TestStopResume(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	cs := newConsole(t, consoleOpt{qps: 20})
	path := filepath.Join(t.TempDir(), "long.csv")
	if err := gen.Write(path, "csv", gen.Options{Rows: 80, Seed: 7, Clean: true}); err != nil {
		t.Fatal(err)
	}
	token := cs.csrf()
	id := cs.uploadJob("long.csv", readFile(t, path), token)
	cs.post("/jobs/"+id+"/start", url.Values{"csrf": {token}, "calls": {"80"}, "confirm": {"yes"}})
	cs.waitState(id, Running)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if s, _, _, ok := cs.jobs.Live(id); ok && s.Calls >= 10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s made fewer than 10 calls in 30 s", id)
		}
	}
	// The events stream sends the live figures.
	req, _ := http.NewRequest("GET", cs.srv.URL+"/jobs/"+id+"/events?state=running", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	resp, err := cs.c.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	line := make([]byte, 4096)
	n, _ := resp.Body.Read(line)
	cancel()
	resp.Body.Close()
	var ev struct{ Fields map[string]string }
	if !bytes.HasPrefix(line[:n], []byte("data: ")) || json.Unmarshal(bytes.TrimSpace(line[6:n]), &ev) != nil || ev.Fields["state_code"] != Running {
		t.Errorf("event %q, want the running job's figures", line[:n])
	}

	if resp, _ := cs.post("/jobs/"+id+"/stop", url.Values{"csrf": {token}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("stop: %d", resp.StatusCode)
	}
	rec := cs.waitState(id, Stopped)
	if rec.Status == nil || rec.Status.Pending == 0 || rec.Status.Pending == 80 {
		t.Fatalf("stopped job status %+v, want some rows done and some pending", rec.Status)
	}
	if rec.Note != "note_stopped" {
		t.Errorf("stopped job note %q, want note_stopped", rec.Note)
	}
	_, body := cs.get("/jobs/" + id)
	if !strings.Contains(body, `id="resume"`) {
		t.Errorf("stopped job page has no Resume button")
	}
	cs.post("/jobs/"+id+"/resume", url.Values{"csrf": {token}})
	rec = cs.waitState(id, Done)
	if rec.Status.Calls != 80 || rec.Status.Match+rec.Status.Mismatch != 80 {
		t.Errorf("after resume: %d calls, %d verdicts, want 80 and 80: nothing sent twice", rec.Status.Calls, rec.Status.Match+rec.Status.Mismatch)
	}
	if resp, _ := cs.post("/jobs/"+id+"/resume", url.Values{"csrf": {token}}); resp.StatusCode != http.StatusConflict {
		t.Errorf("resume of a done job: %d, want 409", resp.StatusCode)
	}
}

// TestRestart: a job that was running when serve died is stopped on the
// next start and waits for Resume; a queued one runs.
func TestRestart(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	data := t.TempDir()
	write := func(id, state string, seq int) {
		dir := jobDir(data, id)
		os.MkdirAll(dir, 0o700)
		os.WriteFile(filepath.Join(dir, "input.csv"), readFile(t, demo), 0o600)
		b, _ := json.Marshal(Record{ID: id, Seq: seq, Name: "c.csv", Input: "input.csv", State: state, Sandbox: true, Lang: "zh", Previewing: state == Draft})
		os.WriteFile(filepath.Join(dir, "job.json"), b, 0o600)
	}
	write("00000000000000aa", Running, 1)
	write("00000000000000bb", Queued, 2)
	write("00000000000000cc", Draft, 3) // serve ended during its preview
	cs := newConsole(t, consoleOpt{data: data})
	cs.waitPreview("00000000000000cc")
	if rec, _ := cs.jobs.Get("00000000000000cc"); rec.Preview == nil || rec.Preview.Calls != 26 {
		t.Errorf("a preview cut by a restart is made again: got %+v", rec.Preview)
	}
	rec, _ := cs.jobs.Get("00000000000000aa")
	if rec.State != Stopped || rec.Note != "note_interrupted" {
		t.Errorf("interrupted job: %s %q, want stopped, waiting for Resume", rec.State, rec.Message)
	}
	cs.waitState("00000000000000bb", Done)
	_, body := cs.get("/jobs")
	for _, want := range []string{"已停止", "已完成"} {
		if !strings.Contains(body, want) {
			t.Errorf("jobs page after restart lacks %q", want)
		}
	}
	if got := fmt.Sprint(cs.jobs.List()[1].ID); got != "00000000000000bb" {
		t.Errorf("newest job first: got %s", got)
	}
}

func TestLanguage(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	cs := newConsole(t, consoleOpt{})
	_, body := cs.get("/?lang=en")
	if !strings.Contains(body, "Upload and preview") || strings.Contains(body, "上传并预览") {
		t.Errorf("?lang=en: not the English page")
	}
	_, body = cs.get("/jobs") // the cookie remembers
	if !strings.Contains(body, "No job yet") {
		t.Errorf("after ?lang=en the jobs page is not English:\n%s", body)
	}
	_, body = cs.get("/?lang=zh")
	if !strings.Contains(body, "上传并预览") {
		t.Errorf("?lang=zh: not the Chinese page")
	}
}

// TestPreviewError: a list whose columns cannot be found shows why, with
// the form to choose them; a file that is not an output cannot be audited.
func TestPreviewError(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	cs := newConsole(t, consoleOpt{})
	token := cs.csrf()
	id := cs.uploadJob("odd.csv", []byte("a,b\n张三,6228480402564890018\n李四,6228480402564890026\n"), token)
	_, body := cs.get("/jobs/" + id)
	if !strings.Contains(body, `id="preview-error"`) || !strings.Contains(body, `id="card-col"`) || strings.Contains(body, `id="start"`) || strings.Contains(body, cs.data) {
		t.Fatalf("a list without known headers: want the error and the column form, no Start:\n%s", body)
	}
	if resp, _ := cs.get("/jobs/" + id + "/download/xlsx"); resp.StatusCode != http.StatusConflict {
		t.Errorf("download of a job not started: %d, want 409", resp.StatusCode)
	}
	cs.post("/jobs/"+id+"/preview", url.Values{"csrf": {token}, "name_col": {"A"}, "card_col": {"B"}, "header_row": {"1"}})
	cs.waitPreview(id)
	_, body = cs.get("/jobs/" + id)
	if got := figure(t, body, "n-calls"); got != "2" {
		t.Errorf("with columns A and B chosen: %s calls, want 2", got)
	}
	if resp, body := cs.post("/jobs/"+id+"/preview", url.Values{"csrf": {token}, "header_row": {"0"}}); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "表头行") {
		t.Errorf("header row 0: %d, want 400 naming the header row", resp.StatusCode)
	}
	cs.post("/jobs/"+id+"/start", url.Values{"csrf": {token}, "calls": {"2"}, "confirm": {"yes"}})
	cs.waitState(id, Done)
	_, body = cs.upload("/jobs/"+id+"/audit", "other.csv", []byte("x,y\n1,2\n"), token)
	if !strings.Contains(body, `id="error"`) || strings.Contains(body, cs.data) {
		t.Errorf("audit of a file that is no output: want an error that does not show where serve keeps files:\n%s", body)
	}
}
