package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cardverify/cardverify/pipeline/juhe/juhetest"
)

// mountTmpfs mounts a tmpfs of size bytes (with extra mount options) on a
// new directory and unmounts it when the test ends. It skips the test when
// mounting is not allowed (not root, or no mount in this sandbox).
func mountTmpfs(tb testing.TB, size int, opts string) string {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), "mnt")
	if err := os.Mkdir(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	o := fmt.Sprintf("size=%d", size)
	if opts != "" {
		o += "," + opts
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", o, "tmpfs", dir).CombinedOutput(); err != nil {
		tb.Skipf("cannot mount a tmpfs here (needs root): %v %s", err, out)
	}
	tb.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			tb.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	return dir
}

// remount changes the options of the tmpfs at dir.
func remount(tb testing.TB, dir, opts string) {
	tb.Helper()
	if out, err := exec.Command("mount", "-o", "remount,"+opts, dir).CombinedOutput(); err != nil {
		tb.Fatalf("remount %s %s: %v %s", dir, opts, err, out)
	}
}

// TestReliabilityOutputUnwritable makes the output impossible to write in
// the ways a user meets: a read-only directory, a read-only file system, a
// path under a file. The run fails with exit 1 and a message naming the
// output before its first call; the same run with a writable --out then
// does the job. (TestReliabilityOutputReadOnlyMidRun covers an output that
// becomes unwritable after the calls.)
func TestReliabilityOutputUnwritable(t *testing.T) {
	const rowsN = 300
	tests := []struct {
		name string
		// out returns the unwritable output path.
		out  func(tb testing.TB, dir string) string
		want string // in the message
	}{
		{"read-only directory (chmod 0555, not as root)", func(tb testing.TB, dir string) string {
			if os.Geteuid() == 0 {
				tb.Skip("root writes into a 0555 directory: see the read-only file system case")
			}
			ro := filepath.Join(dir, "ro")
			os.Mkdir(ro, 0o555)
			tb.Cleanup(func() { os.Chmod(ro, 0o755) })
			return filepath.Join(ro, "out.xlsx")
		}, "permission denied"},
		{"read-only file system (tmpfs mounted ro, as root)", func(tb testing.TB, dir string) string {
			return filepath.Join(mountTmpfs(tb, 1<<20, "ro"), "out.xlsx")
		}, "read-only file system"},
		{"parent is a regular file", func(tb testing.TB, dir string) string {
			writeFile(tb, filepath.Join(dir, "afile"), []byte("x"))
			return filepath.Join(dir, "afile", "out.xlsx")
		}, "not a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := juhetest.NewServer(t, juhetest.Options{Key: testKey})
			dir := t.TempDir()
			out := tt.out(t, dir)
			t.Parallel()
			in := writeCustomers(t, dir, "list.csv", customers(rowsN), 0)
			db := filepath.Join(dir, "list.db")
			args := []string{"run", in, "--base-url", srv.URL, "--db", db, "--lang", "en", "--progress", "none", "--qps", "2000"}
			r := run(t, time.Minute, secrets(), append(args, "--out", out)...)
			assertNoPanic(t, r.result)
			if r.code != 1 || !strings.Contains(r.stderr, out) || !strings.Contains(r.stderr, tt.want) {
				t.Fatalf("exit %d, stderr:\n%s\nwant exit 1 and a message naming %s and saying %q", r.code, r.stderr, out, tt.want)
			}
			if n := srv.Handler.Calls(); n != 0 {
				t.Errorf("%d calls made before the output was refused", n)
			}
			assertOutputRecovers(t, srv, db, dir, rowsN, args)
			assertNoSecrets(t, dir, r.stdout, r.stderr)
		})
	}
}

