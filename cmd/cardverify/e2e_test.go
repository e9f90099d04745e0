package main

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cardverify/cardverify/pipeline/juhe/juhetest"
	"github.com/cardverify/cardverify/reader"
)

// The end-to-end tests run the real binary, built once by TestMain, as a
// user would, against juhetest on 127.0.0.1.

var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cardverify-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "cardverify")
	// The fingerprint key file goes to the user's config directory: keep
	// the tests' keys out of the real one, for the binary and in-process
	// runs alike.
	os.Setenv("XDG_DATA_HOME", filepath.Join(dir, "data"))
	os.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
	build := exec.Command("go", "build", "-o", binPath, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build cardverify:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const (
	testKey    = "k3y-SECRET-0123456789abcdef"
	testOpenID = "0penid-SECRET-fedcba9876543210"
)

// result is one run of the binary.
type result struct {
	code           int
	stdout, stderr string
}

// cardverify runs the binary with args and env added to the environment,
// and waits at most a minute.
func cardverify(tb testing.TB, env []string, args ...string) result {
	tb.Helper()
	return run(tb, time.Minute, env, args...).result
}

func secrets() []string {
	return []string{"JUHE_KEY=" + testKey, "JUHE_OPENID=" + testOpenID}
}

// copyFile copies testdata file name into dir and returns the new path.
func copyFile(tb testing.TB, src, dir string) string {
	tb.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		tb.Fatal(err)
	}
	dst := filepath.Join(dir, filepath.Base(src))
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		tb.Fatal(err)
	}
	return dst
}

// readCSV reads a CSV output (UTF-8 with a BOM) into a header and rows.
func readCSV(tb testing.TB, path string) (map[string]int, [][]string) {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("\xef\xbb\xbf")) {
		tb.Errorf("%s: no UTF-8 BOM", path)
	}
	recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")))).ReadAll()
	if err != nil {
		tb.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	return col, recs[1:]
}

// assertNoSecrets fails if a secret appears in any of texts or in any file
// under dir.
func assertNoSecrets(tb testing.TB, dir string, texts ...string) {
	tb.Helper()
	for _, s := range []string{testKey, testOpenID} {
		for _, text := range texts {
			if strings.Contains(text, s) {
				tb.Errorf("secret %q printed", s)
			}
		}
		filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				b, _ := os.ReadFile(path)
				if bytes.Contains(b, []byte(s)) {
					tb.Errorf("secret %q in %s", s, path)
				}
			}
			return nil
		})
	}
}

func TestE2EBothEndpoints(t *testing.T) {
	for _, endpoint := range []string{"plain", "encrypted"} {
		t.Run(endpoint, func(t *testing.T) {
			srv := juhetest.NewServer(t, juhetest.Options{Key: testKey, OpenID: testOpenID})
			dir := t.TempDir()
			in := copyFile(t, "../../testdata/demo/customers.csv", dir)
			out := filepath.Join(dir, "out.csv")
			args := []string{"run", in, "--base-url", srv.URL, "--endpoint", endpoint, "--lang", "en",
				"--out", out, "--progress", "none", "--qps", "500"}
			r := cardverify(t, secrets(), args...)
			if r.code != 0 {
				t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
			}

			// What the server saw: POST, form-encoded, the key in the body
			// only, jobid=1, and fields that decrypt to a row's values.
			answers := map[string]juhetest.Request{} // by card
			for _, req := range srv.Requests() {
				if req.Method != "POST" || req.RawQuery != "" || req.KeyInQuery || req.JobID != "1" ||
					!strings.HasPrefix(req.ContentType, "application/x-www-form-urlencoded") {
					t.Errorf("request %s %s?%s content-type %q jobid %q", req.Method, req.Path, req.RawQuery, req.ContentType, req.JobID)
				}
				if want := "/verifybankcard/query"; endpoint == "encrypted" {
					want += "Encry"
					if req.Path != want || strings.Contains(req.Form, req.Card) {
						t.Errorf("encrypted request to %s carries the card in clear", req.Path)
					}
				}
				answers[req.Card] = req
			}

			col, rows := readCSV(t, out)
			names := map[string]bool{}
			for _, row := range rows {
				card := reader.NormalizeCard(row[col["银行卡号"]])
				name := reader.NormalizeName(row[col["姓名"]])
				status, jobid := row[col["verify_status"]], row[col["verify_jobid"]]
				req, sent := answers[card]
				switch status {
				case "match", "mismatch", "rejected":
					if !sent || req.Name != name {
						t.Errorf("row %v: %s but the server got no request for this name and card", row, status)
						continue
					}
					names[name] = true
					if jobid != req.AnswerJobID || row[col["verify_error_code"]] != fmt.Sprint(req.Code) {
						t.Errorf("row %v: jobid %q code %q, server answered %q %d", row, jobid, row[col["verify_error_code"]], req.AnswerJobID, req.Code)
					}
					if wantRes := map[int]string{1: "match", 2: "mismatch"}[req.Res]; req.Code == 0 && status != wantRes {
						t.Errorf("row %v: status %s, server said res %d", row, status, req.Res)
					}
				case "invalid":
					if sent {
						t.Errorf("invalid row %v was sent", row)
					}
				default:
					t.Errorf("row %v: status %q", row, status)
				}
			}
			if len(names) < 20 {
				t.Errorf("only %d names verified", len(names))
			}

			// The same command again sends nothing.
			calls := srv.Handler.Calls()
			if r := cardverify(t, secrets(), args...); r.code != 0 {
				t.Fatalf("second run: exit %d, stderr:\n%s", r.code, r.stderr)
			}
			if n := srv.Handler.Calls() - calls; n != 0 {
				t.Errorf("second run made %d calls, want 0", n)
			}
			assertNoSecrets(t, dir, r.stdout, r.stderr)
		})
	}
}

