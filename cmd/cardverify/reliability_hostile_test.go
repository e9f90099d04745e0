package main

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/cardverify/cardverify/pipeline/juhe/juhetest"
)

// hostileDir holds the small hostile fixtures; big ones are made at test
// time (see testdata/hostile/README.md).
const hostileDir = "../../testdata/hostile"

// maxHostileRSS is the most memory a run may take on a hostile file: a few
// times what the binary needs for a normal small list.
const maxHostileRSS = 128 << 20

// TestReliabilityHostileFiles runs the binary on files that are broken,
// malicious or simply not a customer list. Each must be refused with exit 2
// and a message naming the file and what is wrong (or, where the file is
// readable, its bad rows marked invalid), without a panic, without a call,
// and within bounded memory.
func TestReliabilityHostileFiles(t *testing.T) {
	good := customers(3)
	tests := []struct {
		name string
		// make writes the input into dir and returns its path.
		make func(tb testing.TB, dir string) string
		// code is the wanted exit code; with 0, invalid is the number of
		// rows that must be marked invalid.
		code    int
		invalid int
		// reason is a substring of the invalid rows' reason.
		reason string
		// msg are substrings the message must hold (case-insensitive).
		msg []string
		// bug, when set, names a known bug: the case is skipped.
		bug string
	}{
		{name: "empty csv", make: fixture("empty.csv"), code: 2, msg: []string{"empty.csv", "empty"}},
		{name: "empty xlsx", make: fixture("empty.xlsx"), code: 2, msg: []string{"empty.xlsx"}},
		{name: "header only csv", make: fixture("header-only.csv"), code: 2, msg: []string{"header-only.csv", "no data"}},
		{name: "header only xlsx", make: func(tb testing.TB, dir string) string {
			path := filepath.Join(dir, "header-only.xlsx")
			writeRawXLSX(tb, path, sheetXML([]string{"姓名", "银行卡号"}))
			return path
		}, code: 2, msg: []string{"header-only.xlsx", "no data"}},
		{name: "no card column", make: fixture("no-card-column.csv"), code: 2, msg: []string{"no card column", "--card-col"}},
		{name: "binary garbage named csv", make: fixture("garbage.csv"), code: 2, msg: []string{"garbage.csv", "binary"}},
		{name: "binary garbage named xlsx", make: fixture("garbage.xlsx"), code: 2, msg: []string{"garbage.xlsx", "not an xlsx"}},
		{name: "real xls", make: copied("../../testdata/reader/list.xls", "list.xls"), code: 2, msg: []string{".xls", "save it as .xlsx"}},
		{name: "real ods", make: copied("../../testdata/reader/list.ods", "list.ods"), code: 2, msg: []string{"list.ods", "OpenDocument"}},
		{name: "real xls named xlsx", make: copied("../../testdata/reader/list.xls", "list.xlsx"), code: 2, msg: []string{"list.xlsx", "old Excel workbook"}},
		{name: "xlsx named csv", make: copied("../../testdata/reader/cards-general.xlsx", "cards.csv"), code: 2, msg: []string{"cards.csv", "not text"}},
		{name: "truncated xlsx", make: func(tb testing.TB, dir string) string {
			b, err := os.ReadFile("../../testdata/reader/cards-general.xlsx")
			if err != nil {
				tb.Fatal(err)
			}
			path := filepath.Join(dir, "truncated.xlsx")
			writeFile(tb, path, b[:len(b)/2])
			return path
		}, code: 2, msg: []string{"truncated.xlsx"}},
		{name: "xlsx without its sheet", make: func(tb testing.TB, dir string) string {
			path := filepath.Join(dir, "nosheet.xlsx")
			writeRawXLSX(tb, path, nil)
			return path
		}, code: 2, msg: []string{"nosheet.xlsx", "sheet1.xml"}},
		{name: "10000 columns csv", make: func(tb testing.TB, dir string) string {
			return wideCSV(tb, dir, 10000)
		}, code: 2, msg: []string{"wide.csv", "10000"}},
		{name: "10000 columns xlsx", make: func(tb testing.TB, dir string) string {
			head, row := []string{"姓名", "银行卡号"}, []string{good[0].name, good[0].card}
			for i := 2; i < 10000; i++ {
				head, row = append(head, "列"+stems(i)), append(row, "x")
			}
			path := filepath.Join(dir, "wide.xlsx")
			writeRawXLSX(tb, path, sheetXML(head, row))
			return path
		}, code: 2, msg: []string{"wide.xlsx", "column"}},
		{name: "5 MB note cell csv", make: func(tb testing.TB, dir string) string {
			path := filepath.Join(dir, "bigcell.csv")
			writeFile(tb, path, []byte("姓名,银行卡号,备注\n"+good[0].name+","+good[0].card+","+strings.Repeat("a", 5<<20)+"\n"))
			return path
		}, code: 2, msg: []string{"bigcell.csv", "row 2"}},
		{name: "5 MB name cell xlsx", make: func(tb testing.TB, dir string) string {
			path := filepath.Join(dir, "bigcell.xlsx")
			writeRawXLSX(tb, path, sheetXML([]string{"姓名", "银行卡号"}, []string{noise(5 << 20), good[0].card}))
			return path
		}, code: 2, msg: []string{"bigcell.xlsx", "32767"}},
		{name: "5 MB note cell xlsx", make: func(tb testing.TB, dir string) string {
			path := filepath.Join(dir, "bigcell.xlsx")
			writeRawXLSX(tb, path, sheetXML([]string{"姓名", "银行卡号", "备注"}, []string{good[0].name, good[0].card, noise(5 << 20)}))
			return path
		}, code: 2, msg: []string{"bigcell.xlsx", "32767"}},
		{name: "5 MB cell xlsx names its row", make: func(tb testing.TB, dir string) string {
			path := filepath.Join(dir, "bigcell.xlsx")
			writeRawXLSX(tb, path, sheetXML([]string{"姓名", "银行卡号", "备注"}, []string{good[0].name, good[0].card, noise(5 << 20)}))
			return path
		}, code: 2, msg: []string{"row 2:"}},
		{name: "40000-character name csv", make: func(tb testing.TB, dir string) string {
			path := filepath.Join(dir, "longname.csv")
			writeFile(tb, path, []byte("姓名,银行卡号\n"+strings.Repeat("张", 40000)+","+good[0].card+"\n"))
			return path
		}, code: 2, msg: []string{"longname.csv", "32767"}},
		{name: "200-character name marked invalid", make: func(tb testing.TB, dir string) string {
			cs := append([]customer{{strings.Repeat("张", 200), good[0].card}}, good[1:]...)
			return writeCustomers(tb, dir, "longname.csv", cs, 0)
		}, code: 0, invalid: 1},
		{name: "unbalanced quote", make: fixture("unbalanced-quote.csv"), code: 0, invalid: 1, reason: "quote"},
		{name: "nul bytes in a csv", make: func(tb testing.TB, dir string) string {
			path := filepath.Join(dir, "nul.csv")
			writeFile(tb, path, []byte("姓名,银行卡号\n张\x00三,"+good[0].card+"\n"+strings.Repeat("\x00", 4096)))
			return path
		}, code: 2, msg: []string{"nul.csv"}},
		{name: "zip bomb", make: func(tb testing.TB, dir string) string {
			path := filepath.Join(dir, "bomb.xlsx")
			writeRawXLSX(tb, path, nil, bombPart(tb, 256<<20, 0))
			return path
		}, code: 2, msg: []string{"bomb.xlsx", "zip bomb"}},
		{name: "zip bomb with a lying size", make: func(tb testing.TB, dir string) string {
			path := filepath.Join(dir, "liar.xlsx")
			writeRawXLSX(tb, path, nil, bombPart(tb, 1<<30, 4096))
			return path
		}, code: 2, msg: []string{"liar.xlsx"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.bug != "" {
				skipBug(t, tt.bug)
			}
			t.Parallel()
			srv := juhetest.NewServer(t, juhetest.Options{Key: testKey})
			dir := t.TempDir()
			in := tt.make(t, dir)
			out, db := filepath.Join(dir, "out.xlsx"), filepath.Join(dir, "list.db")
			r := run(t, time.Minute, secrets(), "run", in, "--base-url", srv.URL, "--out", out, "--db", db,
				"--progress", "none", "--qps", "100", "--lang", "en")
			assertNoPanic(t, r.result)
			t.Logf("exit %d in %s, peak memory %d MiB: %s", r.code, r.took.Round(time.Millisecond), r.maxRSS>>20, strings.TrimSpace(r.stderr))
			if r.maxRSS > maxHostileRSS {
				t.Errorf("peak memory %d MiB, want at most %d MiB", r.maxRSS>>20, maxHostileRSS>>20)
			}
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d; stderr:\n%s", r.code, tt.code, r.stderr)
			}
			if tt.code != 0 {
				if n := srv.Handler.Calls(); n != 0 {
					t.Errorf("a refused input made %d calls", n)
				}
				if _, err := os.Stat(out); err == nil {
					t.Error("a refused input got an output file")
				}
				msg := strings.ToLower(r.stderr)
				if !strings.HasPrefix(msg, "cardverify: ") || strings.Count(strings.TrimSpace(msg), "\n") > 2 {
					t.Errorf("stderr is not one clear message:\n%s", r.stderr)
				}
				for _, want := range tt.msg {
					if !strings.Contains(msg, strings.ToLower(want)) {
						t.Errorf("stderr does not say %q:\n%s", want, r.stderr)
					}
				}
				assertNoSecrets(t, dir, r.stdout, r.stderr)
				return
			}
			st := statusOf(t, db)
			if st.Invalid != tt.invalid || st.Pending+st.Failed != 0 {
				t.Errorf("status %+v, want %d invalid rows and the others verified", st, tt.invalid)
			}
			for reason := range st.InvalidReasons {
				if !strings.Contains(reason, tt.reason) {
					t.Errorf("invalid reason %q does not say %q", reason, tt.reason)
				}
			}
		})
	}
}