// TestReliabilityOutputReadOnlyMidRun turns the output's file system
// read-only while the run makes its calls (a disk remounted read-only after
// an error): exit 1 with a message naming the output, every answer kept in
// the checkpoint, and the same run with a writable --out sends nothing.
func TestReliabilityOutputReadOnlyMidRun(t *testing.T) {
	const rowsN = 300
	mnt := mountTmpfs(t, 1<<20, "")
	t.Parallel()
	j := newListJob(t, rowsN, juhetest.Options{Latency: 20 * time.Millisecond})
	srv, dir, db := j.srv, j.dir, j.db
	j.out = filepath.Join(mnt, "out.xlsx")
	out := j.out
	args := []string{"run", j.in, "--base-url", srv.URL, "--db", db, "--lang", "en", "--progress", "none", "--qps", "300"}
	cmd, stderr := j.startRun(t, 11, append(args, "--out", out))
	remount(t, mnt, "ro")
	code := waitExit(t, cmd, time.Minute)
	assertNoPanic(t, result{code: code, stderr: stderr.String()})
	if code != 1 || !strings.Contains(stderr.String(), out) || !strings.Contains(stderr.String(), "read-only file system") {
		t.Fatalf("exit %d, stderr:\n%s\nwant exit 1 and a message naming %s", code, stderr, out)
	}
	if srv.Handler.Calls() != rowsN {
		t.Fatalf("%d calls for %d rows", srv.Handler.Calls(), rowsN)
	}
	assertOutputRecovers(t, srv, db, dir, rowsN, args)
}

// assertOutputRecovers checks, after a run whose output failed, that the
// checkpoint is sound and holds every answer, and that the same run with a
// writable --out finishes without sending anything again. (A run that
// refused the output before its first call has nothing to keep: then the
// next run makes every call.)
func assertOutputRecovers(tb testing.TB, srv *juhetest.Server, db, dir string, rowsN int, args []string) {
	tb.Helper()
	calls := srv.Handler.Calls()
	if calls > 0 {
		st := statusOf(tb, db)
		if st.Match+st.Mismatch != rowsN || st.Calls != calls || st.LostAnswers != 0 {
			tb.Errorf("status %+v after a failed output, want %d rows verified in %d calls", st, rowsN, calls)
		}
		integrityCheck(tb, db)
	}
	out := filepath.Join(dir, "writable.xlsx")
	r := cardverify(tb, secrets(), append(args, "--out", out)...)
	if r.code != 0 {
		tb.Fatalf("run with a writable --out: exit %d\n%s", r.code, r.stderr)
	}
	want := 0
	if calls == 0 {
		want = rowsN
	}
	if n := srv.Handler.Calls() - calls; n != want {
		tb.Errorf("the run with a writable --out sent %d calls, want %d", n, want)
	}
	assertCompleteXLSX(tb, out, rowsN, "verify_status")
}

// TestReliabilityBadOutBeforeCalls gives --out values that can never be
// written: they must be refused before any call (exit 2 for a mistake on
// the command line, exit 1 for an unwritable place), not after a night of
// billed calls.
func TestReliabilityBadOutBeforeCalls(t *testing.T) {
	tests := []struct {
		name string
		out  func(dir, in string) string
		code int
		want string
	}{
		{"unknown extension", func(dir, in string) string { return filepath.Join(dir, "out.pdf") }, 2, "无法写出“.pdf”文件"},
		{"the input itself", func(dir, in string) string { return in }, 2, "输出会覆盖输入文件"},
		{"a directory", func(dir, in string) string { return dir }, 2, "directory"},
		{"under a regular file", func(dir, in string) string { return filepath.Join(in, "out.csv") }, 1, "not a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := juhetest.NewServer(t, juhetest.Options{Key: testKey})
			dir := t.TempDir()
			in := writeCustomers(t, dir, "list.csv", customers(20), 0)
			r := cardverify(t, secrets(), "run", in, "--base-url", srv.URL, "--out", tt.out(dir, in), "--progress", "none", "--qps", "1000")
			if r.code != tt.code || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit %d saying %q", r.code, r.stderr, tt.code, tt.want)
			}
			if n := srv.Handler.Calls(); n != 0 {
				t.Errorf("%d calls made before the output was refused", n)
			}
		})
	}
}