func TestE2ENoKeyRefused(t *testing.T) {
	dir := t.TempDir()
	in := copyFile(t, "../../testdata/demo/customers.csv", dir)
	r := cardverify(t, []string{"JUHE_KEY=", "JUHE_OPENID="}, "run", in)
	if r.code != 2 || !strings.Contains(r.stderr, "JUHE_KEY") || !strings.Contains(r.stderr, "--sandbox") {
		t.Errorf("exit %d, stderr %q: want 2 and a message naming JUHE_KEY and --sandbox", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "customers.cardverify.db")); err == nil {
		t.Error("a checkpoint was created for a refused run")
	}
}

func TestE2ESandboxMarked(t *testing.T) {
	dir := t.TempDir()
	in := copyFile(t, "../../testdata/demo/customers.csv", dir)
	r := cardverify(t, []string{"JUHE_KEY="}, "run", in, "--sandbox", "--progress", "none", "--lang", "en")
	if r.code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "SANDBOX") {
		t.Errorf("stderr does not say the answers are simulated:\n%s", r.stderr)
	}
	col, rows := readCSV(t, filepath.Join(dir, "customers.verified.csv"))
	for _, row := range rows {
		if s := row[col["verify_status"]]; (s == "match" || s == "mismatch") && !strings.HasPrefix(row[col["verify_jobid"]], "SANDBOX") {
			t.Errorf("row %v: a sandbox jobid must start with SANDBOX", row)
		}
	}
}

func TestE2EExportAndAudit(t *testing.T) {
	dir := t.TempDir()
	in := copyFile(t, "../../testdata/demo/customers.csv", dir)
	db := filepath.Join(dir, "customers.cardverify.db")
	if r := cardverify(t, nil, "run", in, "--sandbox", "--progress", "none"); r.code != 0 {
		t.Fatalf("run: exit %d\n%s", r.code, r.stderr)
	}
	xlsx := filepath.Join(dir, "customers.verified.csv")
	if r := cardverify(t, nil, "audit", xlsx, "--db", db, "--lang", "en"); r.code != 0 || !strings.Contains(r.stdout, "ok: all 30 rows") {
		t.Fatalf("audit of a fresh output: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// Export again, in English with masked cards, and audit that too.
	masked := filepath.Join(dir, "masked.csv")
	if r := cardverify(t, nil, "export", in, "--db", db, "--out", masked, "--lang", "en", "--mask-card"); r.code != 0 {
		t.Fatalf("export: exit %d\n%s", r.code, r.stderr)
	}
	col, rows := readCSV(t, masked)
	for _, row := range rows {
		card := row[col["银行卡号"]]
		if d := strings.Count(card, "*"); row[col["verify_status"]] == "match" && (d == 0 || strings.ContainsAny(card[6:len(card)-4], "0123456789")) {
			t.Errorf("card %q is not masked", card)
		}
	}
	if r := cardverify(t, nil, "audit", masked, "--db", db); r.code != 0 {
		t.Fatalf("audit of a masked export: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// An edited verdict and a deleted row are found; exit 1.
	b, err := os.ReadFile(masked)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\r\n")
	if !strings.Contains(lines[6], ",mismatch,2,") {
		t.Fatalf("line 6 is not a mismatch: %s", lines[6])
	}
	lines[6] = strings.Replace(lines[6], ",mismatch,2,", ",match,1,", 1)
	lines = append(lines[:3], lines[4:]...) // drop the row of line 3 (row 4)
	edited := filepath.Join(dir, "edited.csv")
	if err := os.WriteFile(edited, []byte(strings.Join(lines, "\r\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	r := cardverify(t, nil, "audit", edited, "--db", db)
	if r.code != 1 || !strings.Contains(r.stdout, "核验状态为“一致”，检查点记录为“不一致”") ||
		!strings.Contains(r.stdout, "第 4 行：已核验输入的第 4 行在输出中缺失") {
		t.Errorf("audit of an edited file: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := cardverify(t, nil, "audit", edited, "--db", db, "--lang", "en"); r.code != 1 ||
		!strings.Contains(r.stdout, "status match, the checkpoint says mismatch") ||
		!strings.Contains(r.stdout, "row 4 of the verified input is missing from the output") {
		t.Errorf("audit --lang en of an edited file: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// Export refuses an input that is not the one verified.
	other := filepath.Join(dir, "other.csv")
	os.WriteFile(other, []byte("姓名,银行卡号\n张三,6222020000000000018\n"), 0o644)
	if r := cardverify(t, nil, "export", other, "--db", db, "--out", filepath.Join(dir, "x.csv")); r.code != 2 {
		t.Errorf("export of another input: exit %d, want 2\n%s", r.code, r.stderr)
	}
}