// TestReliabilityFormulaText runs names that a spreadsheet would take for a
// formula or a command (=, @, +, -, DDE, SQL) through the binary: in the
// XLSX output each must be a text cell showing exactly the input text, never
// a formula, whether the input was a CSV or an XLSX of text cells.
func TestReliabilityFormulaText(t *testing.T) {
	names := []string{
		`=cmd|' /C calc'!A0`, "@SUM(1)", "+1", "-1", `'); DROP TABLE rows;--`,
		`=HYPERLINK("http://127.0.0.1/x","点击")`, "=张三", "张三",
	}
	csvIn := filepath.Join(hostileDir, "formula-names.csv")
	for _, format := range []string{"csv", "xlsx"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			srv := juhetest.NewServer(t, juhetest.Options{Key: testKey})
			dir := t.TempDir()
			cs := make([]customer, len(names))
			for i, name := range names {
				cs[i] = customer{name, juhetest.MatchCard(100 + i)}
			}
			var in string
			if format == "csv" {
				in = writeCustomers(t, dir, "names.csv", cs, 0)
			} else {
				in = filepath.Join(dir, "names.xlsx")
				f := excelize.NewFile()
				f.SetCellStr("Sheet1", "A1", "姓名")
				f.SetCellStr("Sheet1", "B1", "银行卡号")
				for i, c := range cs {
					f.SetCellStr("Sheet1", "A"+itoa(i+2), c.name)
					f.SetCellStr("Sheet1", "B"+itoa(i+2), c.card)
				}
				if err := f.SaveAs(in); err != nil {
					t.Fatal(err)
				}
			}
			out, db := filepath.Join(dir, "out.xlsx"), filepath.Join(dir, "list.db")
			r := run(t, time.Minute, secrets(), "run", in, "--base-url", srv.URL, "--out", out, "--db", db,
				"--progress", "none", "--qps", "100", "--lang", "en")
			assertNoPanic(t, r.result)
			if r.code != 0 {
				t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
			}
			// Whatever was sent went as the exact text, as a parameter.
			for _, req := range srv.Requests() {
				if !slices.Contains(names, req.Name) {
					t.Errorf("the API got the name %q, not one of the input", req.Name)
				}
			}
			integrityCheck(t, db)

			f, err := excelize.OpenFile(out)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			sheet := f.GetSheetName(0)
			for i, want := range names {
				cell := "A" + itoa(i+2)
				assertTextCell(t, f, sheet, cell, want)
				// The reason (column G) is cardverify's own text.
				assertTextCell(t, f, sheet, "G"+itoa(i+2), "")
			}
		})
	}
	// The fixture holds the same kind of names, for a person to try.
	if _, err := os.Stat(csvIn); err != nil {
		t.Error(err)
	}
}

