package main

import (
	"bytes"
	"io/fs"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cardverify/cardverify/cmd/internal/gen"
	"github.com/cardverify/cardverify/pipeline/juhe/juhetest"
	"github.com/cardverify/cardverify/store/storetest"
)

// TestPrivacyMoveJob moves a job to "another machine" (another user config
// directory) as the README says: without the key file every command that
// needs fingerprints refuses, naming the key file, and makes no call;
// status still counts; with the key file copied and given to --key-file the
// job resumes without sending anything again.
func TestPrivacyMoveJob(t *testing.T) {
	j := newListJob(t, 40, juhetest.Options{})
	srv, dir, in, out, db := j.srv, j.dir, j.in, j.out, j.db
	args := j.args("--qps", "500")
	if r := cardverify(t, secrets(), args...); r.code != 0 {
		t.Fatalf("first run: exit %d\n%s", r.code, r.stderr)
	}
	calls := srv.Handler.Calls()
	home := os.Getenv("XDG_CONFIG_HOME")
	key := filepath.Join(home, "cardverify", "fingerprint.key")
	if fi, err := os.Stat(key); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file %s: %v, %v; want it made 0600", key, fi, err)
	}

	other := []string{"XDG_CONFIG_HOME=" + t.TempDir()} // the other machine
	otherKey := filepath.Join(strings.TrimPrefix(other[0], "XDG_CONFIG_HOME="), "cardverify", "fingerprint.key")
	r := cardverify(t, append(secrets(), other...), args...)
	if r.code != 2 || !strings.Contains(r.stderr, "no fingerprint key file at "+otherKey) || !strings.Contains(r.stderr, "--key-file") {
		t.Errorf("run without the key file: exit %d\n%s\nwant exit 2 naming %s and --key-file", r.code, r.stderr, otherKey)
	}
	for _, cmd := range [][]string{
		{"export", in, "--db", db, "--out", filepath.Join(dir, "again.csv")},
		{"audit", out, "--db", db},
	} {
		if r := cardverify(t, other, cmd...); r.code != 2 || !strings.Contains(r.stderr, otherKey) {
			t.Errorf("%s without the key file: exit %d\n%s", cmd[0], r.code, r.stderr)
		}
	}
	if _, err := os.Stat(otherKey); err == nil {
		t.Error("a command on a job without its key file created a new key")
	}
	if r := cardverify(t, other, "status", "--db", db); r.code != 0 || !strings.Contains(r.stdout, "一致") {
		t.Errorf("status without the key file: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if srv.Handler.Calls() != calls {
		t.Fatalf("commands without the key made %d calls", srv.Handler.Calls()-calls)
	}

	copied := filepath.Join(t.TempDir(), "job.key")
	b, err := os.ReadFile(key)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(copied, b, 0o600)
	if r := cardverify(t, append(secrets(), other...), append(args, "--key-file", copied)...); r.code != 0 {
		t.Errorf("run with the copied key file: exit %d\n%s", r.code, r.stderr)
	}
	if r := cardverify(t, other, "audit", out, "--db", db, "--key-file", copied); r.code != 0 {
		t.Errorf("audit with the copied key file: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if srv.Handler.Calls() != calls {
		t.Errorf("the moved job sent %d calls again", srv.Handler.Calls()-calls)
	}
}

// TestPrivacySecretWarnings: a key given as a flag is warned about, and an
// API error about the key names the flag, not JUHE_KEY.
func TestPrivacySecretWarnings(t *testing.T) {
	srv := juhetest.NewServer(t, juhetest.Options{Key: testKey})
	dir := t.TempDir()
	in := writeCustomers(t, dir, "list.csv", customers(3), 0)
	r := cardverify(t, nil, "run", in, "--base-url", srv.URL, "--key", "wrong-key", "--db", filepath.Join(dir, "x.db"), "--progress", "none", "--lang", "en")
	if !strings.Contains(r.stderr, "--key is visible to every user") {
		t.Errorf("no warning about --key:\n%s", r.stderr)
	}
	if r.code != 3 || !strings.Contains(r.stderr, "check --key") || strings.Contains(r.stderr, "JUHE_KEY:") {
		t.Errorf("wrong --key: exit %d\n%s\nwant exit 3 naming --key", r.code, r.stderr)
	}
	if strings.Contains(r.stderr, "wrong-key") {
		t.Error("the key is in the message")
	}
}

// TestPrivacyReadOnlyReports: status, export and audit work on a finished
// checkpoint in a directory that cannot be written.
func TestPrivacyReadOnlyReports(t *testing.T) {
	j := newListJob(t, 20, juhetest.Options{})
	dir := j.dir
	if r := cardverify(t, secrets(), j.args()...); r.code != 0 {
		t.Fatalf("run: exit %d\n%s", r.code, r.stderr)
	}
	ro := storetest.ReadOnlyDir(t, dir)
	rdb, rin, rout := filepath.Join(ro, "list.db"), filepath.Join(ro, "list.csv"), filepath.Join(ro, "out.csv")
	if r := cardverify(t, nil, "status", "--db", rdb); r.code != 0 {
		t.Errorf("status: exit %d\n%s", r.code, r.stderr)
	}
	if r := cardverify(t, nil, "export", rin, "--db", rdb, "--out", filepath.Join(t.TempDir(), "again.csv")); r.code != 0 {
		t.Errorf("export: exit %d\n%s", r.code, r.stderr)
	}
	if r := cardverify(t, nil, "audit", rout, "--db", rdb); r.code != 0 {
		t.Errorf("audit: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestPrivacyRefuseBeforeTouching: --db naming a file that is not a
// checkpoint, or a symlink to one, is refused with exit 2 and nothing at or
// beside it changes: not its mode, no -lock file.
func TestPrivacyRefuseBeforeTouching(t *testing.T) {
	dir := t.TempDir()
	in := writeCustomers(t, dir, "list.csv", customers(3), 0)
	os.Chmod(in, 0o644)
	link := filepath.Join(dir, "link.db")
	if err := os.Symlink(in, link); err != nil {
		t.Fatal(err)
	}
	for _, db := range []string{in, link} {
		r := cardverify(t, nil, "run", in, "--sandbox", "--db", db, "--progress", "none", "--lang", "en")
		if r.code != 2 || !strings.Contains(r.stderr, "not a cardverify checkpoint") {
			t.Errorf("--db %s: exit %d\n%s", filepath.Base(db), r.code, r.stderr)
		}
	}
	if fi, err := os.Stat(in); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("the input's mode became %v (%v), want 0644 left alone", fi.Mode().Perm(), err)
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if e.Name() != "list.csv" && e.Name() != "link.db" {
			t.Errorf("refusing --db left %s", e.Name())
		}
	}
}

// TestPrivacyUntrustedCertificate: an https base URL whose certificate this
// machine does not trust stops the run with exit 3, naming the certificate,
// and no row is marked.
func TestPrivacyUntrustedCertificate(t *testing.T) {
	h := juhetest.NewHandler(juhetest.Options{Key: testKey})
	t.Cleanup(h.Close)
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	in := writeCustomers(t, dir, "list.csv", customers(5), 0)
	db := filepath.Join(dir, "list.db")
	r := cardverify(t, secrets(), "run", in, "--base-url", srv.URL, "--db", db, "--progress", "none", "--lang", "en")
	if r.code != 3 || !strings.Contains(r.stderr, "the API cannot be used as configured") || !strings.Contains(r.stderr, "x509: certificate") ||
		!strings.Contains(r.stderr, "TLS certificate is not trusted") || !strings.Contains(r.stderr, "--base-url") {
		t.Errorf("untrusted certificate: exit %d\n%s\nwant exit 3 naming the certificate and --base-url", r.code, r.stderr)
	}
	if st := statusOf(t, db); st.Failed != 0 || st.Pending != 5 {
		t.Errorf("after the TLS error: %+v; want every row pending", st)
	}
}

// TestPrivacyKilledDryRun SIGKILLs `run --dry-run` while its throwaway
// checkpoint fills, in $TMPDIR: what it leaves there holds neither the
// checkpoint's key (with which the masked cards' hidden digits could be
// searched) nor a name or card in plaintext.
func TestPrivacyKilledDryRun(t *testing.T) {
	tmp, dir := t.TempDir(), t.TempDir()
	in := filepath.Join(dir, "list.csv")
	if err := gen.Write(in, "csv", gen.Options{Rows: 100000, Seed: 5, Clean: true}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binPath, "run", in, "--dry-run", "--out", filepath.Join(dir, "dry.csv"), "--progress", "none")
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var db string
	for deadline := time.Now().Add(30 * time.Second); db == ""; time.Sleep(5 * time.Millisecond) {
		m, _ := filepath.Glob(filepath.Join(tmp, "cardverify-dry-run-*", "dry-run.db"))
		if len(m) == 1 {
			if fi, err := os.Stat(m[0]); err == nil && fi.Size() > 64<<10 {
				db = m[0]
			}
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatal("the dry run's checkpoint did not fill in 30 s")
		}
	}
	cmd.Process.Kill()
	cmd.Wait()

	rows, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(rows), "\n")
	var secretsIn []string // the cards and names of some rows
	for _, l := range lines[1:50] {
		if f := strings.Split(strings.TrimSpace(l), ","); len(f) >= 2 {
			secretsIn = append(secretsIn, f...)
		}
	}
	filepath.WalkDir(tmp, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if strings.HasSuffix(p, ".key") {
			t.Errorf("a killed dry run left its key beside its checkpoint: %s", p)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, s := range secretsIn {
			if len(s) >= 2 && bytes.Contains(b, []byte(s)) {
				t.Errorf("%s holds %q of the list in plaintext", p, s)
				break
			}
		}
		return nil
	})
	t.Logf("killed with %s in place", db)
}
