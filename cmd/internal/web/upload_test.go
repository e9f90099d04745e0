package web

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cardverify/cardverify/cmd/internal/job"
)

// multipartTemps lists the temporary files net/http's form parsing leaves
// in dir (mime/multipart names them "multipart-*"); a dir it cannot read
// is listed as its error.
func multipartTemps(dir string) []string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return []string{err.Error()}
	}
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "multipart-") {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestUploadStreamsIntoJob sends a 12 MiB list, past the 8 MiB that
// net/http keeps of a parsed form in memory, and looks at $TMPDIR while
// the upload is under way: a kill of serve then would leave there what is
// there, and nothing may hold the list's names and cards outside the
// job's folder. The upload arrives whole in the job.
func TestUploadStreamsIntoJob(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	cs := newConsole(t, consoleOpt{})
	token := cs.csrf()

	// Rows of one long cell: the preview refuses them at once.
	var list bytes.Buffer
	list.WriteString("姓名,银行卡号\n")
	for list.Len() < 12<<20 {
		fmt.Fprintf(&list, "张三%s,6228480000000000\n", strings.Repeat("x", 30000))
	}
	content := list.Bytes()

	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	half := make(chan struct{})
	go func() {
		mw.WriteField("csrf", token)
		fw, _ := mw.CreateFormFile("file", "big.csv")
		fw.Write(content[:10<<20])
		close(half)
		time.Sleep(500 * time.Millisecond) // the moment of a kill
		fw.Write(content[10<<20:])
		pw.CloseWithError(mw.Close())
	}()
	req, _ := http.NewRequest("POST", cs.srv.URL+"/jobs", pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	seen := make(chan []string, 1)
	go func() {
		<-half
		time.Sleep(300 * time.Millisecond)
		seen <- multipartTemps(tmp)
	}()
	id := cs.created(cs.do(req))
	if during := <-seen; len(during) > 0 {
		t.Errorf("while the upload was under way, $TMPDIR held %v: a kill would leave the list there", during)
	}
	got, err := os.ReadFile(filepath.Join(jobDir(cs.data, id), "input.csv"))
	if err != nil || !bytes.Equal(got, content) {
		t.Errorf("the job holds %d bytes of the %d uploaded (%v)", len(got), len(content), err)
	}
}

// TestUploadTokenFirst refuses a form whose file comes before its token:
// the token is checked before the file is read, and no job is made.
func TestUploadTokenFirst(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	cs := newConsole(t, consoleOpt{})
	token := cs.csrf()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", "list.csv")
	fw.Write([]byte("姓名,银行卡号\n张三,6228480000000000\n"))
	mw.WriteField("csrf", token)
	mw.Close()
	req, _ := http.NewRequest("POST", cs.srv.URL+"/jobs", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if resp, _ := cs.do(req); resp.StatusCode != http.StatusForbidden {
		t.Errorf("file before token: %d, want 403", resp.StatusCode)
	}
	if list := cs.jobs.List(); len(list) != 0 {
		t.Errorf("file before token: %d jobs made, want none", len(list))
	}
}

// TestUploadTooBigLeavesNothing sends a list over --max-upload: 413, and
// no job folder is left holding the part that arrived.
func TestUploadTooBigLeavesNothing(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	cs := newConsole(t, consoleOpt{maxUpload: 1 << 20})
	token := cs.csrf()
	big := bytes.Repeat([]byte("张三,6228480000000000\n"), (3<<20)/24)
	if resp, _ := cs.upload("/jobs", "big.csv", big, token); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized upload: %d, want 413", resp.StatusCode)
	}
	ents, err := os.ReadDir(filepath.Join(cs.data, "jobs"))
	if err != nil || len(ents) != 0 {
		t.Errorf("after an oversized upload the jobs folder holds %d entries (%v), want none", len(ents), err)
	}
}

// TestUnfinishedUploadRemoved opens a data folder in which serve was
// killed during two uploads and two audits: what is older than
// staleUpload is removed (it holds names and cards); what is recent, which
// may be another serve's under way, is kept. Neither upload is listed as a
// job.
func TestUnfinishedUploadRemoved(t *testing.T) {
	data := t.TempDir()
	now := time.Now()
	jobs, err := OpenJobs(data, job.Config{Sandbox: true}, "test", time.Now)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := jobs.Create("list.csv", ".csv", "zh", strings.NewReader("姓名,银行卡号\n张三,6228480000000000\n"))
	if err != nil {
		t.Fatal(err)
	}
	oldUp, youngUp := filepath.Join(jobDir(data, "00000000000000aa"), "input.csv"), filepath.Join(jobDir(data, "00000000000000bb"), "input.csv")
	oldAudit, youngAudit := filepath.Join(jobDir(data, rec.ID), "audit-1.csv"), filepath.Join(jobDir(data, rec.ID), "audit-2.csv")
	for p, age := range map[string]time.Duration{oldUp: staleUpload + time.Hour, youngUp: staleUpload - time.Hour,
		oldAudit: staleUpload + time.Hour, youngAudit: staleUpload - time.Hour} {
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("姓名,银行卡号\n张三,62284800"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, now.Add(-age), now.Add(-age)); err != nil {
			t.Fatal(err)
		}
	}
	jobs, err = OpenJobs(data, job.Config{Sandbox: true}, "test", func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	if list := jobs.List(); len(list) != 1 || list[0].ID != rec.ID {
		t.Errorf("jobs listed: %+v, want only %s", list, rec.ID)
	}
	for p, want := range map[string]bool{filepath.Dir(oldUp): false, youngUp: true, oldAudit: false, youngAudit: true,
		filepath.Join(jobDir(data, rec.ID), "input.csv"): true} {
		if _, err := os.Stat(p); (err == nil) != want {
			t.Errorf("%s: kept %v, want %v", p, err == nil, want)
		}
	}
}