// TestReliabilityDiskFullOutput writes the output to a full file system (a
// 64 KiB tmpfs) over an older output: exit 1 naming the full disk, the old
// output untouched, no temporary file left, the checkpoint intact, and a
// rerun with --out elsewhere sends nothing.
func TestReliabilityDiskFullOutput(t *testing.T) {
	const rowsN = 2000
	full := mountTmpfs(t, 64<<10, "")
	t.Parallel()
	srv := juhetest.NewServer(t, juhetest.Options{Key: testKey})
	dir := t.TempDir()
	in := writeCustomers(t, dir, "list.csv", customers(rowsN), 0)
	db := filepath.Join(dir, "list.db")
	out := filepath.Join(full, "out.csv")
	old := []byte("an older output that must survive\n")
	writeFile(t, out, old)
	args := []string{"run", in, "--base-url", srv.URL, "--db", db, "--lang", "en", "--progress", "none", "--qps", "5000"}

	r := run(t, time.Minute, secrets(), append(args, "--out", out)...)
	assertNoPanic(t, r.result)
	if r.code != 1 || !strings.Contains(r.stderr, "no space left on device") || !strings.Contains(r.stderr, out) {
		t.Fatalf("exit %d, stderr:\n%s\nwant exit 1 and a message naming %s and the full disk", r.code, r.stderr, out)
	}
	if got, err := os.ReadFile(out); err != nil || !bytes.Equal(got, old) {
		t.Errorf("the older output was changed: %q, %v", got, err)
	}
	if entries, _ := os.ReadDir(full); len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("files left on the full disk: %v", names)
	}
	assertOutputRecovers(t, srv, db, dir, rowsN, args)
}

// TestReliabilityDiskFullCheckpoint puts the checkpoint on a file system
// that fills up during the run: the run stops with exit 1 and a message
// naming the full disk; once space is freed (the tmpfs grown), status reads
// the checkpoint, and the same command finishes the job without paying
// twice for an answer it had recorded.
func TestReliabilityDiskFullCheckpoint(t *testing.T) {
	const rowsN = 4000
	full := mountTmpfs(t, 1<<20, "")
	srv := juhetest.NewServer(t, juhetest.Options{Key: testKey})
	dir := t.TempDir()
	cs := customers(rowsN)
	in := writeCustomers(t, dir, "list.csv", cs, 0)
	db := filepath.Join(full, "list.db")
	out := filepath.Join(dir, "out.csv")
	args := []string{"run", in, "--base-url", srv.URL, "--db", db, "--out", out, "--lang", "en", "--progress", "none", "--qps", "5000"}

	r := run(t, time.Minute, secrets(), args...)
	assertNoPanic(t, r.result)
	t.Logf("exit %d after %d calls: %s", r.code, srv.Handler.Calls(), strings.TrimSpace(r.stderr))
	if r.code == 0 {
		t.Fatalf("the checkpoint fit in the small file system: make the list longer")
	}
	if r.code != 1 || !strings.Contains(r.stderr, "full") {
		t.Fatalf("exit %d, stderr:\n%s\nwant exit 1 and a message saying the disk is full", r.code, r.stderr)
	}
	full1 := r.stderr
	assertNoSecrets(t, full, r.stdout, r.stderr)

	remount(t, full, "size=64m")
	st := statusOf(t, db)
	integrityCheck(t, db)
	calls := srv.Handler.Calls()
	t.Logf("after the full disk: %+v, %d calls made", st, calls)
	// Every call the server saw is in the ledger (a call is recorded
	// before it is sent; calls recorded and then not sent count as lost).
	if st.Calls < calls {
		t.Errorf("the ledger has %d calls, the server saw %d", st.Calls, calls)
	}

	if r := cardverify(t, secrets(), args...); r.code != 0 {
		t.Fatalf("resume: exit %d\n%s", r.code, r.stderr)
	}
	// Only calls whose answer was not recorded may be sent again.
	resent := srv.Handler.Calls() - rowsN
	if resent > st.LostAnswers {
		t.Errorf("%d calls sent again, but only %d answers were lost", resent, st.LostAnswers)
	}
	t.Logf("the full disk lost %d answers of %d calls; %d calls sent again", st.LostAnswers, calls, resent)
	col, rows := readCSV(t, out)
	if len(rows) != rowsN {
		t.Fatalf("%d rows in the output, want %d", len(rows), rowsN)
	}
	for _, row := range rows {
		if s := row[col["verify_status"]]; s != "match" && s != "mismatch" {
			t.Fatalf("row %v not verified", row)
		}
	}
	if !strings.Contains(full1, db) {
		t.Errorf("the message does not name the checkpoint %s:\n%s", db, full1)
	}
}

