package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cardverify/cardverify/cmd/internal/gen"
)

// serveProc is a "cardverify serve" started by a test.
type serveProc struct {
	url  string
	cmd  *exec.Cmd
	done chan struct{}
	errb *bytes.Buffer
}

// startServe starts the binary's serve with args, the fingerprint key in
// the config directory cfg, and waits for its URL.
func startServe(t *testing.T, cfg string, env []string, args ...string) *serveProc {
	t.Helper()
	cmd := exec.Command(binPath, append([]string{"serve"}, args...)...)
	cmd.Env = append(append(os.Environ(), env...), "XDG_CONFIG_HOME="+cfg)
	pr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &serveProc{cmd: cmd, done: make(chan struct{}), errb: &bytes.Buffer{}}
	urls := make(chan string, 1)
	// The reading goroutine ends when serve exits and closes its stderr.
	go func() {
		sc := bufio.NewScanner(pr)
		re := regexp.MustCompile(`(http://[^\s/]+/)`) // in either language
		for sc.Scan() {
			p.errb.WriteString(sc.Text() + "\n")
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
		cmd.Wait()
		close(p.done)
	}()
	select {
	case p.url = <-urls:
	case <-p.done:
		t.Fatalf("serve ended at once:\n%s", p.errb)
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatal("serve printed no URL")
	}
	t.Cleanup(func() { p.stop(t) })
	return p
}

// stop ends serve as Ctrl-C does, and waits.
func (p *serveProc) stop(t *testing.T) {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
		t.Errorf("serve did not stop on SIGINT:\n%s", p.errb)
	}
}

// freeAddr returns a free port on host.
func freeAddr(t *testing.T, host string) string {
	ln, err := net.Listen("tcp", host+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// client is a browser-like HTTP client of a console: it keeps the session
// cookie and the CSRF token.
type client struct {
	t    *testing.T
	base string
	c    *http.Client
	csrf string
}

func newClient(t *testing.T, base string) *client {
	jar, _ := cookiejar.New(nil)
	cl := &client{t: t, base: base, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	_, body := cl.do("GET", "", nil, "")
	m := regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF token on the first page:\n%s", body)
	}
	cl.csrf = m[1]
	return cl
}

func (cl *client) do(method, path string, body io.Reader, ctype string) (*http.Response, string) {
	cl.t.Helper()
	req, _ := http.NewRequest(method, cl.base+path, body)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := cl.c.Do(req)
	if err != nil {
		cl.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if bytes.Contains(b, []byte(testKey)) {
		cl.t.Fatalf("%s %s: the response holds the key", method, path)
	}
	return resp, string(b)
}

func (cl *client) post(path string, form url.Values) *http.Response {
	cl.t.Helper()
	form.Set("csrf", cl.csrf)
	resp, _ := cl.do("POST", path, strings.NewReader(form.Encode()), "application/x-www-form-urlencoded")
	return resp
}

// upload uploads the file at path and returns the new job's id.
func (cl *client) upload(path string) string {
	cl.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("csrf", cl.csrf)
	fw, _ := mw.CreateFormFile("file", filepath.Base(path))
	b, err := os.ReadFile(path)
	if err != nil {
		cl.t.Fatal(err)
	}
	fw.Write(b)
	mw.Close()
	resp, body := cl.do("POST", "jobs", &buf, mw.FormDataContentType())
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/jobs/") {
		cl.t.Fatalf("upload: %d to %q\n%s", resp.StatusCode, loc, body)
	}
	id := strings.TrimPrefix(loc, "/jobs/")
	// The preview runs in the background; Start needs it.
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, body := cl.do("GET", "jobs/"+id, nil, "")
		if strings.Contains(body, `id="n-calls"`) {
			return id
		}
		if time.Now().After(deadline) {
			cl.t.Fatalf("no preview of the upload:\n%s", body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// jobState reads a job's job.json.
func jobState(t *testing.T, data, id string) (state string, calls, lost int) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(data, "jobs", id, "job.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		State  string
		Status *struct {
			Calls int `json:"calls"`
			Lost  int `json:"lost_answers"`
		}
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if r.Status != nil {
		calls, lost = r.Status.Calls, r.Status.Lost
	}
	return r.State, calls, lost
}

// TestServeKillResume kills serve (SIGKILL) in the middle of a job: the next
// serve lists it as stopped, Resume finishes it, and no pair is answered
// twice: only a call killed in flight (a lost answer) is sent again.
func TestServeKillResume(t *testing.T) {
	list := filepath.Join(t.TempDir(), "list.csv")
	if err := gen.Write(list, "csv", gen.Options{Rows: 150, Seed: 11, Clean: true}); err != nil {
		t.Fatal(err)
	}
	data, cfg := t.TempDir(), t.TempDir()
	env := []string{"JUHE_KEY=" + testKey}
	args := []string{"--sandbox", "--addr", "127.0.0.1:0", "--data", data, "--qps", "25"}
	srv := startServe(t, cfg, env, args...)
	cl := newClient(t, srv.url)
	id := cl.upload(list)
	if resp := cl.post("jobs/"+id+"/start", url.Values{"confirm": {"yes"}, "calls": {"150"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("start: %d", resp.StatusCode)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, body := cl.do("GET", "jobs/"+id, nil, "")
		var done int
		if m := regexp.MustCompile(`id="f-rows">(\d+) /`).FindStringSubmatch(body); m != nil {
			done = atoi(m[1])
		}
		if done >= 30 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the job did not get going:\n%s", body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	srv.cmd.Process.Kill()
	<-srv.done

	srv = startServe(t, cfg, env, args...)
	if state, calls, _ := jobState(t, data, id); state != "stopped" || calls == 0 || calls >= 150 {
		t.Fatalf("after SIGKILL and a restart: %s with %d calls, want stopped with some of 150", state, calls)
	}
	cl = newClient(t, srv.url)
	if resp := cl.post("jobs/"+id+"/resume", url.Values{}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("resume: %d", resp.StatusCode)
	}
	deadline = time.Now().Add(60 * time.Second)
	for {
		state, calls, lost := jobState(t, data, id)
		if state == "done" {
			// The kill may catch a call in flight: its answer is lost, it may
			// have been billed, and its pair is sent again (README, "lost
			// answer"). Every other pair is sent once.
			if calls-lost != 150 || lost > 8 {
				t.Errorf("done after resume with %d calls, %d answers lost, for 150 pairs: only a lost answer's pair may be sent again", calls, lost)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the resumed job is %s", state)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}
