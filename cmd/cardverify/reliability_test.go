package main

import (
	"archive/zip"
	"bytes"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cardverify/cardverify/cmd/internal/gen"
)

// The reliability suite (issue 8) runs the built binary against what goes
// wrong in production: kills at any moment, a flaky API, hostile files, a
// broken environment, and the secrets that must never leak through any of
// them. This file holds its helpers; the tests are in reliability_*_test.go.

// measured is one run of the binary with its peak memory.
type measured struct {
	result
	maxRSS int64 // peak resident set, bytes
	took   time.Duration
}

// measureEnv, set in the environment of the test binary itself, makes it a
// small go-between (see init) that runs the command in its arguments and
// writes the command's peak memory to the file named by the variable.
//
// The go-between is needed because Linux counts, in the peak memory of a
// process started with vfork (as os/exec does), the memory of its parent
// before the exec: measured directly, every child of this big test process
// would seem to take hundreds of megabytes.
const measureEnv = "CARDVERIFY_TEST_MAXRSS_FILE"

func init() {
	path := os.Getenv(measureEnv)
	if path == "" {
		return
	}
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, measureEnv+"=") })
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		fmt.Fprintln(os.Stderr, "go-between:", err)
		os.Exit(125)
	}
	var rss int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = int64(ru.Maxrss) * 1024 // kilobytes on Linux
	}
	os.WriteFile(path, []byte(strconv.FormatInt(rss, 10)), 0o600)
	os.Exit(cmd.ProcessState.ExitCode())
}

// run runs the binary like cardverify does, through the go-between of
// init, and also reports its peak memory and duration. It waits at most
// limit.
func run(tb testing.TB, limit time.Duration, env []string, args ...string) measured {
	tb.Helper()
	rssFile := filepath.Join(tb.TempDir(), "maxrss")
	cmd := exec.Command(os.Args[0], append([]string{binPath}, args...)...)
	cmd.Env = append(append(os.Environ(), env...), measureEnv+"="+rssFile)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	began := time.Now()
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			tb.Fatal(err)
		}
	case <-time.After(limit):
		cmd.Process.Kill()
		<-done
		tb.Fatalf("cardverify %v: still running after %s\nstderr:\n%s", args, limit, errb.String())
	}
	m := measured{result: result{cmd.ProcessState.ExitCode(), out.String(), errb.String()}, took: time.Since(began)}
	if m.code == 125 {
		tb.Fatalf("the go-between failed: %s", m.stderr)
	}
	b, err := os.ReadFile(rssFile)
	if err != nil {
		tb.Fatalf("peak memory not measured: %v", err)
	}
	m.maxRSS, _ = strconv.ParseInt(string(b), 10, 64)
	return m
}

// assertNoPanic fails if the binary panicked or crashed: a Go panic or a
// fatal runtime error prints goroutine stacks on stderr.
func assertNoPanic(tb testing.TB, r result) {
	tb.Helper()
	for _, sign := range []string{"panic:", "goroutine ", "fatal error:", "SIGSEGV"} {
		if strings.Contains(r.stderr, sign) || strings.Contains(r.stdout, sign) {
			tb.Fatalf("the binary crashed (%q in its output), exit %d:\n%s", sign, r.code, r.stderr)
		}
	}
}

// fullStatus is `cardverify status --json`, all of it that the suite reads.
type fullStatus struct {
	Rows        int `json:"rows"`
	Match       int `json:"match"`
	Mismatch    int `json:"mismatch"`
	Invalid     int `json:"invalid"`
	Rejected    int `json:"rejected"`
	Deferred    int `json:"deferred"`
	Failed      int `json:"failed"`
	Pending     int `json:"pending"`
	Calls       int `json:"calls"`
	BilledCalls int `json:"billed_calls"`
	LostAnswers int `json:"lost_answers"`
	// PossiblyBilled includes LostAnswers.
	PossiblyBilled int         `json:"possibly_billed"`
	NoVerdict      int         `json:"billed_no_verdict"`
	NoJobID        int         `json:"verdicts_without_jobid"`
	Running        bool        `json:"running"`
	InFlight       int         `json:"in_flight"`
	Codes          map[int]int `json:"codes"`
	Simulated      int         `json:"simulated"`
	Sandbox        bool        `json:"sandbox"`
	// InvalidReasons counts invalid rows by reason.
	InvalidReasons map[string]int `json:"invalid_reasons"`
}

func statusOf(tb testing.TB, db string) fullStatus {
	tb.Helper()
	r := cardverify(tb, nil, "status", "--db", db, "--json", "--lang", "en")
	var st fullStatus
	if err := json.Unmarshal([]byte(r.stdout), &st); r.code != 0 || err != nil {
		tb.Fatalf("status of %s: exit %d, %v\n%s%s", db, r.code, err, r.stdout, r.stderr)
	}
	return st
}

// integrityCheck runs PRAGMA integrity_check on a copy of the checkpoint db
// and its -wal, as the next process would find them, without touching the
// originals.
func integrityCheck(tb testing.TB, db string) {
	tb.Helper()
	dir := tb.TempDir()
	cp := filepath.Join(dir, "copy.db")
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(db + suffix)
		if errors.Is(err, os.ErrNotExist) && suffix != "" {
			continue
		}
		if err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(cp+suffix, b, 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	sqldb, err := sql.Open("sqlite3", "file:"+cp)
	if err != nil {
		tb.Fatal(err)
	}
	defer sqldb.Close()
	var check string
	if err := sqldb.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		tb.Errorf("integrity_check of %s = %q, %v", db, check, err)
	}
}