// assertTextCell fails unless cell holds a string and no formula, and, when
// want is not empty, shows exactly want.
func assertTextCell(tb testing.TB, f *excelize.File, sheet, cell, want string) {
	tb.Helper()
	formula, err := f.GetCellFormula(sheet, cell)
	if err != nil || formula != "" {
		tb.Errorf("%s: formula %q (%v), want none", cell, formula, err)
	}
	typ, err := f.GetCellType(sheet, cell)
	if err != nil || (typ != excelize.CellTypeSharedString && typ != excelize.CellTypeInlineString) {
		tb.Errorf("%s: cell type %v (%v), want a string", cell, typ, err)
	}
	got, err := f.GetCellValue(sheet, cell, excelize.Options{RawCellValue: true})
	if err != nil || (want != "" && got != want) {
		tb.Errorf("%s = %q (%v), want %q", cell, got, err, want)
	}
}

// fixture returns a maker that copies testdata/hostile/name into the test's
// directory.
func fixture(name string) func(testing.TB, string) string {
	return copied(filepath.Join(hostileDir, name), name)
}

// copied returns a maker that copies src into the test's directory as name.
func copied(src, name string) func(testing.TB, string) string {
	return func(tb testing.TB, dir string) string {
		b, err := os.ReadFile(src)
		if err != nil {
			tb.Fatal(err)
		}
		path := filepath.Join(dir, name)
		writeFile(tb, path, b)
		return path
	}
}