// TestReliabilitySecondProcess starts a second run on a checkpoint that a
// first run is using: it is refused with exit 2 and a message naming the
// other process, sends nothing and leaves the first run undisturbed.
func TestReliabilitySecondProcess(t *testing.T) {
	const rowsN = 300
	j := newListJob(t, rowsN, juhetest.Options{Latency: 20 * time.Millisecond})
	srv, dir, db := j.srv, j.dir, j.db
	args := j.args("--qps", "100", "--workers", "4")

	first, stderr := j.startRun(t, 11, args)
	for _, second := range [][]string{
		args,
		append(args[:len(args):len(args)], "--out", filepath.Join(dir, "other.csv")),
	} {
		r := run(t, time.Minute, secrets(), second...)
		assertNoPanic(t, r.result)
		if r.code != 2 || !strings.Contains(r.stderr, "in use by another cardverify process") ||
			!strings.Contains(r.stderr, fmt.Sprint(first.Process.Pid)) {
			t.Errorf("second process: exit %d, stderr:\n%s\nwant exit 2 and a message naming pid %d", r.code, r.stderr, first.Process.Pid)
		}
	}
	if st := statusOf(t, db); !st.Running {
		t.Errorf("status while a run is going on: %+v, want running", st)
	}
	first.Process.Signal(syscall.SIGINT)
	if code := waitExit(t, first, time.Minute); code != 4 {
		t.Fatalf("first run after SIGINT: exit %d, want 4\n%s", code, stderr)
	}
	if r := cardverify(t, secrets(), args...); r.code != 0 {
		t.Fatalf("resume: exit %d\n%s", r.code, r.stderr)
	}
	if n := srv.Handler.Calls(); n != rowsN {
		t.Errorf("%d calls for %d rows: something was sent twice", n, rowsN)
	}
}

// TestReliabilityInputEditedMidJob edits the list between an interrupted
// run and its resume: the resume is refused with exit 2 before any call,
// with a message saying the input changed and what to do.
func TestReliabilityInputEditedMidJob(t *testing.T) {
	const rowsN = 200
	srv := juhetest.NewServer(t, juhetest.Options{Key: testKey})
	dir := t.TempDir()
	cs := customers(rowsN)
	in := writeCustomers(t, dir, "list.csv", cs, 0)
	db := filepath.Join(dir, "list.db")
	args := []string{"run", in, "--base-url", srv.URL, "--db", db, "--out", filepath.Join(dir, "out.csv"),
		"--progress", "none", "--qps", "1000", "--max-billed", "50"}
	if r := cardverify(t, secrets(), args...); r.code != 4 {
		t.Fatalf("first run: exit %d, want 4 (budget)\n%s", r.code, r.stderr)
	}
	cs[rowsN/2].card = juhetest.MatchCard(rowsN * 10)
	writeCustomers(t, dir, "list.csv", cs, 0)
	calls := srv.Handler.Calls()
	r := cardverify(t, secrets(), args[:len(args)-2]...)
	if r.code != 2 || !strings.Contains(r.stderr, "输入文件被修改了") || !strings.Contains(r.stderr, "--db") {
		t.Errorf("resume of an edited list: exit %d, stderr:\n%s\nwant exit 2 saying the input changed and to use a new --db", r.code, r.stderr)
	}
	if n := srv.Handler.Calls() - calls; n != 0 {
		t.Errorf("the refused resume made %d calls", n)
	}
}