// assertNotInFiles fails if any of needles appears in a file under dir
// whose name starts with prefix (the checkpoint and its -wal, -shm and
// -lock files).
func assertNotInFiles(tb testing.TB, dir, prefix string, needles ...string) {
	tb.Helper()
	matches, _ := filepath.Glob(filepath.Join(dir, prefix+"*"))
	for _, path := range matches {
		b, err := os.ReadFile(path)
		if err != nil {
			tb.Fatal(err)
		}
		for _, s := range needles {
			if bytes.Contains(b, []byte(s)) {
				tb.Errorf("%s holds %q in plain text", filepath.Base(path), s)
			}
		}
	}
}

// customer is one row of a generated list.
type customer struct{ name, card string }

// stems spells i with the ten heavenly stems, for headers and names that
// must hold no digits.
func stems(i int) string {
	const digits = "甲乙丙丁戊己庚辛壬癸"
	var b []rune
	for _, c := range fmt.Sprint(i) {
		b = append(b, []rune(digits)[c-'0'])
	}
	return string(b)
}

// customerSeed is the seed of the generated list the e2e tests take their
// customers from.
const customerSeed = 20261202

// customers returns the first n customers of gen's clean list of seed
// customerSeed (package gen is the one generator of customer lists): real
// looking names, Luhn-valid distinct cards, which the fake API matches or
// not by its default rule. Each name starts with 客户, so that a test can
// look for any name in a file by that mark.
func customers(n int) []customer {
	o := gen.Options{Rows: n, Seed: customerSeed, Clean: true}
	cs := make([]customer, n)
	for i := range cs {
		r := o.Row(i)
		cs[i] = customer{"客户" + r.Name, r.Card}
	}
	return cs
}

// writeCustomers writes cs as a CSV named name in dir, with a note column of
// noteLen characters when noteLen > 0, and returns its path.
func writeCustomers(tb testing.TB, dir, name string, cs []customer, noteLen int) string {
	tb.Helper()
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	head := []string{"姓名", "银行卡号"}
	if noteLen > 0 {
		head = append(head, "备注")
	}
	w.Write(head)
	note := strings.Repeat("备", noteLen)
	for _, c := range cs {
		rec := []string{c.name, c.card}
		if noteLen > 0 {
			rec = append(rec, note)
		}
		w.Write(rec)
	}
	w.Flush()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// xlsxPart is one part of a hand-made workbook, stored uncompressed. A raw
// part is written as given, already deflated, with the sizes and checksum
// of raw (to make a zip bomb, or a lying one).
type xlsxPart struct {
	name string
	data []byte
	raw  *zip.FileHeader
}

// writeRawXLSX writes a minimal workbook of one sheet whose
// xl/worksheets/sheet1.xml is sheet (or the raw part of that name among
// extra), without excelize, so that a test can make what excelize refuses
// to write: a 5 MB cell, a zip bomb, a lying zip header.
func writeRawXLSX(tb testing.TB, path string, sheet []byte, extra ...xlsxPart) {
	tb.Helper()
	parts := []xlsxPart{
		{name: "[Content_Types].xml", data: []byte(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>`)},
		{name: "_rels/.rels", data: []byte(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`)},
		{name: "xl/workbook.xml", data: []byte(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="客户" sheetId="1" r:id="rId1"/></sheets></workbook>`)},
		{name: "xl/_rels/workbook.xml.rels", data: []byte(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>`)},
	}
	if sheet != nil {
		parts = append(parts, xlsxPart{name: "xl/worksheets/sheet1.xml", data: sheet})
	}
	parts = append(parts, extra...)

	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for _, p := range parts {
		var w io.Writer
		if p.raw != nil {
			w, err = zw.CreateRaw(p.raw)
		} else {
			// Stored, not deflated: compressing megabytes under the race
			// detector takes seconds.
			w, err = zw.CreateHeader(&zip.FileHeader{Name: p.name, Method: zip.Store})
		}
		if err == nil {
			_, err = w.Write(p.data)
		}
		if err != nil {
			tb.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
}

// sheetXML returns a worksheet whose rows are the given cells, as inline
// strings.
func sheetXML(rows ...[]string) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>`)
	for i, row := range rows {
		fmt.Fprintf(&b, `<row r="%d">`, i+1)
		for j, v := range row {
			fmt.Fprintf(&b, `<c r="%s%d" t="inlineStr"><is><t>`, colName(j), i+1)
			xmlEscape(&b, v)
			b.WriteString(`</t></is></c>`)
		}
		b.WriteString(`</row>`)
	}
	b.WriteString(`</sheetData></worksheet>`)
	return b.Bytes()
}

func xmlEscape(b *bytes.Buffer, s string) {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;")
	b.WriteString(r.Replace(s))
}

// colName returns the letters of 0-based column i ("A", ..., "Z", "AA").
func colName(i int) string {
	s := ""
	for i++; i > 0; i = (i - 1) / 26 {
		s = string(rune('A'+(i-1)%26)) + s
	}
	return s
}

// skipBug skips a test that exposes a known, reported bug, unless
// CARDVERIFY_RUN_BUGS is set: run the suite with it to see which still fail.
func skipBug(tb testing.TB, bug string) {
	tb.Helper()
	if os.Getenv("CARDVERIFY_RUN_BUGS") == "" {
		tb.Skip("BUG: " + bug)
	}
}