func writeFile(tb testing.TB, path string, b []byte) {
	tb.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		tb.Fatal(err)
	}
}

// wideCSV writes a list of one customer with n columns.
func wideCSV(tb testing.TB, dir string, n int) string {
	var b strings.Builder
	b.WriteString("姓名,银行卡号")
	for i := 2; i < n; i++ {
		b.WriteString(",列" + stems(i))
	}
	b.WriteString("\n张三," + juhetest.MatchCard(1) + strings.Repeat(",x", n-2) + "\n")
	path := filepath.Join(dir, "wide.csv")
	writeFile(tb, path, []byte(b.String()))
	return path
}

// bombPart returns a worksheet part that holds a header, one customer and
// then size bytes of blanks, deflated more than a thousandfold. Its headers
// claim it inflates to claimed bytes, or to its true size when claimed is 0
// (a lying size is how a crafted zip bomb gets past a check of the
// declared sizes).
//
// Deflating hundreds of megabytes would take a minute under the race
// detector, so the blanks are deflated once, a megabyte of them, and that
// block is repeated: after a sync flush a block starts on a byte boundary,
// and a block of blanks whose back-references only reach blanks decodes to
// the same blanks wherever it is put after other blanks.
func bombPart(tb testing.TB, size int, claimed uint64) xlsxPart {
	tb.Helper()
	const name, chunk = "xl/worksheets/sheet1.xml", 1 << 20
	sheet := sheetXML([]string{"姓名", "银行卡号"}, []string{"张三", juhetest.MatchCard(1)})
	cut := bytes.Index(sheet, []byte("</sheetData>"))
	head, tail := append(sheet[:cut:cut], ' '), sheet[cut:]
	blanks := bytes.Repeat([]byte(" "), chunk)

	var packed bytes.Buffer
	fw, err := flate.NewWriter(&packed, flate.BestCompression)
	if err != nil {
		tb.Fatal(err)
	}
	fw.Write(head)
	fw.Flush()
	prefix := packed.Len()
	fw.Write(blanks)
	fw.Flush()
	block := bytes.Clone(packed.Bytes()[prefix:])
	fw.Write(tail)
	fw.Close()
	rest := bytes.Clone(packed.Bytes()[prefix+len(block):])

	out := bytes.NewBuffer(packed.Bytes()[:prefix:prefix])
	crc := crc32.Update(0, crc32.IEEETable, head)
	n := size / chunk
	for range n {
		out.Write(block)
		crc = crc32.Update(crc, crc32.IEEETable, blanks)
	}
	out.Write(rest)
	crc = crc32.Update(crc, crc32.IEEETable, tail)
	total := uint64(len(head) + n*chunk + len(tail))
	if claimed == 0 {
		claimed = total
	}
	return xlsxPart{name: name, data: out.Bytes(), raw: &zip.FileHeader{
		Name: name, Method: zip.Deflate, CRC32: crc,
		CompressedSize64: uint64(out.Len()), UncompressedSize64: claimed,
	}}
}

// noise returns about n bytes of Chinese text that does not compress much,
// so that a big cell is not taken for a zip bomb.
func noise(n int) string {
	b := make([]byte, 0, n+3)
	x := uint32(8)
	for len(b) < n {
		x = x*1664525 + 1013904223 // a cheap LCG: this runs under the race detector
		b = utf8.AppendRune(b, rune(0x4e00+x>>16%0x5000))
	}
	return string(b)
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestBombPartInflates checks the zip bomb of the hostile tests: it must be
// a valid workbook that really inflates to what it claims, so that the
// binary refuses it for its ratio and not for a broken stream.
func TestBombPartInflates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bomb.xlsx")
	writeRawXLSX(t, path, nil, bombPart(t, 3<<20, 0))
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		if f.Name != "xl/worksheets/sheet1.xml" {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc) // checks the size and the CRC-32
		rc.Close()
		if err != nil || uint64(len(b)) != f.UncompressedSize64 || len(b) < 3<<20 {
			t.Fatalf("the bomb inflates to %d bytes (%v), claims %d", len(b), err, f.UncompressedSize64)
		}
		if !bytes.HasSuffix(b, []byte("   </sheetData></worksheet>")) || !bytes.Contains(b, []byte("<t>张三</t>")) {
			t.Errorf("the bomb is not the sheet it should be: %q...%q", b[:300], b[len(b)-100:])
		}
		if ratio := f.UncompressedSize64 / f.CompressedSize64; ratio < 250 {
			t.Errorf("the bomb inflates only %d times", ratio)
		}
		return
	}
	t.Fatal("no sheet in the bomb")
}
